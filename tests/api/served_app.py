"""The app served as `clubfund serve` serves it (service.cli.server_config), by uvicorn
on a free loopback port in a thread of the test process."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn

from service.app import create_app
from service.cli import server_config
from service.settings import Settings


class ServedApp:
    """The app under uvicorn on a free loopback port, in a thread of its own; a context
    manager, plain or async, that stops it on the way out, passed or failed."""

    def __init__(self, settings: Settings, start_seconds_max: float = 15) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.start_seconds_max = start_seconds_max
        self.server = uvicorn.Server(server_config(
            create_app(settings), settings, host="127.0.0.1", port=self.port,
            log_level="warning"))
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.socket]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + self.start_seconds_max
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the app did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(30)
        self.socket.close()

    def __enter__(self) -> ServedApp:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    async def __aenter__(self) -> ServedApp:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.to_thread(self.stop)
