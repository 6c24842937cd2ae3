"""Build everything an entry runs on: clients, coordinators, the plan source, the engines."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady

from .amber_coordinator import AmberCoordinator
from .api.errors import ApiError
from .clients import build_amber_client, build_tesla_client
from .const import (
    CONF_AMBER_SITE_ID,
    CONF_ENERGY_SITE_ID,
    CONF_FIXED_PLAN,
    CONF_PRICE_SOURCE,
    CONF_TESLA_PROVIDER,
    DOMAIN,
    LOGGER,
    PRICE_SOURCE_AMBER,
    PROVIDER_TESLEMETRY,
)
from .controls import ControlManager
from .coordinator_errors import tesla_ok, translate
from .data import TeslaAmberSyncConfigEntry, TeslaAmberSyncData
from .demand import DemandConfig, DemandConfigError
from .demand_manager import DemandManager
from .energy_coordinator import TeslaEnergyCoordinator
from .fixed_plan_source import FixedPlanSource, read_plan
from .issues import ISSUE_AMBER_SITE_GONE, ISSUE_ENERGY_SITE_GONE, clear_issue, raise_issue
from .options_flow import live_interval
from .plan_source import AmberPlanSource, PlanSource
from .sync import SyncEngine
from .sync_state import SyncStore
from .tesla_coordinator import TeslaLiveCoordinator, TeslaSiteInfoCoordinator


def _not_ready(err: ConfigEntryAuthFailed | Exception) -> Exception:
    """Auth failures stay auth failures (reauth); anything else means try again later."""
    if isinstance(err, ConfigEntryAuthFailed):
        return err
    return ConfigEntryNotReady(str(err))


def demand_config(entry: TeslaAmberSyncConfigEntry) -> DemandConfig | None:
    """The demand options, or None (with a log line) when they cannot be read."""
    try:
        return DemandConfig.from_options(entry.options)
    except DemandConfigError as err:
        LOGGER.warning("Demand-charge options ignored: %s", err)
        return None


async def async_build_runtime(
    hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry
) -> TeslaAmberSyncData:
    """Connect, do the first refreshes, and assemble the entry's runtime data.

    Raises ConfigEntryNotReady on transient trouble and ConfigEntryAuthFailed on rejected
    tokens (a reauth flow for that service is already started).
    """
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
        raise _not_ready(translate(hass, entry, err, "tesla", "products")) from err
    tesla_ok(hass, entry, "products")
    energy_site = next((s for s in products if s.energy_site_id == site_id), None)
    if energy_site is None:
        raise_issue(hass, ISSUE_ENERGY_SITE_GONE, entry.entry_id, {"site_id": str(site_id)})
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="energy_site_missing",
            translation_placeholders={"site_id": str(site_id)},
        )

    clear_issue(hass, ISSUE_ENERGY_SITE_GONE, entry.entry_id)
    provider = entry.data.get(CONF_TESLA_PROVIDER, PROVIDER_TESLEMETRY)
    poll = timedelta(seconds=live_interval(entry.options, provider))
    live = TeslaLiveCoordinator(hass, entry, tesla, site_id, poll)
    info = TeslaSiteInfoCoordinator(hass, entry, tesla, site_id)
    data = TeslaAmberSyncData(
        tesla=tesla, energy_site=energy_site, live=live, site_info=info, options=dict(entry.options)
    )

    amber_source = entry.data.get(CONF_PRICE_SOURCE, PRICE_SOURCE_AMBER) == PRICE_SOURCE_AMBER
    if amber_source:
        amber = build_amber_client(hass, entry)
        try:
            sites = await amber.sites()
        except ApiError as err:
            raise _not_ready(translate(hass, entry, err, "amber")) from err
        amber_site = next((s for s in sites if s.id == entry.data[CONF_AMBER_SITE_ID]), None)
        if amber_site is not None:
            clear_issue(hass, ISSUE_AMBER_SITE_GONE, entry.entry_id)
        else:
            raise_issue(hass, ISSUE_AMBER_SITE_GONE, entry.entry_id)
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN, translation_key="amber_site_missing"
            )
        data.amber, data.amber_site = amber, amber_site
        data.prices = AmberCoordinator(hass, entry, amber, amber_site)

    data.energy = TeslaEnergyCoordinator(hass, entry, tesla, site_id, info)
    await asyncio.gather(
        *(
            coordinator.async_config_entry_first_refresh()
            for coordinator in (data.prices, live, info)
            if coordinator is not None
        )
    )
    # Energy totals are not needed to run: a failure leaves the meters unavailable, not the entry.
    await data.energy.async_refresh()

    demand = demand_config(entry)
    source: PlanSource
    if data.prices is not None:
        source = AmberPlanSource(data.prices, energy_site, info, data.options, demand)
    else:
        plan, problem = read_plan(entry.options.get(CONF_FIXED_PLAN))
        if problem is not None:
            LOGGER.warning("The stored fixed plan cannot be used: %s", problem)
        data.fixed_plan = plan
        source = FixedPlanSource(plan, problem, info, demand)
    data.sync = SyncEngine(hass, entry, data, source, SyncStore(hass, entry.entry_id))
    if demand is not None and demand.enabled:
        data.demand = DemandManager(hass, entry, data, demand, poll)
    data.controls = ControlManager(hass, entry, data)
    return data
