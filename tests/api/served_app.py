"""The app served as `clubfund serve` serves it (service.cli.server_config), by uvicorn
on a free loopback port in a thread of the test process."""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn

from service.app import create_app
from service.cli import server_config
from service.settings import Settings


class ServedApp:
    """The app under uvicorn on a free loopback port, in a thread of its own."""

    def __init__(self, settings: Settings) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.server = uvicorn.Server(server_config(
            create_app(settings), settings, host="127.0.0.1", port=self.port,
            log_level="warning"))
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.socket]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> ServedApp:
        self.thread.start()
        for _ in range(300):
            if self.server.started:
                return self
            if not self.thread.is_alive():
                break
            await asyncio.sleep(0.05)
        raise RuntimeError("the app did not start")

    async def __aexit__(self, *_: object) -> None:
        self.server.should_exit = True
        await asyncio.to_thread(self.thread.join, 30)
        self.socket.close()
