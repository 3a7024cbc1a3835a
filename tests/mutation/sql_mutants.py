"""The SQL mutant table: semantic mistakes in the rule-bearing SQL, and the tests that kill them.

Python mutation tools do not look inside SQL strings, so each entry here is one mistake a
person could make (a predicate dropped, `<` for `<=`, a keep order reversed, a resource
path lost, a later row allowed to block an earlier one), written as exact text edits of
one file under src/komawari, with the tests (paths or node ids) that must fail with it.
`tests/mutation/run_sql.py` applies each to a scratch copy and runs its tests.
"""

from __future__ import annotations

from dataclasses import dataclass

GC = "tests/generation/test_cancelled_never_blocks.py::"
GEN = "tests/generation/test_generation.py::"
ENROLMENT = "tests/generation/test_enrolment_dates.py"
SC = "tests/sessions/test_cancelled_never_blocks.py::"
CONFLICTS = "tests/sessions/test_conflicts.py::"
DEDUPE = "tests/ops/test_dedupe.py::"
LEGACY = "tests/ops/test_legacy_import.py::"

VERDICT = "generation/verdict_sql.py"
GENERATE = "generation/sql.py"
SESSIONS = "sessions/sql.py"
RULES = "db/rules.py"
DEDUPE_SQL = "ops/sql/dedupe.py"
LEGACY_SQL = "ops/sql/legacy.py"


@dataclass(frozen=True)
class Mutant:
    """One mistake: exact (original, replacement) edits of `file`, and its killing tests."""

    name: str
    file: str
    edits: tuple[tuple[str, str], ...]
    tests: tuple[str, ...]


def m(name: str, file: str, original: str, replacement: str, *tests: str) -> Mutant:
    """Return a mutant of one edit."""
    return Mutant(name, file, ((original, replacement),), tests)


