"""The words a person reads on a page, and the words that must never be among them."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})  # fmt: skip
HIDDEN = frozenset({"script", "style", "title", "template"})

SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
BARE_ID = re.compile(r"\b(?:lesson|session|series|run)\s+#?\d+\b", re.IGNORECASE)
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
# English a Japanese page may show: the product, formats and the glossary's kept words.
ALLOWED_ON_JAPANESE = frozenset({
    "Komawari", "API", "CSV", "iCal", "YYYY", "HH", "MM", "English", "Asia", "Tokyo",
    "America", "New_York", "UTC", "PDF", "LINE",
})  # fmt: skip


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, hides its content)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        hides = tag in HIDDEN or "tech" in classes or "sr-tech" in classes
        self.stack.append((tag, hides))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not any(hides for _, hides in self.stack):
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The text a person reads: no markup, no script, no admin small print (`.tech`); its
    pieces (a cell, a link, a label) kept apart by " ¦ ", so that no pattern spans two."""
    parser = _Text()
    parser.feed(html)
    pieces = (" ".join(part.split()) for part in parser.parts)
    return " ¦ ".join(p for p in pieces if p)


def database_words(text: str, *, japanese: bool, names: set[str]) -> list[str]:
    """What on a page is the database's language rather than a person's."""
    found = [f"snake_case {m}" for m in SNAKE.findall(text)]
    found += [f"bare id {m}" for m in BARE_ID.findall(text)]
    found += [f"code {w}" for w in ("web-session", "run:") if w in text]
    if japanese:
        for word in ENGLISH_WORD.findall(text):
            if word not in ALLOWED_ON_JAPANESE and word not in names:
                found.append(f"English {word}")
    return found
