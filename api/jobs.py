"""Background work outside requests. A job owns its transactions, one per batch (services never commit)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.config import Settings
from api.services.auth import prune
from api.services.findings import sweep_escalations

SWEEP_BATCH = 500


async def escalate_overdue(maker: async_sessionmaker[AsyncSession], batch: int = SWEEP_BATCH) -> int:
    """Raises the escalation level of every overdue finding; returns how many rose."""
    total = 0
    while True:
        async with maker() as session:
            raised = await sweep_escalations(session, batch=batch)
            await session.commit()
        total += raised
        if raised < batch:
            return total


async def prune_stale(maker: async_sessionmaker[AsyncSession], settings: Settings) -> tuple[int, int]:
    """Deletes unusable tokens and finished sign-in throttle rows; returns (tokens, throttle rows)."""
    async with maker() as session:
        counts = await prune(session, settings)
        await session.commit()
    return counts
