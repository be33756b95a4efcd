#!/usr/bin/env python3
"""l7_routing_app: the backends and keep-alive clients of meshd_l7_routing_test (stdlib only,
run inside a pod's netns through netns_exec). Servers listen on [::]:PORT (dual-stack) and
print "ready".

    l7_routing_app.py serve --name NAME --port P [--port P2 ...] --log FILE
        HTTP/1.1 with keep-alive on every port. Each request is answered 200 with a JSON body
        {version: NAME, method, path, headers: [[name, value], ...], peer, port} and appended
        to FILE as one JSON line (before answering), with the response headers
        `x-backend: NAME`, `x-app-set: app`, `x-app-add: app`, `x-app-remove: app` (for the
        routes' response header operations). A request carrying `x-hold: FILE` is logged at
        once but answered only when FILE exists (at most 15 s): an in-flight request the
        test controls.

    l7_routing_app.py requests ADDR --spec FILE
        FILE is JSON {connections: K, host: H, full: bool, requests: [{method, path,
        headers: {k: v} or [[k, v], ...], conn}, ...]}. Request i goes over keep-alive
        connection `conn` (default i % K); each connection is driven by its own thread, in
        the order of the list. Prints JSON {results: [...], connects: [...]} where result i
        is {status, version, error} — and with `full` also {seen: the backend's JSON,
        headers: the response headers as [[name, value], ...], body: the raw body}; connects
        are how many TCP connections each of the K needed (1: keep-alive held throughout).

    l7_routing_app.py flip ADDR --host H --connections K --after N
        Keep-alive load for a route flip: K threads send GET /bg requests back to back and
        print "ready" once each got an answer. Commands on stdin: "flip" (the policy is about
        to change: later requests are phase "during"), "mark" (the reload is confirmed:
        later requests are phase "after"; each thread then sends N more and stops). Prints
        JSON {before|during|after: {version: count}, failed, errors, total}. Bounded by
        --max-seconds (default 30) and --max-requests (default 100000).
Every socket wait is bounded (--timeout, default 10 s)."""
import argparse
import http.client
import http.server
import json
import os
import socket
import sys
import threading
import time

HOLD_LIMIT_S = 15


