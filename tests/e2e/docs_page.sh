#!/usr/bin/env bash
# /api/docs in a real browser: Debian's chromium, headless, loads the page from
# `odoo-rest-proxy demo` with Swagger UI's assets from a local copy of the npm package
# swagger-ui-dist ([openapi] ui_assets_url), logs in, sees the models listed and runs one
# "Try it out" (tests/e2e/docs_page.js). SCREENSHOT=path.png keeps a screenshot.
set -euo pipefail
. tests/lib.sh
need_apt chromium
# Node and npm come with the machine; a bare Debian gets them from its own packages.
command -v npm >/dev/null || need_apt nodejs npm

work=$(mktemp -d)
assets_pid=""
cleanup() {
    kill $PROXY_PID 2>/dev/null || true
    [ -n "$assets_pid" ] && kill "$assets_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# swagger-ui-dist and playwright-core (which downloads no browser), kept between runs under
# target/; --ignore-scripts: no install script runs (swagger-ui-dist's would report to a
# third party).
node_dir=target/e2e-node
if [ ! -d "$node_dir/node_modules/swagger-ui-dist" ] || [ ! -d "$node_dir/node_modules/playwright-core" ]; then
    echo "== installing npm packages swagger-ui-dist playwright-core"
    mkdir -p "$node_dir"
    (cd "$node_dir" && npm install --no-audit --no-fund --ignore-scripts --silent swagger-ui-dist@5 playwright-core@1) ||
        { echo "FATAL: cannot install the npm packages swagger-ui-dist and playwright-core"; exit 1; }
fi

# The local copy of Swagger UI, served on a free loopback port.
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$node_dir/node_modules/swagger-ui-dist" \
    >"$work/assets.log" 2>&1 &
assets_pid=$!
assets_port=""
for _ in $(seq 1 100); do
    assets_port=$(grep -o 'port [0-9]*' "$work/assets.log" | head -1 | cut -d' ' -f2) || true
    [ -n "$assets_port" ] && break
    sleep 0.1
done
[ -n "$assets_port" ] || { echo "the assets server did not start:"; cat "$work/assets.log"; exit 1; }

printf '[openapi]\nui_assets_url = "http://127.0.0.1:%s"\n' "$assets_port" >"$work/proxy.toml"
start_proxy demo --config "$work/proxy.toml"
NODE_PATH="$PWD/$node_dir/node_modules" node tests/e2e/docs_page.js \
    "$PROXY_URL/api/docs?db=demo" "$work/profile" "${SCREENSHOT:-}"
stop_proxy
