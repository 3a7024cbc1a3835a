"""The incident's rollback plan as a command: drop the uniqueness guards by name, and back.

`off` drops them (the data may then hold duplicates again); `on` re-creates them, but
first checks for duplicates with the doctor's queries while writers are held off, and
refuses with the findings instead of failing half-way with an IntegrityError.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from komawari.audit import service as audit
from komawari.audit.service import Actor
from komawari.db import guards
from komawari.errors import Conflict, InvalidInput
from komawari.ops import doctor
from komawari.sessions import locks

DEDUPE_COMMAND = "komawari dedupe --apply"


class DuplicatesBlockGuards(Conflict):
    """Duplicates exist, so a uniqueness guard cannot be re-created yet."""

    problem_type = "/problems/duplicates-block-guards"
    title = "Duplicates block the guards"

    def __init__(self, counts: doctor.Counts) -> None:
        super().__init__(
            f"cannot re-create the guards: {counts.lesson_excess} excess duplicate lesson(s), "
            f"{counts.occurrence_excess} duplicate occurrence row(s), "
            f"{counts.duplicate_active} duplicate ACTIVE series; run `komawari dedupe` to "
            f"see the repair, then `{DEDUPE_COMMAND}`, then `komawari guards on` again",
            lesson_excess=counts.lesson_excess,
            occurrence_excess=counts.occurrence_excess,
            duplicate_active=counts.duplicate_active,
            command=DEDUPE_COMMAND,
        )
        self.counts = counts


@dataclass
class GuardChange:
    """What `off` or `on` did: the guards changed and those left as they were."""

    changed: list[str]
    unchanged: list[str]


def by_name(names: list[str] | None) -> list[guards.Guard]:
    """Return the guards called `names` (all of them when None); refuse an unknown name."""
    if not names:
        return list(guards.GUARDS)
    known = {g.name: g for g in guards.GUARDS}
    for name in names:
        if name not in known:
            raise InvalidInput("guard", f"unknown guard {name!r}; known: {', '.join(known)}")
    return [known[n] for n in dict.fromkeys(names)]


def _drop(db: Session, guard: guards.Guard) -> None:
    db.execute(text(guard.drop_ddl))


def turn_off(
    db: Session, *, actor: Actor, names: list[str] | None = None, reason: str | None = None
) -> GuardChange:
    """Drop the uniqueness guards (all, or those named) and record it."""
    locks.lock_whole_schedule(db)
    states = doctor.guard_states(db)
    dropped, unchanged = [], []
    for guard in by_name(names):
        if states[guard.name] == "missing":
            unchanged.append(guard.name)
            continue
        _drop(db, guard)
        dropped.append(guard.name)
    if dropped:
        audit.record(
            db,
            actor=actor,
            action="guards.off",
            subject_type="schema",
            reason=reason,
            details={"dropped": dropped},
        )
    return GuardChange(dropped, unchanged)


def turn_on(db: Session, *, actor: Actor) -> GuardChange:
    """Re-create every missing or invalid guard; refuse while duplicates exist."""
    locks.lock_whole_schedule(db)
    states = doctor.guard_states(db)
    todo = [g for g in guards.GUARDS if states[g.name] != "ok"]
    if not todo:
        return GuardChange([], [g.name for g in guards.GUARDS])
    # Hold off every writer (lock or not) between the check and the index builds.
    db.execute(text(guards.HOLD_WRITERS))
    counts = doctor.duplicate_counts(db)
    if counts.any:
        raise DuplicatesBlockGuards(counts)
    savepoint = db.begin_nested()
    try:
        for guard in todo:
            if states[guard.name] == "invalid":
                _drop(db, guard)
            db.execute(text(guard.ddl))
    except IntegrityError as exc:  # pragma: no cover - the table lock rules this out
        savepoint.rollback()
        raise DuplicatesBlockGuards(doctor.duplicate_counts(db)) from exc
    savepoint.commit()
    created = [g.name for g in todo]
    audit.record(
        db,
        actor=actor,
        action="guards.on",
        subject_type="schema",
        details={"created": created},
    )
    return GuardChange(created, [g.name for g in guards.GUARDS if g not in todo])
