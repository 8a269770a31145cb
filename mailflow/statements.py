"""What each sentence of the writer's own text states: registers, withdraws, declines or asks.

Word lists come from rules.yaml (coordinators extend them); negation is built in,
so no edit of those lists can break it. A sentence is read clause by clause
(commas, "but", "aber", "но" ... end a clause): a participation word with a
negation in its clause ("no longer able to attend", "leider doch nicht
teilnehmen", "не смогу принять участие") is not a registration. The decision for
one sentence, in this order (README "How mailflow reads a mail"):

1. withdraws: a cancellation word that is not negated ("please cancel", "I have to
   withdraw my registration"; in a question only with a "please": "could you
   please cancel my registration?"), or a negated participation with a word that
   says it was meant before ("no longer", "after all", "nicht mehr", "больше не",
   "više ne", "nu mai") or in reply to a mail mailflow sent;
2. declines: any other negated participation ("we cannot participate this time");
3. asks: a question (ends in "?", or a question word that is not negated: "no
   questions" asks nothing), unless it is a polite request to register ("could you
   please register me?");
4. registers: a participation word, not negated and not hedged ("maybe",
   "before we register", "if"); one in a clause of its own before what the sentence asks does
   both ("I would like to attend, will there be interpretation?", _asks_after).

A polite request not to cancel ("please don't cancel my registration") keeps the registration: no refusal
in the mail withdraws or declines (a request to cancel still does). The mail: withdraws anywhere ->
cancellation; else registers -> interest (and a question too when a sentence asks); else asks -> question;
else declines -> other.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .text import sentences
from .wordlists import deferred, either, factor, factored, letter_led


class Statement(StrEnum):
    WITHDRAWS = "withdraws"
    DECLINES = "declines"
    ASKS = "asks"
    REGISTERS = "registers"
    HEDGED = "hedged"
    CANCELS = "cancels"   # withdraws for sure ("please cancel my registration", "I can no longer attend")
    KEEPS = "keeps"   # "please don't cancel my registration": no refusal in the mail withdraws
    PARTLY = "partly"   # "I cannot attend the first part", "my colleague cannot attend": for a coordinator
    REQUESTS = "requests"   # in reply to our mail, "please resend the agenda": for a coordinator, unless it withdraws


STEM_MARK = "..."   # at the end of a pattern's word: any ending ("participat..." finds "participation")
FEW_WORDS = " * "   # between words of a pattern: a few words in between ("nehme * teil")

# Built in, per language; regular expressions over casefolded text, matched as whole words.
_NEGATIONS = [
    # English, German, Italian/French/Spanish/Polish/Czech
    r"not", r"\w+n[’']t", r"cannot", r"never", r"no", r"unable", r"neither", r"nor", r"nobody", r"niemand",
    r"nicht", r"kein\w*", r"nie", r"niemals", r"verhindert", r"non", r"pas",
    # Russian, Ukrainian, Bulgarian, Macedonian, Serbian Cyrillic
    r"не", r"ни", r"нет", r"нельзя", r"ні", r"немає", r"няма", r"нямам", r"нема", r"немам", r"нисам", r"нећу",
    r"нећемо", r"неће", r"никто", r"ніхто", r"никой", r"никој", r"нико",
    # Serbian, Croatian, Bosnian (Latin)
    r"ne", r"neću", r"necu", r"nećemo", r"necemo", r"neće", r"nisam", r"nismo", r"nije", r"nemam", r"nema", r"ni",
    r"nemoj\w*", r"немој\w*", r"nijesam", r"nijesmo", r"nijesu", r"nijeste", r"nijesi", r"niko", r"nitko",
    # Albanian, Romanian
    r"nuk", r"s[’'](?=\w)\w*", r"mos", r"jo", r"nu", r"askush", r"nimeni",
    # Armenian: the negative prefix չ- (չեմ, չենք, չի ...), ոչ
    r"չ\w*", r"ոչ",
    # Georgian: არ (not), ვერ (cannot), ვეღარ/აღარ (no longer), არც/ვერც
    r"არ", r"ვერ", r"ვეღარ", r"აღარ", r"არც", r"ვერც", r"ნუ", r"არავინ",
    # Azerbaijani: negation is a verb suffix (bilməyəcəyəm, etməyəcəyəm, olmayacaq), plus deyil, yox, heç
    # (not the infinitive and its forms: "iştirak etmək istəyirəm", "etməyə hazıram", "etməliyəm" register)
    r"\w*bilmə(?!k|li|si|y[əi](?!\w))\w*", r"\w*bilmir\w*",
    r"\w*etmə(?!k|li|si|y[əi](?!\w))\w*", r"olma[ymz]\w*", r"deyil\w*", r"yox", r"heç",
    # Turkish, also a verb suffix, read on the verbs of taking part only ("Kayıt linki çalışmıyor", the link
    # does not work, negates no participation): katılamayacağım, katılmayacağım, katılamıyorum, katılmadım,
    # gelemeyeceğim; değil, hayır
    r"katıl(?:a)?m(?:ay|az|ad|ıy|a(?!\w))\w*", r"katılam\w*", r"gel(?:e)?m(?:ey|ez|ed|iy)\w*", r"gelem\w*",
    r"sağlayama\w*", r"etmeyin\w*", r"yapmayın\w*", r"değil\w*", r"hayır",
    # ... and typed without the Turkish letters (katilamayacagim, katilamiyorum, degil)
    r"katil(?:a)?m(?:ay|az|ad|iy|a(?!\w))\w*", r"katilam\w*", r"degil\w*", r"hayir",
    # Greek; Armenian and Bulgarian typed in Latin letters
    r"δεν", r"όχι", r"μην", r"μη", r"ούτε", r"chem", r"chenq", r"voch", r"nyama", r"niama",
]
# Negation words that negate nothing here ("can't wait to join", "not only ... but").
# What was promised and may not have come (the link, the agenda)
_PROMISED_WORDS = r"agenda|programme|program|details|access|password|passcode|passwort|kenncode|пароль|zugang\w*" \
                  r"|einwahldaten|tagesordnung|programm|ссылк\w*" \
                  r"|линк\w*|программ\w*|повестк\w*|посиланн\w*|програм\w*|dnevni red|poveznic\w*|axhend\w*" \
                  r"|ბმულ\w*|հղում\w*"
_PROMISED = r"\w{0,30}link\w{0,30}|" + _PROMISED_WORDS   # (bounded: a long word of "linklink..." stays linear)
# Not receiving or finding something (a link, the agenda): refuses no participation
_NOT_RECEIVED = [
    r"(?:did not|didn[’']t|have not|haven[’']t|has not|hasn[’']t|not yet|never) "
    r"(?:receive[d]?|get|got|gotten|find|found)",
    r"nicht (?:erhalten|bekommen|gefunden)", r"не (?:получил\w*|пришл\w*|нашл\w*|нашёл)", r"не отрима\w*",
    r"nisam (?:dobi\w*|primi\w*)", r"δεν (?:έλαβα|πήρα|βρήκα)",
]
# ... and more ways to say so, read only as a problem report (not as negating nothing: "Още не съм получила
# разрешение да участвам" refuses)
_NOT_RECEIVED_TOO = [r"(?:could not|couldn[’']t|can[’']t|cannot|can not) find", r"nu am primit",
                     r"не съм получил\w*", r"ne sam poluchil\w*", r"не сум добил\w*"]
_NOT_NEGATING = [
    *_NOT_RECEIVED,
    # Turkish: "may not be able" (katılamayabilirim), "whether I can attend or not" (katılıp katılamayacağımı)
    r"\w*(?:ayabil|eyebil)\w*", r"katılıp katılama\w*",
    r"can[’']?t wait", r"cannot wait", r"not only", r"no problem", r"no doubt", r"nicht nur", r"kein problem",
    # "nothing (has) changed" on the writer's side
    r"ნუ შეწუხდებით", r"ნუ გეწყინებათ", r"ნუ ღელავთ",   # Georgian "don't worry", "sorry"
    r"nothing (?:has )?changed", r"nichts (?:hat sich )?geändert", r"ничего не изменилось",
    r"ništa (?:se )?nije promijenilo", r"ništa se nije promenilo", r"nimic nu s-a schimbat",
    r"не только", r"не лише", r"не само", r"ne samo", r"jo vetëm", r"nu numai", r"nu doar",
    r"ne možemo dočekati", r"why not", r"warum nicht", r"nemoj(?:te)? zaboraviti", r"nemoj(?:te)? se ustru[čc]avati",
    # Romanian "ne" is "us", not the Serbian and Croatian "not": "să ne înscrieți" (register us), "ne-am dori"
    r"să ne", r"sa ne", r"ne-(?:am|ai|a|ați|ati|ar|au|o)", r"ne interesează", r"ne intereseaza", r"ne bucurăm",
    r"ne bucuram", r"ne face plăcere", r"ne face placere", r"ne puteți", r"ne puteti",
    # Albanian "ne" is "we": "ne do të marrim pjesë" (we will take part)
    r"ne do t[ëe]", r"ne jemi", r"ne kemi", r"ne dëshirojmë", r"ne deshirojme",
    # The polite Russian and Ukrainian request is a negated question: "не могли бы вы меня
    # зарегистрировать?" (could you register me?), "нельзя ли" (would it be possible)
    r"не могли бы", r"не могла бы", r"не мог бы", r"не могли б", r"не змогли б", r"не можете ли",
    r"нельзя ли", r"не подскажете", r"не підкажете",
]
# Words that say the writer had meant to come: with a negation they withdraw, not decline.
_WITHDRAWAL_MARKERS = [
    r"no longer", r"anymore", r"any more", r"after all", r"any longer", r"no more",
    r"nicht mehr", r"doch nicht", r"leider doch", r"kein\w* mehr", r"nun doch",
    r"больше не", r"уже не", r"всё[- ]таки", r"все[- ]таки", r"більше не", r"вже не", r"все ж",
    r"više", r"ipak", r"вече", r"повече не", r"все пак", r"веќе", r"сепак", r"више не", r"ипак",
    r"më(?!\s*\d)", r"megjithatë", r"nu mai", r"totuși", r"totusi",
    r"ვეღარ", r"აღარ", r"այլևս", r"այլեւս", r"artıq", r"daha", r"повеќе", r"artık", r"πλέον", r"τελικά",
]
# Words that put a participation off to another event: "we would be glad to join next time" ("and in
# future events" adds to this one).
_ANOTHER_TIME = [
    r"next time", r"another time", r"nächstes mal", r"beim nächsten mal", r"ein andermal", r"в следующий раз",
    r"в другой раз", r"наступного разу",
    r"іншим разом", r"sljedeći put", r"sledeći put", r"sledeci put", r"sljedeci put", r"следећи пут",
    r"следниот пат", r"следващия път", r"herën tjetër", r"heren tjeter", r"data viitoare", r"altă dată",
    r"next edition", r"next year", r"nächstes jahr", r"в следующем году", r"наступного року",
]
# Words that make a participation tentative: "maybe", "before we register", "if".
_HEDGES = [
    r"maybe", r"perhaps", r"possibly", r"might", r"may", r"whether", r"if", r"before", r"consider\w*",
    r"vielleicht", r"eventuell", r"möglicherweise", r"ob", r"falls", r"wenn", r"bevor", r"überlegen",
    r"может быть", r"возможно", r"если", r"ли", r"перед тем", r"можливо", r"якщо", r"чи",
    r"možda", r"mozda", r"ako", r"pre nego", r"prije nego", r"можда", r"ако", r"можеби", r"може би",
    r"ndoshta", r"nëse", r"nese", r"para se", r"poate", r"dacă", r"daca", r"înainte", r"inainte",
    r"bəlkə", r"əgər", r"միգուցե", r"գուցե", r"եթե", r"შეიძლება", r"თუ", r"იქნებ",
    r"αν", r"εάν", r"εαν", r"ίσωσ", r"ισωσ", r"μήπωσ", r"μηπωσ", r"belki", r"eğer", r"eger",
    # "before we register"
    r"прежде чем", r"до того как", r"перш ніж", r"перед тим", r"пред да", r"преди да", r"пре него",
    r"прије него", r"përpara se", r"înainte să", r"înainte de a", r"մինչ", r"մինչև", r"სანამ", r"əvvəl",
    # "we will decide who takes part"
    r"decide\w*", r"determine\w*", r"entscheid\w*", r"решим", r"решить", r"определ\w*", r"визнач\w*", r"виріш\w*",
    r"odluč\w*", r"odluc\w*", r"одлуч\w*",
    r"vendos\w*", r"decid\w*", r"որոշ\w*", r"გადავწყვ\w*", r"გადაწყვ\w*", r"qərar\w*",
    r"αποφασ\w*",
]
# A please makes a question a request ("could you please register me?").
_PLEASE = [
    r"please", r"kindly", r"bitte", r"пожалуйста", r"прошу", r"будь ласка", r"molim", r"молим",
    r"ju lutem", r"ju lus", r"vă rog", r"va rog", r"ве молам", r"моля", r"xahiş", r"խնդրում եմ", r"გთხოვთ",
    r"lütfen", r"rica ederim", r"παρακαλώ", r"khndrum em", r"xndrum em", r"proshu", r"pozhaluysta", r"bud laska",
    r"prosim", r"zəhmət olmasa", r"zehmet olmasa", r"be so kind", r"be kind enough",
    r"(?:wären|wäret|seien) sie so (?:freundlich|nett)",
]
# A request to "you" asks nothing either when registering or cancelling is what it asks for ("could you
# register me too?", "könnten Sie meine Anmeldung stornieren?"): the opener, at most three words, the word.
_REQUEST_OPENERS = [
    r"could you", r"can you", r"would you", r"will you",
    r"könnten sie", r"können sie", r"würden sie", r"kannst du", r"könntest du", r"könnt ihr", r"könntet ihr",
    r"могли бы вы", r"можете ли вы", r"можете", r"могли б ви", r"можете ви", r"змогли б ви",
    r"možete li", r"mozete li", r"da li biste", r"da li možete", r"da li mozete", r"biste li",
    r"можете ли", r"да ли бисте", r"да ли можете", r"бихте ли", r"можете ли да", r"може ли да", r"bi li",
    r"нельзя ли", r"a mund t[ëe]", r"mund t[ëe]", r"a mundeni", r"puteți", r"puteti", r"ați putea", r"ati putea",
    r"կարո՞ղ եք", r"կարող եք", r"შეგიძლიათ", r"შეძლებთ",
    r"(?:whether|if) you (?:could|would|can)",   # "I was wondering whether you could cancel my registration"
]
_GREEK = deferred(r"[\u0370-\u03ff]")
# (German "aber", "jedoch", "allerdings" before "gerne", "doch", "trotzdem" ... are particles inside the clause:
# "Ich melde mich aber gerne an" was cut between "melde mich" and "an"; "... nicht sicher aber ich melde mich an",
# its comma left out, still ends one)
_CLAUSE_END = deferred(
    r"[,;:–—()]|\s(?:aber|jedoch|allerdings)\s(?!(?:gerne?|doch|trotzdem|dennoch|schon|auch|noch|sehr|wirklich"
    r"|natürlich|bestimmt|sicher|sicherlich|wohl|eben|halt|ja|mal)\b)"
    r"|\s(?:but|however|although|sondern|но|однако|але|проте|ali|međutim"
    r"|али|међутим|ama|amma|por|dar|însă|insa|mais|pero|բայց|მაგრამ|ანუ|fakat|αλλά)\s"
    # Italian "ma" (but), not Romanian "mă" typed without its accent: "sa ma inregistrati", "nu ma pot"
    r"|\sma\s(?<!\bs[ăa] ma )(?<!\bnu ma )(?<!\ba ma )",
)


_LINK = deferred(r"(?<![\w/@])(?:https?://|www\.)\S+", re.IGNORECASE)
_AFTER_LINK = ".,;:!?)]>'\""


def _link_word(found: re.Match) -> str:
    """A link becomes the word "link"; the punctuation after it stays, so it still ends its sentence
    ("... at https://x.example/form. I would like ...") or asks ("... the right link https://...?")."""
    link = found.group(0)
    return "link" + link[len(link.rstrip(_AFTER_LINK)):]


def _alternation(expressions: list[str]) -> re.Pattern:
    """Whole-word alternatives over casefolded text, which has no final "ς": a Greek word written with one is
    looked for with "σ" (they never matched)."""
    return deferred(lambda: r"(?<!\w)(?:" + either([e.replace("ς", "σ") for e in expressions]) + r")(?!\w)")


_NEGATION = _alternation(_NEGATIONS)
# The negations with an apostrophe ("can't") or an Azerbaijani verb stem scan every word of a clause,
# most of the cost of a look; a clause without these letters cannot hold them and is read without them.
_SCANNING_NEEDS = ("’", "'", "bilm", "etmə")
_NOT_NEGATION = _alternation(_NOT_NEGATING)
_WITHDRAWAL = _alternation(_WITHDRAWAL_MARKERS)
_HEDGE = _alternation(_HEDGES)
_ANOTHER_EVENT = _alternation(_ANOTHER_TIME)
# Someone else's registration: "his", "seine", "его", "njegovu" ... ("cancel his registration" withdraws
# nobody who wrote; the coordinator does it)
_SOMEONE_ELSES = _alternation([
    r"his", r"her", r"their", r"seine?[nrms]?", r"его", r"её", r"ее", r"их", r"його", r"її", r"njegov\w*",
    r"njezin\w*", r"njen\w*", r"njihov\w*", r"негов\w*", r"нејзин\w*", r"њихов\w*", r"његов\w*",
])
_AND = frozenset({"and", "und", "и", "і", "i", "și", "si", "dhe", "və", "και", "ve", "ו"})
_POLITE = _alternation(_PLEASE)
# (not the Serbian "on" and Albanian "ai": English "on" and "AI"); "nobody" too: "I register, as nobody else from
# our office can attend" registers, "Leider kann niemand aus unserem Amt teilnehmen" refuses nothing of the writer's
_NOBODY = [r"nobody", r"no one", r"niemand", r"никто", r"ніхто", r"niko", r"nitko", r"нико", r"askush", r"nimeni",
           r"никой", r"никој", r"არავინ"]
_THIRD_SUBJECT = _alternation([r"he", r"she", r"er", r"он", r"она", r"він", r"вона", r"ona", r"ajo", r"ea", r"αυτόσ",
                               r"αυτή", *_NOBODY])
# The writer's own ("my registration", "meine Anmeldung", "мою регистрацию", "kaydımı")
MINE = _alternation([r"my", r"mein\w*", r"мо[йяюеё]", r"мої", r"моју", r"мою", r"moj\w*", r"mea", r"meu", r"ime",
                     r"իմ", r"ჩემ\w*", r"mənim", r"kaydımı"])
_REQUEST = _alternation(_REQUEST_OPENERS)
# Whom the request is about: the sender ("register me", "cancel my registration", the Georgian verb's
# "me"/"us" prefix), not anyone ("can you still register after the deadline?")
_SENDER_OBJECT = _alternation([
    r"me", r"my", r"mich", r"mir", r"meine?[nrms]?", r"меня", r"мою", r"мой", r"мне", r"мене", r"ме", r"moju",
    r"mene", r"më", r"mă", r"ինձ", r"დამა\w*", r"beni", r"kayd[ıi]m[ıi]", r"məni",
])
# "... iptal edebilir misiniz?", "kaydedebilir misiniz?" (Turkish), "... keçirə bilərsinizmi?" (Azerbaijani)
_REQUEST_AFTER = deferred(r"(?:[ae]bilir|eder) ?m[iı](?:siniz|sınız|sin|sın)?(?!\w)|bil[əe]rsiniz ?mi(?!\w)")
# A condition on "you", or on whether it can be done, is a polite request ("I would be grateful if you could
# cancel", "if possible please cancel", "wenn möglich bitte stornieren", "если можно, отмените")
_NOT_CONDITION = _alternation([
    r"(?:if|whether) you (?:could|would|can|might|kindly)(?! (?:prefer|like|rather|want|need|think|mind))",
    r"if (?:it is|it's) (?:still |at all )?possible",
    r"if (?:still )?possible", r"(?:wenn|falls|ob) sie [^,;]*?(?:könnten|würden|können)",
    r"(?:wenn|falls) (?:es )?(?:noch |irgend )?(?:möglich|geht)", r"wenn es (?:noch )?möglich ist", r"wenn auch",
    r"если (?:вы|можно|возможно|это возможно)",
    r"якщо (?:ви|можна|можливо)", r"ako (?:biste|možete|mozete|je moguće|je moguce|može|moze)",
    r"nëse (?:mundeni|është e mundur|mundet)", r"dacă (?:puteți|puteti|este posibil|se poate)",
    r"daca (?:puteti|este posibil|se poate)", r"თუ შეიძლება", r"եթե հնարավոր է", r"αν είναι δυνατόν",
    r"eğer mümkünse", r"əgər mümkündürsə",
])
_CONDITION = _alternation([
    r"if", r"whether", r"in case", r"unless", r"falls", r"wenn", r"ob", r"sofern", r"im falle?", r"bei verhinderung",
    r"если", r"в случае", r"якщо",
    r"у разі", r"ako", r"ukoliko", r"ако", r"nëse", r"nese", r"dacă", r"daca", r"în caz", r"εάν", r"αν", r"eğer",
    r"əgər", r"თუ", r"եթե",
])
# What may stand between the opener and the word: whom, and little words ("could you please also register
# me"); anything else makes the word a noun of another request ("will you assign the participants").
_REQUEST_FILLERS = [
    r"me", r"us", r"also", r"too", r"please", r"kindly", r"just", r"still", r"both", r"mich", r"uns", r"bitte",
    r"auch", r"noch", r"gerne?", r"doch", r"меня", r"нас", r"мене", r"ме", r"тоже", r"также", r"пожалуйста", r"и",
    r"і", r"да", r"бы", r"б", r"вы", r"ви", r"nas", r"i", r"takođe", r"takodje", r"molim", r"vas", r"da", r"mogli",
    r"mogla", r"ste", r"më", r"na", r"edhe", r"ju", r"lutem", r"mă", r"ma", r"ne", r"și", r"si", r"vă", r"va",
    r"rog", r"ինձ", r"մեզ", r"მე", r"ჩვენ",
    # the object before a verb at the end ("könnten Sie meine Anmeldung stornieren?")
    r"my", r"meine?n?", r"anmeldung", r"registrierung", r"teilnahme", r"мою", r"регистрацию", r"участие", r"moju",
    r"prijavu", r"registraciju",
]
_REQUEST_BEFORE = deferred(r"(?<!\w)(?:" + "|".join(_REQUEST_OPENERS + _PLEASE) + r")(?:\s+(?:"
                           + "|".join(_REQUEST_FILLERS) + r")){0,3}\s+$")


def _offer(conditions: str, fillers: str, nouns: str, after: str = "", words: str = "+") -> str:
    """A condition, then only words that make it the reader's or nobody's ("you", "any", "there are"), then the
    question noun: "if you have any questions" offers; "if you allow me, I have a question", "if I have questions
    whom do I write to", "if questions can be asked in Russian" and "Wenn möglich habe ich eine Frage" ask.
    `words`: "+" (at least one such word) or "*" (none needed: "in case of questions"); `after`: what may follow
    the noun (a German verb at the end: "Sollten Fragen vorab eingereicht werden" still asks)."""
    return rf"(?:{conditions})(?:\s+(?:{fillers})){words}\s+(?:{nouns}){after}"


_EN_FILLERS = (r"you|you've|you’ve|there|have|has|are|is|were|got|may|might|should|still|do|any|further|more"
               r"|additional|other|some|remaining|specific|need|information|or|be")
# Stock phrases that ask nothing ("Bei Fragen stehe ich gern zur Verfügung", "if you have any questions").
_NOT_ASKING = _alternation([
    # An offer on a condition ("Should you have questions, feel free to call", "Если возникнут вопросы, пишите",
    # "Ako imate pitanja, slobodno me kontaktirajte", "თუ გაქვთ კითხვები, მომწერეთ"), per language; "?" always asks,
    # and so does a clause after it that opens with "whom", "куда" ... (_WHOM_OR_WHERE)
    r"(?:if|should|in case|whenever)\s+(?:you|you've|you’ve|there)(?:\s+(?:" + _EN_FILLERS + r"))*\s+questions?",
    r"(?:if|should|in case|whenever)(?:\s+(?:any|further|more|other|additional))*\s+questions?\s+(?:arise|come up"
    r"|occur|remain)",
    _offer(r"wenn|falls|sofern|sollten?", r"sie|es|noch|weitere|irgendwelche|zusätzliche|offene|dazu",
           r"(?:rück)?fragen?", r"(?=(?:\s+\w+){0,4}?\s+(?:haben|hätten|gibt|geben|bestehen|auftauchen|aufkommen"
           r"|auftreten|entstehen|sein|sind|offen)\s*$|\s*$)", words="*"),
    _offer(r"если", r"у вас|будут|возникнут|появятся|есть|остались|останутся|возникли|имеются|какие-то|какие-либо"
           r"|какие-нибудь|ещё|еще|дополнительные|любые", r"вопрос\w*"),
    _offer(r"якщо", r"у вас|виникнуть|будуть|з'являться|з’являться|є|залишилися|виникли|якісь|додаткові|ще",
           r"питан\w*"),
    _offer(r"ako|ukoliko", r"imate|bude|budete imali|bi bilo|ima|bilo|dodatnih|dodatna|nekih|još|jos|kakvih|kakva",
           r"pitanj\w*"),
    _offer(r"ако|уколико|доколку", r"имате|буде|будете имали|има|имало|възникнат|възникне|някакви|допълнителни"
           r"|допълнителна|дополнителни|још|още|некои|било какви|нужда|потреба|от|повече|информация|информации|или",
           r"питањ\w*|прашањ\w*|въпрос\w*"),
    _offer(r"nëse|nese|në rast se|ne rast se", r"keni|ka|do të keni|do te keni|ndonjë|ndonje", r"pyetje\w*"),
    _offer(r"dacă|daca|în caz că|in caz ca|în cazul în care|in cazul in care",
           r"aveți|aveti|aveţi|există|exista|sunt|apar|mai|alte|orice|unele|eventuale", r"întreb\w*|intreb\w*"),
    _offer(r"əgər|eger", r"sizin|hər hansı|her hansi|əlavə|elave", r"sual\w*"),
    _offer(r"αν|εάν|εαν|σε περίπτωση που|σε περιπτωση που", r"έχετε|εχετε|υπάρχουν|υπαρχουν|τυχόν|τυχον|οποιαδήποτε"
           r"|οποιαδηποτε|κάποια|καποια|περαιτέρω|περαιτερω|άλλεσ|αλλεσ", r"ερ[ωώ]τ\w*|απορ\w*"),
    # Turkish puts the condition after the noun: "(herhangi bir) soru(nuz) olursa", "soru veya görüşleriniz olursa"
    r"soru\w*(?:\s+(?:veya|ya da)\s+\w+)?\s+(?:olursa|olması durumunda|olmasi durumunda|varsa)",
    r"soru\w*\s+(?:için|icin)",
    r"για(?:\s+(?:οποιαδήποτε|οποιαδηποτε|κάθε|καθε|τυχόν|τυχον|περαιτέρω|περαιτερω))?\s+(?:ερ[ωώ]τ\w*|απορ\w*)",
    # "in case of questions": no word needed between
    _offer(r"в случае|у разі|u slučaju|u slucaju|у случају|в случай на|në rast|ne rast|în caz de|in caz de"
           r"|при необходимост(?:и)?(?: от)?|при нужда(?: от)?",
           r"у вас|возникновения|допълнителна|информация|или|nekih|ndonjë|ndonje"
           r"|eventuale", r"вопрос\w*|питан\w*|pitanj\w*|питањ\w*|въпрос\w*|pyetje\w*|întreb\w*|intreb\w*",
           words="*"),
    # the verb after the noun, in Armenian and Georgian ("եթե հարցեր ունենաք", "თუ კითხვები გაქვთ"), not "I have"
    _offer(r"եթե", r"ունեք|ունենաք|կունենաք|լինեն|կլինեն|որևէ|այլ|լրացուցիչ", r"հարց\w*",
           r"(?!\s+(?:ունեմ|ունենամ|ունենք|կունենամ))", words="*"),
    _offer(r"თუ", r"გაქვთ|გექნებათ|გაგიჩნდებათ|რაიმე|რამე|დამატებითი", r"კითხვ\w*",
           r"(?!\s+(?:მაქვს|მექნება|გვაქვს|გვექნება))", words="*"),
    # the condition after the noun: "კითხვების შემთხვევაში", "հարցերի դեպքում", "Sualınız olarsa" (yours, not
    # "sualım": mine)
    r"კითხვ\w*\s+შემთხვევაში", r"հարց\w*\s+(?:ունենալու\s+)?դեպքում",
    r"(?:hər hansı\s+|her hansi\s+)?sual(?:ınız|larınız|iniz|lariniz)\s+(?:olarsa|yaranarsa|olduqda|olsa|yaransa)",
    # "I am happy to answer any questions about our work", "gerne beantworte ich Ihre Fragen", "Буду рад ответить"
    r"(?:happy|glad|pleased|willing) to answer(?:\s+\w+){0,2}?\s+questions?",
    r"(?:gerne?\s+beantworte\w*|beantworte\w*\s+(?:ich|wir)\s+gerne?)(?:\s+\w+){0,3}?\s+(?:rück)?fragen?",
    r"fragen beantworte\w* (?:ich|wir) gerne?",
    r"(?:рад\w*|готов\w*|с удовольствием)\s+(?:буду\s+)?(?:ответить|отвечу)(?:\s+\w+){0,3}?\s+вопрос\w*",
    r"радий\w*\s+відповісти(?:\s+\w+){0,3}?\s+питан\w*", r"rado ću odgovoriti(?:\s+\w+){0,3}?\s+pitanj\w*",
    r"(?:ще се радвам да отговоря|отговарям с удоволствие)(?:\s+\w+){0,3}?\s+въпрос\w*",
    r"r[ăa]spund cu pl[ăa]cere(?:\s+\w+){0,3}?\s+[îi]ntreb\w*",
    r"(?:v[ăa] )?stau la dispozi[țţt]i[ea] (?:cu|pentru)(?:\s+\w+){0,2}?\s+[îi]ntreb\w*",
    r"deschis\w* la(?:\s+\w+){0,2}?\s+[îi]ntreb\w*",
    # the noun that is no question: Bulgarian "става въпрос за" (it is about), "въпросът е" (the matter); Romanian
    # "am răspuns la întrebări" (in the form), "ridică multe întrebări" (raises)
    r"става въпрос", r"този въпрос", r"въпросът", r"r[ăa]spuns la(?:\s+\w+){0,2}?\s+[îi]ntreb\w*",
    r"ridic[ăa](?:\s+\w+){0,2}?\s+[îi]ntreb\w*", r"във връзка с(?:\s+\w+){0,2}?\s+въпрос\w*",
    # "a key issue for our municipality" ("ключов въпрос", "ключевой вопрос", "актуальный вопрос"): the matter
    r"(?:ключов|ключев|актуал|важен|важн|основен|основн|съществен|централен|наболял|приоритет|сериоз|главн"
    r"|насущн|остр)\w*\s+(?:въпрос|вопрос)\w*",
    r"bei (weiteren )?(rück)?fragen", r"für (weitere )?(rück)?fragen", r"für (weitere )?informationen",
    r"for any (further )?questions?", r"in case of (any )?questions?",
    # the matter, not a question: "the question of digital services is important", "the issue in question"
    r"the question of", r"in question", r"questions? (?:and|&) answers?",
    # "no questions" in Turkish and Greek (their negation is read on taking part only); a Q&A session
    r"(?:herhangi bir\s+)?soru\w*\s+yok\w*", r"soru\w*\s+(?:bulunmamaktad[ıi]r|bulunmuyor|olmad[ıi]ğ\w*)",
    r"soru-cevap\w*", r"soru ve cevap\w*",
    r"καμ[ίι][αά]\s+(?:ερ[ωώ]τ\w*|απορ\w*)", r"ερωτήσεισ και απαντήσεισ", r"ερωτήσεων και απαντήσεων",
    # ... or the noun first: "Pitanje digitalizacije je za nas važno", "Вопрос цифровизации очень актуален"
    r"(?:pitanje|питање|вопрос|питання|прашањето|въпросът)(?:\s+\S+){1,6}?\s+(?:ključn|kljucn|кључн|ключев|клучн"
    r"|važn|vazn|важн|актуал|aktual|значај|značaj)\w*",
    r"any questions,? (please|feel free|just|call|contact|write)",
    r"по всем вопросам", r"з усіх питань", r"за сва (додатна )?питања", r"za sva (dodatna )?pitanja",
    r"za (sva )?dodatna pitanja", r"për çdo pyetje", r"pentru orice (alte )?întrebări", r"за сите прашања",
    r"за въпроси",
    # a question word governed by "for"/"bei" ... is a topic, not a question ("Ansprechperson für organisatorische
    # Fragen", "contact for any questions")
    r"(für|bei|for|with|при|по|для|з|за|za|për|pentru)(\s+\w+){0,2}\s+(fragen|questions|вопрос\w*|питан\w*"
    r"|pitanj\w*|питањ\w*|прашањ\w*|въпрос\w*|pyetje\w*|întrebări\w*|intrebari\w*)",
])
# A clause that opens by asking whom or where, its "?" left out: with a modal ("whom should he contact", "an wen
# kann ich mich wenden") or a Russian infinitive ("куда их задавать"); not a relative clause ("my colleague Anna,
# who coordinates our participation").
_WHOM_OR_WHERE = deferred(r"\s*(?:whom|who|where|wer|wen|wem|wohin|an wen|кому|к кому|куда|кто|куди|до кого"
                          r"|kome|kod koga|gdje|gde|kuda|кого|къде|каде|kujt|cui|unde|la cine|kimə|hara|ում|որտեղ"
                          r"|ვის|სად)(?:\s+\w+){0,3}?\s+(?:should|shall|can|could|do|may|must|kann|könnte|soll|sollte"
                          r"|muss|darf|нужно|надо|можно|следует|должен|должна|\w+(?:ть|ться|ти|тися)|mogu|treba|trebam"
                          r"|moram|могу|треба|трябва|mund|duhet|pot|trebuie|olar|lazım|պետք|შემიძლია|უნდა)(?!\w)")
# Polite formulas that hedge nothing ("I would like to attend, if possible").
_NOT_HEDGE = _alternation([r"if possible", r"if so", r"wenn möglich", r"falls möglich", r"если возможно",
                           r"თუ შეიძლება", r"եթե հնարավոր է", r"αν είναι δυνατόν", r"αν είναι δυνατό", r"αν και",
                           r"αν μου επιτρέπετε", r"αν γίνεται", r"αν επιτρέπεται",
                           r"αν δεν υπάρχει (?:κανένα )?πρόβλημα",
                           r"if there is no problem", r"if that is ok", r"eğer (?:mümkünse|uygunsa|sakıncası yoksa)",
                           r"eger (?:mumkunse|uygunsa)",
                           r"ako je moguće", r"ako je moguce", r"nëse është e mundur", r"dacă este posibil",
                           # the question particles of a request ("можете ли вы", "чи не могли б ви")
                           r"можете ли", r"може ли", r"могли ли", r"нельзя ли", r"бихте ли",
                           r"чи (?:не )?(?:з?могли б|можете)"])


@dataclass(frozen=True)
class Reading:
    """What a mail's own text states, with the words that decided it (for the reasons)."""

    withdraws: str = ""
    declines: str = ""
    asks: str = ""
    registers: str = ""
    hedged: str = ""
    trouble: str = ""    # a problem with the means of taking part: the link, the password, the form
    partly: str = ""     # a refusal of a part of the event, or of something else, or someone else's
    requests: str = ""   # in reply to our mail, a request that is no question ("please resend the agenda")
    in_part: str = ""    # takes part only in part, no refusal: "I can only join for the first hour", "leave at 14:30"


