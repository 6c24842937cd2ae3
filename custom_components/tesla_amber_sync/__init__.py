"""Tesla Amber Sync: Amber Electric prices as a Tesla Powerwall time-of-use plan."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .control_entities import remove_replaced_sensors
from .data import TeslaAmberSyncConfigEntry
from .demand_entities import remove_demand_entities
from .issues import clear_entry_issues
from .removal import restore_on_removal
from .runtime import async_build_runtime
from .services import async_register_services

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Actions are registered once for the domain, not per entry."""
    async_register_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry) -> bool:
    """Connect to the price source and the Powerwall, then create the entities."""
    data = await async_build_runtime(hass, entry)
    entry.runtime_data = data
    await data.sync.store.async_load()
    if data.demand is not None:
        await data.demand.async_start()
    else:
        remove_demand_entities(hass, entry)

    remove_replaced_sensors(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    if data.prices is not None:
        data.prices.start_schedule()
        entry.async_on_unload(data.prices.stop_schedule)
    await data.sync.async_start()
    await data.controls.async_start()
    return True


async def _async_update_listener(hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry) -> None:
    """Reload when the options changed, or when reauth or reconfigure saved new connection
    details; not on the entry's own data changes (a Fleet token refresh, a region move)."""
    runtime = entry.runtime_data
    if runtime.reload_requested or dict(entry.options) != runtime.options:
        await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry) -> bool:
    """Remove the entities; timers and listeners go with `async_on_unload`."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.controls.async_stop()
        await entry.runtime_data.sync.async_stop()
        if entry.runtime_data.demand is not None:
            await entry.runtime_data.demand.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry) -> None:
    """Removing the integration puts the user's own plan back (option, on by default), and
    takes its repair issues with it."""
    await restore_on_removal(hass, entry)
    clear_entry_issues(hass, entry.entry_id)
