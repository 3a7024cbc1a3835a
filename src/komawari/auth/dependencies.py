"""Parameter types that resolve an object and authorise the caller on it in one step.

A route declares `series: WritableSeries` and gets the series only if `policy` lets the
caller change it: a series the caller may not see is 404, one they may only read is 403.
Every function here is registered in POLICY; a test fails for any route whose dependency
tree holds none of them (tests/web/test_route_policy.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request

from komawari.auth import policy
from komawari.auth import service as auth
from komawari.auth.policy import Access, Principal, SessionFilter
from komawari.auth.schemas import FeedRotate
from komawari.branches import service as branches_service
from komawari.branches import versions
from komawari.branches.models import Branch
from komawari.errors import KomawariError, NotFound, NotSetUp
from komawari.generation import service as generation
from komawari.generation.models import GenerationRun
from komawari.generation.schemas import GenerateRequest
from komawari.notices import contacts as contacts_service
from komawari.notices import line_link
from komawari.notices.contact_schemas import ContactCreate
from komawari.notices.models import Contact
from komawari.people import queries as people
from komawari.people.models import Room, Student, Teacher
from komawari.people.schemas import RoomCreate
from komawari.scheduling import clock
from komawari.series import service as series_service
from komawari.series.models import ClassSeries
from komawari.series.schemas import SeriesCreate
from komawari.sessions import service as sessions_service
from komawari.sessions.models import ClassSession
from komawari.sessions.schemas import SessionCreate
from komawari.web.deps import BearerToken, Caller, Db, Id, OptId
from komawari.words import say

POLICY: set[Callable[..., object]] = set()
F = TypeVar("F", bound=Callable[..., object])


def _policy(dependency: F) -> F:
    POLICY.add(dependency)
    return dependency


# The caller, for routes whose object is the caller or the whole school.


@_policy
def staff_caller(who: Caller) -> Principal:
    """Return the caller, 403 for a teacher's token."""
    policy.require_staff(who)
    return who


@_policy
def admin_caller(who: Caller) -> Principal:
    """Return the caller, 403 unless an admin."""
    policy.require_admin(who)
    return who


@_policy
def self_caller(who: Caller) -> Principal:
    """Return the caller, who may read their own user."""
    missing = say("user.not-found", "user %(id)s does not exist", id=who.user_id)
    policy.require(who, policy.user_access(who, who.user_id), Access.READ, missing)
    return who


StaffCaller = Annotated[Principal, Depends(staff_caller)]
AdminCaller = Annotated[Principal, Depends(admin_caller)]
Me = Annotated[Principal, Depends(self_caller)]


# What a list may show.


@_policy
def visible_branch_ids(who: Caller, branch_id: OptId = None) -> list[int] | None:
    """Return the branches a list may show (None: all), 404 for one the caller can't see."""
    return policy.visible_branches(who, branch_id)


@_policy
def own_branch_ids(who: Caller) -> list[int] | None:
    """Return every branch the caller may see (None: all)."""
    return policy.visible_branches(who)


@_policy
def visible_sessions(
    who: Caller, branch_id: OptId = None, teacher_id: OptId = None
) -> SessionFilter:
    """Return which sessions a list may show (a teacher: their own)."""
    return policy.session_filter(who, branch_id=branch_id, teacher_id=teacher_id)


VisibleBranchIds = Annotated[list[int] | None, Depends(visible_branch_ids)]
OwnBranchIds = Annotated[list[int] | None, Depends(own_branch_ids)]
VisibleSessions = Annotated[SessionFilter, Depends(visible_sessions)]


# One object, by its id in the path.


@_policy
def readable_branch(branch_id: Id, db: Db, who: StaffCaller) -> Branch:
    """Return the branch if the caller may see it."""
    policy.require(
        who, policy.branch_access(who, branch_id), Access.READ, policy.branch_missing(branch_id)
    )
    return branches_service.get(db, branch_id)


