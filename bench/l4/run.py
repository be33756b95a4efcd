#!/usr/bin/env python3
"""L4 relay benchmark: meshd vs HAProxy 2.6 (mode tcp, same thread count) vs no proxy, in one
run, on loopback. Phases (each can be chosen with --only):
  idle        meshd's RSS right after start; RSS per idle relayed connection (meshd, HAProxy)
  throughput  one long iperf3 stream through each path, Gbit/s
  knee        the highest fixed rate each path sustains (1 KiB request/response, 100 conns)
  rr          fixed-rate 1 KiB request/response over 100 keep-alive connections: p50/p99/p99.9
Paths are interleaved (the order rotates every round) so noise on the shared machine hits
all of them; medians over the rounds are reported with ratios meshd/HAProxy. Targets are
reported PASS/MISS, never asserted: the exit status is non-zero only for harness errors.
Results: a JSON file and a summary on stdout (report.py renders both)."""
import argparse
import datetime
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measure  # noqa: E402
import report  # noqa: E402
from procs import (HarnessError, Haproxy, Meshd, Procs, memory_kib, realtime_available,  # noqa: E402
                   set_normal, set_realtime, start_backend, start_iperf_server)

RT_PRIO = 10

PHASES = ["idle", "throughput", "knee", "rr"]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/l4/run.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build-release", help="meson build directory (release)")
    p.add_argument("--quick", action="store_true", help="short runs, one round (about 2 minutes)")
    p.add_argument("--only", default=",".join(PHASES), help="comma-separated phases: " + ",".join(PHASES))
    p.add_argument("--threads", type=int, default=1, help="meshd workers = HAProxy nbthread (default 1)")
    p.add_argument("--rounds", type=int, help="rounds of the stream measurement (default 3, quick 1)")
    p.add_argument("--rr-rounds", type=int, help="rounds of each fixed-rate measurement (default 5, quick 1)")
    p.add_argument("--rates", help="fixed request rates, comma-separated (default 5000,10000 plus "
                                   "80%% of the lower proxy knee)")
    p.add_argument("--duration", type=float, help="seconds measured per fixed-rate run (default 3, quick 2)")
    p.add_argument("--iperf-seconds", type=int, help="seconds per iperf3 run (default 8, quick 3)")
    p.add_argument("--connections", type=int, default=100, help="keep-alive connections (default 100)")
    p.add_argument("--max-outstanding", type=int, default=1,
                   help="requests in flight per connection (default 1, like HTTP/1.1; 0: unlimited pipelining)")
    p.add_argument("--idle-conns", type=int, help="idle relayed connections (default 9000, quick 2000)")
    p.add_argument("--nice", type=int, default=-10, help="scheduling priority of every benchmark process "
                                                          "(default -10: ahead of builds; 0 to leave as is)")
    p.add_argument("--sched", choices=["fifo", "nice"], default="fifo",
                   help="fixed-rate latency runs: fifo (default) runs the client, the backend and the proxies "
                        "SCHED_FIFO so other work on the machine cannot delay them by milliseconds; "
                        "nice leaves them at --nice. Stream and knee runs always use --nice")
    p.add_argument("--pin", action="store_true", help="proxies on the last --threads CPUs, the load tools on the rest")
    p.add_argument("--no-splice", action="store_true", help="skip the informational HAProxy+splice stream run")
    p.add_argument("--meshd-runtime", action="append", default=[],
                   help="extra [runtime] line for meshd's config, e.g. 'buffers_per_worker = 16' (repeatable)")
    p.add_argument("--meshd-variant", action="append", default=[], metavar="NAME:LINE[;LINE]",
                   help="also measure another meshd with these [runtime] lines, as path 'meshd-NAME' in the "
                        "stream and rr phases, e.g. 'ring16:buffers_per_worker = 16' (repeatable)")
    p.add_argument("--meshd-other", action="append", default=[], metavar="NAME:BUILD",
                   help="also measure the meshd of another release build tree (e.g. an older commit's "
                        "worktree) as path 'meshd-NAME' in the stream and rr phases, same config (repeatable)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (configs, logs)")
    p.add_argument("--json", help="result file (default BUILD/bench/l4/results.json)")
    p.add_argument("--markdown", help="also write the results as Markdown tables to this file")
    a = p.parse_args(argv)
    a.phases = [x for x in a.only.split(",") if x]
    bad = [x for x in a.phases if x not in PHASES]
    if bad:
        p.error(f"unknown phase(s) {bad}; choose from {PHASES}")
    a.rounds = a.rounds or (1 if a.quick else 3)
    a.rr_rounds = a.rr_rounds or (1 if a.quick else 5)
    a.duration = a.duration or (2.0 if a.quick else 3.0)
    a.warmup = 0.5 if a.quick else 1.0
    a.iperf_seconds = a.iperf_seconds or (3 if a.quick else 8)
    a.idle_conns = a.idle_conns or (2000 if a.quick else 9000)
    a.rate_list = [int(x) for x in a.rates.split(",")] if a.rates else None
    a.json = a.json or os.path.join(a.build, "bench", "l4", "results.json")
    return a


