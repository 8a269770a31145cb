"""Text as written: the words the sender typed, told apart from quotes, signature and footer.

Mail clients wrap paragraphs at 72 columns or send them format=flowed, quote the
mail they answer (Gmail "On ... wrote:", Outlook "From:/Sent:" blocks, Apple Mail,
Thunderbird, in the writer's language) and append signatures and legal footers.
Intent and explicit audience phrases must be read in the writer's own text only,
and a sentence must read the same wherever the client broke its lines: `read()`
returns the own text with every paragraph on one line.

Pure functions; the patterns are data, one list per kind, in the event's languages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .wordlists import factor

# A line that starts the quoted mail; everything from it on is the other mail.
_QUOTE_HEADERS = [
    r"-{2,}\s*(original message|ursprüngliche nachricht|weitergeleitete nachricht|forwarded message"
    r"|original-nachricht|исходное сообщение|пересылаемое сообщение|originalna poruka|mesazhi origjinal"
    r"|mesaj original|оригінальне повідомлення|messaggio originale|mensaje original|message d'origine"
    r"|pôvodná správa|původní zpráva|oryginalna wiadomość|eredeti üzenet|αρχικό μήνυμα|orijinal mesaj"
    r"|оригинална порука|оригинално съобщение|izvirno sporočilo|изворна порака|izvorna poruka|özgün ileti"
    # Thunderbird's and Roundcube's Georgian and Armenian
    r"|საწყისი წერილი|გადაგზავნილი წერილი|ორიგინალი შეტყობინება|բնօրինակ նամակը|փոխանցվող նամակը"
    r"|առաջին հաղորդագրությունը)\b.*",
    # Horde's and Roundcube's "Quoting X <x@y>:" / "Zitat von X <x@y>:"
    r"(quoting|zitat von) .{0,200}[@<].{0,100}:",
    # Apple Mail's forward ("Begin forwarded message:"), in the writer's client's language
    r"(begin forwarded message|anfang der weitergeleiteten nachricht|начало переадресованного сообщения"
    r"|inicio del mensaje reenviado|inizio messaggio inoltrato|début du message réexpédié"
    r"|początek przekazywanej wiadomości|početak prosleđene poruke|početak proslijeđene poruke)\s*:.*",
    r"_{10,}\s*",                                                    # Outlook's rule above its header block
    # "On Mon, 14 Sep 2020 at 10:21, X <x@y> wrote:" and its translations (the client's language, not the writer's)
    r".{0,250}?\b(wrote|schrieb|a écrit|escribió|ha scritto|schreef|skrev|napsal|napisał|napisao|napisala"
    r"|написал|написала|написав|написа|напиша|пише|shkroi|ka shkruar|a scris|yazdı|yazıb|գրել է|დაწერა)"
    r"(\(?[a-zа-я/]{1,4}\)?)?( .{0,100})?:",
    # ... and Yahoo's German, Slovenian, Slovak, Polish, Hungarian, Greek: words a writer's own line ending
    # in ":" uses too ("wie Sie mir geschrieben haben:"), so only with a date or an address in the line
    r"(?=.*[\d@]).{0,250}?\b(geschrieben|napisal|napísal|pisze|napisana przez|írta|έγραψε)"
    r"(\(?[a-zа-я/]{1,4}\)?)?( .{0,100})?:",
    # Thunderbird's Georgian ("თარიღი 14.09.2020 10:21, Irakli წერს:"): only with a time or an address
    r"(?=.*(?:\d:\d\d|@)).{0,250}?\bწერს:",
    # Thunderbird's and Roundcube's Armenian end in a full stop, as a sentence does ("14.09.2020 10:21-ին Irakli-ը
    # գրել է.", "Irakli-ը գրել է 14.09.2020 10:21-ին."): only with a date and a time in the line and nothing but
    # them after the verb
    r"(?=.*\d{1,4}[./-]\d{1,2}[./-]\d{1,4}.*\d:\d\d).{0,250}?\b(գրել է|գրեց)( [\d\s./:,-]{4,40}-ին)?[.։:]",
    # Gmail in languages without a verb ("пн, 14 сент. 2020 г. в 10:21, X <x@y>:"): a time and an address.
    r".{0,120}\d{1,2}:\d{2}.{0,120}@[^\s]{1,100}>?\s*:",
]
_QUOTE_HEADER = re.compile("^(?:" + "|".join(_QUOTE_HEADERS) + r")\s*$", re.IGNORECASE)
# Outlook's block: "From: ..." then, within the next lines, "Sent:"/"Date:"/"To:" (in many languages).
# Outlook's header block above a quoted mail, in the languages of the region (and its neighbours'):
# "From:" (Romanian "De la:", Turkish "Kimden:", Greek "Από:", Croatian "Šalje:", Hungarian "Feladó:")
# followed by "Sent:", "To:" or "Subject:" (Bulgarian "Изпратено:/До:/Относно:", Greek "Στάλθηκε:/Προς:/Θέμα:").
_OUTLOOK_FROM = re.compile(r"^\**(from|von|de la|de|od|от|од|від|nga|kimdən|kimden|από|šalje|salje|feladó|från"
                           r"|van|da)\s*:\**\s*\S", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(
    r"^\**(sent|gesendet|date|datum|enviado el|enviado|envoyé|inviato|odoslané|poslano|poslato|послано|послато"
    r"|испратено|изпратено|отправлено|надіслано|fecha|dátum"
    r"|дата|dërguar|trimis|data|göndərilib|gönderildi|gönderilme tarihi|tarih|στάλθηκε|ημερομηνία|elküldve|wysłano"
    r"|odesláno|to|an|a|à|para|kome|prima|do|za|за|до|кому|для|për|către|kimə|kime|προς|címzett|komu|subject|betreff|тема"
    r"|относно|predmet|zadeva|предмет|objet|subiect|konu|θέμα|tárgy|temat|předmět|oggetto|asunto)\s*:",
    re.IGNORECASE,
)
_QUOTED_LINE = re.compile(r"^\s*>")

# Lines that end the writer's text and start the signature.
_DEVICE_LINE = re.compile(
    r"^(sent from my|sent from (outlook|mail) for|get outlook for|von meinem .{0,40} gesendet|gesendet von meinem"
    r"|gesendet mit|отправлено с|надіслано з|poslano s|poslato sa|dërguar nga|trimis de pe|envoyé de mon"
    r"|inviato da)\b.{0,60}$",
    re.IGNORECASE,
)
CLOSINGS = (
    r"best regards|kind regards|warm regards|warmest regards|best wishes|kind wishes|with best regards"
    r"|with kind regards|regards|best|cheers|many thanks and best regards|thank you and best regards"
    r"|yours sincerely|sincerely|yours faithfully|respectfully|all the best"
    r"|mit freundlichen grüßen|mit freundlichen grüssen|freundliche grüße|freundliche grüsse|viele grüße"
    r"|viele grüsse|beste grüße|beste grüsse|herzliche grüße|herzliche grüsse|liebe grüße|liebe grüsse"
    r"|schöne grüße|mfg|lg|vg|gruß|gruss|grüße|grüsse|mit besten grüßen|mit besten grüssen"
    r"|с уважением|с наилучшими пожеланиями|всего доброго|всего наилучшего|з повагою|з найкращими побажаннями"
    r"|srdačan pozdrav|srdačno|srdacno|srdačni pozdravi|lijep pozdrav|lep pozdrav|pozdrav|pozdravi"
    r"|s poštovanjem|sa poštovanjem|s postovanjem|sa postovanjem|срдачан поздрав|поздрав|поздрави|са поштовањем"
    r"|со почит|со почитување|поздрав од|с почит|с уважение|сърдечни поздрави"
    r"|me respekt|me nderime|përshëndetje të përzemërta|të fala|gjithë të mirat"
    r"|cu stimă|cu stima|cu respect|cu drag|toate cele bune|o zi bună"
    r"|hörmətlə|ehtiramla|հարգանքով|մեծ հարգանքով|პატივისცემით|საუკეთესო სურვილებით"
    r"|cordiali saluti|distinti saluti|saluti|cordialement|bien à vous|saludos|atentamente|pozdrawiam"
    r"|s pozdravem|met vriendelijke groet"
    r"|saygılarımla|saygılarımızla|με εκτίμηση|με φιλικούς χαιρετισμούς|üdvözlettel|z poważaniem|s pozdravom"
    r"|s úctou|hvala i pozdrav|lijepi pozdrav|numai bine|cu deosebită considerație|bien cordialement"
)
# Closings that are also how a sentence or a mail begins ("Thanks, I'll be there!", "Poštovanje, želim da se
# prijavim", "Selamlar, etkinliğe katılmak istiyorum"): a closing only alone on their line.
_BARE_CLOSINGS = (r"thanks|thank you|many thanks|thanks again|br|selamlar|saygılar|iyi çalışmalar|poštovanje"
                  r"|срдачно|сердечно|un saludo|tisztelettel|srdečně|pozdrowienia")
# The formula alone, or followed by a few words that are no sentence ("Best regards, Nino"; "Viele Grüße
# aus Jena"), never "Regards the agenda, could you send it?".
_CLOSING_LINE = re.compile(rf"^({CLOSINGS})\b[\s,.!:;-]*([^\s.?!]+(\s+[^\s.?!]+){{0,3}})?[\s,.!]*$"
                           rf"|^({_BARE_CLOSINGS})[\s,.!]*$", re.IGNORECASE)

# Paragraphs that are legal or technical footers, in any position at the end of a mail.
_FOOTER = re.compile(factor(
    r"confidential|intended (?:solely |only )?for|registered in england|registered office|company number"
    r"|received this (?:e-?mail|message) in error|please consider the environment|disclaimer|think before you print"
    r"|vertraulich|sitz der gesellschaft|amtsgericht|handelsregister|registergericht|geschäftsführ"
    r"|diese (?:e-?mail|nachricht) (?:enthält|ist)|irrtümlich erhalten|denken sie an die umwelt|haftungsausschluss"
    r"|riservat|destinatari|cancellare|questo messaggio|le informazioni contenute|ce message|destinataire"
    r"|конфиденциальн|данное сообщение|це повідомлення|конфіденційн|povjerljiv|poverljiv|konfidencijal"
    r"|konfidencial|confidențial|gizli|məxfi|գաղտնի|კონფიდენციალ|поверителн|доверлив|απόρρητ|εμπιστευτικ"
    r"|do you really need to print|εκτυπώσετε|да ја испечатите|да отпечатате"),
    re.IGNORECASE,
)
# The same words without IGNORECASE, for ASCII text lower-cased: IGNORECASE costs ten times as much
# on every paragraph, and on ASCII text str.lower() makes exactly the same matches.
_FOOTER_LOWER = re.compile(_FOOTER.pattern)
LIST_ITEM = re.compile(r"^\s*([-*•·–]|\d{1,2}[.)]|[a-z][.)])\s+")


@dataclass(frozen=True)
class Written:
    """A mail's text, split as the writer wrote it."""

    own: str         # the writer's own words, one paragraph (or list item) per line
    signature: str   # closing formula onwards, or after "-- ": name, organisation, city, phone
    footer: str      # legal and technical footers
    quoted: str      # the mail(s) this one quotes or forwards

    @property
    def evidence_signature(self) -> str:
        """Where to look for signature evidence (city, phone): the signature, else the own text's last
        paragraph when it is not the only one (the same whatever the wrapping)."""
        if self.signature:
            return self.signature
        paragraphs = self.own.split("\n\n")
        return paragraphs[-1] if len(paragraphs) > 1 else ""


