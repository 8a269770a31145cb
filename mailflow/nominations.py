"""Registration on behalf of others: whom a mail asks us to register besides (or instead of) its sender.

"Please register our Deputy Mayor Mr Giorgi Beridze (g.beridze@tbilisi.gov.ge)",
a list or table of colleagues with their addresses, "bitte melden Sie auch meine
Kollegin Frau Dr. Anna Lehmann (anna.lehmann@leipzig.de) an": each named person with
an address is a nominee. The sender is registered only when a sentence about the
sender says so ("I will attend as well", "register me and my colleagues", "auch ich
selbst nehme teil"), read with statements.read_statements, negation included.

Where the mail leaves a doubt (a name without an address, an address without a
name such as a shared mailbox, "maybe a colleague will also join") the reading is
`unsure`: nobody from that mail is registered and a coordinator settles it.

Pure functions over the writer's own text (text.read(...).own): quotes, signatures
and footers are never read; our own mailboxes, the sender's and the signature's
addresses are never nominees.
"""

from __future__ import annotations

import email.utils
import re
import unicodedata
from dataclasses import dataclass, field

from .addresses import InvalidAddress, domain_of, normalize_address
from .message import IncomingMessage
from .rules import OnBehalfKind, Rules
from .statements import MINE, WE_OR_I, compile_patterns, find, read_statements
from .states import Intent
from .text import LIST_ITEM, Written, sentences

# Participation words besides rules.yaml's interest patterns: what a third person does.
_PARTICIPATION = (
    "join", "joins", "join us", "attend", "attends", "take part", "takes part", "participat...", "register",
    "registration", "sign up", "come", "comes", "be there", "nominate...",
    "teilnehmen", "nimmt * teil", "nehmen * teil", "nehme * teil", "anmelden", "melden sie", "melde ich", "melden * an",
    "melde * an", "dabei", "dazu", "zuschalten", "kommt", "kommen",
    "înregistr...", "inregistr...", "დაარეგისტრ...", "რეგისტრ...", "დავესწრ...", "დასწრ...", "გრანც...", "գրանց...",
    "միան...", "присоедин...", "приєдн...", "pridruž...", "bashkoh...", "alătur...", "qoşul...", "daeswr...",
)
# Verbs whose object is the person registered: with a third person in the clause, "I" is not the one attending.
_REGISTERING = (
    "register", "registration", "sign up", "nominate...", "anmelden", "melde...", "melden",
    # registering someone in the languages that drop the pronoun (not "зарегистрироваться", oneself; "bih želeo da
    # prijavim i našeg gradonačelnika" registers the mayor)
    "зарегистрировать", "зарегистрируйте", "записать", "запишите", "зареєструвати", "зареєструйте", "prijaviti",
    "prijavite", "prijavim", "prijavimo", "пријавити", "пријавите", "пријавим", "пријавимо", "пријавам", "регистрирате",
    "регистрирайте", "регистрирам", "înscrie", "înscriu", "înscrieți", "înregistrați", "înregistrez", "regjistroni",
    "regjistroj", "kaydet", "kaydetmek", "kaydetmenizi", "kaydedin", "qeydiyyata alın", "qeydiyyata alasınız",
    "keçirəsiniz", "qeydiyyatdan keçirin", "დაარეგისტრიროთ", "დაარეგისტრირეთ", "დავარეგისტრირო", "գրանցել", "գրանցեք",
    "εγγράψετε", "εγγράψτε", "εγγράψω", "katılmasını", "katılmalarını", "kaydını", "რეგისტრაცია", "რეგისტრაციას",
    "qeydiyyata al...",
)
# A third person in a clause: colleagues, titles, roles, "someone", "the following".
_THIRD_PERSON = (
    "colleague...", "kolleg...", "mitarbeiter...", "someone", "somebody", "a person", "another person", "jemand...",
    "mayor", "deputy", "bürgermeister...", "the following", "folgende...", "nachstehende...", "below", "them",
    # pronouns only as whom a registration or cancellation is for ("following his advice I register" is mine)
    "register her", "register him", "register * her", "register * him", "his registration", "her registration",
    "seine anmeldung", "seiner anmeldung", "başkan", "başkanı", "başkanımız", "başkanın", "başkanına", "başkanımızı",
    "başkanımıza", "başkanımızın", "başkanını", "başkanımızla", "başkanıyla", "mr", "mrs", "ms", "herr", "herrn",
    "frau", "dr", "prof",
    # (a mayor's word whole, not as a stem: "мер..." found "мероприятие", the event, in every Russian mail,
    # and a registration without "я", "Хотел бы принять участие в мероприятии", was a colleague's, unsure:
    # nobody registered, nothing answered; "მერ..." found "მერე", "then"; "primar..." "primăria", "primară";
    # "кмет...", "кметство" (town hall), "քաղաքապետ..." the Armenian, "başkan..." "Belediye Başkanlığı"; a
    # colleague's too: "თანამშრომ...", "əməkdaş...", "həmkar...", "գործընկեր..." found cooperation, partnership)
    "коллег...", "колег...", "сотрудник...", "співробітник...", "голова", "голови", "голову", "головою", "голові",
    "мэр", "мэра", "мэру", "мэром", "мэре", "мер", "мера", "меру", "мером", "мері", "господин...", "заместител...",
    "заступник...", "koleg...", "gradonačelnik...", "gradonacelnik...", "gospodin...", "gospođ...", "zamjenik...",
    "zamenik...", "градоначелник...", "градоначалник...", "кмет", "кмета", "кметът", "coleg...", "primar", "primarul",
    "primarului", "domnul...", "doamn...", "kryetar...", "zotëri...", "zonj...", "კოლეგ...", "თანამშრომელი",
    "თანამშრომელს", "თანამშრომელმა", "თანამშრომლის", "თანამშრომლები", "თანამშრომლებს", "მერი", "მერმა", "მერს", "მერის",
    "მერთან", "მერიც", "მერსაც", "գործընկեր", "գործընկերս", "գործընկերը", "գործընկերոջ", "գործընկերոջս", "գործընկերոջը",
    "գործընկերուհի", "գործընկերուհին", "գործընկերուհիս", "գործընկերուհուն", "գործընկերուհուս", "գործընկերներին",
    "գործընկերն", "գործընկերներ", "գործընկերները", "գործընկերներս", "աշխատակից...", "քաղաքապետ", "քաղաքապետը",
    "քաղաքապետի", "քաղաքապետին", "քաղաքապետն", "həmkar", "həmkarım", "həmkarımız", "həmkarımı", "həmkarıma",
    "həmkarımıza", "həmkarımızı", "həmkarlarımızı", "həmkarımın", "həmkarı", "həmkarlar", "həmkarlarım",
    "həmkarlarımız", "əməkdaş", "əməkdaşı", "əməkdaşım", "əməkdaşımız", "əməkdaşımızı", "əməkdaşımıza", "əməkdaşımı",
    "əməkdaşlarımızı", "əməkdaşlar", "əməkdaşları", "sədr...",
)
# Third persons a town has one of: a later "the Mayor" is the mayor named with an address before (not
# "a colleague", who may be another one).
_ONE_PERSON = frozenset({
    "mayor", "bürgermeister...", "мэр", "мэра", "мэру", "мэром", "мэре", "мер", "мера", "меру", "мером", "мері",
    "голова", "голови", "голову", "головою", "голові", "gradonačelnik...", "gradonacelnik...", "градоначелник...",
    "градоначалник...", "кмет", "кмета", "кметът", "primar", "primarul", "primarului", "kryetar...", "მერი", "მერმა",
    "მერს", "მერის", "მერთან", "მერიც", "მერსაც", "քաղաքապետ", "քաղաքապետը", "քաղաքապետի", "քաղաքապետին", "քաղաքապետն",
})
# English "I" is told by its capital (Serbian "i" is "and"); the rest over casefolded text.
_I = re.compile(r"(?<!\w)I(?:[’'](?:m|d|ll|ve))?(?!\w)")
_FIRST_PERSON = re.compile(r"(?<!\w)(me|myself|ich|mich|mir|selbst|я|мне|меня|сам|сама"
                           r"|ja|mene|meni|eu|unë|une|მე|მეც|ես|ինձ|ինքս|mən|özüm|јас|аз)(?!\w)")
