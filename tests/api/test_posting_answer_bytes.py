"""A posting's answer, its stored idempotent answer, its hash and its audit record, pinned
to the byte: the answer is compact UTF-8 JSON with its fields in the documented order,
the stored answer and the replay are the same bytes, the entry's hash and the audit
record are RFC 8785 JSON of the documents written out here (computed with the `rfc8785`
package, not the service's own fast path). Anything the posting path is made faster by
must leave all of these as they are."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime
from typing import Any

import rfc8785

from tests.api.factories import create_account, create_fund, entry_body

DESCRIPTION = 'Thu góp vốn "tháng 11" \\ của hội viên Trần Thị Lan'
METADATA_CASES: tuple[dict[str, Any], ...] = (
    {"phiếu": "PT-0117", "kỳ": [2026, 11], "đã_kiểm": True, "ghi_chú": None},  # plain JSON
    # a float, and a key above U+FFFF (sorted by UTF-16 code units in RFC 8785)
    {"tỷ_lệ": 1.5, "\U0001f4dd ghi chú": "đã ký", "\uff5e": 0},
)


def compact(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


async def test_a_postings_answer_stored_answer_hash_and_audit_record_are_pinned(
    anonymous, client, superuser_connection
):
    fund = await create_fund(client)
    cash = await create_account(client, fund["id"], "111", "asset")
    capital = await create_account(client, fund["id"], "4111", "equity")
    url = f"/v1/funds/{fund['id']}/entries"
    refused = await anonymous.post(url, json=entry_body(cash["id"], capital["id"], 1_000))
    assert refused.status_code == 401
    for number, metadata in enumerate(METADATA_CASES, start=1):
        body = {**entry_body(cash["id"], capital["id"], 1_500_000 * number,
                             description=DESCRIPTION), "metadata": metadata}
        headers = {"Idempotency-Key": f"pin-{number}", "X-Request-Id": f"pin-request-{number}"}
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code == 201, response.text
        answer = response.json()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z",
                            answer["recorded_at"])
        recorded_at = datetime.fromisoformat(answer["recorded_at"]).isoformat()
        postings = [
            {"line": 1, "account_id": cash["id"], "side": "debit",
             "amount": 1_500_000 * number, "currency": "VND"},
            {"line": 2, "account_id": capital["id"], "side": "credit",
             "amount": 1_500_000 * number, "currency": "VND"},
        ]
        document = {
            "id": answer["id"], "fund_id": fund["id"], "sequence": number,
            "voucher_number": None, "effective_date": "2026-03-05",
            "recorded_at": recorded_at, "description": DESCRIPTION, "currency": "VND",
            "postings": postings, "metadata": metadata, "reverses_entry_id": None,
            "actor": answer["actor"],
        }
        entry_hash = hashlib.sha256(rfc8785.dumps(document)).hexdigest()
        record = await superuser_connection.fetchrow(
            "SELECT action, subject_id, record, leaf_hash FROM audit_records"
            " WHERE fund_id = $1 AND sequence = $2",
            uuid.UUID(fund["id"]), answer["audit"]["sequence"])
        record_bytes = rfc8785.dumps({
            "fund_id": fund["id"], "recorded_at": recorded_at, "actor": answer["actor"],
            "action": "entry.posted", "request_id": f"pin-request-{number}",
            "data": document, "sequence": answer["audit"]["sequence"],
        })
        assert bytes(record["record"]) == record_bytes
        assert (record["action"], record["subject_id"]) == ("entry.posted",
                                                           uuid.UUID(answer["id"]))
        leaf_hash = hashlib.sha256(b"\x00" + record_bytes).hexdigest()
        assert bytes(record["leaf_hash"]).hex() == leaf_hash
        assert response.content == compact({
            "id": answer["id"], "fund_id": fund["id"], "sequence": number,
            "voucher_number": None, "effective_date": "2026-03-05",
            "recorded_at": answer["recorded_at"], "description": DESCRIPTION,
            "currency": "VND", "postings": postings, "metadata": metadata,
            "reverses_entry_id": None, "actor": answer["actor"], "hash": entry_hash,
            "audit": {"sequence": answer["audit"]["sequence"], "leaf_hash": leaf_hash},
        })
        assert response.headers["location"] == f"/v1/entries/{answer['id']}"
        stored = await superuser_connection.fetchrow(
            "SELECT response_status, response_body FROM idempotency_records"
            " WHERE fund_id = $1 AND key = $2", uuid.UUID(fund["id"]), f"pin-{number}")
        assert (stored["response_status"], bytes(stored["response_body"])) == (
            201, response.content)
        again = await client.post(url, json=body, headers=headers)
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["location"] == response.headers["location"]
        assert again.content == response.content
