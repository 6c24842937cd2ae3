"""Rows, fixtures and checks shared by the fault matrix (tests/test_faults.py) and the action
fuzzing (tests/test_action_fuzz.py).

A row is one way an outside service can misbehave (a status, a broken body, a dropped
connection); `Row.fault` is what `FakeService.fail` needs to produce it. The checks say what every
row must leave behind: entity states, at most one log line per failing source and no traceback,
no secret anywhere a user or a log reader could see it, and the repair issues and reauth flows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import json
import logging
import socket
from typing import Any
from unittest.mock import Mock

import aiohttp
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.tesla_amber_sync.const import DOMAIN

from .fakes import (
    AMBER_TOKEN,
    SYDNEY,
    TESLEMETRY_TOKEN,
    FakeService,
    connection_refused,
    default_price,
)
from .flow_helpers import CLIENT_SECRET

OUR_LOGGERS = "custom_components.tesla_amber_sync"
HARNESS_LOGGERS = "pytest_homeassistant_custom_component"

# Everything that must never reach a log line, an entity, an error or an action response.
FLEET_ACCESS = "fleet-access-token-0123456789"
FLEET_REFRESH = "fleet-refresh-token-0123456789"
FLEET_NEW_ACCESS = "fleet-access-token-NEW-98765"
FLEET_NEW_REFRESH = "fleet-refresh-token-NEW-98765"
SECRETS = (
    AMBER_TOKEN,
    TESLEMETRY_TOKEN,
    FLEET_ACCESS,
    FLEET_REFRESH,
    FLEET_NEW_ACCESS,
    FLEET_NEW_REFRESH,
    CLIENT_SECRET,
)

# --- entities -------------------------------------------------------------------------------------

STATUS = "sensor.home_powerwall_sync_status"
PRICE_ENTITIES = (
    "sensor.amber_electric_general_price",
    "sensor.amber_electric_feed_in_price",
    "sensor.amber_electric_renewables",
    "sensor.amber_electric_price_spike",
    "binary_sensor.amber_electric_demand_window",
)
LIVE_ENTITIES = (
    "sensor.home_powerwall_battery_level",
    "sensor.home_powerwall_battery_power",
    "sensor.home_powerwall_solar_power",
    "sensor.home_powerwall_grid_power",
    "sensor.home_powerwall_home_load",
    "binary_sensor.home_powerwall_grid_connected",
)
SITE_INFO_ENTITIES = (
    "number.home_powerwall_backup_reserve",
    "select.home_powerwall_operation_mode",
    "select.home_powerwall_grid_export",
    "switch.home_powerwall_grid_charging",
    "switch.home_powerwall_storm_watch",
)


def snapshot(hass: HomeAssistant, entity_ids: Iterable[str]) -> dict[str, str]:
    """The state strings of `entity_ids` (each must exist)."""
    out: dict[str, str] = {}
    for entity_id in entity_ids:
        state = hass.states.get(entity_id)
        assert state is not None, f"{entity_id} does not exist"
        out[entity_id] = state.state
    return out


def assert_unavailable(hass: HomeAssistant, entity_ids: Iterable[str]) -> None:
    """Every one of them shows unavailable."""
    states = snapshot(hass, entity_ids)
    wrong = {k: v for k, v in states.items() if v != STATE_UNAVAILABLE}
    assert not wrong, f"should be unavailable: {wrong}"


def assert_available(hass: HomeAssistant, entity_ids: Iterable[str]) -> None:
    """None of them shows unavailable."""
    states = snapshot(hass, entity_ids)
    wrong = [k for k, v in states.items() if v == STATE_UNAVAILABLE]
    assert not wrong, f"should be available: {wrong}"


# --- rows -----------------------------------------------------------------------------------------


def dns_error() -> BaseException:
    """What aiohttp raises when the host name does not resolve."""
    os_error = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    cls = getattr(aiohttp, "ClientConnectorDNSError", None)
    if cls is not None:
        return cls(Mock(), os_error)  # type: ignore[no-any-return]
    return aiohttp.ClientConnectorError(Mock(), os_error)


def amber_error(status: int) -> dict[str, Any]:
    """Amber's error body, echoing the key back (the client must scrub it)."""
    return {"message": f"HTTP {status} for key {AMBER_TOKEN}"}


def tesla_error(error: str) -> dict[str, Any]:
    """Tesla's error envelope, echoing the token back (the client must scrub it)."""
    return {
        "response": None,
        "error": f"{error} (token {TESLEMETRY_TOKEN})",
        "error_description": f"Bearer {TESLEMETRY_TOKEN} refused",
    }


HTML = "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>"
TRUNCATED = '[{"type": "ActualInterval", "duration": 5, "perKwh": 12.3, "endTi'


