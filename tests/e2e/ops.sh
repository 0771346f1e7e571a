#!/usr/bin/env bash
# The real binary: one JSON access-log line per request with no secret in any log line, and
# `odoo-rest-proxy check` against the demo ERP, a closed port and a wrong service password.
set -euo pipefail
. tests/lib.sh
need_pip requests=requests
work=$(mktemp -d)
cleanup() {
    [ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null || true
    [ -n "${ERP_PID:-}" ] && kill "$ERP_PID" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# --- access log ------------------------------------------------------------------------------
printf '[admin]\nlisten = ""\n[log]\nformat = "json"\naccess = true\n' >"$work/log.toml"
start_proxy --config "$work/log.toml" demo
python3 - "$PROXY_URL" "$PROXY_LOG" <<'PY'
import json, sys, time
import requests
proxy, log_path = sys.argv[1], sys.argv[2]
form = {"username": "admin", "password": "admin", "db": "demo"}
token = requests.post(proxy + "/api/auth/get_tokens", data=form, headers={"X-Request-Id": "login-1"}, timeout=10).json()["access_token"]
bad = requests.post(proxy + "/api/auth/get_tokens", data=dict(form, password="pw-Secret-123"), timeout=10)
assert bad.status_code == 401
read = requests.get(proxy + "/api/res.partner", params={"filters": "secret_query_value", "limit": 1},
                    headers={"access_token": token, "Cookie": "session_id=secret_cookie_value", "X-Request-Id": "read-1"}, timeout=10)
assert read.status_code == 400, read.text
page = requests.get(proxy + "/web/login", params={"redirect": "secret_redirect"}, headers={"X-Request-Id": "page-1"}, timeout=10)
assert page.status_code == 200
# The pass-through line is written once the body is sent; give the log a moment to land.
deadline = time.time() + 5
while True:
    lines = [json.loads(l) for l in open(log_path) if l.startswith("{")]
    access = [l for l in lines if l.get("target") == "access"]
    if len(access) >= 4 or time.time() > deadline:
        break
    time.sleep(0.05)
assert len(access) == 4, access
by_id = {l["fields"]["request_id"]: l["fields"] for l in access}
login = by_id["login-1"]
assert (login["method"], login["path"], login["status"], login["db"], login["uid"]) == ("POST", "/api/auth/get_tokens", 200, "demo", 2), login
assert login["client"] == "127.0.0.1" and login["upstream_ms"] > 0 and login["bytes"] > 0, login
assert by_id["read-1"]["path"] == "/api/res.partner" and by_id["read-1"]["status"] == 400
assert by_id["page-1"]["path"] == "/web/login" and by_id["page-1"]["bytes"] == len(page.content)
# The line the failed login caused carries the id the proxy made up, also in its span.
made = [f for i, f in by_id.items() if i not in ("login-1", "read-1", "page-1")]
assert len(made) == 1 and made[0]["status"] == 401 and len(made[0]["request_id"]) == 32, made
text = open(log_path).read()
for secret in (token, "pw-Secret-123", "secret_query_value", "secret_cookie_value", "secret_redirect"):
    assert secret not in text, secret
print("access log: 4 lines, no secret in the log")
PY
stop_proxy
PROXY_PID=""

# --- check ------------------------------------------------------------------------------------
./target/debug/odoo-rest-proxy demo-erp --listen 127.0.0.1:0 >"$work/erp.log" 2>&1 &
ERP_PID=$!
for _ in $(seq 1 100); do
    ERP_URL=$(grep -o 'http://[0-9.:]*' "$work/erp.log" | head -1) || true
    [ -n "${ERP_URL:-}" ] && break
    sleep 0.1
done
[ -n "${ERP_URL:-}" ] || { echo "the demo ERP did not start"; cat "$work/erp.log"; exit 1; }
printf '[upstream]\nurl = "%s"\n[gate]\nservice_login = "admin"\nservice_password_env = "GATE_PW"\n' "$ERP_URL" >"$work/check.toml"

echo "-- check against the demo ERP"
GATE_PW=admin ./target/debug/odoo-rest-proxy check --config "$work/check.toml" | tee "$work/ok.txt"
grep -q '^ok   upstream: .* answers, version 18.0, protocol xmlrpc$' "$work/ok.txt"
grep -q '^ok   database: "demo"' "$work/ok.txt"
grep -q '^ok   gate service account: "admin" logs in to "demo"' "$work/ok.txt"
grep -q '^ok   gate flag: rest_api on ir.model; [0-9]* enabled: .*res.partner' "$work/ok.txt"
grep -q '^info pass-through: on' "$work/ok.txt"

echo "-- check with a wrong service password"
status=0
GATE_PW=wrong-Pw-987 ./target/debug/odoo-rest-proxy check --config "$work/check.toml" --db demo >"$work/pw.txt" || status=$?
cat "$work/pw.txt"
[ "$status" -eq 1 ] || { echo "check exited $status, not 1"; exit 1; }
grep -q '^FAIL gate service account: "admin" cannot log in to "demo": check \[gate\] service_login' "$work/pw.txt"
! grep -q 'wrong-Pw-987' "$work/pw.txt"

echo "-- check against a closed port"
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
status=0
GATE_PW=admin ./target/debug/odoo-rest-proxy --upstream "http://127.0.0.1:$closed" check --config "$work/check.toml" >"$work/closed.txt" || status=$?
cat "$work/closed.txt"
[ "$status" -eq 1 ] || { echo "check exited $status, not 1"; exit 1; }
grep -q "^FAIL upstream: http://127.0.0.1:$closed: the ERP cannot be reached" "$work/closed.txt"

echo "-- check with an invalid config"
printf '[log]\nformat = "xml"\n' >"$work/bad.toml"
status=0
./target/debug/odoo-rest-proxy check --config "$work/bad.toml" >"$work/bad.txt" || status=$?
cat "$work/bad.txt"
[ "$status" -eq 1 ] && grep -q '^FAIL config: .*\[log\] format' "$work/bad.txt"

kill "$ERP_PID"
wait "$ERP_PID" 2>/dev/null || true
ERP_PID=""
echo "check: ok, wrong password, closed port and bad config as expected"
