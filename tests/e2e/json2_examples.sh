#!/usr/bin/env bash
# Flectra's document examples (verbatim, tests/seed_examples.py) against
# `odoo-rest-proxy demo --odoo-version 19` with `[upstream] protocol = "json2"`: the login
# sends the admin's API key as the password, and every call travels over JSON-2. A password
# is refused with a message that asks for an API key.
set -euo pipefail
. tests/lib.sh
config=$(mktemp --suffix=.toml)
printf '[upstream]\nprotocol = "json2"\n' >"$config"
start_proxy demo --odoo-version 19 --config "$config"
trap 'kill $PROXY_PID 2>/dev/null || true; rm -f "$config"' EXIT
key=$(grep -o 'admin=[0-9a-f]*' "$PROXY_LOG" | head -1 | cut -d= -f2)
[ -n "$key" ] || { echo "the demo printed no API key:"; cat "$PROXY_LOG"; exit 1; }
python3 tests/seed_examples.py "$PROXY_URL" demo admin "$key"
refused=$(curl -s -o /dev/null -w '%{http_code}' "$PROXY_URL/api/auth/get_tokens" \
    -d username=admin -d password=admin -d db=demo)
[ "$refused" = 401 ] || { echo "a password over JSON-2 answered $refused, not 401"; exit 1; }
curl -s "$PROXY_URL/api/auth/get_tokens" -d username=admin -d password=admin -d db=demo |
    grep -q 'API key' || { echo "the refusal does not say an API key is needed"; exit 1; }
echo "ok: a password is refused over JSON-2 with a message asking for an API key"
stop_proxy
trap - EXIT
rm -f "$config"
