#!/usr/bin/env bash
# Where the CPU time of a request goes, user space against kernel: the proxy serving GET one
# (`GET /api/res.partner/1` with two fields) and nginx forwarding the same XML-RPC call, both in
# front of the same keep-alive demo ERP, under `wrk -t2 -c64`. For each, utime and stime of
# the process (all threads) from /proc before and after the run, divided by the requests served.
# Rounds alternate the order. The proxy runs as in benches/load.py: RUST_LOG=warn (no access
# lines), one thread per core; nginx with one worker and no access log.
#
# With PERF=1, one more proxy run under `perf record -F 2000 -g`, and the proxy's samples summed
# by where they fall: the kernel, libc, or the crate of the function (its path's first part).
#
# Usage: benches/cpu_split.sh            # ROUNDS=3 SECONDS_EACH=4 PERF=0 BIN=target/release/odoo-rest-proxy
# Needs wrk and nginx (Debian; perf for PERF=1), a release build. Prints one Markdown row per
# round and target.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/odoo-rest-proxy}
ROUNDS=${ROUNDS:-3}
SECONDS_EACH=${SECONDS_EACH:-4}
PERF=${PERF:-0}
T=$(mktemp -d /tmp/orp-cpu-split.XXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$T"' EXIT
. benches/common.sh
ERP=$(port); PX=$(port); NG=$(port)
$BIN --config /dev/null demo-erp --keep-alive --listen 127.0.0.1:$ERP >/dev/null 2>&1 & PIDS+=($!)
wait_port $ERP
RUST_LOG=warn $BIN --config /dev/null --listen 127.0.0.1:$PX --upstream http://127.0.0.1:$ERP >/dev/null 2>&1 & PX_PID=$!; PIDS+=($!)
nginx_conf $T $ERP $NG
nginx -c $T/nginx.conf -p $T >/dev/null 2>&1 & NG_PID=$!; PIDS+=($!)
wait_port $PX; wait_port $NG
TOKEN=$(curl -sf -X POST -d username=admin -d password=admin -d db=demo http://127.0.0.1:$PX/api/auth/get_tokens \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
# The two wrk scripts, by load.py's own `lua_script`: the proxy's GET one, and the XML-RPC call
# it makes for it sent to nginx; each counts bad answers (a REST error, an XML-RPC fault).
python3 - "$T" "$TOKEN" <<'PY'
import importlib.util, sys, urllib.parse
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location("load", "benches/load.py")
load = importlib.util.module_from_spec(spec); spec.loader.exec_module(load)
tmp, token = sys.argv[1], sys.argv[2]
xml = load.execute_kw("res.partner", "search_read", [[["id", "=", 1]]], {"fields": ["name", "email"]})
load.lua_script(f"{tmp}/forward.lua", "POST", xml, {"Content-Type": "text/xml"}, check="xmlrpc")
load.lua_script(f"{tmp}/rest.lua", "GET", None, {"access_token": token}, check="rest")
open(f"{tmp}/rest.path", "w").write("/api/res.partner/1?field=" + urllib.parse.quote(str(["name", "email"])))
PY
REST_URL="http://127.0.0.1:$PX$(cat $T/rest.path)"
ticks() { awk '{print $14, $15}' /proc/$1/stat; }
run() { # name pid wrk-args...: one row
    local name=$1 pid=$2; shift 2
    read -r u0 s0 < <(ticks "$pid")
    out=$(wrk -t2 -c64 -d${SECONDS_EACH}s "$@")
    read -r u1 s1 < <(ticks "$pid")
    python3 - "$name" "$out" $((u1 - u0)) $((s1 - s0)) "$(getconf CLK_TCK)" <<'PY'
import re, sys
name, out, user, system, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
bad = re.search(r"BAD (\d+)", out)
if not bad or int(bad.group(1)) or re.search(r"Non-2xx|Socket errors", out):
    sys.exit(f"{name}: bad answers or errors in the run:\n{out}")
n = int(re.search(r"(\d+) requests in", out).group(1))
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
per = lambda ticks: ticks / hz * 1e6 / n
print(f"| {name} | {rate:,.0f} | {per(user):.1f} | {per(system):.1f} | {per(user + system):.1f} |")
PY
}
# Warm up both.
wrk -t1 -c4 -d1s -s $T/rest.lua "$REST_URL" >/dev/null
wrk -t1 -c4 -d1s -s $T/forward.lua http://127.0.0.1:$NG/xmlrpc/2/object >/dev/null
echo "| target | req/s | user µs/req | kernel µs/req | total µs/req |"
echo "|---|---:|---:|---:|---:|"
for round in $(seq "$ROUNDS"); do
    proxy() { run "proxy REST GET one" $PX_PID -s $T/rest.lua "$REST_URL"; }
    forward() { run "nginx XML-RPC forward" $NG_PID -s $T/forward.lua http://127.0.0.1:$NG/xmlrpc/2/object; }
    if [ $((round % 2)) = 1 ]; then proxy; forward; else forward; proxy; fi
done
[ "$PERF" = 1 ] || exit 0
wrk -t2 -c64 -d$((SECONDS_EACH + 1))s -s $T/rest.lua "$REST_URL" >$T/perf-wrk.out &
WRK=$!
sleep 0.5
perf record -q -F 2000 -g -p $PX_PID -o $T/perf.data -- sleep "$SECONDS_EACH" 2>/dev/null
wait $WRK
grep -q "BAD 0" $T/perf-wrk.out || { echo "bad answers in the perf run" >&2; exit 1; }
echo
echo "| where (perf samples of the proxy, GET one) | share |"
echo "|---|---:|"
perf report -i $T/perf.data --no-children --sort dso,sym -g none 2>/dev/null | python3 -c '
import collections, re, sys
shares = collections.Counter()
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    share, dso, kind, symbol = float(m.group(1)), m.group(2), m.group(3), m.group(4).lstrip("<")
    if kind == "k":
        where = "kernel"
    elif "libc" in dso or "vdso" in dso:
        where = dso
    elif symbol.startswith(("mi_", "_mi_")):
        where = "mimalloc"
    elif symbol.startswith("odoo_rest_proxy::"):
        where = "ours: " + symbol.split("::")[1]
    else:
        where = re.split(r"::|<| ", symbol)[0] or symbol[:40]
    shares[where] += share
for where, share in shares.most_common(16):
    print(f"| {where} | {share:.1f} % |")
'
