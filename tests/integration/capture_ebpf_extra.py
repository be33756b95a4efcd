"""eBPF-only capture scenarios, run after the shared ones by capture_ebpf_test.py: program
upgrade without dropping connections, and bare-metal enrollment by cgroup."""
import os
import subprocess

import netns_harness as nh


def upgrade(s):
    h, a, b, c = s.h, s.a, s.b, s.c
    name = f"cg{os.stat(s.n1.cgroup).st_ino}_mesh_connect4"
    before = h.pinned_link(s.n1, name)
    held = subprocess.Popen(h._wrap(a.cgroup, a.netns, [h.tool("capture_client"), "--connect", b.addr(8080),
                            "--hold-ms", "2500"]), stdout=subprocess.PIPE, text=True)
    loop = subprocess.Popen(h._wrap(a.cgroup, a.netns, [h.tool("capture_client"), "--connect", b.addr(8080),
                            "--count", "300", "--concurrency", "2"]), stdout=subprocess.PIPE, text=True)
    r1 = h.ctl(s.n1, "upgrade")
    r2 = h.ctl(s.n2, "upgrade")
    held_out = held.communicate(timeout=60)[0]
    loop_out = loop.communicate(timeout=60)[0]
    c.check(r1.startswith("ok") and r2.startswith("ok"), "program upgrade succeeds on both nodes", f"{r1} {r2}")
    c.check("held echoes=" in held_out, "an established connection survives the program upgrade", held_out)
    c.check("failed=0" in loop_out, "no new connection fails while the programs are swapped", loop_out)
    after = h.pinned_link(s.n1, name)
    c.check(after and before and after["id"] == before["id"] and after["prog_id"] != before["prog_id"],
            "upgrade keeps the link and replaces its program atomically", f"{before} {after}")
    out, r = s.connect(a, b.addr(8080))
    c.check(r is not None, "traffic flows after the upgrade", out)


def bare_metal(s):
    h, b, c, n1 = s.h, s.b, s.c, s.n1
    svc = f"{n1.cgroup}/svc1"
    os.makedirs(svc)
    r = h.ctl(n1, f"enroll\tname=svc1\tnamespace=default\tsa=svc1\tcgroup={svc}\tip=198.18.0.1")
    c.check(r.startswith("ok"), "enroll a systemd-style service by cgroup path", r)
    cmd = [h.tool("netns_exec"), "--cgroup", svc, "--netns", n1.netns, "--", h.tool("capture_client"),
           "--connect", b.addr(8080)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    c.check("peer=127.0.0.6" in out and "getpeername=" + b.addr(8080) in out,
            "a bare-metal service's outbound is captured in the host netns", out)
    c.check(any(e.startswith("outbound wl=svc1 ") for e in h.events(n1)), "the daemon knows the source service from its listener")
    wl = h.ctl(n1, "workloads")
    c.check("svc1 ebpf captured cgroup=" in wl, "meshctl-style workload listing shows the service, its mode and status", wl)
    c.check(h.ctl(n1, "unenroll svc1").startswith("ok"), "unenroll the service")
    before = sum(e.startswith("outbound wl=svc1 ") for e in h.events(n1))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    after = sum(e.startswith("outbound wl=svc1 ") for e in h.events(n1))
    c.check("reply=" in out and after == before, "after unenroll the service's traffic is no longer captured", out)
    os.rmdir(svc)


def run(s):
    for step in (upgrade, bare_metal):
        print(f"-- {step.__name__}")
        step(s)
