"""The Amber and Tesla clients against fake clouds: status mapping, retries, tolerant parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
import logging
import socket
import time
from typing import Any
from unittest.mock import Mock

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.tesla_amber_sync.api.amber import AmberClient, IntervalTimes, parse_time
from custom_components.tesla_amber_sync.api.errors import (
    ApiConnectionError,
    ApiError,
    AuthError,
    BadResponseError,
    PaymentRequiredError,
    RateLimitedError,
    RegionError,
)
from custom_components.tesla_amber_sync.api.models import (
    AdvancedPrice,
    EnergyHistoryDay,
    PriceInterval,
    RateLimit,
)
from custom_components.tesla_amber_sync.api.tesla import TeslaEnergyClient
from custom_components.tesla_amber_sync.clients import build_amber_client, build_tesla_client
from custom_components.tesla_amber_sync.const import DOMAIN

from .conftest import START, entry_data
from .fakes import (
    AMBER_SITE_ID,
    AMBER_TOKEN,
    AMBER_URL,
    ENERGY_SITE_ID,
    FLEET_EU_URL,
    FLEET_NA_URL,
    TESLEMETRY_TOKEN,
    TESLEMETRY_URL,
    FakeAmber,
    FakeTesla,
    connection_refused,
    product_json,
    site_json,
    user_tariff,
)
from .flow_helpers import (
    AUTH_IMPLEMENTATION,
    FLEET_TOKEN_URL,
    authorizations,
    fleet_token,
    setup_fleet_credentials,
)

T0 = datetime(2025, 1, 15, 3, 0, tzinfo=UTC)  # an interval boundary


def amber_client(hass: HomeAssistant, base_url: str = AMBER_URL) -> AmberClient:
    """Amber client on Home Assistant's (mocked) shared session."""
    return AmberClient(async_get_clientsession(hass), AMBER_TOKEN, base_url=base_url)


def tesla_client(
    hass: HomeAssistant, base_url: str = TESLEMETRY_URL, **kwargs: Any
) -> TeslaEnergyClient:
    """Tesla client with a fixed token on Home Assistant's (mocked) shared session."""

    async def token() -> str:
        return TESLEMETRY_TOKEN

    return TeslaEnergyClient(async_get_clientsession(hass), token, base_url=base_url, **kwargs)


async def current_prices(hass: HomeAssistant) -> tuple[list[PriceInterval], int]:
    """One /prices/current call the way the coordinator makes it."""
    return await amber_client(hass).current_prices(
        AMBER_SITE_ID, previous=12, next_intervals=96, resolution=5
    )


def dns_failure() -> BaseException:
    """What aiohttp raises when the host name does not resolve."""
    os_error = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    dns_error = getattr(aiohttp, "ClientConnectorDNSError", None)
    if dns_error is not None:
        return dns_error(Mock(), os_error)
    return aiohttp.ClientConnectorError(Mock(), os_error)


# --- status codes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthError),
        (403, AuthError),
        (402, PaymentRequiredError),
        (408, ApiConnectionError),
        (500, ApiConnectionError),
        (502, ApiConnectionError),
        (503, ApiConnectionError),
        (540, ApiConnectionError),
        (404, BadResponseError),
        (422, BadResponseError),
        (400, BadResponseError),
        (429, RateLimitedError),
    ],
)
async def test_tesla_status_mapping(
    hass: HomeAssistant, tesla: FakeTesla, status: int, error: type[ApiError]
) -> None:
    """Each HTTP status becomes the exception its handling depends on."""
    tesla.fail("products", status=status, body={"response": None, "error": "x"}, times=-1)
    with pytest.raises(ApiError) as info:
        await tesla_client(hass).products()
    assert type(info.value) is error
    assert info.value.status == status
    assert f"HTTP {status}" in str(info.value)


@pytest.mark.parametrize(("status", "missing"), [(401, False), (403, True)])
async def test_auth_errors_tell_missing_scopes_apart(
    hass: HomeAssistant, tesla: FakeTesla, status: int, missing: bool
) -> None:
    """401 is a bad token (reauth); 403 is a token without the energy scopes."""
    tesla.fail("products", status=status, body={"response": None})
    with pytest.raises(AuthError) as info:
        await tesla_client(hass).products()
    assert info.value.missing_scopes is missing


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthError),
        (400, BadResponseError),
        (404, BadResponseError),
        (422, BadResponseError),
        (429, RateLimitedError),
        (500, ApiConnectionError),
    ],
)
async def test_amber_status_mapping(
    hass: HomeAssistant, amber: FakeAmber, status: int, error: type[ApiError]
) -> None:
    """Amber's statuses map the same way."""
    amber.fail("sites", status=status, body={"message": "nope"}, times=-1)
    with pytest.raises(ApiError) as info:
        await amber_client(hass).sites()
    assert type(info.value) is error
    assert "nope" in str(info.value)


# --- retries ----------------------------------------------------------------------------------


async def test_reads_survive_two_connection_failures(hass: HomeAssistant, tesla: FakeTesla) -> None:
    """A GET is retried: two failures then success gives the data."""
    tesla.fail("products", status=503, times=2)
    sites = await tesla_client(hass).products()
    assert [s.energy_site_id for s in sites] == [ENERGY_SITE_ID]
    assert len(tesla.calls_to("/api/1/products")) == 3


async def test_reads_give_up_after_three_failures(hass: HomeAssistant, amber: FakeAmber) -> None:
    """Three failures in a row raise; no fourth attempt."""
    amber.fail("sites", status=502, times=3)
    with pytest.raises(ApiConnectionError):
        await amber_client(hass).sites()
    assert len(amber.calls_to("/sites")) == 3


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 401}, id="auth"),
        pytest.param({"status": 429, "headers": {"Retry-After": "5"}}, id="rate-limited"),
        pytest.param({"status": 404}, id="bad-request"),
        pytest.param({"status": 200, "text": "<html>maintenance</html>"}, id="not-json"),
    ],
)
async def test_only_connection_failures_are_retried(
    hass: HomeAssistant, amber: FakeAmber, fault: dict[str, Any]
) -> None:
    """Retrying a refused key or a throttle would only make it worse."""
    amber.fail("sites", times=-1, **fault)
    with pytest.raises(ApiError):
        await amber_client(hass).sites()
    assert len(amber.calls_to("/sites")) == 1


