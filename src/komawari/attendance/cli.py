"""`komawari credits expire|list|show`: make-up (振替) credits from the command line."""

from __future__ import annotations

import json

import typer
from rich.box import SIMPLE
from rich.console import Console
from rich.table import Table

from komawari.attendance import credits, expiry, reports
from komawari.attendance.report_schemas import BranchCreditsRead
from komawari.attendance.schemas import CreditRead, EntryRead
from komawari.audit.service import Actor
from komawari.branches import service as branches
from komawari.cli.support import Id, cell, friendly, opt_date
from komawari.db.engine import ready_engine, session_scope
from komawari.people import queries as people
from komawari.scheduling import clock

app = typer.Typer(help="Make-up (振替) credits: expiry, the outstanding ones, a student's.")
out = Console()
JSON = typer.Option(False, "--json", help="One JSON object on stdout.")


@app.command("expire", help="Expire unused credits past their last day (each branch's day).")
@friendly
def expire(
    today: str | None = typer.Option(
        None,
        "--today",
        help="YYYY-MM-DD: expire as of this day (never later than a branch's own today).",
    ),
) -> None:
    day = opt_date(today, "--today")
    with session_scope(ready_engine()) as s:
        expired = expiry.expire_everywhere(s, Actor.cli(), today=day)
    out.print(f"expired {len(expired)} make-up credit{'' if len(expired) == 1 else 's'}")


@app.command("list", help="A branch's usable credits per student, soonest expiry first.")
@friendly
def list_(
    branch: int = typer.Option(..., "--branch", min=1, help="The branch's id."),
    within: int | None = typer.Option(
        None,
        "--expiring-within",
        min=0,
        max=reports.MAX_WITHIN_DAYS,
        help="Only credits whose last day is at most this many days away (0: today).",
    ),
    as_json: bool = JSON,
) -> None:
    with session_scope(ready_engine()) as s:
        row = branches.get(s, branch)
        found = reports.outstanding(
            s, [row.id], today=clock.branch_today(row.time_zone), expiring_within_days=within
        )
        name = row.name
    if as_json:
        typer.echo(BranchCreditsRead.of(branch, found).model_dump_json())
        return
    out.print(f"{cell(name)}, {found.today}: {found.count} usable make-up credits")
    table = Table("student", "balance", "credit", "absence", "last day", "left", "", box=SIMPLE)
    for student in found.students:
        for c in student.credits:
            table.add_row(
                f"{cell(student.student_name)} ({student.student_id})",
                str(student.balance),
                str(c.id),
                str(c.absence_date),
                str(c.expires_on),
                str(c.days_left),
                "expiring soon" if c.soon else "",
            )
    out.print(table)
    if found.flagged:
        flagged = Table(
            "credit", "student", "name", "absence", "flagged at", "reason", title="flagged"
        )
        for f in found.flagged:
            flagged.add_row(
                str(f.id),
                str(f.student_id),
                cell(f.student_name),
                str(f.absence_date),
                f.flagged_at.isoformat(timespec="seconds"),
                cell(f.flag_reason or ""),
            )
        out.print(flagged)


@app.command("show", help="A student's balance, credits and ledger entries.")
@friendly
def show(student_id: Id, as_json: bool = JSON) -> None:
    with session_scope(ready_engine()) as s:
        student = people.get_student(s, student_id)
        found = credits.balance(s, student.id)
        name = student.name
        owned = [CreditRead.model_validate(c).model_dump(mode="json") for c in found.credits]
        entries = [EntryRead.model_validate(e).model_dump(mode="json") for e in found.entries]
    if as_json:
        data = {"student_id": student_id, "balance": found.balance, "credits": owned}
        typer.echo(json.dumps(data | {"entries": entries}))
        return
    out.print(f"student {student_id} ({cell(name)}): balance {found.balance}")
    left = {c["id"]: 0 for c in owned}
    for e in entries:
        left[e["credit_id"]] += e["amount"]
    table = Table("credit", "absence", "last day", "balance", "flagged", title="credits")
    for c in owned:
        flagged = "flagged" if c["flagged_at"] else ""
        table.add_row(str(c["id"]), c["absence_date"], c["expires_on"], str(left[c["id"]]), flagged)
    out.print(table)
    ledger = Table("entry", "credit", "kind", "amount", "lesson", "at", "reason", title="entries")
    for e in entries:
        ledger.add_row(
            str(e["id"]),
            str(e["credit_id"]),
            str(e["kind"]),
            f"{e['amount']:+d}",
            str(e["session_id"] or ""),
            str(e["at"])[:19],
            cell(e["reason"] or ""),
        )
    out.print(ledger)
