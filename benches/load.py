#!/usr/bin/env python3
"""Load benchmark on loopback: REST through the proxy vs the same execute_kw sent directly to
the demo ERP vs that XML-RPC call forwarded by nginx `proxy_pass` (upstream keepalive on).

One run, interleaved: every round runs every (scenario, concurrency) cell for the three targets
in a rotated order, and the table quotes the medians over the rounds. Requests/s, p50 and p99
come from wrk; CPU time per request is read from /proc (utime + stime of the proxy process, or of
all nginx processes) before and after each cell, divided by the requests served.

Every answer is checked by a wrk Lua `response` hook: a 2xx status, and a body that is a result
(XML-RPC faults come with HTTP 200: the body must hold `<params>` and no `<fault>`; a REST answer
must not be an `{"error": ...}` object). A cell with any bad answer is reported as failed, left
out of the medians, and makes the script exit non-zero. Each REST cell logs in for a token of its
own (tokens live 600 s; a long run would otherwise measure 401s) and revokes it after.

Each round also runs paced cells (`--paced-seconds`, 0 skips): about 50 requests/s (two wrk
connections, 40 ms between requests on each) against a second demo ERP that closes every
connection as Odoo does, behind a proxy and an nginx server block of their own (no upstream
keep-alive possible): what a real deployment costs per call at a modest rate.

Then memory, on the proxy only: the RSS growth per live access token on a fresh proxy (`[tokens]
max_per_user` and `max_tokens` raised, the failed-login limiter off, in a bench config), once for
`--tokens` logins of one user (whose sessions the proxy shares) and once for `--distinct-users`
logins of as many users (against a fake ERP in this script that knows any `benchN` user); RSS
after minus RSS before, per token. And the peak RSS while wrk holds `--big-c` connections on GET
one.

Needs: wrk and nginx (Debian packages), a release build (`cargo build --release`).
Usage: python3 benches/load.py [--rounds 3] [--seconds 5] [--concurrency 1,16,64]
           [--paced-seconds 10] [--scenarios "GET one,POST create"]
           [--targets "proxy REST,nginx XML-RPC"] [--tokens 100000] [--distinct-users 20000]
           [--big-c 256] [--no-memory] [--no-load] [--markdown FILE]
Bounded: rounds x scenarios x (concurrencies x targets x seconds + 2 x paced seconds), plus the
logins (about a minute for 100,000 here) and one c=256 run of `seconds`.
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
# The concurrency column of the paced cells (two connections, 40 ms between requests on each,
# against ERPs that close every connection).
PACED = "~50/s, ERP closes"


def stop_all(procs):
    """SIGTERM every process still running (the last started first), then wait for each,
    killing one that takes more than 10 s."""
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


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


def login_many(port, count, connections=16, distinct=False, first=0):
    """Logs in `count` times over `connections` keep-alive connections, as the demo admin or
    (`distinct`) as `count` different users of the fake ERP below; returns the tokens."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    tokens, failures, lock = [], [], threading.Lock()
    logins = iter(range(first, first + count))

    def worker(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for _ in range(n):
            with lock:
                user = f"bench{next(logins)}" if distinct else "admin"
            form = urllib.parse.urlencode({"username": user, "password": "admin", "db": "demo"})
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


def start_users_erp():
    """A fake ERP in this process for the distinct-users memory figure: every login `benchN`
    with password `admin` is user N + 100 (the demo ERP has two users). Answers what a login
    asks: `authenticate`, `res.users.context_get` and `read` of `company_id`."""
    from socketserver import ThreadingMixIn
    from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

    class Handler(SimpleXMLRPCRequestHandler):
        rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object")
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

    class Server(ThreadingMixIn, SimpleXMLRPCServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), requestHandler=Handler, logRequests=False, allow_none=True)

    def authenticate(db, login, password, context):
        if db == "demo" and password == "admin" and login.startswith("bench") and login[5:].isdigit():
            return int(login[5:]) + 100
        return False

    def execute_kw(db, uid, password, model, method, args, kwargs=None):
        if method == "context_get":
            return {"lang": "en_US", "tz": "Europe/Brussels"}
        return [{"id": uid, "company_id": [1, "Bench Company"]}]

    server.register_function(authenticate)
    server.register_function(execute_kw)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_proxy(erp_port, config=None, binary=None):
    port = free_port()
    proxy = subprocess.Popen([binary or BINARY, "--config", str(config or "/dev/null"), "--listen", f"127.0.0.1:{port}",
                              "--upstream", f"http://127.0.0.1:{erp_port}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "RUST_LOG": "warn", **PROXY_ENV})
    wait_port(port)
    return proxy, port


def measure_tokens(args, tmp, erp_port, procs, count, distinct):
    """RSS growth per live token on a fresh proxy: `count` logins of one user (whose sessions
    the proxy shares) or of `count` distinct users (one session each)."""
    config = tmp / "tokens.toml"
    config.write_text(f"[tokens]\nttl_secs = 86400\nmax_tokens = {count + 1000}\n"
                      f"max_per_user = {count + 1000}\n"
                      # Parallel logins count as attempts while in flight: no login limit here.
                      "[limits]\nlogin_attempts = 1000000\n")
    users_erp = start_users_erp() if distinct else None
    upstream = users_erp.server_address[1] if users_erp else erp_port
    proxy, port = start_proxy(upstream, config)
    procs.append(proxy)
    try:
        # Warm up (connections, pools, allocator), then drop those tokens: the baseline.
        logout_all(port, login_many(port, 1000, distinct=distinct, first=10_000_000))
        before = rss_kib(proxy.pid)
        started = time.time()
        tokens = login_many(port, count, distinct=distinct)
        elapsed = time.time() - started
        after = rss_kib(proxy.pid)
    finally:
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(timeout=10)
        if users_erp:
            users_erp.shutdown()
    per_token = (after - before) * 1024 / len(tokens)
    who = f"{len(tokens):,} distinct users" if distinct else f"one user, {len(tokens):,} logins"
    print(f"tokens ({who}): {elapsed:.1f} s; RSS {before} KiB -> {after} KiB; {per_token:.0f} bytes per live token",
          flush=True)
    return (f"| RSS per live token ({who}; {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB) | "
            f"{per_token:.0f} bytes | <= 1024 bytes | {'met' if per_token <= 1024 else 'NOT met'} |")


def measure_memory(args, tmp, erp_port, procs, main_proxy, main_port, rest_get_one):
    """Per-token RSS on fresh proxies (one user, distinct users); peak RSS of the main proxy
    under --big-c connections."""
    lines = []
    if args.tokens:
        lines.append(measure_tokens(args, tmp, erp_port, procs, args.tokens, distinct=False))
    if args.distinct_users:
        lines.append(measure_tokens(args, tmp, erp_port, procs, args.distinct_users, distinct=True))
    if args.big_c:
        method, path, body = rest_get_one
        script = tmp / "big.lua"
        token = login_many(main_port, 1, connections=1)[0]
        lua_script(script, method, body, {"access_token": token}, "rest")
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
        print(f"c={args.big_c}: {r['rps']:.0f} req/s, p99 {r['p99']:.2f} ms, bad answers {r['bad']}, errors {r['errors']} "
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


# Counts the bad answers of a cell in every wrk thread and prints the total as "BAD n": a status
# other than 2xx, or a body that is not what the call answers when it works (XML-RPC faults
# come with HTTP 200; a REST error is a JSON object with an "error" key).
LUA_CHECK = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
bad = 0
function response(status, headers, body)
  if status < 200 or status > 299 or not good(body) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("BAD %d\\n", total))
end
"""
GOOD = {
    "xmlrpc": 'function good(body) return body:find("<params>", 1, true) ~= nil '
              'and body:find("<fault>", 1, true) == nil end',
    "rest": 'function good(body) return body:find("\\"error\\"", 1, true) == nil end',
}


def lua_script(path, method, body, headers, check=None, pace_ms=None):
    """A wrk script: the request, and with `check` ("rest" or "xmlrpc") the bad-answer count;
    with `pace_ms` a pause before each request (wrk's `delay`)."""
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines.append("wrk.body = " + json.dumps(body))
    for k, v in headers.items():
        lines.append(f'wrk.headers["{k}"] = "{v}"')
    if pace_ms:
        lines.append(f"function delay() return {pace_ms} end")
    if check:
        lines += [GOOD[check], LUA_CHECK]
    Path(path).write_text("\n".join(lines) + "\n")


def run_wrk(url, script, connections, seconds, threads=None):
    threads = threads or max(1, min(2, connections))
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url],
        capture_output=True, text=True, timeout=seconds + 30,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    bad = re.search(r"^BAD (\d+)$", out, re.M)

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "requests": requests, "rps": rps, "p50": pct(50), "p99": pct(99),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
        # None when the script has no check.
        "bad": int(bad.group(1)) if bad else None,
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
    parser.add_argument("--paced-seconds", type=int, default=10,
                        help="seconds per paced cell (about 50 req/s against an ERP that closes every connection; 0: skip)")
    parser.add_argument("--distinct-users", type=int, default=20_000,
                        help="live tokens of distinct users for the second memory figure (0: skip)")
    parser.add_argument("--markdown")
    args = parser.parse_args()
    PROXY_ENV.update(kv.split("=", 1) for kv in args.proxy_env)
    BINARY = Path(args.binary)
    if args.no_memory:
        args.tokens = args.big_c = args.distinct_users = 0
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
        # The paced cells: an ERP that closes every connection, as Odoo does, behind a proxy and
        # an nginx of their own.
        close_port, nginx_close_port = free_port(), free_port()
        erp_close = subprocess.Popen([BINARY, "--config", "/dev/null", "demo-erp", "--listen", f"127.0.0.1:{close_port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(erp_close)
        wait_port(close_port)
        proxy_close, proxy_close_port = start_proxy(close_port)
        procs.append(proxy_close)
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
    upstream erp_close {{ server 127.0.0.1:{close_port}; }}
    server {{
        listen 127.0.0.1:{nginx_close_port};
        location / {{ proxy_pass http://erp_close; }}
    }}
}}
""")
        nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(nginx)
        wait_port(nginx_port)

        base = f"http://127.0.0.1:{proxy_port}"
        token = login_many(proxy_port, 1, connections=1)[0]
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
        failed = []

        def cell(scenario, c, target, rest, xml, pace_ms=None):
            """One wrk run of one target; a REST target gets a token of its own (renewed per cell:
            tokens live 600 s); returns wrk's figures, CPU per request and the bad-answer count."""
            script = tmp / "s.lua"
            closing = pace_ms is not None
            if target.endswith("proxy REST"):
                method, path, body = rest
                port = proxy_close_port if closing else (proxy_port if target == "proxy REST" else other_port)
                cell_token = login_many(port, 1, connections=1)[0]
                headers = {"access_token": cell_token}
                if body:
                    headers["Content-Type"] = "application/x-www-form-urlencoded"
                lua_script(script, method, body, headers, "rest", pace_ms)
                url = f"http://127.0.0.1:{port}{path}"
                pids = [proxy_close.pid if closing else (proxy.pid if target == "proxy REST" else other.pid)]
            else:
                cell_token = None
                lua_script(script, "POST", xml, {"Content-Type": "text/xml"}, "xmlrpc", pace_ms)
                if target == "direct XML-RPC":
                    port = close_port if closing else erp_port
                else:
                    port = nginx_close_port if closing else nginx_port
                url = f"http://127.0.0.1:{port}/xmlrpc/2/object"
                pids = [] if target == "direct XML-RPC" else [nginx.pid] + children(nginx.pid)
            before = cpu_seconds(pids)
            r = run_wrk(url, str(script), c, args.paced_seconds if closing else args.seconds, threads=1 if closing else None)
            r["cpu_us"] = (cpu_seconds(pids) - before) / max(r["requests"], 1) * 1e6 if pids else None
            if cell_token:
                logout_all(port, [cell_token])
            r["failed"] = bool(r["bad"]) or r["bad"] is None
            if r["failed"]:
                failed.append((scenario, c, target, r["bad"]))
            if scenario == "POST create":
                forget_created()
            mode = "paced" if closing else f"c={c}"
            print(f"round {round_no + 1} {scenario:18} {mode:<6} {target:16} {r['rps']:9.0f} req/s  "
                  f"p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  "
                  + (f"cpu {r['cpu_us']:6.1f} us/req" if r["cpu_us"] is not None else "")
                  + (f"  FAILED: {r['bad']} bad answers" if r["failed"] else "")
                  + (f"  socket errors {r['socket_errors']}" if r["socket_errors"] else ""),
                  flush=True)
            return r

        load_before = os.getloadavg()
        paced_targets = [t for t in targets if t in ("proxy REST", "nginx XML-RPC")]
        for round_no in range(0 if args.no_load else args.rounds):
            for s_index, (scenario, (rest, xml)) in enumerate(scenarios.items()):
                for c in concurrencies:
                    shift = (round_no + s_index) % len(targets)
                    for target in targets[shift:] + targets[:shift]:
                        results.setdefault((scenario, c, target), []).append(cell(scenario, c, target, rest, xml))
                if args.paced_seconds and paced_targets:
                    # Two connections, each waiting 40 ms before each request: just under 50/s.
                    shift = (round_no + s_index) % len(paced_targets)
                    for target in paced_targets[shift:] + paced_targets[:shift]:
                        results.setdefault((scenario, PACED, target), []).append(
                            cell(scenario, 2, target, rest, xml, pace_ms=40))
        load_after = os.getloadavg()

        med = statistics.median

        def good(rs, key):
            values = [r[key] for r in rs if not r["failed"] and r[key] is not None]
            return med(values) if values else None

        def show(value, form):
            return "FAILED" if value is None else format(value, form)

        lines = []
        if results:
            lines += [f"Load average (1 min) before / after the load runs: {load_before[0]:.2f} / {load_after[0]:.2f}", "",
                      "Medians over the rounds of the cells with no bad answer; bad = bad answers (status or body) "
                      "over all rounds, a cell with any is left out.", "",
                      "| scenario | c | target | req/s | p50 ms | p99 ms | CPU µs/req | bad |", "|---|---|---|---|---|---|---|---|"]
            for (scenario, c, target), rs in results.items():
                cpu = good(rs, "cpu_us")
                bad = sum(r["bad"] or 0 for r in rs)
                lines.append(f"| {scenario} | {c} | {target} | {show(good(rs, 'rps'), '.0f')} | {show(good(rs, 'p50'), '.2f')} | "
                             f"{show(good(rs, 'p99'), '.2f')} | {f'{cpu:.1f}' if cpu is not None else '—'} | {bad} |")
        if "proxy REST" in targets and "nginx XML-RPC" in targets and results:
            lines += ["", "| scenario | c | proxy / nginx CPU per request | target | proxy / nginx req/s | target |",
                      "|---|---|---|---|---|---|"]
            for scenario in scenarios:
                for c in concurrencies + ([PACED] if args.paced_seconds and not args.no_load else []):
                    p, n = results[(scenario, c, "proxy REST")], results[(scenario, c, "nginx XML-RPC")]
                    cpu_p, cpu_n, rps_p, rps_n = good(p, "cpu_us"), good(n, "cpu_us"), good(p, "rps"), good(n, "rps")
                    cpu_ratio = cpu_p / cpu_n if cpu_p and cpu_n else None
                    rps_ratio = rps_p / rps_n if rps_p and rps_n else None
                    cpu_target = 3.0 if scenario.startswith("GET 80") else 1.5
                    cpu_mark = f"<= {cpu_target}x: " + ("met" if cpu_ratio is not None and cpu_ratio <= cpu_target else "not met")
                    rps_mark = ">= 0.9x: " + ("met" if rps_ratio is not None and rps_ratio >= 0.9 else "not met") \
                        if c == 64 else "—"
                    rps_shown = "(paced)" if c == PACED else show(rps_ratio, ".2f")
                    lines.append(f"| {scenario} | {c} | {show(cpu_ratio, '.2f')} | {cpu_mark} | {rps_shown} | {rps_mark} |")
        if args.tokens or args.distinct_users or args.big_c:
            load_mem = os.getloadavg()[0]
            memory = measure_memory(args, tmp, erp_port, procs, proxy, proxy_port, rest_get_one)
            lines += ["", f"Memory (load average {load_mem:.2f}):", "",
                      "| figure | measured | target | |", "|---|---|---|---|"] + memory
        table = "\n".join(lines)
        print(table)
        if args.markdown:
            Path(args.markdown).write_text(table + "\n")
        if failed:
            sys.exit(f"{len(failed)} cells had bad answers (left out of the tables): {failed}")
    finally:
        stop_all(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
