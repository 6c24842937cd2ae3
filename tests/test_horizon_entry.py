"""A whole entry through a morning of Amber's short forecast (AEMO's horizon) and the new run.

The fake Amber ends its forecast where AEMO's pre-dispatch does: at 08:02 Sydney (summer) that is
05:00 tomorrow, 21 h ahead. The entry must push a plan at once, fetch a day of settled prices
once for the beyond-horizon rule, say which slots the rule filled (plan sensor, preview), raise
no repair, and drop the rule once the 12:30 NEM run (13:30 Sydney) reaches two days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_amber_sync.const import DOMAIN
from custom_components.tesla_amber_sync.issues import ISSUE_PRICES_UNAVAILABLE, has_issue
from custom_components.tesla_amber_sync.tou import rates_at

from .fakes import SYDNEY, FakeAmber, FakeTesla
from .helpers import advance, advance_to, state_value

PLAN = "sensor.home_powerwall_powerwall_plan_price"
STATUS = "sensor.home_powerwall_sync_status"
BEYOND_AT_0802 = ["05:00", "05:30", "06:00", "06:30", "07:00", "07:30"]


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime.fromisoformat(f"2025-01-15T{hour:02}:{minute:02}:{second:02}+11:00")


def price_calls(amber: FakeAmber) -> list[dict[str, str]]:
    return [c.query for c in amber.calls_to("/prices/current")]


def history_tries(amber: FakeAmber) -> list[str]:
    """Local HH:MM of each catch-up attempt (the client's quick retries count as one)."""
    calls = amber.calls_to("/prices/current")
    return sorted({f"{c.at.astimezone(SYDNEY):%H:%M}" for c in calls if c.query["next"] == "0"})


async def start_at(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, entry: MockConfigEntry, when: datetime
) -> None:
    frozen.move_to(when)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def preview(hass: HomeAssistant) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "preview_tariff", {}, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


def beyond_slots(hass: HomeAssistant) -> list[str]:
    state = hass.states.get(PLAN)
    assert state is not None
    sources: dict[str, str] = state.attributes["source"]
    assert set(sources.values()) <= {"amber", "gap", "beyond_horizon"}
    assert len(sources) == 48
    assert state.attributes["beyond_horizon"] == sum(
        v == "beyond_horizon" for v in sources.values()
    )
    return sorted(label for label, v in sources.items() if v == "beyond_horizon")


async def test_morning_plan_beyond_the_horizon_then_the_new_run(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    await start_at(hass, frozen, config_entry, at(8, 2, 30))
    # One poll (the 5-minute answer reaches the horizon: no 30-minute top-up), then one call for
    # a day of settled half hours.
    assert price_calls(amber) == [
        {"previous": "12", "next": "68", "resolution": "5"},
        {"previous": "50", "next": "0", "resolution": "30"},
    ]
    assert state_value(hass, STATUS) == "ok"
    assert not has_issue(hass, ISSUE_PRICES_UNAVAILABLE, config_entry.entry_id)
    assert len(tesla.tariff_writes) == 1
    assert beyond_slots(hass) == BEYOND_AT_0802

    # The preview names each slot's basis; the beyond slots' rates are the pushed plan's.
    response = await preview(hass)
    rows = {row["slot"]: row for row in response["explanation"]}
    pushed = tesla.tariff_writes[-1]
    for label in BEYOND_AT_0802:
        row = rows[label]
        assert row["source"] == "beyond_horizon"
        assert row["buy_basis"] in ("day_before", "last_forecast", "forecast_average")
        assert row["sell_basis"] in ("day_before", "last_forecast", "forecast_average")
        assert row["spike_status"] == "none"
        held = rates_at(pushed, datetime.fromisoformat(row["start"]).astimezone(SYDNEY))
        assert (held.buy, held.sell) == (row["buy"], row["sell"])
        # Never cheaper than the last half hour Amber forecast (04:30 tomorrow).
        assert row["buy"] >= rows["04:30"]["buy"]
    assert all(rows[label]["source"] == "amber" for label in rows if label not in BEYOND_AT_0802)

    # The history is kept: later polls in the morning make no catch-up call.
    await advance_to(hass, frozen, at(9, 1))
    assert [q for q in price_calls(amber) if q["next"] == "0"] == [
        {"previous": "50", "next": "0", "resolution": "30"}
    ]
    assert state_value(hass, STATUS) in ("ok", "unchanged")

    # 13:35 Sydney is 12:35 NEM: the new run reaches 04:00 NEM the day after tomorrow.
    frozen.move_to(at(13, 34, 50))
    await advance(hass, frozen, timedelta(minutes=6))
    assert beyond_slots(hass) == []
    assert state_value(hass, STATUS) in ("ok", "unchanged")
    assert not has_issue(hass, ISSUE_PRICES_UNAVAILABLE, config_entry.entry_id)


async def test_history_unavailable_still_plans_and_retries_later(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Amber failing the catch-up call costs only the day-before figure, never the plan."""
    answer = amber.answer
    failing = True

    def no_history(
        op: str, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if failing and op == "prices" and query.get("next") == "0":
            return 500, {"message": "Internal server error"}, {}
        return answer(op, method, path, query, body)

    amber.answer = no_history  # type: ignore[method-assign]
    caplog.set_level(logging.DEBUG, logger="custom_components.tesla_amber_sync")
    await start_at(hass, frozen, config_entry, at(8, 2, 30))
    assert state_value(hass, STATUS) == "ok"
    assert beyond_slots(hass) == BEYOND_AT_0802
    rows = {row["slot"]: row for row in (await preview(hass))["explanation"]}
    assert "day_before" not in {rows[label]["buy_basis"] for label in BEYOND_AT_0802}
    assert "Amber price history unavailable" in caplog.text

    # No second try within 30 minutes; the one after that succeeds and the day-before figure
    # becomes available.
    await advance_to(hass, frozen, at(8, 31))
    assert history_tries(amber) == ["08:02"]
    failing = False
    await advance_to(hass, frozen, at(8, 36))
    assert history_tries(amber) == ["08:02", "08:35"]
    rows = {row["slot"]: row for row in (await preview(hass))["explanation"]}
    assert all(rows[label]["source"] == "beyond_horizon" for label in BEYOND_AT_0802)
    assert state_value(hass, STATUS) in ("ok", "unchanged")
    assert not has_issue(hass, ISSUE_PRICES_UNAVAILABLE, config_entry.entry_id)


async def test_old_world_long_forecast_needs_no_history(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """With a forecast reaching past 24 h (after the run, or a fixed 40 h) nothing is fetched
    for history and no slot is filled by the rule."""
    amber.horizon = timedelta(hours=40)
    await start_at(hass, frozen, config_entry, at(8, 2, 30))
    assert price_calls(amber) == [{"previous": "12", "next": "68", "resolution": "5"}]
    assert beyond_slots(hass) == []
