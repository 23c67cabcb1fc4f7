"""The `safegrid` command: serve, migrate, demo, user add, import-venues, sweep, prune."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import get_settings
from api.db import create_engine, create_sessionmaker
from api.migrations import migrate

T = TypeVar("T")


async def _in_session(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    settings = get_settings()
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            result = await fn(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def _migrate() -> None:
    added = asyncio.run(migrate(get_settings()))
    for code, version in added:
        print(f"checklist {code} v{version} loaded")
    print("database is up to date")


def cmd_migrate(_args: argparse.Namespace) -> int:
    _migrate()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    _migrate()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    workers, why = _workers(args.workers, settings.effective_database_url)
    # The worker processes size their connection pools by it (api/db.py), so N of them stay within
    # PostgreSQL's connection limit.
    os.environ["WEB_CONCURRENCY"] = str(workers)
    print(f"serving on http://{args.host}:{args.port} with {workers} worker process(es): {why}", flush=True)
    # No uvicorn access log: it records client addresses and raw paths (receipts); ours records neither.
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        access_log=False,
        # The client address only feeds the in-memory rate limits of the public endpoints; it is never
        # stored or logged. Behind a proxy, name the proxy so each reporter gets their own bucket.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        server_header=False,
        log_level="info",
        workers=workers,
    )
    return 0


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _workers(asked: int | None, database_url: str) -> tuple[int, str]:
    if asked is not None:
        return max(1, asked), "as asked (--workers)"
    if make_url(database_url).get_backend_name() == "postgresql":
        cores = _cores()
        return cores, f"one per core ({cores}) on PostgreSQL; --workers N to change"
    return 1, "one on SQLite, whose single writer more processes would only queue for; --workers N to change"


def cmd_demo(args: argparse.Namespace) -> int:
    from api.services import demo
    from api.services.auth import MIN_PASSWORD_LENGTH

    if args.password is not None and len(args.password) < MIN_PASSWORD_LENGTH:
        print(f"error: the password needs at least {MIN_PASSWORD_LENGTH} characters", file=sys.stderr)
        return 2
    _migrate()
    rows = asyncio.run(_in_session(lambda s: demo.load(s, args.password, args.reset_passwords)))
    print("demo town 云岭镇 loaded. users:")
    for username, role, password in rows:
        shown = password if password else "(unchanged; use --reset-passwords for new ones)"
        print(f"  {username:<20} {role:<11} {shown}")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from api.services.auth import MIN_PASSWORD_LENGTH, create_user

    password = args.password
    if password is None:
        password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        print(f"error: the password needs at least {MIN_PASSWORD_LENGTH} characters", file=sys.stderr)
        return 2
    try:
        asyncio.run(
            _in_session(
                lambda s: create_user(
                    s,
                    username=args.name,
                    password=password,
                    role=args.role,
                    display_name=args.display_name,
                    area_codes=args.area or [],
                )
            )
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"user {args.name} ({args.role}) saved")
    return 0


def cmd_import_venues(args: argparse.Namespace) -> int:
    from api.errors import AppError
    from api.services.auth import Principal
    from api.services.venue_import import import_file

    data = Path(args.file).read_bytes()
    admin = Principal(id=None, username="cli", display_name="cli", role="admin", area_codes=())  # type: ignore[arg-type]
    try:
        result = asyncio.run(_in_session(lambda s: import_file(s, admin, data, args.file)))
    except AppError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        for err in exc.extra.get("errors", []):
            print(f"  row {err['row']}: {err['reason']}", file=sys.stderr)
        return 1
    print(f"created {result.created}, updated {result.updated}")
    return 0


def cmd_sweep(_args: argparse.Namespace) -> int:
    from api.jobs import escalate_overdue

    async def run() -> int:
        engine = create_engine(get_settings())
        try:
            return await escalate_overdue(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    print(f"escalated {asyncio.run(run())} finding(s)")
    return 0


def cmd_prune(_args: argparse.Namespace) -> int:
    from api.jobs import prune_stale

    async def run() -> tuple[int, int]:
        settings = get_settings()
        engine = create_engine(settings)
        try:
            return await prune_stale(create_sessionmaker(engine), settings)
        finally:
            await engine.dispose()

    tokens, throttles = asyncio.run(run())
    print(f"deleted {tokens} expired or revoked token(s) and {throttles} sign-in throttle row(s)")
    return 0


def cmd_draw_verify(args: argparse.Namespace) -> int:
    import uuid

    from api.services.draws import verify

    try:
        draw_id = uuid.UUID(args.id)
    except ValueError:
        print(f"error: {args.id!r} is not a draw id", file=sys.stderr)
        return 2
    result = asyncio.run(_in_session(lambda s: verify(s, draw_id)))
    if result is None:
        print(f"error: no draw {draw_id}", file=sys.stderr)
        return 2
    if result.ok:
        people = sum(len(i) for _, i in result.stored)
        print(f"OK: draw {draw_id} reproduces: {len(result.stored)} target(s), {people} inspector slot(s)")
        return 0
    print(f"DIFFERS: draw {draw_id} does not reproduce" + (f" ({result.error})" if result.error else ""))
    for n, stored in enumerate(result.stored):
        again = result.rerun[n] if result.rerun and n < len(result.rerun) else None
        if stored != again:
            print(f"  target {n}: stored {stored[0]} {stored[1]}, re-run {again}")
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="safegrid", description="SafeGrid 安格 hazard inspection system")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="apply migrations and run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes (they share nothing but the database); default: one per core on "
        "PostgreSQL, one on SQLite",
    )
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply migrations and load built-in checklists").set_defaults(
        func=cmd_migrate
    )
    demo = sub.add_parser("demo", help="load the demo town (safe to run twice)")
    demo.add_argument("--password", help="set every demo user's password to this")
    demo.add_argument("--reset-passwords", action="store_true", help="give existing demo users new passwords")
    demo.set_defaults(func=cmd_demo)
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="create or update a user (password from --password or stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["inspector", "supervisor", "admin"])
    add.add_argument("--area", action="append", help="area code (repeatable); an admin needs none")
    add.add_argument("--display-name")
    add.add_argument("--password")
    add.set_defaults(func=cmd_user_add)
    imp = sub.add_parser("import-venues", help="import venues from .xlsx or .csv")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import_venues)
    sub.add_parser("sweep", help="raise escalation levels of overdue findings").set_defaults(func=cmd_sweep)
    sub.add_parser(
        "prune", help="delete expired or revoked tokens and finished sign-in throttle rows"
    ).set_defaults(func=cmd_prune)
    draw = sub.add_parser("draw", help="双随机 draws").add_subparsers(dest="draw_command", required=True)
    verify = draw.add_parser("verify", help="run a stored draw again and compare (exit 0 when it reproduces)")
    verify.add_argument("id")
    verify.set_defaults(func=cmd_draw_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args: Any = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
