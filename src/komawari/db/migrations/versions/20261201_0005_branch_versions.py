"""Per-branch change counters, bumped by triggers in the transaction of every schedule write.

The day's ETags are read from them (`branches/versions.py`). Branch 0 counts changes every
branch shows (teachers' and students' names). A writer bumps its own slot (its backend's
pid modulo 64), so concurrent writers of one branch rarely wait on the same row.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = """
CREATE FUNCTION komawari_bump_versions(ids bigint[]) RETURNS void LANGUAGE sql AS $$
INSERT INTO branch_versions AS v (branch_id, slot, changes)
SELECT d.b, pg_backend_pid() % 64, 1
  FROM (SELECT DISTINCT b FROM unnest(ids) b WHERE b IS NOT NULL) d
 ORDER BY d.b
    ON CONFLICT (branch_id, slot) DO UPDATE SET changes = v.changes + 1
$$
"""

# table -> (the branch of a changed row, in terms of the transition table `r`; the
# events that change what a day shows)
WATCHED = {
    "class_sessions": ("r.branch_id", ("INSERT", "UPDATE", "DELETE")),
    "session_attendees": (
        "(SELECT s.branch_id FROM class_sessions s WHERE s.id = r.session_id)",
        ("INSERT", "UPDATE", "DELETE"),
    ),
    "branch_closures": ("r.branch_id", ("INSERT", "UPDATE", "DELETE")),
    "rooms": ("r.branch_id", ("INSERT", "UPDATE", "DELETE")),
    "class_series": ("r.branch_id", ("UPDATE",)),  # capacity; sessions bump their own
    "branches": ("r.id", ("UPDATE",)),  # name and zone
    "teachers": ("0", ("UPDATE",)),  # names, shown by every branch
    "students": ("0", ("UPDATE",)),
}

FUNCTION = """
CREATE FUNCTION komawari_versions_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM komawari_bump_versions(ARRAY(SELECT {branch} FROM new_rows r));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM komawari_bump_versions(ARRAY(SELECT {branch} FROM new_rows r
                                         UNION ALL SELECT {branch} FROM old_rows r));
  ELSE
    PERFORM komawari_bump_versions(ARRAY(SELECT {branch} FROM old_rows r));
  END IF;
  RETURN NULL;
END
$$
"""

_TABLES = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows"}
_TABLES["UPDATE"] = f"{_TABLES['DELETE']} {_TABLES['INSERT']}"


def upgrade() -> None:
    op.create_table(
        "branch_versions",
        sa.Column("branch_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("slot", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("changes", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("branch_id", "slot", name=op.f("pk_branch_versions")),
    )
    op.execute(BUMP)
    for table, (branch, events) in WATCHED.items():
        op.execute(FUNCTION.format(table=table, branch=branch))
        for event in events:
            op.execute(
                f"CREATE TRIGGER versions_{event.lower()} AFTER {event} ON {table}"
                f" REFERENCING {_TABLES[event]} FOR EACH STATEMENT"
                f" EXECUTE FUNCTION komawari_versions_{table}()"
            )


def downgrade() -> None:
    for table, (_, events) in WATCHED.items():
        for event in events:
            op.execute(f"DROP TRIGGER versions_{event.lower()} ON {table}")
        op.execute(f"DROP FUNCTION komawari_versions_{table}()")
    op.execute("DROP FUNCTION komawari_bump_versions(bigint[])")
    op.drop_table("branch_versions")