def read_statements(
    own: str,
    subject: str,
    interest: tuple[str, ...],
    question: tuple[str, ...],
    cancellation: tuple[str, ...],
    negations: tuple[str, ...] = (),
    in_our_thread: bool = False,
    ne_negates: bool = True,
) -> Reading:
    """Each sentence of the own text (and the subject, when given) read in the documented order;
    the first sentence of each kind is kept with the words that made it so."""
    found: dict[Statement, str] = {}
    problem = in_part = ""
    extra_negation = compile_patterns(negations)[0] if negations else None
    own = _LINK.sub(_link_word, own)   # a link states nothing, and the "?" of its query asks nothing
    for sentence in ([subject] if subject else []) + sentences(own):
        folded = sentence.casefold()
        trouble = _trouble(folded, ne_negates)
        kind, said, keeps, also_asks = _sentence(sentence, interest, question, cancellation, extra_negation,
                                                 in_our_thread, ne_negates, trouble=bool(trouble))
        if kind is not None and kind not in found:
            found[kind] = said
        if also_asks:
            found.setdefault(Statement.ASKS, also_asks)
        if keeps:
            found.setdefault(Statement.KEEPS, keeps)
        if trouble and not problem:   # the link or the form fails: for a coordinator, whatever else it says
            problem = trouble
        if kind in (None, Statement.REGISTERS) and not in_part:
            in_part = _in_part(folded, interest)
        # "I cannot attend, can I send a deputy?" asks too ("could you cancel my registration?" only asks for it)
        if kind in (Statement.CANCELS, Statement.WITHDRAWS, Statement.DECLINES, Statement.PARTLY) and _asked(folded) \
                and not (_POLITE.search(folded) or _requested(folded, cancellation)):
            found.setdefault(Statement.ASKS, sentence.strip()[-60:])
    # "I miss the first part; please don't cancel my registration" refuses nothing; "... but now please cancel it"
    # still cancels
    kept = Statement.KEEPS in found and not _HANDOVER.search(own.casefold())
    return Reading(
        withdraws=found.get(Statement.CANCELS) or ("" if kept else found.get(Statement.WITHDRAWS, "")),
        declines="" if kept else found.get(Statement.DECLINES, ""),
        asks=found.get(Statement.ASKS, ""),
        registers=found.get(Statement.REGISTERS, ""),
        hedged=found.get(Statement.HEDGED, ""),
        trouble=problem,
        partly="" if kept else found.get(Statement.PARTLY, ""),
        requests=found.get(Statement.REQUESTS, ""),
        in_part=in_part,
    )


