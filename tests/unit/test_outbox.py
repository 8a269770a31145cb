import email
import email.policy
from datetime import UTC, datetime

from mailflow.message import parse_message
from mailflow.outbox import Attachment, compose, compose_notice

SENT_AT = datetime(2020, 9, 14, 10, 0, tzinfo=UTC)


def _reply(subject: str, name: str) -> bytes:
    incoming = parse_message(
        b"From: =?UTF-8?Q?" + name.encode() + b"?= <eve@evil.example>\r\n"
        b"Subject: =?UTF-8?Q?" + subject.encode() + b"?=\r\nMessage-ID: <in@evil.example>\r\n\r\nhi\r\n"
    )
    return compose(
        from_name="Irakli Samkharadze", from_address="international@cc-events.example",
        to_name=incoming.sender_name, to_address=incoming.sender, subject="Re: " + incoming.subject,
        text="Thank you.\n", message_id="<out@cc-events.example>", role="reply",
        in_reply_to=incoming.message_id, references=incoming.references, date=SENT_AT,
    )


def test_encoded_newlines_never_become_headers():
    raw = _reply("hi=0D=0ABcc=3A_victim=40example=2Eorg", "Eve=0ABcc=3A_victim2=40example=2Eorg")
    out = email.message_from_bytes(raw, policy=email.policy.default)
    assert out["Bcc"] is None
    assert [k.lower() for k in out].count("bcc") == 0
    assert out["Subject"] == "Re: hi Bcc: victim@example.org"
    assert out["To"].addresses[0].addr_spec == "eve@evil.example"


def test_reply_headers_thread_and_mark_it_automatic():
    out = email.message_from_bytes(_reply("Participation", "Nino"), policy=email.policy.default)
    assert out["In-Reply-To"] == "<in@evil.example>"
    assert out["References"] == "<in@evil.example>"
    assert out["Auto-Submitted"] == "auto-replied"
    assert out["X-Auto-Response-Suppress"] == "OOF, AutoReply"   # not "All", which suppresses bounces too
    assert out["Message-ID"] == "<out@cc-events.example>"
    assert out.get_content().rstrip() == "Thank you."


def test_greeting_name_and_german_date():
    from mailflow.context import event_context, person_name
    from mailflow.rules import load_rules
    from tests.support import REPO

    assert person_name("Weber, Thomas") == "Thomas Weber"
    assert person_name("Nino Beridze") == "Nino Beridze"
    assert person_name("Stadt Leipzig, Referat Digitales, Team 3") == "Stadt Leipzig, Referat Digitales, Team 3"
    assert event_context(load_rules(REPO / "rules.yaml").events[0])["date_de"] == "7. Oktober 2020"


def test_the_text_is_utf8_quoted_printable_in_short_lines():
    text = "Grüße aus Tbilisi, ნინო\n" + "x" * 200 + "\nFrom the start\n"
    raw = compose(from_name="A", from_address="a@x.example", to_name="B", to_address="b@y.example",
                  subject="s", text=text, message_id="<m@x.example>", role="reply", date=SENT_AT)
    assert raw.isascii() and b"\r\nContent-Transfer-Encoding: quoted-printable\r\n" in raw
    assert all(len(line) <= 76 for line in raw.split(b"\r\n\r\n", 1)[1].split(b"\r\n"))   # RFC 2045 §6.7
    out = email.message_from_bytes(raw, policy=email.policy.default)
    assert out.get_content().replace("\r\n", "\n") == text and out["Date"] == "Mon, 14 Sep 2020 10:00:00 +0000"
    assert out.get_content_charset() == "utf-8"


def test_attachments_keep_their_type_parameters_and_names():
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    raw = compose(from_name="A", from_address="a@x.example", to_name="B", to_address="b@y.example",
                  subject="s", text="t\n", message_id="<m@x.example>", role="release", date=SENT_AT,
                  auto_submitted="auto-generated",
                  attachments=(Attachment("invitation.ics", "text/calendar", ics, (("method", "REQUEST"),)),
                               Attachment("Präsentation?=.pdf", "application/pdf", b"%PDF-1.4 \x00\xff")))
    assert raw.isascii()
    out = email.message_from_bytes(raw, policy=email.policy.default)
    assert out["Auto-Submitted"] == "auto-generated"
    calendar, pdf = out.iter_attachments()
    assert (calendar.get_content_type(), calendar.get_param("method"), calendar.get_filename()) == \
        ("text/calendar", "REQUEST", "invitation.ics")
    assert calendar.get_payload(decode=True) == ics
    assert (pdf.get_content_type(), pdf.get_filename(), pdf.get_content()) == \
        ("application/pdf", "Präsentation_=.pdf", b"%PDF-1.4 \x00\xff")


