"""Binary sensors: Amber's demand-window flag and the Powerwall's grid connection."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .amber_coordinator import AmberCoordinator
from .api.models import ChannelType
from .control_entities import forced_mode_sensor
from .data import TeslaAmberSyncConfigEntry
from .demand_entities import demand_binary_sensors
from .entity import TeslaAmberSyncEntity, amber_device, powerwall_device
from .tesla_coordinator import TeslaLiveCoordinator

PARALLEL_UPDATES = 0


class DemandWindowSensor(TeslaAmberSyncEntity[AmberCoordinator], BinarySensorEntity):
    """On while Amber flags the current interval as inside the network's demand window."""

    def __init__(self, coordinator: AmberCoordinator, entry: TeslaAmberSyncConfigEntry) -> None:
        """Belongs to the Amber device."""
        super().__init__(
            coordinator,
            entry,
            BinarySensorEntityDescription(key="demand_window", translation_key="demand_window"),
            amber_device(entry),
        )

    @property
    def is_on(self) -> bool | None:
        """Unknown when Amber does not say."""
        current = self.coordinator.data.current(ChannelType.GENERAL)
        return None if current is None else current.demand_window


class GridConnectedSensor(TeslaAmberSyncEntity[TeslaLiveCoordinator], BinarySensorEntity):
    """Off while the Powerwall is islanded (grid outage or off-grid)."""

    def __init__(self, coordinator: TeslaLiveCoordinator, entry: TeslaAmberSyncConfigEntry) -> None:
        """Belongs to the Powerwall device."""
        super().__init__(
            coordinator,
            entry,
            BinarySensorEntityDescription(
                key="grid_connected",
                translation_key="grid_connected",
                device_class=BinarySensorDeviceClass.CONNECTIVITY,
            ),
            powerwall_device(entry),
        )

    @property
    def is_on(self) -> bool | None:
        """Tesla reports `Active` while the grid is up."""
        status = self.coordinator.data.grid_status
        if status is None:
            return None
        return status == "Active"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TeslaAmberSyncConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the entry's binary sensors."""
    data = entry.runtime_data
    entities: list[BinarySensorEntity] = [
        GridConnectedSensor(data.live, entry),
        forced_mode_sensor(entry),
    ]
    if data.prices is not None:
        entities.append(DemandWindowSensor(data.prices, entry))
    if data.demand is not None:
        entities.extend(demand_binary_sensors(data.demand, entry))
    async_add_entities(entities)