# Where the pronoun is dropped, the verb's own person says the writer registers ("Являюсь сотрудником мэрии и хочу
# принять участие", "Kao zamjenik gradonačelnika želim učestvovati"): read only where a clause would otherwise be
# someone else's to register (read_nominations), not where it decides who attends or withdraws (a review: "Domnul
# Popescu nu poate participa, doresc să anulez înregistrarea lui" cancelled the writer). Not a past tense, which is
# anyone's ("Заместитель мэра хотел бы ..."), nor a word of another language ("BiH", "Jam", "Marr").
_SELF_VERB = re.compile(
    r"(?i:(?<!\w)(?:хочу|являюсь|работаю|планирую|желаю|працюю|планую|бажаю|želim|zelim|желим|radim|радим|planiram"
    r"|планирам|prijavljujem|пријављујем|искам|работя|желая|сакам|работам|doresc|vreau|lucrez|particip|dëshiroj"
    r"|deshiroj|punoj|\w+m[ae]k istiyorum|çalışıyorum|katılıyorum|katılacağım|\w+m[aə][kq] istəyirəm|işləyirəm"
    r"|çalışıram|მსურს|მინდა|ვმუშაობ|կցանկանայի|ցանկանում եմ|աշխատում եմ|θέλω|εργάζομαι|επιθυμώ)(?!\w))"
    r"|(?<!\w)(?:bih|бих)(?!\w)")   # (the conditional's "I", "želio bih", "бих искал": not "BiH")
_WITH_ME = re.compile(r"(?<!\w)(together with me|with me|me and|and me|me too|me as well|myself|zusammen mit mir"
                      r"|mit mir|mich und|und mich|mich auch|ich selbst|auch ich|и я|я также|я тоже|і я|я також|i ja"
                      r"|și eu|si eu|edhe unë|edhe une|მეც|ես նույնպես|ես էլ|mən də|и јас|и аз)(?!\w)")
_SOMEONE_ELSE = re.compile(r"(?<!\w)(he|she|his|him|her|er|seine?[nrms]?|он|она|его|её|ее|ihn)(?!\w)")
# "X will join instead of me": a clause about X, not about the sender attending
_INSTEAD = re.compile(r"(?<!\w)(instead of me|in my place|in my stead|an meiner stelle|statt meiner|anstelle von mir"
                      r"|take my place|takes my place|replace me|replaces me|be replaced by|hand over my registration"
                      r"|transfer my registration"
                      r"|вместо меня|замість мене|umjesto mene|umesto mene|уместо мене|наместо мене|вместо мен"
                      r"|në vend timin|në vendin tim|în locul meu|ჩემ(?:ს)? ნაცვლად|իմ փոխարեն|mənim yerimə"
                      r"|mənim əvəzimə|benim yerime)(?!\w)", re.IGNORECASE)
