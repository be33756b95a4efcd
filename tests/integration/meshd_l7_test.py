#!/usr/bin/env python3
"""Privileged: the inbound HTTP/1.1, HTTP/2 and gRPC paths of real meshd between pods on two
netns nodes, with mTLS from the built-in CA, driven by clients we did not write (curl,
nghttp, grpcio) against stdlib http.server backends (tests/support/l7_app.py) and python3-h2
/ python3-grpcio ones (tests/support/h2_app.py, run by Debian's /usr/bin/python3).

    n1  web (sa web, enrolled)         legacy (not enrolled: plaintext into n2's 15006)
    n2  cart (sa cart)   http on 8080 (undeclared: sniffed) and 8081 (declared http)
        catalog          http on 8080
        ledger           echo on 9000 and banner on 9001 (declared tcp), echo on 7000
                         (undeclared), banner on 5432 (undeclared, a server-first port)
        api              gRPC on 50051 (declared grpc), h2c on 8082 (declared http2) and 8083
                         (undeclared: sniffed)

Policy: cart ALLOWs principal web with GET on /public/*, and DENYs any request carrying
`x-block: yes`; catalog ALLOWs GET from anyone; api ALLOWs principal web on /shop.Cart/Get,
/shop.Cart/List and /public/*; ledger has no policy.

Checks: per-request authorization (403 `RBAC: access denied` answered by meshd, the backend
never seeing the request, the connection kept open after it, the request body drained),
x-request-id added or kept, keep-alive to the backend; the DENY `when` header; `meshctl policy
explain` giving the verdict the data path gave for sample requests; L4 relay unchanged on
tcp ports, on non-HTTP bytes and for server-first banners; an Upgrade answered 101 becoming a
byte relay; a WebSocket (python3-websockets) allowed and refused; istio_requests_total /
istio_request_duration_milliseconds and meshd_protocol_detections_total on n2; plaintext through 15006 from an unenrolled pod.
HTTP/2 and gRPC: h2c GET allowed 200 / denied 403, three streams on one nghttp connection
with one denied, the backend's RST_STREAM reaching nghttp and curl with its code, the h2c
preface sniffed on an undeclared port, a unary call answered, a denied call
PERMISSION_DENIED "RBAC: access denied", a server-streaming call, and the grpc/http request
metrics, meshd_http2_streams_total and meshd_http2_resets_total.

Usage: meshd_l7_test.py BUILD_DIR. Exit 77 without root, cgroup2, eBPF capture, curl, nghttp,
python3-h2 or python3-grpcio."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import capture_scenarios as cs  # noqa: E402 (puts tests/support on the path)
import netns_harness as nh  # noqa: E402
from meshd_hbone_topology import Delta  # noqa: E402

APP = os.path.join(HERE, "..", "support", "l7_app.py")
H2APP = os.path.join(HERE, "..", "support", "h2_app.py")
WSAPP = os.path.join(HERE, "..", "support", "ws_app.py")
CURL = "/usr/bin/curl"  # Debian's
NGHTTP = "/usr/bin/nghttp"  # nghttp2-client
DEBIAN_PYTHON = "/usr/bin/python3"  # sees python3-h2 and python3-grpcio (the pyenv one does not)
WEB = "spiffe://cluster.local/ns/shop/sa/web"
CART_VIP, LEDGER_VIP, API_VIP = "198.19.0.10", "198.19.0.30", "198.19.0.40"
DENIED = "RBAC: access denied"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
HTTP_SHAPED = b"POST /private HTTP/1.1\r\nHost: ledger\r\nContent-Length: 0\r\n\r\n"
NOT_HTTP = b"\x00\x01\x02\x03 not a request line \xff\xfe\r\n\r\n"


def policy_text(pods):
    text = "# meshd_l7_test\n"
    for p in pods:
        text += (f'[[workload]]\nname = "{p.label}"\nnamespace = "shop"\nservice_account = "{p.label}"\n'
                 f'addresses = ["{p.ip4}", "{p.ip6}"]\nlabels = {{ app = "{p.label}" }}\n\n')
    return text + f'''[[service]]
name = "cart"
namespace = "shop"
vips = ["{CART_VIP}"]
selector = {{ app = "cart" }}
ports = [{{ port = 80, target_port = 8080 }}, {{ port = 81, target_port = 8081, protocol = "http" }}]

[[service]]
name = "ledger"
namespace = "shop"
vips = ["{LEDGER_VIP}"]
selector = {{ app = "ledger" }}
ports = [{{ port = 9000, protocol = "tcp" }}, {{ port = 9001, protocol = "tcp" }}, {{ port = 7000 }}, {{ port = 5432 }}]

[[service]]
name = "api"
namespace = "shop"
vips = ["{API_VIP}"]
selector = {{ app = "api" }}
ports = [{{ port = 50051, protocol = "grpc" }}, {{ port = 8082, protocol = "http2" }}, {{ port = 8083 }}]

[[authorization]]
name = "api-calls"
namespace = "shop"
selector = {{ app = "api" }}
action = "allow"
[[authorization.rules]]
from = [{{ principals = ["cluster.local/ns/shop/sa/web"] }}]
to = [{{ paths = ["/shop.Cart/Get", "/shop.Cart/List", "/public/*"] }}]

[[authorization]]
name = "cart-public-reads"
namespace = "shop"
selector = {{ app = "cart" }}
action = "allow"
[[authorization.rules]]
from = [{{ principals = ["cluster.local/ns/shop/sa/web"] }}]
to = [{{ methods = ["GET"], paths = ["/public/*"] }}]

[[authorization]]
name = "cart-block-header"
namespace = "shop"
selector = {{ app = "cart" }}
action = "deny"
[[authorization.rules]]
when = [{{ key = "request.headers[x-block]", values = ["yes"] }}]

[[authorization]]
name = "catalog-reads"
namespace = "shop"
selector = {{ app = "catalog" }}
action = "allow"
[[authorization.rules]]
to = [{{ methods = ["GET"] }}]
'''


class L7:
    def __init__(self, h, c):
        self.h, self.c = h, c
        self.expected = {"200": 0, "403": 0}  # web -> cart responses, for the request metrics
        self.sniffed_connections = 0  # connections to undeclared HTTP ports of n2
        self.seq = 0

    # --- setup -------------------------------------------------------------------------------
    def build(self):
        h = self.h
        self.n1, self.n2 = h.add_node(), h.add_node()
        self.web, self.legacy = h.add_pod(self.n1), h.add_pod(self.n1)
        self.cart, self.catalog, self.ledger = h.add_pod(self.n2), h.add_pod(self.n2), h.add_pod(self.n2)
        self.api = h.add_pod(self.n2)
        for p, label in ((self.web, "web"), (self.legacy, "legacy"), (self.cart, "cart"), (self.catalog, "catalog"),
                         (self.ledger, "ledger"), (self.api, "api")):
            p.label = label
        meshed = (self.web, self.cart, self.catalog, self.ledger, self.api)
        ca = os.path.join(h.tmp, "ca")
        nh.sh(h.meshctl_bin, "ca", "init", "--dir", ca)
        for n in h.nodes:
            os.makedirs(n.policy_dir, exist_ok=True)
            with open(os.path.join(n.policy_dir, "mesh.toml"), "w") as f:
                f.write(policy_text(meshed))
        for n in h.nodes:
            h.start_daemon(n, mode="ebpf", config={"identity": {"ca_dir": ca}, "policy": {"reload_delay": "50ms"}})
        for p in meshed:
            h.meshctl(p.node, "enroll", "--name", p.label, "--namespace", "shop", "--service-account", p.label,
                      "--netns", p.netns, "--ip", p.ip4, "--ip", p.ip6, check=True)
        self.logs = {}
        for pod, port in ((self.cart, 8080), (self.cart, 8081), (self.catalog, 8080)):
            self.logs[(pod.label, port)] = log = f"{h.tmp}/{pod.label}-{port}.log"
            h.spawn_in_pod(pod, [sys.executable, APP, "http", "--port", str(port), "--log", log], wait_ready=True)
        for kind, port in (("echo", 9000), ("banner", 9001), ("echo", 7000), ("banner", 5432)):
            h.spawn_in_pod(self.ledger, [sys.executable, APP, kind, "--port", str(port)], wait_ready=True)
        h.spawn_in_pod(self.cart, [DEBIAN_PYTHON, WSAPP, "serve", "--port", "8090"], wait_ready=True)
        for kind, port in (("h2c", 8082), ("h2c", 8083), ("grpc", 50051)):
            self.logs[("api", port)] = log = f"{h.tmp}/api-{port}.log"
            h.spawn_in_pod(self.api, [DEBIAN_PYTHON, H2APP, kind, "--port", str(port), "--log", log], wait_ready=True)

    # --- clients -----------------------------------------------------------------------------
    def curl(self, pod, url, *more, opts=()):
        """One curl invocation in `pod`: `url` with `opts`, then each of `more` (a URL, or a
        (URL, options) pair) after --next, so that curl may reuse its connection. Every
        transfer carries x-test: <tag>. Returns [{code, connects, body, tag}]."""
        transfers = [(url, list(opts))] + [(m, []) if isinstance(m, str) else (m[0], list(m[1])) for m in more]
        cmd, out = [CURL], []
        for i, (u, o) in enumerate(transfers):
            self.seq += 1
            tag, body = f"t{self.seq}", f"{self.h.tmp}/curl-{self.seq}.body"
            out.append({"code": 0, "connects": 0, "body": None, "tag": tag, "file": body})
            cmd += (["--next"] if i else []) + ["-sS", "--noproxy", "*", "--max-time", "10", "-H", f"x-test: {tag}",
                                                "-o", body, "-w", "%{http_code} %{num_connects}\\n"] + o + [u]
        r = self.h.run_in_pod(pod, cmd, timeout=60)
        for res, line in zip(out, r.stdout.splitlines()):
            code, _, connects = line.partition(" ")
            res["code"], res["connects"] = int(code or 0), int(connects or 0)
            try:
                with open(res["file"], "rb") as f:
                    res["body"] = f.read().decode(errors="replace")
            except OSError:
                pass
        for res in out:
            if res["code"] == 0:
                res["error"] = r.stderr.strip()[-300:]
        return out

    def web_to_cart(self, path, *more, opts=(), expect=(), port=8080, host=None):
        """curl from web to cart; `expect` are the codes each transfer should get (counted for
        the request metrics whatever happens, so a missing L7 path cannot match them)."""
        base = f"http://{host or self.cart.ip4}:{port}"
        res = self.curl(self.web, base + path, *[(base + m[0], m[1]) if isinstance(m, tuple) else base + m
                                                 for m in more], opts=opts)
        for code in expect:
            self.expected[str(code)] += 1
        if port in (8080, 80):
            self.sniffed_connections += 1
        return res

    def scrape(self, node):
        """GET /metrics from the node's metrics endpoint (127.0.0.1:<port> in its netns) with curl."""
        addr = self.h.status(node)["admin"]["metrics"]
        r = self.h.run_in_node(node, [CURL, "-sS", "--noproxy", "*", "--max-time", "10", f"http://{addr}/metrics"])
        return nh.Metrics(r.stdout)

    def app(self, pod, *args):
        r = self.h.run_in_pod(pod, [sys.executable, APP, *args], timeout=30)
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return {"error": f"exit {r.returncode}: {r.stdout.strip()} {r.stderr.strip()[-1000:]}"}

    def seen(self, pod, port=8080):
        """The requests pod's backend on `port` logged, as dicts with lowercased header names."""
        try:
            with open(self.logs[(pod.label, port)]) as f:
                reqs = [json.loads(line) for line in f if line.strip()]
        except OSError:
            return []
        for r in reqs:
            r["h"] = {}
            for k, v in r["headers"]:
                r["h"].setdefault(k.lower(), []).append(v)
        return reqs

    def seen_tag(self, pod, tag, port=8080):
        return [r for r in self.seen(pod, port) if r["h"].get("x-test") == [tag]]

    def denied(self, res, pod, what, port=8080):
        """Checks a 403 answered by meshd itself: the body, and that the backend never saw it."""
        self.c.check(res["code"] == 403 and res["body"] == DENIED, f"{what} → 403 '{DENIED}'", res)
        self.c.check(not self.seen_tag(pod, res["tag"], port), f"{what}: the backend never saw it")

    # --- 1. authorization per request --------------------------------------------------------
    def explain_decision(self, method, path, headers=()):
        """`meshctl policy explain` offline on the server node's policy files: allow or deny for
        a request from web to cart."""
        n2 = self.cart.node
        cmd = [self.h.meshctl_bin, "policy", "explain", "--policy-dir", n2.policy_dir, "--from", "shop/web",
               "--to", f"{self.cart.ip4}:8080", "--method", method, "--path", path, "-o", "json"]
        for k, v in headers:
            cmd += ["--header", f"{k}={v}"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        try:
            return json.loads(r.stdout).get("decision")
        except ValueError:
            return f"explain failed: exit {r.returncode}: {r.stderr.strip()[-300:]}"

    def explained(self):
        """For a sample of requests, explain's verdict is what the data path did."""
        c = self.c
        samples = [("GET", "/public/a", ()), ("POST", "/public/a", ()), ("GET", "/private", ()),
                   ("GET", "/public/a", (("x-block", "yes"),))]
        for method, path, headers in samples:
            opts = ["-X", method] + [a for k, v in headers for a in ("-H", f"{k}: {v}")]
            want = self.explain_decision(method, path, headers)
            r = self.web_to_cart(path, opts=opts, expect=[200 if want == "allow" else 403])[0]
            got = "allow" if r["code"] == 200 else "deny" if r["code"] == 403 else f"code {r['code']}"
            c.check(want == got, f"explain says {want} for {method} {path} {dict(headers) or ''}; the data path: {got}",
                    r)

    def authorization(self):
        c, cart = self.c, self.cart
        print("--- 1. per-request authorization (web → cart over HBONE)")
        r = self.web_to_cart("/public/a", expect=[200])[0]
        seen = self.seen_tag(cart, r["tag"])
        c.check(r["code"] == 200 and len(seen) == 1 and seen[0]["method"] == "GET" and seen[0]["path"] == "/public/a",
                "GET /public/a → 200 from the backend", r)
        ids = seen[0]["h"].get("x-request-id", []) if seen else []
        c.check(len(ids) == 1 and UUID.match(ids[0]), "the backend saw one x-request-id, a UUID", ids)
        r = self.web_to_cart("/public/a", opts=["-H", "x-request-id: l7-test-given-id"], expect=[200])[0]
        seen = self.seen_tag(cart, r["tag"])
        c.check(seen and seen[0]["h"].get("x-request-id") == ["l7-test-given-id"],
                "a request's own x-request-id reaches the backend unchanged (and once)", seen or r)
        self.denied(self.web_to_cart("/public/a", opts=["-X", "POST", "-d", "payload"], expect=[403])[0], cart,
                    "POST /public/a")
        self.denied(self.web_to_cart("/private", expect=[403])[0], cart, "GET /private")

        rs = self.web_to_cart("/private", "/public/b", expect=[403, 200])
        c.check([r["code"] for r in rs] == [403, 200] and rs[1]["body"] and '"/public/b"' in rs[1]["body"],
                "one curl: GET /private → 403, then GET /public/b → 200", rs)
        c.check(sum(r["connects"] for r in rs) == 1, "over one connection: it stays open after a 403",
                [r["connects"] for r in rs])
        # Without Expect the body comes anyway: meshd reads and drops it, and the connection
        # serves the next request.
        rs = self.web_to_cart("/public/a", ("/public/b", []),
                              opts=["-X", "POST", "-H", "Expect:", "--data-binary", "x" * 20000], expect=[403, 200])
        c.check([r["code"] for r in rs] == [403, 200] and sum(r["connects"] for r in rs) == 1,
                "a denied POST with a 20 kB body, then a GET, on one connection: 403 then 200", rs)
        # With Expect: 100-continue the 403 comes before any body, and the connection closes
        # after it (the client may or may not send the body: nothing else would be safe).
        rs = self.web_to_cart("/public/a", ("/public/b", []),
                              opts=["-X", "POST", "-H", "Expect: 100-continue", "--data-binary", "x" * 20000],
                              expect=[403, 200])
        c.check([r["code"] for r in rs] == [403, 200] and sum(r["connects"] for r in rs) == 2,
                "a denied POST awaiting 100-continue → 403 at once, the connection closes, the next GET → 200", rs)

        rs = self.web_to_cart("/public/a", "/public/b", expect=[200, 200])
        seen = [self.seen_tag(cart, r["tag"]) for r in rs]
        c.check([r["code"] for r in rs] == [200, 200] and sum(r["connects"] for r in rs) == 1,
                "two allowed GETs on one downstream connection", rs)
        peers = [s[0]["peer"] for s in seen if s]
        c.check(len(peers) == 2 and peers[0] == peers[1], "reach the backend on one upstream connection (keep-alive)",
                peers)
        ids = [s[0]["h"].get("x-request-id", [None])[0] for s in seen if s]
        c.check(len(ids) == 2 and ids[0] != ids[1] and all(i and UUID.match(i) for i in ids),
                "each request gets its own x-request-id", ids)

        r = self.web_to_cart("/public/vip", port=80, host=CART_VIP, expect=[200])[0]
        c.check(r["code"] == 200 and len(self.seen_tag(cart, r["tag"])) == 1, "GET /public/vip through the cart VIP → 200",
                r)
        r = self.web_to_cart("/private", port=80, host=CART_VIP, expect=[403])[0]
        self.denied(r, cart, "GET /private through the cart VIP")
        d = Delta(self.h, self.n2)
        r = self.web_to_cart("/public/declared", port=81, host=CART_VIP, expect=[200])[0]
        c.check(r["code"] == 200 and len(self.seen_tag(cart, r["tag"], 8081)) == 1,
                "GET /public/declared on the port declared http → 200", r)
        self.denied(self.web_to_cart("/private", port=81, host=CART_VIP, expect=[403])[0], cart,
                    "GET /private on the port declared http", port=8081)
        c.check(d.until(lambda d: d.get("meshd_protocol_detections_total", outcome="declared") >= 2) and
                d.get("meshd_protocol_detections_total", outcome="sniffed_http1") == 0,
                "the declared http port counts outcome=declared and sniffs nothing",
                {o: d.get("meshd_protocol_detections_total", outcome=o) for o in ("declared", "sniffed_http1")})

    # --- 2. DENY on a request header ---------------------------------------------------------
    def deny_when(self):
        print("--- 2. a DENY rule on request.headers[x-block]")
        self.denied(self.web_to_cart("/public/a", opts=["-H", "x-block: yes"], expect=[403])[0], self.cart,
                    "GET /public/a with x-block: yes")
        self.denied(self.web_to_cart("/public/a", opts=["-H", "X-Block: yes"], expect=[403])[0], self.cart,
                    "GET /public/a with X-Block: yes (header names are case-insensitive)")
        for hdr, what in ((["-H", "x-block: no"], "with x-block: no"), ([], "without x-block")):
            r = self.web_to_cart("/public/a", opts=hdr, expect=[200])[0]
            self.c.check(r["code"] == 200 and len(self.seen_tag(self.cart, r["tag"])) == 1, f"GET /public/a {what} → 200",
                         r)

    # --- 3. L4 stays L4 ----------------------------------------------------------------------
    def l4(self):
        c = self.c
        print("--- 3. L4: declared tcp ports, non-HTTP bytes, server-first banners")
        cases = [
            (9000, HTTP_SHAPED, False, "declared", "HTTP-shaped bytes to a port declared tcp relay unchanged"),
            (9001, b"after the banner", True, "declared", "a banner on a port declared tcp"),
            (7000, NOT_HTTP, False, "opaque", "non-HTTP bytes to an undeclared port relay unchanged"),
            (5432, b"after the banner", True, "skipped_server_first", "a banner on an undeclared server-first port"),
        ]
        for port, data, banner, outcome, what in cases:
            d = Delta(self.h, self.n2)
            out = self.app(self.web, "exchange", f"{LEDGER_VIP}:{port}", "--send", data.hex(), *(["--banner"] * banner))
            if banner:
                c.check(out.get("banner") == f"BANNER {port}" and (out.get("banner_ms") or 1e9) < 500,
                        f"{what} arrives promptly with the client silent (< 500 ms)", out)
            c.check(out.get("match") is True and out.get("end") == "eof", f"{what}: bytes echo both ways, then EOF", out)
            c.check(d.until(lambda d: d.get("meshd_protocol_detections_total", outcome=outcome) >= 1) and
                    d.get("meshd_protocol_detections_total", outcome=outcome) == 1 and
                    d.get("istio_requests_total") == 0,
                    f"port {port}: one outcome={outcome} detection, no request recorded",
                    {o: d.get("meshd_protocol_detections_total", outcome=o) for o in
                     ("declared", "sniffed_http1", "opaque", "timeout", "skipped_server_first")})
        out = self.app(self.web, "exchange", self.cart.addr(8080), "--send", NOT_HTTP.hex(), "--timeout", "3")
        c.check(not out.get("received") and "timed out" not in out.get("error", ""),
                "non-HTTP bytes to cart are refused: its DENY needing HTTP matches on L4 alone", out)

    # --- 4. Upgrade --------------------------------------------------------------------------
    def upgrade(self):
        c = self.c
        print("--- 4. Upgrade: 101, then a byte relay")
        out = self.app(self.web, "upgrade", self.cart.addr(8080), "--path", "/public/ws", "--host", "cart")
        c.check(out.get("status") == 101 and "upgrade: echo" in out.get("head", "").lower(),
                "GET /public/ws with Upgrade: echo → the backend's 101", out)
        c.check(out.get("echoed") == [True, True, True] and out.get("end") == "eof",
                "after the 101 bytes echo both ways (HTTP-shaped ones too), then EOF", out)
        out = self.app(self.web, "upgrade", self.cart.addr(8080), "--path", "/private", "--host", "cart")
        self.expected["403"] += 1
        c.check(out.get("status") == 403 and not out.get("echoed"), "an Upgrade to /private → 403, no relay", out)
        c.check(not [r for r in self.seen(self.cart) if r["path"] == "/private" or r["h"].get("x-block") == ["yes"]],
                "cart's backend never saw a denied request")

    def websocket(self):
        """A WebSocket client and server we did not write (python3-websockets) through the mesh:
        the handshake is an authorized HTTP/1.1 request, then frames flow as bytes."""
        c = self.c
        print("--- 4b. WebSocket (python3-websockets)")
        url = f"ws://{self.cart.ip4}:8090"
        r = self.h.run_in_pod(self.web, [DEBIAN_PYTHON, WSAPP, "client", url + "/public/ws", "--count", "4"], timeout=30)
        out = json.loads((r.stdout.strip().splitlines() or ["{}"])[-1])
        c.check(out.get("status") == 101 and out.get("echoed") == [True] * 4,
                "a WebSocket to /public/ws: handshake allowed, four messages (up to 3 kB) echoed", out)
        r = self.h.run_in_pod(self.web, [DEBIAN_PYTHON, WSAPP, "client", url + "/private/ws"], timeout=30)
        out = json.loads((r.stdout.strip().splitlines() or ["{}"])[-1])
        self.expected["403"] += 1
        c.check(out.get("status") == 403, "a WebSocket to /private/ws: the handshake is refused 403", out)

    # --- 7. HTTP/2 and gRPC ----------------------------------------------------------------
    def grpc_call(self, method, *extra):
        r = self.h.run_in_pod(self.web, [DEBIAN_PYTHON, H2APP, "call", f"{self.api.ip4}:50051", method, *extra],
                              timeout=30)
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return {"error": f"exit {r.returncode}: {r.stdout.strip()} {r.stderr.strip()[-1000:]}"}

    def grpc_seen(self, method):
        try:
            with open(self.logs[("api", 50051)]) as f:
                return [json.loads(line) for line in f if line.strip() and json.loads(line)["method"] == method]
        except OSError:
            return []

    def http2_grpc(self):
        c, api, h2 = self.c, self.api, ["--http2-prior-knowledge"]
        print("--- 7. HTTP/2 (h2c, curl and nghttp) and gRPC (grpcio) from web to api over HBONE")
        d = Delta(self.h, self.n2)
        base = f"http://{api.ip4}:8082"
        r = self.curl(self.web, base + "/public/a", opts=h2)[0]
        seen = self.seen_tag(api, r["tag"], 8082)
        c.check(r["code"] == 200 and len(seen) == 1 and seen[0]["path"] == "/public/a",
                "curl --http2-prior-knowledge GET /public/a → 200 from the h2c backend", r)
        ids = seen[0]["h"].get("x-request-id", []) if seen else []
        c.check(len(ids) == 1 and UUID.match(ids[0]), "the h2c backend saw one x-request-id, a UUID", ids)
        r = self.curl(self.web, base + "/private", opts=h2)[0]
        self.denied(r, api, "HTTP/2 GET /private", port=8082)

        # Three streams on one connection (nghttp multiplexes URIs of one authority).
        self.seq += 1
        tag = f"t{self.seq}"
        out = self.h.run_in_pod(self.web, [NGHTTP, "-ns", "-t", "10", "-H", f"x-test: {tag}", base + "/public/m1",
                                           base + "/private", base + "/public/m2"], timeout=30)
        rows = re.findall(r"^\s*\d+\s+\S+\s+\S+\s+\S+\s+(\d+)\s+\d+\s+(\S+)\s*$", out.stdout, re.M)
        codes = {path: int(code) for code, path in rows}
        c.check(codes == {"/public/m1": 200, "/private": 403, "/public/m2": 200},
                "nghttp: three streams on one connection, /private → 403 and the other two → 200", out.stdout[-600:])
        seen = self.seen_tag(api, tag, 8082)
        c.check(sorted(s["path"] for s in seen) == ["/public/m1", "/public/m2"] and len({s["peer"] for s in seen}) == 1,
                "the backend saw the two allowed streams, on one upstream connection, never the denied one", seen)

        out = self.h.run_in_pod(self.web, [NGHTTP, "-nv", "-t", "10", base + "/public/reset"], timeout=30)
        c.check(re.search(r"recv RST_STREAM frame[^\n]*\n\s*\(error_code=ENHANCE_YOUR_CALM\(0x0b\)\)", out.stdout) is not None,
                "the backend's RST_STREAM ENHANCE_YOUR_CALM reaches nghttp with its code (not a 502)",
                out.stdout[-800:])
        r = self.curl(self.web, base + "/public/reset", opts=h2)[0]
        c.check(r["code"] in (0, 200) and "ENHANCE_YOUR_CALM (err 11)" in r.get("error", ""),
                "and curl reports the stream reset with ENHANCE_YOUR_CALM (err 11)", r)

        r = self.curl(self.web, f"http://{api.ip4}:8083/public/sniffed", opts=h2)[0]
        c.check(r["code"] == 200 and len(self.seen_tag(api, r["tag"], 8083)) == 1,
                "HTTP/2 to an undeclared port: the preface is sniffed and the request proxied → 200", r)
        c.check(d.until(lambda d: d.get("meshd_protocol_detections_total", outcome="sniffed_http2") >= 1) and
                d.get("meshd_protocol_detections_total", outcome="sniffed_http2") == 1,
                "counted once as outcome=sniffed_http2", d.get("meshd_protocol_detections_total", outcome="sniffed_http2"))

        out = self.grpc_call("/shop.Cart/Get", "--data", "hi")
        c.check(out.get("code") == 0 and out.get("responses") == ["answer:hi"], "gRPC unary /shop.Cart/Get → its answer",
                out)
        got = self.grpc_seen("/shop.Cart/Get")
        c.check(len(got) == 1 and any(k == "x-request-id" and UUID.match(v) for k, v in got[0]["metadata"]),
                "the gRPC backend ran it once, with an x-request-id", got)
        out = self.grpc_call("/shop.Cart/Secret", "--data", "hi")
        c.check(out.get("code") == 7 and out.get("details") == DENIED,
                f"gRPC /shop.Cart/Secret → PERMISSION_DENIED (7) with details '{DENIED}'", out)
        c.check(not self.grpc_seen("/shop.Cart/Secret"), "and the gRPC backend never ran it")
        out = self.grpc_call("/shop.Cart/List", "--stream")
        c.check(out.get("code") == 0 and out.get("responses") == [f"item-{i}" for i in range(5)],
                "gRPC server streaming /shop.Cart/List → its five messages, then OK", out)

        lab = dict(reporter="destination", destination_workload="api", destination_workload_namespace="shop",
                   source_principal=WEB)
        d.until(lambda d: d.get("istio_requests_total", request_protocol="grpc", **lab) >= 3)
        c.check(d.get("istio_requests_total", request_protocol="grpc", grpc_response_status="7", response_code="200",
                      **lab) == 1 and
                d.get("istio_requests_total", request_protocol="grpc", grpc_response_status="0", **lab) == 2,
                "istio_requests_total{request_protocol=\"grpc\"}: one grpc_response_status=\"7\", two \"0\"",
                d.after.series("istio_requests_total", request_protocol="grpc", **lab))
        c.check(d.get("istio_requests_total", request_protocol="http", response_code="403", **lab) == 2 and
                d.get("istio_requests_total", request_protocol="http", response_code="200", **lab) == 4,
                "istio_requests_total{request_protocol=\"http\"} for api: two 403s, four 200s",
                d.after.series("istio_requests_total", request_protocol="http", **lab))
        c.check(d.get("meshd_http2_streams_total") == 11 and d.get("meshd_http2_resets_total", **{"from": "upstream"}) == 2,
                "meshd_http2_streams_total went up by 11, meshd_http2_resets_total{from=\"upstream\"} by 2",
                {"streams": d.get("meshd_http2_streams_total"),
                 "resets": d.get("meshd_http2_resets_total", **{"from": "upstream"})})

    # --- 5. request metrics ------------------------------------------------------------------
    def metrics(self, d):
        c = self.c
        print("--- 5. metrics on n2")
        labels = dict(reporter="destination", source_principal=WEB, destination_workload="cart",
                      destination_workload_namespace="shop", request_protocol="http")
        want = self.expected
        d.until(lambda d: d.get("istio_requests_total", **labels) >= want["200"] + want["403"])
        for code, n in want.items():
            extra = {"response_flags": "-"} if code == "200" else {}
            c.check(d.get("istio_requests_total", response_code=code, **labels, **extra) == n,
                    f"istio_requests_total{{response_code=\"{code}\", source_principal=web}} went up by {n}",
                    d.get("istio_requests_total", response_code=code, **labels))
            c.check(d.get("istio_request_duration_milliseconds_count", response_code=code, **labels) == n,
                    f"istio_request_duration_milliseconds_count{{response_code=\"{code}\"}} went up by {n}",
                    d.get("istio_request_duration_milliseconds_count", response_code=code, **labels))
        c.check(d.get("istio_request_duration_milliseconds_bucket", response_code="200", le="+Inf", **labels) == want["200"],
                "the duration histogram's +Inf bucket matches", d.get("istio_request_duration_milliseconds_bucket",
                                                                      response_code="200", le="+Inf", **labels))
        scraped = self.scrape(self.n2)
        both = [m.get("istio_requests_total", response_code="403", **labels) for m in (scraped, d.after)]
        c.check(both[0] == both[1] and both[0], "n2's Prometheus endpoint (curl) serves the same istio_requests_total",
                f"endpoint {both[0]}, admin socket {both[1]} ({len(scraped.samples)} samples scraped)")
        n = d.get("meshd_protocol_detections_total", outcome="sniffed_http1")
        c.check(n >= self.sniffed_connections, f"meshd_protocol_detections_total{{outcome=\"sniffed_http1\"}} went up by "
                f"at least {self.sniffed_connections} (connections to undeclared HTTP ports)", n)

    # --- 6. plaintext through 15006 ----------------------------------------------------------
    def plaintext(self):
        c, legacy, catalog = self.c, self.legacy, self.catalog
        print("--- 6. plaintext from an unenrolled pod (15006)")
        d = Delta(self.h, self.n2)
        r = self.curl(legacy, f"http://{self.cart.ip4}:8080/public/a")[0]
        c.check(r["code"] in (0, 403) and not self.seen_tag(self.cart, r["tag"]),
                "legacy → cart GET /public/a is denied (the ALLOW needs principal web)", r)
        base = f"http://{catalog.ip4}:8080"
        r = self.curl(legacy, base + "/items")[0]
        seen = self.seen_tag(catalog, r["tag"])
        c.check(r["code"] == 200 and len(seen) == 1, "legacy → catalog GET /items (ALLOW by method only) → 200", r)
        ids = seen[0]["h"].get("x-request-id", []) if seen else []
        c.check(len(ids) == 1 and UUID.match(ids[0]), "and gets an x-request-id", ids)
        self.denied(self.curl(legacy, base + "/items", opts=["-X", "POST", "-d", "x"])[0], catalog,
                    "legacy → catalog POST /items")
        rs = self.curl(legacy, base + "/items", (base + "/items", []), opts=["-X", "POST", "-d", "x"])
        c.check([r["code"] for r in rs] == [403, 200] and sum(r["connects"] for r in rs) == 1,
                "POST then GET on one plaintext connection: 403 then 200", rs)
        c.check(d.until(lambda d: d.get("meshd_connections_opened_total", kind="inbound") >= 2),
                "the plaintext connections came through n2's inbound listener",
                d.get("meshd_connections_opened_total", kind="inbound"))
        lab = dict(reporter="destination", destination_workload="catalog", destination_workload_namespace="shop")
        d.until(lambda d: d.get("istio_requests_total", **lab) >= 4)
        c.check(d.get("istio_requests_total", response_code="403", **lab) == 2 and
                d.get("istio_requests_total", response_code="200", **lab) == 2,
                "catalog's istio_requests_total: two 403s and two 200s",
                d.after.series("istio_requests_total", **lab))


def run(build):
    c = cs.Checker()
    nh.enter_private_namespace()
    t0 = time.monotonic()
    with nh.Harness(build, meshd=True) as h:
        t = L7(h, c)
        t.build()
        start = Delta(h, t.n2)
        for scenario in (t.authorization, t.deny_when, t.explained, t.l4, t.upgrade, t.websocket):
            scenario()
        t.metrics(start.refresh())
        t.plaintext()
        t.http2_grpc()
        if c.failures:
            for n in h.nodes:
                print(f"--- meshd log on {n.name} ---\n{h.daemon_log(n)}")
    print(f"ran in {time.monotonic() - t0:.1f} s")
    return c.finish()


if __name__ == "__main__":
    build = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        nh.skip("needs root")
    if nh.cgroup2_mount() is None:
        nh.skip("no cgroup2 mount")
    for tool in (CURL, NGHTTP, DEBIAN_PYTHON):
        if not shutil.which(tool):
            nh.skip(f"{tool} missing")
    if subprocess.run([DEBIAN_PYTHON, "-c", "import h2, grpc, websockets"], capture_output=True).returncode != 0:
        nh.skip("python3-h2, python3-grpcio or python3-websockets missing")
    probe = subprocess.run([os.path.join(build, "tests", "ebpf", "capture_probe")], capture_output=True, text=True)
    if probe.returncode != 0:
        nh.skip(f"eBPF capture unavailable: {probe.stdout.strip()}")
    sys.exit(run(build))
