"""Entity bases: one per device (the Amber site and the Powerwall)."""

from __future__ import annotations

from typing import Any

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .const import DOMAIN
from .data import TeslaAmberSyncConfigEntry


def amber_device(entry: TeslaAmberSyncConfigEntry) -> DeviceInfo:
    """The Amber site, as a service device of this entry."""
    site = entry.runtime_data.amber_site
    return DeviceInfo(
        identifiers={(DOMAIN, f"{entry.unique_id}_amber")},
        name="Amber Electric",
        manufacturer="Amber Electric",
        model=f"{site.network} network" if site and site.network else "Amber site",
        entry_type=DeviceEntryType.SERVICE,
        configuration_url="https://app.amber.com.au/",
    )


def powerwall_device(entry: TeslaAmberSyncConfigEntry) -> DeviceInfo:
    """The Powerwall energy site."""
    site = entry.runtime_data.energy_site
    return DeviceInfo(
        identifiers={(DOMAIN, str(site.energy_site_id))},
        name=site.site_name,
        manufacturer="Tesla",
        model="Powerwall",
    )


class TeslaAmberSyncEntity[CoordinatorT: DataUpdateCoordinator[Any]](
    CoordinatorEntity[CoordinatorT]
):
    """Common naming: translated names, unique id `{entry unique id}_{key}`."""

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: CoordinatorT,
        entry: TeslaAmberSyncConfigEntry,
        description: EntityDescription,
        device: DeviceInfo,
    ) -> None:
        """Bind the entity to its coordinator, entry and device."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{entry.unique_id}_{description.key}"
        self._attr_device_info = device