@dataclass(frozen=True)
class Row:
    """One failure mode of an outside service.

    `kind` says what the integration should make of it:
    transient (retry quietly), auth (reauth), payment (402 repair), scopes (403),
    gone (the thing asked about does not exist), rate_limited (429).
    """

    id: str
    kind: str
    status: int | None = None
    body: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    exc: Callable[[], BaseException] | None = None
    wait: float | None = None  # 429: how long the row asks us to wait
    first: int | None = None  # a status answered once before `status` (e.g. 408 then 540)

    def apply(self, fake: FakeService, op: str, service: str) -> None:
        """Make `op` of `fake` fail this way until the faults are cleared."""
        if self.first is not None:
            fake.fail(op, **{**self.fault(service, self.first), "times": 1})
        fake.fail(op, **self.fault(service))

    def fault(self, service: str, status: int | None = None) -> dict[str, Any]:
        """Keyword arguments for `FakeService.fail` (until cleared)."""
        status = status if status is not None else self.status
        kwargs: dict[str, Any] = {"times": -1, "headers": dict(self.headers)}
        if self.exc is not None:
            kwargs["exc"] = self.exc()
            return kwargs
        kwargs["status"] = status
        if self.text is not None:
            kwargs["text"] = self.text
        elif self.body is not None:
            kwargs["body"] = self.body
        elif status is not None and status >= 400:
            kwargs["body"] = (
                amber_error(status) if service == "amber" else tesla_error(f"HTTP {status}")
            )
        return kwargs


def http_rows() -> list[Row]:
    """The rows every call meets: connection trouble, statuses, unusable bodies."""
    return [
        Row("timeout", "transient", exc=TimeoutError),
        Row("refused", "transient", exc=connection_refused),
        Row("dns", "transient", exc=dns_error),
        Row("401", "auth", status=401),
        Row("402", "payment", status=402),
        Row("403", "scopes", status=403),
        Row("404", "gone", status=404),
        Row("408-then-540", "transient", status=540, first=408),  # the gateway is offline
        Row("421", "transient", status=421),
        Row("422", "transient", status=422),
        Row(
            "429-retry-after", "rate_limited", status=429, headers={"Retry-After": "400"}, wait=400
        ),
        Row(
            "429-ratelimit-reset",
            "rate_limited",
            status=429,
            headers={"RateLimit-Reset": "400", "RateLimit-Remaining": "0"},
            wait=400,
        ),
        Row("429-bare", "rate_limited", status=429, body={"message": "Too Many Requests"}),
        Row("500", "transient", status=500),
        Row("502", "transient", status=502, text=HTML),
        Row("503", "transient", status=503),
        Row("html", "transient", status=200, text=HTML),
        Row("truncated-json", "transient", status=200, text=TRUNCATED),
    ]


def row_params(
    rows: Iterable[Row],
    skip: Iterable[str] = (),
    xfail: dict[str, str] | None = None,
) -> list[Any]:
    """`pytest.param`s with the row id; rows in `xfail` are strict expected failures (bugs)."""
    xfail = xfail or {}
    params = []
    for row in rows:
        if row.id in skip:
            continue
        marks = (
            [pytest.mark.xfail(strict=True, reason=f"bug: {xfail[row.id]}")]
            if row.id in xfail
            else []
        )
        params.append(pytest.param(row, id=row.id, marks=marks))
    return params


# --- logs and secrets ---------------------------------------------------------------------------


def loud_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """WARNING and above from the integration's own loggers."""
    return [
        r for r in caplog.records if r.name.startswith(OUR_LOGGERS) and r.levelno >= logging.WARNING
    ]


def source_of(record: logging.LogRecord) -> str:
    """What a record is about: the coordinator it names ("<name> (<id>)"), else its logger."""
    message = record.getMessage()
    for label in (
        "Amber prices",
        "Powerwall live status",
        "Powerwall site info",
        "Powerwall energy",
    ):
        if f"{label} (" in message:
            return label
    return record.name.rsplit(".", 1)[-1]


def assert_one_line_per_source(
    caplog: pytest.LogCaptureFixture, expected: dict[str, int] | None = None
) -> None:
    """No source logs twice (one line per failure episode, not one per poll); with `expected`,
    exactly those sources log, that many times."""
    loud = loud_records(caplog)
    counts = Counter(source_of(r) for r in loud)
    shown = [f"{r.name} {r.levelname}: {r.getMessage()}" for r in loud]
    if expected is not None:
        assert dict(counts) == expected, shown
    assert all(count == 1 for count in counts.values()), shown


def coordinator_debug_traceback(record: logging.LogRecord) -> bool:
    """The DEBUG "Full error:" record (with the exception's traceback) that Home Assistant's
    DataUpdateCoordinator adds after its one-line error on each failed refresh (2026.11 does,
    2025.4 does not). Only debug logging for the integration shows it; the one-line error before
    it is what these checks are about."""
    return (
        record.levelno == logging.DEBUG
        and record.msg == "Full error:"
        and record.pathname.endswith("helpers/update_coordinator.py")
    )


def assert_no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """No record at all carries a traceback: failures are explained, not dumped (except at
    DEBUG level by Home Assistant's coordinator, see `coordinator_debug_traceback`)."""
    dumped = [
        f"{r.name}: {r.getMessage()[:300]}"
        for r in caplog.records
        if not coordinator_debug_traceback(r)
        and (
            (r.exc_info is not None and r.exc_info[0] is not None)
            or "Task exception was never retrieved" in r.getMessage()
            or "Traceback (most recent call last)" in r.getMessage()
        )
    ]
    assert not dumped, dumped


