from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel

from api.schemas.common import OutDatetime


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: OutDatetime


class MeOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    area_codes: list[str]
