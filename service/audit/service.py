"""The audit trail: every write records what it wrote, in the same transaction.

`record_write` is the one call every write service makes after its change.
"""

from __future__ import annotations

import uuid
from typing import Any

from service.context import RequestContext


async def record_write(
    ctx: RequestContext, fund_id: uuid.UUID | None, action: str, data: dict[str, Any]
) -> dict[str, Any] | None:
    """Append an audit record for a write to `fund_id` (None: the service-wide log).

    Returns {"sequence", "leaf_hash"} of the record. Not yet backed by the
    Merkle log (issue 6): until then nothing is recorded.
    """
    return None
