"""Classification: who wrote (audience), what they want (intent), and whether to answer.

Pure functions of the parsed mail and the rules; every decision carries the
reasons that led to it, so coordinators can check it (`mailflow classify`).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Container
from dataclasses import dataclass, field

from . import text as written_text
from .addresses import domain_of, local_part
from .message import ANSWER_PREFIX, IncomingMessage, is_picture
from .nominations import ADDRESS, Nominations, read_nominations
from .rules import INTEREST_WITH_QUESTION, Rules
from .statements import (
    Reading,
    erasure_request,
    find,
    link_for_someone,
    makes_a_request,
    name_correction,
    new_address,
    read_statements,
)
from .states import AUTOMATIC_INTENTS, Intent

# Weights of audience evidence; the receiving mailbox counts least, so that a
# German expert writing to the international address is still recognised.
MAILBOX_WEIGHT = 1
TLD_WEIGHT = 2
LANGUAGE_WEIGHT = 2
SIGNATURE_WEIGHT = 2
DOMAIN_WEIGHT = 3
PHRASE_WEIGHT = 3

LanguageDetector = Callable[[str, tuple[str, ...]], "str | None"]  # (text, phrases to ignore)

@dataclass(frozen=True)
class Evidence:
    """One piece of audience evidence: for `audience`, of a `kind` (LANGUAGE, TLD, DOMAIN, PHRASE, PHONE,
    SIGNATURE) with what was found (a language code, a domain, a phrase, a phone prefix, a word)."""

    audience: str
    kind: str
    found: str


LANGUAGE, TLD, DOMAIN, PHRASE, PHONE, SIGNATURE = "language", "tld", "domain", "phrase", "phone", "signature"


@dataclass(frozen=True)
class Classification:
    audience: str
    intent: Intent
    answer: bool
    confidence: str = "high"
    reasons: tuple[str, ...] = field(default_factory=tuple)
    bounced: tuple[str, ...] = ()   # recipients a bounce reports as failed
    asks: bool = False              # the mail also asks something a coordinator must answer
    nominations: Nominations | None = None   # whom it registers on behalf of others (nominations.py)
    written: written_text.Written | None = field(default=None, compare=False)   # the text as read (signature)
    evidence: tuple[Evidence, ...] = ()      # the audience evidence, for words to a person (notices.py)

    def as_dict(self) -> dict:
        return {
            "audience": self.audience,
            "intent": self.intent,
            "answer": self.answer,   # would mailflow answer it (not the auto_reply intent)
            "confidence": self.confidence,
            "asks": self.asks,
            "reasons": list(self.reasons),
            **({"on_behalf": self.nominations.as_dict()} if self.nominations else {}),
        }


def classify(
    message: IncomingMessage,
    mailbox: str,
    rules: Rules,
    our_message_ids: Container[str] = (),
    detect_language: LanguageDetector | None = None,
    *,
    invitation_ids: Container[str] = (),
    calendar_uids: Container[str] = (),
    withdrawal_ids: Container[str] = (),
    is_registered: Callable[[str], bool] = lambda address: False,
) -> Classification:
    """Audience, intent and whether to answer, each with its reasons.

    `our_message_ids` holds the Message-IDs among this mail's In-Reply-To and
    References that mailflow sent; `detect_language` defaults to language.detect.
    `invitation_ids` those of them that are invitations (`mailflow invite`): in their
    thread a "yes, I take part" is a registration, and a "no" withdraws nothing.
    `calendar_uids`: the mail's calendar answer's UID when it is one of the invitations mailflow sent.
    `withdrawal_ids`: those of them that confirm a cancellation (they invite to register again by replying: such a
    registration is a question for a coordinator, `mailflow set-status ADDRESS registered`).
    `is_registered`: whether an address is registered for an event (asked only of a fresh mail that
    declines and is otherwise nothing to do: from a registrant it is a coordinator's to settle).
    """
    if detect_language is None:
        from .language import detect
        detect_language = detect
    reasons: list[str] = []
    bounced: list[str] = []
    written = written_text.read(message.text)
    evidence: list[Evidence] = []
    audience, confidence, language = _audience(message, written, mailbox, rules, reasons, detect_language,
                                               evidence)
    in_our_thread = any(i in our_message_ids for i in (*message.in_reply_to, *message.references))
    invited = any(i in invitation_ids for i in (*message.in_reply_to, *message.references))
    withdrawn = any(i in withdrawal_ids for i in (*message.in_reply_to, *message.references))
    calendar = message.calendar_reply
    # A calendar's No counts only for the access mail's invitation, from the person it was sent to: the
    # coordinators' own meetings are answered into the same inbox.
    declines_ours = bool(calendar and calendar.partstat == "declined" and calendar.uid in calendar_uids
                         and calendar.attendee == message.sender)
    intent, asks, for_a_coordinator, news = _intent(message, written, rules, in_our_thread, reasons, bounced,
                                                    invited, declines_ours, language, withdrawn)
    if for_a_coordinator:
        return _for_a_coordinator(audience, confidence, reasons, written, evidence)
    if intent == Intent.OTHER and not in_our_thread and (yes := _bare_yes(written.own)) \
            and (message.in_reply_to or ANSWER_PREFIX.match(message.subject)) \
            and not _FORWARD_PREFIX.match(message.subject) and _quotes_the_event(message, written, rules):
        # "Bin dabei!", "Yes please!", "Да, буду." in reply to the announcement a coordinator sent from their own
        # client: the writer thinks they registered, and never got the link. Yes to what, a coordinator knows (a
        # review: "Shall I cancel your registration?", "Will your mayor take part?", "Can you check the participant
        # list?" are answered so too).
        reasons.append(f"intent: question (says only {yes!r}, in reply to a mail about taking part in the event that "
                       "mailflow did not send: a coordinator decides whether it registers; nothing is done, nothing "
                       "answered)")
        return _for_a_coordinator(audience, confidence, reasons, written, evidence)
    if calendar and calendar.uid not in calendar_uids and intent in (Intent.INTEREST, Intent.CANCELLATION) \
            and not _names_an_event(message.subject, rules):
        # An answer to a meeting mailflow did not send and that is not the event (a coordinator's own "preparatory
        # call"): its note ("I will be there", "sorry, I must cancel") may be about that meeting only.
        reasons.append(f"intent: question (a calendar's answer ({calendar.partstat}) to a meeting mailflow did not "
                       f"send, whose note reads as {intent}: a coordinator decides; nothing is done, nothing "
                       "answered)")
        return _for_a_coordinator(audience, confidence, reasons, written, evidence)
    if message.relayed_by and intent not in AUTOMATIC_INTENTS:
        # Its Reply-To is unproven (anyone can run a list that rewrites From): nothing is done for that
        # address, and a coordinator reads what it says.
        reasons.append(f"intent: question (a post to the mailing list {message.relayed_by} that reads as "
                       f"{intent}: a coordinator decides, nothing is done for its Reply-To; answer: no)")
        return _for_a_coordinator(audience, confidence, reasons, written, evidence)
    behalf = None if intent in AUTOMATIC_INTENTS else read_nominations(message, written, rules, intent, audience)
    if behalf is not None:
        reasons.extend(behalf.reasons)
        if (behalf.nominees or behalf.unsure) and intent == Intent.OTHER:
            # (an unsure one too: it waits for a coordinator, flagged, as a registration that registers nobody yet)
            reasons.append("intent: interest (registers others on their behalf)")
            intent = Intent.INTEREST
    if intent in (Intent.INTEREST, Intent.OTHER) and not (behalf and behalf.unsure) and not asks \
            and (loose := _addresses_left(message, written, rules, behalf)):
        # "Our deputy mayor would also like to attend. His e-mail: z.trajkov@...", "my correct address is ...": an
        # address in the writer's own words that mailflow registers nobody at went unseen
        why = f"names {', '.join(loose)}, whom mailflow registers nobody at: for a coordinator"
        if intent == Intent.INTEREST:
            reasons.append(f"intent: interest, also asks (it {why})")
            asks = True
        elif find(tuple(rules.classification.intents.interest), written.own.casefold()) \
                or _ADDRESS_CHANGE.search(written.own.casefold()):   # (the one look, twice: rare mail only)
            # (about taking part or a changed address: an out-of-office reply's "in urgent cases contact
            # a.ljajic@..." is neither)
            reasons.append(f"intent: question (speaks of taking part or a new address and {why}; nothing is done, "
                           "nothing answered)")
            return _for_a_coordinator(audience, confidence, reasons, written, evidence)
    copied = set(message.recipients) - set(message.addressed_to)
    if intent not in AUTOMATIC_INTENTS and _FORWARD_PREFIX.match(message.subject) and message.addressed_to \
            and rules.own_addresses & copied and not rules.own_addresses & set(message.addressed_to):
        # "FW: Your registration" to a colleague, a coordinator in Cc: "please take part instead of me" speaks to
        # the colleague (it registered the writer)
        reasons.append(f"intent: question (a forward to {message.addressed_to[0]} with a coordinator in copy, whose "
                       f"text reads as {intent}: it speaks to them; a coordinator reads it, nothing is done, nothing "
                       "answered)")
        return _for_a_coordinator(audience, confidence, reasons, written, evidence)
    if intent == Intent.OTHER and (_FORWARD_PREFIX.match(message.subject) or "message/rfc822" in message.part_types):
        # A colleague's registration passed on ("Fw: Participation", or attached): what it forwards is someone
        # else's mail, so mailflow acts on none of it, and a coordinator reads it.
        reasons.append("intent: question (a forwarded mail whose own text says nothing mailflow acts on: a "
                       "coordinator reads what it forwards; nothing is done, nothing answered)")
        return _for_a_coordinator(audience, confidence, reasons, written, evidence)
    if intent == Intent.OTHER and not in_our_thread and not message.calendar_reply and message.sender \
            and (refusal := news or _regretted_clash(written.own)) \
            and not _EARLIER_EVENT.search(written.own.casefold()) and is_registered(message.sender):
        # "Hi, I won't make it on 7 October, sorry", "Unfortunately we have a council session that day" as a mail of
        # its own, not a reply (in reply to our mail a refusal withdraws): from a registrant a coordinator decides,
        # who kept sending them the link and the reminders.
        reasons.append(f"intent: question (declines: {refusal!r}, from a registered sender: a coordinator decides "
                       "whether to cancel; nothing is done, nothing answered)")
        return _for_a_coordinator(audience, confidence, reasons, written, evidence)
    if intent == Intent.INTEREST and news and not in_our_thread and message.sender and not asks \
            and not (behalf and (behalf.nominees or behalf.unsure)) and is_registered(message.sender):
        # "I will participate, but only partly: I have to leave after the first hour" from a registrant: registered
        # again, and the news went unseen
        reasons.append(f"intent: question (takes part only in part: {news!r}, from a registered sender: for a "
                       "coordinator; nothing is done, nothing answered)")
        return _for_a_coordinator(audience, confidence, reasons, written, evidence)
    if intent == Intent.INTEREST and message.attachments and not (behalf and (behalf.nominees or behalf.unsure)) \
            and (listed := _sends_a_list(written.own)):
        # "attached is the list of participants from our municipality" registered its writer alone, and told them
        # so: whom the list names is for a coordinator to register (mailflow reads no attachment).
        reasons.append(f"intent: question (a registration that points to a list, {listed!r}, and attaches "
                       f"{', '.join(message.attachments)}: a coordinator registers whom it names; nothing is done, "
                       "nothing answered)")
        return _for_a_coordinator(audience, confidence, reasons, written, evidence)
    if intent == Intent.OTHER and (files := _files_to_read(message, written, in_our_thread)) \
            and not message.calendar_reply and message.sender != rules.mailboxes[mailbox].address.lower():
        # "Please find attached our official letter", "see attached", a phone's scan of a signed form: mailflow reads
        # no attachment, and the mail's own text says nothing it acts on (a mayor's letter of nomination went unseen).
        reasons.append(f"intent: question (its text says nothing mailflow acts on, and it attaches "
                       f"{', '.join(files)}: a coordinator reads it; nothing is done, nothing answered)")
        return _for_a_coordinator(audience, confidence, reasons, written, evidence)
    answer = _should_answer(message, intent, asks, audience, rules, in_our_thread, reasons)
    # The sender's own withdrawal stands and is confirmed; whom else the mail names waits for a coordinator,
    # and so does a withdrawal of someone else's ("please cancel his registration").
    if answer and behalf is not None and behalf.unsure and (intent != Intent.CANCELLATION
                                                            or not behalf.sender_withdraws):
        reasons.append("answer: no (a cancellation of someone else's registration, for a coordinator)"
                       if intent == Intent.CANCELLATION else
                       "answer: no (a registration on behalf of others that a coordinator must settle)")
        answer = False
    return Classification(audience, intent, answer, confidence, tuple(reasons), tuple(bounced), asks, behalf,
                          written,
                          tuple(e for e in evidence if e.audience == audience))


def _audience(
    message: IncomingMessage,
    written: written_text.Written,
    mailbox: str,
    rules: Rules,
    reasons: list[str],
    detect_language: LanguageDetector,
    found_evidence: list[Evidence],
) -> tuple[str, str, str | None]:
    home = rules.audience_of(mailbox)
    scores: dict[str, int] = {home: MAILBOX_WEIGHT}
    reasons.append(f"audience: received at mailbox {mailbox!r} -> {home} (+{MAILBOX_WEIGHT})")

    def add(name: str, weight: int, why: str, kind: str, found: str) -> None:
        scores[name] = scores.get(name, 0) + weight
        reasons.append(f"audience: {why} -> {name} (+{weight})")
        found_evidence.append(Evidence(name, kind, found))

    domain = domain_of(message.sender) if message.sender else ""
    body, signature = written.own, written.evidence_signature
    lowered = f"{message.subject}\n{body}".casefold()
    evidence_by_audience = rules.classification.audiences
    language = None
    if any(e.languages for e in evidence_by_audience.values()):
        language = detect_language(body, tuple(e.title for e in rules.events))
    if language:
        reasons.append(f"language: {language}")
    for name, evidence in evidence_by_audience.items():
        if domain and any(domain == d or domain.endswith("." + d) for d in _domains(evidence.domains)):
            add(name, DOMAIN_WEIGHT, f"sender domain {domain} is listed", DOMAIN, domain)
        elif domain and any(domain.endswith("." + t.lower().lstrip(".")) for t in evidence.tlds):
            tld = next(t.lower().lstrip(".") for t in evidence.tlds if domain.endswith("." + t.lower().lstrip(".")))
            add(name, TLD_WEIGHT, f"sender domain {domain} is a country domain of this audience", TLD, tld)
        # One search for all phrases first: most mails contain none, and then no phrase matches alone.
        if evidence.phrases and find(tuple(evidence.phrases), lowered):
            for phrase in evidence.phrases:
                if find((phrase,), lowered):
                    add(name, PHRASE_WEIGHT, f"text says {phrase!r}", PHRASE, phrase)
        if language and language in evidence.languages:
            add(name, LANGUAGE_WEIGHT, f"the mail is written in {language}", LANGUAGE, language)
        prefix = _phone_prefix(tuple(evidence.phone_prefixes), signature)
        if prefix:
            add(name, SIGNATURE_WEIGHT, f"phone number {prefix} in the signature", PHONE, prefix)
        word = _matches(evidence.signature_words, signature)
        if word:
            add(name, SIGNATURE_WEIGHT, f"signature names {word!r}", SIGNATURE, word)
    best = max(scores.values())
    winners = [name for name, score in scores.items() if score == best]
    chosen = home if home in winners else sorted(winners)[0]
    own_evidence = best - (MAILBOX_WEIGHT if chosen == home else 0)
    others = sum(score for name, score in scores.items() if name != chosen)
    confidence = "high" if own_evidence >= TLD_WEIGHT and best > others else "low"
    reasons.append(f"audience: {chosen} ({confidence} confidence)")
    return chosen, confidence, language


# A changed address in words: a word of change within a few words of a word for the address ("my new address",
# "meine E-Mail-Adresse hat sich geändert", "мой новый адрес"; not "Grad Novi Pazar")
_CHANGED = (r"(?:new|correct|changed|instead|private|personal|neue\w*|geändert|richtige\w*|private\w*|нов\w*"
            r"|измен\w*|змін\w*|novu|nova|novi|novom|novoj|promijen\w*|promen\w*|nouă|noua|schimbat\w*|yeni|değiş\w*"
            r"|νέα|άλλαξε|ახალი|შეიცვალა|նոր|փոխվ\w*|ndryshu\w*|dəyiş\w*)")
_ADDRESS_NOUN = (r"(?:address\w*|adresse\w*|e-?mail\w*|mail|adres\w*|адрес\w*|пошт\w*|pošt\w*|mejl\w*|мејл\w*"
                 r"|διεύθυνση|მისამართ\w*|ელფოსტ\w*|հասցե\w*|ünvan\w*)")
_ADDRESS_CHANGE = re.compile(rf"(?<!\w)(?:{_CHANGED}(?:\W+\w+){{0,3}}?\W+{_ADDRESS_NOUN}"
                             rf"|{_ADDRESS_NOUN}(?:\W+\w+){{0,4}}?\W+{_CHANGED})(?!\w)")


def _addresses_left(message: IncomingMessage, written: written_text.Written, rules: Rules,
                    behalf: Nominations | None) -> list[str]:
    """The addresses the writer's own text names that are nobody mailflow knows what to do with: not the
    sender's (nor one in their name: "n.beridze@..." from Nino Beridze, a signature the text reader did not
    find; unless the text speaks of a changed address), a recipient's ("I have copied my colleague"),
    ours or our domain's, the signature's, a nominee's, nor a picture's ("cid:image001.png@01DA1B2C.3D4E5F60")."""
    if "@" not in written.own:   # (most mail: nothing to look at)
        return []
    known = {a.lower() for a in (*rules.own_addresses, *message.recipients)} | {(message.sender or "").lower()}
    known |= {a.address.lower() for a in (behalf.nominees if behalf else ())}
    known |= {m.group(0).lower().rstrip(".") for m in ADDRESS.finditer(f"{written.signature}\n{written.footer}")}
    ours = {domain_of(a) for a in rules.own_addresses}
    moved = _ADDRESS_CHANGE.search(written.own.casefold())   # (looked for only where an address is)
    names = [] if moved else [w for w in re.split(r"\W+", (message.sender_name or "").casefold()) if len(w) >= 3]

    def nobodys(address: str) -> bool:
        local, _, domain = address.lower().rpartition("@")
        return address.lower() not in known and domain not in ours and domain.rpartition(".")[2].isalpha() \
            and not any(name in local for name in names)

    # (not one in a signature the text reader did not find: written inline after a closing, or on a line with the
    # sender's own address or a phone number)
    own = written.own
    if (closing := _INLINE_CLOSING.search(own)):
        own = own[:closing.start()]
    own = "\n".join(line for line in own.split("\n")
                    if not _PHONE.search(line) and (message.sender or "@").lower() not in line.lower())
    return list(dict.fromkeys(a for m in ADDRESS.finditer(own) if nobodys(a := m.group(0).rstrip(".")))
                )[:3]


_INLINE_CLOSING = re.compile(rf"(?:^|[.!]\s+|\n)(?:{written_text.CLOSINGS})\b[\s,]|(?<!\w)(?:lp|br|thanks),",
                             re.IGNORECASE)
_PHONE = re.compile(r"\+?\d[\d ()/.-]{6,}\d")


def _for_a_coordinator(audience: str, confidence: str, reasons: list[str], written: written_text.Written,
                       evidence: list[Evidence]) -> Classification:
    """A question flagged for a coordinator that mailflow neither answers nor acts on."""
    return Classification(audience, Intent.QUESTION, False, confidence, tuple(reasons), (), True, None, written,
                          tuple(e for e in evidence if e.audience == audience))


def _names_an_event(subject: str, rules: Rules) -> bool:
    """Whether the subject carries an event's title ("Abgelehnt: <title>": a coordinator's own invitation to it)."""
    folded = " ".join(subject.split()).casefold()
    return any(" ".join(event.title.split()).casefold() in folded for event in rules.events)


def _domains(listed: list[str]) -> list[str]:
    return [d.lower().lstrip("@.") for d in listed]


def _phone_prefix(prefixes: tuple[str, ...], signature: str) -> str | None:
    """The first listed prefix (+49 or 0049) found at the start of a number, not inside another number."""
    if not prefixes or not _phone_pattern(prefixes).search(signature):   # one search for the usual "none"
        return None
    return next((p for p in prefixes if _phone_pattern((p,)).search(signature)), None)


@functools.lru_cache(maxsize=512)
def _phone_pattern(prefixes: tuple[str, ...]) -> re.Pattern:
    numbers = "|".join(re.escape(p.lstrip("+0")) for p in prefixes)
    return re.compile(rf"(?<![\w+])(?:\+|00)(?:{numbers})[\s(/.-]*\d")


def _matches(patterns: list[str], text: str) -> str | None:
    """A pattern of rules.yaml found in the text as whole words (a word ending in "..." is a stem), or None.

    In a pattern, ' * ' stands for a few words in between: 'nehme * teil'
    finds "nehme sehr gern an der Veranstaltung teil".
    """
    return find(tuple(patterns), text.casefold()) if patterns else None


def _bounce_evidence(message: IncomingMessage, rules: Rules,
                     failures: Callable[[], tuple[list[str], list[str]]]) -> str:
    """Why this looks like a delivery failure report, or '' when it does not. `failures`: the
    report's failed recipients (_failed_recipients, run once a mail: the detectors are slow)."""
    sender = message.sender or ""
    if message.report_type == "delivery-status" or "message/delivery-status" in message.part_types:
        return "delivery status report"
    if local_part(sender) in ("mailer-daemon", "postmaster"):
        return f"sent by {sender}"
    if message.header("x-failed-recipients"):
        return "X-Failed-Recipients header"
    robotic = not sender or message.header("return-path") == "" or bool(_robot(sender, rules))
    # "Fwd: Undelivered Mail ...": a person passing a bounce on (mail servers send no forwards)
    subject = None if _FORWARD_PREFIX.match(message.subject) else _matches(
        rules.classification.intents.bounce_subjects, message.subject)
    # A subject alone is no proof (phishing says "nicht zustellbar" too): a machine sender or a
    # bounce detector must agree.
    if subject and robotic:
        return f"subject contains {subject!r}, sent by a machine"
    if (subject or robotic) and any(failures()):
        return "a bounce detector found failed recipients"
    return ""