@pytest.mark.parametrize(
    ("call", "op"),
    [
        (lambda c: c.set_operation_mode(ENERGY_SITE_ID, "self_consumption"), "operation"),
        (lambda c: c.set_backup_reserve(ENERGY_SITE_ID, 30), "backup"),
        (
            lambda c: c.set_grid_import_export(ENERGY_SITE_ID, export_rule="pv_only"),
            "grid_import_export",
        ),
        (lambda c: c.set_storm_mode(ENERGY_SITE_ID, True), "storm_mode"),
    ],
)
@pytest.mark.parametrize(
    "fault", [{"status": 503}, {"exc": TimeoutError()}], ids=["503", "timeout"]
)
async def test_commands_are_not_retried(
    hass: HomeAssistant, tesla: FakeTesla, call: Any, op: str, fault: dict[str, Any]
) -> None:
    """A command that may have reached the Powerwall is sent once only."""
    tesla.fail(op, times=-1, **fault)
    with pytest.raises(ApiConnectionError):
        await call(tesla_client(hass))
    assert len(tesla.calls_to(f"/{op}")) == 1


async def test_tariff_write_is_retried(hass: HomeAssistant, tesla: FakeTesla) -> None:
    """Writing the same plan again is harmless: connection failures are retried."""
    tesla.fail("time_of_use_settings", status=502, times=2)
    tariff = user_tariff()
    await tesla_client(hass).set_tariff(ENERGY_SITE_ID, tariff)
    assert tesla.tariff_writes == [tariff, tariff, tariff]
    info = await tesla_client(hass).site_info(ENERGY_SITE_ID)
    assert info.tariff == tariff


async def test_tariff_write_gives_up_after_three_failures(
    hass: HomeAssistant, tesla: FakeTesla
) -> None:
    """Three failed writes raise."""
    tesla.fail("time_of_use_settings", exc=TimeoutError(), times=3)
    with pytest.raises(ApiConnectionError):
        await tesla_client(hass).set_tariff(ENERGY_SITE_ID, user_tariff())
    assert len(tesla.calls_to("/time_of_use_settings")) == 3


# --- commands ---------------------------------------------------------------------------------


async def test_commands_send_the_documented_bodies(hass: HomeAssistant, tesla: FakeTesla) -> None:
    """Each command sends Tesla's body; the change shows up in site_info."""
    client = tesla_client(hass)
    await client.set_operation_mode(ENERGY_SITE_ID, "self_consumption")
    await client.set_backup_reserve(ENERGY_SITE_ID, 35)
    await client.set_grid_import_export(
        ENERGY_SITE_ID, export_rule="never", disallow_charge_from_grid=True
    )
    await client.set_grid_import_export(ENERGY_SITE_ID, disallow_charge_from_grid=False)
    await client.set_storm_mode(ENERGY_SITE_ID, True)
    await client.set_tariff(ENERGY_SITE_ID, {"name": "plan"})
    assert [(c.path.rsplit("/", 1)[1], c.body) for c in tesla.calls] == [
        ("operation", {"default_real_mode": "self_consumption"}),
        ("backup", {"backup_reserve_percent": 35}),
        (
            "grid_import_export",
            {
                "customer_preferred_export_rule": "never",
                "disallow_charge_from_grid_with_solar_installed": True,
            },
        ),
        ("grid_import_export", {"disallow_charge_from_grid_with_solar_installed": False}),
        ("storm_mode", {"enabled": True}),
        ("time_of_use_settings", {"tou_settings": {"tariff_content_v2": {"name": "plan"}}}),
    ]
    info = await client.site_info(ENERGY_SITE_ID)
    assert info.default_real_mode == "self_consumption"
    assert info.backup_reserve_percent == 35
    assert info.export_rule == "never"
    assert info.disallow_charge_from_grid_with_solar_installed is False
    assert info.storm_mode_enabled is True
    assert info.tariff == {"name": "plan"}


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.set_operation_mode(ENERGY_SITE_ID, "eco"),
        lambda c: c.set_backup_reserve(ENERGY_SITE_ID, 101),
        lambda c: c.set_backup_reserve(ENERGY_SITE_ID, -1),
        lambda c: c.set_grid_import_export(ENERGY_SITE_ID, export_rule="sometimes"),
        lambda c: c.set_grid_import_export(ENERGY_SITE_ID),
    ],
    ids=["mode", "reserve-high", "reserve-low", "export-rule", "nothing"],
)
async def test_invalid_commands_are_not_sent(
    hass: HomeAssistant, tesla: FakeTesla, call: Any
) -> None:
    """Values Tesla does not know are refused before anything is sent."""
    with pytest.raises(ValueError):  # noqa: PT011
        await call(tesla_client(hass))
    assert tesla.calls == []


# --- wrong region (421) -----------------------------------------------------------------------


async def test_teslemetry_wrong_region_is_an_error(hass: HomeAssistant, tesla: FakeTesla) -> None:
    """Teslemetry handles regions itself: a 421 is reported, not followed."""
    tesla.fail("products", status=421, body={"response": None, "error": "wrong region"})
    with pytest.raises(RegionError):
        await tesla_client(hass).products()
    assert [c.path for c in tesla.calls] == ["/api/1/products"]


