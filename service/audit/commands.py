"""`clubfund audit verify | receipt | check-receipt`.

- `verify` reads the database directly (DATABASE_URL, `--database-url`, or the
  embedded default) and re-derives every log, optionally against signed heads
  an auditor saved earlier (`--heads FILE`).
- `receipt ENTRY_ID` writes a self-contained receipt: the entry's audit record,
  its inclusion proof and the signed head it is proved against.
- `check-receipt FILE --key KEY` needs no database: the receipt and the
  published public key are enough (ledger/receipts.py).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from ledger.errors import LedgerError
from ledger.receipts import check_receipt
from ledger.signed_notes import VerifierKey, parse_verifier_key
from ledger.tree_heads import key_id_for, parse_audit_keys
from service.audit import repository
from service.audit.signing import (
    AuditSigner,
    default_key_file,
    load_signer,
)
from service.audit.witnessing import parse_witnesses
from service.auth.repository import grant_all_funds
from service.database import init_connection
from service.errors import AuditKeyMissing, NotFound
from service.settings import Settings, get_settings


def public_keys_from_argument(value: str) -> dict[str, bytes]:
    """`--key`: a base64 public key, a file holding one, or an audit-keys JSON document."""
    text = value
    path = Path(value)
    if len(value) < 4096 and path.is_file():
        text = path.read_text()
    stripped = text.strip()
    if stripped.startswith("{"):
        return dict(parse_audit_keys(json.loads(stripped)))
    try:
        raw = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError) as error:
        raise SystemExit(f"--key {value!r}: not base64, nor a file holding a key") from error
    if len(raw) != 32:
        raise SystemExit(f"--key {value!r}: an Ed25519 public key is 32 raw bytes")
    return {key_id_for(raw): raw}


def public_keys_from_arguments(values: list[str]) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for value in values:
        keys.update(public_keys_from_argument(value))
    return keys


def configured_signer(settings: Settings) -> AuditSigner | None:
    """The configured signing key, or the embedded default's key file if it exists."""
    try:
        return load_signer(settings)
    except AuditKeyMissing:
        path = default_key_file(settings)
        if path.exists():
            return load_signer(settings.model_copy(update={"audit_key_file": path}))
        return None


def load_heads(path: Path) -> list[dict[str, Any]]:
    """A head, a list of heads, {"heads": [...]}, or JSON lines of heads."""
    text = path.read_text()
    try:
        document = json.loads(text)
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(document, dict) and "heads" in document:
        document = document["heads"]
    if isinstance(document, dict):
        return [document]
    if not isinstance(document, list):
        raise SystemExit(f"{path}: expected a signed head or a list of them")
    return [dict(head) for head in document]


def database_url(args: argparse.Namespace, settings: Settings) -> str:
    if args.database_url:
        return str(args.database_url)
    if settings.database_url is not None:
        return settings.database_url
    from service import migrate
    from service.cli import database_urls

    owner_url, app_url = database_urls(settings)
    migrate.upgrade(owner_url)
    return app_url


async def connect(url: str) -> asyncpg.Connection:
    connection: asyncpg.Connection = await asyncpg.connect(
        url, server_settings={"application_name": "clubfund-audit", "timezone": "UTC"}
    )
    await init_connection(connection)
    return connection


async def run_verify(
    url: str, fund: uuid.UUID | None, heads: list[dict[str, Any]],
    keys: dict[str, bytes] | None,
) -> int:
    from service.audit.verification import verify_log

    connection = await connect(url)
    broken = 0
    total_records = 0
    started = time.perf_counter()
    try:
        if fund is not None:
            logs = [fund]
        else:
            async with connection.transaction():
                await grant_all_funds(connection)
                logs = await repository.list_logs(connection)
        if heads:
            print(f"checking against {len(heads)} saved signed head(s)"
                  + ("" if keys else " (signatures not checked: no public key)"))
        for log_id in logs:
            report = await verify_log(connection, log_id, heads, keys)
            total_records += report.records_checked
            print(f"fund {log_id}: checked {report.records_checked} records, "
                  f"{report.nodes_checked} Merkle nodes, {report.entries_checked} entries, "
                  f"{report.accounts_checked} account balances, {report.heads_checked} signed "
                  f"heads in {report.seconds:.2f} s ({report.records_per_second:,.0f} records/s)")
            for note in report.notes:
                print(f"  note: {note}")
            if report.ok:
                print(f"  OK: tree_size {report.tree_size}, root_hash {report.root_hash}")
            else:
                broken += 1
                where = f"sequence {report.sequence}" if report.sequence else "the log"
                print(f"  BROKEN at {where}: {report.reason}")
    finally:
        await connection.close()
    seconds = time.perf_counter() - started
    rate = total_records / seconds if seconds > 0 else 0.0
    print(f"{len(logs)} log(s), {total_records} records in {seconds:.2f} s "
          f"({rate:,.0f} records/s): "
          + ("all OK" if not broken else f"{broken} log(s) BROKEN"))
    return 1 if broken else 0


