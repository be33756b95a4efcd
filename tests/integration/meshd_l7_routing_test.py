#!/usr/bin/env python3
"""Privileged: the client side (outbound) of the HTTP/1.1 data path of real meshd — per-request
routing, weighted subsets, header operations, rewrites, redirects, 404 for no route, per-request
load balancing and reloads under load — between pods on two netns nodes, with mTLS from the
built-in CA. Backends and keep-alive clients are tests/support/l7_routing_app.py (stdlib
http.server and http.client).

    n1  web (sa web, the client)     reviews-v2
    n2  reviews-v1                   reviews-v3
    (all of shop; reviews-* have sa reviews and labels app=reviews, version=vN; v1 and v2
    also pair=yes)

Every backend listens on 8080 and 8081 and answers JSON naming its version, the method, path
and headers it got, with `x-backend: vN` and three x-app-* response headers. The services
select those pods, each for one scenario, all on port 9080 (VIPs 198.19.0.20-26; the policy
is written by meshd_l7_routing_topology.py):

    reviews        -> 8080 http   bookinfo's A/B: end-user: jason -> v2, everyone else -> v1
    reviews-canary -> 8080 http   90/10 to v1/v2
    reviews-bg     -> 8080 http   blue-green, 0/100 to v1/v2, flipped to 100/0 under load
    reviews-match  -> 8081 (sniffed)  match conditions, actions and redirects; no catch-all,
                   so a request matching no rule gets 404 (NR)
    reviews-rr     -> 8081, pair, no route, round_robin
    reviews-hash   -> 8081, pair, no route, consistent_hash on x-user
    reviews-any    -> 8081, pair, no route, no destination (least_request over all endpoints)

Checks: 1. canary share; 2. A/B by header on shared connections; 3. blue-green flip under
load: no request lost, before/after colors, an in-flight request finishes on the old route
and the next one on its connection takes the new one; 4. path exact/prefix/regex, method,
query, without_headers, source labels, port and any-of matches, 404 with an empty body the
backends never see, istio_requests_total{reporter="source",response_code="404",
response_flags="NR"}; 5. request/response header set/add/remove, prefix and exact path
rewrite, authority rewrite, 301 and 302 redirects with their Location; 6. round_robin
alternating on one connection, consistent_hash sticky per x-user and spread, no route spread
per request; 7. `meshctl policy explain` agrees with the data path; 8. a pod IP dialled
directly stays L4 (no rule applies, nothing recorded with reporter="source").

Usage: meshd_l7_routing_test.py BUILD_DIR. Exit 77 without root, cgroup2 or eBPF capture."""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import capture_scenarios as cs  # noqa: E402 (puts tests/support on the path)
import netns_harness as nh  # noqa: E402
from meshd_l7_routing_topology import (APP, PORT, SERVICES, Topology, fqdn, header_values, host_of,  # noqa: E402
                                       policy_text)


