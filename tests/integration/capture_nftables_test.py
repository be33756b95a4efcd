#!/usr/bin/env python3
"""Privileged: the same capture scenarios with the nftables fallback (mode = nftables).
Exit 77 without root or the nft tool. Usage: capture_nftables_test.py BUILD_DIR"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capture_scenarios  # noqa: E402

if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: needs root")
        sys.exit(77)
    if shutil.which("nft") is None:
        print("SKIP: nft not installed")
        sys.exit(77)
    sys.exit(capture_scenarios.run("nftables", os.path.abspath(sys.argv[1])))
