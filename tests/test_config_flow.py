"""The setup wizard, reauth, reconfigure and options: every path a user can take."""

from __future__ import annotations

from collections.abc import Generator
import json
import logging
import time
from typing import Any
from unittest.mock import AsyncMock, patch
from urllib.parse import parse_qs, urlsplit

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.tesla_amber_sync.application_credentials import (
    async_get_description_placeholders,
)
from custom_components.tesla_amber_sync.const import DOMAIN

from .conftest import entry_data
from .fakes import (
    AMBER_SITE_ID,
    AMBER_TOKEN,
    ENERGY_SITE_ID,
    FLEET_EU_URL,
    FLEET_NA_URL,
    TESLEMETRY_TOKEN,
    FakeAmber,
    FakeTesla,
    connection_refused,
    product_json,
    site_json,
)
from .flow_helpers import (
    AUTH_IMPLEMENTATION,
    CLIENT_ID,
    FLEET_AUTHORIZE_URL,
    REDIRECT_URI,
    STRINGS,
    STRINGS_PATH,
    assert_has_strings,
    authorizations,
    finish_fleet_sign_in,
    fleet_token,
    schema_defaults,
    schema_fields,
    schema_sections,
    select_options,
    setup_fleet_credentials,
)

NEW_AMBER_TOKEN = "psk_new_amber_key_9876543210"
NEW_TESLEMETRY_TOKEN = "teslemetry_new_token_zyxwvu"
OTHER_SITE_ID = "01J0000000000000000000OTHR"
SECOND_ENERGY_SITE = 9876543210987
FLEET_SCOPE = "openid offline_access energy_device_data energy_cmds"

TESLEMETRY_KEYS = {
    "price_source",
    "amber_api_token",
    "amber_site_id",
    "tesla_provider",
    "teslemetry_api_token",
    "tesla_energy_site_id",
}
FLEET_KEYS = {
    "price_source",
    "amber_api_token",
    "amber_site_id",
    "tesla_provider",
    "tesla_energy_site_id",
    "auth_implementation",
    "token",
    "tesla_region",
}

# (fault keyword arguments, the error key the form shows)
AMBER_FAULTS = [
    pytest.param({"status": 401, "body": {"message": "Unauthorized"}}, "invalid_auth", id="401"),
    pytest.param({"status": 500}, "cannot_connect", id="500"),
    pytest.param({"status": 503}, "cannot_connect", id="503"),
    pytest.param({"exc": TimeoutError()}, "cannot_connect", id="timeout"),
    pytest.param({"exc": connection_refused()}, "cannot_connect", id="refused"),
    pytest.param(
        {"status": 429, "body": {"message": "Too Many Requests"}, "headers": {"Retry-After": "60"}},
        "rate_limited",
        id="429",
    ),
]
TESLA_FAULTS = [
    pytest.param(
        {"status": 401, "body": {"response": None, "error": "x"}}, "invalid_auth", id="401"
    ),
    pytest.param({"status": 403, "body": {"response": None}}, "missing_scopes", id="403"),
    pytest.param({"status": 402, "body": {"response": None}}, "payment_required", id="402"),
    pytest.param({"status": 500}, "cannot_connect", id="500"),
    pytest.param({"status": 540}, "cannot_connect", id="540"),
    pytest.param({"exc": TimeoutError()}, "cannot_connect", id="timeout"),
    pytest.param({"exc": connection_refused()}, "cannot_connect", id="refused"),
    pytest.param({"status": 429, "headers": {"Retry-After": "30"}}, "rate_limited", id="429"),
]

# The same mapping again in reauth and reconfigure: a representative few.
AMBER_FAULTS_SHORT = [AMBER_FAULTS[0], AMBER_FAULTS[3], AMBER_FAULTS[5]]
TESLA_FAULTS_SHORT = [TESLA_FAULTS[0], TESLA_FAULTS[1], TESLA_FAULTS[2], TESLA_FAULTS[4]]


# --- fixtures and small helpers ------------------------------------------------------------------


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Entries the flows create or reload are not really set up (their own tests do that)."""
    with patch(
        "custom_components.tesla_amber_sync.async_setup_entry", return_value=True
    ) as mock_setup:
        yield mock_setup


@pytest.fixture
def fleet(aioclient_mock: AiohttpClientMocker) -> FakeTesla:
    """Tesla Fleet API, North America / Asia-Pacific base."""
    fake = FakeTesla(FLEET_NA_URL)
    fake.register(aioclient_mock)
    return fake


@pytest.fixture
async def fleet_credentials(hass: HomeAssistant) -> None:
    """The user's Tesla developer app is entered as application credentials."""
    await setup_fleet_credentials(hass)


def fleet_entry_data(**overrides: Any) -> dict[str, Any]:
    """Entry data as the wizard creates it for Amber + Tesla Fleet."""
    data = entry_data(
        tesla_provider="fleet",
        auth_implementation=AUTH_IMPLEMENTATION,
        token={**fleet_token("old-access", "old-refresh"), "expires_at": time.time() + 3600},
        tesla_region="na",
    )
    del data["teslemetry_api_token"]
    data.update(overrides)
    return data


def add_entry(hass: HomeAssistant, data: dict[str, Any], **kwargs: Any) -> MockConfigEntry:
    """An existing entry for the Powerwall in `data`."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home Powerwall",
        unique_id=str(data["tesla_energy_site_id"]),
        data=data,
        **kwargs,
    )
    entry.add_to_hass(hass)
    return entry


async def start_user(hass: HomeAssistant) -> Any:
    """Open the wizard and choose Amber."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert_has_strings(result)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["amber", "fixed_plan"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "amber"}
    )
    assert_has_strings(result)
    return result


async def configure(hass: HomeAssistant, result: Any, user_input: dict[str, Any] | None) -> Any:
    """Submit a step and check the next one has its strings."""
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert_has_strings(result)
    return result


async def to_provider_menu(hass: HomeAssistant) -> Any:
    """Wizard with the Amber key entered (one active site), at the Tesla provider menu."""
    result = await start_user(hass)
    result = await configure(hass, result, {"amber_api_token": AMBER_TOKEN})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "tesla_provider"
    return result


