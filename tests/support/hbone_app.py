#!/usr/bin/env python3
"""hbone_app: the application at both ends of meshd_hbone_test's connections (stdlib only,
runs inside a pod's netns through netns_exec).

    hbone_app.py serve --port P --log FILE
        Listens on [::]:P (dual-stack), prints "ready". On each connection it first writes
        "peer=<what it sees> local=<its address>\\n" (so capture_client works against it), then
        reads one command line:
          ECHO            echo every byte until EOF, then half-close
          PUSH n seed     send n pseudo-random bytes, half-close, then read until EOF
          RESET           reset the connection (SO_LINGER 0) 200 ms later
          WAIT            read until EOF or reset
          anything else   echo that line, then every byte until EOF (capture_client --hold-ms)
        and appends one line per finished connection to FILE: "<cmd> peer=<p> got=<n>
        sha=<hex> end=<eof|reset|timeout>".

    hbone_app.py echo ADDR --bytes N --seed S
        ECHO with N bytes (sent while reading; half-close after the last one): prints JSON
        {peer_line, getpeername, sent, received, match, end}.
    hbone_app.py push ADDR --bytes N --seed S --send M --send-seed T
        PUSH N S: reads until the server's half-close, checks the bytes, then sends M bytes
        on its still-open direction and half-closes: prints JSON {received, match, end}.
    hbone_app.py reset ADDR        RESET: prints JSON {end} (reset expected)
    hbone_app.py abort ADDR        WAIT, then resets its own end: prints JSON {peer_line}
Every wait is bounded (--timeout, default 20 s)."""
import argparse
import hashlib
import json
import random
import socket
import struct
import sys
import threading

CHUNK = 64 * 1024


def payload(n, seed):
    return random.Random(seed).randbytes(n)


