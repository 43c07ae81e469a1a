"""Secrets never reach a log line.

Tokens travel in the `Authorization` header, which nothing logs. A client may still put
one in the query string (`?access_token=cf_…`): the service refuses it (401), but the
request line would reach uvicorn's access log verbatim. `RedactSecrets` rewrites such
log records before any handler formats them: the values of secret-looking query
parameters, and anything shaped like a clubfund token wherever it appears.
"""

from __future__ import annotations

import logging
import re

SECRET_QUERY_PARAMETERS = (
    "access_token", "token", "bearer", "api_key", "apikey", "key", "secret", "password",
    "pin", "setup_code", "session",
)
REDACTED = "[redacted]"
_SECRET_PARAMETER = re.compile(
    r"(?i)((?:^|[?&;])(?:" + "|".join(SECRET_QUERY_PARAMETERS) + r")=)[^&;#\s\"']*"
)
_TOKEN = re.compile(r"cf_[A-Za-z0-9_\-]{8,}")
# The loggers that write request lines or messages that may quote a request. A logger's
# filter sees only the records logged on that very logger, so each is named.
REDACTED_LOGGERS = ("uvicorn.access", "uvicorn.error", "clubfund.auth", "clubfund.errors")


def redact(text: str) -> str:
    return _TOKEN.sub("cf_" + REDACTED, _SECRET_PARAMETER.sub(r"\1" + REDACTED, text))


class RedactSecrets(logging.Filter):
    """A filter for a logger (or a handler): redacts its records' message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v
                           for k, v in record.args.items()}
        return True


REDACT_SECRETS = RedactSecrets()


def install_log_redaction() -> None:
    """Put the filter on every logger that may see a request's URL (idempotent: a logger
    holds one filter object once)."""
    for name in REDACTED_LOGGERS:
        logging.getLogger(name).addFilter(REDACT_SECRETS)
