"""The make-up policy's rules as plain functions: which marks earn a credit, by when a
notice is in time, and when a credit ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from komawari.attendance import policies
from komawari.attendance.enums import AttendanceState as S
from komawari.attendance.policies import DEFAULT

TOKYO = ZoneInfo("Asia/Tokyo")
DAY = date(2026, 12, 10)
START = datetime(2026, 12, 10, 19, 0, tzinfo=TOKYO)


def _earns(policy: policies.Policy, state: S, notified: datetime | None) -> bool:
    return policies.earns(
        policy, state=state, notified_at=notified, day=DAY, starts_at=START,
        zone_name="Asia/Tokyo",
    )  # fmt: skip


def test_the_default_rewards_a_notice_strictly_before_the_start() -> None:
    assert _earns(DEFAULT, S.ABSENT_NOTIFIED, START - timedelta(seconds=1))
    assert not _earns(DEFAULT, S.ABSENT_NOTIFIED, START)
    assert not _earns(DEFAULT, S.ABSENT_NOTIFIED, None)
    for state in (S.ABSENT, S.PRESENT, S.LATE, S.LEFT_EARLY, S.SCHOOL_CANCELLED):
        assert not _earns(DEFAULT, state, START - timedelta(days=1)), state


def test_a_notice_deadline_is_that_local_time_of_the_lessons_day() -> None:
    by_half_past_four = replace(DEFAULT, notice_by=time(16, 30))
    deadline = datetime(2026, 12, 10, 16, 30, tzinfo=TOKYO)
    assert _earns(by_half_past_four, S.ABSENT_NOTIFIED, deadline)
    assert not _earns(by_half_past_four, S.ABSENT_NOTIFIED, deadline + timedelta(seconds=1))
    assert _earns(by_half_past_four, S.ABSENT_NOTIFIED, deadline.astimezone(UTC)), "any zone"
    early = policies.earns(
        by_half_past_four, state=S.ABSENT_NOTIFIED,
        notified_at=datetime(2026, 12, 10, 15, 30, tzinfo=TOKYO), day=DAY,
        starts_at=datetime(2026, 12, 10, 15, 0, tzinfo=TOKYO), zone_name="Asia/Tokyo",
    )  # fmt: skip
    assert not early, "a deadline after the start: the start comes first"


def test_a_policy_may_reward_absences_without_notice_and_school_cancellations() -> None:
    generous = replace(DEFAULT, earning_states=frozenset({S.ABSENT, S.SCHOOL_CANCELLED}))
    assert _earns(generous, S.ABSENT, None)
    assert _earns(generous, S.SCHOOL_CANCELLED, START + timedelta(hours=1))
    assert not _earns(generous, S.ABSENT_NOTIFIED, START - timedelta(days=1)), "not chosen"


def test_expiry_is_the_end_of_the_next_month_or_a_number_of_days() -> None:
    assert policies.expires_on(DEFAULT, date(2026, 12, 10)) == date(2027, 1, 31)
    assert policies.expires_on(DEFAULT, date(2027, 1, 31)) == date(2027, 2, 28)
    assert policies.expires_on(DEFAULT, date(2027, 12, 1)) == date(2028, 1, 31)
    assert policies.expires_on(replace(DEFAULT, expiry_days=120), DAY) == date(2027, 4, 9)


def test_a_credit_taken_back_says_why_in_words_for_every_state() -> None:
    from komawari.audit.words import reason_words
    from komawari.words import Say

    for state in S:
        said = reason_words(f"attendance corrected to {state.value}")
        assert isinstance(said, Say), state
        assert said.code.startswith("reason.corrected-") or said.code.endswith("notice-late")
    assert reason_words("attendance corrected to present").code == "reason.corrected-present"  # type: ignore[union-attr]
    assert reason_words("typed by a person") == "typed by a person"
