"""The treasurer's pages on a slow phone line: time to usable in Debian's chromium with
the network emulated at 400 kbit/s each way and 400 ms round trip.

Needs the service running with the demo (`python3 dev.py serve`): signs in as the demo
treasurer (phone 0912000001, PIN 2468), then opens each treasurer page in a fresh
browser tab with an empty cache and the emulated line, and records the time from the
navigation until the page's `load` event (HTML and its one style sheet arrived: the page
reads and works; it needs no script) and the bytes transferred. Prints a Markdown table.

    .venv/bin/python bench/pages_slow_line.py [--base http://127.0.0.1:8000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
LINE = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8,
        "uploadThroughput": 400_000 / 8}
TARGET_SECONDS = 3.0


def treasurer_paths(page: Any, base: str) -> list[tuple[str, str]]:
    """The treasurer's pages in the first demo club (found by following its links)."""
    page.goto(base + "/")
    club = page.url.removeprefix(base)
    paths = [("club", club), ("members", club + "/members"),
             ("add a member", club + "/members/new"),
             ("contribution", club + "/money/contribution"),
             ("seed grant", club + "/money/seed-grant"), ("expense", club + "/money/expense"),
             ("loan application", club + "/loans/new"), ("approvals", club + "/approvals"),
             ("meeting without signal", club + "/meeting"),
             ("correct a mistake", club + "/corrections")]
    repayment = page.locator(".list a").first.get_attribute("href")
    if repayment:
        paths += [("loan", repayment.removesuffix("/repayment")), ("repayment", repayment)]
    page.goto(base + club + "/members")
    passbook = page.locator(".list a").first.get_attribute("href")
    if passbook:
        paths += [("passbook", passbook), ("edit a member", passbook + "/edit")]
        page.goto(base + passbook)
        voucher = page.locator("a[href*='/vouchers/']").first
        if voucher.count():
            paths.append(("voucher (phiếu thu/chi)", str(voucher.get_attribute("href"))))
    return paths


def measure(context: Any, url: str) -> tuple[float, int]:
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", LINE)
    sizes: list[int] = []
    page.on("requestfinished", lambda request: sizes.append(
        request.sizes()["responseBodySize"] + request.sizes()["responseHeadersSize"]))
    started = time.monotonic()
    page.goto(url, wait_until="load")
    seconds = time.monotonic() - started
    page.wait_for_timeout(100)  # the last requestfinished events
    page.close()
    return seconds, sum(sizes)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 360, "height": 800})
        page = context.new_page()
        page.goto(args.base + "/sign-in")
        page.get_by_label("Số điện thoại").fill("0912000001")
        page.get_by_label("Mã PIN").fill("2468")
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_load_state("load")
        paths = treasurer_paths(page, args.base)
        page.close()
        print("| page | time to usable, median of runs (s) | slowest (s) | bytes |")
        print("|---|---|---|---|")
        worst = 0.0
        for name, path in paths:
            runs = [measure(context, args.base + path) for _ in range(args.runs)]
            times = [seconds for seconds, _ in runs]
            worst = max(worst, max(times))
            print(f"| {name} | {statistics.median(times):.2f} | {max(times):.2f}"
                  f" | {runs[-1][1]} |")
        browser.close()
    print(f"\nslowest {worst:.2f} s; target {TARGET_SECONDS:.0f} s")
    return 0 if worst <= TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
