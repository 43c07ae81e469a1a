"""Run alembic programmatically (as the schema owner)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import command
from alembic.config import Config


def migrations_dir() -> Path:
    """`migrations/` beside the source tree, or in the working directory (the image)."""
    for candidate in (Path(__file__).resolve().parent.parent / "migrations",
                      Path.cwd() / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise RuntimeError("migrations/ not found beside the package or in the working directory")


def alembic_config(owner_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["database_url"] = owner_url
    return config


def upgrade(owner_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(owner_url), revision)


def downgrade(owner_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(owner_url), revision)


def load_migration(file_name: str) -> ModuleType:
    """Another migration's module, by its file name in `migrations/versions/`: for a
    later migration that restores or reuses its SQL (a downgrade putting back the
    function it replaced), so that the SQL is written once."""
    path = migrations_dir() / "versions" / file_name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"no migration {file_name}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def execute_script(sql: str) -> None:
    """Run a multi-statement SQL script inside a migration.

    asyncpg's prepared statements take one command each; the simple query
    protocol of the underlying driver connection takes a whole script.
    """
    from alembic import op
    from sqlalchemy.util import await_only

    bind = op.get_bind()
    # SQLAlchemy opens the migration's transaction on the driver connection lazily, at
    # its first statement: without this one, the second and later migrations of a run
    # (their transaction begun after the previous one's commit) ran their scripts
    # statement by statement outside any transaction.
    bind.exec_driver_sql("SELECT 1")
    driver_connection = bind.connection.driver_connection
    assert driver_connection is not None and driver_connection.is_in_transaction()
    await_only(driver_connection.execute(sql))
