"""Pure parts of bounded IMAP commands: UID sets of ranges and of bounded length; PERMANENTFLAGS."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailflow.mailbox import keywords_allowed, uid_sets


def expand(uid_set: str) -> list[int]:
    uids: list[int] = []
    for item in uid_set.split(","):
        first, _, last = item.partition(":")
        uids.extend(range(int(first), int(last or first) + 1))
    return uids


def test_runs_become_ranges():
    assert uid_sets([1, 2, 3, 500, 502, 504, 505, 506, 900]) == ["1:3,500,502,504:506,900"]
    assert uid_sets([7, 3, 4, 3]) == ["3:4,7"]
    assert uid_sets([]) == []


def test_twenty_thousand_contiguous_uids_are_one_short_set():
    assert uid_sets(range(1, 20001)) == ["1:20000"]


def test_every_other_uid_of_forty_thousand_is_split_into_short_sets():
    sets = uid_sets(range(1, 40001, 2), limit=4000)
    assert len(sets) > 1 and all(len(s) <= 4000 for s in sets)
    assert [uid for s in sets for uid in expand(s)] == list(range(1, 40001, 2))


@given(st.sets(st.integers(min_value=1, max_value=2**32 - 1), max_size=300), st.integers(min_value=30, max_value=200))
def test_sets_name_exactly_the_uids_each_within_the_limit(uids, limit):
    sets = uid_sets(uids, limit=limit)
    assert all(len(s) <= limit for s in sets)
    assert [uid for s in sets for uid in expand(s)] == sorted(uids)


def test_permanentflags_decide_whether_a_keyword_may_be_stored():
    dovecot = (b"\\Answered", b"\\Flagged", b"\\Deleted", b"\\Seen", b"\\Draft", b"\\*")
    microsoft_365 = (b"\\Seen", b"\\Answered", b"\\Flagged", b"\\Deleted", b"\\Draft")
    assert keywords_allowed(dovecot, "$MailflowProcessed")
    assert not keywords_allowed(microsoft_365, "$MailflowProcessed")
    assert keywords_allowed(microsoft_365, "\\Flagged")
    assert keywords_allowed(microsoft_365 + (b"$mailflowprocessed",), "$MailflowProcessed")   # named: allowed
    assert keywords_allowed(None, "$MailflowProcessed")   # no PERMANENTFLAGS: all flags are permanent
    assert not keywords_allowed((), "$MailflowProcessed")   # a read-only folder
