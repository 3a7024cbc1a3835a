"""Every ordering and repetition of the same weekdays is one key, in code and in the database."""

from __future__ import annotations

from datetime import date, time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from komawari.db.registry import ClassSeries
from komawari.scheduling.weekdays import NAMES, WeekdayError, from_mask, to_mask
from komawari.series.enums import SeriesKind
from tests import factories as f

days = st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=12)


@given(days, st.randoms())
def test_any_order_and_repetition_gives_the_same_key(chosen: list[int], rnd: object) -> None:
    shuffled = list(chosen) * 2
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert to_mask(shuffled) == to_mask(chosen) == to_mask(sorted(set(chosen)))
    assert from_mask(to_mask(chosen)) == sorted(set(chosen))


@given(days)
def test_names_and_numbers_give_the_same_key(chosen: list[int]) -> None:
    assert to_mask([NAMES[d - 1] for d in chosen]) == to_mask(chosen)


@pytest.mark.parametrize("bad", [[], [0], [8], ["funday"], [True]])
def test_bad_weekdays_are_refused(bad: list[object]) -> None:
    with pytest.raises(WeekdayError):
        to_mask(bad)  # type: ignore[arg-type]


@settings(
    max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(first=days, second=days)
def test_the_database_sees_reordered_weekdays_as_the_same_series(
    db: Session, first: list[int], second: list[int]
) -> None:
    b, t, s = f.branch(db), f.teacher(db), f.student(db)

    def series(chosen: list[int]) -> ClassSeries:
        return ClassSeries(
            branch_id=b.id,
            teacher_id=t.id,
            student_id=s.id,
            kind=SeriesKind.PRIVATE,
            weekdays=to_mask(chosen),
            start_time=time(20),
            end_time=time(21),
            first_date=date(2026, 12, 1),
        )

    db.add(series(first))
    db.flush()
    savepoint = db.begin_nested()
    db.add(series(second))
    if set(first) == set(second):
        with pytest.raises(IntegrityError) as info:
            db.flush()
        savepoint.rollback()
        assert info.value.orig.diag.constraint_name == "ux_class_series_active_private"  # type: ignore[union-attr]
    else:
        db.flush()
        savepoint.commit()
