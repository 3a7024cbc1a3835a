"""The conflict rule over plain values: overlap, shared resources, booking order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from komawari.scheduling import conflict_rule as rule

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def slot(i: int, start: int, end: int, *, booked: int | None = None, **kw: object) -> rule.Slot:
    """A slot from minutes after T0, booked `booked` seconds after T0 (default: its id)."""
    fields: dict[str, object] = {"teacher_id": 100 + i, **kw}
    return rule.Slot(
        id=i,
        starts_at=T0 + timedelta(minutes=start),
        ends_at=T0 + timedelta(minutes=end),
        booked_at=T0 + timedelta(seconds=i if booked is None else booked),
        **fields,  # type: ignore[arg-type]
    )


def test_overlap_is_half_open() -> None:
    a = slot(1, 0, 60)
    assert rule.overlaps(a, slot(2, 59, 120))
    assert rule.overlaps(slot(2, -10, 1), a)
    assert not rule.overlaps(a, slot(2, 60, 120))
    assert not rule.overlaps(slot(2, -60, 0), a)


def test_a_teacher_a_student_or_a_room_is_shared_and_no_room_is_not() -> None:
    a = slot(1, 0, 60, teacher_id=1, student_ids=frozenset({5, 6}), room_id=None)
    assert rule.shares_resource(a, slot(2, 0, 60, teacher_id=1))
    assert rule.shares_resource(a, slot(2, 0, 60, teacher_id=2, student_ids=frozenset({6})))
    assert not rule.shares_resource(a, slot(2, 0, 60, teacher_id=2, student_ids=frozenset({7})))
    assert not rule.shares_resource(a, slot(2, 0, 60, teacher_id=2, room_id=None))
    roomed = slot(3, 0, 60, teacher_id=3, room_id=9)
    assert rule.shares_resource(roomed, slot(4, 0, 60, teacher_id=4, room_id=9))
    assert not rule.shares_resource(roomed, slot(4, 0, 60, teacher_id=4, room_id=8))


def test_booking_order_is_time_then_id() -> None:
    assert rule.booked_before(slot(1, 0, 1, booked=5), slot(2, 0, 1, booked=6))
    assert not rule.booked_before(slot(1, 0, 1, booked=6), slot(2, 0, 1, booked=5))
    assert rule.booked_before(slot(1, 0, 1, booked=5), slot(2, 0, 1, booked=5))
    assert not rule.booked_before(slot(2, 0, 1, booked=5), slot(1, 0, 1, booked=5))
    assert not rule.booked_before(slot(1, 0, 1, booked=5), slot(1, 0, 1, booked=5))


def test_blockers_are_the_earlier_live_conflicting_slots_in_booking_order() -> None:
    me = slot(5, 0, 60, teacher_id=1, student_ids=frozenset({7}), room_id=3, booked=50)
    others = [
        slot(4, 30, 90, teacher_id=1, booked=40),  # teacher, booked before
        slot(1, 10, 20, teacher_id=2, room_id=3, booked=45),  # room, booked before
        slot(2, 59, 61, teacher_id=2, student_ids=frozenset({7}), booked=10),  # student
        slot(3, 0, 60, teacher_id=1, booked=60),  # booked after
        slot(6, 0, 60, teacher_id=1, booked=20, cancelled=True),  # cancelled
        slot(7, 60, 90, teacher_id=1, booked=5),  # touches
        slot(8, 0, 60, teacher_id=9, booked=5),  # shares nothing
        me,
    ]
    assert rule.blockers(me, others) == [2, 4, 1]
    assert rule.blockers(slot(5, 0, 60, teacher_id=1, cancelled=True), others) == []


def test_evaluate_judges_every_live_slot_and_skips_cancelled_ones() -> None:
    first = slot(1, 0, 60, teacher_id=1)
    second = slot(2, 30, 90, teacher_id=1)
    gone = slot(3, 0, 60, teacher_id=1, cancelled=True)
    assert rule.evaluate([second, gone, first]) == {1: [], 2: [1]}
