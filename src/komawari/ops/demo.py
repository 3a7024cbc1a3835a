"""A demo school: 2 branches, a dozen teachers, students, rooms and series; and
`komawari demo`, which makes it and prints the coming week."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from komawari.audit.service import Actor
from komawari.branches import service as branches
from komawari.branches.models import Branch
from komawari.cli.support import friendly
from komawari.db.engine import ready_engine, session_scope
from komawari.errors import DuplicateSeries
from komawari.generation.enums import RunTrigger
from komawari.people import service as people
from komawari.people.models import Student, Teacher
from komawari.scheduling.timerules import today_in
from komawari.series import service as series_service
from komawari.series.schemas import SeriesCreate
from komawari.sessions import service as sessions_service
from komawari.sessions.enums import SessionStatus
from komawari.sessions.models import ClassSession
from komawari.sessions.schemas import SessionCreate

DEMO = Actor("system", "demo")
BRANCHES = (("Shibuya", "Asia/Tokyo"), ("Yokohama", "Asia/Tokyo"))
TEACHERS = (
    "Sato",
    "Suzuki",
    "Takahashi",
    "Tanaka",
    "Ito",
    "Watanabe",
    "Yamamoto",
    "Nakamura",
    "Kobayashi",
    "Kato",
    "Yoshida",
    "Yamada",
)
STUDENTS = (
    "Aoi",
    "Haruto",
    "Himari",
    "Minato",
    "Mei",
    "Sota",
    "Yui",
    "Riku",
    "Sakura",
    "Yuto",
    "Hina",
    "Sora",
    "Rin",
    "Kaito",
    "Mio",
    "Hayato",
    "Akari",
    "Ren",
    "Saki",
    "Daiki",
    "Nana",
    "Kenta",
    "Emi",
    "Shota",
    "Ayaka",
    "Takumi",
    "Miyu",
    "Kota",
    "Rina",
    "Yuki",
)
SLOTS = (time(16), time(17), time(18), time(19), time(20))


def exists(db: Session) -> bool:
    """Tell whether the demo school is there already."""
    return db.scalar(select(Branch.id).where(Branch.name == BRANCHES[0][0])) is not None


def create(db: Session, *, seed: int = 7) -> dict[str, int]:
    """Create the demo school and materialise its series (deterministic for a seed)."""
    rnd = random.Random(seed)  # noqa: S311 - demo data, not security
    made = {"branches": 0, "teachers": 0, "students": 0, "series": 0, "sessions": 0}
    bs = [branches.create(db, name=n, time_zone=z, actor=DEMO) for n, z in BRANCHES]
    made["branches"] = len(bs)
    rooms = {
        b.id: [
            people.create_room(
                db, branch_id=b.id, name=f"Room {i}", capacity=4 if i < 3 else 8, actor=DEMO
            ).id
            for i in range(1, 5)
        ]
        for b in bs
    }
    teachers = [people.create_teacher(db, name=f"{n} Sensei", actor=DEMO) for n in TEACHERS]
    students = [people.create_student(db, name=f"{n}", actor=DEMO) for n in STUDENTS]
    made["teachers"], made["students"] = len(teachers), len(students)
    monday = today_in(bs[0].time_zone) - timedelta(days=today_in(bs[0].time_zone).weekday())
    for i, student in enumerate(students):
        branch = bs[i % 2]
        teacher = teachers[(i * 5) % len(teachers)]
        days = rnd.sample(range(1, 7), k=rnd.choice((1, 1, 2)))
        start = rnd.choice(SLOTS)
        data = SeriesCreate(
            branch_id=branch.id,
            teacher_id=teacher.id,
            student_id=student.id,
            weekdays=days,
            start_time=start,
            end_time=time(start.hour + 1, 0 if i % 3 else 30),
            first_date=monday,
            room_id=rooms[branch.id][i % 3],
        )
        try:
            _, result = series_service.create(
                db, series_in=data, actor=DEMO, trigger=RunTrigger.CLI
            )
        except DuplicateSeries:  # pragma: no cover - the seed makes none
            continue
        made["series"] += 1
        made["sessions"] += result.counts.created if result else 0
    for j, branch in enumerate(bs):
        group = SeriesCreate(
            branch_id=branch.id,
            teacher_id=teachers[-1 - j].id,
            kind="GROUP",
            title=f"Conversation club {branch.name}",
            capacity=6,
            room_id=rooms[branch.id][3],
            student_ids=[s.id for s in students[j * 6 : j * 6 + 5]],
            weekdays=["sat"],
            start_time=time(10),
            end_time=time(11, 30),
            first_date=monday,
        )
        _, result = series_service.create(db, series_in=group, actor=DEMO, trigger=RunTrigger.CLI)
        made["series"] += 1
        made["sessions"] += result.counts.created if result else 0
    made["double_bookings"] = _double_booking(db, bs[0], students[-1])
    return made


def _double_booking(db: Session, branch: Branch, student: Student) -> int:
    """Book one lesson over another of the same teacher next week, as happens in a real
    office: the day page then shows a clash, and both lessons say so."""
    first = today_in(branch.time_zone) + timedelta(days=7)
    taken = db.scalars(
        select(ClassSession)
        .where(
            ClassSession.branch_id == branch.id,
            ClassSession.date >= first,
            ClassSession.status == SessionStatus.CONFIRMED,
            ClassSession.student_id.is_not(None),
        )
        .order_by(ClassSession.date, ClassSession.start_time, ClassSession.id)
        .limit(1)
    ).first()
    if taken is None:  # pragma: no cover - the demo always has lessons next week
        return 0
    start = (datetime.combine(taken.date, taken.start_time) + timedelta(minutes=30)).time()
    end = (datetime.combine(taken.date, taken.end_time) + timedelta(minutes=30)).time()
    booking = SessionCreate(
        branch_id=branch.id,
        teacher_id=taken.teacher_id,
        student_id=student.id,
        date=taken.date,
        start_time=start,
        end_time=end,
    )
    sessions_service.create_one_off(db, session_in=booking, actor=DEMO)
    return 1


def week_start(db: Session) -> date:
    """Return today in the first demo branch's zone."""
    zone = db.scalar(select(Branch.time_zone).order_by(Branch.id).limit(1))
    return today_in(zone or "Asia/Tokyo")


