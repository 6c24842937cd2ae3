"""Fourteen simulated days of the real integration against faulty fakes, in a few minutes.

From Friday 28 March 2025 (Sydney) to 11 April: the demand billing day (1 April) and the end of
daylight saving (6 April, 03:00 AEDT -> 02:00 AEST) fall inside. Time jumps from timer to timer,
so every timer fires at its own instant. Amber's prices come from the simulator's seeded model
(negative middays, evening spikes flagged as such). About one HTTP call in ten fails at random
(server errors, HTML, truncated JSON, timeouts, refused connections, 429 with Retry-After,
garbage prices, a three-hour hole in the forecast); once, Teslemetry rejects the token and the
user re-authenticates with a new one. Home Assistant "restarts" (the entry is unloaded and set up
again after 45 s) every few days, once in the middle of a demand-window half hour and once in
the repeated hour of the DST change. Debug logging is on throughout.

Asserted:
- every plan the Powerwall accepted passes the validator and is exactly the plan the rules give
  for the prices Amber served at the poll before it (re-built here; the current slot's price is
  also checked by hand), never built after a failed or garbage poll, never closer than 4 minutes
  to the previous one and never identical to it;
- no unhandled exception (log records, the event loop's exception handler);
- with faults stopped for the last six hours, a push comes within one cycle, every interval
  after that is synced on time, sync_status is ok/unchanged and no repair issue of ours remains;
- the demand peak equals an independent reference (sample-and-hold over what the Powerwall
  reported) at the end of each day and after each restart, its count of half hours too (nothing
  lost, nothing counted twice), and it resets on the billing day;
- memory held by the integration's own code (tracemalloc, filtered to its files, harness buffers
  cleared; traced over a three-hour stretch on day 2 and on day 14, see MEMORY_STRETCH) does not
  grow from day 2 to day 14, nor do Home Assistant's bus listeners or the loop's timers;
- no token appears in any log record, diagnostics, action response, exception message, entity
  state or attribute, or repair issue.

The summary is printed (`pytest -s`) and carried in the assertion message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
import gc
import json
import logging
import random
import time
import tracemalloc
from typing import Any
from unittest.mock import NonCallableMock

import freezegun
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir, storage
from homeassistant.util import dt as dt_util
from homeassistant.util.async_ import get_scheduled_timer_handles
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from bench.time_travel import next_timer
from custom_components.tesla_amber_sync.api.models import PriceInterval
from custom_components.tesla_amber_sync.const import DOMAIN
from custom_components.tesla_amber_sync.demand import DemandConfig
from custom_components.tesla_amber_sync.diagnostics import async_get_config_entry_diagnostics
from custom_components.tesla_amber_sync.issues import ISSUE_PRICES_UNAVAILABLE, has_issue
from custom_components.tesla_amber_sync.tariff import BuiltTariff, TariffBuildError
from custom_components.tesla_amber_sync.tou import fingerprint, is_our_plan, rates_at
from custom_components.tesla_amber_sync.validate import TariffValidationError, validate_tariff
from simulator.prices import SPIKE_SPOT, PriceModel

from .conftest import entry_data
from .fakes import AMBER_TOKEN, ENERGY_SITE_ID, TESLEMETRY_TOKEN, user_tariff
from .soak_helpers import (
    SYDNEY,
    Accepted,
    Chaos,
    ChaosAmber,
    ChaosTesla,
    DemandReference,
    GridProfile,
    SoakLogScanner,
    expected_plan,
    parsed_intervals,
    settle,
    step_to,
)

# Coverage's tracer stays off while the soak runs (200 s alone, 280 s traced): it checks
# behaviour, and the rest of the suite covers every line it runs.
pytestmark = pytest.mark.no_cover

SEED = 20250328
START = datetime(2025, 3, 28, 9, 2, 30, tzinfo=SYDNEY)  # a Friday morning, AEDT
DAYS = 14
END = START + timedelta(days=DAYS)
FAULTS_STOP = END - timedelta(hours=6)  # the last six hours are fault-free
DAY_2 = START + timedelta(days=2)
# Memory is traced in two three-hour stretches ending at the same clock time (09:02), on day 2 and
# at the end, both in six fault-free hours (faults pause on day 2 as they stop at the end), so that
# neither holds a recent fault's traceback. tracemalloc slows allocation-heavy code more than
# tenfold here (`.venv/bin/python bench/tracemalloc_cost.py`): tracing all fourteen days would
# take half an hour. A stretch measures the memory our code allocated during it and still holds,
# halfway and at the end. The working data is rebuilt every cycle, so the second half adds next to
# nothing, while a leak adds what it leaked in 90 minutes (a kept plan, a kept price list: tens of
# KiB); something that grows with history (a list re-copied each cycle) holds more on day 14 than
# on day 2. Bus listeners and loop timers, the other usual leak, are counted at the same moments.
MEMORY_STRETCH = timedelta(hours=3)
MEMORY_WINDOWS = (("day 2", DAY_2), ("day 14", END))
QUIET = timedelta(hours=6)  # fault-free hours before each memory window ends
ROTATED_TESLEMETRY_TOKEN = "teslemetry_rotated_secret_token_klmnopqrst"
SECRETS = {AMBER_TOKEN, TESLEMETRY_TOKEN, ROTATED_TESLEMETRY_TOKEN}

STATUS = "sensor.home_powerwall_sync_status"
PEAK = "sensor.home_powerwall_peak_demand"
COST = "sensor.home_powerwall_demand_charge_cost"
BAD_STATUSES = {"failed", "prices_unavailable", "waiting_rate_limit"}
GOOD_STATUSES = {"ok", "unchanged"}

LIVE_INTERVAL = 300  # seconds: fewer timer steps; demand still sees every half hour fully
DEMAND_RATE = 12.5  # $/kW/month
OPTIONS: dict[str, Any] = {
    "live_status_interval": LIVE_INTERVAL,
    "demand_enabled": True,
    "demand_rate": DEMAND_RATE,
    "demand_rate_basis": "per_kw_month",
    "demand_window_source": "fixed",
    "demand_start": "16:00",
    "demand_end": "21:00",
    "demand_days": "all",
    "demand_billing_day": 1,
    "demand_in_plan": "demand_rates",
}
WRITE_SPACING = timedelta(minutes=4)
MEMORY_SLACK = 32 * 1024  # bytes: dict and list resizes, which objects are current
TRACE_FRAMES = 4
FILTER = "*custom_components/tesla_amber_sync/*"
DEBUG_LOGGERS = ("custom_components.tesla_amber_sync", "homeassistant.helpers.update_coordinator")


def real_seconds() -> float:
    """Wall-clock seconds (freezegun freezes `time.perf_counter`)."""
    return float(freezegun.api.real_perf_counter())  # type: ignore[attr-defined]


def local(month: int, day: int, hour: int, minute: int = 0, second: int = 0, fold: int = 0) -> Any:
    """A Sydney wall-clock moment in 2025."""
    return datetime(2025, month, day, hour, minute, second, tzinfo=SYDNEY, fold=fold)


# Restarts: mid-half-hour in the window before the billing day, just before midnight, in the
# repeated hour of the DST change (the second 02:40), and in the window again.
RESTARTS = (
    local(3, 31, 17, 14, 10),
    local(4, 3, 23, 50, 0),
    local(4, 6, 2, 40, 0, fold=1),
    local(4, 9, 18, 45, 20),
)
TOKEN_REJECTED = local(4, 4, 11, 2, 50)  # the next live poll gets a 401
REAUTH_AT = local(4, 4, 11, 20, 0)  # the user pastes a new token


def spike_statuses(model: PriceModel) -> dict[datetime, str]:
    """FakeAmber's spike flags from the model: 5-minute and 30-minute interval starts."""
    flags: dict[datetime, str] = {}
    cursor = (START - timedelta(days=1)).astimezone(dt_util.UTC)
    cursor = cursor.replace(minute=cursor.minute - cursor.minute % 30, second=0)
    stop = END + timedelta(days=2)
    while cursor < stop:
        if model.final_spot("NSW1", cursor) >= SPIKE_SPOT:
            flags[cursor] = "spike"
            half = cursor.replace(minute=cursor.minute - cursor.minute % 30)
            flags[half] = "spike"
        cursor += timedelta(minutes=5)
    return flags


