"""Actions (services), registered once for the domain."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .battery_settings import FORCED_CHARGE, FORCED_DISCHARGE
from .const import CONF_FIXED_PLAN, CONF_PRICE_SOURCE, DOMAIN, PRICE_SOURCE_FIXED
from .dashboard import build_view
from .data import TeslaAmberSyncConfigEntry
from .fixed_plan_source import plan_problem
from .plan_source import PlanUnavailableError
from .plans import PlanError, load_plan, validate_plan
from .runtime import demand_config
from .sync import RESULT_REFUSED, SyncResult

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"

SERVICE_SYNC_NOW: Final = "sync_now"
SERVICE_SYNC_TOU: Final = "sync_tou_schedule"
SERVICE_PREVIEW: Final = "preview_tariff"
SERVICE_RESTORE_ORIGINAL: Final = "restore_original_plan"
SERVICE_EXPORT_PLAN: Final = "export_plan"
SERVICE_IMPORT_PLAN: Final = "import_plan"
ATTR_PLAN: Final = "plan"
SERVICE_FORCE_DISCHARGE: Final = "force_discharge"
SERVICE_FORCE_CHARGE: Final = "force_charge"
SERVICE_RESTORE_NORMAL: Final = "restore_normal"
SERVICE_DASHBOARD: Final = "dashboard"
ATTR_DURATION: Final = "duration"
ATTR_TARGET_RESERVE: Final = "target_reserve"

ENTRY_SCHEMA = vol.Schema({vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})


def resolve_entry(hass: HomeAssistant, call: ServiceCall) -> TeslaAmberSyncConfigEntry:
    """The entry an action is for: the given id, or the only loaded entry."""
    entry_id: str | None = call.data.get(ATTR_CONFIG_ENTRY_ID)
    loaded: list[TeslaAmberSyncConfigEntry] = [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
    ]
    if entry_id is None:
        if len(loaded) == 1:
            return loaded[0]
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_required" if loaded else "no_loaded_entries",
        )
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"entry_id": entry_id},
        )
    return entry


def _respond(call: ServiceCall, result: SyncResult) -> ServiceResponse:
    """A response when asked for; otherwise a refusal is an error the user sees."""
    if result.result == RESULT_REFUSED and not call.return_response:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="push_refused",
            translation_placeholders={"reason": result.reason},
        )
    return result.as_response() if call.return_response else None


def _not_forced(entry: TeslaAmberSyncConfigEntry) -> None:
    """Normal syncing is paused while a forced mode runs."""
    if entry.runtime_data.sync.forced:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="forced_mode_active"
        )


async def _sync_now(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Fresh data from Amber and Tesla, then build and push."""
    entry = resolve_entry(hass, call)
    _not_forced(entry)
    data = entry.runtime_data

    async def refresh() -> None:
        refreshes = [data.site_info.async_refresh()]
        if data.prices is not None:
            refreshes.append(data.prices.async_refresh())
        await asyncio.gather(*refreshes)

    return _respond(call, await data.sync.async_sync_now(refresh))


