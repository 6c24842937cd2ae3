"""Demand charges in a running Home Assistant: entities, the billing cycle, restarts, the plan."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_amber_sync.const import DOMAIN
from custom_components.tesla_amber_sync.validate import validate_tariff

from .conftest import entry_data
from .fakes import SYDNEY, FakeAmber, FakeTesla
from .helpers import advance, advance_to, state_value

CURRENT = "sensor.home_powerwall_current_demand"
PEAK = "sensor.home_powerwall_peak_demand"
COST = "sensor.home_powerwall_demand_charge_cost"
DAYS = "sensor.home_powerwall_days_until_demand_reset"
IN_WINDOW = "binary_sensor.home_powerwall_in_demand_window"
TEN_MIN = timedelta(minutes=10)

DEMAND: dict[str, Any] = {
    "demand_enabled": True,
    "demand_rate": 10.0,
    "demand_rate_basis": "per_kw_month",
    "demand_window_source": "fixed",
    "demand_start": "16:00",
    "demand_end": "21:00",
    "demand_days": "all",
    "demand_billing_day": 1,
    "demand_in_plan": "none",
}


def at(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A Sydney wall-clock moment in 2025."""
    return datetime(2025, month, day, hour, minute, second, tzinfo=SYDNEY)


async def setup_entry(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, start: datetime, options: dict[str, Any]
) -> MockConfigEntry:
    """An entry with the given options, set up at `start`."""
    await hass.config.async_set_time_zone("Australia/Sydney")
    frozen.move_to(start)
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id="1234567890123", data=entry_data(), options=options
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def grid(profile: dict[tuple[datetime, datetime], float]) -> Any:
    """A live_status hook: grid import (W) by time span, 0 elsewhere."""

    def live(now: datetime) -> dict[str, Any]:
        for (start, end), watts in profile.items():
            if start <= now < end:
                return {"grid_power": watts}
        return {"grid_power": 0.0}

    return live