async def test_fleet_follows_the_account_region(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """Fleet: a 421 asks Tesla for the region, moves there, retries, and reports the move."""
    na = FakeTesla(FLEET_NA_URL)
    na.region = {"region": "eu", "fleet_api_base_url": FLEET_EU_URL + "/"}
    na.fail("products", status=421, body={"response": None, "error": "user out of region"})
    na.register(aioclient_mock)
    eu = FakeTesla(FLEET_EU_URL)
    eu.products = [product_json(42, "Ferienhaus")]
    eu.register(aioclient_mock)
    moves: list[tuple[str, str]] = []

    client = tesla_client(
        hass,
        FLEET_NA_URL,
        follow_region=True,
        on_region_change=lambda region, url: moves.append((region, url)),
    )
    sites = await client.products()
    assert [(s.energy_site_id, s.site_name) for s in sites] == [(42, "Ferienhaus")]
    assert client.base_url == FLEET_EU_URL
    assert moves == [("eu", FLEET_EU_URL)]
    assert [c.path for c in na.calls] == ["/api/1/products", "/api/1/users/region"]
    assert [c.path for c in eu.calls] == ["/api/1/products"]
    # Later calls go straight to the new region.
    await client.live_status(42)
    assert [c.path for c in eu.calls][-1] == "/api/1/energy_sites/42/live_status"
    assert len(na.calls) == 2


async def test_fleet_follows_the_region_without_a_listener(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """Moving region works without anyone listening for it."""
    na = FakeTesla(FLEET_NA_URL)
    na.region = {"region": "eu", "fleet_api_base_url": FLEET_EU_URL}
    na.fail("site_info", status=421)
    na.register(aioclient_mock)
    eu = FakeTesla(FLEET_EU_URL)
    eu.register(aioclient_mock)
    client = tesla_client(hass, FLEET_NA_URL, follow_region=True)
    info = await client.site_info(ENERGY_SITE_ID)
    assert info.installation_time_zone == "Australia/Sydney"
    assert client.base_url == FLEET_EU_URL


async def test_fleet_wrong_region_twice_is_an_error(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """If the region Tesla names also answers 421, the error is raised (no loop)."""
    na = FakeTesla(FLEET_NA_URL)
    na.fail("products", status=421, times=-1)
    na.register(aioclient_mock)
    with pytest.raises(RegionError):
        await tesla_client(hass, FLEET_NA_URL, follow_region=True).products()
    assert [c.path for c in na.calls] == [
        "/api/1/products",
        "/api/1/users/region",
        "/api/1/products",
    ]


@pytest.mark.parametrize(
    "region",
    [
        {"region": "eu"},
        {"fleet_api_base_url": FLEET_EU_URL},
        {"region": "eu", "fleet_api_base_url": "ftp://fleet.example"},
        {"region": "", "fleet_api_base_url": FLEET_EU_URL},
    ],
)
async def test_unusable_region_answer(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, region: dict[str, Any]
) -> None:
    """A region reply without a region or an http(s) address is a bad response."""
    na = FakeTesla(FLEET_NA_URL)
    na.region = region
    na.register(aioclient_mock)
    with pytest.raises(BadResponseError):
        await tesla_client(hass, FLEET_NA_URL).region()


# --- 429: how long to wait ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"Retry-After": "30"}, 30.0, id="seconds"),
        pytest.param({"Retry-After": " 7.5 "}, 7.5, id="fraction"),
        pytest.param({"Retry-After": "Wed, 15 Jan 2025 03:04:30 GMT"}, 120.0, id="http-date"),
        pytest.param({"Retry-After": "Wednesday, 15-Jan-25 03:04:30 GMT"}, 120.0, id="rfc850-date"),
        pytest.param({"Retry-After": "Wed, 15 Jan 2025 03:00:00 GMT"}, 0.0, id="date-in-past"),
        pytest.param({"RateLimit-Reset": "45"}, 45.0, id="ratelimit-reset"),
        pytest.param(
            {"X-RateLimit-Reset": str(int(START.timestamp()) + 90)}, 90.0, id="epoch-reset"
        ),
        pytest.param({"Retry-After": "soon", "RateLimit-Reset": "12"}, 12.0, id="garbage-first"),
        pytest.param({"Retry-After": "-5"}, 0.0, id="negative"),
        pytest.param({"Retry-After": str(10 * 24 * 3600)}, 24 * 3600.0, id="capped-at-a-day"),
        pytest.param({}, None, id="absent"),
    ],
)
async def test_rate_limited_retry_after(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    tesla: FakeTesla,
    headers: dict[str, str],
    expected: float | None,
) -> None:
    """`retry_after` comes from Retry-After (seconds or date), else RateLimit-Reset, else None."""
    tesla.fail("products", status=429, body={"response": None}, headers=headers)
    with pytest.raises(RateLimitedError) as info:
        await tesla_client(hass).products()
    assert info.value.retry_after == expected


async def test_amber_throttle_message(hass: HomeAssistant, amber: FakeAmber) -> None:
    """Amber's 429 body and reset header."""
    amber.fail(
        "prices",
        status=429,
        body={"message": "Too Many Requests"},
        headers={"RateLimit-Reset": "280", "RateLimit-Remaining": "0"},
    )
    with pytest.raises(RateLimitedError) as info:
        await current_prices(hass)
    assert info.value.retry_after == 280.0
    assert "Too Many Requests" in str(info.value)


async def test_rate_limit_header_names_are_case_insensitive(
    hass: HomeAssistant, tesla: FakeTesla
) -> None:
    """HTTP header names are case-insensitive (proxies often send them in lower case)."""
    tesla.fail("products", status=429, headers={"retry-after": "30"})
    with pytest.raises(RateLimitedError) as info:
        await tesla_client(hass).products()
    assert info.value.retry_after == 30.0


async def test_retry_after_in_asctime_format(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, tesla: FakeTesla
) -> None:
    """HTTP recipients must accept all three date formats, including asctime."""
    tesla.fail("products", status=429, headers={"Retry-After": "Wed Jan 15 03:04:30 2025"})
    with pytest.raises(RateLimitedError) as info:
        await tesla_client(hass).products()
    assert info.value.retry_after == 120.0


# --- connection failures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(TimeoutError(), id="timeout"),
        pytest.param(connection_refused(), id="refused"),
        pytest.param(dns_failure(), id="dns"),
        pytest.param(aiohttp.ServerDisconnectedError(), id="disconnected"),
    ],
)
async def test_network_failures_are_connection_errors(
    hass: HomeAssistant, amber: FakeAmber, tesla: FakeTesla, exc: BaseException
) -> None:
    """Timeouts, refused connections and DNS failures: the service is unreachable (retried)."""
    amber.fail("sites", exc=exc, times=-1)
    tesla.fail("live_status", exc=exc, times=-1)
    with pytest.raises(ApiConnectionError) as amber_error:
        await amber_client(hass).sites()
    with pytest.raises(ApiConnectionError):
        await tesla_client(hass).live_status(ENERGY_SITE_ID)
    assert len(amber.calls_to("/sites")) == 3
    assert len(tesla.calls_to("/live_status")) == 3
    assert "Amber sites" in str(amber_error.value)


# --- bodies that are not what was promised ----------------------------------------------------


@pytest.mark.parametrize(
    ("op", "fault"),
    [
        ("sites", {"status": 200, "text": "<html><body>Gateway</body></html>"}),
        ("sites", {"status": 200, "text": '[{"id": "01J0000'}),
        ("sites", {"status": 200, "text": ""}),
        ("sites", {"status": 200, "body": {"sites": []}}),
        ("prices", {"status": 200, "body": {"intervals": []}}),
        ("prices", {"status": 200, "text": "<!DOCTYPE html>"}),
    ],
    ids=["html", "truncated", "empty", "dict-not-list", "prices-dict", "prices-html"],
)
async def test_amber_unusable_bodies(
    hass: HomeAssistant, amber: FakeAmber, op: str, fault: dict[str, Any]
) -> None:
    """HTML, truncated JSON or the wrong JSON shape is a bad response (not retried)."""
    amber.fail(op, times=-1, **fault)
    client = amber_client(hass)
    call = (
        client.sites()
        if op == "sites"
        else client.current_prices(AMBER_SITE_ID, previous=0, next_intervals=1, resolution=5)
    )
    with pytest.raises(BadResponseError):
        await call
    assert len(amber.calls) == 1


