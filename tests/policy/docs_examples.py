#!/usr/bin/env python3
"""docs/config.md shows every file of examples/ as a worked example: each block marked
`<!-- example: NAME -->` must equal examples/NAME byte for byte, and every examples/*.toml
must be shown. Exits 1 and names each mismatch."""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()


def main():
    doc = (ROOT / "docs" / "config.md").read_text()
    shown = {}
    for m in re.finditer(r"<!-- example: (\S+) -->\n```toml\n(.*?)```\n", doc, re.S):
        shown[m.group(1)] = m.group(2)
    errors = []
    for path in sorted((ROOT / "examples").glob("*.toml")):
        if path.name not in shown:
            errors.append(f"docs/config.md: examples/{path.name} is not shown as a worked example")
        elif shown[path.name] != path.read_text():
            errors.append(f"docs/config.md: the block for examples/{path.name} differs from the file")
    for name in shown:
        if not (ROOT / "examples" / name).exists():
            errors.append(f"docs/config.md: shows examples/{name}, which does not exist")
    for e in errors:
        print(e)
    print(f"docs examples: {len(shown)} shown, {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
