"""The fault matrix: every way Amber, Tesla and Tesla's sign-in can fail, call by call.

Rows (`fault_helpers.http_rows` plus the data rows below) by calls: Amber `sites` and Tesla
`products` (read at set-up), Amber `prices`, Tesla `live_status`, `site_info` and the tariff
write (`time_of_use_settings`) on a running entry, and the Tesla Fleet OAuth refresh (and the
Fleet region move on a 421). For each cell: (a) entity states, (b) one clear log line per failing
source over several polls, no traceback and no secret, (c) the repair issue or reauth flow that
is due, (d) recovery once the fault clears, and (e) no plan pushed from bad data.

Cells left out, and why:
- Amber has no regions: no 421 row for Amber.
- At set-up every failure takes the same path (`runtime._not_ready(translate(...))`): one row
  per class of failure there (the status -> error mapping is tested row by row in test_api.py),
  and no Retry-After rows, since Home Assistant's own retry timer decides when set-up is retried.
- `site_info` is polled by the same TeslaCoordinator code as `live_status` (which gets every
  row): one row per class of failure, for what differs (which entities go, plans keep going).
- Data rows (NaN, absurd prices, duplicates, odd lists) only for calls that carry such data; the
  tariff write carries none back.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from itertools import pairwise
import logging
import math
import random
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from yarl import URL

from custom_components.tesla_amber_sync.const import DOMAIN
from custom_components.tesla_amber_sync.validate import validate_tariff

from .conftest import entry_data
from .fakes import (
    AMBER_TOKEN,
    ENERGY_SITE_ID,
    FLEET_EU_URL,
    FLEET_NA_URL,
    SYDNEY,
    TESLEMETRY_TOKEN,
    FakeAmber,
    FakeTesla,
    connection_refused,
    default_price,
    product_json,
    site_json,
)
from .fault_helpers import (
    FLEET_ACCESS,
    FLEET_NEW_ACCESS,
    FLEET_NEW_REFRESH,
    FLEET_REFRESH,
    HTML,
    LIVE_ENTITIES,
    OUR_LOGGERS,
    PRICE_ENTITIES,
    SITE_INFO_ENTITIES,
    STATUS,
    IssueLog,
    Row,
    Uncaught,
    assert_available,
    assert_clean_logs,
    assert_no_secrets_in_states,
    assert_one_line_per_source,
    assert_unavailable,
    bumped_price,
    dns_error,
    expected_rates,
    http_rows,
    issue_ids,
    loud_records,
    rates,
    reauth_flow_id,
    reauth_steps,
    row_params,
    secrets_in,
    snapshot,
    source_of,
    wiggly_price,
)
from .flow_helpers import AUTH_IMPLEMENTATION, FLEET_TOKEN_URL, setup_fleet_credentials
from .helpers import advance, advance_to, state_value

TEN_S = timedelta(seconds=10)
HALF_MINUTE = timedelta(seconds=30)
MINUTE = timedelta(minutes=1)
FIVE_MINUTES = timedelta(minutes=5)
OTHER_AMBER_SITE = "01JOTHER000000000000000000"
OTHER_ENERGY_SITE = 99887766


def at(hour: int, minute: int, second: int = 0) -> datetime:
    """Sydney wall-clock time on the test day (Wednesday 15 January 2025, UTC+11)."""
    return datetime(2025, 1, 15, hour, minute, second, tzinfo=SYDNEY)


@pytest.fixture(autouse=True)
def debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Capture the integration's debug lines too: secrets must not appear at any level."""
    caplog.set_level(logging.DEBUG, logger=OUR_LOGGERS)


@pytest.fixture
def uncaught(hass: HomeAssistant) -> Generator[Uncaught]:
    """Exceptions that escape into the event loop, for the test to assert on."""
    catcher = Uncaught(hass)
    yield catcher
    catcher.restore()


@pytest.fixture
def issue_log(hass: HomeAssistant) -> IssueLog:
    """Every repair issue raised during the test."""
    return IssueLog(hass)


def amber_kind(row: Row) -> str:
    """Amber has no subscription and no scopes: a 402 is just a failure, a 403 a refused key."""
    return {"payment": "transient", "scopes": "auth"}.get(row.kind, row.kind)


def tesla_read_kind(row: Row) -> str:
    """For a Tesla read, a 404 or a vanished site is a failure like any other (no repair)."""
    return "transient" if row.kind == "gone" else row.kind


def sync_status_ok(hass: HomeAssistant, *, writing: bool = False) -> None:
    """The sync engine is content: no error. With `writing` (prices that change every interval)
    a new plan may be waiting out the 4-minute spacing."""
    allowed = ("ok", "unchanged", "waiting_rate_limit") if writing else ("ok", "unchanged")
    state = hass.states.get(STATUS)
    assert state is not None
    assert state.state in allowed
    assert state.attributes["last_error"] is None


def all_writes_valid(tesla: FakeTesla) -> None:
    """Whatever reached the Powerwall passes the tariff validator."""
    for body in tesla.tariff_writes:
        validate_tariff(body)


async def finish_reauth(hass: HomeAssistant, user_input: dict[str, Any]) -> None:
    """The user enters a working credential in the reauth flow; the entry reloads."""
    result = await hass.config_entries.flow.async_configure(reauth_flow_id(hass), user_input)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()


# === Set-up calls: Amber sites and Tesla products =================================================

# At set-up every failure goes through the same `_not_ready(translate(...))`: one row per
# class of failure (the status -> error mapping itself is tested row by row in test_api.py).
SETUP_HTTP_ROWS = [
    r
    for r in http_rows()
    if r.id not in ("429-retry-after", "429-ratelimit-reset", "421", "408-then-540", "422", "503")
]
SITES_ROWS = [
    *SETUP_HTTP_ROWS,
    Row("empty-list", "gone", status=200, body=[]),
    Row("wrong-shape", "transient", status=200, body={"sites": [site_json()]}),
    Row("site-gone", "gone"),
]
PRODUCTS_ROWS = [
    *SETUP_HTTP_ROWS,
    Row("421", "transient", status=421),  # Teslemetry does not follow regions: a plain failure
    Row("empty-list", "transient", status=200, body={"response": [], "count": 0}),
    Row("wrong-shape", "transient", status=200, body={"response": {"energy_site_id": 1}}),
    Row("site-gone", "transient"),
]


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> ConfigEntryState:
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry.state


