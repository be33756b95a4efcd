"""Identity scenarios of meshd_hbone_test.py: certificate rotation under traffic (node n2,
10 s leaves renewed every 5 s), a workload without a certificate (node n3, PEM directories
only), and the cross-node cases, which wait for the cluster-wide workload directory."""
import os
import time

from meshd_hbone_scenarios import MIB, label, sha
from meshd_hbone_topology import APP_PORT, Delta, spiffe

# meshd learns about workloads on other nodes from the policy model's workload directory
# ([[workload]] entries in policy.d); the cross-node cases write one on each node.


class Rotation:
    def __init__(self, t):
        self.t, self.h, self.c = t, t.h, t.c

    def served_serial(self, pod, dst):
        r = self.t.s_client(pod, dst, *self.t.cert_args("tester"))
        return self.t.served_serial(r.stdout)

    def rotation(self):
        """A held echo connection a rotation of both leaves, then a new connection."""
        t = self.t
        r2 = spiffe("r2")
        before = t.identities(t.n2)
        serial_before = self.served_serial(t.r3, f"{t.r2.ip4}:15008")
        status_serials = {t.norm_serial(before.get(r2, {}).get("serial")),
                          t.norm_serial(t.identities(t.n2).get(r2, {}).get("serial"))}
        self.c.check(serial_before is not None and serial_before in status_serials,
                     "r2's 15008 presents the serial meshctl status shows", (serial_before, status_serials))
        d = Delta(self.h, t.n2)
        # 12 s: at least two renewals of each 10 s leaf (at half-life) while the connection is held.
        held = self.h.spawn_in_pod(t.r1, [self.h.tool("capture_client"), "--connect", t.r2.addr(APP_PORT),
                                          "--hold-ms", "12000"])
        workers = t.workers(t.n2)
        if workers >= 2:
            # n2 runs with the default runtime.local_tunnel_worker = "same": the held connection's
            # tunnel, the only one n2 has dialled so far, is served by the worker that dialled it.
            d.until(lambda d: d.workers_with_one("meshd_worker_tunnels_dialled", workers) and
                    d.workers_with_one("meshd_worker_tunnels_accepted", workers))
            dialled = d.workers_with_one("meshd_worker_tunnels_dialled", workers)
            served = d.workers_with_one("meshd_worker_tunnels_accepted", workers)
            self.c.check(len(dialled) == 1 and dialled == served,
                         f"local_tunnel_worker = \"same\" (default): the r1→r2 tunnel's two ends run on one worker "
                         f"(dialled on {dialled}, served on {served}, {workers} workers)")
        transfer = t.app(t.r1, "echo", t.r2.addr(APP_PORT, True), "--bytes", str(8 * MIB), "--seed", "41")
        try:
            out, err = held.communicate(timeout=40)
        except Exception as e:  # noqa: BLE001 (report, never hang)
            held.kill()
            out, err = "", f"{e}"
        after = t.identities(t.n2)
        lines = out.strip().splitlines()
        self.c.check(len(lines) == 2 and lines[1].startswith("held echoes=") and "error" not in out,
                     "a connection r1→r2 held through HBONE for 12 s kept echoing across the renewals", out + err)
        self.c.check(transfer.get("match"), "an 8 MiB transfer r1→r2 (IPv6) during the renewals is byte-exact", transfer)
        for sa in ("r1", "r2"):
            g0 = before.get(spiffe(sa), {}).get("generation", 0)
            g1 = after.get(spiffe(sa), {}).get("generation", 0)
            self.c.check(g1 >= g0 + 2, f"identity {sa}: generation {g0} → {g1} (renewed at half-life of 10 s leaves)")
        d.refresh()
        self.c.check(d.get("meshd_identity_cert_rotations_total", result="ok") >= 4 and
                     d.get("meshd_identity_cert_rotations_total", result="failed") == 0,
                     "meshd_identity_cert_rotations_total counts the renewals, none failed",
                     (d.get("meshd_identity_cert_rotations_total", result="ok"),
                      d.get("meshd_identity_cert_rotations_total", result="failed")))
        out, reply = t.connect(t.r1, t.r2.addr(APP_PORT))
        self.c.check(reply is not None and reply["peer"].startswith("127.0.0.6:"), "a new connection r1→r2 works", out)
        now = t.identities(t.n2).get(r2, {}).get("serial")
        serial_after = self.served_serial(t.r3, f"{t.r2.ip4}:15008")
        later = t.identities(t.n2).get(r2, {}).get("serial")
        self.c.check(serial_after is not None and serial_after != serial_before and
                     serial_after in {t.norm_serial(now), t.norm_serial(later)},
                     "a new handshake with r2's 15008 presents the renewed leaf's serial",
                     (serial_before, serial_after, now, later))
        m = self.h.metrics(t.n2).get("meshd_identity_cert_expiration_timestamp_seconds", identity=r2)
        self.c.check(m is not None and m > time.time(), "the expiration gauge follows the renewed leaf", m)


