"""Hostile and broken input: fuzzing the parser and the header builder, and torture mails through the worker.

Every mail ends `quarantined` or `processed`, never in a crash loop, and the worker
goes on to the next mail. An encoded newline never becomes a header of our reply.

A test marked xfail(strict=True) pins a bug not fixed yet; once it is fixed the test
passes, pytest reports the XPASS as a failure, and the mark should go.
"""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailflow.delivery import FolderSender
from mailflow.errors import MessageError
from mailflow.message import IncomingMessage, clean, parse_message
from mailflow.outbox import compose
from mailflow.rules import Limits
from mailflow.worker import Worker
from tests.support.mail import make_mail
from tests.support.maildirs import deliver, maildir_worker
from tests.support.rules import upcoming_rules

# The mails are delivered as "1.torture", "2.normal": by the Maildir convention they arrived in 1970,
# long before mailflow first opened the mailbox; they are answered as if it had watched all along.
RULES = upcoming_rules(answer_mail_since="1970-01-01")
SENT_AT = datetime(2020, 9, 14, 10, 0, tzinfo=UTC)
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
UNSAFE = ("\r", "\n", "\x00")


# -- 1. the parser ------------------------------------------------------------

CHARSETS = [
    "utf-8", "UTF-8", "iso-8859-1", "windows-1252", "koi8-r", "utf-16", "utf-32", "utf-7", "us-ascii",
    "iso-2022-jp", "x-unknown", "unknown-8bit", "idna", "punycode", "undefined", "hex", "rot13", "base64",
    "bz2_codec", "unicode_escape", "", "utf-8\x00", "utf-8\r\n", "utf-8*en",
]
ENCODINGS = ["base64", "BASE64", "quoted-printable", "7bit", "8bit", "binary", "x-uuencode", "garbage", ""]
CONTROL = ["\r", "\n", "\r\n", "\x00", "\t", "\x0b", "\x1b", "\x7f", "\x85", "\u2028", "\ufeff", "\r\n ", "\r\n\t"]
INJECTIONS = [b"\r\nBcc: victim@example.org", b"\nTo: x@evil.example\r\n", b"\x00", b"\xff\xfe", b"a\r\n\r\nbody"]

charsets = st.one_of(st.sampled_from(CHARSETS), st.text(max_size=10))
payloads = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=30).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from(INJECTIONS),
)


def _q(data: bytes) -> str:
    return "".join(chr(b) if 33 <= b < 127 and b not in b"=?_" else f"={b:02X}" for b in data)


@st.composite
def encoded_words(draw) -> str:
    """=?charset?q|b?...?= with any charset, CR/LF/NUL in the payload, and broken base64."""
    kind = draw(st.sampled_from("qQbB"))
    data = draw(payloads)
    text = (_q(data) if kind in "qQ"
            else draw(st.one_of(st.just(base64.b64encode(data).decode()), st.text(max_size=12))))
    return f"=?{draw(charsets)}?{kind}?{text}?="


header_values = st.lists(st.one_of(
    st.text(max_size=20), encoded_words(), st.sampled_from(CONTROL),
    st.sampled_from(["<a@b.example>", "Eve <eve@evil.example>", '"Q, uoted" <q@x.example>', ",", ";", "<", ">",
                     '"', "(comment)", "=?", "?=", "@", ":", " ", "Bcc: victim@example.org",
                     "multipart/mixed; boundary=", "text/plain; charset=", "attachment; filename*=utf-8''%0A%00",
                     "<id\x00x@y.example>", "<id\x01@y>", "text/\r\n plain",
                     'attachment; filename="Präsentation.pdf"']),
), max_size=6).map("".join)
header_names = st.one_of(
    st.sampled_from(["From", "To", "Cc", "Bcc", "Subject", "Message-ID", "In-Reply-To", "References", "Date",
                     "Reply-To", "Return-Path", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition",
                     "MIME-Version", "Auto-Submitted", "Precedence", "List-Id", "X-Autoreply", "Sender"]),
    st.text(max_size=12),
)


_junk = st.text(st.characters(codec="utf-8"), max_size=8) | st.sampled_from(CONTROL)
headers = st.one_of(
    st.tuples(header_names, header_values),
    # Values shaped like what the header should hold, with junk inside.
    st.tuples(st.sampled_from(["Message-ID", "In-Reply-To", "References"]),
              st.lists(st.builds("<{}@{}>".format, _junk, _junk), min_size=1, max_size=3).map(" ".join)),
    st.tuples(st.sampled_from(["Content-Type", "Content-Disposition"]),
              st.builds("{}/{}; {}={}".format, _junk, _junk, st.sampled_from(["charset", "report-type", "name"]),
                        _junk)),
)