def addr_of(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def fmt_addr(a):
    host = a[0][7:] if a[0].startswith("::ffff:") else a[0]
    return f"[{host}]:{a[1]}" if ":" in host else f"{host}:{a[1]}"


# --- backend --------------------------------------------------------------------------------
class DualStackHttpServer(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class VersionHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body are one write anyway; no 40 ms delayed-ACK stalls
    name = "unnamed"
    log_path = None
    log_lock = threading.Lock()

    def log_message(self, *args):  # stderr is a pipe nobody drains
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        seen = {"version": self.name, "method": self.command, "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()], "peer": fmt_addr(self.client_address),
                "port": self.server.server_address[1]}
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(json.dumps(seen) + "\n")
        hold = self.headers.get("x-hold")
        if hold:
            deadline = time.monotonic() + HOLD_LIMIT_S
            while not os.path.exists(hold) and time.monotonic() < deadline:
                time.sleep(0.01)
        out = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.send_header("x-backend", self.name)
        for h in ("x-app-set", "x-app-add", "x-app-remove"):
            self.send_header(h, "app")
        self._headers_buffer += [b"\r\n", out]  # head and body in one write (end_headers() would write twice)
        self.flush_headers()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


def serve(args):
    VersionHandler.name, VersionHandler.log_path = args.name, args.log
    servers = [DualStackHttpServer(("::", p), VersionHandler) for p in args.port]
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("ready", flush=True)
    servers[0].serve_forever()


# --- clients --------------------------------------------------------------------------------
class CountingConnection(http.client.HTTPConnection):
    """An HTTPConnection that counts how often it had to (re)connect."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.connects = 0

    def connect(self):
        self.connects += 1
        super().connect()


def one_request(conn, host, method, path, headers, full):
    """Sends one request on `conn` (reconnecting if it was closed); returns the result dict."""
    out = {"status": 0, "version": None, "error": None}
    pairs = list(headers.items()) if isinstance(headers, dict) else [tuple(h) for h in headers]
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        for k, v in pairs:
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        out["status"] = resp.status
        out["version"] = resp.getheader("x-backend")
        if full:
            out["headers"] = [[k, v] for k, v in resp.getheaders()]
            out["body"] = body.decode(errors="replace")
            try:
                out["seen"] = json.loads(body) if body else None
            except ValueError:
                out["seen"] = None
        if resp.will_close:
            conn.close()
    except (OSError, http.client.HTTPException) as e:
        out["error"] = repr(e)
        conn.close()
    return out


def requests(args):
    with open(args.spec) as f:
        spec = json.load(f)
    k, host, full = spec.get("connections", 1), spec["host"], spec.get("full", False)
    reqs = spec["requests"]
    ip, port = addr_of(args.addr)
    conns = [CountingConnection(ip, port, timeout=args.timeout) for _ in range(k)]
    results = [None] * len(reqs)
    plan = [[] for _ in range(k)]
    for i, r in enumerate(reqs):
        plan[r.get("conn", i % k)].append(i)

    def drive(c):
        for i in plan[c]:
            r = reqs[i]
            res = one_request(conns[c], host, r.get("method", "GET"), r.get("path", "/"), r.get("headers", {}), full)
            res["conn"] = c
            results[i] = res

    threads = [threading.Thread(target=drive, args=(c,)) for c in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    print(json.dumps({"results": results, "connects": [c.connects for c in conns]}))


def flip(args):
    ip, port = addr_of(args.addr)
    lock = threading.Lock()
    phase = {"now": "before"}
    counts = {p: {} for p in ("before", "during", "after")}
    stats = {"failed": 0, "total": 0, "errors": []}
    answered = threading.Semaphore(0)
    deadline = time.monotonic() + args.max_seconds

    def drive(c):
        conn = CountingConnection(ip, port, timeout=args.timeout)
        after, first = 0, True
        while time.monotonic() < deadline:
            with lock:
                p = phase["now"]
                if stats["total"] >= args.max_requests or (p == "after" and after >= args.after):
                    break
                stats["total"] += 1
            after += p == "after"
            res = one_request(conn, args.host, "GET", f"/bg/{c}", {}, False)
            with lock:
                if res["status"] == 200 and res["version"]:
                    counts[p][res["version"]] = counts[p].get(res["version"], 0) + 1
                else:
                    stats["failed"] += 1
                    if len(stats["errors"]) < 5:
                        stats["errors"].append({"phase": p, **res})
            if first:
                first = False
                answered.release()
        conn.close()

    threads = [threading.Thread(target=drive, args=(c,), daemon=True) for c in range(args.connections)]
    for t in threads:
        t.start()
    for _ in threads:
        answered.acquire(timeout=max(0.0, deadline - time.monotonic()))
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd in ("flip", "mark"):
            with lock:
                phase["now"] = "during" if cmd == "flip" else "after"
            if cmd == "mark":
                break
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()) + 1)
    with lock:
        print(json.dumps({**counts, **stats, "running": sum(t.is_alive() for t in threads)}), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--name", required=True)
    s.add_argument("--port", type=int, action="append", required=True)
    s.add_argument("--log", default="/dev/null")
    s = sub.add_parser("requests")
    s.add_argument("addr")
    s.add_argument("--spec", required=True)
    s.add_argument("--timeout", type=float, default=10)
    s = sub.add_parser("flip")
    s.add_argument("addr")
    s.add_argument("--host", required=True)
    s.add_argument("--connections", type=int, default=4)
    s.add_argument("--after", type=int, default=100)
    s.add_argument("--max-seconds", type=float, default=30)
    s.add_argument("--max-requests", type=int, default=100000)
    s.add_argument("--timeout", type=float, default=10)
    args = p.parse_args()
    if args.cmd == "serve":
        serve(args)
    else:
        {"requests": requests, "flip": flip}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
