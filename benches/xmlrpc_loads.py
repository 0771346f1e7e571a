"""Times CPython's xmlrpc.client.loads for benches/xmlrpc.rs (`-- --interleaved`).

Usage: python3 xmlrpc_loads.py FILE. For each line N read on stdin, it decodes FILE N times and
answers one line with the N durations in nanoseconds.
"""

import sys
import time
import xmlrpc.client

payload = open(sys.argv[1], "rb").read()
for line in sys.stdin:
    durations = []
    for _ in range(int(line)):
        start = time.perf_counter_ns()
        xmlrpc.client.loads(payload)
        durations.append(time.perf_counter_ns() - start)
    print(" ".join(map(str, durations)), flush=True)