# ... or a bare "instead" that ends a clause naming nobody who writes: "My deputy X (x@...) will join instead." (not
# "our mayor cannot attend, so I will take part instead")
_BARE_INSTEAD = re.compile(r"(?<!\w)instead(?=\s*(?:[.!;)]|$))", re.IGNORECASE)   # (per clause: "..., as I am away")


def _gives_place(folded: str, before: str = "") -> bool:
    """Whether a sentence gives the sender's place to someone: "instead of me", "an meiner Stelle", or a bare
    "instead" at the end of a clause without "I" or "we"."""
    return bool(_INSTEAD.search(folded) or any(
        _BARE_INSTEAD.search(clause) and len(clause.split()) > 2 and not WE_OR_I.search(clause)
        for clause in _clauses(folded)) and not _ANOTHERS_PLACE.search(before + folded))


# a bare "instead" that gives someone else's place ("Our director was planning to come, but Ana will attend instead",
# "Mayor Ilić will be abroad. Please register Deputy Mayor X instead") or a part of the event ("my colleague will
# attend the rest of the session instead")
_ANOTHERS_PLACE = re.compile(r"(?<!\w)(?:(?<!deputy )mayor|director|head of|chief|boss|minister|rest of|second half"
                             r"|second part|leave at|after \d|после \d|nach \d|posle \d|poslije \d)", re.IGNORECASE)
_MAYBE_INSTEAD = re.compile(r"(?<!\w)(?:if|in case|should|falls|wenn|sollte|если|ako|dacă|eğer|αν|nëse)(?!\w)")
# people a cancellation may leave its place to without naming anyone ("give my place to someone else")
_ANYONE = frozenset({"someone", "somebody", "a person", "another person", "jemand..."})
_PRONOUNS = frozenset({"register her", "register him", "register * her", "register * him", "them",
                       "below"})   # "Lela's registration below ... register her"
_SELF_OBJECT = re.compile(r"(?<!\w)(me|myself|mich|mir|selbst)(?!\w)")
# Titles: dropped from names, and their dot is no sentence end.
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "herr", "herrn", "frau", "mag", "ing", "dipl", "z", "zj",
                     "g", "gđa", "gosp"})
_ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "prof", "mag", "ing", "dipl", "evtl", "ca", "bzw", "hr", "fr", "st", "nr",
                  r"z\.b", r"u\.a", "z", "zj", "g", "gđa", "gosp")
# The look-ahead (their first letters) gives the same matches, but the alternation is no longer
# tried at every position of the text: a third of this regex's time.
_ABBREVIATION = re.compile(rf"(?<!\w)(?=[{''.join(sorted({a[0] for a in _ABBREVIATIONS}))}])"
                           rf"({'|'.join(_ABBREVIATIONS)})\.(?=\s)", re.IGNORECASE)
# In a list item or a table row, a dot before a word in small letters ends no sentence: an abbreviation
# the list above lacks, as in "2. Мария Колева, гл. експерт – m.koleva@..." ("гл." chief), which cut the
# item from its name. (In running text it may: "I cannot attend. please register ...".)
_DOT_BEFORE_LOWER = re.compile(r"(?<=\w)\.(?=[ \t]+([^\W\d_]))")
# Capitalised words before a name that are roles, not the name.
_ROLES = frozenset({
    "deputy", "mayor", "head", "colleague", "colleagues", "director", "chief", "officer", "minister", "advisor",
    "adviser", "assistant", "manager", "our", "kollege", "kollegin", "kollegen", "bürgermeister", "bürgermeisterin",
    "oberbürgermeister", "oberbürgermeisterin", "leiter", "leiterin", "referent", "referentin", "bitte", "please",
    "sie", "und", "and",
})
# Local parts of shared mailboxes: an address made of these names no person.
_SHARED = frozenset({
    "info", "office", "team", "kontakt", "contact", "mail", "post", "poststelle", "sekretariat", "secretariat",
    "buero", "büro", "admin", "support", "it", "digital", "service", "services", "events", "event", "registration",
    "anmeldung", "hello", "press", "presse", "noreply", "no", "reply", "zentrale", "mayor", "kanzlei", "group",
})
ADDRESS = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
_WORD = re.compile(r"[^\W\d_][\w'’-]*\.?")
_CELL = re.compile(r"\s{2,}|\t|\s[–—-]\s|,\s|:\s|;\s|\(|\)|<|>")
_CLAUSE_END = re.compile(r"[,;–—()]|\s-\s|\s(?:but|however|aber|jedoch|sondern)\s")
_ABOUT = "behalf: "


@dataclass(frozen=True)
class Nominee:
    name: str
    address: str
    audience: str | None


@dataclass(frozen=True)
class Nominations:
    """Whom a mail registers on behalf of others; `unsure` says why a coordinator must settle it."""

    nominees: tuple[Nominee, ...]
    sender_attends: bool
    unsure: str = ""
    reasons: tuple[str, ...] = field(default_factory=tuple)
    sender_withdraws: bool = True   # in a cancellation: False when it withdraws someone else ("his registration")
    sender_replaced: bool = False   # "X will attend instead of me": the sender's own registration ends

    def as_dict(self) -> dict:
        return {"nominees": [{"name": n.name, "address": n.address, "audience": n.audience} for n in self.nominees],
                "sender_attends": self.sender_attends, "unsure": self.unsure, "sender_withdraws": self.sender_withdraws,
                "sender_replaced": self.sender_replaced}

    @classmethod
    def from_dict(cls, data: dict) -> Nominations:
        return cls(tuple(Nominee(n["name"], n["address"], n.get("audience")) for n in data.get("nominees", [])),
                   bool(data.get("sender_attends")), data.get("unsure", ""),
                   sender_withdraws=bool(data.get("sender_withdraws", True)),
                   sender_replaced=bool(data.get("sender_replaced")))


