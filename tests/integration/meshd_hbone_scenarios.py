"""Same-node HBONE and interop scenarios of meshd_hbone_test.py (node n1 of the topology):
what the applications see, byte-exactness, half-close and reset both ways, pooling,
passthrough, and HBONE peers we did not write (python3-h2, openssl s_client) on both sides
of meshd."""
import hashlib
import random

import capture_scenarios as cs
from meshd_hbone_topology import APP_PORT, Delta, spiffe

MIB = 1 << 20


def label(pod):
    return f"default/{pod.name}"


def sha(n, seed):
    return hashlib.sha256(random.Random(seed).randbytes(n)).hexdigest()


class SameNode:
    def __init__(self, t):
        self.t, self.h, self.c = t, t.h, t.c

    def status(self):
        t = self.t
        ids = t.identities(t.n1)
        for sa in ("a", "b", "standin"):
            i = ids.get(spiffe(sa), {})
            self.c.check(i.get("source") == "builtin_ca" and i.get("generation") == 1 and i.get("serial"),
                         f"meshctl status lists identity {spiffe(sa)} issued by the built-in CA (generation 1)", ids)
        m = self.h.metrics(t.n1)
        exp = m.get("meshd_identity_cert_expiration_timestamp_seconds", identity=spiffe("b"))
        self.c.check(exp is not None and exp == ids.get(spiffe("b"), {}).get("not_after"),
                     "meshd_identity_cert_expiration_timestamp_seconds{identity=b} is the leaf's notAfter", exp)
        hbone = [l for l in self.h.status(t.n1)["listeners"] if l.get("kind") == "hbone"]
        self.c.check(sorted(l["name"] for l in hbone) == sorted([label(t.a), label(t.b), "default/standin"]),
                     "meshctl status lists an hbone listener per enrolled workload", hbone)

    def pod_to_pod(self):
        """a → b on one node: outbound on a, HBONE client, b's 15008, app dialled from 127.0.0.6."""
        t = self.t
        for v6, local_hop in ((False, "127.0.0.6"), (True, "::1")):
            fam = "IPv6" if v6 else "IPv4"
            d = Delta(self.h, t.n1)
            out, r = t.connect(t.a, t.b.addr(APP_PORT, v6))
            d.until(lambda d: d.get("meshd_connections_opened_total", kind="hbone", listener=label(t.b)) >= 1)
            ok = r is not None
            self.c.check(ok and cs.host(r["peer"]) == local_hop and r["local"] == t.b.addr(APP_PORT, v6),
                         f"{fam} a→b: b's app sees {local_hop} and its own address", out)
            self.c.check(ok and r["getpeername"] == t.b.addr(APP_PORT, v6),
                         f"{fam} a→b: a's app sees b's address from getpeername", out)
            self.c.check(d.get("meshd_tunnel_connections_opened_total", role="client") == 1 and
                         d.get("meshd_tunnel_connections_opened_total", role="server") == 1,
                         f"{fam} a→b: one HBONE connection dialled (client) and one accepted (server)",
                         (d.get("meshd_tunnel_connections_opened_total", role="client"),
                          d.get("meshd_tunnel_connections_opened_total", role="server")))
            opened = lambda kind, pod: d.get("meshd_connections_opened_total", kind=kind, listener=label(pod))  # noqa: E731
            self.c.check(opened("outbound", t.a) == 1 and opened("hbone", t.b) == 1 and opened("inbound", t.b) == 0,
                         f"{fam} a→b: a's outbound and b's hbone listener opened one each, b's plaintext inbound none",
                         (opened("outbound", t.a), opened("hbone", t.b), opened("inbound", t.b)))
            self.c.check(d.get("meshd_tunnel_bytes_total", direction="sent") > 0,
                         f"{fam} a→b: ciphertext counted in meshd_tunnel_bytes_total")
            workers = t.workers(t.n1)
            if workers >= 2:
                # Both ends are this meshd's, which runs with local_tunnel_worker = "other": the
                # worker that dialled hands the accepted end to another one (LocalTunnels).
                dialled = d.workers_with_one("meshd_worker_tunnels_dialled", workers)
                served = d.workers_with_one("meshd_worker_tunnels_accepted", workers)
                self.c.check(len(dialled) == 1 and len(served) == 1 and dialled != served,
                             f"{fam} a→b: local_tunnel_worker = \"other\": the tunnel's two ends run on different workers "
                             f"(dialled on {dialled}, served on {served}, {workers} workers)")

    def bytes_and_half_close(self):
        t = self.t
        for v6 in (False, True):
            fam = "IPv6" if v6 else "IPv4"
            dst = t.b.addr(APP_PORT, v6)
            before = len(t.app_log(t.b, "ECHO", 0))
            r = t.app(t.a, "echo", dst, "--bytes", str(4 * MIB), "--seed", "11")
            self.c.check(r.get("match") and r.get("received") == 4 * MIB and r.get("end") == "eof",
                         f"{fam} a→b: 4 MiB echoed byte-exact; a's half-close reached b, b's came back as EOF", r)
            logs = t.wait_log(t.b, "ECHO", before + 1)
            self.c.check(bool(logs) and f"got={4 * MIB} sha={sha(4 * MIB, 11)} end=eof" in logs[-1],
                         f"{fam} a→b: b's app received the 4 MiB intact, then EOF", logs[-1:])
            before = len(t.app_log(t.b, "PUSH", 0))
            r = t.app(t.a, "push", dst, "--bytes", str(3 * MIB), "--seed", "12", "--send", str(2 * MIB), "--send-seed", "13")
            self.c.check(r.get("match") and r.get("end") == "eof" and r.get("sent_after"),
                         f"{fam} b half-closes first: a gets 3 MiB then EOF and can still send", r)
            logs = t.wait_log(t.b, "PUSH", before + 1)
            self.c.check(bool(logs) and f"got={2 * MIB} sha={sha(2 * MIB, 13)} end=eof" in logs[-1],
                         f"{fam} after b's half-close, a's 2 MiB still reach b byte-exact, then EOF", logs[-1:])

    def resets(self):
        t = self.t
        for v6 in (False, True):
            fam = "IPv6" if v6 else "IPv4"
            dst = t.b.addr(APP_PORT, v6)
            d = Delta(self.h, t.n1)
            r = t.app(t.a, "reset", dst)
            self.c.check(r.get("end") == "reset", f"{fam} b's app resets: a's app gets a reset, not an EOF", r)
            before = len(t.app_log(t.b, "WAIT", 0))
            t.app(t.a, "abort", dst)
            logs = t.wait_log(t.b, "WAIT", before + 1)
            self.c.check(bool(logs) and logs[-1].endswith("end=reset"),
                         f"{fam} a's app resets: b's app gets a reset, not an EOF", logs[-1:])
            closed = lambda kind, pod, why: d.get("meshd_connections_closed_total", kind=kind, listener=label(pod), reason=why)  # noqa: E731
            d.until(lambda d: all(closed(k, p, w) >= 1 for k, p in (("outbound", t.a), ("hbone", t.b))
                                  for w in ("upstream_reset", "downstream_reset")))
            self.c.check(closed("outbound", t.a, "upstream_reset") == 1 and closed("hbone", t.b, "upstream_reset") == 1 and
                         closed("outbound", t.a, "downstream_reset") == 1 and closed("hbone", t.b, "downstream_reset") == 1,
                         f"{fam} resets counted on both hops (upstream_reset, downstream_reset)",
                         [closed(k, p, w) for k, p in (("outbound", t.a), ("hbone", t.b))
                          for w in ("upstream_reset", "downstream_reset")])

    def pooling(self):
        t = self.t
        workers = t.workers(t.n1)
        d = Delta(self.h, t.n1)
        out = self.h.client(t.a, t.b.addr(APP_PORT), "--count", "300", "--concurrency", "8")
        d.until(lambda d: d.get("meshd_connections_opened_total", kind="hbone", listener=label(t.b)) >= 300)
        self.c.check(out == "ok=300 failed=0", "300 connections a→b (8 at a time) all answered", out)
        opened = d.get("meshd_tunnel_connections_opened_total", role="client")
        streams = d.get("meshd_connections_opened_total", kind="hbone", listener=label(t.b))
        self.c.check(streams == 300, "b's hbone listener relayed 300 streams", streams)
        self.c.check(opened <= workers, f"they shared pooled HBONE connections: {opened} dialled (≤ one per worker, "
                     f"{workers} workers)", opened)
        active = self.h.metrics(t.n1).get("meshd_tunnel_connections_active", role="client")
        self.c.check(active is not None and active <= 2 * workers,
                     f"client HBONE connections open after the burst: {active} (a→b v4, v6 per worker at most)", active)

    def passthrough(self):
        """a → c (not enrolled): plaintext passthrough. c → b: plaintext into b's 15006."""
        t = self.t
        for v6 in (False, True):
            fam = "IPv6" if v6 else "IPv4"
            d = Delta(self.h, t.n1)
            out, r = t.connect(t.a, t.c_pod.addr(APP_PORT, v6))
            d.until(lambda d: d.get("meshd_connections_opened_total", kind="outbound", listener=label(t.a)) >= 1)
            a_ip = t.a.ip6 if v6 else t.a.ip4
            self.c.check(r is not None and cs.host(r["peer"]) == a_ip, f"{fam} a→c (not enrolled): c sees a's own address",
                         out)
            self.c.check(d.get("meshd_tunnel_connections_opened_total", role="client") == 0 and
                         d.get("meshd_connections_opened_total", kind="outbound", listener=label(t.a)) == 1,
                         f"{fam} a→c: relayed by a's outbound listener, no HBONE connection")
            d = Delta(self.h, t.n1)
            out, r = t.connect(t.c_pod, t.b.addr(APP_PORT, v6))
            d.until(lambda d: d.get("meshd_connections_opened_total", kind="inbound", listener=label(t.b)) >= 1)
            hop = "::1" if v6 else "127.0.0.6"
            self.c.check(r is not None and cs.host(r["peer"]) == hop, f"{fam} c (not enrolled)→b: b's app sees {hop}", out)
            self.c.check(d.get("meshd_connections_opened_total", kind="inbound", listener=label(t.b)) == 1 and
                         d.get("meshd_connections_opened_total", kind="hbone", listener=label(t.b)) == 0 and
                         d.get("meshd_tunnel_connections_opened_total", role="server") == 0,
                         f"{fam} c→b arrived in plaintext on b's 15006 (inbound), not on 15008")


