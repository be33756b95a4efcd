"""The topology and policy of meshd_l7_routing_test: two netns nodes running real meshd with the
built-in CA, the web client and three reviews versions, the services and routes of every
scenario (one policy file, rewritten atomically for the blue-green flip), and the clients
that drive requests from web (tests/support/l7_routing_app.py) and read what the backends saw.

    n1  web (sa web, the client)     reviews-v2
    n2  reviews-v1                   reviews-v3

All pods are in namespace shop; reviews-* have sa reviews, labels app=reviews, version=vN,
and v1 and v2 also pair=yes. Every backend listens on 8080 and 8081."""
import json
import os
import subprocess
import sys
import time

import netns_harness as nh
from meshd_hbone_topology import Delta

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(HERE, "..", "support", "l7_routing_app.py")
NS = "shop"
PORT = 9080
# service -> (VIP, target port, protocol, selector)
SERVICES = {
    "reviews": ("198.19.0.20", 8080, "http", 'app = "reviews"'),
    "reviews-canary": ("198.19.0.21", 8080, "http", 'app = "reviews"'),
    "reviews-bg": ("198.19.0.22", 8080, "http", 'app = "reviews"'),
    "reviews-match": ("198.19.0.23", 8081, None, 'app = "reviews"'),
    "reviews-rr": ("198.19.0.24", 8081, None, 'pair = "yes"'),
    "reviews-hash": ("198.19.0.25", 8081, None, 'pair = "yes"'),
    "reviews-any": ("198.19.0.26", 8081, None, 'pair = "yes"'),
}
VERSIONS = ("v1", "v2", "v3")


def fqdn(svc):
    return f"{svc}.{NS}.svc.cluster.local"


def host_of(svc):
    return f"{svc}.{NS}:{PORT}"


def route(svc, rules):
    """A [[route]] for `svc` with `rules`: (name, match, to, extra) tuples; `to` is a subset,
    a list of (subset, weight) or None (a redirect in `extra`)."""
    text = f'[[route]]\nname = "{svc}"\nnamespace = "{NS}"\nhosts = ["{svc}"]\n\n'
    for name, match, to, extra in rules:
        text += f'[[route.http]]\nname = "{name}"\n'
        if match:
            text += f"match = [{match}]\n"
        if isinstance(to, str):
            text += f'to = [{{ host = "{svc}", subset = "{to}" }}]\n'
        elif to:
            text += "to = [" + ", ".join(f'{{ host = "{svc}", subset = "{s}", weight = {w} }}' for s, w in to) + "]\n"
        if to and "request_headers" not in extra:
            text += f'request_headers = {{ set = {{ "x-rule" = "{name}" }} }}\n'
        text += extra + "\n"
    return text


MATCH_RULES = [
    ("exact-path", '{ path = { exact = "/exact" } }', "v1", ""),
    ("regex-path", '{ path = { regex = "/items/[0-9]+" } }', "v3", ""),
    ("delete-only", '{ method = { exact = "DELETE" }, path = { prefix = "/m/" } }', "v2", ""),
    ("query-flavor", '{ path = { prefix = "/q" }, query = { "flavor" = { exact = "canary" } } }', "v3", ""),
    ("no-debug", '{ path = { prefix = "/w" }, without_headers = { "x-debug" = { present = true } } }', "v1", ""),
    ("other-source", '{ path = { prefix = "/src" }, source_labels = { app = "nobody" } }', "v3", ""),
    ("web-source", f'{{ path = {{ prefix = "/src" }}, source_labels = {{ app = "web" }}, source_namespace = "{NS}" }}',
     "v2", ""),
    ("other-port", '{ path = { prefix = "/port" }, port = 9999 }', "v3", ""),
    ("this-port", f'{{ path = {{ prefix = "/port" }}, port = {PORT} }}', "v1", ""),
    ("any-of", '{ path = { prefix = "/any" }, headers = { "x-a" = { exact = "1" } } }, '
               '{ path = { prefix = "/any" }, headers = { "x-b" = { prefix = "y" } } }', "v2", ""),
    ("rewrite-prefix", '{ path = { prefix = "/api/" } }', "v2",
     'rewrite = { path = "/v1/", authority = "reviews-internal" }\n'),
    ("rewrite-exact", '{ path = { exact = "/exact-rw" } }', "v3", 'rewrite = { path = "/replaced" }\n'),
    ("header-ops", '{ path = { prefix = "/hdr" } }', "v1",
     'request_headers = { set = { "x-rule" = "header-ops", "x-set" = "mesh" }, add = { "x-add" = "mesh" }, '
     'remove = ["x-remove"] }\n'
     'response_headers = { set = { "x-app-set" = "mesh" }, add = { "x-app-add" = "mesh" }, remove = ["x-app-remove"] }\n'),
    ("redirect", '{ path = { prefix = "/old" } }', None, 'redirect = { path = "/new/place" }\n'),
    ("redirect-authority", '{ path = { prefix = "/moved" } }', None,
     'redirect = { authority = "reviews-next.shop", code = 302 }\n'),
]