def unflow(text: str, delsp: bool = False) -> str:
    """RFC 3676 format=flowed to plain lines: a line ending in a space continues on the next one
    (with DelSp=yes that space goes); quote depth and space-stuffing are respected."""
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for line in text.split("\n"):
        line = line.rstrip("\r")
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]          # space-stuffing (or the space after ">")
        if pending is not None and depth != pending_depth:
            out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
            pending = None
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        pending = content if pending is None else pending + content
        pending_depth = depth
        if not flowed:
            out.append(">" * depth + (" " if depth else "") + pending)
            pending = None
    if pending is not None:
        out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
    return "\n".join(out)


def read(text: str) -> Written:
    """Split a mail's text into own words, signature, footer and quoted mail."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    cut = _quote_start(lines)
    quoted: list[str] = []
    body: list[str] = []
    for line in lines[:cut]:
        if _QUOTED_LINE.match(line):
            quoted.append(line)          # an inline quote between the writer's own lines
        else:
            body.append(line)
    below: list[str] = []        # the writer's lines under the whole quote
    answered_between = False
    if _quoted_with_marks(lines, cut):
        # Answers written between the ">" lines of the quote, or under it, are the writer's own: each
        # after a blank line ("> ... please just confirm" / "" / "Yes, please register me for 7 October.").
        state = "header"
        for line in lines[cut:]:
            if _QUOTED_LINE.match(line):
                quoted.append(line)
                if below:                # answers between the quoted lines
                    _add_paragraphs(body, below)
                    below, answered_between = [], True
                state = "quote"
            elif not line.strip():
                if state == "own":
                    below.append(line)
                elif state == "quote":
                    state = "gap"
            elif state in ("gap", "own"):
                below.append(line)
                state = "own"
            else:
                quoted.append(line)      # the quote's header, or a quoted line wrapped without its ">"
    else:
        quoted += lines[cut:]
    if below and not answered_between and _written_above(body):
        # Under a quote with the writer's text above it (and none between its lines): their signature, or
        # a footer their server added ("You may withdraw your consent at any time"), never their words.
        signature_extra = below
    else:
        _add_paragraphs(body, below)   # written under the quote: their words
        signature_extra = []
    signature_at = _signature_start(body)
    own_lines, signature_lines = body[:signature_at], body[signature_at:] + signature_extra
    if signature_lines and signature_lines[0] == "--":
        signature_lines = signature_lines[1:]
    paragraphs = _paragraphs(own_lines)
    footer: list[str] = []
    while paragraphs and _is_footer(paragraphs[-1]):
        footer.insert(0, paragraphs.pop())
    signature, signature_footer = _split_footer(signature_lines)
    return Written(
        own="\n\n".join(paragraphs),
        signature=signature,
        footer="\n\n".join(footer + ([signature_footer] if signature_footer else [])),
        quoted="\n".join(quoted).strip(),
    )


def _add_paragraphs(body: list[str], lines: list[str]) -> None:
    """The lines onto the body, apart from its last paragraph by a blank line."""
    body.extend(([""] if body and body[-1] else []) + lines)


def _written_above(body: list[str]) -> bool:
    """Whether the writer wrote their reply above the quote: more than a greeting ("Hi Irakli,") or a
    pointer to what follows ("see my answers below")."""
    said = [line.strip() for line in body if line.strip()]
    return bool(said) and not all(line.endswith(",") or _POINTS_BELOW.search(line) for line in said)


_POINTS_BELOW = re.compile(r"(?i)\b(below|unten|ниже|нижче|dolje|dole|ispod|më poshtë|mai jos|по-долу|подолу)\b")


def _quoted_with_marks(lines: list[str], cut: int) -> bool:
    """Whether the quote under its header ("On ... wrote:") marks its lines with ">", so that a line
    without one is the writer's; Outlook's "From: / Sent:" block quotes the whole mail without marks."""
    following = [line for line in lines[cut + 1:cut + 12] if line.strip()][:3]
    return any(_QUOTED_LINE.match(line) for line in following)


def _is_footer(paragraph: str) -> bool:
    if paragraph.isascii():
        return _FOOTER_LOWER.search(paragraph.lower()) is not None
    return _FOOTER.search(paragraph) is not None


def sentences(own: str) -> list[str]:
    """The own text's sentences: split at . ! ? ; and at line ends ("am 7. Oktober" stays one)."""
    ends = [found.end() for found in _SENTENCE_END.finditer(own)]
    return [sentence for start, end in zip([0, *ends], [*ends, len(own)], strict=True)
            if (sentence := own[start:end].strip())]


