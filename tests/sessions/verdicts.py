"""Check the stored verdicts of every session against the pure conflict rule."""

from __future__ import annotations

from sqlalchemy import Engine, text

from komawari.scheduling import conflict_rule as rule


def assert_verdicts_follow_the_rule(engine: Engine) -> int:
    """Check every session's status and conflicts_with against the pure rule; count them."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.id, s.starts_at, s.ends_at, s.created_at, s.teacher_id, s.student_id,"
                " s.room_id, s.status::text, s.conflicts_with,"
                " array(SELECT a.student_id FROM session_attendees a WHERE a.session_id = s.id)"
                " FROM class_sessions s"
            )
        ).all()
    model = rule.evaluate(
        rule.Slot(
            id=r[0],
            starts_at=r[1],
            ends_at=r[2],
            booked_at=r[3],
            teacher_id=r[4],
            student_ids=frozenset([r[5]] if r[5] else r[9]),
            room_id=r[6],
            cancelled=r[7] == "CANCELLED",
        )
        for r in rows
    )
    for r in rows:
        if r[7] == "CANCELLED":
            continue
        assert list(r[8]) == model[r[0]], f"session {r[0]}: {r[8]} but the rule says {model[r[0]]}"
        assert r[7] == ("CONFLICTED" if model[r[0]] else "CONFIRMED"), r[0]
    return len(rows)
