"""The one settings object. Everything comes from the environment (`CLUBFUND_*`,
plus the conventional `DATABASE_URL`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLUBFUND_", extra="ignore")

    # The service's connection (role clubfund_app: INSERT and SELECT on the journal).
    # Unset: `clubfund serve` starts the embedded PostgreSQL in `data_dir`.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("CLUBFUND_DATABASE_URL", "DATABASE_URL")
    )
    # The schema owner's connection, used only by `clubfund migrate`; defaults to database_url.
    migrate_database_url: str | None = None
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = 8000
    pool_min_size: int = 2
    pool_max_size: int = 20
    # While the database is down or restarting, a request waits at most this long for a
    # connection (opening one included) before it answers 503 database_unavailable.
    database_connect_timeout_seconds: float = 3.0
    database_acquire_timeout_seconds: float = 5.0
    # `clubfund serve` refuses a database that may lose acknowledged writes in a crash
    # (fsync, synchronous_commit or full_page_writes off). Only test suites and benchmarks,
    # which throw their data away, set CLUBFUND_ALLOW_NON_DURABLE_DATABASE=true.
    allow_non_durable_database: bool = False
    # On SIGTERM: stop accepting, let requests in flight finish for at most this long.
    shutdown_grace_seconds: int = 30
    # How long an idle keep-alive connection stays open. Longer than the idle expiry of
    # common HTTP clients and proxies (httpx 5 s, nginx 60 s), so that a client never
    # reuses a connection the service is closing at that moment (the request would be
    # cut without an answer).
    keep_alive_seconds: int = 75
    # How many rows a list endpoint returns at most per page.
    page_limit_max: int = 500
    # The Ed25519 key that signs audit tree heads: base64 of its 32 raw private bytes, or a
    # file holding that. Unset: `clubfund serve` keeps one in `<data_dir>/audit-signing.key`.
    audit_signing_key: SecretStr | None = None
    audit_key_file: Path | None = None
    # Public keys that signed earlier heads (base64 of 32 raw bytes, comma separated), so that
    # heads signed before a key rotation stay verifiable; published with the current one.
    audit_previous_public_keys: str = ""
    # The log's name: each fund's checkpoint origin is `<log_origin>/funds/<fund_id>`, and the
    # key that signs checkpoints is named after it (no spaces, no '+').
    log_origin: str = "clubfund.localhost/log"
    # Witnesses that cosign each new checkpoint, comma separated, each `<verifier key> <url>`
    # (the witness's tlog-cosignature key, e.g. `finance.example/w1+1a2b3c4d+BB... http://...`).
    witnesses: str = ""
    # How often the background task looks for logs grown by writes outside the API (seconds).
    audit_sweep_seconds: float = 5.0

    def require_migrate_url(self) -> str:
        url = self.migrate_database_url or self.database_url
        if url is None:
            raise RuntimeError("set DATABASE_URL (or CLUBFUND_MIGRATE_DATABASE_URL) to migrate")
        return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