def _sentence(
    sentence: str,
    interest: tuple[str, ...],
    question: tuple[str, ...],
    cancellation: tuple[str, ...],
    extra_negation: re.Pattern | None,
    in_our_thread: bool,
    ne_negates: bool = True,
    trouble: bool = False,
) -> tuple[Statement | None, str, str, str]:
    """`trouble`: the sentence tells of a problem with the link or the form, so a "cannot join" in it is
    that problem, not a refusal ("cannot attend" still is). The third value: the words of a polite request not
    to cancel the writer's registration, or "" (the rest of the sentence is read without that clause). The
    fourth: what a registering sentence also asks after its registration ("I would like to attend, will there
    be interpretation?"), or ''.
    """
    folded = _FROM_TIME.sub("von", sentence.casefold())
    # "?" (and the Armenian question mark ՞, written on the stressed word)
    asked = _asked(folded)
    clauses = _clauses(folded)

    def polite() -> bool:   # looked for only where it decides (most sentences never get there)
        return _POLITE.search(folded) is not None

    seen: dict[str, bool] = {}

    def negated(clause: str) -> bool:   # (asked again of the same clause: kept)
        if clause not in seen:
            unsaid = _NOT_NEGATION.sub(" ", clause)
            seen[clause] = bool(negation_pattern(unsaid, ne_negates).search(unsaid)
                                or (extra_negation and extra_negation.search(unsaid)))
        return seen[clause]

    # Each list is looked for in the whole sentence first: most sentences name none of its words,
    # and then no clause needs a look.
    cancel_hit = next(((c, w) for c in clauses if (w := find(cancellation, c))
                       and not (w == "cancellation" and _A_CANCELLATION.search(c))
                       and not _cancels_something_else(clauses, c, w, interest, negated)), None) \
        if find(cancellation, folded) else None
    # Asked for ("please cancel", "could you cancel"), or said, not asked and not only as a condition
    # ("I will let you know if I have to cancel" withdraws nothing).
    cancel_negated = cancel_hit is not None and negated(cancel_hit[0]) and _cancel_negated(
        cancel_hit[0], cancel_hit[1], ne_negates, extra_negation)
    # Only meant and taken back ("I was going to cancel, but I will attend after all"), only maybe ("I might have
    # to cancel", "vielleicht muss ich absagen") or the consequence of a condition ("Sollte etwas dazwischenkommen,
    # melde ich mich rechtzeitig ab"): no cancellation, and its clause registers nothing either; asked for
    # ("could you maybe cancel it?", "wenn es geht, stornieren Sie bitte") it stands.
    if cancel_hit and not cancel_negated and (
            _taken_back(folded, cancel_hit[1], interest) or _disregarded(folded, cancel_hit[1])
            or not (polite() or _requested(folded, cancellation))
            and (_tentative(clauses, *cancel_hit) or _condition_ahead(clauses, *cancel_hit))):
        clauses = [c for c in clauses if c != cancel_hit[0]]
        cancel_hit = None
    if cancel_hit and not cancel_negated and not _condition_before(*cancel_hit) and (
            not asked or polite() or _requested(folded, cancellation)):
        if _someone_elses(*cancel_hit):   # "please cancel his registration": for a coordinator
            return Statement.ASKS, f"{cancel_hit[1]} ... someone else's registration", "", ""
        return Statement.CANCELS, cancel_hit[1], "", ""
    keeps = ""
    if cancel_hit and cancel_negated and _keeps_mine(cancel_hit[0]):   # "vă rog să nu-mi anulați înregistrarea"
        keeps = f"not ... {cancel_hit[1]}"
        clauses = [c for c in clauses if c != cancel_hit[0]]
        cancel_hit = None
    # (clause, the interest word or else the presence word, whether it was an interest word)
    # ("I will not be able to attend to your e-mail": an out-of-office reply without its headers)
    participation = [(c, w or p, bool(w)) for c in clauses
                     if (w := find(interest, _ATTEND_TO.sub(" ", c))) or (p := _presence(c))] \
        if find(interest, folded) or _presence(folded) else []
    # (not when someone else is the one who cannot: "No thanks, she will not attend")
    # (nor is "please don't cancel my registration" a refused registration)
    # (in a sentence that reports a problem, "I cannot join" and "the participation link doesn't work" are that
    # problem; "I cannot attend" still refuses, also "on site")
    refused = next(((c, w) for c, w, _ in participation if negated(c) and not _THIRD_SUBJECT.search(c)
                    and not (cancel_hit and c == cancel_hit[0])
                    and not (trouble and (any(j in w for j in _JOINING) or _beside_thing(c, w)))), None)
    if refused and not _condition_before(*refused):   # "if I cannot attend, I will tell you" states nothing
        clause, word = refused
        # Without a cancel word a refusal may be of a part ("I cannot be there at 13:00 sharp, I will join at
        # 13:30"), of another event, or someone else's: such a one cancelled people who come.
        marker = _WITHDRAWAL.search(clause)
        if in_our_thread and not marker and _tentative(clauses, clause, word, _MAYBE_NOT):
            # "I might not be able to join because of another meeting, but I will try" cancelled the writer
            return Statement.PARTLY, f"maybe not {word}", keeps, ""
        # (out of our thread a refusal without a withdrawal word only declines: nothing to read there)
        if (in_our_thread or marker) and (partly := _partly(clauses, clause, word, interest, negated, asked,
                                                            firm=bool(marker))):
            if partly == _IN_A_QUESTION:   # "no camera is needed to participate, right?"
                return Statement.ASKS, sentence.strip()[-60:], keeps, ""
            return Statement.PARTLY, f"not {word} ... {partly}", keeps, ""
        if marker:   # "no longer", "after all": a firm withdrawal, which a "please don't cancel" does not undo
            return Statement.CANCELS, f"{marker.group(0)} ... {word}", keeps, ""
        if in_our_thread:
            return Statement.WITHDRAWS, f"not {word}, in reply to our mail", keeps, ""
        return Statement.DECLINES, f"not ... {word}", keeps, ""
    # (a participation refused only as a condition, or by someone else, registers nobody either)
    registered = next(((c, w) for c, w, interested in participation if interested and not negated(c)), None)
    # A hedge anywhere before the word in the sentence ("before we register", "whether I need to register").
    hedge = (_hedge_before(folded, registered[1]) or _not_yet_allowed(folded)) if registered else None
    # (in reply to our mail a registrant asks for more: "could you register me for the breakout session?")
    if registered and asked and not hedge and not in_our_thread and (polite() or _requested(folded, interest)):
        then_asks = "" if _requested(folded, interest) else _asks_after(
            folded, clauses, registered, _question_word(clauses, question, negated) if find(question, folded) else None,
            asked)
        return Statement.REGISTERS, registered[1], keeps, then_asks
    question_hit = _question_word(clauses, question, negated) if find(question, folded) else None
    if asked or question_hit:
        if registered and not hedge and not in_our_thread and (
                then_asks := _asks_after(folded, clauses, registered, question_hit, asked)):
            return Statement.REGISTERS, registered[1], keeps, then_asks
        return Statement.ASKS, question_hit or sentence.strip()[-60:], keeps, ""
    if registered:
        if hedge:
            return Statement.HEDGED, f"{hedge.group(0)} ... {registered[1]}", keeps, ""
        if later := _another_event(*registered):
            return Statement.DECLINES, f"{registered[1]} ... {later}", keeps, ""
        then_asks = "" if in_our_thread else _asks_after(folded, clauses, registered, None, False)
        return Statement.REGISTERS, registered[1], keeps, then_asks
    # In reply to our mail a request is for a coordinator, "?" or not ("please resend the agenda", "пришлите,
    # пожалуйста, программу ещё раз", "I would be grateful if you could share the recording"): it went unread.
    # (a greeting in the request's own clause or the next makes it none: "Molim vas, pozdravite kolegicu")
    # A question with its "?" left out ("Will the slides be shared afterwards"), where the sentence states nothing
    # else: it never outweighs a cancellation, a refusal or a registration ("Muss ich leider absagen").
    if _asks_without_mark(folded):
        return Statement.ASKS, sentence.strip()[-60:], keeps, ""
    if in_our_thread and not keeps and any(
            (_POLITE.search(c) or _IF_YOU_COULD.search(c)) and not _NO_REQUEST.search(" ".join(clauses[i:i + 2]))
            for i, c in enumerate(clauses)):
        return Statement.REQUESTS, sentence.strip()[:60], keeps, ""
    return None, "", keeps, ""


def _partly(clauses: list[str], clause: str, word: str, interest: tuple[str, ...],
            negated: Callable[[str], bool], asked: bool, firm: bool = False) -> str:
    """Why a refused participation (`word` negated in `clause`) may not be the writer's refusal of the event,
    in words, or "": the sentence's other clause takes part ("..., I will join after the break"), or this one
    does before an "and" ("I will join and will not present"); a part, a time or a way of taking part is
    named ("the first day", "at 13:00", "die ganze Zeit", "actively"); an earlier event ("the previous
    webinar", "never ... before"); someone else ("my colleague cannot attend"); a certificate; a question."""
    after = clauses[clauses.index(clause) + 1:] if clause in clauses else []
    if asked and not firm and after and all(len(c.split()) <= 2 for c in after):   # ("..., right?")
        return _IN_A_QUESTION
    for other in clauses:
        if other != clause and not negated(other) and not _THIRD_SUBJECT.search(other) \
                and not _ANOTHER_EVENT.search(other) and _JOINS.search(other):
            return f"takes part: {other.strip()[:40]!r}"
    for piece in _AND_SPLIT.split(clause):
        if word in piece and not negated(piece) and len(piece) < len(clause) and _JOINS.search(piece):
            return f"takes part: {piece.strip()[:40]!r}"
    # (what comes after "because" is the reason, not a part: "... çünkü saat 10'da başka bir toplantım var")
    reason = _BECAUSE.search(clause)
    said = clause[:reason.start()] if reason else clause
    for why, pattern in _NOT_ALL_OF_IT:
        if (found := pattern.search(said)) and not (why == _SOMEONE and _writers_own(clause, found.start())):
            return f"{why}: {found.group(0)!r}"
    return ""


def _writers_own(clause: str, at: int) -> bool:
    """Whether the refusal is the writer's though it names someone: "my colleague and I cannot attend", "I
    cannot attend because my director sent me to Brussels", "ne mogu ... jer me moj direktor šalje" (the refusal
    comes before the other person; "I wanted to tell you that my colleague cannot attend" is the colleague's)."""
    return bool(_WE_TOO.search(clause) or negation_pattern(clause[:at]).search(clause[:at]))


_IN_A_QUESTION = "in a question"
_IF_YOU_COULD = deferred(r"(?<!\w)(?:if you (?:could|can|kindly)|(?:grateful|appreciate it|thankful|glad) if you "
                         r"would|ich bitte um|wenn sie (?:mir|uns) \w+ könnten)(?!\w)")
# "please" that asks a coordinator for nothing: "please find attached", "please note", "bitte beachten Sie"
_NO_REQUEST = _alternation([
    r"please (?:find|see|note|feel free|do not hesitate|don[’']t hesitate|excuse|forgive)",
    r"please accept my (?:thanks|apolog\w*)",
    r"bitte (?:beachten|entschuldigen)", r"(?:anbei|im anhang)", r"please consider the environment",
    r"please (?:ignore|disregard)", r"bitte (?:ignorieren|vergessen)",
    r"please (?:let me know if (?:you need|there is anything|i can|anything changes|there are any changes)"
    r"|keep me (?:informed|posted|updated)|accept my|stay safe|stay healthy|have a (?:nice|good|great|lovely)|enjoy"
    r"|keep up)", r"kind\w* regards", r"thanks",
    r"weiter so",
    r"bitte (?:schön|sehr)", r"прошу прощения",
    # greetings and good wishes: "please send my greetings to the team", "bitte grüßen Sie Frau Toukan"
    r"greetings", r"regards", r"wishes", r"gr(?:ü|ue)(?:ß|ss)\w*", r"поздрав\w*", r"привет\w*", r"pozdrav\w*",
    r"χαιρετ\w*", r"dilek\w*", r"selam\w*", r"salut\w*", r"urări\w*", r"прошу извинить", r"извините",
    r"molim za razumijevanje",
    r"(?:vă rog să )?primiți", r"saygılarımla", r"παρακαλώ δεχθείτε",
    # where to turn meanwhile (an out-of-office reply without its headers): "please contact the IT office"
    r"please (?:contact|call|write to|e-?mail|reach|get in touch with|turn to) (?!me(?!\w)|us(?!\w))\w+",
    r"wenden sie sich (?:bitte |in dringenden fällen )*an", r"(?:in dringenden fällen|for urgent matters)",
])
_ATTEND_TO = deferred(r"(?<!\w)attend(?:ing)? to (?:your |my |the |all |incoming |)(?:e-?mails?|mails?|messages?"
                      r"|correspondence|inquir\w*|requests?)(?!\w)")
# Joining words that are no interest word on their own (they only affirm): "..., I will join around 13:30".
_JOINS = _alternation([r"i(?:'ll| will| can| shall) (?:still |only )?(?:join|be there|come|connect|dial in|log in"
                       r"|attend|participate|take part)",
                       r"i(?:'ll| will) be (?:there|joining|attending)(?! (?:another|an?|other|the other|some) )",
                       r"^\s*will (?:still )?(?:be there|join|attend)(?! (?:the next|next|future))",   # ", but will"
                       r"only (?:me|i)",
                       r"ich (?:bin|komme|werde) .{0,30}(?:dabei|zugeschaltet|kommen)", r"подключусь", r"присоединюсь",
                       r"подключимся", r"priključ\w* se", r"priklju[čc]it ću se", r"ću se priključiti",
                       r"pridružit ću se",
                       r"bağlanaca\w*", r"katılaca\w*", r"mă (?:voi )?conecta\w*", r"voi (?:putea )?participa",
                       r"θα συνδεθώ", r"ще се включа", r"ќе се приклучам", r"do të lidhem",
                       # "..., but I will take part" in the region's languages
                       r"(?:ես )?կմասնակցեմ", r"დავესწრები", r"მივიღებ მონაწილეობას", r"iştirak edəcəy?əm",
                       r"učestvovaću", r"učestvovat ću", r"учествоваћу", r"sudjelovat ću", r"doći ću", r"доћи ћу",
                       r"приму участие", r"буду участвовать", r"візьму участь", r"ще участвам", r"ќе учествувам",
                       r"ќе присуствувам", r"do të marr pjesë", r"θα συμμετάσχω", r"ich nehme(?: \w+)? teil",
                       r"ich werde(?: \w+)? teilnehmen"])