# `komawari demo`
out = Console()


@friendly
def demo() -> None:
    """Create a demo school (2 branches) if the database has none, and print the coming week."""
    engine = ready_engine()
    with session_scope(engine) as s:
        if exists(s):
            out.print("demo school already there")
        else:
            made = create(s)
            out.print("demo school created: " + ", ".join(f"{v} {k}" for k, v in made.items()))
    with session_scope(engine) as s:
        print_week(s)
    out.print(f"database: {engine.url.render_as_string(hide_password=True)}")


def print_week(db: Session) -> None:
    """Print the coming seven days, branch by branch."""
    first = week_start(db)
    last = first + timedelta(days=6)
    t, st = aliased(Teacher), aliased(Student)
    rows = db.execute(
        select(ClassSession, Branch.name, t.name, st.name)
        .join(Branch, Branch.id == ClassSession.branch_id)
        .join(t, t.id == ClassSession.teacher_id)
        .outerjoin(st, st.id == ClassSession.student_id)
        .where(ClassSession.date.between(first, last))
        .order_by(ClassSession.date, Branch.name, ClassSession.start_time, t.name)
    ).all()
    day = None
    table: Table | None = None
    for row, branch, teacher, student in rows:
        if row.date != day:
            if table is not None:
                out.print(table)
            day = row.date
            table = Table(title=f"{day:%a %Y-%m-%d}", title_justify="left")
            for col in ("branch", "time", "teacher", "student / group", "status"):
                table.add_column(col)
        assert table is not None
        colour = {"CONFIRMED": "green", "CONFLICTED": "red"}.get(row.status.value, "dim")
        table.add_row(
            branch,
            f"{row.start_time:%H:%M}-{row.end_time:%H:%M}",
            teacher,
            student or row.title or "",
            f"[{colour}]{row.status.value}[/]",
        )
    if table is not None:
        out.print(table)
    out.print(f"{len(rows)} session(s) from {first} to {last}")
