"""What a fund's archive holds: each table, which of its rows belong to the fund, and
the order a restore writes them in (each table after the ones it refers to).

Rows travel as PostgreSQL's own JSON of the row (`row_to_json`): uuids, dates and
times (UTC) as strings, bytea as "\\x" hex, numeric as exact JSON numbers, arrays as
JSON arrays. A restore turns them back with `json_populate_record`, so no value passes
through a Python float.

Not in an archive, on purpose: bearer tokens, web sign-ins and sessions (secrets of
the origin server: issue new ones); the service-wide audit log (areas, clubs and
tokens of every club); rows the database derives (account_balances, daily_balances,
daily_fund_figures, seed_grant_credits, fund_months, a loan's schedule and payment
columns: its triggers rebuild them from the entries, postings, installments and loan
events); the Merkle nodes and tree state (rebuilt from the records' leaf hashes and
checked against the signed heads).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

ARCHIVE_FORMAT = "clubfund-fund-archive"
ARCHIVE_VERSION = 1


class Ownership(Enum):
    REFERENCE = "reference"  # shared by every fund: kept as the target has it
    CLUB = "club"  # the fund's club's rows (`club_id` or the column named)
    FUND = "fund"  # the fund's rows (`fund_id`)


@dataclass(frozen=True)
class ArchivedTable:
    name: str
    ownership: Ownership
    # SQL over the table aliased `t` choosing the fund's rows; $1 is the fund id.
    selection: str
    order_by: str
    primary_key: str
    # The column a restore checks names the archive's fund (FUND) or its club (CLUB).
    owner_column: str | None = None


FUND_CLUB = "(SELECT f.club_id FROM funds f WHERE f.id = $1)"
FUND_AREAS = f"""(WITH RECURSIVE wanted(code) AS (
        SELECT ca.area_code FROM club_areas ca WHERE ca.club_id = {FUND_CLUB}
        UNION SELECT c.area_code FROM clubs c WHERE c.id = {FUND_CLUB}
        UNION SELECT p.parent_code FROM area_parents p JOIN wanted w ON p.code = w.code
               WHERE p.parent_code IS NOT NULL)
    SELECT code FROM wanted)"""


def _fund(name: str, order_by: str) -> ArchivedTable:
    return ArchivedTable(name, Ownership.FUND, "t.fund_id = $1", order_by, f"pk_{name}",
                         owner_column="fund_id")


ARCHIVED_TABLES: tuple[ArchivedTable, ...] = (
    ArchivedTable("areas", Ownership.REFERENCE, f"t.code IN {FUND_AREAS}", "code", "pk_areas"),
    ArchivedTable("area_parents", Ownership.REFERENCE, f"t.code IN {FUND_AREAS}",
                  "code, valid_from", "pk_area_parents"),
    ArchivedTable("clubs", Ownership.CLUB, f"t.id = {FUND_CLUB}", "id", "pk_clubs",
                  owner_column="id"),
    ArchivedTable("club_areas", Ownership.CLUB, f"t.club_id = {FUND_CLUB}",
                  "valid_from", "pk_club_areas", owner_column="club_id"),
    ArchivedTable("members", Ownership.CLUB, f"t.club_id = {FUND_CLUB}", "id", "pk_members",
                  owner_column="club_id"),
    ArchivedTable("people", Ownership.CLUB, f"t.scope_club_id = {FUND_CLUB}", "id",
                  "pk_people", owner_column="scope_club_id"),
    ArchivedTable("funds", Ownership.FUND, "t.id = $1", "id", "pk_funds", owner_column="id"),
    _fund("accounts", "code"),
    _fund("voucher_counters", "kind, year"),
    _fund("entries", "sequence"),
    _fund("postings", "sequence, line"),
    _fund("corrections", "requested_at, id"),
    _fund("loans", "number"),
    _fund("loan_installments", "loan_id, disbursement, number"),
    _fund("loan_events", "recorded_at, loan_id, sequence"),
    _fund("closed_periods", "closed_at, period"),
    _fund("idempotency_records", "created_at, principal_id, key"),
    _fund("audit_records", "sequence"),
    _fund("audit_heads", "tree_size, key_id"),
    _fund("audit_cosignatures", "tree_size, witness_key"),
)
TABLES_BY_NAME = {table.name: table for table in ARCHIVED_TABLES}

# Kept from the archive as a value of the origin server only: a restore gives its
# records the feed position of its own transaction (the events feed's order).
SERVER_LOCAL_COLUMNS = {"audit_records": ("feed_key",)}
