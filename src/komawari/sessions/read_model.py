"""What a viewer may see of a lesson and of the lessons it names: the one read model.

Every path that shows a lesson, or names another lesson beside it, asks here: the API's
session reads and the day's schedule (`conflicts_with`, `clashed_by`), the day, week and
lesson pages, the series change previews, the answer to a duplicate booking or move, and
the audit details shown to a caller.

- `may_read`: whether a viewer may read a lesson (`komawari.auth.policy` decides; None is
  the operator's commands, who read everything).
- A lesson the viewer may not read (another branch's for staff, another teacher's for a
  teacher) is redacted: its date, its times and what it shares with the viewer's lesson
  only; never its id, branch, teacher, student, title or room (`HIDDEN`).
- "Clashed by" (the later bookings whose `conflicts_with` names a lesson) is found by one
  query, `clashed_by_ids`, in one window: CLASH_DAYS around the lessons' own dates,
  whatever day or week the page shows. So the whole set of clash partners is found,
  across branches.
- Ids of other lessons are given only where the viewer may read them: a duplicate's
  (`duplicate_answer`) and the ones audit details list (`audit_details`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time
from typing import Any

from sqlalchemy import BigInteger, any_, cast, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from komawari.attendance import credits
from komawari.auth import policy
from komawari.auth.policy import Principal
from komawari.branches.models import Branch
from komawari.errors import DuplicateSession
from komawari.people.models import Room, Student, Teacher
from komawari.scheduling.keys import CLASH_DAYS
from komawari.sessions import sql
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession

Ref = dict[str, Any]
"""A clash partner as `schemas.ConflictRef` fields (plain dicts: cheaper for 600 rows)."""

SHARED_KINDS = ("teacher", "student", "room")


def may_read(viewer: Principal | None, *, branch_id: int, teacher_id: int) -> bool:
    """Tell whether `viewer` may read a lesson (None: the operator, who reads all)."""
    return viewer is None or policy.may_read_session(
        viewer, branch_id=branch_id, teacher_id=teacher_id
    )


def _sees_all(viewer: Principal | None) -> bool:
    return viewer is None or viewer.is_admin


def readable(db: Session, viewer: Principal | None, ids: Iterable[int]) -> set[int]:
    """Return those of the lessons `ids` that `viewer` may read (one query; a lesson that
    does not exist is readable only by those who read everything)."""
    wanted = sorted(set(ids))
    if not wanted or _sees_all(viewer):
        return set(wanted)
    return {
        i
        for i, branch_id, teacher_id in db.execute(
            select(ClassSession.id, ClassSession.branch_id, ClassSession.teacher_id).where(
                ClassSession.id.in_(wanted)
            )
        )
        if may_read(viewer, branch_id=branch_id, teacher_id=teacher_id)
    }


# Clash partners: the two sides of a clash, each partner redacted for the viewer.

HIDDEN: Ref = {
    "session_id": None,
    "branch_id": None,
    "teacher_id": None,
    "teacher_name": None,
    "student_id": None,
    "student_name": None,
    "title": None,
    "room_id": None,
    "status": None,
    "hidden": True,
}
"""What a partner the viewer may not read keeps of its fields: nothing but its date and
times (given beside these) and what it shares."""


def _partners(db: Session, ids: Iterable[int]) -> dict[int, tuple[Ref, int, int]]:
    """Return each lesson's ConflictRef fields (whole), branch and teacher."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = db.execute(
        select(
            ClassSession.id,
            ClassSession.branch_id,
            ClassSession.date,
            ClassSession.start_time,
            ClassSession.end_time,
            ClassSession.teacher_id,
            Teacher.name,
            ClassSession.student_id,
            Student.name,
            ClassSession.title,
            ClassSession.room_id,
            ClassSession.status,
        )
        .join(Teacher, Teacher.id == ClassSession.teacher_id)
        .outerjoin(Student, Student.id == ClassSession.student_id)
        .where(ClassSession.id.in_(wanted))
    )
    found: dict[int, tuple[Ref, int, int]] = {}
    for r in rows:
        ref = {
            "session_id": r[0],
            "branch_id": r[1],
            "date": r[2],
            "start_time": r[3],
            "end_time": r[4],
            "teacher_id": r[5],
            "teacher_name": r[6],
            "student_id": r[7],
            "student_name": r[8],
            "title": r[9],
            "room_id": r[10],
            "status": r[11],
            "hidden": False,
        }
        found[r[0]] = (ref, r[1], r[5])
    return found


