"""`clubfund token create` issues a real token and prints it as its last line."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

from tests.api.factories import create_area, create_club


async def clubfund(database_url: str, *args: str, **env_extra: str) -> tuple[int, str, str]:
    """Run `clubfund *args` on `database_url`, with no CLUBFUND_* setting but `env_extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLUBFUND_")}
    env.update(DATABASE_URL=database_url, **env_extra)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.cli", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_token_create_prints_a_working_token_last(
    database, owner_connection, client_for, superuser_connection
):
    area = await create_area(owner_connection, "31")
    club = await create_club(owner_connection, await create_area(
        owner_connection, "31007", "commune", parent_code=area))
    other = await create_club(owner_connection, area, name="CLB khác")
    code, out, err = await clubfund(database.owner_url, "token", "create", "--role", "treasurer",
                                    "--scope", f"club:{club['club_id']}", "--expires-days", "7")
    assert code == 0, err
    token = out.strip().splitlines()[-1]
    assert token.startswith("cf_")
    assert token not in err
    treasurer = client_for(token)
    funds = (await treasurer.get("/v1/funds")).json()["items"]
    assert [f["id"] for f in funds] == [club["fund_id"]]
    assert (await treasurer.get(f"/v1/funds/{other['fund_id']}")).status_code == 404
    row = await superuser_connection.fetchrow(
        "SELECT p.role, t.created_by, t.expires_at - t.created_at AS lifetime"
        " FROM tokens t JOIN people p ON p.id = t.person_id WHERE p.scope_club_id = $1",
        uuid.UUID(club["club_id"])
    )
    assert row["role"] == "treasurer" and row["created_by"] == "cli"
    assert row["lifetime"].days == 7

    code, out, _ = await clubfund(database.owner_url, "token", "create", "--role", "admin",
                                  "--expires-days", "0")
    assert code == 0
    admin = client_for(out.strip().splitlines()[-1])
    assert len((await admin.get("/v1/funds")).json()["items"]) == 2


async def test_token_create_refuses_a_scope_that_does_not_fit(database):
    code, out, err = await clubfund(database.owner_url, "token", "create", "--role", "treasurer",
                                    "--scope", "area:99")
    assert code == 2 and "one club" in err and "cf_" not in out
    code, out, err = await clubfund(database.owner_url, "token", "create")
    assert code == 2 and "--person" in err and "cf_" not in out
    code, out, err = await clubfund(database.owner_url, "token", "create", "--person",
                                    str(uuid.uuid4()))
    assert code == 2 and "does not exist" in err and "cf_" not in out


async def test_a_person_added_on_the_command_line_gets_tokens_and_both_are_audited(
    database, owner_connection, client_for, superuser_connection
):
    club = await create_club(owner_connection, await create_area(owner_connection, "32"))
    code, out, err = await clubfund(
        database.owner_url, "person", "create", "--name", "Phạm Thị Chủ Nhiệm", "--role", "chair",
        "--scope", f"club:{club['club_id']}", "--phone", "0987654321")
    assert code == 0, err
    person_id = out.strip().splitlines()[-1]
    stored = await superuser_connection.fetchrow("SELECT * FROM people WHERE id = $1",
                                                 uuid.UUID(person_id))
    assert (stored["name"], stored["phone"], stored["role"]) == (
        "Phạm Thị Chủ Nhiệm", "+84987654321", "chair")
    tokens = []
    for _ in range(2):
        code, out, err = await clubfund(database.owner_url, "token", "create", "--person",
                                        person_id, "--label", "điện thoại")
        assert code == 0, err
        assert f"of person {person_id}: chair" in out
        tokens.append(out.strip().splitlines()[-1])
    for token in tokens:
        funds = (await client_for(token).get("/v1/funds")).json()["items"]
        assert [f["id"] for f in funds] == [club["fund_id"]]
    audit = await client_for(tokens[0]).get(f"/v1/funds/{club['fund_id']}/audit")
    written = [(r["record"]["action"], r["record"]["actor"]) for r in audit.json()["items"]
               if r["record"]["action"] in ("person.created", "token.created")]
    assert written == [("person.created", "cli"), ("token.created", "cli"),
                       ("token.created", "cli")]
    code, out, err = await clubfund(database.owner_url, "person", "create", "--name", "Trùng số",
                                    "--role", "admin", "--phone", "+84 98 765 4321")
    assert code == 2 and "phone" in err
    assert await superuser_connection.fetchval("SELECT count(*) FROM people") == 1


async def test_the_embedded_first_start_prints_an_admin_token_and_keeps_it(
    database, tmp_path, capsys, client_for, superuser_connection
):
    from service.cli import ensure_local_admin_token
    from tests.conftest import run_in_thread

    run_in_thread(lambda: ensure_local_admin_token(database.owner_url, tmp_path))
    saved = tmp_path / "admin-token"
    token = saved.read_text().strip()
    assert saved.stat().st_mode & 0o077 == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == token
    assert (await client_for(token).get("/v1/tokens")).status_code == 200

    run_in_thread(lambda: ensure_local_admin_token(database.owner_url, tmp_path))
    assert token not in capsys.readouterr().out  # later starts only say where it is
    assert saved.read_text().strip() == token

    await superuser_connection.execute("UPDATE tokens SET revoked_at = now()")
    run_in_thread(lambda: ensure_local_admin_token(database.owner_url, tmp_path))
    renewed = saved.read_text().strip()
    assert renewed != token and capsys.readouterr().out.strip().endswith(renewed)
    assert (await client_for(renewed).get("/v1/tokens")).status_code == 200
