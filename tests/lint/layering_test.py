#!/usr/bin/env python3
"""layering.py can fail: a tree with one violation of each kind is reported, a clean one is not."""
import pathlib
import subprocess
import sys
import tempfile

CHECK = pathlib.Path(__file__).with_name("layering.py")

CASES = {
    # path -> (content, expected fragment of the report or None when allowed)
    "tunnel/http/a.hpp": ('#include "tunnel/hbone/b.hpp"\n', "share layer 1"),
    "tunnel/hbone/c.hpp": ('#include "tunnel/http/d.hpp"\n#include "tunnel/tls/e.hpp"\n', None),
    "daemon/upstream/f.hpp": ('#include "daemon/proxy/g.hpp"\n', "daemon/upstream (layer 1) includes daemon/proxy (layer 2)"),
    "daemon/telemetry/h.hpp": ('#include "policy/i.hpp"\n', "share layer 1"),
    "daemon/proxy/j.hpp": ('#include <openssl/ssl.h>\n', "may not use <openssl/ssl.h>"),
    "tunnel/tls/k.hpp": ('#include <nghttp2/nghttp2.h>\n', "may not use <nghttp2/nghttp2.h>"),
}


def main():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for rel, (content, _) in CASES.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content)
        r = subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True)
        out = r.stdout
        if r.returncode != 1:
            failures.append(f"expected exit 1, got {r.returncode}")
        for rel, (_, want) in CASES.items():
            lines = [l for l in out.splitlines() if l.startswith(rel + ":")]
            if want is None and lines:
                failures.append(f"{rel}: allowed include reported: {lines}")
            if want is not None and not any(want in l for l in lines):
                failures.append(f"{rel}: expected '{want}', got {lines}")
    for f in failures:
        print(f)
    print(f"layering_test: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
