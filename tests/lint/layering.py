#!/usr/bin/env python3
"""Checks STYLE.md's layer table: who may include whom, and which third-party headers each
module may use. Includes are written from the repository root, so a quoted include names the
module it comes from. Exits 1 and lists every violation."""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()

# module path prefix -> layer (STYLE.md's table). Longest prefix wins: each folder of tunnel/
# is a module of its own.
LAYERS = {
    "daemon/base": 0,
    "daemon/io": 1, "daemon/config": 1, "policy": 1, "ebpf/loader": 1,
    "daemon/upstream": 1, "daemon/telemetry": 1,
    "tunnel/tls": 1, "tunnel/http": 1, "tunnel/hbone": 1,
    "daemon/datapath": 2, "daemon/proxy": 2, "daemon/admin": 2, "daemon/identity": 2,
    "daemon/app": 3, "daemon/main.cpp": 3, "daemon/meshctl": 3,
}
# Same-layer includes that the table allows: inside tunnel/, hbone is a profile over http and
# runs over tls.
SAME_LAYER_ALLOWED = {("tunnel/hbone", "tunnel/http"), ("tunnel/hbone", "tunnel/tls")}
# Third-party header prefixes and the modules allowed to include them.
THIRD_PARTY = {
    "liburing": {"daemon/io"},
    "openssl/": {"tunnel/tls"},
    "nghttp2/": {"tunnel/http"},
    "llhttp.h": {"tunnel/http"},
    "bpf/": {"ebpf/loader"},
    "toml++/": {"daemon/config", "policy"},
    "re2/": {"policy"},
    "CLI/": {"daemon/app", "daemon/main.cpp", "daemon/meshctl"},
    "systemd/": {"daemon/app", "daemon/main.cpp"},
    "nlohmann/": {"daemon/admin", "daemon/app", "daemon/meshctl", "daemon/telemetry", "policy"},
    "yaml-cpp/": {"policy", "daemon/meshctl"},
}
# ebpf/include holds ABI headers shared by BPF C and C++: anyone at layer >= 1 may use them.
SHARED_ABI = "ebpf/include"


def module_of(rel):
    best = None
    for prefix in LAYERS:
        if rel == prefix or rel.startswith(prefix + "/"):
            if best is None or len(prefix) > len(best):
                best = prefix
    return best


def main():
    errors = []
    include_re = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
    for path in sorted(ROOT.rglob("*")):
        if path.suffix not in {".cpp", ".hpp", ".h", ".c"} or "build" in path.parts[0]:
            continue
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("build", "tests/", "bench/", "ebpf/progs", SHARED_ABI)):
            continue
        mod = module_of(rel)
        if mod is None:
            continue
        layer = LAYERS[mod]
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = include_re.match(line)
            if not m:
                continue
            kind, target = m.groups()
            where = f"{rel}:{lineno}"
            if kind == '"':
                if target.startswith(SHARED_ABI):
                    if layer < 1:
                        errors.append(f"{where}: layer 0 may not include {target}")
                    continue
                tmod = module_of(target)
                if tmod is None:
                    errors.append(f"{where}: include '{target}' is not written from the repository root")
                    continue
                if tmod == mod:
                    continue
                tlayer = LAYERS[tmod]
                if tlayer > layer:
                    errors.append(f"{where}: {mod} (layer {layer}) includes {tmod} (layer {tlayer})")
                elif tlayer == layer and layer < 3 and (mod, tmod) not in SAME_LAYER_ALLOWED:
                    errors.append(f"{where}: {mod} and {tmod} share layer {layer} and may not include each other")
            else:
                for prefix, allowed in THIRD_PARTY.items():
                    if target.startswith(prefix) and mod not in allowed:
                        errors.append(f"{where}: {mod} may not use <{target}> (allowed in: {', '.join(sorted(allowed))})")
    for e in errors:
        print(e)
    print(f"layering: {len(errors)} violation(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
