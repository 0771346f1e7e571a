"""Runs the curl session of README.md against a running proxy and checks that every command
answers what the README shows under it (`<...>` stands for any text, such as a token or id).

Usage: python3 tests/readme_session.py http://127.0.0.1:PORT [ADMIN_UID]
ADMIN_UID replaces the admin uid the README shows (2, Odoo 18's) in the expected answers, e.g. 1
for an ERP speaking Flectra 1.4.
"""

import re
import subprocess
import sys
from pathlib import Path

MARK = "@@readme-session@@"

readme = (Path(__file__).parent.parent / "README.md").read_text()
block = readme.split("<!-- curl-session:start -->", 1)[1].split("<!-- curl-session:end -->", 1)[0]
lines = block.strip().strip("`").removeprefix("sh").strip().splitlines()

script, expected = [], []
for line in lines:
    if line.startswith("PROXY="):
        script.append(f"PROXY={sys.argv[1]}")
    elif line.startswith("# {") or line.startswith("# ["):
        expected[-1] = line[2:]
        if len(sys.argv) > 2:
            expected[-1] = expected[-1].replace('"uid":2', f'"uid":{int(sys.argv[2])}')
    elif line.startswith("curl "):
        script += [line, "echo", f"echo {MARK}"]
        expected.append(None)
    elif line and not line.startswith("#"):
        script.append(line)

run = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(script)], capture_output=True, text=True, timeout=60)
if run.returncode != 0:
    print(f"FAILED: the session exited {run.returncode}: {run.stderr}")
    sys.exit(1)
outputs = [o.strip() for o in run.stdout.split(MARK)[:-1]]
assert len(outputs) == len(expected), (len(outputs), len(expected))
failed = 0
for number, (got, want) in enumerate(zip(outputs, expected), 1):
    if want is None:
        continue
    pattern = "".join(".+?" if part.startswith("<") else re.escape(part) for part in re.split(r"(<[^>]+>)", want))
    if re.fullmatch(pattern, got):
        print(f"ok: curl #{number}: {got[:100]}")
    else:
        failed += 1
        print(f"FAILED: curl #{number}\n  want: {want}\n  got:  {got}")
if failed:
    sys.exit(1)
print(f"the README's curl session gave the documented answers ({sum(w is not None for w in expected)} checked)")
