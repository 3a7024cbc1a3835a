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


def test_a_time_is_typed_as_24_hour_hh_mm_in_every_language() -> None:
    for locale in ("en", "ja"):
        html = (
            templating.environment(locale)
            .from_string(
                '{% import "_macros.html" as m %}'
                '{{ m.input("start_time", "Start", {"start_time": "19:00"}, {}, type="time") }}'
            )
            .render()
        )
        assert 'type="text"' in html
        assert 'pattern="([01][0-9]|2[0-3]):[0-5][0-9]"' in html
        assert 'placeholder="HH:MM"' in html
        assert 'value="19:00"' in html
        assert 'type="time"' not in html