@st.composite
def header_blocks(draw) -> list[bytes]:
    lines = []
    for name, value in draw(st.lists(headers, max_size=10)):
        text = f"{name}: {value}"
        how = draw(st.sampled_from(["utf-8", "latin-1", "ascii"]))   # raw 8-bit headers, too
        lines.append(text.encode("utf-8", "surrogatepass") if how == "utf-8" else text.encode(how, "replace"))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.binary(max_size=20)))
    return lines


@st.composite
def mime_parts(draw, depth: int = 0) -> bytes:
    ctype = draw(st.sampled_from([
        "text/plain", "text/html", "multipart/mixed", "multipart/alternative", "multipart/report", "message/rfc822",
        "application/octet-stream", "message/delivery-status", "multipart", "/", "", "text/x-junk",
    ]))
    nest = depth < 3
    boundary = draw(st.one_of(st.sampled_from(["b", "", "=_x", "--", "a b", "\x00", "é"]), st.text(max_size=8)))
    params = f"; charset={draw(charsets)}" if draw(st.booleans()) else ""
    if ctype.startswith("multipart") or draw(st.booleans()):
        params += draw(st.sampled_from([f'; boundary="{boundary}"', f"; boundary={boundary}"]))
    head = [f"Content-Type: {ctype}{params}".encode("utf-8", "surrogatepass")]
    cte = draw(st.sampled_from(ENCODINGS))
    if cte:
        head.append(f"Content-Transfer-Encoding: {cte}".encode())
    if draw(st.booleans()):
        head.append(draw(st.sampled_from([
            b"Content-Disposition: attachment; filename=x", b"Content-Disposition: inline",
            b"Content-Disposition: attachment; filename*=utf-8''%0A%00", "Content-Disposition: attachment; "
            "filename=\"Präsentation.pdf\"".encode(),
        ])))
    if ctype.startswith("multipart") and nest:
        sep = b"--" + boundary.encode("utf-8", "surrogatepass")
        body = b"".join(sep + b"\r\n" + child + b"\r\n" for child in draw(st.lists(mime_parts(depth + 1), max_size=3)))
        body += sep + b"--\r\n" if draw(st.booleans()) else b""
    elif ctype == "message/rfc822" and nest:
        body = draw(mails(depth + 1))
    else:
        data = draw(payloads)
        body = base64.b64encode(data) if cte.lower() == "base64" and draw(st.booleans()) else data
    return b"\r\n".join(head) + b"\r\n\r\n" + body


@st.composite
def mails(draw, depth: int = 0) -> bytes:
    """Structured but mangled: random headers, encoded words, boundaries, nesting and encodings."""
    raw = b"\r\n".join(draw(header_blocks())) + b"\r\n" + draw(mime_parts(depth))
    if draw(st.booleans()):
        raw = raw.replace(b"\r\n", draw(st.sampled_from([b"\n", b"\r", b"\r\r\n"])))
    return raw


def _strings(msg: IncomingMessage):
    """Every string the parser hands on, with where it came from."""
    yield "subject", msg.subject
    yield "sender_name", msg.sender_name
    yield "sender", msg.sender or ""
    yield "message_id", msg.message_id or ""
    yield "key", msg.key
    yield "content_type", msg.content_type
    yield "report_type", msg.report_type
    for where, values in (("recipients", msg.recipients), ("in_reply_to", msg.in_reply_to),
                          ("references", msg.references), ("part_types", msg.part_types)):
        for value in values:
            yield where, value
    for name, value in msg.headers.items():
        yield f"header {name}", value


def _assert_parsed_safely(raw: bytes) -> None:
    try:
        msg = parse_message(raw)
    except MessageError:
        return                                  # quarantined: fine
    assert isinstance(msg, IncomingMessage)
    for where, value in _strings(msg):
        assert isinstance(value, str), where
        assert not any(c in value for c in UNSAFE), f"{where}: {value!r}"
        value.encode("utf-8")                   # no lone surrogates: it must fit into SQLite
    assert "\x00" not in msg.text
    msg.text.encode("utf-8")


@settings(FUZZ, max_examples=300)
@given(raw=st.binary(max_size=3000))
def test_fuzz_parser_arbitrary_bytes(raw):
    _assert_parsed_safely(raw)


@settings(FUZZ, max_examples=500)
@given(raw=mails())
def test_fuzz_parser_mangled_mails(raw):
    _assert_parsed_safely(raw)


