"""`mailflow run --once` when a mailbox's secret cannot be had: said per mailbox and key, no traceback."""

from click.testing import CliRunner

from mailflow.cli import main
from mailflow.errors import ConnectionFailed
from tests.support.rules import write_rules


def test_run_once_with_a_failing_command_says_which_mailbox_and_key_without_a_traceback(tmp_path):
    failing = {"host": "127.0.0.1", "port": 9, "security": "none", "timeout": 2,    # nothing listens on port 9
               "password_env": None, "password_command": "sh -c 'exit 3'"}
    rules_path = write_rules(tmp_path, mailbox={"imap": failing})
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "run", "--once"])
    assert result.exit_code == 1, result.output
    assert "mailbox international, IMAP: password_command exited with status 3" in result.output
    assert "mailbox german, IMAP: password_command exited with status 3" in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, ConnectionFailed)
