"""Area scope: who may see what. The check is part of every query, never a filter applied afterwards."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from api.models import Area
from api.services.auth import Principal


def _subtree_codes(paths: tuple[str, ...] | list[str]) -> Select[str]:
    return select(Area.code).where(or_(*(Area.path.startswith(p, autoescape=True) for p in paths)))


def in_scope(
    user: Principal, area_column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]
) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    if not user.area_paths:
        return false()
    return area_column.in_(_subtree_codes(user.area_paths))


def in_subtree(
    area_path: str, area_column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]
) -> ColumnElement[bool]:
    return area_column.in_(_subtree_codes([area_path]))


def path_in_scope(user: Principal, area_path: str) -> bool:
    return user.is_admin or any(area_path.startswith(p) for p in user.area_paths)