@pytest.mark.parametrize("raw, subject, name", [
    # RFC 2047 words next to a word in an unknown charset, or a broken base64 word, were kept raw (all of
    # them, still encoded), so a reader of our "Re: <subject>" reply decoded the =0D=0A into a newline.
    (b"Subject: =?utf-8?q?Hi=0D=0ABcc:_v@x.example?= =?x-unknown?q?a?=\r\n\r\nx",
     "Hi Bcc: v@x.example a", ""),
    (b"Subject: =?utf-8?q?Hi=0ABcc:_v@x.example?= =?utf-8?b?abcde?=\r\n\r\nx", "Hi Bcc: v@x.example", ""),
    # Raw 8-bit headers (UTF-8, else Windows-1252) were one U+FFFD per byte.
    ("Subject: Grüße\r\nFrom: Jürgen Müller <j@x.example>\r\n\r\nx".encode(), "Grüße", "Jürgen Müller"),
    ("Subject: Grüße\r\nFrom: Jürgen Müller <j@x.example>\r\n\r\nx".encode("latin-1"), "Grüße",
     "Jürgen Müller"),
    ("From: Jürgen =?utf-8?q?M=C3=BCller?= <j@x.example>\r\n\r\nx".encode(), "", "Jürgen Müller"),
])
def test_header_regressions(raw, subject, name):
    msg = parse_message(raw)
    assert (msg.subject, msg.sender_name) == (subject, name)


def test_regressions_found_by_the_fuzzer():
    # Control characters in In-Reply-To/References and a folded Content-Type were handed on as they were.
    msg = parse_message(b"In-Reply-To: <a\x00b@x>\r\nReferences: <c\x01d@x>\r\nContent-Type: text/\r\n plain\r\n\r\nx")
    assert (msg.in_reply_to, msg.references, msg.content_type) == (("<a b@x>",), ("<c d@x>",), "text/ plain")
    # 8-bit Content-Disposition (an unknown-8bit Header object, no .split) quarantined the mail.
    raw = "Content-Disposition: inline; filename=\"Präsentation.txt\"\r\n\r\nI would like to participate".encode()
    assert parse_message(raw).text == "I would like to participate"
    # A charset whose codec refuses "replace", or one with a NUL, quarantined the mail.
    for charset in (b"idna", b"undefined", b"utf-8\x00"):
        raw = b"Content-Type: text/plain; charset=\"" + charset + b"\"\r\n\r\nI would like to participate"
        assert parse_message(raw).text == "I would like to participate"


# -- 2. the header builder ----------------------------------------------------------

lookalikes = st.builds(
    lambda charset, kind, text: f"=?{charset}?{kind}?{text}?=",
    st.sampled_from(["utf-8", "x-unknown", "latin-1"]), st.sampled_from("qQbB"),
    st.sampled_from(["Hi=0D=0ABcc:_v@x.example", "DQpCY2M6IHZAeC5leGFtcGxl", "=00", "x"]),
)
compose_text = st.lists(st.one_of(
    st.text(max_size=30),
    lookalikes,
    st.sampled_from(["\r", "\n", "\x00", "\r\nBcc: v@x.example", "\r\n\r\n", " ", "\u2028", "\x85", "\t"]),
    st.text(alphabet="ab ä,\"<>", min_size=200, max_size=1200),     # very long, ASCII and not
), max_size=5).map("".join)
addresses = st.emails().filter(lambda a: len(a) < 200)


def _header_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def _assert_wire_safe(raw: bytes) -> email.message.Message:
    """No header a reader could see that we did not write; every line break is CRLF.

    (The last line may lack one when the text does: RFC 5322 allows it, smtplib adds it.)
    """
    lines = raw.split(b"\r\n")
    assert not any(b"\r" in line or b"\n" in line for line in lines), "bare CR or LF"
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    names = [k.lower() for k in msg]
    for name in ("from", "to", "subject", "message-id"):
        assert names.count(name) == 1, names
    assert "bcc" not in names and "cc" not in names, names
    assert all(re.match(rb"[A-Za-z-]+: |[ \t]", line) for line in _header_lines(raw)), _header_lines(raw)
    return msg


@settings(FUZZ, max_examples=300)
@given(from_name=compose_text, to_name=compose_text, subject=compose_text, text=compose_text,
       from_address=addresses, to_address=addresses)
def test_fuzz_compose(from_name, to_name, subject, text, from_address, to_address):
    try:
        raw = compose(from_name=from_name, from_address=from_address, to_name=to_name, to_address=to_address,
                      subject=subject, text=text, message_id="<fuzz.1@cc-events.example>", role="reply", date=SENT_AT)
    except ValueError:
        pytest.fail(f"compose refused a valid address: {from_address!r} or {to_address!r}")
    msg = _assert_wire_safe(raw)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert str(msg["subject"]) == clean(subject, 900)
    for header, name, address in (("from", from_name, from_address), ("to", to_name, to_address)):
        (parsed,) = msg[header].addresses
        assert parsed.addr_spec.lower() == address.lower()
        # Long names may be shortened; CPython's address parser keeps the space between adjacent
        # encoded words of a long name, so spaces are not compared.
        shown, given_ = "".join(parsed.display_name.split()), "".join(clean(name).split())
        assert given_.startswith(shown) and len(shown) >= min(len(given_), 50)
    assert msg["message-id"] == "<fuzz.1@cc-events.example>"


