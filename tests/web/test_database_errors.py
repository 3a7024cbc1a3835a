"""The database's own error text goes to the log, never to the client."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from komawari.web.problems import problem_of
from tests import factories as f


def test_a_refused_change_names_its_guard_but_not_the_values(
    db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    f.teacher(db, name="Secret Sato")
    with pytest.raises(IntegrityError) as refused, db.begin_nested():
        db.execute(text("INSERT INTO teachers (name) VALUES ('Secret Sato')"))
    with caplog.at_level(logging.WARNING):
        body = problem_of(refused.value)
    assert body["status"] == 409
    assert body["constraint"] == "uq_teachers_name"
    assert "Secret Sato" not in str(body)
    assert "duplicate key" not in body["detail"]
    assert "Secret Sato" in caplog.text


def test_a_value_the_database_cannot_store_is_422_without_its_words(
    db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(DataError) as refused, db.begin_nested():
        db.execute(text("SELECT CAST(:v AS integer)"), {"v": "12345678901234"})
    with caplog.at_level(logging.WARNING):
        body = problem_of(refused.value)
    assert body["status"] == 422
    assert "12345678901234" not in str(body)
    assert "12345678901234" in caplog.text