MUTANTS = (
    # generation/verdict_sql.py: the verdicts of the rows a batch makes
    m(
        "verdict: a cancelled lesson of the teacher blocks (the issue's mutant)",
        VERDICT,
        "\n       AND b.status <> 'CANCELLED'\n),",
        "\n),",
        GC + "test_a_cancelled_lesson_never_blocks_a_generated_one[teacher]",
    ),
    m(
        "verdict: a cancelled lesson of the room or the student blocks",
        VERDICT,
        """_LIVE_OVERLAP = rules.live("b") + " AND " + _OVERLAP""",
        "_LIVE_OVERLAP = _OVERLAP",
        GC + "test_a_cancelled_lesson_never_blocks_a_generated_one[room]",
    ),
    m(
        "verdict: a cancelled group lesson blocks an attendee (big batch)",
        VERDICT,
        "       AND c.status <> 'CANCELLED'\n       AND c.date BETWEEN",
        "       AND c.date BETWEEN",
        GC + "test_a_cancelled_lesson_never_blocks_a_generated_one[attendee-big-batch]",
    ),
    m(
        "verdict: a cancelled group lesson blocks an attendee (small batch)",
        VERDICT,
        "               AND c.status <> 'CANCELLED'\n               AND c.date BETWEEN",
        "               AND c.date BETWEEN",
        GC + "test_a_cancelled_lesson_never_blocks_a_generated_one[attendee]",
    ),
    m(
        "rules: lessons touching end to start overlap (generation, a batch, a booking)",
        RULES,
        'return f"{a}.starts_at < {b}.ends_at AND {b}.starts_at < {a}.ends_at"',
        'return f"{a}.starts_at <= {b}.ends_at AND {b}.starts_at <= {a}.ends_at"',
        GC + "test_a_lesson_touching_end_to_start_never_blocks_a_generated_one",
        GC + "test_in_one_batch_lessons_touching_end_to_start_do_not_block",
        SC + "test_lessons_touching_end_to_start_do_not_block",
    ),
    m(
        "verdict: a later new row of the batch blocks an earlier one",
        VERDICT,
        '"{e2}.new_id < {e}.new_id AND',
        '"{e2}.new_id <> {e}.new_id AND',
        GC + "test_in_one_batch_the_earlier_new_lesson_blocks_the_later[teacher]",
    ),
    m(
        "verdict: new rows of one batch sharing a room are not paired",
        VERDICT,
        '    UNION {_new_pairs("elig", "room_id")}\n',
        "",
        GC + "test_in_one_batch_the_earlier_new_lesson_blocks_the_later[room]",
    ),
    m(
        "verdict: new rows of one batch sharing a student are not paired",
        VERDICT,
        '    UNION {_new_pairs("elig_students", "student_id")}\n',
        "",
        GC + "test_in_one_batch_the_earlier_new_lesson_blocks_the_later[student]",
    ),
    m(
        "verdict: new rows of one batch sharing a teacher are not paired",
        VERDICT,
        '    UNION {_new_pairs("elig", "teacher_id")}\n',
        "",
        GC + "test_in_one_batch_the_earlier_new_lesson_blocks_the_later[teacher]",
    ),
    m(
        "verdict: the teacher's lessons in other zones are not read",
        VERDICT,
        "     WHERE (SELECT count(DISTINCT time_zone) > 1 FROM branches)",
        "     WHERE false",
        GC + "test_the_same_lesson_live_blocks_the_generated_one[teacher-across-zones]",
    ),
    m(
        "verdict: the room path is dropped",
        VERDICT,
        "     WHERE e.room_id IS NOT NULL",
        "     WHERE false",
        GC + "test_the_same_lesson_live_blocks_the_generated_one[room]",
    ),
    m(
        "verdict: blockers named latest first",
        VERDICT,
        "array_agg(blocker ORDER BY booked, blocker)",
        "array_agg(blocker ORDER BY booked DESC, blocker DESC)",
        GC + "test_blockers_are_named_in_booking_order",
    ),
    # generation/sql.py: which occurrences a batch makes
    m(
        "generate: a lesson from another origin is made again",
        GENERATE,
        "WHERE NOT f.closed AND NOT f.on_break AND NOT f.same_lesson_exists\n",
        "WHERE NOT f.closed AND NOT f.on_break\n",
        GEN + "test_the_same_lesson_from_another_origin_is_not_duplicated",
    ),
    m(
        "generate: closure days are generated",
        GENERATE,
        "WHERE NOT f.closed AND NOT f.on_break AND NOT f.same_lesson_exists\n",
        "WHERE NOT f.on_break AND NOT f.same_lesson_exists\n",
        GEN + "test_closure_days_are_skipped_and_counted",
    ),
    m(
        "generate: the days of a break are generated",
        GENERATE,
        "WHERE NOT f.closed AND NOT f.on_break AND NOT f.same_lesson_exists\n",
        "WHERE NOT f.closed AND NOT f.same_lesson_exists\n",
        "tests/series/test_breaks.py::test_no_lesson_is_made_on_a_break_beyond_the_horizon",
    ),
    m(
        "generate: every week, whatever the interval",
        GENERATE,
        "7 * s.interval_weeks AS step",
        "7 AS step",
        GEN + "test_every_n_weeks_counts_from_the_first_date",
    ),
    m(
        "generate: the first meeting day at the window's start is skipped",
        GENERATE,
        "(s.w_start - wd.origin + wd.step - 1) / wd.step",
        "(s.w_start - wd.origin + wd.step) / wd.step",
        GEN + "test_a_series_is_materialised_on_its_weekdays_up_to_the_horizon",
    ),
    m(
        "generate: the walk resumes by series id alone, skipping other teachers' series",
        GENERATE,
        "AND (cs.teacher_id, cs.id) > (CAST(:after_teacher AS bigint), CAST(:after AS bigint))",
        "AND cs.id > CAST(:after AS bigint) AND CAST(:after_teacher AS bigint) IS NOT NULL",
        GEN + "test_batches_take_a_teacher_s_series_together_and_miss_none",
    ),
    m(
        "generate: the past is generated",
        GENERATE,
        "greatest(cs.first_date,\n"
        "                    (CAST(:now AS timestamptz) AT TIME ZONE b.time_zone)::date,",
        "greatest(cs.first_date,",
        GEN + "test_the_past_is_never_generated",
    ),
    m(
        "generate: a group lesson holds students no longer enrolled",
        GENERATE,
        "       AND (e.until_date IS NULL OR e.until_date >= i.original_date)",
        "",
        ENROLMENT,
    ),
    # sessions/sql.py: one-off booking, cancel, move, re-evaluation
    m(
        "sessions: a cancelled lesson blocks",
        SESSIONS,
        " AND {rules.live('b')} AND {rules.overlap('a', 'b')}",
        " AND {rules.overlap('a', 'b')}",
        SC + "test_a_cancelled_lesson_never_blocks_a_new_booking",
    ),
    m(
        "sessions: the room path is dropped",
        SESSIONS,
        "     WHERE a.room_id IS NOT NULL AND {_NEAR}",
        "     WHERE false AND {_NEAR}",
        SC + "test_the_same_lesson_live_blocks_the_new_booking[room]",
    ),
    m(
        "sessions: the private student path is dropped",
        SESSIONS,
        "WHERE c.student_id = who.student_id AND {_C_WINDOW}",
        "WHERE false AND {_C_WINDOW}",
        SC + "test_the_same_lesson_live_blocks_the_new_booking[student]",
    ),
    m(
        "sessions: the group attendee path is dropped",
        SESSIONS,
        "WHERE sb.student_id = who.student_id AND {_C_WINDOW}",
        "WHERE false AND {_C_WINDOW}",
        SC + "test_the_same_lesson_live_blocks_the_new_booking[attendee]",
    ),
    m(
        "sessions: a group lesson's attendees hold no resource",
        SESSIONS,
        "FROM session_attendees sa WHERE sa.session_id = {s}.id",
        "FROM session_attendees sa WHERE false",
        SC + "test_the_same_lesson_live_blocks_the_new_booking[attendee-of-new]",
    ),
    m(
        "sessions: a later booking blocks an earlier one",
        SESSIONS,
        "(b.created_at, b.id) < (a.created_at, a.id)",
        "(b.created_at, b.id) <> (a.created_at, a.id)",
        CONFLICTS + "test_the_later_booking_of_a_teacher_is_conflicted_and_names_the_earlier",
    ),
    m(
        "sessions: blockers named latest first",
        SESSIONS,
        "array_agg(b.id ORDER BY b.created_at, b.id)",
        "array_agg(b.id ORDER BY b.created_at DESC, b.id DESC)",
        SC + "test_blockers_are_named_in_booking_order",
    ),
    m(
        "sessions: re-evaluation revives cancelled lessons",
        SESSIONS,
        "JOIN class_sessions a ON a.id = f.id AND a.status <> 'CANCELLED'",
        "JOIN class_sessions a ON a.id = f.id",
        SC + "test_re_evaluating_everything_keeps_cancelled_lessons_cancelled",
    ),
    # ops/sql: the duplicate rules of dedupe and the legacy import
    m(
        "rules: the earliest cancelled row holds an occurrence over a live one",
        RULES,
        "OCCURRENCE_ORDER = \"(status = 'CANCELLED'), created_at, id\"",
        'OCCURRENCE_ORDER = "created_at, id"',
        DEDUPE + "test_a_live_copy_holds_the_occurrence_over_an_earlier_cancelled_one",
        LEGACY + "test_the_live_row_holds_the_occurrence_and_the_others_point_to_it",
    ),
    m(
        "rules: the latest copy is kept",
        RULES,
        'KEEP_ORDER = "created_at, id"',
        'KEEP_ORDER = "created_at DESC, id DESC"',
        DEDUPE + "test_apply_leaves_no_duplicate_and_keeps_the_earliest",
    ),
    m(
        "dedupe: the kept lesson is cancelled too",
        DEDUPE_SQL,
        "WHERE s.id = r.id AND r.rn > 1\n"
        "    RETURNING s.id, s.duplicate_of_id, s.branch_id, s.series_id, s.original_date\n"
        "),\naudited AS ({_EXACT_AUDIT.sql})",
        "WHERE s.id = r.id AND r.rn >= 1\n"
        "    RETURNING s.id, s.duplicate_of_id, s.branch_id, s.series_id, s.original_date\n"
        "),\naudited AS ({_EXACT_AUDIT.sql})",
        DEDUPE + "test_apply_leaves_no_duplicate_and_keeps_the_earliest",
    ),
    m(
        "dedupe: the kept series is paused too",
        DEDUPE_SQL,
        "FROM ranked r WHERE cs.id = r.id AND r.rn > 1",
        "FROM ranked r WHERE cs.id = r.id AND r.rn >= 1",
        DEDUPE + "test_apply_pauses_the_later_duplicate_series_and_names_the_kept_one",
    ),
    m(
        "import: an imported lesson wins over the existing same lesson",
        LEGACY_SQL,
        "(PARTITION BY {rules.LESSON_KEY} ORDER BY origin, {rules.KEEP_ORDER})",
        "(PARTITION BY {rules.LESSON_KEY} ORDER BY origin DESC, {rules.KEEP_ORDER})",
        LEGACY + "test_a_legacy_row_that_duplicates_an_existing_lesson_points_to_it",
    ),
    m(
        "import: cancelled legacy lessons come in live",
        LEGACY_SQL,
        "final_status = CASE WHEN s.status = 'CANCELLED' THEN 'CANCELLED' ELSE 'CONFIRMED' END",
        "final_status = 'CONFIRMED'",
        LEGACY + "test_legacy_statuses_are_not_trusted",
    ),
    m(
        "import: the later duplicate series stays active",
        LEGACY_SQL,
        "  FROM ranked r WHERE r.origin = 1 AND r.id = x.new_id AND r.rn > 1",
        "  FROM ranked r WHERE r.origin = 1 AND r.id = x.new_id AND r.rn > 2",
        LEGACY + "test_apply_pauses_the_later_duplicate_series",
    ),
)
