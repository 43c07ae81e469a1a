"""Reports pause Python's cycle collector across awaits: overlapping pauses (two
reports at once) keep it off until the last one ends, and a collector that was off
before stays off."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from service.reports.service import CollectorPause


@pytest.fixture
def collector_running() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_overlapping_pauses_resume_the_collector_when_the_last_ends(collector_running):
    pause = CollectorPause()
    first, second = pause(), pause()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()
    first.__exit__(None, None, None)  # the first report ends while the second runs
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


async def test_two_reports_awaiting_at_once_leave_the_collector_running(collector_running):
    pause = CollectorPause()
    seen = []

    async def report(delay: float) -> None:
        with pause():
            await asyncio.sleep(delay)
            seen.append(gc.isenabled())

    await asyncio.gather(report(0.02), report(0.01))
    assert seen == [False, False]
    assert gc.isenabled()


def test_a_collector_off_before_stays_off(collector_running):
    pause = CollectorPause()
    gc.disable()
    with pause():
        assert not gc.isenabled()
    assert not gc.isenabled()
    gc.enable()


def test_an_error_inside_still_resumes_the_collector(collector_running):
    pause = CollectorPause()
    with pytest.raises(RuntimeError), pause():
        raise RuntimeError("the report failed")
    assert gc.isenabled()
