"""Select entities: operation mode and grid export rule."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .control_entities import control_selects
from .data import TeslaAmberSyncConfigEntry

PARALLEL_UPDATES = 1  # one write to the Powerwall at a time


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TeslaAmberSyncConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the select entities the site supports."""
    async_add_entities(control_selects(entry))