@pytest.mark.parametrize(
    ("op", "fault"),
    [
        ("products", {"status": 200, "text": "<html>Bad gateway</html>"}),
        ("products", {"status": 200, "text": '{"response": [{"energy_site_id": 1'}),
        ("products", {"status": 200, "body": {"count": 0}}),
        ("products", {"status": 200, "body": [product_json()]}),
        ("products", {"status": 200, "body": {"response": {"energy_site_id": 1}}}),
        ("live_status", {"status": 200, "body": {"response": [1, 2]}}),
        ("site_info", {"status": 200, "body": {"response": None}}),
        ("calendar_history", {"status": 200, "body": {"response": "none"}}),
        ("region", {"status": 200, "body": {"response": ["na"]}}),
    ],
    ids=[
        "html",
        "truncated",
        "no-response",
        "list-not-envelope",
        "products-not-list",
        "live-not-object",
        "info-null",
        "history-string",
        "region-list",
    ],
)
async def test_tesla_unusable_bodies(
    hass: HomeAssistant, tesla: FakeTesla, op: str, fault: dict[str, Any]
) -> None:
    """A reply outside Tesla's envelope, or of the wrong shape, is a bad response."""
    tesla.fail(op, times=-1, **fault)
    client = tesla_client(hass)
    calls = {
        "products": client.products,
        "live_status": lambda: client.live_status(ENERGY_SITE_ID),
        "site_info": lambda: client.site_info(ENERGY_SITE_ID),
        "calendar_history": lambda: client.calendar_history(
            ENERGY_SITE_ID, start=date(2025, 1, 1), end=date(2025, 1, 2), time_zone="UTC"
        ),
        "region": client.region,
    }
    with pytest.raises(BadResponseError):
        await calls[op]()


async def test_error_page_on_server_error_is_a_connection_error(
    hass: HomeAssistant, tesla: FakeTesla
) -> None:
    """An HTML error page with a 5xx status is the service failing, not a bad response."""
    tesla.fail("products", status=502, text="<html>Bad gateway</html>", times=-1)
    with pytest.raises(ApiConnectionError):
        await tesla_client(hass).products()