def _robot(sender: str, rules: Rules) -> str | None:
    """The robot word the address's local part is made of ('no-reply', 'bounces+x'), not hidden in a name;
    an underscore stands for a hyphen ('no_reply', 'do_not_reply')."""
    local = local_part(sender).replace("_", "-")
    found = _robot_pattern(tuple(rules.classification.robot_senders)).search(local)
    return found.group(1) if found else None


@functools.lru_cache(maxsize=16)
def _robot_pattern(words: tuple[str, ...]) -> re.Pattern:
    """One regex for the whole list; the group is the word as rules.yaml spells it (first listed wins)."""
    alternatives = "|".join(re.escape(word.lower().replace("_", "-")) for word in words) or "(?!)"
    return re.compile(rf"(?:^|[.\-_+=])({alternatives})(?:$|[.\-_+=0-9]|s\b)")


# flufl.bounce's detectors log a whole traceback at ERROR for each mail they cannot read (any mail
# without From:); on hostile input that is the ordinary case, and the result is simply "no recipients".
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)


def _failed_recipients(message: IncomingMessage) -> tuple[list[str], list[str]]:
    """Recipients a report says failed for good, and those it says are only delayed (the server still
    tries: "Action: delayed", "Warning: message delayed 24 hours"), found by flufl.bounce (Mailman's
    detectors)."""
    if message.parsed is None:
        return [], []
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(message.parsed)
    except Exception:  # heuristic detectors on hostile input: no recipients, not a crash
        return [], []
    addresses = [sorted({a.decode("utf-8", "replace").lower() for a in found}) for found in (permanent, temporary)]
    return addresses[0], addresses[1]


