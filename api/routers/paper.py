"""The routers of the paper-and-plans domains (notices, schedules' due list lives with venues, draws)."""

from __future__ import annotations

from api.routers import documents, draws

routers = [documents.router, draws.router]