def policy_text(workloads, blue_weight=0, comment=""):
    """The whole policy; `blue_weight` is reviews-bg's weight for v1 (blue), v2 (green) gets
    the rest."""
    text = f"# meshd_l7_routing_test {comment}\n"
    for name, (p, sa, labels) in workloads.items():
        text += (f'[[workload]]\nname = "{name}"\nnamespace = "{NS}"\nservice_account = "{sa}"\n'
                 f'addresses = ["{p.ip4}", "{p.ip6}"]\nlabels = {{ {labels} }}\n\n')
    for svc, (vip, target, proto, selector) in SERVICES.items():
        port = f"port = {PORT}, target_port = {target}" + (f', protocol = "{proto}"' if proto else "")
        text += (f'[[service]]\nname = "{svc}"\nnamespace = "{NS}"\nvips = ["{vip}"]\nselector = {{ {selector} }}\n'
                 f"ports = [{{ {port} }}]\n\n")
    subsets = ", ".join(f'{{ name = "{v}", labels = {{ version = "{v}" }} }}' for v in VERSIONS)
    for svc in ("reviews", "reviews-canary", "reviews-bg", "reviews-match"):
        text += f'[[destination]]\nname = "{svc}"\nnamespace = "{NS}"\nhost = "{svc}"\nsubsets = [{subsets}]\n\n'
    text += (f'[[destination]]\nname = "reviews-rr"\nnamespace = "{NS}"\nhost = "reviews-rr"\n'
             'load_balancer = { simple = "round_robin" }\n\n'
             f'[[destination]]\nname = "reviews-hash"\nnamespace = "{NS}"\nhost = "reviews-hash"\n'
             'load_balancer = { consistent_hash = { http_header_name = "x-user" } }\n\n')
    text += route("reviews", [("jason", '{ headers = { "end-user" = { exact = "jason" } } }', "v2", ""),
                              ("everyone-else", None, "v1", "")])
    text += route("reviews-canary", [("canary", None, [("v1", 90), ("v2", 10)], "")])
    text += route("reviews-bg", [("blue-green", None, [("v1", blue_weight), ("v2", 100 - blue_weight)], "")])
    text += route("reviews-match", MATCH_RULES)
    return text


def header_values(pairs, name):
    """Every value of header `name` in [[name, value], ...], split at commas (a proxy may
    send an added value as its own field or append it to the existing one)."""
    out = []
    for k, v in pairs or []:
        if k.lower() == name:
            out += [x.strip() for x in v.split(",")]
    return out