def _shown(viewer: Principal | None, ref: Ref, branch_id: int, teacher_id: int) -> Ref:
    """Return a partner as `viewer` may see it: whole, or its date and times only."""
    if may_read(viewer, branch_id=branch_id, teacher_id=teacher_id):
        return ref
    return {
        **HIDDEN,
        "date": ref["date"],
        "start_time": ref["start_time"],
        "end_time": ref["end_time"],
    }


def refs(
    db: Session, ids: Iterable[int], *, viewer: Principal | None, shared: list[str]
) -> dict[int, Ref]:
    """Return the lessons `ids` as ConflictRef fields for `viewer` (redacted where it may
    not read them), each sharing `shared` with the lesson they are shown beside."""
    return {
        sid: {**_shown(viewer, ref, branch_id, teacher_id), "shared": list(shared)}
        for sid, (ref, branch_id, teacher_id) in _partners(db, ids).items()
    }


def shared(db: Session, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], list[str]]:
    """Return what each pair of lessons shares (teacher, student, room), by the SQL that
    finds clash pairs (`sessions.sql`)."""
    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        return {}
    return {
        (int(r.a_id), int(r.b_id)): [k for k in SHARED_KINDS if r._mapping[k]]
        for r in db.execute(
            text(sql.SHARED),
            {"a_ids": [a for a, _ in pairs], "b_ids": [b for _, b in pairs]},
        )
    }


def clashed_by_ids(db: Session, ids: Iterable[int]) -> dict[int, list[int]]:
    """Return, for each of the lessons `ids`, the later bookings that name it in their
    `conflicts_with`, in id order: the whole set, at every branch.

    One query, one window: partners overlap in time, so they lie within CLASH_DAYS of the
    lessons' own dates (the first and last of `ids`, read in the same statement); only
    rows that name a conflict are looked at (ix_class_sessions_conflicted_date).
    """
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    array = cast(wanted, ARRAY(BigInteger))
    # The lessons' dates by their ids (materialised: a min() over the date index, filtered
    # by id, could walk every earlier lesson of the school).
    own = (
        select(ClassSession.date.label("day"))
        .where(ClassSession.id == any_(array))
        .cte("own")
        .prefix_with("MATERIALIZED")
    )
    first = select(func.min(own.c.day) - CLASH_DAYS)
    last = select(func.max(own.c.day) + CLASH_DAYS)
    later: dict[int, list[int]] = defaultdict(list)
    members = set(wanted)
    for later_id, blockers in db.execute(
        select(ClassSession.id, ClassSession.conflicts_with)
        .where(
            ClassSession.date.between(first.scalar_subquery(), last.scalar_subquery()),
            # ix_class_sessions_conflicted_date; and && only on the rows that name any
            func.cardinality(ClassSession.conflicts_with) > 0,
            ClassSession.conflicts_with.overlap(array),
        )
        .order_by(ClassSession.id)
    ):
        for blocker in blockers:
            if blocker in members:
                later[blocker].append(later_id)
    return dict(later)


@dataclass
class Clashes:
    """Both sides of the clashes of some lessons, as ConflictRef fields, by lesson id."""

    conflicts_with: dict[int, list[Ref]] = field(default_factory=dict)
    clashed_by: dict[int, list[Ref]] = field(default_factory=dict)


def clashes(
    db: Session,
    rows: Iterable[tuple[int, Sequence[int]]],
    *,
    viewer: Principal | None,
    earlier: bool = True,
    later: bool = True,
) -> Clashes:
    """Return both sides of the clashes of the lessons (id, conflicts_with) `rows`.

    `conflicts_with`: the earlier-booked lessons each one names; `clashed_by`: the later
    bookings that name it (`clashed_by_ids`). Each partner is redacted for `viewer` and
    says what it shares with the lesson. Three queries, however many lessons.
    """
    items = [(sid, list(blockers)) for sid, blockers in rows]
    named = {sid: blockers for sid, blockers in items if blockers} if earlier else {}
    naming = clashed_by_ids(db, [sid for sid, _ in items]) if later else {}
    partners = _partners(
        db,
        [b for ids in named.values() for b in ids] + [b for ids in naming.values() for b in ids],
    )
    both = shared(
        db,
        [(sid, b) for sid, ids in named.items() for b in ids]
        + [(b, sid) for sid, ids in naming.items() for b in ids],
    )

    def refs(sid: int, ids: list[int], *, before: bool) -> list[Ref]:
        out = []
        for b in ids:
            if b not in partners:
                continue
            ref, branch_id, teacher_id = partners[b]
            what = both.get((sid, b) if before else (b, sid), [])
            out.append({**_shown(viewer, ref, branch_id, teacher_id), "shared": what})
        return out

    return Clashes(
        conflicts_with={sid: refs(sid, ids, before=True) for sid, ids in named.items()},
        clashed_by={sid: refs(sid, ids, before=False) for sid, ids in naming.items()},
    )


