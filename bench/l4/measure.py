"""One measurement each: an iperf3 stream, an open-loop load run, an idle-connection ladder.

Each function takes a target (a name, the proxy's PID or None for the direct path, and the
ports to use), runs one bounded client process, and returns a plain dict with the client's
result plus the proxy's CPU time and memory around it."""
import json
import os
import select
import subprocess
import time

from procs import HarnessError, context_switches, cpu_seconds, memory_kib, wait_for


class Target:
    """Where traffic goes: `rr` and `iperf` are (host, port); `pid` is the proxy's (None: direct)."""

    def __init__(self, name, rr, iperf, pid=None, active=None, counters=None):
        self.name = name
        self.rr = rr
        self.iperf = iperf
        self.pid = pid
        self.active = active  # callable: live relayed connections (meshd only)
        self.counters = counters  # callable: the proxy's own counters, a dict (meshd only)


def _proxy_before(target):
    if not target.pid:
        return None
    return (cpu_seconds(target.pid), context_switches(target.pid), target.counters() if target.counters else {})


def _proxy_after(target, before, out):
    if target.pid:
        out["proxy_cpu_s"] = round(cpu_seconds(target.pid) - before[0], 3)
        out["proxy_ctxsw"] = context_switches(target.pid) - before[1]
        if target.counters:
            after = target.counters()
            out["proxy_counters"] = {k.removeprefix("meshd_").removesuffix("_total"): after[k] - v
                                     for k, v in before[2].items()}
        mem = memory_kib(target.pid)
        out["proxy_rss_kib"] = mem.get("VmRSS")
        out["proxy_hwm_kib"] = mem.get("VmHWM")
    return out


def iperf(target, seconds):
    """One TCP stream through the target for `seconds`. No --omit: the proxy's CPU time is read
    around the whole run, so the bytes must cover the whole run too (loopback ramps up in ms)."""
    host, port = target.iperf
    argv = ["iperf3", "-c", host, "-p", str(port), "-t", str(seconds), "-J"]
    for attempt in range(3):
        before = _proxy_before(target)
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            raise HarnessError(f"iperf3 to {target.name} did not finish")
        try:
            j = json.loads(r.stdout)
        except ValueError:
            j = {"error": r.stderr.strip() or "no JSON output"}
        if "error" not in j:
            end = j["end"]
            out = {"target": target.name, "gbps": round(end["sum_received"]["bits_per_second"] / 1e9, 3),
                   "bytes": end["sum_received"]["bytes"], "seconds": round(end["sum_received"]["seconds"], 3),
                   "retransmits": end["sum_sent"].get("retransmits", 0)}
            out = _proxy_after(target, before, out)
            if target.pid and out["bytes"]:
                out["proxy_cpu_s_per_gb"] = round(out["proxy_cpu_s"] / (out["bytes"] / 1e9), 4)
                out["proxy_ctxsw_per_mb"] = round(out["proxy_ctxsw"] / (out["bytes"] / 1e6), 3)
            return out
        # "the server is busy": the previous test's connections are still being torn down.
        time.sleep(1 + attempt)
    raise HarnessError(f"iperf3 to {target.name} failed: {j['error']}")


def _fifo(prio):
    def fn():
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(prio))
    return fn


