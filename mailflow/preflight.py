"""Before the servers are used: can every secret be had (`mailflow check`), what does each server say to
a login (`mailflow check --connect`), and is a daemon there to hand the sending to (`mailflow release`).

On a server the secrets live in the service's environment (systemd's EnvironmentFile), not in the
coordinator's shell: without `--connect` a missing one is a warning; with it, or when `release` is
about to send, it is a failure. `--connect` logs in to every IMAP and SMTP server and sends nothing:
it asks each SMTP server for MAIL FROM and RCPT TO of the mailbox's address, then RSET.

And: is mail waiting in the database for a mailbox rules.yaml no longer names (`unnamed_mailboxes`), and does it
hold registrants of an event rules.yaml no longer names (`unnamed_events`: a renamed id orphans them).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import smtplib
import socket
import sqlite3
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

import imapclient  # type: ignore[import-untyped]
import sqlite_utils
from imapclient.exceptions import IMAPClientError, LoginError  # type: ignore[import-untyped]

from . import registrants
from .clock import parse_stamp
from .credentials import Credentials
from .database import missing, refuse_not_sqlite
from .delivery import SmtpSender
from .errors import ConnectionFailed, MailflowError, RulesError, RulesProblem, SecretError
from .mailbox import connect, keywords_allowed, logout
from .outbox import UnsendableAddress, envelope_address
from .rules import Mailbox, Rules, ServerSettings
from .states import MessageState, OutboxState

if TYPE_CHECKING:
    from .replies import Replies

log = logging.getLogger(__name__)

SECRET_KEYS = ("password_env", "password_command", "oauth2_token_command")
Status = Literal["ok", "warning", "FAILED"]


@dataclass(frozen=True)
class Finding:
    """One thing `check --connect` found about one mailbox's server, and what to change when it is not ok."""

    mailbox: str
    server: str          # "IMAP host:port" or "SMTP host:port"
    status: Status
    text: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.status:7} {self.mailbox} {self.server}: {self.text}" + (f" ({self.fix})" if self.fix else "")


def servers(rules: Rules, sending_only: bool = False) -> Iterator[tuple[str, str, ServerSettings]]:
    """(mailbox, "imap" | "smtp", settings) of every server rules.yaml names; `sending_only`: those a send
    session uses (SMTP, and IMAP where copies go to or are looked up in Sent)."""
    for name, box in rules.mailboxes.items():
        if box.imap is not None and not (sending_only and box.sent_copy == "none"):
            yield name, "imap", box.imap
        if box.smtp is not None:
            yield name, "smtp", box.smtp


def file_problems(rules: Rules, moment: datetime, replies: Replies | None = None) -> list[RulesProblem]:
    """What `check` finds wrong with the files rules.yaml names (templates, read by `replies` when given, the
    files of releases due at `moment`, CA certificates); a running daemon refuses a rules.yaml with any of
    them and keeps its last good rules."""
    from .releases import release_file_problems
    from .replies import check_templates

    return [*check_templates(rules, replies), *release_file_problems(rules, moment), *ca_file_problems(rules)]


def ca_file_problems(rules: Rules) -> list[RulesProblem]:
    """A `ca_file` that is not there or holds no certificate, at its line: it failed at connect time as
    "cannot reach HOST: No such file or directory", naming neither the key nor the line."""
    problems = []
    for name, kind, settings in servers(rules):
        if settings.ca_file is None:
            continue
        try:
            ssl.create_default_context(cafile=str(settings.ca_file))
        except (OSError, ssl.SSLError) as exc:
            problems.append(RulesProblem(
                rules.source, rules.line_of("mailboxes", name, kind, "ca_file"),
                f"mailboxes.{name}.{kind}.ca_file: {settings.ca_file} cannot be read as a CA certificate "
                f"({getattr(exc, 'strerror', None) or exc})", "give the path of the server's CA certificate (PEM), "
                "relative to rules.yaml's folder or absolute"))
    return problems


