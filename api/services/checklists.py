from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.errors import NotFound
from api.models import ChecklistTemplate
from api.services import reference


async def seed_builtin(session: AsyncSession) -> list[tuple[str, int]]:
    """Loads the built-in templates; a changed template becomes a new version, an unchanged one is left."""
    added = []
    for tpl in reference.checklist_templates():
        latest = await get_latest(session, tpl["code"], missing_ok=True)
        if latest is not None and _same(latest, tpl):
            continue
        version = (latest.version + 1) if latest else 1
        session.add(ChecklistTemplate(version=version, **tpl))
        added.append((tpl["code"], version))
    await session.flush()
    return added


def _same(row: ChecklistTemplate, tpl: dict[str, Any]) -> bool:
    return (row.title, row.venue_kinds, row.items) == (tpl["title"], tpl["venue_kinds"], tpl["items"])


async def list_latest(session: AsyncSession) -> Sequence[ChecklistTemplate]:
    newest = (
        select(ChecklistTemplate.code, func.max(ChecklistTemplate.version).label("v"))
        .group_by(ChecklistTemplate.code)
        .subquery()
    )
    stmt = (
        select(ChecklistTemplate)
        .join(newest, (newest.c.code == ChecklistTemplate.code) & (newest.c.v == ChecklistTemplate.version))
        .order_by(ChecklistTemplate.code)
    )
    return (await session.scalars(stmt)).all()


async def get_latest(
    session: AsyncSession, code: str, *, missing_ok: bool = False
) -> ChecklistTemplate | None:
    row = await session.scalar(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.code == code)
        .order_by(ChecklistTemplate.version.desc())
        .limit(1)
    )
    if row is None and not missing_ok:
        raise NotFound(f"No checklist {code!r}.", code="checklist_not_found")
    return row


# A (code, version) row never changes, so every process may keep what it has read: checking an
# inspection against its template then costs no query.
_versions: dict[tuple[str, str, int], ChecklistTemplate] = {}


async def get_version(session: AsyncSession, code: str, version: int) -> ChecklistTemplate | None:
    bind = session.bind
    key = (str(bind.url) if isinstance(bind, AsyncEngine) else "", code, version)
    if key in _versions:
        return _versions[key]
    row = await session.scalar(
        select(ChecklistTemplate).where(ChecklistTemplate.code == code, ChecklistTemplate.version == version)
    )
    if row is not None:
        session.expunge(row)
        _versions[key] = row
    return row


async def get(session: AsyncSession, code: str, version: int | None) -> ChecklistTemplate:
    """The given version of a checklist, or its newest when no version is asked for."""
    template = await (get_latest(session, code) if version is None else get_version(session, code, version))
    if template is None:
        raise NotFound(f"No checklist {code!r} version {version}.", code="checklist_not_found")
    return template
