from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Forbidden, NotFound, Unprocessable
from api.models import Area
from api.services.auth import Principal
from api.services.scope import path_in_scope


async def list_areas(session: AsyncSession) -> Sequence[Area]:
    return (await session.scalars(select(Area).order_by(Area.path))).all()


async def get_area(session: AsyncSession, code: str) -> Area:
    area = await session.get(Area, code)
    if area is None:
        raise NotFound(f"Unknown area {code!r}.", code="area_not_found")
    return area


async def filter_area_path(session: AsyncSession, code: str) -> str:
    """The path of an area named in a list filter (`?area=`). An unknown code is 422 `unknown_area`: an
    empty list would read as "nothing there" when the filter itself is wrong. Scope still applies to the
    rows; the tree itself is visible to every signed-in user."""
    path = await session.scalar(select(Area.path).where(Area.code == code))
    if path is None:
        raise Unprocessable(f"Unknown area {code!r}; see GET /areas.", code="unknown_area")
    return path


async def require_area_in_scope(session: AsyncSession, user: Principal, code: str) -> Area:
    area = await session.get(Area, code)
    if area is None:
        raise Unprocessable(f"Unknown area {code!r}; see GET /areas.", code="unknown_area")
    # The area tree is public to every signed-in user, so naming an area outside one's own leaks nothing.
    if not path_in_scope(user, area.path):
        raise Forbidden(f"Area {code!r} is outside your areas.", code="area_out_of_scope")
    return area


async def upsert_area(
    session: AsyncSession, code: str, name: str, parent_code: str | None, level: str
) -> Area:
    parent_path = "/"
    if parent_code:
        parent = await get_area(session, parent_code)
        parent_path = parent.path
    path = f"{parent_path}{code}/"
    area = await session.get(Area, code)
    if area is None:
        area = Area(code=code, name=name, parent_code=parent_code, path=path, level=level)
        session.add(area)
    else:
        area.name, area.parent_code, area.path, area.level = name, parent_code, path, level
    await session.flush()
    return area


async def compared_areas(
    session: AsyncSession, user: Principal, area_code: str | None
) -> tuple[list[Area], Area | None]:
    """The areas a per-area figure has one row for, each counting its whole subtree, and the area they
    were taken from when they are the ones below it (else None).

    Named: the areas directly below it, or the area itself when nothing is below it (a grid's own
    figures, not an empty table that reads as zero). Not named: an admin's are those below the town;
    a supervisor's those below their one area, or each of their areas when they have several (a
    supervisor of two villages sees both, not an error). The area the rows were taken from may hold
    records of its own (a hazard placed on the town, not on a village), which no row below it counts:
    the caller gives them a row of their own (`own_level_name`), or the rows would not add up."""
    if area_code is not None:
        rows_of = [await require_area_in_scope(session, user, area_code)]
    elif user.is_admin:
        top = select(Area).where(Area.parent_code.is_(None)).order_by(Area.code).limit(1)
        rows_of = list((await session.scalars(top)).all())
    else:
        own = list((await session.scalars(select(Area).where(Area.code.in_(user.area_codes)))).all())
        # A grid of one's own village is inside the village's row already: counted once.
        rows_of = sorted(
            (a for a in own if not any(o is not a and a.path.startswith(o.path) for o in own)),
            key=lambda a: a.code,
        )
    if len(rows_of) == 1:
        below = select(Area).where(Area.parent_code == rows_of[0].code).order_by(Area.code)
        children = list((await session.scalars(below)).all())
        if children:
            return children, rows_of[0]
    return rows_of, None


def own_level_name(area: Area) -> str:
    """The row of what is placed on the area itself, not below it (镇本级: the town's own)."""
    return f"{area.name}（本级）"
