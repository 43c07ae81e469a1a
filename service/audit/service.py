"""The audit trail: every write records what it wrote, in the same transaction.

`record_write` is the one call every write service makes after its change. The
record is appended to the fund's Merkle log (DESIGN.md "Audit log"); reads,
proofs and signed heads are served from here too.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ledger.audit_records import record_parts
from service.audit import repository
from service.context import RequestContext

# The service-wide log (tokens, areas, clubs) is kept under the nil UUID.
GLOBAL_LOG_ID = uuid.UUID(int=0)


def subject_of(data: dict[str, Any]) -> uuid.UUID | None:
    """What a record is about, when its data names it by id (an entry, an account...)."""
    value = data.get("id")
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return None
    return None


async def record_write(
    ctx: RequestContext, fund_id: uuid.UUID | None, action: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Append an audit record for a write to `fund_id` (None: the service-wide log).

    Locks the fund (writers to one fund serialise), then appends in one round
    trip. Returns {"sequence", "leaf_hash"} of the record.
    """
    log_id = fund_id or GLOBAL_LOG_ID
    # Round-trip through JSON so that what is hashed is plain JSON (ids, dates as strings).
    plain_data = json.loads(json.dumps(data, default=str))
    record = {
        "fund_id": str(log_id),
        "recorded_at": ctx.now.isoformat(),
        "actor": ctx.actor,
        "action": action,
        "request_id": ctx.request_id,
        "data": plain_data,
    }
    head, tail = record_parts(record)
    sequence, leaf_hash = await repository.append_record(
        ctx.connection, log_id, action, subject_of(plain_data), head, tail
    )
    return {"sequence": sequence, "leaf_hash": leaf_hash.hex()}
