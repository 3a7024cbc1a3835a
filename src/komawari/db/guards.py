"""The named uniqueness guards the database enforces, and their states.

Each guard is the model's own Index or UniqueConstraint (their columns come from
komawari.scheduling.keys); the DDL that `guards on` runs is compiled from it, so the
models stay the one definition (migration 0001 created the same objects once).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Index, Table, UniqueConstraint, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from komawari.series.models import ACTIVE_GROUP_GUARD, ACTIVE_PRIVATE_GUARD, ClassSeries
from komawari.sessions.models import OCCURRENCE_GUARD, UNIQUE_1ON1, ClassSession

STATES_SQL = """
SELECT c.relname, i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
 WHERE c.relname = ANY(:names) AND c.relnamespace = current_schema()::regnamespace
"""


@dataclass(frozen=True)
class Guard:
    """A uniqueness guard: the model's index or constraint, and what it promises."""

    item: Index | UniqueConstraint
    promise: str

    @property
    def name(self) -> str:
        """Return the guard's name (that of the index or constraint)."""
        return str(self.item.name)

    @property
    def table(self) -> str:
        """Return the name of the guarded table."""
        return self.item.table.name if self.item.table is not None else ""

    @property
    def is_constraint(self) -> bool:
        """Return whether the guard is a constraint (else a unique index)."""
        return isinstance(self.item, UniqueConstraint)

    @property
    def predicate(self) -> str:
        """Return the SQL condition of the rows a partial index guards ('' for all rows)."""
        where = self.item.dialect_options["postgresql"].get("where")
        return "" if where is None else str(where)

    @property
    def ddl(self) -> str:
        """Return the DDL that creates the guard, compiled from the model."""
        item = self.item
        create = AddConstraint(item) if isinstance(item, UniqueConstraint) else CreateIndex(item)
        return str(create.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]

    @property
    def drop_ddl(self) -> str:
        """Return the DDL that drops the guard if it exists, compiled from the model."""
        item = self.item
        drop = (
            DropConstraint(item, if_exists=True)
            if isinstance(item, UniqueConstraint)
            else DropIndex(item, if_exists=True)
        )
        return str(drop.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]


def _item(table: Table, name: str) -> Index | UniqueConstraint:
    for item in (*table.indexes, *table.constraints):
        if isinstance(item, Index | UniqueConstraint) and item.name == name:
            return item
    raise LookupError(f"{table.name} has no index or constraint called {name}")


_SESSIONS: Table = ClassSession.__table__  # type: ignore[assignment]
_SERIES: Table = ClassSeries.__table__  # type: ignore[assignment]

GUARDS: tuple[Guard, ...] = (
    Guard(
        _item(_SESSIONS, UNIQUE_1ON1),
        "one non-cancelled private session per (date, start, end, teacher, student)",
    ),
    Guard(
        _item(_SESSIONS, OCCURRENCE_GUARD),
        "one session per (series, original date), whatever its status",
    ),
    Guard(
        _item(_SERIES, ACTIVE_PRIVATE_GUARD),
        "one ACTIVE private series per (branch, teacher, student, start, end, weekdays)",
    ),
    Guard(
        _item(_SERIES, ACTIVE_GROUP_GUARD),
        "one ACTIVE group series per (branch, teacher, title, start, end, weekdays)",
    ),
)


# Every table a guard is on (locked while the guards are re-created).
GUARDED_TABLES = tuple(dict.fromkeys(g.table for g in GUARDS))
# Holds off every writer (lock or not) between the duplicate check and the index builds.
HOLD_WRITERS = f"LOCK TABLE {', '.join(GUARDED_TABLES)} IN SHARE ROW EXCLUSIVE MODE"


def named(name: str) -> Guard:
    """Return the guard called `name`."""
    return next(g for g in GUARDS if g.name == name)


# The rows promise 1 guards: live (not cancelled) private lessons. The SQL that finds a
# lesson's duplicates (generation, the doctor, dedupe, closures) reads this one predicate.
LIVE_PRIVATE = named(UNIQUE_1ON1).predicate


def states(conn: Connection | Session) -> dict[str, str]:
    """Return each guard's state as this transaction sees it: ok, missing or invalid."""
    names = [g.name for g in GUARDS]
    found = {str(r[0]): bool(r[1]) for r in conn.execute(text(STATES_SQL), {"names": names})}
    return {n: "missing" if n not in found else "ok" if found[n] else "invalid" for n in names}


def guard_states(engine: Engine) -> dict[str, str]:
    """Return each guard's state: 'ok', 'missing' or 'invalid' (an index left invalid)."""
    with engine.connect() as conn:
        return states(conn)
