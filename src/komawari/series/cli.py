"""`komawari series ...`: the series lifecycle."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from komawari.audit.service import Actor
from komawari.branches import service as branches
from komawari.cli.support import Id, free_text, friendly, opt_date, req_date
from komawari.db.engine import ready_engine, session_scope
from komawari.generation.enums import RunTrigger
from komawari.scheduling.weekdays import mask_names
from komawari.series import enrolment, lifecycle, service
from komawari.series.schemas import SeriesChange, SeriesCreate, SeriesPause, SeriesRead

app = typer.Typer(
    help="Class series: create, pause, resume, end, extend, change, enrol, unenrol.",
    no_args_is_help=True,
)
out = Console()


def _days(value: str) -> list[str]:
    return [d for d in (p.strip() for p in value.split(",")) if d]


@app.command("create", help="Create a series (private with --student, group with --title).")
@friendly
def create(
    branch: int = typer.Option(..., "--branch"),
    teacher: int = typer.Option(..., "--teacher"),
    days: str = typer.Option(..., "--days", help="e.g. mon,thu or 1,4"),
    start: str = typer.Option(..., "--start", help="HH:MM"),
    end: str = typer.Option(..., "--end", help="HH:MM"),
    first: str = typer.Option(..., "--first", help="First date, YYYY-MM-DD"),
    last: str | None = typer.Option(None, "--last", help="Last date, YYYY-MM-DD"),
    student: int | None = typer.Option(None, "--student"),
    title: str | None = typer.Option(None, "--title", help="Group lessons: the group's title."),
    capacity: int | None = typer.Option(None, "--capacity"),
    students: str | None = typer.Option(None, "--students", help="Group: student ids, 1,2,3"),
    room: int | None = typer.Option(None, "--room"),
    every: int = typer.Option(1, "--every", help="Every N weeks."),
) -> None:
    data = {
        "branch_id": branch,
        "teacher_id": teacher,
        "weekdays": _days(days),
        "start_time": start,
        "end_time": end,
        "first_date": first,
        "last_date": last,
        "room_id": room,
        "interval_weeks": every,
    }
    if title is not None:
        data |= {
            "kind": "GROUP",
            "title": title,
            "capacity": capacity,
            "student_ids": [int(x) for x in _days(students or "")],
        }
    else:
        data |= {"student_id": student}
    series_in = SeriesCreate.model_validate(data)
    with session_scope(ready_engine()) as s:
        series, result = service.create(
            s, series_in=series_in, actor=Actor.cli(), trigger=RunTrigger.CLI
        )
        created = result.counts.created if result else 0
        out.print(
            f"series {series.id} created ({mask_names(series.weekdays)} "
            f"{series.start_time:%H:%M}-{series.end_time:%H:%M}); {created} session(s)"
        )


@app.command("show", help="Show a series.")
@friendly
def show(series_id: Id) -> None:
    with session_scope(ready_engine()) as s:
        typer.echo(SeriesRead.model_validate(service.get(s, series_id)).model_dump_json(indent=2))


@app.command("list", help="List series.")
@friendly
def list_(
    branch: int | None = typer.Option(None, "--branch"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    with session_scope(ready_engine()) as s:
        if branch is not None:
            branches.get(s, branch)  # an unknown branch is an error, not an empty list
        rows = [
            SeriesRead.model_validate(r)
            for r in service.list_series(s, branch_ids=[branch] if branch else None, limit=10_000)
        ]
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table("id", "branch", "teacher", "student/title", "days", "time", "status")
    for r in rows:
        table.add_row(
            str(r.id),
            str(r.branch_id),
            str(r.teacher_id),
            str(r.student_id or r.title),
            ",".join(map(str, r.weekdays)),
            f"{r.start_time:%H:%M}-{r.end_time:%H:%M}",
            r.status.value,
        )
    out.print(table)


@app.command(
    "pause",
    help="A break (--until, from --from or today), or a pause until resumed (future sessions"
    " kept unless --cancel).",
)
@friendly
def pause(
    series_id: Id,
    reason: str | None = typer.Option(None, "--reason", callback=free_text),
    cancel: bool = typer.Option(False, "--cancel", help="Also cancel future sessions."),
    first: str | None = typer.Option(None, "--from", help="A break's first day (YYYY-MM-DD)"),
    until: str | None = typer.Option(None, "--until", help="A break's last day (YYYY-MM-DD)"),
) -> None:
    body = SeriesPause.model_validate(
        {"reason": reason, "cancel_future": cancel, "from_date": first, "until": until}
    )
    with session_scope(ready_engine()) as s:
        _, ids = lifecycle.pause(
            s, series_id, actor=Actor.cli(), reason=body.reason, cancel_future=cancel,
            from_date=body.from_date, until=body.until,
        )  # fmt: skip
        what = f"on a break until {body.until}" if body.until else "paused"
        out.print(f"series {series_id} {what}; {len(ids)} session(s) cancelled")


@app.command("resume", help="Resume from today (never backfills the past) and generate.")
@friendly
def resume(series_id: Id) -> None:
    with session_scope(ready_engine()) as s:
        _, result, back = lifecycle.resume(s, series_id, actor=Actor.cli())
        out.print(
            f"series {series_id} resumed; {len(back)} session(s) brought back,"
            f" {result.counts.created} created"
        )


@app.command("end", help="Shorten or end: sessions after the last date are cancelled.")
@friendly
def end(
    series_id: Id,
    last: str = typer.Option(..., "--last", help="New last date."),
    reason: str | None = typer.Option(None, "--reason", callback=free_text),
) -> None:
    with session_scope(ready_engine()) as s:
        _, ids = lifecycle.end(
            s, series_id, last_date=req_date(last, "--last"), actor=Actor.cli(), reason=reason
        )
        out.print(f"series {series_id} ends {last}; {len(ids)} session(s) cancelled")


@app.command("extend", help="Give a later last date (or --open) and generate at once.")
@friendly
def extend(
    series_id: Id,
    last: str | None = typer.Option(None, "--last"),
    open_ended: bool = typer.Option(False, "--open", help="No last date."),
) -> None:
    if last is None and not open_ended:
        raise typer.BadParameter("give --last DATE or --open", param_hint="--last")
    with session_scope(ready_engine()) as s:
        _, result = lifecycle.extend(
            s, series_id, last_date=opt_date(last, "--last"), actor=Actor.cli()
        )
        out.print(
            f"series {series_id} extended; {result.counts.created} session(s) created "
            f"(run {result.run_id})"
        )


@app.command("change-from", help='"This and following": a new pattern from a date.')
@friendly
def change_from(
    series_id: Id,
    from_date: str = typer.Option(..., "--from"),
    days: str | None = typer.Option(None, "--days"),
    start: str | None = typer.Option(None, "--start"),
    end: str | None = typer.Option(None, "--end"),
    teacher: int | None = typer.Option(None, "--teacher"),
    room: int | None = typer.Option(None, "--room"),
) -> None:
    change = SeriesChange.model_validate(
        {
            "from_date": from_date,
            "weekdays": _days(days) if days else None,
            "start_time": start,
            "end_time": end,
            "teacher_id": teacher,
            "room_id": room,
        }
    )
    with session_scope(ready_engine()) as s:
        new, result = lifecycle.change_from(s, series_id, change=change, actor=Actor.cli())
        out.print(
            f"series {series_id} changed from {from_date}: new series {new.id}, "
            f"{result.counts.created} session(s) created"
        )


@app.command("enrol", help="Enrol a student in a group series from a date.")
@friendly
def enrol(
    series_id: Id,
    student: int = typer.Option(..., "--student"),
    from_date: str = typer.Option(..., "--from"),
) -> None:
    with session_scope(ready_engine()) as s:
        enrolment.enrol(
            s,
            series_id,
            student_id=student,
            from_date=req_date(from_date, "--from"),
            actor=Actor.cli(),
        )
        out.print(f"student {student} enrolled in series {series_id} from {from_date}")


@app.command("unenrol", help="End a student's enrolment in a group series from a date.")
@friendly
def unenrol(
    series_id: Id,
    student: int = typer.Option(..., "--student"),
    from_date: str = typer.Option(..., "--from", help="First day without the student."),
) -> None:
    with session_scope(ready_engine()) as s:
        removed = enrolment.unenrol(
            s,
            series_id,
            student_id=student,
            from_date=req_date(from_date, "--from"),
            actor=Actor.cli(),
        )
        out.print(
            f"student {student} leaves series {series_id} from {from_date}: "
            f"removed from {removed} session(s)"
        )