def test_a_text_attachment_in_utf8_says_so():
    """Text with no charset is US-ASCII to its reader (RFC 2046; RFC 5545 requires the charset of a calendar):
    an agenda's "Begrüßung" and a Georgian name in the invitation showed as "Begr����ung"."""
    ics = "BEGIN:VCALENDAR\r\nATTENDEE;CN=\"ნინო ბერიძე\":mailto:n@x.ge\r\nEND:VCALENDAR\r\n".encode()
    raw = compose(from_name="A", from_address="a@x.example", to_name="B", to_address="b@y.example",
                  subject="s", text="t\n", message_id="<m@x.example>", role="release", date=SENT_AT,
                  attachments=(Attachment("invitation.ics", "text/calendar", ics, (("method", "REQUEST"),)),
                               Attachment("Agenda.txt", "text/plain", "13:00 Begrüßung\n".encode()),
                               Attachment("alt.txt", "text/plain", "13:00 Begrüßung\n".encode("cp1252")),
                               Attachment("a.pdf", "application/pdf", b"%PDF-1.4 \xc3\xbc")))
    calendar, agenda, unknown, pdf = email.message_from_bytes(raw, policy=email.policy.default).iter_attachments()
    assert calendar["Content-Type"] == 'text/calendar; charset="utf-8"; method="REQUEST"'
    assert 'CN="ნინო ბერიძე"' in calendar.get_content()
    assert (agenda.get_content_charset(), agenda.get_content()) == ("utf-8", "13:00 Begrüßung\n")
    assert unknown.get_content_charset() is None and pdf.get_param("charset") is None   # not ours to guess


ORIGINAL = (b"From: Max Weber <max@stadt-jena.de>\nTo: international@cc-events.example\n"
            b"Subject: Anmeldung\nMessage-ID: <orig@stadt-jena.de>\n\nIch nehme gerne teil.\n")


def _notice(original: bytes) -> email.message.EmailMessage:
    raw = compose_notice(from_name="mailflow (Irakli)", from_address="international@cc-events.example",
                         to_name="Anna", to_address="german@cc-events.example", subject="[mailflow] for german",
                         text="Why: ...\n", message_id="<n@cc-events.example>", original=original, date=SENT_AT)
    assert raw.isascii() and all(len(line) <= 998 for line in raw.split(b"\r\n"))
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_a_notice_carries_the_original_as_a_mail_a_client_opens():
    (part,) = _notice(ORIGINAL).iter_attachments()
    assert (part.get_content_type(), part.get_filename()) == ("message/rfc822", "original.eml")
    attached = part.get_content()       # what a mail client shows: a mail, with its own headers
    assert (attached["Subject"], attached["Message-ID"]) == ("Anmeldung", "<orig@stadt-jena.de>")
    assert attached.get_content() == "Ich nehme gerne teil.\r\n"
    assert part.as_bytes().split(b"\n\n", 1)[1].replace(b"\r\n", b"\n") == ORIGINAL


def test_an_original_with_8bit_text_long_lines_or_nul_still_goes_as_a_mail_written_in_7_bits():
    """message/rfc822 carries no base64: such an original is written as a client without 8BITMIME would
    have sent it (the bodies in base64, 8-bit header text as encoded words), so the client still opens it."""
    eight_bit = ORIGINAL.replace(b"Subject: Anmeldung", "Subject: Anmeldung für Jena".encode()).replace(
        b"From: Max Weber", "From: Max Müller".encode()).replace(b"gerne", "gerne, Grüße".encode())
    eight_bit = eight_bit.replace(b"\n\n", b"\nContent-Type: text/plain; charset=utf-8\n\n", 1)
    for original, body in ((eight_bit, "Ich nehme gerne, Grüße teil.\n"),
                           (ORIGINAL + b"y" * 1000 + b"\n", "Ich nehme gerne teil.\n" + "y" * 1000 + "\n"),
                           (ORIGINAL + b"\x00", "Ich nehme gerne teil.\n\x00")):
        (part,) = _notice(original).iter_attachments()
        assert (part.get_content_type(), part.get_filename()) == ("message/rfc822", "original.eml")
        attached = part.get_content()
        assert attached["Message-ID"] == "<orig@stadt-jena.de>"
        assert attached.get_content().replace("\r\n", "\n") == body
    attached = next(_notice(eight_bit).iter_attachments()).get_content()
    assert attached["Subject"] == "Anmeldung für Jena"
    assert (attached["From"].addresses[0].display_name, attached["From"].addresses[0].addr_spec) == (
        "Max Müller", "max@stadt-jena.de")   # the name encoded, the address still one to answer


def test_an_8bit_original_without_mime_headers_says_what_its_base64_holds():
    """A script's raw UTF-8 with no MIME headers went on as a non-MIME mail with a base64 body: a strict
    client showed the base64, a lenient one decoded it as US-ASCII."""
    for text, charset in (("Ich nehme gerne teil. Grüße aus Jena\n", "utf-8"),
                          ("Grüße aus Jena\n", "windows-1252"),
                          ("Prijavljujem se. Pozdrav iz Kragujevca, Đorđe Kovačević\n", "windows-1250"),
                          ("Я хотел бы принять участие. С уважением, Мария Иванова\n", "windows-1251")):
        original = ORIGINAL.replace(b"Ich nehme gerne teil.\n", text.encode(charset))
        attached = next(_notice(original).iter_attachments()).get_content()
        assert (attached["MIME-Version"], attached.get_content_type(), attached.get_content_charset()) == (
            "1.0", "text/plain", charset)
        assert attached.get_content().replace("\r\n", "\n") == text


