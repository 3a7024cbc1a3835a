"""A lesson's change also moves the counters of the branches of the lessons it clashes with.

A day names lessons of other branches (a teacher or student shared across branches): in
`conflicts_with` (the earlier lessons a lesson clashes with) and `clashed_by` (the later
ones that name it). The 0005 trigger bumped only the changed row's branch, so a lesson of
branch A moved, cancelled or retitled left branch B's counters, and B's day's ETag, as they
were while B's day showed it. Now a statement on `class_sessions` also bumps:

1. the branches of the sessions named in the old and new `conflicts_with` of its rows;
2. on UPDATE and DELETE, the branches of the sessions whose `conflicts_with` names one of
   its rows. Those lie within CLASH_DAYS of the row's date (old or new), and name
   something, so the 0006 partial index on the dates of such rows finds them. An INSERT
   needs no such look-up: nothing names a new id yet.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 08:45:00
"""

from collections.abc import Sequence

from alembic import op

from komawari.scheduling.keys import CLASH_DAYS

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _named_by(rows: str) -> str:
    """The branches of the sessions the `rows` name (1)."""
    return f"""SELECT s.branch_id FROM class_sessions s
                WHERE s.id IN (SELECT unnest(r.conflicts_with) FROM {rows} r)"""  # noqa: S608


def _naming(rows: str) -> str:
    """The branches of the sessions that name one of the `rows` (2).

    One probe of the 0006 index per row, over its dates only: OFFSET 0 keeps the lateral
    subquery from being joined whole, which the planner, not knowing how few rows name
    conflicts, would otherwise do by reading every such row of the table.
    """
    return f"""SELECT n.branch_id FROM {rows} r CROSS JOIN LATERAL (
                 SELECT s.branch_id FROM class_sessions s
                  WHERE s.date BETWEEN r.date - {CLASH_DAYS} AND r.date + {CLASH_DAYS}
                    AND cardinality(s.conflicts_with) > 0
                    AND r.id = ANY (s.conflicts_with)
                 OFFSET 0) n"""  # noqa: S608


# An UPDATE's rows as they were and as they are.
_BOTH_NAMED = "(SELECT conflicts_with FROM old_rows UNION ALL SELECT conflicts_with FROM new_rows)"
_BOTH_DATES = "(SELECT id, date FROM old_rows UNION SELECT id, date FROM new_rows)"

FUNCTION = f"""
CREATE OR REPLACE FUNCTION komawari_versions_class_sessions() RETURNS trigger
LANGUAGE plpgsql SET jit = off AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM komawari_bump_versions(ARRAY(
      SELECT r.branch_id FROM new_rows r
      UNION ALL {_named_by("new_rows")}));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM komawari_bump_versions(ARRAY(
      SELECT r.branch_id FROM new_rows r
      UNION ALL SELECT r.branch_id FROM old_rows r
      UNION ALL {_named_by(_BOTH_NAMED)}
      UNION ALL {_naming(_BOTH_DATES)}
    ));
  ELSE
    PERFORM komawari_bump_versions(ARRAY(
      SELECT r.branch_id FROM old_rows r
      UNION ALL {_named_by("old_rows")}
      UNION ALL {_naming("old_rows")}));
  END IF;
  RETURN NULL;
END
$$
"""  # noqa: S608 - composed from this module's constants

# The function as 0005 made it: the changed rows' own branches.
FUNCTION_0005 = """
CREATE OR REPLACE FUNCTION komawari_versions_class_sessions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM komawari_bump_versions(ARRAY(SELECT r.branch_id FROM new_rows r));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM komawari_bump_versions(ARRAY(SELECT r.branch_id FROM new_rows r
                                         UNION ALL SELECT r.branch_id FROM old_rows r));
  ELSE
    PERFORM komawari_bump_versions(ARRAY(SELECT r.branch_id FROM old_rows r));
  END IF;
  RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute(FUNCTION_0005)