def read_nominations(
    message: IncomingMessage, written: Written, rules: Rules, intent: Intent, audience: str | None
) -> Nominations | None:
    """Whom the mail registers besides its sender, or None when it names nobody else (an ordinary mail).

    `intent` and `audience` are the classifier's for the sender: a question is the coordinator's
    to answer (None), and nominees in a cancellation are left to a coordinator (unsure).
    """
    if intent not in (Intent.INTEREST, Intent.OTHER, Intent.CANCELLATION):
        return None
    own = _ABBREVIATION.sub(lambda m: m.group(1), written.own)
    own = "\n".join(_DOT_BEFORE_LOWER.sub(lambda m: "" if m.group(1).islower() else ".", line)
                    if LIST_ITEM.match(line.strip()) or "\t" in line else line for line in own.split("\n"))
    said = sentences(own)
    interest = (*rules.classification.intents.interest, *_PARTICIPATION)
    negations = tuple(rules.classification.intents.negation)
    excluded = {a.lower() for a in rules.own_addresses} | {(message.sender or "").lower()}
    excluded |= {m.group(0).lower().rstrip(".") for m in ADDRESS.finditer(f"{written.signature}\n{written.footer}")}
    nominees: list[Nominee] = []
    doubts: list[str] = []
    reasons: list[str] = []
    covered: set[int] = set()       # sentences that name nominees (their third persons need no address)
    list_intro = False              # a registering sentence ending in ':' announces a list or table
    sender = (message.sender or "").lower()
    sender_listed = False           # the sender's own address among those a registering sentence lists
    for index, sentence in enumerate(said):
        folded = sentence.casefold()
        # (the words to register count only in a sentence with an address or one ending in ":", and an address
        # has an "@": most sentences are looked at no further)
        has_address = "@" in sentence
        found = [m for m in ADDRESS.finditer(sentence) if m.group(0).lower().rstrip(".") not in excluded] \
            if has_address else []
        registers = (has_address or folded.rstrip().endswith(":")) and bool(find(interest, folded))
        # the sender's own line in the list or table ("I put myself in the table too")
        sender_listed |= ((registers or list_intro) and ("\t" in sentence or bool(LIST_ITEM.match(sentence.strip())))
                          and any(m.group(0).lower().rstrip(".") == sender for m in ADDRESS.finditer(sentence)))
        if found and (registers or list_intro):
            for match in found:
                # Read the part of the sentence the address is in: "I cannot attend, but please register X (x@...)".
                part = _part_with(sentence, match.start())
                reading = read_statements(part, "", interest, (), (), negations)
                if reading.declines or reading.withdraws:
                    if _INSTEAD.search(part):   # "I can't attend, X will attend in my place: x@...": a coordinator's
                        doubts.append(f"someone named in the sender's place: {part.strip()[:80]!r}")
                    continue
                if reading.hedged:
                    doubts.append(f"tentative: {part.strip()[:80]!r}")
                nominee, why = _nominee(sentence, match, audience, rules)
                if nominee is None:
                    doubts.append(why)
                elif all(n.address != nominee.address for n in nominees):
                    nominees.append(nominee)
                    reasons.append(_ABOUT + why)
            covered.add(index)
        if registers and folded.rstrip().endswith(":"):
            list_intro = True
    names = [n.name.casefold() for n in nominees]
    may_name = _REGISTERING_VERB.search(own) is not None   # _named() finds nobody without one
    author: tuple[str, str] | tuple[()] | None = None       # the forwarded mail's author, once needed
    for index, sentence in enumerate(said):
        if index in covered or (list_intro and nominees and sentence.rstrip().endswith(":")):
            continue
        for clause in _clauses(sentence):
            folded = clause.casefold()
            named = _named(clause) if may_name else ""
            third = find(_THIRD_PERSON, folded)
            if any(name and name in folded for name in names) or not (third or named):
                continue
            if third in _ONE_PERSON and not named and nominees and any(find((third,), said[i].casefold())
                                                                      for i in covered):
                continue   # "The Mayor will join": the mayor a sentence with an address named
            if not find(interest, folded):
                continue   # registering someone, or hedging it, takes one of these words ("Dear Mr. X")
            # ("my deputy will join instead of me": the "me" of taking the place is no sender who joins)
            mine = first_person(_INSTEAD.sub(" ", clause)) or (
                intent != Intent.CANCELLATION and _self_verb_alone(clause, folded))
            if mine and (not find(_REGISTERING, folded) or _registers_self(folded)):
                continue   # "I will join on behalf of the team", "I am Deputy Mayor and would like to register for"
            if intent == Intent.CANCELLATION:
                # "give my place to someone else" names nobody; "Mr Beridze cannot attend" is someone else's
                if named or third not in _ANYONE:
                    doubts.append(f"someone else in a cancellation: {folded.strip()[:80]!r}")
                continue
            reading = read_statements(folded, "", interest, (), (), negations)
            if not (reading.registers or reading.hedged):
                continue
            if author is None:   # read once, where a mail asks to register someone unnamed
                author = _forwarded_author(written.quoted, excluded) or ()
            if author and reading.registers and third in _PRONOUNS and _named_in(author[0], own.casefold()):
                # "Lela's registration below ... could you please register her?": the forwarded mail's
                # author (not "my colleague", who may be anyone, nor someone the own text does not name)
                if all(n.address != author[1] for n in nominees):
                    chosen, evidence = _audience_of(author[1], audience, rules)
                    nominees.append(Nominee(author[0], author[1], chosen))
                    reasons.append(f"{_ABOUT}registers {author[0]} <{author[1]}> (the forwarded mail's author"
                                   f"{evidence})")
                continue
            doubts.append(f"someone to register without an address: {folded.strip()[:80]!r}")
    if not nominees and not doubts:
        return None
    attends, attend_why = _sender_attends(said, nominees, interest, negations)
    withdraws = True
    if intent == Intent.CANCELLATION:   # a coordinator who confirms the others must not register them again
        attends, attend_why = False, "the sender withdraws"
        withdraws = _sender_withdraws(said, interest, tuple(rules.classification.intents.cancellation), negations)
        if not withdraws:   # "Mr Beridze cannot attend, please cancel his registration"
            attend_why = "the withdrawal is someone else's, not the sender's"
            doubts.append(attend_why)
    if sender_listed and attend_why.startswith("the sender does not say"):
        attends, attend_why = True, "the sender lists their own address with the others"
    reasons.append(_ABOUT + attend_why)
    if attend_why.startswith("the sender may"):
        doubts.append(attend_why)
    if intent == Intent.CANCELLATION and nominees and withdraws:
        doubts.append("the sender withdraws and names others")
    templates: tuple[tuple[OnBehalfKind, set[str | None]], ...] = (
        ("summary", {audience}), ("confirmation", {n.audience for n in nominees}))
    for kind, needed in templates:
        for missing in sorted(a or "" for a in needed if not rules.on_behalf.get(kind, {}).get(a or "")):
            doubts.append(f"rules.yaml has no on_behalf.{kind} template for {missing or 'no audience'}")
    unsure = "; ".join(dict.fromkeys(doubts))
    if unsure:
        reasons.append(f"{_ABOUT}unsure ({unsure}): nobody registered, for a coordinator to settle")
    # (in a cancellation the sender withdraws anyway)
    # (said of taking part, not only maybe: "If I cannot make it, she will attend instead of me" and "she will give
    # the presentation instead of me" end no registration)
    replaced = bool(nominees) and not attends and intent != Intent.CANCELLATION and any(
        _gives_place(folded, said[i - 1].casefold() if i else "") and find(interest, folded)
        and not _MAYBE_INSTEAD.search(folded) for i, folded in enumerate(map(str.casefold, said)))
    if replaced:
        reasons.append(f"{_ABOUT}someone takes the sender's place: the sender's own registration is cancelled")
    return Nominations(tuple(nominees), attends, unsure, tuple(reasons), withdraws, replaced)


