"""Who may call which route: one rule per (method, path template).

Every route of the app must have a row here: the middleware refuses a route
without one (500, logged), and tests/api/test_authorisation_matrix.py fails
when the table and the app's routes differ. A rule names the kinds of token
that may call the route; *where* they may call it (which funds) is the token's
scope, enforced by row-level security: a resource outside the scope is not
found (404), exactly like one that does not exist.

Auditors only read, but for one route (`AUDITOR_WRITES`): the plan's targets, which
the service lets an auditor set only inside her own province (docs/access.md).

Adding a route: add one line, e.g.
    ("POST", "/v1/loans/{loan_id}/approval"): APPROVE,
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# What a token is allowed to be: its role, and for integrations whether it writes.
ADMIN: Final = "admin"
AUDITOR: Final = "auditor"
TREASURER: Final = "treasurer"
CHAIR: Final = "chair"
INTEGRATION_READ: Final = "integration_read"
INTEGRATION_WRITE: Final = "integration_write"
ACCESS_KINDS: Final = frozenset(
    {ADMIN, AUDITOR, TREASURER, CHAIR, INTEGRATION_READ, INTEGRATION_WRITE}
)
WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Rule:
    """`roles`: the access kinds that may call the route inside their scope.
    `public`: no token needed (operations endpoints, docs)."""

    roles: frozenset[str] = frozenset()
    public: bool = False
    # A web page: authenticated by the session cookie when there is one, never refused
    # here (the page sends a visitor who is not signed in to the sign-in page, and
    # decides by the person's role what she may see).
    page: bool = False

    def allows(self, access: str) -> bool:
        return self.public or access in self.roles


PUBLIC: Final = Rule(public=True)
PAGE: Final = Rule(page=True)
# Read inside the scope: everyone.
READ: Final = Rule(ACCESS_KINDS)
# Record money movements and ledger data: the club's officers, admins, writing integrations.
RECORD: Final = Rule(frozenset({TREASURER, CHAIR, ADMIN, INTEGRATION_WRITE}))
# The second pair of eyes: approvals, write-offs, period closes.
APPROVE: Final = Rule(frozenset({CHAIR, ADMIN}))
# The second person's decision on a correction: a chair or an admin (reversals), an
# auditor of the area or an admin (reopening a month); the service tells them apart.
DECIDE_CORRECTION: Final = Rule(frozenset({CHAIR, ADMIN, AUDITOR}))
# Reference data and access control.
ADMIN_ONLY: Final = Rule(frozenset({ADMIN}))
# The province's plan: admins, and auditors, whom the service then holds to a province
# scope (its own areas only). The one write an auditor makes: the department that
# monitors the plan keeps its targets; it records nothing in any fund.
PLAN: Final = Rule(frozenset({ADMIN, AUDITOR}))
AUDITOR_WRITES: Final = frozenset({("POST", "/v1/areas/{code}/targets")})

RULES: dict[tuple[str, str], Rule] = {
    # operations and documentation
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/assets/{asset_name}"): PUBLIC,
    # funds
    ("POST", "/v1/funds"): ADMIN_ONLY,
    ("GET", "/v1/funds"): READ,
    ("GET", "/v1/funds/{fund_id}"): READ,
    # accounts
    ("POST", "/v1/funds/{fund_id}/accounts"): RECORD,
    ("GET", "/v1/funds/{fund_id}/accounts"): READ,
    ("GET", "/v1/accounts/{account_id}"): READ,
    # entries
    ("POST", "/v1/funds/{fund_id}/entries"): RECORD,
    ("GET", "/v1/funds/{fund_id}/entries"): READ,
    ("GET", "/v1/entries/{entry_id}"): READ,
    ("POST", "/v1/entries/{entry_id}/reversal"): RECORD,
    # reports
    ("GET", "/v1/accounts/{account_id}/statement"): READ,
    ("GET", "/v1/funds/{fund_id}/trial-balance"): READ,
    ("GET", "/v1/funds/{fund_id}/balance-sheet"): READ,
    ("GET", "/v1/funds/{fund_id}/income-statement"): READ,
    ("GET", "/v1/reports/portfolio"): READ,
    ("GET", "/v1/reports/programme"): READ,
    # people (only an admin adds people: a chair could otherwise make a second person to
    # approve her own applications; reads show the people of the scope's clubs, and oneself)
    ("POST", "/v1/people"): ADMIN_ONLY,
    ("POST", "/v1/people/{person_id}/setup-code"): ADMIN_ONLY,
    ("GET", "/v1/people/{person_id}"): READ,
    # tokens
    ("POST", "/v1/tokens"): ADMIN_ONLY,
    ("GET", "/v1/tokens"): ADMIN_ONLY,
    ("POST", "/v1/tokens/{token_id}/revocation"): ADMIN_ONLY,
    # audit log (the service-wide log, under the nil fund id, is in an admin's scope only)
    ("GET", "/v1/funds/{fund_id}/audit"): READ,
    ("GET", "/v1/funds/{fund_id}/audit/head"): READ,
    ("GET", "/v1/funds/{fund_id}/audit/checkpoint"): READ,
    ("GET", "/v1/funds/{fund_id}/audit/checkpoint/verification"): READ,
    ("GET", "/v1/entries/{entry_id}/receipt"): READ,
    ("GET", "/v1/funds/{fund_id}/audit/proof"): READ,
    ("GET", "/v1/funds/{fund_id}/audit/consistency"): READ,
    ("GET", "/v1/funds/{fund_id}/audit/verify"): READ,
    ("GET", "/.well-known/clubfund/audit-keys"): PUBLIC,
    ("GET", "/v1/events"): READ,
    # areas (reference data: the admin keeps the tree; reads show the areas of the scope)
    ("POST", "/v1/areas"): ADMIN_ONLY,
    ("GET", "/v1/areas"): READ,
    ("GET", "/v1/areas/{code}"): READ,
    ("POST", "/v1/areas/{code}/parents"): ADMIN_ONLY,
    ("POST", "/v1/areas/{code}/dissolution"): ADMIN_ONLY,
    ("POST", "/v1/areas/{code}/targets"): PLAN,
    ("GET", "/v1/areas/{code}/targets"): READ,
    # clubs and members
    ("POST", "/v1/clubs"): ADMIN_ONLY,
    ("GET", "/v1/clubs"): READ,
    ("GET", "/v1/clubs/{club_id}"): READ,
    ("POST", "/v1/clubs/{club_id}/area"): ADMIN_ONLY,
    ("POST", "/v1/clubs/{club_id}/members"): RECORD,
    ("GET", "/v1/clubs/{club_id}/members"): READ,
    ("GET", "/v1/clubs/{club_id}/members/{member_id}"): READ,
    ("PATCH", "/v1/clubs/{club_id}/members/{member_id}"): RECORD,
    ("GET", "/v1/clubs/{club_id}/members/{member_id}/passbook"): READ,
    # cash book
    ("POST", "/v1/funds/{fund_id}/seed-grants"): RECORD,
    ("POST", "/v1/funds/{fund_id}/donations"): RECORD,
    ("POST", "/v1/funds/{fund_id}/contributions"): RECORD,
    ("POST", "/v1/funds/{fund_id}/expenses"): RECORD,
    # batches (each item is also held to its own operation's rule: all are RECORD)
    ("POST", "/v1/funds/{fund_id}/batches"): RECORD,
    # loans
    ("POST", "/v1/funds/{fund_id}/loans"): RECORD,
    ("GET", "/v1/funds/{fund_id}/loans"): READ,
    ("GET", "/v1/loans/{loan_id}"): READ,
    ("GET", "/v1/loans/{loan_id}/schedule"): READ,
    ("POST", "/v1/loans/{loan_id}/approval"): APPROVE,
    ("POST", "/v1/loans/{loan_id}/reschedule"): RECORD,
    ("POST", "/v1/loans/{loan_id}/disbursement"): RECORD,
    ("POST", "/v1/loans/{loan_id}/repayments"): RECORD,
    ("POST", "/v1/loans/{loan_id}/write-off"): RECORD,
    ("POST", "/v1/loans/{loan_id}/write-off/approval"): APPROVE,
    ("POST", "/v1/loans/{loan_id}/recoveries"): RECORD,
    ("POST", "/v1/loans/{loan_id}/waivers"): RECORD,
    # periods
    ("POST", "/v1/funds/{fund_id}/periods/{period}/close"): APPROVE,
    ("GET", "/v1/funds/{fund_id}/periods"): READ,
    ("POST", "/v1/funds/{fund_id}/periods/{period}/reopen"): APPROVE,
    # corrections
    ("POST", "/v1/corrections/{correction_id}/approval"): DECIDE_CORRECTION,
    ("POST", "/v1/corrections/{correction_id}/rejection"): DECIDE_CORRECTION,
    ("GET", "/v1/corrections/{correction_id}"): READ,
    ("GET", "/v1/funds/{fund_id}/corrections"): READ,
    # web pages (service/pages): the session cookie's person, her role decides in the page
    ("GET", "/pages/style.css"): PUBLIC,
    ("GET", "/"): PAGE,
    ("GET", "/sign-in"): PAGE,
    ("POST", "/sign-in"): PAGE,
    ("GET", "/set-pin"): PAGE,
    ("POST", "/set-pin"): PAGE,
    ("POST", "/sign-out"): PAGE,
    ("GET", "/clubs/{club_id}"): PAGE,
    ("GET", "/clubs/{club_id}/members"): PAGE,
    ("GET", "/clubs/{club_id}/members/new"): PAGE,
    ("POST", "/clubs/{club_id}/members/new"): PAGE,
    ("GET", "/clubs/{club_id}/members/{member_id}"): PAGE,
    ("GET", "/clubs/{club_id}/money/{operation}"): PAGE,
    ("POST", "/clubs/{club_id}/money/{operation}"): PAGE,
    ("GET", "/clubs/{club_id}/loans/new"): PAGE,
    ("POST", "/clubs/{club_id}/loans/new"): PAGE,
    ("GET", "/clubs/{club_id}/approvals"): PAGE,
    ("GET", "/loans/{loan_id}"): PAGE,
    ("POST", "/loans/{loan_id}/approval"): PAGE,
    ("POST", "/loans/{loan_id}/disbursement"): PAGE,
    ("GET", "/loans/{loan_id}/repayment"): PAGE,
    ("POST", "/loans/{loan_id}/repayment"): PAGE,
    ("GET", "/auditor"): PAGE,
    ("GET", "/auditor/clubs/{club_id}"): PAGE,
    ("GET", "/auditor/clubs/{club_id}/accounts/{account_id}"): PAGE,
    ("GET", "/auditor/programme"): PAGE,
    # the meeting page without signal (service/pages/meeting_pages.py)
    ("GET", "/clubs/{club_id}/meeting"): PAGE,
    ("POST", "/clubs/{club_id}/meeting/batch"): PAGE,
    ("GET", "/pages/meeting.js"): PUBLIC,
    ("GET", "/meeting-worker.js"): PUBLIC,
    # the chair's queue and month close, correcting a mistake (service/pages/chair_pages.py)
    ("POST", "/clubs/{club_id}/approvals/{kind}/{item_id}"): PAGE,
    ("GET", "/clubs/{club_id}/close-month"): PAGE,
    ("POST", "/clubs/{club_id}/close-month"): PAGE,
    ("POST", "/clubs/{club_id}/reopen-month"): PAGE,
    ("GET", "/clubs/{club_id}/corrections"): PAGE,
    ("GET", "/entries/{entry_id}/correction"): PAGE,
    ("POST", "/entries/{entry_id}/correction"): PAGE,
    ("GET", "/loans/{loan_id}/write-off"): PAGE,
    ("POST", "/loans/{loan_id}/write-off"): PAGE,
    # printed vouchers (service/pages/voucher_pages.py)
    ("GET", "/clubs/{club_id}/vouchers/{number}"): PAGE,
    # editing a member (service/pages/member_pages.py)
    ("GET", "/clubs/{club_id}/members/{member_id}/edit"): PAGE,
    ("POST", "/clubs/{club_id}/members/{member_id}/edit"): PAGE,
}


def rule_for(method: str, path_template: str) -> Rule | None:
    """The rule of a route (HEAD is treated as GET); None when it has none."""
    return RULES.get(("GET" if method == "HEAD" else method, path_template))