class Topology:
    def __init__(self, h, c):
        self.h, self.c = h, c
        self.seq = 0

    # --- setup -------------------------------------------------------------------------------
    def build(self):
        h = self.h
        self.n1, self.n2 = h.add_node(), h.add_node()
        self.web, v2 = h.add_pod(self.n1), h.add_pod(self.n1)
        v1, v3 = h.add_pod(self.n2), h.add_pod(self.n2)
        self.pods = {"v1": v1, "v2": v2, "v3": v3}
        self.workloads = {"web": (self.web, "web", 'app = "web"')}
        for v, p in self.pods.items():
            pair = ', pair = "yes"' if v in ("v1", "v2") else ""
            self.workloads[f"reviews-{v}"] = (p, "reviews", f'app = "reviews", version = "{v}"{pair}')
        ca = os.path.join(h.tmp, "ca")
        nh.sh(h.meshctl_bin, "ca", "init", "--dir", ca)
        self.write_policy(policy_text(self.workloads))
        for n in h.nodes:
            h.start_daemon(n, mode="ebpf", config={"identity": {"ca_dir": ca}, "policy": {"reload_delay": "50ms"}})
        for name, (p, sa, _labels) in self.workloads.items():
            h.meshctl(p.node, "enroll", "--name", name, "--namespace", NS, "--service-account", sa,
                      "--netns", p.netns, "--ip", p.ip4, "--ip", p.ip6, check=True)
        self.logs = {}
        for v, p in self.pods.items():
            self.logs[v] = log = f"{h.tmp}/reviews-{v}.log"
            h.spawn_in_pod(p, [sys.executable, APP, "serve", "--name", v, "--port", "8080", "--port", "8081",
                               "--log", log], wait_ready=True)

    def write_policy(self, text):
        """Atomically replaces mesh.toml on every node (rename, as a ConfigMap update does)."""
        for n in self.h.nodes:
            os.makedirs(n.policy_dir, exist_ok=True)
            tmp = os.path.join(n.policy_dir, ".mesh.toml.tmp")
            with open(tmp, "w") as f:
                f.write(text)
            os.rename(tmp, os.path.join(n.policy_dir, "mesh.toml"))

    def policy_versions(self):
        return [self.h.status(n)["policy"].get("version") for n in self.h.nodes]

    def wait_reload(self, old, timeout=10):
        """Waits until every node runs a policy version other than `old` (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.policy_versions()
            if all(v not in old for v in now):
                return now
            time.sleep(0.05)
        return None

    # --- clients -----------------------------------------------------------------------------
    def send(self, svc, reqs, connections=1, full=True, addr=None, host=None):
        """Sends `reqs` ({method, path, headers, conn}) from web to `svc`'s VIP (or `addr`)
        over `connections` keep-alive connections; every request gets x-test: <tag>. Returns
        (results, connects): result i has status, version, error, tag and with `full` the
        response headers, body and what the backend saw."""
        spec_reqs = []
        for r in reqs:
            self.seq += 1
            tag = f"t{self.seq}"
            headers = list(r.get("headers", {}).items()) + [("x-test", tag)]
            spec_reqs.append({**r, "headers": headers, "tag": tag})
        spec = {"connections": connections, "host": host or host_of(svc), "full": full, "requests": spec_reqs}
        path = f"{self.h.tmp}/spec-{self.seq}.json"
        with open(path, "w") as f:
            json.dump(spec, f)
        try:
            r = self.h.run_in_pod(self.web, [sys.executable, APP, "requests", addr or f"{SERVICES[svc][0]}:{PORT}",
                                             "--spec", path], timeout=60)
            out = json.loads(r.stdout.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            return [{"status": 0, "version": None, "error": "client timed out", "tag": s["tag"]} for s in spec_reqs], []
        except (IndexError, ValueError):
            err = f"client exit {r.returncode}: {r.stderr.strip()[-500:]}"
            return [{"status": 0, "version": None, "error": err, "tag": s["tag"]} for s in spec_reqs], []
        for res, s in zip(out["results"], spec_reqs):
            res["tag"] = s["tag"]
        return out["results"], out["connects"]

    def one(self, svc, path, method="GET", headers=None, **kw):
        res, _ = self.send(svc, [{"method": method, "path": path, "headers": headers or {}}], **kw)
        return res[0]

    def seen_tag(self, tag):
        """What the backends logged for the request tagged `tag`: [(version, record)]."""
        out = []
        for v, log in self.logs.items():
            try:
                with open(log) as f:
                    for line in f:
                        rec = json.loads(line)
                        if tag in header_values(rec["headers"], "x-test"):
                            out.append((v, rec))
            except OSError:
                pass
        return out

    def delta(self, node):
        """The node's metrics from now on (a Delta)."""
        return Delta(self.h, node)

    def source_requests(self, d, svc, **labels):
        return d.get("istio_requests_total", reporter="source", destination_service=fqdn(svc), **labels)

    @staticmethod
    def tally(results):
        out = {}
        for r in results:
            key = r["version"] if r["status"] == 200 and r["version"] else f"failed:{r['status']}"
            out[key] = out.get(key, 0) + 1
        return out

    def explain(self, svc, method, path, headers):
        """`meshctl policy explain -o json` for a request from web to `svc`, offline on n1's
        policy directory (the files the daemon runs)."""
        cmd = [self.h.meshctl_bin, "policy", "explain", "--policy-dir", self.n1.policy_dir, "--from", f"{NS}/web",
               "--to", host_of(svc), "--method", method, "--path", path, "-o", "json"]
        for k, v in headers.items():
            cmd += ["--header", f"{k}={v}"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {"error": f"exit {r.returncode}: {r.stderr.strip()}"}

    @staticmethod
    def flip_cmd(proc, cmd):
        try:
            proc.stdin.write(cmd + "\n")
            proc.stdin.flush()
        except OSError:
            pass  # it died: its missing result says so

    @staticmethod
    def communicate(proc, timeout):
        try:
            return proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.communicate()