# A sentence's last character: . ! ? ; ։ (the Armenian full stop) or ; (U+037E, the Greek question
# mark) after a letter or sign and before a space, ? ! or ; before anything, a line end. Each
# alternative begins with its character, so the scan passes over the others at once (the same
# sentences as a split at look-behinds, in half the time; tests/unit/test_properties.py compares
# the two).
_SENTENCE_END = re.compile(r"[.!?;։\u037e](?<=[^\d\s].)(?=\s)|[?!\u037e](?=\S)|\n")


def _quote_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        stripped = line.strip().lstrip("*").strip()
        if not stripped:
            continue
        if _QUOTED_LINE.match(line):
            inner = stripped.lstrip("> ")   # Apple Mail quotes its own header: "> On ... wrote:"
            if not _may_open_quote(inner) or not _QUOTE_HEADER.match(inner):
                continue
        # Gmail and Apple Mail wrap a long "On ... wrote:" over two or three lines. Every header
        # ends in ":" (Armenian: "գրել է." too) or is a rule of "-" or "_": only such candidates meet
        # the (costly) pattern.
        candidate = stripped
        for following in [""] + lines[index + 1:index + 3]:
            if following:
                if not following.strip():
                    break
                candidate = f"{candidate} {following.strip()}"
            if _may_open_quote(candidate) and len(candidate) <= 400 \
                    and _QUOTE_HEADER.match(candidate) and _opens_header(stripped):
                return index
        if _OUTLOOK_FROM.match(stripped):
            after = [line.strip().lstrip("*").strip() for line in lines[index + 1:index + 5] if line.strip()]
            # two header lines after "From:" ("Sent:" and "To:"), not a list the writer typed ("Od: Bratislava /
            # Dátum: 7. októbra")
            if after and _OUTLOOK_NEXT.match(after[0]) and any(_OUTLOOK_NEXT.match(line) for line in after[1:3]):
                return index
    return len(lines)


