"""The `safegrid` command, run as a real subprocess against an embedded SQLite database in a temp dir."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from openpyxl import Workbook

from api.services import demo

SAFEGRID = str(Path(sys.executable).with_name("safegrid"))


def run(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGRID_")}
    env["SAFEGRID_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [SAFEGRID, *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def query(data_dir: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "safegrid.db") as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database with the demo town, shared by the tests below."""
    path = tmp_path_factory.mktemp("cli")
    r = run(path, "migrate")
    assert r.returncode == 0, r.stderr
    r = run(path, "demo")
    assert r.returncode == 0, r.stderr
    return path


def test_migrate_creates_the_database_and_is_repeatable(tmp_path: Path) -> None:
    r = run(tmp_path, "migrate")
    assert r.returncode == 0, r.stderr
    assert "database is up to date" in r.stdout
    for code in ("small_venue_fire", "self_built_house", "fire_exits"):
        assert f"checklist {code} v1 loaded" in r.stdout
    assert (tmp_path / "safegrid.db").is_file()
    tables = {t for (t,) in query(tmp_path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"findings", "finding_events", "inspections", "venues", "users", "alembic_version"} <= tables
    again = run(tmp_path, "migrate")
    assert again.returncode == 0, again.stderr
    assert "loaded" not in again.stdout
    assert query(tmp_path, "SELECT count(*) FROM checklist_templates") == [(3,)]


def test_demo_twice_is_harmless(data_dir: Path) -> None:
    users = dict(query(data_dir, "SELECT username, password_hash FROM users"))
    venues = query(data_dir, "SELECT count(*) FROM venues")
    r = run(data_dir, "demo")
    assert r.returncode == 0, r.stderr
    assert "unchanged" in r.stdout
    assert dict(query(data_dir, "SELECT username, password_hash FROM users")) == users
    assert query(data_dir, "SELECT count(*) FROM venues") == venues
    assert query(data_dir, "SELECT count(*) FROM areas") == [(len(demo.AREAS),)]


def test_demo_prints_working_passwords(tmp_path: Path) -> None:
    r = run(tmp_path, "demo")
    assert r.returncode == 0, r.stderr
    printed = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("inspector", "supervisor", "admin"):
            printed[parts[0]] = parts[2]
    assert set(printed) == {u for u, *_ in demo.USERS}
    hashes = dict(query(tmp_path, "SELECT username, password_hash FROM users"))
    for username, password in printed.items():
        assert PasswordHasher().verify(str(hashes[username]), password)
    assert query(tmp_path, "SELECT count(*) FROM venues") == [(len(demo.VENUES),)]


def test_user_add_reads_the_password_from_stdin(data_dir: Path) -> None:
    r = run(
        data_dir, "user", "add", "wang_wu", "--role", "inspector", "--area", "v-baiyun", stdin="s3cret-pass\n"
    )
    assert r.returncode == 0, r.stderr
    assert "wang_wu" in r.stdout
    (uid, role, pw_hash), *rest = query(
        data_dir, "SELECT id, role, password_hash FROM users WHERE username='wang_wu'"
    )
    assert rest == [] and role == "inspector"
    assert PasswordHasher().verify(str(pw_hash), "s3cret-pass")
    assert query(data_dir, "SELECT area_code FROM user_areas WHERE user_id=?", uid) == [("v-baiyun",)]
    # Running it again updates the same user (a new password), it does not add a second one.
    r = run(
        data_dir,
        "user",
        "add",
        "wang_wu",
        "--role",
        "inspector",
        "--area",
        "v-qingshan",
        stdin="another-pass\n",
    )
    assert r.returncode == 0, r.stderr
    rows = query(data_dir, "SELECT id, password_hash FROM users WHERE username='wang_wu'")
    assert len(rows) == 1
    assert PasswordHasher().verify(str(rows[0][1]), "another-pass")
    assert query(data_dir, "SELECT area_code FROM user_areas WHERE user_id=?", uid) == [("v-qingshan",)]


def test_user_add_admin_needs_no_area(data_dir: Path) -> None:
    r = run(data_dir, "user", "add", "root2", "--role", "admin", "--password", "admin-password")
    assert r.returncode == 0, r.stderr
    assert query(data_dir, "SELECT role FROM users WHERE username='root2'") == [("admin",)]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "inspector", "--area", "v-baiyun"], "short\n", "at least 8"),
        (["--role", "inspector", "--area", "nowhere"], "long-enough-1\n", "unknown area"),
        (["--role", "inspector"], "long-enough-1\n", "needs at least one area"),
    ],
)
def test_user_add_refusals(data_dir: Path, args: list[str], stdin: str, message: str) -> None:
    r = run(data_dir, "user", "add", "refused_user", *args, stdin=stdin)
    assert r.returncode == 2
    assert message in r.stderr
    assert query(data_dir, "SELECT count(*) FROM users WHERE username='refused_user'") == [(0,)]


