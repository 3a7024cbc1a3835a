"""Who and what is free for a lesson's whole time: substitutes and rooms.

A teacher is free for a lesson when none of their live lessons overlaps it, at any branch
(the overlap rule of `komawari.db.rules`, on instants: branches in other zones compare
right). Free teachers are ranked by why they fit: taught this student before (at the
branches the viewer reads), teach at this branch, fewest lessons that day. Busy teachers
are listed apart with what they are busy with, each lesson as the read model shows it to
the viewer (redacted when it is another branch's). A room is free when no live lesson
overlaps in it; only the lesson's branch's active rooms are offered.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari.auth import policy
from komawari.auth.policy import Principal
from komawari.db import rules
from komawari.sessions import read_model
from komawari.sessions.models import ClassSession

_BUSY = f"""
    SELECT t.id AS teacher_id, s.id AS session_id
      FROM teachers t
      JOIN class_sessions s ON s.teacher_id = t.id
      JOIN class_sessions l ON l.id = :lesson
     WHERE t.active AND t.id <> l.teacher_id AND s.id <> l.id
       AND {rules.live("s")} AND {rules.near("l", "s")} AND {rules.overlap("l", "s")}
     ORDER BY s.starts_at, s.id
"""  # noqa: S608 - composed from module constants; values are bind parameters

# Every active teacher but the lesson's own, with the facts it is ranked by.
_TEACHERS = f"""
    SELECT t.id, t.name,
           (SELECT count(*) FROM class_sessions s
             WHERE s.teacher_id = t.id AND {rules.live("s")} AND s.date < l.date
               AND (CAST(:all_branches AS boolean)
                    OR s.branch_id = ANY(CAST(:branch_ids AS bigint[])))
               AND (s.student_id = l.student_id
                    OR EXISTS (SELECT 1 FROM session_attendees a
                                 JOIN session_attendees b ON b.student_id = a.student_id
                                WHERE a.session_id = s.id AND b.session_id = l.id))
           ) AS taught,
           EXISTS (SELECT 1 FROM class_sessions s
                    WHERE s.teacher_id = t.id AND s.branch_id = l.branch_id
                      AND {rules.live("s")}) AS same_branch,
           (SELECT count(*) FROM class_sessions s
             WHERE s.teacher_id = t.id AND s.date = l.date AND {rules.live("s")}) AS that_day
      FROM teachers t, class_sessions l
     WHERE l.id = :lesson AND t.active AND t.id <> l.teacher_id
"""  # noqa: S608 - composed from module constants; values are bind parameters

_FREE_ROOMS = f"""
    SELECT r.id, r.name, r.capacity FROM rooms r, class_sessions l
     WHERE l.id = :lesson AND r.branch_id = l.branch_id AND r.active
       AND r.id IS DISTINCT FROM l.room_id
       AND NOT EXISTS (SELECT 1 FROM class_sessions s
                        WHERE s.room_id = r.id AND s.id <> l.id AND {rules.live("s")}
                          AND {rules.near("l", "s")} AND {rules.overlap("l", "s")})
     ORDER BY r.name, r.id
"""  # noqa: S608 - composed from module constants; values are bind parameters


@dataclass(frozen=True)
class FreeTeacher:
    """A teacher free for the lesson's whole time, and why they rank where they do."""

    teacher_id: int
    name: str
    taught_student: int  # lessons with this lesson's student(s) before its date
    same_branch: bool  # has lessons at this lesson's branch
    lessons_that_day: int  # live lessons on the lesson's date, at any branch
    why: list[str]


@dataclass(frozen=True)
class BusyTeacher:
    """A teacher with a lesson that overlaps; each as the read model shows it."""

    teacher_id: int
    name: str
    busy_with: list[read_model.Ref] = field(default_factory=list)


@dataclass(frozen=True)
class FreeRoom:
    room_id: int
    name: str
    capacity: int


def _why(taught: int, same_branch: bool, that_day: int) -> list[str]:
    out = []
    if taught:
        out.append("taught this student before")
    if same_branch:
        out.append("teaches at this branch")
    out.append("no lessons that day" if that_day == 0 else f"{that_day} lesson(s) that day")
    return out


def teachers(
    db: Session, lesson: ClassSession, *, viewer: Principal | None
) -> tuple[list[FreeTeacher], list[BusyTeacher]]:
    """Return the free teachers (best first) and the busy ones (by name) for `lesson`."""
    branch_ids = policy.visible_branches(viewer) if viewer is not None else None
    params = {
        "lesson": lesson.id,
        "all_branches": branch_ids is None,
        "branch_ids": branch_ids or [],
    }
    busy: dict[int, list[int]] = defaultdict(list)
    for teacher_id, session_id in db.execute(text(_BUSY), params):
        busy[int(teacher_id)].append(int(session_id))
    refs = read_model.refs(
        db, [s for ids in busy.values() for s in ids], viewer=viewer, shared=["teacher"]
    )
    free: list[FreeTeacher] = []
    taken: list[BusyTeacher] = []
    for tid, name, taught, same, that_day in db.execute(text(_TEACHERS), params):
        if tid in busy:
            taken.append(BusyTeacher(tid, name, [refs[s] for s in busy[tid] if s in refs]))
        else:
            why = _why(taught, same, that_day)
            free.append(FreeTeacher(tid, name, taught, same, that_day, why))
    free.sort(key=lambda t: (t.taught_student == 0, not t.same_branch, t.lessons_that_day, t.name))
    taken.sort(key=lambda t: (t.name, t.teacher_id))
    return free, taken


def rooms(db: Session, lesson: ClassSession) -> list[FreeRoom]:
    """Return the active rooms of the lesson's branch free for its whole time (not its own)."""
    found = db.execute(text(_FREE_ROOMS), {"lesson": lesson.id})
    return [FreeRoom(int(i), n, int(c)) for i, n, c in found]