@pytest.mark.parametrize("address", ["a b@x.example", "a<b@x.example", "a@x.example, c@evil.example", 'a"@x.example'])
def test_compose_refuses_addresses_that_are_not_plain(address):
    with pytest.raises(ValueError):
        compose(from_name="A", from_address="a@cc-events.example", to_name="B", to_address=address,
                subject="s", text="t", message_id="<m@x>", role="reply", date=SENT_AT)


def _compose(**overrides) -> bytes:
    args = dict(from_name="Irakli", from_address="international@cc-events.example", to_name="Eve",
                to_address="eve@evil.example", subject="Re: hello", text="t", message_id="<m@cc-events.example>",
                role="reply", date=SENT_AT)
    return compose(**{**args, **overrides})


@pytest.mark.parametrize("field", ["subject", "to_name"])
def test_compose_encodes_encoded_word_lookalikes(field):
    # Found by test_fuzz_compose: ASCII text with "=?...?=" was written as it is, so a reader
    # of the reply decoded it, =0D=0A and all (policy.default even refuses such a To header).
    value = "Re: =?utf-8?q?Hi=0D=0ABcc:_victim@example.org?="
    msg = _assert_wire_safe(_compose(**{field: value}))
    assert str(msg["subject"] if field == "subject" else msg["to"].addresses[0].display_name) == value


def test_compose_keeps_long_display_names_under_998_bytes():
    # Found by test_fuzz_compose: a 998-character ASCII name went onto one 1,016-byte line.
    raw = _compose(to_name="a" * 998, from_name='"' * 998)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_compose_trims_long_references_to_the_first_and_the_latest_ids():
    # Fifty Message-IDs (the most the parser keeps) on one References line passed 998 bytes.
    refs = tuple(f"<ref{i}.0123456789abcdefghij@mail.example.org>" for i in range(50))
    raw = _compose(in_reply_to=refs[-1], references=refs)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    kept = email.message_from_bytes(raw, policy=email.policy.default)["References"].split()
    assert kept[0] == refs[0] and kept[1:] == list(refs[-(len(kept) - 1):]) and len(kept) > 15
    assert len(" ".join(kept)) <= 998 - len("References: ")


HUGE_ID = "<" + "x" * 2990 + "@mail.example.org>"   # 3,009 characters: no line can hold it


def test_a_message_id_longer_than_a_line_is_left_out_and_smtp_takes_the_mail(smtp_server):
    import smtplib

    raw = _compose(in_reply_to="<parent@x.example>", references=("<root@x.example>", HUGE_ID, "<mid@x.example>"))
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["References"].split() == ["<root@x.example>", "<mid@x.example>", "<parent@x.example>"]
    assert msg["In-Reply-To"] == "<parent@x.example>"
    # A reply to the huge id itself has no In-Reply-To rather than a broken one.
    assert "In-Reply-To" not in email.message_from_bytes(_compose(in_reply_to=HUGE_ID), policy=email.policy.default)
    # aiosmtpd refuses a line over 998 characters (500 Line too long): it takes ours.
    with smtplib.SMTP(smtp_server.host, smtp_server.port) as smtp:
        smtp.sendmail("international@cc-events.example", ["eve@evil.example"], raw)
        with pytest.raises(smtplib.SMTPDataError):
            smtp.sendmail("international@cc-events.example", ["eve@evil.example"],
                          raw.replace(b"\r\n\r\n", b"\r\nX-Long: " + b"y" * 1000 + b"\r\n\r\n", 1))
    assert [m.data.rstrip(b"\r\n") for m in smtp_server.wait_for(1)] == [raw.rstrip(b"\r\n")]


@pytest.mark.parametrize("address", ["jürgen@example.org", "juergen@müller.example"])
def test_compose_internationalized_address_is_ascii_or_refused(address):
    # Valid for normalize_address; compose raised UnicodeEncodeError (head.encode("ascii"), formataddr).
    try:
        raw = _compose(to_address=address)
    except UnicodeError:
        pytest.fail("UnicodeError: a crash, not a refusal")
    except ValueError:
        return
    assert raw.isascii()
    _assert_wire_safe(raw)


# -- 3. torture mails through the worker ------------------------------------------------

HEAD = b"To: international@cc-events.example\r\nDate: Mon, 14 Sep 2020 10:00:00 +0200\r\nMIME-Version: 1.0\r\n"
PARTICIPATE = b"I would like to participate in the online event.\r\n"


