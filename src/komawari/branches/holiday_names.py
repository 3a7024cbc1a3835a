"""Japan's public holidays by name in the page's language: `jpholiday` names them in
Japanese only; an English page shows these names (a substitute holiday, 振替休日, says so)."""

from __future__ import annotations

ENGLISH = {
    "元日": "New Year's Day",
    "成人の日": "Coming of Age Day",
    "建国記念の日": "National Foundation Day",
    "天皇誕生日": "The Emperor's Birthday",
    "春分の日": "Vernal Equinox Day",
    "昭和の日": "Showa Day",
    "憲法記念日": "Constitution Memorial Day",
    "みどりの日": "Greenery Day",
    "こどもの日": "Children's Day",
    "海の日": "Marine Day",
    "山の日": "Mountain Day",
    "敬老の日": "Respect for the Aged Day",
    "秋分の日": "Autumnal Equinox Day",
    "スポーツの日": "Sports Day",
    "文化の日": "Culture Day",
    "勤労感謝の日": "Labour Thanksgiving Day",
    "国民の休日": "Citizens' Holiday",
}
SUBSTITUTE = " 振替休日"


def in_language(name: str, locale: str) -> str:
    """The holiday's name for a page in `locale` (Japanese as it is; a name not listed
    stays Japanese rather than vanish)."""
    if locale.startswith("ja"):
        return name
    base, substitute = (
        (name[: -len(SUBSTITUTE)], True) if name.endswith(SUBSTITUTE) else (name, False)
    )
    english = ENGLISH.get(base)
    if english is None:
        return name
    return f"{english} (substitute holiday)" if substitute else english