@pytest.mark.parametrize(
    "row",
    row_params(
        SITES_ROWS,
    ),
)
async def test_sites_fault_at_setup(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    issue_log: IssueLog,
    row: Row,
) -> None:
    """Amber's site list fails at start-up: retry later (or reauth for a refused key), the site
    repair when the site is not listed, nothing pushed, and a normal start once it clears."""
    entry_id = config_entry.entry_id
    # Amber's /sites answering 404 says nothing about our site: just try again.
    kind = "transient" if row.id == "404" else amber_kind(row)
    if row.id == "site-gone":
        amber.sites = [site_json(site_id=OTHER_AMBER_SITE)]
    else:
        row.apply(amber, "sites", "amber")

    state = await _setup(hass, config_entry)
    if kind == "auth":
        assert state is ConfigEntryState.SETUP_ERROR
        assert reauth_steps(hass) == ["reauth_amber"]
    else:
        assert state is ConfigEntryState.SETUP_RETRY
        assert reauth_steps(hass) == []
    expected = {f"amber_site_gone_{entry_id}"} if kind == "gone" else set()
    assert issue_ids(hass) == expected
    assert set(issue_log.created) == expected
    assert config_entry.reason
    assert not secrets_in(config_entry.reason)
    assert tesla.tariff_writes == []
    assert_one_line_per_source(caplog, {})
    assert_clean_logs(caplog)

    amber.clear_faults()
    amber.sites = [site_json()]
    if kind == "auth":
        await finish_reauth(hass, {"amber_api_token": AMBER_TOKEN})
    else:
        await advance(hass, frozen, timedelta(seconds=90), step=TEN_S)
    assert config_entry.state is ConfigEntryState.LOADED
    assert issue_ids(hass) == set()
    assert len(tesla.tariff_writes) == 1
    all_writes_valid(tesla)
    assert_clean_logs(caplog)