def test_user_add_refuses_an_unknown_role(data_dir: Path) -> None:
    r = run(data_dir, "user", "add", "x_user", "--role", "emperor", "--password", "long-enough-1")
    assert r.returncode == 2
    assert "invalid choice" in r.stderr


def _csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def test_import_venues_csv_then_again(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "venues.csv"
    path.write_text(
        _csv(
            [
                ["名称", "类型", "区域编码", "地址"],
                ["CLI 小卖部", "small_retail", "v-baiyun-g1", "一组"],
                ["CLI 饭馆", "小餐饮场所", "v-qingshan-g2", "二组"],
            ]
        ),
        encoding="utf-8",
    )
    r = run(data_dir, "import-venues", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "created 2, updated 0"
    rows = query(data_dir, "SELECT name, kind, area_code FROM venues WHERE name LIKE 'CLI %' ORDER BY name")
    assert rows == [
        ("CLI 小卖部", "small_retail", "v-baiyun-g1"),
        ("CLI 饭馆", "small_restaurant", "v-qingshan-g2"),
    ]
    r = run(data_dir, "import-venues", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "created 0, updated 2"


def test_import_venues_xlsx(data_dir: Path, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["name", "kind", "area_code", "owner_phone", "lat", "lng"])
    ws.append(["XLSX 诊所", "small_medical", "c-jiezhen-g1", 13912345678, 31.41, 109.62])
    path = tmp_path / "venues.xlsx"
    wb.save(path)
    r = run(data_dir, "import-venues", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "created 1, updated 0"
    assert query(data_dir, "SELECT kind, area_code, owner_phone, lat FROM venues WHERE name='XLSX 诊所'") == [
        ("small_medical", "c-jiezhen-g1", "13912345678", 31.41)
    ]


def test_import_venues_bad_file_imports_nothing(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        _csv(
            [
                ["name", "kind", "area_code"],
                ["BAD ok", "small_retail", "v-baiyun-g1"],
                ["BAD kind", "moon_base", "v-baiyun-g1"],
                ["BAD area", "small_retail", "mars"],
            ]
        ),
        encoding="utf-8",
    )
    r = run(data_dir, "import-venues", str(path))
    assert r.returncode == 1
    assert "nothing was imported" in r.stderr
    assert "row 3: unknown kind 'moon_base'" in r.stderr
    assert "row 4: area 'mars' unknown" in r.stderr
    assert query(data_dir, "SELECT count(*) FROM venues WHERE name LIKE 'BAD %'") == [(0,)]


def test_serve_workers_default_to_cores_on_postgresql_and_one_on_sqlite() -> None:
    from api.cli import _cores, _workers

    pg = "postgresql+asyncpg://u@127.0.0.1/db"
    assert _workers(None, pg)[0] == _cores() >= 1
    assert "per core" in _workers(None, pg)[1]
    assert _workers(None, "sqlite+aiosqlite:///x.db")[0] == 1
    assert _workers(3, "sqlite+aiosqlite:///x.db") == (3, "as asked (--workers)")


def test_serve_says_how_many_workers_at_start(tmp_path: Path) -> None:
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGRID_")}
    env["SAFEGRID_DATA_DIR"] = str(tmp_path)
    proc = subprocess.Popen(
        [SAFEGRID, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "worker process" in line:
                assert "with 1 worker process(es): one on SQLite" in line, line
                break
        else:
            pytest.fail("serve never said how many workers it runs")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
