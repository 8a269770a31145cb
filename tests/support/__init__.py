"""What the tests and the benchmarks share: mail servers, rules files, Maildirs, the demo project, a clock.

An importable package (like aiosmtpd's ``aiosmtpd.testing``), not conftest magic: pytest finds it
because ``pythonpath = ["."]`` puts the repository root on the path, and a benchmark run from the root
as ``python3 -m benchmarks.NAME`` finds it the same way. It lives under tests/, so the wheel (which
packages mailflow, mailflow.cli and the shipped project only) never ships it.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def as_another_user(uid: int, gid: int, groups: list[int], work) -> None:
    """Run `work()` in a forked child as `uid`/`gid` with the supplementary `groups` (root only: what a
    member of a database group, not the owner, may do); fails the test when the child does."""
    import os

    child = os.fork()
    if child == 0:   # pragma: no cover - the child process
        status = 1
        try:
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            work()
            status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