@_policy
def writable_branch(branch_id: Id, db: Db, who: StaffCaller) -> Branch:
    """Return the branch if the caller may change its data."""
    policy.require(
        who,
        policy.branch_access(who, branch_id),
        Access.WRITE,
        policy.branch_missing(branch_id),
        say("branch.read-only", "you may read this branch but not change it"),
    )
    return branches_service.get(db, branch_id)


@dataclass(frozen=True)
class BranchState:
    """A branch the caller may read, and the state of its schedule (for its ETags)."""

    who: Principal
    branch_id: int
    state: versions.State


@_policy
async def readable_branch_state(request: Request, branch_id: Id, token: BearerToken) -> BranchState:
    """Return the caller and the branch's state if the caller (staff) may see the branch.

    The hot path of the day's schedule: the token, its user and branches, the branch and
    its counters are read by one statement on the event loop, every time (nothing about
    the caller is kept between requests); the checks are `readable_branch`'s.
    """
    token_hash = auth.token_hash(token.credentials if token else None)
    found = await versions.read_as_caller(request.app.state.hot, token_hash, branch_id)
    who = auth.principal_of(found.caller)
    policy.require_staff(who)
    missing = policy.branch_missing(branch_id)
    policy.require(who, policy.branch_access(who, branch_id), Access.READ, missing)
    if not found.branch_exists:
        raise NotFound(missing)
    return BranchState(who, branch_id, found.state)


def _series(series_id: int, db: Db, who: Principal, need: Access) -> ClassSeries:
    series = series_service.get(db, series_id)
    policy.require(
        who,
        policy.branch_access(who, series.branch_id),
        need,
        say("series.not-found", "there is no series number %(id)s", id=series_id),
        say("series.read-only", "you may read this series but not change it"),
    )
    return series


@_policy
def readable_series(series_id: Id, db: Db, who: StaffCaller) -> ClassSeries:
    """Return the series if the caller may see it."""
    return _series(series_id, db, who, Access.READ)


@_policy
def writable_series(series_id: Id, db: Db, who: StaffCaller) -> ClassSeries:
    """Return the series if the caller may change it."""
    return _series(series_id, db, who, Access.WRITE)


def _session(session_id: int, db: Db, who: Principal, need: Access) -> ClassSession:
    row = sessions_service.get(db, session_id)
    access = policy.session_access(who, branch_id=row.branch_id, teacher_id=row.teacher_id)
    policy.require(
        who,
        access,
        need,
        sessions_service.not_found(session_id),
        say("lesson.read-only", "you may read this lesson but not change it"),
    )
    return row


@_policy
def readable_session(session_id: Id, db: Db, who: Caller) -> ClassSession:
    """Return the session if the caller may see it (a teacher: their own lessons)."""
    return _session(session_id, db, who, Access.READ)


@_policy
def writable_session(session_id: Id, db: Db, who: Caller) -> ClassSession:
    """Return the session if the caller may change it."""
    return _session(session_id, db, who, Access.WRITE)


@_policy
def markable_session(session_id: Id, db: Db, who: Caller) -> ClassSession:
    """Return the session if the caller may take its roll (staff of its branch; its
    teacher on its day or the next, in its branch's zone)."""
    row = sessions_service.get(db, session_id)
    policy.require_roll(
        who,
        branch_id=row.branch_id,
        teacher_id=row.teacher_id,
        lesson_day=row.date,
        today=clock.branch_today(row.time_zone),
        missing=sessions_service.not_found(session_id),
    )
    return row


@_policy
def readable_run(run_id: Id, db: Db, who: StaffCaller) -> GenerationRun:
    """Return the generation run if the caller may see its branch (all branches: admin)."""
    run, branch_id = generation.run_branch_id(db, run_id)
    missing = say("generation.run-not-found", "there is no generation run number %(id)s", id=run_id)
    policy.require(who, policy.branch_access(who, branch_id), Access.READ, missing)
    return run


