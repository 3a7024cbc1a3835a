"""A message's words, in the person's language, from the same catalogs as the pages."""

from __future__ import annotations

import html
from dataclasses import dataclass

from babel.dates import format_date

from komawari.notices.enums import NoticeKind
from komawari.notices.plan import Line, Slot
from komawari.web.i18n import words
from komawari.words import Say, say

# How a lesson's day reads in a message: "Fri 11 Dec" / "12月11日(金)".
DAY_PATTERN = {"en": "EEE d MMM", "ja": "M月d日(E)"}


@dataclass(frozen=True)
class Names:
    """Teachers' and rooms' names by id, as the message names them."""

    teachers: dict[int, str]
    rooms: dict[int, str]


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _day(slot: Slot, language: str) -> str:
    return format_date(slot.day, DAY_PATTERN[language], locale=language)


def _lesson(slot: Slot, name: str | None, names: Names, language: str) -> str:
    """A lesson as values: its day, time, name and teacher (never a sentence)."""
    teacher = names.teachers.get(slot.teacher_id or 0)
    when = f"{_day(slot, language)} {slot.start:%H:%M}-{slot.end:%H:%M}"
    said = (
        say("notice.lesson-teacher", "%(when)s %(name)s (%(teacher)s)",
            when=when, name=name or "", teacher=teacher)
        if teacher
        else say("notice.lesson", "%(when)s %(name)s", when=when, name=name or "")
    )  # fmt: skip
    return words(said, language).strip()


def line_words(line: Line, names: Names, language: str) -> Say:
    """One line of a message, as a code and its sentence's values."""
    lesson = _lesson(line.now, line.lesson_name, names, language) if line.now else ""
    kind = line.kind
    if kind == NoticeKind.CANCEL:
        return say("notice.cancel", "Cancelled: %(lesson)s", lesson=lesson)
    if kind == NoticeKind.BREAK:
        return say("notice.break", "No lesson (a break): %(lesson)s", lesson=lesson)
    if kind == NoticeKind.CLOSURE:
        return say("notice.closure", "No lesson (the school is closed): %(lesson)s", lesson=lesson)
    if kind == NoticeKind.RESTORE:
        return say("notice.restore", "On again: %(lesson)s", lesson=lesson)
    if kind == NoticeKind.MOVE and line.before is not None:
        was = f"{_day(line.before, language)} {line.before.start:%H:%M}"
        return say("notice.move", "Moved from %(was)s to %(lesson)s", was=was, lesson=lesson)
    if kind == NoticeKind.SUBSTITUTE and line.before is not None:
        was = names.teachers.get(line.before.teacher_id or 0, "")
        return say("notice.substitute", "Another teacher in place of %(was)s: %(lesson)s",
                   was=was, lesson=lesson)  # fmt: skip
    if kind == NoticeKind.ROOM and line.now is not None:
        room = names.rooms.get(line.now.room_id or 0, "")
        return say("notice.room", "Room changed to %(room)s: %(lesson)s", room=room, lesson=lesson)
    if kind == NoticeKind.NEW_SERIES:
        dates = ", ".join(f"{_day(s, language)} {s.start:%H:%M}" for s in line.firsts)
        return say("notice.new-series", "New lessons: %(name)s, first on %(dates)s",
                   name=line.lesson_name or "", dates=dates)  # fmt: skip
    if kind == NoticeKind.ABSENT:
        return say("notice.absent", "Absent without notice: %(lesson)s", lesson=lesson)
    if kind == NoticeKind.CREDIT_ISSUED and line.expires_on is not None:
        return say("notice.credit-issued",
                   "A make-up credit for the lesson of %(day)s, to use by %(until)s",
                   day=line.absence_date, until=line.expires_on)  # fmt: skip
    if kind == NoticeKind.CREDIT_EXPIRING and line.expires_on is not None:
        return say("notice.credit-expiring",
                   "A make-up credit ends on %(until)s: book a make-up lesson before then",
                   until=line.expires_on)  # fmt: skip
    if kind == NoticeKind.CREDIT_USED:
        return say("notice.credit-used", "Make-up lesson booked: %(lesson)s", lesson=lesson)
    return say("notice.reminder", "Tomorrow: %(lesson)s", lesson=lesson)


def message(*, name: str, language: str, lines: list[Line], names: Names) -> Rendered:
    """Render one person's lines as a subject, a plain text and an HTML body."""
    students = {line.student for line in lines}
    student = students.pop() if len(students) == 1 else None
    count = len(lines)
    if student:
        subject = say("notice.subject-student", "News of %(student)s's lessons (%(count)s)",
                      student=student, count=count)  # fmt: skip
    else:
        subject = say("notice.subject", "News of your lessons (%(count)s)", count=count)
    greeting = words(say("notice.greeting", "Dear %(name)s,", name=name), language)
    said = [words(line_words(line, names, language), language) for line in lines]
    footer = words(
        say("notice.footer", "Your school sends this. Ask the school about any of it."),
        language,
    )
    text = "\n".join([greeting, "", *(f"・{s}" for s in said), "", footer])
    items = "".join(f"<li>{html.escape(s)}</li>" for s in said)
    body = (
        f'<html lang="{language}"><body><p>{html.escape(greeting)}</p><ul>{items}</ul>'
        f"<p>{html.escape(footer)}</p></body></html>"
    )
    return Rendered(words(subject, language), text, body)
