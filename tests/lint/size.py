#!/usr/bin/env python3
"""STYLE.md's size rule: a source file past 500 lines has absorbed a second job. Lists every
source file over the limit and exits 1 if there is one."""
import pathlib
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
LIMIT = 500
DIRS = ["daemon", "tunnel", "policy", "ebpf", "tests", "bench"]


def main():
    over = []
    for d in DIRS:
        for path in sorted((ROOT / d).rglob("*")):
            if path.suffix in {".cpp", ".hpp", ".h", ".c"} and path.is_file():
                n = sum(1 for _ in path.open(errors="replace"))
                if n > LIMIT:
                    over.append((path.relative_to(ROOT).as_posix(), n))
    for rel, n in over:
        print(f"{rel}: {n} lines (limit {LIMIT}): split it along parse / decide / act")
    print(f"size: {len(over)} file(s) over the limit")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
