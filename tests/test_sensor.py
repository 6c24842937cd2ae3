"""What users see: entity states and attributes from Amber- and Tesla-shaped data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .fakes import ENERGY_SITE_ID, FakeAmber, FakeTesla, site_json
from .helpers import advance, state_value

GENERAL = "sensor.amber_electric_general_price"
FEED_IN = "sensor.amber_electric_feed_in_price"


async def test_prices_and_attributes(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """14:02 in Sydney: the current 5-minute general price is 10.8 c; feed-in pays 0.64 c."""
    general = hass.states.get(GENERAL)
    assert general is not None
    assert general.state == "0.108"
    assert general.attributes["unit_of_measurement"] == "AUD/kWh"
    assert general.attributes["state_class"] == "measurement"
    assert general.attributes["spot_price"] == 0.0432
    assert general.attributes["descriptor"] == "neutral"
    assert general.attributes["spike_status"] == "none"
    assert general.attributes["renewables"] == 42.5
    assert general.attributes["estimate"] is False
    forecast = general.attributes["forecast"]
    # 5-minute intervals to 15:00 (11), then half hours up to 24 h after 14:05 (47).
    assert len(forecast) == 11 + 47
    assert forecast[0] == {
        "start": "2025-01-15T14:05:00+11:00",
        "end": "2025-01-15T14:10:00+11:00",
        "price": 0.108,
    }
    assert forecast[11]["start"] == "2025-01-15T15:00:00+11:00"
    assert forecast[11]["end"] == "2025-01-15T15:30:00+11:00"
    assert forecast[11]["price"] == 0.23  # 15:00 half hour: 20.0 + 30 * 0.1 c
    assert forecast[-1]["start"] == "2025-01-16T14:00:00+11:00"
    # Feed-in is shown positive when the user is paid (Amber's -0.64 c).
    assert state_value(hass, FEED_IN) == "0.0064"
    assert state_value(hass, "sensor.amber_electric_renewables") == "42.5"
    assert state_value(hass, "sensor.amber_electric_price_spike") == "none"
    assert hass.states.get("sensor.amber_electric_controlled_load_price") is None


async def test_power_and_battery(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Watts become kW with Tesla's signs: battery + = discharging, grid + = importing."""
    assert state_value(hass, "sensor.home_powerwall_battery_level") == "66.7"
    assert state_value(hass, "sensor.home_powerwall_battery_power") == "-1.5"
    assert state_value(hass, "sensor.home_powerwall_solar_power") == "4.21"
    assert state_value(hass, "sensor.home_powerwall_grid_power") == "-1.46"
    assert state_value(hass, "sensor.home_powerwall_home_load") == "1.25"
    assert state_value(hass, "binary_sensor.home_powerwall_grid_connected") == "on"


