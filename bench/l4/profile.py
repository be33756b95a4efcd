#!/usr/bin/env python3
"""Where a proxy's time goes, meshd next to HAProxy under the same load: syscall and
io_uring event counts per MB (stream) or per request (rr) from kernel tracepoints (perf stat),
and the hottest functions (perf record -e cpu-clock, a software clock: this VM exposes no
hardware counters). Not part of bench/run; the method behind docs/benchmarks.md's analysis.

  bench/l4/profile.py [--build build-release] [--workload stream|rr] [--rate 10000] [--seconds 5]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procs import Haproxy, HarnessError, Meshd, Procs, start_backend, start_iperf_server  # noqa: E402

EVENTS = ["raw_syscalls:sys_enter", "syscalls:sys_enter_io_uring_enter", "syscalls:sys_enter_sendto",
          "syscalls:sys_enter_recvfrom", "syscalls:sys_enter_epoll_wait", "syscalls:sys_enter_epoll_ctl",
          "syscalls:sys_enter_splice", "syscalls:sys_enter_shutdown", "io_uring:io_uring_submit_req",
          "io_uring:io_uring_poll_arm", "io_uring:io_uring_task_work_run", "io_uring:io_uring_local_work_run",
          "sched:sched_switch", "sched:sched_wakeup"]


def workload(args, loadgen, port_rr, port_iperf):
    """Runs the load for args.seconds + 2 s; returns (units, unit name)."""
    if args.workload == "stream":
        r = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port_iperf), "-t", str(args.seconds + 2), "-J"],
                           capture_output=True, text=True, timeout=args.seconds + 40)
        return json.loads(r.stdout)["end"]["sum_received"]["bytes"] / 1e6, "MB"
    r = subprocess.run([loadgen, "load", "--target", f"127.0.0.1:{port_rr}", "--connections", "100",
                        "--rate", str(args.rate), "--duration", str(args.seconds + 2), "--warmup", "0"],
                       capture_output=True, text=True, timeout=args.seconds + 40)
    return json.loads(r.stdout)["answered"], "request"


def under_load(args, loadgen, ports, tool_argv):
    """Starts the workload, runs the tool for args.seconds from 1 s in, returns (units, unit, tool output)."""
    result = {}
    t = threading.Thread(target=lambda: result.update(w=workload(args, loadgen, *ports)))
    t.start()
    time.sleep(1)
    out = subprocess.run(tool_argv, capture_output=True, text=True, timeout=args.seconds + 30)
    t.join(args.seconds + 60)
    units, unit = result["w"]
    # The tool saw args.seconds of the args.seconds + 2 s run: scale the units to that share.
    return units * args.seconds / (args.seconds + 2), unit, out.stdout + out.stderr


def count(args, loadgen, name, pid, ports):
    units, unit, out = under_load(args, loadgen, ports, ["perf", "stat", "-x,", "-e", ",".join(EVENTS), "-p", str(pid),
                                                         "--", "sleep", str(args.seconds)])
    print(f"\n{name}: per {unit} ({units:,.0f} {unit}s in the window)")
    for line in out.splitlines():
        parts = line.split(",")
        if len(parts) > 3 and parts[0].strip().isdigit():
            print(f"  {parts[2]:<42} {int(parts[0]) / units:10.3f}")


def record(args, loadgen, name, pid, ports, outdir):
    data = os.path.join(outdir, f"{name}.perf.data")
    units, unit, _ = under_load(args, loadgen, ports, ["perf", "record", "-e", "cpu-clock", "-F", "4000", "-g",
                                                       "-o", data, "-p", str(pid), "--", "sleep", str(args.seconds)])
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "sym",
                          "--percent-limit", "0.8", "-g", "none"], capture_output=True, text=True, timeout=120)
    total_ns = 0
    for line in rep.stdout.splitlines():
        if line.startswith("# Event count (approx.):"):
            total_ns = int(line.split(":")[1])
    scale, label = (1e6, "ms per GB") if unit == "MB" else (1e3, "us per request")
    per_unit = lambda pct: total_ns * pct / 100 / units / scale * (1000 if unit == "MB" else 1)  # noqa: E731
    print(f"\n{name}: CPU {per_unit(100):.2f} {label} (cpu-clock samples); hottest functions:")
    for line in rep.stdout.splitlines():
        if line.strip() and not line.startswith("#") and "%" in line:
            pct = float(line.split("%")[0])
            print(f"  {per_unit(pct):8.3f}  {line.strip()}")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build-release")
    p.add_argument("--workload", choices=["stream", "rr"], default="stream")
    p.add_argument("--rate", type=int, default=10000)
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--meshd-runtime", action="append", default=[],
                   help="extra [runtime] line for meshd, e.g. 'buffers_per_worker = 16' (repeatable)")
    p.add_argument("--out", help="keep perf data here (default: a temporary directory, removed)")
    args = p.parse_args(argv)
    build = os.path.abspath(args.build)
    loadgen = os.path.join(build, "bench", "l4", "l4_loadgen")
    tmp = tempfile.mkdtemp(prefix="meshprof-l4-")
    outdir = args.out or tmp
    os.makedirs(outdir, exist_ok=True)
    procs = Procs(tmp)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, -10)
        _, backend = start_backend(procs, loadgen, None)
        ip_m = start_iperf_server(procs, "iperf-meshd", None)[1]
        ip_h = start_iperf_server(procs, "iperf-haproxy", None)[1]
        meshd = Meshd(procs, os.path.join(build, "daemon", "app", "meshd"), args.threads,
                      {"rr": backend, "iperf": ip_m}, None, runtime=args.meshd_runtime)
        hap = Haproxy(procs, "/usr/sbin/haproxy", args.threads, {"rr": backend, "iperf": ip_h}, None)
        proxies = [("meshd", meshd.pid, (meshd.listen["rr"][1], meshd.listen["iperf"][1])),
                   ("haproxy", hap.pid, (hap.listen["rr"][1], hap.listen["iperf"][1]))]
        for name, pid, ports in proxies:
            before = meshd.loop_counters() if name == "meshd" else None
            count(args, loadgen, name, pid, ports)
            if before:
                after = meshd.loop_counters()
                print("  meshd counters over the whole run: " +
                      ", ".join(f"{k.removeprefix('meshd_')}={after[k] - v:,.0f}" for k, v in before.items()))
        for name, pid, ports in proxies:
            record(args, loadgen, name, pid, ports, outdir)
    except HarnessError as e:
        print(f"harness error: {e}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
