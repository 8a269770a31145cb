"""The limits on what one rendering may build leave what templates do alone. The hostile templates
themselves run in a process with a memory limit: tests/cli/test_check_limits.py."""

from pathlib import Path

from mailflow.replies import Replies


def render(tmp_path: Path, body: str) -> str:
    (tmp_path / "t.txt").write_text("Subject: Test\n\n" + body)
    return Replies(tmp_path).render("t.txt", {"items": ["a", "b"]}).text


def test_what_templates_do_is_within_the_limits(tmp_path):
    assert render(tmp_path, "{{ '{:,}'.format(5000000) }} {{ '%5s'|format('a') }} {{ 'x'|center(5) }}|") == \
        "5,000,000     a   x  |\n"
    assert render(tmp_path, "{{ 'ab' * 3 }} {{ [1, 2] * 2 }} {{ 2 ** 100 }} {{ 1 ** 100000 }} {{ 'a' ~ 'b' }}") == \
        "ababab [1, 2, 1, 2] 1267650600228229401496703205376 1 ab\n"
    assert render(tmp_path, "{% for x in items %}{{ loop.index }}{{ x }}{% else %}none{% endfor %}"
                            "{% for x in [] %}{% else %} none{% endfor %}") == "1a2b none\n"
    assert render(tmp_path, "{% macro m(x) %}<{{ x }}>{% endmacro %}{% set block %}{{ m(1) }}{% endset %}"
                            "{{ block }}{% for i in range(99999) %}{% endfor %}") == "<1>\n"


def test_the_loop_count_starts_again_with_every_rendering(tmp_path):
    replies = Replies(tmp_path)
    (tmp_path / "t.txt").write_text("Subject: Test\n\n{% for i in range(60000) %}{% endfor %}done")
    assert [replies.render("t.txt", {}).text for _ in range(3)] == ["done\n"] * 3


def test_a_question_is_answered_under_the_subject_a_mail_client_would_give_it():
    """ "Re: Re: Invitation" and "Re: AW: Einladung" looked like a robot's answer."""
    from datetime import UTC, datetime

    from mailflow.context import reply_context
    from mailflow.rules import load_rules
    from tests.support import REPO

    rules = load_rules(REPO / "rules.yaml")
    replies = Replies(REPO / "templates")

    def subject(template: str, incoming: str) -> str:
        context = reply_context(rules, rules.events[0], "international", "Nino", "n@x.ge", incoming,
                                now=datetime(2020, 9, 20, tzinfo=UTC))
        return replies.render(template, context).subject

    assert subject("question_international.txt", "Question about the agenda") == "Re: Question about the agenda"
    assert subject("question_international.txt", "Re: Invitation") == "Re: Invitation"
    assert subject("question_german.txt", "AW: Einladung") == "AW: Einladung"
    assert subject("question_german.txt", "Odg: Poziv") == "Odg: Poziv"
    assert subject("question_international.txt", "") == f"Re: {rules.events[0].title}"


def test_a_block_never_closed_is_named_at_the_line_it_opens(tmp_path):
    """Jinja names the template's last line for an `{% if %}` left open: a coordinator searched the wrong end."""
    import pytest

    from mailflow.replies import TemplateProblem

    def problem(body: str) -> str:
        with pytest.raises(TemplateProblem) as caught:
            render(tmp_path, body)
        return str(caught.value)

    opened = "Dear all,\n{% if late %}\nlate\n{% for x in items %}{{ x }}{% endfor %}\n{% if a %}x{% endif %}\n\nBest\n"
    assert problem(opened).startswith(f"{tmp_path / 't.txt'}:4: template syntax error: '{{% if %}}' is never closed "
                                      "(add '{% endif %}' where its text ends)")
    nested = "{% for x in items %}\n{% if x %}\n{{ x }}\n{% endfor %}\n"
    assert problem(nested).startswith(f"{tmp_path / 't.txt'}:6: template syntax error: Encountered unknown tag "
                                      "'endfor'")
    assert problem(nested).endswith("(its '{% if %}' is at line 4)")
    # an error that is not about a block keeps Jinja's line and words
    assert problem("a\n{{ name }\n") == f"{tmp_path / 't.txt'}:4: template syntax error: unexpected '}}'"


def test_a_set_of_templates_keeps_each_file_as_it_first_read_it(tmp_path):
    """Jinja re-read a template file that changed: a daemon answered with an edit no check had seen (an
    `{% if %}` left open held every German registration). A set renders what it read; `changed()` tells that a
    file it read, included or looked for is now another, so the daemon can check a new set."""
    import os

    import pytest

    from mailflow.replies import TemplateProblem

    template, footer = tmp_path / "t.txt", tmp_path / "footer.txt"
    template.write_text("Subject: Test\n\n{% if items %}Hello{% endif %}\n{% include 'footer.txt' %}")
    footer.write_text("Best")
    replies = Replies(tmp_path)
    assert replies.render("t.txt", {"items": [1]}).text == "Hello\nBest\n"
    assert not replies.changed()

    def edit(path: Path, text: str) -> None:
        before = path.stat().st_mtime_ns
        path.write_text(text)
        os.utime(path, ns=(before + 10**9, before + 10**9))   # (saved a second later, as an editor would)

    edit(template, "Subject: Test\n\n{% if items %}Hello\n{% include 'footer.txt' %}")
    assert replies.render("t.txt", {"items": [1]}).text == "Hello\nBest\n"
    assert replies.changed()
    assert not Replies(tmp_path).changed()   # a new set reads the file as it is now
    edit(template, "Subject: Test\n\n{% if items %}Hello{% endif %}\n{% include 'footer.txt' %}")
    replies = Replies(tmp_path)
    replies.render("t.txt", {"items": [1]})
    edit(footer, "Kind regards")
    assert replies.changed() and replies.render("t.txt", {"items": [1]}).text == "Hello\nBest\n"

    missing = Replies(tmp_path)   # a file looked for in vain: its creation is a change too
    with pytest.raises(TemplateProblem, match="template file not found"):
        missing.render("new.txt", {})
    assert not missing.changed()
    (tmp_path / "new.txt").write_text("Subject: New\n\nNew")
    assert missing.changed()
