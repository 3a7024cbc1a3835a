"""A lesson's teacher cannot come: the lesson needs a substitute (代講) until another
teacher takes it or the teacher is back. Recording it twice records it once."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from komawari.attendance.models import TeacherAbsence
from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.errors import InvalidInput
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.words import say


def needs_substitute() -> ColumnElement[bool]:
    """SQL, correlated to `ClassSession`: the lesson is live and its teacher is away."""
    return (ClassSession.status != SessionStatus.CANCELLED) & exists(
        select(TeacherAbsence.id).where(
            TeacherAbsence.session_id == ClassSession.id,
            TeacherAbsence.teacher_id == ClassSession.teacher_id,
        )
    )


def away(db: Session, lesson: ClassSession) -> TeacherAbsence | None:
    """The absence of the lesson's own teacher, if one is recorded."""
    return db.scalar(
        select(TeacherAbsence).where(
            TeacherAbsence.session_id == lesson.id,
            TeacherAbsence.teacher_id == lesson.teacher_id,
        )
    )


def set_away(
    db: Session, lesson: ClassSession, *, absent: bool, reason: str | None, actor: Actor
) -> bool:
    """Record that the lesson's teacher cannot come (`absent`), or that they can after all.
    Return whether the lesson needs a substitute now."""
    if lesson.status == SessionStatus.CANCELLED:
        raise InvalidInput(
            "session_id", say("attendance.lesson-cancelled", "this lesson is cancelled")
        )
    if absent:
        made = db.execute(
            insert(TeacherAbsence)
            .values(
                session_id=lesson.id,
                teacher_id=lesson.teacher_id,
                reason=reason or None,
                noted_by=actor.name,
            )
            .on_conflict_do_nothing(index_elements=["session_id", "teacher_id"])
            .returning(TeacherAbsence.id)
        ).scalar_one_or_none()
        action = "session.teacher-absent" if made is not None else None
    else:
        gone = db.execute(
            delete(TeacherAbsence)
            .where(
                TeacherAbsence.session_id == lesson.id,
                TeacherAbsence.teacher_id == lesson.teacher_id,
            )
            .returning(TeacherAbsence.id)
        ).first()
        action = "session.teacher-back" if gone is not None else None
    if action is not None:
        audit.record(
            db,
            actor=actor,
            action=action,
            subject_type="session",
            subject_id=lesson.id,
            branch_id=lesson.branch_id,
            reason=reason or None,
            details={"teacher_id": lesson.teacher_id},
        )
    return absent
