"""The whole API against its own OpenAPI document, with Schemathesis: every check, every
phase (examples, coverage, fuzzing and the stateful phase that chains calls through the
ids responses give), as an anonymous caller, as a club's treasurer and as an admin.

The app is served by uvicorn on loopback from a real, migrated database holding a club
with its fund, a member and entries, and Schemathesis reads `/openapi.json` from it.
The run has a time budget and a fixed seed (`SCHEMATHESIS_*` below), so CI spends about
two minutes here and a failure replays; docs/reliability.md gives the longer run for
releases.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

import pytest

from service.settings import Settings
from tests.api.factories import accounts_by_code, entry_body, post_club, post_commune, post_member
from tests.api.served_app import ServedApp

# The time budget of the whole test, shared among the callers (the admin, who can reach
# every route, gets the most) and within each between the phases that try operations one
# by one (examples, coverage, fuzzing) and the stateful phase, each run on its own so
# that the stateful phase always gets its share.
SCHEMATHESIS_SECONDS = int(os.environ.get("SCHEMATHESIS_SECONDS", "120"))
# Below this a phase does not get past loading the document on a busy machine (the
# anonymous stateful phase ran no scenario at all in 4 s).
PHASE_SECONDS_MIN = 12
CALLER_SHARES = {"anonymous": 0.12, "treasurer": 0.33, "admin": 0.55}
PHASE_SHARES = {"examples,coverage,fuzzing": 0.6, "stateful": 0.4}
SCHEMATHESIS_SEED = os.environ.get("SCHEMATHESIS_SEED", "20261130")
SCHEMATHESIS_MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10")
START_SECONDS_MAX = 180  # loading the document and stopping, on a busy machine
SCHEMATHESIS = Path(sys.executable).parent / "st"
SCHEMATHESIS_CONFIG = Path(__file__).with_name("schemathesis.toml")


async def run_schemathesis(
    url: str, token: str | None, phases: str, seconds: int, report_dir: str
) -> tuple[int, str]:
    arguments = [
        str(SCHEMATHESIS), "--config-file", str(SCHEMATHESIS_CONFIG), "run", f"{url}/openapi.json",
        "--checks", "all",
        "--phases", phases,
        "--mode", "all",
        "--max-examples", SCHEMATHESIS_MAX_EXAMPLES,
        "--max-time", str(max(seconds, 1)),
        "--seed", SCHEMATHESIS_SEED,
        "--generation-database", "none",
        "--request-timeout", "30",
        "--no-color",
        "--report", "junit", "--report-dir", report_dir,
    ]
    if token is not None:
        arguments += ["--header", f"Authorization: Bearer {token}"]
    process = await asyncio.create_subprocess_exec(
        *arguments, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        cwd=report_dir,
    )
    try:  # past its budget Schemathesis stops by itself; this only guards against a hang
        output, _ = await asyncio.wait_for(process.communicate(), seconds + START_SECONDS_MAX)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, output.decode(errors="replace")


@pytest.mark.slow
async def test_schemathesis_finds_no_failure(database, new_token, audit_signing_key, client):
    commune = await post_commune(client)
    club = await post_club(client, commune)
    accounts = await accounts_by_code(client, club["fund_id"])
    response = await client.post(f"/v1/funds/{club['fund_id']}/contributions", json={
        "amount": 1_000_000, "source": "members", "effective_date": "2026-01-15"})
    assert response.status_code == 201, response.text
    response = await client.post(f"/v1/funds/{club['fund_id']}/entries", json=entry_body(
        accounts["112"]["id"], accounts["111"]["id"], 1_000, when="2026-01-16"))
    assert response.status_code == 201, response.text
    await post_member(client, club["id"])

    async def token_of(caller: str) -> str | None:
        """Made just before the caller's run: an admin's run may revoke tokens."""
        if caller == "treasurer":
            return str(await new_token("treasurer", scope=f"club:{club['id']}"))
        return str(await new_token("admin")) if caller == "admin" else None

    # The test suite's server runs with fsync off for speed.
    settings = Settings(database_url=database.app_url, audit_signing_key=audit_signing_key,
                        pool_min_size=1, pool_max_size=8, allow_non_durable_database=True)
    failures = []
    async with ServedApp(settings) as served:
        for caller, share in CALLER_SHARES.items():
            token = await token_of(caller)
            for phases, phase_share in PHASE_SHARES.items():
                seconds = max(PHASE_SECONDS_MIN,
                              round(SCHEMATHESIS_SECONDS * share * phase_share))
                report_dir = tempfile.mkdtemp(prefix=f"schemathesis-{caller}-")
                code, output = await run_schemathesis(served.url, token, phases, seconds,
                                                      report_dir)
                print(f"--- schemathesis as {caller}, {phases} ({report_dir})\n{output}")
                if code != 0:
                    failures.append(f"as {caller}, {phases}:\n{output[-6000:]}")
    assert not failures, "\n\n".join(failures)