def secret_problem(settings: ServerSettings, run: bool = False) -> tuple[str, str] | None:
    """Why this server's secret cannot be had here, and the fix; None when it can (or none is needed).
    Without `run` a command is only looked up on PATH (running it may ask for a passphrase)."""
    if settings.username is None:
        return None
    source = next((key for key in SECRET_KEYS if getattr(settings, key)), None)
    if source is None:
        return (f"username {settings.username} but no password_env, password_command or oauth2_token_command",
                "add password_env: NAME, the environment variable that holds the password")
    value: str = getattr(settings, source)
    if source == "password_env":
        if value not in os.environ:
            return (f"environment variable {value} is not set here",
                    f"export {value}=... here; a service reads it from its own environment "
                    "(e.g. /etc/mailflow/secrets.env), not this shell's")
    elif not run:
        try:
            program = shlex.split(value)[0]
        except (ValueError, IndexError):
            return f"{source} cannot be read as a command", "write the command as you would type it in a shell"
        if shutil.which(program) is None:
            return f"{source}: {program} is not found or not executable", "install it, or give its full path"
    if run:
        try:
            Credentials.of(settings, "").secret()
        except SecretError as exc:
            return str(exc).removeprefix(": "), f"run the {source} by hand to see why"
    return None


def secret_warnings(rules: Rules) -> list[RulesProblem]:
    """`mailflow check`: a warning with its line for each server whose secret this shell cannot have."""
    found = []
    for name, kind, settings in servers(rules):
        problem = secret_problem(settings)
        if problem:
            key = next((k for k in SECRET_KEYS if getattr(settings, k)), "username")
            found.append(RulesProblem(rules.source, rules.line_of("mailboxes", name, kind, key),
                                      f"warning: mailboxes.{name}.{kind}: {problem[0]}", problem[1]))
    return found


def missing_secrets(rules: Rules) -> list[str]:
    """`mailflow release`: the servers a send session needs whose secret cannot be had now (commands run)."""
    return [f"mailbox {name}, {kind.upper()}: {problem[0]}"
            for name, kind, settings in servers(rules, sending_only=True)
            if (problem := secret_problem(settings, run=True))]


def unset_environment(rules: Rules, running: Rules) -> list[RulesProblem]:
    """`password_env` variables this process lacks that the `running` rules do not name: a running daemon's
    environment cannot change, so a reload that names a new one left that mailbox unable to log in, its mail
    unanswered until a restart."""
    named = {settings.password_env for _, _, settings in servers(running)}
    return [RulesProblem(rules.source, rules.line_of("mailboxes", name, kind, "password_env"),
                         f"mailboxes.{name}.{kind}.password_env: {settings.password_env} is not set in the "
                         "running mailflow's environment",
                         "a reload cannot change it: set it where the service reads its environment (e.g. "
                         "/etc/mailflow/secrets.env) and restart mailflow (systemctl restart mailflow)")
            for name, kind, settings in servers(rules)
            if settings.username is not None and settings.password_env and settings.password_env not in os.environ
            and settings.password_env not in named]


def daemon_seen(db: sqlite_utils.Database, rules: Rules, now: datetime) -> datetime | None:
    """When a pass (the daemon's, or cron's `run --once`; either sends what is queued) last synced a
    mailbox, if recently enough that another is due: within three poll intervals and a minute, and the
    daemon was not stopped since (health.py's heartbeat). None: no sign of one."""
    row = db.execute("select max(max(coalesce(last_sync, '')), max(coalesce(connection_at, ''))), "
                     "(select stopped_at from heartbeat where id = 1) from sync_state").fetchone()
    if not row or not row[0] or row[1] and row[1] >= row[0]:
        return None
    seen = parse_stamp(row[0])
    return seen if now - seen <= timedelta(seconds=3 * rules.poll_interval + 60) else None


