"""Drawing the paper documents (blocking: call through a worker thread).

Chinese is set in STSong-Light, one of the Adobe Asian fonts every PDF reader knows by name: the text is
real text (searchable, copyable) and no font file is shipped or embedded. Readers substitute their own
Song/Ming face when printing (see README, "Paper and plans").
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

PAGE = A4
MARGIN = 18 * mm
WIDTH = PAGE[0] - 2 * MARGIN

_base = ParagraphStyle("base", fontName=FONT, fontSize=10.5, leading=15, wordWrap="CJK")
BODY = _base
SMALL = ParagraphStyle("small", parent=_base, fontSize=9, leading=12.5)
CELL = ParagraphStyle("cell", parent=_base, fontSize=9.5, leading=13)
CELL_C = ParagraphStyle("cell_c", parent=CELL, alignment=TA_CENTER)
OFFICE = ParagraphStyle("office", parent=_base, fontSize=14, leading=20, alignment=TA_CENTER)
TITLE = ParagraphStyle("title", parent=_base, fontSize=22, leading=30, alignment=TA_CENTER, spaceAfter=2)
SERIAL = ParagraphStyle("serial", parent=_base, fontSize=10, alignment=TA_RIGHT)
HEAD = ParagraphStyle("head", parent=_base, fontSize=12, leading=18, spaceBefore=6, spaceAfter=3)

GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
)
# Columns of the notice's hazard table (the tests read the hazard column back by its position).
NO_W, DEADLINE_W = 12 * mm, 30 * mm
HAZARD_W = WIDTH - NO_W - DEADLINE_W
HEADER_ROW = [("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9))]


class _ListTable(Table):
    """A table of many rows, whose rows may split across pages, that never ends a page with its header
    over a stub: ReportLab's in-row splitting, given a few points at the foot of a page, returns the
    repeated header over a piece of the next row with some cells empty (the number and the deadline, but
    not the hazard). Refusing that split at the foot of a page moves the table on to the next; higher up
    (a row taller than a whole page) ReportLab's split stands, as refusing it there would leave the row
    nowhere to go."""

    def split(self, availWidth: float, availHeight: float) -> list[Table]:
        parts: list[Table] = super().split(availWidth, availHeight)
        if parts and availHeight < (PAGE[1] - 2 * MARGIN) / 2:
            body = parts[0]._cellvalues[self.repeatRows :]
            if not body or any(not cell for cell in body[0]):
                return []
        return parts


def esc(value: object) -> str:
    """Text for a Paragraph, which reads a small markup language."""
    return (
        str(value if value is not None else "")
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def p(text: object, style: ParagraphStyle = CELL) -> Paragraph:
    return Paragraph(esc(text), style)


def zh_date(day: date | datetime | None) -> str:
    if day is None:
        return "—"
    return f"{day.year}年{day.month}月{day.day}日"


def zh_time(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return f"{zh_date(moment)} {moment:%H:%M}"


class _NumberedCanvas(Canvas):
    """Writes "第 n 页 共 N 页", the serial number and the check code on every page, once the page count is
    known."""

    numbering = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont(FONT, 8.5)
            self.setFillColor(colors.Color(0.3, 0.3, 0.3))
            self.drawCentredString(PAGE[0] / 2, 10 * mm, f"第 {self._pageNumber} 页 共 {total} 页")
            self.drawRightString(PAGE[0] - MARGIN, 10 * mm, self.numbering)
            super().showPage()
        super().save()


def _numbered(data: dict[str, Any]) -> str:
    return f"编号：{data['serial']}　核对码：{data['check']}"


def _build(story: list[Flowable], numbering: str, title: str) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=title,
        author="SafeGrid",
        subject=numbering,
        # Stable bytes for the same record: no creation time that changes between reprints.
        invariant=1,
    )
    canvas_class = type("SerialCanvas", (_NumberedCanvas,), {"numbering": numbering})
    doc.build(story, canvasmaker=canvas_class)
    return buf.getvalue()


# Where a paper without a venue leaves the addressee to be written in by hand.
WRITE_IN = "＿" * 12


def _venue_table(venue: dict[str, Any], extra: list[tuple[str, str]] | None = None) -> Table:
    missing = "" if venue.get("blank") else "—"
    fields = [
        ("被检查单位", venue["name"] or ""),
        ("所属网格", venue["area"]),
        ("地址", venue["address"] or missing),
        ("负责人", venue["owner_name"] or missing),
        ("联系电话", venue["owner_phone"] or missing),
        *(extra or []),
    ]
    rows = []
    for i in range(0, len(fields), 2):
        row = []
        for label, value in fields[i : i + 2]:
            row += [p(label, CELL_C), p(value)]
        while len(row) < 4:
            row.append(p(""))
        rows.append(row)
    widths = [30 * mm, WIDTH / 2 - 30 * mm, 30 * mm, WIDTH / 2 - 30 * mm]
    table = Table(rows, colWidths=widths)
    table.setStyle(GRID)
    return table


def _photos(photos: list[tuple[str, bytes]], captions: dict[str, str]) -> list[Flowable]:
    if not photos:
        return []
    per_row, gap = 4, 3 * mm
    cell_w = (WIDTH - gap * (per_row - 1)) / per_row
    cells: list[list[Flowable]] = []
    for pid, data in photos:
        img = Image(io.BytesIO(data))
        scale = min(cell_w / img.imageWidth, (cell_w * 0.8) / img.imageHeight)
        img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
        cells.append(
            [img, p(captions.get(pid, ""), ParagraphStyle("cap", parent=SMALL, alignment=TA_CENTER))]
        )
    rows = []
    for i in range(0, len(cells), per_row):
        row: list[Any] = list(cells[i : i + per_row])
        row += [""] * (per_row - len(row))
        rows.append(row)
    table = Table(rows, colWidths=[cell_w + gap] * per_row)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    return [p("现场照片", HEAD), table]


def _signatures(left: str, right: str, office: str | None = None) -> Flowable:
    line = "＿" * 9
    rows = [
        [p(f"{left}：{line}", BODY), p(f"{right}：{line}", BODY)],
        [
            p(f"日期：{'＿' * 3}年{'＿' * 2}月{'＿' * 2}日", BODY),
            p(f"日期：{'＿' * 3}年{'＿' * 2}月{'＿' * 2}日", BODY),
        ],
    ]
    if office:
        rows.append([p(""), p(f"{office}（盖章）", BODY)])
    table = Table(rows, colWidths=[WIDTH / 2, WIDTH / 2])
    table.setStyle(TableStyle([("TOPPADDING", (0, 0), (-1, -1), 10), ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    return table


def notice_pdf(data: dict[str, Any]) -> bytes:
    """整改通知书."""
    venue, hazards = data["venue"], data["hazards"]
    # A reported hazard was found by the public and looked into by the office, not met on an inspection;
    # the notice says so, and the person named is whoever handled it, not an inspector.
    if data.get("source") == "report":
        opening, person = "本办根据群众举报对你单位（场所）进行核查", "经办人员"
    else:
        opening, person = "本办检查人员对你单位（场所）进行安全检查", "检查人员"
    story: list[Flowable] = [
        p(data["office"], OFFICE),
        p("整改通知书", TITLE),
        p(_numbered(data), SERIAL),
        Spacer(1, 4 * mm),
        p(
            f"{venue['name'] or WRITE_IN}"
            + (f"（负责人：{venue['owner_name']}）" if venue["owner_name"] else "")
            + "：",
            BODY,
        ),
        Spacer(1, 2 * mm),
        p(
            f"{zh_date(data['issued_on'])}，{opening}，发现下列安全隐患。"
            "请按下表所列期限整改完毕，整改期间应采取措施确保安全；整改完成后及时告知网格员，我办将组织复查。"
            "逾期未整改的，将依法处理并纳入督办。",
            BODY,
        ),
        Spacer(1, 3 * mm),
        _venue_table(venue, [(person, data["inspector"] or "—")]),
        p("发现的隐患及整改要求", HEAD),
    ]
    rows: list[list[Any]] = [[p("序号", CELL_C), p("隐患及违反的规定", CELL_C), p("整改期限", CELL_C)]]
    for n, h in enumerate(hazards, start=1):
        text = esc(h["text"])
        if h["observed"]:
            text += f"<br/><font size=8.5>现场情况：{esc(h['observed'])}</font>"
        if h["major"]:
            called = "重大事故隐患（已认定）" if h["major"] == "confirmed" else "疑似重大事故隐患"
            text += (
                f"<br/><font size=8.5>{called}：整改前须采取停用或局部停用、人员撤离、专人值守等措施。</font>"
            )
        elif h["stop_use"]:
            text += "<br/><font size=8.5>整改完成前停止使用。</font>"
        if h["rule"]:
            text += f"<br/><font size=8.5 color='#333333'>依据：{esc(h['rule'])}</font>"
        deadline = "立即整改" if h["immediate"] else f"{zh_date(h['deadline'])}前"
        rows.append([p(n, CELL_C), Paragraph(text, CELL), p(deadline, CELL_C)])
    table = _ListTable(rows, colWidths=[NO_W, HAZARD_W, DEADLINE_W], repeatRows=1, splitInRow=1)
    table.setStyle(GRID)
    table.setStyle(TableStyle(HEADER_ROW))
    story.append(table)
    story += _photos(data["photos"], data["captions"])
    story += [
        Spacer(1, 6 * mm),
        KeepTogether(
            [
                _signatures(f"{person}（签名）", "被检查单位负责人（签收）", data["office"]),
                Spacer(1, 4 * mm),
                p("本通知书一式两份，一份交被检查单位，一份存档。", SMALL),
            ]
        ),
    ]
    return _build(story, _numbered(data), f"整改通知书 {venue['name'] or ''}".strip())


def record_pdf(data: dict[str, Any]) -> bytes:
    """现场检查记录."""
    venue = data["venue"]
    lat, lng, accuracy = data["position"]
    position = "—" if lat is None or lng is None else f"{lat:.5f}, {lng:.5f}"
    if position != "—" and accuracy is not None:
        position += f"（±{accuracy:.0f} 米）"
    story: list[Flowable] = [
        p(data["office"], OFFICE),
        p("现场检查记录", TITLE),
        p(_numbered(data), SERIAL),
        Spacer(1, 4 * mm),
        _venue_table(
            venue,
            [
                ("检查人员", data["inspector"] or "—"),
                ("检查表", data["checklist"]),
                ("开始时间（手机）", zh_time(data["started_at"])),
                ("提交时间（手机）", zh_time(data["submitted_at"])),
                ("服务器接收", zh_time(data["received_at"])),
                ("位置", position),
            ],
        ),
        p(f"检查情况（共 {len(data['answers'])} 项，不合格 {data['failed']} 项）", HEAD),
    ]
    rows: list[list[Any]] = [[p("序号", CELL_C), p("检查内容", CELL_C), p("结果", CELL_C), p("说明", CELL_C)]]
    style = list(HEADER_ROW)
    for i, a in enumerate(data["answers"], start=1):
        rows.append([p(a["n"], CELL_C), p(a["prompt"]), p(a["result"], CELL_C), p(a["note"] or "")])
        if a["failed"]:
            style.append(("BACKGROUND", (2, i), (2, i), colors.Color(0.85, 0.85, 0.85)))
    table = _ListTable(
        rows, colWidths=[12 * mm, WIDTH * 0.55, 18 * mm, WIDTH * 0.45 - 30 * mm], repeatRows=1, splitInRow=1
    )
    table.setStyle(GRID)
    table.setStyle(TableStyle(style))
    story.append(table)
    if data["note"]:
        story += [p("检查备注", HEAD), p(data["note"], BODY)]
    story += _photos(data["photos"], data["captions"])
    story += [
        Spacer(1, 6 * mm),
        KeepTogether([_signatures("检查人员（签名）", "被检查单位负责人（签名）")]),
    ]
    return _build(story, _numbered(data), f"现场检查记录 {venue['name'] or ''}".strip())
