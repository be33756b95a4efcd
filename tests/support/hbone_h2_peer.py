#!/usr/bin/python3
"""hbone_h2_peer: an HBONE peer we did not write — python3-h2 over Python's ssl — for
meshd_hbone_test. Needs Debian's /usr/bin/python3 (python3-h2); runs inside a pod's or the
node's netns through netns_exec. Every wait is bounded (--timeout).

    hbone_h2_peer.py connect HOST:PORT --certs DIR --trust ROOT [--stream AUTHORITY:BYTES:SEED]...
        One TLS 1.3 connection (client certificate DIR/cert-chain.pem + key.pem, ALPN h2), one
        CONNECT per --stream. On a 200 it speaks hbone_app's protocol through the stream: reads
        the "peer=... local=..." line, sends "ECHO\\n" and BYTES pseudo-random bytes, then
        END_STREAM, and expects them back followed by END_STREAM. Prints JSON:
        {"alpn", "streams": [{authority, status, peer_line, match, ended, reset}]}.
    hbone_h2_peer.py abuse HOST:PORT --certs DIR --trust ROOT --stream AUTHORITY
        Holds one good connection with an echo stream open, then opens a connection that sends
        garbage after TLS and one that sends a malformed HTTP/2 frame (SETTINGS of 5 bytes),
        reports whether each was closed, and checks the held stream still echoes. JSON.
    hbone_h2_peer.py serve --port P --certs DIR --trust ROOT --log FILE
        A CONNECT server (a meshed peer's 15008): TLS 1.3 requiring a client certificate, 200
        to every CONNECT, then hbone_app's server protocol in the stream: writes
        "peer=<client SPIFFE ID> local=<authority>\\n", reads one command line (ECHO) and echoes
        until END_STREAM. Logs "authority=<a> client=<uri> got=<n> sha=<hex>" per stream."""
import argparse
import hashlib
import json
import random
import socket
import ssl
import sys
import threading

import h2.config
import h2.connection
import h2.events
import h2.exceptions

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def payload(n, seed):
    return random.Random(seed).randbytes(n)


def split_addr(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def client_context(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False  # SPIFFE identities are URI SANs; no SNI, like ztunnel
    ctx.load_verify_locations(a.trust)
    ctx.load_cert_chain(f"{a.certs}/cert-chain.pem", f"{a.certs}/key.pem")
    ctx.set_alpn_protocols(["h2"])
    return ctx


def tls_connect(a):
    raw = socket.create_connection(split_addr(a.addr), timeout=a.timeout)
    return client_context(a).wrap_socket(raw)


def h2_client():
    # python3-h2 4.1 insists on :scheme/:path for every request, but a plain CONNECT (RFC 9113
    # §8.5, what HBONE sends) must not carry them: its header validation is switched off.
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True,
                                                                       validate_outbound_headers=False))
    conn.initiate_connection()
    conn.increment_flow_control_window(16 << 20)
    return conn


class Stream:
    def __init__(self, authority, data):
        # data None: the caller drives the stream itself (abuse's held stream)
        self.authority, self.auto = authority, data is not None
        self.data = b"ECHO\n" + data if self.auto else b""
        self.want = data
        self.sent, self.status, self.buf = 0, None, bytearray()
        self.ended = self.reset = self.end_sent = False

    def result(self):
        line, _, rest = bytes(self.buf).partition(b"\n")
        return {"authority": self.authority, "status": self.status, "peer_line": line.decode(errors="replace"),
                "match": rest == self.want, "received": len(rest), "ended": self.ended, "reset": self.reset}


class Client:
    """One HBONE connection driven by python3-h2, for any number of CONNECT streams."""

    def __init__(self, a):
        self.tls = tls_connect(a)
        self.alpn = self.tls.selected_alpn_protocol()
        self.conn = h2_client()
        self.streams = {}
        self.flush()

    def flush(self):
        out = self.conn.data_to_send()
        if out:
            self.tls.sendall(out)

    def open(self, authority, data):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", "CONNECT"), (":authority", authority)])
        self.streams[sid] = Stream(authority, data)
        self.flush()
        return sid

    def pump_once(self):
        data = self.tls.recv(1 << 20)
        if not data:
            raise ConnectionError("the server closed the connection")
        for ev in self.conn.receive_data(data):
            st = self.streams.get(getattr(ev, "stream_id", None))
            if st is None:
                continue
            if isinstance(ev, h2.events.ResponseReceived):
                st.status = int(dict(ev.headers)[b":status"])
            elif isinstance(ev, h2.events.DataReceived):
                st.buf += ev.data
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                st.ended = True
            elif isinstance(ev, h2.events.StreamReset):
                st.reset = True
        self.send_ready()
        self.flush()

    def send_ready(self, end=True):
        for sid, st in self.streams.items():
            if not st.auto or st.status != 200 or st.ended or st.reset or b"\n" not in st.buf:
                continue  # hbone_app's server speaks first: send after its peer line
            while st.sent < len(st.data):
                room = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size,
                           len(st.data) - st.sent)
                if room <= 0:
                    break
                self.conn.send_data(sid, st.data[st.sent:st.sent + room])
                st.sent += room
            if end and st.sent == len(st.data) and not st.end_sent:
                self.conn.end_stream(sid)
                st.end_sent = True

    def done(self, sid):
        st = self.streams[sid]
        return st.reset or st.ended or (st.status is not None and st.status != 200)

    def run_until(self, pred):
        while not pred():
            self.pump_once()