# "my colleague and I cannot attend": the writer too
_WE_TOO = _alternation([r"(?:and|und|и|i|și|ve|και) (?:i|ich|я|ja|eu|ben|εγώ)", r"(?:i|ich|я|ja) (?:and|und|и|i)",
                        r"we", r"wir", r"мы", r"mi", r"biz", r"noi"])
_SOMEONE = "someone else's"
_AND_SPLIT = deferred(r"\s(?:and|und|и|і|i|și|si|dhe|və|και|ve)\s")
_BECAUSE = _alternation([r"because", r"since", r"due to", r"weil", r"denn", r"потому что", r"так как",
                         r"поскольку", r"из-за", r"jer", r"zato što", r"pošto", r"çünkü", r"deoarece", r"pentru că",
                         r"επειδή", r"γιατί", r"защото", r"бидејќи", r"sepse", r"чому що", r"бо"])
# (no month within a few words after: "until 10 October", "bis Ende Oktober", "at the beginning of October")
_NO_MONTH = (r"(?![^,;!?]{0,25}(?:jan|feb|m[aä]r|apr|ma[iy]|jun|jul|aug|sep|o[ck]t|nov|de[cz]|month|monat|янв|фев|"
             r"мар|апр|ма[йя]|июн|июл|авг|сен|окт|ноя|дек|месяц|mjesec|mesec|ekim|kasım|aralık|ian|iun|iul|noiem|"
             r"decem|septem|okto|oktob|listopad|studen))")
# A part or a time of the event ("the first hour", "at 14:30", "die ganze Zeit")
_PART_OF_IT = [
        # a time of day, not a date ("until 11", "до 12", "od 10 sati"; not "until 10 October", "from 5 to 9 October")
        r"\d{1,2}:\d{2}", r"\d{1,2}(?:[.:]\d{2})? ?(?:uhr|h|am|pm|o'clock|часов|часа|sati|saat)(?!\w)" + _NO_MONTH,
        r"(?:um|at|ab|before|until|till|after|from|bis|vor|nach|до|после|с|od|do|u|prije|poslije|saat) \d{1,2}"
        r"(?:[.:]\d{2})?(?!\.?\d)" + _NO_MONTH,
        r"(?:first|second|last|opening|closing|morning|afternoon) (?:part|half|day|session|hour|panel|block)",
        r"the (?:whole|entire|full) (?:time|session|event|day|programme|program|meeting)", r"all day",
        r"the (?:beginning|start|end)" + _NO_MONTH, r"the (?:panel|keynote|break|discussion)", r"on time", r"sharp",
        r"actively", r"in the (?:morning|afternoon)", r"with (?:my )?(?:camera|video|microphone)",
        r"(?:die|der) ganzen? (?:zeit|veranstaltung|sitzung)", r"(?:ersten|zweiten|letzten) (?:teil|tag|hälfte|block)",
        r"(?:anfang|beginn|ende)" + _NO_MONTH, r"pünktlich", r"(?:vor|nach)mittag\w*",
        r"(?:перв|втор|последн)\w* (?:половин|част|день|дня|блок)\w*", r"(?:в|на) начал\w*", r"всё время",
        r"все время", r"весь (?:день|семинар)", r"опозда\w*",
        r"(?:prv|drug|zadnj|posljednj|posledn)\w* (?:dio|dijel|deo|del|dan)\w*", r"(?:na )?počet\w*",
        r"(?:cijel|cel)\w* (?:vrijeme|vreme|dan)", r"kasn\w*", r"(?:ilk|ikinci|son) (?:bölüm|gün|yarı|kısım)\w*",
        r"başlangı\w*", r"tamamına", r"(?:prima|a doua|ultima) (?:parte|zi|jumătate)", r"începutul",
        r"toată durata", r"(?:πρώτο|δεύτερο) (?:μέροσ|μισό)", r"(?:την |στην )?αρχή", r"pjesën e (?:parë|dytë)",
        r"fillim\w*", r"(?:първата|втората) част", r"началото", r"(?:првиот|вториот) дел", r"почетокот",
]
# Someone else named as who takes part or not ("my colleague", "meine Kollegin", "իմ գործընկերը")
_SOMEONE_PATTERNS = [
        r"(?:my|our) (?:colleague|director|boss|deputy|head|manager|mayor|team|department|supervisor|assistant)s?",
        r"(?:mein|meine|unser|unsere)[rn]? (?:kolleg\w*|direktor\w*|chef\w*|leiter\w*|bürgermeister\w*|team)",
        r"(?:мой|моя|наш|наша) (?:коллег\w*|директор\w*|начальни\w*|руководител\w*|мэр\w*)",
        r"(?:moj|moja|naš|naša|naš) (?:koleg\w*|direktor\w*|šef\w*|načelni\w*|gradonačelni\w*)",
        r"(?:мій|моя|наш|наша|моят|моята|нашият|нашата|мојот|мојата|нашиот) (?:колег\w*|директор\w*|керівни\w*"
        r"|началник\w*|градоначалник\w*)",
        r"(?:իմ|մեր) (?:գործընկեր\w*|տնօրեն\w*|ղեկավար\w*|քաղաքապետ\w*)",
        r"(?:ჩემი|ჩვენი) (?:კოლეგ\w*|დირექტორ\w*|ხელმძღვანელ\w*|მერ\w*)",
        r"(?:mənim|bizim) (?:həmkar\w*|direktor\w*|rəhbər\w*)", r"meslektaş\w*", r"iş arkadaş\w*",
        r"(?:kolegu|kolegia|drejtori|drejtoresha) (?:im|ime|ynë|jonë)",
        r"(?:colegul|colega|directorul) (?:meu|mea|nostru)",
        r"συνάδελφ\w* μου",
]
_NOT_ALL_OF_IT = [(why, _alternation(words)) for why, words in [
    ("a part of it", _PART_OF_IT),
    ("another event", [
        r"(?:last|previous|earlier|past) (?:event|webinar|meeting|session|conference|workshop|year|time|one)s?",
        r"never", r"ago", r"(?:letzte|vorige|vergangene)\w* (?:veranstaltung|webinar|mal|jahr|sitzung)",
        r"прошл\w*", r"предыдущ\w*", r"раньше", r"никогда", r"prethodn\w*", r"prošl\w*", r"nikad\w*",
        r"önceki", r"geçen", r"precedent\w*", r"trecut\w*", r"niciodată",
    ]),
    (_SOMEONE, _SOMEONE_PATTERNS),
    ("a certificate", [r"certificate", r"bestätigung", r"zertifikat", r"сертификат\w*", r"потврд\w*", r"certifikat\w*",
                       r"sertifika\w*", r"adeverinț\w*", r"βεβαίωση"]),
    ("unsure", [r"not sure", r"nicht sicher", r"не уверен\w*", r"nisam siguran", r"nisam sigurna", r"emin değilim",
                r"nu sunt sigur\w*", r"не сум сигур\w*", r"не съм сигур\w*", r"не впевнен\w*", r"не певн\w*",
                r"нисам сигур\w*", r"nuk jam (?:i|e) sigurt", r"əmin deyiləm", r"დარწმუნებული არ ვარ", r"վստահ չեմ",
                r"δεν είμαι σίγουρ\w*"]),
]]


# Taking part only in part, said without a refusal ("I can only join for the first hour", "ich kann nur bis 14 Uhr
# teilnehmen", "смогу подключиться только в 14:00", "I will have to leave at 14:30", "I'll join from about 13:45"):
# an "only" with a part or a time beside taking part, or leaving or coming at a time; nothing for mailflow to do,
# for a coordinator to know.
_ONLY = _alternation([r"only", r"partly", r"nur", r"teilweise", r"только", r"лишь", r"лише", r"частично", r"samo",
                      r"само", r"едва", r"tek", r"тек", r"vetëm", r"vetem", r"doar", r"numai", r"yalnız", r"yalniz",
                      r"sadece", r"μόνο",
                      r"მხოლოდ", r"միայն"])
_TAKING_PART = _alternation([r"join\w*", r"attend\w*", r"participat\w*", r"be there", r"stay", r"listen\w*",
                             r"connect\w*", r"teilnehm\w*", r"teil", r"dabei", r"подключ\w*", r"участ\w*",
                             r"долуч\w*", r"включ\w*", r"učestv\w*", r"учеств\w*", r"prisustv\w*", r"pjesë",
                             r"particip\w*", r"iştirak\w*", r"katıl\w*", r"συμμετ\w*", r"დასწრ\w*", r"მასნაკც\w*",
                             r"մասնակց\w*"])
_LEAVE_OR_COME = _alternation([r"leave", r"leaving", r"drop off", r"log off", r"verlassen", r"gehen", r"уйти",
                               r"покинуть", r"отключиться", r"napustiti", r"otići", r"напуштам", r"largohem",
                               r"plec", r"ayrılma\w*", r"φύγω", r"from (?:about |around )?\d", r"ab (?:ca\. )?\d",
                               r"at the earliest", r"frühestens", r"не раньше", r"late", r"later", r"später",
                               r"опозда\w*", r"kasnije", r"с опозданием"])
_PART_OR_TIME = _alternation(_PART_OF_IT + [r"early", r"earlier", r"früher", r"раньше", r"ranije", r"ora e parë",
                                            r"orën e parë", r"ilk saat", r"პირველ საათ\w*",
                                            r"(?:first|last) (?:\d+ )?(?:minutes|hour|presentation|talk|panel)",
                                            r"(?:ersten|letzten) stunde", r"перв\w* час\w*", r"последн\w* час\w*",
                                            r"перш\w* годин\w*", r"առաջին ժամ\w*", r"prima oră", r"prima ora",
                                            r"prv\w* sat\w*", r"\d{1,2} (?:časova|sati|часа|часов)"])


def _in_part(folded: str, interest: tuple[str, ...]) -> str:
    """The words that say the writer takes part only in part ('' when none do)."""
    only, leave = _ONLY.search(folded), _LEAVE_OR_COME.search(folded)
    # (most sentences have neither: the negation, a costlier look, only after them; a refusal is `partly`'s)
    if not (only or leave) or negation_pattern(folded).search(folded):
        return ""
    if only and (_TAKING_PART.search(folded) or find(interest, folded)) and (part := _PART_OR_TIME.search(folded)):
        return f"{only.group(0)} ... {part.group(0)}"
    if leave and (part := _PART_OR_TIME.search(folded)):
        return f"{leave.group(0)} ... {part.group(0)}"
    return ""


def _cancel_negated(clause: str, word: str, ne_negates: bool, extra_negation: re.Pattern | None) -> bool:
    """Whether the cancel word is negated by a negation of its own: outside the word's letters (the Armenian
    "չեղարկել", cancel, begins like the negation "չ-"; its "մի չեղարկեք", don't cancel, is one), and before it
    with no "and", "so", "because", "please" ... between ("don't cancel", "I do not want to cancel", "no need to
    cancel", "să nu-mi anulați"), the next word ("iptal etmeyin"), or "nicht", "не", "auf keinen Fall" at most
    four words after ("stornieren Sie meine Anmeldung nicht"); not another verb's ("please cancel my
    registration as I can't attend", "I can't come so please cancel")."""
    found = _word_in(clause, word)
    if found is None:
        return True
    if _ARMENIAN_DONT.search(clause, 0, found.start()) or found.group(0).startswith(_NOT_ASKED_TO):
        return True   # ("չեղարկվել է", was cancelled, "չեղարկեցին", they cancelled: like "cancelled", no "cancel")
    # (only the verb's own first word: "ich sage nicht ab" keeps its "nicht")
    end = found.start() + len(found.group(0).split()[0])
    rest = _NOT_NEGATION.sub(" ", clause[:found.start()] + " " + clause[end:])
    if not (negation_pattern(rest, ne_negates).search(rest) or (extra_negation and extra_negation.search(rest))):
        return False
    before = clause[:found.start()]
    last = max(negation_pattern(before, ne_negates).finditer(before), key=lambda m: m.start(), default=None)
    between = before[last.end():].split() if last else []
    # (a boundary right after the negation is what it negates: "я не прошу отменять", "not because I want to
    # cancel"; "me and my colleague" joins people, not clauses)
    between = [w for i, w in enumerate(between) if not (
        i == 0 or w in _ASKING and i < 2   # "не прошу", "nu vă rog", "не ви моля": not asking
        or w in _ANDS and i + 1 < len(between) and _PEOPLE.match(between[i + 1])
        or w == "так" and between[i + 1:i + 2] != ["как"])]   # ("так как", because; not "так просто")
    after = " ".join(clause[found.end():].split()[:4])
    next_word = " ".join(clause[found.end():].split()[:1])   # the Turkish "iptal etmeyin" (don't cancel)
    return bool(last and not _BOUNDARY.intersection(between)
                or negation_pattern(next_word, ne_negates).search(next_word) or _NOT_AFTER.search(after)
                or " " in found.group(0).strip() and negation_pattern(found.group(0)).search(found.group(0)))

_ARMENIAN_DONT = deferred(r"(?<!\w)մի՛?\s*$")
_NOT_ASKED_TO = ("չեղարկվ", "չեղարկեց")   # Armenian passive and past: nobody asks to cancel
# Someone else's registration near "don't cancel": "please do not cancel my colleague's registration"
_SOMEONE_ELSES_NEAR = deferred(r"[’']s(?!\w)|(?<!\w)(?:colleague\w*|kolleg\w*|коллег\w*|колег\w*|koleg\w*|coleg\w*"
                               r"|mayor|bürgermeister\w*|мэр\w*|gradonačelnik\w*|deputy|գործընկեր\w*|քաղաքապետ\w*"
                               r"|კოლეგ\w*|მერ\w*|συνάδελφ\w*)(?!\w)")
# What "don't cancel" must be about to keep the writer's registration (not "the webinar", "my hotel booking")
_REGISTRATION = deferred(r"(?<!\w)(?:registration|attendance|anmeldung|registrierung|teilnahme|participation"
                         r"|регистрац\w*|участи\w*|участь|участю|реєстрац\w*|prijav\w*|registracij\w*|učešć\w*"
                         r"|ucesc\w*|sudjelovanj\w*|учешћ\w*|учество\w*|înregistrar\w*|inregistrar\w*"
                         r"|participar\w*|regjistrim\w*|pjesëmarrj\w*|რეგისტრაცი\w*|მონაწილეობ\w*"
                         r"|գրանցում\w*|մասնակցություն\w*|kayd\w*|katılım\w*|iştirak\w*|εγγραφ\w*"
                         r"|συμμετοχ\w*)(?!\w)")


# What else a cancel word may cancel, in a sentence that says the writer takes part ("I had to cancel a trip, so
# I can attend after all", "я отменил командировку, поэтому смогу участвовать"): trips and leave, never this event
_OTHER_PLANS = deferred(r"(?:trip|travel|flight|holiday|vacation|reise|dienstreise|urlaub|flug|поездк|командировк"
                        r"|отпуск|перел[её]т|рейс|поїздк|відрядженн|відпустк|putovanj|odmor|путовањ|патување"
                        r"|пътуван|călători|calatori|concediu|udhëtim|udhetim|pushim|მივლინებ|მოგზაურ|შვებულებ"
                        r"|գործուղում|ճամփորդ|արձակուրդ|seyahat|yolculu|tatil|səfər|ezamiyyət|məzuniyyət|ταξίδ"
                        r"|newsletter|verteiler|рассылк|розсилк)\w*")
# ... and meetings, which may be this event ("I have to withdraw from tomorrow's meeting"), unless another one
# ("cancel my other meeting", "einen anderen Termin absagen", "diğer toplantım iptal oldu")
_MEETINGS = deferred(r"(?:meeting|appointment|session|visit|lecture|class|training|commitment|engagement|termin"
                     r"|sitzung|besprechung|verpflichtung|schulung|встреч|совещани|заседани|зустріч|нарад|засіданн"
                     r"|sastan|sjednic|sednic|састан|средб|среща|întâlnir|intalnir|ședinț|sedint|takim|mbledhj"
                     r"|შეხვედრ|სხდომ|հանդիպում|նիստ|toplantı|randevu|iclas|συνάντησ|συνεδρίασ)\w*")
_ANOTHER = frozenset({"other", "another", "a", "an", "anderen", "andere", "anderer", "einen", "eine", "ein",
                      "другую", "другой", "другое", "другу", "іншу", "іншої", "drugi", "drugu", "drugog",
                      "другата", "друга", "alt", "altă", "alta", "tjetër", "tjetrin", "სხვა", "მეორე", "մյուս",
                      "diğer", "başka", "digər", "άλλη", "άλλο"})


# German "ab" before a time, a day or a number is "from" ("ich sage zu und komme ab 10 Uhr", "ich melde mich an und
# bin ab dem Nachmittag dabei"), not the prefix of "sage ... ab" or "melde mich ... ab" ("ich sage ab mit Bedauern")
_FROM_TIME = deferred(r"(?<!\w)ab(?=\s+(?:\d|(?:dem|einem|einer|sofort|jetzt|morgen|übermorgen|mittag"
                      r"|nachmittag|vormittag|abend|beginn|anfang|mitte|ende|halb|viertel|ca|etwa|circa|nächste\w*"
                      r"|kommende\w*|(?:mon|diens|donners|frei|sams|sonn)tag|mittwoch|januar|februar|märz|april"
                      r"|mai|juni|juli|august|september|oktober|november|dezember)(?!\w)))")


def _another_thing(words: list[str], at: int) -> bool:
    word = words[at].strip(".,;:!?\"'»«()")
    return bool(_OTHER_PLANS.fullmatch(word) or _MEETINGS.fullmatch(word) and at > 0 and words[at - 1] in _ANOTHER)


