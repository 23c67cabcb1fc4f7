from api.models.area import Area
from api.models.base import Base
from api.models.checklist import ChecklistTemplate
from api.models.draw import Draw, DrawAssignment
from api.models.finding import Finding, FindingCounter, FindingEvent, MajorHazard
from api.models.inspection import Inspection
from api.models.photo import Photo
from api.models.report import Report, ReportEvent
from api.models.user import AuthToken, LoginThrottle, User, UserArea
from api.models.venue import Venue

__all__ = [
    "Area",
    "AuthToken",
    "Base",
    "ChecklistTemplate",
    "Draw",
    "DrawAssignment",
    "Finding",
    "FindingCounter",
    "FindingEvent",
    "Inspection",
    "LoginThrottle",
    "MajorHazard",
    "Photo",
    "Report",
    "ReportEvent",
    "User",
    "UserArea",
    "Venue",
]
