"""Processes of the L4 relay benchmark: the backend, iperf3 servers, meshd and HAProxy.

Every process is started by Procs.start(), which remembers it; Procs.stop_all() ends each one
by its own PID (SIGTERM, then SIGKILL after a bounded wait). Every wait here has a deadline.
Also: /proc readers for CPU time and resident memory."""
import http.client
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support"))
from unix_http import UnixHTTPConnection  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


class HarnessError(Exception):
    """Something in the harness itself went wrong (not a missed target)."""


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    raise HarnessError(f"timed out after {timeout}s waiting for {what}")


def free_port(host="127.0.0.1"):
    """A port nobody listens on right now (the caller binds it soon after)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def context_switches(pid):
    """Voluntary + involuntary context switches of every thread of `pid` (each wake-up of a
    thread that slept counts one voluntary switch)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def memory_kib(pid):
    """VmRSS, RssAnon, VmHWM in KiB, from /proc/PID/status."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "Threads"):
                out[key] = int(rest.split()[0])
    return out


def set_realtime(pid, prio):
    """SCHED_FIFO at `prio` for every thread of `pid` (the policy is per thread)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setscheduler(int(tid), os.SCHED_FIFO, os.sched_param(prio))
        except ProcessLookupError:
            pass


def set_normal(pid, nice):
    """Back to SCHED_OTHER at `nice` for every thread of `pid`."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setscheduler(int(tid), os.SCHED_OTHER, os.sched_param(0))
            os.setpriority(os.PRIO_PROCESS, int(tid), nice)
        except ProcessLookupError:
            pass


def realtime_available():
    """Whether this process may use SCHED_FIFO (root without a seccomp/cgroup veto)."""
    try:
        pid = os.fork()
    except OSError:
        return False
    if pid == 0:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
            os._exit(0)
        except OSError:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


class Proc:
    def __init__(self, name, popen, log_path):
        self.name = name
        self.popen = popen
        self.pid = popen.pid
        self.log_path = log_path

    def alive(self):
        return self.popen.poll() is None

    def log_tail(self, n=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Procs:
    """Owns every long-running process the benchmark starts."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []

    def _preexec(self, cpus):
        def fn():
            if cpus:
                os.sched_setaffinity(0, cpus)
        return fn

    def start(self, name, argv, cpus=None, stdout_pipe=False, stdin_pipe=False):
        log_path = os.path.join(self.tmp, f"{name}.log")
        log = open(log_path, "w")
        popen = subprocess.Popen(argv, stdout=subprocess.PIPE if stdout_pipe else log, stderr=log,
                                 stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                                 preexec_fn=self._preexec(cpus), text=True)
        log.close()
        p = Proc(name, popen, log_path)
        self.procs.append(p)
        return p

    def stop(self, p, timeout=10):
        if p.popen.poll() is None:
            os.kill(p.pid, 15)
            try:
                p.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, 9)
                p.popen.wait(5)
        for stream in (p.popen.stdout, p.popen.stdin):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(reversed(self.procs)):
            try:
                self.stop(p)
            except (OSError, subprocess.TimeoutExpired):
                pass


def start_backend(procs, loadgen, cpus):
    p = procs.start("backend", [loadgen, "serve", "--listen", "127.0.0.1:0", "--threads", "1",
                                "--max-seconds", "1800"], cpus=cpus, stdout_pipe=True)
    line = p.popen.stdout.readline()
    if not line:
        raise HarnessError(f"backend did not start: {p.log_tail()}")
    host, port = json.loads(line)["listen"].rsplit(":", 1)
    return p, (host, int(port))


