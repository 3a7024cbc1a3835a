"""`komawari demo`: create the demo school and print the coming week."""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import aliased

from komawari.branches.models import Branch
from komawari.cli.support import friendly
from komawari.db.engine import ready_engine, session_scope
from komawari.ops import demo as demo_school
from komawari.people.models import Student, Teacher
from komawari.sessions.models import ClassSession

out = Console()


@friendly
def demo() -> None:
    """Create a demo school (2 branches) if the database has none, and print the coming week."""
    engine = ready_engine()
    with session_scope(engine) as s:
        if demo_school.exists(s):
            out.print("demo school already there")
        else:
            made = demo_school.create(s)
            out.print("demo school created: " + ", ".join(f"{v} {k}" for k, v in made.items()))
    with session_scope(engine) as s:
        print_week(s)
    out.print(f"database: {engine.url.render_as_string(hide_password=True)}")


def print_week(session: object) -> None:
    """Print the coming seven days, branch by branch."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    first = demo_school.week_start(session)
    last = first + timedelta(days=6)
    t, st = aliased(Teacher), aliased(Student)
    rows = session.execute(
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
