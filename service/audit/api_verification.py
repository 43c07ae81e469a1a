"""`clubfund audit verify --url … --fund …`: verify a fund from the API alone.

No database access: a token that may read the fund is enough. Against the log's
keys (given, or fetched once from the server and said so) it:

1. opens the current checkpoint (signature, key id, origin of this fund) and counts
   the cosignatures of the witness keys given;
2. reads every audit record, re-hashes each, checks the numbering and rebuilds the
   root at the checkpoint's size;
3. for each checkpoint saved earlier (`--checkpoints`): its signature, that the
   records rebuild its root, and that the server's consistency proof leads from
   it to the current checkpoint;
4. re-derives every account's debits and credits from the `entry.*` records and
   compares them with the balances the API reports.

The first thing that fails is printed with what failed, and the exit code is 1.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ledger.checkpoints import Checkpoint, open_checkpoint
from ledger.errors import LedgerError
from ledger.log_replay import LogMismatch, Replay, check_checkpoint_root, replay_records
from ledger.merkle import hashes_from_hex, verify_consistency
from ledger.signed_notes import VerifierKey, open_note, parse_verifier_key

PAGE_LIMIT = 500
PAGES_MAX = 100_000


@dataclass
class ApiVerification:
    ok: bool = True
    lines: list[str] = field(default_factory=list)
    checkpoint: str | None = None

    def say(self, line: str) -> None:
        self.lines.append(line)

    def fail(self, line: str) -> None:
        self.ok = False
        self.lines.append(f"BROKEN: {line}")


def verifier_keys_from_arguments(values: Sequence[str]) -> list[VerifierKey]:
    """`--key`: verifier key strings, or audit-keys JSON documents (their `verifier_key`)."""
    keys = []
    for value in values:
        path = Path(value)
        if len(value) < 4096 and path.is_file():
            document = json.loads(path.read_text())
            keys += [parse_verifier_key(k["verifier_key"]) for k in document["keys"]]
        else:
            keys.append(parse_verifier_key(value))
    return keys


def load_saved_checkpoints(path: Path) -> list[str]:
    """Checkpoints saved earlier: JSON lines, each the note as a JSON string."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def save_checkpoint(path: Path, note: str) -> None:
    with path.open("a") as handle:
        handle.write(json.dumps(note, ensure_ascii=False) + "\n")


async def _get(http: httpx.AsyncClient, url: str, **params: Any) -> Any:
    response = await http.get(url, params=params or None)
    if response.status_code != 200:
        raise LogMismatch(f"GET {url} answered {response.status_code}: {response.text[:300]}")
    return response


async def _all_pages(http: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    """Every item of a list endpoint, following `next_cursor`."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(PAGES_MAX):
        params: dict[str, Any] = {"limit": PAGE_LIMIT}
        if cursor:
            params["cursor"] = cursor
        page = (await _get(http, path, **params)).json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return items


def _check_balances(replay: Replay, accounts: list[dict[str, Any]]) -> str:
    """"" when every account's debits and credits are what the records posted."""
    for account in accounts:
        derived = replay.totals.get(str(account["id"]), (0, 0))
        reported = (int(account["debits"]), int(account["credits"]))
        if derived != reported:
            return (f"account {account['code']} ({account['id']}): the API reports debits/"
                    f"credits {reported[0]}/{reported[1]}, the records posted "
                    f"{derived[0]}/{derived[1]}")
    return ""


async def verify_from_api(
    http: httpx.AsyncClient, fund_id: str, log_keys: list[VerifierKey],
    witness_keys: list[VerifierKey], saved: list[str],
) -> ApiVerification:
    report = ApiVerification()
    try:
        await _verify(http, fund_id, log_keys, witness_keys, saved, report)
    except LedgerError as error:
        report.fail(f"{error.code}: {error.detail}")
    except (httpx.HTTPError, ValueError, KeyError) as error:
        report.fail(f"the server's answer could not be read: {error}")
    return report


async def _verify(
    http: httpx.AsyncClient, fund_id: str, log_keys: list[VerifierKey],
    witness_keys: list[VerifierKey], saved: list[str], report: ApiVerification,
) -> None:
    note = (await _get(http, f"/v1/funds/{fund_id}/audit/checkpoint")).text
    current, _ = _open(note, log_keys, fund_id, "the current checkpoint")
    report.checkpoint = note
    report.say(f"checkpoint: {current.tree_size} records, root "
               f"{current.root_hash.hex()} (signature OK)")
    if witness_keys:
        opened = open_note(note, [*log_keys, *witness_keys])
        names = sorted({line.name for line in opened.verified} - {k.name for k in log_keys})
        report.say(f"cosigned by {len(names)} of {len(witness_keys)} witness(es): "
                   f"{', '.join(names) or 'none'}")
        unknown = ", ".join(f"{line.name}+{line.key_id.hex()}" for line in opened.unverified)
        if unknown:
            report.say(f"ignored signatures by unknown keys: {unknown}")
        if not names:
            report.fail("no known witness cosigned the current checkpoint"
                        + (f" (only unknown keys did: {unknown})" if unknown else ""))
            return

    items = await _all_pages(http, f"/v1/funds/{fund_id}/audit")
    replay = replay_records(fund_id, items)
    check_checkpoint_root(replay, current, "the current checkpoint")
    report.say(f"records: {len(items)} re-hashed; records 1 to {current.tree_size} rebuild "
               "the checkpoint's root")

    for position, old_note in enumerate(saved, start=1):
        described = f"saved checkpoint {position}"
        old, _ = _open(old_note, log_keys, fund_id, described)
        check_checkpoint_root(replay, old, f"{described} (size {old.tree_size})")
        if 0 < old.tree_size <= current.tree_size:
            answer = (await _get(http, f"/v1/funds/{fund_id}/audit/consistency",
                                 first=old.tree_size, second=current.tree_size)).json()
            try:
                verify_consistency(old.tree_size, current.tree_size, old.root_hash,
                                   current.root_hash, hashes_from_hex(answer["proof"]))
            except LedgerError as error:
                raise LogMismatch(f"{described} (size {old.tree_size}): the server's "
                                  f"consistency proof does not verify: {error.detail}") from error
        report.say(f"{described}: size {old.tree_size}, consistent with the current checkpoint")

    problem = _check_balances(replay, await _all_pages(http, f"/v1/funds/{fund_id}/accounts"))
    if problem:
        report.fail(problem)
        return
    report.say(f"balances: {len(replay.totals)} account(s) re-derived from the records")


def _open(note: str, log_keys: list[VerifierKey], fund_id: str,
          described: str) -> tuple[Checkpoint, Any]:
    try:
        checkpoint, opened = open_checkpoint(note, log_keys)
    except LedgerError as error:
        raise type(error)(f"{described}: {error.detail}") from error
    if not checkpoint.origin.endswith(f"/funds/{fund_id}"):
        raise LogMismatch(f"{described} is of {checkpoint.origin!r}, not of fund {fund_id}")
    return checkpoint, opened
