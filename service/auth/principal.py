"""The authenticated caller of a request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from service.auth.rules import INTEGRATION_READ, INTEGRATION_WRITE


@dataclass(frozen=True)
class Principal:
    token_id: str
    role: str
    scope: str | None
    can_write: bool
    # The funds in scope, resolved when the request began; None: every fund (admin).
    fund_ids: frozenset[uuid.UUID] | None = None

    def sees_fund(self, fund_id: uuid.UUID) -> bool:
        return self.fund_ids is None or fund_id in self.fund_ids

    @property
    def access(self) -> str:
        """The access kind the rule table speaks of (integrations split by `write`)."""
        if self.role == "integration":
            return INTEGRATION_WRITE if self.can_write else INTEGRATION_READ
        return self.role

    @property
    def actor(self) -> str:
        """Stable and non-secret: recorded on every entry and audit record it writes."""
        return f"{self.token_id}:{self.role}"
