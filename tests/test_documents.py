"""The paper: 整改通知书 and 现场检查记录 as PDF, read back with poppler (pdftotext, pdfinfo, pdftoppm)."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import timedelta
from pathlib import Path

from PIL import Image

from api.services import pdf, reference
from api.services.documents import hazard_text
from tests.conftest import Env
from tests.helpers import (
    API,
    BAIYUN_SHOP,
    GENERAL_ITEM,
    GENERAL_ITEM_15,
    GENERAL_ZERO_DAY,
    MAJOR_ZERO_DAY,
    QINGSHAN_CLUB,
    assert_problem,
    fail,
    file_finding,
    inspection_body,
    make_jpeg,
    make_user,
    new_id,
    put_inspection,
    put_photo,
    sh_today,
)


def _items() -> dict[str, dict[str, object]]:
    return {i["code"]: i for t in reference.checklist_templates() for i in t["items"]}


def pdftotext(path: Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True)
    return out.stdout


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def file_size(path: Path) -> int:
    return path.stat().st_size


def column_text(path: Path, x0: float, x1: float, last_page: int = 1) -> str:
    """The text of a vertical strip (x in points) of the pages down to the footer: one column of a table,
    unmixed with its neighbours."""
    body_height = int(pdf.PAGE[1] - pdf.MARGIN)  # above the page footer
    texts = []
    for page in range(1, last_page + 1):
        crop = ["-x", str(int(x0)), "-y", "0", "-W", str(int(x1 - x0)), "-H", str(body_height)]
        texts.append(run("pdftotext", "-f", str(page), "-l", str(page), *crop, str(path), "-"))
    return "".join(texts)


def squeeze(text: str) -> str:
    """Text without the spaces and line breaks that layout puts into long lines."""
    return re.sub(r"\s+", "", text)


def pages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    match = re.search(r"^Pages:\s+(\d+)", out, re.M)
    assert match, out
    return int(match.group(1))


async def _visit(
    env: Env, answers: list[dict[str, object]], venue: str = BAIYUN_SHOP, user: str = "inspector_baiyun"
) -> dict[str, object]:
    return await put_inspection(env, inspection_body(venue, answers), user)


async def test_notice_names_the_venue_each_hazard_its_rule_and_deadline(env: Env, tmp_path: Path) -> None:
    photo = await put_photo(env, data=make_jpeg(640, 480))
    reply = await _visit(
        env,
        [
            fail(GENERAL_ITEM, note="门口未公示责任人"),
            fail(GENERAL_ZERO_DAY, [photo]),
            {"item_code": GENERAL_ITEM_15, "result": "pass"},
        ],
    )
    finding_ids = reply["finding_ids"]
    assert isinstance(finding_ids, list) and len(finding_ids) == 2
    r = await env.client.get(
        f"{API}/findings/{finding_ids[0]}/notice.pdf", headers=env.auth("inspector_baiyun")
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert "no-store" in r.headers["cache-control"]
    path = tmp_path / "notice.pdf"
    path.write_bytes(r.content)
    text = squeeze(pdftotext(path))
    items = _items()
    assert "整改通知书" in text
    assert BAIYUN_SHOP in text and "张华" in text  # the venue and its owner
    assert "云岭镇" in text  # the office, named after the town
    hazards = squeeze(column_text(path, pdf.MARGIN + pdf.NO_W + 1, pdf.MARGIN + pdf.NO_W + pdf.HAZARD_W - 1))
    for code in (GENERAL_ITEM, GENERAL_ZERO_DAY):
        assert squeeze(hazard_text(items[code], "")) in hazards, code
    assert GENERAL_ITEM_15 not in text and squeeze(str(items[GENERAL_ITEM_15]["prompt"])) not in text
    assert "门口未公示责任人" in hazards
    assert "立即整改" in text  # the same-day item
    assert "机关、团体、企业、事业单位消防安全管理规定" in hazards  # the rule (source S04) the item rests on
    assert "签收" in text and "编号：ZG-" in text
    assert pages(path) == 1
    # One notice per visit: either finding prints the same paper with the same number.
    again = await env.client.get(
        f"{API}/findings/{finding_ids[1]}/notice.pdf", headers=env.auth("supervisor")
    )
    serial = re.search(r"ZG-\d{8}-[0-9A-F]{6}", text)
    assert again.content == r.content  # a reprint is the same document, byte for byte
    assert serial and serial.group(0) in squeeze(pdftotext(_write(tmp_path / "n2.pdf", again.content)))
    # The photo is in it, as an image.
    images = run("pdfimages", "-list", str(path))
    assert len(images.strip().splitlines()) == 3  # two header lines and one image


async def test_a_notice_prints_the_photo_itself_not_a_thumbnail_the_phone_sent(
    env: Env, tmp_path: Path
) -> None:
    """A stored thumbnail may be the phone's own (kept when it fits the photo): an official notice is made
    from the photo the server has seen, at print size."""
    data = make_jpeg(1280, 960)
    thumb = io.BytesIO()
    Image.open(io.BytesIO(data)).resize((320, 240)).save(thumb, "JPEG", quality=80)
    photo = new_id()
    r = await env.client.put(
        f"{API}/photos/{photo}",
        files={"file": ("p.jpg", data, "image/jpeg"), "thumbnail": ("t.jpg", thumb.getvalue(), "image/jpeg")},
        headers=env.auth("inspector_baiyun"),
    )
    assert r.status_code == 201, r.text
    stored = (
        await env.client.get(f"{API}/photos/{photo}/thumbnail", headers=env.auth("inspector_baiyun"))
    ).content
    assert stored.endswith(thumb.getvalue()[thumb.getvalue().index(b"\xff\xda") :])  # the phone's was kept
    reply = await _visit(env, [fail(GENERAL_ZERO_DAY, [photo])])
    finding_ids = reply["finding_ids"]
    assert isinstance(finding_ids, list)
    r = await env.client.get(f"{API}/findings/{finding_ids[0]}/notice.pdf", headers=env.auth("supervisor"))
    assert r.status_code == 200, r.text
    listed = run("pdfimages", "-list", str(_write(tmp_path / "notice.pdf", r.content))).strip().splitlines()
    assert len(listed) == 3
    assert listed[2].split()[3:5] == ["640", "480"]  # page, num, type, width, height


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _numbering(path: Path) -> tuple[str, str]:
    """(serial, check code) as printed at the top, and the same on the foot of the page."""
    text = squeeze(pdftotext(path))
    found = re.findall(r"编号：((?:ZG|JC)-\d{8}-[0-9A-F]{6})核对码：([0-9A-F]{6})", text)
    assert len(found) == 1 + pages(path), text  # the heading, and the foot of every page
    assert len(set(found)) == 1, found
    return found[0]


async def test_a_notice_that_says_something_else_carries_another_check_code(env: Env, tmp_path: Path) -> None:
    """The serial names the visit for good; the check code changes with what the paper says (here a deadline
    extended) and stays for a reprint that says the same, so a paper can be matched to the signed copy."""
    photo = await put_photo(env)
    reply = await _visit(env, [fail(GENERAL_ITEM, note="门口未公示责任人"), fail(GENERAL_ZERO_DAY, [photo])])
    finding_ids = reply["finding_ids"]
    assert isinstance(finding_ids, list)

    async def notice(name: str) -> tuple[str, str, str]:
        url = f"{API}/findings/{finding_ids[0]}/notice.pdf"
        r = await env.client.get(url, headers=env.auth("supervisor"))
        assert r.status_code == 200, r.text
        serial, check = _numbering(_write(tmp_path / name, r.content))
        assert f"{serial}-{check}" in r.headers["content-disposition"]
        return serial, check, squeeze(pdftotext(tmp_path / name))

    serial, check, text = await notice("first.pdf")
    assert (serial, check) == (await notice("reprint.pdf"))[:2]
    later = sh_today() + timedelta(days=45)
    r = await env.client.post(
        f"{API}/findings/{finding_ids[0]}/extension",
        json={"deadline": later.isoformat(), "reason": "需采购防火门"},
        headers=env.auth("supervisor"),
    )
    assert r.status_code == 200, r.text
    serial_after, check_after, text_after = await notice("extended.pdf")
    assert serial_after == serial and check_after != check and text_after != text
    assert f"{later.year}年{later.month}月{later.day}日" in text_after
    assert (serial_after, check_after) == (await notice("extended-again.pdf"))[:2]

    # The record of the visit carries one too.
    r = await env.client.get(f"{API}/inspections/{reply['id']}/record.pdf", headers=env.auth("supervisor"))
    assert r.status_code == 200, r.text
    record_serial, record_check = _numbering(_write(tmp_path / "record.pdf", r.content))
    assert record_serial.startswith("JC-") and record_serial[2:] == serial[2:] and record_check != check


async def test_notice_of_a_major_hazard_says_what_to_do_meanwhile(env: Env, tmp_path: Path) -> None:
    photo = await put_photo(env)
    reply = await _visit(env, [fail(MAJOR_ZERO_DAY, [photo])])
    finding_ids = reply["finding_ids"]
    assert isinstance(finding_ids, list)
    r = await env.client.get(f"{API}/findings/{finding_ids[0]}/notice.pdf", headers=env.auth("supervisor"))
    path = _write(tmp_path / "major.pdf", r.content)
    text = squeeze(pdftotext(path))
    hazards = squeeze(column_text(path, pdf.MARGIN + pdf.NO_W + 1, pdf.MARGIN + pdf.NO_W + pdf.HAZARD_W - 1))
    assert "疑似重大事故隐患" in text and "GB35181-2017第6.2条" in hazards

    # Once the office has confirmed it, the notice no longer calls it 疑似.
    register = {
        "responsible_person": "王建国",
        "measures": "搬离易燃物品",
        "funds": "1万元",
        "deadline": (sh_today() + timedelta(days=30)).isoformat(),
        "contingency_plan": "专人值守",
        "supervising_official": "镇应急办 李主任",
    }
    decision = {
        "decision": "confirm",
        "decided_on": sh_today().isoformat(),
        "participants": "李主任、张工",
        "register": register,
    }
    r = await env.client.post(
        f"{API}/findings/{finding_ids[0]}/major-decision", json=decision, headers=env.auth("supervisor")
    )
    assert r.status_code == 200, r.text
    r = await env.client.get(f"{API}/findings/{finding_ids[0]}/notice.pdf", headers=env.auth("supervisor"))
    text = squeeze(pdftotext(_write(tmp_path / "confirmed.pdf", r.content)))
    assert "重大事故隐患（已认定）" in text and "疑似重大事故隐患" not in text


def test_a_long_table_never_ends_a_page_with_its_header_over_a_stub(tmp_path: Path) -> None:
    """ReportLab's in-row splitting used to leave the repeated header over an empty or half-empty row at
    the foot of a page (a 20-hazard notice ended pages 1 and 2 so)."""
    from reportlab.platypus import Paragraph, Spacer, TableStyle

    rows: list[list[object]] = [
        [pdf.p("序号", pdf.CELL_C), pdf.p("隐患及违反的规定", pdf.CELL_C), pdf.p("整改期限", pdf.CELL_C)]
    ]
    for i in range(20):
        text = (
            pdf.esc("安全出口、疏散通道被占用、堵塞或者封闭" * 2)
            + "<br/>"
            + pdf.esc("后门被货物堵住，" * (1 + i % 5))
        )
        rows.append(
            [pdf.p(i + 1, pdf.CELL_C), Paragraph(text, pdf.CELL), pdf.p("2026年12月20日前", pdf.CELL_C)]
        )
    # Wherever the foot of a page falls, a piece of a row is never a stub: the row's first piece has something
    # in every cell (the number and the deadline without the hazard's text is a stub).
    for height in range(10, 400, 2):
        table = pdf._ListTable(
            rows, colWidths=[pdf.NO_W, pdf.HAZARD_W, pdf.DEADLINE_W], repeatRows=1, splitInRow=1
        )
        table.wrap(pdf.WIDTH, height)
        parts = table.split(pdf.WIDTH, height)
        if parts:
            first_row = parts[0]._cellvalues[1]
            assert all(cell for cell in first_row), (
                height,
                [len(c) if isinstance(c, tuple | list) else 1 for c in first_row],
            )
    for top in range(0, 200, 10):  # wherever on the first page the table starts
        table = pdf._ListTable(
            rows, colWidths=[pdf.NO_W, pdf.HAZARD_W, pdf.DEADLINE_W], repeatRows=1, splitInRow=1
        )
        table.setStyle(pdf.GRID)
        table.setStyle(TableStyle(pdf.HEADER_ROW))
        path = _write(tmp_path / f"t{top}.pdf", pdf._build([Spacer(1, top * pdf.mm), table], "X", "t"))
        for page in run("pdftotext", "-layout", str(path), "-").split("\f"):
            lines = [line.strip() for line in page.splitlines() if line.strip()]
            body = [line for line in lines if not line.startswith("第")]  # the footer: 第N页共M页
            assert not body or not body[-1].startswith("序号"), (top, lines[-3:])


async def test_record_lists_every_answer_and_renders(env: Env, tmp_path: Path) -> None:
    photo = await put_photo(env, data=make_jpeg(800, 600))
    template = next(t for t in reference.checklist_templates() if t["code"] == "small_venue_fire")
    answers: list[dict[str, object]] = [{"item_code": i["code"], "result": "pass"} for i in template["items"]]
    answers[0] = fail(GENERAL_ITEM, [photo], note="未公示")
    answers[1] = {"item_code": answers[1]["item_code"], "result": "na", "note": "无此情形"}
    reply = await _visit(env, answers)
    r = await env.client.get(
        f"{API}/inspections/{reply['id']}/record.pdf", headers=env.auth("inspector_baiyun")
    )
    assert r.status_code == 200, r.text
    path = _write(tmp_path / "record.pdf", r.content)
    text = squeeze(pdftotext(path))
    assert "现场检查记录" in text and BAIYUN_SHOP in text and "王芳" in text
    for item in template["items"]:
        assert squeeze(str(item["prompt"]))[:20] in text, item["code"]
    assert "不合格" in text and "不适用" in text and "无此情形" in text
    assert f"共{len(answers)}项，不合格1项" in text
    n = pages(path)
    assert n >= 2  # a full checklist runs over a page
    assert f"第{n}页共{n}页" in text
    run(
        "pdftoppm", "-r", "60", "-f", "1", "-l", "1", "-singlefile", "-png", str(path), str(tmp_path / "page")
    )
    assert file_size(tmp_path / "page.png") > 10_000  # drawn, not blank


async def test_documents_are_in_scope_like_their_records(env: Env) -> None:
    reply = await _visit(env, [fail(GENERAL_ITEM)], venue=QINGSHAN_CLUB, user="inspector_qingshan")
    # Not a demo inspector: another test's draw may have sent those to 青山村, whose findings they then read.
    other = await make_user(env, "paper_outsider", "inspector", ["v-baiyun"])
    finding_ids = reply["finding_ids"]
    assert isinstance(finding_ids, list)
    r = await env.client.get(f"{API}/findings/{finding_ids[0]}/notice.pdf", headers=other)
    assert_problem(r, 404, "finding_not_found")
    r = await env.client.get(f"{API}/inspections/{reply['id']}/record.pdf", headers=other)
    assert_problem(r, 404, "inspection_not_found")
    r = await env.client.get(f"{API}/findings/{new_id()}/notice.pdf", headers=env.auth("supervisor"))
    assert_problem(r, 404, "finding_not_found")
    r = await env.client.get(f"{API}/findings/{finding_ids[0]}/notice.pdf")
    assert_problem(r, 401)
    grid_only = await make_user(env, "paper_other_grid", "inspector", ["v-qingshan-g2"])
    r = await env.client.get(f"{API}/inspections/{reply['id']}/record.pdf", headers=grid_only)
    assert_problem(r, 404, "inspection_not_found")
    r = await env.client.get(
        f"{API}/findings/{finding_ids[0]}/notice.pdf", headers=env.auth("inspector_qingshan")
    )
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


def test_hazard_wording_prefers_the_owners_words() -> None:
    assert hazard_text({"prompt": "是否……", "hazard": "门前堆放杂物"}, "x") == "门前堆放杂物"
    assert hazard_text({"prompt": "是否……"}, "x") == "是否……"
    assert hazard_text(None, "标题") == "标题"


async def test_a_note_longer_than_a_page_runs_on_to_the_next(env: Env, tmp_path: Path) -> None:
    note = "消防通道堆放大量杂物，" * 180  # 1,980 characters: taller than a page in the hazard column
    reply = await _visit(env, [fail(GENERAL_ITEM, note=note)])
    finding_ids = reply["finding_ids"]
    assert isinstance(finding_ids, list)
    r = await env.client.get(f"{API}/findings/{finding_ids[0]}/notice.pdf", headers=env.auth("supervisor"))
    assert r.status_code == 200, r.text
    path = _write(tmp_path / "long.pdf", r.content)
    n = pages(path)
    assert n >= 2
    column = column_text(path, pdf.MARGIN + pdf.NO_W + 1, pdf.MARGIN + pdf.NO_W + pdf.HAZARD_W - 1, n)
    # The hazard's row goes on over the page break, under the table's repeated header.
    assert squeeze(note) in squeeze(column).replace("隐患及违反的规定", "")
    r = await env.client.get(f"{API}/inspections/{reply['id']}/record.pdf", headers=env.auth("supervisor"))
    assert r.status_code == 200, r.text


async def test_the_issuing_office_is_a_setting_or_the_town(env: Env) -> None:
    from api.services.documents import _office_and_area

    named = env.settings.model_copy(update={"office_name": "云岭镇应急管理办公室"})
    async with await env.session() as s:
        assert await _office_and_area(s, named, "v-baiyun-g1") == ("云岭镇应急管理办公室", "白云村第一网格")
        assert await _office_and_area(s, env.settings, "c-jiezhen-g1") == (
            "云岭镇安全生产委员会办公室",
            "场镇社区第一网格",
        )


async def test_a_notice_without_a_venue_leaves_the_unit_to_be_written_in(env: Env, tmp_path: Path) -> None:
    """A finding placed on an area only (a report accepted without a venue): the addressee, unit and address
    are blank lines for the inspector's hand, not a word that says there is no unit, and nothing of the
    finding's place text (the reporter's words by default) is printed."""
    finding = await file_finding(
        env, area_code="v-baiyun-g1", title="木材堆场电线私拉乱接", location_text="我家隔壁的木材厂"
    )
    r = await env.client.get(f"{API}/findings/{finding['id']}/notice.pdf", headers=env.auth("supervisor"))
    assert r.status_code == 200, r.text
    path = tmp_path / "notice.pdf"
    path.write_bytes(r.content)
    text = pdftotext(path)
    assert "＿＿＿＿＿＿＿＿＿＿＿＿：" in text
    assert "未关联" not in text and "我家隔壁" not in text
    assert "木材堆场电线私拉乱接" in text
