"""The auth domain's enumerations (stored as native PostgreSQL enums)."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    TEACHER = "teacher"