def load(loadgen, target, rate, duration, warmup, connections, max_outstanding=1, size=1024, rt_prio=0):
    """One open-loop run at `rate` requests/s over `connections` keep-alive connections; the
    client runs SCHED_FIFO at `rt_prio` when that is not 0."""
    host, port = target.rr
    argv = [loadgen, "load", "--target", f"{host}:{port}", "--connections", str(connections),
            "--rate", str(rate), "--duration", str(duration), "--warmup", str(warmup),
            "--size", str(size), "--drain", "2", "--max-outstanding", str(max_outstanding)]
    before = _proxy_before(target)
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=duration + warmup + 40,
                           preexec_fn=_fifo(rt_prio) if rt_prio else None)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"l4_loadgen load to {target.name} did not finish")
    if r.returncode != 0 or not r.stdout.strip():
        raise HarnessError(f"l4_loadgen load to {target.name} failed ({r.returncode}): {r.stderr.strip()}")
    j = json.loads(r.stdout.strip().splitlines()[-1])
    out = {"target": target.name, "rate": rate, "achieved_rps": j["achieved_rps"],
           "latency_us": j["latency_us"], "send_lag_us": j["send_lag_us"], "errors": j["errors"],
           "answered": j["answered"], "client_cpu_s": j["client_cpu_s"]}
    out = _proxy_after(target, before, out)
    if target.pid and j["answered"]:
        out["proxy_cpu_us_per_req"] = round(out["proxy_cpu_s"] / j["answered"] * 1e6, 2)
        out["proxy_ctxsw_per_req"] = round(out["proxy_ctxsw"] / j["answered"], 3)
    return out


SUSTAINED = ">= 98% of the rate answered within the window, nothing lost, p99 <= 50 ms"


def sustained(run, rate):
    """Whether a load run kept up (SUSTAINED). The knee runs share the machine with whatever
    else runs (no SCHED_FIFO), where scheduling alone can cost a p99 of ~10 ms; a queue that
    grows because the path is too slow shows up as hundreds of ms within two seconds."""
    lost = run["errors"]["lost"] + run["errors"]["connection"] + run["errors"]["connect"]
    return run["achieved_rps"] >= 0.98 * rate and lost == 0 and run["latency_us"]["p99"] <= 50000


def _read_line(proc, timeout):
    ready, _, _ = select.select([proc.popen.stdout], [], [], timeout)
    if not ready:
        raise HarnessError(f"{proc.name}: no output within {timeout}s")
    line = proc.popen.stdout.readline()
    if not line:
        raise HarnessError(f"{proc.name} exited: {proc.log_tail()}")
    return json.loads(line)


def idle_ladder(procs, loadgen, target, steps, settle=1.0):
    """Opens idle relayed connections in `steps` and reads the proxy's memory at each."""
    host, port = target.rr
    base = memory_kib(target.pid)
    out = {"target": target.name, "before": base, "steps": []}
    hold = procs.start(f"hold-{target.name}", [loadgen, "hold", "--target", f"{host}:{port}",
                                               "--steps", ",".join(map(str, steps)), "--max-seconds", "300"],
                       stdout_pipe=True, stdin_pipe=True)
    try:
        for i, step in enumerate(steps):
            got = _read_line(hold, 240)
            time.sleep(settle)
            row = {"step": step, "open": got["open"], "failed": got["failed"], "open_s": got["elapsed_s"],
                   "mem": memory_kib(target.pid)}
            if target.active:
                row["proxy_active"] = target.active()
            out["steps"].append(row)
            hold.popen.stdin.write("next\n" if i + 1 < len(steps) else "close\n")
            hold.popen.stdin.flush()
            if got["open"] < step:
                break
        hold.popen.wait(60)
    finally:
        procs.stop(hold)
    if target.active:
        wait_for(lambda: target.active() == 0, 30, f"{target.name} to close the idle connections")
    time.sleep(settle)
    out["after_close"] = memory_kib(target.pid)
    last = out["steps"][-1]
    if last["open"] > 0:
        out["per_conn_kib"] = round((last["mem"]["VmRSS"] - base["VmRSS"]) / last["open"], 3)
        out["per_conn_anon_kib"] = round((last["mem"]["RssAnon"] - base["RssAnon"]) / last["open"], 3)
    if len(out["steps"]) >= 2:
        a, b = out["steps"][-2], out["steps"][-1]
        if b["open"] > a["open"]:
            out["slope_kib"] = round((b["mem"]["VmRSS"] - a["mem"]["VmRSS"]) / (b["open"] - a["open"]), 3)
    return out