async def run_api_verify(args: argparse.Namespace) -> int:
    import httpx

    from service.audit.api_verification import (
        load_saved_checkpoints,
        save_checkpoint,
        verifier_keys_from_arguments,
        verify_from_api,
    )

    token = args.token or os.environ.get("CLUBFUND_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=args.url.rstrip("/"), headers=headers,
                                 timeout=60.0) as http:
        try:
            log_keys = verifier_keys_from_arguments(args.key)
            witness_keys = verifier_keys_from_arguments(args.witness_key)
            if not log_keys:
                document = (await http.get("/.well-known/clubfund/audit-keys")).json()
                log_keys = [
                    parse_verifier_key(k["verifier_key"]) for k in document["keys"]]
                print("note: the log's keys were fetched from the server itself; pass --key "
                      "with your own copy to rule out a substituted key")
        except (LedgerError, ValueError, KeyError, OSError) as error:
            print(f"cannot read the keys: {error}")
            return 2
        saved = load_saved_checkpoints(args.checkpoints) if args.checkpoints else []
        report = await verify_from_api(http, args.fund, log_keys, witness_keys, saved)
    seconds = time.perf_counter() - started
    print(f"fund {args.fund} from {args.url} ({len(saved)} saved checkpoint(s)):")
    for line in report.lines:
        print(f"  {line}")
    print(("OK" if report.ok else "REFUSED") + f" in {seconds:.2f} s")
    if report.ok and args.checkpoints and report.checkpoint is not None:
        save_checkpoint(args.checkpoints, report.checkpoint)
        print(f"saved the verified checkpoint to {args.checkpoints}")
    return 0 if report.ok else 1


def cmd_verify(args: argparse.Namespace) -> int:
    if args.url:
        if not args.fund:
            raise SystemExit("--url needs --fund")
        return asyncio.run(run_api_verify(args))
    settings = get_settings()
    url = database_url(args, settings)
    keys: dict[str, bytes] | None = public_keys_from_arguments(args.key) or None
    if keys is None:
        signer = configured_signer(settings)
        keys = signer.public_keys if signer else None
    heads = load_heads(args.heads) if args.heads else []
    fund = uuid.UUID(args.fund) if args.fund else None
    return asyncio.run(run_verify(url, fund, heads, keys))


async def write_receipt(url: str, signer: AuditSigner, entry_id: uuid.UUID) -> dict[str, Any]:
    from service.audit.service import receipt_for_entry

    connection = await connect(url)
    try:
        async with connection.transaction():
            await grant_all_funds(connection)
            witnesses = parse_witnesses(get_settings().witnesses)
            receipt = await receipt_for_entry(connection, signer, witnesses, entry_id,
                                              datetime.now(UTC))
            return receipt.model_dump(mode="json")
    finally:
        await connection.close()