# A cancellation that is a thing the writer tells of, not one they ask for: "I received a calendar cancellation",
# "that cancellation was a mistake", "your cancellation confirmation" ("my cancellation" and "please accept my
# cancellation" still cancel).
_A_CANCELLATION = _alternation([r"(?:a|an|the|that|this|your|its|calendar|meeting|event|zoom|teams) cancellations?"
                                r"(?! of (?:my|our|me)(?!\w))",
                                r"cancellations? (?:notice|note|mail|e-?mail|message|confirmation|was)"])


def _cancels_something_else(clauses: list[str], clause: str, word: str, interest: tuple[str, ...],
                            negated: Callable[[str], bool]) -> bool:
    """Whether the cancel word's object is another thing of the writer's and the sentence says they take part
    ("I had to cancel a trip, so I can attend after all", "otkazao sam drugi sastanak i mogu da učestvujem",
    "ich sage meinen Urlaub ab und nehme teil"): the thing at most three words after the verb (no "because",
    "and" between), right before it ("командировка отменилась", "einen anderen Termin absagen") or inside
    "sage * ab". Without a participation of the writer's ("I have to cancel - business trip", "ich sage wegen
    einer Reise ab"), or with a registration in the clause ("cancel my trip and my participation"), it cancels."""
    found = _word_in(clause, word)
    if found is None or _REGISTRATION.search(clause):
        return False
    before, inside, after = clause[:found.start()].split(), found.group(0).split(), clause[found.end():].split()
    thing = any(_another_thing(inside, at) for at in range(1, len(inside) - 1)) \
        or bool(before) and _another_thing(before, len(before) - 1)
    for at, following in enumerate(after[:3]):
        if thing or following in _BOUNDARY:
            break
        thing = _another_thing(after, at)
    rest = [clause[found.end():]] + [c for c in clauses if c is not clause]
    if any(_SOMEONE_ELSES_NEAR.search(c) or _INSTEAD_OF.search(c) for c in rest):
        return False   # "ich muss wegen Urlaub absagen, meine Kollegin wird aber dabei sein"
    return thing and any(_takes_part(c, interest, negated) for c in rest)


def _takes_part(clause: str, interest: tuple[str, ...], negated: Callable[[str], bool]) -> bool:
    """A participation of the writer's in the clause: a participation or joining word, not negated, not someone
    else's, not another time ("next time"), and no registration noun ("and therefore my participation")."""
    word = find(interest, clause) or (found.group(0) if (found := _PRESENCE.search(clause)) else "") \
        or next((j for j in _JOINING if j in clause), "")
    return bool(word) and not negated(clause) and not _THIRD_SUBJECT.search(clause) \
        and not _SOMEONE_ELSES_NEAR.search(clause) and not _INSTEAD_OF.search(clause) \
        and not _REGISTRATION.search(clause) and not _another_event(clause, word)


# Words that end what a negation before a verb can reach: "I can't come so please cancel", "as I cannot attend
# please cancel" (not "i" and "da", also the English "I" and the Serbian "that")
_ASKING = frozenset({"please", "bitte", "пожалуйста", "прошу", "molim", "lutem", "rog", "παρακαλώ", "lütfen", "გთხოვთ",
                     "խնդրում", "моля", "молам"})
_BOUNDARY = _ASKING | frozenset({
    "and", "so", "because", "since", "therefore", "und", "weil", "also", "deshalb",
    "и", "так", "поэтому", "потому", "jer", "pa", "zato", "sepse", "prandaj",
    "deoarece", "pentru", "γιατί", "επειδή", "çünkü", "რადგან", "ამიტომ", "քանի", "ուստի", "бо", "тому", "тъй",
    "затова", "бидејќи", "затоа",
})
_PEOPLE = deferred(r"(?:my|me|i|mein\w*|mir|мо\w*|мне|мен\w*|мој\w*|moj\w*|колег\w*|коллег\w*|kolleg\w*"
                   r"|colleague\w*|koleg\w*|team|deputy)(?!\w)")
_NOT_AFTER = deferred(r"(?<!\w)(?:nicht|nichts|не|auf keinen fall|keinesfalls|ни в коем случае)(?!\w)")


def _keeps_mine(clause: str) -> bool:
    """Whether the clause asks, politely, not to cancel the writer's own registration: "please don't cancel my
    registration", "vă rog să nu-mi anulați" (not the event, a hotel, or a colleague's registration)."""
    return bool(_POLITE.search(clause) and _REGISTRATION.search(clause)
                and (MINE.search(clause) or _SENDER_OBJECT.search(clause) or _MI.search(clause))
                and not _SOMEONE_ELSES.search(clause) and not _SOMEONE_ELSES_NEAR.search(clause)
                and not _ELSEWHERE.search(clause) and not _NOT_A_KEEP.search(clause) and not _HEDGE.search(clause))


# "please don't forget / hesitate / wait to cancel": a request to cancel after all
_NOT_A_KEEP = deferred(r"(?<!\w)(?:forget|hesitate|wait|vergessen|zögern|warten|забу\w*|забы\w*|забрав\w*|стесняйтесь"
                       r"|колеба\w*|чека\w*|заборав\w*|zaborav\w*|ustručava\w*|čeka\w*|uita\w*|ezita\w*"
                       r"|aștepta\w*|harro\w*|დაგავიწყდეთ|მოგერიდოთ|\w*մոռան\w*|հապաղեք)(?!\w)")
# Giving one's place away: "please don't cancel my registration, but transfer it to my colleague"
_HANDOVER = deferred(r"(?<!\w)(?:transfer\w*|übertrag\w*|instead|stattdessen|an meiner stelle|вместо|замість"
                      r"|umjesto|umesto|deputy|stellvertret\w*|заместител\w*|zamjenik\w*|zamenik\w*)(?!\w)")


# A registration elsewhere: "please don't cancel my registration for the newsletter / for the next edition"
_ELSEWHERE = deferred(r"(?<!\w)(?:newsletter|mailing list|verteiler|next (?:edition|event|session|one|year)|future"
                      r"|nächste\w*|следующ\w*|sljedeć\w*|sledeć\w*|următo\w*)(?!\w)")


# the Romanian, Serbian and Bulgarian "me"/"my", the Ukrainian "to me"
_MI = deferred(r"(?<!\w)(?:nu-mi|mi|мі|ми)(?!\w)")


def _someone_elses(clause: str, word: str) -> bool:
    """Whether a possessive of someone else stands by the cancellation word: "cancel his registration",
    "seine Anmeldung stornieren" (not "his meeting ... so I must cancel my registration")."""
    at = max(_word_at(clause, word), 0)
    near = " ".join(clause[:at].split()[-3:] + clause[at:].split()[:4])
    return _SOMEONE_ELSES.search(near) is not None and not MINE.search(near)


def _asked(folded: str) -> bool:
    """"?", the Armenian ՞ (on the stressed word) and the Greek question mark (";", or U+037E)."""
    return folded.rstrip(" .!)").endswith(("?", "\u037e")) or "՞" in folded \
        or folded.rstrip(" )").endswith(";") and _GREEK.search(folded) is not None


def _asks_without_mark(folded: str) -> bool:
    """A sentence that opens as a question or asks in so many words, its "?" left out ("Will the slides be
    shared afterwards", "Kann ich auch ohne Kamera teilnehmen", "Можно ли подключиться по телефону", "I was
    wondering whether the recording will be available"), unless it ends in "!" ("How much we enjoyed it!")."""
    return not folded.rstrip(" .)").endswith("!") and (
        _OPENS_AS_QUESTION.match(folded) is not None or _ASKS_IN_WORDS.search(folded) is not None
        or _QUESTION_PARTICLE.search(folded) is not None)


# How a question opens: a verb before its subject, or a question word and a verb. Not "Will be there!", "Would
# love to join", "How nice", "Wie besprochen", "Kann man nichts machen", "Can I just say"; a "when" or "li"
# clause with a comma after it is a condition ("Когда будет готово, пришлю", "Bude li potrebno, poslat ću",
# "Should you have questions, ..."); Greek questions keep their ";".
_SUBJECT = (r"(?:i|we|you|he|she|they|it|there|the|my|our|this|that|these|those|anyone|anybody|someone|somebody"
            r"|everyone|participants|registrants)")
_NO_COMMA = r"(?![^,]*,)"
_OPENS_AS_QUESTION = deferred(
    r"\W*(?:(?:and|also|but|btw|by the way|one more question|one question|ps|p\.s\.|und|noch eine frage|"
    r"и|а|ещё|еще|также)[\s,:.-]+)?(?:"
    rf"(?:will|would|can|could|do|does|did|is|are|have|has) {_SUBJECT}(?!\w)(?<!have you)(?<!has it)(?! just say)"
    rf"|(?:should (?:i|we)|were (?:you|there)|have you (?!\w+ a nice)|has it){_NO_COMMA}(?!\w)"
    r"|(?:when|where|how|what|which|who|why) (?:will|would|can|could|do|does|did|is|are|should|shall|must|has"
    rf"|have|time|long|many|exactly|format|platform|language|day|date)(?!\w){_NO_COMMA}(?<!which is)"
    r"|(?:kann|können|könnte|könnten|darf|dürfen|muss|müssen|soll|sollen|wird|werden|würde|würden|gibt|ist|sind"
    r"|hat|haben|bekomme|bekommen|erhalte|erhalten|brauche|brauchen|findet|fängt|beginnt|wäre|besteht"
    r"|bleibt|reicht|geht) (?:ich|wir|sie|man|es|er|die|der|das|den|dem|ein|eine|mein|meine|unser|unsere|jemand)"
    r"(?!\w)(?!(?: \w+){0,3} (?:kaum|gerne?|leider|nicht|nichts|schon|dabei|sehen|erledigt|notiert)(?!\w))"
    r"|(?:wann|wo|wie|was|welche\w*|wer|warum|wieso|weshalb|woher|wozu) (?:kann|können|muss|müssen|soll|sollen"
    r"|wird|werden|ist|sind|bekomme|bekommen|erhalte|erhalten|finde|finden|beginnt|fängt|startet|dauert|komme"
    rf"|kommen|lange|viel|viele|genau|läuft|funktioniert)(?!\w){_NO_COMMA}"
    rf"|(?!не\s)(?:\w+ ){{1,3}}ли(?!\w)(?<!вряд ли)(?<!едва ли)(?<!чуть ли)(?<! то ли){_NO_COMMA}"
    r"|(?:ima|može|mogu|možemo|možete|hoće|hoćete|ćete|će|je|su|postoji|treba|trebam|trebamo|smijem|smem|bi"
    rf"|biste|da) li(?!\w){_NO_COMMA}|чи (?!то\s)|дали (?:ќе|ще|има|може|можам|можеме|е|би)(?!\w)"
    rf"|a (?:mund|do|ka|është|jeni|keni|duhet|ju)(?!\w)|kur do(?!\w){_NO_COMMA}"
    r"|(?:когда|где|куда) (?:будет|будут|начнется|начнётся|придет|придёт|пришлете|пришлёте|можно|найти|получить"
    rf"|подключиться|посмотреть)(?!\w){_NO_COMMA}|как (?:можно|подключиться|получить|зарегистрироваться)(?!\w)"
    r"|во сколько|сколько (?:длится|продлится|будет|времени)|кто (?:будет|из|выступает)|каким образом"
    rf"|(?:коли|де) (?:буде|можна|отримати|підключитися|надішлете|почнеться|отримаємо)(?!\w){_NO_COMMA}"
    rf"|як (?:можна|отримати|підключитися)(?!\w)|(?:кога|каде|како) (?:ќе|ще|може|можам|можеме)(?!\w){_NO_COMMA}"
    rf"|(?:kada|gdje|gde|kako) (?:će|ćete|mogu|možemo|se može)(?!\w){_NO_COMMA}"
    rf"|(?:este posibil|când va|cum pot|unde pot|când vom|când veți)(?!\w){_NO_COMMA}"
    rf"|(?:როდის|სად (?:ვნახო|ვიპოვო|შეიძლება)|արդյոք|nə vaxt|haçan)(?!\w){_NO_COMMA})")
# ... or asks in so many words: "I was wondering whether", "wanted to ask if", "хотел уточнить", "не подскажете"
_ASKS_IN_WORDS = deferred(lambda: factor(
    r"(?<!\w)(?:wondering (?:if|whether|when)|(?:want|wanted|like|liked) to (?:ask|know) (?:if|whether|when|how"
    r"|where|what)|(?:möchte|wollte|würde gerne?) (?:fragen|wissen),? (?:ob|wann|wie|wo|was)"
    r"|хотел\w* (?:бы )?(?:уточнить|спросить|узнать,? (?:ли|когда|как|где|сколько|будет|можно|есть|нужн\w*))"
    r"|подскажите|не подскажете|скажите,? пожалуйста"
    r"|хотів (?:би )?(?:уточнити|дізнатися|запитати)|підкажіть"
    r"|(?:vreau|aș vrea|aș dori|as dori|as vrea) s[ăa] (?:știu|stiu|întreb|intreb|aflu) (?:dacă|daca|când|cand|cum)"
    # "I am interested whether", "I would like to ask / to know whether", in the region's languages: with the
    # yes-or-no word after it ("Zanima me kako radi e-uprava", "Искам да знам повече" tell of interest)
    r"|(?:zanima|interesuje|занима|интересује|интересира|интересува|интересует|цікавить)"
    r"(?: (?:me|ме|мене|меня))?,? (?:da li|hoće li|hoce li|je li|li|да ли|хоће ли|дали|будет ли|можно ли|есть ли|чи)"
    r"|(?:htio|htjela|hteo|htela|želio|željela|želeo|želela|zelio|zeljela|zeleo|zelela) bih (?:pitati|da pitam"
    r"|(?:znati|da znam|saznati|da saznam),? (?:da li|li|je li|hoće li))"
    r"|(?:би сакал|би сакала|сакам|бих искал|бих искала|бихме искали|искам) да (?:прашам|попитам|питам"
    r"|(?:знам|разбера),? дали)"
    r"|(?:dua|do të doja|do te doja|dëshiroj|deshiroj) t[ëe] (?:pyes|(?:di|mësoj|mesoj),? (?:nëse|nese|a))"
    r"|mich interessiert,? ob|würde mich interessieren,? ob|ich wüsste gerne?,? ob"
    r"|please tell me,? (?:whether|how|which|in which)"
    r"|acaba|bilgi verirseniz|μήπωσ|μηπωσ"
    r"|თუ არა|olacaqmı|olacakmı|mümkündürmü|mümkünmü|varmı)(?!\w)"
    # the Azerbaijani future asked with its particle attached: "paylaşılacaqmı" (will it be shared?)
    r"|(?:acaq|əcək)(?:mı|mi|mu|mü)(?!\w)"))
# Turkish and Azerbaijani questions carry their particle as a word of its own: "mümkün mü", "olacak mı" ("mi"
# and "mu" only beside a letter of theirs alone: Serbian "mi" is "we", "mu" "him"; Romanian "mi-"); not a
# question reported ("çalışıyor mu diye kontrol ettim").
_QUESTION_PARTICLE = deferred(r"(?<![\w-])(?:mı|mü|mısınız|müsünüz|mıyım|müyüm|mıdır|müdür)(?![\w-])(?! diye)"
                              r"|^(?=.*[ığə]).*(?<![\w-])(?:mi|mu|misiniz|musunuz|miyim|muyum|midir|mudur)"
                              r"(?![\w-])(?! diye)")


_YOU = frozenset({"you", "sie", "вы", "ви", "vi", "ju", "voi", "dumneavoastră", "siz", "εσείσ", "თქვენ", "դուք"})
# A "maybe" before a cancel word (not an "if", "whether", "probably" or "decided": "I have decided to cancel" cancels)
_MAYBE = _alternation([r"maybe", r"perhaps", r"possibly", r"might", r"may", r"thinking (?:of|about)",
                       # "I'm considering cancelling", not "considering everything, I must cancel"
                       r"(?:i'm|i’m|am|are|we're|we’re|was|were)(?: \w+)? (?:considering|contemplating)",
                       r"überlege\w*", r"erwäge\w*", r"vielleicht", r"eventuell",
                       r"подумываю", r"раздумываю", r"razmišljam", r"размишљам",
                       r"möglicherweise", r"может быть", r"возможно", r"можливо", r"možda", r"mozda", r"можда",
                       r"можеби", r"може би", r"ndoshta", r"posibil", r"bəlkə", r"belki", r"միգուցե", r"գուցե",
                       r"შეიძლება", r"იქნებ", r"ίσωσ"])
# ... before a refused participation ("I might not be able to join"): not "may" ("On 5 May I cannot attend", "I
# may not attend: my employer did not approve it")
_MAYBE_NOT = _alternation([r"maybe", r"perhaps", r"possibly", r"might", r"vielleicht", r"eventuell", r"möglicherweise",
                           r"может быть", r"возможно", r"можливо", r"možda", r"mozda", r"можда", r"можеби", r"може би",
                           r"ndoshta", r"posibil", r"bəlkə", r"belki", r"միգուցե", r"գուցե", r"შეიძლება", r"იქნებ",
                           r"ίσωσ"])
_CONSIDERING = deferred(r"(?<!\w)думаю\s*$")
# ... with none of these between: a firm "must", an aside ("as you may know"), a choice ("it is better to"), a "you"
_FIRM = _YOU | frozenset({
    "must", "know", "best", "better", "well", "wissen", "besser", "знаете", "знаєте", "лучше", "znate", "знате",
    "bolje", "najbolje", "știți", "dini", "biliyorsunuz", "ξέρετε", "იცით", "գիտեք"})


