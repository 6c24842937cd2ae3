"""Diagnostics help support without giving away tokens or who the user is."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_amber_sync.diagnostics import async_get_config_entry_diagnostics

from .fakes import AMBER_SITE_ID, AMBER_TOKEN, ENERGY_SITE_ID, TESLEMETRY_TOKEN


async def test_diagnostics_redact_secrets_and_identity(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Tokens, NMI, site ids, names and address never appear; useful state does."""
    diag: dict[str, Any] = await async_get_config_entry_diagnostics(hass, loaded_entry)  # type: ignore[arg-type]
    text = json.dumps(diag)
    for secret in (
        AMBER_TOKEN,
        TESLEMETRY_TOKEN,
        "4102123456",  # NMI
        AMBER_SITE_ID,
        str(ENERGY_SITE_ID),
        "1 Example St",
        "Home Powerwall",
        "STE20240101-00001",
        "TG0123456789AB",
    ):
        assert secret not in text, secret
    assert diag["entry"]["data"]["amber_api_token"] == "**REDACTED**"
    assert diag["entry"]["data"]["tesla_provider"] == "teslemetry"
    assert diag["coordinators"]["amber"]["last_update_success"] is True
    assert diag["prices"]["intervals"] > 100
    assert diag["site_info"]["default_real_mode"] == "autonomous"
    assert diag["live_status"]["battery_power"] == -1500.0


async def test_diagnostics_explain_the_engine(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Sync, controls and energy state are there for support to read."""
    diag: dict[str, Any] = await async_get_config_entry_diagnostics(hass, loaded_entry)  # type: ignore[arg-type]
    assert diag["sync"]["status"] == "ok"
    assert diag["sync"]["auto_sync"] is True
    assert diag["sync"]["original_plan_saved"] is True
    assert diag["sync"]["held_plan"]["code"] == "TESLA_AMBER_SYNC:AMBER"
    assert diag["controls"]["forced"] is None
    assert "demand" not in diag