def unnamed_mailboxes(db: sqlite_utils.Database | sqlite3.Connection,
                      rules: Rules) -> tuple[list[RulesProblem], list[str]]:
    """Mailboxes the database knows that rules.yaml no longer names (renamed or removed): their rows keep
    the old name, so mail still waiting there would be stranded (a reply never sent; a mail recorded
    and not processed yet quarantined, with no mailbox to answer from). Those are problems, which refuse
    a start, a reload, a release; a mailbox with nothing waiting is a warning (its history stays)."""
    named = set(rules.mailboxes)
    rows = db.execute(
        "select mailbox, sum(kind = 'out'), sum(kind = 'in') from ("
        " select mailbox, 'out' as kind from outbox where state in (?, ?, ?)"
        " union all select mailbox, 'in' from messages where state = ?) group by mailbox",
        [OutboxState.QUEUED, OutboxState.SENDING, OutboxState.UNCERTAIN, MessageState.RECORDED])
    waiting = {mailbox: (outgoing, recorded) for mailbox, outgoing, recorded in rows if mailbox not in named}
    known = {mailbox for (mailbox,) in db.execute("select mailbox from mailbox_state")} - named - set(waiting)
    problems = [RulesProblem(
        rules.source, rules.line_of("mailboxes"),
        f"mailbox {name!r} is not named any more, but its mail is still waiting in the database: "
        + ", ".join(part for part in (outgoing and _mails(outgoing) + " to send",
                                      recorded and _mails(recorded) + " recorded and not processed yet")
                    if part),
        f"renamed? give it back its name {name!r}: the database knows its mail by it; removed? put it back "
        "until that mail is done (`mailflow outbox` lists what is to send; `mailflow outbox cancel ID` cancels "
        "one that is queued or uncertain), then remove it again")
        for name, (outgoing, recorded) in sorted(waiting.items())]
    warnings = [f"{rules.source}: mailbox {name!r} is in the database but not in rules.yaml (renamed or removed?): "
                "its history stays under that name; if it was renamed, the new name reads its folder again "
                "(a mail answered before is not answered twice)"
                for name in sorted(known)]
    return problems, warnings


def unnamed_events(db: sqlite_utils.Database | sqlite3.Connection, rules: Rules, now: datetime) -> list[RulesProblem]:
    """Events the database has registrants of that rules.yaml no longer names, at the line of `events:`: each with
    its old id, its registrants and the fix. A renamed id (`mailflow init` writes `id: my-event` and invites the
    coordinator to put their own) passed every check, while releases and reminders went to nobody; an event
    removed because it is over is history (and not named when the database knows it is over), so these are
    warnings, for `check`, the daemon's start and reloads."""
    orphaned = registrants.of_unnamed_events(db, [event.id for event in rules.events], now)
    if not orphaned:
        return []
    known = {event_id for (event_id,) in db.execute("select distinct event_id from registrants")}
    empty = [event for event in rules.events if event.id not in known and not event.over(now)]
    found = []
    for old, (total, active, waiting) in orphaned.items():
        mails = f"; {_mails(waiting)} to them still to send" if waiting else ""
        renamed = (f"; event {empty[0].id!r} (line {rules.line_of('events', rules.events.index(empty[0]), 'id')}) "
                   f"has none: renamed from {old!r}?") if empty and active else ""
        found.append(RulesProblem(
            rules.source, rules.line_of("events"),
            f"the database holds {_registrants(total)} ({active} active) of event {old!r}, which rules.yaml's events "
            f"no longer name{mails}{renamed}",
            f"if you renamed the event, put `id: {old}` back: ids cannot change once people registered (releases, "
            "reminders and cancellations find them by it); if you removed it because it is over, nothing needs "
            f"doing (`mailflow registrants --event {old}` lists them)"))
    return found


def _registrants(number: int) -> str:
    return f"{number} registrant{'' if number == 1 else 's'}"


def refuse_unnamed_mailboxes(db: sqlite_utils.Database, rules: Rules, warn: bool = True) -> None:
    """RulesError for mail waiting for a mailbox rules.yaml no longer names (unnamed_mailboxes); with
    `warn`, a log line for each such mailbox with only its history."""
    problems, warnings = unnamed_mailboxes(db, rules)
    if problems:
        raise RulesError(problems)
    for warning in warnings if warn else ():
        log.warning("%s", warning)


def database_note(rules: Rules) -> str | None:
    """`mailflow check`: a note when the database rules.yaml names is not there. Not an error (a fresh install
    has none until its first run), but the commands that only read refuse it, and a typo in the path is
    found here first."""
    if rules.database_path.exists():
        return None
    return (f"{missing(rules)}; until then `status`, `registrants` and the other commands that only read "
            "refuse to run")


