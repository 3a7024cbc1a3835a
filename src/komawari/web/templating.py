"""Jinja2 for the pages: one environment per language, autoescaped, with Babel's
formatting of dates and times in the page's language."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from komawari.audit.words import reason_words
from komawari.branches import holiday_names
from komawari.web import i18n

TEMPLATES = Path(__file__).parent / "templates"
STATIC_VERSION = "4"  # bump when a static file changes, so browsers fetch it again


@lru_cache(maxsize=len(i18n.LOCALES))
def environment(locale: str) -> Environment:
    """Return the template environment of `locale`, its catalog installed."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals["locale"] = locale
    env.globals["static_version"] = STATIC_VERSION
    env.filters["day"] = lambda d, fmt="full": _day(d, fmt, locale)
    env.filters["hm"] = _hm
    env.filters["when"] = lambda dt, zone: _when(dt, zone, locale)
    env.filters["said"] = lambda value: i18n.words(value, locale)
    env.filters["reason"] = lambda value: i18n.words(reason_words(value) or "", locale)
    env.filters["holiday"] = lambda name: holiday_names.in_language(name, locale)
    return env


def _day(value: date, fmt: str, locale: str) -> str:
    """A date in the page's language; "weekday" is a short one with its weekday, as each
    language writes it ("Sun 13 Dec", "12月13日(日)")."""
    if fmt == "weekday":
        if locale.startswith("en"):
            return format_date(value, format="EEE d MMM", locale=locale)
        return format_skeleton("MMMEd", value, locale=locale)
    return format_date(value, format=fmt, locale=locale)


def _when(value: datetime, zone: str, locale: str) -> str:
    """A moment as the clock on the wall of `zone` showed it: the date in the page's
    language and a 24-hour time ("7 Dec 2026 14:45", "2026/12/07 14:45")."""
    local = value.astimezone(ZoneInfo(zone))
    return f"{format_date(local.date(), format='medium', locale=locale)} {local:%H:%M}"


def _hm(value: time) -> str:
    # Wall-clock lesson times read HH:MM in every language Komawari speaks; strftime is
    # forty times cheaper than Babel here, and a full day draws 1,200 of them.
    return value.strftime("%H:%M")


def render(locale: str, name: str, context: dict[str, Any]) -> str:
    """Render template `name` in `locale`."""
    return environment(locale).get_template(name).render(context)
