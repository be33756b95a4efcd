"""meshd's command line and configuration errors, and meshctl without a daemon."""
import os
import subprocess
import tempfile

from harness import MESHCTL, MESHD, Meshd, run_tests


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, **kw)


def write(text):
    fd, path = tempfile.mkstemp(suffix=".toml")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def test_version_prints_the_version():
    r = run(MESHD, "--version")
    assert r.returncode == 0 and r.stdout.startswith("meshd 0."), r


def test_check_config_accepts_a_valid_file():
    path = write('[node]\nname = "a"\n[[relay]]\nname = "x"\nlisten = "127.0.0.1:1"\nupstream = "127.0.0.1:2"\n')
    r = run(MESHD, "--check-config", "--config", path)
    assert r.returncode == 0, r
    assert "configuration is valid" in r.stdout


def test_invalid_config_exits_2_with_file_line_col():
    path = write('[runtime]\nworkers = 2\nwokers = 3\ndrain_timeout = "soon"\n')
    r = run(MESHD, "--check-config", "--config", path)
    assert r.returncode == 2, r
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f"{path}:3:1"), "errors are listed in file order"
    assert f"{path}:3:1: unknown key 'wokers' (did you mean 'workers'?)" in lines, r.stderr
    assert any(l.startswith(f"{path}:4:17: 'drain_timeout'") for l in lines), r.stderr
    # The daemon itself refuses to start on the same file, also with exit code 2.
    r = run(MESHD, "--config", path)
    assert r.returncode == 2, r


def test_a_missing_explicit_config_is_an_error():
    r = run(MESHD, "--check-config", "--config", "/nonexistent/meshd.toml")
    assert r.returncode == 2 and "cannot open file" in r.stderr, r


def test_meshctl_without_a_daemon_says_so():
    r = run(MESHCTL, "--socket", "/nonexistent/admin.sock", "status")
    assert r.returncode == 1, r
    assert "meshd is not running" in r.stderr, r.stderr


def test_meshctl_on_a_stale_socket_says_so():
    import socket
    d = tempfile.mkdtemp()
    path = os.path.join(d, "admin.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()  # bound, never listening: connect is refused
    r = run(MESHCTL, "--socket", path, "status")
    assert r.returncode == 1 and "stale socket" in r.stderr, r


def test_meshctl_without_permission_says_so():
    if os.geteuid() != 0:
        return  # needs to switch user to make the socket inaccessible
    import socket
    d = tempfile.mkdtemp()
    os.chmod(d, 0o755)
    path = os.path.join(d, "admin.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen()
    os.chmod(path, 0o660)
    r = run(MESHCTL, "--socket", path, "status", user=65534, group=65534)
    s.close()
    assert r.returncode == 1 and "permission denied" in r.stderr, r


def test_capture_commands_with_capture_off_say_so():
    with Meshd() as d:  # capture.mode = "off": nothing is attached on this host
        for args in (["capture", "upgrade"], ["workloads"]):
            r = d.meshctl(*args, check=False)
            assert r.returncode == 1 and "transparent capture is off" in r.stderr, (args, r)


if __name__ == "__main__":
    run_tests([test_version_prints_the_version, test_check_config_accepts_a_valid_file,
               test_invalid_config_exits_2_with_file_line_col, test_a_missing_explicit_config_is_an_error,
               test_meshctl_without_a_daemon_says_so, test_meshctl_on_a_stale_socket_says_so,
               test_meshctl_without_permission_says_so, test_capture_commands_with_capture_off_say_so])
