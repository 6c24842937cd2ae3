"""Base for entities pushed by one of our engines (sync, demand) rather than a coordinator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from homeassistant.core import CALLBACK_TYPE
from homeassistant.helpers.entity import Entity, EntityDescription

from .data import TeslaAmberSyncConfigEntry
from .entity import powerwall_device


class Notifier(Protocol):
    """Anything entities can follow."""

    def add_listener(self, update: CALLBACK_TYPE) -> Callable[[], None]:
        """Call `update` on every change; returns the unsubscribe function."""


class PushedEntity[SourceT: Notifier](Entity):
    """Written whenever its source says it changed."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self, source: SourceT, entry: TeslaAmberSyncConfigEntry, description: EntityDescription
    ) -> None:
        """Attach to the Powerwall device."""
        self.source = source
        self.entity_description = description
        self._attr_unique_id = f"{entry.unique_id}_{description.key}"
        self._attr_device_info = powerwall_device(entry)

    async def async_added_to_hass(self) -> None:
        """Follow the source."""
        self.async_on_remove(self.source.add_listener(self.async_write_ha_state))
