#!/usr/bin/env python3
"""Privileged: the mesh policy enforced by real meshd between pods on two netns nodes, with
mTLS from the built-in CA: a service VIP spread over its endpoints, authorization by
principal (HBONE answers 401, plaintext is reset), STRICT peer authentication refusing
plaintext, a live connection reset when a reload denies it, and 1 000 connections relaying
through ten policy reloads without losing one.

Usage: meshd_policy_test.py BUILD_DIR. Exit 77 without root, cgroup2 or eBPF capture."""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import netns_harness as nh  # noqa: E402

VIP = "198.19.0.10"


class Checker:
    def __init__(self):
        self.failed = []
        self.passed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print(f"ok   {what}", flush=True)
        else:
            self.failed.append(what)
            print(f"FAIL {what}: {detail}", flush=True)
        return cond


def policy_text(pods, allowed="web", strict=False, comment=""):
    web, jobs, cart1, cart2 = pods
    text = f"# {comment}\n"
    for p, sa, app in ((web, "web", "web"), (jobs, "jobs", "jobs"), (cart1, "cart", "cart"), (cart2, "cart", "cart")):
        text += (f'[[workload]]\nname = "{p.label}"\nnamespace = "shop"\nservice_account = "{sa}"\n'
                 f'addresses = ["{p.ip4}", "{p.ip6}"]\nlabels = {{ app = "{app}" }}\n\n')
    text += (f'[[service]]\nname = "cart"\nnamespace = "shop"\nvips = ["{VIP}"]\nselector = {{ app = "cart" }}\n'
             f'ports = [{{ port = 80, target_port = 8080, protocol = "tcp" }}]\n\n'
             f'[[authorization]]\nname = "cart-from-{allowed}"\nnamespace = "shop"\nselector = {{ app = "cart" }}\n'
             f'[[authorization.rules]]\nfrom = [{{ principals = ["cluster.local/ns/shop/sa/{allowed}"] }}]\n')
    if strict:
        text += '\n[[peer_authentication]]\nname = "strict"\nnamespace = "shop"\nmode = "strict"\n'
    return text


