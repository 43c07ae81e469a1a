"""The pages served on loopback against the test's database, and Debian's chromium driven
by Playwright (never a downloaded browser): every page the tests open is screenshotted
under test-artifacts/pages/, checked with axe-core, measured in bytes, and no request may
leave 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.settings import Settings
from tests.api.served_app import ServedApp
from tests.conftest import Database
from tests.pages.world import PagesWorld, build_world

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "pages"
CHROMIUM = "/usr/bin/chromium"
SERVER_START_SECONDS_MAX = 60
PAGE_BYTES_MAX = 150 * 1024
# What axe-core may not find on any page.
BLOCKING_IMPACTS = ("serious", "critical")


@pytest.fixture
def pages_server(database: Database, audit_signing_key: str) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 (its own pool on the test database); stopped
    when the test ends, passed or failed."""
    settings = Settings(database_url=database.app_url, audit_signing_key=audit_signing_key,
                        allow_non_durable_database=True)
    with ServedApp(settings, start_seconds_max=SERVER_START_SECONDS_MAX) as served:
        yield served.url


@dataclass
class PageRecord:
    name: str
    url: str
    status: int | None
    transferred_bytes: int
    blocking_violations: list[str]


@dataclass
class BrowserSession:
    """One browser context (one person's phone) and what its pages were measured at."""

    base: str
    page: Any
    records: list[PageRecord]
    requested_urls: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)

    def open(self, path: str) -> Any:
        self.sizes.clear()
        response = self.page.goto(self.base + path)
        return response

    def check(self, name: str, status: int | None = None) -> PageRecord:
        """Screenshot, axe-core and the bytes of the page now shown (since the last
        navigation)."""
        from axe_playwright_python.sync_playwright import Axe

        self.page.wait_for_load_state("load")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        results = Axe().run(self.page)
        blocking = [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:3])
            for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS
        ]
        record = PageRecord(name=name, url=self.page.url, status=status,
                            transferred_bytes=sum(self.sizes), blocking_violations=blocking)
        self.records.append(record)
        return record


def measured_session(page: Any, base: str, records: list[PageRecord]) -> BrowserSession:
    """A session on `page` that adds up the bytes of each request it finishes."""
    session = BrowserSession(base=base, page=page, records=records)

    def finished(request: Any) -> None:
        sizes = request.sizes()
        session.sizes.append(sizes["responseBodySize"] + sizes["responseHeadersSize"]
                             + sizes["requestHeadersSize"] + sizes["requestBodySize"])

    page.on("requestfinished", finished)
    return session


@pytest.fixture
def browser(pages_server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def phone(browser: Any, pages_server: str) -> Iterator[Any]:
    """`phone()`: a new 360×800 browser context, its requests recorded."""
    contexts: list[Any] = []
    records: list[PageRecord] = []

    def make() -> BrowserSession:
        context = browser.new_context(viewport={"width": 360, "height": 800},
                                      device_scale_factor=1, locale="vi-VN")
        contexts.append(context)
        page = context.new_page()
        session = measured_session(page, pages_server, records)
        page.on("request", lambda request: session.requested_urls.append(request.url))
        return session

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
async def world(client: httpx.AsyncClient) -> PagesWorld:
    """The clubs, officers and members of the pages' tests, built through the API (a test
    module with a world of its own defines its own `world`)."""
    return await build_world(client)