def test_an_original_that_cannot_be_written_in_7_bits_goes_byte_for_byte_in_base64():
    for original in (ORIGINAL.replace(b"Subject: Anmeldung", b"Subject: Anmel\x00dung"),):
        (part,) = _notice(original).iter_attachments()
        assert (part.get_content_type(), part.get_filename()) == ("application/octet-stream", "original.eml")
        assert part.get_content() == original


def test_the_text_part_is_byte_for_byte_what_set_content_writes():
    """compose() stores the text part's three constant headers as written (the header registry
    parsed them again, a third of a reply's CPU): the mail must not change by a byte."""
    from email.message import EmailMessage

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mailflow.outbox import _WIRE, _set_text

    @settings(max_examples=300, deadline=None)
    @given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=400))
    def same(text):
        ours, theirs = EmailMessage(policy=_WIRE), EmailMessage(policy=_WIRE)
        _set_text(ours, text)
        theirs.set_content(text, cte="quoted-printable")
        assert ours.as_bytes() == theirs.as_bytes()

    same()


def test_a_coordinator_on_an_international_domain_can_send():
    """`address: anmeldung@städte-netz.de` passed `check`; then every reply's Message-ID carried the domain as
    typed, compose refused it and the mail was quarantined (the digest stopped the pass)."""
    from mailflow.outbox import new_message_id

    message_id = new_message_id("anmeldung@städte-netz.de")
    assert message_id.isascii() and message_id.endswith("@xn--stdte-netz-r5a.de>")
    raw = compose(from_name="Anna", from_address="anmeldung@städte-netz.de", to_name="B", to_address="b@y.example",
                  subject="s", text="t\n", message_id=message_id, role="reply", date=SENT_AT)
    out = email.message_from_bytes(raw, policy=email.policy.default)
    assert (out["Message-ID"], out["From"].addresses[0].domain) == (message_id, "xn--stdte-netz-r5a.de")


def test_a_long_attachment_name_keeps_its_extension():
    name = "Agenda_" + "Digitalisation_of_Municipal_Services_" * 6 + "7_October.pdf"
    raw = compose(from_name="A", from_address="a@x.example", to_name="B", to_address="b@y.example",
                  subject="s", text="t\n", message_id="<m@x.example>", role="release", date=SENT_AT,
                  attachments=(Attachment(name, "application/pdf", b"%PDF-1.4"),))
    (pdf,) = email.message_from_bytes(raw, policy=email.policy.default).iter_attachments()
    assert len(pdf.get_filename()) == 200 and pdf.get_filename().endswith("_Services_Digi.pdf")


def test_a_releases_x_mailflow_names_any_event_id_in_ascii_and_reads_back():
    """With the event and kind in X-Mailflow (a restored database reads them in Sent), an id like
    "städtetag 2020" made every release of that event raise (a header is ASCII)."""
    from mailflow.answered import read_sent
    from mailflow.outbox import release_role, released

    role = release_role("städtetag 2020", "release:agenda:v2")
    raw = compose(from_name="A", from_address="a@x.example", to_name="B", to_address="b@y.example",
                  subject="s", text="t\n", message_id="<m@x.example>", role=role, date=SENT_AT)
    header = raw.split(b"\r\n\r\n", 1)[0]
    assert b"X-Mailflow: release st%C3%A4dtetag%202020 release:agenda:v2\r\n" in header
    sent = read_sent(7, header)
    assert sent.role == "release" and released(sent.about) == ("städtetag 2020", "release:agenda:v2")
    assert released(read_sent(8, b"X-Mailflow: release\r\n").about) is None   # an older mailflow's


def test_a_line_beginning_from_is_quoted_so_no_mbox_delivery_changes_it():
    text = ("Agenda\nFrom the mayor's office: welcome\nFrom 13:00 the panel\n"
            "From Tbilisi, Yerevan and Chișinău: the mayors' offices on one-stop shops and e-services for everyone\n")
    raw = compose(from_name="A", from_address="a@x.example", to_name="B", to_address="b@y.example",
                  subject="s", text=text, message_id="<m@x.example>", role="release", date=SENT_AT)
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert b"\r\nFrom " not in body and body.count(b"=46rom ") == 3
    assert max(len(line) for line in body.split(b"\r\n")) <= 76   # QP's limit, with the two characters more
    assert email.message_from_bytes(raw, policy=email.policy.default).get_content().replace("\r\n", "\n") == text


def test_a_long_subject_is_folded_at_its_spaces():
    """RFC 5322 2.1.1: lines of at most 78 characters; the subjects with the event's title were 107."""
    subject = "Your registration: Digitalisation of Municipal Services in Southeast Europe (SEE) and the Caucasus"
    raw = compose(from_name="A", from_address="a@x.example", to_name="B", to_address="b@y.example",
                  subject=subject, text="t\n", message_id="<m@x.example>", role="reply", date=SENT_AT)
    header = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert max(map(len, header)) <= 78 and b" Europe (SEE) and the Caucasus" in header
    assert email.message_from_bytes(raw, policy=email.policy.default)["Subject"] == subject