def unnamed_in_file(rules: Rules, now: datetime) -> tuple[list[RulesProblem], list[str]]:
    """unnamed_mailboxes() and unnamed_events() (warnings) of the database file rules.yaml names, for `mailflow
    check`, which changes nothing: while a daemon has it open (a -wal file beside it) read only; else as immutable,
    so that no -wal or -shm file is made, owned by whoever ran `check`, which the daemon's user could not take
    over. None when there is no database yet."""
    path = rules.database_path
    if not path.exists():
        return [], []
    try:
        refuse_not_sqlite(path)
    except MailflowError:
        return [RulesProblem(rules.source, rules.line_of("database"),
                             f"database: {path} is not a mailflow database (it is not SQLite at all)",
                             "check the path: it names the file mailflow keeps its records in")], []
    mode = "mode=ro" if path.with_name(path.name + "-wal").exists() else "immutable=1"
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True)) as db:
            problems, warnings = unnamed_mailboxes(db, rules)
            return problems, [*warnings, *(str(found) for found in unnamed_events(db, rules, now))]
    except sqlite3.Error as exc:
        fix = ("`mailflow run` upgrades it first" if "no such table" in str(exc)
               else "run `mailflow check` as the database's owner")
        return [], [f"{path}: not read, so its mailboxes were not compared with rules.yaml's ({exc}); {fix}"]


def _mails(number: int) -> str:
    return f"{number} mail{'' if number == 1 else 's'}"


# -- check --connect ---------------------------------------------------------


def probe(rules: Rules) -> list[Finding]:
    """Log in to every server rules.yaml names and report what each offers, and whether each SMTP server
    takes mail from its mailbox's address (MAIL FROM, RCPT TO, RSET); nothing is sent or changed."""
    found: list[Finding] = []
    for name, kind, settings in servers(rules):
        box = rules.mailboxes[name]
        where = f"{kind.upper()} {settings.host}:{settings.port}"
        problem = secret_problem(settings, run=True)
        if problem:
            found.append(Finding(name, where, "FAILED", problem[0], problem[1]))
            continue
        step = _reachable(name, where, settings)
        found.append(step)
        if step.status == "FAILED":
            continue
        found += _imap(name, where, box, rules) if kind == "imap" else _smtp(name, where, box)
    return found


def _reachable(name: str, where: str, s: ServerSettings) -> Finding:
    try:
        with socket.create_connection((s.host, s.port), timeout=min(s.timeout, s.deadline)):
            pass
    except OSError as exc:
        return Finding(name, where, "FAILED", f"not reachable: {exc.strerror or exc}",
                       "check host and port in rules.yaml, and that a firewall lets this machine through")
    return Finding(name, where, "ok", "reachable")


def _login_failure(name: str, where: str, s: ServerSettings, exc: ConnectionFailed) -> Finding:
    """What a failed connect was: the certificate, the login, or something else on the way."""
    cause = exc.__context__   # connect() raises `from None`: the original is kept as the context
    if isinstance(cause, ssl.SSLCertVerificationError):
        return Finding(name, where, "FAILED", f"TLS certificate not verified: {cause.verify_message}",
                       "give the server's CA certificate as ca_file, or use the host name the certificate names")
    if isinstance(cause, (LoginError, smtplib.SMTPAuthenticationError)):
        source = next((k for k in SECRET_KEYS if getattr(s, k)), "password")
        return Finding(name, where, "FAILED", f"login refused for {s.username}",
                       f"check username and the secret {source} gives")
    return Finding(name, where, "FAILED", str(exc), "check host, port and security (tls, starttls or none)")


def _refusal(name: str, where: str, box: Mailbox, command: str, code: int, text: str) -> Finding:
    """What a refused MAIL FROM or RCPT TO of the mailbox's own address means, and what to change."""
    said = f"{command} refused: {code} {text}"
    s = box.smtp
    assert s is not None
    if code < 500:
        return Finding(name, where, "warning", said, "a temporary answer: run the check again later")
    if code == 530 and not s.username:
        tls = " (and security: starttls, if it wants TLS first)" if s.security == "none" else ""
        return Finding(name, where, "FAILED", said, f"the server wants a login: set smtp.username and its secret{tls}")
    if command.startswith("MAIL"):
        login = f"the login {s.username}" if s.username else "this server without a login"
        return Finding(name, where, "FAILED", said,
                       f"mailflow sends as {box.address}: make it an address {login} may send from "
                       "(the provider's sender addresses or aliases), or set the mailbox's address to one")
    return Finding(name, where, "FAILED", said, f"check the mailbox's address {box.address}")


def _tls(name: str, where: str, s: ServerSettings) -> Finding:
    if s.security == "none":
        return Finding(name, where, "warning", "not encrypted (security: none): the password and the mail cross "
                       "the network in clear", "use security: tls or starttls unless the server is on this machine")
    return Finding(name, where, "ok", f"TLS verified ({s.security})")


