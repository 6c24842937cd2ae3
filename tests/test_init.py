"""Setting up, retrying, reauth, reloading and unloading an entry."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_amber_sync.const import DOMAIN

from .fakes import FakeAmber, FakeTesla, site_json
from .helpers import advance


async def setup(hass: HomeAssistant, entry: MockConfigEntry) -> ConfigEntryState:
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry.state


def reauth_flows(hass: HomeAssistant) -> list[dict]:  # type: ignore[type-arg]
    return [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


@pytest.mark.parametrize(
    ("service", "op", "status"),
    [
        ("amber", "sites", 500),
        ("amber", "prices", 503),
        ("tesla", "products", 502),
        ("tesla", "live_status", 540),
        ("tesla", "site_info", 408),
    ],
)
async def test_transient_failure_at_start_retries(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
    service: str,
    op: str,
    status: int,
) -> None:
    """A service down at start-up means 'try again later', not a broken entry."""
    fake = amber if service == "amber" else tesla
    fake.fail(op, status=status, times=-1)
    assert await setup(hass, config_entry) is ConfigEntryState.SETUP_RETRY
    fake.clear_faults()
    await advance(hass, frozen, timedelta(seconds=90), step=timedelta(seconds=10))
    assert config_entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize(
    ("service", "op"),
    [("amber", "sites"), ("amber", "prices"), ("tesla", "products"), ("tesla", "live_status")],
)
async def test_rejected_token_at_start_asks_for_that_token(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
    service: str,
    op: str,
) -> None:
    """401 at start-up: setup error and a reauth flow for exactly the failing service."""
    (amber if service == "amber" else tesla).fail(op, status=401, times=-1)
    assert await setup(hass, config_entry) is ConfigEntryState.SETUP_ERROR
    flows = reauth_flows(hass)
    assert len(flows) == 1
    expected = "reauth_amber" if service == "amber" else "reauth_teslemetry"
    assert flows[0]["step_id"] == expected


async def test_rejected_token_later_starts_reauth(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    loaded_entry: MockConfigEntry,
) -> None:
    """A key revoked while running: entities go unavailable and the user is asked for a new key."""
    amber.fail("prices", status=401, times=-1)
    await advance(hass, frozen, timedelta(minutes=3))
    assert hass.states.get("sensor.amber_electric_general_price").state == "unavailable"  # type: ignore[union-attr]
    flows = reauth_flows(hass)
    assert [f["step_id"] for f in flows] == ["reauth_amber"]


async def test_missing_sites_retry_and_raise_repair(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """The Amber site vanished from the account: retry later and tell the user."""
    amber.sites = [site_json(site_id="01JOTHER000000000000000000")]
    assert await setup(hass, config_entry) is ConfigEntryState.SETUP_RETRY
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"amber_site_gone_{config_entry.entry_id}")
    assert issue is not None


async def test_missing_energy_site_retries(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """The Powerwall is not on the Tesla account (yet): retry."""
    tesla.products = []
    assert await setup(hass, config_entry) is ConfigEntryState.SETUP_RETRY


async def test_unload_stops_everything(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """After unload no timer calls anything."""
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    before = len(amber.calls) + len(tesla.calls)
    await advance(hass, frozen, timedelta(hours=2), step=timedelta(seconds=30))
    assert len(amber.calls) + len(tesla.calls) == before


async def test_options_reload_data_updates_do_not(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """A token refresh changes entry data and must not reload; an options change does."""
    products = len(tesla.calls_to("/products"))
    hass.config_entries.async_update_entry(
        loaded_entry, data={**loaded_entry.data, "tesla_region": "na"}
    )
    await hass.async_block_till_done()
    assert len(tesla.calls_to("/products")) == products
    hass.config_entries.async_update_entry(loaded_entry, options={"forecast_source": "low"})
    await hass.async_block_till_done()
    assert len(tesla.calls_to("/products")) == products + 1
    assert loaded_entry.state is ConfigEntryState.LOADED


async def test_live_interval_option(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """The live-status poll follows the option (Teslemetry default 30 s)."""
    assert await setup(hass, config_entry) is ConfigEntryState.LOADED
    start = len(tesla.calls_to("/live_status"))
    await advance(hass, frozen, timedelta(minutes=5), step=timedelta(seconds=10))
    assert len(tesla.calls_to("/live_status")) - start == 10
    hass.config_entries.async_update_entry(config_entry, options={"live_status_interval": 120})
    await hass.async_block_till_done()
    start = len(tesla.calls_to("/live_status"))
    await advance(hass, frozen, timedelta(minutes=10), step=timedelta(seconds=10))
    assert len(tesla.calls_to("/live_status")) - start == 5
