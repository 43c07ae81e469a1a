"""Members, loans and closed months carry the audit stamp entries carry: the sequence
and leaf hash of the record that wrote them, the same on every read."""

from __future__ import annotations

from tests.api.test_loans_api import apply, club  # noqa: F401 (a fixture)


async def audit_records(client, fund: str) -> dict[int, dict]:
    records, cursor = {}, None
    while True:
        page = (await client.get(f"/v1/funds/{fund}/audit",
                                 params={"limit": 100, **({"cursor": cursor} if cursor else {})}
                                 )).json()
        records |= {r["sequence"]: r for r in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return records


async def test_members_loans_and_closed_months_carry_their_audit_stamp(club):  # noqa: F811
    treasurer, fund = club["treasurer"], club["fund"]
    created = await treasurer.post(f"/v1/clubs/{club['club']}/members", json={
        "name": "Trần Văn B", "gender": "male", "birth_year": 1950})
    member = created.json()
    listed = (await treasurer.get(f"/v1/clubs/{club['club']}/members")).json()["items"]
    assert next(m for m in listed if m["id"] == member["id"])["audit"] == member["audit"]
    book = (await treasurer.get(
        f"/v1/clubs/{club['club']}/members/{member['id']}/passbook")).json()
    assert book["member"]["audit"] == member["audit"]

    loan = await apply(club)
    approved = (await club["chair"].post(f"/v1/loans/{loan['id']}/approval",
                                         json={"effective_date": "2026-02-01"})).json()
    read = (await treasurer.get(f"/v1/loans/{loan['id']}")).json()
    page = (await treasurer.get(f"/v1/funds/{fund}/loans")).json()["items"]
    assert loan["audit"] is not None
    assert approved["audit"] == read["audit"] == page[0]["audit"] == loan["audit"]

    closed = (await club["admin"].post(f"/v1/funds/{fund}/periods/2026-01/close")).json()
    periods = (await treasurer.get(f"/v1/funds/{fund}/periods")).json()["items"]
    assert periods[0]["audit"] == closed["audit"] is not None

    records = await audit_records(treasurer, fund)
    for stamp, action, check in (
        (member["audit"], "member.created", lambda d: d["id"] == member["id"]),
        (loan["audit"], "loan.applied", lambda d: d["loan_id"] == loan["id"]),
        (closed["audit"], "period.closed", lambda d: d["period"] == "2026-01"),
    ):
        record = records[stamp["sequence"]]
        assert record["leaf_hash"] == stamp["leaf_hash"]
        assert record["record"]["action"] == action and check(record["record"]["data"])
