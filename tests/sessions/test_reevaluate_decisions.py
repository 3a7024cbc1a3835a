"""Re-evaluation: which sessions get a new verdict, and what it reports back.

Verdicts are written stale on purpose (rows inserted as legacy data would be), then the
functions of sessions/reevaluate.py must set them right and name exactly the changed ones.
"""

from __future__ import annotations

from datetime import time

from sqlalchemy.orm import Session

from komawari.sessions import reevaluate
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from tests import factories as f


def _status(db: Session, row: ClassSession) -> tuple[SessionStatus, list[int]]:
    db.refresh(row)
    return row.status, list(row.conflicts_with)


def test_re_evaluating_a_session_fixes_it_and_its_neighbours_and_names_only_the_changed(
    db: Session,
) -> None:
    b, t = f.branch(db), f.teacher(db)
    first = f.private_session(
        db, branch_row=b, teacher_row=t, student_row=f.student(db), status=SessionStatus.CONFLICTED
    )
    later = f.private_session(
        db, branch_row=b, teacher_row=t, student_row=f.student(db), start=time(21)
    )
    apart = f.private_session(
        db, branch_row=b, teacher_row=t, student_row=f.student(db), start=time(8), end=time(9)
    )
    assert reevaluate.evaluate(db, [first.id, first.id]) == {
        first.id: "CONFIRMED",
        later.id: "CONFLICTED",
    }
    assert _status(db, first) == (SessionStatus.CONFIRMED, [])
    assert _status(db, later) == (SessionStatus.CONFLICTED, [first.id])
    assert _status(db, apart) == (SessionStatus.CONFIRMED, [])
    assert reevaluate.evaluate(db, [first.id]) == {}  # nothing left to change
    assert reevaluate.evaluate(db, []) == {}


def test_neighbours_are_the_live_overlapping_sessions_sharing_a_resource(db: Session) -> None:
    b, t = f.branch(db), f.teacher(db)
    one = f.private_session(db, branch_row=b, teacher_row=t, student_row=f.student(db))
    same_teacher = f.private_session(
        db, branch_row=b, teacher_row=t, student_row=f.student(db), start=time(21)
    )
    f.private_session(
        db,
        branch_row=b,
        teacher_row=t,
        student_row=f.student(db),
        status=SessionStatus.CANCELLED,
    )
    f.private_session(db, branch_row=b, teacher_row=f.teacher(db), student_row=f.student(db))
    assert reevaluate.neighbours(db, [one.id, one.id]) == [same_teacher.id]
    assert reevaluate.neighbours(db, []) == []


def test_re_evaluating_a_branch_leaves_the_other_branches_and_counts_the_changes(
    db: Session,
) -> None:
    here, there = f.branch(db), f.branch(db)
    stale = [
        f.private_session(
            db,
            branch_row=branch,
            teacher_row=f.teacher(db),
            student_row=f.student(db),
            status=SessionStatus.CONFLICTED,
        )
        for branch in (here, here, there)
    ]
    assert reevaluate.evaluate_all(db, branch_id=here.id) == 2
    assert [_status(db, s)[0] for s in stale] == [
        SessionStatus.CONFIRMED,
        SessionStatus.CONFIRMED,
        SessionStatus.CONFLICTED,
    ]
    assert reevaluate.evaluate_all(db) == 1
    assert _status(db, stale[2])[0] == SessionStatus.CONFIRMED
