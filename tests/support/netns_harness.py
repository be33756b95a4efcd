"""netns harness: nodes and pods as network namespaces, for the capture scenarios, the
benchmark and `./dev demo`.

Everything lives inside a private namespace of the harness's own: the process re-executes
itself under `unshare --mount --propagation private` with a tmpfs on /run/netns and its own
bpffs instance, so its namespaces and pins are invisible to the host and die with it. Cgroups
(which are global) are created under <cgroup2 mount>/meshtest-<pid>/ and removed at teardown.

    hub netns ── br0 ──┬── node1 netns eth0 198.18.0.1/24 2001:db8::1/64
                       └── node2 netns eth0 198.18.0.2/24 2001:db8::2/64
    node i: br0 198.18.i.1/24 2001:db8:i::1/64 ── pod j eth0 198.18.i.(10+j) 2001:db8:i::(10+j)

Pods route 198.18.0.0/15 and 2001:db8::/32 via their node; there is no route out. Each node
runs one daemon (in the node netns, cgroup meshtest-<pid>/node<i>/daemon), attached to the
cgroup meshtest-<pid>/node<i> that holds the node's pods. The daemon command is a template
(`daemon_cmd=` or $MESH_CAPTURE_DAEMON_CMD) with the placeholders {control} {events} {state}
{pending} {bpffs} {pin_dir} {cgroup_root} {mode} {extra} {node}; commands reach it through
its control socket, or through `ctl_cmd=` / $MESH_CAPTURE_CTL_CMD ({control} {args}) for a
real meshctl.

With `meshd=True` each node runs the real meshd instead, from a meshd.toml built from the
packaged default config (packaging/meshd.toml) with per-node overrides only: node name, admin
socket, metrics and readiness on 127.0.0.1:0 (inside the node netns), capture mode, and the
capture paths inside the harness's private bpffs, cgroup and temp dir (`meshd_overrides()`;
callers add their own, e.g. exclusions). It is driven with meshctl (`meshctl()`,
`meshctl_enroll()`, `status()`, `workloads()`) and observed through its metrics (`metrics()`,
read from the admin socket's /metrics).

Teardown runs even when a scenario fails (context manager + atexit), kills only PIDs the
harness started (and those in its own cgroups), and removes cgroups and pins.
"""
import atexit
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

import meshd_toml  # tests/support, next to this file
from unix_http import UnixHTTPConnection

SKIP = 77
PRIVATE_ENV = "MESH_HARNESS_PRIVATE"
SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGED_CONFIG = os.path.join(SOURCE_ROOT, "packaging", "meshd.toml")


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(SKIP)


def enter_private_namespace():
    """Re-executes the calling script inside a private mount namespace (once)."""
    if os.geteuid() != 0:
        skip("needs root")
    if os.environ.get(PRIVATE_ENV) == "1":
        os.makedirs("/run/netns", exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "meshtest", "/run/netns"], check=True)
        return
    env = dict(os.environ, **{PRIVATE_ENV: "1"})
    argv = ["unshare", "--mount", "--propagation", "private", "--", sys.executable] + sys.argv
    os.execvpe("unshare", argv, env)


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            if "-" in parts:
                i = parts.index("-")
                if parts[i + 1] == "cgroup2":
                    return parts[4]
    return None


def sh(*args, check=True, timeout=20):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


class Pod:
    def __init__(self, node, index, name, netns, cgroup):
        self.node, self.index, self.name = node, index, name
        self.netns, self.cgroup = netns, cgroup
        self.ip4 = f"198.18.{node.index}.{10 + index}"
        self.ip6 = f"2001:db8:{node.index}::{10 + index}"

    def addr(self, port, v6=False):
        return f"[{self.ip6}]:{port}" if v6 else f"{self.ip4}:{port}"