def _intent(
    message: IncomingMessage,
    written: written_text.Written,
    rules: Rules,
    in_our_thread: bool,
    reasons: list[str],
    bounced: list[str],
    invited: bool = False,
    declines_our_invitation: bool = False,
    language: str | None = None,
    withdrawn: bool = False,
) -> tuple[Intent, bool, bool, str]:
    """The intent, whether the mail also asks something, whether it is for a coordinator alone (neither
    answered nor acted on), and the news for a registrant's coordinator: the refusal when it is `other`, taking
    part only in part when it is `interest` ('' else); automatic mail by its headers first."""
    automatic = _automatic(message, written, rules, reasons, bounced)
    if automatic:
        return automatic, False, False, ""
    patterns = rules.classification.intents
    # The subject of a reply is the one we (or someone) wrote: it says nothing of this sender's intent.
    subject = "" if _is_reply(message) else message.subject.replace("İ", "I")   # (as the text: body_text)
    said = read_statements(
        written.own, subject, tuple(patterns.interest), tuple(patterns.question), tuple(patterns.cancellation),
        tuple(patterns.negation), in_our_thread and not invited, ne_negates=language not in _NE_IS_NO_NEGATION,
    )
    intent, asks = _said(said, message, written, rules, in_our_thread, reasons, invited, declines_our_invitation,
                         withdrawn)
    # (a refusal of a part of it, nothing that withdraws or registers: for a coordinator, see _said)
    # (a refusal of a part of it, or a request in reply to our mail, and nothing else asked: for a coordinator,
    # neither answered nor acted on; see _said)
    news = said.declines if intent == Intent.OTHER else said.in_part if intent == Intent.INTEREST else ""
    return intent, asks, intent == Intent.QUESTION and not asks, news


