from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base


class Area(Base):
    """A node of the town → village/community → grid tree."""

    __tablename__ = "areas"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)
    # Materialised path "/town/village/grid/": a subtree is one indexed prefix match.
    path: Mapped[str] = mapped_column(String(1000), index=True)
    level: Mapped[str] = mapped_column(String(20), default="grid")
