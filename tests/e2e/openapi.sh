#!/usr/bin/env bash
# The OpenAPI document of `odoo-rest-proxy demo`: validated with openapi-spec-validator, then
# schemathesis drives every operation from it against a fresh proxy + demo ERP (it creates,
# updates and deletes records), with bounded examples, checking that no answer is a 5xx and
# that every answer matches its declared schema and content type.
set -euo pipefail
. tests/lib.sh
need_pip openapi_spec_validator=openapi-spec-validator schemathesis=schemathesis

work=$(mktemp -d)
trap 'kill $PROXY_PID 2>/dev/null || true; rm -rf "$work"' EXIT
# schemathesis logs in with random credentials: the failed-login limiter would soon answer 429
# to the real logins below too: give it a limit it cannot reach (0 is refused).
printf '[limits]\nlogin_attempts = 1000000\n' >"$work/proxy.toml"

login() {
    curl -sf -d username=admin -d password=admin -d db=demo "$PROXY_URL/api/auth/get_tokens" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# 1. The document is valid OpenAPI 3.1.
start_proxy demo --config "$work/proxy.toml"
token=$(login)
curl -sf -H "access_token: $token" "$PROXY_URL/api/openapi.json" -o "$work/openapi.json"
python3 - "$work/openapi.json" <<'PY'
import json, sys
from openapi_spec_validator import validate
document = json.load(open(sys.argv[1]))
validate(document)
assert document["openapi"] == "3.1.0"
assert "/api/res.partner/{id}" in document["paths"], sorted(document["paths"])
print("openapi-spec-validator: valid OpenAPI 3.1.0,", len(document["paths"]), "paths")
PY
echo "document: $(wc -c <"$work/openapi.json") bytes;" \
    "$(grep -o 'OpenAPI document built.*' "$PROXY_LOG" | head -1)"
stop_proxy

# 2. schemathesis, on a fresh demo: every operation. delete_tokens runs on its own, last, since
# it revokes the token the other operations use.
start_proxy demo --config "$work/proxy.toml"
token=$(login)
checks=not_a_server_error,response_schema_conformance,content_type_conformance
run_schemathesis() {
    (cd "$work" && timeout 300 schemathesis run "$PROXY_URL/api/openapi.json" \
        -H "access_token: $token" --checks "$checks" --max-examples 20 --seed 1207 \
        --generation-database none --no-color --workers 1 "$@") >"$work/schemathesis.log" 2>&1 || {
        cat "$work/schemathesis.log"
        return 1
    }
    grep -E "API Links:" "$work/schemathesis.log" || true
    grep -A1 "^Test cases:" "$work/schemathesis.log" | tail -1
}
started=$(date +%s)
run_schemathesis --exclude-path /api/auth/delete_tokens
run_schemathesis --include-path /api/auth/delete_tokens --phases examples,coverage,fuzzing
echo "schemathesis: $(($(date +%s) - started)) s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
stop_proxy
trap 'rm -rf "$work"' EXIT