_ANOTHER_EVENT_AHEAD = re.compile(r"(?<!\w)(?:next|future|upcoming|another|nächst\w*|künftig\w*|zukünftig\w*|"
                                  r"следующ\w*|будущ\w*|sljedeć\w*|sledeć\w*|următo\w*|viitoare)(?!\w)")


def _only_partly(said: Reading) -> bool:
    return bool(said.partly) and not said.withdraws and not said.registers


def _said(said: Reading, message: IncomingMessage, written: written_text.Written, rules: Rules, in_our_thread: bool,
          reasons: list[str], invited: bool, declines_our_invitation: bool, withdrawn: bool = False,
          ) -> tuple[Intent, bool]:
    """The intent and whether it asks, by what the writer's own words state (statements.py)."""
    # (in reply to our mail the thread is the event: "Can he use the same link?" was "nothing about the event")
    asks = bool(said.asks) and (in_our_thread or _about_the_event(message, written, rules, said.asks))
    asked = said.asks
    erasure = moved = renamed = requested = ""
    if makes_a_request(written.own):   # (one look for the words of all four: most mails have none)
        erasure = erasure_request(written.own)
        moved = "" if erasure else new_address(written.own)
        renamed = "" if erasure or moved else name_correction(written.own)
        requested = "" if erasure or moved or renamed else link_for_someone(written.own)
    if erasure:   # only a coordinator can erase (`mailflow forget ADDRESS`): a question for them
        asks, asked = True, f"{erasure} (to erase their data: `mailflow forget ADDRESS`)"
    elif moved:   # only a coordinator can move a registration to a new address
        asks, asked = True, f"{moved} (a new address for their registration)"
    elif renamed:   # their greetings and lists carry it: `mailflow set-name`
        asks, asked = True, f"{renamed} (a correction of their name: `mailflow set-name ADDRESS \"NAME\"`)"
    elif requested:   # only a coordinator knows whether they take part
        asks, asked = True, f"{requested} (the link for someone else)"
    elif said.trouble and not asks:   # the link or the form fails (always ours): a coordinator must help
        asks, asked = True, f"a problem: {said.trouble}"
    also = f"; also asks: {asked!r}" if asks else ""
    if said.withdraws:
        reasons.append(f"intent: cancellation (withdraws: {said.withdraws!r}{also})")
        return Intent.CANCELLATION, asks
    if _only_partly(said) and not asks:   # "I cannot attend the first part", "my colleague cannot attend"
        reasons.append(f"intent: question (a refusal of part of it, or of something else: {said.partly!r}; "
                       "for a coordinator: nothing is done, nothing answered)")
        return Intent.QUESTION, False   # (it asks nothing: _intent makes it a coordinator's)
    if declines_our_invitation and not said.registers:
        reasons.append(f"intent: cancellation (their calendar answers our invitation with No: PARTSTAT=DECLINED{also})")
        return Intent.CANCELLATION, asks
    registers = said.registers or said.hedged
    if registers and in_our_thread and not invited:
        if withdrawn and not said.declines and not _ANOTHER_EVENT_AHEAD.search(written.own.casefold()):
            # "please register me again" to our cancellation's confirmation ("I hope to attend the next one" is not)
            reasons.append(f"intent: question (says {registers!r} in reply to the confirmation of their cancellation: "
                           "a coordinator registers them again, `mailflow set-status ADDRESS registered`)")
            return Intent.QUESTION, True
        if asks:
            reasons.append(f"intent: question in a thread we started (asks: {asked!r})")
            return Intent.QUESTION, True
        if said.in_part:   # "I will join, although I need to leave early, around 14:30"
            reasons.append(f"intent: question in a thread we started (takes part only in part: {said.in_part!r}; "
                           "for a coordinator: nothing is done, nothing answered)")
            return Intent.QUESTION, False
        reasons.append(f"intent: other (says {registers!r}, but in reply to a mail we sent: not a new registration)")
        return Intent.OTHER, False
    if said.registers:
        invitation = ", answering our invitation" if invited else ""
        reasons.append(f"intent: interest (registers: {said.registers!r}{also}{invitation})")
        return Intent.INTEREST, asks
    if asks:
        where = " in a thread we started" if in_our_thread else ""
        reasons.append(f"intent: question{where} (asks: {asked!r})")
        return Intent.QUESTION, True
    if said.hedged and _about_the_event(message, written, rules, ""):
        reasons.append(f"intent: question (tentative, for a coordinator to answer: {said.hedged!r})")
        return Intent.QUESTION, True
    if said.declines:
        reasons.append(f"intent: other (declines, withdraws nothing: {said.declines!r})")
        return Intent.OTHER, False
    if said.asks:
        reasons.append(f"intent: other (asks {said.asks!r}, but nothing about the event)")
        return Intent.OTHER, False
    if message.calendar_reply:
        reasons.append(f"intent: other (a calendar's answer to an invitation: {message.calendar_reply.partstat})")
        return Intent.OTHER, False
    if said.in_part and not said.declines:   # "I will have to leave at 14:30, I hope that is fine."
        where = " in a thread we started" if in_our_thread else ""
        reasons.append(f"intent: question{where} (takes part only in part: {said.in_part!r}; for a coordinator: "
                       "nothing is done, nothing answered)")
        return Intent.QUESTION, False
    if in_our_thread and said.requests:   # "please resend the agenda": it went unread and unflagged
        reasons.append(f"intent: question in a thread we started (a request: {said.requests!r}; for a coordinator: "
                       "nothing is done, nothing answered)")
        return Intent.QUESTION, False   # (it asks nothing: _intent makes it a coordinator's)
    # (a no to an invitation, or regret after our confirmation of a cancellation: nothing to do)
    if in_our_thread and not invited and not withdrawn and (news := _bad_news(written.own)):
        # "Ich bin am Mittwoch im Urlaub. Tut mir leid!", "I have a doctor's appointment which unfortunately I
        # can't move", a bare "Unsubscribe": news mailflow cannot read went unseen; a coordinator decides
        reasons.append(f"intent: question in a thread we started (bad news or a wish to hear no more: {news!r}; "
                       "for a coordinator: nothing is done, nothing answered)")
        return Intent.QUESTION, False
    if in_our_thread:
        reasons.append("intent: other (a reply to a mail we sent, not a new registration)")
        return Intent.OTHER, False
    reasons.append("intent: other (no pattern matched)")
    return Intent.OTHER, False


