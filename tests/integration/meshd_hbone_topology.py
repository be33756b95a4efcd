"""Topology and helpers of meshd_hbone_test.py: three nodes of the netns harness, each with a
real meshd, and the PKI made with `meshctl ca`.

    n1  [identity] ca_dir = CA, its        a, b, e enrolled; c, f not enrolled
        bundle federated with another      e is enrolled with f's addresses: see below
        trust domain (same-node, interop)
        [runtime] local_tunnel_worker = "other"
    n2  [identity] ca_dir = CA,           r1, r2 enrolled; r3 not enrolled
        leaf_validity = "10s" (rotation)
    n3  [identity] cert_dirs = [x's dir]  x, y enrolled; y's identity has no certificate
        (no CA)

Applications: tests/support/hbone_app.py serve on port 8080 of b, c, r2, x and y (it says
what it sees, then echoes, pushes, resets or waits, and logs each connection).

meshd treats as meshed peers only the workloads enrolled on its own node until the
cluster-wide workload directory lands. To test meshd's HBONE *client* against a server we did
not write today, workload "standin" is enrolled on n1 with pod e's netns but pod f's
addresses: meshd then believes f is a meshed workload with identity .../sa/standin and
tunnels a's connections to f to f:15008, where python3-h2 (hbone_h2_peer.py serve) listens
with a certificate for that identity."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

import capture_scenarios as cs
import netns_harness as nh

HERE = os.path.dirname(os.path.abspath(__file__))
SUPPORT = os.path.join(os.path.dirname(HERE), "support")
APP = os.path.join(SUPPORT, "hbone_app.py")
H2_PEER = os.path.join(SUPPORT, "hbone_h2_peer.py")
DEBIAN_PYTHON = "/usr/bin/python3"  # has python3-h2; `python3` on PATH may be another build
TD = "cluster.local"
APP_PORT = 8080


def spiffe(sa, ns="default", td=TD):
    return f"spiffe://{td}/ns/{ns}/sa/{sa}"


class Delta:
    """Metrics of one node before something happened; `get()` is the change since."""

    def __init__(self, h, node):
        self.h, self.node = h, node
        self.before = h.metrics(node)
        self.after = self.before

    def refresh(self):
        self.after = self.h.metrics(self.node)
        return self

    def get(self, name, **labels):
        return (self.after.get(name, **labels) or 0) - (self.before.get(name, **labels) or 0)

    def workers_with_one(self, gauge, workers):
        """The workers (of `workers`) whose per-worker `gauge` went up by exactly one."""
        return [i for i in range(workers) if self.get(gauge, worker=str(i)) == 1]

    def until(self, pred, timeout=3.0):
        """Refreshes until pred(self) holds (counters are updated when meshd gets to it, which
        may be just after the client saw the outcome) or the timeout passes."""
        deadline = time.monotonic() + timeout
        while True:
            self.refresh()
            if pred(self) or time.monotonic() >= deadline:
                return bool(pred(self))
            time.sleep(0.05)


class Topology:
    def __init__(self, h, c, mode):
        self.h, self.c, self.mode = h, c, mode
        self.pki = os.path.join(h.tmp, "pki")

    # --- PKI ---------------------------------------------------------------------------------
    def meshctl_ca(self, *args):
        r = subprocess.run([self.h.meshctl_bin, "ca", *args], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"meshctl ca {' '.join(args)}: {r.stderr.strip()}")
        return r

    def make_pki(self):
        self.ca = f"{self.pki}/ca"
        self.other_ca = f"{self.pki}/other-ca"  # trust domain other.example, federated on n1
        self.stranger_ca = f"{self.pki}/stranger-ca"  # cluster.local too, but trusted by nobody
        self.meshctl_ca("init", "--dir", self.ca, "--trust-domain", TD)
        self.meshctl_ca("init", "--dir", self.other_ca, "--trust-domain", "other.example")
        self.meshctl_ca("init", "--dir", self.stranger_ca, "--trust-domain", TD)
        self.trust = f"{self.ca}/root-cert.pem"
        # n1's CA directory: the same CA, with other.example's root in its trust bundle (a
        # federation), so that a client of that trust domain passes the chain check and is
        # refused for its trust domain.
        self.federated_ca = f"{self.pki}/ca-federated"
        shutil.copytree(self.ca, self.federated_ca)
        with open(f"{self.federated_ca}/root-cert.pem", "a") as out, open(f"{self.other_ca}/root-cert.pem") as other:
            out.write(other.read())
        self.certs = {}
        for name, ca, ident in [("tester", self.ca, spiffe("tester")),
                                ("foreign", self.other_ca, spiffe("tester", td="other.example")),
                                ("stranger", self.stranger_ca, spiffe("tester")),
                                ("standin", self.ca, spiffe("standin")),
                                ("x", self.ca, spiffe("x"))]:
            out = f"{self.pki}/{name}"
            self.meshctl_ca("issue", "--ca-dir", ca, "--identity", ident, "--out", out)
            self.certs[name] = out

    # --- nodes and pods ----------------------------------------------------------------------
    def build(self):
        h = self.h
        self.make_pki()
        self.n1, self.n2, self.n3 = h.add_node(), h.add_node(), h.add_node()
        self.a, self.b, self.c_pod, self.e, self.f = (h.add_pod(self.n1) for _ in range(5))
        self.r1, self.r2, self.r3 = (h.add_pod(self.n2) for _ in range(3))
        self.x, self.y = (h.add_pod(self.n3) for _ in range(2))
        self.start(self.n1, {"identity": {"ca_dir": self.federated_ca}, "runtime": {"local_tunnel_worker": "other"}})
        self.start(self.n2, {"identity": {"ca_dir": self.ca, "leaf_validity": "10s"}})
        self.start(self.n3, {"identity": {"cert_dirs": [self.certs["x"]]}})
        for pod, sa in [(self.a, "a"), (self.b, "b"), (self.r1, "r1"), (self.r2, "r2"), (self.x, "x"), (self.y, "y")]:
            self.enroll(pod, sa)
        # The stand-in: pod e's netns, pod f's addresses (see the module's docstring).
        self.enroll(self.e, "standin", name="standin", ips=[self.f.ip4, self.f.ip6])
        self.logs = {}
        for pod in (self.b, self.c_pod, self.r2, self.x, self.y):
            self.logs[pod.name] = f"{self.h.tmp}/app-{pod.name}.log"
            h.spawn_in_pod(pod, [sys.executable, APP, "serve", "--port", str(APP_PORT), "--log", self.logs[pod.name]],
                           wait_ready=True)

    def start(self, node, config):
        self.h.start_daemon(node, mode=self.mode, config=config)

    def enroll(self, pod, sa, name=None, ips=None):
        r = self.h.meshctl_enroll(pod, name=name or pod.name, sa=sa, ips=ips)
        self.c.check(r.returncode == 0 and "enrolled" in r.stdout, f"meshctl enroll {name or pod.name} (sa {sa})",
                     r.stdout + r.stderr)
        pod.sa = sa

    # --- traffic -----------------------------------------------------------------------------
    def app(self, pod, *args, timeout=60):
        """hbone_app.py client mode in `pod`: its JSON result (or {"error": ...})."""
        r = self.h.run_in_pod(pod, [sys.executable, APP, *args], timeout=timeout)
        return self._json(r)

    def h2_peer(self, pod, *args, timeout=60):
        """hbone_h2_peer.py (python3-h2, not our code) in `pod`: its JSON result."""
        r = self.h.run_in_pod(pod, [DEBIAN_PYTHON, H2_PEER, *args], timeout=timeout)
        return self._json(r)

    @staticmethod
    def _json(r):
        lines = r.stdout.strip().splitlines()
        try:
            return json.loads(lines[-1])
        except (IndexError, ValueError):
            return {"error": f"exit {r.returncode}: {r.stdout.strip()} {r.stderr.strip()[-2000:]}"}

    def connect(self, src, addr):
        out = self.h.client(src, addr)
        return out, cs.parse_reply(out)

    def app_log(self, pod, kind=None, timeout=5.0):
        """Lines hbone_app's server in `pod` logged ("ECHO peer=... got=... sha=... end=...")."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(self.logs[pod.name]) as f:
                    lines = [l.strip() for l in f]
            except OSError:
                lines = []
            hits = [l for l in lines if kind is None or l.startswith(kind + " ")]
            if hits or time.monotonic() >= deadline:
                return hits
            time.sleep(0.05)

    def wait_log(self, pod, kind, count, timeout=5.0):
        deadline = time.monotonic() + timeout
        while len(self.app_log(pod, kind, 0)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.app_log(pod, kind, 0)

    def s_client(self, pod, addr, *args, timeout=20):
        """openssl s_client from `pod` to addr (stdin closed at once): CompletedProcess."""
        cmd = [self.h.tool("netns_exec"), "--netns", pod.netns, "--", "openssl", "s_client", "-connect", addr,
               "-alpn", "h2", "-noservername", "-CAfile", self.trust, *args]
        return subprocess.run(cmd, input="", capture_output=True, text=True, errors="replace", timeout=timeout)

    def cert_args(self, name):
        return ["-cert", f"{self.certs[name]}/cert-chain.pem", "-key", f"{self.certs[name]}/key.pem"]

    @staticmethod
    def served_serial(s_client_out):
        """The serial of the certificate the server presented, as hex without leading zeros."""
        m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", s_client_out, re.S)
        if not m:
            return None
        r = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=m.group(0), capture_output=True, text=True,
                           timeout=10)
        return r.stdout.strip().partition("=")[2].lstrip("0").lower() or None

    def identities(self, node):
        return {i["identity"]: i for i in self.h.status(node).get("identities", [])}

    @staticmethod
    def norm_serial(s):
        return (s or "").replace(":", "").lstrip("0").lower() or None

    @staticmethod
    def h2_server_script():
        return H2_PEER

    @staticmethod
    def read_file_lines(path, timeout=5.0, want=None):
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(path) as f:
                    lines = [l.strip() for l in f]
            except OSError:
                lines = []
            if (want is None and lines) or (want is not None and want in lines) or time.monotonic() >= deadline:
                return lines
            time.sleep(0.05)

    def workers(self, node):
        return int(self.h.metrics(node).get("meshd_workers") or 1)
