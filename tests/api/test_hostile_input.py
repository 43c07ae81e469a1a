"""Hostile input never gets a 5xx: limits on bodies, metadata, text and cursors, formula-safe
exports, and the headers every answer carries.

Each refusal is a 4xx problem+json with a stable `code`, and nothing is written.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import uuid

import httpx
import pytest
from openpyxl import load_workbook

from ledger.input_limits import (
    BODY_DEPTH_MAX,
    BODY_SIZE_MAX_BYTES,
    METADATA_DEPTH_MAX,
    METADATA_SIZE_MAX_BYTES,
)
from tests.api.factories import (
    create_account,
    create_fund,
    create_person,
    entry_body,
    post_club,
    post_commune,
    post_member,
)

PROBLEM = "application/problem+json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def nested(depth: int) -> dict:
    """An object `depth` levels deep: {"n": {"n": ... {"n": 1}}}."""
    value: object = 1
    for _ in range(depth):
        value = {"n": value}
    assert isinstance(value, dict)
    return value


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == code, response.text


async def written(connection) -> tuple:
    """Counts of everything a write could add (read as the schema owner, every fund)."""
    return tuple([
        await connection.fetchval(f"SELECT count(*) FROM {table}")
        for table in ("funds", "accounts", "entries", "audit_records", "idempotency_records",
                      "areas", "clubs", "members", "loans", "tokens")
    ])


@pytest.fixture
async def ledger(client):
    fund = await create_fund(client)
    cash = await create_account(client, fund["id"], "111", "asset")
    capital = await create_account(client, fund["id"], "4111", "equity")
    return {"fund": fund["id"], "cash": cash["id"], "capital": capital["id"]}


# --- bodies ----------------------------------------------------------------------------------


async def test_a_deeply_nested_body_is_refused_before_authentication(anonymous, client, ledger):
    deep = b"[" * 100_000 + b"]" * 100_000
    for http in (anonymous, client):
        response = await http.post(f"/v1/funds/{ledger['fund']}/entries", content=deep,
                                   headers={"content-type": "application/json"})
        assert_problem(response, 400, "json_too_deep")
    within = entry_body(ledger["cash"], ledger["capital"], 5)
    within["metadata"] = nested(METADATA_DEPTH_MAX)
    response = await client.post(f"/v1/funds/{ledger['fund']}/entries", json=within)
    assert response.status_code == 201, response.text
    too_deep_body = json.dumps(nested(BODY_DEPTH_MAX + 1)).encode()
    response = await client.post("/v1/funds", content=too_deep_body,
                                 headers={"content-type": "application/json"})
    assert_problem(response, 400, "json_too_deep")


async def test_a_body_over_one_mebibyte_is_refused_and_nothing_is_written(
    anonymous, client, ledger, owner_connection
):
    before = await written(owner_connection)
    big = entry_body(ledger["cash"], ledger["capital"], 5)
    big["metadata"] = {"blob": "x" * 10_000_000}
    for http in (anonymous, client):
        response = await http.post(f"/v1/funds/{ledger['fund']}/entries", json=big)
        assert_problem(response, 413, "payload_too_large")
    assert BODY_SIZE_MAX_BYTES == 1024 * 1024

    async def chunks():  # no Content-Length: the limit holds while reading
        yield b'{"name": "'
        for _ in range(20):
            yield b"y" * 100_000
        yield b'", "currency": "VND"}'

    response = await client.post("/v1/funds", content=chunks(),
                                 headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")
    response = await client.post("/v1/funds", content=b"{}",
                                 headers={"content-length": str(BODY_SIZE_MAX_BYTES + 1)})
    assert_problem(response, 413, "payload_too_large")
    assert await written(owner_connection) == before


async def test_a_body_at_the_limit_is_read(client, ledger):
    body = entry_body(ledger["cash"], ledger["capital"], 5)
    body["description"] = "d"
    encoded = json.dumps(body).encode()
    padded = encoded[:-1] + b" " * (BODY_SIZE_MAX_BYTES - len(encoded)) + b"}"
    assert len(padded) == BODY_SIZE_MAX_BYTES
    response = await client.post(f"/v1/funds/{ledger['fund']}/entries", content=padded,
                                 headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text


# --- metadata --------------------------------------------------------------------------------


async def test_metadata_too_deep_or_too_large_is_refused_and_feeds_stay_readable(
    anonymous, client, ledger, owner_connection
):
    response = await anonymous.post(f"/v1/funds/{ledger['fund']}/entries",
                                    json=entry_body(ledger["cash"], ledger["capital"], 5))
    assert_problem(response, 401, "unauthenticated")
    before = await written(owner_connection)
    deep = entry_body(ledger["cash"], ledger["capital"], 5)
    deep["metadata"] = nested(METADATA_DEPTH_MAX + 1)
    response = await client.post(f"/v1/funds/{ledger['fund']}/entries", json=deep)
    assert_problem(response, 422, "metadata_too_deep")
    for size in (5_000_000, METADATA_SIZE_MAX_BYTES):  # the limit counts compact JSON bytes
        large = entry_body(ledger["cash"], ledger["capital"], 5)
        large["metadata"] = {"blob": "x" * size}
        response = await client.post(f"/v1/funds/{ledger['fund']}/entries", json=large)
        assert_problem(response, 413 if size > BODY_SIZE_MAX_BYTES else 422,
                       "payload_too_large" if size > BODY_SIZE_MAX_BYTES
                       else "metadata_too_large")
    assert await written(owner_connection) == before

    fits = entry_body(ledger["cash"], ledger["capital"], 5)
    fits["metadata"] = {"blob": "x" * (METADATA_SIZE_MAX_BYTES - len('{"blob":""}')),
                        } | {}
    response = await client.post(f"/v1/funds/{ledger['fund']}/entries", json=fits)
    assert response.status_code == 201, response.text
    deepest = entry_body(ledger["cash"], ledger["capital"], 5)
    deepest["metadata"] = nested(METADATA_DEPTH_MAX)
    response = await client.post(f"/v1/funds/{ledger['fund']}/entries", json=deepest)
    assert response.status_code == 201, response.text
    assert response.json()["metadata"] == nested(METADATA_DEPTH_MAX)
    for path in (f"/v1/funds/{ledger['fund']}/audit", "/v1/events",
                 f"/v1/funds/{ledger['fund']}/entries"):
        response = await client.get(path, params={"limit": 500})
        assert response.status_code == 200, (path, response.text)


async def test_metadata_numbers_outside_json_s_safe_range_are_refused(client, ledger):
    for raw in ("NaN", "Infinity", "-Infinity", str(2**53), "1e400", "9" * 5000):
        body = json.dumps(entry_body(ledger["cash"], ledger["capital"], 5))
        body = body[:-1] + ', "metadata": {"x": ' + raw + "}}"
        response = await client.post(f"/v1/funds/{ledger['fund']}/entries", content=body,
                                     headers={"content-type": "application/json"})
        assert 400 <= response.status_code < 500, (raw, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)


# --- text ------------------------------------------------------------------------------------

BAD_TEXT = {"bell": "a\u0007b", "nul": "a\u0000b", "lone surrogate": "a\ud800b",
            "carriage return": "a\rb", "escape": "\u001b[31m", "delete": "a\u007fb",
            "C1 control": "a\u0085b"}


def raw_json(document: dict) -> bytes:
    """JSON with lone surrogates kept as escapes (httpx's encoder cannot send them)."""
    return json.dumps(document, ensure_ascii=True).encode()


async def test_a_control_character_in_any_stored_text_is_refused(
    anonymous, client, ledger, owner_connection
):
    commune = await post_commune(client)
    club = await post_club(client, commune)
    member = await post_member(client, club["id"])
    loan_body = {"member_id": member["id"], "principal": 1_000_000, "installments": 2,
                 "rate_per_period": "0.01", "first_due_date": "2026-03-05",
                 "applied_on": "2026-02-01"}
    loan = await client.post(f"/v1/funds/{club['fund_id']}/loans", json=loan_body)
    assert loan.status_code == 201, loan.text
    entry = await client.post(f"/v1/funds/{ledger['fund']}/entries",
                              json=entry_body(ledger["cash"], ledger["capital"], 5))
    assert entry.status_code == 201, entry.text
    cash_operation = {"amount": 5, "source": "donor", "effective_date": "2026-01-15"}
    admin_person = await create_person(client, "admin")
    good_entry = entry_body(ledger["cash"], ledger["capital"], 5)
    # (path, good body, the field that gets the bad text); about every stored string.
    fields: list[tuple[str, dict, tuple]] = [
        ("/v1/funds", {"name": "Quỹ", "currency": "VND"}, ("name",)),
        (f"/v1/funds/{ledger['fund']}/accounts", {"code": "112", "name": "n", "type": "asset"},
         ("name",)),
        (f"/v1/funds/{ledger['fund']}/entries", good_entry, ("description",)),
        (f"/v1/funds/{ledger['fund']}/entries", good_entry, ("metadata", "key")),
        (f"/v1/funds/{ledger['fund']}/entries", good_entry, ("metadata", "value")),
        (f"/v1/entries/{entry.json()['id']}/reversal", {}, ("description",)),
        ("/v1/areas", {"code": "77", "name": "n", "level": "province",
                       "valid_from": "2025-07-01"}, ("name",)),
        ("/v1/clubs", {"name": "n", "area_code": commune}, ("name",)),
        (f"/v1/clubs/{club['id']}/members", {"name": "n", "gender": "male",
                                             "birth_year": 1950}, ("name",)),
        (f"/v1/funds/{club['fund_id']}/donations", cash_operation, ("description",)),
        (f"/v1/funds/{club['fund_id']}/donations", cash_operation, ("counterparty",)),
        (f"/v1/funds/{club['fund_id']}/seed-grants",
         cash_operation | {"source": "district_budget"}, ("decision_number",)),
        (f"/v1/funds/{club['fund_id']}/loans", loan_body, ("purpose",)),
        (f"/v1/loans/{loan.json()['id']}/approval", {"decision": "reject"}, ("note",)),
        (f"/v1/loans/{loan.json()['id']}/write-off", {}, ("reason",)),
        (f"/v1/loans/{loan.json()['id']}/reschedule", {"installments": 1}, ("reason",)),
        ("/v1/people", {"name": "n", "role": "auditor", "scope": "area:77"}, ("scope",)),
        ("/v1/people", {"name": "n", "role": "admin"}, ("name",)),
        ("/v1/people", {"name": "n", "role": "admin"}, ("phone",)),
        ("/v1/tokens", {"person_id": admin_person["id"]}, ("label",)),
        (f"/v1/areas/{commune}/targets", {"year": 2026, "new_clubs": 1, "members": 1,
                                          "plan_reference": "70/KH-UBND"}, ("plan_reference",)),
        (f"/v1/funds/{club['fund_id']}/periods/2026-01/reopen", {"reason": "r"}, ("reason",)),
        (f"/v1/corrections/{uuid.uuid4()}/approval", {}, ("note",)),
        (f"/v1/corrections/{uuid.uuid4()}/rejection", {}, ("note",)),
    ]
    for path, body, _ in fields[:3]:
        response = await anonymous.post(path, json=body)
        assert_problem(response, 401, "unauthenticated")
    before = await written(owner_connection)
    for path, good, where in fields:
        for name, text in BAD_TEXT.items():
            body = json.loads(json.dumps(good))
            if where == ("metadata", "key"):
                body["metadata"] = {f"k{text}": 1}
            elif where == ("metadata", "value"):
                body["metadata"] = {"k": ["ok", {"deeper": text}]}
            elif where == ("scope",):
                body["scope"] = f"area:{text}"
            else:
                body[where[0]] = text
            response = await client.post(path, content=raw_json(body),
                                         headers={"content-type": "application/json"})
            assert response.status_code == 422, (path, where, name, response.text)
            assert_problem(response, 422, "invalid_text")
    assert await written(owner_connection) == before
    tab_and_newline = await client.post("/v1/funds", json={"name": "Quỹ\tthử\nhai"})
    assert tab_and_newline.status_code == 201, tab_and_newline.text


def test_every_text_a_request_body_takes_has_a_pattern(app):
    """The text rule (or a narrower pattern, a format, a list of values) on every string a
    request body holds, as the document states it: a free string would reach PostgreSQL,
    which refuses a NUL with an error, not an answer."""
    document = app.openapi()
    schemas = document["components"]["schemas"]

    def free_strings(schema: dict, where: str) -> list[str]:
        if "$ref" in schema:
            return free_strings(schemas[schema["$ref"].rsplit("/", 1)[-1]], where)
        found = [text for key in ("anyOf", "oneOf", "allOf")
                 for part in schema.get(key, []) for text in free_strings(part, where)]
        if schema.get("type") == "string" and not {"pattern", "enum", "format",
                                                    "const"} & schema.keys():
            found.append(where)
        for name, part in schema.get("properties", {}).items():
            found += free_strings(part, f"{where}.{name}")
        if isinstance(schema.get("additionalProperties"), dict):
            found += free_strings(schema["additionalProperties"], f"{where}.*")
        if isinstance(schema.get("items"), dict):
            found += free_strings(schema["items"], f"{where}[]")
        return found

    bodies = [(f"{method.upper()} {path}", content["schema"])
              for path, operations in document["paths"].items()
              for method, operation in operations.items()
              for content in operation.get("requestBody", {}).get("content", {}).values()]
    assert len(bodies) > 30
    free = [text for operation, schema in bodies for text in free_strings(schema, operation)]
    assert free == []


async def test_a_nul_in_a_path_or_query_never_reaches_the_database(client, anonymous):
    for http in (anonymous, client):
        for path in ("/v1/areas/%00", "/v1/areas?cursor=%00", "/v1/tokens/a%00/revocation",
                     "/v1/reports/portfolio?area=%00", "/v1/clubs?area=%00"):
            method = http.post if path.endswith("revocation") else http.get
            response = await method(path)
            assert 400 <= response.status_code < 500, (path, response.text)


# --- cursors ---------------------------------------------------------------------------------


def cursor_of(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


async def test_every_list_decodes_its_cursor_strictly(anonymous, client, ledger):
    commune = await post_commune(client)
    club = await post_club(client, commune)
    lists = [
        ("/v1/funds", "cursor"), (f"/v1/funds/{ledger['fund']}/accounts", "cursor"),
        (f"/v1/funds/{ledger['fund']}/entries", "cursor"), ("/v1/areas", "cursor"),
        ("/v1/clubs", "cursor"), (f"/v1/clubs/{club['id']}/members", "cursor"),
        (f"/v1/funds/{club['fund_id']}/loans", "cursor"),
        (f"/v1/funds/{ledger['fund']}/periods", "cursor"), ("/v1/tokens", "cursor"),
        (f"/v1/funds/{ledger['fund']}/audit", "cursor"), ("/v1/events", "after"),
        (f"/v1/accounts/{ledger['cash']}/statement", "cursor"),
    ]
    response = await anonymous.get("/v1/funds", params={"cursor": cursor_of([None])})
    assert_problem(response, 401, "unauthenticated")
    bad_keys = [[None], [1], [True], ["x"], [1.5], [2**63], [-1], [[]], [{}], "[", {"a": 1},
                ["\u0000"], [None, None, None], [1, "x", 2], [1, str(uuid.uuid4()), None],
                ["2026-01-01", 1, True], ["9999-99-99", 1, 1], [10**30, str(uuid.uuid4()), 1]]
    # A key that fits a list's own key is no bad cursor there (it just points somewhere).
    fitting = {"/accounts": ["x"], "/areas": ["x"], "/tokens": ["x"], "/entries": [1],
               "/loans": [1], "/audit": [1]}
    for path, parameter in lists:
        for key in bad_keys:
            if fitting.get("/" + path.rsplit("/", 1)[1]) == key:
                continue
            for cursor in (cursor_of(key), "%%%", "bm90IGpzb24"):
                response = await client.get(path, params={parameter: cursor})
                assert response.status_code == 400, (path, key, cursor, response.text)
                assert_problem(response, 400, "invalid_cursor")


async def test_cursors_the_service_gives_out_are_taken_back(client, ledger):
    await create_fund(client, name="Quỹ hai")
    for n in range(3):
        response = await client.post(f"/v1/funds/{ledger['fund']}/entries",
                                     json=entry_body(ledger["cash"], ledger["capital"], 1 + n))
        assert response.status_code == 201
    for path, parameter in (("/v1/funds", "cursor"),
                            (f"/v1/funds/{ledger['fund']}/accounts", "cursor"),
                            (f"/v1/funds/{ledger['fund']}/entries", "cursor"),
                            (f"/v1/funds/{ledger['fund']}/audit", "cursor"),
                            ("/v1/events", "after"),
                            (f"/v1/accounts/{ledger['cash']}/statement", "cursor")):
        seen = []
        cursor = None
        for _ in range(20):
            params = {"limit": 1} | ({parameter: cursor} if cursor else {})
            if path.endswith("statement"):
                params |= {"from": "2026-01-01", "to": "2026-11-30"}
            response = await client.get(path, params=params)
            assert response.status_code == 200, (path, response.text)
            page = response.json()
            seen.extend(page["items"])
            if not page["next_cursor"] or page["next_cursor"] == cursor:
                break
            cursor = page["next_cursor"]
        assert len(seen) >= 2, path


# --- errors ----------------------------------------------------------------------------------


async def test_an_unmapped_error_is_a_logged_500_problem(app, client, caplog):
    from ledger.merkle import MissingNode

    @app.get("/v1/test-unmapped-ledger-error")
    async def unmapped_ledger_error() -> None:
        raise MissingNode("a node the tree should hold is missing")

    @app.get("/v1/test-unexpected-error")
    async def unexpected_error() -> None:
        raise KeyError("surprise")

    from service.auth import rules
    rules.RULES[("GET", "/v1/test-unmapped-ledger-error")] = rules.READ
    rules.RULES[("GET", "/v1/test-unexpected-error")] = rules.READ
    try:
        quiet = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://clubfund.test", headers=dict(client.headers))
        async with quiet:
            for path in ("/v1/test-unmapped-ledger-error", "/v1/test-unexpected-error"):
                caplog.clear()
                with caplog.at_level(logging.ERROR):
                    response = await quiet.get(path)
                assert_problem(response, 500, "internal_error")
                assert "surprise" not in response.text and "node" not in response.text
                assert any(r.levelno >= logging.ERROR for r in caplog.records), path
    finally:
        del rules.RULES[("GET", "/v1/test-unmapped-ledger-error")]
        del rules.RULES[("GET", "/v1/test-unexpected-error")]


# --- exports ---------------------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+1", "-2+3", "@SUM(A1)"]


def test_every_formula_prefix_is_written_as_text():
    from service.reports.exports import Table, to_csv, to_xlsx

    texts = [*FORMULAS, "\t=1+1", "plain", "a=b"]
    table = Table(title="t", headers=["text", "amount"], rows=[[t, -5] for t in texts])
    lines = to_csv(table).decode("utf-8-sig").splitlines()[1:]
    assert [line.rsplit(",", 1)[1] for line in lines] == ["-5"] * len(texts)
    written = [next(iter(__import__("csv").reader([line])))[0] for line in lines]
    assert written == ["'" + t for t in texts[:5]] + ["plain", "a=b"]
    sheet = load_workbook(io.BytesIO(to_xlsx(table))).active
    rows = list(sheet.iter_rows(min_row=2))
    assert [(r[0].value, r[0].data_type) for r in rows] == [(t, "s") for t in texts]
    assert [r[1].value for r in rows] == [-5] * len(texts)


async def test_exports_write_formulas_as_text(client, ledger):
    for n, text in enumerate(FORMULAS):
        response = await client.post(f"/v1/funds/{ledger['fund']}/entries",
                                     json=entry_body(ledger["cash"], ledger["capital"], 1 + n,
                                                     description=text))
        assert response.status_code == 201, response.text
    path = f"/v1/accounts/{ledger['cash']}/statement"
    params = {"from": "2026-01-01", "to": "2026-11-30"}
    csv_text = (await client.get(path, params=params | {"format": "csv"})).content.decode()
    for text in FORMULAS:
        assert "'" + text in csv_text or f"\"'{text}" in csv_text.replace('""', '"'), text
    response = await client.get(path, params=params | {"format": "xlsx"})
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.value for c in cells if c.data_type == "f"]
    strings = {c.value for c in cells if c.data_type == "s"}
    for text in FORMULAS:
        assert text in strings or "'" + text in strings, text


async def test_an_xlsx_export_never_fails_on_stored_text(client, ledger, owner_connection):
    response = await client.post(f"/v1/funds/{ledger['fund']}/entries",
                                 json=entry_body(ledger["cash"], ledger["capital"], 5))
    assert response.status_code == 201
    # Text stored before the rule (or by another way in): the export still answers.
    await owner_connection.execute(
        "ALTER TABLE entries DISABLE TRIGGER USER")
    try:
        await owner_connection.execute(
            "UPDATE entries SET description = $1", "bell \u0007 form feed \u000c end \uffff")
    finally:
        await owner_connection.execute("ALTER TABLE entries ENABLE TRIGGER USER")
    response = await client.get(f"/v1/accounts/{ledger['cash']}/statement",
                                params={"from": "2026-01-01", "to": "2026-11-30",
                                        "format": "xlsx"})
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert any("bell" in str(c.value) for row in sheet.iter_rows() for c in row)


# --- headers ---------------------------------------------------------------------------------


async def test_every_answer_says_nosniff_and_api_answers_are_not_stored(anonymous, client,
                                                                        ledger):
    answers = [await anonymous.get("/v1/funds"), await anonymous.get("/healthz"),
               await client.get("/v1/funds"), await client.get("/v1/nowhere"),
               await client.get(f"/v1/funds/{ledger['fund']}"),
               await client.post("/v1/funds", content=b"{", headers={
                   "content-type": "application/json"}),
               await anonymous.get("/openapi.json")]
    for response in answers:
        assert response.headers.get("x-content-type-options") == "nosniff", response.url
    for response in answers[:-1]:
        if response.url.path.startswith("/v1/"):
            assert response.headers.get("cache-control") == "no-store", response.url


async def test_a_wrong_method_answers_405_with_allow(anonymous, client, ledger):
    for http in (anonymous, client):
        response = await http.delete(f"/v1/funds/{ledger['fund']}")
        assert_problem(response, 405, "method_not_allowed")
        assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET"}
        response = await http.put("/v1/funds")
        assert_problem(response, 405, "method_not_allowed")
        assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