# --- secrets never leak -----------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 421, 429, 500])
async def test_echoed_token_never_reaches_messages_or_logs(
    hass: HomeAssistant,
    amber: FakeAmber,
    tesla: FakeTesla,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    """Servers that echo the token in `error`/`message` do not get it into our errors or logs."""
    caplog.set_level(logging.DEBUG)
    tesla.fail(
        "products",
        status=status,
        times=-1,
        body={
            "response": None,
            "error": f"invalid bearer token {TESLEMETRY_TOKEN}",
            "error_description": f"Authorization: Bearer {TESLEMETRY_TOKEN}",
        },
    )
    amber.fail("sites", status=status, times=-1, body={"message": f"bad key {AMBER_TOKEN}"})
    with pytest.raises(ApiError) as tesla_error:
        await tesla_client(hass).products()
    with pytest.raises(ApiError) as amber_error:
        await amber_client(hass).sites()
    for err, token in ((tesla_error.value, TESLEMETRY_TOKEN), (amber_error.value, AMBER_TOKEN)):
        assert token not in str(err)
        assert token not in repr(err)
        assert "***" in str(err)  # the rest of the vendor's text is kept
    assert TESLEMETRY_TOKEN not in caplog.text
    assert AMBER_TOKEN not in caplog.text


async def test_long_vendor_text_is_trimmed(hass: HomeAssistant, tesla: FakeTesla) -> None:
    """A vendor error text is cut to a readable length."""
    tesla.fail("products", status=400, body={"response": None, "error": "x" * 5000})
    with pytest.raises(BadResponseError) as info:
        await tesla_client(hass).products()
    assert len(str(info.value)) < 300


# --- Amber parsing ------------------------------------------------------------------------------


def interval(
    amber: FakeAmber,
    start: datetime,
    *,
    channel: str = "general",
    length: int = 5,
    kind: str = "ForecastInterval",
    **changes: Any,
) -> dict[str, Any]:
    """An interval as Amber sends it, with some fields changed (None removes a field)."""
    body = amber.interval_json(channel, start, length, kind)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def serve(amber: FakeAmber, intervals: list[dict[str, Any]], **kwargs: Any) -> None:
    """The next prices call answers exactly these intervals."""
    amber.fail("prices", status=200, body=intervals, **kwargs)


async def test_prices_are_parsed(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, amber: FakeAmber
) -> None:
    """A normal response: every field read, grouped by channel, buckets end - duration."""
    intervals, dropped = await current_prices(hass)
    assert dropped == 0
    call = amber.calls_to("/prices/current")[0]
    assert call.query == {"previous": "12", "next": "96", "resolution": "5"}
    assert {i.channel for i in intervals} == {"general", "feedIn"}
    general = [i for i in intervals if i.channel == "general"]
    assert general == sorted(general, key=lambda i: i.start)
    current = next(i for i in general if i.interval_type == "CurrentInterval")
    assert current.start == datetime(2025, 1, 15, 3, 0, tzinfo=UTC)
    assert current.end == datetime(2025, 1, 15, 3, 5, tzinfo=UTC)
    assert current.duration_minutes == 5
    assert current.per_kwh == 10.8  # 14:00 in Sydney (fakes.default_price)
    assert current.spot_per_kwh == pytest.approx(4.32)
    assert current.advanced_price == AdvancedPrice(low=9.8, predicted=10.8, high=12.8)
    assert current.descriptor == "neutral"
    assert current.spike_status == "none"
    assert current.renewables == 42.5
    assert current.estimate is False
    assert current.demand_window is False
    assert current.tariff_period == "peak"
    actual = general[0]
    assert actual.interval_type == "ActualInterval"
    assert actual.advanced_price is None
    # 5-minute intervals to the end of the hour, 30-minute ones after.
    assert {i.duration_minutes for i in general} == {5, 30}


@pytest.mark.parametrize(
    "bad",
    [None, "NaN", "12.5", True, {"value": 1}],
    ids=["null", "nan-text", "text", "bool", "obj"],
)
async def test_interval_without_numeric_price_is_dropped(
    hass: HomeAssistant, amber: FakeAmber, bad: Any
) -> None:
    """No usable price: that interval is dropped (never a made-up 0); the others are kept."""
    broken = interval(amber, T0 + timedelta(minutes=5))
    broken["perKwh"] = bad
    serve(amber, [interval(amber, T0), broken, interval(amber, T0 + timedelta(minutes=10))])
    intervals, dropped = await current_prices(hass)
    assert dropped == 1
    assert [i.start for i in intervals] == [T0, T0 + timedelta(minutes=10)]
    assert all(i.per_kwh != 0 for i in intervals)


async def test_price_missing_entirely_is_dropped(hass: HomeAssistant, amber: FakeAmber) -> None:
    """An interval without perKwh at all is dropped too."""
    serve(amber, [interval(amber, T0, perKwh=None), interval(amber, T0 + timedelta(minutes=5))])
    intervals, dropped = await current_prices(hass)
    assert dropped == 1
    assert len(intervals) == 1


async def test_unknown_enum_values_are_kept_as_text(hass: HomeAssistant, amber: FakeAmber) -> None:
    """New descriptors, spike statuses, channels or interval types do not break parsing."""
    serve(
        amber,
        [
            interval(
                amber,
                T0,
                channel="solarBonus",
                descriptor="ultraLow",
                spikeStatus="extreme",
                type="PredictedInterval",
            ),
            interval(amber, T0, descriptor="", spikeStatus=""),
            interval(amber, T0 + timedelta(minutes=5), descriptor=None, spikeStatus=None),
        ],
    )
    intervals, dropped = await current_prices(hass)
    assert dropped == 0
    odd = next(i for i in intervals if i.channel == "solarBonus")
    assert (odd.descriptor, odd.spike_status, odd.interval_type) == (
        "ultraLow",
        "extreme",
        "PredictedInterval",
    )
    plain = [i for i in intervals if i.channel == "general"]
    assert [(i.descriptor, i.spike_status) for i in plain] == [(None, "none"), (None, "none")]


async def test_interval_without_channel_is_dropped(hass: HomeAssistant, amber: FakeAmber) -> None:
    """Without a channel an interval cannot be placed (intervals are grouped by channel)."""
    serve(amber, [interval(amber, T0, channelType=None), interval(amber, T0, channel="feedIn")])
    intervals, dropped = await current_prices(hass)
    assert dropped == 1
    assert [i.channel for i in intervals] == ["feedIn"]


@pytest.mark.parametrize("actual_first", [True, False])
async def test_duplicates_are_merged_and_order_restored(
    hass: HomeAssistant, amber: FakeAmber, actual_first: bool
) -> None:
    """The same span twice keeps the settled (Actual) one; the result is in time order."""
    actual = interval(amber, T0, kind="ActualInterval", perKwh=11.0)
    forecast = interval(amber, T0, kind="ForecastInterval", perKwh=99.0)
    pair = [actual, forecast] if actual_first else [forecast, actual]
    serve(
        amber,
        [
            interval(amber, T0 + timedelta(minutes=10), perKwh=13.0),
            interval(amber, T0, channel="feedIn", perKwh=-5.0),
            *pair,
            interval(amber, T0 + timedelta(minutes=5), kind="CurrentInterval", perKwh=12.0),
            interval(amber, T0 + timedelta(minutes=10), perKwh=13.0),
        ],
    )
    intervals, dropped = await current_prices(hass)
    assert dropped == 0
    assert [(i.channel, i.start, i.per_kwh) for i in intervals] == [
        ("feedIn", T0, -5.0),
        ("general", T0, 11.0),
        ("general", T0 + timedelta(minutes=5), 12.0),
        ("general", T0 + timedelta(minutes=10), 13.0),
    ]


async def test_current_wins_over_forecast_for_the_same_span(
    hass: HomeAssistant, amber: FakeAmber
) -> None:
    """Current is more settled than Forecast."""
    serve(
        amber,
        [
            interval(amber, T0, kind="CurrentInterval", perKwh=10.0),
            interval(amber, T0, kind="ForecastInterval", perKwh=50.0),
        ],
    )
    intervals, _ = await current_prices(hass)
    assert [(i.interval_type, i.per_kwh) for i in intervals] == [("CurrentInterval", 10.0)]


@pytest.mark.parametrize(
    ("advanced", "expected"),
    [
        pytest.param(None, None, id="missing"),
        pytest.param("null", None, id="null"),
        pytest.param({"low": 1, "predicted": None, "high": 3}, None, id="partial"),
        pytest.param({"low": 1, "predicted": "2", "high": 3}, None, id="text"),
        pytest.param({"low": 1, "predicted": 2, "high": 3.5}, AdvancedPrice(1, 2, 3.5), id="ok"),
    ],
)
async def test_advanced_price(
    hass: HomeAssistant, amber: FakeAmber, advanced: Any, expected: AdvancedPrice | None
) -> None:
    """Amber's own forecast is used only when all three numbers are there."""
    body = interval(amber, T0, advancedPrice=None)
    if advanced == "null":
        body["advancedPrice"] = None
    elif advanced is not None:
        body["advancedPrice"] = advanced
    serve(amber, [body])
    intervals, dropped = await current_prices(hass)
    assert dropped == 0
    assert intervals[0].advanced_price == expected


@pytest.mark.parametrize(
    ("price", "kept"),
    [
        (2233.0, True),  # a market-cap spike is real data
        (5000.0, True),
        (-110.0, True),
        (5000.5, False),
        (-5001.0, False),
        (1e9, False),
    ],
)
async def test_absurd_prices_are_dropped(
    hass: HomeAssistant, amber: FakeAmber, price: float, kept: bool
) -> None:
    """Beyond ±5000 c/kWh a value is broken data, not a price."""
    serve(amber, [interval(amber, T0, perKwh=price), interval(amber, T0 + timedelta(minutes=5))])
    intervals, dropped = await current_prices(hass)
    assert (intervals[0].per_kwh == price) is kept
    assert dropped == (0 if kept else 1)


@pytest.mark.parametrize(
    ("length", "duration"),
    [(5, None), (30, None), (30, 7), (5, "5"), (30, True)],
    ids=["5-missing", "30-missing", "30-odd-value", "5-text", "30-bool"],
)
async def test_duration_derived_from_start_and_end(
    hass: HomeAssistant, amber: FakeAmber, length: int, duration: Any
) -> None:
    """Without a usable duration the span comes from startTime (1 s late) to endTime."""
    body = interval(amber, T0, length=length, duration=None)
    if duration is not None:
        body["duration"] = duration
    serve(amber, [body])
    intervals, dropped = await current_prices(hass)
    assert dropped == 0
    assert intervals[0].start == T0
    assert intervals[0].end == T0 + timedelta(minutes=length)


@pytest.mark.parametrize(
    "changes",
    [
        {"duration": None, "startTime": None},
        {"duration": None, "startTime": "2025-01-15T02:55:01Z"},  # 10 min: no such interval
        {"duration": None, "startTime": "2025-01-15T02:45:01Z"},  # 20 min: no such interval
        {"endTime": None},
        {"endTime": "tomorrow"},
        {"endTime": "2025-01-15T03:05:00"},  # no offset: ambiguous
        {"endTime": 1736910300},
    ],
)
async def test_interval_without_usable_times_is_dropped(
    hass: HomeAssistant, amber: FakeAmber, changes: dict[str, Any]
) -> None:
    """Without a time span an interval cannot be placed."""
    body = interval(amber, T0)
    for key, value in changes.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    serve(amber, [body, "not an interval", interval(amber, T0 + timedelta(minutes=5))])
    intervals, dropped = await current_prices(hass)
    assert dropped == 2
    assert [i.start for i in intervals] == [T0 + timedelta(minutes=5)]


async def test_fifteen_minute_interval_is_derived(hass: HomeAssistant, amber: FakeAmber) -> None:
    """15-minute intervals exist and are derived like the others."""
    serve(amber, [interval(amber, T0, length=15, duration=None)])
    intervals, _ = await current_prices(hass)
    assert intervals[0].duration_minutes == 15


async def test_odd_fields_do_not_break_an_interval(hass: HomeAssistant, amber: FakeAmber) -> None:
    """Optional fields of the wrong type are left out; the price is kept."""
    serve(
        amber,
        [
            interval(
                amber,
                T0,
                spotPerKwh="n/a",
                renewables="high",
                tariffInformation={"demandWindow": "yes", "period": 3},
                estimate="true",
            ),
            interval(amber, T0 + timedelta(minutes=5), tariffInformation="peak"),
        ],
    )
    intervals, dropped = await current_prices(hass)
    assert dropped == 0
    first, second = intervals
    assert (first.spot_per_kwh, first.renewables, first.demand_window) == (None, None, None)
    assert (first.tariff_period, first.estimate) == (None, False)
    assert (second.demand_window, second.tariff_period) == (None, None)


async def test_rate_limit_headers_are_read(hass: HomeAssistant, amber: FakeAmber) -> None:
    """Amber's advertised rate-limit state is kept on the client after each call."""
    client = amber_client(hass)
    assert client.rate_limit == RateLimit()
    await client.sites()
    assert client.rate_limit == RateLimit(
        limit=50, remaining=45, reset_seconds=120.0, policy="50;w=300"
    )
    amber.rate_limit_remaining = 44
    await client.current_prices(AMBER_SITE_ID, previous=0, next_intervals=1, resolution=5)
    assert client.rate_limit.remaining == 44


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, RateLimit()),
        (
            {"RateLimit-Limit": "50;w=300", "RateLimit-Remaining": "abc", "RateLimit-Reset": "nan"},
            RateLimit(limit=50),
        ),
        (
            {"RateLimit-Limit": "50", "RateLimit-Remaining": "0", "RateLimit-Reset": "299.5"},
            RateLimit(limit=50, remaining=0, reset_seconds=299.5),
        ),
    ],
    ids=["absent", "garbage", "exhausted"],
)
async def test_rate_limit_headers_tolerated(
    hass: HomeAssistant, amber: FakeAmber, headers: dict[str, str], expected: RateLimit
) -> None:
    """Missing or malformed rate-limit headers give None fields, never an error."""
    amber.fail("sites", status=200, body=[site_json()], headers=headers)
    client = amber_client(hass)
    await client.sites()
    assert client.rate_limit == expected


