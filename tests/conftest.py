"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
import logging
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.tesla_amber_sync.const import DOMAIN
from custom_components.tesla_amber_sync.plan_templates import starter_plan

from .fakes import (
    AMBER_SITE_ID,
    AMBER_TOKEN,
    ENERGY_SITE_ID,
    TESLEMETRY_TOKEN,
    FakeAmber,
    FakeTesla,
)

DEPRECATION_MARK = "Detected that custom integration"
# 14:02:30 in Sydney (AEDT, UTC+11): an afternoon in the middle of a 5-minute interval.
START = datetime.fromisoformat("2025-01-15T03:02:30+00:00")


# The longest tests, placed so that two xdist workers (`--dist worksteal`) finish together: the
# soak starts first on one worker, the browser test last on the other, the rest fills in.
FIRST = ("tests/test_soak.py",)
LAST = ("tests/e2e/",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the collection: longest-running tests at the two ends."""

    def rank(item: pytest.Item) -> int:
        if item.nodeid.startswith(FIRST):
            return 0
        return 2 if item.nodeid.startswith(LAST) else 1

    items.sort(key=rank)  # stable: pytest's order is kept within each group


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components/."""


@pytest.fixture(autouse=True)
def fail_on_deprecation_report(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail any test during which Home Assistant reports deprecated use by our code.

    Newer Home Assistant releases turn these reports into errors, and our users run newer
    releases than the one the tests pin.
    """
    caplog.set_level(logging.WARNING, logger="homeassistant")
    yield
    reports = [r.getMessage() for r in caplog.records if DEPRECATION_MARK in r.getMessage()]
    assert not reports, f"Home Assistant reported deprecated use: {reports}"


@pytest.fixture(autouse=True)
def no_retry_waits() -> Generator[None]:
    """Retries happen without real waiting."""
    with patch("custom_components.tesla_amber_sync.api.http.RETRY_DELAYS", (0.0, 0.0)):
        yield


@pytest.fixture
def frozen(freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    """Time frozen at START."""
    freezer.move_to(START)
    return freezer


@pytest.fixture
def amber(aioclient_mock: AiohttpClientMocker) -> FakeAmber:
    """Fake Amber API."""
    fake = FakeAmber()
    fake.register(aioclient_mock)
    return fake


@pytest.fixture
def tesla(aioclient_mock: AiohttpClientMocker) -> FakeTesla:
    """Fake Teslemetry API."""
    fake = FakeTesla()
    fake.register(aioclient_mock)
    return fake


def entry_data(**overrides: Any) -> dict[str, Any]:
    """Entry data as the wizard creates it for Amber + Teslemetry."""
    data: dict[str, Any] = {
        "price_source": "amber",
        "amber_api_token": AMBER_TOKEN,
        "amber_site_id": AMBER_SITE_ID,
        "tesla_provider": "teslemetry",
        "teslemetry_api_token": TESLEMETRY_TOKEN,
        "tesla_energy_site_id": ENERGY_SITE_ID,
    }
    data.update(overrides)
    return data


@pytest.fixture
async def config_entry(hass: HomeAssistant) -> MockConfigEntry:
    """An Amber + Teslemetry entry (not yet set up), in a Home Assistant set to Sydney time."""
    await hass.config.async_set_time_zone("Australia/Sydney")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home Powerwall",
        unique_id=str(ENERGY_SITE_ID),
        data=entry_data(),
        options={},
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The entry, set up against the fakes at START."""
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


# --- fixed-plan entries ---------------------------------------------------------------------------

THREE_RATE = starter_plan(
    "peak_shoulder_offpeak",
    name="Origin Flexi TOU",
    utility="Origin Energy",
    daily_supply_charge=1.1,
    peak=0.55,
    shoulder=0.35,
    off_peak=0.22,
    sell=0.05,
)


def fixed_data(**overrides: Any) -> dict[str, Any]:
    """Entry data of a fixed-plan + Teslemetry entry."""
    data = entry_data(price_source="fixed_plan", **overrides)
    del data["amber_api_token"], data["amber_site_id"]
    return data


async def setup_entry(
    hass: HomeAssistant, data: dict[str, Any], options: dict[str, Any]
) -> MockConfigEntry:
    """An entry with this data and these options, set up in Sydney time."""
    await hass.config.async_set_time_zone("Australia/Sydney")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home Powerwall",
        unique_id=str(ENERGY_SITE_ID),
        data=data,
        options=options,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def setup_fixed_entry(
    hass: HomeAssistant,
    options: dict[str, Any] | None = None,
    plan: dict[str, Any] = THREE_RATE,
) -> MockConfigEntry:
    """A fixed-plan entry (the three-rate starter plan unless told), set up in Sydney time."""
    return await setup_entry(hass, fixed_data(), {"fixed_plan": plan, **(options or {})})


@pytest.fixture
async def fixed_entry(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, tesla: FakeTesla, amber: FakeAmber
) -> MockConfigEntry:
    """A fixed-plan entry, set up against the fakes at START (Wednesday 14:02 in Sydney)."""
    return await setup_fixed_entry(hass)
