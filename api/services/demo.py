"""A demo town: two villages and a community with grids, venues of several kinds, and one user per role."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.models import Finding, Report, User, Venue
from api.services import lifecycle, report_lifecycle
from api.services.areas import upsert_area
from api.services.auth import create_user
from api.services.findings import open_finding, sweep_escalations
from api.services.lifecycle import Action
from api.services.report_lifecycle import ReportAction
from api.timeutil import local_today, utcnow

AREAS = [
    ("town", "云岭镇", None, "town"),
    ("v-baiyun", "白云村", "town", "village"),
    ("v-baiyun-g1", "白云村第一网格", "v-baiyun", "grid"),
    ("v-baiyun-g2", "白云村第二网格", "v-baiyun", "grid"),
    ("v-qingshan", "青山村", "town", "village"),
    ("v-qingshan-g1", "青山村第一网格", "v-qingshan", "grid"),
    ("v-qingshan-g2", "青山村第二网格", "v-qingshan", "grid"),
    ("c-jiezhen", "场镇社区", "town", "community"),
    ("c-jiezhen-g1", "场镇社区第一网格", "c-jiezhen", "grid"),
]

USERS = [
    ("admin", "系统管理员", "admin", []),
    ("supervisor", "镇应急办 李主任", "supervisor", ["town"]),
    ("inspector_baiyun", "白云村网格员 王芳", "inspector", ["v-baiyun"]),
    ("inspector_baiyun2", "白云村网格员 陈刚", "inspector", ["v-baiyun"]),
    ("inspector_qingshan", "青山村网格员 刘洋", "inspector", ["v-qingshan"]),
    ("inspector_jiezhen", "场镇社区网格员 赵敏", "inspector", ["c-jiezhen"]),
]

# (name, kind, area, address, owner, phone, risk, lat, lng)
VENUES = [
    (
        "白云便利店",
        "small_retail",
        "v-baiyun-g1",
        "白云村一组12号",
        "张华",
        "13800000001",
        "normal",
        31.401,
        109.632,
    ),
    (
        "白云农家乐",
        "small_restaurant",
        "v-baiyun-g1",
        "白云村一组30号",
        "李强",
        "13800000002",
        "high",
        31.403,
        109.635,
    ),
    (
        "山泉民宿",
        "small_lodging",
        "v-baiyun-g2",
        "白云村三组8号",
        "王梅",
        "13800000003",
        "high",
        31.407,
        109.641,
    ),
    (
        "白云村卫生室",
        "small_medical",
        "v-baiyun-g2",
        "白云村村委会旁",
        "周医生",
        "13800000004",
        "normal",
        31.405,
        109.638,
    ),
    (
        "王家自建房",
        "self_built_house_commercial",
        "v-baiyun-g2",
        "白云村四组2号",
        "王建国",
        "13800000005",
        "normal",
        31.409,
        109.643,
    ),
    (
        "青山棋牌室",
        "small_leisure",
        "v-qingshan-g1",
        "青山村二组5号",
        "刘军",
        "13800000006",
        "normal",
        31.421,
        109.612,
    ),
    (
        "青山木材加工厂",
        "small_workshop",
        "v-qingshan-g1",
        "青山村五组",
        "孙林",
        "13800000007",
        "high",
        31.425,
        109.615,
    ),
    (
        "青山幼儿园",
        "small_education",
        "v-qingshan-g2",
        "青山村小学旁",
        "何老师",
        "13800000008",
        "high",
        31.428,
        109.619,
    ),
    (
        "场镇烟花爆竹零售点",
        "small_hazmat",
        "c-jiezhen-g1",
        "场镇老街18号",
        "钱进",
        "13800000009",
        "high",
        31.412,
        109.625,
    ),
    (
        "场镇KTV",
        "small_entertainment",
        "c-jiezhen-g1",
        "场镇新街3号",
        "吴亮",
        "13800000010",
        "normal",
        31.413,
        109.627,
    ),
]

_DEMO_NS = uuid.UUID("8b0c2f4e-7d13-4a9b-b5e6-1f2a3c4d5e6f")


def venue_id(name: str) -> uuid.UUID:
    return uuid.uuid5(_DEMO_NS, name)


async def load(
    session: AsyncSession, password: str | None = None, reset_passwords: bool = False
) -> list[tuple[str, str, str | None]]:
    """Loads the demo town; returns (username, role, password or None when left unchanged)."""
    for code, name, parent, level in AREAS:
        await upsert_area(session, code, name, parent, level)
    result: list[tuple[str, str, str | None]] = []
    for username, display_name, role, areas in USERS:
        exists = await session.scalar(select(User.id).where(User.username == username))
        if exists and not (password or reset_passwords):
            result.append((username, role, None))
            continue
        pw = password or secrets.token_urlsafe(9)
        await create_user(
            session, username=username, password=pw, role=role, display_name=display_name, area_codes=areas
        )
        result.append((username, role, pw))
    for name, kind, area, address, owner, phone, risk, lat, lng in VENUES:
        vid = venue_id(name)
        if await session.get(Venue, vid) is None:
            session.add(
                Venue(
                    id=vid,
                    name=name,
                    kind=kind,
                    area_code=area,
                    address=address,
                    owner_name=owner,
                    owner_phone=phone,
                    risk_level=risk,
                    lat=lat,
                    lng=lng,
                )
            )
    await session.flush()
    await _load_work(session)
    return result


# Work waiting in every list of the office's console: (key, venue, inspector, title, note, severity,
# deadline in days from the day of loading, rectified). Loaded once; a second run leaves them alone, so
# their deadlines stay where the first run put them.
WORK = [
    (
        "major",
        "山泉民宿",
        "inspector_baiyun",
        "经营区与住宿区未分隔，住宿区无独立疏散出口",
        "二楼客房与一楼餐厅共用楼梯",
        "major",
        3,
        False,
    ),
    (
        "due_soon",
        "白云农家乐",
        "inspector_baiyun",
        "厨房燃气管道使用软管且超长",
        "软管约3米，穿墙敷设",
        "general",
        2,
        False,
    ),
    (
        "overdue",
        "青山木材加工厂",
        "inspector_qingshan",
        "车间内电线私拉乱接",
        "配电箱旁飞线两处",
        "general",
        -5,
        False,
    ),
    ("submitted", "场镇KTV", "inspector_jiezhen", "包间疏散指示标志不亮", "3号、5号包间", "general", 5, True),
]
DEMO_REPORT = {
    "category": "RPT-12",
    "description": "白云村一组有住户每晚把电动车推进楼道充电，电线从窗户拉出来。",
    "location_text": "白云村一组12号旁的居民楼",
    "lat": 31.4012,
    "lng": 109.6324,
}


def work_id(key: str) -> uuid.UUID:
    return uuid.uuid5(_DEMO_NS, f"work:{key}")


async def _load_work(session: AsyncSession) -> None:
    """A public report waiting for triage, a suspected major hazard, a finding due soon, an overdue one and
    a rectification waiting for verification."""
    now = utcnow()
    today = local_today(now)
    users = dict((await session.execute(select(User.username, User.id))).all())
    for key, venue_name, inspector, title, note, severity, days, rectified in WORK:
        fid = work_id(key)
        if await session.get(Finding, fid) is not None:
            continue
        venue = await session.get(Venue, venue_id(venue_name))
        if venue is None:
            continue
        # An overdue finding was found before its deadline (a ten-day limit), not today: its notice and
        # the ledger would otherwise show a deadline that had passed before the hazard was found.
        found = now if days >= 0 else now - timedelta(days=10 - days)
        finding = await open_finding(
            session,
            finding_id=fid,
            area_code=venue.area_code,
            source="manual",
            title=title,
            description=note,
            severity=severity,
            deadline=today + timedelta(days=days),
            actor_id=users.get(inspector),
            at=found,
            venue_id=venue.id,
            note=note,
            lat=venue.lat,
            lng=venue.lng,
        )
        if rectified:
            await lifecycle.apply(
                session,
                finding,
                Action.RECTIFY,
                actor_id=users.get(inspector),
                at=now,
                note="已更换应急照明灯和疏散指示标志",
            )
    report_id = work_id("report")
    if await session.get(Report, report_id) is None:
        # Never a real receipt: nobody holds one for the demo report.
        report = Report(
            id=report_id,
            receipt_hash=hashlib.sha256(f"demo-report:{report_id}".encode()).hexdigest(),
            photo_ids=[],
            created_at=now.replace(second=0, microsecond=0),
            **DEMO_REPORT,
        )
        report_lifecycle.apply(session, report, ReportAction.RECEIVE, actor_id=None, at=report.created_at)
        session.add(report)
    await session.flush()
    # The overdue one is escalated (督办) as the server's sweep would on its first round.
    await sweep_escalations(session, now)
