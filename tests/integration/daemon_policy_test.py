"""Mesh policy in the daemon: validation at start, hot reload (inotify and SIGHUP) that keeps
the running set when the new one is invalid, `meshctl policy show` and live explain."""
import json
import os
import signal
import subprocess

from harness import MESHD, Meshd, run_tests, wait_for

POLICY = """
[[workload]]
name = "web-1"
namespace = "shop"
service_account = "web"
addresses = ["198.18.10.1"]
labels = { app = "web" }

[[workload]]
name = "cart-1"
namespace = "shop"
service_account = "cart"
addresses = ["198.18.10.2"]
labels = { app = "cart" }

[[service]]
name = "cart"
namespace = "shop"
vips = ["198.19.10.2"]
selector = { app = "cart" }
ports = [{ port = 80, target_port = 8080 }]

[[authorization]]
name = "cart-from-web"
namespace = "shop"
selector = { app = "cart" }
[[authorization.rules]]
from = [{ principals = ["cluster.local/ns/shop/sa/web"] }]
"""


def write_policy(d, text, name="mesh.toml"):
    os.makedirs(os.path.join(d.dir, "policy.d"), exist_ok=True)
    path = os.path.join(d.dir, "policy.d", name)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)  # as an operator's tooling should: one atomic change
    return path


def policy(d):
    return json.loads(d.meshctl("policy", "show", "-o", "json").stdout)


def test_an_invalid_policy_refuses_to_start_with_file_line_col():
    d = Meshd()
    path = write_policy(d, POLICY + '\n[[authorization]]\nname = "x"\nnamespace = "shop"\naction = "permit"\n')
    r = subprocess.run([MESHD, "--config", d.config_path], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r
    assert f"{path}:" in r.stderr and "permit" in r.stderr, r.stderr


def test_policy_show_and_live_explain():
    d = Meshd()
    path = write_policy(d, POLICY)
    with d:
        p = policy(d)
        assert p["files"] == [path] and p["counts"]["workloads"] == 2 and p["counts"]["authorizations"] == 1, p
        table = d.meshctl("policy", "show").stdout
        assert "2 workload(s)" in table and path in table, table
        allow = d.meshctl("policy", "explain", "--from", "spiffe://cluster.local/ns/shop/sa/web",
                          "--to", "cart.shop:80").stdout
        assert "allow" in allow and "cart-from-web" in allow, allow
        deny = json.loads(d.meshctl("policy", "explain", "--from", "spiffe://cluster.local/ns/shop/sa/other",
                                    "--to", "cart.shop:80", "-o", "json").stdout)
        assert "deny" in json.dumps(deny), deny
        # The same question offline, on the same files, gets the same answer.
        offline = d.meshctl("policy", "explain", "--policy-dir", os.path.dirname(path), "--from",
                            "spiffe://cluster.local/ns/shop/sa/web", "--to", "cart.shop:80").stdout
        assert offline == allow, (offline, allow)


def test_an_invalid_change_keeps_the_running_policy_and_a_fix_applies():
    d = Meshd()
    write_policy(d, POLICY)
    with d:
        version = policy(d)["version"]
        write_policy(d, POLICY.replace('selector = { app = "cart" }\n[[authorization.rules]]',
                                       'selector = { app = "cart" }\nactoin = "deny"\n[[authorization.rules]]'))
        wait_for(lambda: policy(d)["last_reload"]["result"] == "failed", 10, "the failed reload")
        p = policy(d)
        assert p["version"] == version, "the running policy must stay"
        assert any("actoin" in e and "did you mean 'action'" in e for e in p["last_reload"]["errors"]), p
        assert d.metric("meshd_policy_last_reload_successful") == 0
        assert "still running" in d.meshctl("policy", "show").stdout
        write_policy(d, POLICY.replace('"cluster.local/ns/shop/sa/web"', '"cluster.local/ns/shop/sa/admin"'))
        wait_for(lambda: policy(d)["last_reload"]["result"] == "ok", 10, "the good reload")
        assert policy(d)["version"] != version
        assert d.metric("meshd_policy_last_reload_successful") == 1
        assert d.metric("meshd_policy_reloads_total", result="failed") == 1
        explain = d.meshctl("policy", "explain", "--from", "spiffe://cluster.local/ns/shop/sa/web",
                            "--to", "cart.shop:80").stdout
        assert "deny" in explain, explain


def test_sighup_reloads_the_policy():
    d = Meshd()
    write_policy(d, POLICY)
    with d:
        version = policy(d)["version"]
        # A change the watcher also sees; SIGHUP right away must apply it too.
        write_policy(d, POLICY + '\n[[peer_authentication]]\nname = "strict"\nnamespace = "shop"\nmode = "strict"\n')
        d.signal(signal.SIGHUP)
        wait_for(lambda: policy(d)["version"] != version, 10, "the reload after SIGHUP")
        assert d.metric("meshd_policy_resources", kind="authorization") == 1


if __name__ == "__main__":
    run_tests([test_an_invalid_policy_refuses_to_start_with_file_line_col, test_policy_show_and_live_explain,
               test_an_invalid_change_keeps_the_running_policy_and_a_fix_applies, test_sighup_reloads_the_policy])