def rotated(items, k):
    k %= len(items)
    return items[k:] + items[:k]


def log(msg):
    print(f"[l4] {msg}", file=sys.stderr, flush=True)


def phase_idle(args, procs, loadgen, targets, res):
    steps = [args.idle_conns // 2, args.idle_conns]
    out = {}
    for t in targets:
        if not t.pid:
            continue
        log(f"idle: {args.idle_conns} idle relayed connections through {t.name}")
        out[t.name] = measure.idle_ladder(procs, loadgen, t, steps)
    res["idle"].update(out)


def phase_throughput(args, targets, res):
    runs = []
    for r in range(args.rounds):
        for t in rotated(targets, r):
            run = measure.iperf(t, args.iperf_seconds)
            run["round"] = r
            log(f"throughput round {r + 1}/{args.rounds} {t.name}: {run['gbps']} Gbit/s")
            runs.append(run)
    res["throughput"] = {"seconds": args.iperf_seconds, "runs": runs}


def phase_knee(args, loadgen, targets, res):
    """Raises the rate by 25 % steps until a path fails to sustain it (one retry on failure).
    The direct path is only the reference: it stops with the last proxy ("at least")."""
    rate, alive, best, runs = 8000, list(targets), {}, []
    for step in range(14):
        if not any(t.pid for t in alive):
            break
        for t in rotated(list(alive), step):
            for attempt in range(2):
                run = measure.load(loadgen, t, rate, 2.0, 0.5, args.connections, args.max_outstanding)
                run["attempt"] = attempt
                runs.append(run)
                ok = measure.sustained(run, rate)
                log(f"knee {t.name} @{rate}/s: achieved {run['achieved_rps']:.0f}, "
                    f"p99 {run['latency_us']['p99']:.0f} us -> {'ok' if ok else 'not sustained'}")
                if ok:
                    best[t.name] = rate
                    break
            else:
                alive.remove(t)
        rate = int(round(rate * 1.25, -3))
    res["knee"] = {"max_sustained": {t.name: best.get(t.name, 0) for t in targets},
                   "open_ended": [t.name for t in alive],  # still sustaining when the search stopped
                   "criterion": measure.SUSTAINED,
                   "runs": runs}


def fixed_rates(args, res):
    if args.rate_list:
        return args.rate_list
    rates = [5000, 10000]
    knee = res.get("knee", {}).get("max_sustained", {})
    proxies = [v for k, v in knee.items() if k != "direct" and v]
    if proxies:
        near = int(round(0.8 * min(proxies), -3))
        if near > rates[-1]:
            rates.append(near)
    return rates


def phase_rr(args, loadgen, targets, servers, res):
    rates = fixed_rates(args, res)
    runs = []
    rt = RT_PRIO if args.sched == "fifo" else 0
    if rt:
        for pid in servers:
            set_realtime(pid, rt)
    try:
        for rate in rates:
            for r in range(args.rr_rounds):
                for t in rotated(targets, r + rates.index(rate)):
                    runs.append(rr_run(args, loadgen, t, rate, r, rt))
    finally:
        if rt:
            for pid in servers:
                set_normal(pid, args.nice)
    res["rr"] = {"rates": rates, "rounds": args.rr_rounds, "duration_s": args.duration, "warmup_s": args.warmup, "sched": args.sched,
                 "connections": args.connections, "max_outstanding": args.max_outstanding, "request_size": 1024,
                 "runs": runs}


def rr_run(args, loadgen, t, rate, r, rt):
    run = measure.load(loadgen, t, rate, args.duration, args.warmup, args.connections, args.max_outstanding,
                       rt_prio=rt)
    run["round"] = r
    lat = run["latency_us"]
    log(f"rr @{rate}/s round {r + 1}/{args.rr_rounds} {t.name}: p50 {lat['p50']:.0f} "
        f"p99 {lat['p99']:.0f} p99.9 {lat['p999']:.0f} us, achieved {run['achieved_rps']:.0f}/s")
    return run


def run(args, res):
    build = os.path.abspath(args.build)
    loadgen = os.path.join(build, "bench", "l4", "l4_loadgen")
    meshd_bin = os.path.join(build, "daemon", "app", "meshd")
    for path in (loadgen, meshd_bin):
        if not os.access(path, os.X_OK):
            raise HarnessError(f"{path} is missing: build the release tree first (./dev bench does)")
    ncpu = os.cpu_count() or 1
    proxy_cpus = load_cpus = None
    if args.pin and ncpu > args.threads:
        proxy_cpus = set(range(ncpu - args.threads, ncpu))
        load_cpus = set(range(0, ncpu - args.threads))
        os.sched_setaffinity(0, load_cpus)  # the clients inherit it
    tmp = tempfile.mkdtemp(prefix="meshbench-l4-")
    procs = Procs(tmp)
    try:
        backend_proc, backend = start_backend(procs, loadgen, load_cpus)
        iperf_direct = start_iperf_server(procs, "iperf-direct", load_cpus)[1]
        iperf_meshd = start_iperf_server(procs, "iperf-meshd", load_cpus)[1]
        iperf_hap = start_iperf_server(procs, "iperf-haproxy", load_cpus)[1]
        meshd = Meshd(procs, meshd_bin, args.threads, {"rr": backend, "iperf": iperf_meshd}, proxy_cpus,
                      runtime=args.meshd_runtime)
        time.sleep(1.0)
        res["idle"]["meshd_start"] = memory_kib(meshd.pid)
        res["meta"]["meshd_connections_limit"] = meshd.limit
        hap = Haproxy(procs, "/usr/sbin/haproxy", args.threads, {"rr": backend, "iperf": iperf_hap}, proxy_cpus)
        time.sleep(1.0)
        res["idle"]["haproxy_start"] = memory_kib(hap.pid)
        targets = [measure.Target("direct", backend, iperf_direct),
                   measure.Target("meshd", meshd.listen["rr"], meshd.listen["iperf"], meshd.pid, meshd.active,
                                  meshd.loop_counters),
                   measure.Target("haproxy", hap.listen["rr"], hap.listen["iperf"], hap.pid)]
        variants = []
        for spec in args.meshd_variant:
            vname, _, lines = spec.partition(":")
            v = Meshd(procs, meshd_bin, args.threads, {"rr": backend, "iperf": start_iperf_server(
                procs, f"iperf-{vname}", load_cpus)[1]}, proxy_cpus, name=f"meshd-{vname}",
                runtime=[x.strip() for x in lines.split(";") if x.strip()])
            variants.append(v)
            targets.append(measure.Target(f"meshd-{vname}", v.listen["rr"], v.listen["iperf"], v.pid, v.active,
                                          v.loop_counters))
        for spec in args.meshd_other:
            vname, _, other_build = spec.partition(":")
            other_bin = os.path.join(os.path.abspath(other_build), "daemon", "app", "meshd")
            if not os.access(other_bin, os.X_OK):
                raise HarnessError(f"--meshd-other {spec}: {other_bin} is missing")
            v = Meshd(procs, other_bin, args.threads, {"rr": backend, "iperf": start_iperf_server(
                procs, f"iperf-{vname}", load_cpus)[1]}, proxy_cpus, name=f"meshd-{vname}",
                runtime=args.meshd_runtime)
            variants.append(v)
            targets.append(measure.Target(f"meshd-{vname}", v.listen["rr"], v.listen["iperf"], v.pid, v.active,
                                          v.loop_counters))
        if "idle" in args.phases:
            if args.idle_conns + 50 > min(meshd.limit, hap.limit):
                log(f"idle: {args.idle_conns} connections exceed the proxies' limits "
                    f"(meshd {meshd.limit}, haproxy {hap.limit}); lower --idle-conns")
            phase_idle(args, procs, loadgen, targets[:3], res)
        if "throughput" in args.phases:
            stream_targets = list(targets)
            if not args.no_splice:
                iperf_splice = start_iperf_server(procs, "iperf-splice", load_cpus)[1]
                splice = Haproxy(procs, "/usr/sbin/haproxy", args.threads, {"iperf": iperf_splice}, proxy_cpus,
                                 name="haproxy-splice", maxconn=1000, splice=True)
                stream_targets.append(measure.Target("haproxy+splice", None, splice.listen["iperf"], splice.pid))
            phase_throughput(args, stream_targets, res)
        if "knee" in args.phases and not args.quick:
            phase_knee(args, loadgen, targets[:3], res)
        if "rr" in args.phases:
            phase_rr(args, loadgen, targets, [backend_proc.pid, meshd.pid, hap.pid] + [v.pid for v in variants], res)
        for t in targets[1:3]:
            res["idle"][f"{t.name}_end"] = memory_kib(t.pid)
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"logs and configs kept in {tmp}")


