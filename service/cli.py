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
    from service.audit.signing import with_audit_key

    settings = get_settings()
    embedded = settings.database_url is None
    owner_url, app_url = database_urls(settings)
    if embedded:  # an external database is migrated by `clubfund migrate`, as its owner
        migrate.upgrade(owner_url)
    settings = settings.model_copy(update={"database_url": app_url})
    settings = with_audit_key(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"clubfund listening on http://{host}:{port} (API docs at /docs)", flush=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    return 0


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

    from service.audit.commands import add_audit_commands

    add_audit_commands(commands)

    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
