from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from api.schemas.common import OutDatetime, Schema
from api.schemas.findings import Severity
from api.schemas.venues import VenueIn

ReportStatus = Literal["received", "accepted", "resolved", "rejected", "duplicate"]
TriageAction = Literal["accept", "reject", "duplicate"]


class ReceiptOut(BaseModel):
    """The reply to a submission: the receipt is shown to the reporter once and kept nowhere."""

    receipt: str
    status: ReportStatus


class PublicStatusOut(BaseModel):
    """What a receipt holder sees, and nothing else."""

    status: ReportStatus
    updated_at: OutDatetime
    reply: str | None


class RewardOut(BaseModel):
    eligible: bool
    amount: Decimal | None
    paid_at: OutDatetime | None


class ReportOut(BaseModel):
    """A report as the office sees it. Never carries the contact (only whether one was left)."""

    id: uuid.UUID
    category: str
    category_name: str | None
    description: str
    location_text: str | None
    lat: float | None
    lng: float | None
    area_code: str | None
    status: ReportStatus
    reply: str | None
    photo_ids: list[uuid.UUID]
    finding_id: uuid.UUID | None
    duplicate_of_report_id: uuid.UUID | None
    duplicate_of_finding_id: uuid.UUID | None
    has_contact: bool
    reward: RewardOut | None
    created_at: OutDatetime
    updated_at: OutDatetime


class ReportEventOut(BaseModel):
    action: str
    actor_id: uuid.UUID | None
    actor_name: str | None
    at: OutDatetime
    note: str | None
    data: dict[str, Any]


class ReportDetailOut(ReportOut):
    # Reports of the last 30 days within ~300 m, or about the same venue: candidates for "duplicate".
    possible_duplicates: list[uuid.UUID]
    events: list[ReportEventOut]


class TriageVenueIn(VenueIn):
    """A venue registered in the same call as the triage (PUT /venues/{id} semantics)."""

    id: uuid.UUID


class TriageIn(Schema):
    action: TriageAction
    # accept: the venue (existing `venue_id`, or a new `venue`), or at least an `area_code`.
    venue_id: uuid.UUID | None = None
    venue: TriageVenueIn | None = None
    area_code: str | None = Field(default=None, max_length=64)
    severity: Severity = "general"
    title: str | None = Field(default=None, min_length=1, max_length=500)
    # The finding's description; defaults to the report's. Lets the office leave out anything that
    # could point at the reporter before the finding goes to the grid inspectors.
    description: str | None = Field(default=None, max_length=4000)
    # The place as released to the inspectors; defaults to the report's, for the same reason.
    location_text: str | None = Field(default=None, min_length=1, max_length=500)
    # duplicate: the report or finding this one repeats.
    duplicate_of: uuid.UUID | None = None
    # Shown to the reporter with the status; for `reject` it is the reason and required.
    reply: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _per_action(self) -> TriageIn:
        if self.venue_id is not None and self.venue is not None and self.venue.id != self.venue_id:
            raise ValueError("venue_id and venue.id differ; give one of them")
        if self.action == "reject" and not self.reply:
            raise ValueError("a rejection needs a reason in `reply` (it is shown to the reporter)")
        if self.action == "duplicate" and self.duplicate_of is None:
            raise ValueError("`duplicate_of` must name the report or finding this one repeats")
        if self.action != "duplicate" and self.duplicate_of is not None:
            raise ValueError("`duplicate_of` only goes with action 'duplicate'")
        if self.action != "accept" and (
            self.venue_id
            or self.venue
            or self.area_code
            or self.title
            or self.description
            or self.location_text
        ):
            raise ValueError(
                "venue, area_code, title, description and location_text only go with action 'accept'"
            )
        return self


class ReplyIn(Schema):
    reply: str = Field(min_length=1, max_length=2000)


class RewardIn(Schema):
    eligible: bool = True
    amount: Decimal | None = Field(default=None, gt=0, le=Decimal("1000000"), max_digits=12, decimal_places=2)
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _amount_when_eligible(self) -> RewardIn:
        if self.eligible and self.amount is None:
            raise ValueError("an eligible reward needs an amount")
        if not self.eligible and self.amount is not None:
            raise ValueError("no amount for a report that is not reward-eligible")
        return self


class RewardPaymentIn(Schema):
    amount: Decimal = Field(gt=0, le=Decimal("1000000"), max_digits=12, decimal_places=2)
    note: str | None = Field(default=None, max_length=2000)


class ContactOut(BaseModel):
    report_id: uuid.UUID
    contact: str | None
