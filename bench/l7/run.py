#!/usr/bin/env python3
"""L7 benchmark: HTTP/1.1 keep-alive through two meshd hops with a header-matching route,
against two-hop mTLS L7 chains of nginx and of HAProxy routing on the same header, against
meshd's own L4 path, and against no proxy, in one run, on the netns harness (two nodes, real
meshd from the release build with eBPF capture and the built-in CA; root only, exit 77
otherwise).

    n1: pod a (enrolled) ── VIP web:80 (http, route on x-bench) ── meshd ══ HBONE ══ n2: meshd ── pod b: origin
        pod a ── VIP web-tcp:80 (tcp) ── meshd ══ HBONE ══ meshd ── pod b (meshd's L4 path)
        pod c: nginx hop1 / HAProxy hop1 ══ mTLS ══ n2: pod d: nginx hop2 / HAProxy hop2 ── origin
        pod c ── pod d:8080 (direct: no proxy, the floor)

Every origin is the same nginx serving a 1 KiB body (bench/l7/peers.py). Every proxy gets
one worker per hop (meshd: one worker per node; nginx: worker_processes 1; HAProxy:
nbthread 1). The client sends `GET /1k` with `x-bench: yes` (bench/l7/peers.py, request file
in the run's temp dir). Phases (--only):
  rr          open loop: l4_loadgen load --request-file at a fixed rate (default 2 000/s)
              over 100 keep-alive connections, latency from the scheduled send time;
              added p50/p99/p99.9 over the direct path; proxy CPU µs per request
  saturation  closed loop: h2load --h1, 64 connections, one thread, for --seconds: requests/s
              and proxy CPU µs per request (both hops' processes, from /proc)
  idle        (first) VmRSS of both hops' processes with 1 000 and 2 000 idle keep-alive HTTP
              connections (l4_loadgen hold, one request each first): KiB per connection
Paths rotate every round. Targets are reported PASS/MISS, never asserted."""
import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "bench", "l4"))
sys.path.insert(0, HERE)
import netns_harness as nh  # noqa: E402
import peers  # noqa: E402
from procs import cpu_seconds, memory_kib, realtime_available, set_normal, set_realtime  # noqa: E402
import l7_report  # noqa: E402

PHASES = ["idle", "rr", "saturation"]  # idle first: every proxy still has only its start-up heap
PATHS = ["direct", "meshd-l7", "meshd-l4", "nginx", "haproxy"]
VIP_HTTP, VIP_TCP, VIP_PORT = "198.19.0.30", "198.19.0.31", 80
NGINX_PORT, HAP_PORT, NGINX_TLS, HAP_TLS = 18080, 28080, 18443, 28443
RT_PRIO = 10


def log(msg):
    print(f"[l7] {msg}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/l7/run.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build-release")
    p.add_argument("--quick", action="store_true", help="one short round of everything")
    p.add_argument("--only", default=",".join(PHASES))
    p.add_argument("--rounds", type=int, help="rounds per phase, paths rotating (default 2, quick 1)")
    p.add_argument("--seconds", type=float, help="seconds per measurement (default 4, quick 2)")
    p.add_argument("--rate", type=int, default=2000, help="fixed request rate of the rr phase (default 2000/s)")
    p.add_argument("--connections", type=int, default=64, help="h2load connections (default 64)")
    p.add_argument("--idle-steps", default="1000,2000", help="idle connections held (default 1000,2000)")
    p.add_argument("--sched", choices=["fifo", "nice"], default="fifo",
                   help="rr phase: client, origins and proxies SCHED_FIFO (default) or left at nice -10")
    p.add_argument("--json", help="write every measurement here")
    a = p.parse_args(argv)
    a.phases = [x for x in a.only.split(",") if x]
    if any(x not in PHASES for x in a.phases):
        p.error(f"phases are {PHASES}")
    a.rounds = a.rounds or (1 if a.quick else 2)
    a.seconds = a.seconds or (2.0 if a.quick else 4.0)
    a.steps = [int(x) for x in a.idle_steps.split(",")] if not a.quick else [500, 1000]
    return a


