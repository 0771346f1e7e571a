"""Drives benches/cpu_per_call.sh: logs in, seeds 80 partners, then per scenario times N REST
calls on the proxy and N forwards of the same XML-RPC call on nginx, each between a
`callgrind_control -z` and `-d`; prints one Markdown row per scenario. Last row: N pass-through
fetches of the demo ERP's `/web/login` page through each.

Usage (from the script): cpu_per_call.py PROXY_PORT NGINX_PORT N OUT_DIR PROXY_PID NGINX_PID
"""
import glob
import http.client
import importlib.util
import json
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

sys.dont_write_bytecode = True  # it imports load.py: no __pycache__ in benches/

px, ng, n, tmp, px_pid, ng_pid = sys.argv[1:7]
n = int(n)
spec = importlib.util.spec_from_file_location("load", Path(__file__).with_name("load.py"))
load = importlib.util.module_from_spec(spec); spec.loader.exec_module(load)
c = http.client.HTTPConnection("127.0.0.1", int(px), timeout=120)
def req(conn, method, path, body=None, headers={}):
    conn.request(method, path, body=body, headers=headers); r = conn.getresponse(); b = r.read()
    assert 200 <= r.status < 300, (r.status, b[:200]); return b
tok = json.loads(req(c, "POST", "/api/auth/get_tokens", urllib.parse.urlencode({"username":"admin","password":"admin","db":"demo"}), {"Content-Type":"application/x-www-form-urlencoded"}))["access_token"]
H = {"access_token": tok}
for i in range(80):
    req(c, "POST", "/api/res.partner", urllib.parse.urlencode({"name": f"P{i}", "email": f"p{i}@x.com"}), {**H, "Content-Type":"application/x-www-form-urlencoded"})
F5 = urllib.parse.quote(str(load.FIELDS5))
sc = {
 "GET one": (("GET", f"/api/res.partner/1?field={urllib.parse.quote(str(['name','email']))}", None), load.execute_kw("res.partner","search_read",[[["id","=",1]]],{"fields":["name","email"]})),
 "GET 80 x 5 fields": (("GET", f"/api/res.partner?limit=80&field={F5}", None), load.execute_kw("res.partner","search_read",[[]],{"fields":load.FIELDS5,"limit":80})),
 "POST create": (("POST","/api/res.partner","name=Bench+Partner&email=bench%40example.com"), load.execute_kw("res.partner","create",[{"name":"Bench Partner","email":"bench@example.com"}])),
}
g = http.client.HTTPConnection("127.0.0.1", int(ng), timeout=120)
def total(pid):
    files = sorted(glob.glob(f"{tmp}/{'proxy' if pid == px_pid else 'nginx'}.out.*"), key=os.path.getmtime)
    text = open(files[-1]).read()
    m = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    return int(m.group(1))
def measured(pid, fn):
    for _ in range(50): fn()
    subprocess.run(["callgrind_control", "-z", pid], capture_output=True, check=True)
    for _ in range(n): fn()
    subprocess.run(["callgrind_control", "-d", pid], capture_output=True, check=True)
    return total(pid) / n
for name, ((m, p, b), xml) in sc.items():
    hdr = {**H, **({"Content-Type":"application/x-www-form-urlencoded"} if b else {})}
    ours = measured(px_pid, lambda: req(c, m, p, b, hdr))
    def forward():
        body = req(g, "POST", "/xmlrpc/2/object", xml, {"Content-Type": "text/xml"})
        if b"<fault>" in body:
            raise RuntimeError(body[:300])
    theirs = measured(ng_pid, forward)
    print(f"| {name} | {ours:,.0f} | {theirs:,.0f} | {ours/theirs:.2f}x |", flush=True)
# Pass-through: the same page fetched through each (the proxy forwards everything outside /api).
page = lambda conn: lambda: req(conn, "GET", "/web/login")
ours, theirs = measured(px_pid, page(c)), measured(ng_pid, page(g))
print(f"| pass-through GET /web/login | {ours:,.0f} | {theirs:,.0f} | {ours/theirs:.2f}x |", flush=True)