async def test_amber_rate_limit_header_names_are_case_insensitive(
    hass: HomeAssistant, amber: FakeAmber
) -> None:
    """`ratelimit-remaining` is the same header as `RateLimit-Remaining`."""
    amber.fail("sites", status=200, body=[site_json()], headers={"ratelimit-remaining": "3"})
    client = amber_client(hass)
    await client.sites()
    assert client.rate_limit.remaining == 3


async def test_sites_are_parsed_tolerantly(hass: HomeAssistant, amber: FakeAmber) -> None:
    """Sites without an id are skipped; odd fields get safe values."""
    odd = {
        "id": "01J00000000000000000000ODD",
        "nmi": None,
        "network": 7,
        "status": None,
        "intervalLength": 15,
        "channels": [{"identifier": "E1", "type": "general", "tariff": 5}, "junk"],
        "activeFrom": "soon",
    }
    undated = {**site_json("01J0000000000000000UNDATED"), "activeFrom": 20240101}
    amber.sites = [site_json(controlled_load=True), {"nmi": "1"}, {"id": ""}, "junk", odd, undated]
    sites = await amber_client(hass).sites()
    assert [s.id for s in sites] == [
        AMBER_SITE_ID,
        "01J00000000000000000000ODD",
        "01J0000000000000000UNDATED",
    ]
    normal, weird, no_date = sites
    assert no_date.active_from is None
    assert normal.nmi == "4102123456"
    assert normal.network == "Ausgrid"
    assert normal.is_active
    assert normal.interval_length == 5
    assert normal.active_from == date(2024, 1, 1)
    assert [c.type for c in normal.channels] == ["general", "feedIn", "controlledLoad"]
    assert normal.channels[0].tariff == "EA116"
    assert (weird.nmi, weird.network, weird.status, weird.is_active) == ("", None, "unknown", False)
    assert weird.interval_length == 30
    assert weird.active_from is None
    assert [(c.type, c.tariff) for c in weird.channels] == [("general", None)]


# --- Tesla parsing --------------------------------------------------------------------------------


async def test_live_status_is_parsed(hass: HomeAssistant, tesla: FakeTesla) -> None:
    """Watts and charge level as numbers; the timestamp in UTC."""
    live = await tesla_client(hass).live_status(ENERGY_SITE_ID)
    assert live.solar_power == 4210.0
    assert live.battery_power == -1500.0
    assert live.grid_power == -1460.0
    assert live.load_power == 1250.0
    assert live.generator_power == 0.0
    assert live.percentage_charged == 66.67
    assert live.energy_left == 9000.5
    assert live.total_pack_energy == 13500.0
    assert live.grid_status == "Active"
    assert live.island_status == "on_grid"
    assert live.storm_mode_active is False
    assert live.timestamp == datetime(2025, 1, 15, 3, 0, tzinfo=UTC)


async def test_live_status_with_odd_values_gives_none(
    hass: HomeAssistant, tesla: FakeTesla
) -> None:
    """Strings, nulls and booleans where numbers belong mean 'not reported', never 0."""
    tesla.live = {
        "solar_power": "4210",
        "battery_power": None,
        "grid_power": True,
        "load_power": {"value": 1},
        "percentage_charged": "NaN",
        "grid_status": 1,
        "island_status": "",
        "storm_mode_active": "false",
        "timestamp": "yesterday",
    }
    live = await tesla_client(hass).live_status(ENERGY_SITE_ID)
    assert live.solar_power is None
    assert live.battery_power is None
    assert live.grid_power is None
    assert live.load_power is None
    assert live.generator_power is None
    assert live.percentage_charged is None
    assert live.energy_left is None
    assert live.grid_status is None
    assert live.island_status is None
    assert live.storm_mode_active is None
    assert live.timestamp is None


async def test_site_info_is_parsed(hass: HomeAssistant, tesla: FakeTesla) -> None:
    """Time zone, mode, reserve, rules and the plan the Powerwall holds."""
    info = await tesla_client(hass).site_info(ENERGY_SITE_ID)
    assert info.installation_time_zone == "Australia/Sydney"
    assert info.default_real_mode == "autonomous"
    assert info.backup_reserve_percent == 20
    assert info.export_rule == "battery_ok"
    assert info.disallow_charge_from_grid_with_solar_installed is False
    assert info.optimization_strategy == "economics"
    assert info.tariff == user_tariff()
    assert info.site_name == "Home Powerwall"
    assert info.nameplate_power == 5000
    assert info.nameplate_energy == 13500
    assert info.storm_mode_enabled is False
    assert info.can_set_grid_rules
    assert info.can_set_storm_watch


