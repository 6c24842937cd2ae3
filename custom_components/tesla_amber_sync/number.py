"""Number entities: the backup reserve."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .control_entities import control_numbers
from .data import TeslaAmberSyncConfigEntry

PARALLEL_UPDATES = 1  # one write to the Powerwall at a time


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TeslaAmberSyncConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the number entities the site supports."""
    async_add_entities(control_numbers(entry))
