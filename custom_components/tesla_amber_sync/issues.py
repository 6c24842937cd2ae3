"""Repair issues we raise, and clear once their cause has gone."""

from __future__ import annotations

import inspect
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

ISSUE_PRICES_UNAVAILABLE: Final = "prices_unavailable"
ISSUE_WRITES_FAILING: Final = "tariff_writes_failing"
ISSUE_READBACK_MISMATCH: Final = "tariff_readback_mismatch"
ISSUE_NOT_AUTONOMOUS: Final = "not_time_based_control"
ISSUE_PAYMENT_REQUIRED: Final = "teslemetry_payment_required"
ISSUE_MISSING_SCOPES: Final = "missing_scopes"
ISSUE_AMBER_SITE_GONE: Final = "amber_site_gone"
ISSUE_ENERGY_SITE_GONE: Final = "energy_site_gone"
ISSUE_PLAN_RESTORED: Final = "original_plan_restored"

# Issues whose fix flow does something (see repairs.py); the rest only explain.
FIXABLE: Final = frozenset({ISSUE_NOT_AUTONOMOUS})

# Home Assistant 2026.11 links an issue to its config entry (`config_entry_id`): it is then
# hidden while the entry is disabled and deleted with it. 2025.4 has no such argument.
_LINKS_ENTRIES: Final = "config_entry_id" in inspect.signature(ir.async_create_issue).parameters


def issue_id(kind: str, entry_id: str) -> str:
    """Issues are per entry: one Powerwall's trouble must not hide another's."""
    return f"{kind}_{entry_id}"


def raise_issue(
    hass: HomeAssistant,
    kind: str,
    entry_id: str,
    placeholders: dict[str, str] | None = None,
    *,
    severity: ir.IssueSeverity = ir.IssueSeverity.ERROR,
) -> None:
    """Create (or refresh) a repair issue for one entry."""
    link: dict[str, Any] = {}
    if _LINKS_ENTRIES and hass.config_entries.async_get_entry(entry_id) is not None:
        link["config_entry_id"] = entry_id
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(kind, entry_id),
        is_fixable=kind in FIXABLE,
        is_persistent=False,
        severity=severity,
        translation_key=kind,
        translation_placeholders=placeholders,
        data={"entry_id": entry_id, "kind": kind},
        **link,
    )


def clear_issue(hass: HomeAssistant, kind: str, entry_id: str) -> None:
    """Remove an issue whose cause has gone (no-op when there is none)."""
    ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry_id))


def clear_entry_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Remove every issue of one entry (it is being removed: nothing is left to fix)."""
    registry = ir.async_get(hass)
    mine = [
        issue.issue_id
        for issue in registry.issues.values()
        if issue.domain == DOMAIN and (issue.data or {}).get("entry_id") == entry_id
    ]
    for found in mine:
        ir.async_delete_issue(hass, DOMAIN, found)


def has_issue(hass: HomeAssistant, kind: str, entry_id: str) -> bool:
    """Whether the issue is currently raised."""
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id(kind, entry_id)) is not None
