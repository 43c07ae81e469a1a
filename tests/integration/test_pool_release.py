"""The pool sends nothing when a request gives its connection back (no reset query): every
setting a request makes is transaction-local, so the next request on the same
connection sees nothing of the previous one's scope."""

from __future__ import annotations

from typing import Any

import httpx

from service.app import create_app
from service.database import create_pool
from service.settings import Settings
from tests.api.factories import create_area, create_club


async def test_the_next_request_on_a_released_connection_sees_nothing_of_the_last_scope(
    database, owner_connection, new_token, audit_signing_key
):
    pool = await create_pool(database.app_url, min_size=1, max_size=1)
    sent: list[str] = []
    try:
        async with pool.acquire() as connection:
            server_pid = connection.get_server_pid()
            connection.add_query_logger(lambda record: sent.append(record.query))
        app = create_app(Settings(database_url="postgresql://unused",
                                  audit_signing_key=audit_signing_key), pool=pool)
        await create_area(owner_connection, "61", "province")
        commune = await create_area(owner_connection, "61001", "commune", parent_code="61")
        first = await create_club(owner_connection, commune, name="CLB một")
        second = await create_club(owner_connection, commune, name="CLB hai")
        tokens = {
            "admin": await new_token("admin"),
            "first": await new_token("treasurer", scope=f"club:{first['club_id']}"),
            "second": await new_token("treasurer", scope=f"club:{second['club_id']}"),
        }
        sees = {"admin": {first["fund_id"], second["fund_id"]},
                "first": {first["fund_id"]}, "second": {second["fund_id"]}}

        async def funds_seen(caller: str | None) -> Any:
            headers = {"Authorization": f"Bearer {tokens[caller]}"} if caller else {}
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://clubfund.test",
                                         headers=headers) as http:
                response = await http.get("/v1/funds")
                other = second if caller == "first" else first
                foreign = await http.get(f"/v1/funds/{other['fund_id']}")
            if caller is None:
                return response.status_code, foreign.status_code
            assert response.status_code == 200, response.text
            return {f["id"] for f in response.json()["items"]}, foreign.status_code

        # Every scope in turn on the one connection: admin (every fund), one club, the
        # other club, nobody, and back.
        for caller in ("admin", "first", "admin", "second", None, "first", "second"):
            seen, foreign = await funds_seen(caller)
            if caller is None:
                assert (seen, foreign) == (401, 401)
            else:
                assert seen == sees[caller], caller
                assert foreign == (200 if caller == "admin" else 404), caller
        async with pool.acquire() as connection:
            assert connection.get_server_pid() == server_pid  # the same connection throughout
            scope = await connection.fetchrow(
                "SELECT current_setting('clubfund.all_funds', true) AS all_funds,"
                " current_setting('clubfund.fund_ids', true) AS fund_ids,"
                " current_setting('clubfund.principal_id', true) AS principal_id,"
                " (SELECT count(*) FROM funds) AS funds_seen")
        assert scope["all_funds"] in (None, "")
        assert scope["fund_ids"] in (None, "")
        assert scope["principal_id"] in (None, "")
        assert scope["funds_seen"] == 0
        assert sent, "the query logger saw the requests' statements"
        resets = [q for q in sent if "RESET ALL" in q or "pg_advisory_unlock_all" in q]
        assert resets == []
    finally:
        await pool.close()
