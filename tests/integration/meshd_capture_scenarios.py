"""Traffic scenarios of meshd_capture_test.py: what applications see through real meshd, and
what meshd reports about it (metrics, meshctl). The topology and the shared helpers live in
Topology; the lifecycle scenarios (upgrade, kill/restart, pending, GC, drain) are in
meshd_capture_lifecycle.py."""
import json
import os
import re
import subprocess
import time

import capture_scenarios as cs
import netns_harness as nh

OUT_EXCLUDED, IN_EXCLUDED = 7070, 9090
OWN_PORTS = (15001, 15006, 15008)


def label(pod):
    return f"default/{pod.name}"


def held_ok(out):
    """capture_client --hold-ms printed its first reply, then echoed until the end."""
    lines = out.splitlines()
    return len(lines) == 2 and cs.parse_reply(lines[0]) is not None and bool(re.fullmatch(r"held echoes=[1-9]\d*", lines[1]))


def fd_table(pid):
    """{fd: what it points to} of a process, for a leak report."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return out


class Topology:
    """Two nodes running meshd. n1: a, d and 8 load pods enrolled, c not enrolled; n2: b
    enrolled, e not enrolled. Echo servers answer "peer=<what the server sees> local=<its
    address>" on b (8080, the excluded ports 7070 and 9090), c, d, a and e (8080)."""

    def __init__(self, h, mode, checker):
        self.h, self.mode, self.c = h, mode, checker
        self.ebpf = mode == "ebpf"
        self.config = {"capture": {"exclude_outbound_ports": [OUT_EXCLUDED], "exclude_inbound_ports": [IN_EXCLUDED],
                                   "gc_interval": "200ms"}}

    def build(self):
        h = self.h
        self.n1, self.n2 = h.add_node(), h.add_node()
        self.a, self.c_pod, self.d = h.add_pod(self.n1), h.add_pod(self.n1), h.add_pod(self.n1)
        self.loaders = [h.add_pod(self.n1) for _ in range(8)]
        self.b, self.e = h.add_pod(self.n2), h.add_pod(self.n2)
        for n in (self.n1, self.n2):
            self.start(n)
        for p in [self.a, self.d, self.b] + self.loaders:
            r = h.meshctl_enroll(p)
            self.c.check(r.returncode == 0 and "enrolled" in r.stdout, f"meshctl enroll {p.name}", r.stdout + r.stderr)
        for p, port in [(self.b, 8080), (self.b, OUT_EXCLUDED), (self.b, IN_EXCLUDED), (self.c_pod, 8080),
                        (self.d, 8080), (self.a, 8080), (self.e, 8080)]:
            h.echo_server(p, port)

    def start(self, node):
        return self.h.start_daemon(node, mode=self.mode, config=self.config)

    # --- helpers -----------------------------------------------------------------------------
    def connect(self, src, addr, *extra):
        out = self.h.client(src, addr, *extra)
        return out, cs.parse_reply(out)

    def metrics(self):
        return {n: self.h.metrics(n) for n in (self.n1, self.n2)}

    @staticmethod
    def value(m, name, **labels):
        return m.get(name, **labels) or 0

    def delta(self, before, node, name, **labels):
        return self.value(self.h.metrics(node), name, **labels) - self.value(before[node], name, **labels)

    def listening(self, pod):
        return [p for p in OWN_PORTS if cs.listening(pod, p)]

    def dump(self, node, name):
        r = nh.sh("bpftool", "map", "dump", "pinned", f"{node.pin_dir}/maps/{name}", "-j", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else f"cannot dump: {r.stderr.strip()}"

    def sk_lookup_pin(self, node, pod_netns_ino):
        links = f"{node.pin_dir}/links"
        return os.path.isdir(links) and f"ns{pod_netns_ino}_sk_lookup" in os.listdir(links)

    def nft_table(self, pod):
        r = nh.sh("ip", "netns", "exec", os.path.basename(pod.netns), "nft", "list", "tables", check=False)
        return "meshd" in r.stdout

    def workload_names(self, node):
        return sorted(w["name"] for w in self.h.workloads(node))

    def wait_until(self, pred, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.05)
        return bool(pred())


class Traffic:
    def __init__(self, t):
        self.t, self.h, self.c = t, t.h, t.c

    def status(self):
        t = self.t
        for n in (t.n1, t.n2):
            st = self.h.status(n)["capture"]
            self.c.check(st["mode"] == t.mode and st["reason"], f"meshctl status on {n.name}: capture mode {t.mode} with a reason", st)
            m = self.h.metrics(n)
            self.c.check(m.get("meshd_capture_mode", mode=t.mode) == 1, f"meshd_capture_mode{{mode={t.mode}}} is 1 on {n.name}",
                         m.series("meshd_capture_mode"))
        self.c.check(self.h.status(t.n1)["capture"].get("workloads") == 10 and self.h.metrics(t.n1).get("meshd_workloads") == 10,
                     "status and meshd_workloads count the 10 enrolled pods of node 1", self.h.status(t.n1)["capture"])
        names = t.workload_names(t.n1)
        self.c.check(names == sorted(p.name for p in [t.a, t.d] + t.loaders), "meshctl workloads lists node 1's pods", names)

    def pod_to_pod(self):
        t = self.t
        a, b, d = t.a, t.b, t.d
        before = t.metrics()
        for dst, where in [(d, "same node"), (b, "across nodes")]:
            for v6 in (False, True):
                fam = "IPv6" if v6 else "IPv4"
                out, r = t.connect(a, dst.addr(8080, v6))
                if not self.c.check(r is not None, f"{where} {fam}: pod→pod connection through meshd", out):
                    continue
                hop = "::1" if v6 else "127.0.0.6"
                self.c.check(r["getpeername"] == dst.addr(8080, v6), f"{where} {fam}: the client's getpeername is the dialled address", out)
                self.c.check(cs.host(r["getsockname"]) == (a.ip6 if v6 else a.ip4), f"{where} {fam}: the client's getsockname is its own pod address", out)
                self.c.check(r["local"] == dst.addr(8080, v6), f"{where} {fam}: the server's getsockname is its own address and port", out)
                self.c.check(cs.host(r["peer"]) == hop, f"{where} {fam}: the server sees meshd's hop from {hop}", out)
        self.no_loop(before)

    def no_loop(self, before):
        """Four connections from a (two to d on node 1, two to b on node 2): exactly one
        outbound relay on a's listener and one inbound relay on the destination's each."""
        t, opened = self.t, "meshd_connections_opened_total"
        got = {
            "outbound a": t.delta(before, t.n1, opened, kind="outbound", listener=label(t.a)),
            "inbound d": t.delta(before, t.n1, opened, kind="inbound", listener=label(t.d)),
            "inbound b": t.delta(before, t.n2, opened, kind="inbound", listener=label(t.b)),
            "all node 1": t.delta(before, t.n1, opened),
            "all node 2": t.delta(before, t.n2, opened),
        }
        want = {"outbound a": 4, "inbound d": 2, "inbound b": 2, "all node 1": 6, "all node 2": 2}
        self.c.check(got == want, "one outbound and one inbound relay per connection, nothing else opened (no loop)", got)
        if t.ebpf:
            ev = "meshd_capture_events_total"
            got = {"redirected n1": t.delta(before, t.n1, ev, event="connect_redirected"),
                   "redirected n2": t.delta(before, t.n2, ev, event="connect_redirected"),
                   "steered n1": t.delta(before, t.n1, ev, event="lookup_steered"),
                   "steered n2": t.delta(before, t.n2, ev, event="lookup_steered")}
            # A SYN retransmitted on a loaded machine is looked up (and steered) again, so the
            # steering counts may exceed the connections by a retransmission or two.
            self.c.check(got["redirected n1"] == 4 and got["redirected n2"] == 0 and
                         2 <= got["steered n1"] <= 4 and 2 <= got["steered n2"] <= 4,
                         "the kernel redirected each app connect once and steered each inbound SYN (and only those)", got)
            skipped = t.delta(before, t.n1, ev, event="connect_skip_mark")
            self.c.check(skipped >= 4, "meshd's own (marked) upstream connects are not captured, and counted", skipped)

    def passthrough(self):
        t = self.t
        a, b, c_pod = t.a, t.b, t.c_pod
        before = t.metrics()
        out, r = t.connect(a, c_pod.addr(8080))
        self.c.check(r is not None and cs.host(r["peer"]) == a.ip4 and r["getpeername"] == c_pod.addr(8080),
                     "pod→non-mesh pod passes through: the unenrolled server sees the pod's own address", out)
        out6, r6 = t.connect(a, c_pod.addr(8080, v6=True))
        self.c.check(r6 is not None and cs.host(r6["peer"]) == a.ip6, "pod→non-mesh pod passes through over IPv6 too", out6)
        got = (t.delta(before, t.n1, "meshd_connections_opened_total", kind="outbound", listener=label(a)),
               t.delta(before, t.n1, "meshd_connections_opened_total", kind="inbound"))
        self.c.check(got == (2, 0), "the passthrough goes out through meshd (outbound relay) and into no inbound listener", got)
        out, r = t.connect(c_pod, b.addr(8080))
        self.c.check(r is not None and cs.host(r["peer"]) == "127.0.0.6", "a non-mesh pod's connection to a mesh pod is captured inbound", out)

    def exclusions(self):
        t = self.t
        a, b = t.a, t.b
        opened = "meshd_connections_opened_total"
        before = t.metrics()
        out, r = t.connect(a, b.addr(OUT_EXCLUDED))
        got = (t.delta(before, t.n1, opened, kind="outbound", listener=label(a)),
               t.delta(before, t.n2, opened, kind="inbound", listener=label(b)))
        self.c.check(r is not None and r["getpeername"] == b.addr(OUT_EXCLUDED) and got == (0, 1),
                     f"exclude_outbound_ports: port {OUT_EXCLUDED} bypasses outbound capture (still captured inbound)", f"{out} {got}")
        before = t.metrics()
        out, r = t.connect(a, b.addr(IN_EXCLUDED))
        got = (t.delta(before, t.n1, opened, kind="outbound", listener=label(a)),
               t.delta(before, t.n2, opened, kind="inbound", listener=label(b)))
        self.c.check(r is not None and cs.host(r["peer"]) == a.ip4 and got == (1, 0),
                     f"exclude_inbound_ports: port {IN_EXCLUDED} bypasses inbound capture (server sees the pod's address)", f"{out} {got}")
        before = t.metrics()
        out, r = t.connect(a, a.addr(8080))
        out2, r2 = t.connect(a, "127.0.0.1:8080")
        out3, r3 = t.connect(a, t.c_pod.addr(8080), "--mark", "0x539")
        got = t.delta(before, t.n1, opened)
        self.c.check(r is not None and r2 is not None and r3 is not None and got == 0,
                     "self-calls, in-pod loopback and sockets carrying meshd's mark are not captured", f"{out} {out2} {out3} opened+{got}")

    def load(self):
        t = self.t
        h, b = self.h, t.b
        pods = [t.a, t.d] + t.loaders
        nodes = (t.n1, t.n2)
        # Warm-up: each worker opens its own netns once, at its first dial from a pod's netns
        # (io::tcp_socket); with light traffic one worker may not have dialled yet, and that
        # descriptor must not count as a leak.
        warm = self._burst(pods, b.addr(8080), 20)
        self.c.check(warm == 200, "warm-up: 200 short connections succeed", warm)
        self._settle()
        before = t.metrics()
        fds_before = {n: before[n].get("process_open_fds") for n in nodes}
        fd_table_before = {n: fd_table(n.daemon.pid) for n in nodes}
        start = time.monotonic()
        oks = self._burst(pods, b.addr(8080), 100)
        self.c.check(oks == 1000, f"1000 short connections from 10 pods all succeed ({time.monotonic() - start:.1f}s)", oks)
        self._settle()
        opened = "meshd_connections_opened_total"
        out_opened = sum(t.delta(before, t.n1, opened, kind="outbound", listener=label(p)) for p in pods)
        in_opened = t.delta(before, t.n2, opened, kind="inbound", listener=label(b))
        self.c.check(out_opened == 1000 and in_opened == 1000, "meshd relayed each of them once outbound and once inbound",
                     f"outbound {out_opened}, inbound {in_opened}")
        for n in nodes:
            got = {k: t.delta(before, n, f"meshd_connections_{k}_total") for k in ("opened", "closed", "rejected")}
            self.c.check(got["opened"] == got["closed"] == 1000 and got["rejected"] == 0,
                         f"{n.name}: opened and closed counters agree, nothing rejected", got)
        for n in nodes:
            ok = t.wait_until(lambda: (h.metrics(n).get("process_open_fds") or 1e9) <= fds_before[n])
            now = fd_table(n.daemon.pid)
            extra = {fd: target for fd, target in now.items() if fd_table_before[n].get(fd) != target}
            self.c.check(ok, f"{n.name}: no descriptor leak (process_open_fds back to its baseline {fds_before[n]:.0f})",
                         f"{h.metrics(n).get('process_open_fds')} now; new descriptors: {extra}")
        if t.ebpf:
            self.c.check(cs.map_len(t.n1, "mesh_orig_tup") == 0, "every original destination was consumed (mesh_orig_tup empty)",
                         cs.map_len(t.n1, "mesh_orig_tup"))

    def _burst(self, pods, addr, count):
        """`count` short connections from each pod (4 at a time per pod, all pods at once);
        returns how many succeeded, or the clients' output when they did not all report."""
        h = self.h
        procs = [subprocess.Popen(h._wrap(p.cgroup, p.netns, [h.tool("capture_client"), "--connect", addr, "--count",
                                  str(count), "--concurrency", "4"]), stdout=subprocess.PIPE, text=True) for p in pods]
        outs = [p.communicate(timeout=120)[0].strip() for p in procs]
        oks = [int(m.group(1)) for o in outs if (m := re.search(r"ok=(\d+)", o))]
        return sum(oks) if len(oks) == len(pods) and sum(oks) == count * len(pods) else outs

    def _settle(self):
        """Waits (bounded) until no relay is open on either node."""
        for n in (self.t.n1, self.t.n2):
            self.t.wait_until(lambda: (self.h.metrics(n).get("meshd_connections_active") or 0) == 0)

    def bad_input(self):
        t, h = self.t, self.h
        f = h.add_pod(t.n1)
        ino = os.stat(f.netns).st_ino
        cases = [
            ("a missing netns path", dict(netns="/run/netns/does-not-exist"), "does not exist"),
            ("a file that is not a netns", dict(netns="/etc/hostname"), "not a network namespace"),
            ("a duplicate IP", dict(ips=[t.a.ip4]), "already enrolled"),
            ("a duplicate name", dict(name=t.a.name), "already enrolled"),
        ]
        before = t.metrics()
        log_at = len(h.daemon_log(t.n1, limit=None))
        for what, kw, expect in cases:
            wl_before = h.workloads(t.n1)
            maps_before = {m: t.dump(t.n1, m) for m in ("mesh_pods", "mesh_pod_ips")} if t.ebpf else None
            r = h.meshctl_enroll(f, **kw)
            self.c.check(r.returncode != 0 and r.stderr.startswith("meshctl: cannot enroll") and expect in r.stderr,
                         f"enroll with {what}: meshctl fails with a clear message", f"exit {r.returncode}: {r.stdout} {r.stderr}")
            self.c.check(h.workloads(t.n1) == wl_before, f"enroll with {what}: meshctl workloads unchanged")
            self.c.check(t.listening(f) == [], f"enroll with {what}: no listener left in the netns", t.listening(f))
            if t.ebpf:
                maps = {m: t.dump(t.n1, m) for m in ("mesh_pods", "mesh_pod_ips")}
                self.c.check(maps == maps_before and not t.sk_lookup_pin(t.n1, ino),
                             f"enroll with {what}: no map entry and no sk_lookup link left", maps)
            else:
                self.c.check(not t.nft_table(f), f"enroll with {what}: no nft table left in the netns")
        got = (t.delta(before, t.n1, "meshd_enrollments_total", result="failed"),
               t.delta(before, t.n1, "meshd_enrollments_total", result="ok"))
        self.c.check(got == (4, 0), "meshd_enrollments_total counts the four failures and no success", got)
        logged = [l for l in h.daemon_log(t.n1, limit=None)[log_at:].splitlines() if "failed to enroll" in l]
        self.c.check(len(logged) == 4, "meshd logs each failed enrollment once, with its reason", logged)
        out, r = t.connect(f, t.b.addr(8080))
        self.c.check(r is not None and cs.host(r["getsockname"]) == f.ip4, "the rejected pod's traffic is untouched (not captured)", out)

    def unenroll(self):
        t, h = self.t, self.h
        a, b, d = t.a, t.b, t.d
        cookie_entries = len(t.dump(t.n1, "mesh_pods")) if t.ebpf else 0
        held = subprocess.Popen(h._wrap(a.cgroup, a.netns, [h.tool("capture_client"), "--connect", d.addr(8080),
                                "--hold-ms", "3000"]), stdout=subprocess.PIPE, text=True)
        t.wait_until(lambda: (h.metrics(t.n1).get("meshd_connections_active", kind="inbound", listener=label(d)) or 0) == 1)
        before = t.metrics()
        r = h.meshctl(t.n1, "unenroll", d.name)
        self.c.check(r.returncode == 0 and "unenrolled" in r.stdout, "meshctl unenroll succeeds", r.stdout + r.stderr)
        held_out = held.communicate(timeout=30)[0].strip()
        self.c.check("error=held connection broke" in held_out, "unenroll closes the workload's open relays", held_out)
        self.c.check(d.name not in t.workload_names(t.n1), "the unenrolled pod is gone from meshctl workloads")
        self.c.check(t.delta(before, t.n1, "meshd_unenrollments_total", cause="request") == 1,
                     'meshd_unenrollments_total{cause="request"} counts it')
        self.c.check(t.listening(d) == [], "its listeners are gone from the netns", t.listening(d))
        self.c.check(h.metrics(t.n1).series("meshd_connections_opened_total", listener=label(d)) == [],
                     "its listeners' metric series are gone")
        if t.ebpf:
            self.c.check(len(t.dump(t.n1, "mesh_pods")) == cookie_entries - 1, "its netns cookie is gone from mesh_pods")
        else:
            self.c.check(not t.nft_table(d), "its nft table is gone")
        out, r = t.connect(a, d.addr(8080))
        self.c.check(r is not None and cs.host(r["peer"]) == a.ip4, "inbound to the unenrolled pod goes direct (not captured)", out)
        before = t.metrics()
        out, r = t.connect(d, b.addr(8080))
        self.c.check(r is not None and cs.host(r["getsockname"]) == d.ip4 and t.delta(before, t.n1, "meshd_connections_opened_total") == 0,
                     "outbound from the unenrolled pod goes direct (no relay on node 1)", out)

    def bare_metal(self):
        """A systemd-style service: its cgroup in the node's own netns (eBPF only)."""
        t, h, n1, b = self.t, self.h, self.t.n1, self.t.b
        svc = f"{n1.cgroup}/svc1"
        os.makedirs(svc)
        r = h.meshctl(n1, "enroll", "--name", "svc1", "--namespace", "default", "--cgroup", svc, "--ip", "198.18.0.1")
        if not t.ebpf:
            self.c.check(r.returncode != 0 and "needs eBPF" in r.stderr, "nftables mode: enroll by cgroup fails with a clear message",
                         f"exit {r.returncode}: {r.stdout} {r.stderr}")
            os.rmdir(svc)
            return
        self.c.check(r.returncode == 0, "enroll a bare-metal service by its cgroup", r.stdout + r.stderr)
        cmd = [h.tool("netns_exec"), "--cgroup", svc, "--netns", n1.netns, "--", h.tool("capture_client"), "--connect", b.addr(8080)]
        before = t.metrics()
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        r = cs.parse_reply(out)
        self.c.check(r is not None and cs.host(r["peer"]) == "127.0.0.6" and r["getpeername"] == b.addr(8080)
                     and t.delta(before, n1, "meshd_connections_opened_total", kind="outbound", listener="default/svc1") == 1,
                     "the service's outbound is captured in the host netns, on its own listener", out)
        wl = [w for w in h.workloads(n1) if w["name"] == "svc1"]
        self.c.check(len(wl) == 1 and wl[0].get("cgroup") == svc and wl[0]["status"] == "captured",
                     "meshctl workloads shows the service with its cgroup", wl)
        self.c.check(h.meshctl(n1, "unenroll", "svc1").returncode == 0, "unenroll the service")
        before = t.metrics()
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        r = cs.parse_reply(out)
        self.c.check(r is not None and t.delta(before, n1, "meshd_connections_opened_total") == 0,
                     "after unenroll, the service's traffic is no longer captured", out)
        os.rmdir(svc)