async def test_site_info_empty_time_zone_is_none(hass: HomeAssistant, tesla: FakeTesla) -> None:
    """Tesla sometimes sends "" as the time zone: that is 'unknown', not a zone."""
    tesla.info["installation_time_zone"] = ""
    info = await tesla_client(hass).site_info(ENERGY_SITE_ID)
    assert info.installation_time_zone is None


async def test_site_info_with_odd_values(hass: HomeAssistant, tesla: FakeTesla) -> None:
    """Missing sections and wrong types give None; the plan may sit under tou_settings."""
    plan = {"name": "nested plan"}
    tesla.info = {
        "installation_time_zone": None,
        "components": "battery",
        "tou_settings": {"optimization_strategy": 5, "tariff_content_v2": plan},
        "tariff_content_v2": "none",
        "backup_reserve_percent": "20",
        "user_settings": None,
    }
    info = await tesla_client(hass).site_info(ENERGY_SITE_ID)
    assert info.installation_time_zone is None
    assert info.components == {}
    assert info.export_rule is None
    assert info.optimization_strategy is None
    assert info.tariff == plan
    assert info.backup_reserve_percent is None
    assert info.storm_mode_enabled is None
    assert not info.can_set_reserve_and_mode

    tesla.info = {"tou_settings": "x", "tariff_content_v2": ["not", "a", "plan"]}
    info = await tesla_client(hass).site_info(ENERGY_SITE_ID)
    assert info.tariff is None
    assert info.optimization_strategy is None


async def test_products_skip_vehicles_and_oddities(hass: HomeAssistant, tesla: FakeTesla) -> None:
    """Only entries with an integer energy_site_id are energy sites."""
    nameless = product_json(77, sell_above_buy=True)
    del nameless["site_name"]
    nameless["features"] = ["rate_plan_manager_no_pricing_constraint", "tou"]
    tesla.products = [
        {"id": 1, "vehicle_id": 2, "vin": "5YJ3E1EA7KF000000", "display_name": "Car"},
        {"energy_site_id": "123", "site_name": "text id"},
        {"energy_site_id": True, "site_name": "bool id"},
        "junk",
        product_json(sell_above_buy=True),
        nameless,
    ]
    sites = await tesla_client(hass).products()
    assert [(s.energy_site_id, s.site_name) for s in sites] == [
        (ENERGY_SITE_ID, "Home Powerwall"),
        (77, "Energy site 77"),
    ]
    first, second = sites
    assert first.allows_sell_above_buy
    assert first.resource_type == "battery"
    assert first.gateway_id == "1152100-00-E--TG0123456789AB"
    assert first.components["battery"] is True
    assert second.features == frozenset({"rate_plan_manager_no_pricing_constraint", "tou"})
    assert second.allows_sell_above_buy


async def test_products_feature_flags_off(hass: HomeAssistant, tesla: FakeTesla) -> None:
    """A feature set to false is not a feature."""
    tesla.products = [product_json(sell_above_buy=False)]
    (site,) = await tesla_client(hass).products()
    assert not site.allows_sell_above_buy


async def test_calendar_history(hass: HomeAssistant, tesla: FakeTesla) -> None:
    """Daily totals in Wh keyed by the local date; broken entries skipped."""
    tesla.history = [
        {
            "timestamp": "2025-01-13T00:00:00+11:00",
            "grid_energy_imported": 5120.5,
            "grid_energy_exported_from_solar": 3000,
            "total_home_usage": 14000,
            "solar_energy_exported": "n/a",
            "battery_energy_exported": None,
        },
        {"timestamp": "2025-01-14T00:00:00+11:00", "grid_energy_imported": 0},
        {"timestamp": "20250115T120000Z", "grid_energy_imported": 2},
        {"grid_energy_imported": 1},
        {"timestamp": "Jan 14", "grid_energy_imported": 1},
        {"timestamp": "Tuesday, 14 January 2025", "grid_energy_imported": 1},
        "junk",
    ]
    days = await tesla_client(hass).calendar_history(
        ENERGY_SITE_ID, start=date(2025, 1, 13), end=date(2025, 1, 14), time_zone="Australia/Sydney"
    )
    assert days == [
        EnergyHistoryDay(
            day=date(2025, 1, 13),
            totals={
                "grid_energy_imported": 5120.5,
                "grid_energy_exported_from_solar": 3000.0,
                "total_home_usage": 14000.0,
            },
        ),
        EnergyHistoryDay(day=date(2025, 1, 14), totals={"grid_energy_imported": 0.0}),
        EnergyHistoryDay(day=date(2025, 1, 15), totals={"grid_energy_imported": 2.0}),
    ]
    (call,) = tesla.calls_to("/calendar_history")
    assert call.query == {
        "kind": "energy",
        "period": "day",
        "start_date": "2025-01-13T00:00:00Z",
        "end_date": "2025-01-14T23:59:59Z",
        "time_zone": "Australia/Sydney",
    }


async def test_calendar_history_empty(hass: HomeAssistant, tesla: FakeTesla) -> None:
    """No time series: no days."""
    tesla.fail("calendar_history", status=200, body={"response": {"time_series": None}})
    days = await tesla_client(hass).calendar_history(
        ENERGY_SITE_ID, start=date(2025, 1, 13), end=date(2025, 1, 13), time_zone="UTC"
    )
    assert days == []


# --- building clients from an entry -----------------------------------------------------------


