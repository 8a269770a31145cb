import email
import email.policy
from datetime import datetime, timezone

from mailflow.message import parse_message
from mailflow.outbox import compose

SENT_AT = datetime(2020, 9, 14, 10, 0, tzinfo=timezone.utc)


def _reply(subject: str, name: str) -> bytes:
    incoming = parse_message(
        b"From: =?UTF-8?Q?" + name.encode() + b"?= <eve@evil.example>\r\n"
        b"Subject: =?UTF-8?Q?" + subject.encode() + b"?=\r\nMessage-ID: <in@evil.example>\r\n\r\nhi\r\n"
    )
    return compose(
        from_name="Irakli Samkharadze", from_address="international@cc-events.example",
        to_name=incoming.sender_name, to_address=incoming.sender, subject="Re: " + incoming.subject,
        text="Thank you.\n", message_id="<out@cc-events.example>",
        in_reply_to=incoming.message_id, references=incoming.references, date=SENT_AT,
    )


def test_encoded_newlines_never_become_headers():
    raw = _reply("hi=0D=0ABcc=3A_victim=40example=2Eorg", "Eve=0ABcc=3A_victim2=40example=2Eorg")
    out = email.message_from_bytes(raw, policy=email.policy.default)
    assert out["Bcc"] is None
    assert [k.lower() for k in out.keys()].count("bcc") == 0
    assert out["Subject"] == "Re: hi Bcc: victim@example.org"
    assert out["To"].addresses[0].addr_spec == "eve@evil.example"


def test_reply_headers_thread_and_mark_it_automatic():
    out = email.message_from_bytes(_reply("Participation", "Nino"), policy=email.policy.default)
    assert out["In-Reply-To"] == "<in@evil.example>"
    assert out["References"] == "<in@evil.example>"
    assert out["Auto-Submitted"] == "auto-replied"
    assert out["Message-ID"] == "<out@cc-events.example>"
    assert out.get_content().rstrip() == "Thank you."


def test_greeting_name_and_german_date():
    from mailflow.context import event_context, person_name
    from mailflow.rules import load_rules
    from tests.helpers import REPO

    assert person_name("Weber, Thomas") == "Thomas Weber"
    assert person_name("Nino Beridze") == "Nino Beridze"
    assert person_name("Stadt Leipzig, Referat Digitales, Team 3") == "Stadt Leipzig, Referat Digitales, Team 3"
    assert event_context(load_rules(REPO / "rules.yaml").events[0])["date_de"] == "7. Oktober 2020"


def test_the_hand_written_text_part_is_what_mimetext_writes():
    import io
    from email.generator import BytesGenerator
    from email.mime.text import MIMEText

    from mailflow.outbox import _UTF8_QP, _WIRE

    for text in ["Hello\nWorld ä ö ß 日本\n", "x" * 200 + "\n", "trailing space \nTschüß=\n\n", "no end", "a\r\nb\rc\n",
                 "From the start\n.\n..\n", "\t tabs \t\n" * 3]:
        mime = io.BytesIO()
        BytesGenerator(mime, mangle_from_=False, policy=_WIRE).flatten(MIMEText(text, "plain", _UTF8_QP))
        raw = compose(from_name="A", from_address="a@x.example", to_name="B", to_address="b@y.example",
                      subject="s", text=text, message_id="<m@x.example>", date=SENT_AT)
        assert raw.split(b"X-Auto-Response-Suppress: All\r\n", 1)[1] == mime.getvalue()
