"""Bulk venue import from the town's Excel or CSV lists. All rows are checked first: nothing half-imported."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import anyio.to_thread
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Unprocessable, UnsupportedMediaType
from api.models import Area, Venue
from api.schemas.venues import ImportResult, VenueIn
from api.services import reference
from api.services.auth import Principal
from api.services.scope import path_in_scope
from api.services.venues import VENUE_FIELDS

# Column headers as township lists write them, Chinese or English.
HEADERS = {
    "id": "id",
    "编号": "id",
    "name": "name",
    "名称": "name",
    "场所名称": "name",
    "kind": "kind",
    "类型": "kind",
    "场所类型": "kind",
    "address": "address",
    "地址": "address",
    "area_code": "area_code",
    "区域编码": "area_code",
    "网格编码": "area_code",
    "lat": "lat",
    "纬度": "lat",
    "lng": "lng",
    "经度": "lng",
    "owner_name": "owner_name",
    "负责人": "owner_name",
    "owner_phone": "owner_phone",
    "电话": "owner_phone",
    "联系电话": "owner_phone",
    "risk_level": "risk_level",
    "风险等级": "risk_level",
    "built_year": "built_year",
    "建成年份": "built_year",
    "建造年份": "built_year",
    "建房年份": "built_year",
}
RISK_NAMES = {"低": "low", "一般": "normal", "高": "high"}
# Rows without an id get one derived from area and name, so importing the same list twice updates.
_IMPORT_NS = uuid.UUID("0d7c9a52-8e1b-4f36-a7d2-3c5e9b1f4a60")
MAX_ROWS = 20_000


def _read_rows(data: bytes, filename: str) -> list[tuple[int, dict[str, Any]]]:
    """The data rows with their row numbers in the file (the header is row 1; blank rows are skipped)."""
    if data[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
            # Read-only sheets are parsed lazily: a broken part of the file fails here, not at load.
            raw = [list(r) for r in sheet.iter_rows(values_only=True)]
        except Exception as exc:  # openpyxl raises many types for a broken workbook
            raise Unprocessable("The Excel file cannot be read.", code="unreadable_file") from exc
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise UnsupportedMediaType(
                    "Send an .xlsx or a UTF-8/GBK .csv file.", code="unsupported_file"
                ) from exc
        try:
            raw = [list(r) for r in csv.reader(io.StringIO(text))]
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            raise Unprocessable(f"The CSV file cannot be read: {exc}.", code="unreadable_file") from exc
    if not raw:
        raise Unprocessable("The file has no rows.", code="empty_file")
    header = [
        HEADERS.get(str(h or "").strip().lower(), HEADERS.get(str(h or "").strip(), "")) for h in raw[0]
    ]
    if "name" not in header or "kind" not in header or "area_code" not in header:
        raise Unprocessable(
            "The first row must name the columns name, kind and area_code (名称、类型、区域编码).",
            code="missing_columns",
        )
    rows = []
    for number, values in enumerate(raw[1:], start=2):
        if all(v in (None, "") for v in values):
            continue
        rows.append((number, {k: v for k, v in zip(header, values, strict=False) if k}))
    if len(rows) > MAX_ROWS:
        raise Unprocessable(f"At most {MAX_ROWS} rows per file.", code="too_many_rows")
    return rows


async def import_file(session: AsyncSession, user: Principal, data: bytes, filename: str) -> ImportResult:
    rows = await anyio.to_thread.run_sync(_read_rows, data, filename)
    kinds = {k["code"]: k["code"] for k in reference.venue_kinds()} | {
        k["name"]: k["code"] for k in reference.venue_kinds()
    }
    paths = dict((await session.execute(select(Area.code, Area.path))).all())
    errors: list[dict[str, Any]] = []
    parsed: list[tuple[int, uuid.UUID, dict[str, Any]]] = []
    for number, row in rows:
        clean = {k: (str(v).strip() if v is not None else None) or None for k, v in row.items()}
        if (year := clean.get("built_year")) and year.endswith(".0"):  # Excel keeps years as floats
            clean["built_year"] = year[:-2]
        clean["kind"] = kinds.get(clean.get("kind") or "", clean.get("kind"))
        clean["risk_level"] = RISK_NAMES.get(
            clean.get("risk_level") or "", clean.get("risk_level") or "normal"
        )
        try:
            venue = VenueIn.model_validate({k: clean.get(k) for k in VENUE_FIELDS})
        except ValidationError as exc:
            first = exc.errors()[0]
            errors.append({"row": number, "reason": f"{'.'.join(map(str, first['loc']))}: {first['msg']}"})
            continue
        if venue.kind not in reference.venue_kind_codes():
            errors.append({"row": number, "reason": f"unknown kind {venue.kind!r}"})
            continue
        area_path = paths.get(venue.area_code)
        if area_path is None or not path_in_scope(user, area_path):
            errors.append(
                {"row": number, "reason": f"area {venue.area_code!r} unknown or outside your areas"}
            )
            continue
        try:
            vid = (
                uuid.UUID(clean["id"])
                if clean.get("id")
                else uuid.uuid5(_IMPORT_NS, f"{venue.area_code}\x1f{venue.name}")
            )
        except ValueError:
            errors.append({"row": number, "reason": "id is not a UUID"})
            continue
        parsed.append((number, vid, venue.model_dump(include=set(VENUE_FIELDS))))
    ids = [vid for _, vid, _ in parsed]
    if len(set(ids)) != len(ids):
        seen: set[uuid.UUID] = set()
        for number, vid, _ in parsed:
            if vid in seen:
                errors.append({"row": number, "reason": "the same venue appears twice in the file"})
            seen.add(vid)
        errors.sort(key=lambda e: e["row"])
    if errors:
        raise Unprocessable(
            f"{len(errors)} row(s) are wrong; nothing was imported.", code="import_rejected", errors=errors
        )
    existing = (
        {v.id: v for v in (await session.scalars(select(Venue).where(Venue.id.in_(ids)))).all()}
        if ids
        else {}
    )
    created = updated = 0
    for _, vid, fields in parsed:
        venue_row = existing.get(vid)
        if venue_row is None:
            session.add(Venue(id=vid, created_by=user.id, **fields))
            created += 1
        else:
            if paths.get(venue_row.area_code) is None or not path_in_scope(user, paths[venue_row.area_code]):
                raise Unprocessable(
                    "A venue in the file belongs to an area outside yours; nothing was imported.",
                    code="import_rejected",
                    errors=[{"row": 0, "reason": str(vid)}],
                )
            for key, value in fields.items():
                setattr(venue_row, key, value)
            updated += 1
    await session.flush()
    return ImportResult(created=created, updated=updated, errors=[])
