"""The authenticated caller of a request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from service.auth.rules import INTEGRATION_READ, INTEGRATION_WRITE


def person_actor(person_id: uuid.UUID) -> str:
    """How entries, events and audit records name the person who wrote them."""
    return f"person:{person_id}"


@dataclass(frozen=True)
class Principal:
    """The token presented and the person it belongs to (role and scope are hers)."""

    token_id: str
    person_id: uuid.UUID
    role: str
    scope: str | None
    can_write: bool
    # The member of the scope's club the person is, if any.
    member_id: uuid.UUID | None = None
    # The clubs and funds in scope, resolved when the request began; None: every one (admin).
    club_ids: frozenset[uuid.UUID] | None = None
    fund_ids: frozenset[uuid.UUID] | None = None

    def sees_fund(self, fund_id: uuid.UUID) -> bool:
        return self.fund_ids is None or fund_id in self.fund_ids

    def sees_club(self, club_id: uuid.UUID) -> bool:
        return self.club_ids is None or club_id in self.club_ids

    @property
    def access(self) -> str:
        """The access kind the rule table speaks of (integrations split by `write`)."""
        if self.role == "integration":
            return INTEGRATION_WRITE if self.can_write else INTEGRATION_READ
        return self.role

    @property
    def actor(self) -> str:
        """The person, stable and non-secret: recorded on every entry, loan event and
        audit record she writes, whichever of her tokens she used."""
        return person_actor(self.person_id)