@pytest.mark.parametrize("row", row_params(PRODUCTS_ROWS))
async def test_products_fault_at_setup(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    issue_log: IssueLog,
    row: Row,
) -> None:
    """Tesla's product list fails at start-up: retry later, reauth for a refused token, the
    subscription or permission repair for 402/403, and a normal start once it clears."""
    entry_id = config_entry.entry_id
    kind = tesla_read_kind(row)
    if row.id == "site-gone":
        tesla.products = [product_json(OTHER_ENERGY_SITE, "Someone else's")]
    else:
        row.apply(tesla, "products", "tesla")

    state = await _setup(hass, config_entry)
    if kind == "auth":
        assert state is ConfigEntryState.SETUP_ERROR
        assert reauth_steps(hass) == ["reauth_teslemetry"]
    else:
        assert state is ConfigEntryState.SETUP_RETRY
        assert reauth_steps(hass) == []
    expected = {
        "payment": {f"teslemetry_payment_required_{entry_id}"},
        "scopes": {f"missing_scopes_{entry_id}"},
    }.get(kind, set())
    if row.id in ("site-gone", "empty-list"):  # the Powerwall is not on the account
        expected = {f"energy_site_gone_{entry_id}"}
    assert issue_ids(hass) == expected
    assert set(issue_log.created) == expected
    assert config_entry.reason
    assert not secrets_in(config_entry.reason)
    assert tesla.tariff_writes == []
    assert amber.calls == []  # nothing else is asked before the Powerwall is known
    assert_one_line_per_source(caplog, {})
    assert_clean_logs(caplog)

    tesla.clear_faults()
    tesla.products = [product_json()]
    if kind == "auth":
        await finish_reauth(hass, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    else:
        await advance(hass, frozen, timedelta(seconds=90), step=TEN_S)
    assert config_entry.state is ConfigEntryState.LOADED
    assert issue_ids(hass) == set()
    assert len(tesla.tariff_writes) == 1
    all_writes_valid(tesla)
    assert_clean_logs(caplog)


def _odd_site() -> dict[str, Any]:
    site = site_json()
    site.update(nmi=None, network=None, activeFrom=12, intervalLength="5")
    site["channels"][1]["tariff"] = None
    return site


@pytest.mark.parametrize(
    ("sites", "products"),
    [
        pytest.param([_odd_site()], None, id="sites-nulls-and-strings"),
        pytest.param([site_json(), site_json()], None, id="sites-duplicated"),
        pytest.param(
            [site_json(site_id=OTHER_AMBER_SITE), site_json()], None, id="sites-out-of-order"
        ),
        pytest.param(
            None,
            [{**product_json(), "resource_type": None, "components": None, "features": "x"}],
            id="products-nulls-and-strings",
        ),
        pytest.param(None, [product_json(), product_json()], id="products-duplicated"),
        pytest.param(
            None,
            [
                {"id": 1, "vin": "5YJ3E1EA7KF000000", "energy_site_id": None},
                product_json(OTHER_ENERGY_SITE),
                product_json(),
            ],
            id="products-out-of-order",
        ),
    ],
)
async def test_setup_reads_odd_but_usable_lists(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    sites: list[dict[str, Any]] | None,
    products: list[dict[str, Any]] | None,
) -> None:
    """Nulls and strings in optional fields, duplicates and other entries first: still usable."""
    if sites is not None:
        amber.sites = sites
    if products is not None:
        tesla.products = products
    assert await _setup(hass, config_entry) is ConfigEntryState.LOADED
    assert_available(hass, [*PRICE_ENTITIES[:2], *LIVE_ENTITIES])
    assert len(tesla.tariff_writes) == 1
    all_writes_valid(tesla)
    assert issue_ids(hass) == set()
    assert_one_line_per_source(caplog, {})
    assert_clean_logs(caplog)


# === Amber prices on a running entry ==============================================================

PRICE_ROWS = [
    *[r for r in http_rows() if r.id != "421"],
    Row("empty-list", "transient", status=200, body=[]),
    Row("wrong-shape", "transient", status=200, body={"intervals": [], "message": "ok"}),
    Row("site-gone", "gone"),
]


@pytest.mark.parametrize(
    "row",
    row_params(
        PRICE_ROWS,
    ),
)
async def test_prices_fault(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    issue_log: IssueLog,
    row: Row,
) -> None:
    """Amber's prices fail while running: price entities unavailable, the Powerwall keeps its
    plan, one log line per source, the right repair (or reauth), and all well once it clears."""
    entry_id = loaded_entry.entry_id
    kind = amber_kind(row)
    assert_clean_logs(caplog)
    caplog.clear()
    writes = len(tesla.tariff_writes)
    live_before = snapshot(hass, LIVE_ENTITIES)
    amber.price_fn = bumped_price  # any plan built now would differ from the one sent
    if row.id == "site-gone":
        amber.sites = []
    else:
        row.apply(amber, "prices", "amber")

    await advance_to(hass, frozen, at(14, 13), step=MINUTE)
    failing = [c for c in amber.calls_to("/prices/current") if c.at > at(14, 3)]
    # (a) prices gone, the Powerwall's side untouched, the status says why
    assert_unavailable(hass, PRICE_ENTITIES)
    assert snapshot(hass, LIVE_ENTITIES) == live_before
    assert state_value(hass, STATUS) == "prices_unavailable"
    # (e) nothing pushed without prices
    assert len(tesla.tariff_writes) == writes
    # (b) several failing polls, one line each from the poller and the sync engine
    if kind == "rate_limited":
        wait = timedelta(seconds=row.wait or 300)
        assert len(failing) >= 2
        for earlier, later in pairwise(failing):
            assert later.at - earlier.at >= wait, "polled again inside the wait Amber asked for"
    else:
        assert len({c.at for c in failing}) >= 3
    assert_one_line_per_source(caplog, {"Amber prices": 1, "sync": 1})
    assert_clean_logs(caplog)
    assert_no_secrets_in_states(hass)
    # (c) repairs due at once
    expected = {f"amber_site_gone_{entry_id}"} if kind == "gone" else set()
    assert issue_ids(hass) == expected
    assert set(issue_log.created) == expected
    assert reauth_steps(hass) == (["reauth_amber"] if kind == "auth" else [])

    # (c) half an hour without prices: the prices repair
    await advance_to(hass, frozen, at(14, 37), step=FIVE_MINUTES)
    assert issue_ids(hass) == expected | {f"prices_unavailable_{entry_id}"}
    assert len(tesla.tariff_writes) == writes
    assert_one_line_per_source(caplog, {"Amber prices": 1, "sync": 1})

    # (d) recovery: prices back, repairs gone, the fresh plan sent
    amber.clear_faults()
    amber.sites = [site_json()]
    if kind == "auth":
        await finish_reauth(hass, {"amber_api_token": AMBER_TOKEN})
    await advance(hass, frozen, timedelta(minutes=7), step=MINUTE)
    assert_available(hass, PRICE_ENTITIES)
    sync_status_ok(hass)
    assert issue_ids(hass) == set()
    assert reauth_steps(hass) == []
    assert len(tesla.tariff_writes) == writes + 1
    sent = tesla.calls_to("/time_of_use_settings")[-1]
    body = sent.body["tou_settings"]["tariff_content_v2"]
    validate_tariff(body)
    assert rates(body) == expected_rates(sent.at, bumped_price)
    assert_clean_logs(caplog)


# --- Amber prices: bad numbers, absurd numbers, odd lists ----------------------------------------

Intervals = list[dict[str, Any]]
GARBAGE: tuple[Any, ...] = (math.nan, "12.5", None, "NaN", {"value": 12.5}, True, [12.5])


def _garbage_all(intervals: Intervals) -> Intervals:
    return [{**i, "perKwh": GARBAGE[n % len(GARBAGE)]} for n, i in enumerate(intervals)]


def _garbage_current(intervals: Intervals) -> Intervals:
    return [{**i, "perKwh": math.nan} if i["type"] == "CurrentInterval" else i for i in intervals]


def _garbage_forecast(intervals: Intervals) -> Intervals:
    """Every forecast price a string or null: hours of the plan would have no price."""
    return [
        {**i, "perKwh": GARBAGE[1 + n % 2], "advancedPrice": None}
        if i["type"] == "ForecastInterval"
        else i
        for n, i in enumerate(intervals)
    ]


def _garbage_advanced(intervals: Intervals) -> Intervals:
    """Amber's own forecast broken: the plain price is used instead."""
    return [
        {**i, "advancedPrice": {"low": math.nan, "predicted": "x", "high": None}}
        if "advancedPrice" in i
        else i
        for i in intervals
    ]


def _garbage_one_slot(intervals: Intervals) -> Intervals:
    """One half hour (18:00) without a usable price: it borrows a neighbour's."""
    target = at(18, 30).astimezone(SYDNEY)
    return [
        {**i, "perKwh": math.nan, "advancedPrice": None}
        if datetime.fromisoformat(i["endTime"]) == target
        else i
        for i in intervals
    ]


@pytest.mark.parametrize(
    ("mutate", "available", "pushed"),
    [
        pytest.param(_garbage_all, False, False, id="every-price-garbage"),
        pytest.param(_garbage_current, True, False, id="current-price-nan"),
        pytest.param(_garbage_forecast, True, False, id="forecast-strings-and-nulls"),
        pytest.param(_garbage_advanced, True, True, id="advanced-price-garbage"),
        pytest.param(_garbage_one_slot, True, True, id="one-half-hour-nan"),
    ],
)
async def test_prices_with_nan_strings_and_nulls(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    issue_log: IssueLog,
    mutate: Callable[[Intervals], Intervals],
    available: bool,
    pushed: bool,
) -> None:
    """NaN, strings and nulls where prices belong are never read as prices: no plan from them,
    never a made-up 0; a lone hole borrows a neighbour's price; Amber's broken forecast falls
    back to the plain price."""
    caplog.clear()
    writes = len(tesla.tariff_writes)
    amber.price_fn = bumped_price
    amber.mutate = mutate
    await advance_to(hass, frozen, at(14, 16), step=HALF_MINUTE)
    general = state_value(hass, PRICE_ENTITIES[0])
    if not available:
        assert_unavailable(hass, PRICE_ENTITIES)
    elif mutate is _garbage_current:
        assert general == STATE_UNKNOWN  # no current price: unknown, not 0
    else:
        assert general == str(round(bumped_price("general", at(14, 0)) / 100, 4))
    if pushed:
        assert len(tesla.tariff_writes) == writes + 1
        sent = tesla.calls_to("/time_of_use_settings")[-1]
        body = sent.body["tou_settings"]["tariff_content_v2"]
        validate_tariff(body)
        expected = expected_rates(sent.at, bumped_price)
        got = rates(body)
        if mutate is _garbage_one_slot:  # 18:00 borrows a neighbour's price, never a NaN or 0
            for side, want in zip(got, expected, strict=True):
                assert side.pop("18:00") in (want["17:30"], want["18:30"])
                del want["18:00"]
        assert got == expected
        sync_status_ok(hass)
    else:
        assert len(tesla.tariff_writes) == writes
        assert state_value(hass, STATUS) == "prices_unavailable"
    assert issue_ids(hass) == set()
    assert issue_log.created == []
    assert_one_line_per_source(caplog)
    assert_clean_logs(caplog)

    amber.mutate = None
    await advance(hass, frozen, timedelta(minutes=6), step=HALF_MINUTE)
    assert_available(hass, PRICE_ENTITIES)
    sync_status_ok(hass)
    sent = tesla.calls_to("/time_of_use_settings")[-1]
    assert rates(sent.body["tou_settings"]["tariff_content_v2"]) == expected_rates(
        sent.at, bumped_price
    )


def absurd_price(channel: str, start: datetime) -> float:
    """±$20/kWh spikes: legal Amber data (the market cap is about $22/kWh with GST).

    General: 2000 c now (14:00-14:30) and at 18:00; -2000 c at 12:00. Feed-in: earn $20 at
    18:00 (-2000 c), pay $20 to export at 12:00 (+2000 c).
    """
    local = start.astimezone(SYDNEY)
    slot = (local.hour, local.minute // 30)
    if channel == "general":
        return {(14, 0): 2000.0, (18, 0): 2000.0, (12, 0): -2000.0}.get(
            slot, default_price(channel, start)
        )
    if channel == "feedIn":
        return {(18, 0): -2000.0, (12, 0): 2000.0}.get(slot, default_price(channel, start))
    return default_price(channel, start)


async def test_prices_absurd_but_legal_are_pushed(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    issue_log: IssueLog,
) -> None:
    """$20/kWh is a price, not an error: shown and pushed as is; only negatives are clamped."""
    caplog.clear()
    writes = len(tesla.tariff_writes)
    amber.price_fn = absurd_price
    await advance_to(hass, frozen, at(14, 8), step=HALF_MINUTE)
    assert state_value(hass, PRICE_ENTITIES[0]) == "20.0"
    assert len(tesla.tariff_writes) == writes + 1
    sent = tesla.calls_to("/time_of_use_settings")[-1]
    body = sent.body["tou_settings"]["tariff_content_v2"]
    validate_tariff(body)
    buy, sell = rates(body)
    assert buy["14:00"] == buy["18:00"] == 20.0
    assert sell["18:00"] == 20.0  # paid $20 to export, not capped below the $20 buy
    assert buy["12:00"] == 0.0  # paid to import: clamped, the plan takes no negatives
    assert sell["12:00"] == 0.0  # exporting costs $20: clamped
    assert (buy, sell) == expected_rates(sent.at, absurd_price)
    sync_status_ok(hass)
    assert issue_log.created == []
    assert_one_line_per_source(caplog, {})
    assert_clean_logs(caplog)


def _duplicated_and_shuffled(intervals: Intervals) -> Intervals:
    """Every interval twice, a stale forecast copy of the current one, all in random order."""
    current = [i for i in intervals if i["type"] == "CurrentInterval"]
    stale = [{**i, "type": "ForecastInterval", "perKwh": i["perKwh"] + 500} for i in current]
    out = [*intervals, *[dict(i) for i in intervals], *stale]
    random.Random(7).shuffle(out)
    return out


def _reversed(intervals: Intervals) -> Intervals:
    return list(reversed(intervals))


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(_duplicated_and_shuffled, id="duplicated-shuffled"),
        pytest.param(_reversed, id="reversed"),
    ],
)
async def test_prices_duplicated_and_out_of_order(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    mutate: Callable[[Intervals], Intervals],
) -> None:
    """Order and repeats do not matter: the same plan and the same sensor values as clean data,
    and a settled price beats a stale forecast of the same interval."""
    caplog.clear()
    writes = len(tesla.tariff_writes)
    amber.price_fn = bumped_price
    amber.mutate = mutate
    await advance_to(hass, frozen, at(14, 8), step=HALF_MINUTE)
    assert state_value(hass, PRICE_ENTITIES[0]) == str(
        round(bumped_price("general", at(14, 0)) / 100, 4)
    )
    assert len(tesla.tariff_writes) == writes + 1
    sent = tesla.calls_to("/time_of_use_settings")[-1]
    body = sent.body["tou_settings"]["tariff_content_v2"]
    validate_tariff(body)
    assert rates(body) == expected_rates(sent.at, bumped_price)
    sync_status_ok(hass)
    assert_one_line_per_source(caplog, {})
    assert_clean_logs(caplog)