# Regret that brings bad news ("unfortunately", "leider", "к сожалению"; not "sorry for the late reply"), or the
# reply's line a wish to hear no more ("Unsubscribe", "Abmelden", "Отписаться"); not in a reply that thanks
# (a probe of 243 replies: "Thank you! Unfortunately I only saw your mail now", banners in a signature, all
# thanked; the refusals did not), says all is well ("see you", "всё в порядке"), or is away until a date or
# speaks of e-mail (an out-of-office reply).
_REGRET = re.compile(
    r"(?<!\w)(?:unfortunately|regrettably|i'm afraid|i am afraid|leider|bedauerlicherweise"
    r"|tut mir leid(?!,? (?:dass|für) (?:ich )?(?:so |die )?(?:spät|verspätet))"
    r"|к сожалению|на жаль|nažalost|na žalost|нажалост|на жалост|fatkeqësisht|din păcate|maalesef|təəssüf ki"
    r"|δυστυχώς|за жал|за съжаление|სამწუხაროდ|ցավոք)(?!\w)", re.IGNORECASE)
_ALL_WELL = re.compile(
    r"(?<!\w)(?:thank|danke|dank|спасибо|благодар|дякую|hvala|хвала|faleminderit|mulțumesc|mulţumesc|multumesc"
    r"|teşekkür|tesekkur|təşəkkür|ευχαριστ|շնորհակալ|фала)|მადლობ"
    # (regret about reading mail is an out-of-office reply's, whatever its wording of "away until")
    r"|(?<!\w)(?:e-?mail|e-?post|e-?pošt|письм|poruk|your message|ihre nachricht|μήνυμα)|ელფოსტ"
    r"|(?<!\w)(?:see you|bis (?:dann|bald|morgen|mittwoch)|до встречи|all (?:is )?(?:clear|fine|good|set)"
    r"|alles (?:klar|gut|in ordnung)|passt alles|jetzt passt|(?:всё|все) в порядке|no problem|kein problem"
    r"|nema problema|ništa strašno)(?!\w)", re.IGNORECASE)
# Away until a date: an out-of-office reply's, whatever its regret ("unfortunately I cannot answer the same day").
_AWAY = re.compile(
    r"(?:on leave|out of (?:the )?office|on holiday|on vacation|im urlaub|nicht erreichbar|abwesend|в отпуске"
    r"|вне офиса).{0,60}(?:until|till|bis|до|back on|zurück)(?!\w)"
    r"|(?<!\w)(?:until|bis|до)(?!\w).{0,40}(?:nicht erreichbar|abwesend|im urlaub|out of (?:the )?office|on leave"
    r"|в отпуске)", re.IGNORECASE)
# A clash with the event's day ("we have a council session that day", "another appointment"): with regret, a
# refusal whatever else the mail says ("Thank you for the invitation. Unfortunately ... that day").
_CLASH = re.compile(
    r"(?<!\w)(?:(?:that|this) day|on that date|prior commitment|other commitments?|another (?:appointment"
    r"|meeting|commitment|event)|(?:schedule|scheduling) conflict|double-booked|an (?:diesem|dem|jenem) tag"
    r"|ander(?:en|er) termin|termin(?:konflikt|überschneidung)|в (?:этот|тот) (?:же )?день|на (?:този|тој) ден"
    r"|в този ден|во тој ден|тог дана|istog dana"
    r"|другая встреча|другое мероприятие|tog dana|toga dana|isti dan|drugi sastanak|drugu obavezu"
    r"|истиот ден|atë ditë|në të njëjtën ditë|în (?:acea|aceeași) zi|o gün|aynı gün|həmin gün|eyni gün"
    r"|იმ დღეს|ამ დღეს|այդ օրը|նույն օրը)(?!\w)", re.IGNORECASE)
_NO_MORE = re.compile(r"\W*(?:unsubscribe|remove me|please remove me|stop|abmelden|austragen|bitte austragen"
                      r"|отписаться|отпишите меня|отписка|odjava|çabonim|dezabonare|abonelikten çık)\W*",
                      re.IGNORECASE)


def _bad_news(own: str) -> str:
    """In reply to our mail, what says the writer has bad news or wants no more mail, though mailflow reads no
    refusal in it ('' when nothing does)."""
    if wish := next((line.strip() for line in own.splitlines() if _NO_MORE.fullmatch(line)), ""):
        return wish[:60]   # (a line of its own, as under a greeting)
    found = _REGRET.search(own)
    if not found or _AWAY.search(own):
        return ""
    return found.group(0) if not _ALL_WELL.search(own) or _CLASH.search(own) else ""


