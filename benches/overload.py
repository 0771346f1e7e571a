#!/usr/bin/env python3
"""Overload benchmark on loopback: the proxy in front of the demo ERP in overload mode (a cursor
pool of 8 like a threaded Odoo with a small db_maxconn, each call holding its cursor for
--hold-ms), with the adaptive limit against fixed limits of 4, 8, 16 and 64.

One run, interleaved: every round runs every (concurrency, limit) cell once, the limits in a
rotated order, one proxy per limit (all started before the first round). The table quotes the
medians over the rounds of requests/s, p50 and p99 (wrk), and the bad answers summed over the
rounds (non-2xx and socket errors: connect, read, write, timeout). A cell with any bad answer
FAILS. The load average is printed before and after (the machine may be shared).

Request: GET /api/res.partner/1 with field=['name'] (one search_read per REST call once the gate
is cached), logged in once per proxy.

Needs: wrk (Debian package), a release build (`cargo build --release`).
Usage: python3 benches/overload.py [--rounds 2] [--seconds 4] [--concurrency 64,256]
           [--limits adaptive,4,8,16,64] [--pool 8] [--hold-ms 5] [--markdown FILE]
Bounded: rounds x concurrencies x limits x seconds (80 s with the defaults), plus start-up.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import BINARY, free_port, lua_script, run_wrk, stop_all, wait_port  # noqa: E402


def limit_config(limit):
    """`[upstream]` keys for one limit: adaptive (the defaults) or fixed (min = max)."""
    if limit == "adaptive":
        return ""
    return f"[upstream]\nmin_concurrency = {limit}\nmax_concurrency = {limit}\n"


def login(port):
    form = urllib.parse.urlencode({"username": "admin", "password": "admin", "db": "demo"}).encode()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/auth/get_tokens", form, timeout=30) as r:
        return json.loads(r.read())["access_token"]


def loadavg():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--concurrency", default="64,256")
    parser.add_argument("--limits", default="adaptive,4,8,16,64")
    parser.add_argument("--pool", type=int, default=8, help="the demo ERP's cursor pool")
    parser.add_argument("--hold-ms", type=int, default=5, help="how long each call holds a cursor")
    parser.add_argument("--markdown")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk")
    if not BINARY.exists():
        sys.exit("build first: cargo build --release")
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    limits = args.limits.split(",")

    tmp = Path(tempfile.mkdtemp(prefix="orp-overload-"))
    procs = []
    try:
        erp_port = free_port()
        erp = subprocess.Popen([BINARY, "--config", "/dev/null", "demo-erp", "--keep-alive",
                                "--cursor-pool", str(args.pool), "--cursor-hold-ms", str(args.hold_ms),
                                "--listen", f"127.0.0.1:{erp_port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(erp)
        wait_port(erp_port)
        proxies = {}
        for limit in limits:
            config = tmp / f"limit-{limit}.toml"
            config.write_text(limit_config(limit))
            port = free_port()
            proxy = subprocess.Popen([BINARY, "--config", str(config), "--listen", f"127.0.0.1:{port}",
                                      "--upstream", f"http://127.0.0.1:{erp_port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env={**os.environ, "RUST_LOG": "error"})
            procs.append(proxy)
            wait_port(port)
            script = tmp / f"get-{limit}.lua"
            lua_script(script, "GET", None, {"access_token": login(port)})
            proxies[limit] = (port, script)

        before = loadavg()
        print(f"load average before: {before}", flush=True)
        cells = {}
        for round_no in range(args.rounds):
            for c in concurrencies:
                shift = (round_no + concurrencies.index(c)) % len(limits)
                for limit in limits[shift:] + limits[:shift]:
                    port, script = proxies[limit]
                    url = f"http://127.0.0.1:{port}/api/res.partner/1?field=%5B%27name%27%5D"
                    r = run_wrk(url, str(script), c, args.seconds)
                    socket_bad = sum(int(n) for n in re.findall(r"\d+", r["socket_errors"]))
                    r["bad"] = r["errors"] + socket_bad
                    cells.setdefault((c, limit), []).append(r)
                    print(f"round {round_no + 1} c={c} limit={limit}: {r['rps']:.0f} req/s, "
                          f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, bad {r['bad']}", flush=True)
        after = loadavg()
        print(f"load average after: {after}", flush=True)

        lines = ["| c | limit | req/s | p50 ms | p99 ms | bad answers | cell |",
                 "|---|---|---|---|---|---|---|"]
        verdicts = []
        for c in concurrencies:
            medians = {}
            for limit in limits:
                runs = cells[(c, limit)]
                rps = statistics.median(r["rps"] for r in runs)
                p50 = statistics.median(r["p50"] for r in runs)
                p99 = statistics.median(r["p99"] for r in runs)
                bad = sum(r["bad"] for r in runs)
                medians[limit] = (rps, bad)
                lines.append(f"| {c} | {limit} | {rps:.0f} | {p50:.1f} | {p99:.1f} | {bad} | "
                             f"{'ok' if bad == 0 else 'FAIL'} |")
            fixed = [(rps, limit) for limit, (rps, bad) in medians.items() if limit != "adaptive" and bad == 0]
            if "adaptive" in medians and fixed:
                best, best_limit = max(fixed)
                ratio = medians["adaptive"][0] / best
                verdicts.append(f"c={c}: adaptive {medians['adaptive'][0]:.0f} req/s = {ratio:.0%} of the "
                                f"best fixed limit without bad answers ({best_limit}: {best:.0f} req/s); "
                                f"target >= 90%: {'met' if ratio >= 0.9 and medians['adaptive'][1] == 0 else 'NOT met'}")
        table = "\n".join(lines)
        summary = "\n".join(verdicts)
        print(table)
        print(summary)
        if args.markdown:
            Path(args.markdown).write_text(
                f"{table}\n\n{summary}\n\nload average before {before}, after {after}\n")
    finally:
        stop_all(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
