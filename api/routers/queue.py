"""The office's work queue (the console's home)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep, SupervisorUser
from api.schemas.queue import QueueOut
from api.services import queue

router = APIRouter(tags=["queue"])


@router.get(
    "/queue", response_model=QueueOut, responses={403: {"description": "`role_required` (supervisor+)"}}
)
async def work_queue(session: SessionDep, user: SupervisorUser) -> QueueOut:
    """How much waits in each list the office works through, in your areas."""
    return QueueOut(**await queue.counts(session, user))
