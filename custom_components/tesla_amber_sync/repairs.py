"""Fix flows for repair issues the user can resolve from Home Assistant."""

from __future__ import annotations

from typing import Any

from homeassistant import data_entry_flow
from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import voluptuous as vol

from .api.errors import ApiError
from .issues import ISSUE_NOT_AUTONOMOUS

# Repair flow steps return a plain data_entry_flow.FlowResult on Home Assistant 2025.4 and its
# subclass RepairsFlowResult (with a RepairsFlowContext) on 2026.11; a context of Any fits both.
type RepairResult = data_entry_flow.FlowResult[Any, str]


class SwitchToAutonomousFlow(RepairsFlow):
    """Put the Powerwall in Time-Based Control so that it acts on the plan."""

    def __init__(self, entry_id: str) -> None:
        """For one entry's Powerwall."""
        self._entry_id = entry_id

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairResult:
        """Start at the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, Any] | None = None) -> RepairResult:
        """Ask, then switch."""
        if user_input is None:
            return self.async_show_form(step_id="confirm", data_schema=vol.Schema({}))
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="cannot_switch", description_placeholders={"error": "-"})
        data = entry.runtime_data
        try:
            await data.tesla.set_operation_mode(data.energy_site.energy_site_id, "autonomous")
        except ApiError as err:
            return self.async_abort(
                reason="cannot_switch", description_placeholders={"error": str(err)}
            )
        await data.site_info.async_refresh()
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The flow for a fixable issue."""
    entry_id = str((data or {}).get("entry_id", ""))
    if (data or {}).get("kind") == ISSUE_NOT_AUTONOMOUS:
        return SwitchToAutonomousFlow(entry_id)
    return ConfirmRepairFlow()  # pragma: no cover - only fixable kinds reach here