def _nominee(sentence: str, match: re.Match, audience: str | None, rules: Rules) -> tuple[Nominee | None, str]:
    """The person an address in a sentence belongs to, or None with why not."""
    raw = match.group(0).rstrip(".")
    try:
        address = normalize_address(raw)
    except InvalidAddress:
        return None, f"not a valid address: {raw!r}"
    name, where = _name_for(sentence, match.start(), match.end(), address)
    if not name:
        return None, f"an address without a name: {address}"
    chosen, evidence = _audience_of(address, audience, rules)
    return Nominee(name, address, chosen), f"registers {name} <{address}> ({where}{evidence})"


def _name_for(sentence: str, start: int, end: int, address: str) -> tuple[str, str]:
    """The name next to an address: before it ("Mr Giorgi Beridze (g.beridze@...)"), at the start of
    its list item or table row ("Natalia Ceban   Head of ...   natalia.ceban@..."), or after it in
    brackets. A name whose words match the address's local part wins."""
    local = address.rpartition("@")[0]
    tokens = [t for t in re.split(r"[._+\-]|\d+", _fold(local)) if t]
    before = sentence[:start]
    previous = list(ADDRESS.finditer(before))
    if previous:
        before = before[previous[-1].end():]
    cells = _CELL.split(re.sub(r"[\s(<\[:,;–—-]+$", "", before))
    adjacent = _run(cells[-1] if cells else "")
    item = LIST_ITEM.sub("", sentence)
    first_cell = _CELL.split(item, maxsplit=1)[0] if not previous else ""
    leading = _run(first_cell) if first_cell.strip() and _run(first_cell) == _words(first_cell) else []
    after = re.match(r"\s*[(<\[]([^)>\]]{2,60})[)>\]]", sentence[end:])
    bracketed = _run(after.group(1)) if after else []
    for words, where in ((adjacent, "the name before the address"), (leading, "the name that starts its line"),
                         (bracketed, "the name after the address")):
        named = _matching(words, tokens)
        if named:
            return named, where
    # "on behalf of Mayor Giorgi Shengelia, please register him ...: g.shengelia@...": a name further
    # back in the sentence, taken only when its words match the address.
    # A first name alone, far from the address, may be someone else's: both parts of the address must match.
    for words in reversed(_runs(before)) if len(tokens) >= 2 else []:
        named = _matching(words, tokens)
        parts = [_fold(part) for word in named.split() for part in word.split("-")]   # "Anna-Maria"
        if named and all(any(part == token or len(token) == 1 and part.startswith(token) for part in parts)
                         for token in tokens):
            return named, "the name in its sentence that matches the address"
    if any(t in _SHARED for t in tokens) or not tokens:
        return "", ""
    in_brackets = bool(re.search(r"[(<\[]\s*$", sentence[:start]))
    fallbacks = [(adjacent, "the name before the address"), (leading, "the name that starts its line")]
    for words, where in [*(fallbacks if in_brackets else fallbacks[::-1]), (bracketed, "the name after the address")]:
        named = _unmatched(words)
        if named:
            return named, where + ", not matching the address"
    return "", ""


