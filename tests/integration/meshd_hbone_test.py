#!/usr/bin/env python3
"""Privileged: HBONE (mTLS 1.3 + HTTP/2 CONNECT) between workloads, served by the real meshd
with the built-in CA, on the netns harness (three nodes, one meshd each; topology in
meshd_hbone_topology.py). Same node: a → b through HBONE over IPv4 and IPv6 (what the apps
see, the counters), byte-exact transfers, half-close and reset both ways, pooling,
passthrough to an unenrolled pod and plaintext into 15006. Interop: python3-h2 and openssl
s_client as clients of a workload's 15008 (200/400/503, TLS refusals by reason, garbage and
malformed HTTP/2), and a python3-h2 server as the peer meshd's client dials. Identity:
rotation of 10 s leaves under a held connection, a workload without a certificate. Cross
node: pods on two nodes through the workload directory ([[workload]] in policy.d), and
meshd's client against a python3-h2 15008 on another node. Then checks that teardown left
nothing behind.

Usage: meshd_hbone_test.py BUILD_DIR [ebpf|nftables]. Capture mode: eBPF if the probe
passes, else nftables. Exit 77 without root, cgroup2, a capture mode, /usr/bin/python3 with
python3-h2 or openssl; 1 if any check failed."""
import os
import shutil
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import capture_scenarios as cs  # noqa: E402 (puts tests/support on the path)
import netns_harness as nh  # noqa: E402
from meshd_capture_test import bpf_objects, check_teardown  # noqa: E402
from meshd_hbone_identity import CrossNode, NoCertificate, Rotation  # noqa: E402
from meshd_hbone_scenarios import Interop, SameNode  # noqa: E402
from meshd_hbone_topology import DEBIAN_PYTHON, Topology  # noqa: E402


class Checker(cs.Checker):
    def __init__(self):
        super().__init__()
        self.skipped = []

    def finish(self):
        for s in self.skipped:
            print(f"skipped: {s}")
        return super().finish()


def preflight(build, mode):
    if os.geteuid() != 0:
        nh.skip("needs root")
    for tool in ("daemon/app/meshd", "daemon/meshctl/meshctl", "tests/support/capture_client",
                 "tests/support/netns_exec"):
        if not os.access(os.path.join(build, tool), os.X_OK):
            print(f"FAIL: {tool} is not built in {build}")
            sys.exit(1)
    if nh.cgroup2_mount() is None:
        nh.skip("no cgroup2 mount")
    if shutil.which("openssl") is None:
        nh.skip("openssl not installed")
    if subprocess.run([DEBIAN_PYTHON, "-c", "import h2"], capture_output=True).returncode != 0:
        nh.skip(f"{DEBIAN_PYTHON} has no python3-h2")
    if mode is None:
        probe = subprocess.run([os.path.join(build, "tests", "ebpf", "capture_probe")], capture_output=True, text=True)
        mode = "ebpf" if probe.returncode == 0 else "nftables"
    if mode == "nftables" and shutil.which("nft") is None:
        nh.skip("no eBPF capture and nft not installed")
    return mode


def run(build, mode):
    nh.enter_private_namespace()
    c = Checker()
    objs, logs = {}, {}
    print(f"-- capture mode {mode}")
    with nh.Harness(build, meshd=True, verbose=os.environ.get("VERBOSE") == "1") as h:
        t = Topology(h, c, mode)
        same, interop = SameNode(t), Interop(t)
        steps = [same.status, same.pod_to_pod, same.bytes_and_half_close, same.resets, same.pooling, same.passthrough,
                 interop.python_client, interop.openssl, interop.bad_http2, interop.python_server,
                 NoCertificate(t).no_certificate, Rotation(t).rotation, CrossNode(t).cross_node]
        try:
            print("-- build: three nodes, ten pods, meshd per node, PKI from meshctl ca")
            t.build()
            for step in steps:
                print(f"-- {step.__name__}", flush=True)
                start = time.monotonic()
                try:
                    step()
                except Exception:  # a broken step is a failure, never a pass; the others still run
                    c.check(False, f"{step.__name__} raised", traceback.format_exc())
                print(f"   ({time.monotonic() - start:.1f}s)")
        except Exception:
            c.check(False, "building the topology raised", traceback.format_exc())
        objs = bpf_objects(h)
        logs = {n.name: (n.config, h.daemon_log(n, limit=12000)) for n in h.nodes}
    check_teardown(c, h, objs)
    if c.failures:
        for name, (config, log) in logs.items():
            print(f"=== meshd on {name} ({config}), last lines of its log ===\n{log}")
    return c.finish()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] not in ("ebpf", "nftables")):
        print(__doc__)
        sys.exit(2)
    build_dir = os.path.abspath(sys.argv[1])
    capture_mode = preflight(build_dir, sys.argv[2] if len(sys.argv) == 3 else None)
    sys.exit(run(build_dir, capture_mode))
