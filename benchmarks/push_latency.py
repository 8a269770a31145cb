#!/usr/bin/env python3
"""Benchmark: how fast the `mailflow run` daemon answers one new mail (IMAP IDLE vs polling).

Not a pytest test.  Needs root and Dovecot (like the integration tests)::

    python3 -m benchmarks.push_latency [--mails K] [--json] [--check]

Issue "Use IMAP IDLE where the server offers it": a new mail is answered
within a second on loopback.  What happens (see benchmarks/README.md):

1. A private Dovecot and an aiosmtpd server start on 127.0.0.1
   (tests.support.servers), users intl@example.org and german@example.org.
2. Two modes, one after the other, each with a fresh database and empty
   mailboxes:
   * **idle**: rules with ``poll_interval: 3600`` (so only IDLE can trigger a
     pass) and ``imap.idle: true``;
   * **poll** (the comparison): ``imap.idle: false`` and ``poll_interval: 1``.
   Both: ``send_rate_per_minute: 0``, password from MAILFLOW_TEST_PASSWORD.
3. ``python -m mailflow --rules R run`` starts as a child process; the
   benchmark waits for its first "pass done" log line, for ``mailflow status``
   to show the international mailbox as ``idle`` (resp. ``polling``) and for
   the passes to settle.
4. K interest mails (distinct senders) are APPENDed to intl@example.org's
   INBOX over one IMAP session that stays open (the login is not measured),
   one every ``--spacing`` seconds (default 0.3) on a fixed schedule,
   whether or not the previous reply has arrived.
5. Latency of a mail = from the return of its APPEND (the server's tagged OK)
   to the moment the SMTP server has the reply to that sender (aiosmtpd's
   ``on_accept`` hook, before its 250; ``time.perf_counter`` in this process
   for both ends).
   In the idle mode a plain imapclient IDLE session of this process on the
   same INBOX notes when Dovecot announces each mail (EXISTS): the server's
   share, which mailflow cannot beat (Dovecot batches change notifications
   for up to 500 ms).  Each IMAP session batches on its own timer, so this is
   the distribution of the server's delay, not a per-mail share of mailflow's.
6. SIGTERM to the daemon; it must exit 0 and log "stopped cleanly".

Correctness (fails loudly otherwise): exactly K replies per mode, one to each
sender, each with In-Reply-To naming that sender's Message-ID.

Options: ``--mails K`` (default 30), ``--spacing S`` (default 0.3),
``--poll-interval N`` (poll mode, default 1), ``--json``, ``--check`` (exit 1
unless every IDLE latency is under 1 s), ``--keep`` (keep rules, logs, databases).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.harness import REPO, check_recipients, interest_mail, machine, mailflow_env, show, write_bench_rules

TARGET_SECONDS = 1.0


# --------------------------------------------------------------------------
# Mails, rules, daemon
# --------------------------------------------------------------------------

def make_mail(mode: str, i: int, run_tag: str) -> tuple[str, str, bytes]:
    """One interest mail like run_once's, from a sender unique to this mode and index."""
    from email.utils import format_datetime

    name, address = f"Expert {mode} {i}", f"{mode}{i}@city{i % 50}.gov.ge"
    message_id = f"<push-{run_tag}-{mode}-{i}@city{i % 50}.gov.ge>"
    return address, message_id, interest_mail(name, address, message_id, format_datetime(datetime.now(UTC)),
                                              i % 50)


