#!/usr/bin/env python3
"""Load benchmark on loopback: REST through the proxy vs the same execute_kw sent directly to
the demo ERP vs that XML-RPC call forwarded by nginx `proxy_pass` (upstream keepalive on).

One run, interleaved: every round runs every (scenario, concurrency) cell for the three targets
in a rotated order, and the table quotes the medians over the rounds. Requests/s, p50 and p99
come from wrk; CPU time per request is read from /proc (utime + stime of the proxy process, or of
all nginx processes) before and after each cell, divided by the requests served.

Needs: wrk and nginx (Debian packages), a release build (`cargo build --release`).
Usage: python3 benches/load.py [--rounds 3] [--seconds 5] [--concurrency 1,16,64] [--markdown FILE]
Bounded: rounds x 3 scenarios x concurrencies x 3 targets x seconds, plus a few seconds of setup.
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
import time
import urllib.parse
import urllib.request
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
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--markdown")
    args = parser.parse_args()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install -y wrk nginx")
    if not BINARY.exists():
        sys.exit("build first: cargo build --release")

    tmp = Path(tempfile.mkdtemp(prefix="orp-load-"))
    procs = []
    try:
        erp_port, proxy_port, nginx_port = free_port(), free_port(), free_port()
        erp = subprocess.Popen([BINARY, "demo-erp", "--keep-alive", "--listen", f"127.0.0.1:{erp_port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(erp)
        wait_port(erp_port)
        proxy = subprocess.Popen([BINARY, "--config", "/dev/null", "--listen", f"127.0.0.1:{proxy_port}",
                                  "--upstream", f"http://127.0.0.1:{erp_port}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env={**os.environ, "RUST_LOG": "warn"})
        procs.append(proxy)
        wait_port(proxy_port)
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
        form = urllib.parse.urlencode({"username": "admin", "password": "admin", "db": "demo"}).encode()
        token = json.load(urllib.request.urlopen(base + "/api/auth/get_tokens", data=form))["access_token"]
        # At least 80 partners for the page scenario.
        for i in range(80):
            req = urllib.request.Request(base + "/api/res.partner", method="POST", headers={"access_token": token},
                                         data=urllib.parse.urlencode({"name": f"Load Partner {i:03}", "email": f"load{i}@example.com"}).encode())
            urllib.request.urlopen(req).read()

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
        targets = ["proxy REST", "direct XML-RPC", "nginx XML-RPC"]
        results = {}
        for round_no in range(args.rounds):
            for s_index, (scenario, (rest, xml)) in enumerate(scenarios.items()):
                for c in concurrencies:
                    order = targets[(round_no + s_index) % 3:] + targets[:(round_no + s_index) % 3]
                    for target in order:
                        script = tmp / "s.lua"
                        if target == "proxy REST":
                            method, path, body = rest
                            headers = {"access_token": token}
                            if body:
                                headers["Content-Type"] = "application/x-www-form-urlencoded"
                            lua_script(script, method, body, headers)
                            url, pids = f"http://127.0.0.1:{proxy_port}{path}", [proxy.pid]
                        else:
                            lua_script(script, "POST", xml, {"Content-Type": "text/xml"})
                            port = erp_port if target == "direct XML-RPC" else nginx_port
                            url = f"http://127.0.0.1:{port}/xmlrpc/2/object"
                            pids = [] if target == "direct XML-RPC" else [nginx.pid] + children(nginx.pid)
                        before = cpu_seconds(pids)
                        r = run_wrk(url, str(script), c, args.seconds)
                        r["cpu_us"] = (cpu_seconds(pids) - before) / max(r["requests"], 1) * 1e6 if pids else None
                        results.setdefault((scenario, c, target), []).append(r)
                        print(f"round {round_no + 1} {scenario:18} c={c:<3} {target:15} {r['rps']:9.0f} req/s  "
                              f"p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  "
                              + (f"cpu {r['cpu_us']:6.1f} us/req" if r["cpu_us"] is not None else "")
                              + (f"  ERRORS {r['errors']} {r['socket_errors']}" if r["errors"] or r["socket_errors"] else ""),
                              flush=True)

        med = lambda xs: statistics.median(xs)
        lines = ["| scenario | c | target | req/s | p50 ms | p99 ms | CPU µs/req |", "|---|---|---|---|---|---|---|"]
        for (scenario, c, target), rs in results.items():
            cpu = [r["cpu_us"] for r in rs if r["cpu_us"] is not None]
            lines.append(f"| {scenario} | {c} | {target} | {med([r['rps'] for r in rs]):.0f} | {med([r['p50'] for r in rs]):.2f} | "
                         f"{med([r['p99'] for r in rs]):.2f} | {f'{med(cpu):.1f}' if cpu else '—'} |")
        lines.append("")
        lines.append("| scenario | c | proxy / nginx throughput | proxy / nginx CPU per request |")
        lines.append("|---|---|---|---|")
        for scenario in scenarios:
            for c in concurrencies:
                p, n = results[(scenario, c, "proxy REST")], results[(scenario, c, "nginx XML-RPC")]
                lines.append(f"| {scenario} | {c} | {med([r['rps'] for r in p]) / med([r['rps'] for r in n]):.2f} | "
                             f"{med([r['cpu_us'] for r in p]) / med([r['cpu_us'] for r in n]):.2f} |")
        table = "\n".join(lines)
        print(table)
        if args.markdown:
            Path(args.markdown).write_text(table + "\n")
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
