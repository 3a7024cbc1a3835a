"""Front-end files are vendored and pinned; message catalogs are complete and current."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from komawari.web import i18n, templating

STATIC = templating.TEMPLATES.parent / "static"
ROOT = Path(__file__).resolve().parents[2]


def test_every_vendored_file_matches_its_recorded_checksum() -> None:
    vendor = STATIC / "vendor"
    recorded = {}
    for line in (vendor / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        recorded[name] = digest
    present = {p.name for p in vendor.iterdir() if p.suffix == ".js"}
    assert present == set(recorded), "every vendored script is recorded, and only those"
    for name, digest in recorded.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name


def test_no_page_loads_anything_from_another_host() -> None:
    for template in templating.TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), template.name


def _key(value: object) -> object:
    """A message's id or string, plural forms (a list read from .mo) as a tuple."""
    return tuple(value) if isinstance(value, list | tuple) else value


def test_the_compiled_catalogs_are_the_current_translations() -> None:
    for locale in i18n.LOCALES:
        if locale == i18n.DEFAULT_LOCALE:
            continue
        folder = i18n.LOCALE_DIR / locale / "LC_MESSAGES"
        with (folder / "messages.po").open("rb") as f:
            catalog = read_po(f)
        assert not [m.id for m in catalog if m.id and m.fuzzy], f"{locale}: fuzzy translations"
        po = {_key(m.id): _key(m.string) for m in catalog if m.id}
        with (folder / "messages.mo").open("rb") as f:
            mo = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}
        assert mo == po, f"{locale}: run python3 dev.py i18n to compile the catalog"
        assert all(all(v) if isinstance(v, tuple) else v for v in po.values()), (
            f"{locale}: untranslated messages"
        )


def test_every_message_of_the_pages_is_in_the_catalogs(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
            "-k", "_", "-o", str(pot), ".",
        ],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    for locale in i18n.LOCALES:
        if locale == i18n.DEFAULT_LOCALE:
            continue
        with (i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
            have = {m.id for m in read_po(f) if m.id}
        assert wanted <= have, f"{locale} lacks {sorted(wanted - have)}: run python3 dev.py i18n"


def test_the_language_is_the_users_setting_else_the_browsers() -> None:
    assert i18n.negotiate("ja", "en-GB,en;q=0.9") == "ja"
    assert i18n.negotiate(None, "ja-JP,ja;q=0.9,en;q=0.8") == "ja"
    assert i18n.negotiate(None, "fr-FR, en;q=0.5, ja;q=0.7") == "ja"
    assert i18n.negotiate(None, "fr-FR") == "en"
    assert i18n.negotiate(None, None) == "en"
    assert i18n.negotiate("xx", "ja") == "ja"