def _capital(word: str) -> bool:
    """Capitalised, or written in Georgian, whose script has no capitals in names."""
    first = word[:1]
    return first.isupper() or "\u10d0" <= first <= "\u10ff"


def _words(text: str) -> list[str]:
    return [w.rstrip(".") for w in _WORD.findall(text)]


def _run(text: str) -> list[str]:
    """The capitalised words at the end of a text (a name, possibly after titles and roles)."""
    words = _words(text)
    run: list[str] = []
    for word in reversed(words):
        if not _capital(word) and word.casefold() not in _TITLES:
            break
        run.insert(0, word)
    return run


def _runs(text: str) -> list[list[str]]:
    """Every run of capitalised words in a text."""
    runs: list[list[str]] = [[]]
    for word in _words(text):
        if _capital(word):
            runs[-1].append(word)
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _matching(words: list[str], tokens: list[str]) -> str:
    """The name within `words` whose words match the local part (g.beridze: Giorgi Beridze)."""
    def matches(word: str) -> bool:
        folded = _fold(word)
        return any(t == folded or (len(t) == 1 and folded.startswith(t)) or (len(folded) >= 3 and folded in t)
                   for t in tokens)

    hits = [i for i, w in enumerate(words) if matches(w)]
    if not hits:
        return ""
    first = hits[0]
    while first > 0 and words[first - 1].casefold() not in _TITLES | _ROLES and _capital(words[first - 1]):
        first -= 1
    return " ".join(words[first:])


def _unmatched(words: list[str]) -> str:
    """A name that does not match the address: the words after the last title, else the last
    two or three that are no role."""
    titles = [i for i, w in enumerate(words) if w.casefold() in _TITLES]
    if titles:
        words = words[titles[-1] + 1:]
    kept: list[str] = []
    for word in reversed(words):
        if word.casefold() in _TITLES | _ROLES or len(kept) == 3:
            break
        kept.insert(0, word)
    return " ".join(kept) if len(kept) >= 2 else ""


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


# The first "From:" of a forwarded or quoted mail, as the clients write it in the event's languages
_QUOTED_FROM = re.compile(r"^\s*(?:from|von|от|od|de|nga|від|від кого|от кого)\s*:\s*(.*)$",
                          re.IGNORECASE | re.MULTILINE)


def _forwarded_author(quoted: str, excluded: set[str]) -> tuple[str, str] | None:
    """(name, address) from the quoted mail's first From line, when it names one person who is not the
    sender nor one of us: whom "register her" means in a forward of her registration."""
    found = _QUOTED_FROM.search(quoted)
    if not found:
        return None
    pairs = email.utils.getaddresses([found.group(1)])
    if len(pairs) != 1 or not pairs[0][0].strip():
        return None
    name, raw = pairs[0][0].strip(), pairs[0][1]
    try:
        address = normalize_address(raw)
    except InvalidAddress:
        return None
    return None if address.lower() in excluded else (name, address)


def _named_in(name: str, folded: str) -> bool:
    """The name, or its first word ("Lela's registration below"), in a casefolded text."""
    words = name.casefold().split()
    return any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", folded) for w in {words[0], " ".join(words)})


def _audience_of(address: str, audience: str | None, rules: Rules) -> tuple[str | None, str]:
    """The sender's audience, unless the nominee's domain is evidence for another one."""
    domain = domain_of(address)
    for name, evidence in rules.classification.audiences.items():
        if name == audience:
            continue
        if any(domain == d.lower().lstrip("@.") or domain.endswith("." + d.lower().lstrip("@."))
               for d in evidence.domains):
            return name, f"; {domain} is listed for {name}"
        if any(domain.endswith("." + t.lower().lstrip(".")) for t in evidence.tlds):
            return name, f"; {domain} is a country domain of {name}"
    return audience, ""


def _clauses(sentence: str) -> list[str]:
    return [c for c in _CLAUSE_END.split(sentence) if c and c.strip()]


_PART_END = re.compile(r";|\s[–—]\s|,?\s(?:but|however|aber|jedoch|sondern|so|therefore|deshalb|daher|darum"
                       r"|поэтому|тому|zato|stoga|prandaj|de aceea|прето|затова|ამიტომ|ուստի|buna görə)\s",
                       re.IGNORECASE)
# "I will not attend and (I) would like to register X": after it the writer goes on to someone else, so an
# address after it is read without what came before; one before it keeps what follows ("my colleague X and I
# cannot attend": X declines too).
_GOES_ON = re.compile(r",?\s(?:and|und)\s(?=(?:i|ich|we|wir|would|möchte|please|bitte)\s)", re.IGNORECASE)
# "register [also my colleague] Armen Hakobyan": a name right after a registering verb.
_REGISTERING_VERB = re.compile(r"(?i:register|anmelden|melden sie|melde ich)")
_AFTER_REGISTERING = re.compile(
    _REGISTERING_VERB.pattern + r"\s+(?:(?i:also|too|please|our|my|the|auch|zusätzlich|noch|bitte"
    r"|meine[nr]?|unsere[nr]?|den|die|colleagues?|kolleg\w*|herrn?|frau|mrs?|ms|dr|prof)\.?\s+)*"
    r"([^\W\d_][\w'’-]+)\s+([^\W\d_][\w'’-]+)")


