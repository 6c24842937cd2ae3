"""Helpers of the 14-day soak test (`tests/test_soak.py`).

- time travel timer by timer: the frozen clock jumps straight to the event loop's next timer, so
  every timer fires at its own instant and quiet stretches cost nothing;
- chaos versions of the fakes: about one call in ten fails, with a seeded choice among server
  errors, timeouts, refused connections, rate limits, HTML, truncated JSON, garbage prices and
  a three-hour hole in the forecast; everything served is counted, and what Amber served (and
  what Tesla accepted) is kept for the checks;
- an independent reference of the demand peak (sample-and-hold over exactly what the Powerwall
  reported to a running entry);
- a re-builder that checks a pushed plan against the prices it was built from;
- a log handler that scans every record for tokens and unhandled exceptions.

Nothing here changes the shared fakes: the chaos classes subclass them.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
import logging
import random
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMockResponse
from yarl import URL

from bench.time_travel import move_just_past, settle
from custom_components.tesla_amber_sync.api.amber import dedupe_intervals, parse_interval
from custom_components.tesla_amber_sync.api.models import PriceInterval
from custom_components.tesla_amber_sync.demand import (
    DemandConfig,
    applies_in_month,
    window_slots,
)
from custom_components.tesla_amber_sync.demand_plan import apply_demand, window_cells
from custom_components.tesla_amber_sync.tariff import BuiltTariff, TariffOptions, build_tariff
from custom_components.tesla_amber_sync.tou import encode_tariff

from .fakes import FakeAmber, FakeTesla, connection_refused

SYDNEY = ZoneInfo("Australia/Sydney")
HALF_HOUR = timedelta(minutes=30)

# --- time travel ---------------------------------------------------------------------------------


async def step_to(
    loop: asyncio.AbstractEventLoop, freezer: FrozenDateTimeFactory, when: float
) -> None:
    """Move the frozen clock to `when` (POSIX seconds) and run what is due."""
    move_just_past(freezer, when)
    await settle(loop)


# --- chaos ---------------------------------------------------------------------------------------

COMMON_FAULTS = (
    "http_500",
    "http_502_html",
    "http_503",
    "timeout",
    "connection_refused",
    "http_429",
    "html_200",
    "truncated_json",
)
PRICE_FAULTS = (*COMMON_FAULTS, "garbage_prices", "forecast_gap")
GARBAGE_VALUES: tuple[Any, ...] = ("NaN", None, "", "1.2.3", float("nan"), 1e9, {"c": 1}, True)


@dataclass
class Chaos:
    """Decides, call by call, whether (and how) a fake fails; counts everything."""

    rng: random.Random
    secrets: Callable[[str], str]  # service -> its current token (echoed in some error bodies)
    rate: float = 0.10
    enabled: bool = True
    # (service, op, now) -> True when this call must not fail (e.g. live status in the window)
    guard: Callable[[str, str, datetime], bool] | None = None
    served: Counter[str] = field(default_factory=Counter)  # calls per "service:op"
    faults: Counter[str] = field(default_factory=Counter)  # faults per kind
    faults_by_op: Counter[str] = field(default_factory=Counter)
    forced: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def force(self, service: str, op: str, kind: str) -> None:
        """Queue one deliberate fault for the next call to `op` (counted like the others)."""
        self.forced.setdefault((service, op), []).append(kind)

    def pick(self, service: str, op: str) -> str | None:
        """The fault for this call, or None."""
        self.served[f"{service}:{op}"] += 1
        queue = self.forced.get((service, op))
        kind: str | None = None
        if queue:
            kind = queue.pop(0)
        elif (
            self.enabled
            and not (self.guard is not None and self.guard(service, op, dt_util.utcnow()))
            and self.rng.random() < self.rate
        ):
            kind = self.rng.choice(PRICE_FAULTS if op == "prices" else COMMON_FAULTS)
        if kind is not None:
            self.faults[kind] += 1
            self.faults_by_op[f"{service}:{op}"] += 1
        return kind

    def error_body(self, service: str) -> dict[str, Any]:
        """A vendor error body; some echo the caller's token back, as careless servers do."""
        echo = self.rng.random() < 0.5
        detail = f"upstream said: Bearer {self.secrets(service)}" if echo else "try again"
        if service == "amber":
            return {"message": f"Internal error ({detail})"}
        return {"response": None, "error": "internal_error", "error_description": detail}

    def respond(
        self, kind: str, service: str, method: str, url: URL
    ) -> AiohttpClientMockResponse | None:
        """The response for a fault that needs no real answer (None: it does)."""
        if kind == "http_500":
            return AiohttpClientMockResponse(method, url, status=500, json=self.error_body(service))
        if kind == "http_502_html":
            return AiohttpClientMockResponse(
                method,
                url,
                status=502,
                text="<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            )
        if kind == "http_503":
            return AiohttpClientMockResponse(method, url, status=503, json=self.error_body(service))
        if kind == "timeout":
            return AiohttpClientMockResponse(method, url, exc=TimeoutError())
        if kind == "connection_refused":
            return AiohttpClientMockResponse(method, url, exc=connection_refused())
        if kind == "http_429":
            wait = str(self.rng.randint(20, 180))
            return AiohttpClientMockResponse(
                method,
                url,
                status=429,
                json={"message": "Too many requests", "error": "rate_limited"},
                headers={"Retry-After": wait},
            )
        if kind == "html_200":
            return AiohttpClientMockResponse(
                method, url, status=200, text="<!DOCTYPE html><html><body>Maintenance</body></html>"
            )
        return None

    def truncated(self, text: str) -> str:
        """The body cut somewhere in its middle."""
        return text[: self.rng.randint(1, max(1, len(text) - 2))]

    def garbage(self, intervals: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
        """Prices nobody can use: every general price (`all`) or a few intervals (`some`)."""
        mode = self.rng.choice(("all", "some"))
        out = [dict(i) for i in intervals]
        if mode == "all":
            targets = [i for i in out if i.get("channelType") == "general"]
        else:
            targets = self.rng.sample(out, k=min(len(out), self.rng.randint(1, 5)))
        for interval in targets:
            interval["perKwh"] = self.rng.choice(GARBAGE_VALUES)
            if "advancedPrice" in interval and self.rng.random() < 0.5:
                interval["advancedPrice"] = {"low": None, "predicted": "NaN", "high": "x"}
        return out, mode

    def gap(self, intervals: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """Three hours of forecasts missing, a few hours ahead (both channels)."""
        start = now + timedelta(hours=self.rng.randint(2, 12))
        end = start + timedelta(hours=3)
        return [
            i
            for i in intervals
            if not start < datetime.fromisoformat(i["endTime"].replace("Z", "+00:00")) <= end
        ]


@dataclass(frozen=True, slots=True)
class Served:
    """One answer to `prices/current`: when, what kind, and the body (None: not usable)."""

    at: datetime
    kind: str  # "good", a fault kind, or "garbage_all" / "garbage_some"
    body: list[dict[str, Any]] | None


@dataclass(frozen=True, slots=True)
class Accepted:
    """A plan the fake Powerwall accepted (stored), when, and Amber's last answer before it."""

    at: datetime
    tariff: dict[str, Any]
    prices: Served | None
    # The settled intervals the entry held then (checked against what Amber served, below).
    history: tuple[PriceInterval, ...] = ()


def _route(service: FakeAmber | FakeTesla, method: str, url: URL) -> tuple[str, str | None]:
    path = url.path[len(service.base.path.rstrip("/")) :]
    return path, service.route(method.upper(), path)


def _json(method: str, url: URL, status: int, payload: Any, headers: dict[str, str]) -> Any:
    return AiohttpClientMockResponse(
        method, url, status=status, text=json.dumps(payload), headers=headers
    )


class ChaosAmber(FakeAmber):
    """FakeAmber with random faults; remembers the last few price answers (small, bounded)."""

    def __init__(self, chaos: Chaos) -> None:
        super().__init__()
        self.chaos = chaos
        self.served_prices: deque[Served] = deque(maxlen=16)
        self.history_calls = 0

    async def _handle(self, method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        path, op = _route(self, method, url)
        if op is None:
            return AiohttpClientMockResponse(method, url, status=404, json={"message": "no route"})
        if op == "prices" and url.query.get("next") == "0":
            # The entry's catch-up call for a day of settled prices: no forecast, not a poll.
            op = "history"
            self.history_calls += 1
        now = dt_util.utcnow()
        kind = self.chaos.pick("amber", op)
        if kind is not None and (quick := self.chaos.respond(kind, "amber", method, url)):
            if op == "prices":
                self.served_prices.append(Served(now, kind, None))
            return quick
        answer_op = "prices" if op == "history" else op
        status, payload, headers = self.answer(
            answer_op, method.upper(), path, dict(url.query), data
        )
        label = "good"
        if op == "prices" and status == 200:
            if kind == "garbage_prices":
                payload, mode = self.chaos.garbage(payload)
                label = f"garbage_{mode}"
            elif kind == "forecast_gap":
                payload = self.chaos.gap(payload, now)
                label = kind
        if kind == "truncated_json":
            if op == "prices":
                self.served_prices.append(Served(now, kind, None))
            text = self.chaos.truncated(json.dumps(payload))
            return AiohttpClientMockResponse(method, url, status=200, text=text, headers=headers)
        if op == "prices":
            body = payload if status == 200 else None
            last = self.served_prices[-1] if self.served_prices else None
            if body is not None and url.query.get("previous") == "0" and last and last.body:
                # The poll's 30-minute top-up: the entry builds from both answers together.
                body = last.body + body
            self.served_prices.append(Served(now, label, body))
        return _json(method, url, status, payload, headers)


class ChaosTesla(FakeTesla):
    """FakeTesla with random faults. Keeps only what the checks need: accepted plans (until the
    test takes them) and the grid power it reported to a running entry."""

    def __init__(self, chaos: Chaos) -> None:
        super().__init__()
        self.chaos = chaos
        self.accepted: list[Accepted] = []
        self.write_attempts = 0
        # Set by the test: whether a live sample now reaches the demand tracker, and where to
        # report it.
        self.on_live_sample: Callable[[datetime, float], None] | None = None
        self.latest_prices: Callable[[], Served | None] = lambda: None
        self.latest_history: Callable[[], tuple[PriceInterval, ...]] = tuple

    async def _handle(self, method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        path, op = _route(self, method, url)
        if op is None:
            return AiohttpClientMockResponse(method, url, status=404, json={"message": "no route"})
        if op == "time_of_use_settings":
            self.write_attempts += 1
        kind = self.chaos.pick("tesla", op)
        if kind is not None and (quick := self.chaos.respond(kind, "tesla", method, url)):
            return quick
        if kind == "http_401":
            return AiohttpClientMockResponse(
                method,
                url,
                status=401,
                json={"response": None, "error": "invalid_token", "error_description": ""},
            )
        if kind == "truncated_json" and op == "time_of_use_settings":
            # The body broke before the server acted on it: nothing stored.
            return AiohttpClientMockResponse(method, url, status=200, text='{"response": {"co')
        status, payload, headers = self.answer(op, method.upper(), path, dict(url.query), data)
        if op == "time_of_use_settings" and status == 200:
            plan = data["tou_settings"]["tariff_content_v2"]
            self.accepted.append(
                Accepted(dt_util.utcnow(), plan, self.latest_prices(), self.latest_history())
            )
        if op == "live_status" and status == 200 and self.on_live_sample is not None:
            self.on_live_sample(dt_util.utcnow(), float(payload["response"]["grid_power"]))
        if kind == "truncated_json":
            text = self.chaos.truncated(json.dumps(payload))
            return AiohttpClientMockResponse(method, url, status=200, text=text, headers=headers)
        return _json(method, url, status, payload, headers)


# --- grid power and the demand reference -------------------------------------------------------


class GridProfile:
    """Seeded household grid import (W) by time: constant over 10-minute blocks.

    In the 16:00-21:00 window: a base of 0.3-2.5 kW, now and then a big appliance (4-8 kW), and
    sometimes export (negative). Outside it, anything up to 11 kW, which must never count.
    """

    BLOCK = 600

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def watts(self, now: datetime) -> float:
        """Grid power at `now` (+ = import)."""
        block = int(now.timestamp()) // self.BLOCK
        rng = random.Random(self.seed * 1_000_003 + block)
        local = now.astimezone(SYDNEY)
        if 16 <= local.hour < 21:
            roll = rng.random()
            if roll < 0.12:
                return float(rng.randint(4000, 8000))
            if roll < 0.2:
                return float(-rng.randint(100, 3000))
            return float(rng.randint(300, 2500))
        roll = rng.random()
        if roll < 0.1:
            return float(rng.randint(8000, 11000))
        return float(rng.randint(-4000, 3000))


@dataclass
class DemandReference:
    """The billed peak computed in the test from the samples a running entry received.

    Sample-and-hold (export counts as zero), half hours aligned to local :00/:30, the window
    16:00-21:00 every day, billing cycles starting at local midnight on the 1st. The soak never
    fails live status in or near the window, so every window half hour is fully covered; that
    is checked here rather than assumed.
    """

    samples: list[tuple[datetime, float]] = field(default_factory=list)

    def add(self, at: datetime, watts: float) -> None:
        """A sample the tracker received."""
        if self.samples and at <= self.samples[-1][0]:
            return  # the tracker ignores samples not newer than its last one
        self.samples.append((at, watts))

    def half_hour(self, start: datetime) -> tuple[float, float]:
        """(average kW, covered seconds) of the half hour starting at `start` (UTC)."""
        end = start + HALF_HOUR
        energy = covered = 0.0
        for (t0, w0), (t1, _) in zip(self.samples, self.samples[1:], strict=False):
            if t1 <= start or t0 >= end:
                continue
            seconds = (min(t1, end) - max(t0, start)).total_seconds()
            energy += max(w0, 0.0) * seconds
            covered += seconds
        return (energy / covered / 1000 if covered else 0.0), covered

    def window_half_hours(self, cycle_start: datetime, until: datetime) -> list[datetime]:
        """UTC starts of the window half hours from `cycle_start` that ended by `until`."""
        starts: list[datetime] = []
        if not self.samples:
            return starts
        cycle_start = max(cycle_start, self.samples[0][0])
        day = cycle_start.astimezone(SYDNEY).date()
        while True:
            first = datetime(day.year, day.month, day.day, 16, tzinfo=SYDNEY).astimezone(UTC)
            if first >= until:
                return starts
            for k in range(10):
                start = first + HALF_HOUR * k
                if cycle_start <= start and start + HALF_HOUR <= until:
                    starts.append(start)
            day += timedelta(days=1)

    def peak(self, cycle_start: datetime, until: datetime) -> tuple[float | None, int, float]:
        """(peak kW, half hours counted, least coverage in seconds) of a cycle up to `until`."""
        peak: float | None = None
        counted = 0
        least = 1800.0
        for start in self.window_half_hours(cycle_start, until):
            average, covered = self.half_hour(start)
            least = min(least, covered)
            if covered < 1200:
                continue
            counted += 1
            if peak is None or average > peak:
                peak = average
        return peak, counted, least


# --- plans ---------------------------------------------------------------------------------------

# What the rules give for this site: predicted forecasts, spike protection on, Tesla caps sell at
# buy (the fake product has no `rate_plan_manager_no_pricing_constraint`), 5-minute billing, a
# feed-in channel.
SITE_TARIFF_OPTIONS = TariffOptions(
    forecast_source="predicted",
    spike_protection=True,
    allow_sell_above_buy=False,
    interval_length=5,
    has_feed_in=True,
)


def parsed_intervals(body: list[dict[str, Any]]) -> list[PriceInterval]:
    """What the integration's client makes of a `prices/current` body."""
    return dedupe_intervals([i for i in map(parse_interval, body) if i is not None])


def expected_plan(
    body: list[dict[str, Any]],
    now: datetime,
    demand: DemandConfig | None,
    history: tuple[PriceInterval, ...] = (),
) -> tuple[dict[str, Any], BuiltTariff]:
    """The plan the rules give for `body` (and the settled `history`) at `now`, and the build it
    came from (raises when the rules refuse one)."""
    built = build_tariff(parsed_intervals(body), now, SYDNEY, SITE_TARIFF_OPTIONS, history)
    if demand is None or not demand.enabled or demand.in_plan == "none":
        return built.tariff, built
    if not applies_in_month(demand, now.astimezone(SYDNEY).month):
        return built.tariff, built
    plan = apply_demand(built.plan, demand, window_cells(window_slots(demand)))
    return encode_tariff(plan), built


# --- logs ----------------------------------------------------------------------------------------

DEPRECATION_MARK = "Detected that custom integration"
UNHANDLED_MARKS = (
    "Error doing job",
    "Task exception was never retrieved",
    "Exception in callback",
    "Unexpected error fetching",
    "Error executing service",
    "Error setting up entry",
    "Error unloading entry",
    "Uncaught exception",
)


class SoakLogScanner(logging.Handler):
    """Sees every record as it is emitted: counts them, finds tokens, finds unhandled errors.

    Only findings are kept, so the soak's memory does not grow with its log.
    """

    def __init__(self, secrets: set[str]) -> None:
        super().__init__(logging.DEBUG)
        self.secrets = secrets
        self.records = 0
        self.by_level: Counter[str] = Counter()
        self.leaks: list[str] = []
        self.unhandled: list[str] = []
        self.deprecations: list[str] = []
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        self.by_level[record.levelname] += 1
        try:
            text = record.getMessage()
        except Exception as err:  # a record that cannot format is a finding too
            text = f"<unformattable {record.msg!r}: {err}>"
            self.unhandled.append(f"{record.name}: {text}")
        if record.exc_info:
            text += "\n" + self._formatter.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + record.stack_info
        for secret in self.secrets:
            if secret in text:
                self.leaks.append(f"log {record.name} {record.levelname}: {text[:300]}")
        if DEPRECATION_MARK in text:
            self.deprecations.append(text[:300])
        if record.levelno >= logging.ERROR and (
            record.exc_info or any(mark in text for mark in UNHANDLED_MARKS)
        ):
            self.unhandled.append(f"{record.name} {record.levelname}: {text[:2000]}")
