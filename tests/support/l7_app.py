#!/usr/bin/env python3
"""l7_app: the applications and raw clients of meshd_l7_test (stdlib only, run inside a pod's
netns through netns_exec). Servers listen on [::]:PORT (dual-stack) and print "ready".

    l7_app.py http --port P --log FILE
        HTTP/1.1 with keep-alive (http.server). Every request is answered 200 with a JSON body
        {method, path, headers: [[name, value], ...], peer, body}, and appended to FILE as one
        JSON line. A request with `Upgrade: echo` is answered 101 and the connection then
        echoes every byte until EOF.
    l7_app.py echo --port P             echoes every byte until EOF (the client speaks first)
    l7_app.py banner --port P           writes "BANNER <port>\\n" on accept, then echoes

    l7_app.py exchange ADDR [--banner] --send HEX
        Connects; with --banner reads the banner line first, timing it from the connect
        without sending anything; sends the bytes, reads as many back, half-closes and reads
        to EOF. Prints JSON {banner, banner_ms, sent, received, match, end} (hex bytes).
    l7_app.py upgrade ADDR --path P --host H
        Sends GET P with `Connection: Upgrade` and `Upgrade: echo`, reads the response head;
        after a 101, sends three chunks (one of them shaped like an HTTP request) and reads
        each back. Prints JSON {status, head, echoed: [bool, ...], end}.
Every wait is bounded (--timeout, default 10 s)."""
import argparse
import http.server
import json
import socket
import socketserver
import sys
import threading
import time

CHUNK = 64 * 1024


def addr_of(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def fmt_addr(a):
    host = a[0][7:] if a[0].startswith("::ffff:") else a[0]
    return f"[{host}]:{a[1]}" if ":" in host else f"{host}:{a[1]}"


class DualStack:
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class HttpServer(DualStack, http.server.ThreadingHTTPServer):
    pass


class TcpServer(DualStack, socketserver.ThreadingTCPServer):
    pass


def echo_until_eof(read1, sendall):
    while True:
        try:
            b = read1(CHUNK)
        except (ConnectionResetError, socket.timeout, OSError):
            return
        if not b:
            return
        sendall(b)


class JsonHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_lock = threading.Lock()
    log_path = None

    def log_message(self, *args):  # stderr is a pipe nobody drains
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = {"method": self.command, "path": self.path, "headers": [[k, v] for k, v in self.headers.items()],
                "peer": fmt_addr(self.client_address), "body": body.decode(errors="replace")}
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(json.dumps(seen) + "\n")
        if (self.headers.get("Upgrade") or "").lower() == "echo":
            self.send_response(101)
            self.send_header("Connection", "Upgrade")
            self.send_header("Upgrade", "echo")
            self.end_headers()
            self.wfile.flush()
            # Bytes the client sent right after the head may already sit in rfile's buffer.
            echo_until_eof(self.rfile.read1, self.connection.sendall)
            self.close_connection = True
            return
        out = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


class EchoHandler(socketserver.BaseRequestHandler):
    banner = False

    def handle(self):
        if self.banner:
            self.request.sendall(f"BANNER {self.server.server_address[1]}\n".encode())
        echo_until_eof(self.request.recv, self.request.sendall)


class BannerHandler(EchoHandler):
    banner = True


def serve(args):
    if args.cmd == "http":
        JsonHandler.log_path = args.log
        server = HttpServer(("::", args.port), JsonHandler)
    else:
        server = TcpServer(("::", args.port), BannerHandler if args.cmd == "banner" else EchoHandler)
    print("ready", flush=True)
    server.serve_forever()


def read_exactly(sock, n):
    out = bytearray()
    while len(out) < n:
        b = sock.recv(n - len(out))
        if not b:
            break
        out += b
    return bytes(out)


def read_until(sock, marker, limit=65536):
    out = bytearray()
    while marker not in out and len(out) < limit:
        b = sock.recv(1)
        if not b:
            break
        out += b
    return bytes(out)


def read_end(sock):
    try:
        while sock.recv(CHUNK):
            pass
        return "eof"
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "timeout"


def exchange(args):
    out = {"banner": None, "banner_ms": None}
    data = bytes.fromhex(args.send)
    try:
        with socket.create_connection(addr_of(args.addr), timeout=args.timeout) as s:
            t0 = time.monotonic()
            if args.banner:
                out["banner"] = read_until(s, b"\n").decode(errors="replace").strip()
                out["banner_ms"] = round((time.monotonic() - t0) * 1000, 1)
            s.sendall(data)
            got = read_exactly(s, len(data))
            out.update(sent=data.hex(), received=got.hex(), match=got == data)
            s.shutdown(socket.SHUT_WR)
            out["end"] = read_end(s)
    except OSError as e:
        out["error"] = repr(e)
    print(json.dumps(out))


def upgrade(args):
    out = {"status": None, "head": "", "echoed": []}
    request = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n"
               "\r\n").encode()
    chunks = [b"hello through the mesh", b"GET /private HTTP/1.1\r\nHost: x\r\n\r\n", bytes(range(256)) * 64]
    try:
        with socket.create_connection(addr_of(args.addr), timeout=args.timeout) as s:
            s.sendall(request)
            head = read_until(s, b"\r\n\r\n")
            out["head"] = head.decode(errors="replace")
            parts = out["head"].split(" ", 2)
            out["status"] = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            if out["status"] == 101:
                for chunk in chunks:
                    s.sendall(chunk)
                    out["echoed"].append(read_exactly(s, len(chunk)) == chunk)
                s.shutdown(socket.SHUT_WR)
                out["end"] = read_end(s)
    except OSError as e:
        out["error"] = repr(e)
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("http", "echo", "banner"):
        s = sub.add_parser(name)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--log", default="/dev/null")
    s = sub.add_parser("exchange")
    s.add_argument("addr")
    s.add_argument("--banner", action="store_true")
    s.add_argument("--send", required=True)
    s.add_argument("--timeout", type=float, default=10)
    s = sub.add_parser("upgrade")
    s.add_argument("addr")
    s.add_argument("--path", required=True)
    s.add_argument("--host", required=True)
    s.add_argument("--timeout", type=float, default=10)
    args = p.parse_args()
    if args.cmd in ("http", "echo", "banner"):
        serve(args)
    else:
        {"exchange": exchange, "upgrade": upgrade}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