def cmd_connect(a):
    c = Client(a)
    ids = []
    for spec in a.stream:
        authority, n, seed = spec.rsplit(":", 2)
        ids.append(c.open(authority, payload(int(n), int(seed))))
    c.run_until(lambda: all(c.done(s) for s in ids))
    c.tls.close()
    return {"alpn": c.alpn, "streams": [c.streams[s].result() for s in ids]}


def closed_by_server(tls, timeout):
    """Reads until the server closes (True) or the timeout passes (False)."""
    tls.settimeout(timeout)
    try:
        while tls.recv(65536):
            pass
        return True
    except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def cmd_abuse(a):
    out = {}
    held = Client(a)
    sid = held.open(a.stream[0], None)
    st = held.streams[sid]
    round1 = payload(65536, 7)
    held.run_until(lambda: st.status is not None and (st.status != 200 or b"\n" in st.buf))
    out["held_status"] = st.status
    held.conn.send_data(sid, b"ECHO\n" + round1)
    held.flush()
    line_len = bytes(st.buf).index(b"\n") + 1
    held.run_until(lambda: len(st.buf) >= line_len + len(round1) or st.reset or st.ended)
    out["held_round1"] = bytes(st.buf[line_len:]) == round1

    garbage = tls_connect(a)
    garbage.sendall(b"GET / HTTP/1.1\r\nHost: not-http2\r\n\r\n" + bytes(range(256)) * 4)
    out["garbage_closed"] = closed_by_server(garbage, 5)
    garbage.close()

    malformed = tls_connect(a)
    # A valid preface, then a SETTINGS frame 5 bytes long: FRAME_SIZE_ERROR (RFC 9113 §6.5).
    malformed.sendall(PREFACE + b"\x00\x00\x05\x04\x00\x00\x00\x00\x00" + b"\x00\x03\x00\x00\x00")
    out["malformed_closed"] = closed_by_server(malformed, 5)
    malformed.close()

    round2 = payload(65536, 8)
    held.conn.send_data(sid, round2)
    held.conn.end_stream(sid)
    held.flush()
    held.tls.settimeout(a.timeout)
    held.run_until(lambda: st.ended or st.reset)
    out["held_round2"] = bytes(st.buf[line_len:]) == round1 + round2 and st.ended
    held.tls.close()
    return out


# --- server ---------------------------------------------------------------------------------

def server_context(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(f"{a.certs}/cert-chain.pem", f"{a.certs}/key.pem")
    ctx.load_verify_locations(a.trust)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["h2"])
    return ctx


def serve_connection(a, ctx, raw, log):
    raw.settimeout(a.timeout)
    try:
        tls = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as e:
        return log(f"tls-error {e}")
    sans = dict(tls.getpeercert().get("subjectAltName", ()))
    client = sans.get("URI", "?")
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False,
                                                                       validate_inbound_headers=False))
    conn.initiate_connection()
    tls.sendall(conn.data_to_send())
    streams = {}  # sid -> [authority, command seen, pending echo bytes, got, sha, ended]
    try:
        while True:
            data = tls.recv(1 << 20)
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    authority = dict(ev.headers)[b":authority"].decode()
                    conn.send_headers(ev.stream_id, [(":status", "200")])
                    conn.send_data(ev.stream_id, f"peer={client} local={authority}\n".encode())
                    streams[ev.stream_id] = [authority, bytearray(), bytearray(), 0, hashlib.sha256(), False, False]
                elif isinstance(ev, h2.events.DataReceived):
                    st = streams[ev.stream_id]
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    data_in = ev.data
                    if not st[6]:  # the command line first
                        st[1] += data_in
                        if b"\n" not in st[1]:
                            continue
                        st[6] = True
                        _, _, data_in = bytes(st[1]).partition(b"\n")
                    st[2] += data_in
                    st[3] += len(data_in)
                    st[4].update(data_in)
                elif isinstance(ev, h2.events.StreamEnded):
                    streams[ev.stream_id][5] = True
            for sid, st in list(streams.items()):
                while st[2]:
                    room = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size, len(st[2]))
                    if room <= 0:
                        break
                    conn.send_data(sid, bytes(st[2][:room]))
                    del st[2][:room]
                if st[5] and not st[2]:
                    conn.end_stream(sid)
                    log(f"authority={st[0]} client={client} got={st[3]} sha={st[4].hexdigest()}")
                    del streams[sid]
            tls.sendall(conn.data_to_send())
    except (OSError, h2.exceptions.ProtocolError, ssl.SSLError) as e:
        log(f"connection-error {e}")
    finally:
        tls.close()


def cmd_serve(a):
    lock = threading.Lock()

    def log(line):
        with lock, open(a.log, "a") as f:
            f.write(line + "\n")
    ctx = server_context(a)
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", a.port))
    srv.listen(64)
    print("ready", flush=True)
    while True:
        raw, _ = srv.accept()
        threading.Thread(target=serve_connection, args=(a, ctx, raw, log), daemon=True).start()


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["connect", "abuse", "serve"])
    p.add_argument("addr", nargs="?")
    p.add_argument("--certs", required=True)
    p.add_argument("--trust", required=True)
    p.add_argument("--stream", action="append", default=[])
    p.add_argument("--port", type=int)
    p.add_argument("--log")
    p.add_argument("--timeout", type=float, default=20)
    a = p.parse_args(argv)
    if a.mode == "serve":
        return cmd_serve(a)
    try:
        out = cmd_connect(a) if a.mode == "connect" else cmd_abuse(a)
    except (OSError, ssl.SSLError, h2.exceptions.ProtocolError, ConnectionError) as e:
        out = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out), flush=True)
    return 0 if "error" not in out else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
