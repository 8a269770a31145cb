"""`mailflow` in a child process under a real memory limit (RLIMIT_AS), reporting its peak.

RLIMIT_AS caps virtual memory, which counts more than what a pass touches (shared libraries,
thread stacks, malloc arenas): a test first measures a pass that holds almost no mail, then
caps a pass at that peak plus the memory it means to allow.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from . import REPO

_CHILD = """
import atexit, resource, sys
cap = int(sys.argv[1])
if cap:
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

def peak():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmPeak:"))
    sys.stderr.write(f"VMPEAK_KB {line.split()[1]}\\n")

atexit.register(peak)
from mailflow.cli import main
main(sys.argv[2:], prog_name="mailflow")
"""


def run_limited(args: list[str], cap_bytes: int = 0, env: dict[str, str] | None = None,
                timeout: float = 600) -> tuple[subprocess.CompletedProcess, int]:
    """`mailflow ARGS` in a child with virtual memory capped at `cap_bytes` (0: no cap); returns the
    finished process and its peak virtual memory in bytes (0 when it died before saying)."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(cap_bytes), *args], check=False, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, cwd=Path(REPO), timeout=timeout)
    found = re.search(r"VMPEAK_KB (\d+)", done.stderr)
    return done, int(found.group(1)) * 1024 if found else 0
