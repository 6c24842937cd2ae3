"""Energy sensors for the Energy dashboard, HA's own energy validation, and the dashboard action."""

from __future__ import annotations

from datetime import date, datetime, timedelta
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_amber_sync.const import DOMAIN
from custom_components.tesla_amber_sync.energy_meter import EnergyMeters

from .conftest import entry_data, setup_entry, setup_fixed_entry
from .fakes import SYDNEY, FakeAmber, FakeTesla
from .helpers import advance, advance_to, state_value

IMPORT = "sensor.home_powerwall_grid_import_energy"
EXPORT = "sensor.home_powerwall_grid_export_energy"
SOLAR = "sensor.home_powerwall_solar_production_energy"
CHARGE = "sensor.home_powerwall_battery_charge_energy"
DISCHARGE = "sensor.home_powerwall_battery_discharge_energy"
HOME = "sensor.home_powerwall_home_consumption_energy"


def day_entry(day: date, imported: float, **more: float) -> dict[str, Any]:
    """One `calendar_history` entry (Wh), as Tesla writes it."""
    return {
        "timestamp": f"{day.isoformat()}T00:00:00+11:00",
        "grid_energy_imported": imported,
        "grid_energy_exported_from_solar": more.get("export_solar", 1000.0),
        "grid_energy_exported_from_battery": more.get("export_battery", 500.0),
        "solar_energy_exported": more.get("solar", 8000.0),
        "battery_energy_exported": more.get("discharge", 3000.0),
        "battery_energy_imported_from_grid": more.get("charge_grid", 0.0),
        "battery_energy_imported_from_solar": more.get("charge_solar", 4000.0),
        "consumer_energy_imported_from_grid": imported,
        "consumer_energy_imported_from_solar": 3000.0,
        "consumer_energy_imported_from_battery": 2500.0,
    }


TODAY = date(2025, 1, 15)
TOMORROW = date(2025, 1, 16)


