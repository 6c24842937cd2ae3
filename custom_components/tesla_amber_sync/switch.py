"""The auto-sync switch: whether the timer keeps the Powerwall's plan in step."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .control_entities import control_switches
from .data import TeslaAmberSyncConfigEntry
from .sync import SyncEngine
from .sync_entity import PushedEntity

PARALLEL_UPDATES = 1


class AutoSyncSwitch(PushedEntity[SyncEngine], SwitchEntity):
    """On: a plan goes out every 5-minute interval. Off: only the actions push.

    The state lives in the engine's store, so it survives restarts without racing the first
    price update.
    """

    @property
    def is_on(self) -> bool:
        """Whether auto-sync is on."""
        return self.source.auto_sync

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Resume timed pushes (one goes out now if the interval has none yet)."""
        await self.source.async_set_auto_sync(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop timed pushes; the Powerwall keeps the plan it has."""
        await self.source.async_set_auto_sync(False)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TeslaAmberSyncConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the switch."""
    engine = entry.runtime_data.sync
    entities: list[SwitchEntity] = [
        AutoSyncSwitch(
            engine, entry, SwitchEntityDescription(key="auto_sync", translation_key="auto_sync")
        )
    ]
    entities.extend(control_switches(entry))
    async_add_entities(entities)