def _part_with(sentence: str, at: int) -> str:
    """The part of a sentence, between ';', dashes and 'but' (or from an "and I would like to"), that holds
    position `at`."""
    start = max((m.end() for m in _GOES_ON.finditer(sentence, 0, at)), default=0)
    for end in _PART_END.finditer(sentence):
        if end.start() >= at:
            return sentence[start:end.start()]
        start = max(start, end.end())
    return sentence[start:]


def _third_at(folded: str) -> int:
    """Where the first third person of a casefolded clause is named, or -1."""
    found = compile_patterns(_THIRD_PERSON)[0].search(folded)
    return found.start() if found else -1


def first_person(clause: str) -> bool:
    """Whether the text speaks of its writer: I, me, ich, mich, я ... (in the region's languages too)."""
    return bool(_I.search(clause) or _FIRST_PERSON.search(clause.casefold()))


# The sender's own registration: "register (me) for/to ...", "register myself", "mich ... anmelden", "melde mich"
_OWN_REGISTRATION = re.compile(
    r"(?<!\w)(?:register|sign up)(?: (?:me|myself|us|ourselves))?(?: (?:also|too|please))? (?:for|to|in|at|on|as)(?!\w)"
    r"(?! behalf| the name)"
    r"|(?<!\w)(?:register|sign up) (?:me|myself)(?!\w)"
    r"|(?<!\w)(?:mich|uns)(?!\w).{0,60}?(?<!\w)an(?:zu)?melden(?!\w)|(?<!\w)melde (?:mich|uns)(?!\w)"
    # ... oneself, in the languages that drop the pronoun: "se prijaviti", "да се регистрирам", "să mă înscriu"
    r"|(?<!\w)(?:se prijavi\w*|prijaviti se|пријавити се|се пријави\w*|се регистрира\w*|mă înscriu|mă înregistrez"
    r"|të regjistrohem|(?:зарегистрир\w*|запиш\w*|зареєстр\w*) (?:меня|мене)|prijavite me|пријавите ме"
    r"|înscrieți-mă|înregistrați-mă|regjistroni mua|beni kaydedin|məni qeydiyyata|ինձ գրանցել|με εγγράψετε)(?!\w)")
# ... with someone else besides: "register me and Dr. Beridze", "together with my colleague", "mit meiner Kollegin"
_NOT_PRONOUNS = compile_patterns(tuple(p for p in _THIRD_PERSON if p not in _PRONOUNS))[0]   # (each of them)
_BESIDES = re.compile(r"(?<!\w)(?:and|with|together|along|und|mit|sowie|plus|sa|и|с|со|și|cu|dhe|bashkë me|ve|ile|və"
                      r"|ilə|და|և|ու|και|με)\s+(?:\S+\s+){0,2}$")


def _registers_self(folded: str) -> bool:
    """Whether a first-person clause registers its writer, the third person's word only describing them or the
    event ("My name is Dr. Tamar Kiknadze and I would like to register for the event", "I work at the Mayor's
    Office ...", "please register me for the MS Teams session", "ich möchte mich für folgende Veranstaltung
    anmelden"): 20 of 40 such registrations were someone else's to settle, nobody registered, nothing answered."""
    return _OWN_REGISTRATION.search(folded) is not None and not _besides_someone(folded) \
        and not _WITH_ME.search(folded) and not _ON_BEHALF.search(folded)   # ("unseren Bürgermeister und mich")


_ON_BEHALF = re.compile(r"(?<!\w)(?:on behalf of|in the name of|im auftrag|im namen)(?!\w)")
_ADDS_SOMEONE = re.compile(r"(?<!\w)(?:внести|добавить|додати|dodati|добавя|додадам|adaug|adăuga|adauga|adăugat"
                           r"|adăugată|shtoj|eklemek|kaydettirmek|əlavə etmək|დამატება|ավելացնել|hinzufügen"
                           r"|προσθέσ\w*)(?!\w)")


def _self_verb_alone(clause: str, folded: str) -> bool:
    """Whether the writer's own verb (`_SELF_VERB`) is the clause's last word of a person: "Являюсь сотрудником
    мэрии и хочу принять участие" is the writer's, "Želim da naš gradonačelnik učestvuje" the mayor's."""
    verbs = list(_SELF_VERB.finditer(clause))
    if not verbs or _besides_someone(folded):
        return False
    after = clause[verbs[-1].end():].casefold()
    # (nor one that adds someone named before it to the list: "Нашего мэра хочу внести в список участников",
    # "Pe colegul meu doresc să îl adaug", "Başkanımızı da kaydettirmek istiyorum"; "on behalf of the mayor I want
    # to take part" is the writer's)
    return _NOT_PRONOUNS.search(after) is None and not _ADDS_SOMEONE.search(folded)


def _besides_someone(folded: str) -> bool:
    """Whether "and", "with" ... bring a third person in ("register me and Dr. Beridze", "вместе с коллегой")."""
    return any(_BESIDES.search(folded[:found.start()]) for found in _NOT_PRONOUNS.finditer(folded))