class Uncaught:
    """Exceptions escaping into the event loop (Home Assistant's test fixture would re-raise
    them at teardown; an expected failure must fail in the test, not after it)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.errors: list[str] = []
        self._loop = hass.loop
        self._previous = hass.loop.get_exception_handler()
        hass.loop.set_exception_handler(self._handle)

    def _handle(self, _loop: Any, context: dict[str, Any]) -> None:
        error = context.get("exception")
        self.errors.append(repr(error) if error is not None else str(context.get("message")))

    def restore(self) -> None:
        """Hand the loop back to the previous handler."""
        self._loop.set_exception_handler(self._previous)


def secrets_in(text: str) -> list[str]:
    """Which secrets appear in `text`."""
    return [secret for secret in SECRETS if secret in text]


def assert_no_secrets_logged(caplog: pytest.LogCaptureFixture) -> None:
    """No secret in any message (any level, any logger) or in any attached traceback."""
    leaks = []
    for record in caplog.records:
        if record.name.startswith(HARNESS_LOGGERS):
            continue  # the test harness's in-memory storage, not Home Assistant or us
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += repr(record.exc_info[1])
        if secrets_in(text):
            leaks.append(f"{record.name}: {text}")
    assert not leaks, leaks


def assert_no_secrets_in_states(hass: HomeAssistant) -> None:
    """No entity state or attribute shows a secret."""
    for state in hass.states.async_all():
        text = json.dumps(state.as_dict(), default=str)
        assert not secrets_in(text), state.entity_id


def assert_clean_logs(caplog: pytest.LogCaptureFixture) -> None:
    """No traceback and no secret anywhere in the log."""
    assert_no_tracebacks(caplog)
    assert_no_secrets_logged(caplog)


# --- repairs and reauth ---------------------------------------------------------------------------


class IssueLog:
    """Every repair issue of this integration created while it listens (flapping shows as the
    same id created more than once)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.created: list[str] = []
        hass.bus.async_listen(ir.EVENT_REPAIRS_ISSUE_REGISTRY_UPDATED, self._on_update)

    @callback
    def _on_update(self, event: Event[ir.EventIssueRegistryUpdatedData]) -> None:
        if event.data["action"] == "create" and event.data["domain"] == DOMAIN:
            self.created.append(event.data["issue_id"])


def issue_ids(hass: HomeAssistant) -> set[str]:
    """Ids of this integration's open repair issues."""
    return {issue_id for (domain, issue_id) in ir.async_get(hass).issues if domain == DOMAIN}


def reauth_steps(hass: HomeAssistant, entry_id: str | None = None) -> list[str]:
    """Step ids of the reauth flows in progress (for one entry, when given)."""
    return [
        flow["step_id"]
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
        and (entry_id is None or flow["context"].get("entry_id") == entry_id)
    ]


def reauth_flow_id(hass: HomeAssistant) -> str:
    """The one reauth flow in progress."""
    flows = [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
    ]
    assert len(flows) == 1, flows
    return str(flows[0]["flow_id"])


# --- plans ----------------------------------------------------------------------------------------


def rates(body: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Buy and sell by slot label ("HH:MM") of a pushed Amber plan."""
    season = next(iter(body["seasons"]))
    buy = body["energy_charges"][season]["rates"]
    sell = body["sell_tariff"]["energy_charges"][season]["rates"]

    def label(name: str) -> str:
        return name[len("PERIOD_") :].replace("_", ":")

    return {label(k): v for k, v in buy.items()}, {label(k): v for k, v in sell.items()}


def expected_rates(
    now: datetime, price: Callable[[str, datetime], float]
) -> tuple[dict[str, float], dict[str, float]]:
    """The rolling plan the README's rules give for half-hour-flat prices, worked out on its own:
    slots already past today carry tomorrow's price; sell is minus feed-in, clamped at 0 and
    capped at buy; buy is clamped at 0."""
    local = now.astimezone(SYDNEY)
    current = local.replace(minute=local.minute - local.minute % 30, second=0, microsecond=0)
    buy: dict[str, float] = {}
    sell: dict[str, float] = {}
    for index in range(48):
        start = current + timedelta(minutes=30 * index)
        b = max(round(price("general", start) / 100, 4), 0.0)
        s = min(max(round(-price("feedIn", start) / 100, 4), 0.0), b)
        buy[f"{start:%H:%M}"], sell[f"{start:%H:%M}"] = b, s
    return buy, sell


def bumped_price(channel: str, start: datetime) -> float:
    """The fake's default prices, 1 c dearer: any plan built from them differs from the first."""
    return round(default_price(channel, start) + 1.0, 2)


def wiggly_price(channel: str, start: datetime) -> float:
    """Prices that change every 5 minutes: every interval brings a new plan to push."""
    return round(default_price(channel, start) + (start.minute % 30) * 0.07, 2)
