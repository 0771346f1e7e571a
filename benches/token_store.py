#!/usr/bin/env python3
"""The token store's cost on loopback: GET one (`/api/res.partner/1`) at c=64 against the demo
ERP (keep-alive), through a proxy with the memory store and through one with the Redis store
(a `redis-server` started here on a free port, no persistence), interleaved: every round runs
both in a rotated order, and the table quotes the medians. Also: Redis commands per REST call
(INFO's total_commands_processed over a run, divided by the requests wrk counted), CPU time per
call of the proxy and of redis-server (utime + stime from /proc over each run), and the RSS
growth of each proxy for `--tokens` live tokens.

Needs: wrk and redis-server (Debian packages), a release build (`cargo build --release`).
Usage: python3 benches/token_store.py [--rounds 5] [--seconds 5] [--concurrency 64]
           [--tokens 20000]
Bounded: rounds x 2 x seconds, plus the logins.
"""

import argparse
import base64
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import BINARY, cpu_seconds, free_port, login_many, lua_script, rss_kib, run_wrk, stop_all, wait_port  # noqa: E402

KEY_ENV = "BENCH_TOKEN_KEY"


def redis_command(port, *words):
    """One command over RESP; the answer as text (a status line or a bulk string, as INFO gives)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"*{len(words)}\r\n".encode() + b"".join(f"${len(w)}\r\n{w}\r\n".encode() for w in words))
        data = b""
        while b"\r\n" not in data:
            data += s.recv(65536)
        head, _, rest = data.partition(b"\r\n")
        if not head.startswith(b"$"):
            return head.decode(errors="replace")
        length = int(head[1:])
        while len(rest) < length + 2:
            rest += s.recv(65536)
        return rest[:length].decode(errors="replace")


def total_commands(port):
    return int(re.search(r"total_commands_processed:(\d+)", redis_command(port, "INFO", "stats")).group(1))


def used_memory(port):
    return int(re.search(r"used_memory:(\d+)", redis_command(port, "INFO", "memory")).group(1))


def start_proxy(erp_port, config, env):
    port = free_port()
    proxy = subprocess.Popen([BINARY, "--config", str(config), "--listen", f"127.0.0.1:{port}",
                              "--upstream", f"http://127.0.0.1:{erp_port}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "RUST_LOG": "warn", **env})
    wait_port(port)
    return proxy, port


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=20_000, help="live tokens for the memory figure (0: skip)")
    args = parser.parse_args()
    if not BINARY.exists():
        sys.exit(f"build first: cargo build --release ({BINARY} is missing)")

    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            erp_port, redis_port = free_port(), free_port()
            procs.append(subprocess.Popen([BINARY, "--config", "/dev/null", "demo-erp", "--keep-alive",
                                           "--listen", f"127.0.0.1:{erp_port}"], stdout=subprocess.DEVNULL))
            procs.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL))
            wait_port(erp_port)
            wait_port(redis_port)
            limits = f"max_tokens = {max(args.tokens * 2, 1000)}\nmax_per_user = {max(args.tokens * 2, 1000)}\n"
            memory_config = Path(tmp, "memory.toml")
            memory_config.write_text(f"[tokens]\n{limits}[limits]\nlogin_attempts = 1000000\n")
            redis_config = Path(tmp, "redis.toml")
            redis_config.write_text(f"[tokens]\n{limits}store = \"redis\"\nredis_url = \"redis://127.0.0.1:{redis_port}/0\"\n"
                                    f"encryption_key_env = \"{KEY_ENV}\"\n[limits]\nlogin_attempts = 1000000\n")
            env = {KEY_ENV: base64.b64encode(os.urandom(32)).decode()}
            stores = {}
            for name, config in [("memory", memory_config), ("redis", redis_config)]:
                proxy, port = start_proxy(erp_port, config, env)
                procs.append(proxy)
                token = login_many(port, 1, connections=1)[0]
                script = Path(tmp, f"{name}.lua")
                lua_script(script, "GET", None, {"access_token": token})
                stores[name] = {"proxy": proxy, "port": port, "script": script, "runs": [], "per_call": [],
                                "cpu_proxy": [], "cpu_redis": []}

            order = ["memory", "redis"]
            for round_no in range(args.rounds):
                for name in order if round_no % 2 == 0 else order[::-1]:
                    store = stores[name]
                    before = total_commands(redis_port)
                    cpu_before = cpu_seconds([store["proxy"].pid]), cpu_seconds([procs[1].pid])
                    result = run_wrk(f"http://127.0.0.1:{store['port']}/api/res.partner/1", store["script"],
                                     args.concurrency, args.seconds)
                    cpu_after = cpu_seconds([store["proxy"].pid]), cpu_seconds([procs[1].pid])
                    commands = total_commands(redis_port) - before - 1  # the INFO of `before`
                    served = max(result["requests"], 1)
                    store["cpu_proxy"].append((cpu_after[0] - cpu_before[0]) * 1e6 / served)
                    store["cpu_redis"].append((cpu_after[1] - cpu_before[1]) * 1e6 / served)
                    if result["errors"] or result["socket_errors"]:
                        print(f"warning: {name}: {result['errors']} non-2xx, socket errors {result['socket_errors']!r}")
                    store["runs"].append(result)
                    store["per_call"].append(commands / max(result["requests"], 1))
            print(f"load average before the memory figures: {os.getloadavg()}")
            print(f"\nGET one, c={args.concurrency}, {args.rounds} interleaved rounds of {args.seconds} s (medians)\n")
            print("| store | req/s | p50 ms | p99 ms | proxy CPU µs / call | redis-server CPU µs / call | Redis commands per REST call |")
            print("|---|---|---|---|---|---|---|")
            for name, store in stores.items():
                runs = store["runs"]
                print(f"| {name} | {statistics.median(r['rps'] for r in runs):,.0f} | "
                      f"{statistics.median(r['p50'] for r in runs):.2f} | {statistics.median(r['p99'] for r in runs):.2f} | "
                      f"{statistics.median(store['cpu_proxy']):.1f} | {statistics.median(store['cpu_redis']):.1f} | "
                      f"{statistics.median(store['per_call']):.3f} |")
            ratio = statistics.median(r["rps"] for r in stores["redis"]["runs"]) / \
                statistics.median(r["rps"] for r in stores["memory"]["runs"])
            print(f"\nredis / memory throughput: {ratio:.3f} (per round: "
                  + ", ".join(f"{r['rps'] / m['rps']:.3f}" for r, m in zip(stores["redis"]["runs"], stores["memory"]["runs"]))
                  + ")")

            if args.tokens:
                print(f"\nRSS growth for {args.tokens} live tokens (logged in over 16 keep-alive connections):\n")
                for name, store in stores.items():
                    pid = store["proxy"].pid
                    before, redis_before = rss_kib(pid), used_memory(redis_port)
                    login_many(store["port"], args.tokens)
                    after, redis_after = rss_kib(pid), used_memory(redis_port)
                    print(f"- {name} store: proxy RSS {before} KiB -> {after} KiB, {(after - before) * 1024 / args.tokens:.0f} "
                          f"bytes per token; Redis used_memory {(redis_after - redis_before) / args.tokens:.0f} bytes per token")
            print(f"\nload average at the end: {os.getloadavg()}")
        finally:
            stop_all(procs)


if __name__ == "__main__":
    main()