def nested(depth: int) -> bytes:
    head = b"From: Deep <deep@example.org>\r\nMessage-ID: <deep@example.org>\r\nSubject: Registration\r\n" + HEAD
    parts = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(depth))
    return head + parts + b"Content-Type: text/plain\r\n\r\n" + PARTICIPATE + b"".join(
        b"--b%d--\r\n" % i for i in reversed(range(depth)))


def many_parts(count: int) -> bytes:
    head = b"From: Many <many@example.org>\r\nMessage-ID: <many@example.org>\r\nSubject: Registration\r\n" + HEAD
    return (head + b"Content-Type: multipart/mixed; boundary=sep\r\n\r\n"
            + b"--sep\r\nContent-Type: text/plain\r\n\r\n" + PARTICIPATE
            + b"--sep\r\nContent-Type: text/plain\r\n\r\npart\r\n" * (count - 1) + b"--sep--\r\n")


@pytest.fixture(scope="module")
def big_mail() -> bytes:
    """A 50 MiB mail: a short text and one base64 attachment; built once for the module."""
    head = (b"From: Big <big@example.org>\r\nMessage-ID: <big@example.org>\r\nSubject: Registration\r\n" + HEAD
            + b"Content-Type: multipart/mixed; boundary=sep\r\n\r\n--sep\r\nContent-Type: text/plain\r\n\r\n"
            + PARTICIPATE + b"--sep\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
            + b"Content-Disposition: attachment; filename=big.bin\r\n\r\n")
    tail = b"--sep--\r\n"
    line = b"QUJD" * 19 + b"\r\n"
    lines = (50 * 2**20 - len(head) - len(tail)) // len(line)
    return head + line * lines + tail


TORTURE = {  # case: (sender address, mail)
    "invalid charset": (
        "charset@example.org",
        b"From: Charset <charset@example.org>\r\nMessage-ID: <charset@example.org>\r\nSubject: Registration\r\n"
        + HEAD + b"Content-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "I would like to participate. Grüße, Ünal\r\n".encode()
    ),
    "NUL bytes": (
        "nul@example.org",
        b"From: Nul\x00 Person <nul@example.org>\r\nMessage-ID: <nul@example.org>\r\nSubject: Regis\x00tration\r\n"
        + HEAD + b"X-Nul: \x00\x00\r\nContent-Type: text/plain\r\n\r\nI would like to\x00 participate.\x00\r\n"
    ),
    "8-bit UTF-8 headers": (
        "juergen@example.org",
        "From: Jürgen Müller <juergen@example.org>\r\nMessage-ID: <utf8@example.org>\r\n"
        "Subject: Anmeldung für Jürgen\r\n".encode() + HEAD
        + b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + PARTICIPATE
    ),
    "8-bit Latin-1 headers": (
        "juergen@example.org",
        "From: Jürgen Müller <juergen@example.org>\r\nMessage-ID: <latin1@example.org>\r\n"
        "Subject: Anmeldung für Jürgen\r\n".encode("latin-1") + HEAD
        + b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\n" + PARTICIPATE
    ),
}

QUESTION = b"Content-Type: text/plain\r\n\r\nCould you tell me whether the event is recorded?\r\n"
BCC = "victim@example.org"