WE_OR_I = _alternation([r"i", r"i'd", r"i’d", r"i'm", r"i’m", r"we", r"we'd", r"we’d", r"ich", r"wir", r"я", r"мы",
                         r"ми", r"ja", r"mi", r"ние", r"јас", r"unë", r"une", r"eu", r"noi", r"ben", r"biz",
                         r"mən", r"εγώ", r"εμείσ", r"მე", r"ჩვენ", r"ես", r"մենք"])
_I_MYSELF = frozenset({"i", "i'm", "i’m", "ich", "я", "ja", "eu", "unë", "une", "ben", "mən", "εγώ", "მე", "ես"})


def _tentative(clauses: list[str], clause: str, word: str, maybe: re.Pattern | None = None) -> bool:
    """Whether a "maybe" stands at most four words before the cancel word in its clause (or is all of the clause
    before it: "возможно, мне придется отменить"), with no "and", "must", "know", "you" ... between: "I might have
    to cancel", "vielleicht muss ich absagen"; not "as you may know, I must cancel", "perhaps it is best to
    cancel", "perhaps you could cancel"."""
    found = _word_in(clause, word)
    if found is None:
        return False
    if _CONSIDERING.search(clause[:found.start()]):   # "я думаю отменить", not "думаю, отменю" (I think I'll cancel)
        return True
    at = clauses.index(clause)
    lone = clauses[at - 1].split() if at > 0 else []
    window = _NOT_HEDGE.sub(" ", " ".join((lone if len(lone) <= 2 else []) + clause[:found.start()].split()))
    maybes = list((maybe or _MAYBE).finditer(window))
    if not maybes:
        return False
    between, before = window[maybes[-1].end():].split(), window[:maybes[-1].start()].split()
    # At most four words between; not "you may cancel my registration" (it asks for it), nor a maybe of something
    # else's in a reason ("as the meeting may run late I cancel"; "because of the strike I might have to" is mine).
    reason = (_BOUNDARY | {"as"}).intersection(before) and before[-1:] != [] and before[-1] not in _I_MYSELF
    return len(between) <= 4 and not (_BOUNDARY | _FIRM).intersection(between) and not _YOU.intersection(before[-1:]) \
        and not reason


# A cancellation meant once and taken back in the same sentence: "I was going to cancel, but I will attend after
# all", "ich wollte eigentlich absagen, komme aber doch" (not the polite "I would like to", "хотел бы", "htio bih")
_MEANT_TO = deferred(r"(?<!\w)(?:was going to|were going to|wanted to|had planned to|had intended to|wollte\w*"
                     r"|hatte\w* (?:eigentlich )?vor|хотел\w*(?! бы)|собирал\w*|хотів|хотіла|збирав\w*"
                     r"|(?:htio|htjela|htela|hteo|namjeravao|nameravao|namjeravala|nameravala)(?! bih)"
                     r"|am vrut|voiam|doja|istemiştim|ვაპირებდი|მინდოდა|ուզում էի|(?<!θα )ήθελα|σκόπευα)(?!\w)")
_BUT = deferred(r"(?<!\w)(?:but|aber|doch|но|але|ali|али|ama|amma|ancak|fakat|dar|însă|insa|por|αλλά|მაგრამ"
                r"|բայց)(?!\w)")
# "Please disregard my previous mail about cancelling my registration - I will attend"
_DISREGARD = deferred(r"(?<!\w)(?:disregard|ignore|ignorieren sie|vergessen sie|игнорируйте|ігноруйте|zanemarite"
                      r"|ignorišite|ignorați)(?: \w+){0,3} (?:mail|e-mail|email|message|nachricht|письмо|лист"
                      r"|poruk\w*|mejl|mesaj\w*) (?:about|regarding|concerning|über|bezüglich|wegen|об?|про|o"
                      r"|despre) $")
_INSTEAD_OF = deferred(r"(?<!\w)(?:instead of me|in my place|an meiner stelle|statt mir|anstelle von mir"
                       r"|вместо меня|замість мене|umjesto mene|umesto mene|наместо мене|на мое място|în locul meu"
                       r"|në vendin tim|ჩემ ნაცვლად|իմ փոխարեն|benim yerime|αντί για μένα)(?!\w)")
# ... nor another event, a wish or a request: "but I hope to join future events", "but please cancel anyway"
_NOT_NOW = deferred(r"(?<!\w)(?:next|future|similar|would|if|hope\w*|nächst\w*|künftig\w*|wenn|falls|следующ\w*"
                    r"|будущ\w*|наступн\w*|майбутн\w*|sljedeć\w*|sledeć\w*|budućim|viitor\w*|ardhsh\w*"
                    r"|gelecek|επόμεν\w*|μελλοντικ\w*)(?!\w)")
_ALTERNATIVE = deferred(r"(?<!\w)(?:instead|statt|stattdessen|вместо|замість|umjesto|umesto|în loc|yerine"
                        r"|αντί)(?!\w)")
_AFTER_ALL = deferred(r"(?<!\w)(?:after all|doch|trotzdem|все-таки|всё-таки|все же|всё же|ipak|ипак|totuși"
                      r"|megjithatë|yine de|მაინც|τελικά)(?!\w)")
_COMING = deferred(r"(?<!\w)(?:komme|kommen|приду|прийду|dolazim|doći ću|doću|vin|vij)(?!\w)")
_WOULD_HAVE = deferred(r"(?<!\w)(?:would have|hätte\w*|было бы|bih rado|θα ήθελα)(?!\w)")


def _disregarded(folded: str, word: str) -> bool:
    """Whether the cancel word is what an earlier mail to be disregarded was about."""
    found = _word_in(folded, word)
    return found is not None and _DISREGARD.search(" ".join(folded[:found.start()].split()[-8:]) + " ") is not None


def _taken_back(folded: str, word: str, interest: tuple[str, ...]) -> bool:
    """Whether the cancel word was only meant ("was going to", "wollte", "хотел" at most four words before it)
    and after a "but" the writer takes part ("... but I will attend after all", "..., komme aber doch"): not
    someone else ("but my colleague will attend"), not next time, not negated ("aber ich kann doch nicht")."""
    found = _word_in(folded, word)
    if found is None or not _MEANT_TO.search(" ".join(folded[:found.start()].split()[-4:])):
        return False
    rest = folded[found.end():]
    but = _BUT.search(rest)
    if but is None:
        return False
    scope = rest[rest.rfind(",", 0, but.start()) + 1:]   # German puts "aber" after the verb: "komme aber doch"
    if not _AFTER_ALL.search(scope) and (_NOT_NOW.search(scope) or _ASKING.intersection(scope.split())):
        return False
    if _ALTERNATIVE.search(scope):   # "but Anna will attend instead"
        return False
    said = [c for c in _clauses(scope) if not negation_pattern(c).search(c)]
    return any((_COMING.search(c) or _takes_part(c, interest, lambda c: False))
               and not _SOMEONE_ELSES_NEAR.search(c) and not _WOULD_HAVE.search(c) for c in said)


# Permission to take part not given yet: "I have not received approval to attend yet", "still waiting for my
# director's permission", "noch keine Genehmigung", "the approval is still pending"; the registration waits for it.
# Said in these words only: "no permission needed", "without waiting for approval" and "waiting for your approval
# of my slides" name no missing permission.
_NOT_YET_ALLOWED = deferred(
    r"(?<!\w)(?:(?:not|n['’]t) (?:yet )?(?:received|got|gotten|obtained|been given|been granted) (?:the |my |an |any "
    r"|official )?(?:approval|permission|authori[sz]ation|clearance)"
    r"|(?:no|without) (?:approval|permission|authori[sz]ation|clearance) yet"
    r"|(?<!without )waiting for (?:the |my |an |official )?(?:\w+['’]s )?(?:approval|permission|authori[sz]ation"
    r"|clearance)"
    r"|(?:approval|permission|authori[sz]ation|clearance)(?: \w+){0,3} (?:is |are )?(?:still )?(?:pending"
    r"|outstanding|missing)"
    r"|noch keine (?:genehmigung|erlaubnis|freigabe)"
    r"|(?:genehmigung|erlaubnis|freigabe)(?: \w+){0,3} (?:fehlt|steht noch aus)"
    r"|warte\w* (?:\w+ ){0,2}auf (?:die |meine |eine )?(?:\w+ )?(?:genehmigung|erlaubnis|freigabe)"
    r"|(?:ещё|еще|пока) не (?:получил\w*|дали|дал) (?:\w+ )?(?:разрешени|одобрени|согласовани)\w*"
    r"|жду (?:\w+ )?(?:разрешени|одобрени|согласовани)\w*"
    r"|(?:još|jos) (?:nisam|nemam) (?:dobi\w* )?(?:odobrenj|dozvol|saglasnost)\w*)(?!\w)")


_TRAVEL = deferred(r"(?<!\w)(?:travel\w*|reise\w*|dienstreise\w*|поездк\w*|командировк\w*|putovanj\w*)(?!\w)")


def _not_yet_allowed(folded: str) -> re.Match | None:
    """The words of a permission not given yet, unless it is to travel ("so I will join online")."""
    found = _NOT_YET_ALLOWED.search(folded)
    if found is None or _TRAVEL.search(folded, max(0, found.start() - 20), found.end() + 20):
        return None
    return found


def _hedge_before(folded: str, word: str | None) -> re.Match | None:
    """The hedge before the word (anywhere in the sentence when `word` is None); a polite "if you could" or
    "if possible" is none."""
    end = len(folded) if word is None else max(_word_at(folded, word), 0)
    blank = _NOT_HEDGE.sub(lambda m: " " * len(m.group(0)), folded)
    hedge = _HEDGE.search(blank, 0, end)
    if hedge:   # a polite "if you could" is none (looked for only where a hedge is: most sentences have none)
        hedge = _HEDGE.search(_NOT_CONDITION.sub(lambda m: " " * len(m.group(0)), blank), 0, end)
    return hedge


def _beside_thing(clause: str, word: str) -> bool:
    """Whether the participation word names a thing with the words next to it: "the participation link",
    "ссылка для участия", "link za učešće", "the registration form"."""
    at = max(_word_at(clause, word), 0)
    if not _PARTICIPATION_NOUN.match(clause, at):   # "attend the Zoom session" is a refusal of taking part
        return False
    near = " ".join(clause[:at].split()[-2:] + clause[at:].split()[:3])
    return _TROUBLE_THINGS.search(_NOT_TROUBLE.sub(" ", near)) is not None


_PARTICIPATION_NOUN = deferred(r"participation|registration|teilnahme|anmelde|участи[яюе]|učešć|sudjelovanj"
                               r"|pjesëmarrj|participare|მონაწილეობ|katılım|մասնակցության|συμμετοχ|участь")


def _word_at(clause: str, word: str) -> int:
    return clause.find(word.split(" ")[0].rstrip("."))


# A clause that opens with a condition makes a promise in the next one its consequence: "Sollte etwas
# dazwischenkommen, melde ich mich rechtzeitig ab", "should anything come up, I will cancel in good time" (not
# "if you don't mind, I'd like to cancel", "wenn Sie gestatten, sage ich hiermit ab")
_CONDITION_OPENS = deferred(r"\W*(?:if|in case|should|unless|falls|wenn|sollte\w*|sofern|если|в случае|якщо"
                            r"|у разі|ako|ukoliko|ако|nëse|nese|dacă|daca|în caz|εάν|αν|eğer|əgər|თუ|եթե)(?!\w)")
_HEREBY = deferred(r"(?<!\w)(?:hereby|hiermit|herewith|настоящим|ovim|prin prezenta|me anë të kësaj)(?!\w)")
_ASIDE = deferred(r"(?<!\w)(?:mistaken|correctly|honest\w*|mind|ok|okay|helps|irre\w*|richtig|ehrlich|recht|ihnen"
                  r"|ausmacht|erlauben|gestatten"
                  r"|ошибаюсь|честно|помню|griješim|grešim|sinceră|gabim|yanılmıyorsam|κάνω λάθοσ)(?!\w)")
_PROMISE = deferred(r"(?<!\w)(?:will|shall|in (?:good )?time|rechtzeitig|werde\w*|dann|wieder|заранее|своевременно"
                    r"|вовремя|заздалегідь|unaprijed|unapred|навреме|на време|din timp|me kohë|önceden|zamanında"
                    r"|vaxtında|εγκαίρωσ|წინასწარ|նախապես)(?!\w)|\w'll(?!\w)")


def _condition_ahead(clauses: list[str], clause: str, word: str) -> bool:
    """Whether the clause before this one opens with a condition ("if possible" is none) and this one promises
    ("will", "rechtzeitig", "заранее") or, in German, begins with the cancel verb ("Sollte ich verhindert sein,
    melde ich mich ab"; not "..., sage ich hiermit ab"): the cancel word is what the writer will do if it
    happens."""
    found = _word_in(clause, word)
    at = clauses.index(clause)
    consequence = _PROMISE.search(clause) is not None \
        or found is not None and not clause[:found.start()].strip() and clause[found.start():].split()[1:2] == ["ich"] \
        and not _HEREBY.search(clause)
    condition = _NOT_CONDITION.sub(" ", clauses[at - 1]).strip() if at > 0 else ""
    # (not a short aside: "if I remember correctly", "wenn Sie erlauben", "if that's OK with you")
    aside = len(condition.split()) <= 6 and (_ASIDE.search(condition) or _YOU.intersection(condition.split()))
    return consequence and _CONDITION_OPENS.match(condition) is not None and not aside


def _condition_before(clause: str, word: str) -> bool:
    """Whether the word's clause makes it a condition before it: "if I have to cancel", "falls ich absagen
    muss" ("unfortunately I have decided to cancel" and "please cancel, if possible" are no condition)."""
    polite = _NOT_CONDITION.sub(lambda m: " " * len(m.group(0)), clause)   # "wenn Sie ... stornieren könnten"
    return _CONDITION.search(polite, 0, max(_word_at(clause, word), 0)) is not None


def _another_event(clause: str, word: str) -> str:
    """"next time" (or another event's words) at most two words from the participation word."""
    at = _word_at(clause, word)
    for found in _ANOTHER_EVENT.finditer(clause):
        # the words between: before the word, or after it (the word's own words not counted)
        between = clause[found.end():at].split() if found.end() <= at else \
            clause[at:found.start()].split()[len(word.split()):]
        if len(between) <= 2 and not _AND.intersection(between):   # "I'll attend and next time my deputy too"
            return found.group(0)
    return ""


def _requested(folded: str, patterns: tuple[str, ...]) -> bool:
    """Whether one of the words is what a request to "you" or a please asks for, at most three little words
    after it, about the sender ("me", "my", "mich" ...): "could you register me too?" registers; "can you
    still register after the deadline?" and "can you tell me whether I need to register?" ask."""
    union = compile_patterns(patterns)[0]
    for hit in union.finditer(folded):
        # the opener may also sit inside the words' match ("mă puteți înregistra"), or follow it as the
        # Turkish and Azerbaijani verb's ending does ("kaydımı iptal edebilir misiniz?")
        before = folded[max(0, hit.start() - 60):hit.start()]
        opener = _REQUEST_BEFORE.search(before)
        after = " ".join(folded[hit.end():hit.end() + 60].split()[:3])
        if opener:
            about = f"{opener.group(0)} {hit.group(0)} {after}"
        elif _REQUEST.search(hit.group(0)) or _REQUEST_AFTER.search(f"{hit.group(0)} {after}"):
            about = f"{' '.join(before.split()[-2:])} {hit.group(0)} {after}"
        else:
            continue
        if _SENDER_OBJECT.search(about):
            return True
    return False


def negation_pattern(clause: str, ne_negates: bool = True) -> re.Pattern:
    """The negations that can occur in `clause`: the same verdict as all of them, found sooner; without
    "ne" for a mail in Romanian or Albanian (`ne_negates` False), where it means "us" or "we"."""
    return _negations(any(need in clause for need in _SCANNING_NEEDS), ne_negates)


@functools.lru_cache(maxsize=4)
def _negations(scanning: bool, ne_negates: bool) -> re.Pattern:
    return _alternation([n for n in _NEGATIONS if (ne_negates or n != "ne")
                         and (scanning or not any(need in n for need in _SCANNING_NEEDS))])


# Participation that only counts when negated: "I can't make it", "ich kann nicht dabei sein".
_PRESENCE = _alternation([
    r"make it", r"come", r"be there", r"be present", r"be with you", r"join you", r"join us",
    r"dabei sein", r"kommen", r"dabei", r"prisustvovati", r"doći", r"doci", r"прийти", r"присутствовать",
    r"приехать", r"бути присутн\w*", r"ardhur", r"vin", r"veni",
    # ("join" after the negated modal or the writer's "not": "who will be joining" names nobody's refusal)
    r"(?:able to|cannot|can[’']t|could not|couldn[’']t|won[’']t|will not|not) (?:be )?join(?:ing)?",
    r"(?:i|we)(?:[’'](?:ll|m|re|d))? (?:[\w’']+ ){0,3}(?:be )?joining",   # ("I will no longer be joining")
    r"присоединиться", r"присоединюсь", r"dođem", r"dodjem", r"dođe[mš]", r"vij",
    r"дойда", r"дојдам", r"приклуч\w*", r"qoşul\w*", r"παρευρεθώ", r"schaffe (?:ich )?es", r"schaffen (?:wir )?es",
    r"verhindert",   # (itself a negation: "leider bin ich morgen verhindert")
])


def _presence(clause: str) -> str:
    found = _PRESENCE.search(clause)
    if found and found.group(0) == "verhindert" and _IF_GERMAN.search(clause):   # "sollte ich verhindert sein"
        return ""
    return found.group(0) if found else ""


_IF_GERMAN = _alternation([r"sollte\w*", r"falls", r"wenn", r"ob"])