def _room(room_id: int, db: Db, who: Principal, need: Access) -> Room:
    room = people.get_room(db, room_id)
    policy.require(
        who,
        policy.branch_access(who, room.branch_id),
        need,
        say("room.not-found", "room %(id)s does not exist", id=room_id),
        say("room.read-only", "you may read this room but not change it"),
    )
    return room


def _teacher(teacher_id: int, db: Db, who: Principal, need: Access) -> Teacher:
    policy.require(
        who,
        policy.teacher_access(who, teacher_id),
        need,
        say("teacher.not-found", "teacher %(id)s does not exist", id=teacher_id),
        say("teacher.read-only", "you may read this teacher but not change it"),
    )
    return people.get_teacher(db, teacher_id)


@_policy
def readable_room(room_id: Id, db: Db, who: StaffCaller) -> Room:
    """Return the room if the caller may see its branch."""
    return _room(room_id, db, who, Access.READ)


@_policy
def readable_teacher(teacher_id: Id, db: Db, who: Caller) -> Teacher:
    """Return the teacher if the caller may see them (a teacher's token: only itself)."""
    return _teacher(teacher_id, db, who, Access.READ)


@_policy
def readable_student(student_id: Id, db: Db, who: StaffCaller) -> Student:
    """Return the student (students are school-wide, for staff and admins)."""
    return people.get_student(db, student_id)


@_policy
def writable_room(room_id: Id, db: Db, who: StaffCaller) -> Room:
    """Return the room if the caller may change its branch's data."""
    return _room(room_id, db, who, Access.WRITE)


@_policy
def writable_teacher(teacher_id: Id, db: Db, who: StaffCaller) -> Teacher:
    """Return the teacher if the caller may change them (staff and admins)."""
    return _teacher(teacher_id, db, who, Access.WRITE)


@_policy
def writable_student(student_id: Id, db: Db, who: StaffCaller) -> Student:
    """Return the student if the caller may change them (staff and admins)."""
    policy.require(
        who,
        policy.student_access(who),
        Access.WRITE,
        say("student.not-found", "student %(id)s does not exist", id=student_id),
        say("student.read-only", "you may read this student but not change it"),
    )
    return people.get_student(db, student_id)


def _family(student_id: int, db: Db, who: Principal) -> Student:
    student = people.get_student(db, student_id)
    branches = contacts_service.student_branches(db, [student_id])[student_id]
    missing = say(
        "contact.family-not-yours", "student %(id)s has no contacts you may see", id=student_id
    )
    policy.require(who, policy.family_access(who, branches), Access.WRITE, missing)
    return student


@_policy
def family_student(student_id: Id, db: Db, who: StaffCaller) -> Student:
    """Return the student if the caller may see and change their contacts (staff of a
    branch of their lessons; any staff before their first)."""
    return _family(student_id, db, who)


def _contact(contact_id: int, db: Db, who: Principal, need: Access) -> Contact:
    contact = contacts_service.get(db, contact_id)
    owners = contacts_service.owners(db, contact)
    access = policy.contact_access(
        who, student_branch_ids=owners.student_branch_ids, teacher_id=owners.teacher_id
    )
    policy.require(
        who,
        access,
        need,
        contacts_service.not_found(contact_id),
        say("contact.read-only", "you may read this contact but not change it"),
    )
    return contact


@_policy
def readable_contact(contact_id: Id, db: Db, who: StaffCaller) -> Contact:
    """Return the contact if the caller may see it (one of its students' or its teacher's)."""
    return _contact(contact_id, db, who, Access.READ)


@_policy
def writable_contact(contact_id: Id, db: Db, who: StaffCaller) -> Contact:
    """Return the contact if the caller may change it."""
    return _contact(contact_id, db, who, Access.WRITE)


