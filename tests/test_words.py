"""Codes from services, words from the catalogs: every `say(...)` has a stable code, one
sentence per code, blanks that match its values, and both languages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from komawari.web import i18n
from komawari.words import CODE, Say, say

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "komawari"
JA = SRC / "web" / "locales" / "ja" / "LC_MESSAGES" / "messages.po"
BLANK = re.compile(r"%\((\w+)\)[sd]")
ERRORS = {"InvalidInput", "NotFound", "Conflict", "Forbidden", "Unauthorized", "KomawariError"}
# Refusals still written as English strings at the raise site (the command line's and the
# API's own, mostly); each one moved to `say(...)` lowers this number, never raise it.
PLAIN_STRING_ERRORS_AT_MOST = 5


def _calls() -> list[tuple[str, int, ast.Call]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                found.append((str(path.relative_to(ROOT)), node.lineno, node))
    return found


def _name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _says() -> list[tuple[str, str, str, set[str] | None]]:
    """(where, code, text, keyword names or None when given as **mapping)."""
    out = []
    for where, line, call in _calls():
        if _name(call) != "say" or len(call.args) < 2:
            continue
        code, text = call.args[0], call.args[1]
        assert isinstance(code, ast.Constant), f"{where}:{line}: the code must be a literal"
        assert isinstance(text, ast.Constant), f"{where}:{line}: the sentence must be a literal"
        names = None if any(k.arg is None for k in call.keywords) else {
            str(k.arg) for k in call.keywords
        }  # fmt: skip
        out.append((f"{where}:{line}", str(code.value), str(text.value), names))
    return out


def test_there_are_sayings_to_check() -> None:
    assert len(_says()) >= 40


def test_each_code_is_well_formed_and_has_one_sentence() -> None:
    sentences: dict[str, set[str]] = {}
    for where, code, text, _ in _says():
        assert CODE.fullmatch(code), f"{where}: {code!r}"
        sentences.setdefault(code, set()).add(text)
    twice = {c: t for c, t in sentences.items() if len(t) > 1}
    assert not twice, twice


def test_each_sentence_has_the_blanks_its_values_fill() -> None:
    for where, code, text, names in _says():
        if names is not None:
            assert set(BLANK.findall(text)) == names, f"{where}: {code}"


def test_every_sentence_has_its_japanese_in_the_catalog() -> None:
    catalog = read_po(JA.open("rb"), locale="ja")
    missing = []
    for where, code, text, _ in _says():
        message = catalog.get(text)
        if message is None or not message.string or message.fuzzy:
            missing.append(f"{where}: {code}: {text!r}")
            continue
        assert set(BLANK.findall(str(message.string))) == set(BLANK.findall(text)), code
    assert not missing, "\n".join(missing)


def test_a_page_shows_the_sentence_in_its_language_with_its_dates_written_that_way() -> None:
    from datetime import date

    said = say("series.ends", "the series ends on %(day)s", day=date(2027, 1, 29))
    assert said.english == "the series ends on 2027-01-29"
    assert str(said) == said.english
    assert i18n.words(said, "en") == "the series ends on Jan 29, 2027"
    assert i18n.words("as typed", "ja") == "as typed"


def test_a_code_is_refused_unless_it_is_dotted_lowercase_words() -> None:
    with pytest.raises(ValueError, match="lowercase"):
        say("Series_Not_Active", "x")
    assert isinstance(say("series.not-active", "x"), Say)


def test_refusals_still_in_plain_english_only_get_fewer() -> None:
    plain = []
    for where, line, call in _calls():
        if _name(call) not in ERRORS:
            continue
        message = call.args[-1] if call.args else None
        if isinstance(message, ast.Constant | ast.JoinedStr):
            plain.append(f"{where}:{line}")
    assert len(plain) <= PLAIN_STRING_ERRORS_AT_MOST, "\n".join(plain)


# Actions the code records through a variable or an f-string, spelled out.
COMPOSED_ACTIONS = {
    *(f"{kind}.{verb}" for kind in ("teacher", "student", "room")
      for verb in ("create", "rename", "deactivate")),
    "series.extend", "series.pause", "series.resume", "series.break", "series.end",
    "series.change_from", "session.cancel", "session.move", "session.restore", "session.note",
    "user.grant", "series.create", "session.create",
    *(f"credit.{kind}" for kind in ("issue", "use", "release", "expire", "revoke", "adjust")),
}  # fmt: skip
ACTION = re.compile(r"^[a-z_]+(?:\.[a-z_]+)+$")


def _recorded_actions() -> set[str]:
    found = set(COMPOSED_ACTIONS)
    for _where, _, call in _calls():
        for k in call.keywords:
            if k.arg == "action" and isinstance(k.value, ast.Constant):
                found.add(str(k.value.value))
        if _name(call) == "_audit" and len(call.args) >= 3:
            third = call.args[2]
            if isinstance(third, ast.Constant) and isinstance(third.value, str):
                found.add(third.value)
    for path in SRC.rglob("*.py"):
        found |= set(re.findall(r"'(occurrence\.[a-z_]+)'", path.read_text(encoding="utf-8")))
    return {a for a in found if ACTION.match(a)}


def test_every_recorded_action_has_its_words() -> None:
    from komawari.audit import words

    actions = _recorded_actions()
    assert len(actions) >= 50
    missing = sorted(a for a in actions if a.replace("_", "-") not in words.ACTIONS)
    assert not missing, missing


def test_the_audit_speaks_of_people_not_of_codes() -> None:
    from komawari.audit import words

    assert words.actor_words("user", "user:sato web-session:4") == say(
        "actor.web", "%(name)s, on the web", name="sato"
    )
    assert words.actor_words("token", "user:ops token:7").code == "actor.api"  # type: ignore[union-attr]
    assert words.actor_words("generator", "run:39").code == "actor.generation"  # type: ignore[union-attr]
    assert i18n.words(words.actor_words("cli", "root"), "en") == "root, on the command line"
    assert i18n.words(words.reason_words("branch_closed"), "en") == (  # type: ignore[arg-type]
        "the branch is closed that day"
    )
    assert i18n.words(words.reason_words("series_paused: Winter break"), "en") == (  # type: ignore[arg-type]
        "the series is paused: Winter break"
    )
    assert words.reason_words("Yuki has a cold") == "Yuki has a cold"