class NoCertificate:
    """n3 has PEM directories only (x's), no CA: y's identity cannot be issued."""

    def __init__(self, t):
        self.t, self.h, self.c = t, t.h, t.c

    def no_certificate(self):
        t = self.t
        ids = t.identities(t.n3)
        self.c.check(list(ids) == [spiffe("x")] and ids[spiffe("x")].get("source") == "directory",
                     "n3 has x's certificate from its PEM directory, and none for y", ids)
        d = Delta(self.h, t.n3)
        out, reply = t.connect(t.y, t.x.addr(APP_PORT))
        rej = lambda kind, pod, why: d.get("meshd_connections_rejected_total", kind=kind, listener=label(pod), reason=why)  # noqa: E731
        d.until(lambda d: rej("outbound", t.y, "no_certificate") >= 1)
        self.c.check(reply is None and rej("outbound", t.y, "no_certificate") == 1,
                     "y (no certificate) → x (meshed): refused, counted as no_certificate on y's outbound listener",
                     (out, rej("outbound", t.y, "no_certificate")))
        self.c.check(d.get("meshd_tunnel_connections_opened_total", role="client") == 0,
                     "y → x: no HBONE connection was even dialled")
        d = Delta(self.h, t.n3)
        out, reply = t.connect(t.x, t.y.addr(APP_PORT))
        d.until(lambda d: rej("hbone", t.y, "no_certificate") >= 1 and rej("outbound", t.x, "tunnel_failed") >= 1)
        self.c.check(reply is None and rej("hbone", t.y, "no_certificate") == 1,
                     "x → y: y's 15008 has no certificate to present and refuses, counted as no_certificate",
                     (out, rej("hbone", t.y, "no_certificate")))
        self.c.check(rej("outbound", t.x, "tunnel_failed") == 1, "x → y: x's side counts tunnel_failed",
                     rej("outbound", t.x, "tunnel_failed"))
        logs = t.app_log(t.y, None, 0)
        self.c.check(not logs, "y's app never saw a connection", logs)


class CrossNode:
    """A on n1 → r2 on n2 and back, IPv4 and IPv6, and meshd's client against a python3-h2
    15008 on another node, learnt from the workload directory in policy.d."""

    def __init__(self, t):
        self.t, self.h, self.c = t, t.h, t.c

    def write_workload_directory(self, node, workloads):
        """policy.d/workloads.toml on `node` listing workloads of other nodes: (name, sa, pod,
        node name). The format follows DESIGN.md §4 ([[workload]]: name, namespace, service
        account, addresses, node); adjust here if the landed model differs."""
        d = os.path.join(node.dir, "policy.d")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "workloads.toml"), "w") as f:
            for name, sa, pod, where in workloads:
                f.write(f'[[workload]]\nname = "{name}"\nnamespace = "default"\nservice_account = "{sa}"\n'
                        f'addresses = ["{pod.ip4}", "{pod.ip6}"]\nnode = "{where}"\n\n')
        return d

    def cross_node(self):
        t = self.t
        for node, entries in ((t.n1, [("r2", "r2", t.r2, t.n2.name), ("r3-h2", "standin", t.r3, t.n2.name)]),
                              (t.n2, [("a", "a", t.a, t.n1.name), ("b", "b", t.b, t.n1.name)])):
            self.write_workload_directory(node, entries)
            self.h.kill_daemon(node, sig=15)
            t.start(node, {"identity": {"ca_dir": t.ca, **({"leaf_validity": "10s"} if node is t.n2 else {})},
                           "policy": {"dir": os.path.join(node.dir, "policy.d")}})
        for v6 in (False, True):
            fam = "IPv6" if v6 else "IPv4"
            for src, dst, hop in ((t.a, t.r2, "127.0.0.6"), (t.r1, t.b, "127.0.0.6")):
                hop = "::1" if v6 else hop
                d1, d2 = Delta(self.h, src.node), Delta(self.h, dst.node)
                r = t.app(src, "echo", dst.addr(APP_PORT, v6), "--bytes", str(2 * MIB), "--seed", "51")
                d1.refresh()
                d2.refresh()
                line = r.get("peer_line", "")
                self.c.check(bool(r.get("match")) and (line.startswith(f"peer={hop}:") or line.startswith(f"peer=[{hop}]:")),
                             f"{fam} {src.name}→{dst.name} across nodes: byte-exact, the app sees {hop}", r)
                self.c.check(d1.get("meshd_tunnel_bytes_total", direction="sent") > 0 and
                             d2.get("meshd_connections_opened_total", kind="hbone", listener=label(dst)) == 1,
                             f"{fam} {src.name}→{dst.name}: carried in HBONE to {dst.name}'s 15008")
        log = f"{t.h.tmp}/h2-server-{t.r3.name}.log"
        self.h.spawn_in_pod(t.r3, ["/usr/bin/python3", t.h2_server_script(), "serve", "--port", "15008",
                                   "--certs", t.certs["standin"], "--trust", t.trust, "--log", log], wait_ready=True)
        for v6 in (False, True):
            dst = t.r3.addr(APP_PORT, v6)
            r = t.app(t.a, "echo", dst, "--bytes", str(MIB), "--seed", "52")
            want = f"authority={dst} client={spiffe('a')} got={MIB} sha={sha(MIB, 52)}"
            self.c.check(r.get("match") and want in t.read_file_lines(log, want=want),
                         f"a (n1) → python3-h2 15008 on n2 ({dst}): CONNECT received byte-exact", r)