def _may_open_quote(line: str) -> bool:
    return line.endswith(":") or line[:1] in "-_" or line.endswith((".", "։")) and ("գրել է" in line or "գրեց" in line)


def _opens_header(first_line: str) -> bool:
    """A wrapped quote header starts like one: a date, a weekday or "On"/"Am"/"Le" ..., not a sentence
    of the writer's that happens to sit above it."""
    return bool(re.match(r"^(\W*\d|on|am|le|el|il|op|den|dne|w dniu|в|у|на|më|pe|la|στις|v|dňa|\w{2,4}\.?,)\b",
                         first_line, re.IGNORECASE)) or _QUOTE_HEADER.match(first_line) is not None


def _signature_start(lines: list[str]) -> int:
    """Where the signature starts: a "-- " line, a "Sent from my iPhone" line, or a closing formula
    ("Best regards,", "Mit freundlichen Grüßen") after some text of the writer's own."""
    seen_text = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if line == "--":            # "-- " with its space (lines come right-stripped)
            return index
        if _DEVICE_LINE.match(stripped):
            return index
        if seen_text and len(stripped) <= 80 and _CLOSING_LINE.match(stripped) \
                and not _a_sentence_follows(lines[index + 1:]):
            return index
        if stripped:
            seen_text = True
    return len(lines)


