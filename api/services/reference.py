"""Regulatory reference data shipped with SafeGrid (api/reference/checklists.yaml, sources in sources.md)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REFERENCE_FILE = Path(__file__).resolve().parent.parent / "reference" / "checklists.yaml"

# The nine 九小场所 kinds (JX01–JX09 in the reference file) under their API codes.
SMALL_VENUE_KINDS = {
    "JX01": "small_retail",
    "JX02": "small_restaurant",
    "JX03": "small_lodging",
    "JX04": "small_entertainment",
    "JX05": "small_leisure",
    "JX06": "small_medical",
    "JX07": "small_education",
    "JX08": "small_workshop",
    "JX09": "small_hazmat",
}
OTHER_VENUE_KINDS = {
    "self_built_house": "自建房",
    "self_built_house_commercial": "经营性自建房",
    "enterprise": "企业",
    "other": "其他场所",
}
# Reference checklist id → API code, and the venue kinds each applies to.
CHECKLIST_CODES = {"CL-JX": "small_venue_fire", "CL-ZJF": "self_built_house", "CL-SS": "fire_exits"}


@lru_cache
def load() -> dict[str, Any]:
    with REFERENCE_FILE.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def venue_kinds() -> list[dict[str, str]]:
    kinds = []
    for vt in load()["venue_types"]:
        name = str(vt["name_zh"]).split("（")[0]
        kinds.append({"code": SMALL_VENUE_KINDS[vt["code"]], "name": name})
    kinds += [{"code": c, "name": n} for c, n in OTHER_VENUE_KINDS.items()]
    return kinds


def venue_kind_codes() -> set[str]:
    return {k["code"] for k in venue_kinds()}


def report_categories() -> list[dict[str, str]]:
    """The categories offered to the public, everyday ones first (the file's order)."""
    offered = [c for c in load()["report_categories"] if c.get("listed", True)]
    return [{"code": c["code"], "name": c["zh"]} for c in offered]


def report_category_names() -> dict[str, str]:
    """Every category a report may carry, offered or not: reports filed (or drafted on a phone) under a
    category no longer offered keep it."""
    return {c["code"]: c["zh"] for c in load()["report_categories"]}


def _item_kinds(item: dict[str, Any], template_kinds: list[str]) -> list[str]:
    """The venue kinds (API codes) an item can apply to: its own `applies_to_kinds` (JXnn or API codes)
    where narrower than its checklist, else every kind of the checklist."""
    listed = item.get("applies_to_kinds")
    if not listed:
        return list(template_kinds)
    kinds = [SMALL_VENUE_KINDS.get(k, k) for k in listed]
    unknown = set(kinds) - set(template_kinds)
    if unknown:
        raise ValueError(f"{item['code']}: applies_to_kinds outside its checklist: {sorted(unknown)}")
    return [k for k in template_kinds if k in kinds]


def _gb_flag(value: object) -> str:
    if value is True:
        return "true"
    if value == "combination":
        return "combination"
    return "false"


def checklist_templates() -> list[dict[str, Any]]:
    """The built-in templates as the database stores them (without version numbers)."""
    data = load()
    all_kinds = sorted(venue_kind_codes())
    templates = []
    for cl in data["checklists"]:
        code = CHECKLIST_CODES[cl["id"]]
        if cl["id"] == "CL-JX":
            kinds = [SMALL_VENUE_KINDS[k] for k in cl["applies_to"]]
        elif cl["id"] == "CL-ZJF":
            kinds = ["self_built_house", "self_built_house_commercial"]
        else:
            kinds = all_kinds
        items = []
        for item in cl["items"]:
            flag = _gb_flag(item.get("gb35181_major"))
            # A structural danger (stop use, evacuate) is severe whatever GB 35181 says of fire.
            stop_use = bool(item.get("stop_use", False))
            items.append(
                {
                    "code": item["code"],
                    "prompt": item["prompt_zh"],
                    "hazard": item["hazard_zh"],
                    "kinds": _item_kinds(item, kinds),
                    "immediate": item.get("action") == "immediate",
                    "stop_use": stop_use,
                    "category": item["category"],
                    "major": flag == "true" or stop_use,
                    "deadline_days": int(item.get("default_deadline_days", 7)),
                    "photo_required": bool(item.get("photo_on_fail", False)),
                    "gb35181": flag,
                    "gb35181_2017_clause": item.get("gb35181_2017_clause"),
                    "gloss_en": item.get("gloss_en"),
                    "notes": item.get("notes"),
                    "applies_when": item.get("applies_when"),
                    "sources": list(item.get("sources", [])),
                }
            )
        templates.append(
            {
                "code": code,
                "title": cl["name_zh"],
                "venue_kinds": kinds,
                "items": items,
                "source": {"reference_id": cl["id"], "schema_version": data["meta"]["schema_version"]},
            }
        )
    return templates