# The clash list: every clash of a period that touches a branch, both sides shown.

_PAIRS = f"""
    SELECT s.id AS later_id, b.id AS earlier_id
      FROM class_sessions s
     CROSS JOIN LATERAL unnest(s.conflicts_with) AS e(id)
      JOIN class_sessions b ON b.id = e.id
     WHERE s.date BETWEEN CAST(:first AS date) - {CLASH_DAYS} AND CAST(:last AS date) + {CLASH_DAYS}
       AND cardinality(s.conflicts_with) > 0
       AND s.status = 'CONFLICTED' AND b.status <> 'CANCELLED'
       AND (s.branch_id = ANY(CAST(:branches AS bigint[]))
            OR b.branch_id = ANY(CAST(:branches AS bigint[])))
       AND (s.date BETWEEN :first AND :last OR b.date BETWEEN :first AND :last)
"""  # noqa: S608 - composed from module constants; values are bind parameters


@dataclass(frozen=True)
class ClashPair:
    """One clash: the later booking and the earlier one it names, as ConflictRef fields
    (each redacted where the viewer may not read it), and what they share."""

    later: Ref
    earlier: Ref
    shared: list[str]


def clash_pairs(
    db: Session, *, branch_ids: list[int], first: date, last: date, viewer: Principal | None
) -> list[ClashPair]:
    """Return every clash between `first` and `last` (either lesson's date) where either
    lesson is at one of `branch_ids`, in time order. Three queries."""
    params = {"first": first, "last": last, "branches": branch_ids}
    pairs = [(int(a), int(b)) for a, b in db.execute(text(_PAIRS), params)]
    partners = _partners(db, {i for pair in pairs for i in pair})
    both = shared(db, pairs)
    out = []
    for later_id, earlier_id in pairs:
        (later, lb, lt), (earlier, eb, et) = partners[later_id], partners[earlier_id]
        out.append(
            ClashPair(
                later=_shown(viewer, later, lb, lt),
                earlier=_shown(viewer, earlier, eb, et),
                shared=both.get((later_id, earlier_id), []),
            )
        )
    out.sort(key=lambda p: (p.earlier["date"], p.earlier["start_time"], p.later["start_time"]))
    return out


def clash_count(db: Session, *, branch_ids: list[int], first: date, last: date) -> int:
    """Return how many clashes `clash_pairs` would list (one query)."""
    params = {"first": first, "last": last, "branches": branch_ids}
    return int(db.scalar(text(f"SELECT count(*) FROM ({_PAIRS}) x"), params) or 0)  # noqa: S608


# Lesson cards: a lesson with the names the pages show it by.


@dataclass(frozen=True)
class LessonCard:
    """One lesson with the names it is shown by; `hidden`: the viewer may not read it, and
    only its date, times and status's shape are kept (no id, names, branch or room)."""

    id: int
    date: date
    start_time: time
    end_time: time
    status: SessionStatus
    title: str | None
    branch_name: str
    teacher_name: str
    student_name: str | None
    room_name: str | None
    conflicts: int
    branch_id: int = 0
    teacher_id: int = 0
    hidden: bool = False
    clashed_by: int = 0
    substitute_for: str | None = None  # the lesson's own teacher, when a substitute takes it
    makeup: bool = False  # a make-up (振替) lesson, booked with a credit


def _card_shown(viewer: Principal | None, card: LessonCard) -> LessonCard:
    if may_read(viewer, branch_id=card.branch_id, teacher_id=card.teacher_id):
        return card
    return replace(
        card,
        id=0,
        title=None,
        branch_name="",
        teacher_name="",
        student_name=None,
        room_name=None,
        branch_id=0,
        teacher_id=0,
        hidden=True,
        substitute_for=None,
        makeup=False,
    )


