"""Config-entry diagnostics with every token, NMI, site id and address redacted."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import (
    CONF_AMBER_SITE_ID,
    CONF_AMBER_TOKEN,
    CONF_ENERGY_SITE_ID,
    CONF_TESLEMETRY_TOKEN,
    CONF_TOKEN,
)
from .data import TeslaAmberSyncConfigEntry

REDACT = {
    CONF_AMBER_TOKEN,
    CONF_TESLEMETRY_TOKEN,
    CONF_TOKEN,
    "access_token",
    "refresh_token",
    "id_token",
    CONF_AMBER_SITE_ID,
    CONF_ENERGY_SITE_ID,
    "energy_site_id",
    "id",
    "nmi",
    "identifier",
    "gateway_id",
    "site_name",
    "address",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip",
    "postal_code",
    "country",
    "latitude",
    "longitude",
    "serial_number",
    "din",
    "vin",
    "unique_id",
    "title",
}
REDACTED = "**REDACTED**"


def jsonable(value: Any) -> Any:
    """Dataclasses, dates and sets as JSON-friendly primitives."""
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def scrub_secrets(value: Any, secrets: set[str]) -> Any:
    """Replace any literal secret found anywhere in the structure (defence in depth)."""
    if isinstance(value, dict):
        return {k: scrub_secrets(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_secrets(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret and secret in value:
                value = value.replace(secret, REDACTED)
    return value


def entry_secrets(entry: TeslaAmberSyncConfigEntry) -> set[str]:
    """Every credential string held by the entry."""
    found = {entry.data.get(CONF_AMBER_TOKEN), entry.data.get(CONF_TESLEMETRY_TOKEN)}
    token = entry.data.get(CONF_TOKEN)
    if isinstance(token, dict):
        found |= {token.get("access_token"), token.get("refresh_token"), token.get("id_token")}
    return {s for s in found if isinstance(s, str) and len(s) >= 6}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry
) -> dict[str, Any]:
    """What support needs to understand a problem, and nothing that identifies the user."""
    data = entry.runtime_data
    prices = data.prices
    diag: dict[str, Any] = {
        "entry": {
            "data": dict(entry.data),
            "options": dict(entry.options),
            "version": entry.version,
            "minor_version": entry.minor_version,
        },
        "energy_site": jsonable(data.energy_site),
        "site_info": jsonable(data.site_info.data) if data.site_info.data else None,
        "live_status": jsonable(data.live.data) if data.live.data else None,
        "coordinators": {
            "tesla_live": {
                "last_update_success": data.live.last_update_success,
                "calls": data.live.calls,
            },
            "tesla_site_info": {
                "last_update_success": data.site_info.last_update_success,
                "calls": data.site_info.calls,
            },
        },
    }
    if prices is not None:
        batch = prices.data.batch if prices.data else None
        diag["amber_site"] = jsonable(data.amber_site)
        diag["coordinators"]["amber"] = {
            "last_update_success": prices.last_update_success,
            "calls": prices.calls,
            "next_poll": prices.next_poll.isoformat() if prices.next_poll else None,
        }
        diag["prices"] = (
            None
            if batch is None
            else {
                "fetched_at": batch.fetched_at.isoformat(),
                "intervals": len(batch.intervals),
                "rate_limit": jsonable(batch.rate_limit),
                "first": batch.intervals[0].start.isoformat() if batch.intervals else None,
                "last": batch.intervals[-1].end.isoformat() if batch.intervals else None,
            }
        )
    sync = data.sync
    diag["sync"] = {
        "status": sync.view.status,
        "last_attempt": sync.view.last_attempt,
        "last_success": sync.view.last_success,
        "last_error": sync.view.last_error,
        "next_sync": sync.view.next_sync,
        "auto_sync": sync.auto_sync,
        "forced": sync.forced,
        "writes_since_start": sync.writes,
        "last_write_at": sync.memory.last_write_at,
        "last_write_hash": sync.memory.last_write_hash,
        "original_plan_saved": sync.memory.original_plan is not None,
        "restored_original": sync.memory.restored_original,
        "held_plan": sync.held_plan,
    }
    controls = data.controls
    diag["controls"] = {
        "forced": controls.forced.to_dict() if controls.forced else None,
        "baseline": controls.baseline.to_dict() if controls.baseline else None,
        **controls.price_actions,
        "recent_changes": list(controls.actions),
    }
    if data.demand is not None:
        diag["demand"] = data.demand.tracker.to_dict()
    diag["energy"] = jsonable(data.energy.data) if data.energy.data else None
    redacted = async_redact_data(jsonable(diag), REDACT)
    return scrub_secrets(redacted, entry_secrets(entry))  # type: ignore[no-any-return]
