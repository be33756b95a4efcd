#!/usr/bin/env python3
"""./dev demo: two nodes and five pods as network namespaces, one real meshd per node with
the packaged default config (packaging/meshd.toml; per node only its name, the admin socket,
the capture paths, the built-in CA made with `meshctl ca init` and the policy directory are
set), pods enrolled with `meshctl enroll`, and connections across nodes in mTLS (HBONE)
tunnels (IPv4, IPv6, HTTP, a service VIP load-balanced over two endpoints), on one node, to a
pod outside the mesh, and some that an authorization policy refuses. It prints what the
applications saw and what meshd reports (meshctl workloads/status/policy explain, metrics),
then stops meshd with SIGTERM while a connection is open to show the drain and that enrolled
pods fail closed while meshd is down.

Everything runs in a private mount namespace of its own (its own /run/netns and bpffs) with
cgroups under <cgroup2>/meshtest-<pid>; nothing touches the host's bpffs, cgroup root or
network. Cleaned up on exit, failure, Ctrl-C or SIGTERM. Needs root.
Usage: demo.py BUILD_DIR (docs/demo.md)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_harness as nh  # noqa: E402

BOLD, DIM, OFF = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def section(title):
    print(f"\n{BOLD}== {title}{OFF}", flush=True)


def indent(text, by="    "):
    return "\n".join(by + line for line in text.rstrip().splitlines())


def interrupted(signum, _frame):
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)  # let teardown finish
    raise KeyboardInterrupt(signal.Signals(signum).name)


class Demo:
    def __init__(self, h):
        self.h = h

    def meshctl(self, node, *args):
        print(f"{DIM}[{node.label}]{OFF} $ meshctl {' '.join(args)}")
        r = self.h.meshctl(node, *args)
        print(indent(r.stdout + r.stderr))
        return r

    def build(self):
        h = self.h
        section("two nodes and six pods (network namespaces, 198.18.0.0/15 and 2001:db8::/32, no route out)")
        self.n1, self.n2 = h.add_node(), h.add_node()
        self.n1.label, self.n2.label = "node1", "node2"
        self.web_a, self.web_c, self.legacy = (h.add_pod(self.n1, name) for name in ("web-a", "web-c", "legacy"))
        self.web_b, self.web_d, self.batch = (h.add_pod(self.n2, name) for name in ("web-b", "web-d", "batch"))
        self.pods = [self.web_a, self.web_c, self.legacy, self.web_b, self.web_d, self.batch]
        for p in self.pods:
            where = "not in the mesh" if p in (self.legacy, self.batch) else "will be enrolled"
            print(f"    {p.node.label}  {p.name:7} {p.ip4:13} {p.ip6:16} {where}")
        for p in self.pods:
            h.echo_server(p, 8080)  # answers "peer=<what the server sees> local=<its address>"
        www = os.path.join(h.tmp, "www")
        os.makedirs(www)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("hello from web-b\n")
        self.http_log = os.path.join(h.tmp, "http.log")
        with open(self.http_log, "w") as log:
            http = subprocess.Popen(h._wrap(self.web_b.cgroup, self.web_b.netns, [
                sys.executable, "-u", "-m", "http.server", "--bind", "::", "--directory", www, "80"]),
                stdout=subprocess.PIPE, stderr=log, text=True)
        h.procs.append(http)
        first = http.stdout.readline()  # "Serving HTTP on :: port 80 ..." once it listens
        if not first.startswith("Serving HTTP"):
            raise RuntimeError(f"http.server in web-b did not start: {first}")
        print("    servers: a TCP echo server on :8080 in every pod, python's http.server on web-b :80")

    def policy(self):
        """The mesh as the nodes see it: the pods' identities and addresses, a service with a
        VIP in front of web-b and web-d, and an authorization: the cart service accepts only
        web-a's identity."""
        a, b, c, d = self.web_a, self.web_b, self.web_c, self.web_d
        text = "".join(f"""
[[workload]]
name = "{p.name}"
namespace = "shop"
service_account = "{sa}"
addresses = ["{p.ip4}", "{p.ip6}"]
labels = {{ app = "{app}" }}
node = "{p.node.label}"
""" for p, sa, app in ((a, "web", "web"), (c, "jobs", "jobs"), (b, "cart", "cart"), (d, "cart", "cart")))
        text += f"""
[[service]]
name = "cart"
namespace = "shop"
vips = ["{self.VIP}"]
selector = {{ app = "cart" }}
ports = [{{ port = 80, target_port = 8080, protocol = "tcp" }}]

[[authorization]]
name = "cart-from-web"
namespace = "shop"
selector = {{ app = "cart" }}
[[authorization.rules]]
from = [{{ principals = ["cluster.local/ns/shop/sa/web"] }}]
"""
        return text

    VIP = "198.19.0.10"

    def start_meshd(self):
        h = self.h
        section("a certificate authority for the mesh, and the mesh policy")
        ca = os.path.join(h.tmp, "ca")
        r = subprocess.run([h.meshctl_bin, "ca", "init", "--dir", ca], capture_output=True, text=True, timeout=30)
        print(f"    $ meshctl ca init --dir {ca}\n{indent(r.stdout + r.stderr, '        ')}")
        for n in (self.n1, self.n2):
            os.makedirs(n.policy_dir, exist_ok=True)
            with open(os.path.join(n.policy_dir, "mesh.toml"), "w") as f:
                f.write(self.policy())
        print(f"    policy.d/mesh.toml on both nodes: 4 workloads, service cart.shop ({self.VIP}:80 → web-b, web-d :8080),")
        print("    and authorization cart-from-web: the cart pods accept only spiffe://cluster.local/ns/shop/sa/web")
        section("meshd on each node, with the default config (packaging/meshd.toml)")
        for n in (self.n1, self.n2):
            h.start_daemon(n, mode=None, config={"node": {"name": n.label}, "identity": {"ca_dir": ca}})
        overrides = h.meshd_overrides(self.n1, None)
        keys = [f"{t}.{k}" for t, kv in overrides.items() for k in kv]
        print(f"    set per node: {', '.join(keys)}")
        print(f"    node1's file: {self.n1.config}")
        st = h.status(self.n1)["capture"]
        print(f"    capture mode: {st['mode']} ({st['reason']})")

    def enroll(self):
        section("enroll the pods with meshctl (each gets a certificate for its identity from the CA)")
        accounts = {self.web_a: "web", self.web_c: "jobs", self.web_b: "cart", self.web_d: "cart"}
        for p, sa in accounts.items():
            r = self.meshctl(p.node, "enroll", "--name", p.name, "--namespace", "shop", "--service-account", sa,
                             "--netns", p.netns, "--ip", p.ip4, "--ip", p.ip6)
            if r.returncode != 0:
                raise RuntimeError(f"enrolling {p.name} failed")

    def connect(self, src, dst, port, v6, what, addr=None):
        addr = addr or dst.addr(port, v6)
        out = self.h.client(src, addr)
        m = re.match(r"getpeername=(\S+) getsockname=(\S+) reply=peer=(\S+) local=(\S+)", out)
        print(f"    {src.name} → {dst.name if dst else 'cart'} {addr}   {DIM}{what}{OFF}")
        if not m:
            print(f"        failed: {out}")
            return
        peer, local, srv_peer, srv_local = m.groups()
        print(f"        client saw: peer {peer:24} local {local}")
        print(f"        server saw: peer {srv_peer:24} local {srv_local}")

    def traffic(self):
        section("connections: what the applications saw")
        a, b, c, legacy = self.web_a, self.web_b, self.web_c, self.legacy
        self.connect(a, b, 8080, False, "IPv4, across nodes: an mTLS (HBONE) tunnel node1 → node2, app reached from 127.0.0.6")
        self.connect(a, b, 8080, True, "IPv6, across nodes: the hop to the app comes from ::1")
        for _ in range(2):
            self.connect(a, None, 80, False, "the cart service VIP: one of its two endpoints, on port 8080",
                         addr=f"{self.VIP}:80")
        self.connect(a, c, 8080, False, "same node: an mTLS tunnel inside node1")
        self.connect(a, legacy, 8080, False, "to a pod outside the mesh: passthrough, it sees web-a's own address")
        self.connect(legacy, c, 8080, False, "from outside the mesh to a pod no policy protects: plaintext, allowed")
        print(f"    {DIM}refused by the authorization (the cart pods accept only the web identity):{OFF}")
        print(f"    web-c → web-b  (identity jobs): {self.h.client(c, b.addr(8080), '--timeout-ms', '3000')}")
        print(f"    legacy → web-b (plaintext, no identity): {self.h.client(legacy, b.addr(8080), '--timeout-ms', '3000')}")
        self.meshctl(self.n2, "policy", "explain", "--from", "spiffe://cluster.local/ns/shop/sa/jobs",
                     "--to", f"{b.ip4}:8080")
        if shutil.which("curl"):
            for url in (f"http://{b.ip4}/", f"http://[{b.ip6}]/"):
                body = self.h.run_in_pod(a, ["curl", "-sS", "-m", "5", url])
                print(f"    web-a $ curl {url}  →  {(body.stdout or body.stderr).strip()}")
            with open(self.http_log) as f:
                print(indent("\n".join(f"web-b's http.server log: {line}" for line in f.read().splitlines())))

    def report(self):
        section("what meshd reports")
        self.meshctl(self.n1, "workloads")
        self.meshctl(self.n1, "status")
        print(f"{DIM}[node1]{OFF} $ curl http://127.0.0.1:15020/metrics   (a few of them)")
        r = self.h.run_in_node(self.n1, ["curl", "-sS", "-m", "5", "http://127.0.0.1:15020/metrics"])
        r2 = self.h.run_in_node(self.n2, ["curl", "-sS", "-m", "5", "http://127.0.0.1:15020/metrics"])
        r.stdout += "\n".join(l for l in r2.stdout.splitlines()
                               if 'reason="denied"' in l or l.startswith("istio_requests_total{"))
        keep = re.compile(r'^(meshd_capture_mode|meshd_workloads|'
                          r'meshd_connections_opened_total\{kind="(outbound|inbound|hbone)"|'
                          r'meshd_tunnel_connections_opened_total|meshd_identity_cert_expiration|'
                          r'meshd_connections_rejected_total\{.*reason="denied"\} [1-9]|'
                          r'meshd_capture_events_total\{event="(connect_redirected|getpeername_rewritten|lookup_steered)"|'
                          r'istio_requests_total|'
                          r'process_open_fds)')
        print(indent("\n".join(l for l in r.stdout.splitlines() if keep.match(l)) or r.stderr))

    def drain(self):
        h, a, b = self.h, self.web_a, self.web_b
        section("SIGTERM with a connection open: meshd drains, then exits")
        held = subprocess.Popen(h._wrap(a.cgroup, a.netns, [h.tool("capture_client"), "--connect", b.addr(8080),
                                "--hold-ms", "1500"]), stdout=subprocess.PIPE, text=True)
        h.procs.append(held)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not h.metrics(self.n2).get("meshd_connections_active", kind="hbone"):
            time.sleep(0.05)
        print("    web-a holds a connection to web-b, echoing a line every 50 ms; SIGTERM to both meshd")
        for n in (self.n1, self.n2):
            n.daemon.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        print(f"    node1 meshd: {h.status(self.n1)['state']}")
        out, _ = held.communicate(timeout=20)
        print(f"    web-a's held connection: {out.strip().splitlines()[-1]}")
        for n in (self.n1, self.n2):
            rc = n.daemon.wait(timeout=10)
            lines = [l for l in h.daemon_log(n).splitlines() if "draining" in l or "stopped" in l]
            print(f"    {n.label} meshd exited with status {rc}:")
            print(indent("\n".join(lines), "        "))
        section("meshd down: enrolled pods fail closed, the others are untouched")
        print(f"    web-a → web-b:  {h.client(a, b.addr(8080), '--timeout-ms', '2000')}")
        print(f"    legacy → web-a: {h.client(self.legacy, a.addr(8080), '--timeout-ms', '2000')}")
        print(f"    web-a → legacy: {h.client(a, self.legacy.addr(8080), '--timeout-ms', '2000')}")
        self.connect(self.legacy, self.batch, 8080, False, "two pods outside the mesh: not affected")
        section("meshd started again: the pins and the state file bring capture back, no re-enrollment")
        for n in (self.n1, self.n2):
            h.start_daemon(n, mode=None, config={"node": {"name": n.label}, "identity": {"ca_dir": os.path.join(h.tmp, "ca")}})
        self.connect(a, b, 8080, False, "IPv4, across nodes")
        for n in (self.n1, self.n2):
            h.kill_daemon(n, signal.SIGTERM)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    build = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        print("./dev demo needs root: it creates network namespaces and cgroups and loads eBPF programs "
              "(all private to the demo). Run it again as root, e.g. `sudo ./dev demo`.", file=sys.stderr)
        return 1
    for tool in ("daemon/app/meshd", "daemon/meshctl/meshctl", "tests/support/capture_client", "tests/support/netns_exec"):
        if not os.access(os.path.join(build, tool), os.X_OK):
            print(f"demo: {tool} is not built in {build}: run ./dev build", file=sys.stderr)
            return 1
    if nh.cgroup2_mount() is None:
        print("demo: no cgroup2 filesystem is mounted; meshd attaches its programs to a cgroup2 directory", file=sys.stderr)
        return 1
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, interrupted)
    nh.enter_private_namespace()
    start = time.monotonic()
    try:
        with nh.Harness(build, meshd=True) as h:
            h.local_endpoints = False  # the default 0.0.0.0:15020 / :15021, inside each node's netns
            d = Demo(h)
            try:
                for step in (d.build, d.start_meshd, d.enroll, d.traffic, d.report, d.drain):
                    step()
            except Exception:
                for n in h.nodes:
                    print(f"\n--- meshd log on {getattr(n, 'label', n.name)} ---\n{h.daemon_log(n)}", file=sys.stderr)
                raise
            section("cleaning up: processes, namespaces, cgroups, pins")
    except KeyboardInterrupt as e:
        print(f"\ndemo interrupted ({e or 'Ctrl-C'}): everything it created is removed", file=sys.stderr)
        return 130
    print(f"done in {time.monotonic() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
