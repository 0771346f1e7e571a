# Shell helpers for tests/run and the end-to-end scripts in tests/e2e/ (sourced, not run).

# Installs the Debian packages that are missing; fails with one clear line when it cannot.
need_apt() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "== installing Debian packages: ${missing[*]}"
    if [ -z "${APT_UPDATED:-}" ]; then
        apt-get update -qq || { echo "FATAL: apt-get update failed; cannot install ${missing[*]}"; return 1; }
        export APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        { echo "FATAL: cannot install the Debian packages ${missing[*]}"; return 1; }
}

# Installs the PyPI packages whose module cannot be imported. Arguments: module=package pairs.
need_pip() {
    local pair module package
    for pair in "$@"; do
        module=${pair%%=*}
        package=${pair#*=}
        python3 -c "import $module" 2>/dev/null && continue
        echo "== installing PyPI package $package"
        python3 -m pip install -q "$package" ||
            { echo "FATAL: cannot install the PyPI package $package"; return 1; }
    done
}

# Starts `odoo-rest-proxy ARGS...` on 127.0.0.1:0 in the background; sets PROXY_PID and PROXY_URL.
# The binary is target/debug/odoo-rest-proxy (built by tests/run).
start_proxy() {
    local log
    log=$(mktemp)
    PROXY_LOG=$log
    ./target/debug/odoo-rest-proxy "$@" --listen 127.0.0.1:0 >"$log" 2>&1 &
    PROXY_PID=$!
    PROXY_URL=""
    for _ in $(seq 1 100); do
        PROXY_URL=$(grep -o 'listening on http://[0-9.:]*' "$log" | head -1 | sed 's/listening on //') || true
        [ -n "$PROXY_URL" ] && return 0
        kill -0 "$PROXY_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "the proxy did not start:"
    cat "$log"
    return 1
}

# Stops the proxy started by start_proxy with SIGTERM; fails unless it exits 0.
stop_proxy() {
    kill -TERM "$PROXY_PID"
    wait "$PROXY_PID" || { echo "the proxy did not exit cleanly on SIGTERM:"; cat "$PROXY_LOG"; return 1; }
}