# A problem with the means of taking part, not a refusal of it: "the participation link doesn't work",
# "der Kenncode wird nicht akzeptiert", "ссылка для участия не работает": a clause with a thing (link,
# password, app, form ...) and a negated verb of working (or a verb that carries its own negation, or an
# error word); "no sound"; "they did not let me in"; a negated verb of getting in ("Я не могу подключиться");
# or a promised thing not received ("I have not received the link yet"). "Wednesday doesn't work for me"
# names no thing; "I will not need the link" has no verb of working.
_THINGS = [
    r"url", r"zoom\w*", r"teams", r"webex", r"meeting[- ]id", r"passcode", r"password", r"app",
    r"browser", r"audio", r"sound", r"microphone", r"camera", r"video", r"log-?in", r"dial-in", r"waiting room",
    r"host", r"picture", r"screen", r"form", r"website", r"web page", r"page", r"site", r"portal", r"access",
    r"zugang\w*", r"einwahl\w*", r"kenncode", r"passwort", r"kennwort", r"ton", r"mikrofon", r"kamera",
    r"warteraum", r"wartebereich", r"webseite", r"seite", r"meeting-?kennung",
    r"ссылк\w*", r"линк\w*", r"зал\w* ожидания", r"изображени\w*", r"экран\w*", r"парол\w*", r"приложени\w*",
    r"браузер\w*", r"звук\w*", r"микрофон\w*", r"камер\w*",
    r"зум\w*", r"форм[аеуы]", r"сайт\w*", r"страниц\w*", r"доступ\w*", r"посиланн\w*", r"застосун\w*",
    r"сторінк\w*", r"връзка\w*", r"врска\w*", r"лозинк\w*", r"апликаци\w*", r"достъп\w*", r"пристап\w*",
    r"сајт\w*", r"шифр\w*", r"приступ\w*",
    r"veza", r"vezu", r"poveznic\w*", r"lozink\w*", r"šifr\w*", r"sifr\w*", r"aplikacij\w*", r"zvuk\w*",
    r"slik\w*", r"kamer\w*", r"obrazac", r"stranic\w*", r"sajt\w*", r"pristup\w*", r"fjalëkalim\w*", r"lidhj\w*",
    r"aplikacion\w*", r"faqe\w*", r"parol\w*", r"aplicați\w*", r"aplicati\w*", r"sunet\w*", r"pagin\w*",
    r"acces\w*",
    r"ბმულ\w*", r"ლინკ\w*", r"პაროლ\w*", r"აპლიკაცი\w*", r"ზუმ\w*", r"հղում\w*", r"լինկ\w*", r"գաղտնաբառ\w*",
    r"հավելված\w*", r"σύνδεσμ\w*", r"συνδέσμ\w*", r"κωδικ\w*", r"εφαρμογ\w*", r"bağlantı\w*", r"şifre\w*",
    r"uygulama\w*", r"keçid\w*", r"şifrə\w*", r"tətbiq\w*", r"идентификатор\w*", r"ідентифікатор\w*",
]
_ANY_LINK = r"link|formular|формулар"   # (any word with these in it: Teilnahmelink, linku, Anmeldeformular)
_TROUBLE_THINGS = deferred(lambda: _ANY_LINK + r"|(?<!\w)(?:" + either(_THINGS) + r")(?!\w)")
# Phrases that name a thing and report nothing: "von meiner Seite", "во врска со" (regarding), "without any error"
_NOT_TROUBLE = _alternation([
    r"von (?:meiner|unserer) seite", r"meinerseits", r"on site", r"vor ort", r"no trouble", r"no problems?",
    r"without (?:any )?(?:trouble|problems?)", r"in connection with", r"във връзка с", r"във връзка със",
    r"во врска со", r"нема врска", r"në lidhje me", r"u vezi s\w*", r"в связи с", r"without (?:any )?errors?",
    r"ohne (?:jeden |einen )?fehler", r"без (?:каких-либо )?ошибок", r"(?:do not|don[’']t) see any problem\w*",
])
_WORKING = _alternation([
    r"(?<!of )(?<!at )(?<!for )(?<!from )work(?:s|ed|ing)?",   # (not "because of work")
    r"open(?:s|ed)?", r"load(?:s|ed|ing)?", r"connect(?:s|ed|ing)?", r"start(?:s|ed)?",
    r"function(?:s|ed|ing)?", r"accepted", r"admit(?:s|ted)?", r"hear", r"log in", r"sign in",
    r"enter", r"submit\w*", r"get (?:back )?in(?! touch)",
    r"funktionier\w*", r"geht", r"klappt", r"öffne\w*", r"lädt", r"laden", r"verbind\w*", r"startet",
    r"gestartet", r"akzeptiert", r"angenommen", r"einwähl\w*", r"einloggen", r"hören", r"erreichbar",
    r"aufrufbar", r"verfügbar", r"zugreifen", r"rein(?:kommen|gelassen)", r"absenden",
    r"работа(?:ет|ют|л\w*)", r"откр\w*", r"загруж\w*", r"подключ\w*", r"запуска\w*", r"принима\w*", r"войти",
    r"зайти", r"подходит", r"приймається", r"δεκτ\w*", r"прифат\w*", r"слыш\w*", r"видн\w*", r"вижу", r"працю\w*",
    r"відкр\w*", r"приймає", r"увійти", r"чути",
    r"работи", r"работят", r"отваря\w*", r"отвара\w*", r"зарежда\w*", r"влез\w*", r"приема", r"ради", r"уђ\w*",
    r"ући", r"radi", r"rade", r"otvar\w*", r"otvori\w*", r"učitava\w*", r"ucitava\w*", r"povez\w*", r"povež\w*",
    r"spaj\w*", r"uć\w*", r"uci", r"čuj\w*", r"cuj\w*", r"чуј\w*", r"vidim", r"vidi", r"funksion\w*", r"dëgjo\w*",
    r"hapet", r"hapen", r"hap", r"hyj\w*", r"lidhem", r"lidhet", r"funcțion\w*", r"functione\w*",
    r"funcționeaz\w*", r"deschid\w*", r"încarc\w*", r"incarc\w*", r"conect\w*", r"intru", r"intra",
    r"მუშაობ\w*", r"იხსნ\w*", r"გაიხსნ\w*", r"გახსნ\w*", r"გავხსენ\w*", r"შევდი\w*", r"შესვლ\w*", r"աշխատ\w*",
    r"բաց\w*", r"մուտք\w*", r"λειτουργ\w*", r"ανοίγ\w*", r"φορτών\w*", r"μπαίν\w*",
])
# Getting into the meeting: about nothing else, so negated it needs no thing ("они меня так и не впустили",
# "Я не могу подключиться к конференции", "Ich kann mich nicht einwählen")
_GETTING_IN_WORDS = [
    r"let (?:me|us) in", r"lets? (?:me|us) in", r"(?:herein|rein|ein)gelassen", r"впуст[иья]\w*", r"впуска\w*",
    r"пускают", r"подключиться", r"(?:connect to|access) the (?:meeting|event|session|call|conference)", r"log ?in",
    r"einwählen", r"einloggen", r"reinkommen", r"вляза", r"μπω", r"povezati", r"povežem", r"spojiti",
    r"შევედი", r"შევიდე", r"մուտք գործել", r"մտնել", r"թողել", r"թողնում", r"get (?:back )?in(?! touch)", r"rein",
    r"hear (?:the|anything|anyone|you)", r"daxil ola bilmir\w*",
]
_GETTING_IN = _alternation(_GETTING_IN_WORDS)
# Turkish and Azerbaijani verbs of working with the negation in their ending
_NOT_WORKING = _alternation([r"çalışmı\w*", r"açılmı\w*", r"bağlanamı\w*", r"giremi\w*", r"yüklenmi\w*",
                             r"işləmir\w*", r"açılmır\w*", r"kabul edilmi\w*", r"qəbul olunmur\w*"])
_ERROR = _alternation([
    r"error\w*", r"invalid", r"wrong", r"incorrect", r"expired", r"broken", r"404", r"stuck", r"blank", r"empty",
    r"nowhere", r"nirgendwo", r"nigdje", r"nigde", r"никуда", r"нікуди", r"prazn(?:a|o|u|e|om|oj)",
    r"пуст(?:ая|ой|ую|о|ое|ые)", r"fehler\w*",
    r"ungültig\w*", r"falsch\w*", r"abgelaufen", r"kaputt", r"defekt", r"ошибк\w*", r"неверн\w*",
    r"недействительн\w*", r"помилк\w*", r"невірн\w*", r"недійсн\w*", r"грешк\w*", r"невалид\w*", r"grešk\w*", r"greška",
    r"gresk\w*", r"greska", r"nevažeć\w*", r"gabim\w*", r"eroare\w*", r"შეცდომ\w*", r"սխալ\w*", r"σφάλμα\w*",
    r"hata\w*", r"xəta\w*",
])
# "no sound", "kein Ton", "nema zvuka": the sound or the picture is missing (not "no camera needed")
_SOUNDS = r"sound|audio|picture|image|ton|bild|ήχο\w*|εικόνα\w*|звук\w*|изображени\w*|картинк\w*|zvuk\w*" \
          r"|slik\w*|слика\w*|zë|zëri|sunet\w*|imagine"
_NO_SOUND = deferred(r"(?<!\w)(?:no|kein\w*|нет|немає|няма|нема|nema|nuk ka|nu (?:am|este|e|se aude)|ούτε"
                     r"|δεν έχω|ні|ни)\s+"
                     rf"(?:{_SOUNDS})(?!\w)(?![-\s]+(?:check|test|needed|required|nötig|problem\w*|issues?|trouble))")
# Not received, with what was promised at most two words after it or four before ("Den Link habe ich noch
# nicht erhalten"); "I didn't get a chance to read the agenda" is no such report.
_MISSING = deferred(
    rf"(?<!\w)(?:{'|'.join(_NOT_RECEIVED + _NOT_RECEIVED_TOO)})(?:\s+\w+){{0,2}}\s+(?:{_PROMISED})(?!\w)"
    rf"|(?<!\w)(?:{_PROMISED})(?:\s+\w+){{0,4}}\s+(?:{'|'.join(_NOT_RECEIVED + _NOT_RECEIVED_TOO)})(?!\w)"
    rf"|(?<!\w)kein\w*\s+(?:\w+\s+)?(?:{_PROMISED})\s+(?:erhalten|bekommen)(?!\w)")
# The external-sender banner's warning is no problem report: "Do not click links or open attachments unless ..."
_WARNING = _alternation([
    r"(?:do not|don[’']t|never) (?:click|open|enter)\w*", r"(?:klicken|öffnen) sie (?:nicht|keine)\w*",
    r"не (?:открывайте|нажимайте|переходите)", r"ne (?:otvarajte|klikajte|kliknite|klikćite)",
    r"may not open",
])
# Joining words: a refusal with one of these beside a problem report is the problem ("I cannot join, the link
# says the host has not started"); "I cannot attend" stays a refusal.
_JOINING = ("join", "beitret", "zuschalt", "подключ", "присоедин", "приєдн", "pridruž", "bashkoh", "alătur", "qoşul",
            "միան")


# A problem report names one of these: one look decides for most sentences, which name none
_TROUBLE_WORDS = deferred(lambda:
    _ANY_LINK + r"|(?<!\w)(?:" + either([*_THINGS, *_GETTING_IN_WORDS, _PROMISED_WORDS, _SOUNDS]) + r")(?!\w)")


def _trouble(folded: str, ne_negates: bool = True) -> str:
    """The words of a problem with the means of taking part (link, password, app ...), or ""."""
    if not _TROUBLE_WORDS.search(folded):
        return ""
    if none := _NO_SOUND.search(folded):
        return none.group(0)
    if missing := _MISSING.search(folded):
        return missing.group(0)
    for clause in _clauses(folded):
        said = _NOT_TROUBLE.sub(" ", _WARNING.sub(" ", _NOT_NEGATION.sub(" ", clause)))
        if _CONDITION.search(said):   # "if the link does not work, I will call you" reports nothing yet
            continue
        words = _Words(said)
        negations = list(negation_pattern(said, ne_negates).finditer(said))
        for negation in negations:
            if (getting_in := _GETTING_IN.search(said, negation.end())) and words.close(negation, getting_in):
                return f"{negation.group(0)} ... {getting_in.group(0)}"
        things = list(_TROUBLE_THINGS.finditer(said))
        if not things:
            continue
        # a negation next to the verb of working ("doesn't work", "funktioniert bei mir leider nicht"; not "the
        # link works and I don't need the passcode"), and the thing near them ("the time doesn't work for me and
        # I'll watch the recording on the website" names no problem)
        negated_at = [words.at(n.start()) for n in negations]
        found = [*_NOT_WORKING.finditer(said), *_ERROR.finditer(said),
                 *(working for working in _WORKING.finditer(said) if words.negated(working, negated_at))]
        found_at = sorted(words.at(f.start()) for f in found)
        near = next((thing for thing in things if words.any_within(words.at(thing.start()), found_at, 6)), None)
        if near:
            what = min(found, key=lambda f: abs(words.at(f.start()) - words.at(near.start())))
            return f"{near.group(0)} ... {what.group(0)}"
    return ""


_ANDS = _AND | {"და", "և", "ու", "ja"}


class _Words:
    """Word positions of a clause, for "at most n words apart" without cutting the text for every pair
    (a long pasted line with many matches stays linear)."""

    def __init__(self, text: str):
        found = list(re.finditer(r"\S+", text))
        self.starts = [m.start() for m in found]
        self.words = [m.group(0) for m in found]

    def at(self, position: int) -> int:
        return bisect.bisect_right(self.starts, position) - 1

    def close(self, first: re.Match, second: re.Match, words: int = 4) -> bool:
        return abs(self.at(first.start()) - self.at(second.start())) <= words + 1

    @staticmethod
    def any_within(index: int, sorted_indexes: list[int], words: int) -> bool:
        at = bisect.bisect_left(sorted_indexes, index - words - 1)
        return at < len(sorted_indexes) and sorted_indexes[at] <= index + words + 1

    def negated(self, working: re.Match, negated_at: list[int]) -> bool:
        """A negation at most four words before the verb, or after it with no "and" between."""
        verb = self.at(working.start())
        return any(verb - 5 <= at <= verb or verb < at <= verb + 5 and not _ANDS.intersection(self.words[verb:at])
                   for at in negated_at)


def _question_word(clauses: list[str], question: tuple[str, ...], negated: Callable[[str], bool]) -> str | None:
    """The first question word of a clause that is not negated and not a stock phrase (_NOT_ASKING); an offer is
    none when a clause after it asks whom or where ("Если возникнут вопросы, куда их задавать")."""
    offers = any(_WHOM_OR_WHERE.match(c) for c in clauses[1:])
    return next((w for c in clauses if (w := find(question, c if offers else _NOT_ASKING.sub(" ", c)))
                 and not negated(c)), None)


def _asks_after(folded: str, clauses: list[str], registered: tuple[str, str], question_hit: str | None,
                asked: bool) -> str:
    """What a sentence asks after it has registered in a clause of its own, with a wish or will to take part
    ("I would like to attend the event, will there be interpretation?", "ich möchte gerne teilnehmen und habe
    eine Frage zur Übersetzung", "Želim da učestvujem, da li će biti prevod?"), or "": not where the registering
    clause is itself the question ("Can I still register, or is it too late?"), the question comes first ("I have
    a question about the registration"), the participation is no wish of the writer's ("We received the
    invitation to participate", "I took part last year", "My colleague would like to attend") or of another
    event ("We would like to take part next year")."""
    clause, word = registered
    if clause not in clauses:
        return ""
    if not (question_hit or asked):   # "Please register me, I would like to know whether ...", "Mich interessiert,
        in_words = _ASKS_IN_WORDS.search(folded)   # ob ...": the sentence registers anyway; it asks too
        return in_words.group(0) if in_words and not _hedge_before(folded[:in_words.start()], None) else ""
    if _OPENS_AS_QUESTION.match(clause) or not _wants_to(clause, word) or _THIRD_SUBJECT.search(clause) \
            or _SOMEONES.search(clause) or _another_event(clause, word):
        return ""
    at = folded.find(clause) + max(_word_at(clause, word), 0)   # where the registering word is
    last = clauses[-1]
    if question_hit:
        asked_at = at + _word_at(folded[at:], question_hit)
        said = question_hit if asked_at > at else ""
    else:
        asked_at = folded.rfind(last)
        said = last.strip()[-60:] if clauses.index(clause) < len(clauses) - 1 and asked_at > at \
            and len(last.split()) > 1 else ""
    # ("before we register we have a question", "înainte de a ne înscrie aș vrea să clarific: ...?" ask first)
    return said if said and not _hedge_before(folded[:asked_at], None) else ""


# A wish or a will to take part, in the registering word's clause: "I would like to attend", "ich möchte gerne
# teilnehmen", "želim da učestvujem", "katılmak istiyorum" (not a participation word alone: "Regarding the
# registration", "We received the invitation to participate", "I took part last year")
_WANTS = _alternation([
    r"would like", r"[’']d like", r"want", r"wish", r"will", r"[’']ll", r"shall", r"would love", r"[’']d love",
    r"happy to", r"glad to", r"pleased to", r"plan to", r"intend to", r"going to",
    r"möchte\w*", r"will", r"wollen", r"werde\w*", r"würde\w* gerne?", r"gerne?", r"freue?\w* (?:mich|uns)",
    r"хочу", r"хотим", r"хоч\w*", r"хотел\w* бы", r"хотів би", r"хотіла б", r"хотіли б", r"буду", r"будем",
    r"будемо", r"бажа\w*", r"приму", r"примем", r"візьму", r"візьмемо", r"планиру\w*",
    r"želi\w*", r"želio", r"željela", r"želeo", r"želela", r"htio", r"htjela", r"hteo", r"htela", r"ću", r"ćemo",
    r"rado",
    r"желим", r"желимо", r"желео", r"желела", r"хтео", r"ћу", r"ћемо", r"радо",
    r"искам", r"искаме", r"бих", r"бихме", r"ще", r"сакам", r"сакаме", r"би сакал\w*", r"ќе",
    r"dëshiroj\w*", r"deshiroj\w*", r"dua", r"duam", r"do të", r"do te",
    r"aș dori", r"as dori", r"doresc", r"dorim", r"vreau", r"vrem", r"aș vrea", r"as vrea", r"voi", r"vom",
    r"isti\w*", r"isteri\w*", r"θα", r"θέλ\w*", r"επιθυμ\w*", r"მსურს", r"მინდა", r"გვსურს", r"გვინდა",
    r"ვისურვებდი", r"ցանկան\w*", r"կցանկանայի", r"ուզում", r"istəyir\w*", r"istərdi\w*"])