async def test_prices_answered_a_day_late_are_not_pushed(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An answer whose current interval is a day old (a cache, a wrong clock) is not current,
    even when its 40-hour forecast still reaches well past now: no plan from it, the status says
    so, and the plan follows as soon as the answers are current again."""
    caplog.clear()
    writes = len(tesla.tariff_writes)
    amber.price_fn = bumped_price  # any plan built now would differ from the one sent
    amber.horizon = timedelta(hours=40)
    amber.clock_offset = -timedelta(days=1)
    await advance_to(hass, frozen, at(14, 16), step=MINUTE)
    assert len(tesla.tariff_writes) == writes
    assert state_value(hass, STATUS) == "prices_unavailable"

    amber.clock_offset = timedelta(0)
    await advance(hass, frozen, timedelta(minutes=6), step=HALF_MINUTE)
    assert len(tesla.tariff_writes) == writes + 1
    sent = tesla.calls_to("/time_of_use_settings")[-1]
    body = sent.body["tou_settings"]["tariff_content_v2"]
    validate_tariff(body)
    assert rates(body) == expected_rates(sent.at, bumped_price)
    sync_status_ok(hass)
    assert_clean_logs(caplog)


# === Tesla reads on a running entry: live_status and site_info ====================================

TESLA_READ_ROWS = [
    *http_rows(),
    Row("wrong-shape", "transient", status=200, body={"response": ["not", "an", "object"]}),
    Row("no-envelope", "transient", status=200, body={"solar_power": 1000}),
    Row("site-gone", "gone"),
]
READ_REPAIRS = {
    "payment": "teslemetry_payment_required",
    "scopes": "missing_scopes",
}


@pytest.mark.parametrize("row", row_params(TESLA_READ_ROWS))
async def test_live_status_fault(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    issue_log: IssueLog,
    row: Row,
) -> None:
    """live_status fails: the power sensors go unavailable and nothing else changes; a refused
    token asks for a new one, 402/403 raise their repairs; back to normal once it clears."""
    entry_id = loaded_entry.entry_id
    kind = tesla_read_kind(row)
    caplog.clear()
    live_before = snapshot(hass, LIVE_ENTITIES)
    prices_before = snapshot(hass, PRICE_ENTITIES)
    writes = len(tesla.tariff_writes)
    if row.id == "site-gone":
        tesla.products = []  # the fake answers 404 for sites it does not know
    else:
        row.apply(tesla, "live_status", "tesla")

    await advance_to(hass, frozen, at(14, 5, 30), step=HALF_MINUTE)
    failing = [c for c in tesla.calls_to("/live_status") if c.at > at(14, 2, 30)]
    assert_unavailable(hass, LIVE_ENTITIES)
    assert snapshot(hass, PRICE_ENTITIES) == prices_before
    sync_status_ok(hass)
    assert len(tesla.tariff_writes) == writes
    if kind == "rate_limited":  # Tesla said wait (60 s when it did not say how long)
        times = sorted({c.at for c in failing})
        assert all(b - a >= timedelta(seconds=row.wait or 60) for a, b in pairwise(times))
    elif kind != "auth":  # after a refused token the poller waits for the new one
        assert len({c.at for c in failing}) >= 5
    if row.id == "site-gone":  # every call about the site fails, each says so once
        assert_one_line_per_source(caplog)
        assert "Powerwall live status" in {source_of(r) for r in loud_records(caplog)}
    else:
        assert_one_line_per_source(caplog, {"Powerwall live status": 1})
    assert_clean_logs(caplog)
    assert_no_secrets_in_states(hass)
    expected = {f"{READ_REPAIRS[kind]}_{entry_id}"} if kind in READ_REPAIRS else set()
    assert issue_ids(hass) == expected
    assert set(issue_log.created) == expected
    assert reauth_steps(hass) == (["reauth_teslemetry"] if kind == "auth" else [])

    tesla.clear_faults()
    tesla.products = [product_json()]
    if kind == "auth":
        await finish_reauth(hass, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    # Back within one poll, or once the wait Tesla asked for is over.
    recover = timedelta(seconds=(row.wait or 60) + 35 if kind == "rate_limited" else 35)
    await advance(hass, frozen, recover, step=TEN_S)
    assert snapshot(hass, LIVE_ENTITIES) == live_before
    assert issue_ids(hass) == set()
    assert reauth_steps(hass) == []
    if kind != "auth":  # after the reauth reload see test_status_after_a_reload
        sync_status_ok(hass)
    assert_clean_logs(caplog)


# site_info runs through the same TeslaCoordinator code as live_status (every row above): here
# one row per class of failure, for what differs: which entities go, and that plans keep going.
SITE_INFO_ROWS = [
    r
    for r in TESLA_READ_ROWS
    if r.id
    not in ("refused", "422", "429-ratelimit-reset", "429-bare", "502", "503", "no-envelope")
]


@pytest.mark.parametrize("row", row_params(SITE_INFO_ROWS))
async def test_site_info_fault(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    issue_log: IssueLog,
    row: Row,
) -> None:
    """site_info fails (at each read-back after a write): the settings entities go unavailable,
    plans keep going out, one log line; a refused token asks for a new one; 402/403 repairs."""
    entry_id = loaded_entry.entry_id
    kind = tesla_read_kind(row)
    caplog.clear()
    info_before = snapshot(hass, SITE_INFO_ENTITIES)
    amber.price_fn = wiggly_price  # a new plan every interval, each read back 15 s later
    if row.id == "site-gone":
        tesla.fail("site_info", status=404, body={"response": None, "error": "not_found"}, times=-1)
    else:
        row.apply(tesla, "site_info", "tesla")

    await advance_to(hass, frozen, at(14, 16), step=MINUTE)
    failing = [c for c in tesla.calls_to("/site_info") if c.at > at(14, 2, 30)]
    if kind == "rate_limited":  # read-backs wait out Tesla's Retry-After too
        times = sorted({c.at for c in failing})
        assert all(b - a >= timedelta(seconds=row.wait or 60) for a, b in pairwise(times))
    else:
        assert len({c.at for c in failing}) >= 3
    assert_unavailable(hass, SITE_INFO_ENTITIES)
    assert_available(hass, [*PRICE_ENTITIES, *LIVE_ENTITIES])
    sync_status_ok(hass, writing=True)
    assert len(tesla.tariff_writes) >= 3  # plans keep going out
    all_writes_valid(tesla)
    assert_one_line_per_source(caplog, {"Powerwall site info": 1})
    assert_clean_logs(caplog)
    expected = {f"{READ_REPAIRS[kind]}_{entry_id}"} if kind in READ_REPAIRS else set()
    assert set(issue_log.created) >= expected  # raised (see the flapping test below)
    assert set(issue_log.created) <= expected
    assert reauth_steps(hass) == (["reauth_teslemetry"] if kind == "auth" else [])

    tesla.clear_faults()
    if kind == "auth":
        await finish_reauth(hass, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    await advance(hass, frozen, timedelta(minutes=6), step=MINUTE)
    assert snapshot(hass, SITE_INFO_ENTITIES) == info_before
    assert issue_ids(hass) == set()
    assert reauth_steps(hass) == []
    sync_status_ok(hass, writing=True)
    assert_clean_logs(caplog)


def _garbage_live() -> dict[str, Any]:
    return {
        "solar_power": math.nan,
        "battery_power": "1500",
        "grid_power": None,
        "load_power": {"w": 1},
        "percentage_charged": 66.67,
        "grid_status": 7,
        "island_status": None,
        "storm_mode_active": "no",
        "timestamp": "yesterday",
    }


@pytest.mark.parametrize(
    ("body", "known"),
    [
        pytest.param(
            _garbage_live(), {"sensor.home_powerwall_battery_level": "66.7"}, id="garbage"
        ),
        pytest.param({}, {}, id="empty-object"),
    ],
)
async def test_live_status_nan_strings_and_nulls(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    body: dict[str, Any],
    known: dict[str, str],
) -> None:
    """Numbers that are not numbers read as unknown (never 0), the rest keeps working."""
    caplog.clear()
    tesla.live = body
    await advance(hass, frozen, timedelta(seconds=35), step=TEN_S)
    states = snapshot(hass, LIVE_ENTITIES)
    assert states == {entity: known.get(entity, STATE_UNKNOWN) for entity in LIVE_ENTITIES}
    sync_status_ok(hass)
    assert_one_line_per_source(caplog, {})
    assert_clean_logs(caplog)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            {
                "backup_reserve_percent": "20",
                "default_real_mode": 3,
                "components": None,
                "tariff_content_v2": "garbage",
                "installation_time_zone": None,
                "user_settings": [],
            },
            id="garbage",
        ),
        pytest.param(None, id="empty-object"),
    ],
)
async def test_site_info_nan_strings_and_nulls(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    issue_log: IssueLog,
    change: dict[str, Any] | None,
) -> None:
    """A site_info full of wrong types: settings read as unknown, plans still go out (in Home
    Assistant's time zone), no repair, no traceback."""
    caplog.clear()
    if change is None:
        tesla.info = {}
    else:
        tesla.info.update(change)
    amber.price_fn = wiggly_price
    await advance_to(hass, frozen, at(14, 11), step=HALF_MINUTE)
    assert_available(hass, [*PRICE_ENTITIES, *LIVE_ENTITIES])
    assert state_value(hass, "number.home_powerwall_backup_reserve") == STATE_UNKNOWN
    assert state_value(hass, "select.home_powerwall_operation_mode") == STATE_UNKNOWN
    assert len(tesla.tariff_writes) >= 2
    all_writes_valid(tesla)
    sync_status_ok(hass, writing=True)
    assert issue_log.created == []
    assert_clean_logs(caplog)


# === The tariff write =============================================================================

WRITE_ROWS = [
    *http_rows(),
    Row("no-envelope", "transient", status=200, body={"code": 201, "message": "Updated"}),
    Row("site-gone", "gone"),
]


@pytest.mark.parametrize(
    "row",
    row_params(
        WRITE_ROWS,
    ),
)
async def test_tariff_write_fault(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    issue_log: IssueLog,
    row: Row,
) -> None:
    """Writes fail: sync status failed (waiting for a 429), retried every 4 minutes (or when
    Tesla says), one log line, the writes repair after 30 minutes; all clear after a write."""
    entry_id = loaded_entry.entry_id
    kind = row.kind
    caplog.clear()
    amber.price_fn = wiggly_price  # a new plan every interval
    if row.id == "site-gone":
        tesla.fail("time_of_use_settings", status=404, body={"response": None}, times=-1)
    else:
        row.apply(tesla, "time_of_use_settings", "tesla")

    # 14:05's plan goes out at 14:06:30 (4 minutes after the first write) and fails.
    await advance_to(hass, frozen, at(14, 6, 30), step=MINUTE)
    await advance(hass, frozen, timedelta(seconds=5))
    expected_status = "waiting_rate_limit" if kind == "rate_limited" else "failed"
    assert state_value(hass, STATUS) == expected_status
    error = hass.states.get(STATUS).attributes["last_error"]  # type: ignore[union-attr]
    assert error
    assert not secrets_in(error)
    assert_available(hass, [*PRICE_ENTITIES, *LIVE_ENTITIES, *SITE_INFO_ENTITIES])

    await advance_to(hass, frozen, at(14, 15), step=MINUTE)
    attempts = [c.at for c in tesla.calls_to("/time_of_use_settings") if c.at > at(14, 3)]
    assert len(set(attempts)) >= (2 if kind == "rate_limited" else 3)
    spacing = timedelta(seconds=max(row.wait or 0, 240))
    for earlier, later in pairwise(attempts):
        assert later == earlier or later - earlier >= spacing
    assert state_value(hass, STATUS) in (expected_status, "waiting_rate_limit")
    assert_one_line_per_source(caplog, {"sync": 1})
    assert_clean_logs(caplog)
    assert_no_secrets_in_states(hass)
    assert reauth_steps(hass) == (["reauth_teslemetry"] if kind == "auth" else [])
    expected = {f"{READ_REPAIRS[kind]}_{entry_id}"} if kind in READ_REPAIRS else set()
    assert set(issue_log.created) == expected

    await advance_to(hass, frozen, at(14, 38), step=FIVE_MINUTES)
    assert f"tariff_writes_failing_{entry_id}" in issue_ids(hass)

    tesla.clear_faults()
    if kind == "auth":
        await finish_reauth(hass, {"teslemetry_api_token": TESLEMETRY_TOKEN})
    await advance(hass, frozen, timedelta(minutes=5), step=MINUTE)
    sync_status_ok(hass, writing=True)
    assert issue_ids(hass) == set()
    assert tesla.calls_to("/time_of_use_settings")[-1].at > at(14, 38)
    all_writes_valid(tesla)
    assert_clean_logs(caplog)


# === Tesla Fleet: the OAuth refresh and the region ================================================


class TokenEndpoint:
    """Tesla's token endpoint: answers with whatever `answer` says, records every request."""

    def __init__(self) -> None:
        self.answer: dict[str, Any] = {"json": fleet_token(FLEET_NEW_ACCESS, FLEET_NEW_REFRESH)}
        self.requests: list[dict[str, Any]] = []

    def register(self, mock: AiohttpClientMocker) -> None:
        mock.post(FLEET_TOKEN_URL, side_effect=self._handle)

    async def _handle(self, method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        self.requests.append(dict(data or {}))
        return AiohttpClientMockResponse(method, url, **self.answer)


def fleet_token(access: str, refresh: str) -> dict[str, Any]:
    """What Tesla's token endpoint answers on success."""
    return {
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": 28800,
        "token_type": "Bearer",
    }


@pytest.fixture
def fleet(aioclient_mock: AiohttpClientMocker) -> FakeTesla:
    """Tesla Fleet API, North America / Asia-Pacific base."""
    fake = FakeTesla(FLEET_NA_URL)
    fake.register(aioclient_mock)
    return fake


@pytest.fixture
def token_endpoint(aioclient_mock: AiohttpClientMocker) -> TokenEndpoint:
    """Tesla's token endpoint."""
    endpoint = TokenEndpoint()
    endpoint.register(aioclient_mock)
    return endpoint


async def fleet_entry(hass: HomeAssistant, *, expires_in: float) -> MockConfigEntry:
    """An Amber + Tesla Fleet entry whose access token expires in `expires_in` seconds."""
    await hass.config.async_set_time_zone("Australia/Sydney")
    await setup_fleet_credentials(hass)
    data = entry_data(
        tesla_provider="fleet",
        auth_implementation=AUTH_IMPLEMENTATION,
        tesla_region="na",
        token={**fleet_token(FLEET_ACCESS, FLEET_REFRESH), "expires_at": time.time() + expires_in},
    )
    del data["teslemetry_api_token"]
    entry = MockConfigEntry(
        domain=DOMAIN, title="Home Powerwall", unique_id=str(ENERGY_SITE_ID), data=data
    )
    entry.add_to_hass(hass)
    return entry


REFRESH_FAILURES = [
    pytest.param(
        {"status": 400, "json": {"error": "invalid_grant", "error_description": "expired"}},
        "auth",
        id="400-invalid_grant",
    ),
    pytest.param(
        {"status": 401, "json": {"error": "invalid_client", "error_description": "unknown"}},
        "auth",
        id="401-invalid_client",
    ),
    pytest.param(
        {"status": 429, "json": {"error": "rate_limited"}, "headers": {"Retry-After": "60"}},
        "transient",
        id="429",
    ),
    pytest.param({"status": 500}, "transient", id="500"),
    pytest.param({"status": 503, "text": HTML}, "transient", id="503-html"),
    pytest.param({"exc": TimeoutError()}, "transient", id="timeout"),
    pytest.param({"exc": connection_refused()}, "transient", id="refused"),
    pytest.param({"exc": dns_error()}, "transient", id="dns"),
]


@pytest.mark.parametrize(("answer", "kind"), REFRESH_FAILURES)
async def test_fleet_refresh_fault_while_running(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    fleet: FakeTesla,
    token_endpoint: TokenEndpoint,
    caplog: pytest.LogCaptureFixture,
    issue_log: IssueLog,
    answer: dict[str, Any],
    kind: str,
) -> None:
    """The access token expires while running and the refresh fails: a refused refresh token
    asks the user to sign in again (reauth_fleet); a failing token server is retried with the
    Powerwall entities unavailable meanwhile; the next good refresh stores the new token."""
    entry = await fleet_entry(hass, expires_in=300)
    assert await _setup(hass, entry) is ConfigEntryState.LOADED
    assert token_endpoint.requests == []
    token_endpoint.answer = answer
    await advance_to(hass, frozen, at(14, 10), step=HALF_MINUTE)
    assert token_endpoint.requests
    assert_unavailable(hass, LIVE_ENTITIES)
    assert_available(hass, PRICE_ENTITIES)
    assert reauth_steps(hass) == (["reauth_fleet"] if kind == "auth" else [])
    assert issue_log.created == []
    assert entry.data["token"]["refresh_token"] == FLEET_REFRESH
    # The token serves every Tesla call: each poller says so once.
    assert_one_line_per_source(caplog, {"Powerwall live status": 1, "Powerwall energy": 1})
    assert_clean_logs(caplog)
    assert_no_secrets_in_states(hass)

    if kind == "transient":
        token_endpoint.answer = {"json": fleet_token(FLEET_NEW_ACCESS, FLEET_NEW_REFRESH)}
        await advance(hass, frozen, timedelta(seconds=65), step=TEN_S)
        assert_available(hass, LIVE_ENTITIES)
        assert entry.data["token"]["refresh_token"] == FLEET_NEW_REFRESH
        assert token_endpoint.requests[-1]["refresh_token"] == FLEET_REFRESH
        assert_clean_logs(caplog)


async def test_fleet_refresh_stores_the_new_refresh_token(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    fleet: FakeTesla,
    token_endpoint: TokenEndpoint,
    aioclient_mock: AiohttpClientMocker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Tesla's refresh tokens work once: after the refresh the entry holds the new one, later
    calls use the new access token, the entry does not reload, and nothing is logged."""
    entry = await fleet_entry(hass, expires_in=300)
    assert await _setup(hass, entry) is ConfigEntryState.LOADED
    products = len(fleet.calls_to("/products"))
    caplog.clear()
    await advance_to(hass, frozen, at(14, 10), step=HALF_MINUTE)
    assert len(token_endpoint.requests) == 1
    assert token_endpoint.requests[0]["grant_type"] == "refresh_token"
    assert token_endpoint.requests[0]["refresh_token"] == FLEET_REFRESH
    assert entry.data["token"]["access_token"] == FLEET_NEW_ACCESS
    assert entry.data["token"]["refresh_token"] == FLEET_NEW_REFRESH
    last = [
        (headers or {}).get("Authorization")
        for _method, url, _data, headers in aioclient_mock.mock_calls
        if str(url).startswith(FLEET_NA_URL)
    ][-1]
    assert last == f"Bearer {FLEET_NEW_ACCESS}"
    assert len(fleet.calls_to("/products")) == products  # no reload
    assert_available(hass, [*LIVE_ENTITIES, *PRICE_ENTITIES])
    assert reauth_steps(hass) == []
    assert_one_line_per_source(caplog, {})
    assert_clean_logs(caplog)


@pytest.mark.parametrize(
    ("answer", "state", "reauth"),
    [
        pytest.param(
            {"status": 400, "json": {"error": "invalid_grant"}},
            ConfigEntryState.SETUP_ERROR,
            ["reauth_fleet"],
            id="400-invalid_grant",
        ),
        pytest.param({"status": 500}, ConfigEntryState.SETUP_RETRY, [], id="500"),
        pytest.param(
            {"json": fleet_token(FLEET_NEW_ACCESS, FLEET_NEW_REFRESH)},
            ConfigEntryState.LOADED,
            [],
            id="success",
        ),
    ],
)
async def test_fleet_refresh_at_setup(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    fleet: FakeTesla,
    token_endpoint: TokenEndpoint,
    caplog: pytest.LogCaptureFixture,
    answer: dict[str, Any],
    state: ConfigEntryState,
    reauth: list[str],
) -> None:
    """An entry whose token expired while Home Assistant was off."""
    entry = await fleet_entry(hass, expires_in=-60)
    token_endpoint.answer = answer
    assert await _setup(hass, entry) is state
    assert reauth_steps(hass) == reauth
    expected = FLEET_NEW_REFRESH if state is ConfigEntryState.LOADED else FLEET_REFRESH
    assert entry.data["token"]["refresh_token"] == expected
    if state is not ConfigEntryState.LOADED:
        assert fleet.calls == []
        assert entry.reason
        assert not secrets_in(entry.reason)
    assert_clean_logs(caplog)


@pytest.mark.parametrize("op", ["live_status", "time_of_use_settings"])
async def test_fleet_wrong_region_moves_by_itself(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    fleet: FakeTesla,
    token_endpoint: TokenEndpoint,
    aioclient_mock: AiohttpClientMocker,
    caplog: pytest.LogCaptureFixture,
    op: str,
) -> None:
    """A 421 on a running Fleet entry: ask Tesla for the region, move there, remember it in the
    entry, and carry on (no reload, no error, no entity unavailable)."""
    entry = await fleet_entry(hass, expires_in=7200)
    assert await _setup(hass, entry) is ConfigEntryState.LOADED
    eu = FakeTesla(FLEET_EU_URL)
    eu.live = {**eu.live, "solar_power": 999.0}
    eu.register(aioclient_mock)
    fleet.region = {"region": "eu", "fleet_api_base_url": FLEET_EU_URL}
    fleet.fail(op, status=421, body={"response": None, "error": "user out of region"})
    products = len(fleet.calls_to("/products"))
    caplog.clear()
    amber.price_fn = wiggly_price
    await advance_to(hass, frozen, at(14, 7), step=HALF_MINUTE)
    assert entry.data["tesla_region"] == "eu"
    assert "tesla_base_url" not in entry.data
    assert fleet.calls_to("/api/1/users/region")
    assert eu.calls_to(f"/{op}")
    if op == "live_status":
        assert state_value(hass, "sensor.home_powerwall_solar_power") == "0.999"
    else:
        assert len(eu.tariff_writes) == 1
        all_writes_valid(eu)
    moved_at = fleet.calls_to("/api/1/users/region")[0].at
    assert [c for c in fleet.calls if c.at > moved_at] == []  # nothing goes to NA any more
    assert len(fleet.calls_to("/products")) == products  # no reload
    assert_available(hass, [*LIVE_ENTITIES, *PRICE_ENTITIES, *SITE_INFO_ENTITIES])
    sync_status_ok(hass)
    assert_one_line_per_source(caplog, {})
    assert_clean_logs(caplog)


# === Known weak spots, stated as the behaviour users need ========================================


async def test_live_status_honours_retry_after(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """Teslemetry allows 30 calls a minute; a 429 with Retry-After: 400 means wait 400 s."""
    tesla.fail("live_status", status=429, headers={"Retry-After": "400"}, times=-1)
    await advance(hass, frozen, timedelta(minutes=5), step=HALF_MINUTE)
    calls = [c.at for c in tesla.calls_to("/live_status") if c.at > at(14, 2, 30)]
    assert len(calls) == 1


async def test_tesla_repair_stays_while_its_call_fails(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    issue_log: IssueLog,
) -> None:
    """The subscription repair is raised once and stays until the failing call works again."""
    tesla.fail("live_status", status=402, body={"response": None}, times=-1)
    await advance(hass, frozen, timedelta(minutes=11), step=HALF_MINUTE)
    assert issue_log.created == [f"teslemetry_payment_required_{loaded_entry.entry_id}"]


async def test_failing_writes_keep_status_failed(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """Between retries of a failing write the status keeps saying failed."""
    amber.price_fn = wiggly_price
    tesla.fail("time_of_use_settings", status=503, times=-1)
    seen = set()
    for minute in range(7, 20):
        await advance_to(hass, frozen, at(14, minute, 20), step=HALF_MINUTE)
        seen.add(state_value(hass, STATUS))
    assert seen == {"failed"}


async def test_status_after_a_reload(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, loaded_entry: MockConfigEntry
) -> None:
    """A restart does not make the sync status unknown."""
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    await advance(hass, frozen, timedelta(seconds=30), step=TEN_S)
    sync_status_ok(hass)


# Plans another app (or Tesla) may leave on the Powerwall: objects, but not Tesla's shape.
MALFORMED_HELD = [
    pytest.param({"code": "OTHER:APP", "name": "Weird", "seasons": "nope"}, id="seasons-text"),
    pytest.param(
        {
            "code": "OTHER:APP",
            "seasons": {"S": {"tou_periods": {"P": {"periods": [{"fromHour": "six"}]}}}},
        },
        id="hour-text",
    ),
    pytest.param(
        {"code": "OTHER:APP", "seasons": {"S": ["not", "an", "object"]}}, id="season-list"
    ),
]


@pytest.mark.parametrize("held", MALFORMED_HELD)
async def test_malformed_plan_on_the_powerwall_at_setup(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    uncaught: Uncaught,
    held: dict[str, Any],
) -> None:
    """Whatever plan the Powerwall holds, the entry starts and replaces it with ours."""
    tesla.info["tariff_content_v2"] = held
    state = await _setup(hass, config_entry)
    assert uncaught.errors == []
    assert state is ConfigEntryState.LOADED
    assert len(tesla.tariff_writes) == 1
    all_writes_valid(tesla)
    assert_clean_logs(caplog)


@pytest.mark.parametrize("held", MALFORMED_HELD)
async def test_malformed_plan_on_the_powerwall_while_running(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    uncaught: Uncaught,
    held: dict[str, Any],
) -> None:
    """Another app writes a malformed plan; the read-back sees it: no traceback, and the
    entities stay."""
    caplog.clear()
    tesla.store_tariff = lambda _plan: held  # what the Powerwall keeps of the next write
    tesla.info["tariff_content_v2"] = held
    amber.price_fn = bumped_price
    await advance_to(hass, frozen, at(14, 8), step=MINUTE)  # write at 14:06:30, read back
    assert uncaught.errors == []
    assert_clean_logs(caplog)
    assert_available(hass, [*SITE_INFO_ENTITIES, "sensor.home_powerwall_powerwall_plan_price"])
