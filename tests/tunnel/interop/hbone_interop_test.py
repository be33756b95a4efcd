#!/usr/bin/python3
"""Interop: meshd's TLS 1.3 + HBONE engines (through tests/support/hbone_interop) against
peers we did not write, on 127.0.0.1 only:
  1. python3-h2 over Python's ssl module, with a client certificate, as the HBONE client;
  2. meshd's HBONE client against a python3-h2 CONNECT server;
  3. openssl s_client: TLS 1.3 with h2, and refusals without a certificate, with TLS 1.2
     only, and from another trust domain.
Byte-exact both ways. Usage: hbone_interop_test.py PATH/TO/hbone_interop"""
import os
import random
import socket
import ssl
import subprocess
import sys
import tempfile
import threading

import h2.config
import h2.connection
import h2.events

TOOL = sys.argv[1]
TIMEOUT = 20
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def start_server(certs, connections):
    p = subprocess.Popen([TOOL, "serve", "--certs", certs, "--connections", str(connections),
                          "--timeout-ms", str(TIMEOUT * 1000)], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    assert line[0] == "port", line
    return p, int(line[1])


def client_ssl(pki, who="client"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False  # SPIFFE identities live in the URI SAN; no SNI, like ztunnel
    ctx.load_verify_locations(os.path.join(pki, "server", "root-cert.pem"))
    ctx.load_cert_chain(os.path.join(pki, who, "cert-chain.pem"), os.path.join(pki, who, "key.pem"))
    ctx.set_alpn_protocols(["h2"])
    return ctx


def h2_connect_streams(pki, port, streams):
    """python3-h2 client: one CONNECT per (authority, payload); returns {authority: (status, bytes)}."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    tls = client_ssl(pki).wrap_socket(raw)
    assert tls.selected_alpn_protocol() == "h2"
    # python3-h2 4.1 insists on :scheme/:path for every request, but a plain CONNECT (RFC 9113
    # §8.5, what HBONE sends) must not carry them: its header validation is switched off.
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
        client_side=True, validate_outbound_headers=False))
    conn.initiate_connection()
    ids = {}
    for authority, payload in streams:
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "CONNECT"), (":authority", authority),
                                ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")])
        ids[sid] = [authority, payload, 0, None, bytearray(), False]
    tls.sendall(conn.data_to_send())
    open_ids = set(ids)
    while open_ids:
        data = tls.recv(1 << 20)
        if not data:
            break
        for ev in conn.receive_data(data):
            st = ids.get(getattr(ev, "stream_id", None))
            if isinstance(ev, h2.events.ResponseReceived):
                st[3] = int(dict(ev.headers)[b":status"])
                if st[3] != 200:
                    open_ids.discard(ev.stream_id)
            elif isinstance(ev, h2.events.DataReceived):
                st[4] += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                st[5] = True
                open_ids.discard(ev.stream_id)
            elif isinstance(ev, h2.events.StreamReset):
                open_ids.discard(ev.stream_id)
        # Send what flow control allows for streams that got their 200.
        for sid, st in ids.items():
            if st[3] == 200 and st[2] < len(st[1]):
                room = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size, len(st[1]) - st[2])
                while room > 0:
                    conn.send_data(sid, bytes(st[1][st[2]:st[2] + room]))
                    st[2] += room
                    room = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size,
                               len(st[1]) - st[2])
                if st[2] == len(st[1]):
                    conn.end_stream(sid)
        tls.sendall(conn.data_to_send())
    tls.close()
    return {st[0]: (st[3], bytes(st[4]), st[5]) for st in ids.values()}


def test_python_client_to_meshd(pki):
    server, port = start_server(os.path.join(pki, "server"), 1)
    payload = random.Random(1).randbytes(3 << 20)
    got = h2_connect_streams(pki, port, [("127.0.0.1:8080", payload), ("127.0.0.1:9", b"x"),
                                         ("127.0.0.1:13", b"y")])
    out, _ = server.communicate(timeout=TIMEOUT)
    status, data, ended = got["127.0.0.1:8080"]
    check(status == 200, "python-h2 CONNECT gets 200 from meshd")
    check(data == payload and ended, f"3 MiB echoed byte-exact through meshd's HBONE server ({len(data)} bytes)")
    check(got["127.0.0.1:9"][0] == 503, "meshd answers 503 (no upstream) to python-h2")
    check(got["127.0.0.1:13"][0] == 403, "meshd answers 403 (denied) to python-h2")
    check("traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00" in out,
          "traceparent reaches meshd")
    check("tls none" in out and "h2 none" in out, "connection closed cleanly on both layers")


class PythonConnectServer(threading.Thread):
    """A CONNECT server written with python3-h2: answers 200 and echoes every byte."""

    def __init__(self, pki):
        super().__init__(daemon=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(os.path.join(pki, "server", "cert-chain.pem"), os.path.join(pki, "server", "key.pem"))
        ctx.load_verify_locations(os.path.join(pki, "server", "root-cert.pem"))
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.set_alpn_protocols(["h2"])
        self.ctx = ctx
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.authority = None
        self.peer_cert = None

    def run(self):
        raw, _ = self.sock.accept()
        raw.settimeout(TIMEOUT)
        tls = self.ctx.wrap_socket(raw, server_side=True)
        self.peer_cert = tls.getpeercert()
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
            client_side=False, validate_inbound_headers=False))  # plain CONNECT, see above
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        pending = {}
        done = False
        while not done:
            data = tls.recv(1 << 20)
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    self.authority = dict(ev.headers)[b":authority"].decode()
                    conn.send_headers(ev.stream_id, [(":status", "200")])
                    pending[ev.stream_id] = bytearray()
                elif isinstance(ev, h2.events.DataReceived):
                    pending[ev.stream_id] += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    pending[ev.stream_id] += b"\0END"  # marker: echo then end
            for sid, buf in list(pending.items()):
                end = buf.endswith(b"\0END")
                body = buf[:-4] if end else buf
                room = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size, len(body))
                while room > 0:
                    conn.send_data(sid, bytes(body[:room]))
                    del body[:room]
                    room = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size, len(body))
                if end and not body:
                    conn.end_stream(sid)
                    del pending[sid]
                    done = True
                else:
                    pending[sid] = body + (b"\0END" if end else b"")
            tls.sendall(conn.data_to_send())
        tls.close()


def test_meshd_client_to_python_server(pki, tmp):
    srv = PythonConnectServer(pki)
    srv.start()
    payload = random.Random(2).randbytes(2 << 20)
    src, dst = os.path.join(tmp, "in.bin"), os.path.join(tmp, "out.bin")
    with open(src, "wb") as f:
        f.write(payload)
    r = subprocess.run([TOOL, "connect", "--certs", os.path.join(pki, "client"), "--port", str(srv.port),
                        "--expect", "spiffe://cluster.local/ns/interop/sa/server", "--authority", "10.1.2.3:8080",
                        "--in", src, "--out", dst], capture_output=True, text=True, timeout=TIMEOUT)
    srv.join(TIMEOUT)
    with open(dst, "rb") as f:
        echoed = f.read()
    check(r.returncode == 0 and "status 200" in r.stdout, "meshd's HBONE client gets 200 from a python-h2 server")
    check(srv.authority == "10.1.2.3:8080", "python-h2 server sees :authority dst-ip:port")
    sans = dict(srv.peer_cert.get("subjectAltName", ())) if srv.peer_cert else {}
    check(sans.get("URI") == "spiffe://cluster.local/ns/interop/sa/client", "python ssl sees meshd's SPIFFE client cert")
    check(echoed == payload, f"2 MiB round trip byte-exact through a python-h2 server ({len(echoed)} bytes)")


def s_client(pki, port, *args):
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-alpn", "h2", "-noservername",
           "-CAfile", os.path.join(pki, "server", "root-cert.pem"), *args]
    return subprocess.run(cmd, input="", capture_output=True, text=True, errors="replace", timeout=TIMEOUT)


def test_openssl_s_client(pki):
    server, port = start_server(os.path.join(pki, "server"), 4)
    ok = s_client(pki, port, "-cert", os.path.join(pki, "client", "cert-chain.pem"),
                  "-key", os.path.join(pki, "client", "key.pem"))
    check("TLSv1.3" in ok.stdout and "ALPN protocol: h2" in ok.stdout, "openssl s_client negotiates TLS 1.3 with ALPN h2")
    s_client(pki, port)  # no client certificate
    s_client(pki, port, "-tls1_2", "-cert", os.path.join(pki, "client", "cert-chain.pem"),
             "-key", os.path.join(pki, "client", "key.pem"))
    s_client(pki, port, "-cert", os.path.join(pki, "other-td-client", "cert-chain.pem"),
             "-key", os.path.join(pki, "other-td-client", "key.pem"))
    out, _ = server.communicate(timeout=TIMEOUT)
    lines = [l for l in out.splitlines() if l.startswith("tls ")]
    check(len(lines) == 4, f"four TLS connections reported ({lines})")
    if len(lines) == 4:
        check(lines[1].startswith("tls no_peer_certificate"), "a client without a certificate is refused")
        check(lines[2].startswith("tls protocol_version"), "a TLS 1.2-only client is refused")
        check(lines[3].startswith("tls wrong_trust_domain"), "a client from another trust domain is refused")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        pki = os.path.join(tmp, "pki")
        subprocess.run([TOOL, "pki", "--dir", pki], check=True, timeout=TIMEOUT)
        test_python_client_to_meshd(pki)
        test_meshd_client_to_python_server(pki, tmp)
        test_openssl_s_client(pki)
    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