def _b(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def _qw(text: str, charset: str = "utf-8") -> str:
    """A Q-encoded word fit for a display name: everything but letters and digits encoded."""
    data = text.encode(charset)
    return f"=?{charset}?q?" + "".join(chr(b) if chr(b).isalnum() and b < 128 else f"={b:02X}" for b in data) + "?="


# A question, so the reply's Subject is "Re: <their subject>"; every variant tries to smuggle a Bcc header
# through the Subject and through the From display name (which becomes the reply's To).
# case: (Subject, From display name, the reply's Subject, the reply's To display name)
SAID = f"Bcc: {BCC}"
WORD = _qw(f"Question\r\n{SAID}")
INJECTION = {
    "q-encoded CRLF": (_qw(f"Question\r\n{SAID}"), _qw(f"Eve\r\n{SAID}"), f"Re: Question {SAID}", f"Eve {SAID}"),
    "b-encoded LF": (_b(f"Question\n{SAID}"), _b(f"Eve\n{SAID}"), f"Re: Question {SAID}", f"Eve {SAID}"),
    "encoded NUL and CR": (_qw(f"Question\x00\r{SAID}"), _qw(f"Eve\x00\r{SAID}"), f"Re: Question {SAID}",
                           f"Eve {SAID}"),
    "Latin-1 word": (_qw(f"Question\r\n{SAID}", "iso-8859-1"), _qw(f"Eve\r\n{SAID}", "iso-8859-1"),
                     f"Re: Question {SAID}", f"Eve {SAID}"),
    "next to an unknown charset": (_qw(f"Question\r\n{SAID}") + " =?x-unknown?q?x?=",
                                   _qw(f"Eve\r\n{SAID}") + " =?x-unknown?q?x?=", f"Re: Question {SAID} x",
                                   f"Eve {SAID} x"),
    "next to broken base64": (_qw(f"Question\r\n{SAID}") + " =?utf-8?b?abcde?=",
                              _qw(f"Eve\r\n{SAID}") + " =?utf-8?b?abcde?=", f"Re: Question {SAID}", f"Eve {SAID}"),
    # Encoded twice: the decoded text is itself an encoded word, which the reply must show as text.
    "double-encoded subject": (_b(WORD), "Eve", f"Re: {WORD}", "Eve"),
    "double-encoded name": ("Question", _b(_qw(f"Eve\r\n{SAID}")), "Re: Question", _qw(f"Eve\r\n{SAID}")),
}


def injection_mail(subject: str, name: str, tag: str) -> bytes:
    return (f"From: {name} <eve@evil.example>\r\nMessage-ID: <{tag}@evil.example>\r\nSubject: {subject}\r\n"
            .encode() + HEAD + QUESTION)


def normal_mail(n: int) -> bytes:
    return make_mail(sender=f"Normal {n} <normal{n}@example.org>", message_id=f"<normal{n}@example.org>")


def sent_replies(tmp_path: Path) -> dict[str, list[bytes]]:
    """The .eml files FolderSender wrote, by the address in their To header."""
    out: dict[str, list[bytes]] = {}
    for path in sorted((tmp_path / "sent").glob("*.eml")):
        raw = path.read_bytes()
        to = email.message_from_bytes(raw, policy=email.policy.compat32)["To"]
        out.setdefault(email.utils.parseaddr(str(to))[1].lower(), []).append(raw)
    return out


def run_torture(tmp_path: Path, maildirs: Path, raw: bytes, expected: str, rules=RULES) -> tuple[Worker, dict]:
    """The torture mail, then a normal interest mail; both end as expected, a second pass does nothing."""
    deliver(maildirs, raw, "1.torture")
    deliver(maildirs, normal_mail(2), "2.normal")
    del raw
    worker = maildir_worker(rules, maildirs, tmp_path / "test.db")
    first = worker.run_once()
    states = {r["uid"]: r for r in worker.db.query("select uid, state, error from messages")}
    assert states[1]["state"] == expected, states[1]["error"]
    assert states[2]["state"] == "processed"
    assert (first.recorded, first.processed + first.quarantined) == (2, 2)
    outbox = {r["source_message"]: r for r in worker.db.query(
        "select o.source_message, o.state from outbox o where o.kind like 'reply:%'")}
    normal_id = worker.db.execute("select id from messages where uid = 2").fetchone()[0]
    assert outbox[normal_id]["state"] == "sent"
    replies = sent_replies(tmp_path)
    assert len(replies["normal2@example.org"]) == 1
    second = worker.run_once()
    assert (second.recorded, second.processed, second.quarantined, second.sent) == (0, 0, 0, 0)
    assert worker.db.execute("select count(*) from messages where state = 'recorded'").fetchone()[0] == 0
    assert sent_replies(tmp_path) == replies
    return worker, replies


def test_2000_nested_multiparts_are_quarantined(tmp_path, maildirs):
    worker, _ = run_torture(tmp_path, maildirs, nested(2000), "quarantined")
    error = worker.db.execute("select error from messages where uid = 1").fetchone()[0]
    assert "nested" in error


def test_10000_parts_are_quarantined(tmp_path, maildirs):
    worker, _ = run_torture(tmp_path, maildirs, many_parts(10_000), "quarantined")
    error = worker.db.execute("select error from messages where uid = 1").fetchone()[0]
    assert "more than 500 MIME parts" in error


def test_50_mb_attachment_is_quarantined_over_the_default_limit(tmp_path, maildirs, big_mail):
    assert len(big_mail) > RULES.limits.max_message_bytes
    worker, _ = run_torture(tmp_path, maildirs, big_mail, "quarantined")
    error = worker.db.execute("select error from messages where uid = 1").fetchone()[0]
    assert "over the limit" in error
    assert worker.db.execute("select length(raw) from messages where uid = 1").fetchone()[0] == len(big_mail)


def test_50_mb_attachment_just_under_a_raised_limit_is_processed(tmp_path, maildirs, big_mail):
    rules = RULES.model_copy(update={"limits": Limits(max_message_bytes=len(big_mail) + 1)})
    _, replies = run_torture(tmp_path, maildirs, big_mail, "processed", rules)
    assert len(replies["big@example.org"]) == 1


@pytest.mark.parametrize("case", TORTURE)
def test_broken_encodings_are_processed_and_answered(tmp_path, maildirs, case):
    address, raw = TORTURE[case]
    worker, replies = run_torture(tmp_path, maildirs, raw, "processed")
    (reply,) = replies[address]
    msg = _assert_wire_safe(reply)
    registrant = worker.db.execute("select name from registrants where address = ?", [address]).fetchone()
    if case.startswith("8-bit"):
        assert msg["to"].addresses[0].display_name == registrant[0] == "Jürgen Müller"
    if case == "NUL bytes":
        assert registrant[0] == "Nul Person"
        assert worker.db.execute("select subject from messages where uid = 1").fetchone()[0] == "Regis tration"


def assert_no_injection(reply: bytes, subject: str, name: str) -> None:
    msg = _assert_wire_safe(reply)
    assert not any(line.lower().startswith(b"bcc") for line in _header_lines(reply))
    assert str(msg["subject"]) == subject
    (to,) = msg["to"].addresses
    assert to.addr_spec == "eve@evil.example"
    # CPython's address parser puts a space between adjacent encoded words of a long name.
    assert to.display_name == name or to.display_name.replace(" ", "") == name.replace(" ", "")
    # Re-generated by CPython's modern policy (which folds parsed header objects): still no Bcc.
    again = email.message_from_bytes(msg.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)
    assert "bcc" not in [k.lower() for k in again]


@pytest.mark.parametrize("case", INJECTION)
def test_encoded_newlines_never_become_reply_headers(tmp_path, maildirs, case):
    subject, name, reply_subject, reply_name = INJECTION[case]
    _, replies = run_torture(tmp_path, maildirs, injection_mail(subject, name, "inj"), "processed")
    (reply,) = replies["eve@evil.example"]
    assert BCC not in replies
    assert_no_injection(reply, reply_subject, reply_name)


def idn_mail(address: str, encoding: str) -> bytes:
    """Raw 8-bit From with an internationalized address (RFC 6532), as SMTPUTF8 mail arrives."""
    return (f"From: Jürgen <{address}>\r\nMessage-ID: <idn@example.org>\r\nSubject: Registration\r\n"
            .encode(encoding) + HEAD + b"Content-Type: text/plain\r\n\r\n" + PARTICIPATE)


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
def test_non_ascii_local_part_is_registered_not_answered_and_no_crash_loop(tmp_path, maildirs, encoding):
    # compose raised UnicodeEncodeError, which escaped Worker.process: run_once failed at this mail on
    # every pass and the mails after it stayed `recorded`. Answering it would need SMTPUTF8.
    worker, replies = run_torture(tmp_path, maildirs, idn_mail("jürgen@example.org", encoding), "processed")
    assert worker.db.execute("select name from registrants where address = 'jürgen@example.org'").fetchone()[0] \
        == "Jürgen"
    assert set(replies) == {"normal2@example.org"}


def test_international_domain_is_answered_in_ascii(tmp_path, maildirs):
    _, replies = run_torture(tmp_path, maildirs, idn_mail("juergen@müller.example", "utf-8"), "processed")
    (reply,) = replies["juergen@xn--mller-kva.example"]
    assert reply.isascii()


class AsciiCommandSender(FolderSender):
    """Like smtplib without SMTPUTF8: MAIL FROM and RCPT TO must be ASCII (smtplib raises UnicodeEncodeError)."""

    def send(self, raw: bytes, sender: str, recipient: str, then: object = None) -> None:
        f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\n".encode("ascii")
        super().send(raw, sender, recipient)


def test_international_domain_is_sent_over_smtp_without_smtputf8(tmp_path, maildirs):
    deliver(maildirs, idn_mail("juergen@müller.example", "utf-8"), "1.idn")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    worker.senders = {name: AsciiCommandSender(tmp_path / "sent") for name in RULES.mailboxes}
    assert worker.run_once().sent == 1


# -- 4. hostile display names in From -------------------------------------------------

JENA = "max@stadt-jena.de"
# (raw From header, the cleaned display name). getaddresses() split each of these names at the ':',
# '@', ',' or '<' left unencoded inside the encoded word, and the sender was lost: the mail was then
# called auto_reply ("no sender address: sent by a machine") and the person never registered.
HOSTILE_FROM = {
    "encoded CRLF and Bcc": (f"=?UTF-8?Q?Max=0D=0ABcc:_x@evil.example?= <{JENA}>", "Max Bcc: x@evil.example"),
    "base64 CRLF and Bcc": (f"{_b('Max' + chr(13) + chr(10) + 'Bcc: x@evil.example')} <{JENA}>",
                            "Max Bcc: x@evil.example"),
    "an address in the word": (f"=?UTF-8?Q?Max_<x@evil.example>?= <{JENA}>", "Max <x@evil.example>"),
    "a comma in the word": (f"=?UTF-8?Q?M=C3=BCller,_x@evil.example?= <{JENA}>", "Müller, x@evil.example"),
    "a second address after the word": (f"=?UTF-8?Q?Max=0A?= =?UTF-8?Q?_<x@evil.example>,?= <{JENA}>",
                                        "Max <x@evil.example>,"),
    "raw control characters": (f'"Max\x01\x7f Bcc:\tx@evil.example" <{JENA}>', "Max Bcc: x@evil.example"),
}


def jena_mail(from_header: str, message_id: str = "<jena@stadt-jena.de>") -> bytes:
    return (f"From: {from_header}\r\nMessage-ID: {message_id}\r\nSubject: Registration\r\n".encode()
            + HEAD + b"Content-Type: text/plain\r\n\r\n" + PARTICIPATE)


@pytest.mark.parametrize("case", HOSTILE_FROM)
def test_hostile_display_name_keeps_the_sender_and_is_no_robot(case):
    from_header, name = HOSTILE_FROM[case]
    msg = parse_message(jena_mail(from_header))
    assert (msg.sender, msg.sender_name) == (JENA, name)
    from mailflow.classify import classify
    verdict = classify(msg, "international", RULES, detect_language=lambda text, ignore: None)
    assert (verdict.intent, verdict.answer) == ("interest", True), verdict.reasons


def _q_any(text: str) -> str:
    """A Q-encoded word that leaves printable ASCII as it is (specials too), as careless mailers write it."""
    return "=?UTF-8?Q?" + "".join(
        "_" if c == " " else c if c.isascii() and c.isprintable() and c not in "=?_" else
        "".join(f"={b:02X}" for b in c.encode()) for c in text) + "?="


hostile_names = st.lists(st.sampled_from(
    [*"Max Bcc:@<>,;\"()\\[]=?_.\r\n\x00\x01\x7f\tü", "=?", "?=", "x@evil.example", "\r\nBcc: ", "Müller"]),
    min_size=1, max_size=12).map("".join)


@settings(FUZZ, max_examples=300)
@given(name=hostile_names, encode=st.sampled_from([_q_any, _b]))
def test_the_address_is_parsed_before_the_display_name_is_decoded(name, encode):
    # Whatever an encoded display name holds, it never adds, hides or replaces the address beside it.
    msg = parse_message(jena_mail(f"{encode(name)} <{JENA}>"))
    assert (msg.sender, msg.sender_name) == (JENA, clean(name))
    from mailflow.classify import classify
    assert classify(msg, "international", RULES, detect_language=lambda text, ignore: None).intent == "interest"


@pytest.mark.parametrize("display_name, greeting", [
    ("Max Müller", "Max Müller"),
    ("Weber, Thomas", "Thomas Weber"),
    ("Dr. Anna Lehmann", "Dr. Anna Lehmann"),
    ("Prof. Dr. Hans-Peter von der Heide", "Prof. Dr. Hans-Peter von der Heide"),
    ("ნინო ბერიძე", "ნინო ბერიძე"),
    ("Max\r\nMüller", "Max Müller"),                      # cleaned, still a name
    ("Max Bcc: x@evil.example", ""),                     # an address
    ("x@evil.example", ""),
    ("https://shop.example/offer", ""),                  # a link
    ("www.shop.example", ""),
    ("I would like to register for the event.", ""),    # a sentence
    ("Register me now!", ""),
    ("Stadt Leipzig, Referat Digitales, Team 3", ""),    # a list, not a person
    ("0049 30 1234567", ""),                             # digits only
    ("M", ""),
    ("A" * 61, ""),
    ("<script>alert(1)</script>", ""),
])
def test_greeting_uses_the_display_name_only_when_it_looks_like_a_name(display_name, greeting):
    from mailflow.context import greeting_name
    assert greeting_name(display_name) == greeting


def test_hostile_display_name_is_registered_and_answered_with_a_clean_greeting(tmp_path, maildirs):
    from_header, name = HOSTILE_FROM["encoded CRLF and Bcc"]
    worker, replies = run_torture(tmp_path, maildirs, jena_mail(from_header), "processed")
    registrant = worker.db.execute("select name, status from registrants where address = ?", [JENA]).fetchone()
    assert tuple(registrant) == (name, "registered")
    assert "x@evil.example" not in replies
    (reply,) = replies[JENA]
    msg = _assert_wire_safe(reply)
    assert not any(line.lower().startswith(b"bcc") for line in _header_lines(reply))
    (to,) = msg["to"].addresses
    assert to.addr_spec == JENA
    again = email.message_from_bytes(msg.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)
    assert "bcc" not in [k.lower() for k in again]
    # The name is no name (it holds an address): the template's neutral greeting, and no trace of it.
    text = msg.get_body(("plain",)).get_content()
    assert text.splitlines()[0] in ("Guten Tag,", "Dear colleague,"), text
    assert "evil" not in text