class Node:
    def __init__(self, harness, index):
        self.h, self.index = harness, index
        self.name = f"{harness.prefix}n{index}"
        self.netns = f"/run/netns/{self.name}"
        self.cgroup = f"{harness.cgroot}/node{index}"
        self.dir = f"{harness.tmp}/node{index}"
        self.pods = []
        self.daemon = None
        self.control = f"{self.dir}/control.sock"
        self.events_file = f"{self.dir}/events.log"
        self.state = f"{self.dir}/workloads.state"
        self.pending = f"{self.dir}/enroll.d"
        self.pin_dir = f"{harness.bpffs}/node{index}/meshd/v1"
        self.policy_dir = f"{self.dir}/policy.d"
        self.config = f"{self.dir}/meshd.toml"  # meshd only


class Harness:
    def __init__(self, build_dir, daemon_cmd=None, ctl_cmd=None, verbose=False, meshd=False):
        if os.environ.get(PRIVATE_ENV) != "1":
            raise RuntimeError("call enter_private_namespace() first")
        self.build = build_dir
        self.tool = lambda name: os.path.join(build_dir, "tests", "support", name)
        self.meshd = os.path.join(build_dir, "daemon", "app", "meshd") if meshd else None
        self.meshctl_bin = os.path.join(build_dir, "daemon", "meshctl", "meshctl")
        self.local_endpoints = True  # meshd: metrics and readiness on 127.0.0.1:0
        self.prefix = f"mt{os.getpid()}"
        mount = cgroup2_mount()
        if mount is None:
            skip("no cgroup2 mount")
        self.cgroot = f"{mount}/meshtest-{os.getpid()}"
        self.tmp = tempfile.mkdtemp(prefix="meshtest-")
        self.bpffs = f"{self.tmp}/bpffs"
        self.daemon_cmd = daemon_cmd or os.environ.get("MESH_CAPTURE_DAEMON_CMD") or (
            self.tool("capture_testd") + " --control {control} --events {events} --state-file {state}"
            " --pending-dir {pending} --bpffs {bpffs} --pin-dir {pin_dir} --cgroup-root {cgroup_root}"
            " --mode {mode} {extra}")
        self.ctl_cmd = ctl_cmd or os.environ.get("MESH_CAPTURE_CTL_CMD")
        self.verbose = verbose
        self.nodes, self.procs, self.netns_names = [], [], []
        self.closed = False
        atexit.register(self.teardown)  # before anything is created: a failure or Ctrl-C below still cleans up
        os.makedirs(self.bpffs)
        sh("mount", "-t", "bpf", "bpf", self.bpffs)
        os.makedirs(self.cgroot)
        self.hub = f"{self.prefix}hub"
        self._netns_add(self.hub)
        sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.hub, "link", "set", "br0", "up")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.teardown()
        return False

    # --- topology -------------------------------------------------------------------------
    def _netns_add(self, name):
        sh("ip", "netns", "add", name)
        self.netns_names.append(name)
        sh("ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
           "net.ipv6.conf.default.accept_dad=0")
        sh("ip", "-n", name, "link", "set", "lo", "up")

    def add_node(self):
        node = Node(self, len(self.nodes) + 1)
        i, ns = node.index, node.name
        os.makedirs(node.dir)
        os.makedirs(f"{node.cgroup}/daemon")
        self._netns_add(ns)
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
        sh("ip", "-n", self.hub, "link", "add", f"n{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "-n", self.hub, "link", "set", f"n{i}", "master", "br0", "up")
        sh("ip", "-n", ns, "addr", "add", f"198.18.0.{i}/24", "dev", "eth0")
        sh("ip", "-n", ns, "addr", "add", f"2001:db8::{i}/64", "dev", "eth0", "nodad")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        # A fixed MAC: otherwise the bridge takes the lowest port MAC and changes it when a pod
        # is added, leaving the pods' neighbour entries for their gateway stale.
        sh("ip", "-n", ns, "link", "add", "br0", "address", f"02:00:00:00:{i:02x}:01", "type", "bridge")
        sh("ip", "-n", ns, "addr", "add", f"198.18.{i}.1/24", "dev", "br0")
        sh("ip", "-n", ns, "addr", "add", f"2001:db8:{i}::1/64", "dev", "br0", "nodad")
        sh("ip", "-n", ns, "link", "set", "br0", "up")
        for other in self.nodes:
            k = other.index
            sh("ip", "-n", ns, "route", "add", f"198.18.{k}.0/24", "via", f"198.18.0.{k}")
            sh("ip", "-n", ns, "-6", "route", "add", f"2001:db8:{k}::/64", "via", f"2001:db8::{k}")
            sh("ip", "-n", other.name, "route", "add", f"198.18.{i}.0/24", "via", f"198.18.0.{i}")
            sh("ip", "-n", other.name, "-6", "route", "add", f"2001:db8:{i}::/64", "via", f"2001:db8::{i}")
        self.nodes.append(node)
        return node

    def add_pod(self, node, label=None):
        j = len(node.pods) + 1
        name = f"{node.name}p{j}"
        pod = Pod(node, j, label or name, f"/run/netns/{name}", f"{node.cgroup}/pod{j}")
        os.makedirs(pod.cgroup)
        self._netns_add(name)
        sh("ip", "-n", node.name, "link", "add", f"p{j}", "type", "veth", "peer", "name", "eth0", "netns", name)
        sh("ip", "-n", node.name, "link", "set", f"p{j}", "master", "br0", "up")
        sh("ip", "-n", name, "addr", "add", f"{pod.ip4}/24", "dev", "eth0")
        sh("ip", "-n", name, "addr", "add", f"{pod.ip6}/64", "dev", "eth0", "nodad")
        sh("ip", "-n", name, "link", "set", "eth0", "up")
        sh("ip", "-n", name, "route", "add", "198.18.0.0/15", "via", f"198.18.{node.index}.1")
        sh("ip", "-n", name, "-6", "route", "add", "2001:db8::/32", "via", f"2001:db8:{node.index}::1")
        node.pods.append(pod)
        return pod

    # --- processes ------------------------------------------------------------------------
    def _wrap(self, cgroup, netns, cmd):
        return [self.tool("netns_exec"), "--cgroup", cgroup, "--netns", netns, "--"] + cmd

    def spawn_in_pod(self, pod, cmd, wait_ready=False):
        p = subprocess.Popen(self._wrap(pod.cgroup, pod.netns, cmd), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        if wait_ready:
            line = p.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"{cmd[0]} in {pod.name} did not start: {line} {p.stderr.read()}")
        return p

    def run_in_pod(self, pod, cmd, timeout=60):
        r = subprocess.run(self._wrap(pod.cgroup, pod.netns, cmd), capture_output=True, text=True,
                           timeout=timeout)
        if self.verbose:
            print(f"[{pod.name}] {' '.join(cmd)} -> {r.returncode} {r.stdout.strip()} {r.stderr.strip()}")
        return r

    def run_in_node(self, node, cmd, timeout=60):
        """Runs a command in the node's netns (e.g. to reach meshd's metrics port there)."""
        return subprocess.run([self.tool("netns_exec"), "--netns", node.netns, "--"] + cmd, capture_output=True,
                              text=True, timeout=timeout)

    def echo_server(self, pod, port=8080):
        return self.spawn_in_pod(pod, [self.tool("capture_echo"), "--port", str(port)], wait_ready=True)

    def client(self, pod, addr, *extra, timeout=60):
        r = self.run_in_pod(pod, [self.tool("capture_client"), "--connect", addr] + list(extra), timeout=timeout)
        return r.stdout.strip()

    # --- daemons --------------------------------------------------------------------------
    def start_daemon(self, node, mode="auto", extra="", config=None):
        """Starts the node's daemon and waits until it serves. `extra`: stand-in flags;
        `config`: meshd only, {table: {key: value}} on top of `meshd_overrides()`; mode
        None: meshd's configured default."""
        node.mode, node.extra = mode, extra
        if self.meshd:
            self.write_meshd_config(node, mode, config)
            cmd = [self.meshd, "--config", node.config]
        else:
            fields = dict(control=node.control, events=node.events_file, state=node.state, pending=node.pending,
                          bpffs=self.bpffs, pin_dir=node.pin_dir, cgroup_root=node.cgroup, mode=mode,
                          extra=extra, node=node.name)
            cmd = shlex.split(self.daemon_cmd.format(**fields))
        if os.path.exists(node.control):
            os.unlink(node.control)
        log = open(f"{node.dir}/daemon.log", "a")
        node.daemon = subprocess.Popen(self._wrap(f"{node.cgroup}/daemon", node.netns, cmd),
                                       stdout=log, stderr=log)
        self.procs.append(node.daemon)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if node.daemon.poll() is not None:
                raise RuntimeError(f"daemon on {node.name} exited: {self.daemon_log(node)}")
            if os.path.exists(node.control):
                try:
                    if self.meshd is None:
                        self.ctl(node, "status")
                        return node.daemon
                    if self._admin_get(node, "/healthz/ready")[0] == 200:
                        return node.daemon
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"daemon on {node.name} not ready: {self.daemon_log(node)}")

    def kill_daemon(self, node, sig=signal.SIGKILL, timeout=10):
        """Signals the node's daemon and waits for it to exit; returns its exit status."""
        if node.daemon and node.daemon.poll() is None:
            node.daemon.send_signal(sig)
            node.daemon.wait(timeout=timeout)
        return node.daemon.returncode if node.daemon else None

    def daemon_log(self, node, limit=4000):
        try:
            with open(f"{node.dir}/daemon.log") as f:
                return f.read()[-limit:] if limit else f.read()
        except OSError:
            return ""

    # --- meshd -----------------------------------------------------------------------------
    def meshd_overrides(self, node, mode):
        """The per-node part of a node's meshd.toml: its name, admin socket and capture paths
        (inside the harness's private bpffs, cgroup and temp dir), the capture mode unless None
        (then the packaged default), and with `local_endpoints` metrics and readiness on
        127.0.0.1:0 of the node netns (else the packaged 0.0.0.0:15020 and :15021 there)."""
        out = {
            "node": {"name": node.name},
            "admin": {"socket": node.control},
            "capture": {"bpffs": self.bpffs, "pin_dir": node.pin_dir, "cgroup_root": node.cgroup,
                        "state_file": node.state, "pending_dir": node.pending},
            "policy": {"dir": node.policy_dir},
        }
        if mode is not None:
            out["capture"]["mode"] = mode
        if self.local_endpoints:
            out["admin"].update(metrics_address="127.0.0.1:0", readiness_address="127.0.0.1:0")
        return out

    def write_meshd_config(self, node, mode, config=None):
        with open(PACKAGED_CONFIG) as f:
            text = meshd_toml.render(f.read(), meshd_toml.merged(self.meshd_overrides(node, mode), config))
        with open(node.config, "w") as f:
            f.write(text)
        r = sh(self.meshd, "--check-config", "--config", node.config, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"{node.config} is invalid: {r.stdout}{r.stderr}")

    def meshctl(self, node, *args, check=False, timeout=30):
        """meshctl against the node's meshd: a CompletedProcess (returncode, stdout, stderr)."""
        r = subprocess.run([self.meshctl_bin, "--socket", node.control, *args], capture_output=True, text=True,
                           timeout=timeout)
        if self.verbose:
            print(f"[{node.name}] meshctl {' '.join(args)} -> {r.returncode} {r.stdout.strip()} {r.stderr.strip()}")
        if check and r.returncode != 0:
            raise RuntimeError(f"meshctl {' '.join(args)} on {node.name} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def meshctl_enroll(self, pod, name=None, ips=None, netns=None, namespace="default", node=None, sa=None):
        """`meshctl enroll` for a pod (its netns and both addresses unless given). --config
        lets meshctl queue the enrollment in the node's pending_dir when meshd is down."""
        node = node or pod.node
        args = ["enroll", "--name", name or pod.name, "--netns", netns or pod.netns, "--namespace", namespace,
                "--service-account", sa or pod.name, "--config", node.config]
        for ip in (ips if ips is not None else [pod.ip4, pod.ip6]):
            args += ["--ip", ip]
        return self.meshctl(node, *args)

    def status(self, node):
        return json.loads(self.meshctl(node, "status", "-o", "json", check=True).stdout)

    def workloads(self, node):
        return json.loads(self.meshctl(node, "workloads", "-o", "json", check=True).stdout)

    def _admin_get(self, node, path):
        conn = UnixHTTPConnection(node.control)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def metrics(self, node):
        """The node's meshd metrics (GET /metrics on its admin socket)."""
        code, body = self._admin_get(node, "/metrics")
        if code != 200:
            raise RuntimeError(f"/metrics on {node.name} answered {code}: {body[:200]}")
        return Metrics(body)

    def ctl(self, node, command):
        if self.ctl_cmd:
            cmd = shlex.split(self.ctl_cmd.format(control=node.control, args=command))
            return sh(*cmd, check=False).stdout
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(node.control)
            s.sendall((command + "\n").encode())
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        return b"".join(chunks).decode()

    def enroll(self, pod, name=None, ips=None, netns=None, cgroup=None):
        fields = [f"name={name or pod.name}", "namespace=default", f"sa={pod.name if pod else 'svc'}"]
        if cgroup:
            fields.append(f"cgroup={cgroup}")
        else:
            fields.append(f"netns={netns or pod.netns}")
        for ip in (ips if ips is not None else [pod.ip4, pod.ip6]):
            fields.append(f"ip={ip}")
        node = pod.node if pod else self.nodes[0]
        return self.ctl(node, "enroll\t" + "\t".join(fields)).strip()

    def events(self, node):
        try:
            with open(node.events_file) as f:
                return [l.strip() for l in f]
        except OSError:
            return []

    def counters(self, node):
        out = {}
        for line in self.ctl(node, "counters").splitlines():
            k, _, v = line.partition(" ")
            out[k] = int(v)
        return out

    def pinned_link(self, node, name):
        r = sh("bpftool", "link", "show", "pinned", f"{node.pin_dir}/links/{name}", "-j", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    # --- teardown -------------------------------------------------------------------------
    def _cgroup_pids(self):
        pids = []
        for root, _dirs, files in os.walk(self.cgroot):
            if "cgroup.procs" in files:
                with open(os.path.join(root, "cgroup.procs")) as f:
                    pids += [int(x) for x in f.read().split()]
        return pids

    def teardown(self):
        if self.closed:
            return
        self.closed = True
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for _ in range(50):  # our cgroups hold only processes we started
            pids = self._cgroup_pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        for node in self.nodes:
            if node.daemon is not None and self.meshd is None and "capture_testd" in self.daemon_cmd:
                sh(*shlex.split(self.daemon_cmd.split()[0]), "--uninstall", "--state-file", node.state,
                   "--pending-dir", node.pending, "--bpffs", self.bpffs, "--pin-dir", node.pin_dir,
                   "--cgroup-root", node.cgroup, "--mode", getattr(node, "mode", "auto"), check=False)
        for root, dirs, _files in sorted(os.walk(self.cgroot), key=lambda t: -t[0].count("/")):
            try:
                os.rmdir(root)
            except OSError as e:
                print(f"teardown: cannot remove cgroup {root}: {e}", file=sys.stderr)
        for name in reversed(self.netns_names):
            sh("ip", "netns", "del", name, check=False)
        sh("umount", self.bpffs, check=False)
        sh("rm", "-rf", self.tmp, check=False)


class Metrics:
    """A Prometheus text exposition. get(name, **labels) sums the samples of `name` whose
    labels include `labels` (None if there is none)."""
    _sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
    _label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

    def __init__(self, text):
        self.text = text
        self.samples = []
        for line in text.splitlines():
            m = self._sample.match(line)
            if m:
                self.samples.append((m.group(1), dict(self._label.findall(m.group(2) or "")), float(m.group(3))))

    def get(self, name, **labels):
        values = [v for n, ls, v in self.samples if n == name and all(ls.get(k) == str(x) for k, x in labels.items())]
        return sum(values) if values else None

    def series(self, name, **labels):
        return [(ls, v) for n, ls, v in self.samples if n == name and all(ls.get(k) == str(x) for k, x in labels.items())]


def mesh_prog_ids():
    """IDs of loaded BPF programs named mesh_* (to check that nothing leaked)."""
    r = sh("bpftool", "prog", "show", "-j", check=False)
    try:
        return {p["id"] for p in json.loads(r.stdout or "[]") if p.get("name", "").startswith("mesh_")}
    except ValueError:
        return set()