def _imap(name: str, where: str, box: Mailbox, rules: Rules) -> list[Finding]:
    s = box.imap
    assert s is not None
    try:
        client = connect(name, s, Credentials.of(s, f"mailbox {name}, IMAP"))
    except ConnectionFailed as exc:
        return [_login_failure(name, where, s, exc)]
    found = [_tls(name, where, s), Finding(name, where, "ok", f"login accepted for {s.username}")]
    try:
        with client.deadline.running():
            folders = {folder for _, _, folder in client.list_folders()}
            capabilities = client.capabilities()
            sent = box.sent_folder or client.find_special_folder(imapclient.imapclient.SENT)
            # SELECT (not EXAMINE, whose PERMANENTFLAGS are empty); nothing is stored, LOGOUT expunges nothing
            status = client.select_folder(s.folder) if _among(s.folder, folders) else None
    except (OSError, IMAPClientError, ConnectionFailed) as exc:
        logout(client)
        return [*found, Finding(name, where, "FAILED", f"the server broke off: {exc}", "try again; see its log")]
    logout(client)
    known = ", ".join(sorted(folders))
    if status is None:
        found.append(Finding(name, where, "FAILED", f"folder {s.folder} not found",
                             f"set imap.folder to one of: {known}"))
    else:
        found.append(Finding(name, where, "ok", f"folder {s.folder} found"))
        permanent = status.get(b"PERMANENTFLAGS")
        if keywords_allowed(permanent, box.processed.flag):
            found.append(Finding(name, where, "ok", f"custom flags allowed ({box.processed.flag})"))
        else:
            found.append(Finding(
                name, where, "warning", f"the server stores no new keywords (PERMANENTFLAGS "
                f"{' '.join(f.decode() for f in permanent or ())}): processed mail is "
                + ("moved" if box.processed.move_to else "recorded in mailflow's database alone"),
                "" if box.processed.move_to else "set processed.move_to to a folder, so the server keeps the record"))
    if box.processed.move_to and not _among(box.processed.move_to, folders):
        found.append(Finding(name, where, "FAILED", f"processed.move_to folder {box.processed.move_to} not found",
                             f"create it, or name one of: {known}"))
    if box.sent_copy != "none":
        if sent and _among(sent, folders):
            found.append(Finding(name, where, "ok", f"Sent folder {sent} found"))
        else:
            missing = f"{sent} not found" if sent else "none is marked \\Sent"
            found.append(Finding(name, where, "FAILED", f"no Sent folder ({missing})",
                                 f"set sent_folder to the folder your mail client keeps sent mail in: {known}"))
    if b"IDLE" in capabilities:
        found.append(Finding(name, where, "ok", "IDLE offered"))
    elif s.idle:
        found.append(Finding(name, where, "warning", "IDLE not offered: new mail waits for the next pass "
                             f"(every {rules.poll_interval} s)", "set imap.idle: false, or lower poll_interval"))
    return found


def _among(folder: str, folders: set[str]) -> bool:
    """INBOX is INBOX in any case (RFC 3501); every other name as written."""
    return folder in folders or folder.upper() == "INBOX" and "INBOX" in {f.upper() for f in folders}


def _smtp(name: str, where: str, box: Mailbox) -> list[Finding]:
    s = box.smtp
    assert s is not None
    sender = SmtpSender(s, Credentials.of(s, f"mailbox {name}, SMTP"), name)
    try:
        sender.open()   # connect, TLS, EHLO and login
    except ConnectionFailed as exc:
        sender.close()
        return [_login_failure(name, where, s, exc)]
    found = [_tls(name, where, s),
             Finding(name, where, "ok", f"login accepted for {s.username}" if s.username else "no login (no username)")]
    try:
        address = envelope_address(box.address)
        refused = sender.refusal(address, address)   # MAIL FROM and RCPT TO, then RSET: no mail
    except UnsendableAddress as exc:
        return [*found, Finding(name, where, "FAILED", f"cannot send as {box.address}: {exc}",
                                "mailflow speaks no SMTPUTF8: use an address with only ASCII before the @")]
    except ConnectionFailed as exc:
        return [*found, Finding(name, where, "FAILED", str(exc), "check the server's limits and try again")]
    finally:
        sender.close()
    if refused:
        return [*found, _refusal(name, where, box, *refused)]
    return [*found, Finding(name, where, "ok", f"takes mail from {box.address}")]
