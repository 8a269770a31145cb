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
