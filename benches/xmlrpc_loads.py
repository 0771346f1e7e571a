"""Times CPython for benches/xmlrpc.rs (`-- --interleaved`): what a Python gateway does with an
XML-RPC answer, `xmlrpc.client.loads`, then `json.dumps` of its param.

Usage: python3 xmlrpc_loads.py FILE. For each line N read on stdin, it decodes FILE N times and
answers one line of N pairs `LOADS_NS,LOADS_AND_DUMPS_NS` (nanoseconds, `perf_counter_ns`).
"""

import json
import sys
import time
import xmlrpc.client

payload = open(sys.argv[1], "rb").read()
for line in sys.stdin:
    pairs = []
    for _ in range(int(line)):
        start = time.perf_counter_ns()
        params, _method = xmlrpc.client.loads(payload)
        loaded = time.perf_counter_ns()
        json.dumps(params[0])
        pairs.append(f"{loaded - start},{time.perf_counter_ns() - start}")
    print(" ".join(pairs), flush=True)