# An earlier event ("I was not able to attend your last webinar"): a refusal of that is no news about this one.
_EARLIER_EVENT = re.compile(
    r"(?<!\w)(?:last|previous|earlier|past|yesterday's|letzte\w*|vorige\w*|vergangene\w*|gestrig\w*|прошл\w*"
    r"|предыдущ\w*|вчерашн\w*|минул\w*|попередн\w*|вчорашн\w*|prošl\w*|prethodn\w*|jučerašnj\w*|претходн\w*"
    r"|минал\w*|минат\w*|trecut\w*|anterio\w*|kaluar\w*|mëparshm\w*|ötən|keçən|əvvəlki|dünənki|geçen|önceki"
    r"|dünkü|წინა|გუშინდელ\w*|გასულ\w*|նախորդ\w*|անցյալ\w*|երեկվա)(?:\s+\w+){0,2}?\s+"
    # ... followed by a meeting of some kind ("your last webinar", "der letzten Sitzung", "прошлом семинаре")
    r"(?:webinar\w*|meeting\w*|events?|calls?|session\w*|conference\w*|workshop\w*|seminar\w*|veranstaltung\w*"
    r"|sitzung\w*|treffen\w*|konferenz\w*|tagung\w*|вебинар\w*|встреч\w*|мероприят\w*|конференц\w*"
    r"|семинар\w*|засідан\w*|зах[іо]д\w*|sastan\w*|događaj\w*|dogadjaj\w*|skup\w*|konferencij\w*|vebinar\w*"
    r"|eveniment\w*|ședinț\w*|takim\w*|ngjarj\w*|tədbir\w*|görüş\w*|toplantı\w*|etkinli\w*|միջոցառ\w*"
    r"|հանդիպ\w*|ღონისძიებ\w*|შეხვედრ\w*)(?!\w)")


def _regretted_clash(own: str) -> str:
    """A clash on the event's day told with regret ("Unfortunately we have a council session that day"), or ''."""
    clash = _CLASH.search(own) if _REGRET.search(own) else None
    return clash.group(0) if clash else ""
# A list of people to register, as a registration with a file attached names it ...
_LIST_OF_PEOPLE = re.compile(
    r"(?<!\w)(?:list of (?:the |our |all )?(?:registered )?(?:participants|attendees|delegates|nominees|colleagues"
    r"|names)|(?:participants?|attendees?|delegates?|delegation|attendance)['’]? list|liste (?:der |mit (?:den )?"
    r"|mit unseren |unserer )?teilnehm\w*|teilnehme\w*-?liste|teilnahmeliste|tn-liste"
    r"|(?:спис(?:ок|к)\w*|перечень|перечн\w*) (?:наших )?(?:участник|учасник|учесни|сотрудник|делегац)\w*"
    r"|списък\w* (?:на |с )?участни\w*"
    r"|списак\w* учесни\w*|(?:spis\w*|popis\w*|list\w*) (?:učesni|ucesni|sudioni|polazni)\w*"
    r"|list[aë]n? e pjesëmarrës\w*|(?:lista|tabelul) (?:cu |de )?participan\w*|iştirakçı\w* siyahı\w*"
    r"|katılımcı\w* listesi|մասնակիցների ցուցակ\w*|მონაწილე(?:თა|ების) (?:სია|ჩამონათვალ)\w*"
    r"|(?:names|(?:registration )?forms) of (?:the |our )?(?:\w+ )?(?:participants|members|delegates|colleagues)"
    r")(?!\w)")
# ... not where the list is where someone goes ("please add me to the list of participants", "my bio for the list")
_INTO_THE_LIST = re.compile(r"(?<!\w)(?:to|for|on|onto|into|in|auf|in die|zur|в|во|на|u|na|pe|në|la)"
                            r"(?:\s+(?:the|die|der|den))?\s*$")
# ... in a sentence that says it is attached or sent ("attached is the list of participants"; "please add me to the
# list of participants" is the writer's own registration)
_ATTACHED = re.compile(
    r"(?<!\w)(?:attach\w*|enclos\w*|anbei|anhang|beigefügt\w*|angehängt\w*|во вложении|вложени\w*|прилага\w*"
    r"|приложен\w*|в приложении|у вкладенні|додаю|u prilogu|u privitku|у прилогу|во прилог|прикачен\w*"
    r"|në shtojcë|bashkëngjit\w*|în anexă|in anexa|atașat\w*|ataşat\w*|anexat\w*|əlavədə|əlavə olunur|կցված\w*"
    r"|կցում\w*|თანდართულ\w*|მიმაგრებულ\w*|ekte\w*)(?!\w)")
# ... or says the writer sends it ("we send you the list of participants"; not "I send you my best regards", which
# names no list, nor "please send me the list of participants", _ASKED_FOR)
_SENDING = re.compile(
    r"(?<!\w)(?:(?:i|we) (?:send|am sending|are sending)|sending you|sende\w* ihnen|schicke\w* ihnen|направля\w*"
    r"|высыла\w*|отправля\w*|šaljem\w*|šaljemo|шаљем\w*|испраќам\w*|изпращам\w*|vă trimit\w*|ju dërgoj"
    r"|göndəririk|göndərirəm|ուղարկում|გიგზავნი\w*)(?!\w)")
_ASKED_FOR = re.compile(r"(?<!\w)(?:(?:send|forward|share|mail)\s+(?:me|us)|(?:schicken|senden|mailen)\s+sie\s+"
                        r"(?:mir|uns)|пришлите|вышлите|отправьте|надішліть|pošaljite|пошаљите|испратете|изпратете"
                        r"|trimiteți|trimiteti|dërgoni|göndərin|ուղարկեք|გამომიგზავნეთ)(?!\w)")


def _files_to_read(message: IncomingMessage, written: written_text.Written, in_our_thread: bool) -> tuple[str, ...]:
    """The attachments a coordinator should read: a small picture only when the text says something is attached
    (a pasted scan, not the signature's logo); in reply to our mail a large one too ("Thank you, well received"
    under a banner)."""
    if not message.attachments and not message.pictures:
        return ()
    says_attached = bool(_ATTACHED.search(written.own.casefold()))
    return tuple(name for name in message.attachments if says_attached or not in_our_thread or not is_picture(name)) \
        or (message.pictures if says_attached else ())


def _sends_a_list(own: str) -> str:
    """The list of people a sentence of the own text says is attached, or ''."""
    for sentence in written_text.sentences(own.casefold()):
        if (listed := _LIST_OF_PEOPLE.search(sentence)) and (_ATTACHED.search(sentence) or _SENDING.search(sentence)) \
                and not _INTO_THE_LIST.search(sentence, 0, listed.start()) \
                and not _ASKED_FOR.search(sentence, 0, listed.start()):
            return listed.group(0)
    return ""


