#!/usr/bin/env python3
"""Benchmark: `mailflow release agenda` to N registrants vs. raw smtplib sending the same mails.

Not a pytest test.  Needs the test extra (aiosmtpd); ``--sent-copy append``
also needs root and Dovecot (like the integration tests)::

    python3 -m benchmarks.fan_out --registrants 10000 [--json] [--profile out.prof]

What happens (see benchmarks/README.md, section fan_out.py):

1. An aiosmtpd server starts on 127.0.0.1 (tests.support.servers ``SmtpServer``).
   N registrants of the shipped event (status registered, audiences
   international and german, 7:3) are inserted straight into a fresh
   database (``mailflow.database.open_database`` + one INSERT per row), not
   through IMAP; that database is the template every run starts from.
2. The floor's mails are the very mails mailflow sends: ``releases.fan_out``
   runs once (not timed) on a copy of the template, and the queued raw bytes,
   envelope senders and recipients go into one pickle file.
3. floor #1, mailflow, floor #2 run one after the other, each as its own child
   process (``sys.executable``), timed as the wall clock of the whole child
   with ``timed_child()`` from benchmarks/harness.py (``perf_counter`` around spawn +
   ``os.wait4``): both sides pay interpreter start-up and imports, neither
   shares a GIL with the SMTP server threads of this process. The children
   are started by a small launcher process (``--launch``), see 4.
   * floor: load the pickle, one ``smtplib.SMTP`` connection, ``sendmail`` of
     the N mails, QUIT.
   * mailflow: ``python -m mailflow --rules RULES release agenda --text F --yes``
     on a fresh copy of the template database: preview, save, fan-out
     (queue N outbox rows) while its courier process sends each committed
     batch over one SMTP connection per mailbox. ``send_rate_per_minute: 0``
     (unthrottled).
4. Peak memory: ``ru_maxrss`` of the mailflow child (from its own ``wait4``),
   spawned by the launcher: a child's ru_maxrss starts at the RSS of whoever
   spawned it, so spawning from this process would report this process's peak.
5. Correctness: before each run the SMTP server is cleared; afterwards it must
   hold exactly N mails, one to each registrant; mailflow must exit 0 and
   print "queued N mails" and "sent N, failed 0".

Sent copies: by default the rules say ``sent_copy: none``, so mailflow does
what the floor does (SMTP only). ``--sent-copy append`` (mailflow's default
in rules.yaml) starts a private Dovecot and mailflow also APPENDs a copy of
every mail to the Sent folder; the floor does not, so that ratio includes
the cost of the copies.

Internal modes: ``python3 -m benchmarks.fan_out --floor-child CONFIG.json`` is the floor child;
``python3 -m benchmarks.fan_out --launch RESULT.json -- ARGV...`` starts, times and measures one
child (see ``launch()`` for why children are not spawned by the benchmark
process itself).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import UTC
from pathlib import Path

from benchmarks.harness import (
    REPO,
    check_imports_from,
    check_recipients,
    machine,
    mailflow_env,
    module_argv,
    precompile,
    print_rows,
    send_all,
    show,
    timed_child,
    write_bench_rules,
)

TARGET_RATIO = 1.3
EVENT_ID = "digitalisation-see-2020"
AGENDA = """13:00  Welcome and introduction (GIZ, moderator)
13:15  Keynote: one-stop shops for municipal services in the region
13:45  Panel: e-services in Tbilisi, Yerevan, Skopje and Leipzig
14:30  Break-out groups: data protection, procurement, citizens' portals
15:10  Results of the groups
15:25  Closing remarks
"""


# --------------------------------------------------------------------------
# The floor child (keep its imports minimal: it is timed with start-up)
# --------------------------------------------------------------------------

def floor_child(config_path: str) -> int:
    import pickle

    cfg = json.loads(Path(config_path).read_text())
    with open(cfg["mails"], "rb") as f:
        mails = pickle.load(f)  # [(mail_from, rcpt, raw bytes)], mailflow's own mails
    print(json.dumps({"sent": send_all(cfg["smtp_host"], cfg["smtp_port"], mails)}))
    return 0


def launch(result_path: str, argv: list[str]) -> int:
    """Run argv as a grandchild, timed with harness.timed_child; write seconds, exit code, ru_maxrss.

    Why a launcher: on Linux a child's ru_maxrss starts at the RSS of the process that spawned it
    (subprocess uses vfork; exec saves the old mm's high-water mark in the child's maxrss).
    Spawned straight from the benchmark process (SMTP server, N mails, mailflow imported), every
    child would report at least the benchmark's own peak. This small process (about 10 MiB) is the
    parent instead, so the figure is the child's own peak (lower bound: the launcher's RSS).
    """
    elapsed, code, rss = timed_child(argv)
    Path(result_path).write_text(json.dumps({"seconds": elapsed, "code": code, "peak_rss_kib": rss}))
    return 0


# --------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------

def measured_child(argv: list[str], log_path: Path, *, env: dict | None = None, cwd: Path | None = None
                   ) -> tuple[float, int, int]:
    """(seconds, exit code, peak RSS KiB) of argv, started and timed by the launcher (see launch())."""
    import subprocess

    result_path = log_path.with_suffix(".result.json")
    with open(log_path, "wb") as log:
        subprocess.run(module_argv("benchmarks.fan_out", "--launch", str(result_path), "--", *argv), env=env, cwd=cwd,
                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=True)
    result = json.loads(result_path.read_text())
    return result["seconds"], result["code"], result["peak_rss_kib"]


def registrant_of(i: int) -> tuple[str, str, str]:
    """(name, address, audience): 7 of 10 international (SEE/Caucasus domains), 3 of 10 German."""
    if i % 10 < 7:
        tld = ("ge", "am", "az", "rs", "mk", "ba", "al", "md", "ua")[i % 9]
        return f"Expert {i}", f"expert{i}@city{i % 97}.gov.{tld}", "international"
    return f"Expertin {i}", f"expertin{i}@stadt{i % 89}.de", "german"


def seed(db_path: Path, n: int, source: Path) -> None:
    """N registered registrants of the shipped event, inserted directly (the schema comes from
    mailflow's own migrations). This process imports mailflow from the repository it runs in, so
    with --source the schema and the floor's mails are this checkout's: the two must agree."""
    from datetime import datetime

    from mailflow.database import open_database

    db = open_database(db_path)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [(EVENT_ID, address, name, audience, "registered", stamp, stamp)
            for name, address, audience in map(registrant_of, range(n))]
    with db.conn:
        db.conn.execute("begin")
        db.conn.executemany(
            "insert into registrants (event_id, address, name, audience, status, created_at, updated_at) "
            "values (?, ?, ?, ?, ?, ?, ?)", rows)
    db.execute("pragma wal_checkpoint(truncate)")
    db.conn.close()


def fresh_copy(template: Path, target: Path) -> Path:
    import shutil

    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return target


def rules_for(workdir: Path, smtp, source: Path, db_path: Path, dovecot=None) -> Path:
    """The source tree's rules.yaml with SMTP pointed at the local server, unthrottled.

    Without Dovecot, IMAP points at a closed local port and sent_copy is none: the release
    command never opens IMAP then (a connection attempt would fail the run)."""
    from types import SimpleNamespace

    from tests.support.servers import HOST, free_port

    imap = dovecot or SimpleNamespace(host=HOST, port=free_port())
    folder = workdir / db_path.stem
    folder.mkdir(exist_ok=True)
    return write_bench_rules(folder, imap, smtp, source=source, sent_copy="append" if dovecot else "none",
                             database=str(db_path))


def floor_mails(workdir: Path, template: Path, rules_path: Path, source: Path) -> list[tuple[str, str, bytes]]:
    """The mails mailflow's fan-out queues, rendered once by mailflow itself (not timed)."""
    from mailflow import releases
    from mailflow.database import open_database
    from mailflow.replies import Replies
    from mailflow.rules import load_rules

    rules = load_rules(rules_path)
    db = open_database(fresh_copy(template, workdir / "prepare.db"))
    release, _ = releases.candidate(db, EVENT_ID, "agenda", text=AGENDA)
    releases.fan_out(db, rules, Replies(rules.templates_path), releases.save(db, release, "benchmark"))
    addresses = {name: box.address for name, box in rules.mailboxes.items()}
    mails = [(addresses[r["mailbox"]], r["recipient"], r["raw"])
             for r in db.query("select mailbox, recipient, raw from outbox order by id")]
    db.conn.close()
    return mails


def run_floor(workdir: Path, cfg_path: Path, smtp, expected: list[str], label: str) -> dict:
    smtp.clear()
    out = workdir / f"{label}.out"
    elapsed, code, rss = measured_child(module_argv("benchmarks.fan_out", "--floor-child", str(cfg_path)), out,
                                        cwd=REPO)
    text = out.read_text(errors="replace")
    if code != 0:
        raise SystemExit(f"FAIL: {label} exited with {code}:\n{text[-3000:]}")
    check_recipients(smtp, expected, label)
    return {"seconds": elapsed, "peak_rss_kib": rss}


def log_phases(log_text: str, started_at: float, total: float) -> dict | None:
    """Best effort split from the INFO log's wall-clock stamps (ms): `queue` = start of the child
    to the first "sent to" line (start-up, imports, preview, save and fan-out; the CLI's logging
    starts only when sending does), `send` = first to last "sent to" line, `other` = the rest."""
    from datetime import datetime

    stamps = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO \S+: .* sent to ", log_text, re.M)
    if not stamps:
        return None
    first, last = (datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f").timestamp() for s in (stamps[0], stamps[-1]))
    queue, send = first - started_at, last - first
    return {"queue": round(queue, 2), "send": round(send, 2), "other": round(total - queue - send, 2)}


def run_mailflow(workdir: Path, template: Path, smtp, expected: list[str], source: Path, dovecot=None,
                 profile: Path | None = None, label: str = "mailflow") -> dict:
    smtp.clear()
    if dovecot is not None:
        dovecot.reset()
    db_path = fresh_copy(template, workdir / f"{label}.db")
    rules_path = rules_for(workdir, smtp, source, db_path, dovecot)
    agenda = workdir / "agenda.md"
    agenda.write_text(AGENDA, encoding="utf-8")
    env = mailflow_env(source)
    argv = [sys.executable]
    if profile is not None:
        argv += ["-m", "cProfile", "-o", str(profile)]
    argv += ["-m", "mailflow", "--rules", str(rules_path), "release", "agenda", "--text", str(agenda), "--yes"]
    log_path = workdir / f"{label}.log"
    started_at = time.time()
    elapsed, code, rss = measured_child(argv, log_path, env=env, cwd=source)
    log_text = log_path.read_text(errors="replace")
    if code != 0:
        raise SystemExit(f"FAIL: {label} exited with {code}; output tail:\n{log_text[-3000:]}")
    n = len(expected)
    for line in (f"queued {n} mails (agenda v1)", f"sent {n}, failed 0, deferred 0"):
        if line not in log_text:
            raise SystemExit(f"FAIL: {label} did not print {line!r}; output tail:\n{log_text[-3000:]}")
    check_recipients(smtp, expected, label, log_text)
    if dovecot is not None:
        from tests.support.servers import GERMAN_USER, INTL_USER

        copies = sum(dovecot.status(user, "Sent")["MESSAGES"] for user in (INTL_USER, GERMAN_USER))
        if copies != n:
            raise SystemExit(f"FAIL: {label}: {copies} copies in the Sent folders, expected {n}")
    return {"seconds": elapsed, "peak_rss_kib": rss, "log": str(log_path),
            "phases": log_phases(log_text, started_at, elapsed)}


def hot_spots(profile: Path, source: Path, limit: int = 12) -> dict[str, list[dict]]:
    """From a cProfile file: the functions with the most own time (tottime), and mailflow's own
    functions by cumulative time, each with file:line."""
    import pstats

    stats = pstats.Stats(str(profile))
    rows = []
    for (filename, line, function), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        rows.append({"where": f"{_short(filename, source)}:{line}", "function": function, "calls": calls,
                     "tottime": round(tottime, 3), "cumtime": round(cumtime, 3)})
    own = sorted(rows, key=lambda r: r["tottime"], reverse=True)[:limit]
    ours = sorted((r for r in rows if r["where"].startswith("mailflow/") and r["function"] != "<module>"),
                  key=lambda r: r["cumtime"], reverse=True)[:limit]
    return {"own_time": own, "mailflow_cumulative": ours}


def _short(filename: str, source: Path) -> str:
    if filename == "~":
        return "(built-in)"
    match = re.search(r"/lib/python3\.\d+/(?:site-packages/)?(.+)$", filename)
    if match:
        return match.group(1)
    try:
        return str(Path(filename).resolve().relative_to(source))
    except ValueError:
        return filename


def benchmark(n: int, sent_copy: str, profile: Path | None, keep: bool, source: Path) -> dict:
    import pickle
    import shutil
    import tempfile

    from tests.support.servers import DEFAULT_USERS, DovecotServer, SmtpServer

    precompile(source)
    check_imports_from(source, mailflow_env(source))
    workdir = Path(tempfile.mkdtemp(prefix="mailflow-fanout-"))
    dovecot = None
    try:
        with SmtpServer() as smtp:
            if sent_copy == "append":
                dovecot = DovecotServer(None, DEFAULT_USERS).start()
            t_prep = time.perf_counter()
            template = workdir / "template.db"
            seed(template, n, source)
            expected = [registrant_of(i)[1] for i in range(n)]
            mails = floor_mails(workdir, template, rules_for(workdir, smtp, source, workdir / "prepare.db"), source)
            if sorted(m[1] for m in mails) != sorted(expected):
                raise SystemExit(f"FAIL: the fan-out queued {len(mails)} mails, expected one to each of {n}")
            mails_path = workdir / "mails.pickle"
            with open(mails_path, "wb") as f:
                pickle.dump(mails, f, protocol=pickle.HIGHEST_PROTOCOL)
            cfg_path = workdir / "floor.json"
            cfg_path.write_text(json.dumps({"smtp_host": smtp.host, "smtp_port": smtp.port, "mails": str(mails_path)}))
            prep_seconds = time.perf_counter() - t_prep

            floor1 = run_floor(workdir, cfg_path, smtp, expected, "floor1")
            mf = run_mailflow(workdir, template, smtp, expected, source, dovecot)
            floor2 = run_floor(workdir, cfg_path, smtp, expected, "floor2")
            prof = None
            if profile is not None:
                prof = run_mailflow(workdir, template, smtp, expected, source, dovecot, profile=profile,
                                    label="mailflow-profile")
    finally:
        if dovecot is not None:
            dovecot.close()
        if keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    floor_mean = (floor1["seconds"] + floor2["seconds"]) / 2
    ratio = mf["seconds"] / floor_mean
    result = {
        "registrants": n,
        "sent_copy": sent_copy,
        "mail_bytes": sum(len(m[2]) for m in mails),
        "floor_seconds": [round(floor1["seconds"], 3), round(floor2["seconds"], 3)],
        "floor_mean_seconds": round(floor_mean, 3),
        "floor_peak_rss_mb": round(max(floor1["peak_rss_kib"], floor2["peak_rss_kib"]) / 1024, 1),
        "mailflow_seconds": round(mf["seconds"], 3),
        "mailflow_phases_seconds": mf["phases"],
        "ratio": round(ratio, 2),
        "ratio_target": TARGET_RATIO,
        "ratio_ok": ratio <= TARGET_RATIO,
        "mailflow_peak_rss_mb": round(mf["peak_rss_kib"] / 1024, 1),
        "mailflow_mails_per_second": round(n / mf["seconds"], 1),
        "floor_mails_per_second": round(n / floor_mean, 1),
        "prepare_seconds": round(prep_seconds, 2),
        **machine(),
        "source": str(source),
    }
    if prof is not None:
        result["profile"] = {"path": str(profile), "seconds_under_cprofile": round(prof["seconds"], 3),
                             "hot_spots": hot_spots(profile, source)}
    return result


def print_table(r: dict) -> None:
    rows = [
        ("registrants (N)", f"{r['registrants']}  (mails {r['mail_bytes'] / 1e6:.1f} MB, sent_copy {r['sent_copy']})"),
        ("floor run 1", f"{r['floor_seconds'][0]:.3f} s"),
        ("floor run 2", f"{r['floor_seconds'][1]:.3f} s"),
        ("floor mean", f"{r['floor_mean_seconds']:.3f} s  ({r['floor_mails_per_second']:.0f} mails/s)"),
        ("mailflow release", f"{r['mailflow_seconds']:.3f} s  ({r['mailflow_mails_per_second']:.0f} mails/s)"),
        ("ratio mailflow/floor", f"{r['ratio']:.2f}x  (target <= {r['ratio_target']}x: "
                                 f"{'ok' if r['ratio_ok'] else 'MISSED'})"),
        ("mailflow peak RSS", f"{r['mailflow_peak_rss_mb']:.1f} MiB"),
        ("floor peak RSS", f"{r['floor_peak_rss_mb']:.1f} MiB"),
    ]
    if r["mailflow_phases_seconds"]:
        ph = r["mailflow_phases_seconds"]
        rows.append(("mailflow phases (log)", f"queue {ph['queue']:.2f} s (start-up, preview, fan-out), "
                                              f"send {ph['send']:.2f} s, other {ph['other']:.2f} s"))
    if "profile" in r:
        rows.append(("cProfile run", f"{r['profile']['seconds_under_cprofile']:.3f} s -> {r['profile']['path']}"))
    print_rows(f"mailflow fan-out benchmark, {r['date']}, Python {r['python']}, {r['cpus']} CPUs, "
               f"mailflow from {r['source']}", rows)
    if "profile" in r:
        for key, title in (("own_time", "own time"), ("mailflow_cumulative", "mailflow's functions, cumulative")):
            print(f"\n  hot spots under cProfile ({title}):")
            print(f"  {'tottime':>8} {'cumtime':>8} {'calls':>9}  where")
            for h in r["profile"]["hot_spots"][key]:
                print(f"  {h['tottime']:8.3f} {h['cumtime']:8.3f} {h['calls']:9d}  {h['where']} {h['function']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrants", type=int, default=10_000, metavar="N", help="default 10000")
    parser.add_argument("--sent-copy", choices=("none", "append"), default="none",
                        help="none (default): SMTP only, like the floor; append: also save each mail to the "
                             "Sent folder of a private Dovecot (needs root)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    parser.add_argument("--profile", type=Path, metavar="OUT.prof",
                        help="afterwards, run mailflow once more under cProfile (not timed for the ratio) "
                             "and list the hot spots")
    parser.add_argument("--check", action="store_true", help="exit with status 1 when the ratio target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (rules, logs, databases)")
    parser.add_argument("--source", type=Path, default=REPO, metavar="DIR",
                        help="run mailflow (with its rules.yaml and templates/) from this checkout, e.g. an "
                             "unpacked `git archive HEAD` (default: this repository)")
    parser.add_argument("--floor-child", metavar="CONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--launch", metavar="RESULT", help=argparse.SUPPRESS)
    parser.add_argument("command", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.launch:
        return launch(args.launch, args.command[1:] if args.command[:1] == ["--"] else args.command)
    if args.floor_child:
        return floor_child(args.floor_child)
    if args.registrants < 1:
        parser.error("--registrants must be at least 1")
    if args.sent_copy == "append" and os.geteuid() != 0:
        parser.error("--sent-copy append must run as root (the private Dovecot switches to the dovecot users)")
    result = benchmark(args.registrants, args.sent_copy, args.profile.resolve() if args.profile else None,
                       args.keep, args.source.resolve())
    show(result, args.json, print_table)
    return 1 if args.check and not result["ratio_ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
