"""Questions closed by answering, on a real Dovecot and aiosmtpd: a coordinator's reply from their own mail
client, found in the Sent folder, closes the question and takes off the star (\\Flagged) mailflow set;
mailflow's own reply does not count, nor a forward to someone else; `questions --close` takes the star
off too, and says so when a question was closed already."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from mailflow import runner
from mailflow.cli import main
from mailflow.rules import load_rules
from tests.support.mail import make_mail
from tests.support.servers import INTL_USER

QUESTION = "<q1@tbilisi.gov.ge>"
OTHER = "<q2@tbilisi.gov.ge>"


def question(message_id: str, sender: str) -> bytes:
    return make_mail(sender=sender, subject="A question", message_id=message_id,
                     body="Dear Mr. Samkharadze,\n\nWhat time does the event start in Tbilisi?\n\nBest regards")


def run(rules_path: Path) -> None:
    report = runner.run_once(load_rules(rules_path))
    assert report.errors == []


def cli(rules_path: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--rules", str(rules_path), *args])
    assert result.exit_code == 0, result.output
    return result.output


def starred(dovecot) -> dict[bytes, bool]:
    """Message-ID -> whether it carries \\Flagged in the inbox."""
    with dovecot.session(INTL_USER) as client:
        client.select_folder("INBOX", readonly=True)
        data = client.fetch(client.search(["ALL"]), ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    return {item[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].split(b":", 1)[1].strip(): b"\\Flagged" in item[b"FLAGS"]
            for item in data.values()}


def open_ids(rules_path: Path) -> list[str]:
    return [q["id"] for q in json.loads(cli(rules_path, "questions", "--json"))]


def closed(folder: Path, message_id: str) -> tuple[str | None, str | None, str | None]:
    with sqlite3.connect(folder / "mailflow.db") as db:
        return db.execute("select question_closed_at, question_closed_by, flag_cleared_at from messages "
                          "where message_id = ?", [message_id]).fetchone()


def _id(folder: Path, message_id: str) -> int:
    with sqlite3.connect(folder / "mailflow.db") as db:
        return db.execute("select id from messages where message_id = ?", [message_id]).fetchone()[0]


def test_a_reply_from_the_coordinators_own_client_closes_the_question_and_takes_the_star_off(
        servers, rules_path, tmp_path):
    dovecot, smtp = servers
    dovecot.append(INTL_USER, question(QUESTION, "Nino Beridze <nino@tbilisi.gov.ge>"))
    dovecot.append(INTL_USER, question(OTHER, "Giorgi <giorgi@tbilisi.gov.ge>"))
    run(rules_path)
    smtp.wait_for(2)   # mailflow's own replies ("your question went to the coordinator"), copied to Sent
    assert starred(dovecot) == {QUESTION.encode(): True, OTHER.encode(): True}
    run(rules_path)    # mailflow's replies in Sent answer the questions' In-Reply-To: they close nothing
    assert len(open_ids(rules_path)) == 2
    assert starred(dovecot) == {QUESTION.encode(): True, OTHER.encode(): True}

    by_hand = make_mail(sender="Irakli Samkharadze <international@cc-events.example>", to="nino@tbilisi.gov.ge",
                        subject="Re: A question", body="Dear Nino, it starts at 15:00 Tbilisi time.",
                        headers={"In-Reply-To": QUESTION, "References": QUESTION})
    dovecot.append(INTL_USER, by_hand, folder="Sent")
    # A forward of the other question to a colleague (Gmail sets In-Reply-To on forwards) answers nothing.
    forward = make_mail(sender="Irakli Samkharadze <international@cc-events.example>", to="colleague@cc-events.example",
                        subject="Fwd: A question", body="Could you answer Giorgi?",
                        headers={"In-Reply-To": OTHER, "References": OTHER})
    dovecot.append(INTL_USER, forward, folder="Sent")
    run(rules_path)

    at, by, cleared = closed(tmp_path, QUESTION)
    assert at == "2020-09-14T08:00:00+00:00"   # when the coordinator wrote (make_mail's Date, 10:00 +0200)
    assert by.startswith("Irakli Samkharadze <international@cc-events.example>, replying from their mail client")
    assert cleared is not None
    assert starred(dovecot) == {QUESTION.encode(): False, OTHER.encode(): True}
    assert len(open_ids(rules_path)) == 1
    assert closed(tmp_path, OTHER) == (None, None, None)
    assert len(smtp.messages) == 2   # closing sends nothing
    assert "question closed on 2020-09-14T08:00:00+00:00 by Irakli Samkharadze" in cli(rules_path, "explain", QUESTION)

    # Closing it by hand now says when and by whom it was closed, and changes nothing.
    number = str(_id(tmp_path, QUESTION))
    said = cli(rules_path, "questions", "--close", number)
    assert "was already closed, on 2020-09-14T08:00:00+00:00 by Irakli Samkharadze" in said
    assert closed(tmp_path, QUESTION) == (at, by, cleared)


def test_questions_close_takes_the_star_off_and_a_second_close_says_it_was_closed(
        servers, rules_path, tmp_path, monkeypatch):
    dovecot, smtp = servers
    monkeypatch.setenv("MAILFLOW_USER", "irakli")
    dovecot.append(INTL_USER, question(QUESTION, "Nino Beridze <nino@tbilisi.gov.ge>"))
    run(rules_path)
    assert starred(dovecot) == {QUESTION.encode(): True}
    number = str(_id(tmp_path, QUESTION))

    assert cli(rules_path, "questions", "--close", number).strip() == \
        f"question {number} from nino@tbilisi.gov.ge closed"
    assert starred(dovecot) == {QUESTION.encode(): False}   # at once, not at the next pass
    at, by, cleared = closed(tmp_path, QUESTION)
    assert by == "irakli" and at and cleared

    again = cli(rules_path, "questions", "--close", number)
    assert again.strip() == f"question {number} from nino@tbilisi.gov.ge was already closed, on {at} by irakli"
    assert closed(tmp_path, QUESTION) == (at, by, cleared)
    assert open_ids(rules_path) == []


def test_a_close_while_the_server_is_down_takes_the_star_off_at_the_next_pass(servers, rules_path, tmp_path):
    dovecot, smtp = servers
    dovecot.append(INTL_USER, question(QUESTION, "Nino Beridze <nino@tbilisi.gov.ge>"))
    run(rules_path)
    number = str(_id(tmp_path, QUESTION))
    with dovecot.down():
        said = cli(rules_path, "questions", "--close", number)
    assert "closed" in said and "goes at the next pass that reaches the server" in said
    assert starred(dovecot) == {QUESTION.encode(): True}
    run(rules_path)
    assert starred(dovecot) == {QUESTION.encode(): False}
    assert closed(tmp_path, QUESTION)[2] is not None


def test_mail_that_arrived_while_mailflow_was_away_is_closed_only_by_a_reply_to_its_sender(
        servers, rules_path, tmp_path):
    # Both questions and both of the coordinator's mails are there before mailflow's pass: the Sent folder is
    # read while the questions are only recorded, their sender not yet known to the database.
    dovecot, smtp = servers
    dovecot.append(INTL_USER, question(QUESTION, "Nino Beridze <nino@tbilisi.gov.ge>"))
    dovecot.append(INTL_USER, question(OTHER, "Giorgi <giorgi@tbilisi.gov.ge>"))
    by_hand = make_mail(sender="Irakli Samkharadze <international@cc-events.example>", to="Nino <NINO@tbilisi.gov.ge>",
                        subject="Re: A question", body="Dear Nino, it starts at 15:00 Tbilisi time.",
                        headers={"In-Reply-To": QUESTION, "References": QUESTION})
    forward = make_mail(sender="Irakli Samkharadze <international@cc-events.example>", to="colleague@cc-events.example",
                        subject="Fwd: A question", body="Could you answer Giorgi?",
                        headers={"In-Reply-To": OTHER, "References": OTHER})
    dovecot.append(INTL_USER, by_hand, folder="Sent")
    dovecot.append(INTL_USER, forward, folder="Sent")
    run(rules_path)
    assert closed(tmp_path, QUESTION)[0] == "2020-09-14T08:00:00+00:00"
    assert closed(tmp_path, OTHER) == (None, None, None)          # the forward answered nothing
    assert open_ids(rules_path) == [_id(tmp_path, OTHER)]
    assert starred(dovecot) == {QUESTION.encode(): False, OTHER.encode(): True}
