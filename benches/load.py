#!/usr/bin/env python3
"""Load benchmark on loopback: REST through the proxy vs the same execute_kw sent directly to
the demo ERP vs that XML-RPC call forwarded by nginx `proxy_pass` (upstream keepalive on).

One run, interleaved: every round runs every (scenario, concurrency) cell for the three targets
in a rotated order, and the table quotes the medians over the rounds. Requests/s, p50 and p99
come from wrk; CPU time per request is read from /proc (utime + stime of the proxy process, or of
all nginx processes) before and after each cell, divided by the requests served.

Then memory, on the proxy only: the RSS growth for `--tokens` live access tokens (a second
proxy, with `[tokens] max_per_user` and `max_tokens` raised in a bench config since the demo ERP
has few users, logged into that many times over keep-alive connections; RSS after minus RSS before,
per token), and the peak RSS while wrk holds `--big-c` connections on GET one.

Needs: wrk and nginx (Debian packages), a release build (`cargo build --release`).
Usage: python3 benches/load.py [--rounds 3] [--seconds 5] [--concurrency 1,16,64]
           [--scenarios "GET one,POST create"] [--targets "proxy REST,nginx XML-RPC"]
           [--tokens 100000] [--big-c 256] [--no-memory] [--no-load] [--markdown FILE]
Bounded: rounds x scenarios x concurrencies x targets x seconds, plus the logins (about a minute
for 100,000 here) and one c=256 run of `seconds`.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import http.client
import time
import urllib.parse
import urllib.request
import xmlrpc.client
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "odoo-rest-proxy"
TICKS = os.sysconf("SC_CLK_TCK")
FIELDS5 = ["name", "email", "phone", "is_company", "country_id"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / TICKS


def rss_kib(pid, field="VmRSS"):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def login_many(port, count, connections=16):
    """Logs in `count` times over `connections` keep-alive connections; returns the tokens."""
    form = urllib.parse.urlencode({"username": "admin", "password": "admin", "db": "demo"})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    tokens, failures, lock = [], [], threading.Lock()

    def worker(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for _ in range(n):
            conn.request("POST", "/api/auth/get_tokens", body=form, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                with lock:
                    failures.append((resp.status, body[:200]))
                break
            mine.append(json.loads(body)["access_token"])
        conn.close()
        with lock:
            tokens.extend(mine)

    share = [count // connections + (i < count % connections) for i in range(connections)]
    threads = [threading.Thread(target=worker, args=(n,)) for n in share]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"{len(failures)} logins failed, first: {failures[0]}")
    return tokens


def logout_all(port, tokens):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for token in tokens:
        conn.request("POST", "/api/auth/delete_tokens", headers={"access_token": token})
        conn.getresponse().read()
    conn.close()


PROXY_ENV = {}


def start_proxy(erp_port, config=None, binary=None):
    port = free_port()
    proxy = subprocess.Popen([binary or BINARY, "--config", str(config or "/dev/null"), "--listen", f"127.0.0.1:{port}",
                              "--upstream", f"http://127.0.0.1:{erp_port}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "RUST_LOG": "warn", **PROXY_ENV})
    wait_port(port)
    return proxy, port


def measure_memory(args, tmp, erp_port, procs, main_proxy, main_port, token, rest_get_one):
    """Per-token RSS on a fresh proxy; peak RSS of the main proxy under --big-c connections."""
    lines = []
    if args.tokens:
        config = tmp / "tokens.toml"
        config.write_text(f"[tokens]\nttl_secs = 86400\nmax_tokens = {args.tokens + 1000}\n"
                          f"max_per_user = {args.tokens + 1000}\n"
                          # Parallel logins count as attempts while in flight: no login limit here.
                          "[limits]\nlogin_attempts = 0\n")
        proxy, port = start_proxy(erp_port, config)
        procs.append(proxy)
        # Warm up (connections, pools, allocator), then drop those tokens: the baseline.
        logout_all(port, login_many(port, 1000))
        before = rss_kib(proxy.pid)
        started = time.time()
        tokens = login_many(port, args.tokens)
        elapsed = time.time() - started
        after = rss_kib(proxy.pid)
        per_token = (after - before) * 1024 / len(tokens)
        print(f"tokens: {len(tokens)} logins in {elapsed:.1f} s; RSS {before} KiB -> {after} KiB; "
              f"{per_token:.0f} bytes per live token", flush=True)
        lines.append(f"| RSS per live token ({len(tokens):,} tokens; {before / 1024:.1f} MiB -> "
                     f"{after / 1024:.1f} MiB) | {per_token:.0f} bytes | <= 1024 bytes | "
                     f"{'met' if per_token <= 1024 else 'NOT met'} |")
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(timeout=10)
    if args.big_c:
        method, path, body = rest_get_one
        script = tmp / "big.lua"
        lua_script(script, method, body, {"access_token": token})
        samples = []
        done = threading.Event()

        def sample():
            while not done.is_set():
                samples.append(rss_kib(main_proxy.pid))
                done.wait(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            r = run_wrk(f"http://127.0.0.1:{main_port}{path}", str(script), args.big_c, args.seconds)
        finally:
            done.set()
            sampler.join()
        peak, hwm = max(samples) / 1024, rss_kib(main_proxy.pid, "VmHWM") / 1024
        print(f"c={args.big_c}: {r['rps']:.0f} req/s, p99 {r['p99']:.2f} ms, errors {r['errors']} "
              f"{r['socket_errors']}; RSS peak sampled {peak:.1f} MiB, VmHWM {hwm:.1f} MiB", flush=True)
        lines.append(f"| RSS under c={args.big_c} GET one ({r['rps']:.0f} req/s, p99 {r['p99']:.1f} ms; "
                     f"process high-water mark since start) | {hwm:.1f} MiB | <= 64 MiB | "
                     f"{'met' if hwm <= 64 else 'NOT met'} |")
    return lines


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def xml_value(v):
    if isinstance(v, bool):
        return f"<boolean>{int(v)}</boolean>"
    if isinstance(v, int):
        return f"<int>{v}</int>"
    if isinstance(v, str):
        return f"<string>{v}</string>"
    if isinstance(v, (list, tuple)):
        return "<array><data>" + "".join(f"<value>{xml_value(x)}</value>" for x in v) + "</data></array>"
    if isinstance(v, dict):
        return "<struct>" + "".join(f"<member><name>{k}</name><value>{xml_value(x)}</value></member>" for k, x in v.items()) + "</struct>"
    raise TypeError(v)


def execute_kw(model, method, args, kwargs=None):
    params = ["demo", 2, "admin", model, method, args] + ([kwargs] if kwargs is not None else [])
    body = "".join(f"<param><value>{xml_value(p)}</value></param>" for p in params)
    return f"<?xml version='1.0'?>\n<methodCall><methodName>execute_kw</methodName><params>{body}</params></methodCall>"


def lua_script(path, method, body, headers):
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines.append("wrk.body = " + json.dumps(body))
    for k, v in headers.items():
        lines.append(f'wrk.headers["{k}"] = "{v}"')
    Path(path).write_text("\n".join(lines) + "\n")


def run_wrk(url, script, connections, seconds):
    threads = max(1, min(2, connections))
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url],
        capture_output=True, text=True, timeout=seconds + 30,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "requests": requests, "rps": rps, "p50": pct(50), "p99": pct(99),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def main():
    global BINARY
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--scenarios", help="comma-separated subset of: GET one, GET 80 x 5 fields, POST create")
    parser.add_argument("--targets", help="comma-separated subset of: proxy REST, direct XML-RPC, nginx XML-RPC")
    parser.add_argument("--tokens", type=int, default=100_000, help="live tokens for the memory figure (0: skip)")
    parser.add_argument("--big-c", type=int, default=256, help="connections for the RSS-under-load figure (0: skip)")
    parser.add_argument("--no-memory", action="store_true", help="skip both memory figures")
    parser.add_argument("--no-load", action="store_true", help="skip the interleaved load table")
    parser.add_argument("--binary", default=str(BINARY), help="the proxy (and demo ERP) binary to measure")
    parser.add_argument("--proxy-env", action="append", default=[], metavar="KEY=VALUE",
                        help="an environment variable for the proxy only (e.g. TOKIO_WORKER_THREADS=1)")
    parser.add_argument("--compare", metavar="BINARY",
                        help="also measure the proxy of this other build (target 'other proxy REST'), for A/B")
    parser.add_argument("--markdown")
    args = parser.parse_args()
    PROXY_ENV.update(kv.split("=", 1) for kv in args.proxy_env)
    BINARY = Path(args.binary)
    if args.no_memory:
        args.tokens = args.big_c = 0
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install -y wrk nginx")
    if not BINARY.exists():
        sys.exit("build first: cargo build --release")

    tmp = Path(tempfile.mkdtemp(prefix="orp-load-"))
    procs = []
    try:
        erp_port, nginx_port = free_port(), free_port()
        erp = subprocess.Popen([BINARY, "--config", "/dev/null", "demo-erp", "--keep-alive", "--listen", f"127.0.0.1:{erp_port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(erp)
        wait_port(erp_port)
        proxy, proxy_port = start_proxy(erp_port)
        procs.append(proxy)
        if args.compare:
            other, other_port = start_proxy(erp_port, binary=args.compare)
            procs.append(other)
        conf = tmp / "nginx.conf"
        conf.write_text(f"""
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    upstream erp {{ server 127.0.0.1:{erp_port}; keepalive 128; }}
    server {{
        listen 127.0.0.1:{nginx_port};
        location / {{
            proxy_pass http://erp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
""")
        nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(nginx)
        wait_port(nginx_port)

        base = f"http://127.0.0.1:{proxy_port}"
        token = login_many(proxy_port, 1, connections=1)[0]
        other_token = login_many(other_port, 1, connections=1)[0] if args.compare else None
        # At least 80 partners for the page scenario.
        for i in range(80):
            req = urllib.request.Request(base + "/api/res.partner", method="POST", headers={"access_token": token},
                                         data=urllib.parse.urlencode({"name": f"Load Partner {i:03}", "email": f"load{i}@example.com"}).encode())
            urllib.request.urlopen(req).read()

        erp_models = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{erp_port}/xmlrpc/2/object")
        seeded = max(erp_models.execute_kw("demo", 2, "admin", "res.partner", "search", [[]]))

        def forget_created():
            """Unlinks the partners a POST create cell made: every cell sees the same table."""
            created = erp_models.execute_kw("demo", 2, "admin", "res.partner", "search", [[["id", ">", seeded]]])
            if created:
                erp_models.execute_kw("demo", 2, "admin", "res.partner", "unlink", [created])

        field5 = urllib.parse.quote(str(FIELDS5))
        scenarios = {
            "GET one": (
                ("GET", f"/api/res.partner/1?field={urllib.parse.quote(str(['name', 'email']))}", None),
                execute_kw("res.partner", "search_read", [[["id", "=", 1]]], {"fields": ["name", "email"]}),
            ),
            "GET 80 x 5 fields": (
                ("GET", f"/api/res.partner?limit=80&field={field5}", None),
                execute_kw("res.partner", "search_read", [[]], {"fields": FIELDS5, "limit": 80}),
            ),
            "POST create": (
                ("POST", "/api/res.partner", "name=Bench+Partner&email=bench%40example.com"),
                execute_kw("res.partner", "create", [{"name": "Bench Partner", "email": "bench@example.com"}]),
            ),
        }
        rest_get_one = scenarios["GET one"][0]
        if args.scenarios:
            wanted = [x.strip() for x in args.scenarios.split(",")]
            scenarios = {k: v for k, v in scenarios.items() if k in wanted}
        targets = ["proxy REST", "direct XML-RPC", "nginx XML-RPC"] + (["other proxy REST"] if args.compare else [])
        if args.targets:
            wanted = [x.strip() for x in args.targets.split(",")]
            targets = [t for t in targets if t in wanted]
        results = {}
        load_before = os.getloadavg()
        for round_no in range(0 if args.no_load else args.rounds):
            for s_index, (scenario, (rest, xml)) in enumerate(scenarios.items()):
                for c in concurrencies:
                    shift = (round_no + s_index) % len(targets)
                    order = targets[shift:] + targets[:shift]
                    for target in order:
                        script = tmp / "s.lua"
                        if target.endswith("proxy REST"):
                            method, path, body = rest
                            headers = {"access_token": token if target == "proxy REST" else other_token}
                            if body:
                                headers["Content-Type"] = "application/x-www-form-urlencoded"
                            lua_script(script, method, body, headers)
                            if target == "proxy REST":
                                url, pids = f"http://127.0.0.1:{proxy_port}{path}", [proxy.pid]
                            else:
                                url, pids = f"http://127.0.0.1:{other_port}{path}", [other.pid]
                        else:
                            lua_script(script, "POST", xml, {"Content-Type": "text/xml"})
                            port = erp_port if target == "direct XML-RPC" else nginx_port
                            url = f"http://127.0.0.1:{port}/xmlrpc/2/object"
                            pids = [] if target == "direct XML-RPC" else [nginx.pid] + children(nginx.pid)
                        before = cpu_seconds(pids)
                        r = run_wrk(url, str(script), c, args.seconds)
                        r["cpu_us"] = (cpu_seconds(pids) - before) / max(r["requests"], 1) * 1e6 if pids else None
                        results.setdefault((scenario, c, target), []).append(r)
                        if scenario == "POST create":
                            forget_created()
                        print(f"round {round_no + 1} {scenario:18} c={c:<3} {target:16} {r['rps']:9.0f} req/s  "
                              f"p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  "
                              + (f"cpu {r['cpu_us']:6.1f} us/req" if r["cpu_us"] is not None else "")
                              + (f"  ERRORS {r['errors']} {r['socket_errors']}" if r["errors"] or r["socket_errors"] else ""),
                              flush=True)
        load_after = os.getloadavg()

        med = statistics.median
        lines = []
        if results:
            lines += [f"Load average (1 min) before / after the load runs: {load_before[0]:.2f} / {load_after[0]:.2f}", "",
                      "| scenario | c | target | req/s | p50 ms | p99 ms | CPU µs/req |", "|---|---|---|---|---|---|---|"]
            for (scenario, c, target), rs in results.items():
                cpu = [r["cpu_us"] for r in rs if r["cpu_us"] is not None]
                lines.append(f"| {scenario} | {c} | {target} | {med([r['rps'] for r in rs]):.0f} | {med([r['p50'] for r in rs]):.2f} | "
                             f"{med([r['p99'] for r in rs]):.2f} | {f'{med(cpu):.1f}' if cpu else '—'} |")
        if "proxy REST" in targets and "nginx XML-RPC" in targets and results:
            lines += ["", "| scenario | c | proxy / nginx throughput | proxy / nginx CPU per request |", "|---|---|---|---|"]
            for scenario in scenarios:
                for c in concurrencies:
                    p, n = results[(scenario, c, "proxy REST")], results[(scenario, c, "nginx XML-RPC")]
                    lines.append(f"| {scenario} | {c} | {med([r['rps'] for r in p]) / med([r['rps'] for r in n]):.2f} | "
                                 f"{med([r['cpu_us'] for r in p]) / med([r['cpu_us'] for r in n]):.2f} |")
        if args.tokens or args.big_c:
            load_mem = os.getloadavg()[0]
            memory = measure_memory(args, tmp, erp_port, procs, proxy, proxy_port, token, rest_get_one)
            lines += ["", f"Memory (load average {load_mem:.2f}):", "",
                      "| figure | measured | target | |", "|---|---|---|---|"] + memory
        table = "\n".join(lines)
        print(table)
        if args.markdown:
            Path(args.markdown).write_text(table + "\n")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
