"""Entities that change Powerwall settings (through the control manager) and show forced modes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.components.number import NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

from .api.models import SiteInfo
from .api.tesla import EXPORT_RULES, OPERATION_MODES
from .const import DOMAIN
from .controls import ControlManager, settings_of
from .data import TeslaAmberSyncConfigEntry
from .entity import powerwall_device
from .sync_entity import PushedEntity
from .tesla_coordinator import TeslaSiteInfoCoordinator

# Read-only sensors of the foundation that the controls replace.
REPLACED_SENSORS: Final = ("backup_reserve", "operation_mode")


def offered(info: SiteInfo | None, key: str) -> bool:
    """Whether the site's components say this setting exists and may be changed.

    Reserve and mode need a battery; export rule and grid charging a battery and solar; Storm
    Watch its capability flag. An explicit `edit_setting_*: false` from Tesla also hides one.
    """
    if info is None:
        return False
    locks = {
        "export_rule": ("edit_setting_energy_exports", "edit_setting_permission_to_export"),
        "grid_charging": ("edit_setting_grid_charging",),
    }
    if any(info.components.get(flag) is False for flag in locks.get(key, ())):
        return False
    if key in ("reserve", "mode"):
        return info.can_set_reserve_and_mode
    if key in ("export_rule", "grid_charging"):
        return info.can_set_grid_rules
    return info.can_set_storm_watch


class ControlEntity(CoordinatorEntity[TeslaSiteInfoCoordinator]):
    """Reads `site_info`, writes through the manager (which translates failures)."""

    _attr_has_entity_name = True
    setting: str

    def __init__(
        self,
        manager: ControlManager,
        entry: TeslaAmberSyncConfigEntry,
        description: Any,
        setting: str,
    ) -> None:
        """Bind to the Powerwall device."""
        super().__init__(manager.data.site_info)
        self.manager = manager
        self.setting = setting
        self.entity_description = description
        self._attr_unique_id = f"{entry.unique_id}_{description.key}"
        self._attr_device_info = powerwall_device(entry)

    async def async_added_to_hass(self) -> None:
        """Also follow the manager (a just-written value shows before Tesla confirms it)."""
        await super().async_added_to_hass()
        self.async_on_remove(self.manager.add_listener(self.async_write_ha_state))

    def setting_value(self) -> Any:
        """The setting as the Powerwall reports it (or as just written)."""
        current = settings_of(self.coordinator.data)
        if self.setting == "storm_watch":
            reported: Any = self.coordinator.data.storm_mode_enabled
        else:
            reported = getattr(current, self.setting)
        return self.manager.shown(self.setting, reported)


class BackupReserveNumber(ControlEntity, NumberEntity):
    """Backup reserve, 0-100 %."""

    _attr_native_min_value = 0
    _attr_native_max_value = 100
    _attr_native_step = 1
    _attr_native_unit_of_measurement = PERCENTAGE
    _attr_mode = NumberMode.SLIDER

    @property
    def native_value(self) -> float | None:
        """Reserve now."""
        value = self.setting_value()
        return None if value is None else float(value)

    async def async_set_native_value(self, value: float) -> None:
        """Write the reserve."""
        await self.manager.async_set("reserve", round(value))


@dataclass(frozen=True, kw_only=True)
class ControlSelectDescription(SelectEntityDescription):
    """A select bound to one setting."""

    setting: str


class ControlSelect(ControlEntity, SelectEntity):
    """Operation mode or export rule."""

    @property
    def current_option(self) -> str | None:
        """The option in force (unknown values read as unknown)."""
        value = self.setting_value()
        return value if value in (self.options or []) else None

    async def async_select_option(self, option: str) -> None:
        """Write the option."""
        await self.manager.async_set(self.setting, option)


class ControlSwitch(ControlEntity, SwitchEntity):
    """Grid charging or Storm Watch."""

    @property
    def is_on(self) -> bool | None:
        """Whether the setting is on."""
        value = self.setting_value()
        return None if value is None else bool(value)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn it on."""
        await self.manager.async_set(self.setting, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn it off."""
        await self.manager.async_set(self.setting, False)


class ForcedModeSensor(PushedEntity[ControlManager], BinarySensorEntity):
    """On during a forced charge or discharge; attributes say which, until when, and what the
    negative-price options are doing."""

    @property
    def is_on(self) -> bool:
        """A forced mode is active."""
        return self.source.forced is not None

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """Mode, end time, price actions, and the latest setting changes."""
        forced = self.source.forced
        return {
            "mode": forced.kind if forced else None,
            "ends_at": dt_util.as_local(forced.end).isoformat() if forced else None,
            "target_reserve": forced.reserve if forced else None,
            **self.source.price_actions,
            "recent_changes": list(self.source.actions),
        }


NUMBERS: Final = (
    (NumberEntityDescription(key="backup_reserve", translation_key="backup_reserve"), "reserve"),
)
SELECTS: Final = (
    ControlSelectDescription(
        key="operation_mode",
        translation_key="operation_mode",
        options=list(OPERATION_MODES),
        setting="mode",
    ),
    ControlSelectDescription(
        key="grid_export_rule",
        translation_key="grid_export_rule",
        options=list(EXPORT_RULES),
        setting="export_rule",
    ),
)
SWITCHES: Final = (
    (
        SwitchEntityDescription(key="grid_charging", translation_key="grid_charging"),
        "grid_charging",
    ),
    (
        SwitchEntityDescription(
            key="storm_watch", translation_key="storm_watch", entity_category=EntityCategory.CONFIG
        ),
        "storm_watch",
    ),
)


def control_numbers(entry: TeslaAmberSyncConfigEntry) -> list[NumberEntity]:
    """Number entities the site supports."""
    manager = entry.runtime_data.controls
    info = entry.runtime_data.site_info.data
    return [
        BackupReserveNumber(manager, entry, description, setting)
        for description, setting in NUMBERS
        if offered(info, setting)
    ]


def control_selects(entry: TeslaAmberSyncConfigEntry) -> list[SelectEntity]:
    """Select entities the site supports."""
    manager = entry.runtime_data.controls
    info = entry.runtime_data.site_info.data
    return [
        ControlSelect(manager, entry, description, description.setting)
        for description in SELECTS
        if offered(info, description.setting)
    ]


def control_switches(entry: TeslaAmberSyncConfigEntry) -> list[SwitchEntity]:
    """Switch entities the site supports."""
    manager = entry.runtime_data.controls
    info = entry.runtime_data.site_info.data
    return [
        ControlSwitch(manager, entry, description, setting)
        for description, setting in SWITCHES
        if offered(info, setting)
    ]


def forced_mode_sensor(entry: TeslaAmberSyncConfigEntry) -> BinarySensorEntity:
    """The forced-mode status entity."""
    return ForcedModeSensor(
        entry.runtime_data.controls,
        entry,
        BinarySensorEntityDescription(
            key="forced_mode_active", translation_key="forced_mode_active"
        ),
    )


def replaces_sensor(entry: TeslaAmberSyncConfigEntry, key: str) -> bool:
    """Whether a writable control takes the place of this read-only sensor."""
    setting = {"backup_reserve": "reserve", "operation_mode": "mode"}[key]
    return offered(entry.runtime_data.site_info.data, setting)


@callback
def remove_replaced_sensors(hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry) -> None:
    """The read-only reserve and mode sensors go from the registry when controls replace them."""
    registry = er.async_get(hass)
    for key in REPLACED_SENSORS:
        if not replaces_sensor(entry, key):
            continue
        entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_{key}")
        if entity_id is not None:
            registry.async_remove(entity_id)
