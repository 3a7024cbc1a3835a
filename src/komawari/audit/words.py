"""The audit log and the system's reasons in people's words.

An audit event is stored as codes (`session.cancel`, actor `user:sato web-session:4`,
subject `session 328`), which the API and the command line keep. A page shows it as a
line: who (a person's name and how: "sato, on the web"; "scheduled generation"), what
("cancelled a lesson"), which ("Kaito with Watanabe Sensei, Fri 11 Dec 18:00"), when (in
the zone of the branch it concerns) and why (a person's reason as typed; a system reason
as a sentence). The dates one generation run skipped are one line, not one per date.

Every action has its sentence in ACTIONS; `tests/test_words.py` walks the actions the
code records and fails on one without both languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from komawari.audit.models import AuditEvent
from komawari.auth.models import User
from komawari.branches.models import Branch
from komawari.people.models import Room, Student, Teacher
from komawari.series.models import ClassSeries
from komawari.sessions.models import ClassSession
from komawari.words import Say, say

# What each action did, as a page says it (keyed by the action with "_" as "-").
ACTIONS: dict[str, Say] = {
    s.code: s
    for s in (
        say("branch.create", "added a branch"),
        say("branch.closure.add", "closed the branch for a day"),
        say("branch.closure.remove", "reopened a closed day"),
        say("branch.holidays", "changed the national-holiday closures"),
        say("branch.reminder-time", "set when the day-before reminders go"),
        say("branch.period.add", "added a period"),
        say("branch.period.remove", "removed a period"),
        say("calendar-feed.rotate", "made a new calendar link"),
        say("guards.off", "switched the duplicate guards off"),
        say("guards.on", "switched the duplicate guards on"),
        say("import.legacy", "imported from the old system"),
        say("ops.restore", "restored a backup"),
        say("repair.dedupe", "repaired duplicates"),
        say("room.create", "added a room"),
        say("room.rename", "renamed a room"),
        say("room.deactivate", "deactivated a room"),
        say("teacher.create", "added a teacher"),
        say("teacher.rename", "renamed a teacher"),
        say("teacher.deactivate", "deactivated a teacher"),
        say("student.create", "added a student"),
        say("student.rename", "renamed a student"),
        say("student.deactivate", "deactivated a student"),
        say("series.create", "created the series"),
        say("series.import", "imported the series"),
        say("series.extend", "extended the series"),
        say("series.pause", "paused the series"),
        say("series.resume", "resumed the series"),
        say("series.break", "gave the series a break"),
        say("series.end", "ended the series"),
        say("series.change-from", "changed the series from a date"),
        say("series.enrol", "enrolled a student"),
        say("series.unenrol", "took a student out of the group"),
        say("series.pause-duplicate", "paused a duplicate series"),
        say("series.pause.cancel-sessions", "cancelled the lessons of the pause"),
        say("series.break.cancel-sessions", "cancelled the lessons of the break"),
        say("series.end.cancel-sessions", "cancelled the lessons after the end"),
        say("series.change.cancel-sessions", "cancelled the lessons the change replaced"),
        say("session.create", "booked a lesson"),
        say("session.import", "imported a lesson"),
        say("session.makeup-join", "added a student to a group lesson as a make-up"),
        say("session.cancel", "cancelled a lesson"),
        say("session.cancel-duplicate", "cancelled a duplicate lesson"),
        say("session.move", "moved a lesson"),
        say("session.restore", "restored a lesson"),
        say("session.note", "wrote a note on a lesson"),
        say("occurrence.skipped-existing", "skipped dates whose lesson already existed"),
        say("occurrence.skipped-duplicate", "skipped dates with the same lesson already booked"),
        say("token.create", "made an API token"),
        say("token.revoke", "revoked an API token"),
        say("user.create", "added a user"),
        say("user.grant", "gave a user a branch"),
        say("user.update", "changed a user's role or branches"),
        say("user.disable", "disabled a user"),
        say("user.enable", "enabled a user"),
        say("user.end-sessions", "signed a user out everywhere"),
        say("user.password", "set a password"),
        say("user.password-link", "made a set-password link"),
        say("user.password-reset", "reset a password"),
        say("user.revoke-branch", "took a branch from a user"),
        say("web-session.sign-in", "signed in"),
        say("attendance.mark", "marked attendance"),
        say("credit.issue", "issued a make-up credit"),
        say("credit.use", "booked a make-up lesson with a credit"),
        say("credit.release", "gave a make-up credit back"),
        say("credit.expire", "a make-up credit expired"),
        say("credit.revoke", "revoked a make-up credit"),
        say("credit.adjust", "adjusted a make-up credit"),
        say("credit.flag", "flagged a used make-up credit for staff"),
        say("credit-policy.set", "set a make-up policy"),
        say("session.teacher-absent", "noted that the teacher cannot come"),
        say("session.teacher-back", "noted that the teacher can come after all"),
        say("notice.send-again", "put a notice back in the queue to send again"),
        say("contact.add", "added a contact"),
        say("contact.link", "linked a contact to a student"),
        say("contact.update", "changed a contact"),
        say("contact.unlink", "took a contact off a student"),
        say("contact.line-code", "made a LINE link code"),
        say("contact.line-linked", "linked a contact's LINE"),
        say("contact.line-unlinked", "unlinked a contact's LINE"),
    )
}
# Skipped dates of one run are shown as one line.
SKIPS = frozenset({"occurrence.skipped_existing", "occurrence.skipped_duplicate"})


def action_words(action: str) -> Say | str:
    """The sentence of an action (its code as it is, for one recorded by older code)."""
    return ACTIONS.get(action.replace("_", "-"), action)


_PERSON = re.compile(r"user:(?P<name>\S+)(?: (?P<how>web-session|token):\d+)?")


def actor_words(actor_type: str, actor: str) -> Say | str:
    """Who did it, as a name and how: "sato, on the web"; "scheduled generation"."""
    found = _PERSON.fullmatch(actor)
    if found:
        name, how = found["name"], found["how"]
        if how == "web-session":
            return say("actor.web", "%(name)s, on the web", name=name)
        if how == "token" or actor_type == "token":
            return say("actor.api", "%(name)s, through the API", name=name)
        return name
    if actor_type == "cli":
        return say("actor.cli", "%(name)s, on the command line", name=actor)
    if actor_type == "generator":
        return say("actor.generation", "lesson generation")
    if actor_type == "repair":
        return say("actor.repair", "the duplicate repair")
    if actor_type == "import":
        return say("actor.import", "the import from the old system")
    if actor_type == "system":
        return say("actor.system", "Komawari (set-up)")
    if actor_type == "expiry":
        return say("actor.expiry", "make-up credit expiry")
    if actor_type == "line":
        return say("actor.line", "a family, on LINE")
    return actor


# A credit taken back because the attendance that earned it was corrected, by the state
# it was corrected to.
_CORRECTED = {
    "present": say("reason.corrected-present", "the attendance was corrected to present"),
    "late": say("reason.corrected-late", "the attendance was corrected to late"),
    "left_early": say("reason.corrected-left-early", "the attendance was corrected to left early"),
    "absent": say(
        "reason.corrected-absent", "the attendance was corrected to absent without notice"
    ),
    "absent_notified": say(
        "reason.corrected-notice-late", "the notice of absence came too late to earn a make-up"
    ),
    "school_cancelled": say(
        "reason.corrected-school-cancelled",
        "the attendance was corrected to cancelled by the school",
    ),
}


def reason_words(reason: str | None) -> Say | str | None:
    """Why: a person's reason as typed; a reason the system wrote, as a sentence."""
    if not reason:
        return None
    code, _, rest = reason.partition(": ")
    rest = rest.strip()
    if reason == "branch_closed":
        return say("reason.branch-closed", "the branch is closed that day")
    if code == "series_paused":
        return (say("reason.series-paused-why", "the series is paused: %(why)s", why=rest)
                if rest else say("reason.series-paused", "the series is paused"))  # fmt: skip
    if code == "series_break":
        return (say("reason.series-break-why", "a break of the series: %(why)s", why=rest)
                if rest else say("reason.series-break", "a break of the series"))  # fmt: skip
    if code == "series_ended":
        return (say("reason.series-ended-why", "the series ended: %(why)s", why=rest)
                if rest else say("reason.series-ended", "the series ended"))  # fmt: skip
    if reason.startswith("series_changed from "):
        day = reason.removeprefix("series_changed from ").strip()
        return say("reason.series-changed", "the series changed from %(day)s", day=_day(day))
    if reason.startswith("unused after "):  # attendance/credits.expire_due
        day = reason.removeprefix("unused after ").strip()
        return say("reason.credit-unused", "not used by its last day, %(day)s", day=_day(day))
    if reason.startswith("attendance corrected to "):  # attendance/service._settle
        return _CORRECTED.get(reason.removeprefix("attendance corrected to ").strip(), reason)
    if reason == "makeup_credit_gone":  # branches/service.remove_closure
        return say(
            "reason.makeup-credit-gone",
            "its make-up credit was used by another lesson while the branch was closed",
        )
    if reason in ("already exists", "the same lesson already exists"):
        return say("reason.already-exists", "the lesson already existed")
    return reason


