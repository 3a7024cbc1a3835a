"""Import from a legacy system that let duplicates in: read, check, stage, dedupe, load.

Everything runs in one savepoint: without `apply` (or with `strict` and a bad row) it is
rolled back, so the report of a dry run is exactly what the import would do. Legacy
statuses are not trusted: CANCELLED is kept, every other row is re-evaluated for
conflicts, by creation time, with Komawari's rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.db import rules
from komawari.notices import intents as notices
from komawari.ops.legacy_csv import (
    LegacySeries,
    LegacySession,
    RowError,
    read_series,
    read_sessions,
)
from komawari.ops.legacy_report import ImportReport, count_file
from komawari.ops.sql import audit as audit_sql
from komawari.ops.sql import legacy as q
from komawari.sessions import locks, reevaluate

Progress = Callable[[str], None]
# The steps an import reports to its `progress` callback, in order.
STEPS = ("reading", "staging", "names", "series", "sessions", "conflicts")


def _place_sessions(
    db: Session,
    series: list[LegacySeries],
    rows: list[LegacySession],
    bad_series: dict[str, RowError],
    *,
    file: str,
    default_branch: str | None,
) -> tuple[list[LegacySession], list[RowError]]:
    """Give each session its branch; report unknown series and one-offs with no branch."""
    branch_of = {s.legacy_id: s.branch for s in series}
    wanted = sorted({r.series_id for r in rows if r.series_id and r.series_id not in branch_of})
    for legacy_id, name in db.execute(text(q.SERIES_BRANCHES), {"ids": wanted}):
        branch_of[str(legacy_id)] = str(name)
    # A one-off is placed where its pair, else its teacher, else its student has lessons.
    where: dict[tuple[str, str], str] = {}
    for s in sorted(series, key=lambda s: s.created_at):
        for key in ((s.teacher, s.student), (s.teacher, ""), ("", s.student)):
            where.setdefault(key, s.branch)
    known = {s.branch for s in series} | {str(n) for n in db.scalars(text(q.SOME_BRANCHES))}
    only = next(iter(known)) if len(known) == 1 else None
    placed: list[LegacySession] = []
    errors: list[RowError] = []
    for r in rows:
        if r.series_id:
            branch = branch_of.get(r.series_id)
            if branch is None:
                bad = bad_series.get(r.series_id)
                why = f" (its row, {bad.file} line {bad.line}, is bad)" if bad else ""
                errors.append(
                    RowError(file, r.line, f"series_id: unknown series {r.series_id!r}{why}")
                )
                continue
        else:
            branch = (
                r.branch
                or where.get((r.teacher, r.student))
                or where.get((r.teacher, ""))
                or where.get(("", r.student))
                or default_branch
                or only
            )
            if branch is None:
                errors.append(
                    RowError(
                        file,
                        r.line,
                        "branch: a one-off lesson needs a branch; add a "
                        "branch column or pass --branch NAME",
                    )
                )
                continue
        placed.append(replace(r, branch=branch))
    return placed, errors


def _copy(db: Session, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
    raw = cast(psycopg.Connection[Any], db.connection().connection.driver_connection)
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _scalar(db: Session, sql: str, params: dict[str, Any] | None = None) -> int:
    return int(db.execute(text(sql), params or {}).scalar_one())


def _load(
    db: Session,
    report: ImportReport,
    series: list[LegacySeries],
    rows: list[LegacySession],
    *,
    actor: Actor,
    time_zone: str,
    progress: Progress,
    dry: bool,
) -> None:
    locks.lock_whole_schedule(db)
    reevaluate.jit_off(db)
    params = {
        **audit_sql.actor_params(actor),
        **q.BINDS,
        "reason": rules.DUPLICATE_REASON,
        "time_zone": time_zone,
        "dry_ids": q.DRY_IDS if dry else None,
    }
    progress("staging")
    for ddl in q.CREATE_STAGES + ((q.CREATE_DRY_IDS,) if dry else ()):
        db.execute(text(ddl))
    _copy(
        db,
        q.COPY_SERIES,
        [
            (
                s.line,
                s.legacy_id,
                s.branch,
                s.teacher,
                s.student,
                s.start_time,
                s.end_time,
                s.weekdays,
                s.status,
                s.created_at,
            )
            for s in series
        ],
    )
    _copy(
        db,
        q.COPY_SESSIONS,
        [
            (
                r.line,
                r.legacy_id,
                r.series_id,
                r.date,
                r.start_time,
                r.end_time,
                r.teacher,
                r.student,
                r.branch,
                r.status,
                r.created_at,
            )
            for r in rows
        ],
    )
    c = report.created
    c["series_skipped"] = len(db.execute(text(q.SKIP_EXISTING_SERIES)).all())
    c["sessions_skipped"] = len(db.execute(text(q.SKIP_EXISTING_SESSIONS)).all())
    progress("names")
    for key, sql in q.UPSERT_NAMES:
        c[key] = _scalar(db, sql, params)
    c["names"] = c["branches"] + c["teachers"] + c["students"]
    for sql in q.RESOLVE:
        db.execute(text(sql))
    progress("series")
    db.execute(text(q.NUMBER_SERIES), params)
    db.execute(text(q.SERIES_DATES))
    db.execute(text(q.SERIES_ENDS))
    db.execute(text(q.SERIES_DEDUPE))
    done = db.execute(text(q.INSERT_SERIES), params).one()
    c["series"], c["series_paused"] = int(done.created), int(done.paused)
    progress("sessions")
    db.execute(text(q.NUMBER_SESSIONS), params)
    for sql in (q.SESSION_SERIES, q.SESSION_STATES, q.SESSION_EXACT, q.SESSION_OCCURRENCE):
        db.execute(text(sql), params)
    inserted = db.execute(text(q.INSERT_SESSIONS), params).all()
    c["sessions"] = len(inserted)
    c["sessions_duplicate"] = sum(1 for r in inserted if r.duplicate_of_id is not None)
    progress("conflicts")
    db.execute(text(q.ANALYZE))
    reevaluate.evaluate(db, [int(r.id) for r in inserted if r.final_status != "CANCELLED"])
    for status, n in db.execute(
        text(q.STATUS_COUNTS),
        {"ids": [int(r.id) for r in inserted]},
    ):
        c[str(status)] = int(n)


def run(
    db: Session,
    *,
    series_path: Path,
    sessions_path: Path,
    apply: bool,
    strict: bool = False,
    default_branch: str | None = None,
    time_zone: str = "Asia/Tokyo",
    actor: Actor | None = None,
    progress: Progress | None = None,
    encoding: str = "utf-8",
) -> ImportReport:
    """Read a legacy export and load it (with `apply`), deduplicated; report either way."""
    actor = actor or Actor("import", f"legacy:{sessions_path.name}", repair_id=uuid.uuid4())
    report = ImportReport(applied=False, strict=strict, repair_id=actor.repair_id or uuid.uuid4())
    tell = progress or (lambda _: None)
    tell("reading")
    series, series_errors = read_series(series_path, encoding)
    rows, session_errors = read_sessions(sessions_path, encoding)
    report.series_read = len(series) + len(series_errors)
    report.sessions_read = len(rows) + len(session_errors)
    bad_series = {e.legacy_id: e for e in series_errors if e.legacy_id}
    rows, placement_errors = _place_sessions(
        db, series, rows, bad_series, file=sessions_path.name, default_branch=default_branch
    )
    count_file(report, series, rows)
    report.errors = sorted(
        series_errors + session_errors + placement_errors, key=lambda e: (e.file, e.line)
    )
    if strict and report.errors:
        return report
    # The old system's lessons were running before Komawari: loading them tells nobody.
    notices.quiet(db)
    savepoint = db.begin_nested()
    try:
        _load(
            db,
            report,
            series,
            rows,
            actor=actor,
            time_zone=time_zone,
            progress=tell,
            dry=not apply,
        )
        if not report.nothing_to_do:
            audit.record(
                db,
                actor=actor,
                action="import.legacy",
                subject_type="import",
                reason=f"legacy import of {series_path.name} and {sessions_path.name}",
                details={**report.as_dict(), "errors": len(report.errors)},
            )
    except BaseException:
        savepoint.rollback()
        raise
    if apply:
        savepoint.commit()
        report.applied = True
    else:
        savepoint.rollback()
    return report
