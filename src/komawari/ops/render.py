"""Rich tables of the operator commands, for people (machines read `--json`)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from komawari.cli.support import cell
from komawari.db import guards as db_guards
from komawari.ops.dedupe import DedupeResult
from komawari.ops.doctor import Diagnosis
from komawari.ops.legacy_report import ImportReport

SHOWN = 20  # rows of a long table shown to people; --json has them all


def _state(state: str) -> str:
    return f"[green]{state}[/]" if state == "ok" else f"[bold red]{state}[/]"


def guards(out: Console, states: dict[str, str]) -> None:
    """Print each guard: name, table, state and what it promises."""
    table = Table(title="uniqueness guards")
    # Guard names differ only at their end: never cut, other columns wrap instead.
    longest = max(len(g.name) for g in db_guards.GUARDS)
    table.add_column("guard", no_wrap=True, min_width=longest)
    for head in ("table", "state", "promise"):
        table.add_column(head)
    for guard in db_guards.GUARDS:
        table.add_row(guard.name, guard.table, _state(states[guard.name]), guard.promise)
    out.print(table)


def doctor(out: Console, d: Diagnosis) -> None:
    """Print the doctor's findings, the worst first."""
    days = [(day, c) for day, c in d.by_date.items() if c.excess or d.on_date]
    table = Table(
        "date",
        "sessions",
        "unique",
        "excess",
        "CONFIRMED",
        "CONFLICTED",
        title="non-cancelled sessions per date" + ("" if d.on_date else " (dates with duplicates)"),
    )
    for day, c in sorted(days, key=lambda x: -x[1].excess)[:SHOWN]:
        table.add_row(
            str(day),
            str(c.total),
            str(c.unique),
            str(c.excess),
            str(c.confirmed),
            str(c.conflicted),
        )
    table.add_row("[b]total", f"[b]{d.total}", f"[b]{d.total - d.excess}", f"[b]{d.excess}")
    out.print(table)
    if d.worst:
        worst = Table(
            "date",
            "time",
            "teacher",
            "student",
            "copies",
            "statuses",
            "series",
            title="worst duplicate groups",
        )
        for g in d.worst:
            worst.add_row(
                str(g.date),
                f"{g.start_time:%H:%M}-{g.end_time:%H:%M}",
                cell(g.teacher),
                cell(g.student),
                str(g.copies),
                f"{g.confirmed} CONFIRMED, {g.conflicted} CONFLICTED",
                ", ".join(map(str, g.series_ids))
                + (f" +{g.one_offs} one-off" if g.one_offs else ""),
            )
        out.print(worst)
    if d.series_groups:
        series = Table(
            "keep",
            "duplicates",
            "branch",
            "teacher",
            "student or group",
            "time",
            title="ACTIVE series that duplicate each other",
        )
        for s in d.series_groups[:SHOWN]:
            series.add_row(
                str(s.ids[0]),
                ", ".join(map(str, s.ids[1:])),
                cell(s.branch),
                cell(s.teacher),
                cell(s.party),
                f"{s.start_time:%H:%M}-{s.end_time:%H:%M}",
            )
        out.print(series)
    facts = Table("finding", "count", title="other findings")
    facts.add_row("rows holding an occurrence twice (excess)", str(d.occurrence_excess))
    facts.add_row("live sessions on closure days", str(d.on_closure_days))
    for status in ("PAUSED", "ENDED"):
        facts.add_row(
            f"future sessions of {status} series (kept, not a problem)",
            str(d.future_of_inactive.get(status, 0)),
        )
    facts.add_row("CONFLICTED sessions (shown for staff, not a problem)", str(d.conflicted))
    out.print(facts)
    guards(out, d.guards)
    if d.problems:
        out.print(f"[bold red]problems:[/] {', '.join(d.problems)}")
        out.print(
            "repair: `komawari dedupe` (plan), `komawari dedupe --apply`, then `komawari guards on`"
        )
    else:
        out.print("[green]healthy[/]: no duplicates, every guard in place")


def dedupe(out: Console, r: DedupeResult) -> None:
    """Print what the repair did or would do."""
    verb = "cancelled" if r.applied else "would cancel"
    table = Table("kept session", "lesson", "status after", "copies", title=f"lessons: {verb}")
    for k in r.kept_sessions[:SHOWN]:
        table.add_row(str(k.id), cell(k.label), k.status, str(len(k.copies)))
    if r.kept_sessions:
        out.print(table)
    series = Table(
        "kept series",
        "blueprint",
        "paused",
        title="series: " + ("paused" if r.applied else "would pause"),
    )
    for k in r.kept_series[:SHOWN]:
        series.add_row(str(k.id), cell(k.label), ", ".join(map(str, k.copies)))
    if r.kept_series:
        out.print(series)
    summary = r.as_dict()
    out.print(
        f"sessions {verb}: {summary['sessions']['cancelled']}, already cancelled rows now "
        f"pointing to the kept one: {summary['sessions']['already_cancelled_now_pointing']}, "
        f"series {'paused' if r.applied else 'to pause'}: {len(r.series)}, conflict verdicts "
        f"changed: {len(r.conflicts_changed)}"
    )
    if not r.applied:
        out.print("dry run: nothing was changed; run `komawari dedupe --apply` to repair")
    else:
        out.print(
            f"done under repair id {r.repair_id}"
            " (see `komawari audit events --action repair.dedupe`)"
        )


def imported(out: Console, r: ImportReport) -> None:
    """Print the import report and the rows that could not be loaded."""
    d = r.as_dict()
    table = Table(
        "",
        "read",
        "created",
        "skipped (already imported)",
        "duplicates",
        title="legacy import" + ("" if r.applied else " (dry run)"),
    )
    s, ser = d["sessions"], d["series"]
    table.add_row(
        "sessions",
        str(s["read"]),
        str(s["created"]),
        str(s["skipped_existing"]),
        f"{s['excess_duplicates']} excess in the file, "
        f"{s['cancelled_as_duplicates']} kept as cancelled pointers",
    )
    table.add_row(
        "series",
        str(ser["read"]),
        str(ser["created"]),
        str(ser["skipped_existing"]),
        f"{ser['duplicate_active']} duplicate ACTIVE, {ser['paused']} paused",
    )
    out.print(table)
    out.print(
        f"after the conflict check: {s['confirmed']} CONFIRMED, {s['conflicted']} "
        f"CONFLICTED, {s['cancelled']} CANCELLED"
    )
    if r.errors:
        errors = Table("file", "line", "problem", title=f"{len(r.errors)} row(s) not loaded")
        for e in r.errors[:SHOWN]:
            errors.add_row(cell(e.file), str(e.line), cell(e.message))
        out.print(errors)
    if not r.applied:
        out.print(
            "dry run: nothing was written"
            + (
                "; --strict: fix the rows above first"
                if r.strict and r.errors
                else "; add --apply to import"
            )
        )