async def to_teslemetry_form(hass: HomeAssistant) -> Any:
    """Wizard at the Teslemetry token form."""
    result = await configure(hass, await to_provider_menu(hass), {"next_step_id": "teslemetry"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "teslemetry"
    return result


async def to_fleet_sign_in(hass: HomeAssistant) -> Any:
    """Wizard at Tesla's sign-in page (an external step)."""
    result = await configure(hass, await to_provider_menu(hass), {"next_step_id": "fleet"})
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    return result


def products_calls(fake: FakeTesla) -> int:
    """How many times the entry asked Tesla for its products (once per set-up)."""
    return len(fake.calls_to("/api/1/products"))


# --- strings --------------------------------------------------------------------------------------


def test_english_translation_is_the_strings_file() -> None:
    """Custom integrations are shown from translations/en.json: it must match strings.json."""
    english = json.loads(
        (STRINGS_PATH.parent / "translations" / "en.json").read_text(encoding="utf-8")
    )
    assert english == STRINGS


async def test_application_credentials_help_has_its_placeholders(hass: HomeAssistant) -> None:
    """The application-credentials dialog explains where to register the Tesla app."""
    placeholders = await async_get_description_placeholders(hass)
    assert placeholders["redirect_uri"] == "https://my.home-assistant.io/redirect/oauth"
    assert placeholders["developer_url"].startswith("https://developer.tesla.com")
    text = STRINGS["application_credentials"]["description"]
    assert "{developer_url}" in text
    assert "{redirect_uri}" in text


# --- user step: Amber key -----------------------------------------------------------------------


async def test_user_step_asks_for_the_amber_key_only(hass: HomeAssistant) -> None:
    """The first form asks for the key (the API address waits in a collapsed section) and links
    to Amber's developer page."""
    result = await start_user(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "amber"
    assert result["errors"] == {}
    assert schema_fields(result) == ["amber_api_token", "advanced"]
    assert schema_sections(result) == {"advanced": (True, ["amber_base_url"])}
    assert result["description_placeholders"]["amber_url"] == "https://app.amber.com.au/developers"


@pytest.mark.parametrize(("fault", "error"), AMBER_FAULTS)
async def test_user_step_amber_errors(
    hass: HomeAssistant, amber: FakeAmber, fault: dict[str, Any], error: str
) -> None:
    """A failing key check shows why on the same form; once Amber answers, the wizard goes on."""
    amber.fail("sites", times=-1, **fault)
    result = await start_user(hass)
    result = await configure(hass, result, {"amber_api_token": AMBER_TOKEN})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "amber"
    assert result["errors"] == {"base": error}

    amber.clear_faults()
    result = await configure(hass, result, {"amber_api_token": AMBER_TOKEN})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "tesla_provider"


async def test_user_step_no_active_sites(hass: HomeAssistant, amber: FakeAmber) -> None:
    """Pending and closed sites have no prices: the key is refused with `no_active_sites`."""
    amber.sites = [
        site_json("01J0000000000000000PENDING", status="pending"),
        site_json("01J00000000000000000CLOSED", status="closed"),
    ]
    result = await start_user(hass)
    result = await configure(hass, result, {"amber_api_token": AMBER_TOKEN})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_active_sites"}


async def test_user_step_no_sites_at_all(hass: HomeAssistant, amber: FakeAmber) -> None:
    """An account without any site gets the same answer."""
    amber.sites = []
    result = await start_user(hass)
    result = await configure(hass, result, {"amber_api_token": AMBER_TOKEN})
    assert result["errors"] == {"base": "no_active_sites"}


async def test_one_active_site_skips_the_site_choice(
    hass: HomeAssistant, amber: FakeAmber, tesla: FakeTesla, mock_setup_entry: AsyncMock
) -> None:
    """With one active site (others closed) the wizard goes straight to the Tesla menu."""
    amber.sites = [site_json(), site_json(OTHER_SITE_ID, "4103000000", status="closed")]
    result = await to_provider_menu(hass)
    assert result["menu_options"] == ["teslemetry", "fleet"]
    result = await configure(hass, result, {"next_step_id": "teslemetry"})
    result = await configure(hass, result, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["amber_site_id"] == AMBER_SITE_ID


async def test_several_active_sites_ask_which(
    hass: HomeAssistant, amber: FakeAmber, tesla: FakeTesla, mock_setup_entry: AsyncMock
) -> None:
    """Several active sites: a list labelled by NMI and network (inactive sites left out)."""
    no_network = site_json(OTHER_SITE_ID, "4103000000")
    no_network["network"] = None
    no_nmi = site_json("01J000000000000000000NONMI", "")
    amber.sites = [
        site_json(),
        no_network,
        no_nmi,
        site_json("01J00000000000000000CLOSED", "4104000000", status="closed"),
    ]
    result = await start_user(hass)
    result = await configure(hass, result, {"amber_api_token": AMBER_TOKEN})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "amber_site"
    assert select_options(result, "amber_site_id") == [
        (AMBER_SITE_ID, "4102123456 (Ausgrid)"),
        (OTHER_SITE_ID, "4103000000"),
        ("01J000000000000000000NONMI", "01J000000000000000000NONMI (Ausgrid)"),
    ]
    assert schema_defaults(result) == {"amber_site_id": AMBER_SITE_ID}

    result = await configure(hass, result, {"amber_site_id": OTHER_SITE_ID})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "tesla_provider"
    result = await configure(hass, result, {"next_step_id": "teslemetry"})
    result = await configure(hass, result, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["amber_site_id"] == OTHER_SITE_ID


async def test_advanced_section_offers_and_stores_amber_address(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, tesla: FakeTesla, mock_setup_entry
) -> None:
    """The Advanced section's Amber address: the key is checked there and the address stored."""
    sim_url = "http://amber-sim.local:8080/v1"
    sim = FakeAmber(sim_url)
    sim.register(aioclient_mock)
    result = await start_user(hass)
    result = await configure(
        hass, result, {"amber_api_token": AMBER_TOKEN, "advanced": {"amber_base_url": sim_url}}
    )
    assert result["step_id"] == "tesla_provider"
    assert len(sim.calls_to("/sites")) == 1
    result = await configure(hass, result, {"next_step_id": "teslemetry"})
    result = await configure(hass, result, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["amber_base_url"] == sim_url
    assert set(result["data"]) == TESLEMETRY_KEYS | {"amber_base_url"}


@pytest.mark.parametrize(
    "advanced", [{"amber_base_url": ""}, {}], ids=["address-empty", "section-untouched"]
)
async def test_advanced_section_left_empty_stores_no_address(
    hass: HomeAssistant,
    amber: FakeAmber,
    tesla: FakeTesla,
    mock_setup_entry,
    advanced: dict[str, str],
) -> None:
    """An empty (or never opened) address means Amber's own API, and nothing extra stored."""
    result = await start_user(hass)
    result = await configure(hass, result, {"amber_api_token": AMBER_TOKEN, "advanced": advanced})
    assert len(amber.calls_to("/sites")) == 1
    result = await configure(hass, result, {"next_step_id": "teslemetry"})
    result = await configure(hass, result, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    assert set(result["data"]) == TESLEMETRY_KEYS


# --- Teslemetry -------------------------------------------------------------------------------


async def test_teslemetry_creates_the_entry(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    amber: FakeAmber,
    tesla: FakeTesla,
    frozen: FrozenDateTimeFactory,
) -> None:
    """Amber key + Teslemetry token: one entry per Powerwall, named after it, and it loads."""
    await hass.config.async_set_time_zone("Australia/Sydney")
    result = await start_user(hass)
    result = await configure(hass, result, {"amber_api_token": f"  {AMBER_TOKEN} "})
    result = await configure(hass, result, {"next_step_id": "teslemetry"})
    assert schema_fields(result) == ["teslemetry_api_token", "advanced"]
    assert schema_sections(result) == {"advanced": (True, ["tesla_base_url"])}
    assert result["description_placeholders"] == {
        "teslemetry_url": "https://teslemetry.com/console"
    }
    result = await configure(hass, result, {"teslemetry_api_token": f" {TESLEMETRY_TOKEN}\n"})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Home Powerwall"
    assert result["data"] == {
        "price_source": "amber",
        "amber_api_token": AMBER_TOKEN,
        "amber_site_id": AMBER_SITE_ID,
        "tesla_provider": "teslemetry",
        "teslemetry_api_token": TESLEMETRY_TOKEN,
        "tesla_energy_site_id": ENERGY_SITE_ID,
    }
    assert result["options"] == {}
    entry = result["result"]
    assert entry.unique_id == str(ENERGY_SITE_ID)
    assert entry.state is ConfigEntryState.LOADED
    # Both keys were checked with the services, trimmed.
    assert authorizations(aioclient_mock, "https://api.amber.com.au/v1/sites")[0] == (
        f"Bearer {AMBER_TOKEN}"
    )
    assert authorizations(aioclient_mock, "https://api.teslemetry.com/api/1/products")[0] == (
        f"Bearer {TESLEMETRY_TOKEN}"
    )


@pytest.mark.parametrize(("fault", "error"), TESLA_FAULTS)
async def test_teslemetry_errors(
    hass: HomeAssistant,
    amber: FakeAmber,
    tesla: FakeTesla,
    mock_setup_entry: AsyncMock,
    fault: dict[str, Any],
    error: str,
) -> None:
    """A refused or failing token shows why; a working one then completes the wizard."""
    tesla.fail("products", times=-1, **fault)
    result = await to_teslemetry_form(hass)
    result = await configure(hass, result, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "teslemetry"
    assert result["errors"] == {"base": error}

    tesla.clear_faults()
    result = await configure(hass, result, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_teslemetry_check_failure_is_logged_without_the_token(
    hass: HomeAssistant,
    amber: FakeAmber,
    tesla: FakeTesla,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Tesla echoes the refused token in its error text: the debug line says why, not the key."""
    caplog.set_level(logging.DEBUG, "custom_components.tesla_amber_sync")
    tesla.fail(
        "products",
        status=401,
        times=-1,
        body={"response": None, "error": f"invalid bearer token {TESLEMETRY_TOKEN}"},
    )
    result = await to_teslemetry_form(hass)
    result = await configure(hass, result, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    assert result["errors"] == {"base": "invalid_auth"}
    assert "Tesla token check failed" in caplog.text
    assert "invalid bearer token ***" in caplog.text
    assert TESLEMETRY_TOKEN not in caplog.text


async def test_teslemetry_account_without_energy_site(
    hass: HomeAssistant, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """An account with only a car has nothing to sync."""
    tesla.products = [{"id": 1, "vin": "5YJ3E1EA7KF000000", "display_name": "Car"}]
    result = await to_teslemetry_form(hass)
    result = await configure(hass, result, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_energy_sites"}


async def test_teslemetry_advanced_address_is_used_and_stored(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    amber: FakeAmber,
    tesla: FakeTesla,
    mock_setup_entry: AsyncMock,
) -> None:
    """The Advanced section: another Tesla-compatible address is checked and kept in the entry."""
    sim_url = "http://tesla-sim.local:8081"
    sim = FakeTesla(sim_url)
    sim.register(aioclient_mock)
    result = await start_user(hass)
    result = await configure(hass, result, {"amber_api_token": AMBER_TOKEN})
    result = await configure(hass, result, {"next_step_id": "teslemetry"})
    result = await configure(
        hass,
        result,
        {"teslemetry_api_token": TESLEMETRY_TOKEN, "advanced": {"tesla_base_url": sim_url}},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["tesla_base_url"] == sim_url
    assert set(result["data"]) == TESLEMETRY_KEYS | {"tesla_base_url"}
    assert products_calls(sim) == 1
    assert products_calls(tesla) == 0


async def test_several_energy_sites_ask_which(
    hass: HomeAssistant, amber: FakeAmber, tesla: FakeTesla, mock_setup_entry: AsyncMock
) -> None:
    """Several Powerwalls: choose one; the entry is named after it and keyed by its id."""
    tesla.products = [product_json(), product_json(SECOND_ENERGY_SITE, "Beach House")]
    result = await to_teslemetry_form(hass)
    result = await configure(hass, result, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "energy_site"
    assert select_options(result, "tesla_energy_site_id") == [
        (str(ENERGY_SITE_ID), f"Home Powerwall ({ENERGY_SITE_ID})"),
        (str(SECOND_ENERGY_SITE), f"Beach House ({SECOND_ENERGY_SITE})"),
    ]
    assert schema_defaults(result) == {"tesla_energy_site_id": str(ENERGY_SITE_ID)}
    result = await configure(hass, result, {"tesla_energy_site_id": str(SECOND_ENERGY_SITE)})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Beach House"
    assert result["data"]["tesla_energy_site_id"] == SECOND_ENERGY_SITE
    assert result["result"].unique_id == str(SECOND_ENERGY_SITE)


async def test_same_powerwall_twice_is_refused(
    hass: HomeAssistant, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """Two entries must never fight over one Powerwall's plan."""
    add_entry(hass, entry_data())
    result = await to_teslemetry_form(hass)
    result = await configure(hass, result, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_same_powerwall_chosen_from_several_is_refused(
    hass: HomeAssistant, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """Picking an already configured Powerwall from the list aborts too."""
    add_entry(hass, entry_data())
    tesla.products = [product_json(), product_json(SECOND_ENERGY_SITE, "Beach House")]
    result = await to_teslemetry_form(hass)
    result = await configure(hass, result, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    result = await configure(hass, result, {"tesla_energy_site_id": str(ENERGY_SITE_ID)})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# --- Tesla Fleet (OAuth) ------------------------------------------------------------------------


@pytest.mark.usefixtures("current_request_with_host", "fleet_credentials", "mock_setup_entry")
async def test_fleet_sign_in_creates_the_entry(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    aioclient_mock: AiohttpClientMocker,
    amber: FakeAmber,
    fleet: FakeTesla,
) -> None:
    """Sign in with Tesla: scopes on the authorize URL, region looked up, entry with the token."""
    result = await to_fleet_sign_in(hass)
    url = urlsplit(result["url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == FLEET_AUTHORIZE_URL
    query = parse_qs(url.query)
    assert query["scope"] == [FLEET_SCOPE]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert query["response_type"] == ["code"]

    result = await finish_fleet_sign_in(hass, hass_client_no_auth, aioclient_mock, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Home Powerwall"
    assert result["result"].unique_id == str(ENERGY_SITE_ID)
    data = result["data"]
    assert set(data) == FLEET_KEYS
    assert data["price_source"] == "amber"
    assert data["amber_api_token"] == AMBER_TOKEN
    assert data["amber_site_id"] == AMBER_SITE_ID
    assert data["tesla_provider"] == "fleet"
    assert data["tesla_energy_site_id"] == ENERGY_SITE_ID
    assert data["auth_implementation"] == AUTH_IMPLEMENTATION
    assert data["tesla_region"] == "na"
    assert data["token"]["access_token"] == "fleet-access-1"
    assert data["token"]["refresh_token"] == "fleet-refresh-1"
    assert data["token"]["expires_at"] > time.time() + 3000
    # The region was asked first, with the new token, then the products on that region's URL.
    assert [c.path for c in fleet.calls] == ["/api/1/users/region", "/api/1/products"]
    assert set(authorizations(aioclient_mock, FLEET_NA_URL)) == {"Bearer fleet-access-1"}


@pytest.mark.usefixtures("current_request_with_host", "fleet_credentials", "mock_setup_entry")
async def test_fleet_eu_account_uses_the_eu_address(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    aioclient_mock: AiohttpClientMocker,
    amber: FakeAmber,
    fleet: FakeTesla,
) -> None:
    """The region call decides where the products are fetched from; the region is stored."""
    fleet.region = {"region": "eu", "fleet_api_base_url": FLEET_EU_URL}
    fleet.products = []  # the NA base must not be asked for products
    eu = FakeTesla(FLEET_EU_URL)
    eu.products = [product_json(SECOND_ENERGY_SITE, "Ferienhaus")]
    eu.register(aioclient_mock)

    result = await finish_fleet_sign_in(
        hass, hass_client_no_auth, aioclient_mock, await to_fleet_sign_in(hass)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Ferienhaus"
    assert result["data"]["tesla_region"] == "eu"
    assert result["data"]["tesla_energy_site_id"] == SECOND_ENERGY_SITE
    assert "tesla_base_url" not in result["data"]
    assert [c.path for c in fleet.calls] == ["/api/1/users/region"]
    assert [c.path for c in eu.calls] == ["/api/1/products"]


@pytest.mark.usefixtures("current_request_with_host", "fleet_credentials", "mock_setup_entry")
async def test_fleet_unusual_regional_address_is_stored(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    aioclient_mock: AiohttpClientMocker,
    amber: FakeAmber,
    fleet: FakeTesla,
) -> None:
    """When Tesla names an address that is not the region's usual one, the entry keeps it."""
    other = "https://fleet-api.prd.ap.vn.cloud.tesla.example"
    fleet.region = {"region": "na", "fleet_api_base_url": other + "/"}
    regional = FakeTesla(other)
    regional.register(aioclient_mock)
    result = await finish_fleet_sign_in(
        hass, hass_client_no_auth, aioclient_mock, await to_fleet_sign_in(hass)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["tesla_base_url"] == other
    assert set(result["data"]) == FLEET_KEYS | {"tesla_base_url"}
    assert products_calls(regional) == 1


@pytest.mark.parametrize(
    ("op", "fault", "reason"),
    [
        ("region", {"status": 401, "body": {"response": None}}, "invalid_auth"),
        ("region", {"status": 500}, "cannot_connect"),
        ("region", {"status": 200, "body": {"response": {"region": "na"}}}, "cannot_connect"),
        ("products", {"status": 403, "body": {"response": None}}, "missing_scopes"),
        ("products", {"status": 402, "body": {"response": None}}, "payment_required"),
        ("products", {"status": 429, "headers": {"Retry-After": "10"}}, "rate_limited"),
        ("products", {"exc": TimeoutError()}, "cannot_connect"),
    ],
)
@pytest.mark.usefixtures("current_request_with_host", "fleet_credentials")
async def test_fleet_tesla_failure_after_sign_in_aborts(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    aioclient_mock: AiohttpClientMocker,
    amber: FakeAmber,
    fleet: FakeTesla,
    op: str,
    fault: dict[str, Any],
    reason: str,
) -> None:
    """After Tesla's sign-in page there is no form to go back to: the wizard ends with why."""
    fleet.fail(op, times=-1, **fault)
    result = await finish_fleet_sign_in(
        hass, hass_client_no_auth, aioclient_mock, await to_fleet_sign_in(hass)
    )
    assert_has_strings(result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.usefixtures("current_request_with_host", "fleet_credentials")
async def test_fleet_account_without_energy_site_aborts(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    aioclient_mock: AiohttpClientMocker,
    amber: FakeAmber,
    fleet: FakeTesla,
) -> None:
    """A Tesla account with only cars cannot be used."""
    fleet.products = [{"id": 1, "vin": "5YJ3E1EA7KF000000"}]
    result = await finish_fleet_sign_in(
        hass, hass_client_no_auth, aioclient_mock, await to_fleet_sign_in(hass)
    )
    assert_has_strings(result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_energy_sites"


@pytest.mark.usefixtures("current_request_with_host", "fleet_credentials", "mock_setup_entry")
async def test_fleet_several_energy_sites_ask_which(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    aioclient_mock: AiohttpClientMocker,
    amber: FakeAmber,
    fleet: FakeTesla,
) -> None:
    """The site choice works the same after signing in to Tesla."""
    fleet.products = [product_json(), product_json(SECOND_ENERGY_SITE, "Beach House")]
    result = await finish_fleet_sign_in(
        hass, hass_client_no_auth, aioclient_mock, await to_fleet_sign_in(hass)
    )
    assert_has_strings(result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "energy_site"
    result = await configure(hass, result, {"tesla_energy_site_id": str(SECOND_ENERGY_SITE)})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Beach House"
    assert result["data"]["tesla_provider"] == "fleet"
    assert result["data"]["token"]["access_token"] == "fleet-access-1"


@pytest.mark.usefixtures("current_request_with_host", "fleet_credentials")
async def test_fleet_same_powerwall_twice_is_refused(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    aioclient_mock: AiohttpClientMocker,
    amber: FakeAmber,
    fleet: FakeTesla,
) -> None:
    """A Powerwall set up through Teslemetry cannot be added again through Tesla Fleet."""
    add_entry(hass, entry_data())
    result = await finish_fleet_sign_in(
        hass, hass_client_no_auth, aioclient_mock, await to_fleet_sign_in(hass)
    )
    assert_has_strings(result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.usefixtures("current_request_with_host")
async def test_fleet_without_application_credentials(hass: HomeAssistant, amber: FakeAmber) -> None:
    """No Tesla developer app entered yet: the wizard says what is missing."""
    assert await async_setup_component(hass, "application_credentials", {})
    result = await configure(hass, await to_provider_menu(hass), {"next_step_id": "fleet"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "missing_credentials"


@pytest.mark.usefixtures("current_request_with_host")
async def test_fleet_without_oauth_configuration(hass: HomeAssistant, amber: FakeAmber) -> None:
    """Without application-credentials support at all, the OAuth helper's abort has text."""
    with patch(
        "homeassistant.helpers.config_entry_oauth2_flow.async_get_application_credentials",
        return_value=[],
    ):
        result = await configure(hass, await to_provider_menu(hass), {"next_step_id": "fleet"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "missing_configuration"


# --- reauth -----------------------------------------------------------------------------------


async def start_reauth(hass: HomeAssistant, entry: MockConfigEntry, service: str | None) -> Any:
    """Start a reauth flow the way the integration does (with or without a service hint)."""
    data = {"reauth_service": service} if service else None
    return await entry.start_reauth_flow(hass, data=data)


async def test_reauth_amber_form(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    """An Amber hint goes straight to the new-key form, naming the entry."""
    result = await start_reauth(hass, config_entry, "amber")
    assert_has_strings(result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_amber"
    assert schema_fields(result) == ["amber_api_token"]
    assert result["description_placeholders"]["name"] == "Home Powerwall"


@pytest.mark.parametrize(("fault", "error"), AMBER_FAULTS_SHORT)
async def test_reauth_amber_errors(
    hass: HomeAssistant,
    amber: FakeAmber,
    config_entry: MockConfigEntry,
    fault: dict[str, Any],
    error: str,
) -> None:
    """A new key that fails to check is not saved."""
    amber.fail("sites", times=-1, **fault)
    result = await start_reauth(hass, config_entry, "amber")
    result = await configure(hass, result, {"amber_api_token": NEW_AMBER_TOKEN})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_amber"
    assert result["errors"] == {"base": error}
    assert config_entry.data["amber_api_token"] == AMBER_TOKEN


async def test_reauth_amber_key_without_active_sites(
    hass: HomeAssistant, amber: FakeAmber, config_entry: MockConfigEntry
) -> None:
    """A key of an account without active sites is refused."""
    amber.sites = [site_json(status="closed")]
    result = await start_reauth(hass, config_entry, "amber")
    result = await configure(hass, result, {"amber_api_token": NEW_AMBER_TOKEN})
    assert result["errors"] == {"base": "no_active_sites"}


async def test_reauth_amber_key_of_another_account(
    hass: HomeAssistant, amber: FakeAmber, config_entry: MockConfigEntry
) -> None:
    """The new key must see this entry's site."""
    amber.sites = [site_json(OTHER_SITE_ID, "4103000000")]
    result = await start_reauth(hass, config_entry, "amber")
    result = await configure(hass, result, {"amber_api_token": NEW_AMBER_TOKEN})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "wrong_amber_site"}
    assert config_entry.data["amber_api_token"] == AMBER_TOKEN


async def test_reauth_amber_success_replaces_only_the_key_and_reloads(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """The new key is saved, nothing else changes, and the reloaded entry uses it."""
    before = dict(loaded_entry.data)
    assert products_calls(tesla) == 1
    result = await start_reauth(hass, loaded_entry, "amber")
    result = await configure(hass, result, {"amber_api_token": f" {NEW_AMBER_TOKEN} "})
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert dict(loaded_entry.data) == {**before, "amber_api_token": NEW_AMBER_TOKEN}
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert products_calls(tesla) == 2  # set up again
    assert authorizations(aioclient_mock, "https://api.amber.com.au")[-1] == (
        f"Bearer {NEW_AMBER_TOKEN}"
    )


async def test_reauth_tesla_teslemetry_form(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """A Tesla hint on a Teslemetry entry asks for a new Teslemetry token."""
    result = await start_reauth(hass, config_entry, "tesla")
    assert_has_strings(result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_teslemetry"
    assert schema_fields(result) == ["teslemetry_api_token"]


@pytest.mark.parametrize(("fault", "error"), TESLA_FAULTS_SHORT)
async def test_reauth_teslemetry_errors(
    hass: HomeAssistant,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
    fault: dict[str, Any],
    error: str,
) -> None:
    """A new token that fails to check is not saved."""
    tesla.fail("products", times=-1, **fault)
    result = await start_reauth(hass, config_entry, "tesla")
    result = await configure(hass, result, {"teslemetry_api_token": NEW_TESLEMETRY_TOKEN})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_teslemetry"
    assert result["errors"] == {"base": error}
    assert config_entry.data["teslemetry_api_token"] == TESLEMETRY_TOKEN


async def test_reauth_teslemetry_token_without_energy_sites(
    hass: HomeAssistant, tesla: FakeTesla, config_entry: MockConfigEntry
) -> None:
    """A token that sees no Powerwall at all."""
    tesla.products = []
    result = await start_reauth(hass, config_entry, "tesla")
    result = await configure(hass, result, {"teslemetry_api_token": NEW_TESLEMETRY_TOKEN})
    assert result["errors"] == {"base": "no_energy_sites"}


async def test_reauth_teslemetry_token_for_another_powerwall(
    hass: HomeAssistant, tesla: FakeTesla, config_entry: MockConfigEntry
) -> None:
    """The new token must see this entry's Powerwall."""
    tesla.products = [product_json(SECOND_ENERGY_SITE, "Beach House")]
    result = await start_reauth(hass, config_entry, "tesla")
    result = await configure(hass, result, {"teslemetry_api_token": NEW_TESLEMETRY_TOKEN})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "wrong_energy_site"}
    assert config_entry.data["teslemetry_api_token"] == TESLEMETRY_TOKEN


async def test_reauth_teslemetry_success_replaces_only_the_token_and_reloads(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """The new token is saved and the reloaded entry talks to Tesla with it."""
    before = dict(loaded_entry.data)
    result = await start_reauth(hass, loaded_entry, "tesla")
    result = await configure(hass, result, {"teslemetry_api_token": NEW_TESLEMETRY_TOKEN})
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert dict(loaded_entry.data) == {**before, "teslemetry_api_token": NEW_TESLEMETRY_TOKEN}
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert products_calls(tesla) == 3  # the check, then the set-up after the reload
    assert authorizations(aioclient_mock, "https://api.teslemetry.com")[-1] == (
        f"Bearer {NEW_TESLEMETRY_TOKEN}"
    )


async def test_reauth_teslemetry_checks_the_entry_address(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    tesla: FakeTesla,
    mock_setup_entry: AsyncMock,
) -> None:
    """An entry set up against another Tesla-compatible address is re-checked there."""
    sim_url = "http://tesla-sim.local:8081"
    sim = FakeTesla(sim_url)
    sim.register(aioclient_mock)
    entry = add_entry(hass, entry_data(tesla_base_url=sim_url))
    result = await start_reauth(hass, entry, "tesla")
    result = await configure(hass, result, {"teslemetry_api_token": NEW_TESLEMETRY_TOKEN})
    assert result["reason"] == "reauth_successful"
    assert products_calls(sim) == 1
    assert products_calls(tesla) == 0


async def test_reauth_tesla_fleet_asks_to_sign_in_again(
    hass: HomeAssistant, mock_setup_entry: AsyncMock
) -> None:
    """A Tesla hint on a Fleet entry shows a confirmation before Tesla's sign-in."""
    entry = add_entry(hass, fleet_entry_data())
    result = await start_reauth(hass, entry, "tesla")
    assert_has_strings(result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_fleet"
    assert result["data_schema"] is None or schema_fields(result) == []


@pytest.mark.usefixtures("current_request_with_host", "fleet_credentials")
async def test_reauth_fleet_success_updates_the_token(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    aioclient_mock: AiohttpClientMocker,
    fleet: FakeTesla,
    mock_setup_entry: AsyncMock,
) -> None:
    """Signing in again with the owner's account stores the new token and reloads."""
    entry = add_entry(hass, fleet_entry_data())
    result = await start_reauth(hass, entry, "tesla")
    result = await configure(hass, result, {})
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    assert parse_qs(urlsplit(result["url"]).query)["scope"] == [FLEET_SCOPE]
    result = await finish_fleet_sign_in(
        hass,
        hass_client_no_auth,
        aioclient_mock,
        result,
        token=fleet_token("fleet-access-2", "fleet-refresh-2"),
    )
    await hass.async_block_till_done()
    assert_has_strings(result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data["token"]["access_token"] == "fleet-access-2"
    assert entry.data["token"]["refresh_token"] == "fleet-refresh-2"
    assert entry.data["tesla_region"] == "na"
    assert entry.data["auth_implementation"] == AUTH_IMPLEMENTATION
    assert entry.data["amber_api_token"] == AMBER_TOKEN
    assert entry.data["tesla_energy_site_id"] == ENERGY_SITE_ID
    assert len(mock_setup_entry.mock_calls) == 1  # reloaded
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


@pytest.mark.usefixtures("current_request_with_host", "fleet_credentials")
async def test_reauth_fleet_keeps_an_unusual_regional_address(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    aioclient_mock: AiohttpClientMocker,
    fleet: FakeTesla,
    mock_setup_entry: AsyncMock,
) -> None:
    """Re-signing in where Tesla names a non-standard address stores that address."""
    other = "https://fleet-api.prd.ap.vn.cloud.tesla.example"
    fleet.region = {"region": "na", "fleet_api_base_url": other}
    FakeTesla(other).register(aioclient_mock)
    entry = add_entry(hass, fleet_entry_data())
    result = await start_reauth(hass, entry, "tesla")
    result = await configure(hass, result, {})
    result = await finish_fleet_sign_in(
        hass, hass_client_no_auth, aioclient_mock, result, token=fleet_token("a2", "r2")
    )
    assert result["reason"] == "reauth_successful"
    assert entry.data["tesla_base_url"] == other


@pytest.mark.usefixtures("current_request_with_host", "fleet_credentials")
async def test_reauth_fleet_with_another_account_is_refused(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    aioclient_mock: AiohttpClientMocker,
    fleet: FakeTesla,
    mock_setup_entry: AsyncMock,
) -> None:
    """A Tesla account that does not own this Powerwall cannot take over the entry."""
    entry = add_entry(hass, fleet_entry_data())
    fleet.products = [product_json(SECOND_ENERGY_SITE, "Someone else's")]
    result = await start_reauth(hass, entry, "tesla")
    result = await configure(hass, result, {})
    result = await finish_fleet_sign_in(
        hass,
        hass_client_no_auth,
        aioclient_mock,
        result,
        token=fleet_token("stranger-access", "stranger-refresh"),
    )
    assert_has_strings(result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["token"]["access_token"] == "old-access"
    assert mock_setup_entry.mock_calls == []


@pytest.mark.usefixtures("current_request_with_host", "fleet_credentials")
async def test_reauth_fleet_tesla_failure_aborts(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    aioclient_mock: AiohttpClientMocker,
    fleet: FakeTesla,
    mock_setup_entry: AsyncMock,
) -> None:
    """Tesla down right after signing in again: nothing is saved."""
    entry = add_entry(hass, fleet_entry_data())
    fleet.fail("products", status=503, times=-1)
    result = await start_reauth(hass, entry, "tesla")
    result = await configure(hass, result, {})
    result = await finish_fleet_sign_in(hass, hass_client_no_auth, aioclient_mock, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"
    assert entry.data["token"]["access_token"] == "old-access"


@pytest.mark.parametrize(
    ("data", "choice", "step"),
    [
        (entry_data(), "reauth_amber", "reauth_amber"),
        (entry_data(), "reauth_tesla", "reauth_teslemetry"),
        (fleet_entry_data(), "reauth_amber", "reauth_amber"),
        (fleet_entry_data(), "reauth_tesla", "reauth_fleet"),
    ],
)
async def test_reauth_without_hint_lets_the_user_choose(
    hass: HomeAssistant, data: dict[str, Any], choice: str, step: str
) -> None:
    """Without a hint a menu asks which credential to replace."""
    entry = add_entry(hass, data)
    result = await start_reauth(hass, entry, None)
    assert_has_strings(result, placeholders=False)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "reauth"
    assert result["menu_options"] == ["reauth_amber", "reauth_tesla"]
    result = await configure(hass, result, {"next_step_id": choice})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step


async def test_reauth_menu_text_has_its_placeholder(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """The menu text names the entry ({name}); the flow must supply it."""
    result = await start_reauth(hass, config_entry, None)
    assert result["step_id"] == "reauth"
    assert_has_strings(result)


@pytest.mark.parametrize(
    ("expires_in", "step"), [(-60, "reauth_fleet"), (3600, "reauth")], ids=["lapsed", "valid"]
)
async def test_reauth_without_hint_on_a_lapsed_fleet_sign_in(
    hass: HomeAssistant, expires_in: int, step: str
) -> None:
    """Home Assistant 2026.11 itself starts a reauth without our hint when Tesla refuses to
    refresh the Fleet token: an expired token says the Tesla sign-in failed, so the flow goes
    straight there. With a token still valid it cannot tell, and asks (the menu)."""
    token = {**fleet_token("old-access", "old-refresh"), "expires_at": time.time() + expires_in}
    entry = add_entry(hass, fleet_entry_data(token=token))
    result = await start_reauth(hass, entry, None)
    assert_has_strings(result)
    assert result["step_id"] == step


# --- reconfigure --------------------------------------------------------------------------------


async def start_reconfigure(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    """Open the reconfigure form."""
    result = await entry.start_reconfigure_flow(hass)
    assert_has_strings(result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    return result


async def test_reconfigure_form_fields(hass: HomeAssistant) -> None:
    """Teslemetry entries can replace both tokens; Fleet entries only the Amber key."""
    teslemetry = add_entry(hass, entry_data())
    result = await start_reconfigure(hass, teslemetry)
    assert schema_fields(result) == ["amber_api_token", "teslemetry_api_token"]
    assert result["errors"] == {}

    fleet_entry = add_entry(hass, fleet_entry_data(tesla_energy_site_id=SECOND_ENERGY_SITE))
    result = await start_reconfigure(hass, fleet_entry)
    assert schema_fields(result) == ["amber_api_token"]


async def test_reconfigure_empty_fields_keep_the_tokens(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    amber: FakeAmber,
    tesla: FakeTesla,
    mock_setup_entry: AsyncMock,
) -> None:
    """Leaving both fields empty keeps both tokens (the Amber key is still checked)."""
    entry = add_entry(hass, entry_data())
    result = await start_reconfigure(hass, entry)
    result = await configure(hass, result, {})
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == entry_data()
    assert authorizations(aioclient_mock, "https://api.amber.com.au") == [f"Bearer {AMBER_TOKEN}"]
    assert products_calls(tesla) == 0
    assert len(mock_setup_entry.mock_calls) == 1  # reloaded


async def test_reconfigure_blank_strings_keep_the_tokens(
    hass: HomeAssistant, amber: FakeAmber, tesla: FakeTesla, mock_setup_entry: AsyncMock
) -> None:
    """Whitespace in a field counts as empty."""
    entry = add_entry(hass, entry_data())
    result = await start_reconfigure(hass, entry)
    result = await configure(hass, result, {"amber_api_token": " ", "teslemetry_api_token": ""})
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == entry_data()


async def test_reconfigure_new_tokens_are_checked_and_saved(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    amber: FakeAmber,
    tesla: FakeTesla,
    mock_setup_entry: AsyncMock,
) -> None:
    """New keys are validated with the services and then replace the old ones."""
    entry = add_entry(hass, entry_data())
    result = await start_reconfigure(hass, entry)
    result = await configure(
        hass,
        result,
        {"amber_api_token": NEW_AMBER_TOKEN, "teslemetry_api_token": NEW_TESLEMETRY_TOKEN},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == entry_data(
        amber_api_token=NEW_AMBER_TOKEN, teslemetry_api_token=NEW_TESLEMETRY_TOKEN
    )
    assert authorizations(aioclient_mock, "https://api.amber.com.au") == [
        f"Bearer {NEW_AMBER_TOKEN}"
    ]
    assert authorizations(aioclient_mock, "https://api.teslemetry.com") == [
        f"Bearer {NEW_TESLEMETRY_TOKEN}"
    ]


@pytest.mark.parametrize(("fault", "error"), AMBER_FAULTS_SHORT)
async def test_reconfigure_amber_errors(
    hass: HomeAssistant,
    amber: FakeAmber,
    tesla: FakeTesla,
    fault: dict[str, Any],
    error: str,
) -> None:
    """A failing Amber key keeps the form open and changes nothing."""
    entry = add_entry(hass, entry_data())
    amber.fail("sites", times=-1, **fault)
    result = await start_reconfigure(hass, entry)
    result = await configure(
        hass,
        result,
        {"amber_api_token": NEW_AMBER_TOKEN, "teslemetry_api_token": NEW_TESLEMETRY_TOKEN},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": error}
    assert dict(entry.data) == entry_data()
    assert products_calls(tesla) == 0  # no point checking Tesla while Amber fails


@pytest.mark.parametrize(("fault", "error"), TESLA_FAULTS_SHORT)
async def test_reconfigure_teslemetry_errors(
    hass: HomeAssistant,
    amber: FakeAmber,
    tesla: FakeTesla,
    fault: dict[str, Any],
    error: str,
) -> None:
    """A failing new Teslemetry token keeps the form open and changes nothing."""
    entry = add_entry(hass, entry_data())
    tesla.fail("products", times=-1, **fault)
    result = await start_reconfigure(hass, entry)
    result = await configure(
        hass,
        result,
        {"amber_api_token": NEW_AMBER_TOKEN, "teslemetry_api_token": NEW_TESLEMETRY_TOKEN},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert dict(entry.data) == entry_data()


async def test_reconfigure_token_for_another_powerwall(
    hass: HomeAssistant, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """Another Powerwall needs a new entry, not a reconfigured one."""
    entry = add_entry(hass, entry_data())
    tesla.products = [product_json(SECOND_ENERGY_SITE, "Beach House")]
    result = await start_reconfigure(hass, entry)
    result = await configure(hass, result, {"teslemetry_api_token": NEW_TESLEMETRY_TOKEN})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "wrong_energy_site"}
    assert dict(entry.data) == entry_data()


async def test_reconfigure_several_amber_sites_preselects_the_current_one(
    hass: HomeAssistant, amber: FakeAmber, mock_setup_entry: AsyncMock
) -> None:
    """With several active sites the user picks one; the entry's site is the default."""
    amber.sites = [site_json(OTHER_SITE_ID, "4103000000"), site_json()]
    entry = add_entry(hass, entry_data())
    result = await start_reconfigure(hass, entry)
    result = await configure(hass, result, {})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure_site"
    assert schema_defaults(result) == {"amber_site_id": AMBER_SITE_ID}
    assert [value for value, _ in select_options(result, "amber_site_id")] == [
        OTHER_SITE_ID,
        AMBER_SITE_ID,
    ]
    result = await configure(hass, result, {"amber_site_id": OTHER_SITE_ID})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == entry_data(amber_site_id=OTHER_SITE_ID)


async def test_reconfigure_site_list_without_the_current_site(
    hass: HomeAssistant, amber: FakeAmber, mock_setup_entry: AsyncMock
) -> None:
    """A new key whose account lacks the current site: the first site is preselected."""
    third = "01J0000000000000000000THRD"
    amber.sites = [site_json(OTHER_SITE_ID, "4103000000"), site_json(third, "4104000000")]
    entry = add_entry(hass, entry_data())
    result = await start_reconfigure(hass, entry)
    result = await configure(hass, result, {"amber_api_token": NEW_AMBER_TOKEN})
    assert result["step_id"] == "reconfigure_site"
    assert schema_defaults(result) == {"amber_site_id": OTHER_SITE_ID}
    result = await configure(hass, result, {"amber_site_id": third})
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == entry_data(amber_api_token=NEW_AMBER_TOKEN, amber_site_id=third)


async def test_reconfigure_one_other_amber_site_switches_to_it(
    hass: HomeAssistant, amber: FakeAmber, mock_setup_entry: AsyncMock
) -> None:
    """A key whose account has exactly one active site moves the entry to that site."""
    amber.sites = [site_json(OTHER_SITE_ID, "4103000000")]
    entry = add_entry(hass, entry_data())
    result = await start_reconfigure(hass, entry)
    result = await configure(hass, result, {"amber_api_token": NEW_AMBER_TOKEN})
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["amber_site_id"] == OTHER_SITE_ID
    assert entry.data["amber_api_token"] == NEW_AMBER_TOKEN


async def test_reconfigure_fleet_entry_changes_the_amber_key(
    hass: HomeAssistant, amber: FakeAmber, fleet: FakeTesla, mock_setup_entry: AsyncMock
) -> None:
    """A Fleet entry keeps its Tesla sign-in; only the Amber key changes."""
    data = fleet_entry_data()
    entry = add_entry(hass, data)
    result = await start_reconfigure(hass, entry)
    result = await configure(hass, result, {"amber_api_token": NEW_AMBER_TOKEN})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == {**data, "amber_api_token": NEW_AMBER_TOKEN}
    assert fleet.calls == []


async def test_reconfigure_uses_the_entry_amber_address(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    amber: FakeAmber,
    mock_setup_entry: AsyncMock,
) -> None:
    """An entry set up against another Amber-compatible address is re-checked there."""
    sim_url = "http://amber-sim.local:8080/v1"
    sim = FakeAmber(sim_url)
    sim.register(aioclient_mock)
    entry = add_entry(hass, entry_data(amber_base_url=sim_url))
    result = await start_reconfigure(hass, entry)
    result = await configure(hass, result, {"amber_api_token": NEW_AMBER_TOKEN})
    assert result["reason"] == "reconfigure_successful"
    assert len(sim.calls_to("/sites")) == 1
    assert amber.calls == []
    assert entry.data["amber_base_url"] == sim_url


# --- options ------------------------------------------------------------------------------------


async def start_options(hass: HomeAssistant, entry: MockConfigEntry, step: str = "sync") -> Any:
    """Open the options menu and pick a form from it."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert_has_strings(result, section="options")
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "init"
    assert step in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    assert_has_strings(result, section="options")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step
    return result


async def test_options_defaults_teslemetry(hass: HomeAssistant) -> None:
    """Teslemetry polls every 30 s by default; predicted forecasts and both safeguards on."""
    entry = add_entry(hass, entry_data())
    result = await start_options(hass, entry)
    assert schema_defaults(result) == {
        "forecast_source": "predicted",
        "spike_protection": True,
        "restore_on_remove": True,
        "live_status_interval": 30,
    }


async def test_options_defaults_fleet(hass: HomeAssistant) -> None:
    """Tesla Fleet bills each call: it polls every 60 s by default."""
    entry = add_entry(hass, fleet_entry_data())
    result = await start_options(hass, entry)
    assert schema_defaults(result)["live_status_interval"] == 60


async def test_options_form_shows_the_saved_values(hass: HomeAssistant) -> None:
    """Saved options are the form's defaults."""
    saved = {
        "forecast_source": "high",
        "spike_protection": False,
        "restore_on_remove": False,
        "live_status_interval": 120,
    }
    entry = add_entry(hass, fleet_entry_data(), options=saved)
    result = await start_options(hass, entry)
    assert schema_defaults(result) == saved


async def test_options_are_saved_with_a_whole_number_interval(hass: HomeAssistant) -> None:
    """The number box sends a float; the entry stores whole seconds and keeps other options."""
    entry = add_entry(hass, entry_data(), options={"demand_rate": 12.5})
    result = await start_options(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "forecast_source": "low",
            "spike_protection": False,
            "restore_on_remove": True,
            "live_status_interval": 45.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    expected = {
        "demand_rate": 12.5,
        "forecast_source": "low",
        "spike_protection": False,
        "restore_on_remove": True,
        "live_status_interval": 45,
    }
    assert result["data"] == expected
    assert dict(entry.options) == expected
    assert type(entry.options["live_status_interval"]) is int


async def test_options_interval_outside_limits_is_refused(hass: HomeAssistant) -> None:
    """Polling faster than every 10 s is not accepted."""
    entry = add_entry(hass, entry_data())
    result = await start_options(hass, entry)
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                "forecast_source": "low",
                "spike_protection": True,
                "restore_on_remove": True,
                "live_status_interval": 5,
            },
        )
    assert dict(entry.options) == {}


async def test_saving_options_reloads_the_entry(
    hass: HomeAssistant, tesla: FakeTesla, loaded_entry: MockConfigEntry
) -> None:
    """New options take effect at once: the entry is set up again."""
    assert products_calls(tesla) == 1
    result = await start_options(hass, loaded_entry)
    await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "forecast_source": "aemo",
            "spike_protection": True,
            "restore_on_remove": True,
            "live_status_interval": 90,
        },
    )
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert products_calls(tesla) == 2
    assert loaded_entry.runtime_data.live.update_interval.total_seconds() == 90


async def test_data_only_update_does_not_reload(
    hass: HomeAssistant, tesla: FakeTesla, loaded_entry: MockConfigEntry
) -> None:
    """A token refresh rewrites the entry's data: that must not restart the integration."""
    assert products_calls(tesla) == 1
    hass.config_entries.async_update_entry(
        loaded_entry,
        data={**loaded_entry.data, "token": {"access_token": "new", "expires_at": 2e9}},
    )
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert products_calls(tesla) == 1
    assert loaded_entry.data["token"]["access_token"] == "new"


async def test_unchanged_options_saved_again_do_not_reload(
    hass: HomeAssistant, tesla: FakeTesla, loaded_entry: MockConfigEntry
) -> None:
    """Saving the form without changing anything leaves the running entry alone."""
    result = await start_options(hass, loaded_entry)
    defaults = schema_defaults(result)
    await hass.config_entries.options.async_configure(result["flow_id"], defaults)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert dict(loaded_entry.options) == defaults
    assert products_calls(tesla) == 2  # options went from none to the defaults: reloaded
    result = await start_options(hass, loaded_entry)
    await hass.config_entries.options.async_configure(result["flow_id"], defaults)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert products_calls(tesla) == 2