def _day(text: str) -> date | str:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


@dataclass
class Line:
    """One line of a history or of the audit log, as a page shows it."""

    at: datetime
    zone: str
    who: Say | str
    what: Say | str
    subject: Say | str | None = None
    link: str | None = None
    why: Say | str | None = None
    dates: list[date] = field(default_factory=list)  # a run's skipped dates
    code: str = ""  # the action's code, in the admin's small print


def lines(
    db: Session, events: Sequence[AuditEvent], *, default_zone: str, name_subjects: bool = True
) -> list[Line]:
    """The events as lines, newest first as given: a run's skipped dates folded into one
    line, each time in the zone of the branch the event concerns."""
    zones = dict(db.execute(select(Branch.id, Branch.time_zone)).all())
    names = _subject_names(db, events) if name_subjects else {}
    out: list[Line] = []
    folded: dict[tuple[int | None, str, int | None], Line] = {}
    for e in events:
        zone = zones.get(e.branch_id, default_zone) if e.branch_id else default_zone
        if e.action in SKIPS:
            key = (e.run_id, e.action, e.series_id)
            line = folded.get(key)
            if line is None:
                line = folded[key] = Line(
                    e.at, zone, actor_words(e.actor_type, e.actor), action_words(e.action),
                    code=e.action,
                )  # fmt: skip
                out.append(line)
            if e.occurrence_date is not None:
                line.dates.append(e.occurrence_date)
            continue
        subject, link = names.get((e.subject_type, e.subject_id), (None, None))
        out.append(
            Line(
                e.at, zone, actor_words(e.actor_type, e.actor), action_words(e.action),
                subject=subject, link=link, why=reason_words(e.reason), code=e.action,
            )
        )  # fmt: skip
    for line in out:
        line.dates.sort()
    return out


