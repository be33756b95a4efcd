#!/usr/bin/env python3
"""Sums meson's testlog.json files into the closing CI line: 'N passed, N failed, N skipped'.

A build that produced no test log counts as one failure, so a broken build never reads as green.
"""
import json
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}


def main(paths):
    passed = failed = skipped = 0
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                lines = [line for line in f if line.strip()]
        except OSError:
            print(f"{path}: no test results (the build or the test run did not complete)")
            failed += 1
            continue
        for line in lines:
            result = json.loads(line).get("result")
            if result in PASSED:
                passed += 1
            elif result in SKIPPED:
                skipped += 1
            else:
                failed += 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