def lessons(
    db: Session,
    ids: Iterable[int],
    *,
    viewer: Principal | None,
    with_clashed_by: bool = False,
) -> dict[int, LessonCard]:
    """Return the lessons `ids` as cards, each redacted where `viewer` may not read it.

    `with_clashed_by`: also count the later bookings that clash with each (one query).
    """
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    own = aliased(Teacher)  # the lesson's own teacher, when a substitute takes it
    rows = db.execute(
        select(
            ClassSession.id,
            ClassSession.date,
            ClassSession.start_time,
            ClassSession.end_time,
            ClassSession.status,
            ClassSession.title,
            Branch.name,
            Teacher.name,
            Student.name,
            Room.name,
            ClassSession.conflicts_with,
            ClassSession.branch_id,
            ClassSession.teacher_id,
            own.name,
            credits.makes_up().isnot(None),
        )
        .join(Branch, Branch.id == ClassSession.branch_id)
        .join(Teacher, Teacher.id == ClassSession.teacher_id)
        .outerjoin(own, own.id == ClassSession.substitute_for_id)
        .outerjoin(Student, Student.id == ClassSession.student_id)
        .outerjoin(Room, Room.id == ClassSession.room_id)
        .where(ClassSession.id.in_(wanted))
    ).all()
    later = clashed_by_ids(db, wanted) if with_clashed_by else {}
    return {
        r[0]: _card_shown(
            viewer,
            LessonCard(
                id=r[0],
                date=r[1],
                start_time=r[2],
                end_time=r[3],
                status=r[4],
                title=r[5],
                branch_name=r[6],
                teacher_name=r[7],
                student_name=r[8],
                room_name=r[9],
                conflicts=len(r[10] or []),
                branch_id=r[11],
                teacher_id=r[12],
                clashed_by=len(later.get(r[0], [])),
                substitute_for=r[13],
                makeup=bool(r[14]),
            ),
        )
        for r in rows
    }


# Ids of other lessons in answers: a duplicate's, and those audit details list.


class HiddenDuplicate(DuplicateSession):
    """The 409 of a duplicate the caller may not read: it says the slot is taken by a
    lesson at another branch, without its id."""

    def __init__(self) -> None:
        super().__init__(None)
        self.detail = (
            "a non-cancelled lesson with the same date, times, teacher and student already "
            "exists: a lesson at another branch already holds that slot"
        )
        self.args = (self.detail,)


def visible_id(db: Session, viewer: Principal | None, session_id: int | None) -> int | None:
    """Return `session_id` when `viewer` may read that lesson, else None."""
    if session_id is None:
        return None
    return session_id if session_id in readable(db, viewer, [session_id]) else None


def duplicate_answer(
    db: Session, viewer: Principal | None, exc: DuplicateSession
) -> DuplicateSession:
    """Return the 409 to give `viewer` for a duplicate: naming the existing lesson only
    when they may read it."""
    if exc.existing_id is None or visible_id(db, viewer, exc.existing_id) is not None:
        return exc
    return HiddenDuplicate()


LESSON_MAPS = ("re_evaluated",)  # {lesson id: verdict}
LESSON_LISTS = ("session_ids",)  # [lesson id, ...]


def _lesson_id(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _ids_in(details: Mapping[str, Any]) -> set[int]:
    found: set[int] = set()
    for key in LESSON_MAPS:
        if isinstance(details.get(key), dict):
            found |= {i for k in details[key] if (i := _lesson_id(k)) is not None}
    for key in LESSON_LISTS:
        if isinstance(details.get(key), list):
            found |= {i for k in details[key] if (i := _lesson_id(k)) is not None}
    return found


def _redact(details: Mapping[str, Any], seen: set[int]) -> dict[str, Any]:
    out = dict(details)
    for key in LESSON_MAPS:
        if isinstance(out.get(key), dict):
            kept = {k: v for k, v in out[key].items() if _lesson_id(k) in seen}
            if len(kept) < len(out[key]):
                out[f"{key}_hidden"] = len(out[key]) - len(kept)
            out[key] = kept
    for key in LESSON_LISTS:
        if isinstance(out.get(key), list):
            kept_ids = [k for k in out[key] if _lesson_id(k) in seen]
            if len(kept_ids) < len(out[key]):
                out[f"{key}_hidden"] = len(out[key]) - len(kept_ids)
            out[key] = kept_ids
    return out


def audit_details(
    db: Session, viewer: Principal | None, details: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Return audit events' details as `viewer` may see them: the lessons they list
    (`re_evaluated`, `session_ids`) only where the viewer may read them; the others are
    counted (`re_evaluated_hidden`, `session_ids_hidden`), never named. One query."""
    ids = {i for d in details for i in _ids_in(d)}
    if not ids or _sees_all(viewer):
        return [dict(d) for d in details]
    seen = readable(db, viewer, ids)
    return [_redact(d, seen) for d in details]