async def _sync_tou(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Build from the data already held and push."""
    entry = resolve_entry(hass, call)
    _not_forced(entry)
    return _respond(call, await entry.runtime_data.sync.async_push("sync_tou_schedule"))


async def _preview(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """What would be sent now, with a slot-by-slot explanation. Nothing is pushed."""
    entry = resolve_entry(hass, call)
    try:
        build = entry.runtime_data.sync.build()
    except PlanUnavailableError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="push_refused",
            translation_placeholders={"reason": str(err)},
        ) from err
    response: dict[str, Any] = {
        "tariff": build.tariff,
        "buy": build.buy,
        "sell": build.sell,
        "explanation": build.explanation,
    }
    return response


def _fixed_entry(hass: HomeAssistant, call: ServiceCall) -> TeslaAmberSyncConfigEntry:
    entry = resolve_entry(hass, call)
    if entry.data.get(CONF_PRICE_SOURCE) != PRICE_SOURCE_FIXED:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="not_a_fixed_plan_entry"
        )
    return entry


async def _export_plan(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """The entry's fixed plan, in the shareable JSON form."""
    entry = _fixed_entry(hass, call)
    plan = entry.options.get(CONF_FIXED_PLAN)
    if plan is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_plan_stored")
    response: dict[str, Any] = {"plan": plan}
    return response


async def _import_plan(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Validate a shared plan and store it; the entry reloads and pushes it."""
    entry = _fixed_entry(hass, call)
    try:
        plan = load_plan(call.data[ATTR_PLAN])
    except PlanError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_plan",
            translation_placeholders={"problems": "; ".join(i.message for i in err.issues)},
        ) from err
    problem = plan_problem(
        plan, entry.runtime_data.site_info, demand_config(entry), dt_util.utcnow()
    )
    if problem is not None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_plan",
            translation_placeholders={"problems": problem},
        )
    stored = plan.to_dict()
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_FIXED_PLAN: stored}
    )
    response: dict[str, Any] = {
        "plan": stored,
        "warnings": [issue.message for issue in validate_plan(plan).warnings],
    }
    return response if call.return_response else None


async def _force(hass: HomeAssistant, call: ServiceCall, kind: str) -> ServiceResponse:
    entry = resolve_entry(hass, call)
    controls = entry.runtime_data.controls
    result = await controls.async_start_forced(
        kind, call.data[ATTR_DURATION], call.data.get(ATTR_TARGET_RESERVE)
    )
    forced = controls.forced
    assert forced is not None
    response: dict[str, Any] = {
        **result.as_response(),
        "mode": kind,
        "ends_at": dt_util.as_local(forced.end).isoformat(),
    }
    return response if call.return_response else None


async def _force_discharge(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Export for a while: a plan that makes it the obvious choice, and the settings it needs."""
    return await _force(hass, call, FORCED_DISCHARGE)


async def _force_charge(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Charge from the grid for a while, up to the target reserve."""
    return await _force(hass, call, FORCED_CHARGE)


async def _restore_normal(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """End a forced mode early: settings back, normal syncing resumes."""
    entry = resolve_entry(hass, call)
    ended = await entry.runtime_data.controls.async_end_forced("restore_normal", raise_errors=True)
    response: dict[str, Any] = {"ended": ended}
    return response if call.return_response else None


async def _dashboard(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """A Lovelace view for the entry, with its real entity ids."""
    entry = resolve_entry(hass, call)
    response: dict[str, Any] = {"view": build_view(hass, entry)}
    return response


async def _restore_original(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Put back the plan the Powerwall had before our first write; auto-sync turns off."""
    entry = resolve_entry(hass, call)
    return _respond(call, await entry.runtime_data.sync.async_restore_original())


Handler = Callable[[HomeAssistant, ServiceCall], Awaitable[ServiceResponse]]

SERVICES: Final[dict[str, tuple[Handler, SupportsResponse]]] = {
    SERVICE_SYNC_NOW: (_sync_now, SupportsResponse.OPTIONAL),
    SERVICE_SYNC_TOU: (_sync_tou, SupportsResponse.OPTIONAL),
    SERVICE_PREVIEW: (_preview, SupportsResponse.ONLY),
    SERVICE_RESTORE_ORIGINAL: (_restore_original, SupportsResponse.OPTIONAL),
    SERVICE_EXPORT_PLAN: (_export_plan, SupportsResponse.ONLY),
    SERVICE_IMPORT_PLAN: (_import_plan, SupportsResponse.OPTIONAL),
    SERVICE_FORCE_DISCHARGE: (_force_discharge, SupportsResponse.OPTIONAL),
    SERVICE_FORCE_CHARGE: (_force_charge, SupportsResponse.OPTIONAL),
    SERVICE_RESTORE_NORMAL: (_restore_normal, SupportsResponse.OPTIONAL),
    SERVICE_DASHBOARD: (_dashboard, SupportsResponse.ONLY),
}
# Through float first: vol.Coerce(int) lets int(inf) raise OverflowError out of validation.
DURATION = vol.All(vol.Coerce(float), vol.Range(min=15, max=240), vol.Coerce(int))
PERCENT = vol.All(vol.Coerce(float), vol.Range(min=0, max=100), vol.Coerce(int))
SCHEMAS: Final[dict[str, vol.Schema]] = {
    SERVICE_IMPORT_PLAN: ENTRY_SCHEMA.extend({vol.Required(ATTR_PLAN): dict}),
    SERVICE_FORCE_DISCHARGE: ENTRY_SCHEMA.extend({vol.Required(ATTR_DURATION): DURATION}),
    SERVICE_FORCE_CHARGE: ENTRY_SCHEMA.extend(
        {
            vol.Required(ATTR_DURATION): DURATION,
            vol.Optional(ATTR_TARGET_RESERVE): PERCENT,
        }
    ),
}


@callback
def async_register_services(hass: HomeAssistant) -> None:
    """Register every action once."""
    for name, (handler, supports) in SERVICES.items():

        async def run(call: ServiceCall, handler: Handler = handler) -> ServiceResponse:
            return await handler(hass, call)

        hass.services.async_register(
            DOMAIN,
            name,
            run,
            schema=SCHEMAS.get(name, ENTRY_SCHEMA),
            supports_response=supports,
        )
