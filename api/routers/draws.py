"""双随机一公开: draws (supervisors), the drawn inspectors' assignments, and the published draw (anyone)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from api.deps import CurrentUser, SessionDep, SupervisorUser
from api.schemas.common import Page
from api.schemas.draws import AssignmentOut, DrawIn, DrawOut, DrawSummary, DrawVoidIn, PublicDrawOut
from api.services import draws as draw_service

router = APIRouter(tags=["draws"])


@router.post("/draws", response_model=DrawOut, status_code=201, responses={200: {"model": DrawOut}})
async def create_draw(session: SessionDep, user: SupervisorUser, body: DrawIn, response: Response) -> DrawOut:
    """Draws targets and inspectors (see the method in api/services/draws.py). The same body under the
    same `id` again answers 200 with the same draw; another body under it, 409."""
    draw, created = await draw_service.create_draw(session, user, body)
    response.status_code = 201 if created else 200
    return DrawOut(**await draw_service.draw_dict(session, draw))


@router.get("/draws", response_model=Page[DrawSummary])
async def list_draws(
    session: SessionDep, user: SupervisorUser, limit: int | None = None, cursor: str | None = None
) -> Page[DrawSummary]:
    rows, next_cursor = await draw_service.list_draws(session, user, limit, cursor)
    items = [DrawSummary(**d) for d in await draw_service.summaries(session, rows)]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/draws/{draw_id}", response_model=DrawOut)
async def get_draw(session: SessionDep, user: SupervisorUser, draw_id: uuid.UUID) -> DrawOut:
    draw = await draw_service.get_draw(session, user, draw_id)
    return DrawOut(**await draw_service.draw_dict(session, draw))


@router.post("/draws/{draw_id}/void", response_model=DrawOut)
async def void_draw(
    session: SessionDep, user: SupervisorUser, draw_id: uuid.UUID, body: DrawVoidIn
) -> DrawOut:
    """作废 a draw made by mistake, before any target is inspected (409 `draw_started` after). It stays on
    record and on its public page with the reason; its inspectors are no longer sent. The same reason again
    answers the same; another reason for a voided draw, 409 `draw_voided`."""
    draw = await draw_service.void_draw(session, user, draw_id, body.reason)
    return DrawOut(**await draw_service.draw_dict(session, draw))


@router.get("/assignments", response_model=Page[AssignmentOut])
async def my_assignments(session: SessionDep, user: CurrentUser) -> Page[AssignmentOut]:
    """What the signed-in inspector was drawn to inspect: open work first, by due date."""
    items = await draw_service.assignments_of(session, user)
    return Page(items=[AssignmentOut(**i) for i in items], next_cursor=None)


@router.get("/public/draws/{draw_id}", response_model=PublicDrawOut, tags=["public"])
async def public_draw(session: SessionDep, draw_id: uuid.UUID) -> PublicDrawOut:
    """The published draw (一公开): date, population size, count, method, seed, and each result once
    inspected (venue name and outcome). No owner, phone or inspector is named; nothing about the asker
    is kept."""
    return PublicDrawOut(**await draw_service.public_draw(session, draw_id))