def _named(clause: str) -> str:
    """A person's name right after a registering verb ("please register Armen Hakobyan"), or ''."""
    found = _AFTER_REGISTERING.search(clause)
    if found and all(w[:1].isupper() and w not in ("I", "IT") for w in found.groups()):
        return f"{found.group(1)} {found.group(2)}"
    return ""


def _sender_withdraws(said: list[str], interest: tuple[str, ...], cancellation: tuple[str, ...],
                      negations: tuple[str, ...]) -> bool:
    """Whether a clause about the sender ("I", "me", "my registration") withdraws or declines: else a
    cancellation withdraws someone else ("Mr Beridze cannot attend, please cancel his registration")."""
    # (where the mail gives the sender's place away, "вместо мен", a clause naming nobody is the sender's too:
    # "за съжаление няма да мога да участвам", the verb says who)
    instead = any(_INSTEAD.search(sentence) for sentence in said)
    about_sender = [clause for sentence in said for clause in _clauses(sentence)
                    if (first_person(clause) or MINE.search(clause.casefold())
                        or instead and not (find(_THIRD_PERSON, clause.casefold()) or "@" in clause))
                    and not _SOMEONE_ELSE.search(clause.casefold())]   # "Mr B asked me to say he cannot attend"
    reading = read_statements("\n".join(about_sender), "", interest, (), cancellation, negations)
    return bool(reading.withdraws or reading.declines)


# Why the sender gives their place: "I will be replaced by X as I have to attend a session of the council" (the
# session's "attend" registered the sender too), "Da ich an einer Sitzung teilnehmen muss, vertritt mich X"
_BECAUSE = (r"(?:as|because|since|da|weil|denn|jer|јер|zato što|потому что|так как|поскольку|бо|оскільки|"
            r"pentru că|deoarece|întrucât|sepse|pasi që|çünkü|zira|γιατί|επειδή|καθώς|რადგან|რაკი|որովհետև|"
            r"քանի որ|çünki|тъй като|защото|бидејќи|зашто)")
_REASON_AFTER = re.compile(rf"(?<!\w){_BECAUSE}(?!\w)", re.IGNORECASE)
_REASON_FIRST = re.compile(rf"^\W*{_BECAUSE}(?!\w)[^,;]*[,;]", re.IGNORECASE)


def _without_reason(sentence: str) -> str:
    """A sentence that gives the sender's place without its reason, which is no word of theirs on taking part."""
    if not (instead := _INSTEAD.search(sentence)) or _MAYBE_INSTEAD.search(sentence.casefold()):
        return sentence
    if (first := _REASON_FIRST.match(sentence)) and first.end() <= instead.start():
        return sentence[first.end():]
    after = _REASON_AFTER.search(sentence, instead.end())
    return sentence[:after.start()] if after else sentence


def _sender_attends(
    said: list[str], nominees: list[Nominee], interest: tuple[str, ...], negations: tuple[str, ...]
) -> tuple[bool, str]:
    """Whether a clause about the sender says they attend: first person, and not "I register <someone>"
    unless "me"/"myself"/"mich"/"selbst" is in it too."""
    names = [n.name.casefold() for n in nominees]
    about_sender = []
    for sentence in map(_without_reason, said):
        for clause in _clauses(sentence):
            instead = _INSTEAD.search(clause)   # "X will join instead of me (because I am away)" is about X
            if not first_person(clause[:instead.start()] if instead else clause):
                continue
            clause = clause.casefold()
            third = find(_THIRD_PERSON, clause) or "@" in clause or any(name in clause for name in names)
            registering = list(compile_patterns(_REGISTERING)[0].finditer(clause)) if third else []
            if registering and not _SELF_OBJECT.search(clause):
                # what the sender says of themselves before registering someone: "I will gladly attend (I would
                # like to register for the event) and I would also like to register my colleague X" (the writer
                # was told they were not registered): up to the registering word nearest before the other person
                other = min([i for i in (_third_at(clause), clause.find("@"), *(clause.find(n) for n in names))
                             if i >= 0], default=len(clause))
                before = clause[:max((m.start() for m in registering if m.start() < other),
                                     default=registering[0].start())]
                if not (find(_THIRD_PERSON, before) or "@" in before or any(name in before for name in names)):
                    about_sender.append(before.strip())
                continue
            about_sender.append(clause.strip())
        for part in map(str.casefold, _PART_END.split(sentence)):
            if part and _WITH_ME.search(part):   # "register X (x@...) together with me", "mich und meine Kollegin"
                about_sender.append(part.strip())
    reading = read_statements("\n".join(about_sender), "", interest, (), (), negations)
    # ("Я зарегистрирована ..., но не смогу участвовать. Прошу зарегистрировать вместо меня X": registered before)
    if reading.registers and any(_INSTEAD.search(s) for s in said):
        whole = read_statements("\n".join(said), "", interest, (), (), negations)
        given_away = bool(whole.declines or whole.withdraws) and not any(
            _INSTEAD.search(s) and _ANOTHERS_PLACE.search(s.casefold()) for s in said)
    else:
        given_away = False
    if reading.registers and not given_away:
        return True, f"the sender attends too ({reading.registers!r})"
    if reading.hedged:
        return False, f"the sender may attend ({reading.hedged!r})"
    if reading.declines or reading.withdraws:
        return False, f"the sender does not attend ({reading.declines or reading.withdraws!r})"
    return False, "the sender does not say they attend: only the people named are registered"