# Words that show a question is about an event at all ("Do you like this message?" is not).
_EVENT_WORDS = (
    "event", "webinar...", "conference", "workshop", "agenda", "programme",
    "access link", "meeting link", "zoom", "interpretation", "registration", "register",
    "attend", "attending", "speaker...", "presentation", "october", "certificate",
    "veranstaltung...", "tagung", "konferenz", "sitzung", "tagesordnung", "programm", "anmeldung",
    "teilnahme", "teilnehmen", "dolmetsch...", "übersetzung",
    "мероприят...", "вебинар...", "конференц...", "семинар...", "программ...", "повестк...", "ссылк...",
    "участ...", "регистрац...", "перевод...", "октябр...", "захід...", "заход...", "вебінар...", "жовтн...",
    "događaj...", "dogadjaj...", "skup...", "konferencij...", "vebinar...", "dnevni red",
    "prijav...", "učešć...", "sudjelova...", "prevod...", "oktob...", "догађај...", "скуп...",
    "конференциј...", "пријав...", "учешћ...", "октоб...", "настан...", "учество", "октомври",
    "ngjarje...", "takim...", "konferenc...", "axhend...", "pjesëmarr...", "regjistr...", "tetor...",
    "eveniment...", "conferinț...", "înscrier...", "particip...", "octombrie", "agendă", "traducere",
    "tədbir...", "iştirak...", "oktyabr...", "միջոցառ...", "մասնակց...", "կմասնակց...", "օրակարգ...", "հոկտեմբեր...",
    "ღონისძიებ...", "მონაწილ...", "ვებინარ...", "ოქტომბ...", "დღის წესრიგ...",
    "etkinli...", "toplantı...", "katılım...", "kayıt...", "ekim", "εκδήλωσ...", "συνάντησ...", "συμμετοχ...",
    "οκτωβρ...", "διερμηνεί...",
    # registering and the event's own words in more forms ("Da li je potrebno da se unapred registrujemo",
    # "Ще бъде ли записано събитието?", "Да ли ће материјали бити послати учесницима?")
    "registr...", "регистр...", "учесни...", "участни...", "събити...", "katıl...", "συμμετ...", "εγγραφ...",
    "recording", "slides", "materials", "aufzeichnung", "snim...", "сним...", "запис...", "материјал...",
    "материал...", "materijal...",
)


# A greeting ("Dear Irakli,", "Hallo Frau Toukan", "Здравствуйте!") before a bare yes.
_GREETING = re.compile(r"(?:hi|hello|dear|good (?:morning|afternoon)|hallo|liebe[rs]?|sehr geehrte[rs]?"
                       r"|guten (?:tag|morgen|abend)|здравствуйте|уважаем\w*|шановн\w*|добрий день|здравейте"
                       r"|почитуван\w*|dobar dan|добар дан|dobro jutro"
                       r"|добрый день|привет|доброго дня|poštovan\w*|postovan\w*|dragi|draga|zdravo|pozdrav"
                       r"|bună ziua|buna ziua|stimat\w*|përshëndetje|salam|hörmətli|გამარჯობა|ბატონო|բարև"
                       r"|հարգելի|merhaba|γεια)(?!\w)[^,!\n]{0,40}(?:[,!]|$)", re.IGNORECASE)
# A reply that is a yes and nothing else ("Yes please!", "Bin dabei.", "Да, буду.", "Da, dolazim."): every word is
# one of these, and one of them says yes (_YES_WORDS); no "not", no "but", no question.
_SAY_YES = ("yes sure absolutely definitely course pleasure gladly certainly ja gerne gern dabei komme kommen "
            "natürlich klar да буду будем конечно удовольствием обязательно приду так звичайно задоволенням da "
            "naravno svakako može moze dolazim dolazimo rado долазим po sigurisht kënaqësi bəli əlbəttə "
            "məmnuniyyətlə այո իհարկե սիրով დიახ კი სიამოვნებით evet tabii memnuniyetle ναι ευχαρίστως sigur "
            "desigur plăcere yes-in")
_ALONGSIDE_YES = ("please of with i we me us am are very much bitte sehr bin ich wir sind gerne vielen dank с із cu "
                  "vrlo puno me thanks thank you danke спасибо дякую hvala хвала faleminderit mulțumesc mulţumesc "
                  "multumesc vă rog təşəkkürlər շնորհակալություն მადლობა რა თქმა უნდა ok okay")
_YES_WORDS = frozenset(_SAY_YES.split())
_YES_COMPANIONS = frozenset(_ALONGSIDE_YES.split())
_IN_PHRASE = re.compile(r"(?<!\w)(?:i'?m|i’m|i am|we'?re|we’re|we are|count (?:me|us)) in(?!\w)")


_NAME_PARTICLES = frozenset({"von", "van", "de", "der", "den", "du", "da", "di", "dos", "im", "am", "zu", "und", "of",
                             "the", "and"})


def _name_like(text: str) -> bool:
    """A name or a signature line under a yes ("Goga", "Rainer Böhm", "Stephanie Keller / Stadt Freiburg im
    Breisgau", "ნინო"): each word capitalized (Georgian names have no capitals) or a name's particle; not "Aber
    nicht"."""
    words = text.replace("/", " ").replace(",", " ").split()
    return 0 < len(words) <= 6 and not any(ch.isdigit() or ch in "?!" for ch in text) and all(
        word[0].isupper() or "\u10d0" <= word[0] <= "\u10ff" or word in _NAME_PARTICLES for word in words)


def _bare_yes(own: str) -> str:
    """The own text when it is a yes and nothing else (a greeting and the writer's name aside), else ''."""
    lines = [line[found.end():].strip() if (found := _GREETING.match(line)) else line
             for line in (line.strip() for line in own.splitlines()) if line]
    while len(lines) > 1 and _name_like(lines[-1]):
        lines.pop()
    said = " ".join(lines).strip()
    head, mark, tail = said.rpartition("!") if "!" in said else said.rpartition(".")
    if mark and _name_like(tail):   # "Yes, with pleasure! Ardian"
        said = head + mark
    if not said or len(said) > 60 or "?" in said:
        return ""
    words = re.findall(r"[\w'’-]+", _IN_PHRASE.sub(" yes-in ", said.casefold()))
    if not words or len(words) > 8 or not all(w in _YES_WORDS or w in _YES_COMPANIONS for w in words):
        return ""
    return said if any(w in _YES_WORDS for w in words) else ""


_QUOTE_MARKS = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.MULTILINE)


def _quotes_the_event(message: IncomingMessage, written: written_text.Written, rules: Rules) -> bool:
    """Whether the mail answered (its subject, or the text it quotes) speaks of an event and of taking part in it
    ("Yes" to "Can you confirm the Zoom licence for the webinar?" is no coordinator's question)."""
    quoted = " ".join(_QUOTE_MARKS.sub("", written.quoted).split())   # (its lines wrapped: "take\n> part")
    folded = f"{message.subject}\n{quoted}".casefold()
    keywords = tuple(k for event in rules.events for k in (*event.keywords, event.id))
    return bool((find(_EVENT_WORDS, folded) or (keywords and find(keywords, folded)))
                and find(tuple(rules.classification.intents.interest), folded))


def _about_the_event(message: IncomingMessage, written: written_text.Written, rules: Rules, asked: str) -> bool:
    """A question counts when the mail speaks of the event (or event words at all), or answers our mail."""
    folded = f"{message.subject}\n{written.own}".casefold()
    keywords = tuple(k for event in rules.events for k in (*event.keywords, event.id))
    return bool(find(_EVENT_WORDS, folded) or (keywords and find(keywords, folded))
                or bool(asked and find(tuple(rules.classification.intents.question), asked.casefold())))


def _speaks_to_us(message: IncomingMessage, written: written_text.Written, rules: Rules) -> bool:
    """Whether a mail is addressed to us: one of our addresses among its recipients, or a coordinator's
    name in its greeting ("Liebe Frau Toukan,", "Dear Irakli,"; a newsletter naming them is not)."""
    if rules.own_addresses & set(message.recipients):
        return True
    greeting = next((line for line in written.own.casefold().splitlines() if line.strip()), "")[:80]
    names: set[str] = set()
    for box in rules.mailboxes.values():
        words = box.coordinator.split()
        names.update(words[:1] + words[-1:])   # "Dear Irakli," or "Liebe Frau Toukan,"
    return any(re.search(rf"(?<!\w){re.escape(name.casefold())}(?!\w)", greeting) for name in names)


