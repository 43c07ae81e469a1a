"""Replaying a fund's audit log as the API serves it: what `clubfund audit verify --url`
checks with no database access.

`replay_records` takes the pages of ``GET /v1/funds/{fund_id}/audit`` (items
``{"sequence", "leaf_hash", "record"}``), re-hashes every record, checks the numbering
1, 2, 3… and the fund, and sums what the ``entry.*`` records posted per account.
`check_checkpoint_root` then says whether the first ``size`` records rebuild a
checkpoint's root (a checkpoint saved earlier, or the current one). Errors name the
record or the checkpoint that does not match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ledger.checkpoints import Checkpoint
from ledger.errors import LedgerError
from ledger.merkle import InvalidRecord, hash_from_hex, leaf_hash, root_hash

__all__ = ["LogMismatch", "Replay", "check_checkpoint_root", "replay_records"]

ENTRY_ACTIONS: Final = ("entry.posted", "entry.reversal_posted")


class LogMismatch(LedgerError):
    """The records served do not rebuild what was signed (or do not agree with each other)."""

    code = "log_mismatch"


@dataclass(frozen=True, slots=True)
class Replay:
    """Leaf hashes in sequence order and, per account id, (debits, credits) posted."""

    leaves: tuple[bytes, ...]
    totals: Mapping[str, tuple[int, int]]


def replay_records(fund_id: str, items: Sequence[Mapping[str, Any]]) -> Replay:
    leaves: list[bytes] = []
    totals: dict[str, list[int]] = {}
    for position, item in enumerate(items, start=1):
        record = item.get("record")
        if not isinstance(record, Mapping) or item.get("sequence") != position:
            raise LogMismatch(f"record {position} is missing: the log skips to "
                              f"{item.get('sequence')!r}")
        if record.get("sequence") != position or record.get("fund_id") != fund_id:
            raise LogMismatch(f"record {position} names sequence {record.get('sequence')!r} "
                              f"of fund {record.get('fund_id')!r}")
        try:
            leaf = leaf_hash(record)
        except InvalidRecord as exc:
            raise LogMismatch(f"record {position}: {exc.detail}") from exc
        if leaf != hash_from_hex(item.get("leaf_hash"), f"record {position}'s leaf_hash"):
            raise LogMismatch(f"record {position} does not hash to its leaf_hash")
        leaves.append(leaf)
        data = record.get("data")
        if record.get("action") in ENTRY_ACTIONS and isinstance(data, Mapping):
            for posting in data.get("postings", []):
                sums = totals.setdefault(str(posting["account_id"]), [0, 0])
                sums[0 if posting["side"] == "debit" else 1] += int(posting["amount"])
    return Replay(tuple(leaves), {k: (v[0], v[1]) for k, v in totals.items()})


def check_checkpoint_root(replay: Replay, checkpoint: Checkpoint, described: str) -> None:
    """The first ``checkpoint.tree_size`` records must hash to its root."""
    size = checkpoint.tree_size
    if size > len(replay.leaves):
        raise LogMismatch(f"{described} holds {size} records but the log now serves "
                          f"{len(replay.leaves)}: records were removed")
    if root_hash(replay.leaves[:size]) != checkpoint.root_hash:
        raise LogMismatch(f"{described}: records 1 to {size} no longer hash to its root: "
                          "history was rewritten")