# ... governing knowing or asking, not the participation ("I would like to know how I can register")
_KNOW_OR_ASK = _alternation([
    r"know", r"ask", r"learn", r"find out", r"clarify", r"wissen", r"fragen", r"erfahren", r"klären", r"знать",
    r"узнать", r"спросить", r"уточнить", r"знати", r"дізнатися", r"запитати", r"уточнити", r"znati", r"saznati",
    r"pitati", r"pitam", r"znam", r"знам", r"разбера", r"попитам", r"прашам", r"di", r"pyes", r"mësoj", r"știu",
    r"stiu", r"aflu", r"întreb", r"intreb", r"clarific", r"öğrenmek", r"sormak", r"μάθω", r"ρωτήσω", r"γνωρίζω",
    r"გავიგო", r"ვიკითხო", r"իմանալ", r"հարցնել", r"bilmək", r"soruşmaq"])
_SOMEONES = _alternation(_SOMEONE_PATTERNS)


def _wants_to(clause: str, word: str) -> bool:
    """Whether the clause wishes or wills the participation `word` names: a wish before it with nothing of
    knowing, asking, receiving, passing on or a hedge between, not said of someone else (a title, a relative
    clause), or a first-person wish right after it ("katılmak istiyorum", "iştirak etmək istəyirəm")."""
    if _JOINS.search(clause):   # the will in the verb itself: "učestvovaću", "կմասնակցեմ", "katılacağım"
        return True
    at = max(_word_at(clause, word), 0)
    wishes = list(_WANTS.finditer(clause, 0, at))
    between = clause[wishes[-1].end():at] if wishes else ""
    if wishes and (_OTHERS_WISH.search(clause, 0, wishes[-1].start()) or _THIRD_WISH.search(wishes[-1].group(0))):
        return False
    if wishes and not (_KNOW_OR_ASK.search(between) or _HEDGE.search(between) or _NOT_TAKING_PART.search(between)):
        return True
    after = clause[at:].split()[1:4]
    for i, w in enumerate(after):
        if _WANTS.fullmatch(w) and not _THIRD_WISH.fullmatch(w):
            return not _NOT_TAKING_PART.search(" ".join(after[:i]))
    return False


# ... not receiving, learning of or passing on something about participation ("I would like to receive a certificate
# of participation", "хотела бы получить сертификат участника", "I will forward the invitation to participants")
_NOT_TAKING_PART = _alternation([
    r"receive", r"get", r"obtain", r"information", r"info", r"details", r"certificate", r"confirmation", r"agenda",
    r"programme", r"program", r"link", r"slides", r"recording", r"forward", r"share", r"send", r"invitation",
    r"moderat\w*", r"erhalten", r"bekommen", r"informationen", r"infos", r"bestätigung", r"unterlagen", r"einladung",
    r"получить", r"информаци\w*", r"сертификат\w*", r"программ\w*", r"приглашени\w*", r"ссылк\w*", r"перешл\w*",
    r"отримати", r"інформаці\w*", r"запрошенн\w*", r"розсила\w*", r"dobij\w*", r"dobiti", r"potvrd\w*",
    r"informacij\w*", r"snimak", r"poziv\w*", r"proslijed\w*", r"prosled\w*", r"добијам", r"потврд\w*",
    r"покана\w*", r"проследам", r"получа", r"информация", r"информация\w*", r"marr", r"certifikat\w*", r"ftes\w*",
    r"shpërndaj", r"primesc", r"primi", r"certificat\w*", r"informați\w*", r"invitați\w*", r"trimite", r"მივიღო",
    r"სერტიფიკატ\w*", r"ინფორმაცი\w*", r"ստանալ", r"վկայական\w*", r"λάβω", r"πάρω", r"πληροφορί\w*",
    r"βεβαίωσ\w*", r"πρόσκλησ\w*", r"προωθήσω", r"σύνδεσμο\w*", r"σταλεί", r"belge\w*", r"almak", r"almaq",
    r"sertifika\w*"])
# ... said of someone else: a title or a relative pronoun before the wish ("Глава администрации хотел бы", "colleagues
# who would like to"), or a wish in the third person ("ο δήμαρχος θα ήθελε", "pročelnica želi", "müdürümüz istiyor")
_OTHERS_WISH = _alternation([
    r"mayor", r"head", r"director", r"глава", r"мэр\w*", r"директор\w*", r"руководител\w*", r"gradonačelni\w*",
    r"pročelni\w*", r"načelni\w*", r"кмет\w*", r"градоначалник\w*", r"δήμαρχ\w*", r"müdür\w*", r"mudur\w*",
    r"başkan\w*", r"baskan\w*", r"rəhbər\w*", r"primar\w*", r"kryetar\w*", r"bürgermeister\w*", r"herr", r"frau",
    r"who", r"которые", r"который", r"которая", r"які", r"який", r"koji", r"koja", r"koje", r"које", r"που", r"care",
    r"që", r"die"])
_THIRD_WISH = deferred(r"(?<!\w)(?:želi|желі|istiyor|istiyorlar|istəyir|ήθελε|θέλει|хоче|wants|wishes)(?!\w)")


def _clauses(folded: str) -> list[str]:
    return [c for c in _CLAUSE_END.split(folded) if c and c.strip()]


def find(patterns: tuple[str, ...], folded: str) -> str | None:
    """The first listed pattern found in a casefolded text, as whole words, or None."""
    if not patterns:
        return None
    union, (by_first, anywhere) = compile_patterns(patterns)
    hit = union.search(folded)
    if hit is None:
        return None
    at = hit.start()
    return next(pattern for pattern, body in by_first.get(folded[at:at + 1], anywhere) if _one(body).match(folded, at))


def _word_in(text: str, pattern: str) -> re.Match | None:
    """Where one pattern of a list is in the text: the cancel word's own match, for what stands around it."""
    return _one(_body(pattern)).search(text)


_FEW_WORDS_RE = r"[^!?\n]{0,80}?"  # what ' * ' stands for: a few words, within one sentence


# Of a list's patterns (each with its regular expression), those that can match where a text has a given
# character, in the list's order; and those that can match anywhere (they do not begin with a letter or digit).
Candidates = tuple[dict[str, tuple[tuple[str, str], ...]], tuple[tuple[str, str], ...]]


@functools.lru_cache(maxsize=256)
def compile_patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern, Candidates]:
    """One alternation for a whole list, and the candidates where the alternation matched (find() tries only
    those: a pattern that begins with a letter or digit, which re.escape leaves as it is, matches only where the
    text has that character; the labelled mails' matches were the 42nd pattern of their list on average).
    A pattern matches whole words at both ends; a word ending in "..." is a stem ("participat..." finds
    "participation")."""
    bodies = [_body(pattern) for pattern in patterns]
    firsts = [body[0] if letter_led(body) else "" for body in bodies]
    listed = list(zip(patterns, bodies, firsts, strict=True))
    by_first = {c: tuple((p, body) for p, body, first in listed if first in ("", c)) for c in set(firsts) - {""}}
    anywhere = tuple((p, body) for p, body, first in listed if not first)
    return re.compile("(?<!\\w)(?:" + factored(bodies) + ")"), (by_first, anywhere)


@functools.cache
def _one(body: str) -> re.Pattern:
    """One pattern of a list alone, compiled when find() first needs it (most never are: a start compiled
    a thousand)."""
    return re.compile("(?<!\\w)(?:" + body + ")")


def _body(pattern: str) -> str:
    pieces = []
    for piece in pattern.casefold().split(FEW_WORDS):
        piece = piece.strip()
        if piece.endswith(STEM_MARK):
            pieces.append(_escaped(piece[:-len(STEM_MARK)].rstrip()) + r"\w*")
        elif piece and (piece[-1].isalnum() or piece[-1] == "_"):
            pieces.append(_escaped(piece) + r"(?!\w)")
        else:
            pieces.append(_escaped(piece))
    return _FEW_WORDS_RE.join(pieces)


def _escaped(words: str) -> str:
    """The words as a regular expression; an apostrophe matches both the typed ' and the typographic
    ’ that Outlook and Apple Mail put in ("i'll be there" finds "I’ll be there")."""
    return re.sub("['’]", "['’]", re.escape(words))


# A request to erase one's data (GDPR Art. 17): the writer's own data ("my", "meine", "мои" ...), not negated
# ("please do not delete my data", "löschen Sie meine Daten nicht" ask for nothing; "please delete my data
# and do not write again" asks).
_ERASURE = (
    "delete my data", "delete my personal data", "delete all my data", "delete all my personal data",
    "erase my data", "erase my personal data", "erase all my data", "remove my data", "remove my personal data",
    "löschen sie * meine * daten", "meine daten löschen", "meine personenbezogenen daten löschen",
    "löschung meiner * daten", "löschung meiner daten", "bitte um datenlöschung",
    "удалите * мои * данные", "удалить * мои * данные", "видаліть * мої * дані", "видалити * мої * дані",
    "izbrišite * moje * podatke", "obrišite * moje * podatke", "izbrišete * moje * podatke",
    "obrišete * moje * podatke", "izbrisati * moje * podatke", "obrisati * moje * podatke",
    "ștergeți * datele mele", "stergeti * datele mele", "fshini * të dhënat e mia",
)


# A registrant's new address ("please use my new address x@... from now on"): only a coordinator can
# move a registration to it, so it is a question for them.
_NEW_ADDRESS = (
    "my new address", "my new e-mail address", "my new email address", "my new e-mail", "my new email",
    "my new mail address", "my other address", "my other e-mail address", "my other email address",
    "meine andere * adresse", "мой другой адрес", "на другой адрес", "другия ми адрес", "новия ми адрес",
    "moju drugu adresu", "moja druga adresa", "adresa mea cealaltă",
    "change my e-mail address", "change my email address", "update my e-mail address",
    "update my email address", "my e-mail address has changed", "my email address has changed",
    "meine neue * adresse", "meine neue e-mail", "meine e-mail-adresse hat sich geändert",
    "meine adresse hat sich geändert",
    "мой новый * адрес", "мой новый адрес", "моя нова * адреса", "моя нова адреса", "моја нова * адреса",
    "moja nova * adresa", "moju novu * adresu", "adresa mea nouă", "adresa mea noua", "adresa ime e re",
    "ჩემი ახალი * მისამართი", "իմ նոր * հասցե",
)


# A correction of the writer's name ("my name is misspelt in your mail: it is Tsereteli"): their greetings, lists and
# any certificate carry it, and only a coordinator can change it (`mailflow set-name`)
_NAME_CORRECTION = (
    "my name * misspel...", "my name * spelled * wrong...", "my name * spelt * wrong...",
    "my name * written * wrong...", "my name * incorrect...", "my name * not spelled correctly",
    "my name * should be", "my surname * misspel...", "my surname * incorrect...", "my surname * should be",
    "my last name * misspel...", "my last name * incorrect...", "my family name * misspel...",
    "misspel... my name", "misspel... of my name", "spelling of my name", "spelling of my surname",
    "typo in my name", "typo in my surname", "correct my name", "correct my surname",
    "mein name * falsch geschrieben", "mein nachname * falsch geschrieben", "meinen namen * falsch geschrieben",
    "meinen nachnamen * falsch geschrieben", "schreibweise meines namens", "schreibweise meines nachnamens",
    "tippfehler in meinem namen", "tippfehler in meinem nachnamen", "meinen namen * korrigieren",
    "фамилия * написана * неправильно", "фамилия * написана с ошибкой", "фамилию * написали * неправильно",
    "фамилию * написали с ошибкой", "имя * написано * неправильно", "имя * написано с ошибкой",
    "ошибка в * фамилии", "ошибка в * имени", "ошибку в * фамилии", "ошибку в * имени",
    "правильное написание * фамилии", "правильное написание * имени", "исправьте * фамилию", "исправьте * имя",
    "прізвище * написано * неправильно", "помилка в * прізвищі", "виправте * прізвище",
    "ime * pogrešno napisan...", "prezime * pogrešno napisan...", "ime * pogresno napisan...",
    "prezime * pogresno napisan...", "greška u * imenu", "greška u * prezimenu", "greska u * imenu",
    "greska u * prezimenu", "ispravite * ime", "ispravite * prezime", "име * погрешно написан...",
    "презиме * погрешно написан...", "грешка у * имену", "грешка у * презимену", "името ми * грешно",
    "фамилията ми * грешно", "numele meu * greșit", "numele meu * gresit", "numele * scris greșit",
    "numele * scris gresit", "corectați * numele", "corectati * numele", "emri im * gabim", "mbiemri im * gabim",
    "emri * shkruar gabim", "korrigjoni * emrin", "adım * yanlış yazıl...", "soyadım * yanlış yazıl...",
    "ismim * yanlış yazıl...", "adımı * yanlış yaz...", "soyadımı * yanlış yaz...", "ismimi * yanlış yaz...",
    "adım * səhv", "soyadım * səhv", "όνομά μου * λάθος", "επώνυμό μου * λάθος", "ჩემი გვარი * არასწორად",
    "ჩემი სახელი * არასწორად", "ազգանունս * սխալ", "անունս * սխալ",
)


def name_correction(own: str) -> str:
    """The words of a clause that corrects the writer's name, or ""."""
    return _asked_for(_NAME_CORRECTION, own)


# A request to send the link to someone else ("please send the link to my colleague Lea Vormann (lea@...) too",
# "Könnten Sie ihm bitte den Zugangslink schicken?"): only a coordinator knows whether they take part, or
# whether the address is the writer's own.
_LINK_REQUESTS = (
    "please send * link", "please forward * link", "kindly send * link", "could you * send * link",
    "can you * send * link", "would you * send * link", "schicken sie * link", "senden sie * link",
    "schicken sie * zugangs...", "sie * bitte * link * schicken", "отправьте * ссылк...", "пришлите * ссылк...",
    "надішліть * посилання", "pošaljite * link...", "изпратете * линк...", "gaugzavnot * link...",
    "გაუგზავნოთ * ბმულ...",
)
_SOMEONE_ELSE_NAMED = deferred(
    r"@|(?<!\w)(?:colleague\w*|kolleg\w*|коллег\w*|колег\w*|koleg\w*|coleg\w*|კოლეგ\w*|kolegas|գործընկեր\w*"
    r"|assistant\w*|secretary|sekretär\w*|deputy|stellvertret\w*|заместител\w*|zamjenik\w*|zamenik\w*"
    r"|her|him|them|ihm|ей|ему|им|joj|njemu)(?!\w)")


def link_for_someone(own: str) -> str:
    """The words of a request to send the link to someone else, not negated ("please do not send the link to
    X"), or ""."""
    folded = own.casefold()
    if not find(_LINK_REQUESTS, folded):   # one look at the whole text: most mails have none
        return ""
    for sentence in sentences(own):
        # the request and whom it names in one clause ("..., since I cannot attend myself" negates no request;
        # "send me the link, I will share it with my colleagues" asks it for the writer)
        for clause in _clauses(sentence.casefold()):
            request = find(_LINK_REQUESTS, clause)
            if not request or negation_pattern(clause).search(_NOT_NEGATION.sub(" ", clause)):
                continue
            found = _word_in(clause, request)
            after = clause[found.end():].split() if found else []
            upto_and = next((i for i, w in enumerate(after) if w in _ANDS), len(after))
            if _SOMEONE_ELSE_NAMED.search(" ".join([found.group(0) if found else "", *after[:upto_and]])):
                return request
    return ""


# The words of the three requests below, in one list: most mails have none of them, which one look tells.
_REQUESTS = _ERASURE + _NEW_ADDRESS + _NAME_CORRECTION + _LINK_REQUESTS


def makes_a_request(own: str) -> bool:
    """Whether the text has the words of a request (erasure_request, new_address, name_correction,
    link_for_someone): each of them finds nothing in a text that has none."""
    return find(_REQUESTS, own.casefold()) is not None


def erasure_request(own: str) -> str:
    """The words of a clause that asks to erase the writer's data, or ""."""
    return _asked_for(_ERASURE, own)


def new_address(own: str) -> str:
    """The words of a clause that gives the writer's new address for their registration, or ""."""
    return _asked_for(_NEW_ADDRESS, own)


def _asked_for(patterns: tuple[str, ...], own: str) -> str:
    if not find(patterns, own.casefold()):   # one look at the whole text: most mails have none
        return ""
    union = compile_patterns(patterns)[0]
    for sentence in sentences(own):
        for clause in _clauses(_NOT_NEGATION.sub(" ", sentence.casefold())):
            found = union.search(clause)
            if not found:
                continue
            # before it or inside it ("do not delete my data", "löschen Sie bitte nicht meine Daten"), or
            # the word right after it ("löschen Sie meine Daten nicht"); "... and do not write again" asks
            next_word = clause[found.end():].split()[:1]
            said = clause[:found.end()] + " " + " ".join(next_word)
            if not negation_pattern(said).search(said):
                return find(patterns, clause) or ""
    return ""
