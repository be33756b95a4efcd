"""Markdown tables and PASS/MISS targets for bench/l7/run.py's results."""
import statistics

PEERS = ("nginx", "haproxy")


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def by_path(runs, key):
    out = {}
    for r in runs:
        out.setdefault(r["path"], []).append(key(r))
    return out


def fmt(x, digits=1):
    return "-" if x is None else f"{x:,.{digits}f}"


def runs_text(xs, digits=0):
    return " / ".join(fmt(x, digits) for x in xs)


def render(res):
    lines, targets = [], []

    def target(name, value, goal, ok, why=""):
        targets.append({"name": name, "value": value, "goal": goal, "status": "PASS" if ok else "MISS", "why": why})

    def best_peer(values):
        got = {p: values[p] for p in PEERS if values.get(p) is not None}
        return min(got.items(), key=lambda kv: kv[1]) if got else (None, None)

    cpu_sat = {}
    if res.get("saturation"):
        runs = res["saturation"]
        rps = by_path(runs, lambda r: r["rps"])
        cpu = by_path(runs, lambda r: r["proxy_cpu_us_per_req"])
        ocpu = by_path(runs, lambda r: r["origin_cpu_s"] / r["succeeded"] * 1e6 if r["succeeded"] else None)
        ccpu = by_path(runs, lambda r: r["client_cpu_s"] / r["succeeded"] * 1e6 if r["succeeded"] else None)
        err = by_path(runs, lambda r: r.get("failed", 0) + r.get("errored", 0) + r.get("status_non2xx", 0))
        busy = by_path(runs, lambda r: ((r["proxy_cpu_s"] or 0) + r["origin_cpu_s"] + r["client_cpu_s"]) / r["seconds"])
        lines += ["**Saturation: h2load --h1, {} connections, 1 thread, closed loop (every run; median)**".format(
            res["args"]["connections"]), "",
            "| path | req/s (runs) | req/s median | proxy CPU µs/req (runs) | median | origin CPU µs/req | h2load CPU µs/req | CPUs busy | errors |",
            "|---|---|---|---|---|---|---|---|---|"]
        for p in rps:
            cpu_sat[p] = med(cpu[p])
            lines.append(f"| {p} | {runs_text(rps[p])} | {fmt(med(rps[p]), 0)} | {runs_text(cpu[p], 1)} | "
                         f"{fmt(med(cpu[p]))} | {fmt(med(ocpu[p]))} | {fmt(med(ccpu[p]))} | {fmt(med(busy[p]), 2)} | {sum(err[p])} |")
        m = {p: med(v) for p, v in rps.items()}
        if m.get("meshd-l7"):
            got = {p: m[p] for p in PEERS if m.get(p)}
            if got:
                bp, bv = max(got.items(), key=lambda kv: kv[1])
                r = m["meshd-l7"] / bv
                target(f"saturation req/s, meshd L7 / better peer chain ({bp})", f"{r:.2f} ({m['meshd-l7']:,.0f} vs {bv:,.0f})",
                       "≥ 1.3", r >= 1.3)
        if cpu_sat.get("meshd-l7"):
            bp, bv = best_peer(cpu_sat)
            if bp:
                r = cpu_sat["meshd-l7"] / bv
                target(f"proxy CPU per request at saturation, meshd L7 / better peer chain ({bp})",
                       f"{r:.2f} ({cpu_sat['meshd-l7']:.1f} vs {bv:.1f} µs)", "≤ 0.6", r <= 0.6)
            if cpu_sat.get("meshd-l4"):
                r = cpu_sat["meshd-l7"] / cpu_sat["meshd-l4"]
                target("proxy CPU per 1 KiB request at saturation, meshd L7 / meshd L4",
                       f"{r:.2f} ({cpu_sat['meshd-l7']:.1f} vs {cpu_sat['meshd-l4']:.1f} µs)", "≤ 1.3", r <= 1.3)
        lines.append("")
    if res.get("rr", {}).get("runs"):
        rr = res["rr"]
        runs = rr["runs"]
        q = {k: by_path(runs, lambda r, k=k: r["latency_us"][k]) for k in ("p50", "p99", "p999")}
        cpu = by_path(runs, lambda r: r["proxy_cpu_us_per_req"])
        ach = by_path(runs, lambda r: r["achieved_rps"])
        err = by_path(runs, lambda r: sum(r["errors"].values()))
        lag = by_path(runs, lambda r: r["send_lag_us"]["p99"])
        lines += [f"**Open loop: {rr['rate']:,} req/s over 100 keep-alive connections ({rr['sched']}); latency µs from the "
                  "scheduled send time (every run; added = median − direct's median)**", "",
                  "| path | achieved/s | p50 (runs) | p99 (runs) | p99.9 (runs) | added p50 | added p99 | added p99.9 | "
                  "proxy CPU µs/req (runs) | send delay p99 | errors |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        base = {k: med(q[k].get("direct", [])) for k in q}
        added = {}
        for p in q["p50"]:
            a = {k: (med(q[k][p]) - base[k]) if base[k] is not None else None for k in q}
            added[p] = a
            lines.append(f"| {p} | {fmt(med(ach[p]), 0)} | {runs_text(q['p50'][p])} | {runs_text(q['p99'][p])} | "
                         f"{runs_text(q['p999'][p])} | {fmt(a['p50'], 0)} | {fmt(a['p99'], 0)} | {fmt(a['p999'], 0)} | "
                         f"{runs_text(cpu[p], 1)} | {fmt(med(lag[p]), 0)} | {sum(err[p])} |")
        # Noise on the shared machine only ever adds latency: the target is judged on each path's
        # best round (lowest p99) over the direct path's best, as bench/l4 does; the median is shown too.
        best = {p: min(v) - min(q["p99"]["direct"]) for p, v in q["p99"].items()} if "direct" in q["p99"] else {}
        lines.append("")
        lines.append("Best round (lowest p99 of each path − the direct path's lowest), µs: " +
                     ", ".join(f"{p} {v:.0f}" for p, v in best.items() if p != "direct"))
        if "meshd-l7" in best:
            bp, bv = best_peer({p: best[p] for p in PEERS if p in best})
            if bp:
                r = best["meshd-l7"] / bv if bv > 0 else float("inf")
                mp, mv = best_peer({p: added[p]["p99"] for p in PEERS if p in added})
                target(f"added p99 at {rr['rate']:,}/s, meshd L7 / better peer chain ({bp}), best rounds",
                       f"{r:.2f} ({best['meshd-l7']:.0f} vs {bv:.0f} µs; medians {added['meshd-l7']['p99']:.0f} vs "
                       f"{mv:.0f} ({mp}))", "≤ 0.5", r <= 0.5)
            c = {p: med(v) for p, v in cpu.items()}
            if not cpu_sat.get("meshd-l7") and c.get("meshd-l7"):
                bp, bv = best_peer(c)
                if bp:
                    r = c["meshd-l7"] / bv
                    target(f"proxy CPU per request at {rr['rate']:,}/s, meshd L7 / better peer chain ({bp})",
                           f"{r:.2f}", "≤ 0.6", r <= 0.6)
        lines.append("")
    if res.get("idle"):
        lines += ["**Idle keep-alive HTTP connections (VmRSS of both hops' processes; per connection = (RSS with N − "
                  "RSS before) / N; slope = between the last two steps)**", "",
                  "| path | RSS before MiB | N idle | KiB/conn | client hop / server hop KiB/conn | slope KiB/conn | MiB per 1 000 | after close MiB |",
                  "|---|---|---|---|---|---|---|---|"]
        for p, row in res["idle"].items():
            n = row["steps"][-1]["open"] if row["steps"] else 0
            k = row.get("kib_per_conn")
            lines.append(f"| {p} | {row['before_kib'] / 1024:.2f} | {n:,} | {fmt(k, 2)} | "
                         f"{' / '.join(fmt(x, 2) for x in row.get('hop_kib_per_conn', []))} | {fmt(row.get('slope_kib'), 2)} | "
                         f"{fmt(k * 1000 / 1024 if k is not None else None, 2)} | {row['after_close_kib'] / 1024:.2f} |")
        k = res["idle"].get("meshd-l7", {}).get("kib_per_conn")
        if k is not None:
            target("RSS per idle HTTP connection, meshd L7 (both nodes)", f"{k:.2f} KiB", "≤ 8 KiB", k <= 8)
        lines.append("")
    lines += ["| target | measured | goal | status |", "|---|---|---|---|"]
    lines += [f"| {t['name']} | {t['value']} | {t['goal']} | **{t['status']}** |" for t in targets]
    return "\n".join(lines), targets
