"""The Amber poll runs just after each 5-minute boundary, re-polls briefly, and backs off."""

from __future__ import annotations

from datetime import datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .fakes import FakeAmber, FakeTesla
from .helpers import advance, advance_to, state_value

PRICE = "sensor.amber_electric_general_price"


def poll_times(amber: FakeAmber) -> list[str]:
    """Local HH:MM:SS of each prices call."""
    return [f"{dt_util.as_local(c.at):%H:%M:%S}" for c in amber.calls_to("/prices/current")]


def at(hour: int, minute: int, second: int = 0) -> datetime:
    """A moment on the test day (2025-01-15, Sydney, UTC+11)."""
    return datetime.fromisoformat(f"2025-01-15T{hour:02}:{minute:02}:{second:02}+11:00")


async def test_polls_align_to_amber_intervals(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    loaded_entry: MockConfigEntry,
) -> None:
    """Set up at 14:02:30, the next polls are 14:05:05, 14:10:05, ... not 14:07:30."""
    await advance_to(hass, frozen, at(14, 16))
    assert poll_times(amber) == ["14:02:30", "14:05:05", "14:10:05", "14:15:05"]


async def test_repolls_until_the_interval_rolls_over(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """Amber publishes late: look again at +20 s and +35 s, at most three polls an interval."""
    amber.publish_delay = 30  # each interval appears 30 s after its boundary
    frozen.move_to(at(14, 4, 50))
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await advance_to(hass, frozen, at(14, 11))
    # 14:05:05 still shows 14:00; 14:05:20 too; 14:05:35 has it. Then 14:10:05 (late again).
    assert poll_times(amber)[1:] == [
        "14:05:05",
        "14:05:20",
        "14:05:35",
        "14:10:05",
        "14:10:20",
        "14:10:35",
    ]


async def test_repolls_while_the_price_is_an_estimate(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """The first price of an interval is an estimate: poll again until it is final (bounded)."""
    amber.estimate_for = 20
    frozen.move_to(at(14, 4, 50))
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await advance_to(hass, frozen, at(14, 6))
    assert poll_times(amber)[1:] == ["14:05:05", "14:05:20"]
    amber.estimate_for = 300  # never final: the fourth poll, 45 s in, is the last one
    await advance_to(hass, frozen, at(14, 11))
    assert poll_times(amber)[3:] == ["14:10:05", "14:10:20", "14:10:35", "14:10:45"]


async def test_rate_limit_waits_for_the_advertised_reset(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    loaded_entry: MockConfigEntry,
) -> None:
    """A 429 stops polling until the reset Amber advertised, and prices show unavailable."""
    amber.fail(
        "prices",
        status=429,
        body={"message": "Too Many Requests"},
        headers={"RateLimit-Reset": "600", "RateLimit-Remaining": "0"},
    )
    await advance_to(hass, frozen, at(14, 5, 10))
    assert state_value(hass, PRICE) == "unavailable"
    await advance_to(hass, frozen, at(14, 15, 0))
    assert poll_times(amber) == ["14:02:30", "14:05:05"]  # nothing during the wait
    await advance_to(hass, frozen, at(14, 15, 10))
    assert poll_times(amber)[-1] == "14:15:05"
    assert state_value(hass, PRICE) == "0.108"


async def test_failures_back_off_then_recover(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    loaded_entry: MockConfigEntry,
) -> None:
    """A failing Amber is retried sooner than the next boundary, with growing gaps."""
    amber.fail("prices", status=503, times=-1)
    await advance_to(hass, frozen, at(14, 7, 0))
    # 14:05:05 fails (each poll is one call plus two quick retries), then 30 s later again.
    times = poll_times(amber)
    assert times[1:4] == ["14:05:05"] * 3
    assert times[4:7] == ["14:05:35"] * 3
    assert times[7:10] == ["14:06:35"] * 3
    amber.clear_faults()
    await advance(hass, frozen, timedelta(minutes=3))
    assert state_value(hass, PRICE) == "0.108"


async def test_short_horizon_asks_for_thirty_minute_intervals(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    loaded_entry: MockConfigEntry,
) -> None:
    """When a 5-minute response is cut by count before 24 h, a 30-minute call reaches further."""
    original = amber.intervals

    def all_five_minute(site, now, previous, next_count, resolution):  # type: ignore[no-untyped-def]
        if resolution != 5:
            return original(site, now, previous, next_count, resolution)
        result = original(site, now, previous, 0, 5)
        start = datetime.fromisoformat(result[-1]["endTime"])
        for channel in amber.channels(site):
            for n in range(next_count):
                result.append(
                    amber.interval_json(
                        channel, start + timedelta(minutes=5 * n), 5, "ForecastInterval"
                    )
                )
        return result

    amber.intervals = all_five_minute  # type: ignore[method-assign]
    await advance(hass, frozen, timedelta(minutes=3))
    calls = amber.calls_to("/prices/current")[-2:]
    assert [c.query["resolution"] for c in calls] == ["5", "30"]
    assert state_value(hass, "sensor.home_powerwall_sync_status") in ("ok", "unchanged")