async def test_entry_clients_use_the_entry_tokens_and_addresses(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """Teslemetry and Amber clients come from the entry's data, overrides included."""
    amber_sim = FakeAmber("http://amber-sim.local:8080/v1")
    amber_sim.register(aioclient_mock)
    tesla_sim = FakeTesla("http://tesla-sim.local:8081")
    tesla_sim.register(aioclient_mock)
    entry = MockConfigEntry(
        domain=DOMAIN,
        data=entry_data(
            amber_base_url="http://amber-sim.local:8080/v1",
            tesla_base_url="http://tesla-sim.local:8081",
        ),
    )
    entry.add_to_hass(hass)
    await build_amber_client(hass, entry).sites()
    await (await build_tesla_client(hass, entry)).products()
    assert authorizations(aioclient_mock, "http://amber-sim.local") == [f"Bearer {AMBER_TOKEN}"]
    assert authorizations(aioclient_mock, "http://tesla-sim.local") == [
        f"Bearer {TESLEMETRY_TOKEN}"
    ]


def fleet_entry(hass: HomeAssistant, *, expires_in: float, **overrides: Any) -> MockConfigEntry:
    """A Tesla Fleet entry whose access token expires in `expires_in` seconds."""
    data = entry_data(
        tesla_provider="fleet",
        auth_implementation=AUTH_IMPLEMENTATION,
        tesla_region="na",
        token={
            **fleet_token("old-access", "old-refresh"),
            "expires_at": time.time() + expires_in,
        },
    )
    del data["teslemetry_api_token"]
    data.update(overrides)
    entry = MockConfigEntry(domain=DOMAIN, data=data, unique_id=str(ENERGY_SITE_ID))
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
def fleet(aioclient_mock: AiohttpClientMocker) -> FakeTesla:
    """Tesla Fleet API, North America / Asia-Pacific base."""
    fake = FakeTesla(FLEET_NA_URL)
    fake.register(aioclient_mock)
    return fake


async def test_fleet_valid_token_is_used_as_is(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, fleet: FakeTesla
) -> None:
    """A token that is still valid is not refreshed."""
    await setup_fleet_credentials(hass)
    entry = fleet_entry(hass, expires_in=3600)
    await (await build_tesla_client(hass, entry)).products()
    assert authorizations(aioclient_mock, FLEET_NA_URL) == ["Bearer old-access"]
    assert [c for c in aioclient_mock.mock_calls if str(c[1]) == FLEET_TOKEN_URL] == []


async def test_fleet_refresh_stores_the_new_single_use_refresh_token(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, fleet: FakeTesla
) -> None:
    """Tesla's refresh tokens work once: the new one must be in the entry after a refresh."""
    await setup_fleet_credentials(hass)
    entry = fleet_entry(hass, expires_in=-60)
    aioclient_mock.post(FLEET_TOKEN_URL, json=fleet_token("new-access", "new-refresh"))
    client = await build_tesla_client(hass, entry)
    await client.products()
    await client.site_info(ENERGY_SITE_ID)

    assert entry.data["token"]["access_token"] == "new-access"
    assert entry.data["token"]["refresh_token"] == "new-refresh"
    assert entry.data["token"]["expires_at"] > time.time() + 3000
    token_calls = [c for c in aioclient_mock.mock_calls if str(c[1]) == FLEET_TOKEN_URL]
    assert len(token_calls) == 1  # the second call used the fresh token
    assert token_calls[0][2]["grant_type"] == "refresh_token"
    assert token_calls[0][2]["refresh_token"] == "old-refresh"
    assert authorizations(aioclient_mock, FLEET_NA_URL) == ["Bearer new-access"] * 2


@pytest.mark.parametrize(
    ("response", "error"),
    [
        ({"status": 400, "json": {"error": "invalid_grant"}}, AuthError),
        ({"status": 401, "json": {"error": "invalid_client"}}, AuthError),
        ({"status": 500}, ApiConnectionError),
        ({"status": 503, "text": "<html>down</html>"}, ApiConnectionError),
        ({"exc": TimeoutError()}, ApiConnectionError),
        ({"exc": aiohttp.ClientConnectionError()}, ApiConnectionError),
    ],
    ids=["400", "401", "500", "503", "timeout", "connection"],
)
async def test_fleet_refresh_failures(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    fleet: FakeTesla,
    response: dict[str, Any],
    error: type[ApiError],
) -> None:
    """A refused refresh means signing in again; a failing token server means try later."""
    await setup_fleet_credentials(hass)
    entry = fleet_entry(hass, expires_in=-60)
    aioclient_mock.post(FLEET_TOKEN_URL, **response)
    client = await build_tesla_client(hass, entry)
    with pytest.raises(ApiError) as info:
        await client.products()
    assert type(info.value) is error
    if error is AuthError:
        assert info.value.status == 401
        assert not info.value.missing_scopes
    assert fleet.calls == []
    assert entry.data["token"]["refresh_token"] == "old-refresh"
    assert "old-refresh" not in str(info.value)


async def test_fleet_without_credentials_cannot_build_a_client(hass: HomeAssistant) -> None:
    """Application credentials removed: the entry cannot get a token (set-up reports it)."""
    await setup_fleet_credentials(hass)
    entry = fleet_entry(hass, expires_in=3600, auth_implementation="deleted-cred")
    # Home Assistant's ValueError: "Implementation not available" on 2025.4; on 2026.11 an
    # UnknownImplementationError (a ValueError, and a ConfigEntryAuthFailed) with other words.
    with pytest.raises(ValueError, match="(?i)implementation not available|no longer available"):
        await build_tesla_client(hass, entry)


@pytest.mark.parametrize(
    ("answer", "expected_extra"),
    [
        ({"region": "eu", "fleet_api_base_url": FLEET_EU_URL}, {}),
        (
            {"region": "eu", "fleet_api_base_url": "https://eu-proxy.example"},
            {"tesla_base_url": "https://eu-proxy.example"},
        ),
    ],
    ids=["standard-address", "other-address"],
)
async def test_fleet_region_move_is_saved_in_the_entry(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    fleet: FakeTesla,
    answer: dict[str, str],
    expected_extra: dict[str, str],
) -> None:
    """After a 421 the entry remembers the account's region (and an unusual address)."""
    await setup_fleet_credentials(hass)
    entry = fleet_entry(hass, expires_in=3600)
    fleet.region = answer
    fleet.fail("products", status=421, body={"response": None})
    target = FakeTesla(answer["fleet_api_base_url"])
    target.register(aioclient_mock)
    before = dict(entry.data)

    client = await build_tesla_client(hass, entry)
    await client.products()
    assert dict(entry.data) == {**before, "tesla_region": "eu", **expected_extra}
    assert [c.path for c in target.calls] == ["/api/1/products"]

    # The next client built from the entry starts in the right place.
    await (await build_tesla_client(hass, entry)).products()
    assert len(fleet.calls) == 2
    assert [c.path for c in target.calls] == ["/api/1/products"] * 2


async def test_fleet_entry_for_the_eu_starts_at_the_eu_address(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """The stored region picks the base URL."""
    await setup_fleet_credentials(hass)
    eu = FakeTesla(FLEET_EU_URL)
    eu.register(aioclient_mock)
    entry = fleet_entry(hass, expires_in=3600, tesla_region="eu")
    await (await build_tesla_client(hass, entry)).products()
    assert [c.path for c in eu.calls] == ["/api/1/products"]


def test_interval_times_stay_bounded_and_exact() -> None:
    """A month of Amber's 5-minute end times: each parsed as parse_time does, a repeat answered
    from the table, and never more than two generations held, however long it runs."""
    table = IntervalTimes()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    # each poll: the next 200 five-minute end times, as an answer holds them
    for poll in range(0, 12 * 24 * 30, 7):
        for step in range(poll, poll + 200):
            text = (start + timedelta(minutes=5 * step)).isoformat().replace("+00:00", "Z")
            assert table.parse(text) == parse_time(text)
            assert table.parse(text) is table.parse(text)
        assert len(table) <= 2 * IntervalTimes.KEEP
    assert table.parse("2025-01-01T10:00:00") is None  # no zone: not a time we can place
    assert table.parse("garbage") is None
    assert table.parse(None) is None
