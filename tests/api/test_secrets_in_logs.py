"""A token put in the query string is refused and never written to a log: the request
goes through a real uvicorn server configured as `clubfund serve` configures it, and
every log record of the request is captured."""

from __future__ import annotations

import asyncio
import logging

import httpx
import uvicorn

from service.log_redaction import redact


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {self.format(record)}")


async def test_a_token_in_the_query_string_is_refused_and_redacted_in_every_log(
    app, new_token, caplog
):
    token = await new_token("admin")
    caplog.set_level(logging.DEBUG)
    # uvicorn's own logging configuration, as `clubfund serve` runs it (uvicorn.run's default)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="info", lifespan="off")
    server = uvicorn.Server(config)
    capture = Capture()
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error", "uvicorn")]
    for logger in loggers:
        logger.addHandler(capture)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "the server stopped before it started"
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            paths = [f"/v1/funds?access_token={token}",
                     f"/v1/funds?limit=5&ACCESS_TOKEN={token}&x=1",
                     f"/v1/tokens?token={token}",
                     f"/v1/funds?anything={token}"]
            for path in paths:
                refused = await http.get(path)
                assert refused.status_code == 401, refused.text
                assert refused.json()["code"] == "unauthenticated"
            # the same token as a bearer header works: it was refused for where it was
            accepted = await http.get("/v1/funds", headers={"Authorization": f"Bearer {token}"})
            assert accepted.status_code == 200
    finally:
        server.should_exit = True
        await serving
        for logger in loggers:
            logger.removeHandler(capture)
    access = [line for line in capture.lines if line.startswith("uvicorn.access")]
    assert len(access) == len(paths) + 1, capture.lines  # the log was really captured
    assert any("access_token=[redacted]" in line and "401" in line for line in access), access
    assert any("limit=5&ACCESS_TOKEN=[redacted]&x=1" in line for line in access), access
    # every record but the test's own HTTP client's (it logs the URL it was given)
    server_side = [r.getMessage() for r in caplog.records
                   if not r.name.startswith(("httpx", "httpcore"))]
    everything = "\n".join([*capture.lines, *server_side])
    assert token not in everything
    assert token[3:] not in everything


def test_redaction_keeps_what_is_not_secret():
    line = "GET /v1/clubs?area=51&limit=5 HTTP/1.1"
    assert redact(line) == line
    assert redact("/x?monkey=1&key=abc") == "/x?monkey=1&key=[redacted]"
    assert redact("/x?api_key=abc;pin=1234") == "/x?api_key=[redacted];pin=[redacted]"