def write_policy(h, text):
    for n in h.nodes:
        os.makedirs(n.policy_dir, exist_ok=True)
        tmp = os.path.join(n.policy_dir, ".mesh.toml.tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, os.path.join(n.policy_dir, "mesh.toml"))


def wait_version(h, versions, timeout=10):
    """Waits until every node runs a policy version not in `versions`; returns the new ones."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = [h.status(n)["policy"].get("version") for n in h.nodes]
        if all(v not in versions for v in now):
            return now
        time.sleep(0.05)
    raise RuntimeError(f"policy not reloaded on every node: {[h.status(n)['policy'] for n in h.nodes]}")


def run(build):
    c = Checker()
    nh.enter_private_namespace()
    with nh.Harness(build, meshd=True) as h:
        n1, n2 = h.add_node(), h.add_node()
        web, jobs, legacy = h.add_pod(n1), h.add_pod(n1), h.add_pod(n1)
        cart1, cart2 = h.add_pod(n2), h.add_pod(n2)
        for p, label in ((web, "web"), (jobs, "jobs"), (legacy, "legacy"), (cart1, "cart-1"), (cart2, "cart-2")):
            p.label = label
        pods = (web, jobs, cart1, cart2)
        ca = os.path.join(h.tmp, "ca")
        nh.sh(h.meshctl_bin, "ca", "init", "--dir", ca)
        write_policy(h, policy_text(pods))
        for n in (n1, n2):
            h.start_daemon(n, mode="ebpf", config={"identity": {"ca_dir": ca}, "policy": {"reload_delay": "50ms"}})
        for p, sa in ((web, "web"), (jobs, "jobs"), (cart1, "cart"), (cart2, "cart")):
            h.meshctl(p.node, "enroll", "--name", p.label, "--namespace", "shop", "--service-account", sa,
                      "--netns", p.netns, "--ip", p.ip4, "--ip", p.ip6, check=True)
        for p in (web, jobs, legacy, cart1, cart2):
            h.echo_server(p)

        # --- a service VIP: every connection goes to one of its endpoints, on the target port
        seen = set()
        for _ in range(30):
            out = h.client(web, f"{VIP}:80")
            if "reply=" in out:
                seen.add(out.rsplit("local=", 1)[-1].strip())
            if len(seen) == 2:
                break
        c.check(seen == {f"{cart1.ip4}:8080", f"{cart2.ip4}:8080"}, "the cart VIP spreads connections over both endpoints",
                seen)
        out = h.client(web, f"{VIP}:80")
        c.check(f"getpeername={VIP}:80" in out, "the client still sees the VIP it dialled", out)
        m2 = h.metrics(n2)
        c.check(m2.get("meshd_tunnel_connections_opened_total", role="server") >= 1, "cross-node traffic arrives over HBONE",
                m2.get("meshd_tunnel_connections_opened_total", role="server"))

        # --- authorization by principal
        c.check("reply=" in h.client(web, cart1.addr(8080)), "web → cart-1 (principal web) is allowed")
        c.check("reply=" in h.client(web, cart1.addr(8080, v6=True)), "web → cart-1 over IPv6 is allowed")
        before = h.metrics(n2).get("meshd_connections_rejected_total", kind="hbone", reason="denied")
        out = h.client(jobs, cart1.addr(8080), "--timeout-ms", "3000")
        c.check("reply=" not in out, "jobs → cart-1 (principal jobs) is refused", out)
        c.check(h.metrics(n2).get("meshd_connections_rejected_total", kind="hbone", reason="denied") == before + 1,
                "the refusal is counted on cart-1's 15008 as denied")
        c.check(h.metrics(n1).get("meshd_connections_rejected_total", kind="outbound", reason="denied") >= 1,
                "jobs' side counts the peer's 401 as denied")
        out = h.client(legacy, cart1.addr(8080), "--timeout-ms", "3000")
        c.check("reply=" not in out, "plaintext from outside the mesh to cart-1 is refused (no principal)", out)
        c.check("reply=" in h.client(legacy, web.addr(8080)), "plaintext to web (no policy on it) is allowed")

        # --- STRICT peer authentication
        versions = [h.status(n)["policy"]["version"] for n in h.nodes]
        write_policy(h, policy_text(pods, strict=True))
        versions = wait_version(h, versions)
        out = h.client(legacy, web.addr(8080), "--timeout-ms", "3000")
        c.check("reply=" not in out, "under STRICT, plaintext to web is refused", out)
        c.check(h.metrics(n1).get("meshd_connections_rejected_total", kind="inbound", reason="plaintext_refused") >= 1,
                "and counted as plaintext_refused")
        c.check("reply=" in h.client(jobs, web.addr(8080)), "under STRICT, mTLS from jobs to web still works")

        # --- a live connection that a new policy denies is reset
        held = h.spawn_in_pod(web, [h.tool("capture_client"), "--connect", cart1.addr(8080), "--hold-ms", "4000"])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not h.metrics(n2).get("meshd_connections_active", kind="hbone"):
            time.sleep(0.05)
        write_policy(h, policy_text(pods, allowed="admin", strict=True))
        versions = wait_version(h, versions)
        out, _ = held.communicate(timeout=20)
        c.check("error" in out or "reset" in out.lower(), "a held connection the new policy denies is reset", out)
        c.check(h.metrics(n2).get("meshd_connections_closed_total", kind="hbone", reason="policy_changed") >= 1,
                "closed with reason policy_changed")
        c.check("reply=" not in h.client(web, cart1.addr(8080), "--timeout-ms", "3000"),
                "new connections from web are refused too")

        # --- reload under load: 1 000 connections relaying through ten reloads
        write_policy(h, policy_text(pods))
        versions = wait_version(h, versions)
        closed_before = h.metrics(n2).get("meshd_connections_closed_total", kind="hbone", reason="policy_changed")
        load = subprocess.Popen(h._wrap(web.cgroup, web.netns, [sys.executable, os.path.join(HERE, "..", "support",
                                "hold_many.py"), "--connect", f"{VIP}:80", "--connections", "1000", "--seconds", "3",
                                "--interval-ms", "200"]), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        h.procs.append(load)
        ready = load.stdout.readline().strip()
        c.check(ready == "ready 1000", "1 000 connections to the VIP are established", ready)
        for i in range(10):
            write_policy(h, policy_text(pods, comment=f"reload {i}"))
            versions = wait_version(h, versions)
        result = json.loads(load.stdout.readline() or "{}")
        load.wait(timeout=30)
        c.check(result.get("ok") == 1000 and result.get("failed") == 0,
                "ten reloads while they relay: every connection keeps every echo", result)
        c.check(h.metrics(n2).get("meshd_connections_closed_total", kind="hbone", reason="policy_changed") == closed_before,
                "no connection closed for a policy change")
        c.check(all(h.status(n)["policy"]["last_reload"]["result"] == "ok" for n in h.nodes), "every reload succeeded")
        if c.failed:
            for n in h.nodes:
                print(f"--- meshd log on {n.name} ---\n{h.daemon_log(n)}")
    print(f"{c.passed} passed, {len(c.failed)} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    build = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        nh.skip("needs root")
    if nh.cgroup2_mount() is None:
        nh.skip("no cgroup2 mount")
    probe = subprocess.run([os.path.join(build, "tests", "ebpf", "capture_probe")], capture_output=True, text=True)
    if probe.returncode != 0:
        nh.skip(f"eBPF capture unavailable: {probe.stdout.strip()}")
    sys.exit(run(build))