def current_rates(body: list[dict[str, Any]], now: datetime) -> dict[str, tuple[float, str]]:
    """(perKwh, spikeStatus) of the current 5-minute interval per channel, when usable."""
    found: dict[str, tuple[float, str]] = {}
    for interval in parsed_intervals(body):
        if interval.interval_type == "CurrentInterval" and interval.start <= now < interval.end:
            found[interval.channel] = (interval.per_kwh, interval.spike_status)
    return found


def dollars(cents: float) -> float:
    """c/kWh as the plan's $/kWh (4 decimals, half away from zero)."""
    return float((Decimal(repr(cents)) / 100).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def strings(value: Any) -> list[str]:
    """Every string in a nested structure (keys included)."""
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    return found


def clear_harness_buffers(aioclient_mock: AiohttpClientMocker, caplog: Any) -> None:
    """Forget what the test harness records, so that it neither grows nor counts as ours.

    Captured log records (the scanner has seen each one already), the HTTP mock's call list, and
    the call records of the storage mocks: `mock_storage` patches `Store._async_write_data` with an
    autospec mock that keeps every call's arguments, i.e. every state the integration saved.
    """
    caplog.clear()
    aioclient_mock.mock_calls.clear()
    for name in ("_async_load", "_async_write_data", "async_remove"):
        patched = getattr(storage.Store, name, None)
        recorder = getattr(patched, "mock", patched)
        if isinstance(recorder, NonCallableMock):
            recorder.reset_mock()


@dataclass
class Soak:
    """Everything the soak records (small: counters and findings, not logs or bodies)."""

    hass: HomeAssistant
    freezer: FrozenDateTimeFactory
    entry: MockConfigEntry
    amber: ChaosAmber
    tesla: ChaosTesla
    chaos: Chaos
    scanner: SoakLogScanner
    demand: DemandConfig
    reference: DemandReference = field(default_factory=DemandReference)
    failures: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    loop_errors: list[str] = field(default_factory=list)
    pushes: int = 0
    identical_writes: int = 0
    restores: int = 0
    restarts: int = 0
    reauths: int = 0
    recoveries: int = 0
    status_changes: Counter[str] = field(default_factory=Counter)
    writes_after_bad_poll: int = 0
    served_kinds: Counter[str] = field(default_factory=Counter)
    peaks: dict[str, float | None] = field(default_factory=dict)
    checks: Counter[str] = field(default_factory=Counter)
    memory: dict[str, int] = field(default_factory=dict)
    memory_snapshots: dict[str, tracemalloc.Snapshot] = field(default_factory=dict)
    handles: dict[str, int] = field(default_factory=dict)
    action_errors: list[str] = field(default_factory=list)
    pushed_first_seen: dict[datetime, datetime] = field(default_factory=dict)
    steps: int = 0
    slots_by_hour: Counter[int] = field(default_factory=Counter)  # by the hour of the build
    beyond_by_hour: Counter[int] = field(default_factory=Counter)
    stale_issue_days: set[str] = field(default_factory=set)
    _last_write: Accepted | None = None
    _seen_exceptions: set[int] = field(default_factory=set)

    # --- bookkeeping after every step -----------------------------------------------------------

    def fail(self, message: str) -> None:
        """Record a failure (the test fails at the end, with the summary)."""
        self.failures.append(f"{dt_util.as_local(dt_util.utcnow()):%m-%d %H:%M:%S}: {message}")

    def scan(self, where: str, *values: Any) -> None:
        """Look for tokens in anything (strings found by walking it)."""
        for value in values:
            for text in strings(value) if not isinstance(value, str) else [value]:
                for secret in SECRETS:
                    if secret in text:
                        self.leaks.append(f"{where}: {text[:200]}")

    def scan_exception(self, where: str, err: BaseException | None) -> None:
        """An exception's message and its causes."""
        seen = 0
        while err is not None and seen < 10:
            self.scan(where, str(err), repr(err))
            err = err.__cause__ or err.__context__
            seen += 1

    def after_step(self) -> None:
        """Checks that run whenever time has moved."""
        self.steps += 1
        for write in self.tesla.accepted:
            self.check_write(write)
        self.tesla.accepted.clear()
        if self.entry.state is not ConfigEntryState.LOADED:
            return
        data = self.entry.runtime_data
        for coordinator in (data.prices, data.live, data.site_info, data.energy):
            err = getattr(coordinator, "last_exception", None)
            if err is not None and id(err) not in self._seen_exceptions:
                self._seen_exceptions.add(id(err))
                if len(self._seen_exceptions) > 1000:
                    self._seen_exceptions.clear()
                self.scan_exception("coordinator exception", err)
        now = dt_util.utcnow()
        if has_issue(self.hass, ISSUE_PRICES_UNAVAILABLE, self.entry.entry_id):
            self.stale_issue_days.add(f"{now.astimezone(SYDNEY):%m-%d}")
        if now >= FAULTS_STOP:
            interval = data.sync.memory.pushed_interval
            if interval is not None and interval not in self.pushed_first_seen:
                self.pushed_first_seen[interval] = now

    def check_write(self, write: Accepted) -> None:
        """A plan the Powerwall accepted: valid, from the prices served just before, spaced."""
        self.pushes += 1
        tariff = write.tariff
        try:
            validate_tariff(tariff)
        except TariffValidationError as err:
            self.fail(f"pushed plan fails validation: {err}")
        previous = self._last_write
        self._last_write = write
        if previous is not None:
            if write.at - previous.at < WRITE_SPACING:
                self.fail(f"writes {write.at - previous.at} apart (at least 4 minutes)")
            if fingerprint(previous.tariff) == fingerprint(tariff):
                self.identical_writes += 1
        if not is_our_plan(tariff):
            self.restores += 1
            if tariff != user_tariff():
                self.fail("a foreign plan was pushed that is not the user's original plan")
            return
        served = write.prices  # the last `prices/current` answer served before the write
        if served is None or served.body is None:
            self.writes_after_bad_poll += 1
            kind = served.kind if served else "nothing"
            self.fail(f"plan pushed right after a failed Amber poll ({kind})")
            return
        self.checks[f"write after {served.kind} poll"] += 1
        try:
            expected, built = expected_plan(served.body, write.at, self.demand, write.history)
        except TariffBuildError as err:
            self.writes_after_bad_poll += 1
            self.fail(f"plan pushed from prices the rules refuse ({served.kind}): {err}")
            return
        if fingerprint(expected) != fingerprint(tariff):
            self.fail(
                f"pushed plan differs from the one the prices served at "
                f"{dt_util.as_local(served.at):%H:%M:%S} ({served.kind}) give"
            )
            return
        self.check_current_slot(tariff, served.body, write.at)
        self.check_beyond_horizon(built)

    def check_beyond_horizon(self, built: BuiltTariff) -> None:
        """Slots past Amber's forecast: counted by clock hour, and every settled interval they
        took a price from is one Amber really served (its price as Amber had it)."""
        for slot in built.slots:
            hour = built.now.astimezone(SYDNEY).hour
            self.slots_by_hour[hour] += 1
            if slot.source != "beyond_horizon":
                continue
            self.beyond_by_hour[hour] += 1
            pairs = [("general", s) for s in slot.buy_sources]
            pairs += [("feedIn", s) for s in slot.sell_sources]
            for channel, source in pairs:
                if source.interval_type != "ActualInterval":
                    continue
                minutes = int((source.end - source.start).total_seconds() // 60)
                served = self.amber.interval_json(channel, source.start, minutes, "ActualInterval")
                self.checks["beyond-horizon history checked"] += 1
                if served["perKwh"] != source.cents:
                    self.fail(
                        f"beyond-horizon slot {slot.label} used {source.cents} c for "
                        f"{source.start:%m-%d %H:%M}Z; Amber served {served['perKwh']} c"
                    )

    def check_current_slot(
        self, tariff: dict[str, Any], body: list[dict[str, Any]], now: datetime
    ) -> None:
        """By hand: the slot holding `now` carries the current 5-minute price (clamped, capped)."""
        current = current_rates(body, now)
        if "general" not in current or "feedIn" not in current:
            self.checks["current slot not checked (garbage current interval)"] += 1
            return
        cents, spike = current["general"]
        buy = max(dollars(cents), 0.0)
        sell = min(max(-dollars(current["feedIn"][0]), 0.0), buy)
        rate = rates_at(tariff, now.astimezone(SYDNEY))
        if spike in ("potential", "spike"):
            ok = rate.buy is not None and rate.buy >= buy
        else:
            ok = rate.buy == buy
        if not ok or rate.sell != sell:
            self.fail(
                f"current slot holds buy {rate.buy} sell {rate.sell}; Amber's current interval "
                f"says buy {buy} sell {sell} (spike {spike})"
            )
        self.checks["current slot checked"] += 1

    @callback
    def on_state_changed(self, event: Event[EventStateChangedData]) -> None:
        """Every entity state: no token anywhere; sync status transitions counted."""
        new = event.data["new_state"]
        if new is None:
            return
        self.scan(f"state of {new.entity_id}", new.state, dict(new.attributes))
        if new.entity_id == STATUS:
            old = event.data["old_state"]
            before = old.state if old is not None else None
            self.status_changes[f"{before}->{new.state}"] += 1
            if before in BAD_STATUSES and new.state in GOOD_STATUSES:
                self.recoveries += 1

    def on_live_sample(self, at: datetime, watts: float) -> None:
        """A live-status answer: the tracker sees it only while the entry runs."""
        if self.entry.state is ConfigEntryState.LOADED:
            self.reference.add(at, watts)

    # --- time travel -----------------------------------------------------------------------------

    async def run_until(self, target: datetime) -> None:
        """Let time pass to `target`, timer by timer."""
        loop = self.hass.loop
        end = target.timestamp()
        while (when := next_timer(loop)) is not None and when <= end:
            await step_to(loop, self.freezer, max(when, time.time()))
            self.after_step()
        self.freezer.move_to(target)
        await settle(loop)
        self.after_step()

    # --- events ----------------------------------------------------------------------------------

    async def restart(self) -> None:
        """Home Assistant restarts: unload, 45 s down, set up again (retried as HA would)."""
        hass = self.hass
        assert await hass.config_entries.async_unload(self.entry.entry_id)
        await hass.async_block_till_done()
        await self.run_until(dt_util.utcnow() + timedelta(seconds=45))
        await hass.config_entries.async_setup(self.entry.entry_id)
        await hass.async_block_till_done()
        await self.wait_loaded()
        self.restarts += 1

    async def wait_loaded(self) -> None:
        """Setup may meet a fault and be retried by Home Assistant a few seconds later."""
        deadline = dt_util.utcnow() + timedelta(minutes=15)
        while self.entry.state is not ConfigEntryState.LOADED and dt_util.utcnow() < deadline:
            await self.run_until(dt_util.utcnow() + timedelta(seconds=5))
        if self.entry.state is not ConfigEntryState.LOADED:
            self.fail(f"entry not loaded after a restart: {self.entry.state}")

    async def reauth(self) -> None:
        """The user answers the reauth request with a new Teslemetry token."""
        hass = self.hass
        flows = [
            f
            for f in hass.config_entries.flow.async_progress()
            if f["context"]["source"] == SOURCE_REAUTH
        ]
        if len(flows) != 1:
            self.fail(f"expected one reauth flow after the rejected token, found {len(flows)}")
            return
        flow = flows[0]
        if flow["step_id"] != "reauth_teslemetry":
            self.fail(f"reauth asks {flow['step_id']}, not for the Teslemetry token")
            return
        for _ in range(10):  # the token check itself may meet a fault
            result = await hass.config_entries.flow.async_configure(
                flow["flow_id"], {"teslemetry_api_token": ROTATED_TESLEMETRY_TOKEN}
            )
            self.scan("reauth flow result", json.loads(json.dumps(result, default=str)))
            if result["type"] == "abort":
                if result["reason"] != "reauth_successful":
                    self.fail(f"reauth aborted: {result['reason']}")
                break
        await hass.async_block_till_done()
        await self.wait_loaded()
        if self.entry.data["teslemetry_api_token"] != ROTATED_TESLEMETRY_TOKEN:
            self.fail("the new token was not stored")
        self.reauths += 1

    async def call_actions(self) -> None:
        """The actions a user or automation runs; responses and errors are scanned."""
        self.checks["action rounds"] += 1
        calls: list[tuple[str, dict[str, Any]]] = [
            ("sync_now", {}),
            ("sync_tou_schedule", {}),
            ("preview_tariff", {}),
            ("dashboard", {}),
        ]
        for service, data in calls:
            try:
                response = await self.hass.services.async_call(
                    DOMAIN, service, data, blocking=True, return_response=True
                )
            except HomeAssistantError as err:
                self.action_errors.append(f"{service}: {err}")
                self.scan_exception(f"{service} error", err)
                continue
            self.scan(f"{service} response", json.loads(json.dumps(response, default=str)))
            if service == "preview_tariff" and response is not None:
                validate_tariff(response["tariff"])
            self.checks[f"action {service}"] += 1
        self.after_step()

    async def scan_everything(self, where: str) -> None:
        """Diagnostics, every entity, every repair issue of ours."""
        hass = self.hass
        if self.entry.state is ConfigEntryState.LOADED:
            diagnostics = await async_get_config_entry_diagnostics(hass, self.entry)
            self.scan(f"diagnostics ({where})", json.loads(json.dumps(diagnostics, default=str)))
        for state in hass.states.async_all():
            self.scan(f"entity {state.entity_id} ({where})", state.state, dict(state.attributes))
        for (domain, issue_id), issue in ir.async_get(hass).issues.items():
            if domain == DOMAIN:
                self.scan(f"issue {issue_id}", issue.translation_placeholders or {})

    def check_demand(self, where: str) -> None:
        """The peak sensor, the count of half hours and the cost against the reference."""
        now = dt_util.utcnow()
        local_now = now.astimezone(SYDNEY)
        cycle = datetime(local_now.year, local_now.month, 1, tzinfo=SYDNEY)
        peak, counted, least = self.reference.peak(cycle, now - timedelta(seconds=2))
        self.peaks[f"{cycle:%Y-%m}"] = peak
        if least < 1800 - 1:  # a microsecond short from the clock steps is fine
            self.fail(f"reference: a window half hour only {least:.0f} s covered ({where})")
        state = self.hass.states.get(PEAK)
        if state is None:
            self.fail(f"no peak sensor ({where})")
            return
        shown = float(state.state)
        expected = round(peak, 3) if peak is not None else 0.0
        if abs(shown - expected) > 0.0015:
            self.fail(f"peak demand {shown} kW, reference {expected} kW ({where})")
        if state.attributes.get("cycle_start") != cycle.date().isoformat():
            self.fail(f"peak's cycle_start {state.attributes.get('cycle_start')} ({where})")
        tracker = self.entry.runtime_data.demand.tracker
        if tracker.half_hours_counted != counted:
            self.fail(
                f"tracker counted {tracker.half_hours_counted} window half hours, reference "
                f"{counted} ({where})"
            )
        cost = self.hass.states.get(COST)
        expected_cost = round(expected * DEMAND_RATE, 2)
        if cost is None or abs(float(cost.state) - expected_cost) > 0.02:
            self.fail(f"demand cost {cost and cost.state}, expected {expected_cost} ({where})")
        self.checks["demand checks"] += 1

    def start_tracing(self, aioclient_mock: AiohttpClientMocker, caplog: Any) -> None:
        """A memory stretch begins: only what is allocated from now on is traced."""
        clear_harness_buffers(aioclient_mock, caplog)
        gc.collect()
        tracemalloc.start(TRACE_FRAMES)

    def measure_memory(self, label: str, aioclient_mock: AiohttpClientMocker, caplog: Any) -> None:
        """Memory our code allocated since tracing began and still holds; listeners and timers."""
        clear_harness_buffers(aioclient_mock, caplog)
        self.amber._cache.clear()
        gc.collect()
        snapshot = tracemalloc.take_snapshot()
        if label.endswith(" end"):
            tracemalloc.stop()
        # Innermost frame in our files; and any frame in our files (what our code had a library
        # allocate for it, parsed JSON for instance).
        own = snapshot.filter_traces((tracemalloc.Filter(True, FILTER),))
        held = snapshot.filter_traces((tracemalloc.Filter(True, FILTER, all_frames=True),))
        self.memory[label] = sum(stat.size for stat in own.statistics("filename"))
        self.memory[f"{label} (any frame)"] = sum(s.size for s in held.statistics("filename"))
        self.memory_snapshots[label] = own
        self.handles[f"{label}: bus listeners"] = sum(self.hass.bus.async_listeners().values())
        self.handles[f"{label}: timers"] = sum(
            1 for h in get_scheduled_timer_handles(self.hass.loop) if not h.cancelled()
        )

    def check_memory(self) -> None:
        """No growth within a stretch, nor from day 2 to day 14: memory, listeners, timers."""
        memory = self.memory
        for label, _end in MEMORY_WINDOWS:
            half, end = memory.get(f"{label} halfway"), memory.get(f"{label} end")
            if half is None or end is None:
                self.fail(f"memory not measured ({label})")
            elif end - half > MEMORY_SLACK:
                message = f"{label}: {end - half} bytes more after 90 more minutes"
                self.fail(self.memory_report(message, f"{label} halfway", f"{label} end"))
        for kind in ("", " (any frame)"):
            before = memory.get(f"day 2 end{kind}", 0)
            after = memory.get(f"day 14 end{kind}", 0)
            if after - before > max(MEMORY_SLACK, before // 20):
                message = f"day 14 holds {after - before} bytes more than day 2{kind}"
                self.fail(self.memory_report(message, "day 2 end", "day 14 end"))
        for what in ("bus listeners", "timers"):
            before = self.handles.get(f"day 2 end: {what}", 0)
            after = self.handles.get(f"day 14 end: {what}", 0)
            if after > before:
                self.fail(f"{what}: {before} on day 2, {after} on day 14")

    def memory_report(self, message: str, first: str, second: str) -> str:
        """The failure with the lines whose holdings grew most."""
        before, after = self.memory_snapshots.get(first), self.memory_snapshots.get(second)
        top = after.compare_to(before, "lineno")[:8] if before and after else []
        lines = "\n".join(str(stat) for stat in top)
        return f"integration memory: {message}\n{lines}"


async def test_fourteen_days(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    aioclient_mock: AiohttpClientMocker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two weeks of faults, restarts, DST and a billing day; see the module docstring."""
    wall = real_seconds()
    random.seed(SEED)  # Home Assistant's own jitter, for a reproducible run
    scanner = SoakLogScanner(SECRETS)
    # Debug logging on for the whole soak. Our two loggers hand their records to the scanner
    # only (pytest's capture handlers would keep two weeks of records, and their tracebacks'
    # frames, alive); everything else still reaches the root logger, where the scanner also is.
    logging.getLogger().addHandler(scanner)
    saved: list[tuple[logging.Logger, int, bool]] = []
    for name in DEBUG_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(scanner)
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.INFO)
    await hass.config.async_set_time_zone("Australia/Sydney")
    freezer.move_to(START)
    hass.loop.set_debug(False)  # asyncio's slow-callback reports see every clock jump

    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home Powerwall",
        unique_id=str(ENERGY_SITE_ID),
        data=entry_data(),
        options=OPTIONS,
    )
    entry.add_to_hass(hass)

    def token(service: str) -> str:
        key = "amber_api_token" if service == "amber" else "teslemetry_api_token"
        return str(entry.data[key])

    def guard(service: str, op: str, now: datetime) -> bool:
        # Live status never fails in or near the demand window: the reference stays exact.
        if service == "tesla" and op == "live_status":
            minute = now.astimezone(SYDNEY).hour * 60 + now.astimezone(SYDNEY).minute
            return 15 * 60 <= minute < 21 * 60 + 30
        return False

    chaos = Chaos(rng=random.Random(SEED), secrets=token, guard=guard)
    amber = ChaosAmber(chaos)
    model = PriceModel(SEED)
    amber.price_fn = lambda channel, start: model.final_price(channel, start)
    amber.spikes = spike_statuses(model)
    amber.register(aioclient_mock)
    tesla = ChaosTesla(chaos)
    profile = GridProfile(SEED)
    tesla.live_fn = lambda now: {"grid_power": profile.watts(now)}
    tesla.latest_prices = lambda: amber.served_prices[-1] if amber.served_prices else None

    def held_history() -> tuple[PriceInterval, ...]:
        # Also while setting up: the first plan goes out before the entry counts as loaded.
        data = getattr(entry, "runtime_data", None)
        prices = data.prices if data is not None else None
        return prices.data.history if prices is not None and prices.data is not None else ()

    tesla.latest_history = held_history
    tesla.register(aioclient_mock)

    soak = Soak(
        hass=hass,
        freezer=freezer,
        entry=entry,
        amber=amber,
        tesla=tesla,
        chaos=chaos,
        scanner=scanner,
        demand=DemandConfig.from_options(OPTIONS),
    )
    tesla.on_live_sample = soak.on_live_sample
    previous_handler = hass.loop.get_exception_handler()

    def on_loop_error(loop: Any, context: dict[str, Any]) -> None:
        soak.loop_errors.append(str(context.get("exception") or context.get("message")))
        if previous_handler is not None:
            previous_handler(loop, context)

    hass.loop.set_exception_handler(on_loop_error)
    hass.bus.async_listen("state_changed", soak.on_state_changed)

    try:
        await run_soak(soak, aioclient_mock, caplog)
    finally:
        logging.getLogger().removeHandler(scanner)
        logging.getLogger().setLevel(root_level)
        for logger, level, propagate in saved:
            logger.removeHandler(scanner)
            logger.setLevel(level)
            logger.propagate = propagate
        tracemalloc.stop()
        hass.loop.set_exception_handler(previous_handler)

    summary = summarize(soak, real_seconds() - wall)
    print(summary)  # the soak's report, shown with `pytest -s`
    problems = list(soak.failures)
    # The scenario itself happened (a soak that skipped its events would pass for nothing).
    if soak.restarts != len(RESTARTS) or soak.reauths != 1:
        problems.append(f"restarts {soak.restarts} of {len(RESTARTS)}, reauths {soak.reauths} of 1")
    if soak.checks["demand checks"] < DAYS + len(RESTARTS):
        problems.append(f"only {soak.checks['demand checks']} demand checks")
    if soak.checks["action rounds"] < DAYS - 1 or soak.chaos.faults["http_401"] != 1:
        problems.append("the daily actions or the rejected token did not happen")
    problems += [f"token leaked: {leak}" for leak in (soak.leaks + scanner.leaks)[:10]]
    problems += [f"unhandled: {error}" for error in scanner.unhandled[:10]]
    problems += [f"event loop: {error}" for error in soak.loop_errors[:10]]
    problems += [f"deprecation: {d}" for d in scanner.deprecations[:3]]
    # Amber's morning horizon (15.5-24 h) is an ordinary day, not a reason to warn the user.
    if soak.stale_issue_days:
        problems.append(f"stale-prices repair raised on {sorted(soak.stale_issue_days)}")
    if not sum(soak.beyond_by_hour.values()) or not soak.checks["beyond-horizon history checked"]:
        problems.append("no plan ever reached past Amber's horizon: the soak tested nothing new")
    assert not problems, "\n".join(problems[:40]) + "\n" + summary


async def run_soak(soak: Soak, aioclient_mock: AiohttpClientMocker, caplog: Any) -> None:
    """The fourteen days."""
    hass, entry = soak.hass, soak.entry
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await soak.wait_loaded()

    events: list[tuple[datetime, str, Callable[[], Awaitable[None]]]] = []

    def add(when: datetime, name: str, action: Callable[[], Awaitable[None]]) -> None:
        events.append((when.astimezone(dt_util.UTC), name, action))

    async def reject_token() -> None:
        soak.chaos.force("tesla", "live_status", "http_401")

    async def stop_faults() -> None:
        soak.chaos.enabled = False

    async def resume_faults() -> None:
        soak.chaos.enabled = True

    async def day_end() -> None:
        soak.check_demand("end of day")
        await soak.scan_everything("end of day")
        clear_harness_buffers(aioclient_mock, caplog)

    async def after_restart() -> None:
        soak.check_demand("after a restart")

    async def billing_day() -> None:
        soak.check_demand("billing day")
        peak = hass.states.get(PEAK)
        if peak is None or float(peak.state) != 0.0 or peak.attributes["peak_at"] is not None:
            soak.fail(f"the peak did not reset on the billing day: {peak}")

    def memory_events(label: str, end: datetime) -> None:
        async def start() -> None:
            soak.start_tracing(aioclient_mock, caplog)

        async def halfway() -> None:
            soak.measure_memory(f"{label} halfway", aioclient_mock, caplog)

        async def finish() -> None:
            soak.measure_memory(f"{label} end", aioclient_mock, caplog)

        add(end - MEMORY_STRETCH, f"trace memory ({label})", start)
        add(end - MEMORY_STRETCH / 2, f"memory ({label}, halfway)", halfway)
        if end < END:  # the last stretch ends with the soak, measured after the final checks
            add(end, f"memory ({label})", finish)

    for day in range(DAYS + 1):
        date = (START + timedelta(days=day)).date()
        noon = datetime(date.year, date.month, date.day, 12, 7, 30, tzinfo=SYDNEY)
        evening = datetime(date.year, date.month, date.day, 23, 55, tzinfo=SYDNEY)
        if START < noon < FAULTS_STOP:
            add(noon, "actions", soak.call_actions)
        if START < evening < END:
            add(evening, "day end", day_end)
    for moment in RESTARTS:
        add(moment, "restart", soak.restart)
        add(moment + timedelta(minutes=2), "check after restart", after_restart)
    add(local(4, 1, 0, 5), "billing day", billing_day)
    add(TOKEN_REJECTED, "reject token", reject_token)
    add(REAUTH_AT, "reauth", soak.reauth)
    for label, end in MEMORY_WINDOWS:
        memory_events(label, end)
    add(DAY_2 - QUIET, "faults pause", stop_faults)
    add(DAY_2, "faults resume", resume_faults)
    add(FAULTS_STOP, "faults stop", stop_faults)
    events.sort(key=lambda event: event[0])

    for when, _name, action in events:
        await soak.run_until(when)
        await action()
        soak.after_step()
    await soak.run_until(END)

    # Faults stopped six hours ago: synced within a cycle, and every interval since on time.
    first_boundary = FAULTS_STOP.astimezone(dt_util.UTC)
    first_boundary = first_boundary.replace(
        minute=first_boundary.minute - first_boundary.minute % 5, second=0
    ) + timedelta(minutes=5)
    deadline = first_boundary + timedelta(minutes=5, seconds=45)
    synced = sorted(t for t in soak.pushed_first_seen.values() if t <= deadline)
    if not synced:
        soak.fail(f"no interval synced within a cycle after faults stopped (by {deadline})")
    interval = first_boundary + timedelta(minutes=5)
    late: list[str] = []
    while interval + timedelta(minutes=1) < END.astimezone(dt_util.UTC):
        seen = soak.pushed_first_seen.get(interval)
        if seen is None or seen - interval > timedelta(seconds=50):
            late.append(f"{dt_util.as_local(interval):%H:%M} ({seen and seen - interval})")
        interval += timedelta(minutes=5)
    if late:
        soak.fail(f"intervals not synced on time after faults stopped: {late[:10]}")
    status = hass.states.get(STATUS)
    if status is None or status.state not in GOOD_STATUSES:
        soak.fail(f"sync_status at the end: {status and status.state}")
    ours = [i for (d, i) in ir.async_get(hass).issues if d == DOMAIN]
    if ours:
        soak.fail(f"repair issues left after six fault-free hours: {ours}")
    soak.check_demand("end")
    await soak.scan_everything("end")
    soak.measure_memory("day 14 end", aioclient_mock, caplog)
    soak.check_memory()
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def summarize(soak: Soak, wall: float) -> str:
    """The soak's report."""
    chaos = soak.chaos
    served = ", ".join(f"{k} {v}" for k, v in sorted(chaos.served.items()))
    faults = ", ".join(f"{k} {v}" for k, v in chaos.faults.most_common())
    by_op = ", ".join(f"{k} {v}" for k, v in chaos.faults_by_op.most_common())
    calls = sum(chaos.served.values())
    total_faults = sum(chaos.faults.values())
    peaks = ", ".join(f"{k}: {v if v is None else round(v, 3)} kW" for k, v in soak.peaks.items())
    memory = ", ".join(f"{k} {v / 1024:.1f} KiB" for k, v in soak.memory.items())
    lines = [
        "",
        "==== 14-day soak ====",
        f"simulated: {DAYS} days ({START:%Y-%m-%d %H:%M} - {END:%Y-%m-%d %H:%M} Sydney), "
        f"wall time {wall:.1f} s, {soak.steps} clock steps",
        f"calls served: {calls} ({served})",
        f"Amber price polls: {chaos.served['amber:prices']}",
        f"faults: {total_faults} ({total_faults / max(calls, 1):.1%} of calls): {faults}",
        f"faults by call: {by_op}",
        f"plan writes: {soak.pushes} accepted of {soak.tesla.write_attempts} attempts; "
        f"identical consecutive writes {soak.identical_writes}; original plan restored "
        f"{soak.restores} times; writes after a failed poll {soak.writes_after_bad_poll}",
        f"write checks: {dict(soak.checks)}",
        f"sync recoveries (failing -> ok/unchanged): {soak.recoveries}; "
        f"status changes: {dict(soak.status_changes.most_common(12))}",
        f"restarts: {soak.restarts}; reauthentications: {soak.reauths}",
        f"demand peak per cycle: {peaks}",
        f"memory our code allocated in a 3-hour stretch and still held: {memory}; "
        f"{', '.join(f'{k} {v}' for k, v in soak.handles.items())}",
        f"log records: {soak.scanner.records} {dict(soak.scanner.by_level)}; token leaks "
        f"{len(soak.leaks) + len(soak.scanner.leaks)}; unhandled {len(soak.scanner.unhandled)}; "
        f"loop errors {len(soak.loop_errors)}",
        f"action errors: {len(soak.action_errors)} {soak.action_errors[:3]}",
        f"Amber history calls: {soak.amber.history_calls}; days with the stale-prices repair: "
        f"{sorted(soak.stale_issue_days)}",
        "plan slots past Amber's horizon, by hour the plan was built (Sydney): "
        + " ".join(
            f"{h:02d}h {soak.beyond_by_hour[h] / soak.slots_by_hour[h]:.0%}"
            for h in range(24)
            if soak.slots_by_hour[h]
        ),
        f"failures: {len(soak.failures)}",
    ]
    return "\n".join(lines)
