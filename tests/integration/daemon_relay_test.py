"""The L4 relay end to end: bytes both ways, IPv6, status, metrics (checked by promtool),
reload keeping a good config, and the SIGTERM drain."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

from harness import EchoServer, Meshd, relay_config, run_tests, wait_for


def roundtrip(addr, payload):
    with socket.create_connection(addr, timeout=10) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def test_relay_carries_bytes_both_ways_and_counts_them():
    up = EchoServer(mode="reply")
    with Meshd(relay_config("web", up.addr)) as d:
        addr = d.listener("web")
        payload = os.urandom(1 << 20)
        assert roundtrip(addr, payload) == payload
        for i in range(20):
            assert roundtrip(addr, b"hello %d" % i) == b"hello %d" % i
        wait_for(lambda: d.status()["connections"]["active"] == 0, what="connections closed")
        st = d.status()
        assert st["connections"]["opened"] == 21 and st["connections"]["closed"] == 21, st
        assert d.metric("meshd_relay_bytes_total", listener="web", direction="upstream") == len(payload) + sum(
            len(b"hello %d" % i) for i in range(20))
        assert d.metric("meshd_connections_closed_total", listener="web", reason="normal") == 21
        assert d.stop() == 0
    up.close()


def test_relay_over_ipv6_loopback():
    up = EchoServer(host="::1")
    with Meshd(relay_config("v6", ("::1", up.addr[1]), listen="[::1]:0")) as d:
        assert roundtrip(d.listener("v6"), b"over v6") == b"over v6"
    up.close()


def test_metrics_pass_promtool_and_both_paths_serve_them():
    up = EchoServer()
    with Meshd(relay_config("web", up.addr)) as d:
        roundtrip(d.listener("web"), b"x")
        text = d.scrape()
        assert "meshd_build_info{" in text and 'meshd_connections_opened_total{kind="relay",listener="web"} 1' in text, text
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        host, port = d.metrics_addr()
        c = http.client.HTTPConnection(host, port, timeout=5)
        c.request("GET", "/stats/prometheus")
        resp = c.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/plain; version=0.0.4")
        resp.read()
    up.close()


def test_status_in_json_and_table():
    up = EchoServer()
    with Meshd(relay_config("web", up.addr)) as d:
        st = json.loads(d.meshctl("status", "-o", "json").stdout)
        assert st["state"] == "serving" and st["workers"] == 2, st
        assert st["config"]["source"] == d.config_path
        assert st["listeners"][0]["name"] == "web"
        table = d.meshctl("status").stdout
        assert "serving" in table and "LISTENER" in table and "web" in table and "relay" in table, table
        assert "last reload: none" in table
    up.close()


def test_an_invalid_reload_keeps_the_running_config_and_is_reported():
    up = EchoServer()
    with Meshd(relay_config("web", up.addr)) as d:
        addr = d.listener("web")
        with open(d.config_path, "a") as f:
            f.write('[runtime]\nlog_level = "loud"\n')  # duplicate table + bad value
        d.signal(signal.SIGHUP)
        wait_for(lambda: d.status()["config"]["last_reload"]["result"] == "failed", what="failed reload")
        rel = d.status()["config"]["last_reload"]
        assert any(e.startswith(d.config_path + ":") for e in rel["errors"]), rel
        assert d.metric("meshd_config_last_reload_successful") == 0
        assert d.metric("meshd_config_reloads_total", result="failed") == 1
        assert roundtrip(addr, b"still relaying") == b"still relaying"
        assert "config errors" in d.meshctl("status").stdout
        # A corrected file reloads through the admin API.
        d.write_config(relay_config("web", up.addr), 2, runtime='max_connections = 7\nlog_level = "debug"\n')
        code, body = d.request("POST", "/v1/reload")
        assert code == 200, body
        st = d.status()
        assert st["config"]["last_reload"]["result"] == "ok"
        assert st["connections"]["limit"] == 7
    up.close()


def test_a_reload_that_changes_listeners_says_a_restart_is_needed():
    up = EchoServer()
    with Meshd(relay_config("web", up.addr)) as d:
        with open(d.config_path, "a") as f:
            f.write(relay_config("extra", up.addr))
        code, body = d.request("POST", "/v1/reload")
        assert code == 200, body
        assert "relay" in json.loads(body)["settings"]["restart_needed"]
    up.close()


def test_sigterm_drains_open_connections_then_exits():
    up = EchoServer()
    with Meshd(relay_config("web", up.addr)) as d:
        addr = d.listener("web")
        ready = d.readiness_addr()
        busy = socket.create_connection(addr, timeout=10)
        busy.sendall(b"before")
        assert busy.recv(100) == b"before"
        d.signal(signal.SIGTERM)

        def ready_status():
            c = http.client.HTTPConnection(*ready, timeout=2)
            c.request("GET", "/healthz/ready")
            r = c.getresponse()
            r.read()
            return r.status
        wait_for(lambda: ready_status() == 503, 5, "readiness to turn 503")
        # New connections are refused; the open one keeps working until it finishes.
        wait_for(lambda: _refused(addr), 5, "listener to close")
        busy.sendall(b"during drain")
        assert busy.recv(100) == b"during drain"
        busy.close()
        assert d.proc.wait(10) == 0
        assert "draining" in d.read_log()
        assert not os.path.exists(d.socket), "the admin socket is removed on exit"
    up.close()


def test_drain_deadline_resets_connections_that_do_not_finish():
    up = EchoServer()
    with Meshd(relay_config("web", up.addr)) as d:
        stuck = socket.create_connection(d.listener("web"), timeout=10)
        stuck.sendall(b"x")
        stuck.recv(10)
        start = time.monotonic()
        d.signal(signal.SIGTERM)
        assert d.proc.wait(15) == 0
        elapsed = time.monotonic() - start
        assert 1.5 < elapsed < 6, elapsed  # drain_timeout is 2s
        try:
            data = stuck.recv(10)
            assert data == b"", data
        except ConnectionResetError:
            pass
        assert "resetting" in d.read_log()
    up.close()


def _refused(addr):
    try:
        socket.create_connection(addr, timeout=1).close()
        return False
    except OSError:
        return True


def test_systemd_unit_verifies():
    unit = os.path.join(os.path.dirname(__file__), "..", "..", "systemd", "meshd.service")
    if shutil.which("systemd-analyze") is None:
        raise AssertionError("systemd-analyze missing (package systemd)")
    tmp = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"meshd-unit-{os.getpid()}")
    os.makedirs(tmp, exist_ok=True)
    from harness import MESHCTL, MESHD
    with open(unit) as f:
        text = f.read()
    # Point ExecStart at this build so verify can check the binary exists.
    text = text.replace("/usr/bin/meshd", os.path.abspath(MESHD)).replace("/usr/bin/meshctl", os.path.abspath(MESHCTL))
    path = os.path.join(tmp, "meshd.service")
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
    problems = [l for l in (r.stdout + r.stderr).splitlines() if "meshd.service" in l]
    assert r.returncode == 0 and not problems, r.stdout + r.stderr
    assert "Type=notify" in text and "AmbientCapabilities=" in text and "WatchdogSec=" in text


if __name__ == "__main__":
    run_tests([test_relay_carries_bytes_both_ways_and_counts_them, test_relay_over_ipv6_loopback,
               test_metrics_pass_promtool_and_both_paths_serve_them, test_status_in_json_and_table,
               test_an_invalid_reload_keeps_the_running_config_and_is_reported,
               test_a_reload_that_changes_listeners_says_a_restart_is_needed,
               test_sigterm_drains_open_connections_then_exits, test_drain_deadline_resets_connections_that_do_not_finish,
               test_systemd_unit_verifies])
