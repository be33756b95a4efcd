#!/usr/bin/env python3
"""Privileged: transparent capture served by the real meshd, driven by meshctl, on the netns
harness (two nodes, a dozen pods, one meshd per node from packaging/meshd.toml with per-node
overrides). Asserts what applications see and what meshd reports (metrics, meshctl status and
workloads), then that teardown left nothing behind. Pod→service VIP is not covered: VIPs come
from the policy model ([[service]] in policy.d), not from meshd.toml.

Usage: meshd_capture_test.py BUILD_DIR ebpf|nftables. Exit 77 without root, cgroup2, BPF
capture (ebpf) or nft (nftables); 1 if any check failed."""
import json
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
from meshd_capture_lifecycle import Lifecycle  # noqa: E402
from meshd_capture_scenarios import Topology, Traffic  # noqa: E402


def preflight(build, mode):
    if os.geteuid() != 0:
        nh.skip("needs root")
    for tool in ("daemon/app/meshd", "daemon/meshctl/meshctl"):
        if not os.access(os.path.join(build, tool), os.X_OK):
            print(f"FAIL: {tool} is not built in {build}")
            sys.exit(1)
    if nh.cgroup2_mount() is None:
        nh.skip("no cgroup2 mount")
    if mode == "ebpf":
        probe = subprocess.run([os.path.join(build, "tests", "ebpf", "capture_probe")], capture_output=True, text=True)
        if probe.returncode != 0:
            nh.skip(f"eBPF capture unavailable: {probe.stdout.strip()}")
    elif shutil.which("nft") is None:
        nh.skip("nft not installed")


def bpf_objects(h):
    """IDs of the links, programs and maps pinned by the harness's meshd instances."""
    objs = {"link": set(), "prog": set(), "map": set()}
    for n in h.nodes:
        for kind, sub in (("link", "links"), ("map", "maps")):
            d = f"{n.pin_dir}/{sub}"
            for name in os.listdir(d) if os.path.isdir(d) else []:
                r = nh.sh("bpftool", kind, "show", "pinned", f"{d}/{name}", "-j", check=False)
                if r.returncode == 0:
                    info = json.loads(r.stdout)
                    objs[kind].add(info["id"])
                    if kind == "link":
                        objs["prog"].add(info["prog_id"])
    return objs


def still_loaded(objs):
    return {kind: sorted(i for i in ids if nh.sh("bpftool", kind, "show", "id", str(i), check=False).returncode == 0)
            for kind, ids in objs.items() if ids}


def check_teardown(c, h, objs):
    """After the harness's teardown: no BPF object, cgroup, netns, mount or process of ours."""
    deadline = time.monotonic() + 10  # the kernel frees links and programs asynchronously
    left = still_loaded(objs)
    while any(left.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
        left = still_loaded(objs)
    c.check(not any(left.values()), "teardown: every link, program and map meshd pinned is gone from the kernel",
            f"{left} (of {objs})")
    c.check(not os.path.exists(h.cgroot), "teardown: the test's cgroups are removed", h.cgroot)
    listed = nh.sh("ip", "netns", "list", check=False).stdout
    c.check(h.prefix not in listed, "teardown: every test netns is deleted", listed)
    with open("/proc/self/mountinfo") as f:
        mounts = f.read()
    c.check(h.bpffs not in mounts and not os.path.exists(h.tmp), "teardown: the private bpffs is unmounted, the temp dir removed")
    c.check(all(p.poll() is not None for p in h.procs), "teardown: every process the test started has exited",
            [p.args for p in h.procs if p.poll() is None])


def run(build, mode):
    nh.enter_private_namespace()
    c = cs.Checker()
    objs = {}
    logs = {}
    with nh.Harness(build, meshd=True, verbose=os.environ.get("VERBOSE") == "1") as h:
        t = Topology(h, mode, c)
        traffic, life = Traffic(t), Lifecycle(t)
        steps = [traffic.status, traffic.pod_to_pod, traffic.passthrough, traffic.exclusions, traffic.load,
                 traffic.bad_input, traffic.unenroll, traffic.bare_metal, life.upgrade, life.fail_closed_restart_pending, life.gc,
                 life.drain]
        try:
            print("-- build: two nodes, 13 pods, meshd per node")
            t.build()
            for step in steps:
                print(f"-- {step.__name__}", flush=True)
                start = time.monotonic()
                step()
                print(f"   ({time.monotonic() - start:.1f}s)")
        except Exception:  # a broken step is a failure, never a pass
            c.check(False, "a scenario raised", traceback.format_exc())
        objs = bpf_objects(h)
        logs = {n.name: (n.config, h.daemon_log(n, limit=12000)) for n in h.nodes}
    check_teardown(c, h, objs)
    if c.failures:
        for name, (config, log) in logs.items():
            print(f"=== meshd on {name} ({config}), last lines of its log ===\n{log}")
    return c.finish()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in ("ebpf", "nftables"):
        print(__doc__)
        sys.exit(2)
    build_dir, capture_mode = os.path.abspath(sys.argv[1]), sys.argv[2]
    preflight(build_dir, capture_mode)
    sys.exit(run(build_dir, capture_mode))
