"""The pages' languages: English and Japanese, from Babel message catalogs.

The language of a page is the user's setting, else the best match of the browser's
Accept-Language, else English. Catalogs live in `web/locales`; `python3 dev.py i18n`
extracts, updates and compiles them, and a test checks the compiled ones are current.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.core import UnknownLocaleError
from babel.dates import format_date
from babel.support import NullTranslations, Translations

from komawari.words import Say

LOCALES = ("en", "ja")
DEFAULT_LOCALE = "en"
LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"


def negotiate(user_setting: str | None, accept_language: str | None) -> str:
    """Return the language of a page: the user's setting, else the browser's best match."""
    if user_setting in LOCALES:
        return user_setting
    for tag in _preferences(accept_language or ""):
        try:
            language = Locale.parse(tag, sep="-").language
        except (ValueError, UnknownLocaleError):
            continue
        if language in LOCALES:
            return language
    return DEFAULT_LOCALE


def _preferences(header: str) -> list[str]:
    """Return the language tags of an Accept-Language header, most wanted first."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> NullTranslations:
    """Return the compiled catalog of `locale` (English is the source language)."""
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [locale], DOMAIN)


def words(said: Say | str, locale: str) -> str:
    """What a page shows for `said`: its sentence in `locale`, dates written that
    language's way; a plain string (English from a service not yet speaking in codes)
    as it is."""
    if not isinstance(said, Say):
        return said
    text = translations(locale).gettext(said.text)
    if not said.params:
        return text
    return text % {k: _value(v, locale) for k, v in said.params.items()}


# A status in a sentence, in the words the pages' status tags use (their catalog entries).
_STATUS = {"ACTIVE": "Active", "PAUSED": "Paused", "ENDED": "Ended", "CONFIRMED": "Confirmed",
           "CONFLICTED": "Clash", "CANCELLED": "Cancelled"}  # fmt: skip


def _value(value: Any, locale: str) -> Any:
    if isinstance(value, date):
        return format_date(value, format="medium", locale=locale)
    if isinstance(value, Say):
        return words(value, locale)
    if hasattr(value, "value") and isinstance(value.value, str):  # an enum
        value = value.value
    if isinstance(value, str) and value in _STATUS:
        return (
            translations(locale).gettext(_STATUS[value]).lower()
            if locale == "en"
            else (translations(locale).gettext(_STATUS[value]))
        )
    return value