def addr_of(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def fmt_addr(a):
    host, port = a[0], a[1]
    if host.startswith("::ffff:"):
        host = host[7:]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def read_line(sock, limit=4096):
    out = bytearray()
    while not out.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            break
        out += b
        if len(out) > limit:
            break
    return out.decode(errors="replace").strip()


def read_all(sock):
    """(bytes, end): end is eof, reset or timeout."""
    out = bytearray()
    try:
        while True:
            b = sock.recv(CHUNK)
            if not b:
                return bytes(out), "eof"
            out += b
    except ConnectionResetError:
        return bytes(out), "reset"
    except socket.timeout:
        return bytes(out), "timeout"


def reset_close(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# --- server -------------------------------------------------------------------------------

class Server:
    def __init__(self, port, log, timeout):
        self.log_path, self.timeout = log, timeout
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.sock.bind(("::", port))
        self.sock.listen(1024)

    def log(self, line):
        with self.lock, open(self.log_path, "a") as f:
            f.write(line + "\n")

    def serve(self):
        print("ready", flush=True)
        while True:
            conn, peer = self.sock.accept()
            threading.Thread(target=self.handle, args=(conn, peer), daemon=True).start()

    def handle(self, conn, peer):
        conn.settimeout(self.timeout)
        who = fmt_addr(peer)
        try:
            conn.sendall(f"peer={who} local={fmt_addr(conn.getsockname())}\n".encode())
            cmd = read_line(conn).split()
            if not cmd:
                return conn.close()
            if cmd[0] == "ECHO":
                got, end = 0, "eof"
                h = hashlib.sha256()
                while True:
                    b = conn.recv(CHUNK)
                    if not b:
                        break
                    h.update(b)
                    got += len(b)
                    conn.sendall(b)
                conn.shutdown(socket.SHUT_WR)
                self.log(f"ECHO peer={who} got={got} sha={h.hexdigest()} end={end}")
                conn.close()
            elif cmd[0] == "PUSH":
                conn.sendall(payload(int(cmd[1]), int(cmd[2])))
                conn.shutdown(socket.SHUT_WR)
                data, end = read_all(conn)
                self.log(f"PUSH peer={who} got={len(data)} sha={hashlib.sha256(data).hexdigest()} end={end}")
                conn.close()
            elif cmd[0] == "RESET":
                threading.Event().wait(0.2)
                self.log(f"RESET peer={who} got=0 sha=- end=reset")
                reset_close(conn)
            elif cmd[0] == "WAIT":
                data, end = read_all(conn)
                self.log(f"WAIT peer={who} got={len(data)} sha={hashlib.sha256(data).hexdigest()} end={end}")
                conn.close()
            else:  # a line-echo client (capture_client --hold-ms): echo that line, then everything
                conn.sendall(" ".join(cmd).encode() + b"\n")
                got = 0
                while True:
                    b = conn.recv(CHUNK)
                    if not b:
                        break
                    got += len(b)
                    conn.sendall(b)
                self.log(f"LINES peer={who} got={got} sha=- end=eof")
                conn.close()
        except OSError as e:
            self.log(f"{'?'} peer={who} got=0 sha=- end=error:{e}")
            conn.close()


# --- clients ------------------------------------------------------------------------------

def connect(addr, timeout):
    s = socket.create_connection(addr_of(addr), timeout=timeout)
    return s, read_line(s)


def client_echo(a):
    data = payload(a.bytes, a.seed)
    s, peer_line = connect(a.addr, a.timeout)
    getpeername = fmt_addr(s.getpeername())
    s.sendall(b"ECHO\n")
    errors = []

    def send():
        try:
            view = memoryview(data)
            for i in range(0, len(data), CHUNK):
                s.sendall(view[i:i + CHUNK])
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            errors.append(str(e))
    t = threading.Thread(target=send)
    t.start()
    got, end = read_all(s)
    t.join(a.timeout)
    s.close()
    return {"peer_line": peer_line, "getpeername": getpeername, "sent": len(data), "received": len(got),
            "match": got == data, "end": end, "send_errors": errors}


def client_push(a):
    want = payload(a.bytes, a.seed)
    s, peer_line = connect(a.addr, a.timeout)
    s.sendall(f"PUSH {a.bytes} {a.seed}\n".encode())
    got, end = read_all(s)  # until the server's half-close
    sent_ok = True
    try:
        s.sendall(payload(a.send, a.send_seed))  # our direction is still open
        s.shutdown(socket.SHUT_WR)
        rest, end2 = read_all(s)
    except OSError as e:
        sent_ok, rest, end2 = False, b"", f"error:{e}"
    s.close()
    return {"peer_line": peer_line, "received": len(got), "match": got == want, "end": end, "sent_after": sent_ok,
            "after_end": end2, "after_bytes": len(rest),
            "send_sha": hashlib.sha256(payload(a.send, a.send_seed)).hexdigest()}


def client_reset(a):
    s, peer_line = connect(a.addr, a.timeout)
    s.sendall(b"RESET\n")
    _, end = read_all(s)
    s.close()
    return {"peer_line": peer_line, "end": end}


def client_abort(a):
    s, peer_line = connect(a.addr, a.timeout)
    s.sendall(b"WAIT\nsome bytes before the reset\n")
    threading.Event().wait(0.3)  # let them reach the server before the reset overtakes them
    reset_close(s)
    return {"peer_line": peer_line}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["serve", "echo", "push", "reset", "abort"])
    p.add_argument("addr", nargs="?")
    p.add_argument("--port", type=int)
    p.add_argument("--log")
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--send", type=int, default=0)
    p.add_argument("--send-seed", type=int, default=2)
    p.add_argument("--timeout", type=float, default=20)
    a = p.parse_args(argv)
    if a.mode == "serve":
        Server(a.port, a.log, a.timeout).serve()
        return 0
    fn = {"echo": client_echo, "push": client_push, "reset": client_reset, "abort": client_abort}[a.mode]
    try:
        out = fn(a)
    except OSError as e:
        out = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out), flush=True)
    return 0 if "error" not in out else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
