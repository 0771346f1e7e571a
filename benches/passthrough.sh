#!/usr/bin/env bash
# Pass-through load benchmark: odoo-rest-proxy against nginx `proxy_pass`, both in front of the
# same demo ERP (keep-alive on, upstream keep-alive on both sides), loopback only.
#
# Each round runs wrk once against each proxy, in an order that alternates from round to round,
# for two targets: `GET /web/login` (a small page) and `POST /xmlrpc/2/common` `version` (an
# XML-RPC call passed straight through). The table gives the median over rounds of requests/s
# and of wrk's p50 / p99 latency. Bounded: about ROUNDS x 2 targets x 2 proxies x DURATION.
#
# Usage: benches/passthrough.sh            (needs nginx and wrk: apt-get install nginx wrk)
# Knobs: ROUNDS=5 DURATION=5 CONNECTIONS=64 THREADS=2 BUILD=1 (BUILD=0 skips cargo build)
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
BUILD=${BUILD:-1}

cd "$(dirname "$0")/.."
for tool in nginx wrk python3; do
    command -v "$tool" >/dev/null || { echo "benches/passthrough.sh: $tool is missing" >&2; exit 2; }
done
if [ "$BUILD" = 1 ]; then
    cargo build --release --quiet
fi
BIN=target/release/odoo-rest-proxy

WORK=$(mktemp -d "${TMPDIR:-/tmp}/passthrough-bench.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (at most 10 s) until something answers HTTP on 127.0.0.1:$1.
wait_http() {
    for _ in $(seq 100); do
        if python3 - "$1" <<'EOF' 2>/dev/null; then return 0; fi
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"GET /web/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
assert s.recv(12).startswith(b"HTTP/1.1")
EOF
        sleep 0.1
    done
    echo "benches/passthrough.sh: nothing answers on port $1" >&2
    exit 1
}

ERP_PORT=$(free_port)
PROXY_PORT=$(free_port)
NGINX_PORT=$(free_port)

RUST_LOG=warn "$BIN" demo-erp --keep-alive --listen "127.0.0.1:$ERP_PORT" >"$WORK/erp.log" 2>&1 &
PIDS+=($!)
wait_http "$ERP_PORT"
RUST_LOG=warn "$BIN" --listen "127.0.0.1:$PROXY_PORT" --upstream "http://127.0.0.1:$ERP_PORT" \
    >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
PIDS+=("$PROXY_PID")

# nginx as an Odoo deployment guide would set it up: proxy_pass to a keep-alive upstream, the
# same X-Forwarded-* headers the proxy adds, no access log; keep-alive limits lifted on both
# sides so that neither proxy reconnects during a round.
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    keepalive_requests 1000000;
    upstream erp {
        server 127.0.0.1:$ERP_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://erp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$http_host;
            proxy_redirect default;
        }
    }
}
EOF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_http "$PROXY_PORT"
wait_http "$NGINX_PORT"

# The XML-RPC `version` call, as Python's xmlrpc.client sends it.
cat >"$WORK/version.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml"
wrk.body = "<?xml version='1.0'?>\n<methodCall>\n<methodName>version</methodName>\n<params>\n</params>\n</methodCall>\n"
EOF

run() { # name port target round
    local script=() path=/web/login
    if [ "$3" = xmlrpc ]; then
        script=(-s "$WORK/version.lua")
        path=/xmlrpc/2/common
    fi
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency "${script[@]}" \
        "http://127.0.0.1:$2$path" >"$WORK/wrk-$3-$1-$4.txt"
}

echo "warming up" >&2
for target in page xmlrpc; do
    DURATION=1 run proxy "$PROXY_PORT" "$target" warm
    DURATION=1 run nginx "$NGINX_PORT" "$target" warm
done
for round in $(seq "$ROUNDS"); do
    for target in page xmlrpc; do
        if [ $((round % 2)) = 1 ]; then
            order="proxy nginx"
        else
            order="nginx proxy"
        fi
        for name in $order; do
            port=$PROXY_PORT
            [ "$name" = nginx ] && port=$NGINX_PORT
            echo "round $round/$ROUNDS: $target via $name" >&2
            run "$name" "$port" "$target" "$round"
        done
    done
done
PROXY_RSS_KIB=$(ps -o rss= -p "$PROXY_PID" | tr -d ' ')

python3 - "$WORK" "$ROUNDS" "$PROXY_RSS_KIB" <<'EOF'
import re, statistics, sys
from pathlib import Path

work, rounds, rss = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}

def parse(path):
    text = path.read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    latency = {}
    for percent, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        latency[percent] = float(value) * UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", text)
    return rps, latency["50"], latency["99"], errors.group(0) if errors else ""

print("| target | proxy | req/s (median) | p50 ms | p99 ms | req/s per round |")
print("|---|---|---:|---:|---:|---|")
for target, label in [("page", "GET /web/login"), ("xmlrpc", "POST /xmlrpc/2/common version")]:
    for name, shown in [("proxy", "odoo-rest-proxy"), ("nginx", "nginx proxy_pass")]:
        runs = [parse(work / f"wrk-{target}-{name}-{r}.txt") for r in range(1, rounds + 1)]
        for run in runs:
            if run[3]:
                print(f"warning: {target} via {name}: {run[3]}", file=sys.stderr)
        rps = statistics.median(r[0] for r in runs)
        p50 = statistics.median(r[1] for r in runs)
        p99 = statistics.median(r[2] for r in runs)
        each = " ".join(f"{r[0]:.0f}" for r in runs)
        print(f"| {label} | {shown} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {each} |")
print(f"\nodoo-rest-proxy resident memory after the run: {int(rss) / 1024:.1f} MiB")
EOF
