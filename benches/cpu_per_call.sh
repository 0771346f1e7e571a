#!/usr/bin/env bash
# User-space instructions per call, repeatable on a busy machine: the proxy serving a REST call
# and nginx forwarding the same XML-RPC call (upstream keep-alive), both in front of the same
# demo ERP and each under `valgrind --tool=callgrind`; for each scenario, 50 warm-up calls, the
# counters zeroed (`callgrind_control -z`), N calls one after the other on one keep-alive
# connection, a dump (`-d`): the dump's total / N. A last row does the same for a pass-through
# page (`GET /web/login` through each). Kernel time (loopback, wake-ups) is not
# counted: `benches/load.py` measures the whole CPU time.
#
# Usage: benches/cpu_per_call.sh        # N=400 BIN=target/release/odoo-rest-proxy CONFIG=/dev/null
# (CONFIG: the proxy's proxy.toml, e.g. one with `[log] format = "json"`)
# Needs valgrind and nginx (Debian), a release build. Prints a Markdown table; the callgrind
# files stay in the printed directory for `callgrind_annotate --inclusive=yes`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/odoo-rest-proxy}
N=${N:-400}
T=$(mktemp -d /tmp/orp-cpu-per-call.XXXX)
. benches/common.sh
ERP=$(port); PX=$(port); NG=$(port)
$BIN --config /dev/null demo-erp --keep-alive --listen 127.0.0.1:$ERP >/dev/null 2>&1 & ERP_PID=$!
wait_port $ERP
valgrind --tool=callgrind --callgrind-out-file=$T/proxy.out $BIN --config "${CONFIG:-/dev/null}" --listen 127.0.0.1:$PX --upstream http://127.0.0.1:$ERP >/dev/null 2>$T/proxy.err & PX_PID=$!
nginx_conf $T $ERP $NG
valgrind --tool=callgrind --callgrind-out-file=$T/nginx.out nginx -c $T/nginx.conf -p $T >/dev/null 2>$T/nginx.err & NG_PID=$!
wait_port $PX; wait_port $NG
echo "| scenario | proxy instructions / REST call | nginx instructions / forward | ratio |"
echo "|---|---:|---:|---:|"
python3 benches/cpu_per_call.py $PX $NG $N $T $PX_PID $NG_PID
kill -INT $PX_PID $NG_PID $ERP_PID 2>/dev/null || true
wait $PX_PID $NG_PID 2>/dev/null || true
kill $ERP_PID 2>/dev/null || true
echo $T
