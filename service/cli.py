"""The `clubfund` command line."""

from __future__ import annotations

import argparse
import json
import logging
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


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service import migrate
    from service.app import create_app

    settings = get_settings()
    owner_url, app_url = database_urls(settings)
    migrate.upgrade(owner_url)
    settings = settings.model_copy(update={"database_url": app_url})
    if args.demo:
        run_demo(app_url, clubs=30, seed=DEMO_SEED, end_date=None, only_if_empty=True)
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"clubfund listening on http://{host}:{port} (API docs at /docs)", flush=True)
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
    from service.demo.loader import DemoNotLoaded, load_demo

    async def load() -> int:
        pool = await create_pool(app_url, min_size=1, max_size=workers + 1)
        try:
            if only_if_empty and await pool.fetchval("SELECT count(*) FROM clubs"):
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

    openapi = commands.add_parser("openapi", help="print, write or check openapi/openapi.json")
    group = openapi.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true")
    group.add_argument("--write", action="store_true")
    openapi.set_defaults(run=cmd_openapi)

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
