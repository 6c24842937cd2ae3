"""Tesla Amber Sync: Amber Electric prices as a Tesla Powerwall time-of-use plan."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .amber_coordinator import AmberCoordinator
from .api.errors import ApiError
from .clients import build_amber_client, build_tesla_client
from .const import (
    CONF_AMBER_SITE_ID,
    CONF_ENERGY_SITE_ID,
    CONF_PRICE_SOURCE,
    CONF_TESLA_PROVIDER,
    DOMAIN,
    LOGGER,
    PRICE_SOURCE_AMBER,
    PROVIDER_TESLEMETRY,
)
from .coordinator_errors import translate
from .data import TeslaAmberSyncConfigEntry, TeslaAmberSyncData
from .demand import DemandConfig, DemandConfigError
from .demand_entities import remove_demand_entities
from .demand_manager import DemandManager
from .issues import ISSUE_AMBER_SITE_GONE, raise_issue
from .options_flow import live_interval
from .plan_source import AmberPlanSource
from .removal import restore_on_removal
from .services import async_register_services
from .sync import SyncEngine
from .sync_state import SyncStore
from .tesla_coordinator import TeslaLiveCoordinator, TeslaSiteInfoCoordinator

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.SENSOR, Platform.SWITCH]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Actions are registered once for the domain, not per entry."""
    async_register_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry) -> bool:
    """Connect to Amber and the Powerwall, then create the entities."""
    try:
        tesla = await build_tesla_client(hass, entry)
    except ValueError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="fleet_credentials_missing"
        ) from err
    site_id: int = entry.data[CONF_ENERGY_SITE_ID]
    try:
        products = await tesla.products()
    except ApiError as err:
        raise _not_ready(translate(hass, entry, err, "tesla")) from err
    energy_site = next((s for s in products if s.energy_site_id == site_id), None)
    if energy_site is None:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="energy_site_missing",
            translation_placeholders={"site_id": str(site_id)},
        )

    provider = entry.data.get(CONF_TESLA_PROVIDER, PROVIDER_TESLEMETRY)
    live = TeslaLiveCoordinator(
        hass, entry, tesla, site_id, timedelta(seconds=live_interval(entry.options, provider))
    )
    info = TeslaSiteInfoCoordinator(hass, entry, tesla, site_id)
    data = TeslaAmberSyncData(
        tesla=tesla, energy_site=energy_site, live=live, site_info=info, options=dict(entry.options)
    )

    if entry.data.get(CONF_PRICE_SOURCE, PRICE_SOURCE_AMBER) == PRICE_SOURCE_AMBER:
        amber = build_amber_client(hass, entry)
        try:
            sites = await amber.sites()
        except ApiError as err:
            raise _not_ready(translate(hass, entry, err, "amber")) from err
        amber_site = next((s for s in sites if s.id == entry.data[CONF_AMBER_SITE_ID]), None)
        if amber_site is None:
            raise_issue(hass, ISSUE_AMBER_SITE_GONE, entry.entry_id)
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN, translation_key="amber_site_missing"
            )
        data.amber, data.amber_site = amber, amber_site
        data.prices = AmberCoordinator(hass, entry, amber, amber_site)

    await asyncio.gather(
        *(
            coordinator.async_config_entry_first_refresh()
            for coordinator in (data.prices, live, info)
            if coordinator is not None
        )
    )
    demand = _demand_config(entry)
    source = (
        AmberPlanSource(data.prices, energy_site, info, data.options, demand)
        if data.prices
        else None
    )
    if source is None:
        raise ConfigEntryNotReady("no price source")  # fixed plans arrive with their own source
    data.sync = SyncEngine(hass, entry, data, source, SyncStore(hass, entry.entry_id))
    entry.runtime_data = data
    await data.sync.store.async_load()
    if demand is not None and demand.enabled:
        data.demand = DemandManager(
            hass, entry, data, demand, timedelta(seconds=live_interval(entry.options, provider))
        )
        await data.demand.async_start()
    else:
        remove_demand_entities(hass, entry)

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    if data.prices is not None:
        data.prices.start_schedule()
        entry.async_on_unload(data.prices.stop_schedule)
    await data.sync.async_start()
    return True


def _demand_config(entry: TeslaAmberSyncConfigEntry) -> DemandConfig | None:
    """The demand options, or None (with a log line) when they cannot be read."""
    try:
        return DemandConfig.from_options(entry.options)
    except DemandConfigError as err:
        LOGGER.warning("Demand-charge options ignored: %s", err)
        return None


def _not_ready(err: ConfigEntryAuthFailed | Exception) -> Exception:
    """Auth failures stay auth failures (reauth); anything else means try again later."""
    if isinstance(err, ConfigEntryAuthFailed):
        return err
    return ConfigEntryNotReady(str(err))


async def _async_update_listener(hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry) -> None:
    """Reload on option changes only: a Fleet token refresh also lands here."""
    if dict(entry.options) != entry.runtime_data.options:
        await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry) -> bool:
    """Remove the entities; timers and listeners go with `async_on_unload`."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.sync.async_stop()
        if entry.runtime_data.demand is not None:
            await entry.runtime_data.demand.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry) -> None:
    """Removing the integration puts the user's own plan back (option, on by default)."""
    await restore_on_removal(hass, entry)
