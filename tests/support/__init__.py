"""What the tests and the benchmarks share: mail servers, rules files, Maildirs, the demo project, a clock.

An importable package (like aiosmtpd's ``aiosmtpd.testing``), not conftest magic: pytest finds it
because ``pythonpath = ["."]`` puts the repository root on the path, and a benchmark run from the root
as ``python3 -m benchmarks.NAME`` finds it the same way. It lives under tests/, so the wheel (which
packages mailflow, mailflow.cli and the shipped project only) never ships it.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
