"""The form macros: extra attributes are markup, a typed value is text."""

from __future__ import annotations

from komawari.web import templating


def test_an_inputs_extra_attributes_reach_the_browser_as_attributes() -> None:
    env = templating.environment("en")
    html = env.from_string(
        '{% import "_macros.html" as m %}'
        '{{ m.input("title", "Title", {"title": \'"><script>\'}, {}, '
        'attrs=\'maxlength="200" autocomplete="off"\') }}'
    ).render()
    assert 'maxlength="200" autocomplete="off"' in html
    assert 'value="&#34;&gt;&lt;script&gt;"' in html
