"""The pages in both languages, as a person reads them: a history, a closure preview, an
error, the users and the operator's page; each checked with axe and kept as a
screenshot for docs/web.md."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from komawari.db.engine import session_scope
from komawari.series.models import ClassSeries
from komawari.sessions.models import ClassSession
from tests.browser.conftest import axe_violations, shot
from tests.browser.test_staff_pages import _sign_in
from tests.web.visible_text import database_words, visible_text


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_the_pages_read_plainly_in_both_languages(
    page: Any, site: str, demo_school: Engine, locale: str
) -> None:
    with session_scope(demo_school) as s:
        series = s.scalars(select(ClassSeries.id).order_by(ClassSeries.id)).first()
        day = s.scalars(
            select(ClassSession.date).where(ClassSession.branch_id == 1)
            .order_by(ClassSession.date.desc())
        ).first()  # fmt: skip
    _sign_in(page, site)
    page.goto(f"{site}/me")
    page.select_option("#locale", locale)
    page.click("#language-form button[type=submit]")
    page.wait_for_load_state()
    views = {
        "history": f"/series/{series}#series-history",
        "closure-preview": f"/branches/1/closures?date={day}",
        "error": "/sessions/987654",
        "users": "/users",
        "operator": "/operator",
    }
    for name, path in views.items():
        page.goto(f"{site}{path}")
        page.wait_for_load_state()
        if name == "history":
            page.locator("#series-history").scroll_into_view_if_needed()
        assert page.locator("html").get_attribute("lang") == locale
        text = visible_text(page.content())
        assert not [w for w in database_words(text, japanese=False, names=set())
                    if not w.startswith("English")], (name, text[:500])  # fmt: skip
        shot(page, f"{name}-{locale}")
        assert axe_violations(page) == [], name