def cmd_receipt(args: argparse.Namespace) -> int:
    settings = get_settings()
    url = database_url(args, settings)
    signer = configured_signer(settings)
    if signer is None:
        print("no audit signing key: set CLUBFUND_AUDIT_SIGNING_KEY or CLUBFUND_AUDIT_KEY_FILE",
              file=sys.stderr)
        return 2
    try:
        receipt = asyncio.run(write_receipt(url, signer, uuid.UUID(args.entry_id)))
    except NotFound as error:
        print(error.detail, file=sys.stderr)
        return 1
    text = json.dumps(receipt, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote receipt for record {receipt['proof']['sequence']} of fund "
              f"{receipt['record']['fund_id']} (tree size {receipt['head']['tree_size']}) "
              f"to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def checkpoint_keys_in(values: list[str]) -> list[VerifierKey]:
    """The verifier keys an audit-keys document among `--key` values lists (may be none)."""
    keys = []
    for value in values:
        path = Path(value)
        if len(value) < 4096 and path.is_file() and path.read_text().lstrip().startswith("{"):
            document = json.loads(path.read_text())
            keys += [parse_verifier_key(k["verifier_key"]) for k in document.get("keys", [])
                     if "verifier_key" in k]
    return keys


def cmd_check_receipt(args: argparse.Namespace) -> int:
    keys = public_keys_from_arguments(args.key)
    started = time.perf_counter()
    try:
        receipt = json.loads(Path(args.file).read_text())
        log_keys = checkpoint_keys_in(args.key)
        with_checkpoint = bool(log_keys) and isinstance(receipt, dict) and "checkpoint" in receipt
        checked = check_receipt(receipt, keys, log_keys if with_checkpoint else None)
    except (ValueError, OSError) as error:
        print(f"receipt REFUSED: cannot read {args.file}: {error}")
        return 1
    except LedgerError as error:
        seconds = time.perf_counter() - started
        print(f"checked 1 receipt in {seconds * 1000:.1f} ms")
        print(f"receipt REFUSED ({error.code}): {error.detail}")
        return 1
    seconds = time.perf_counter() - started
    rate = 1 / seconds if seconds > 0 else 0.0
    print(f"checked 1 receipt in {seconds * 1000:.1f} ms ({rate:,.0f} records/s): "
          "record hash, inclusion proof, head signature"
          + (", checkpoint signature" if with_checkpoint else ""))
    print(f"receipt OK: record {checked.sequence} of fund {checked.fund_id} "
          f"(leaf {checked.leaf_hash}) is in the log of {checked.tree_size} records with root "
          f"{checked.root_hash}, signed by key {checked.key_id} at {checked.timestamp}")
    return 0


def add_audit_commands(commands: Any) -> None:
    audit = commands.add_parser("audit", help="verify the audit log; write and check receipts")
    actions = audit.add_subparsers(dest="audit_command", required=True)

    verify = actions.add_parser(
        "verify", help="re-derive every log from the database, or one fund from the API (--url)")
    verify.add_argument("--fund", help="one fund's log (default: every log)")
    verify.add_argument("--url", help="verify from the API at this address: no database access")
    verify.add_argument("--token", help="with --url: a bearer token that may read the fund "
                                        "(default: $CLUBFUND_TOKEN)")
    verify.add_argument("--checkpoints", type=Path,
                        help="with --url: checkpoints saved earlier (JSON lines); the newly "
                             "verified one is appended")
    verify.add_argument("--witness-key", action="append", default=[],
                        help="with --url: a witness's verifier key whose cosignature the "
                             "current checkpoint must carry")
    verify.add_argument("--heads", type=Path,
                        help="signed heads saved earlier (JSON: a head, a list, or lines)")
    verify.add_argument("--key", action="append", default=[],
                        help="public key (base64, a file, or an audit-keys JSON document; "
                             "with --url: a verifier key or an audit-keys document); "
                             "default: the configured signing key's")
    verify.add_argument("--database-url", help="default: DATABASE_URL or the embedded database")
    verify.set_defaults(run=cmd_verify)

    receipt = actions.add_parser("receipt", help="write a self-contained receipt for an entry")
    receipt.add_argument("entry_id")
    receipt.add_argument("-o", "--output", help="file to write (default: standard output)")
    receipt.add_argument("--database-url", help="default: DATABASE_URL or the embedded database")
    receipt.set_defaults(run=cmd_receipt)

    check = actions.add_parser("check-receipt", help="verify a receipt offline")
    check.add_argument("file")
    check.add_argument("--key", action="append", required=True,
                       help="public key (base64, a file, or an audit-keys JSON document)")
    check.set_defaults(run=cmd_check_receipt)
