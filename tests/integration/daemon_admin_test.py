"""The admin socket, metrics and readiness ports under good and bad input, and the start-up
refusal when io_uring is unavailable."""
import os
import signal
import socket
import stat
import subprocess
import time

from harness import MESHD, Meshd, run_tests, wait_for


def raw_exchange(connect, payload, timeout=10):
    s = connect()
    s.settimeout(timeout)
    s.sendall(payload)
    out = b""
    try:
        while chunk := s.recv(65536):
            out += chunk
    except ConnectionResetError:
        pass
    s.close()
    return out


def unix(path):
    def connect():
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        return s
    return connect


def tcp(addr):
    return lambda: socket.create_connection(addr, timeout=10)


def test_admin_socket_has_mode_0660():
    with Meshd() as d:
        mode = stat.S_IMODE(os.stat(d.socket).st_mode)
        assert mode == 0o660, oct(mode)


def test_garbage_gets_400_and_every_server_keeps_serving():
    with Meshd() as d:
        garbage = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200) + b"\r\n\r\n"
        for connect in (unix(d.socket), tcp(d.metrics_addr()), tcp(d.readiness_addr())):
            reply = raw_exchange(connect, garbage)
            assert reply.startswith(b"HTTP/1.1 400 "), reply[:100]
        assert d.status()["state"] == "serving"
        assert d.metric("meshd_admin_malformed_requests_total", server="metrics") == 1
        assert d.metric("meshd_admin_responses_total", server="admin", code="400") == 1


def test_unknown_endpoint_and_wrong_method():
    with Meshd() as d:
        assert d.request("GET", "/v1/nope")[0] == 404
        code, body = d.request("GET", "/v1/reload")
        assert code == 405 and "POST" in body


def test_a_silent_client_is_timed_out_and_others_are_served():
    # request_timeout defaults to 10s; a short one keeps the test quick.
    d2 = Meshd()
    with open(d2.config_path, "a") as f:
        f.write('request_timeout = "300ms"\n')  # appended to the [admin] table
    with d2:
        silent = socket.socket(socket.AF_UNIX)
        silent.connect(d2.socket)
        silent.settimeout(5)
        start = time.monotonic()
        assert d2.status()["state"] == "serving"
        assert silent.recv(10) == b""
        assert time.monotonic() - start >= 0.25
        assert d2.metric("meshd_admin_timeouts_total", server="admin") >= 1


def test_many_idle_admin_connections_are_bounded():
    with Meshd() as d:
        metrics = d.metrics_addr()  # the admin socket itself is about to be saturated
        held = []
        for _ in range(100):
            s = socket.socket(socket.AF_UNIX)
            s.connect(d.socket)
            held.append(s)
        wait_for(lambda: _refused(metrics) >= 36, 5, "refusals")
        for s in held:
            s.close()
        wait_for(lambda: _status_ok(d), 5, "admin to serve again")


def _refused(metrics_addr):
    import http.client
    c = http.client.HTTPConnection(*metrics_addr, timeout=5)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    for line in text.splitlines():
        if line.startswith('meshd_admin_refused_total{server="admin"}'):
            return float(line.split()[-1])
    return 0


def _status_ok(d):
    try:
        return d.request("GET", "/v1/status")[0] == 200
    except OSError:
        return False


def test_systemd_hears_ready_watchdog_status_and_stopping():
    """With NOTIFY_SOCKET (and WATCHDOG_USEC) set as systemd sets them for Type=notify, meshd
    loads libsystemd and sends READY=1, watchdog pings, the reload result and STOPPING=1;
    without them it never maps libsystemd."""
    d = Meshd()
    path = os.path.join(d.dir, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    d.env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")
    got = []

    def receive_until(word):
        while not any(word in m for m in got):
            got.append(sock.recv(4096).decode())

    try:
        with d:
            receive_until("READY=1")
            assert "STATUS=serving with 2 worker(s)" in got[-1], got
            receive_until("WATCHDOG=1")
            maps = open(f"/proc/{d.proc.pid}/maps").read()
            assert "libsystemd" in maps
            d.signal(signal.SIGHUP)
            receive_until("last reload ok")
            d.signal(signal.SIGTERM)
            receive_until("STOPPING=1")
            assert d.proc.wait(15) == 0
    finally:
        sock.close()
    with Meshd() as plain:
        maps = open(f"/proc/{plain.proc.pid}/maps").read()
        assert "libsystemd" not in maps and "libgcrypt" not in maps, "libsystemd mapped without NOTIFY_SOCKET"


def test_meshd_refuses_to_start_without_io_uring():
    deny = os.environ.get("DENY_IO_URING", "build/tests/support/deny_io_uring")
    for err, words in ((38, "no io_uring"), (1, "disabled")):
        r = subprocess.run([deny, str(err), MESHD, "--config", "/dev/null"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 1, r
        assert "io_uring is unavailable" in r.stderr and words in r.stderr, r.stderr
        assert "Linux 6.0 or newer" in r.stderr, r.stderr


if __name__ == "__main__":
    run_tests([test_admin_socket_has_mode_0660, test_garbage_gets_400_and_every_server_keeps_serving,
               test_unknown_endpoint_and_wrong_method, test_a_silent_client_is_timed_out_and_others_are_served,
               test_many_idle_admin_connections_are_bounded, test_systemd_hears_ready_watchdog_status_and_stopping,
               test_meshd_refuses_to_start_without_io_uring])
