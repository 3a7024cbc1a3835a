"""What the caller and calendar feed keys look like going in and coming out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from komawari.auth.enums import Role


class MeRead(BaseModel):
    """The caller of this token."""

    user_id: int
    username: str
    role: Role
    token_id: int
    branch_ids: list[int]
    teacher_id: int | None


class FeedRotate(BaseModel):
    """Create or rotate the secret key of a teacher's or student's calendar feed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"owner_type": "teacher", "owner_id": 1}]},
    )

    owner_type: Literal["teacher", "student"]
    owner_id: int = Field(gt=0, le=2**63 - 1)


class FeedRead(BaseModel):
    """A feed's new key (shown once; the previous key stops working) and its URL path."""

    owner_type: Literal["teacher", "student"]
    owner_id: int
    key: str
    url: str