def start_iperf_server(procs, name, cpus):
    for _ in range(5):
        port = free_port()
        p = procs.start(name, ["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port)], cpus=cpus)
        try:
            wait_for(lambda: listening(port) or not p.alive(), 5, f"{name} listening")
        except HarnessError:
            pass
        if p.alive() and listening(port):
            return p, ("127.0.0.1", port)
        procs.stop(p)
    raise HarnessError(f"{name} did not start: {p.log_tail()}")


def listening(port):
    """Whether some socket listens on TCP `port` (from /proc/net/tcp{,6}; connects nothing)."""
    want = f":{port:04X}"
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "0A" and parts[1].endswith(want):
                        return True
        except OSError:
            continue
    return False


class Meshd:
    """meshd with one [[relay]] per upstream; `relays` maps a name to its upstream (host, port)."""

    def __init__(self, procs, binary, workers, relays, cpus, name="meshd", runtime=()):
        self.procs = procs
        self.dir = os.path.join(procs.tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.socket = os.path.join(self.dir, "admin.sock")
        extra = "".join(f"{line}\n" for line in runtime)  # e.g. 'buffers_per_worker = 16'
        conf = [f'[runtime]\nworkers = {workers}\ndrain_timeout = "1s"\n{extra}',
                f'[admin]\nsocket = "{self.socket}"\nmetrics_address = "127.0.0.1:0"\n'
                f'readiness_address = "off"\n',
                # A relay benchmark: no kernel capture (it would attach to the host's cgroup root).
                '[capture]\nmode = "off"\n',
                f'[policy]\ndir = "{self.dir}/policy.d"\n']
        for rname, (host, port) in relays.items():
            conf.append(f'[[relay]]\nname = "{rname}"\nlisten = "127.0.0.1:0"\n'
                        f'upstream = "{host}:{port}"\n')
        self.config_path = os.path.join(self.dir, "meshd.toml")
        with open(self.config_path, "w") as f:
            f.write("\n".join(conf))
        self.proc = procs.start(name, [binary, "--config", self.config_path], cpus=cpus)
        wait_for(lambda: not self.proc.alive() or self._serving(), 15, "meshd to serve")
        if not self.proc.alive():
            raise HarnessError(f"meshd exited: {self.proc.log_tail()}")
        st = self.status()
        self.listen = {}
        for l in st["listeners"]:
            host, port = l["listen"].rsplit(":", 1)
            self.listen[l["name"]] = (host.strip("[]"), int(port))
        self.limit = st["connections"]["limit"]
        host, port = st["admin"]["metrics"].rsplit(":", 1)
        self.metrics_addr = (host.strip("[]"), int(port))

    @property
    def pid(self):
        return self.proc.pid

    def _serving(self):
        try:
            return self.status().get("state") == "serving"
        except (OSError, ValueError, HarnessError):
            return False

    def status(self):
        conn = UnixHTTPConnection(self.socket, 5)
        try:
            conn.request("GET", "/v1/status")
            resp = conn.getresponse()
            body = resp.read().decode()
        finally:
            conn.close()
        if resp.status != 200:
            raise HarnessError(f"meshd /v1/status: {resp.status} {body}")
        return json.loads(body)

    def active(self):
        return self.status()["connections"]["active"]

    LOOP_FAMILIES = ("meshd_loop_iterations_total", "meshd_loop_completions_total",
                     "meshd_loop_submissions_total", "meshd_stalled_sends_total", "meshd_buffer_waits_total")

    def loop_counters(self):
        """The event-loop counters summed over workers (for per-request and per-MB ratios)."""
        conn = http.client.HTTPConnection(*self.metrics_addr, timeout=5)
        try:
            conn.request("GET", "/metrics")
            body = conn.getresponse().read().decode()
        finally:
            conn.close()
        out = dict.fromkeys(self.LOOP_FAMILIES, 0.0)
        for line in body.splitlines():
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in out:
                out[name] += float(line.rsplit(" ", 1)[1])
        return out


HAPROXY_CONFIG = """global
    nbthread {threads}
    maxconn {maxconn}
{extra_global}defaults
    mode tcp
    timeout connect 10s
    timeout client 1h
    timeout server 1h
    maxconn {maxconn}
{extra_defaults}
"""

HAPROXY_PROXY = """frontend {name}
    bind 127.0.0.1:{port}
    default_backend {name}_be
backend {name}_be
    server s1 {host}:{upstream}
"""


class Haproxy:
    """HAProxy 2.6, mode tcp, nbthread N, no logging, one frontend per upstream."""

    def __init__(self, procs, binary, threads, relays, cpus, name="haproxy", maxconn=9900, splice=False):
        self.dir = os.path.join(procs.tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        # Each spliced connection needs kernel pipes (2 fds each): keep them within RLIMIT_NOFILE.
        extra = "    option splice-auto\n" if splice else ""
        extra_global = "    maxpipes 256\n" if splice else ""
        for _ in range(5):
            self.listen = {rname: ("127.0.0.1", free_port()) for rname in relays}
            conf = HAPROXY_CONFIG.format(threads=threads, maxconn=maxconn, extra_global=extra_global,
                                         extra_defaults=extra)
            for rname, (host, port) in relays.items():
                conf += HAPROXY_PROXY.format(name=rname, port=self.listen[rname][1], host=host, upstream=port)
            self.config_path = os.path.join(self.dir, "haproxy.cfg")
            with open(self.config_path, "w") as f:
                f.write(conf)
            self.proc = procs.start(name, [binary, "-db", "-f", self.config_path], cpus=cpus)
            ports = [p for _, p in self.listen.values()]
            try:
                wait_for(lambda: not self.proc.alive() or all(listening(p) for p in ports), 10, "haproxy")
            except HarnessError:
                pass
            if self.proc.alive() and all(listening(p) for p in ports):
                self.limit = maxconn
                return
            procs.stop(self.proc)
        raise HarnessError(f"haproxy did not start: {self.proc.log_tail()}")

    @property
    def pid(self):
        return self.proc.pid