def connection_state(rules_path: Path, env: dict, mailbox: str) -> str | None:
    """The connection state `mailflow status --json` shows for `mailbox` (the daemon records it)."""
    done = subprocess.run([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "status", "--json"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    if done.returncode != 0:
        return None
    try:
        boxes = json.loads(done.stdout)["mailboxes"]
    except (ValueError, KeyError):
        return None
    return next((box.get("connection") for box in boxes if box.get("mailbox") == mailbox), None)


def fail(message: str, log_path: Path | None = None) -> None:
    tail = ""
    if log_path is not None and log_path.exists():
        tail = "\nmailflow log tail:\n" + log_path.read_text(errors="replace")[-3000:]
    raise SystemExit(f"FAIL: {message}{tail}")


def wait_until(condition, timeout: float, what: str, process: subprocess.Popen, log_path: Path,
               step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            fail(f"mailflow exited with {process.returncode} while waiting for {what}", log_path)
        time.sleep(step)
    fail(f"timed out after {timeout:.0f} s waiting for {what}", log_path)


def passes_done(log_path: Path) -> int:
    return log_path.read_text(errors="replace").count("pass done")


def wait_settled(log_path: Path, process: subprocess.Popen, quiet: float = 1.0, timeout: float = 30.0) -> None:
    """Wait until no "pass done" line was added for `quiet` seconds (start-up and catch-up passes over)."""
    deadline = time.monotonic() + timeout
    count, since = passes_done(log_path), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if process.poll() is not None:
            fail(f"mailflow exited with {process.returncode} during start-up", log_path)
        now_count = passes_done(log_path)
        if now_count != count:
            count, since = now_count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
    # poll mode never goes quiet for long with poll_interval 1: that is fine, it is settled by then.


LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO \S+: .*?message_id=(\S+) recorded$", re.M)


def recorded_times(log_text: str) -> dict[str, float]:
    """message_id -> epoch seconds of its "recorded" log line (best effort, millisecond resolution)."""
    out = {}
    for m in LOG_LINE.finditer(log_text):
        out.setdefault(m.group(2), datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp())
    return out


class RawIdleClient(threading.Thread):
    """The server's own share: a plain imapclient IDLE session on the same INBOX, in this process,
    noting when each new message is announced (untagged EXISTS).  mailflow cannot answer sooner
    than the server announces; Dovecot holds change notifications back for up to 500 ms
    (NOTIFY_DELAY_MSECS in src/lib-storage/mailbox-watch.c) to batch them."""

    def __init__(self, dovecot, user: str):
        super().__init__(name="raw-idle", daemon=True)
        self.client = dovecot.client(user, timeout=30)
        self.client.select_folder("INBOX", readonly=True)
        self.announced: list[tuple[int, float]] = []   # (EXISTS count, perf_counter)
        self._stop_event = threading.Event()
        self.client.idle()

    def run(self) -> None:
        while not self._stop_event.is_set():
            for response in self.client.idle_check(timeout=0.2):
                if len(response) > 1 and response[1] == b"EXISTS":
                    self.announced.append((int(response[0]), time.perf_counter()))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
        try:
            self.client.idle_done()
            self.client.logout()
        except Exception:
            pass

    def announced_at(self, index: int) -> float | None:
        """When the message at 0-based position `index` of the (initially empty) INBOX was announced."""
        return next((t for count, t in self.announced if count > index), None)


# --------------------------------------------------------------------------
# One mode
# --------------------------------------------------------------------------

def run_mode(mode: str, workdir: Path, dovecot, smtp, users: dict[str, str], password: str, *, idle: bool,
             poll_interval: int, k: int, spacing: float, run_tag: str) -> dict:
    import email.parser
    import email.policy

    intl_user = users["international"]
    for user in users.values():  # empty mailboxes (kicks old sessions); the database is fresh too
        dovecot.reset_user(user)
    smtp.clear()
    received_at: dict[str, float] = {}
    lock = threading.Lock()

    def on_accept(msg) -> None:  # in aiosmtpd's thread, before its 250
        t = time.perf_counter()
        with lock:
            for rcpt in msg.rcpt_tos:
                received_at.setdefault(rcpt.lower(), t)

    smtp.on_accept = on_accept

    mode_dir = workdir / mode
    mode_dir.mkdir()
    rules_path = write_bench_rules(mode_dir, dovecot, smtp, sent_copy="append", imap={"idle": idle},
                                   poll_interval=poll_interval)
    env = mailflow_env(REPO, password)
    log_path = mode_dir / "mailflow.log"
    mails = [make_mail(mode, i, run_tag) for i in range(k)]

    with open(log_path, "wb") as log:
        t_spawn = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "run"],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=REPO)
    client = raw_idle = None
    try:
        wait_until(lambda: passes_done(log_path) >= 1, 60, 'the first "pass done"', process, log_path)
        first_pass = time.perf_counter() - t_spawn
        want = "idle" if idle else "polling"
        wait_until(lambda: connection_state(rules_path, env, "international") == want, 30,
                   f"mailflow status to show the international mailbox {want!r}", process, log_path, step=0.2)
        wait_settled(log_path, process)
        passes_before = passes_done(log_path)

        raw_idle = RawIdleClient(dovecot, intl_user) if idle else None
        if raw_idle is not None:
            raw_idle.start()
        client = dovecot.client(intl_user, timeout=30)  # logged in before the clock starts
        appended: list[tuple[str, str, float, float, float]] = []  # sender, message-id, t_done, epoch, duration
        t0 = time.perf_counter() + 0.05
        for i, (sender, message_id, raw) in enumerate(mails):
            delay = t0 + i * spacing - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            t_start = time.perf_counter()
            client.append("INBOX", raw)
            t_done = time.perf_counter()
            appended.append((sender, message_id, t_done, time.time(), t_done - t_start))
        try:
            smtp.wait_for(k, timeout=poll_interval + 30 if not idle else 30)
        except TimeoutError as exc:
            fail(f"{mode}: {exc}", log_path)
        time.sleep(0.3)  # anything beyond K still on its way
        passes_during = passes_done(log_path) - passes_before
        if raw_idle is not None:
            raw_idle.stop()
        client.logout()
        client = None

        # Clean stop: SIGTERM, exit code 0, "stopped cleanly".
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            fail(f"{mode}: mailflow did not stop within 30 s of SIGTERM", log_path)
    finally:
        if raw_idle is not None and raw_idle.is_alive():
            raw_idle.stop()
        if client is not None:
            with contextlib.suppress(Exception):
                client.logout()
        if process.poll() is None:
            process.kill()
            process.wait()
        smtp.on_accept = None
    log_text = log_path.read_text(errors="replace")
    if code != 0:
        fail(f"{mode}: mailflow exited with {code} after SIGTERM", log_path)
    if "stopped cleanly" not in log_text:
        fail(f'{mode}: no "stopped cleanly" in mailflow\'s log after SIGTERM', log_path)

    # Correctness: exactly one reply to each sender, answering that sender's mail.
    expected = {sender: message_id for sender, message_id, *_ in appended}
    messages = check_recipients(smtp, list(expected), mode, log_text, timeout=1)
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    for m in messages:
        in_reply_to = (parser.parsebytes(m.data).get("In-Reply-To") or "").strip()
        if in_reply_to != expected[m.rcpt_tos[0].lower()]:
            fail(f"{mode}: reply to {m.rcpt_tos[0]} has In-Reply-To {in_reply_to!r}, "
                 f"expected {expected[m.rcpt_tos[0].lower()]!r}", log_path)

    latencies = [received_at[sender] - t_done for sender, _mid, t_done, _epoch, _d in appended]
    recorded = recorded_times(log_text)
    to_recorded = [recorded[mid] - epoch for _s, mid, _t, epoch, _d in appended if mid in recorded]
    result = {"mode": mode, "imap_idle": idle, "poll_interval": poll_interval,
              **summary(latencies),
              "append_ms_median": round(statistics.median(d for *_x, d in appended) * 1000, 2),
              "first_pass_seconds": round(first_pass, 2),
              "passes_during_measurement": passes_during,
              "daemon_exit_code": code,
              "latencies_ms": [round(x * 1000, 1) for x in latencies]}
    if raw_idle is not None:
        announced = [raw_idle.announced_at(i) for i in range(k)]
        if all(t is not None for t in announced):
            server = summary([t - t_done for t, (_s, _m, t_done, _e, _d) in zip(announced, appended, strict=True)])
            result["server_idle_announce_ms"] = {key: server[key]
                                                 for key in ("min_ms", "median_ms", "p90_ms", "max_ms")}
    if len(to_recorded) == k:  # best effort, from the log's millisecond timestamps
        result["append_to_recorded_ms_median"] = round(statistics.median(to_recorded) * 1000, 1)
    result["log"] = str(log_path)
    return result


def summary(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    n = len(ordered)
    p90 = ordered[max(0, math.ceil(0.9 * n) - 1)]  # nearest rank
    return {"mails": n,
            "min_ms": round(ordered[0] * 1000, 1),
            "median_ms": round(statistics.median(ordered) * 1000, 1),
            "p90_ms": round(p90 * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1),
            "under_1s": round(sum(1 for x in ordered if x < TARGET_SECONDS) / n, 3)}


# --------------------------------------------------------------------------
# Whole benchmark
# --------------------------------------------------------------------------

def benchmark(k: int, spacing: float, poll_interval: int, keep: bool) -> dict:
    import shutil
    import tempfile
    import uuid

    from tests.support.servers import DEFAULT_USERS, GERMAN_USER, INTL_USER, PASSWORD, DovecotServer, SmtpServer

    password = PASSWORD
    users = {"international": INTL_USER, "german": GERMAN_USER}
    run_tag = uuid.uuid4().hex[:12]
    workdir = Path(tempfile.mkdtemp(prefix="mailflow-push-"))
    t_start = time.perf_counter()
    try:
        with DovecotServer(None, DEFAULT_USERS) as dovecot, SmtpServer() as smtp:
            modes = [
                run_mode("idle", workdir, dovecot, smtp, users, password, idle=True, poll_interval=3600, k=k,
                         spacing=spacing, run_tag=run_tag),
                run_mode("poll", workdir, dovecot, smtp, users, password, idle=False, poll_interval=poll_interval,
                         k=k, spacing=spacing, run_tag=run_tag),
            ]
    finally:
        if keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if not keep:
        for mode in modes:
            mode.pop("log")
    idle = modes[0]
    return {
        "mails_per_mode": k,
        "spacing_seconds": spacing,
        "target": f"every reply within {TARGET_SECONDS:.0f} s of the APPEND (IMAP IDLE)",
        "target_ok": idle["max_ms"] < TARGET_SECONDS * 1000,
        "modes": {m["mode"]: m for m in modes},
        "wall_seconds": round(time.perf_counter() - t_start, 1),
        **machine(),
    }


def print_table(r: dict) -> None:
    print(f"mailflow push latency, {r['date']}, Python {r['python']}, {r['cpus']} CPUs, "
          f"{r['mails_per_mode']} mails per mode, one APPEND every {r['spacing_seconds'] * 1000:.0f} ms")
    print("  APPEND done -> reply at the SMTP server, ms")
    header = f"  {'mode':<28} {'min':>7} {'median':>7} {'p90':>7} {'max':>7}  {'< 1 s':>6}  {'passes':>6}"
    print(header)
    for m in r["modes"].values():
        label = ("IDLE, poll_interval 3600" if m["imap_idle"] else f"no IDLE, poll_interval {m['poll_interval']}")
        print(f"  {label:<28} {m['min_ms']:>7.1f} {m['median_ms']:>7.1f} {m['p90_ms']:>7.1f} {m['max_ms']:>7.1f}"
              f"  {m['under_1s'] * 100:>5.0f}%  {m['passes_during_measurement']:>6}")
    for m in r["modes"].values():
        if "server_idle_announce_ms" in m:
            a = m["server_idle_announce_ms"]
            print(f"  {'floor: Dovecot announces':<28} {a['min_ms']:>7.1f} {a['median_ms']:>7.1f} {a['p90_ms']:>7.1f}"
                  f" {a['max_ms']:>7.1f}  (APPEND done -> EXISTS at a raw IDLE client)")
    for m in r["modes"].values():
        extra = f", APPEND -> 'recorded' log line median {m['append_to_recorded_ms_median']:.0f} ms" \
            if "append_to_recorded_ms_median" in m else ""
        print(f"  {m['mode']}: APPEND itself median {m['append_ms_median']:.1f} ms, first pass "
              f"{m['first_pass_seconds']:.1f} s after spawn{extra}; SIGTERM -> exit {m['daemon_exit_code']}")
    print(f"  target: {r['target']}: {'ok' if r['target_ok'] else 'MISSED'}  (whole run {r['wall_seconds']:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=30, metavar="K", help="new mails per mode (default 30)")
    parser.add_argument("--spacing", type=float, default=0.3, metavar="S",
                        help="seconds between two APPENDs (default 0.3)")
    parser.add_argument("--poll-interval", type=int, default=1, metavar="N",
                        help="poll_interval of the comparison without IDLE (default 1)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    parser.add_argument("--check", action="store_true", help="exit 1 unless every IDLE latency is under 1 s")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (rules, logs, databases)")
    args = parser.parse_args(argv)
    if args.mails < 1:
        parser.error("--mails must be at least 1")
    if args.spacing < 0 or args.poll_interval < 1:
        parser.error("--spacing must be >= 0 and --poll-interval >= 1")
    if os.geteuid() != 0:
        parser.error("must run as root (the private Dovecot switches to the dovecot users)")
    result = benchmark(args.mails, args.spacing, args.poll_interval, args.keep)
    show(result, args.json, print_table)
    return 1 if args.check and not result["target_ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
