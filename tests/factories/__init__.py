"""Test data, one factory module per domain; `from tests import factories as f` gives
the row builders by name (f.branch, f.teacher, f.private_series, ...).

- `branches`, `people`, `series`, `sessions`: plain ORM rows with sensible defaults;
- `world`: a small school with a user and token per role, made through the services;
- `generation`: a deterministic school for generation tests and its expected rows;
- `legacy`: the incident's legacy CSV export;
- `bookings`: one-offs, series, cancels and moves through the services, in a session.
"""

from tests.factories.branches import branch
from tests.factories.people import room, student, teacher
from tests.factories.series import private_series
from tests.factories.sessions import private_session

__all__ = ["branch", "private_series", "private_session", "room", "student", "teacher"]
