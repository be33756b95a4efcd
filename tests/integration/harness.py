"""Test harness for integration tests: runs the real meshd on loopback with a config in a
temporary directory, talks to its admin socket, and stops it. Every wait is bounded."""
import contextlib
import http.client
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from unix_http import UnixHTTPConnection  # noqa: E402

MESHD = os.environ.get("MESHD", "build/daemon/app/meshd")
MESHCTL = os.environ.get("MESHCTL", "build/daemon/meshctl/meshctl")


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wait_for(pred, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Meshd:
    """One meshd process. `config` is the TOML body; admin paths are filled in."""

    def __init__(self, config="", workers=2, extra_args=(), env=None):
        self.dir = tempfile.mkdtemp(prefix="meshd-it-")
        self.socket = os.path.join(self.dir, "admin.sock")
        self.config_path = os.path.join(self.dir, "meshd.toml")
        self.log_path = os.path.join(self.dir, "meshd.log")
        self.write_config(config, workers)
        self.extra_args = list(extra_args)
        self.env = env
        self.proc = None

    def write_config(self, config, workers=2, runtime=""):
        # Capture stays off: these tests must not attach programs to the host's cgroup root.
        base = (f'[runtime]\nworkers = {workers}\ndrain_timeout = "2s"\n{runtime}'
                f'[capture]\nmode = "off"\n'
                f'[policy]\ndir = "{self.dir}/policy.d"\n'
                f'[admin]\nsocket = "{self.socket}"\nmetrics_address = "127.0.0.1:0"\n'
                f'readiness_address = "127.0.0.1:0"\n')
        with open(self.config_path, "w") as f:
            f.write(base + config)

    def start(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([MESHD, "--config", self.config_path, *self.extra_args],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        wait_for(lambda: self.proc.poll() is not None or self._admin_up(), 10, "meshd admin socket")
        if self.proc.poll() is not None:
            raise AssertionError(f"meshd exited with {self.proc.returncode}: {self.read_log()}")
        return self

    def _admin_up(self):
        try:
            return self.request("GET", "/healthz/ready")[0] == 200
        except OSError:
            return False

    def request(self, method, path, body=None, timeout=10):
        conn = UnixHTTPConnection(self.socket, timeout)
        try:
            conn.request(method, path, body=body)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def status(self):
        code, body = self.request("GET", "/v1/status")
        assert code == 200, body
        return json.loads(body)

    def listener(self, name):
        for l in self.status()["listeners"]:
            if l["name"] == name:
                host, port = l["listen"].rsplit(":", 1)
                return host.strip("[]"), int(port)
        raise KeyError(name)

    def metrics_addr(self):
        host, port = self.status()["admin"]["metrics"].rsplit(":", 1)
        return host, int(port)

    def readiness_addr(self):
        host, port = self.status()["admin"]["readiness"].rsplit(":", 1)
        return host, int(port)

    def scrape(self):
        host, port = self.metrics_addr()
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", "/metrics")
        resp = conn.getresponse()
        body = resp.read().decode()
        conn.close()
        assert resp.status == 200
        return body

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels`."""
        total = 0.0
        found = False
        for line in self.scrape().splitlines():
            if not line.startswith(name) or line.startswith("#"):
                continue
            series, value = line.rsplit(" ", 1)
            metric, _, rest = series.partition("{")
            if metric != name:
                continue
            got = dict(kv.split("=", 1) for kv in rest.rstrip("}").split(",") if kv)
            got = {k: v.strip('"') for k, v in got.items()}
            if all(got.get(k) == str(v) for k, v in labels.items()):
                total += float(value)
                found = True
        assert found, f"no sample of {name} with {labels}"
        return total

    def meshctl(self, *args, check=True):
        r = subprocess.run([MESHCTL, "--socket", self.socket, *args], capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError(f"meshctl {args} failed ({r.returncode}): {r.stderr}")
        return r

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("meshd did not stop within the drain deadline")

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if hasattr(self, "log"):
            self.log.close()


class EchoServer:
    """A loopback TCP echo server on its own thread (or, with mode="reply", one that reads
    to EOF and answers with what it read)."""

    def __init__(self, mode="echo", host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(4096)
        self.addr = self.sock.getsockname()[:2]
        self.mode = mode
        self.stopped = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(30)
        with contextlib.closing(conn):
            try:
                if self.mode == "echo":
                    while data := conn.recv(65536):
                        conn.sendall(data)
                else:
                    data = b""
                    while chunk := conn.recv(65536):
                        data += chunk
                    conn.sendall(data)
            except OSError:
                pass

    def close(self):
        self.stopped = True
        self.sock.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def relay_config(name, upstream, listen="127.0.0.1:0", extra=""):
    host, port = upstream
    up = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f'[[relay]]\nname = "{name}"\nlisten = "{listen}"\nupstream = "{up}"\n{extra}\n'


def run_tests(tests):
    """Runs test functions in order; prints each result; exit code 1 if any failed."""
    import sys
    import traceback
    failed = 0
    for t in tests:
        start = time.monotonic()
        try:
            t()
            print(f"PASS {t.__name__} ({time.monotonic() - start:.2f}s)", flush=True)
        except Exception:  # noqa: BLE001 - report every failure and go on
            failed += 1
            print(f"FAIL {t.__name__}", flush=True)
            traceback.print_exc()
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
