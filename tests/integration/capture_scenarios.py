"""Capture scenarios shared by the eBPF and nftables runs (capture_ebpf_test.py,
capture_nftables_test.py). Each scenario asserts what the application and the daemons see;
failures are collected and reported together, and the run exits 1 if there is any."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import netns_harness as nh  # noqa: E402

VIP4, VIP6 = "198.19.0.10", "2001:db8:ff::10"


class Checker:
    def __init__(self):
        self.failures, self.passed = [], 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failures.append(what)
            print(f"FAIL {what}: {detail}")
        return cond

    def finish(self):
        print(f"{self.passed} passed, {len(self.failures)} failed")
        for f in self.failures:
            print(f"  failed: {f}")
        return 1 if self.failures else 0


def parse_reply(out):
    """capture_client output → dict with getpeername, getsockname, peer, local."""
    m = re.match(r"getpeername=(\S+) getsockname=(\S+) reply=peer=(\S+) local=(\S+)", out)
    if not m:
        return None
    return dict(zip(["getpeername", "getsockname", "peer", "local"], m.groups()))


def host(addr):
    return addr.rsplit(":", 1)[0].strip("[]")


def map_len(node, name):
    r = nh.sh("bpftool", "map", "dump", "pinned", f"{node.pin_dir}/maps/{name}", "-j", check=False)
    return len(json.loads(r.stdout)) if r.returncode == 0 else -1


def listening(pod, port):
    r = nh.sh("ip", "netns", "exec", os.path.basename(pod.netns), "ss", "-ltnH", f"sport = :{port}", check=False)
    return bool(r.stdout.strip())


class Scenarios:
    def __init__(self, h, mode, c):
        self.h, self.mode, self.c = h, mode, c
        self.ebpf = mode == "ebpf"

    def build(self):
        h = self.h
        self.n1, self.n2 = h.add_node(), h.add_node()
        self.a, self.c_pod, self.d = h.add_pod(self.n1), h.add_pod(self.n1), h.add_pod(self.n1)
        self.loaders = [h.add_pod(self.n1) for _ in range(8)]
        self.b, self.e = h.add_pod(self.n2), h.add_pod(self.n2)
        b = self.b
        self.extra = (f"--exclude-out-port 7070 --exclude-in-port 9090 --service {VIP4}:80={b.ip4}:8080 "
                      f"--service [{VIP6}]:80=[{b.ip6}]:8080")
        for n in (self.n1, self.n2):
            h.start_daemon(n, mode=self.mode, extra=self.extra)
        for p in [self.a, self.d, b] + self.loaders:
            r = h.enroll(p)
            self.c.check(r.startswith("ok"), f"enroll {p.name}", r)
        for p, port in [(b, 8080), (b, 7070), (b, 9090), (self.c_pod, 8080), (self.d, 8080), (self.a, 8080),
                        (self.e, 8080)]:
            h.echo_server(p, port)

    def connect(self, src, addr, *extra):
        out = self.h.client(src, addr, *extra)
        return out, parse_reply(out)

    def status(self):
        for n in (self.n1, self.n2):
            out = self.h.ctl(n, "status")
            self.c.check(out.startswith(f"mode={self.mode} "), f"status on {n.name} reports {self.mode} with a reason", out)

    def pod_to_pod(self):
        a, b, d = self.a, self.b, self.d
        for dst, where in [(d, "same node"), (b, "across nodes")]:
            for v6 in (False, True):
                fam = "IPv6" if v6 else "IPv4"
                out, r = self.connect(a, dst.addr(8080, v6))
                ok = r is not None
                self.c.check(ok, f"{where} {fam}: pod→pod connection through both daemons", out)
                if not ok:
                    continue
                hop = "::1" if v6 else "127.0.0.6"
                self.c.check(r["getpeername"] == dst.addr(8080, v6), f"{where} {fam}: app's getpeername is the dialled address", out)
                self.c.check(host(r["getsockname"]) == (a.ip6 if v6 else a.ip4), f"{where} {fam}: app's getsockname is its own pod address", out)
                self.c.check(r["local"] == dst.addr(8080, v6), f"{where} {fam}: server's getsockname is its own address and port", out)
                self.c.check(host(r["peer"]) == hop, f"{where} {fam}: server sees the daemon hop from {hop}", out)

    def no_loop(self):
        ev2 = self.h.events(self.n2)
        inbound_b = [e for e in ev2 if e.startswith("inbound ") and f"wl={self.b.name} " in e]
        self.c.check(len(inbound_b) == 2, "exactly one inbound accept per connection (no loop)", f"{len(inbound_b)} inbound events")
        out_a = [e for e in self.h.events(self.n1) if e.startswith("outbound ") and f"wl={self.a.name} " in e]
        self.c.check(len(out_a) == 4, "exactly one outbound accept per connection (daemon's own outbound not captured)",
                     f"{len(out_a)} outbound events")
        if self.ebpf:
            cn = self.h.counters(self.n1)
            self.c.check(cn["connect_skip_mark"] >= 4, "the daemon's marked upstream connects are skipped and counted", cn)
            self.c.check(self.h.counters(self.n2)["lookup_skip_hop"] >= 2, "the daemon's 127.0.0.6 hop is skipped by sk_lookup and counted")

    def vip_and_passthrough(self):
        a, b, c_pod = self.a, self.b, self.c_pod
        for vip, v6 in [(f"{VIP4}:80", False), (f"[{VIP6}]:80", True)]:
            out, r = self.connect(a, vip)
            self.c.check(r is not None and r["getpeername"] == vip and r["local"] == b.addr(8080, v6),
                         f"pod→service VIP {vip} reaches the backend and the app still sees the VIP", out)
        out, r = self.connect(a, c_pod.addr(8080))
        self.c.check(r is not None and host(r["peer"]) == a.ip4,
                     "pod→non-mesh pod passes through with the pod's own source address", out)
        self.c.check(any(e.startswith("outbound ") and f"orig={c_pod.addr(8080)}" in e for e in self.h.events(self.n1)),
                     "pod→non-mesh destination still goes through the daemon (captured outbound)")
        out, r = self.connect(c_pod, b.addr(8080))
        self.c.check(r is not None and host(r["peer"]) == "127.0.0.6", "non-mesh pod→mesh pod is captured inbound", out)

    def exclusions(self):
        a, b = self.a, self.b
        before = len(self.h.events(self.n1))
        out, r = self.connect(a, b.addr(7070))
        new = self.h.events(self.n1)[before:]
        self.c.check(r is not None and not any(e.startswith("outbound") for e in new),
                     "an excluded outbound port bypasses outbound capture", f"{out} {new}")
        out, r = self.connect(a, b.addr(9090))
        self.c.check(r is not None and host(r["peer"]) == a.ip4, "an excluded inbound port bypasses inbound capture", out)
        before = len(self.h.events(self.n1))
        out, r = self.connect(a, a.addr(8080))
        out2, r2 = self.connect(a, "127.0.0.1:8080")
        new = self.h.events(self.n1)[before:]
        self.c.check(r is not None and r2 is not None and not new, "self-calls and loopback are not captured", f"{out} {out2} {new}")
        before = len(self.h.events(self.n1))
        out, r = self.connect(a, self.c_pod.addr(8080), "--mark", "0x539")
        new = self.h.events(self.n1)[before:]
        self.c.check(r is not None and not new, "a socket carrying the daemon mark is not captured", f"{out} {new}")

    def load(self):
        n2pid = self.n2.daemon.pid
        fds_before = len(os.listdir(f"/proc/{n2pid}/fd"))
        procs = [subprocess.Popen(self.h._wrap(p.cgroup, p.netns, [self.h.tool("capture_client"), "--connect",
                 self.b.addr(8080), "--count", "100", "--concurrency", "4"]), stdout=subprocess.PIPE, text=True)
                 for p in [self.a, self.d] + self.loaders]
        outs = [p.communicate(timeout=120)[0].strip() for p in procs]
        oks = sum(int(re.search(r"ok=(\d+)", o).group(1)) for o in outs if re.search(r"ok=(\d+)", o))
        self.c.check(oks == 1000, "1000 short connections from 10 pods all succeed", outs)
        time.sleep(0.5)
        fds_after = len(os.listdir(f"/proc/{n2pid}/fd"))
        self.c.check(fds_after <= fds_before + 4, "no descriptors leaked by the daemon", f"{fds_before} → {fds_after}")
        for n in (self.n1, self.n2):
            self.c.check(self.h.counters(n)["orig_missing"] == 0, f"no connection without an original destination on {n.name}")
        if self.ebpf:
            self.c.check(map_len(self.n1, "mesh_orig_tup") == 0, "every original-destination entry was consumed (mesh_orig_tup empty)")

    def bad_input(self):
        h, a = self.h, self.a
        f = h.add_pod(self.n1)
        wl_before = h.ctl(self.n1, "workloads")
        ips_before = map_len(self.n1, "mesh_pod_ips") if self.ebpf else 0
        cases = [
            ("a missing netns path", dict(netns="/run/netns/does-not-exist"), "does not exist"),
            ("a path that is not a netns", dict(netns="/etc/hostname"), "not a network namespace"),
            ("a duplicate IP", dict(ips=[a.ip4]), "already enrolled"),
            ("a duplicate name", dict(name=a.name), "already enrolled"),
            ("an unknown cgroup", dict(cgroup=f"{self.n1.cgroup}/no-such-service", ips=["198.18.0.1"]), "cgroup"),
        ]
        for what, kw, expect in cases:
            r = h.enroll(f, **kw)
            self.c.check(r.startswith("error") and expect in r, f"enroll with {what} fails with a clear error", r)
            self.c.check(h.ctl(self.n1, "workloads") == wl_before, f"enroll with {what} leaves no workload behind")
            self.c.check(not listening(f, 15001), f"enroll with {what} leaves no listener in the netns")
            if self.ebpf:
                self.c.check(map_len(self.n1, "mesh_pod_ips") == ips_before, f"enroll with {what} leaves no map entry")

    def unenroll(self):
        h, a, b, d = self.h, self.a, self.b, self.d
        r = h.ctl(self.n1, f"unenroll {d.name}")
        self.c.check(r.startswith("ok"), "unenroll succeeds", r)
        out, rep = self.connect(a, d.addr(8080))
        self.c.check(rep is not None and host(rep["peer"]) == a.ip4, "after unenroll, inbound to the pod is not captured", out)
        before = len(h.events(self.n1))
        out, rep = self.connect(d, b.addr(8080))
        new = [e for e in h.events(self.n1)[before:] if f"wl={d.name} " in e]
        self.c.check(rep is not None and not new, "after unenroll, outbound from the pod is not captured", f"{out} {new}")
        self.c.check(not listening(d, 15001), "after unenroll, the pod's listeners are closed")
        if self.mode == "nftables":
            r = nh.sh("ip", "netns", "exec", os.path.basename(d.netns), "nft", "list", "tables", check=False)
            self.c.check("meshd" not in r.stdout, "after unenroll, the pod's nft table is gone", r.stdout)

    def fail_closed_and_restart(self):
        h, a, b, c_pod, e = self.h, self.a, self.b, self.c_pod, self.e
        link = h.pinned_link(self.n1, f"cg{os.stat(self.n1.cgroup).st_ino}_mesh_connect4") if self.ebpf else None
        h.kill_daemon(self.n1)
        h.kill_daemon(self.n2)
        out, _ = self.connect(a, b.addr(8080), "--timeout-ms", "2000")
        self.c.check(out.startswith("error=refused"), "daemon down: an enrolled pod's outbound is refused (fail closed)", out)
        out, _ = self.connect(c_pod, b.addr(8080), "--timeout-ms", "2000")
        self.c.check(out.startswith("error=refused"), "daemon down: inbound to an enrolled pod is refused (fail closed)", out)
        out, r = self.connect(c_pod, e.addr(8080))
        self.c.check(r is not None, "daemon down: unenrolled pods still talk to each other", out)
        for n in (self.n1, self.n2):
            h.start_daemon(n, mode=self.mode, extra=self.extra)
        out, r = self.connect(a, b.addr(8080))
        self.c.check(r is not None and host(r["peer"]) == "127.0.0.6", "daemon restarted: traffic flows with no re-enrollment", out)
        wl = h.ctl(self.n2, "workloads")
        self.c.check(f"{b.name} {self.mode} captured" in wl, "restarted daemon lists the restored workload as captured", wl)
        if link:
            after = h.pinned_link(self.n1, f"cg{os.stat(self.n1.cgroup).st_ino}_mesh_connect4")
            self.c.check(after and after["id"] == link["id"] and after["prog_id"] != link["prog_id"],
                         "restart keeps the pinned link and swaps in the new program", f"{link} {after}")

    def gc(self):
        h = self.h
        g = h.add_pod(self.n1)
        ips_before = map_len(self.n1, "mesh_pod_ips") if self.ebpf else 0
        r = h.enroll(g)
        self.c.check(r.startswith("ok"), "enroll a pod that will vanish", r)
        ino = os.stat(g.netns).st_ino
        nh.sh("ip", "netns", "del", os.path.basename(g.netns))
        h.netns_names.remove(os.path.basename(g.netns))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and f"collected wl={g.name}" not in h.events(self.n1):
            time.sleep(0.1)
        self.c.check(f"collected wl={g.name}" in h.events(self.n1), "a deleted netns is garbage-collected")
        self.c.check(g.name not in h.ctl(self.n1, "workloads"), "the collected workload is no longer listed")
        if self.ebpf:
            self.c.check(f"ns{ino}_sk_lookup" not in os.listdir(f"{self.n1.pin_dir}/links"),
                         "the collected pod's sk_lookup link is unpinned")
            self.c.check(map_len(self.n1, "mesh_pod_ips") == ips_before, "the collected pod's addresses are gone from the maps",
                         map_len(self.n1, "mesh_pod_ips"))


def run(mode, build_dir):
    nh.enter_private_namespace()
    c = Checker()
    before = nh.mesh_prog_ids()
    with nh.Harness(build_dir, verbose=os.environ.get("VERBOSE") == "1") as h:
        s = Scenarios(h, mode, c)
        try:
            s.build()
            for step in ("status", "pod_to_pod", "no_loop", "vip_and_passthrough", "exclusions", "load", "bad_input",
                         "unenroll", "fail_closed_and_restart", "gc"):
                print(f"-- {step}")
                getattr(s, step)()
            if mode == "ebpf":
                import capture_ebpf_extra
                capture_ebpf_extra.run(s)
        except Exception as exc:  # a broken harness step is a failure, never a pass
            c.check(False, "scenario raised", repr(exc))
            for n in h.nodes:
                print(h.daemon_log(n))
    c.check(nh.mesh_prog_ids() <= before, "teardown left no mesh_* BPF program loaded",
            nh.mesh_prog_ids() - before)
    return c.finish()
