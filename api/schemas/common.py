from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

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


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(value: str) -> bool:
    """True for text with control characters other than tab and newlines (PostgreSQL refuses NUL)."""
    return _CONTROL.search(value) is not None


def _is_bool(annotation: Any) -> bool:
    if annotation is bool:
        return True
    args = get_args(annotation)
    return bool(args) and bool in args and all(a in (bool, type(None)) for a in args)


_BOOLEAN_KEYS: dict[type[BaseModel], tuple[str, ...]] = {}


def _boolean_keys(cls: type[BaseModel]) -> tuple[str, ...]:
    # Worked out once per model: every answer of an inspection is a model, and reading the annotations of
    # all its fields each time cost more than the rest of its validation.
    keys = _BOOLEAN_KEYS.get(cls)
    if keys is None:
        keys = tuple(f.alias or n for n, f in cls.model_fields.items() if _is_bool(f.annotation))
        _BOOLEAN_KEYS[cls] = keys
    return keys


def _query_bool(value: Any) -> Any:
    # A query string carries text; Pydantic's lax mode would read "yes", "on" or "1" as true. Only the
    # JSON words are booleans, so a typo in a filter is reported instead of silently changing the list.
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise PydanticCustomError("bool_type", "must be true or false")


# Every boolean in a query string (list filters, flags) is this type.
QueryBool = Annotated[bool, BeforeValidator(_query_bool)]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _booleans_are_booleans(cls, data: Any) -> Any:
        # JSON has true and false; "yes", "off", 1 or "0" in a boolean field is a client bug to report,
        # not a value to guess (Pydantic's lax mode would accept them).
        if isinstance(data, dict):
            for key in _boolean_keys(cls):
                value = data.get(key)
                if value is not None and not isinstance(value, bool):
                    raise PydanticCustomError("bool_type", f"{key} must be true or false")
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and has_control_characters(value):
            raise ValueError("text must not contain control characters")
        return value


class OutSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
