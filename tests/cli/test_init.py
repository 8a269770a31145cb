"""`mailflow init`: a new project to edit, its event a month ahead, every template; it overwrites nothing."""

from datetime import date, timedelta

from click.testing import CliRunner

from mailflow.cli import main
from mailflow.rules import load_rules
from mailflow.starter import new_rules
from tests.support import REPO


def cli(*args):
    return CliRunner().invoke(main, list(args))


def test_init_writes_rules_with_an_event_a_month_ahead_and_every_template_and_check_passes(tmp_path):
    result = cli("init", str(tmp_path / "new"))
    assert result.exit_code == 0, result.output
    rules = load_rules(tmp_path / "new" / "rules.yaml")
    assert rules.events[0].start.date() == date.today() + timedelta(days=30)
    assert (rules.events[0].id, rules.events[0].title) == ("my-event", "The title of your event")
    assert sorted(p.name for p in (tmp_path / "new" / "templates").iterdir()) == sorted(
        p.name for p in (REPO / "templates").iterdir())
    text = (tmp_path / "new" / "rules.yaml").read_text()
    assert text.startswith("# Written by `mailflow init`") and "# Relative paths are relative to this file." in text
    check = cli("--rules", str(tmp_path / "new" / "rules.yaml"), "check")
    shipped = cli("--rules", str(REPO / "rules.yaml"), "check").output   # as many templates as the shipped rules
    templates = shipped[shipped.index("ok (2 mailboxes, 1 events, "):shipped.index(" templates)")]
    assert check.exit_code == 0 and templates + " templates)" in check.output, check.output
    # The only warnings: the passwords, which this shell does not have (check --connect would fail on them).
    warnings = [line for line in check.output.splitlines() if "warning" in line]
    assert warnings and all("is not set here" in line for line in warnings), check.output


def test_init_overwrites_nothing_and_says_which_files_exist(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "ack_german.txt").write_text("Subject: mine\n\nmine\n")
    result = cli("init", str(tmp_path))
    assert result.exit_code == 1
    assert "ack_german.txt" in result.output and "nothing was written" in result.output
    assert "rules.yaml" not in result.output.split(";")[0]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["ack_german.txt", "templates"]
    assert (tmp_path / "templates" / "ack_german.txt").read_text() == "Subject: mine\n\nmine\n"
    (tmp_path / "templates" / "ack_german.txt").unlink()
    assert cli("init", str(tmp_path)).exit_code == 0
    again = cli("init", str(tmp_path))
    assert again.exit_code == 1 and f"{tmp_path / 'rules.yaml'}, " in again.output


def test_init_writes_where_rules_points_and_refuses_a_folder_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli("init", "--rules", "etc/mine.yaml").exit_code == 0
    assert load_rules(tmp_path / "etc" / "mine.yaml").templates_path == tmp_path / "etc" / "templates"
    both = cli("--rules", "x.yaml", "init", "there")
    assert both.exit_code == 2 and "not both" in both.output
    assert cli("init").exit_code == 0 and (tmp_path / "rules.yaml").is_file()


def test_init_alone_writes_here_whatever_mailflow_rules_says(tmp_path, monkeypatch):
    """MAILFLOW_RULES names the rules in use (a server's /etc/mailflow/rules.yaml): `init` in a new folder
    starts a project there, as README says, and does not aim at the one in use."""
    (tmp_path / "new").mkdir()
    monkeypatch.chdir(tmp_path / "new")
    monkeypatch.setenv("MAILFLOW_RULES", str(tmp_path / "in-use" / "rules.yaml"))
    result = cli("init")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "rules.yaml").is_file() and not (tmp_path / "in-use").exists()


def test_new_rules_moves_every_event_by_the_same_days_and_keeps_comments():
    shipped = (REPO / "rules.yaml").read_text()
    text = new_rules(shipped, date(2031, 1, 20))
    assert "    start: 2031-02-19T13:00\n    end: 2031-02-19T15:30\n" in text
    assert [line for line in shipped.splitlines() if line.lstrip().startswith("#")] == [
        line for line in text.splitlines()[4:] if line.lstrip().startswith("#")]   # (after the header)


def test_init_where_it_cannot_write_says_so_without_a_traceback(tmp_path):
    (tmp_path / "a-file").write_text("")
    result = cli("init", "--rules", str(tmp_path / "a-file" / "rules.yaml"))
    assert result.exit_code == 1 and "cannot write" in result.output and "a-file" in result.output, result.output


def test_init_that_runs_out_of_room_midway_leaves_no_file_behind(tmpfs):
    """A disk that takes a few files only (a tmpfs of 6 inodes): the error says so, and the files written
    before it are gone, so `mailflow init` can simply be run again once there is room."""
    disk = tmpfs("size=1m,nr_inodes=6")
    result = cli("init", str(disk))
    assert result.exit_code == 1 and "cannot write" in result.output, result.output
    assert [p for p in disk.rglob("*") if p.is_file()] == []
