"""Figures from a replay (`bench/replay.py`): tracking, latency, API budget, CPU.

The reference is the plan the integration's own rules (`build_tariff`) make from what Amber had
published at each moment (the simulator's `published(t, ...)` with the integration's request), so
the floor of every tracking figure is 0: what remains is delay and missed updates. Between
events (5-minute boundaries, the estimate turning final, writes) both the Powerwall's plan and the
reference are constant, so the time-weighted figures are exact sums over those pieces, "at every
second" without stepping through seconds.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
import math
import statistics
from typing import Any
from zoneinfo import ZoneInfo

from bench.replay_fakes import Write
from bench.replay_harness import ReplayRun
from custom_components.tesla_amber_sync.amber_coordinator import NEEDED_HORIZON
from custom_components.tesla_amber_sync.api.amber import dedupe_intervals, parse_interval
from custom_components.tesla_amber_sync.api.models import IntervalType, PriceInterval
from custom_components.tesla_amber_sync.const import (
    AMBER_NEXT,
    AMBER_NEXT_30MIN,
    AMBER_PREVIOUS,
    DEFAULT_FORECAST_SOURCE,
    DEFAULT_SPIKE_PROTECTION,
)
from custom_components.tesla_amber_sync.tariff import BuiltTariff, TariffOptions, build_tariff
from custom_components.tesla_amber_sync.tou import fingerprint, rates_at
from simulator.prices import PriceModel
from simulator.sites import AmberSite

INTERVAL = 300.0  # seconds in one Amber interval
TOLERANCE_CENTS = 0.1  # "differ by more than 0.1 c/kWh"
_EPS = 1e-6


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (`share` in 0..1) of a non-empty sequence; inf stays inf."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def site_options(site: AmberSite) -> TariffOptions:
    """The builder options the integration derives for this site with default entry options."""
    return TariffOptions(
        forecast_source=DEFAULT_FORECAST_SOURCE,
        spike_protection=DEFAULT_SPIKE_PROTECTION,
        allow_sell_above_buy=False,  # the fake product does not have the feature
        interval_length=site.interval_length,
        has_feed_in="feedIn" in site.channel_types(),
    )


@dataclass
class Reference:
    """The plan built by the integration's rules from what Amber had published at a moment."""

    model: PriceModel
    site: AmberSite
    zone: ZoneInfo
    since: datetime | None = None  # when the entry started polling (its own history begins)
    options: TariffOptions = field(init=False)
    builds: int = 0
    _cache: dict[tuple[float, bool], tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.options = site_options(self.site)

    def published(self, at: datetime) -> list[PriceInterval]:
        """What the integration's fetch would hold at `at` (one call, a second when short)."""
        first = self._parse(
            self.model.published(
                at, next=AMBER_NEXT, previous=AMBER_PREVIOUS, resolution=5, site=self.site
            )
        )
        ahead = [
            i for i in first if i.channel == "general" and i.interval_type == IntervalType.FORECAST
        ]
        horizon = max((i.end for i in first), default=at)
        if horizon - at < NEEDED_HORIZON and len(ahead) >= AMBER_NEXT:
            more = self._parse(
                self.model.published(
                    at, next=AMBER_NEXT_30MIN, previous=0, resolution=30, site=self.site
                )
            )
            return dedupe_intervals(first + more)
        return first

    @staticmethod
    def _parse(body: Iterable[dict[str, Any]]) -> list[PriceInterval]:
        return dedupe_intervals([i for i in map(parse_interval, body) if i is not None])

    def history(self, at: datetime) -> list[PriceInterval]:
        """The settled intervals the entry holds at `at`: a day of 30-minute actuals (its
        catch-up call) and the 5-minute actuals of every poll since the replay began."""
        settled = self._parse(
            self.model.published(at, next=0, previous=50, resolution=30, site=self.site)
        ) + self._parse(
            self.model.published(at, next=0, previous=300, resolution=5, site=self.site)
        )
        since = self.since - timedelta(hours=1) if self.since is not None else None
        return [
            i
            for i in settled
            if i.interval_type == IntervalType.ACTUAL
            and (i.end - i.start > timedelta(minutes=5) or since is None or i.start >= since)
        ]

    def build(self, data_at: datetime, now: datetime | None = None) -> BuiltTariff:
        """The plan from the data published at `data_at`, built at `now` (default the same)."""
        self.builds += 1
        return build_tariff(
            self.published(data_at), now or data_at, self.zone, self.options, self.history(data_at)
        )

    def rates(self, at: float) -> tuple[float, float]:
        """Buy and sell ($/kWh) the reference plan shows at POSIX time `at`.

        The slot holding now carries the current interval's price (final or estimate), adjusted
        by clamping, capping and spike protection; only spike protection looks at the rest of the
        plan, so without a (potential) spike the answer is fixed per interval and phase.
        """
        start = at - at % INTERVAL
        key = (start, at - start >= self.model.estimate_seconds)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        moment = datetime.fromtimestamp(at, UTC)
        built = self.build(moment)
        rate = rates_at(built.tariff, moment.astimezone(self.zone))
        assert rate.buy is not None
        assert rate.sell is not None
        result = (rate.buy, rate.sell)
        if built.slots[0].spike_status == "none":
            self._cache[key] = result
        return result


@dataclass
class DayTracking:
    """One local day's share of the tracking figures."""

    seconds: float = 0.0
    either_off: float = 0.0
    buy_weighted: float = 0.0
    latencies: list[float] = field(default_factory=list)
    writes: int = 0


@dataclass
class Tracking:
    """How closely the Powerwall's plan followed the published-data plan."""

    seconds: float = 0.0
    buy_off: float = 0.0  # seconds with |difference| > 0.1 c/kWh
    sell_off: float = 0.0
    either_off: float = 0.0
    buy_weighted: float = 0.0  # sum of |difference| (c/kWh) x seconds
    sell_weighted: float = 0.0
    latencies: list[float] = field(default_factory=list)  # per interval, inf = never carried
    final_latencies: list[float] = field(default_factory=list)  # from the final price
    ended_off: int = 0  # intervals that ended with the plan on another price than the final
    days: dict[str, DayTracking] = field(default_factory=dict)  # by local date, in order

    @property
    def intervals(self) -> int:
        """Intervals measured."""
        return len(self.latencies)

    @property
    def missed(self) -> int:
        """Intervals whose price never reached the Powerwall while it was current."""
        return sum(1 for x in self.latencies if math.isinf(x))


def _events(start: float, end: float, estimate: float, writes: Sequence[Write]) -> list[float]:
    points = {end}
    t = start
    while t < end:
        points.add(t)
        points.add(t + estimate)
        t += INTERVAL
    points.update(w.at for w in writes if start <= w.at < end)
    return sorted(p for p in points if start <= p <= end)


def track(run: ReplayRun, reference: Reference) -> Tracking:
    """Compare the held plan with the reference over every constant piece of the replay."""
    clouds = run.clouds
    start, end = run.start.timestamp(), run.end.timestamp()
    writes = sorted(clouds.writes, key=lambda w: w.at)
    write_times = [w.at for w in writes]
    zone = reference.zone
    estimate = reference.model.estimate_seconds
    result = Tracking()
    points = _events(start, end, estimate, writes)

    interval_start = start
    first_match: float | None = None
    final_match: float | None = None
    last_match = False
    for t0, t1 in pairwise(points):
        if t0 >= interval_start + INTERVAL:
            _close_interval(result, interval_start, estimate, first_match, final_match, last_match)
            interval_start += INTERVAL
            first_match = final_match = None
        index = bisect_right(write_times, t0 + _EPS)
        held = writes[index - 1].tariff if index else clouds.initial_tariff
        local = datetime.fromtimestamp(t0, UTC).astimezone(zone)
        rate = rates_at(held, local)
        ref_buy, ref_sell = reference.rates(t0)
        buy = abs((rate.buy if rate.buy is not None else math.inf) - ref_buy) * 100
        sell = abs((rate.sell if rate.sell is not None else math.inf) - ref_sell) * 100
        span = t1 - t0
        day = result.days.setdefault(f"{local:%a %d %b}", DayTracking())
        day.seconds += span
        day.buy_weighted += buy * span
        buy_off = buy > TOLERANCE_CENTS + _EPS
        sell_off = sell > TOLERANCE_CENTS + _EPS
        day.either_off += span if buy_off or sell_off else 0.0
        result.seconds += span
        result.buy_weighted += buy * span
        result.sell_weighted += sell * span
        result.buy_off += span if buy_off else 0.0
        result.sell_off += span if sell_off else 0.0
        result.either_off += span if buy_off or sell_off else 0.0
        last_match = not (buy_off or sell_off)
        if last_match and first_match is None:
            first_match = t0
        if last_match and final_match is None and t0 >= interval_start + estimate - _EPS:
            final_match = t0
    if interval_start + INTERVAL <= end + _EPS:  # a partial last interval is left out
        _close_interval(result, interval_start, estimate, first_match, final_match, last_match)
    for index, latency in enumerate(result.latencies):
        moment = datetime.fromtimestamp(start + index * INTERVAL, UTC).astimezone(zone)
        result.days.setdefault(f"{moment:%a %d %b}", DayTracking()).latencies.append(latency)
    for write in writes:
        if start <= write.at < end:
            moment = datetime.fromtimestamp(write.at, UTC).astimezone(zone)
            result.days.setdefault(f"{moment:%a %d %b}", DayTracking()).writes += 1
    return result


def _close_interval(
    result: Tracking,
    start: float,
    estimate: float,
    first_match: float | None,
    final_match: float | None,
    ended_matching: bool,
) -> None:
    result.latencies.append(math.inf if first_match is None else first_match - start)
    result.final_latencies.append(
        math.inf if final_match is None else final_match - (start + estimate)
    )
    if not ended_matching:
        result.ended_off += 1


@dataclass
class Budget:
    """API calls over the replay."""

    days: float
    amber_calls: int
    amber_price_calls: int
    amber_per_interval_mean: float
    amber_per_interval_max: int
    tesla_reads: Counter[str]
    writes: int
    identical_consecutive: int
    shortest_gap: float | None
    gaps_under_4_min: int


def budget(run: ReplayRun) -> Budget:
    """Count calls and check the writing rules."""
    clouds = run.clouds
    start, end = run.start.timestamp(), run.end.timestamp()
    days = (end - start) / 86_400
    amber = [c for c in clouds.calls if c.service == "amber"]
    prices = [c for c in amber if c.op == "prices"]
    per_interval = Counter(int((c.at - start) // INTERVAL) for c in prices)
    intervals = max(1, math.ceil((end - start) / INTERVAL))
    reads = Counter(c.op for c in clouds.calls if c.service == "tesla" and c.method == "GET")
    writes = sorted(clouds.writes, key=lambda w: w.at)
    prints = [fingerprint(w.tariff) for w in writes]
    identical = sum(1 for a, b in pairwise(prints) if a == b)
    gaps = [b.at - a.at for a, b in pairwise(writes)]
    return Budget(
        days=days,
        amber_calls=len(amber),
        amber_price_calls=len(prices),
        amber_per_interval_mean=len(prices) / intervals,
        amber_per_interval_max=max(per_interval.values(), default=0),
        tesla_reads=reads,
        writes=len(writes),
        identical_consecutive=identical,
        shortest_gap=min(gaps) if gaps else None,
        gaps_under_4_min=sum(1 for g in gaps if g < 240 - _EPS),
    )


@dataclass
class Cpu:
    """CPU of the integration per 5-minute interval, ms (the fakes' own work left out)."""

    cycle: list[float]  # everything but the Powerwall live-status polls
    total: list[float]  # everything
    steps: int


def cpu(run: ReplayRun) -> Cpu:
    """Sum each interval's steps; the setup interval (and a partial last one) is left out."""
    clouds = run.clouds
    start = run.start.timestamp()
    half = clouds.latency.tesla_read / 2
    live_steps: set[float] = set()
    for c in clouds.calls:
        if c.op == "live_status":
            live_steps.update((round(c.at - half, 3), round(c.at + half, 3)))
    full = int((run.end.timestamp() - start) // INTERVAL)
    cycle = [0.0] * full
    total = [0.0] * full
    for step in run.steps:
        index = int((step.at - start) // INTERVAL)
        if index <= 0 or index >= full:
            continue
        total[index] += step.cpu * 1000
        live_only = round(step.at, 3) in live_steps and set(step.ops) <= {"live_status"}
        if not live_only:
            cycle[index] += step.cpu * 1000
    return Cpu(cycle=cycle[1:], total=total[1:], steps=len(run.steps))


@dataclass
class Reproduced:
    """How many writes equal the reference plan built from the data fetched before them."""

    checked: int = 0
    equal: int = 0
    from_earlier: int = 0  # equal to the plan from the response before the latest one
    unmatched: list[str] = field(default_factory=list)


def reproduce(run: ReplayRun, reference: Reference, limit: int | None = None) -> Reproduced:
    """Harness check: each write should be `build_tariff` of fetched data at push time.

    The push builds at (write arrival - half the write round trip) from the last price response
    that had arrived by then; when a response arrived at that very instant the push may have run
    just before it, so the response before it is tried too (counted in `from_earlier`).
    """
    clouds = run.clouds
    amber_half = clouds.latency.amber / 2
    write_half = clouds.latency.tesla_write / 2
    fetched = sorted(c.at for c in clouds.calls if c.op == "prices")
    arrived = [f + amber_half for f in fetched]
    writes = sorted(clouds.writes, key=lambda w: w.at)
    if limit is not None and len(writes) > limit:
        step = len(writes) / limit
        writes = [writes[int(i * step)] for i in range(limit)]
    result = Reproduced()
    for write in writes:
        pushed_at = write.at - write_half
        index = bisect_right(arrived, pushed_at + _EPS)
        if index == 0:
            continue
        result.checked += 1
        wanted = fingerprint(write.tariff)
        built_at = datetime.fromtimestamp(pushed_at, UTC)
        latest = reference.build(datetime.fromtimestamp(fetched[index - 1], UTC), built_at)
        if fingerprint(latest.tariff) == wanted:
            result.equal += 1
            continue
        if index >= 2 and abs(arrived[index - 1] - pushed_at) < 1e-3:
            earlier = reference.build(datetime.fromtimestamp(fetched[index - 2], UTC), built_at)
            if fingerprint(earlier.tariff) == wanted:
                result.equal += 1
                result.from_earlier += 1
                continue
        if len(result.unmatched) < 5:
            when = datetime.fromtimestamp(write.at, UTC).astimezone(reference.zone)
            result.unmatched.append(when.isoformat(timespec="seconds"))
    return result


def interval_label(start: datetime, index: int, zone: ZoneInfo) -> str:
    """Local wall-clock start of interval `index` (for reports)."""
    moment = start + timedelta(seconds=INTERVAL * index)
    return moment.astimezone(zone).strftime("%a %d %b %H:%M %Z")


def median(values: Sequence[float]) -> float:
    """statistics.median that tolerates inf."""
    return statistics.median(values) if values else math.nan