def machine_facts(args, argv):
    def first_line(cmd):
        import subprocess
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "unknown"
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    build = os.path.abspath(args.build)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["bench/l4/run.py", *argv]),
        "cpu": cpu, "cpus": os.cpu_count(), "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": os.uname().release, "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "meshd": first_line([os.path.join(build, "daemon", "app", "meshd"), "--version"]),
        "haproxy": first_line(["/usr/sbin/haproxy", "-v"]),
        "iperf3": first_line(["iperf3", "--version"]),
        "threads": args.threads, "nice": args.nice, "sched": args.sched, "pinned": args.pin, "quick": args.quick,
        "rounds": args.rounds, "meshd_runtime": args.meshd_runtime, "meshd_variants": args.meshd_variant,
        "meshd_others": args.meshd_other,
    }


def main(argv):
    args = parse_args(argv)
    if args.sched == "fifo" and not realtime_available():
        log("SCHED_FIFO is not available (needs root); latency runs use --nice")
        args.sched = "nice"
    if args.nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, args.nice)
        except OSError as e:
            log(f"cannot set priority {args.nice} ({e}); running at the default")
            args.nice = 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    res = {"meta": machine_facts(args, argv), "idle": {}}
    started = time.monotonic()
    try:
        run(args, res)
    except HarnessError as e:
        log(f"harness error: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    res["meta"]["wall_s"] = round(time.monotonic() - started, 1)
    res["meta"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    res["summary"] = report.summarize(res)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(res, f, indent=1)
    print(report.text(res))
    print(f"results: {args.json}")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(report.markdown(res))
        print(f"markdown: {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