async def test_meters_count_each_kwh_once(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """Increases count; a revision down is held and its recovery not counted twice; a new day
    starts from its own total; yesterday's late revision still counts; a restart keeps all."""
    tesla.history = [day_entry(TODAY, 5000.0)]
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert state_value(hass, IMPORT) == "5.0"  # the starting point
    assert state_value(hass, EXPORT) == "1.5"
    assert state_value(hass, SOLAR) == "8.0"
    assert state_value(hass, CHARGE) == "4.0"
    assert state_value(hass, DISCHARGE) == "3.0"
    assert state_value(hass, HOME) == "10.5"
    state = hass.states.get(IMPORT)
    assert state is not None
    assert state.attributes["state_class"] == "total_increasing"
    assert state.attributes["device_class"] == "energy"
    assert state.attributes["unit_of_measurement"] == "kWh"

    tesla.history = [day_entry(TODAY, 6200.0)]
    await advance(hass, frozen, timedelta(minutes=6))
    assert state_value(hass, IMPORT) == "6.2"
    tesla.history = [day_entry(TODAY, 6000.0)]  # Tesla revised the day down
    await advance(hass, frozen, timedelta(minutes=6))
    assert state_value(hass, IMPORT) == "6.2"  # never a negative jump
    tesla.history = [day_entry(TODAY, 6500.0)]
    await advance(hass, frozen, timedelta(minutes=6))
    assert state_value(hass, IMPORT) == "6.5"  # only the 0.3 above the old high

    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert state_value(hass, IMPORT) == "6.5"  # not re-counted after a restart

    await advance_to(
        hass, frozen, datetime(2025, 1, 16, 0, 1, tzinfo=SYDNEY), step=timedelta(minutes=5)
    )
    tesla.history = [day_entry(TODAY, 6700.0), day_entry(TOMORROW, 300.0)]
    await advance(hass, frozen, timedelta(minutes=6))
    # Yesterday's last 0.2 kWh arrived after midnight, and the new day's first 0.3.
    assert state_value(hass, IMPORT) == "7.0"


async def test_meters_across_the_end_of_daylight_saving(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """Sunday 6 April 2025 has 25 hours (03:00 AEDT -> 02:00 AEST): energy reported during the
    repeated hour counts once, and Monday (now +10:00) starts from its own total."""

    def entry(day: date, offset: str, imported: float) -> dict[str, Any]:
        return {**day_entry(day, imported), "timestamp": f"{day.isoformat()}T00:00:00{offset}"}

    saturday, sunday, monday = date(2025, 4, 5), date(2025, 4, 6), date(2025, 4, 7)
    frozen.move_to(datetime(2025, 4, 5, 23, 50, tzinfo=SYDNEY))
    await hass.config.async_set_time_zone("Australia/Sydney")
    tesla.history = [entry(saturday, "+11:00", 9000.0)]
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert state_value(hass, IMPORT) == "9.0"
    first_0230 = datetime(2025, 4, 6, 2, 30, tzinfo=SYDNEY)
    tesla.history = [entry(saturday, "+11:00", 9000.0), entry(sunday, "+11:00", 400.0)]
    await advance_to(hass, frozen, first_0230, step=timedelta(minutes=5))
    assert state_value(hass, IMPORT) == "9.4"
    tesla.history = [entry(saturday, "+11:00", 9000.0), entry(sunday, "+11:00", 700.0)]
    second_0230 = datetime(2025, 4, 6, 2, 30, tzinfo=SYDNEY, fold=1)  # an hour later
    await advance_to(hass, frozen, second_0230, step=timedelta(minutes=5))
    assert state_value(hass, IMPORT) == "9.7"
    tesla.history = [entry(sunday, "+11:00", 5000.0), entry(monday, "+10:00", 200.0)]
    await advance_to(
        hass, frozen, datetime(2025, 4, 7, 0, 10, tzinfo=SYDNEY), step=timedelta(minutes=5)
    )
    assert state_value(hass, IMPORT) == "14.2"  # 9.0 + Sunday's 5.0 + Monday's first 0.2


def test_meters_pure_rules() -> None:
    """Fallback sums, garbage ignored, old days forgotten, round trip."""
    meters = EnergyMeters()
    meters.update([(TODAY, {"total_grid_energy_exported": 900.0, "grid_energy_imported": 10.0})])
    assert meters.lifetime["grid_export"] == 0.9
    gained = meters.update(
        [(TODAY, {"total_grid_energy_exported": 1900.0, "grid_energy_imported": float("nan")})]
    )
    assert gained == {"grid_export": 1.0}
    for offset in range(1, 6):
        meters.update([(TODAY + timedelta(days=offset), {"grid_energy_imported": 1.0})])
    assert len(meters.highs) == 3
    restored = EnergyMeters.from_dict(meters.to_dict())
    assert restored == meters
    assert EnergyMeters.from_dict(
        {"lifetime": {"grid_import": -5, "nope": 1}, "highs": {"x": {}}}
    ) == (EnergyMeters())


def named_entities(node: Any) -> set[str]:
    """Every entity id a view names: entity fields and ids inside templates."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("entity", "entities") and isinstance(value, str):
                found.add(value)
            elif key == "entities" and isinstance(value, list):
                found.update(v for v in value if isinstance(v, str))
            elif key == "content" and isinstance(value, str):
                found.update(re.findall(r"'((?:sensor|binary_sensor|switch)\.[a-z0-9_]+)'", value))
            else:
                found |= named_entities(value)
    elif isinstance(node, list):
        for item in node:
            found |= named_entities(item)
    return found


async def test_dashboard_names_only_real_entities(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, loaded_entry: MockConfigEntry
) -> None:
    """The view uses built-in cards, and every entity it names exists with a state."""
    response = await hass.services.async_call(
        DOMAIN, "dashboard", {}, blocking=True, return_response=True
    )
    assert response is not None
    view = response["view"]
    types = {card["type"] for card in view["cards"]}
    assert types <= {"entities", "markdown", "gauge", "history-graph"}
    named = named_entities(view)
    assert "sensor.amber_electric_general_price" in named
    assert "sensor.home_powerwall_powerwall_plan_price" in named
    assert "switch.home_powerwall_auto_sync" in named
    for entity_id in named:
        assert hass.states.get(entity_id) is not None, entity_id
    titles = [card.get("title") for card in view["cards"]]
    assert "Demand charge" not in titles  # not enabled on this entry


@pytest.mark.parametrize("source", ["amber", "fixed_plan"])
async def test_dashboard_with_demand_names_only_real_entities(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    source: str,
) -> None:
    """With demand charges on, for an Amber and a fixed-plan entry, asked for by entry id: the
    demand card is there and every entity the view names exists with a state."""
    from .test_fixed_plan import DEMAND_OPTIONS

    fixed = source == "fixed_plan"
    if fixed:
        entry = await setup_fixed_entry(hass, DEMAND_OPTIONS)
    else:
        entry = await setup_entry(hass, entry_data(), DEMAND_OPTIONS)
    response = await hass.services.async_call(
        DOMAIN,
        "dashboard",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    view = response["view"]
    titles = [card.get("title") for card in view["cards"]]
    assert "Demand charge" in titles
    named = named_entities(view)
    assert "sensor.home_powerwall_peak_demand" in named
    price = "electricity_plan" if fixed else "amber_electric"
    assert f"sensor.{price}_general_price" in named
    for entity_id in named:
        assert hass.states.get(entity_id) is not None, entity_id
