#!/usr/bin/env python3
"""Checks a request-metrics scrape with `promtool check metrics` (the prometheus package).
Usage: promtool_check.py DUMP_BINARY. Parse errors fail; of promtool's lint findings only the
one Istio's metric name forces on us is accepted: istio_request_duration_milliseconds is in
milliseconds, not the base unit. Exits 77 (skipped) when promtool is not installed."""
import shutil
import subprocess
import sys

ACCEPTED = 'istio_request_duration_milliseconds use base unit "seconds" instead of "milliseconds"'


def main():
    if shutil.which("promtool") is None:
        print("promtool not installed")
        return 77
    text = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    findings = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
    unexpected = [f for f in findings if f != ACCEPTED]
    if r.returncode not in (0, 3) or unexpected:
        print(text)
        print(f"promtool exit {r.returncode}:", *findings, sep="\n")
        return 1
    print(f"promtool: {len(text.splitlines())} lines checked; findings: {findings or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