def _ids(events: Iterable[AuditEvent], kind: str) -> set[int]:
    return {e.subject_id for e in events if e.subject_type == kind and e.subject_id}


def _subject_names(
    db: Session, events: Sequence[AuditEvent]
) -> dict[tuple[str, int | None], tuple[Say | str, str | None]]:
    """Each subject as a page names it, and the page it links to."""
    names: dict[tuple[str, int | None], tuple[Say | str, str | None]] = {}
    lesson_ids = _ids(events, "session")
    if lesson_ids:
        teacher, student = aliased(Teacher), aliased(Student)
        for sid, day, start, t_name, s_name, title in db.execute(
            select(ClassSession.id, ClassSession.date, ClassSession.start_time, teacher.name,
                   student.name, ClassSeries.title)
            .join(teacher, teacher.id == ClassSession.teacher_id)
            .outerjoin(student, student.id == ClassSession.student_id)
            .outerjoin(ClassSeries, ClassSeries.id == ClassSession.series_id)
            .where(ClassSession.id.in_(lesson_ids))
        ).all():  # fmt: skip
            who = s_name or title or ""
            names[("session", sid)] = (
                say("subject.lesson", "%(who)s with %(teacher)s, %(day)s %(time)s",
                    who=who, teacher=t_name, day=day, time=start.strftime("%H:%M")),
                f"/sessions/{sid}",
            )  # fmt: skip
    series_ids = _ids(events, "series")
    if series_ids:
        teacher, student = aliased(Teacher), aliased(Student)
        for sid, t_name, s_name, title, start in db.execute(
            select(ClassSeries.id, teacher.name, student.name, ClassSeries.title,
                   ClassSeries.start_time)
            .join(teacher, teacher.id == ClassSeries.teacher_id)
            .outerjoin(student, student.id == ClassSeries.student_id)
            .where(ClassSeries.id.in_(series_ids))
        ).all():  # fmt: skip
            names[("series", sid)] = (
                say("subject.series", "%(who)s with %(teacher)s at %(time)s",
                    who=s_name or title or "", teacher=t_name, time=start.strftime("%H:%M")),
                f"/series/{sid}",
            )  # fmt: skip
    for kind, model, path in (
        ("teacher", Teacher, "/teachers"), ("student", Student, "/students"),
        ("room", Room, "/rooms"), ("branch", Branch, None),
    ):  # fmt: skip
        ids = _ids(events, kind)
        if ids:
            for rid, name in db.execute(select(model.id, model.name).where(model.id.in_(ids))):
                names[(kind, rid)] = (name, f"/branches/{rid}/day" if kind == "branch" else path)
    user_ids = _ids(events, "user")
    if user_ids:
        for uid, name in db.execute(select(User.id, User.username).where(User.id.in_(user_ids))):
            names[("user", uid)] = (name, f"/users/{uid}")
    return names