class Routing(Topology):
    # --- 1. canary -----------------------------------------------------------------------------
    def canary(self):
        c = self.c
        print("--- 1. 90/10 canary: 2 000 requests over 4 keep-alive connections to reviews-canary")
        d = self.delta(self.n1)
        n = 2000
        res, connects = self.send("reviews-canary", [{"path": f"/canary/{i}"} for i in range(n)], connections=4,
                                  full=False)
        t = self.tally(res)
        ok = sum(1 for r in res if r["status"] == 200)
        c.check(ok == n, f"all {n} requests answered 200", t)
        c.check(connects == [1, 1, 1, 1], "over 4 connections kept alive throughout", connects)
        share = 100.0 * t.get("v2", 0) / n
        c.check(abs(share - 10) <= 3, "v2's share is within ±3 points of 10 %", f"{share:.1f} % ({t})")
        c.check(t.get("v1", 0) + t.get("v2", 0) == ok, "only v1 and v2 answer (v3 is in no route target)", t)
        c.check(d.until(lambda d: self.source_requests(d, "reviews-canary") >= n) and
                self.source_requests(d, "reviews-canary", response_code="200", response_flags="-") == n,
                f"n1 counts {n} istio_requests_total{{reporter=\"source\", destination_service=reviews-canary, "
                "response_code=\"200\"}", d.after.series("istio_requests_total", reporter="source"))

    # --- 2. A/B by header ----------------------------------------------------------------------
    def ab(self):
        c = self.c
        print("--- 2. A/B by header on reviews: end-user: jason -> v2, everyone else -> v1")
        kinds = [("jason", {"end-user": "jason"}), ("mary", {"end-user": "mary"}), ("none", {}),
                 ("Jason", {"end-user": "Jason"})]
        reqs = [{"path": f"/reviews/{i}", "headers": kinds[i % 4][1]} for i in range(160)]
        res, connects = self.send("reviews", reqs, connections=2, full=False)
        by = {k: self.tally(r for i, r in enumerate(res) if kinds[i % 4][0] == k) for k, _ in kinds}
        c.check(by["jason"] == {"v2": 40}, "end-user: jason → v2, all 40", by["jason"])
        c.check(by["mary"] == {"v1": 40}, "end-user: mary → v1, all 40", by["mary"])
        c.check(by["none"] == {"v1": 40}, "no end-user → v1, all 40", by["none"])
        c.check(by["Jason"] == {"v1": 40}, "end-user: Jason → v1 (an exact match is case-sensitive)", by["Jason"])
        c.check(connects == [1, 1], "mixed on the same 2 keep-alive connections: routed per request", connects)

    # --- 3. blue-green under load --------------------------------------------------------------
    def blue_green(self):
        c, h = self.c, self.h
        print("--- 3. blue-green: reviews-bg 0/100 → 100/0 (v1/v2) under keep-alive load")
        release = f"{h.tmp}/hold-release"
        cmd = [sys.executable, APP, "flip", f"{SERVICES['reviews-bg'][0]}:{PORT}", "--host", host_of("reviews-bg"),
               "--connections", "4", "--after", "100", "--max-seconds", "25"]
        load = subprocess.Popen(h._wrap(self.web.cgroup, self.web.netns, cmd), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        h.procs.append(load)  # killed at teardown if still running
        ready = load.stdout.readline().strip()
        c.check(ready == "ready", "4 connections under continuous load", ready)
        # An in-flight request: the backend logs it and holds the answer until `release` exists.
        self.seq += 1
        hold_tag, next_tag = f"t{self.seq}-hold", f"t{self.seq}-next"
        spec = {"connections": 1, "host": host_of("reviews-bg"), "full": True, "requests": [
            {"path": "/held", "headers": [["x-hold", release], ["x-test", hold_tag]]},
            {"path": "/next", "headers": [["x-test", next_tag]]}]}
        spec_path = f"{h.tmp}/spec-hold.json"
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        held = h.spawn_in_pod(self.web, [sys.executable, APP, "requests", f"{SERVICES['reviews-bg'][0]}:{PORT}",
                                         "--spec", spec_path, "--timeout", "20"])
        deadline = time.monotonic() + 10
        while not self.seen_tag(hold_tag) and time.monotonic() < deadline:
            time.sleep(0.02)
        c.check(bool(self.seen_tag(hold_tag)), "a request is held in flight at a backend",
                "the backend never saw it")
        old = self.policy_versions()
        self.flip_cmd(load, "flip")
        self.write_policy(policy_text(self.workloads, blue_weight=100, comment="flipped to blue"))
        new = self.wait_reload(old)
        c.check(new is not None, "every node reloaded the flipped policy", self.policy_versions())
        self.flip_cmd(load, "mark")
        with open(release, "w"):
            pass
        out, err = self.communicate(load, 40)
        hout, herr = self.communicate(held, 40)
        try:
            result = json.loads(out.strip().splitlines()[-1])
        except (IndexError, ValueError):
            result = {"error": f"{out} {err[-500:]}"}
        try:
            hold = json.loads(hout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            hold = {"error": f"{hout} {herr[-500:]}"}
        c.check(result.get("failed") == 0 and result.get("total", 0) > 0 and result.get("running") == 0,
                "no request failed across the flip", {k: result.get(k) for k in ("total", "failed", "errors",
                                                                                  "running", "error")})
        before, after = result.get("before", {}), result.get("after", {})
        c.check(before and set(before) == {"v2"}, "before the flip every request went to green (v2)", before)
        c.check(after == {"v1": 400}, "after the reload all 400 requests went to blue (v1)", after)
        print(f"     (during the reload: {result.get('during')})")
        hres = hold.get("results") or [{}, {}]
        c.check(hres[0].get("status") == 200 and hres[0].get("version") == "v2",
                "the request in flight during the reload finished, answered by green (v2)", hres[0])
        c.check(hres[1].get("status") == 200 and hres[1].get("version") == "v1" and hold.get("connects") == [1],
                "the next request on its connection went to blue (v1)", hold)
        c.check(all(h.status(n)["policy"]["last_reload"]["result"] == "ok" for n in h.nodes),
                "the reload succeeded on every node")

    # --- 4. matches ------------------------------------------------------------------------------
    POSITIVE = [  # (what, method, path, headers, rule, version)
        ("path exact /exact", "GET", "/exact", {}, "exact-path", "v1"),
        ("path exact ignores the query: /exact?x=1", "GET", "/exact?x=1", {}, "exact-path", "v1"),
        ("path regex /items/42", "GET", "/items/42", {}, "regex-path", "v3"),
        ("method DELETE /m/1", "DELETE", "/m/1", {}, "delete-only", "v2"),
        ("query flavor=canary", "GET", "/q?flavor=canary", {}, "query-flavor", "v3"),
        ("query flavor=canary among other parameters", "GET", "/q/x?a=b&flavor=canary", {}, "query-flavor", "v3"),
        ("without_headers: /w without x-debug", "GET", "/w", {}, "no-debug", "v1"),
        ("source_labels app=web, source_namespace shop (the app=nobody rule before it is skipped)", "GET", "/src/1",
         {}, "web-source", "v2"),
        ("port 9080 (the port 9999 rule before it is skipped)", "GET", "/port", {}, "this-port", "v1"),
        ("the first of two match tables: x-a: 1", "GET", "/any", {"x-a": "1"}, "any-of", "v2"),
        ("the second of two match tables: x-b: yes", "GET", "/any", {"x-b": "yes"}, "any-of", "v2"),
    ]
    NEGATIVE = [  # (what, method, path, headers)
        ("a path no rule names: /nothing", "GET", "/nothing", {}),
        ("exact is not a prefix: /exact/sub", "GET", "/exact/sub", {}),
        ("exact is case-sensitive: /EXACT", "GET", "/EXACT", {}),
        ("a regex matches the whole path: /items/42/x", "GET", "/items/42/x", {}),
        ("a regex that does not match: /items/abc", "GET", "/items/abc", {}),
        ("GET where the rule needs DELETE: /m/1", "GET", "/m/1", {}),
        ("a query parameter with another value: /q?flavor=stable", "GET", "/q?flavor=stable", {}),
        ("a missing query parameter: /q", "GET", "/q", {}),
        ("without_headers: /w with x-debug", "GET", "/w", {"x-debug": "1"}),
        ("prefix /api/ does not match /api", "GET", "/api", {}),
        ("a match table needs all its conditions: /any with x-a: 2", "GET", "/any", {"x-a": "2"}),
    ]

    def matches(self):
        c = self.c
        print("--- 4. matches on reviews-match: the first matching rule wins, no rule → 404 (NR)")
        d = self.delta(self.n1)
        reqs = [{"method": m, "path": p, "headers": hd} for _w, m, p, hd, _r, _v in self.POSITIVE]
        reqs += [{"method": m, "path": p, "headers": hd} for _w, m, p, hd in self.NEGATIVE]
        order = [i for pair in zip(range(len(self.POSITIVE)), range(len(self.POSITIVE), len(reqs))) for i in pair]
        res, connects = self.send("reviews-match", [reqs[i] for i in order], connections=2)
        by_index = dict(zip(order, res))
        for i, (what, _m, _p, _h, rule, version) in enumerate(self.POSITIVE):
            r = by_index[i]
            got = header_values((r.get("seen") or {}).get("headers"), "x-rule")
            c.check(r["status"] == 200 and r["version"] == version and got == [rule],
                    f"{what} → rule '{rule}' ({version})",
                    {"status": r["status"], "version": r["version"], "x-rule": got, "error": r["error"]})
        for i, (what, *_x) in enumerate(self.NEGATIVE):
            r = by_index[len(self.POSITIVE) + i]
            c.check(r["status"] == 404 and r.get("body") == "" and not self.seen_tag(r["tag"]),
                    f"{what} → 404, empty body, no backend saw it",
                    {"status": r["status"], "version": r["version"], "body": (r.get("body") or "")[:80],
                     "seen by": [v for v, _ in self.seen_tag(r["tag"])]})
        c.check(connects == [1, 1], "the 404s keep the connections open (2 connections for all of them)", connects)
        n_neg, n_pos = len(self.NEGATIVE), len(self.POSITIVE)
        d.until(lambda d: (self.source_requests(d, "reviews-match") or 0) >= n_neg + n_pos)
        c.check(self.source_requests(d, "reviews-match", response_code="404", response_flags="NR") == n_neg,
                f"n1: istio_requests_total{{reporter=\"source\", response_code=\"404\", response_flags=\"NR\"}} "
                f"went up by {n_neg}", d.after.series("istio_requests_total", reporter="source",
                                                      destination_service=fqdn("reviews-match")))
        c.check(self.source_requests(d, "reviews-match", response_code="200", response_flags="-") == n_pos,
                f"n1: and response_code=\"200\" by {n_pos}")

    # --- 5. actions ------------------------------------------------------------------------------
    def actions(self):
        c = self.c
        print("--- 5. actions on reviews-match: header operations, rewrites, redirects (one connection)")
        reqs = [
            {"path": "/hdr", "headers": {"x-set": "client", "x-add": "client", "x-remove": "client"}},
            {"path": "/api/users?id=3"},
            {"path": "/exact-rw?k=v"},
            {"path": "/old/page?x=1"},
            {"path": "/moved/x?y=1"},
            {"path": "/exact", "headers": {"x-remove": "client"}},
        ]
        res, connects = self.send("reviews-match", reqs)
        hdr, pre, exact, redirect, redirect2, plain = res
        seen = (hdr.get("seen") or {}).get("headers")
        c.check(hdr["status"] == 200 and hdr["version"] == "v1" and header_values(seen, "x-rule") == ["header-ops"],
                "GET /hdr → rule 'header-ops' (v1)", (hdr["version"], header_values(seen, "x-rule")))
        c.check(header_values(seen, "x-set") == ["mesh"], "request set: the backend sees x-set: mesh (not the "
                "client's)", header_values(seen, "x-set"))
        c.check(header_values(seen, "x-add") == ["client", "mesh"], "request add: the backend sees x-add: client "
                "and then mesh", header_values(seen, "x-add"))
        c.check(seen is not None and not header_values(seen, "x-remove"), "request remove: the backend sees no "
                "x-remove", header_values(seen, "x-remove"))
        rh = hdr.get("headers")
        c.check(header_values(rh, "x-app-set") == ["mesh"], "response set: the client sees x-app-set: mesh",
                header_values(rh, "x-app-set"))
        c.check(header_values(rh, "x-app-add") == ["app", "mesh"], "response add: the client sees x-app-add: app "
                "and then mesh", header_values(rh, "x-app-add"))
        c.check(rh is not None and not header_values(rh, "x-app-remove") and header_values(rh, "x-backend") == ["v1"],
                "response remove: the client sees no x-app-remove (and the backend's other headers)",
                rh)
        ps = pre.get("seen") or {}
        c.check(pre["version"] == "v2" and ps.get("path") == "/v1/users?id=3",
                "prefix rewrite /api/ → /v1/: the backend sees /v1/users?id=3", (pre["version"], ps.get("path")))
        c.check(header_values(ps.get("headers"), "host") == ["reviews-internal"],
                "authority rewrite: the backend sees Host: reviews-internal", header_values(ps.get("headers"), "host"))
        es = exact.get("seen") or {}
        c.check(exact["version"] == "v3" and es.get("path") == "/replaced?k=v" and
                header_values(es.get("headers"), "host") == [host_of("reviews-match")],
                "exact rewrite /exact-rw → /replaced keeps the query and the Host",
                (exact["version"], es.get("path"), header_values(es.get("headers"), "host")))
        for r, code, loc, what in ((redirect, 301, f"http://{host_of('reviews-match')}/new/place?x=1",
                                    "redirect { path } (default code)"),
                                   (redirect2, 302, "http://reviews-next.shop/moved/x?y=1",
                                    "redirect { authority, code = 302 } drops the port, keeps path and query")):
            got = header_values(r.get("headers"), "location")
            c.check(r["status"] == code and got == [loc] and not self.seen_tag(r["tag"]),
                    f"{what} → {code} Location: {loc}, no backend saw it",
                    {"status": r["status"], "location": got, "seen by": [v for v, _ in self.seen_tag(r["tag"])]})
        pseen = (plain.get("seen") or {}).get("headers")
        c.check(plain["status"] == 200 and header_values(pseen, "x-remove") == ["client"] and
                header_values(plain.get("headers"), "x-app-remove") == ["app"],
                "a rule without header operations leaves the request's and the response's headers alone",
                {"x-remove": header_values(pseen, "x-remove"),
                 "x-app-remove": header_values(plain.get("headers"), "x-app-remove")})
        c.check(connects == [1], "all on one keep-alive connection, redirects included", connects)

    # --- 6. load balancing per request -----------------------------------------------------------
    def balancing(self):
        c = self.c
        print("--- 6. load balancing per request (reviews-rr, reviews-hash, reviews-any: v1 and v2)")
        res, connects = self.send("reviews-rr", [{"path": f"/rr/{i}"} for i in range(20)], full=False)
        seq = [r["version"] for r in res]
        alternates = all(a != b for a, b in zip(seq, seq[1:]))
        c.check(alternates and set(seq) == {"v1", "v2"} and connects == [1],
                "round_robin: 20 requests on one connection alternate strictly between v1 and v2",
                f"{seq} connects {connects}")
        users = [f"user-{i}" for i in range(16)]
        # Each user's requests alternate between the two connections.
        reqs = [{"path": f"/hash/{k}", "headers": {"x-user": u}, "conn": (k + i) % 2} for k in range(4)
                for i, u in enumerate(users)]
        res, connects = self.send("reviews-hash", reqs, connections=2, full=False)
        per_user = {}
        for req, r in zip(reqs, res):
            per_user.setdefault(req["headers"]["x-user"], []).append(r["version"] if r["status"] == 200 else None)
        sticky = all(len(set(v)) == 1 and None not in v for v in per_user.values())
        spread = {v[0] for v in per_user.values()}
        c.check(sticky, "consistent_hash on x-user: each of 16 users always reaches the same endpoint (4 requests, "
                "2 connections)", per_user)
        c.check(spread == {"v1", "v2"}, "and the 16 users are spread over both endpoints", spread)
        res, connects = self.send("reviews-any", [{"path": f"/any/{i}"} for i in range(100)], full=False)
        t = self.tally(res)
        c.check(set(t) == {"v1", "v2"} and connects == [1],
                "no route, no destination: 100 requests on one connection reach both endpoints of the service",
                f"{t} connects {connects}")

    # --- 7. explain ----------------------------------------------------------------------------
    SAMPLES = [  # (service, method, path, headers)
        ("reviews", "GET", "/reviews/7", {"end-user": "jason"}),
        ("reviews", "GET", "/reviews/7", {"end-user": "mary"}),
        ("reviews-match", "GET", "/items/7", {}),
        ("reviews-match", "DELETE", "/m/2", {}),
        ("reviews-match", "GET", "/api/users?id=3", {}),
        ("reviews-match", "GET", "/nothing", {}),
        ("reviews-match", "GET", "/old/page?x=1", {}),
    ]

    def explained(self):
        c = self.c
        print("--- 7. meshctl policy explain names what the data path did")
        for svc, method, path, headers in self.SAMPLES:
            e = self.explain(svc, method, path, headers)
            r = self.one(svc, path, method, headers)
            route = e.get("route") or {}
            actions = route.get("actions") or {}
            subsets = [t["subset"] for t in e.get("targets", []) if t.get("weight")]
            seen = r.get("seen") or {}
            what = f"{svc} {method} {path} {headers or ''}".rstrip()
            if route.get("outcome") == "no-match":
                c.check(r["status"] == 404, f"{what}: explain says no rule matches (404); the data path answered 404",
                        {"status": r["status"], "version": r["version"]})
            elif "redirect" in actions:
                red = actions["redirect"]
                c.check(r["status"] == red["code"] and header_values(r.get("headers"), "location") == [red["location"]],
                        f"{what}: explain's rule '{route.get('rule_name')}' redirects {red['code']} to "
                        f"{red['location']}; so did the data path",
                        {"status": r["status"], "location": header_values(r.get("headers"), "location")})
            else:
                rule = route.get("rule_name")
                want_path = (actions.get("rewrite_path") or {}).get("path", path)
                c.check(len(subsets) == 1 and r["version"] == subsets[0] and
                        header_values(seen.get("headers"), "x-rule") == [rule] and seen.get("path") == want_path,
                        f"{what}: explain names rule '{rule}', subset {subsets}, path {want_path}; the data path "
                        "took them", {"explain": {"route": route, "subsets": subsets, "error": e.get("error")},
                                      "data path": {"status": r["status"], "version": r["version"], "path":
                                                    seen.get("path"), "x-rule": header_values(seen.get("headers"),
                                                                                              "x-rule")}})

    # --- 8. a pod IP stays L4 --------------------------------------------------------------------
    def direct(self):
        c = self.c
        v1 = self.pods["v1"]
        print("--- 8. a reviews pod IP dialled directly stays L4 (no route applies)")
        d = self.delta(self.n1)
        reqs = [{"path": "/nothing"}, {"path": "/api/users?id=3"}, {"path": "/old/page?x=1"}]
        res, connects = self.send("reviews-match", reqs, addr=v1.addr(8081))
        paths = [(r.get("seen") or {}).get("path") for r in res]
        rules = [header_values(((r.get("seen") or {}).get("headers")), "x-rule") for r in res]
        c.check([r["status"] for r in res] == [200] * 3 and {r["version"] for r in res} == {"v1"} and connects == [1],
                f"web → {v1.addr(8081)}: /nothing, /api/users, /old/page all answered 200 by reviews-v1 on one "
                "connection (no 404, no redirect)", [(r["status"], r["version"], r["error"]) for r in res])
        c.check(paths == ["/nothing", "/api/users?id=3", "/old/page?x=1"] and rules == [[], [], []],
                "the backend sees the paths unchanged and no rule's headers", {"paths": paths, "x-rule": rules})
        # A request through a VIP afterwards: once it is counted, the direct ones would be too.
        self.one("reviews-any", "/after-direct")
        d.until(lambda d: (self.source_requests(d, "reviews-any") or 0) >= 1)
        direct = d.get("istio_requests_total", reporter="source") - self.source_requests(d, "reviews-any")
        c.check(self.source_requests(d, "reviews-any") == 1 and direct == 0,
                "n1 recorded the VIP request after them with reporter=\"source\", and none of the direct ones",
                {"reviews-any": self.source_requests(d, "reviews-any"), "others": direct})


def run(build):
    c = cs.Checker()
    nh.enter_private_namespace()
    t0 = time.monotonic()
    with nh.Harness(build, meshd=True) as h:
        t = Routing(h, c)
        t.build()
        print(f"(topology ready in {time.monotonic() - t0:.1f} s)")
        for scenario in (t.canary, t.ab, t.matches, t.actions, t.balancing, t.explained, t.direct, t.blue_green):
            t1 = time.monotonic()
            scenario()
            print(f"     ({scenario.__name__}: {time.monotonic() - t1:.1f} s)")
        if c.failures:
            for n in h.nodes:
                print(f"--- meshd log on {n.name} ---\n{h.daemon_log(n)}")
    print(f"ran in {time.monotonic() - t0:.1f} s")
    return c.finish()


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
