"""What the benchmarks share: the servers and rules they run on, mail, children timed with their
own peak memory, correctness checks, and the key/value table they print.

Run every benchmark from the repository root as a module (``python3 -m benchmarks.run_once``): the
root is then on the path, so ``benchmarks.harness`` and ``tests.support`` import without any
``sys.path`` edit. Imports of anything heavy stay inside the functions: a floor child imports
this module too, and its start-up is timed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INTL_ADDRESS = "international@cc-events.example"

INTEREST_BODY = (
    "Dear Mr. Samkharadze,\n\n"
    "I would like to participate in the online event on the digitalisation of municipal\n"
    "services in Southeast Europe and the Caucasus on 7 October 2020. I work on e-services\n"
    "for our city administration and would be glad to share our experience.\n\n"
    "Best regards,\n{name}\nCity Hall of City {city}\n"
)


def interest_mail(name: str, address: str, message_id: str, date: str, city: int) -> bytes:
    """A registration from `address` that mailflow classifies as interest (international) and answers."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = f"{name} <{address}>"
    msg["To"] = INTL_ADDRESS
    msg["Subject"] = "Participation in the online event"
    msg["Date"] = date
    msg["Message-ID"] = message_id
    msg.set_content(INTEREST_BODY.format(name=name, city=city))
    return msg.as_bytes()


def write_bench_rules(folder: Path, dovecot, smtp, *, source: Path = REPO, sent_copy: str = "none",
                      imap: dict | None = None, **overrides) -> Path:
    """`tests.support.rules.write_rules` of `source` on the local servers, with generous timeouts
    (a FETCH of thousands of mails), `sent_copy` and any other `imap` settings for both mailboxes."""
    from tests.support.rules import write_rules

    mailbox = {"sent_copy": sent_copy, "imap": {"timeout": 60, **(imap or {})}, "smtp": {"timeout": 60}}
    return write_rules(folder, dovecot, smtp, source=source, mailbox=mailbox, **overrides)


def forget_answers(dovecot, user: str, flag: bytes = b"$MailflowProcessed") -> None:
    """Make the inbox look unanswered again for the next round on a fresh database: mailflow
    knows mail it answered by its processed flag and by its own replies in Sent (answered.py)."""
    with dovecot.session(user) as client:
        client.select_folder("INBOX")
        uids = client.search(["KEYWORD", flag.decode()])
        for start in range(0, len(uids), 500):
            client.remove_flags(uids[start:start + 500], [flag, b"\\Flagged"], silent=True)
        if client.folder_exists("Sent"):
            client.select_folder("Sent")
            sent = client.search(["ALL"])
            for start in range(0, len(sent), 500):
                client.delete_messages(sent[start:start + 500], silent=True)
            client.expunge()


def mailflow_env(source: Path, password: str = "secret") -> dict[str, str]:
    """The environment of a mailflow child: the test password, and `source` first on the path."""
    from tests.support.rules import PASSWORD_ENV

    env = dict(os.environ, **{PASSWORD_ENV: password})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    return env


def check_imports_from(source: Path, env: dict[str, str], module: str = "mailflow.worker") -> None:
    """Fail unless a child with `env` imports mailflow from `source` (another checkout, --source)."""
    where = subprocess.run([sys.executable, "-c", f"import {module} as m; print(m.__file__)"], env=env,
                           cwd=source, capture_output=True, text=True)
    if where.returncode != 0 or not where.stdout.strip().startswith(str(source)):
        raise SystemExit(f"FAIL: mailflow does not import from {source}: {where.stdout.strip()} {where.stderr[-2000:]}")


def precompile(source: Path) -> None:
    """Byte-compile mailflow's modules before timing, as a regular `pip install` does.

    The floor's imports (imapclient, smtplib) come with .pyc files from site-packages; an editable
    install of mailflow has none, and with PYTHONDONTWRITEBYTECODE=1 (set on these machines) every
    start would compile mailflow from source again (about 0.15 s), which no installed copy pays.
    """
    import compileall

    compileall.compile_dir(str(source / "mailflow"), quiet=1)


def timed_child(argv: list[str], *, env: dict | None = None, cwd: Path | None = None, stdout=None,
                stderr=subprocess.STDOUT, preexec_fn=None) -> tuple[float, int, int]:
    """Spawn, wait with wait4: (wall seconds, exit code, ru_maxrss in KiB of exactly that child).

    Both sides of a benchmark are timed like this, so both pay interpreter start-up and imports.
    The rusage is the child's own, not RUSAGE_CHILDREN's maximum over every child ever waited for.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                            preexec_fn=preexec_fn)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: keep Popen from waiting again
    return elapsed, proc.returncode, usage.ru_maxrss


def module_argv(module: str, *args: str) -> list[str]:
    """A child running a benchmark module's internal mode; start it with cwd=REPO."""
    return [sys.executable, "-m", module, *args]


def check_recipients(smtp, expected: list[str], label: str, log_text: str = "", timeout: float = 60) -> list:
    """The SMTP server holds exactly one mail to each address of `expected`; returns the mails."""
    try:
        smtp.wait_for(len(expected), timeout=timeout)
    except TimeoutError as exc:
        raise SystemExit(f"FAIL: {label}: {exc}\n{log_text[-3000:]}") from None
    time.sleep(0.2)  # anything beyond the expected that was still on its way
    messages = list(smtp.messages)
    got = sorted(r.lower() for m in messages for r in m.rcpt_tos)
    if len(messages) != len(expected) or got != sorted(a.lower() for a in expected):
        raise SystemExit(f"FAIL: {label}: the SMTP server received {len(messages)} mails to {len(set(got))} "
                         f"addresses; expected exactly one to each of {len(expected)}")
    return messages


def send_all(host: str, port: int, mails: list[tuple[str, str, bytes]]) -> int:
    """The floor's SMTP side: (envelope sender, recipient, raw mail) over one smtplib connection."""
    import smtplib

    smtp = smtplib.SMTP(host, port, timeout=60)
    for mail_from, rcpt, raw in mails:
        smtp.sendmail(mail_from, [rcpt], raw)
    smtp.quit()
    return len(mails)


def show(result: dict, as_json: bool, print_table) -> None:
    """The result as JSON (--json), else as the benchmark's table."""
    if as_json:
        import json

        print(json.dumps(result, indent=2))
    else:
        print_table(result)


def print_rows(title: str, rows: list[tuple[str, str]]) -> None:
    """The title line, then one `key  value` line a row, the keys aligned."""
    width = max(len(key) for key, _ in rows)
    print(title)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")


def machine() -> dict:
    """Python, CPUs and the time of the run: every result carries them."""
    import platform

    return {"python": platform.python_version(), "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M:%S %z")}
