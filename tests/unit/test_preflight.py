"""preflight's pure parts: whether a pass ran lately enough to hand the sending to, and why a secret cannot
be had (the servers' side is tests/integration/test_check_connect.py)."""

from datetime import UTC, datetime, timedelta

from mailflow.clock import stamp
from mailflow.database import open_database
from mailflow.preflight import daemon_seen, secret_problem
from mailflow.rules import ServerSettings
from tests.support.rules import upcoming_rules

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_a_pass_within_three_poll_intervals_and_a_minute_counts_as_a_running_mailflow(tmp_path):
    rules = upcoming_rules(poll_interval=60)
    db = open_database(tmp_path / "m.db")
    assert daemon_seen(db, rules, NOW) is None   # never ran
    db.table("sync_state").insert({"mailbox": "german", "folder": "INBOX", "last_sync": stamp(NOW - timedelta(hours=2)),
                                   "connection_at": stamp(NOW - timedelta(seconds=240))})
    assert daemon_seen(db, rules, NOW) == NOW - timedelta(seconds=240)   # the IDLE watcher's state, 4 min ago
    assert daemon_seen(db, rules, NOW + timedelta(seconds=1)) is None
    db.table("sync_state").insert({"mailbox": "international", "folder": "INBOX",
                                   "last_sync": stamp(NOW - timedelta(seconds=5))})
    assert daemon_seen(db, rules, NOW) == NOW - timedelta(seconds=5)


def test_a_daemon_stopped_after_its_last_pass_is_no_mailflow_to_hand_the_sending_to(tmp_path):
    """`systemctl stop mailflow` a minute ago: no next pass is coming, so a release must not be queued for it."""
    rules = upcoming_rules(poll_interval=60)
    db = open_database(tmp_path / "m.db")
    db.table("sync_state").insert({"mailbox": "german", "folder": "INBOX",
                                   "last_sync": stamp(NOW - timedelta(seconds=90))})
    db.execute("insert into heartbeat (id, beat_at, stopped_at, poll_interval) values (1, ?, ?, 60)",
               [stamp(NOW - timedelta(seconds=60)), stamp(NOW - timedelta(seconds=60))])
    assert daemon_seen(db, rules, NOW) is None
    # cron's `run --once` after that stop: its pass is newer than the stop
    db.execute("update sync_state set last_sync = ?", [stamp(NOW - timedelta(seconds=30))])
    assert daemon_seen(db, rules, NOW) == NOW - timedelta(seconds=30)


def test_why_a_secret_cannot_be_had(monkeypatch):
    def server(**secret):
        return ServerSettings(host="h", port=1, security="tls", username="u", **secret)
    monkeypatch.delenv("MF_NOT_SET", raising=False)
    assert secret_problem(server(password_env="MF_NOT_SET"))[0] == "environment variable MF_NOT_SET is not set here"
    monkeypatch.setenv("MF_NOT_SET", "pw")
    assert secret_problem(server(password_env="MF_NOT_SET")) is None
    assert "but no password_env" in secret_problem(server())[0]
    assert secret_problem(ServerSettings(host="h", port=1, security="none")) is None   # no login, no secret
    assert secret_problem(server(password_command="true")) is None        # found on PATH, not run
    assert secret_problem(server(password_command="true"), run=True)[0] == "password_command printed nothing"
    assert secret_problem(server(oauth2_token_command="no-such-program --x"))[0] == \
        "oauth2_token_command: no-such-program is not found or not executable"
    assert secret_problem(server(password_command="echo pw"), run=True) is None