def _automatic(
    message: IncomingMessage, written: written_text.Written, rules: Rules, reasons: list[str], bounced: list[str]
) -> Intent | None:
    """bounce, auto_reply or bulk when headers, sender or the text say a machine wrote; else None."""
    sender = message.sender or ""
    header = message.header
    found: list[tuple[list[str], list[str]]] = []   # (functools.cache made a new cache per mail: 5 us)

    def failures() -> tuple[list[str], list[str]]:   # _failed_recipients, at most once a mail
        if not found:
            found.append(_failed_recipients(message))
        return found[0]

    bounce_why = _bounce_evidence(message, rules, failures)
    if bounce_why:
        failed_for_good, delayed = failures()
        if delayed and not failed_for_good:
            # A delay warning: marking the address undeliverable would withhold agenda and access
            # from someone whose server is only slow (greylisting, an outage).
            reasons.append(f"intent: auto_reply ({bounce_why}, a delay warning only: the server still tries to "
                           f"deliver to {', '.join(delayed)}; nobody is marked undeliverable)")
            return Intent.AUTO_REPLY
        bounced.extend(failed_for_good)
        failed = f"; failed: {', '.join(bounced)}" if bounced else ""
        reasons.append(f"intent: bounce ({bounce_why}{failed})")
        return Intent.BOUNCE
    report = message.report_type   # the mail itself (not one it forwards) is a multipart/report (RFC 6522)
    if report:
        # multipart/report (RFC 6522) is written by programs: a read receipt ("Read: <our subject>",
        # which quotes that subject, "register" and all), an abuse or a TLS report.
        reasons.append(f"intent: auto_reply (a report, not a person's mail: {report})")
        return Intent.AUTO_REPLY
    if _READ_RECEIPT_SUBJECT.match(message.subject) and _READ_RECEIPT_TEXT.match(written.own) \
            and _READ_RECEIPT_VERB.search(written.own):
        # Outlook's read receipt in plain text ("Read: <our subject>" / "Your message ... was read on ..."):
        # it quotes our subject, "registration" and all.
        reasons.append("intent: auto_reply (a read receipt in plain text)")
        return Intent.AUTO_REPLY
    if not sender and not message.sender_name and header("return-path") in (None, ""):
        reasons.append("intent: auto_reply (no sender address: sent by a machine)")
        return Intent.AUTO_REPLY
    auto_submitted = (header("auto-submitted") or "no").lower()
    if auto_submitted.split(";")[0].strip() != "no":
        reasons.append(f"intent: auto_reply (Auto-Submitted: {auto_submitted})")
        return Intent.AUTO_REPLY
    for name in ("x-autoreply", "x-autorespond", "x-auto-response-suppress"):
        if header(name) is not None:
            reasons.append(f"intent: auto_reply ({name} header present)")
            return Intent.AUTO_REPLY
    subject_hit = _matches(rules.classification.intents.auto_reply_subjects, message.subject)
    if subject_hit:
        reasons.append(f"intent: auto_reply (subject contains {subject_hit!r})")
        return Intent.AUTO_REPLY
    phrase_hit = _matches(rules.classification.intents.auto_reply_phrases, written.own)
    if phrase_hit:
        reasons.append(f"intent: auto_reply (text says {phrase_hit!r})")
        return Intent.AUTO_REPLY
    # A person's post to a mailing list that speaks to a coordinator is read (it is flagged for them, not
    # acted on: classify()); the list's other posts, and a coordinator's own post back from it, are bulk.
    if message.relayed_by and sender not in rules.own_addresses and _speaks_to_us(message, written, rules):
        reasons.append(f"sender: {sender}, whose post to a coordinator the mailing list {message.relayed_by} "
                       "passed on (its rewritten From, and Reply-To)")
    else:
        precedence = (header("precedence") or "").lower()
        if precedence in ("bulk", "list", "junk"):
            reasons.append(f"intent: bulk (Precedence: {precedence})")
            return Intent.BULK
        list_headers = [h for h in message.headers if h.startswith("list-")]
        if list_headers:
            reasons.append(f"intent: bulk (mailing-list header {list_headers[0]})")
            return Intent.BULK
    if header("return-path") == "":
        reasons.append("intent: auto_reply (empty Return-Path: sent by a machine)")
        return Intent.AUTO_REPLY
    robot = _robot(sender, rules)
    if robot:
        reasons.append(f"intent: bulk (sender {sender} looks like a robot: {robot!r})")
        return Intent.BULK
    return None


# Languages whose "ne" negates nothing (Romanian "us", Albanian "we"), unlike Serbian, Croatian and Bosnian's "not".
_NE_IS_NO_NEGATION = {"ro", "sq"}

# Outlook's read receipt without multipart/report: the subject's prefix and the text's first words, in the
# languages of its templates (both are needed: a person may write "Read: the agenda").
_READ_RECEIPT_SUBJECT = re.compile(r"^\s*(?:not |nicht |не )?(?:read|gelesen|lu|прочитано|прочетено|прочитане"
                                   r"|pročitano|procitano|citit|okundu|αναγνώστηκε|lexuar|přečteno|odczytane"
                                   r"|olvasott|gelezen)\s*:", re.IGNORECASE)
_READ_RECEIPT_TEXT = re.compile(r"\W*(?:your message|ihre nachricht|votre message|ваше сообщение|ваше повідомлення"
                                r"|вашето съобщение|vaša poruka|vasa poruka|ваша порука|mesajul dvs|mesajınız"
                                r"|το μήνυμά σας|mesazhi juaj|vaše zpráva|twoja wiadomość|az ön üzenete|uw bericht)\b",
                                re.IGNORECASE)
_READ_RECEIPT_VERB = re.compile(r"was read|gelesen|a été lu|прочитан|прочетено|прочитане|pročitan|procitan|citit"
                                r"|okundu|διαβάστηκε|lexuar|přečten|odczytan|elolvast|gelezen|fue leíd|è stato lett",
                                re.IGNORECASE)
_FORWARD_PREFIX = re.compile(r"^\s*(wg|fw|fwd|tr|pd|пересл|prosl|ilt|πρθ|rv|enc)\s*:", re.IGNORECASE)


def _is_reply(message: IncomingMessage) -> bool:
    """An answer or a forward: its subject is another mail's, not the writer's words."""
    return bool(message.in_reply_to or ANSWER_PREFIX.match(message.subject) or _FORWARD_PREFIX.match(message.subject))


def _should_answer(
    message: IncomingMessage, intent: Intent, asks: bool, audience: str | None, rules: Rules, in_our_thread: bool,
    reasons: list[str],
) -> bool:
    if intent in AUTOMATIC_INTENTS:
        reasons.append(f"answer: no ({intent} mail is never answered)")
        return False
    if in_our_thread and intent == Intent.OTHER:
        reasons.append("answer: no (a reply to our own mail that asks nothing is never answered)")
        return False
    if not message.sender:
        reasons.append("answer: no (no valid sender address)")
        return False
    if message.sender in rules.own_addresses:
        reasons.append("answer: no (sent from one of our own addresses)")
        return False
    if not local_part(message.sender).isascii():
        reasons.append("answer: no (the address has non-ASCII characters before the @; replying needs SMTPUTF8)")
        return False
    template = rules.replies.get(intent, {}).get(audience or "")
    if not template:
        reasons.append(f"answer: no (rules.yaml has no reply for {intent} / {audience})")
        return False
    if intent == Intent.INTEREST and asks:
        template = rules.replies.get(INTEREST_WITH_QUESTION, {}).get(audience or "", template)
    reasons.append(f"answer: yes with template {template}")
    return True
