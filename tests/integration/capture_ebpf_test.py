#!/usr/bin/env python3
"""Privileged: every capture scenario with eBPF capture (mode = ebpf). Exit 77 without root,
BPF or cgroup2. Usage: capture_ebpf_test.py BUILD_DIR"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capture_scenarios  # noqa: E402

if __name__ == "__main__":
    build = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        print("SKIP: needs root")
        sys.exit(77)
    probe = subprocess.run([os.path.join(build, "tests", "ebpf", "capture_probe")], capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"SKIP: eBPF capture unavailable: {probe.stdout.strip()}")
        sys.exit(77)
    sys.exit(capture_scenarios.run("ebpf", build))
