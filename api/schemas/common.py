from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer

T = TypeVar("T")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a time needs its UTC offset, e.g. 2026-11-29T09:30:00+08:00")
    return value.astimezone(UTC)


# Times on the wire are ISO 8601 with an offset; naive times are refused rather than guessed.
AwareDatetime = Annotated[
    datetime,
    AfterValidator(_aware),
    PlainSerializer(lambda v: v.astimezone(UTC).isoformat(), return_type=str, when_used="json"),
]
OutDatetime = Annotated[
    datetime, PlainSerializer(lambda v: v.astimezone(UTC).isoformat(), return_type=str, when_used="json")
]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
