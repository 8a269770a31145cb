"""CPU time of mailflow's pass per mail, in one process: the worker on a Maildir of run_once's mails.

``python3 -m benchmarks.cpu_pass --mails 2000`` writes N interest mails (``run_once.make_mails``,
the same text and senders as ``run_once.py``) into a Maildir, and runs ``Worker.run_once()`` of the
shipped rules (the event a month ahead, ``tests.support.rules.write_rules``) on a fresh database
with a sender that does nothing, logging at INFO as `mailflow run` does (into /dev/null). It prints
``time.process_time()`` per mail for the whole pass (record, process, send) and for processing
alone, the median over ``--rounds`` (each round on a fresh database): CPU time, so other processes
on the machine disturb it far less than wall time. ``--profile FILE`` writes one more round under
cProfile. No servers, no root.
"""

from __future__ import annotations

import argparse
import cProfile
import statistics
import tempfile
import time
from pathlib import Path


class NullSender:
    """Accepts every mail and does nothing with it (the SMTP server's share is not mailflow's CPU)."""

    def open(self) -> None:
        pass

    def send(self, raw: bytes, sender: str, recipient: str, then: object = None) -> None:
        pass

    def close(self) -> None:
        pass


def one_round(mails: list[bytes], folder: Path, profile: Path | None = None) -> tuple[float, float, int]:
    """(CPU s of the pass, CPU s of processing alone, mails processed) on a fresh database."""
    from mailflow.rules import load_rules
    from tests.support.maildirs import deliver, maildir_worker, make_maildirs
    from tests.support.rules import write_rules

    folder.mkdir()
    maildirs = make_maildirs(folder / "maildirs")
    now = int(time.time())   # arrived now: mail from before answer_mail_since is archived, not answered
    for i, raw in enumerate(mails):
        deliver(maildirs, raw, f"{now - len(mails) + i}.M{i}P1.bench")
    rules = load_rules(write_rules(folder))
    worker = maildir_worker(rules, maildirs, folder / "mailflow.db", sender=NullSender())  # type: ignore[arg-type]
    processing = 0.0
    process_recorded = worker.process_recorded

    def timed(*args, **kwargs):
        nonlocal processing
        start = time.process_time()
        try:
            return process_recorded(*args, **kwargs)
        finally:
            processing += time.process_time() - start

    worker.process_recorded = timed  # type: ignore[method-assign]
    profiler = cProfile.Profile() if profile else None
    start = time.process_time()
    if profiler:
        profiler.enable()
    report = worker.run_once()
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    total = time.process_time() - start
    if report.processed != len(mails) or report.sent != len(mails):
        raise SystemExit(f"expected {len(mails)} processed and sent, got {report.processed} and {report.sent}")
    return total, processing, report.processed


def log_like_the_cli() -> None:
    """`mailflow run`'s logging (mailflow.cli.setup_logging: INFO, one line per event), into /dev/null."""
    import contextlib
    import os

    from mailflow.cli import setup_logging

    devnull = open(os.devnull, "w")   # noqa: SIM115  open for the process's life: the log handler writes to it
    with contextlib.redirect_stdout(devnull):
        setup_logging(verbose=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    from benchmarks.run_once import make_mails

    log_like_the_cli()

    mails = make_mails(args.mails, "cpu")
    with tempfile.TemporaryDirectory() as tmp:
        one_round(mails[:50], Path(tmp) / "warm-up")   # language model, templates, regexes
        results = [one_round(mails, Path(tmp) / f"round{r}") for r in range(args.rounds)]
        if args.profile:
            one_round(mails, Path(tmp) / "profile", args.profile)
    per_mail = sorted((total / n * 1000, processing / n * 1000) for total, processing, n in results)
    print(f"{args.mails} mails, {args.rounds} rounds, CPU ms a mail (process_time):")
    for label, values in (("pass", [p for p, _ in per_mail]), ("processing", [q for _, q in per_mail])):
        rounds = ", ".join(f"{v:.3f}" for v in values)
        print(f"  {label + ':':<12}median {statistics.median(values):.3f}  ({rounds})")


if __name__ == "__main__":
    main()
