"""explain, questions and replay on a database filled by the demo pipeline."""

import json

import pytest
import yaml
from click.testing import CliRunner

from mailflow.cli import main
from mailflow.database import open_database
from tests.support.demo import demo_project


@pytest.fixture
def project(tmp_path):
    return demo_project(tmp_path)


def cli(project, *args):
    result = CliRunner().invoke(main, ["--rules", str(project / "rules.yaml"), *args])
    return result


def test_explain_by_message_id_shows_reasons_and_replies(project):
    result = cli(project, "explain", "5F684C77020000A10003D1E2@gw.stadt.nuernberg.de")
    assert result.exit_code == 0, result.output
    assert "audience: german (high confidence), intent: interest, answered: yes" in result.output
    assert "text says 'as a german expert'" in result.output
    assert "notice:misdirected to german@cc-events.example" in result.output
    number = open_database(project / "out/mailflow-demo.db").execute(
        "select id from messages where sender = 'thomas.weber@stadt.nuernberg.de'").fetchone()[0]
    data = json.loads(cli(project, "explain", str(number), "--json").output)
    assert data["sender"] == "thomas.weber@stadt.nuernberg.de"
    assert {row["kind"] for row in data["outbox"]} == {"reply:interest", "notice:misdirected"}


def test_explain_unknown_message_says_what_to_use(project):
    result = cli(project, "explain", "999")
    assert result.exit_code == 1
    assert "no message '999'" in result.output


def test_questions_list_and_close(project):
    listed = cli(project, "questions")
    assert "a.hovhannisyan@yerevan.am" in listed.output
    # Kragujevac's "my colleague ... may join as well" (no address) waits for a coordinator too
    behalf, question = json.loads(cli(project, "questions", "--json").output)
    assert behalf["sender"] == "djordje.stankovic@kragujevac.rs"
    for row in (question, behalf):
        closed = cli(project, "questions", "--close", str(row["id"]))
        assert closed.exit_code == 0 and "closed" in closed.output
    assert cli(project, "questions").output.strip() == "no open questions"
    interest = open_database(project / "out/mailflow-demo.db").execute(
        "select id from messages where intent = 'interest'").fetchone()[0]
    assert cli(project, "questions", "--close", str(interest)).exit_code == 1


def test_bounce_records_the_failed_recipient(project):
    db = open_database(project / "out/mailflow-demo.db")
    (bounce,) = db["messages"].rows_where("intent = 'bounce'")
    assert "m.petrovic@podgorica.me" in bounce["reasons"]


def test_replay_shows_what_a_rule_change_would_do_and_sends_nothing(project):
    db = open_database(project / "out/mailflow-demo.db")
    outbox_before = db["outbox"].count
    data = yaml.safe_load((project / "rules.yaml").read_text())
    del data["replies"]["question"]
    data["classification"]["intents"]["interest"].remove("participat...")
    new = project / "new.yaml"
    new.write_text(yaml.safe_dump(data, allow_unicode=True))
    result = cli(project, "replay", "--with", str(new))
    assert result.exit_code == 0, result.output
    assert "a.hovhannisyan@yerevan.am" in result.output and "reply: True -> False" in result.output
    assert "nothing was sent" in result.output
    report = json.loads(cli(project, "replay", "--with", str(new), "--json").output)
    assert report["messages"] == 11
    changed = {c["sender"]: c for c in report["changes"]}
    assert changed["a.hovhannisyan@yerevan.am"]["after"]["reply"] is False
    assert db["outbox"].count == outbox_before
    last_two = json.loads(cli(project, "replay", "--with", str(new), "--last", "2", "--json").output)
    assert last_two["messages"] == 2


def test_replay_reports_a_broken_candidate_with_its_line(project):
    bad = project / "bad.yaml"
    bad.write_text((project / "rules.yaml").read_text().replace("poll_interval:", "poll_intervall:"))
    result = cli(project, "replay", "--with", str(bad))
    assert result.exit_code == 1
    assert "unknown key 'poll_intervall'" in result.output and "bad.yaml:" in result.output


def test_replay_with_the_old_rules_option_fails_with_a_hint(project, monkeypatch):
    """`replay --rules NEW.yaml` used to name the changed file; --rules now names the main rules, so
    the old spelling must fail, saying so, rather than run NEW.yaml as the main rules."""
    new = project / "new.yaml"
    new.write_text((project / "rules.yaml").read_text())
    after_main = cli(project, "replay", "--rules", str(new))
    assert after_main.exit_code == 2 and "--with NEW.yaml" in after_main.output
    monkeypatch.chdir(project)
    alone = CliRunner().invoke(main, ["replay", "--rules", str(new)])
    assert alone.exit_code == 2 and "`replay --rules NEW.yaml` was the old spelling" in alone.output
