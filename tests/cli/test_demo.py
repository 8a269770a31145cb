"""`mailflow demo` as a new user runs it: the shipped project, the 2020 event, the clock of its samples."""

import email
import email.policy

from click.testing import CliRunner

from mailflow.cli import main
from mailflow.database import open_database
from tests.support.demo import shipped_project


def demo(tmp_path):
    return CliRunner().invoke(main, ["--rules", str(tmp_path / "rules.yaml"), "demo",
                                     "--output", str(tmp_path / "out")])


def test_demo_command_twice(tmp_path):
    shipped_project(tmp_path)
    first = demo(tmp_path)
    assert first.exit_code == 0, first.output
    assert "thomas.weber@stadt.nuernberg.de" in first.output
    # 8 replies and notices (Kragujevac: "my colleague may join" waits for a coordinator) and each
    # coordinator's daily digest: the demo's clock stands after 08:00, their digest time.
    assert "recorded 11 new mails, sent 10 mails" in first.output
    second = demo(tmp_path)
    assert "recorded 0 new mails, sent 0 mails" in second.output
    written = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
               for path in (tmp_path / "out" / "outbox").glob("*.eml")]
    assert len(written) == 10
    assert sorted(m["Subject"].split(" 2020")[0] for m in written if m["X-Mailflow"].split()[0] == "digest") == \
        ["mailflow digest", "mailflow-Übersicht"]   # the german coordinator's in German


def test_the_demo_runs_as_of_its_last_sample_and_says_so(tmp_path):
    shipped_project(tmp_path)
    result = demo(tmp_path)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("as of 2020-09-30 14:28 UTC, when the last sample mail arrived")
    # not "Registration closed" (Kragujevac waits for a coordinator: on behalf, unsure)
    assert result.output.count("reply sent: Your registration:") == 2
    db = open_database(tmp_path / "out" / "mailflow-demo.db")
    assert db.execute("select max(recorded_at), min(arrived_at) from messages").fetchone() == (
        "2020-09-30T14:28:55+00:00", "2020-09-14T06:23:44+00:00")


def test_the_demo_runs_from_any_folder_on_the_shipped_project(tmp_path, monkeypatch):
    """No --rules: the shipped rules and samples, wherever it runs; MAILFLOW_RULES (your own rules) does not
    change that, and a rules.yaml of your own in the folder is not read either."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAILFLOW_RULES", str(tmp_path / "mine.yaml"))
    (tmp_path / "rules.yaml").write_text("not: [rules\n")
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "recorded 11 new mails, sent 10 mails (written to demo-output/outbox)" in result.output   # 8 + 2 digests
    assert len(list((tmp_path / "demo-output" / "outbox").glob("*.eml"))) == 10


def test_the_demo_on_own_rules_without_sample_mails_says_where_they_are(tmp_path, monkeypatch):
    """`mailflow init` writes no samples: `demo --rules rules.yaml` there found no mail and printed an empty
    table "as of" now, without a word why."""
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    result = CliRunner().invoke(main, ["--rules", "rules.yaml", "demo"])
    assert result.exit_code == 2, result.output
    assert "no sample mails in " in result.output and "samples/maildir" in result.output, result.output
    assert "--samples" in result.output
    assert not (tmp_path / "demo-output").exists()
    from mailflow.starter import shipped
    result = CliRunner().invoke(main, ["--rules", "rules.yaml", "demo",
                                       "--samples", str(shipped() / "samples/maildir")])
    assert result.exit_code == 0 and "recorded 11 new mails" in result.output, result.output
