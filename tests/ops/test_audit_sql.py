"""Set-based audit rows: action and subject type go in as bind parameters."""

from __future__ import annotations

import pytest

from komawari.ops.sql import audit


def test_action_and_subject_type_are_bound_not_pasted() -> None:
    rows = audit.audit_cte("changed", tag="x", action="a'); DROP TABLE t; --", subject_type="s")
    assert "DROP TABLE" not in rows.sql
    assert ":x_action" in rows.sql
    assert ":x_subject_type" in rows.sql
    assert rows.binds == {"x_action": "a'); DROP TABLE t; --", "x_subject_type": "s"}


def test_two_audit_ctes_of_one_statement_cannot_share_a_tag() -> None:
    one = audit.audit_cte("a", tag="t", action="series.import", subject_type="series")
    two = audit.audit_cte("b", tag="t", action="series.pause_duplicate", subject_type="series")
    with pytest.raises(ValueError, match="t_action"):
        audit.binds(one, two)
    with pytest.raises(ValueError, match="prefix"):
        audit.audit_cte("a", tag="x y", action="a", subject_type="s")
