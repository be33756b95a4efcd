"""Lifecycle scenarios of meshd_capture_test.py, on the Topology of meshd_capture_scenarios:
program upgrade under traffic, SIGKILL (fail closed) and restart with no re-enrollment, an
enrollment queued while meshd is down, garbage collection of a deleted netns, and the SIGTERM
drain with an open captured connection."""
import os
import signal
import subprocess
import time

import capture_scenarios as cs
import netns_harness as nh
from meshd_capture_scenarios import held_ok, label


def links(h, node):
    """{pin name: (link id, program id)} of the node's pinned links (eBPF mode)."""
    d = f"{node.pin_dir}/links"
    out = {}
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        info = h.pinned_link(node, name)
        if info:
            out[name] = (info["id"], info["prog_id"])
    return out


class Lifecycle:
    def __init__(self, t):
        self.t, self.h, self.c = t, t.h, t.c

    def _client(self, pod, addr, *extra):
        return subprocess.Popen(self.h._wrap(pod.cgroup, pod.netns, [self.h.tool("capture_client"), "--connect", addr,
                                *extra]), stdout=subprocess.PIPE, text=True)

    def _opened(self, node, kind, pod):
        return self.h.metrics(node).get("meshd_connections_opened_total", kind=kind, listener=label(pod)) or 0

    def upgrade(self):
        t, h = self.t, self.h
        a, b = t.a, t.b
        if not t.ebpf:
            r = h.meshctl(t.n1, "capture", "upgrade")
            self.c.check(r.returncode != 0 and "not eBPF" in r.stderr,
                         "meshctl capture upgrade in nftables mode fails with a clear message", f"exit {r.returncode}: {r.stderr}")
            return
        before = {n: links(h, n) for n in (t.n1, t.n2)}
        opened = (self._opened(t.n1, "outbound", a), self._opened(t.n2, "inbound", b))
        held = self._client(a, b.addr(8080), "--hold-ms", "2500")
        loop = self._client(a, b.addr(8080), "--count", "300", "--concurrency", "2")
        results = [h.meshctl(n, "capture", "upgrade") for n in (t.n1, t.n2)]
        held_out = held.communicate(timeout=60)[0].strip()
        loop_out = loop.communicate(timeout=60)[0].strip()
        self.c.check(all(r.returncode == 0 and "upgraded" in r.stdout for r in results),
                     "meshctl capture upgrade succeeds on both nodes", [r.stdout + r.stderr for r in results])
        self.c.check(held_ok(held_out), "a captured connection held open across the upgrade keeps working", held_out)
        self.c.check("ok=300 failed=0" in loop_out, "300 new connections during the upgrade all succeed", loop_out)
        out, r = t.connect(a, b.addr(8080))
        self.c.check(r is not None and cs.host(r["peer"]) == "127.0.0.6", "after the upgrade, new connections are still captured", out)
        got = (self._opened(t.n1, "outbound", a) - opened[0], self._opened(t.n2, "inbound", b) - opened[1])
        self.c.check(got == (302, 302), "every connection made during and after the upgrade went through meshd both ways", got)
        for n in (t.n1, t.n2):
            after = links(h, n)
            same_links = sorted(before[n]) == sorted(after) and all(before[n][k][0] == after[k][0] for k in after)
            new_progs = all(before[n][k][1] != after[k][1] for k in after)
            self.c.check(len(after) >= 6 and same_links and new_progs,
                         f"{n.name}: every pinned link kept its id and got a new program", f"{before[n]} → {after}")

    def fail_closed_restart_pending(self):
        t, h = self.t, self.h
        a, b, c_pod, e = t.a, t.b, t.c_pod, t.e
        links_before = links(h, t.n1) if t.ebpf else None
        workloads_before = {n: t.workload_names(n) for n in (t.n1, t.n2)}
        rcs = [h.kill_daemon(n, signal.SIGKILL) for n in (t.n1, t.n2)]
        self.c.check(rcs == [-signal.SIGKILL] * 2, "both meshd killed with SIGKILL", rcs)
        out, _ = t.connect(a, b.addr(8080), "--timeout-ms", "2000")
        self.c.check(out.startswith("error="), "right after SIGKILL a captured connection fails (refused or reset), nothing passes", out)
        # The kernel tears a dead process's io_uring down asynchronously: its listening sockets
        # can outlive the process by a few milliseconds (a connection then is accepted and
        # reset: nothing passes either way). Wait, bounded, for them to close.
        start = time.monotonic()
        gone = t.wait_until(lambda: not t.listening(a) and not t.listening(b), timeout=2)
        self.c.check(gone, f"meshd's listeners close with it ({(time.monotonic() - start) * 1000:.0f} ms)",
                     f"{t.listening(a)} {t.listening(b)}")
        for src, dst, what in [(a, b.addr(8080), "an enrolled pod's outbound"), (a, c_pod.addr(8080), "an enrolled pod's outbound to a non-mesh pod"),
                               (c_pod, b.addr(8080), "inbound to an enrolled pod")]:
            start = time.monotonic()
            out, _ = t.connect(src, dst, "--timeout-ms", "5000")
            took = time.monotonic() - start
            self.c.check(out.startswith("error=refused") and took < 1.0, f"meshd down: {what} is refused at once (fail closed)",
                         f"{out} after {took:.2f}s")
        out, r = t.connect(c_pod, e.addr(8080))
        self.c.check(r is not None and cs.host(r["peer"]) == c_pod.ip4, "meshd down: unenrolled pods still talk to each other", out)

        p = h.add_pod(t.n1)
        h.echo_server(p, 8080)
        r = h.meshctl_enroll(p)
        queued = os.listdir(t.n1.pending) if os.path.isdir(t.n1.pending) else []
        self.c.check(r.returncode == 0 and "queued" in r.stdout and queued, "meshctl enroll while meshd is down queues the enrollment",
                     f"exit {r.returncode}: {r.stdout} {r.stderr} pending={queued}")
        out, r = t.connect(p, c_pod.addr(8080))
        self.c.check(r is not None and cs.host(r["peer"]) == p.ip4, "a queued pod is not captured before meshd starts", out)

        for n in (t.n1, t.n2):
            t.start(n)
        out, r = t.connect(a, b.addr(8080))
        self.c.check(r is not None and cs.host(r["peer"]) == "127.0.0.6", "meshd restarted: traffic flows with no re-enrollment", out)
        out, r = t.connect(c_pod, b.addr(8080))
        self.c.check(r is not None and cs.host(r["peer"]) == "127.0.0.6", "meshd restarted: inbound capture is back", out)
        for n in (t.n1, t.n2):
            wl = h.workloads(n)
            want = sorted(workloads_before[n] + ([p.name] if n is t.n1 else []))
            self.c.check(sorted(w["name"] for w in wl) == want and all(w["status"] == "captured" for w in wl),
                         f"{n.name}: the restarted meshd lists every workload as captured", [(w["name"], w["status"]) for w in wl])
        self.c.check(not os.listdir(t.n1.pending), "the queued enrollment was consumed", os.listdir(t.n1.pending))
        out, r = t.connect(p, t.b.addr(8080))
        self.c.check(r is not None and cs.host(r["peer"]) == "127.0.0.6" and self._opened(t.n1, "outbound", p) == 1,
                     "the pod enrolled while meshd was down is captured once it starts", out)
        if t.ebpf:
            after = links(h, t.n1)
            self.c.check(all(k in after and after[k][0] == v[0] and after[k][1] != v[1] for k, v in links_before.items()),
                         "the restart kept the pinned links and swapped in new programs", f"{links_before} → {after}")

    def gc(self):
        t, h = self.t, self.h
        g = h.add_pod(t.n1)
        ips_before = cs.map_len(t.n1, "mesh_pod_ips") if t.ebpf else 0
        gone_before = h.metrics(t.n1).get("meshd_unenrollments_total", cause="netns_gone")
        r = h.meshctl_enroll(g)
        self.c.check(r.returncode == 0, "enroll a pod that will be deleted", r.stdout + r.stderr)
        ino = os.stat(g.netns).st_ino
        nh.sh("ip", "netns", "del", os.path.basename(g.netns))
        h.netns_names.remove(os.path.basename(g.netns))
        gone = t.wait_until(lambda: g.name not in t.workload_names(t.n1))
        self.c.check(gone, "a deleted pod netns is garbage-collected: gone from meshctl workloads", t.workload_names(t.n1))
        got = h.metrics(t.n1).get("meshd_unenrollments_total", cause="netns_gone") - gone_before
        self.c.check(got == 1, 'meshd_unenrollments_total{cause="netns_gone"} counts it', got)
        self.c.check(h.metrics(t.n1).series("meshd_connections_opened_total", listener=label(g)) == [],
                     "the collected pod's listeners are closed (their series are gone)")
        if t.ebpf:
            self.c.check(not t.sk_lookup_pin(t.n1, ino) and cs.map_len(t.n1, "mesh_pod_ips") == ips_before,
                         "the collected pod's sk_lookup link and addresses are removed", cs.map_len(t.n1, "mesh_pod_ips"))

    def drain(self):
        t, h = self.t, self.h
        a, b = t.a, t.b
        held = self._client(a, b.addr(8080), "--hold-ms", "2000")
        up = t.wait_until(lambda: (h.metrics(t.n2).get("meshd_connections_active", kind="inbound", listener=label(b)) or 0) == 1)
        self.c.check(up, "a captured connection is open through both nodes")
        for n in (t.n1, t.n2):
            n.daemon.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        state = h.status(t.n1)["state"] if t.n1.daemon.poll() is None else f"exited {t.n1.daemon.returncode}"
        self.c.check(state == "draining", "SIGTERM: meshd keeps running and reports draining while the connection is open", state)
        out, _ = t.connect(t.loaders[0], b.addr(8080), "--timeout-ms", "2000")
        self.c.check(out.startswith("error=refused"), "while draining, new captured connections are refused (fail closed)", out)
        held_out = held.communicate(timeout=30)[0].strip()
        self.c.check(held_ok(held_out), "the open connection keeps working until it finishes", held_out)
        rcs = []
        for n in (t.n1, t.n2):
            try:
                rcs.append(n.daemon.wait(timeout=10))
            except subprocess.TimeoutExpired:
                rcs.append("still running 10s after its last connection ended")
        self.c.check(rcs == [0, 0], "then meshd exits 0 on both nodes", rcs)
        self.c.check("draining" in h.daemon_log(t.n1) and "meshd stopped" in h.daemon_log(t.n1), "the log tells the drain")
