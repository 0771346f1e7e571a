#!/usr/bin/env bash
# Flectra's document examples (verbatim) and the README's curl session, against
# `odoo-rest-proxy demo` on loopback.
set -euo pipefail
. tests/lib.sh
start_proxy demo
trap 'kill $PROXY_PID 2>/dev/null || true' EXIT
python3 tests/seed_examples.py "$PROXY_URL"
python3 tests/readme_session.py "$PROXY_URL"
stop_proxy
trap - EXIT
