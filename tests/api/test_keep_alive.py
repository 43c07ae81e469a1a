"""An idle keep-alive connection stays open longer than common clients keep one (httpx
expires its idle connections after 5 s). With uvicorn's default of 5 s the service closed
such a connection just as a client sent on it, and the request was cut without an answer
(`httpx.ReadError` in a fault test's retry)."""

from __future__ import annotations

import asyncio

from service.settings import Settings
from tests.api.served_app import ServedApp

IDLE_SECONDS = 6  # past the 5 s clients keep an idle connection, and uvicorn's default


async def get_on(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    await asyncio.wait_for(reader.readexactly(length), 30)
    return head.split(b"\r\n")[0]


async def test_an_idle_connection_is_still_open_after_six_seconds(database, audit_signing_key):
    settings = Settings(database_url=database.app_url, audit_signing_key=audit_signing_key,
                        pool_min_size=1, pool_max_size=2, allow_non_durable_database=True)
    assert settings.keep_alive_seconds > IDLE_SECONDS
    async with ServedApp(settings) as served:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        try:
            assert await get_on(reader, writer) == b"HTTP/1.1 200 OK"
            await asyncio.sleep(IDLE_SECONDS)
            assert await get_on(reader, writer) == b"HTTP/1.1 200 OK"
        finally:
            writer.close()
