#!/usr/bin/env bash
# Flectra's document examples (verbatim) and the README's curl session, against
# `odoo-rest-proxy demo --odoo-version flectra-1.4`: the demo ERP speaking Flectra 1.4's
# dialect (tests/fixtures/flectra14/).
set -euo pipefail
. tests/lib.sh
start_proxy demo --odoo-version flectra-1.4
trap 'kill $PROXY_PID 2>/dev/null || true' EXIT
python3 tests/seed_examples.py "$PROXY_URL"
python3 tests/readme_session.py "$PROXY_URL" 1
# The demo ERP itself answers as Flectra 1.4 does: its version, and uid 1 for the admin.
ERP_URL=$(grep -o 'http://[0-9.:]*/xmlrpc/2/object' "$PROXY_LOG" | head -1 | sed 's#/xmlrpc/2/object##')
python3 - "$ERP_URL" <<'PY'
import sys
import xmlrpc.client

common = xmlrpc.client.ServerProxy(sys.argv[1] + "/xmlrpc/2/common")
version = common.version()
assert version["server_version"] == "1.4", version
uid = common.authenticate("demo", "admin", "admin", {})
assert uid == 1, uid
print("ok: the demo ERP answers as Flectra 1.4 (version 1.4, admin uid 1)")
PY
stop_proxy
trap - EXIT