class Interop:
    """HBONE peers we did not write, against meshd on n1."""

    def __init__(self, t):
        self.t, self.h, self.c = t, t.h, t.c

    def peer_args(self, name="tester"):
        return ["--certs", self.t.certs[name], "--trust", self.t.trust]

    def python_client(self):
        """python3-h2 client from c (not enrolled) to b's 15008."""
        t = self.t
        b4, b6 = t.b.ip4, t.b.ip6
        d = Delta(self.h, t.n1)
        streams = [f"{b4}:{APP_PORT}:{2 * MIB}:21", f"[{b6}]:{APP_PORT}:{MIB}:22", f"{t.a.ip4}:{APP_PORT}:1:0",
                   f"{b4}:15008:1:0", f"{b4}:9:1:0"]
        r = t.h2_peer(t.c_pod, "connect", f"{b4}:15008", *self.peer_args(), *sum((["--stream", s] for s in streams), []))
        got = {s["authority"]: s for s in r.get("streams", [])}
        rej = lambda why: d.get("meshd_connections_rejected_total", kind="hbone", listener=label(t.b), reason=why)  # noqa: E731
        d.until(lambda d: rej("no_destination") and rej("self_call") and rej("upstream_refused"))
        self.c.check(r.get("alpn") == "h2", "python ssl negotiates ALPN h2 with b's 15008", r)
        for auth, n, hop in ((f"{b4}:{APP_PORT}", 2 * MIB, "127.0.0.6"), (f"[{b6}]:{APP_PORT}", MIB, "::1")):
            s = got.get(auth, {})
            self.c.check(s.get("status") == 200 and s.get("match") and s.get("received") == n and s.get("ended"),
                         f"python3-h2 CONNECT {auth}: 200, {n // MIB} MiB echoed byte-exact, END_STREAM back", s)
            self.c.check(s.get("peer_line", "").startswith(f"peer={hop}:") or s.get("peer_line", "").startswith(f"peer=[{hop}]:"),
                         f"python3-h2 CONNECT {auth}: the app sees meshd's hop from {hop}", s.get("peer_line"))
        for auth, code, what in ((f"{t.a.ip4}:{APP_PORT}", 400, "an address that is not b"),
                                 (f"{b4}:15008", 400, "b's own 15008"), (f"{b4}:9", 503, "a port nobody listens on")):
            self.c.check(got.get(auth, {}).get("status") == code, f"python3-h2 CONNECT to {what} ({auth}) → {code}",
                         got.get(auth))
        self.c.check(rej("no_destination") == 1 and rej("self_call") == 1 and rej("upstream_refused") == 1,
                     "the three refusals are counted on b's hbone listener (no_destination, self_call, upstream_refused)",
                     [rej(w) for w in ("no_destination", "self_call", "upstream_refused")])

    def openssl(self):
        t = self.t
        addr = f"{t.b.ip4}:15008"
        ok = t.s_client(t.c_pod, addr, *t.cert_args("tester"))
        self.c.check("TLSv1.3" in ok.stdout and "ALPN protocol: h2" in ok.stdout,
                     "openssl s_client with a certificate: TLS 1.3, ALPN h2", ok.stdout[-600:])
        self.c.check("URI:" + spiffe("b") in self.cert_text(ok.stdout),
                     "b's 15008 presents b's SPIFFE identity as its URI SAN")
        for args, reason, what in (([], "no_peer_certificate", "without a client certificate"),
                                   (["-tls1_2", *t.cert_args("tester")], "protocol_version", "TLS 1.2 only"),
                                   (t.cert_args("stranger"), "unknown_ca", "a certificate from a CA nobody trusts"),
                                   (t.cert_args("foreign"), "wrong_trust_domain",
                                    "a certificate of another (federated) trust domain")):
            d = Delta(self.h, t.n1)
            r = t.s_client(t.c_pod, addr, *args)
            d.until(lambda d: d.get("meshd_tunnel_tls_failures_total", reason=reason) >= 1)
            n = d.get("meshd_tunnel_tls_failures_total", reason=reason)
            self.c.check(n == 1, f"openssl s_client {what}: refused, meshd_tunnel_tls_failures_total{{reason={reason}}} +1",
                         f"+{n}; {r.stdout[-300:]} {r.stderr[-300:]}")

    @staticmethod
    def cert_text(s_client_out):
        import re
        import subprocess
        m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", s_client_out, re.S)
        if not m:
            return ""
        return subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"], input=m.group(0),
                              capture_output=True, text=True, timeout=10).stdout

    def bad_http2(self):
        t = self.t
        d = Delta(self.h, t.n1)
        r = t.h2_peer(t.c_pod, "abuse", f"{t.b.ip4}:15008", *self.peer_args(), "--stream", f"{t.b.ip4}:{APP_PORT}")
        d.until(lambda d: d.get("meshd_tunnel_http2_failures_total", reason="bad_preface") >= 1 and
                d.get("meshd_tunnel_http2_failures_total", reason="frame_size") >= 1)
        self.c.check(r.get("held_status") == 200 and r.get("held_round1"), "a held python3-h2 stream echoes", r)
        self.c.check(r.get("garbage_closed") and d.get("meshd_tunnel_http2_failures_total", reason="bad_preface") == 1,
                     "garbage after TLS closes that connection, counted as bad_preface",
                     (r, d.get("meshd_tunnel_http2_failures_total", reason="bad_preface")))
        self.c.check(r.get("malformed_closed") and d.get("meshd_tunnel_http2_failures_total", reason="frame_size") == 1,
                     "a malformed HTTP/2 frame closes that connection, counted as frame_size",
                     (r, [(ls["reason"], v) for ls, v in d.after.series("meshd_tunnel_http2_failures_total") if v]))
        self.c.check(r.get("held_round2"), "the held stream on another connection still echoes afterwards, then ends", r)
        out, reply = t.connect(t.a, t.b.addr(APP_PORT))
        self.c.check(reply is not None, "and a→b through meshd's own tunnel still works", out)

    def python_server(self):
        """meshd's HBONE client against python3-h2 on f:15008 (f stands in for a meshed peer)."""
        t = self.t
        log = f"{t.h.tmp}/h2-server-{t.f.name}.log"
        t.h.spawn_in_pod(t.f, ["/usr/bin/python3", t.h2_server_script(), "serve", "--port", "15008",
                               *self.peer_args("standin"), "--log", log], wait_ready=True)
        for v6, n, seed in ((False, 2 * MIB, 31), (True, MIB, 32)):
            fam = "IPv6" if v6 else "IPv4"
            dst = t.f.addr(APP_PORT, v6)
            d = Delta(self.h, t.n1)
            r = t.app(t.a, "echo", dst, "--bytes", str(n), "--seed", str(seed))
            d.refresh()
            want = f"authority={dst} client={spiffe('a')} got={n} sha={sha(n, seed)}"
            self.c.check(r.get("match") and r.get("end") == "eof",
                         f"{fam} a→f through meshd's HBONE client and a python3-h2 server: {n // MIB} MiB echoed byte-exact", r)
            self.c.check(r.get("peer_line") == f"peer={spiffe('a')} local={dst}",
                         f"{fam} the python3-h2 server saw :authority {dst} and a's SPIFFE client certificate",
                         r.get("peer_line"))
            self.c.check(d.get("meshd_tunnel_connections_opened_total", role="client") == 1,
                         f"{fam} meshd dialled one HBONE connection to f:15008")
            lines = t.read_file_lines(log, want=want)
            self.c.check(want in lines,
                         f"{fam} the python3-h2 server received the {n // MIB} MiB intact and END_STREAM", lines[-2:])
