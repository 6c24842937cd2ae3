"""Time travel for a Home Assistant test harness: the frozen clock jumps from timer to timer.

Used by the replay benchmark (`bench/replay_harness.py`) and the soak test
(`tests/soak_helpers.py`). Loop time is the frozen POSIX time, so the loop's earliest timer says
where the clock goes next; every timer fires at its own instant and quiet stretches cost nothing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import math
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.util.async_ import get_scheduled_timer_handles

MAX_STEPS_AT_ONE_INSTANT = 10_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def next_timer(loop: asyncio.AbstractEventLoop) -> float | None:
    """When the loop's earliest live timer is due (loop time = frozen POSIX time)."""
    return min(
        (h.when() for h in get_scheduled_timer_handles(loop) if not h.cancelled()),
        default=None,
    )


def track_executor_jobs(loop: asyncio.AbstractEventLoop) -> set[asyncio.Future[Any]]:
    """Keep a set of the loop's unfinished executor jobs (imports, file access at setup)."""
    pending: set[asyncio.Future[Any]] | None = getattr(loop, "_time_travel_jobs", None)
    if pending is not None:
        return pending
    jobs: set[asyncio.Future[Any]] = set()
    original = loop.run_in_executor

    def run_in_executor(executor: Any, func: Any, *args: Any) -> asyncio.Future[Any]:
        future = original(executor, func, *args)
        jobs.add(future)
        future.add_done_callback(jobs.discard)
        return future

    loop.run_in_executor = run_in_executor  # type: ignore[method-assign]
    loop._time_travel_jobs = jobs  # type: ignore[attr-defined]
    return jobs


async def settle(loop: asyncio.AbstractEventLoop) -> None:
    """Let the loop run until nothing is ready at this instant (due timers included).

    `hass.async_block_till_done` would wait for tasks sleeping until a later instant, which with
    a frozen clock never comes; this only drains what can run now. Work in executor threads takes
    real time and is waited for before the clock may move.
    """
    ready = loop._ready  # type: ignore[attr-defined]
    jobs = track_executor_jobs(loop)
    for _ in range(MAX_STEPS_AT_ONE_INSTANT):
        await asyncio.sleep(0)
        if not ready:
            await asyncio.sleep(0)  # timers that fell due in that pass are queued after us
            if not ready:
                if not jobs:
                    return
                await asyncio.wait(list(jobs))
    raise RuntimeError("the event loop does not settle at one instant")


def move_just_past(freezer: FrozenDateTimeFactory, when: float) -> None:
    """Move the frozen clock one microsecond past `when` (POSIX seconds): at POSIX-scale loop
    times the loop's clock resolution rounds away, so a timer is only due once the clock is
    beyond it."""
    freezer.move_to(EPOCH + timedelta(microseconds=math.floor(when * 1_000_000) + 1))