def _a_sentence_follows(lines: list[str]) -> bool:
    """Whether the writer's sentence comes right after a closing formula, so that it is none: after "Hi Anna,
    Thanks!" the registration below is the writer's ("Thanks!" there opens). Only the next line decides, or
    the paragraph it begins when it is a line the client wrapped (60 characters or more): a signature's later
    lines may be sentences too ("Head of Registration.", a motto)."""
    paragraph: list[str] = []
    for line in lines:
        if line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            break
    if not paragraph:
        return False
    return bool(_A_SENTENCE.match(paragraph[0])
                or len(paragraph[0]) >= WRAPPED_LINE and _A_SENTENCE.match(" ".join(paragraph)))


_A_SENTENCE = re.compile(r"^(\S+\s+){3,}\S*[.!?]$")
WRAPPED_LINE = 60   # a line this long that goes on in the next one is a paragraph a client wrapped (at 72)


def _paragraphs(lines: list[str]) -> list[str]:
    """Blank-line separated paragraphs with their hard-wrapped lines joined; list items and table rows
    stay lines.

    A line starting like a list item ("7. Oktober teil", "– ein Austausch") only starts an item after
    a line ending in ":" or after another item: elsewhere it is where the client wrapped a sentence."""
    paragraphs: list[str] = []
    current: list[str] = []
    list_marker = ""          # the kind of marker of the list being read: "1" for numbers, else the bullet
    for line in lines + [""]:
        stripped = line.strip()
        if not stripped:
            if current:
                paragraphs.append("\n".join(current))
                current, list_marker = [], ""
            continue
        found = LIST_ITEM.match(stripped)
        marker = ("1" if found.group(1)[0].isalnum() else found.group(1)) if found else ""
        # An item starts a list after a ":" line (or a paragraph); within a list, only its own kind of
        # marker starts the next item ("3. Zurab Meskhi, IT⏎– z.meskhi@..." is one item, wrapped).
        item = bool(marker) and (not current or current[-1].endswith(":") or marker == list_marker)
        # A table's row (cells apart by tabs: an HTML table, or one pasted from a spreadsheet) is a line.
        row = "\t" in stripped or bool(current) and "\t" in current[-1]
        if current and not item and not row:
            current[-1] = f"{current[-1]} {stripped}"
        else:
            current.append(stripped)
            list_marker = marker
    return paragraphs


def _split_footer(lines: list[str]) -> tuple[str, str]:
    """(signature, footer): the signature ends at its first footer paragraph."""
    paragraphs = "\n".join(lines).strip().split("\n\n")
    for index, paragraph in enumerate(paragraphs):
        if _is_footer(paragraph):
            return "\n\n".join(paragraphs[:index]).strip(), "\n\n".join(paragraphs[index:]).strip()
    return "\n\n".join(paragraphs).strip(), ""
