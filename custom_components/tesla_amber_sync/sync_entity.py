"""Base for entities that show the sync engine's state (not a coordinator's)."""

from __future__ import annotations

from homeassistant.helpers.entity import Entity, EntityDescription

from .data import TeslaAmberSyncConfigEntry
from .entity import powerwall_device
from .sync import SyncEngine


class SyncEngineEntity(Entity):
    """Pushed by the engine whenever its view changes."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self, engine: SyncEngine, entry: TeslaAmberSyncConfigEntry, description: EntityDescription
    ) -> None:
        """Attach to the Powerwall device."""
        self.engine = engine
        self.entity_description = description
        self._attr_unique_id = f"{entry.unique_id}_{description.key}"
        self._attr_device_info = powerwall_device(entry)

    async def async_added_to_hass(self) -> None:
        """Follow the engine."""
        self.async_on_remove(self.engine.add_listener(self.async_write_ha_state))
