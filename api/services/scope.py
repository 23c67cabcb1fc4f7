"""Area scope: who may see what. The check is part of every query, never a filter applied afterwards."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from api.models import Area
from api.services.auth import Principal

_Text = ColumnElement[str] | InstrumentedAttribute[str]


def path_starts_with(path: _Text, prefix: _Text | str) -> ColumnElement[bool]:
    """`path` begins with `prefix`, compared exactly on both databases. Not LIKE: SQLite's LIKE ignores
    ASCII case, so area `ab` would reach into area `AB`, and `_` or `%` in a code would be wildcards."""
    length = len(prefix) if isinstance(prefix, str) else func.length(prefix)
    return func.substr(path, 1, length) == prefix


def _subtree_codes(paths: tuple[str, ...] | list[str]) -> Select[str]:
    return select(Area.code).where(or_(*(path_starts_with(Area.path, p) for p in paths)))


def in_scope(
    user: Principal, area_column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]
) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    if not user.area_paths:
        return false()
    return area_column.in_(_subtree_codes(user.area_paths))


def in_scope_sql(area_column: str, paths_param: str) -> str:
    """`in_scope` for a user who is not an admin, as PostgreSQL SQL with the user's area paths in one
    `text[]` parameter: for the one statement written by hand (api/services/inspection_statement.py)."""
    return (
        f"{area_column} IN (SELECT areas.code FROM areas, unnest({paths_param}) AS scope(path)"
        " WHERE substr(areas.path, 1, length(scope.path)) = scope.path)"
    )


def in_subtree(
    area_path: str, area_column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]
) -> ColumnElement[bool]:
    return area_column.in_(_subtree_codes([area_path]))


def path_in_scope(user: Principal, area_path: str) -> bool:
    return user.is_admin or any(area_path.startswith(p) for p in user.area_paths)