ReadableBranch = Annotated[Branch, Depends(readable_branch)]
WritableBranch = Annotated[Branch, Depends(writable_branch)]
ReadableBranchState = Annotated[BranchState, Depends(readable_branch_state)]
ReadableSeries = Annotated[ClassSeries, Depends(readable_series)]
WritableSeries = Annotated[ClassSeries, Depends(writable_series)]
ReadableSession = Annotated[ClassSession, Depends(readable_session)]
WritableSession = Annotated[ClassSession, Depends(writable_session)]
MarkableSession = Annotated[ClassSession, Depends(markable_session)]
ReadableRun = Annotated[GenerationRun, Depends(readable_run)]
ReadableRoom = Annotated[Room, Depends(readable_room)]
ReadableTeacher = Annotated[Teacher, Depends(readable_teacher)]
ReadableStudent = Annotated[Student, Depends(readable_student)]
WritableRoom = Annotated[Room, Depends(writable_room)]
WritableTeacher = Annotated[Teacher, Depends(writable_teacher)]
WritableStudent = Annotated[Student, Depends(writable_student)]
FamilyStudent = Annotated[Student, Depends(family_student)]
ReadableContact = Annotated[Contact, Depends(readable_contact)]
WritableContact = Annotated[Contact, Depends(writable_contact)]


# A request body that creates something in a branch: 403 for a branch not the caller's.


@_policy
def new_series(body: SeriesCreate, who: Caller) -> SeriesCreate:
    """Return the series to create if the caller may write in its branch."""
    policy.require_write_in(who, body.branch_id)
    return body


@_policy
def new_session(body: SessionCreate, who: Caller) -> SessionCreate:
    """Return the one-off lesson to book if the caller may write in its branch."""
    policy.require_write_in(who, body.branch_id)
    return body


@_policy
def new_room(body: RoomCreate, who: Caller) -> RoomCreate:
    """Return the room to add if the caller may write in its branch."""
    policy.require_write_in(who, body.branch_id)
    return body


@_policy
def generation_order(body: GenerateRequest, db: Db, who: StaffCaller) -> GenerateRequest:
    """Return what to generate if the caller may change it (a series, a branch, or all)."""
    if body.series_id is not None:
        _series(body.series_id, db, who, Access.WRITE)
    else:
        policy.require_write_in(who, body.branch_id)
    return body


@_policy
def feed_rotation(body: FeedRotate, who: Caller) -> FeedRotate:
    """Return the feed to rotate if the caller may rotate it."""
    policy.require_feed_rotation(who, owner_type=body.owner_type, owner_id=body.owner_id)
    return body


@_policy
def new_student_contact(body: ContactCreate, db: Db, who: StaffCaller) -> ContactCreate:
    """Return the contact to add to a student if the caller may change the known contact
    it names by id (else 404: its existence does not leak)."""
    if body.contact_id is not None:
        _contact(body.contact_id, db, who, Access.WRITE)
    return body


NewSeries = Annotated[SeriesCreate, Depends(new_series)]
NewSession = Annotated[SessionCreate, Depends(new_session)]
NewRoom = Annotated[RoomCreate, Depends(new_room)]
GenerationOrder = Annotated[GenerateRequest, Depends(generation_order)]
FeedRotation = Annotated[FeedRotate, Depends(feed_rotation)]
NewStudentContact = Annotated[ContactCreate, Depends(new_student_contact)]


# LINE's webhook: no user calls it; the body's signature is the authorisation.


@_policy
async def line_signed_body(
    request: Request,
    secret: Annotated[str | None, Depends(line_link.channel_secret)],
    signature: Annotated[str | None, Header(alias="X-Line-Signature")] = None,
) -> bytes:
    """Return the body of a webhook call if LINE signed it with the channel's secret:
    503 while the secret is not set, 400 for a missing or wrong signature."""
    if not secret:
        raise NotSetUp(
            say("line.not-set-up", "LINE is not set up: KOMAWARI_LINE_CHANNEL_SECRET is empty")
        )
    body = await request.body()
    if not policy.line_signature_matches(secret, body, signature):
        raise KomawariError(
            say("line.bad-signature", "the X-Line-Signature header does not sign this body")
        )
    return body


LineSignedBody = Annotated[bytes, Depends(line_signed_body)]
