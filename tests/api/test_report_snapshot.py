"""The portfolio and the programme read their figures on two connections that share one
exported snapshot, under the caller's row-level security scope; when the pool has not
two connections free they read them in one statement on the request's connection. Both
ways give the same report."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from service.reports import repository
from tests.api.test_programme_api import province  # noqa: F401  (the worked example)

ROOT = Path(__file__).resolve().parents[2]
URLS = ("/v1/reports/programme?area=P&year=2025", "/v1/reports/programme?area=P&year=2026",
        "/v1/reports/portfolio?area=P&as_of=2025-12-31",
        "/v1/reports/portfolio?area=P&as_of=2026-03-31&from=2025-03-01")


@pytest.fixture
def snapshot_runs(monkeypatch):
    """How many reports read their figures on two connections."""
    runs = []
    two_connections = repository.in_one_snapshot

    async def counted(*arguments):
        runs.append(arguments[0])
        return await two_connections(*arguments)

    monkeypatch.setattr(repository, "in_one_snapshot", counted)
    return runs


async def answers(http):
    bodies = []
    for url in URLS:
        response = await http.get(url)
        assert response.status_code == 200, response.text
        bodies.append(response.json())
    return bodies


async def test_two_connections_give_what_one_statement_gives_in_every_scope(
    anonymous, client, client_for, new_token, province, snapshot_runs, monkeypatch,  # noqa: F811
):
    response = await anonymous.get(URLS[0])
    assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
    callers = {
        "admin": client,
        "district auditor": client_for(await new_token("auditor", scope="area:P2")),
        "club auditor": client_for(await new_token(
            "auditor", scope=f"club:{province['a']['id']}")),
    }
    two = {name: await answers(http) for name, http in callers.items()}
    assert len(snapshot_runs) == len(callers) * len(URLS)

    async def none_free(pool):
        return None

    monkeypatch.setattr(repository, "acquire_two", none_free)
    one = {name: await answers(http) for name, http in callers.items()}
    assert len(snapshot_runs) == len(callers) * len(URLS)  # none more: one statement
    assert two == one
    # The scope reached the second connections: each caller sees her clubs' money only.
    seed_totals = {name: bodies[0]["items"][0]["seed_total"] for name, bodies in two.items()}
    assert seed_totals == {"admin": 55_000_000, "district auditor": 25_000_000,
                           "club auditor": 30_000_000}


async def test_both_connections_read_the_snapshot_the_first_exported(app_pool, owner_connection):
    """A commit between the export and the second connection's import is seen by
    neither: they read one view of the books."""
    def areas_part(name):
        return repository.StatementPart(
            name, "SELECT c AS club_id, (SELECT count(*) FROM areas) AS areas"
                  " FROM unnest($1::uuid[]) AS c", ("areas",))

    statement = repository.ReportStatement(("uuid[]",), ((areas_part("first"),),
                                                         (areas_part("second"),)))
    clubs = [uuid.UUID(int=1), uuid.UUID(int=2)]
    pair = await repository.acquire_two(app_pool)
    assert pair is not None
    first, second = pair

    class CommitAfterExport:
        """The first connection, and a commit elsewhere right after it exports."""

        def __getattr__(self, name):
            return getattr(first, name)

        async def fetchval(self, query, *arguments):
            value = await first.fetchval(query, *arguments)
            if "pg_export_snapshot" in query:
                await owner_connection.execute(
                    "INSERT INTO areas (code, name, level, valid_from, created_at)"
                    " VALUES ('SNAP', 'Area SNAP', 'province', '2020-01-01', now())")
            return value

    try:
        before = await owner_connection.fetchval("SELECT count(*) FROM areas")
        rows = await repository.in_one_snapshot(
            (CommitAfterExport(), second), [None, None, "on", None, None], statement, [clubs])
    finally:
        for connection in pair:
            await app_pool.release(connection)
    assert [[(r["club_id"], r["areas"]) for r in lane] for lane in rows] == [
        [(club, before) for club in clubs]] * 2
    assert await owner_connection.fetchval("SELECT count(*) FROM areas") == before + 1


def test_every_scope_setting_of_the_database_is_copied():
    """Row-level security reads the settings `clubfund_authenticate` sets: the second
    connections get each of them."""
    migrations = "".join(p.read_text() for p in (ROOT / "migrations").rglob("*.py"))
    names = set(re.findall(r"set_config\('(clubfund\.[a-z_]+)'", migrations))
    assert names and names <= set(repository.SCOPE_SETTINGS)


async def test_the_portfolio_rows_are_the_documented_rows(client, province):  # noqa: F811
    """The portfolio's rows are built without a model per row: they carry the documented
    fields in order, and the answer reads back as the documented report."""
    from service.reports.schemas import PortfolioRead, PortfolioRowRead
    from service.reports.service import PortfolioRow

    assert PortfolioRow._fields == tuple(PortfolioRowRead.model_fields)
    response = await client.get(URLS[2])
    body = response.json()
    report = PortfolioRead.model_validate({**body, "from_": body["from"]})
    assert report.model_dump(mode="json", by_alias=True) == body
    assert [row.name for row in report.items][:2] == ["Area P", "Area P1"]


async def test_the_programme_rows_are_the_documented_rows(client, province):  # noqa: F811
    from service.programme.schemas import ProgrammeRead, ProgrammeRowRead
    from service.programme.service import ProgrammeRow

    assert ProgrammeRow._fields == tuple(ProgrammeRowRead.model_fields)
    body = (await client.get(URLS[0])).json()
    report = ProgrammeRead.model_validate({**body, "from_": body["from"]})
    assert report.model_dump(mode="json", by_alias=True) == body
    assert report.waiting and report.items[0].seed_total == 55_000_000