async def test_entities_follow_the_option_without_a_restart(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """Switching demand on adds its entities; switching it off removes them from the registry."""
    assert hass.states.get(PEAK) is None
    hass.config_entries.async_update_entry(loaded_entry, options=DEMAND)
    await hass.async_block_till_done()
    for entity_id in (CURRENT, PEAK, COST, DAYS, IN_WINDOW):
        assert hass.states.get(entity_id) is not None, entity_id
    assert state_value(hass, IN_WINDOW) == "off"  # 14:02
    assert state_value(hass, DAYS) == "17"  # 15 January -> 1 February
    hass.config_entries.async_update_entry(
        loaded_entry, options={**DEMAND, "demand_enabled": False}
    )
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    for entity_id in (CURRENT, PEAK, COST, DAYS, IN_WINDOW):
        assert registry.async_get(entity_id) is None, entity_id
        state = hass.states.get(entity_id)
        assert state is None or state.state == STATE_UNAVAILABLE


async def test_a_short_burst_is_averaged_over_the_half_hour(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """10 kW for 2 minutes in the window is a 0.667 kW half hour, not a 10 kW peak."""
    tesla.live_fn = grid({(at(1, 15, 16), at(1, 15, 16, 2)): 10000.0})
    await setup_entry(hass, frozen, at(1, 15, 15, 55), DEMAND)
    await advance_to(hass, frozen, at(1, 15, 16, 1, 5))
    assert state_value(hass, CURRENT) == "10.0"  # only burst so far
    assert state_value(hass, IN_WINDOW) == "on"
    await advance_to(hass, frozen, at(1, 15, 16, 30, 5))
    assert float(state_value(hass, PEAK)) == pytest.approx(0.667, abs=0.001)
    peak = hass.states.get(PEAK)
    assert peak is not None
    assert peak.attributes["peak_at"] == "2025-01-15T16:00:00+11:00"
    assert state_value(hass, COST) == "6.67"  # $10/kW/month, charged once a peak exists


async def test_a_month_with_a_billing_day_reset(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """A simulated month: peaks outside the window ignored, the window's highest half hour billed,
    everything reset at midnight on the billing day."""
    profile: dict[tuple[datetime, datetime], float] = {
        (at(1, 22, 12), at(1, 22, 12, 30)): 9000.0,  # outside the window: ignored
        # Peaks last 90 minutes so that whole half hours see them whatever the poll phase.
        (at(1, 20, 17, 30), at(1, 20, 19)): 6000.0,  # January's peak
        (at(2, 3, 16, 30), at(2, 3, 18)): 3000.0,  # February's
    }
    for day in range(15, 32):
        profile[(at(1, day, 17), at(1, day, 17, 30))] = 2000.0
    tesla.live_fn = grid(profile)
    # Ten-minute polls and no plan pushes keep three simulated weeks fast; half hours are still
    # fully measured (samples at :00, :10, :20 held until the next).
    options = {
        **DEMAND,
        "live_status_interval": 600,
        "demand_rate_basis": "c_per_kw_day",
        "demand_rate": 50.0,
    }
    await setup_entry(hass, frozen, at(1, 15, 14), options)
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.home_powerwall_auto_sync"}, blocking=True
    )
    await advance_to(hass, frozen, at(1, 31, 23, 50), step=TEN_MIN)
    assert state_value(hass, PEAK) == "6.0"
    peak = hass.states.get(PEAK)
    assert peak is not None
    assert peak.attributes["peak_at"] in (
        "2025-01-20T17:30:00+11:00",
        "2025-01-20T18:00:00+11:00",
    )
    # 50 c/kW/day x 6 kW x 31 days elapsed in the January cycle.
    assert state_value(hass, COST) == "93.0"
    assert state_value(hass, DAYS) == "1"
    await advance_to(hass, frozen, at(2, 1, 0, 5), step=TEN_MIN)
    assert state_value(hass, PEAK) == "0.0"
    assert state_value(hass, COST) == "0.0"
    assert state_value(hass, DAYS) == "28"
    await advance_to(hass, frozen, at(2, 4, 0, 5), step=TEN_MIN)
    assert state_value(hass, PEAK) == "3.0"
    assert state_value(hass, COST) == "6.0"  # 3 kW x $0.50 x 4 days (1-4 February)


async def test_a_restart_mid_half_hour_loses_and_doubles_nothing(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """Reloaded in the middle of a half hour: the half hour completes with the same average."""
    tesla.live_fn = grid({(at(1, 15, 17), at(1, 15, 17, 30)): 4000.0})
    entry = await setup_entry(hass, frozen, at(1, 15, 16, 50), DEMAND)
    await advance_to(hass, frozen, at(1, 15, 17, 14), step=timedelta(seconds=30))
    assert state_value(hass, CURRENT) == "4.0"
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert state_value(hass, CURRENT) == "4.0"  # the partial half hour came back
    await advance_to(hass, frozen, at(1, 15, 17, 31), step=timedelta(seconds=30))
    assert state_value(hass, PEAK) == "4.0"
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert state_value(hass, PEAK) == "4.0"
    peak = hass.states.get(PEAK)
    assert peak is not None
    assert peak.attributes["peak_at"] == "2025-01-15T17:00:00+11:00"


async def test_an_unreachable_powerwall_is_not_zero_import(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """With live status failing most of a half hour, that half hour sets no peak."""
    tesla.live_fn = grid({(at(1, 15, 17), at(1, 15, 18)): 5000.0})
    await setup_entry(hass, frozen, at(1, 15, 16, 55), DEMAND)
    await advance_to(hass, frozen, at(1, 15, 17, 5), step=timedelta(seconds=30))
    tesla.fail("live_status", status=503, times=-1)
    await advance_to(hass, frozen, at(1, 15, 17, 31), step=timedelta(seconds=30))
    assert state_value(hass, PEAK) == "0.0"  # 5 of 30 minutes measured: too little data
    tesla.clear_faults()
    await advance_to(hass, frozen, at(1, 15, 18, 1), step=timedelta(seconds=30))
    assert state_value(hass, PEAK) == "5.0"  # 17:30-18:00 fully measured


async def test_weekday_window_in_the_plan(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """A weekday-only window carries the demand rate on weekdays only: periods split by days."""
    options = {
        **DEMAND,
        "demand_days": "weekdays",
        "demand_in_plan": "demand_rates",
        "demand_rate": 12.5,
    }
    await setup_entry(hass, frozen, at(1, 15, 14, 2), options)
    body = tesla.tariff_writes[-1]
    validate_tariff(body)
    periods = body["seasons"]["Summer"]["tou_periods"]
    weekday = periods["PERIOD_16_00_DW"]["periods"]
    weekend = periods["PERIOD_16_00"]["periods"]
    assert [(w["fromDayOfWeek"], w["toDayOfWeek"]) for w in weekday] == [(0, 4)]
    assert [(w["fromDayOfWeek"], w["toDayOfWeek"]) for w in weekend] == [(5, 6)]
    assert periods["PERIOD_15_30"]["periods"][0]["toDayOfWeek"] == 6  # outside: untouched
    demand = body["demand_charges"]["Summer"]["rates"]
    assert demand == {f"PERIOD_{h:02}_{m:02}_DW": 12.5 for h in range(16, 21) for m in (0, 30)}
    buy = body["energy_charges"]["Summer"]["rates"]
    assert buy["PERIOD_16_00_DW"] == buy["PERIOD_16_00"]


async def test_surcharge_in_the_plan(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """The surcharge raises the buy price in the window's slots and nowhere else."""
    options = {**DEMAND, "demand_in_plan": "surcharge", "demand_surcharge": 0.25}
    await setup_entry(hass, frozen, at(1, 15, 14, 2), options)
    buy = tesla.tariff_writes[-1]["energy_charges"]["Summer"]["rates"]
    assert buy["PERIOD_16_00"] == pytest.approx(0.232 + 0.25)
    assert buy["PERIOD_20_30"] == pytest.approx(0.491 + 0.25)
    assert buy["PERIOD_21_00"] == 0.242
    assert buy["PERIOD_15_30"] == 0.231


async def test_amber_flag_as_the_window(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """Window from Amber's flag (the fake flags 16:00-20:00): sensor, peak and plan follow it."""
    amber.demand_window = lambda start: 16 <= start.astimezone(SYDNEY).hour < 20
    tesla.live_fn = grid(
        {
            (at(1, 15, 20), at(1, 15, 20, 30)): 7000.0,  # in the fixed window, not Amber's
            (at(1, 15, 19), at(1, 15, 19, 30)): 3000.0,
        }
    )
    options = {**DEMAND, "demand_window_source": "amber", "demand_in_plan": "demand_rates"}
    await setup_entry(hass, frozen, at(1, 15, 18, 55), options)
    await advance(hass, frozen, timedelta(minutes=10), step=timedelta(seconds=30))
    assert state_value(hass, IN_WINDOW) == "on"
    await advance_to(hass, frozen, at(1, 15, 20, 31), step=timedelta(seconds=30))
    assert state_value(hass, IN_WINDOW) == "off"
    assert state_value(hass, PEAK) == "3.0"
    body = tesla.tariff_writes[-1]
    demand = body["demand_charges"]["Summer"]["rates"]
    flagged = {name.removesuffix("_DW") for name in demand}
    # Tomorrow's 16:00-20:00 (Thursday) carries the rate; today's remaining slots are past 20:00.
    assert flagged == {f"PERIOD_{h:02}_{m:02}" for h in range(16, 20) for m in (0, 30)}
    periods = body["seasons"]["Summer"]["tou_periods"]
    assert [
        (w["fromDayOfWeek"], w["toDayOfWeek"]) for w in periods["PERIOD_16_00_DW"]["periods"]
    ] == [(3, 3)]


async def test_demand_options_step(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """The options form shows defaults, refuses a window off the half hour, and stores the
    normalised options (the entry reloads with the demand entities)."""
    from homeassistant.data_entry_flow import FlowResultType

    from .flow_helpers import assert_has_strings, schema_defaults

    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "demand"}
    )
    assert_has_strings(result, section="options")
    defaults = schema_defaults(result)
    assert defaults["demand_enabled"] is False
    assert defaults["demand_start"] == "16:00"
    assert defaults["demand_months"] == [str(m) for m in range(1, 13)]
    form = {
        **defaults,
        "demand_enabled": True,
        "demand_rate": 12.5,
        "demand_start": "16:15:00",
        "demand_end": "21:00:00",
        "demand_days": "weekdays",
        "demand_months": ["6", "7", "8"],
        "demand_billing_day": 10.0,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"demand_start": "invalid_demand_value"}
    assert_has_strings(result, section="options")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, "demand_start": "16:00:00"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    options = loaded_entry.options
    assert options["demand_start"] == "16:00"
    assert options["demand_end"] == "21:00"
    assert options["demand_months"] == [6, 7, 8]
    assert options["demand_billing_day"] == 10
    assert options["demand_days"] == "weekdays"
    assert state_value(hass, DAYS) == "26"  # 15 January -> 10 February
    # A stored option that no longer parses is shown with defaults, not a crash.
    hass.config_entries.async_update_entry(
        loaded_entry, options={**options, "demand_rate_basis": "per_fortnight"}
    )
    await hass.async_block_till_done()
    assert hass.states.get(PEAK) is None or state_value(hass, PEAK) == "unavailable"
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "demand"}
    )
    assert schema_defaults(result)["demand_rate_basis"] == "per_kw_month"
