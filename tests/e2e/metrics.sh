#!/usr/bin/env bash
# /metrics parsed by a real Prometheus text-format parser (the Python client's OpenMetrics
# parser): every series of issue 10 is there, and the counters move as requests are made.
set -euo pipefail
. tests/lib.sh
need_pip prometheus_client=prometheus-client requests=requests
config=$(mktemp --suffix .toml)
printf '[admin]\nlisten = "127.0.0.1:0"\nprobe_interval_secs = 0.2\n' >"$config"
start_proxy --config "$config" demo
trap 'kill $PROXY_PID 2>/dev/null || true; rm -f "$config"' EXIT
ADMIN_URL=$(grep -o 'admin (healthz, readyz, metrics) on http://[0-9.:]*' "$PROXY_LOG" | sed 's/.* on //')
python3 - "$PROXY_URL" "$ADMIN_URL" <<'PY'
import sys
import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families

proxy, admin = sys.argv[1], sys.argv[2]

def scrape():
    response = requests.get(admin + "/metrics", timeout=10)
    assert response.status_code == 200, response.status_code
    assert response.headers["content-type"].startswith("application/openmetrics-text"), response.headers
    samples, types = {}, {}
    for family in text_string_to_metric_families(response.text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, types

def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)

before, types = scrape()
expected = {
    "odoo_rest_proxy_http_requests": "counter",
    "odoo_rest_proxy_http_request_duration_seconds": "histogram",
    "odoo_rest_proxy_upstream_calls": "counter",
    "odoo_rest_proxy_upstream_call_duration_seconds": "histogram",
    "odoo_rest_proxy_upstream_in_flight": "gauge",
    "odoo_rest_proxy_upstream_queued": "gauge",
    "odoo_rest_proxy_upstream_concurrency_limit": "gauge",
    "odoo_rest_proxy_tokens_live": "gauge",
    "odoo_rest_proxy_logins": "counter",
    "odoo_rest_proxy_cache_lookups": "counter",
    "odoo_rest_proxy_connections_open": "gauge",
    "odoo_rest_proxy_passthrough_bytes": "counter",
    "odoo_rest_proxy_websockets_open": "gauge",
    "odoo_rest_proxy_build": "info",
    "process_cpu_seconds": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_start_time_seconds": "gauge",
}
assert value(before, "odoo_rest_proxy_build_info", version="0.1.0") == 1
assert value(before, "process_resident_memory_bytes") > 0

form = {"username": "admin", "password": "admin", "db": "demo"}
token = requests.post(proxy + "/api/auth/get_tokens", data=form, timeout=10).json()["access_token"]
bad = dict(form, password="wrong")
assert requests.post(proxy + "/api/auth/get_tokens", data=bad, timeout=10).status_code == 401
for _ in range(4):
    r = requests.get(proxy + "/api/res.partner", params={"limit": 2}, headers={"access_token": token}, timeout=10)
    assert r.status_code == 200, r.text
page = requests.get(proxy + "/web/login", timeout=10)
assert page.status_code == 200
after, types = scrape()
# Every series of the issue, with its type (a labelled family appears once it has a sample).
for name, kind in expected.items():
    assert types.get(name) == kind, (name, types.get(name))

def delta(name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)

assert delta("odoo_rest_proxy_http_requests_total", route="login", method="POST", status="200") == 1
assert delta("odoo_rest_proxy_http_requests_total", route="login", method="POST", status="401") == 1
assert delta("odoo_rest_proxy_http_requests_total", route="records", method="GET", status="200") == 4
assert delta("odoo_rest_proxy_http_requests_total", route="passthrough", method="GET", status="200") == 1
assert delta("odoo_rest_proxy_http_request_duration_seconds_count", route="records") == 4
assert delta("odoo_rest_proxy_logins_total", outcome="ok") == 1
assert delta("odoo_rest_proxy_logins_total", outcome="denied") == 1
assert delta("odoo_rest_proxy_upstream_calls_total", method="search_read", outcome="ok") >= 4
# A refused password is a call that worked (authenticate answered False): outcome ok.
assert delta("odoo_rest_proxy_upstream_calls_total", method="authenticate", outcome="ok") == 2
assert delta("odoo_rest_proxy_upstream_call_duration_seconds_count", method="authenticate") == 2
assert delta("odoo_rest_proxy_cache_lookups_total", cache="gate", result="hit") == 3
assert delta("odoo_rest_proxy_passthrough_bytes_total", direction="to_client") == len(page.content)
assert value(after, "odoo_rest_proxy_tokens_live") == 1
# The adaptive limit: between [upstream] min_concurrency (4) and max_concurrency (64).
assert 4 <= value(after, "odoo_rest_proxy_upstream_concurrency_limit") <= 64
print("metrics: %d series parsed, counters moved as expected" % len(after))
PY
stop_proxy
trap - EXIT
rm -f "$config"
