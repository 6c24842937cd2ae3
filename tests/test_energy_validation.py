"""Home Assistant's own energy validation over our energy sensors and price entities.

A module of its own: the recorder must start before Home Assistant, so this module's autouse
fixture brings it up first.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy.validate import async_validate
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from .conftest import entry_data, setup_entry, setup_fixed_entry
from .fakes import FakeAmber, FakeTesla
from .test_energy import CHARGE, DISCHARGE, EXPORT, HOME, IMPORT, SOLAR, TODAY, day_entry


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(  # overrides the conftest fixture: recorder first
    recorder_mock: Any, enable_custom_integrations: None
) -> None:
    """Recorder, then custom integrations."""


PRICES = {
    "amber": ("sensor.amber_electric_general_price", "sensor.amber_electric_feed_in_price"),
    "fixed_plan": (
        "sensor.electricity_plan_general_price",
        "sensor.electricity_plan_feed_in_price",
    ),
}


@pytest.fixture(params=sorted(PRICES))
async def energy_ready(
    request: pytest.FixtureRequest,
    recorder_mock: Any,
    hass: HomeAssistant,
    amber: FakeAmber,
    tesla: FakeTesla,
) -> tuple[str, str]:
    """Recorder and energy set up, and an Amber or fixed-plan entry loaded with energy totals;
    its two price entities."""
    tesla.history = [day_entry(TODAY, 5000.0)]
    assert await async_setup_component(hass, "energy", {})
    if request.param == "fixed_plan":
        await setup_fixed_entry(hass)
    else:
        await setup_entry(hass, entry_data(), {})
    general, feed_in = PRICES[request.param]
    assert hass.states.get(general) is not None
    assert hass.states.get(feed_in) is not None
    return general, feed_in


async def test_home_assistant_energy_validation_finds_no_problem(
    hass: HomeAssistant, energy_ready: tuple[str, str]
) -> None:
    """Grid import/export with our prices (Amber's or a fixed plan's), solar and battery: HA's
    validation is clean."""
    general, feed_in = energy_ready
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": [
                {
                    "type": "grid",
                    "flow_from": [
                        {
                            "stat_energy_from": IMPORT,
                            "stat_cost": None,
                            "entity_energy_price": general,
                            "number_energy_price": None,
                        }
                    ],
                    "flow_to": [
                        {
                            "stat_energy_to": EXPORT,
                            "stat_compensation": None,
                            "entity_energy_price": feed_in,
                            "number_energy_price": None,
                        }
                    ],
                    "cost_adjustment_day": 0,
                },
                {"type": "solar", "stat_energy_from": SOLAR, "config_entry_solar_forecast": None},
                {"type": "battery", "stat_energy_from": DISCHARGE, "stat_energy_to": CHARGE},
            ],
            "device_consumption": [{"stat_consumption": HOME}],
        }
    )
    # Statistics exist once the recorder has compiled a period with our states in it.
    await async_wait_recording_done(hass)
    now = dt_util.utcnow()
    start = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    do_adhoc_statistics(hass, start=start - timedelta(minutes=5))
    do_adhoc_statistics(hass, start=start)
    await async_wait_recording_done(hass)
    validation = (await async_validate(hass)).as_dict()
    # Newer Home Assistant also validates water meters of devices (2026.11 adds an empty
    # "device_consumption_water" list; 2025.4 has no such key): none is configured here.
    assert validation.pop("device_consumption_water", []) == []
    assert validation == {"energy_sources": [[], [], []], "device_consumption": [[]]}