async def test_read_only_settings_without_a_battery(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """Where the settings cannot be changed they show as diagnostic sensors."""
    tesla.info["components"]["battery"] = False
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert state_value(hass, "sensor.home_powerwall_backup_reserve") == "20.0"
    assert state_value(hass, "sensor.home_powerwall_operation_mode") == "autonomous"
    ent_reg = er.async_get(hass)
    reserve = ent_reg.async_get("sensor.home_powerwall_backup_reserve")
    assert reserve is not None
    assert reserve.entity_category == "diagnostic"
    assert reserve.unique_id == f"{ENERGY_SITE_ID}_backup_reserve"
    assert hass.states.get("number.home_powerwall_backup_reserve") is None


async def test_devices(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Two devices: the Amber site (a service) and the Powerwall."""
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), loaded_entry.entry_id)
    names = sorted((d.name, d.manufacturer) for d in devices)
    assert names == [("Amber Electric", "Amber Electric"), ("Home Powerwall", "Tesla")]


async def test_controlled_load_only_when_metered(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """A site with a controlled-load channel gets its price sensor."""
    amber.sites = [site_json(controlled_load=True)]
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert state_value(hass, "sensor.amber_electric_controlled_load_price") == "0.0648"


async def test_positive_feed_in_shows_as_a_cost(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """Amber's feed-in +3.1 c means exporting costs money: the sensor is negative."""
    amber.price_fn = lambda channel, start: 3.1 if channel == "feedIn" else 12.0
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert state_value(hass, FEED_IN) == "-0.031"


async def test_unknown_enum_values_never_crash(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A new spike status reads as unknown and is logged once; a new descriptor is kept as text."""

    def novel(intervals: list[dict]) -> list[dict]:  # type: ignore[type-arg]
        for interval in intervals:
            interval["spikeStatus"] = "extreme"
            interval["descriptor"] = "brandNew"
            interval.pop("advancedPrice", None)
        return intervals

    amber.mutate = novel
    tesla.info["default_real_mode"] = "quantum"
    tesla.info["components"]["battery"] = False  # read-only sensors, not controls
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await advance(hass, frozen, timedelta(minutes=10))
    assert state_value(hass, "sensor.amber_electric_price_spike") == STATE_UNKNOWN
    assert state_value(hass, "sensor.home_powerwall_operation_mode") == STATE_UNKNOWN
    general = hass.states.get(GENERAL)
    assert general is not None
    assert general.attributes["descriptor"] == "brandNew"
    assert general.state == "0.108"
    # Without advancedPrice the forecast falls back to perKwh.
    at_three = [f for f in general.attributes["forecast"] if f["start"].endswith("T15:00:00+11:00")]
    assert at_three[0]["price"] == 0.23
    logged = [r for r in caplog.records if "unknown spike status 'extreme'" in r.getMessage()]
    assert len(logged) == 1


async def test_spike_and_demand_window(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """Spike status and Amber's demand-window flag follow the current interval."""
    amber.spikes = {datetime(2025, 1, 15, 3, 0, tzinfo=UTC): "potential"}
    amber.demand_window = lambda start: True
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert state_value(hass, "sensor.amber_electric_price_spike") == "potential"
    assert state_value(hass, "binary_sensor.amber_electric_demand_window") == "on"


async def test_grid_outage(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """Islanded: grid connected turns off on the next poll."""
    tesla.live["grid_status"] = "Inactive"
    tesla.live["solar_power"] = "garbage"
    await advance(hass, frozen, timedelta(seconds=31))
    assert state_value(hass, "binary_sensor.home_powerwall_grid_connected") == "off"
    assert state_value(hass, "sensor.home_powerwall_solar_power") == STATE_UNKNOWN


async def test_unavailable_while_the_source_fails_logged_once_each_way(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Power sensors go unavailable while live_status fails, and come back; one log line each."""
    caplog.set_level(logging.INFO)
    tesla.fail("live_status", status=500, times=-1)
    await advance(hass, frozen, timedelta(seconds=95))  # three failed polls
    assert state_value(hass, "sensor.home_powerwall_battery_power") == STATE_UNAVAILABLE
    assert state_value(hass, GENERAL) == "0.108"  # Amber is unaffected
    errors = [r for r in caplog.records if "Error fetching Powerwall live status" in r.getMessage()]
    assert len(errors) == 1
    assert errors[0].levelno == logging.ERROR
    tesla.clear_faults()
    await advance(hass, frozen, timedelta(seconds=61))
    assert state_value(hass, "sensor.home_powerwall_battery_power") == "-1.5"
    recovered = [r for r in caplog.records if "data recovered" in r.getMessage()]
    assert len(recovered) == 1
    assert not [r for r in caplog.records if r.exc_info and "tesla_amber_sync" in r.name]


async def test_price_entity_is_energy_dashboard_ready(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Numeric, measurement, a unit ending in /kWh, no monetary device class."""
    for entity_id in (GENERAL, FEED_IN):
        state = hass.states.get(entity_id)
        assert state is not None
        float(state.state)
        assert state.attributes["unit_of_measurement"].endswith("/kWh")
        assert "device_class" not in state.attributes