def policy(client, server):
    """Workloads, the two services (one port http with a header route, one port tcp) and the route."""
    text = ""
    for name, pod, sa in (("client", client, "client"), ("web", server, "web")):
        text += (f'[[workload]]\nname = "{name}"\nnamespace = "default"\nservice_account = "{sa}"\n'
                 f'addresses = ["{pod.ip4}"]\nlabels = {{ app = "{name}" }}\n\n')
    for svc, vip, proto in (("web", VIP_HTTP, "http"), ("web-tcp", VIP_TCP, "tcp")):
        text += (f'[[service]]\nname = "{svc}"\nnamespace = "default"\nvips = ["{vip}"]\nselector = {{ app = "web" }}\n'
                 f'ports = [{{ port = {VIP_PORT}, target_port = {peers.ORIGIN_PORT}, protocol = "{proto}" }}]\n\n')
    text += ('[[route]]\nname = "web"\nnamespace = "default"\nhosts = ["web"]\n\n'
             '[[route.http]]\nname = "bench"\nmatch = [{ headers = { "x-bench" = { exact = "yes" } } }]\n'
             'to = [{ host = "web" }]\n')
    return text


class Bench:
    def __init__(self, h, args):
        self.h, self.a = h, args
        self.build = os.path.abspath(args.build)
        self.loadgen = os.path.join(self.build, "bench", "l4", "l4_loadgen")
        self.res = {"args": {k: v for k, v in vars(args).items()}}
        self.popen = {}
        self.request = f"{h.tmp}/request.http"
        with open(self.request, "wb") as f:
            f.write(f"GET {peers.PATH} HTTP/1.1\r\nHost: web.bench\r\nUser-Agent: l4_loadgen\r\nx-bench: yes\r\n\r\n".encode())
        self.request_miss = f"{h.tmp}/request-miss.http"
        with open(self.request_miss, "wb") as f:
            f.write(f"GET {peers.PATH} HTTP/1.1\r\nHost: web.bench\r\nx-bench: no\r\n\r\n".encode())

    # --- set-up ----------------------------------------------------------------------------
    def setup(self):
        h, tmp = self.h, self.h.tmp
        self.n1, self.n2 = h.add_node(), h.add_node()
        self.pa, self.pc = h.add_pod(self.n1), h.add_pod(self.n1)
        self.pb, self.pd = h.add_pod(self.n2), h.add_pod(self.n2)
        ca = f"{tmp}/ca"
        nh.sh(h.meshctl_bin, "ca", "init", "--dir", ca)
        for n in (self.n1, self.n2):
            os.makedirs(n.policy_dir, exist_ok=True)
            with open(os.path.join(n.policy_dir, "mesh.toml"), "w") as f:
                f.write(policy(self.pa, self.pb))
            h.start_daemon(n, mode="ebpf", config=self.meshd_config(ca))
        for pod, name in ((self.pa, "client"), (self.pb, "web")):
            h.meshctl(pod.node, "enroll", "--name", name, "--namespace", "default", "--service-account", name,
                      "--netns", pod.netns, "--ip", pod.ip4, check=True)
        self.meshd = [self.n1.daemon.pid, self.n2.daemon.pid]
        pki = f"{tmp}/peer-pki"
        peers.pki(pki)
        self.origins = [self.nginx(pod, f"origin-{pod.name}", peers.nginx_origin) for pod in (self.pb, self.pd)]
        d_ip = self.pd.ip4
        self.nginx_chain = [self.nginx(self.pd, "nginx-hop2", lambda d: peers.nginx_hop2(d, pki, f"{d_ip}:{NGINX_TLS}")),
                            self.nginx(self.pc, "nginx-hop1",
                                       lambda d: peers.nginx_hop1(d, pki, f"{d_ip}:{NGINX_TLS}", NGINX_PORT))]
        self.hap_chain = [self.haproxy(self.pd, "haproxy-hop2", peers.haproxy_hop2(pki, f"{d_ip}:{HAP_TLS}")),
                          self.haproxy(self.pc, "haproxy-hop1", peers.haproxy_hop1(pki, f"{d_ip}:{HAP_TLS}", HAP_PORT))]
        time.sleep(1.0)
        for pid in self.origins + self.nginx_chain + self.hap_chain:
            if self.popen[pid].poll() is not None:
                raise RuntimeError(f"peer {pid} exited; logs in {tmp}")
        # name: (client pod, host, port, proxy PIDs: a callable, as nginx's workers are its children)
        self.paths = {
            "direct": (self.pc, d_ip, peers.ORIGIN_PORT, lambda: []),
            "meshd-l7": (self.pa, VIP_HTTP, VIP_PORT, lambda: self.meshd),
            "meshd-l4": (self.pa, VIP_TCP, VIP_PORT, lambda: self.meshd),
            "nginx": (self.pc, "127.0.0.1", NGINX_PORT, lambda: with_children(self.nginx_chain)),
            "haproxy": (self.pc, "127.0.0.1", HAP_PORT, lambda: self.hap_chain),
        }
        self.check_paths()

    @staticmethod
    def meshd_config(ca):
        return {"runtime": {"workers": 1, "log_level": "warn"}, "identity": {"ca_dir": ca}}

    def restart_meshd(self):
        """Both meshd afresh (SIGTERM, then the same config; enrolments come back from their state
        files), so an idle measurement starts from a start-up heap, not one a path before it grew."""
        for n in (self.n1, self.n2):
            self.h.kill_daemon(n, signal.SIGTERM, timeout=30)
        for n in (self.n1, self.n2):
            self.h.start_daemon(n, mode="ebpf", config=self.meshd_config(f"{self.h.tmp}/ca"))
        self.meshd = [self.n1.daemon.pid, self.n2.daemon.pid]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ok = [self.probe(self.pa, host, VIP_PORT, self.request, 1).get("status") == [200] for host in (VIP_HTTP, VIP_TCP)]
            if all(ok):
                time.sleep(1.0)
                return
            time.sleep(0.2)
        raise RuntimeError("meshd's paths did not come back after a restart")

    def nginx(self, pod, name, conf):
        d = f"{self.h.tmp}/{name}"
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/nginx.conf", "w") as f:
            f.write(conf(d))
        return self.spawn_logged(pod, name, ["/usr/sbin/nginx", "-c", f"{d}/nginx.conf", "-p", d])

    def haproxy(self, pod, name, conf):
        path = f"{self.h.tmp}/{name}.cfg"
        with open(path, "w") as f:
            f.write(conf)
        return self.spawn_logged(pod, name, ["/usr/sbin/haproxy", "-db", "-f", path])

    def spawn_logged(self, pod, name, cmd):
        with open(f"{self.h.tmp}/{name}.log", "w") as out:
            p = subprocess.Popen(self.h._wrap(pod.cgroup, pod.netns, cmd), stdout=out, stderr=subprocess.STDOUT)
        self.h.procs.append(p)
        self.popen[p.pid] = p
        return p.pid

    def probe(self, pod, host, port, request, n=3):
        r = self.h.run_in_pod(pod, [sys.executable, os.path.join(HERE, "probe.py"), host, str(port), request, str(n)],
                              timeout=30)
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return {"error": f"exit {r.returncode}: {r.stderr.strip()[-400:]}"}

    def check_paths(self):
        """Every path answers 200 with one constant size; the routed ones answer 404 without the header;
        meshd's L7 path records requests (reporter=source) and its L4 path does not."""
        self.size = {}
        checks = {}
        m0 = self.h.metrics(self.n1)
        for name, (pod, host, port, _) in self.paths.items():
            hit = self.probe(pod, host, port, self.request)
            miss = self.probe(pod, host, port, self.request_miss, 1) if name in ("meshd-l7", "nginx", "haproxy") else None
            checks[name] = {"hit": hit, "miss": miss}
            if hit.get("status") != [200] * 3 or len(set(hit["size"])) != 1:
                raise RuntimeError(f"path {name}: {hit}")
            if miss is not None and miss.get("status") != [404]:
                raise RuntimeError(f"path {name} does not route on x-bench: {miss}")
            self.size[name] = hit["size"][0]
        m1 = self.h.metrics(self.n1)
        src = lambda m: m.get("istio_requests_total", reporter="source") or 0  # noqa: E731
        checks["meshd_l7_source_records"] = src(m1) - src(m0)
        if checks["meshd_l7_source_records"] < 4:
            raise RuntimeError(f"meshd's L7 path recorded {checks['meshd_l7_source_records']} requests, not 4: {checks}")
        self.res["checks"] = checks
        self.res["response_size"] = self.size
        log(f"paths check out; answer sizes {self.size}")

    def hops(self, name):
        """The PIDs of each hop of a path, client side first."""
        if name.startswith("meshd"):
            return [[self.meshd[0]], [self.meshd[1]]]
        if name == "nginx":
            return [with_children([self.nginx_chain[1]]), with_children([self.nginx_chain[0]])]
        if name == "haproxy":
            return [[self.hap_chain[1]], [self.hap_chain[0]]]
        return []

    # --- measurement helpers ---------------------------------------------------------------
    def cpu(self, pids):
        return sum(cpu_seconds(p) for p in pids)

    def order(self, r):
        k = r % len(PATHS)
        return PATHS[k:] + PATHS[:k]

    def run_json(self, pod, cmd, timeout, fifo=False):
        pre = (lambda: os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIO))) if fifo else None
        r = subprocess.run(self.h._wrap(pod.cgroup, pod.netns, cmd), capture_output=True, text=True, timeout=timeout,
                           preexec_fn=pre)
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return {"error": f"exit {r.returncode}: {r.stdout[-300:]} {r.stderr[-300:]}"}

    # --- phases ----------------------------------------------------------------------------
    def rr(self):
        rt = RT_PRIO if self.a.sched == "fifo" and realtime_available() else 0
        every = with_children(self.origins) + self.meshd + with_children(self.nginx_chain) + self.hap_chain
        if rt:
            for pid in every:
                set_realtime(pid, rt)
        runs = []
        try:
            for r in range(self.a.rounds):
                for name in self.order(r):
                    pod, host, port, pids = self.paths[name]
                    c0 = self.cpu(pids())
                    j = self.run_json(pod, [self.loadgen, "load", "--target", f"{host}:{port}", "--connections", "100",
                                            "--rate", str(self.a.rate), "--duration", str(self.a.seconds), "--warmup", "1",
                                            "--request-file", self.request, "--response-size", str(self.size[name]),
                                            "--drain", "2", "--max-outstanding", "1"],
                                      timeout=self.a.seconds + 60, fifo=bool(rt))
                    if "latency_us" not in j:
                        log(f"rr {name}: {j}")
                        continue
                    j.update(path=name, round=r, proxy_cpu_us_per_req=(self.cpu(pids()) - c0) / max(j["answered"], 1) * 1e6
                             if pids() else None)
                    log(f"rr round {r + 1} {name}: p50 {j['latency_us']['p50']:.0f} p99 {j['latency_us']['p99']:.0f} "
                        f"p99.9 {j['latency_us']['p999']:.0f} us, {j['achieved_rps']:.0f}/s")
                    runs.append(j)
        finally:
            if rt:
                for pid in every:
                    set_normal(pid, -10)
        self.res["rr"] = {"rate": self.a.rate, "sched": "fifo" if rt else "nice", "runs": runs}

    def saturation(self):
        runs = []
        for r in range(self.a.rounds):
            for name in self.order(r):
                pod, host, port, pids = self.paths[name]
                cmd = ["h2load", "--h1", "-c", str(self.a.connections), "-t", "1", "-D", str(int(self.a.seconds)),
                       "-H", "x-bench: yes", f"http://{host}:{port}{peers.PATH}"]
                c0, o0 = self.cpu(pids()), self.cpu(with_children(self.origins))
                u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                p = subprocess.run(self.h._wrap(pod.cgroup, pod.netns, cmd), capture_output=True, text=True,
                                   timeout=self.a.seconds + 60)
                u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu, origin_cpu = self.cpu(pids()) - c0, self.cpu(with_children(self.origins)) - o0
                j = parse_h2load(p.stdout)
                if not j.get("succeeded"):
                    log(f"saturation {name}: {p.stdout[-400:]} {p.stderr[-400:]}")
                    continue
                j.update(path=name, round=r, proxy_cpu_s=cpu, origin_cpu_s=origin_cpu,
                         client_cpu_s=(u1.ru_utime + u1.ru_stime) - (u0.ru_utime + u0.ru_stime),
                         proxy_cpu_us_per_req=cpu / j["succeeded"] * 1e6 if pids() else None)
                log(f"saturation round {r + 1} {name}: {j['rps']:.0f} req/s, proxy {cpu:.2f} CPU-s, origin "
                    f"{origin_cpu:.2f}, h2load {j['client_cpu_s']:.2f} in {j['seconds']:.1f}s")
                runs.append(j)
        self.res["saturation"] = runs

    def idle(self):
        out = {}
        # Both meshd paths run on the same two daemons: each gets them freshly started, or the
        # second would reuse the heap the first grew (meshd keeps freed memory: "after close").
        for name in ("meshd-l7", "meshd-l4", "nginx", "haproxy"):
            if name.startswith("meshd"):
                self.restart_meshd()
            pod, host, port, pids = self.paths[name]
            hops = self.hops(name)
            rss = lambda: sum(memory_kib(p)["VmRSS"] for p in pids())  # noqa: E731
            hop_rss = lambda: [sum(memory_kib(p)["VmRSS"] for p in hop) for hop in hops]  # noqa: E731
            base, base_hops = rss(), hop_rss()
            hold = subprocess.Popen(self.h._wrap(pod.cgroup, pod.netns, [
                self.loadgen, "hold", "--target", f"{host}:{port}", "--steps", ",".join(map(str, self.a.steps)),
                "--request-file", self.request, "--response-size", str(self.size[name]), "--max-seconds", "240"]),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.h.procs.append(hold)
            steps = []
            try:
                for i, _ in enumerate(self.a.steps):
                    line = hold.stdout.readline()
                    if not line:
                        break
                    got = json.loads(line)
                    time.sleep(1.0)
                    steps.append({"open": got["open"], "failed": got["failed"], "rss_kib": rss(), "hop_rss_kib": hop_rss()})
                    hold.stdin.write("next\n" if i + 1 < len(self.a.steps) else "close\n")
                    hold.stdin.flush()
                hold.wait(60)
            finally:
                if hold.poll() is None:
                    hold.kill()
                    hold.wait(5)
            time.sleep(1.0)
            row = {"before_kib": base, "before_hops_kib": base_hops, "steps": steps, "after_close_kib": rss()}
            if steps and steps[-1]["open"]:
                row["kib_per_conn"] = (steps[-1]["rss_kib"] - base) / steps[-1]["open"]
                row["hop_kib_per_conn"] = [(a - b) / steps[-1]["open"] for a, b in zip(steps[-1]["hop_rss_kib"], base_hops)]
            if len(steps) >= 2 and steps[-1]["open"] > steps[-2]["open"]:
                row["slope_kib"] = (steps[-1]["rss_kib"] - steps[-2]["rss_kib"]) / (steps[-1]["open"] - steps[-2]["open"])
            log(f"idle {name}: {row.get('kib_per_conn', 0):.2f} KiB/conn (slope {row.get('slope_kib', 0):.2f}), "
                f"{steps[-1]['open'] if steps else 0} open")
            out[name] = row
        self.res["idle"] = out


def with_children(pids):
    """The PIDs and their children (nginx's workers are children of its master)."""
    out = []
    for pid in pids:
        out.append(pid)
        try:
            out += [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
        except OSError:
            pass
    return out


def parse_h2load(text):
    out = {}
    m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", text)
    if m:
        out["seconds"] = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
        out["rps"] = float(m.group(3))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", text)
    if m:
        out.update(total=int(m.group(1)), succeeded=int(m.group(4)), failed=int(m.group(5)), errored=int(m.group(6)))
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        out["status_2xx"], out["status_non2xx"] = int(m.group(1)), sum(int(m.group(i)) for i in (2, 3, 4))
    m = re.search(r"time for request:\s+([\d.]+)(us|ms)\s+([\d.]+)(us|ms)\s+([\d.]+)(us|ms)", text)
    if m:
        unit = lambda v, u: float(v) * (1000 if u == "ms" else 1)  # noqa: E731
        out["request_us"] = {"min": unit(m.group(1), m.group(2)), "max": unit(m.group(3), m.group(4)),
                             "mean": unit(m.group(5), m.group(6))}
    return out


def main(argv):
    args = parse_args(argv)
    nh.enter_private_namespace()  # exits 77 without root
    started = time.monotonic()
    for tool in ("/usr/sbin/nginx", "/usr/sbin/haproxy", "/usr/bin/h2load"):
        if not os.access(tool, os.X_OK):
            nh.skip(f"{tool} is not installed (./dev bench installs it)")
    if not os.access(os.path.join(args.build, "daemon", "app", "meshd"), os.X_OK):
        log(f"{args.build} is not a built tree")
        return 1
    try:
        os.setpriority(os.PRIO_PROCESS, 0, -10)
    except OSError:
        pass
    with nh.Harness(os.path.abspath(args.build), meshd=True) as h:
        b = Bench(h, args)
        try:
            b.setup()
            for phase in args.phases:
                getattr(b, phase)()
        except (RuntimeError, subprocess.SubprocessError, OSError, KeyError) as e:
            log(f"harness error: {e}")
            for n in h.nodes:
                log(f"--- meshd {n.name}: {h.daemon_log(n, 1500)}")
            for f in sorted(os.listdir(h.tmp)):
                if f.endswith(".log"):
                    log(f"--- {f}: {open(os.path.join(h.tmp, f), errors='replace').read()[-600:]}")
            return 1
        res = b.res
    res["meta"] = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "command": " ".join(["bench/l7/run.py", *argv]), "wall_s": round(time.monotonic() - started, 1),
                   "loadavg_end": open("/proc/loadavg").read().split()[:3]}
    text, targets = l7_report.render(res)
    res["targets"] = targets
    print(text)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
