"""Amber prices -> a rolling 24 h Tesla time-of-use plan, with a per-slot explanation.

Pure: no Home Assistant, no I/O. The sync engine calls `build_tariff` with the intervals of one
Amber fetch and pushes `BuiltTariff.tariff` after `validate.validate_tariff` has passed it.

A wrong plan costs users money, so the rules are strict: a half hour without Amber data is never
given an invented price (short holes borrow a neighbour's price, long ones refuse the whole plan),
and every rate is traceable to the Amber intervals that fed it (`Slot`).

Amber's forecast ends where AEMO's pre-dispatch ends: 04:00 NEM time of the next trading day until
the ~12:30 run adds a day. So every morning the last hours of the rolling window (tomorrow morning's
clock times) have no forecast yet. Those half hours, and only those, take the price least
favourable to the customer of three real figures (`SlotBasis`): the same clock time the day before,
the last forecast half hour, and the average of the forecast half hours. Importing there never looks
cheaper, nor exporting more rewarding, than what is known, so the Powerwall plans neither grid
charging nor a sale around a price nobody has published. They are replaced before they come due:
the new run reaches them hours earlier.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
import math
from typing import Any

from .api.models import ChannelType, IntervalType, PriceInterval
from .pricing import interval_price
from .tou import (
    DAY_MINUTES,
    PLAN_CODE_PREFIX,
    TouPeriod,
    TouPlan,
    TouSeason,
    TouWindow,
    encode_tariff,
)

PLAN_CODE = f"{PLAN_CODE_PREFIX}:AMBER"
# Tesla's app is known to accept "Summer" for a one-season plan; the name carries no meaning here.
SEASON_NAME = "Summer"

SLOT_MINUTES = 30
SLOT_COUNT = DAY_MINUTES // SLOT_MINUTES
SLOT = timedelta(minutes=SLOT_MINUTES)
MIN_COVERED = timedelta(minutes=15)  # a slot with less Amber data than this is missing
MAX_FILLED_RUN = 2  # consecutive missing slots that may borrow a neighbour's price
MAX_FILLED_TOTAL = 4  # missing slots per channel that may be filled in one plan
# Amber's forecast always reaches the end of the current NEM trading day (04:00 NEM time, UTC+10)
# and at least ~15.5 h ahead (less only when AEMO's ~12:30 run is hours late). Data that stops
# sooner than both (with an hour's slack) is broken, and its end is a hole, not a horizon:
# a date-range fetch that stops at midnight must never look like Amber's horizon.
NEM_TZ = timezone(timedelta(hours=10))
TRADING_DAY_END = time(4)
MIN_FORECAST_REACH = timedelta(hours=12)
TRADING_DAY_SLACK = timedelta(hours=1)

FORECAST_SOURCES = ("predicted", "low", "high", "aemo")
INTERVAL_LENGTHS = (5, 30)

# Rates are handled as whole ten-thousandths of a dollar (0.01 c) so that rounding, clamping,
# capping and comparing are exact and the same data always gives the same plan.
UNITS_PER_DOLLAR = 10_000
UNITS_PER_CENT = 100
SPIKE_MARGIN_UNITS = 100  # $0.01

ADJUSTMENTS = ("buy_clamped", "sell_clamped", "sell_capped", "spike_protected")
SPIKE_PROTECTED_STATUSES = frozenset({"potential", "spike"})
# Unknown statuses (Amber adds values one day) rank above "none" so the explanation shows them,
# but only the known alarming ones trigger protection.
_SPIKE_SEVERITY = {"none": 0, "potential": 2, "spike": 3}
_UNKNOWN_SPIKE_SEVERITY = 1

_TYPE_RANK = {IntervalType.ACTUAL.value: 2, IntervalType.CURRENT.value: 1}  # others: forecast
_MICROSECOND = timedelta(microseconds=1)
_MINUTE_US = 60_000_000


class SlotBasis(StrEnum):
    """Where a slot's price on one channel came from."""

    AMBER = "amber"  # Amber's own price for that half hour
    GAP = "gap"  # a short hole inside the forecast: the neighbouring slot's price
    NO_FEED_IN = "no_feed_in"  # the site has no feed-in channel: export earns nothing
    # Beyond Amber's forecast horizon: the least favourable of these three.
    DAY_BEFORE = "day_before"  # the same clock time, a day earlier
    LAST_FORECAST = "last_forecast"  # the last half hour Amber forecast
    FORECAST_AVERAGE = "forecast_average"  # the mean of the half hours Amber priced

    @property
    def beyond_horizon(self) -> bool:
        """Filled by the beyond-the-horizon rule."""
        return self in _BEYOND


_BEYOND = frozenset({SlotBasis.DAY_BEFORE, SlotBasis.LAST_FORECAST, SlotBasis.FORECAST_AVERAGE})


@dataclass(frozen=True, slots=True)
class TariffOptions:
    """How to turn Amber prices into a plan."""

    forecast_source: str = "predicted"  # "predicted" | "low" | "high" | "aemo"
    spike_protection: bool = True
    allow_sell_above_buy: bool = False  # site feature rate_plan_manager_no_pricing_constraint
    interval_length: int = 5  # the Amber site's billing interval, 5 or 30
    has_feed_in: bool = True  # the Amber site has a feedIn channel
    name: str = "Amber Electric (Tesla Amber Sync)"
    utility: str = "Amber Electric"


class TariffBuildError(Exception):
    """No plan could be built. `reason` is a snake_case code usable as a translation key."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class MissingPricesError(TariffBuildError):
    """Amber's data leaves holes in the next 24 h that cannot be bridged safely."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        channel: str,
        missing: tuple[str, ...],
        longest_run: int,
    ) -> None:
        super().__init__(message, reason=reason)
        self.channel = channel
        self.missing = missing
        self.longest_run = longest_run


@dataclass(frozen=True, slots=True)
class PriceSource:
    """One Amber interval that fed a slot."""

    start: datetime  # UTC
    end: datetime  # UTC
    interval_type: str
    field: str  # "perKwh" | "advancedPrice.predicted" | ".low" | ".high" | "none"
    cents: float  # the value used, c/kWh as Amber sent it (feed-in keeps Amber's sign)
    minutes: float  # minutes of the slot this interval covered


@dataclass(frozen=True, slots=True)
class Slot:
    """One half hour of the plan and why it has the rates it has."""

    label: str  # "HH:MM" local clock time of the slot start
    period: str  # "PERIOD_HH_MM"
    # The instants the price was taken for, shown in the site zone. On a spring-forward day a
    # missing clock time shows as the instant it maps to (02:00 -> 03:00). Subtract and compare
    # them in UTC: Python subtracts same-zone datetimes on the wall clock, and a repeated-hour
    # time (fold=1) never compares equal to another zone's datetime.
    start: datetime
    end: datetime
    buy: float  # $/kWh as encoded
    sell: float  # $/kWh paid for export, as encoded
    buy_sources: tuple[PriceSource, ...]
    sell_sources: tuple[PriceSource, ...]
    buy_filled_from: str | None  # label of the slot whose price was carried in
    sell_filled_from: str | None
    spike_status: str
    adjustments: tuple[str, ...]
    buy_basis: SlotBasis = SlotBasis.AMBER
    sell_basis: SlotBasis = SlotBasis.AMBER

    @property
    def source(self) -> str:
        """One word for the slot as a whole: "amber", "gap" or "beyond_horizon"."""
        bases = (self.buy_basis, self.sell_basis)
        if any(b.beyond_horizon for b in bases):
            return "beyond_horizon"
        if SlotBasis.GAP in bases:
            return "gap"
        return "amber"


@dataclass(frozen=True, slots=True)
class BuiltTariff:
    """A plan ready to push, and its explanation."""

    plan: TouPlan
    tariff: dict[str, Any]
    slots: tuple[Slot, ...]  # rolling order: the slot holding `now` first
    now: datetime

    @property
    def buy(self) -> dict[str, float]:
        """Buy rate per clock label, 00:00..23:30."""
        return {s.label: s.buy for s in sorted(self.slots, key=lambda s: s.label)}

    @property
    def sell(self) -> dict[str, float]:
        """Sell rate per clock label, 00:00..23:30."""
        return {s.label: s.sell for s in sorted(self.slots, key=lambda s: s.label)}

    @property
    def adjustments(self) -> dict[str, int]:
        """How many slots each adjustment touched (every kind listed, zero included)."""
        counts = dict.fromkeys(ADJUSTMENTS, 0)
        for slot in self.slots:
            for adjustment in slot.adjustments:
                counts[adjustment] += 1
        return counts


# --- internals ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Priced:
    """A usable interval with the number chosen for it."""

    interval: PriceInterval
    index: int  # position in the input, for "the later one wins"
    field: str
    cents: float
    rank: int

    @property
    def exact(self) -> Fraction:
        """`cents` as the decimal Amber sent, so that rounding never depends on binary noise."""
        return Fraction(repr(self.cents))

    @property
    def start(self) -> datetime:
        return self.interval.start

    @property
    def end(self) -> datetime:
        return self.interval.end

    def precedence(self) -> tuple[timedelta, int, int]:
        """Smaller wins a contested minute: the finest interval, then Actual > Current > Forecast,
        then the later one in the input."""
        return (self.end - self.start, -self.rank, -self.index)


@dataclass(frozen=True, slots=True)
class _SlotRange:
    label: str
    clock: int  # minutes after local midnight
    start: datetime  # UTC
    end: datetime  # UTC
    current: bool


@dataclass(frozen=True, slots=True)
class _ChannelPrice:
    units: int  # ten-thousandths of a dollar, Amber's sign
    sources: tuple[PriceSource, ...]
    spike: str
    filled_from: str | None = None
    basis: SlotBasis = SlotBasis.AMBER


def _label(clock: int) -> str:
    return f"{clock // 60:02d}:{clock % 60:02d}"


def _period_name(clock: int) -> str:
    return f"PERIOD_{clock // 60:02d}_{clock % 60:02d}"


def _round_units(value: Fraction) -> int:
    """Round half away from zero, so a feed-in price and its negation round alike."""
    whole = math.floor(abs(value) + Fraction(1, 2))
    return whole if value >= 0 else -whole


def _spike_severity(status: str) -> int:
    return _SPIKE_SEVERITY.get(status, _UNKNOWN_SPIKE_SEVERITY)


def _choose(interval: PriceInterval, forecast_source: str) -> tuple[str, float]:
    """The field and value to use for one interval (the rule lives in pricing.py, shared with
    the price sensors' forecast)."""
    cents, field = interval_price(interval, forecast_source)
    return field, cents


def _usable(intervals: list[PriceInterval], channel: str, forecast_source: str) -> list[_Priced]:
    """One interval per (start, end) of `channel`, with its chosen price, sorted by start."""
    best: dict[tuple[datetime, datetime], _Priced] = {}
    for index, interval in enumerate(intervals):
        if interval.channel != channel:
            continue
        if interval.start.utcoffset() is None or interval.end.utcoffset() is None:
            raise TariffBuildError(
                f"Amber interval {interval.start}..{interval.end} has no time zone",
                reason="invalid_interval",
            )
        if interval.end <= interval.start:
            continue
        field, cents = _choose(interval, forecast_source)
        if isinstance(cents, bool) or not isinstance(cents, int | float):
            continue
        if not math.isfinite(cents):
            continue  # no usable number: the minutes count as missing, never as 0
        priced = _Priced(
            interval=interval,
            index=index,
            field=field,
            cents=float(cents),
            rank=_TYPE_RANK.get(interval.interval_type, 0),
        )
        key = (interval.start, interval.end)
        held = best.get(key)
        if held is None or (priced.rank, priced.index) >= (held.rank, held.index):
            best[key] = priced
    return sorted(best.values(), key=lambda p: (p.start, p.end))


def _source(priced: _Priced, weight_us: int) -> PriceSource:
    return PriceSource(
        start=priced.start.astimezone(UTC),
        end=priced.end.astimezone(UTC),
        interval_type=priced.interval.interval_type,
        field=priced.field,
        cents=priced.cents,
        minutes=weight_us / _MINUTE_US,
    )


def _overlap_us(priced: _Priced, start: datetime, end: datetime) -> int:
    return (min(priced.end, end) - max(priced.start, start)) // _MICROSECOND


def _slot_price(
    pool: list[_Priced],
    starts: list[datetime],
    longest: timedelta,
    slot: _SlotRange,
    now: datetime,
    use_current_interval: bool,
) -> _ChannelPrice | None:
    """The channel's price for one slot, or None when Amber covered under 15 of its minutes."""
    low = bisect_left(starts, slot.start - longest)
    high = bisect_left(starts, slot.end)
    candidates = [p for p in pool[low:high] if p.end > slot.start]
    if not candidates:
        return None

    if use_current_interval:
        holding = [p for p in candidates if p.start <= now < p.end]
        if holding:
            # A 5-minute site is billed the current interval's price: pass it on unaveraged so
            # a spike reaches the Powerwall within one cycle.
            chosen = min(holding, key=_Priced.precedence)
            weight = _overlap_us(chosen, slot.start, slot.end)
            return _ChannelPrice(
                units=_round_units(chosen.exact * UNITS_PER_CENT),
                sources=(_source(chosen, weight),),
                spike=chosen.interval.spike_status,
            )

    # Cut the slot where any interval starts or ends; each piece goes to its finest interval,
    # so overlapping coarse and fine data never weigh a minute twice.
    cuts = {slot.start, slot.end}
    for p in candidates:
        if slot.start < p.start < slot.end:
            cuts.add(p.start)
        if slot.start < p.end < slot.end:
            cuts.add(p.end)
    edges = sorted(cuts)
    weights: dict[int, int] = {}
    winners: dict[int, _Priced] = {}
    for piece_start, piece_end in pairwise(edges):
        covering = [p for p in candidates if p.start <= piece_start and p.end >= piece_end]
        if not covering:
            continue
        winner = min(covering, key=_Priced.precedence)
        weights[winner.index] = (
            weights.get(winner.index, 0) + (piece_end - piece_start) // _MICROSECOND
        )
        winners[winner.index] = winner

    covered = sum(weights.values())
    if covered < MIN_COVERED // _MICROSECOND:
        return None
    total = sum((winners[i].exact * w for i, w in weights.items()), Fraction(0))
    ordered = sorted(winners.values(), key=lambda p: (p.start, p.end))
    spike = max(
        (p.interval.spike_status for p in ordered),
        key=_spike_severity,
        default="none",
    )
    return _ChannelPrice(
        units=_round_units(total * UNITS_PER_CENT / covered),
        sources=tuple(_source(p, weights[p.index]) for p in ordered),
        spike=spike,
    )


def _slot_ranges(now: datetime, tz: tzinfo) -> list[_SlotRange]:
    """The 48 slots in rolling order, each with the UTC half hour its price is taken from.

    The plan has no dates, so a clock time that has passed today carries tomorrow's price. On a
    daylight-saving change a clock time may not exist or may occur twice; a local time is turned
    into an instant with zoneinfo's fold=0 (a missing time uses the offset before the change, a
    repeated one its first occurrence). The plan cannot be right for that one day anyway; the
    engine re-pushes after the change. The current slot is always the half hour holding `now`.
    """
    local_now = now.astimezone(tz)
    current_clock = local_now.hour * 60 + local_now.minute // SLOT_MINUTES * SLOT_MINUTES
    today = local_now.date()
    tomorrow = today + timedelta(days=1)
    ranges: list[_SlotRange] = []
    for step in range(SLOT_COUNT):
        clock = (current_clock + step * SLOT_MINUTES) % DAY_MINUTES
        if step == 0:
            # Keeps local_now's fold: in a repeated hour this is the occurrence holding `now`.
            local_start = local_now.replace(
                minute=local_now.minute // SLOT_MINUTES * SLOT_MINUTES, second=0, microsecond=0
            )
        else:
            day = today if clock >= current_clock else tomorrow
            local_start = datetime.combine(day, time(clock // 60, clock % 60), tzinfo=tz)
        start = local_start.astimezone(UTC)
        ranges.append(_SlotRange(_label(clock), clock, start, start + SLOT, step == 0))
    return ranges


def _channel_prices(
    pool: list[_Priced],
    ranges: list[_SlotRange],
    now: datetime,
    channel: str,
    use_current_interval: bool,
    lookup: Callable[[], list[_Priced]],
    tz: tzinfo,
) -> list[_ChannelPrice]:
    """Every slot's price for one channel: short holes bridged, the hours past Amber's horizon
    filled by the beyond-horizon rule (`lookup` gives the pool with history, built only then);
    raises when that is unsafe."""
    starts = [p.start for p in pool]
    longest = max((p.end - p.start for p in pool), default=timedelta(0))
    found = [
        _slot_price(pool, starts, longest, r, now, use_current_interval and r.current)
        for r in ranges
    ]
    if all(price is None for price in found):
        raise MissingPricesError(
            f"Amber sent no usable {channel} prices for the next 24 hours",
            reason="no_prices",
            channel=channel,
            missing=tuple(r.label for r in ranges),
            longest_run=len(ranges),
        )
    # Where the forecast ends: the slots after the last priced one, when the data reaches as far
    # as Amber's horizon always does. Earlier than that, the end is a hole like any other.
    horizon = len(found)
    while found[horizon - 1] is None:
        horizon -= 1
    if horizon < len(found) and ranges[horizon].start < forecast_must_reach(now):
        horizon = len(found)

    inner = found[:horizon]
    prices = _bridge(inner, ranges, channel)
    if horizon < len(found):
        prices.extend(_beyond_horizon(lookup(), prices, ranges, horizon, tz))
    return prices


def forecast_must_reach(now: datetime) -> datetime:
    """How far Amber's forecast always reaches at `now`; data ending sooner is broken."""
    nem = now.astimezone(NEM_TZ)
    day_end = datetime.combine(nem.date(), TRADING_DAY_END, NEM_TZ)
    if day_end <= nem:
        day_end += timedelta(days=1)
    return max(now + MIN_FORECAST_REACH, day_end - TRADING_DAY_SLACK).astimezone(UTC)


def _bridge(
    found: list[_ChannelPrice | None], ranges: list[_SlotRange], channel: str
) -> list[_ChannelPrice]:
    """Short holes inside the forecast borrow a neighbour's price; long or many refuse."""
    missing = [i for i, price in enumerate(found) if price is None]
    runs: list[tuple[int, int]] = []  # [first, last] indexes in rolling order
    for i in missing:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    longest_run = max((last - first + 1 for first, last in runs), default=0)
    labels = tuple(ranges[i].label for i in missing)
    if longest_run > MAX_FILLED_RUN:
        first, last = next((f, la) for f, la in runs if la - f + 1 == longest_run)
        raise MissingPricesError(
            f"Amber sent no {channel} prices for {longest_run} half hours in a row "
            f"({ranges[first].label}-{_label((ranges[last].clock + SLOT_MINUTES) % DAY_MINUTES)}); "
            f"at most {MAX_FILLED_RUN} can be bridged. Missing: {', '.join(labels)}",
            reason="price_gap",
            channel=channel,
            missing=labels,
            longest_run=longest_run,
        )
    if len(missing) > MAX_FILLED_TOTAL:
        raise MissingPricesError(
            f"Amber sent no {channel} prices for {len(missing)} half hours "
            f"({', '.join(labels)}); at most {MAX_FILLED_TOTAL} can be bridged",
            reason="too_many_missing_prices",
            channel=channel,
            missing=labels,
            longest_run=longest_run,
        )

    prices: list[_ChannelPrice] = []
    for i, price in enumerate(found):
        if price is not None:
            prices.append(price)
            continue
        first, last = next((f, la) for f, la in runs if f <= i <= la)
        # Borrow from the slot before the hole; a hole at the window's start has none.
        donor = last + 1 if first == 0 else first - 1
        held = found[donor]
        assert held is not None  # runs are maximal, so their neighbours have prices
        prices.append(_ChannelPrice(held.units, (), held.spike, ranges[donor].label, SlotBasis.GAP))
    return prices


def _day_before(slot: _SlotRange, tz: tzinfo) -> _SlotRange:
    """The same clock time one calendar day earlier (a DST change makes that 23 or 25 h)."""
    day = slot.start.astimezone(tz).date() - timedelta(days=1)
    local = datetime.combine(day, time(slot.clock // 60, slot.clock % 60), tzinfo=tz)
    start = local.astimezone(UTC)
    return _SlotRange(slot.label, slot.clock, start, start + SLOT, current=False)


def _beyond_horizon(
    pool: list[_Priced],
    known: list[_ChannelPrice],
    ranges: list[_SlotRange],
    horizon: int,
    tz: tzinfo,
) -> list[_ChannelPrice]:
    """Prices for the slots past Amber's forecast: the least favourable of three real figures.

    In Amber's sign a higher number is worse for the customer on both channels (dearer import,
    less paid or costlier export), so "least favourable" is the largest.
    """
    starts = [p.start for p in pool]
    longest = max((p.end - p.start for p in pool), default=timedelta(0))
    last = known[horizon - 1]
    priced = [price.units for price in known if price.basis is SlotBasis.AMBER]
    average = _round_units(Fraction(sum(priced), len(priced))) if priced else last.units
    filled: list[_ChannelPrice] = []
    for r in ranges[horizon:]:
        before = _slot_price(pool, starts, longest, _day_before(r, tz), r.start, False)
        # Ties go to the figure that carries its Amber intervals, for the explanation.
        candidates: list[_ChannelPrice] = []
        if before is not None:
            candidates.append(
                _ChannelPrice(before.units, before.sources, "none", r.label, SlotBasis.DAY_BEFORE)
            )
        candidates.append(
            _ChannelPrice(
                last.units, last.sources, "none", ranges[horizon - 1].label, SlotBasis.LAST_FORECAST
            )
        )
        candidates.append(_ChannelPrice(average, (), "none", None, SlotBasis.FORECAST_AVERAGE))
        filled.append(max(candidates, key=lambda c: c.units))
    return filled


def _no_export(ranges: list[_SlotRange]) -> list[_ChannelPrice]:
    """A site without a feed-in channel cannot be paid for export: 0 everywhere, said so."""
    return [
        _ChannelPrice(
            0,
            (PriceSource(r.start, r.end, "none", "none", 0.0, 30.0),),
            "none",
            basis=SlotBasis.NO_FEED_IN,
        )
        for r in ranges
    ]


def _check(now: datetime, options: TariffOptions) -> None:
    if now.utcoffset() is None:
        raise TariffBuildError("`now` must be timezone-aware", reason="invalid_options")
    if options.forecast_source not in FORECAST_SOURCES:
        raise TariffBuildError(
            f"Unknown forecast source {options.forecast_source!r}; "
            f"expected one of {', '.join(FORECAST_SOURCES)}",
            reason="invalid_options",
        )
    if options.interval_length not in INTERVAL_LENGTHS:
        raise TariffBuildError(
            f"Amber interval length must be 5 or 30 minutes, got {options.interval_length!r}",
            reason="invalid_options",
        )


def build_tariff(
    intervals: Iterable[PriceInterval],
    now: datetime,
    tz: tzinfo,
    options: TariffOptions,
    history: Iterable[PriceInterval] = (),
) -> BuiltTariff:
    """Turn Amber intervals into a rolling 24 h plan for the site in zone `tz`.

    `history` holds earlier settled intervals (up to a day back): the beyond-horizon rule looks
    up the same clock time the day before in them. Raises MissingPricesError when the data has
    holes that cannot be bridged safely, and TariffBuildError for unusable options or input.
    """
    _check(now, options)
    data = list(intervals)
    past = list(history)
    ranges = _slot_ranges(now, tz)
    five_minute = options.interval_length == 5

    def channel_prices(channel: str) -> list[_ChannelPrice]:
        pool = _usable(data, channel, options.forecast_source)

        def lookup() -> list[_Priced]:
            # History first: where it repeats an interval of this fetch, the fetch wins.
            return _usable(past + data, channel, options.forecast_source) if past else pool

        return _channel_prices(pool, ranges, now, channel, five_minute, lookup, tz)

    buy = channel_prices(ChannelType.GENERAL.value)
    sell = channel_prices(ChannelType.FEED_IN.value) if options.has_feed_in else _no_export(ranges)

    buy_units: list[int] = []
    sell_units: list[int] = []
    notes: list[list[str]] = []
    for buy_price, sell_price in zip(buy, sell, strict=True):
        b = buy_price.units
        s = -sell_price.units  # Amber's feed-in price is what exporting costs; Tesla wants paid
        note: list[str] = []
        # Tesla takes no negative rates; negatives are handled by other levers.
        if b < 0:
            b = 0
            note.append("buy_clamped")
        if s < 0:
            s = 0
            note.append("sell_clamped")
        if s > b and not options.allow_sell_above_buy:
            s = b
            note.append("sell_capped")
        buy_units.append(b)
        sell_units.append(s)
        notes.append(note)

    if options.spike_protection:
        # In a (potential) spike, make importing dearer than any export in the plan, so the
        # Powerwall never sees grid-charging for a later sale as worthwhile.
        top_sell = max(sell_units)
        for i, buy_price in enumerate(buy):
            if buy_price.spike in SPIKE_PROTECTED_STATUSES and buy_units[i] < top_sell:
                buy_units[i] = top_sell + SPIKE_MARGIN_UNITS
                notes[i].append("spike_protected")

    slots = tuple(
        Slot(
            label=r.label,
            period=_period_name(r.clock),
            start=r.start.astimezone(tz),
            end=r.end.astimezone(tz),
            buy=buy_units[i] / UNITS_PER_DOLLAR,
            sell=sell_units[i] / UNITS_PER_DOLLAR,
            buy_sources=buy[i].sources,
            sell_sources=sell[i].sources,
            buy_filled_from=buy[i].filled_from,
            sell_filled_from=sell[i].filled_from,
            spike_status=buy[i].spike,
            adjustments=tuple(notes[i]),
            buy_basis=buy[i].basis,
            sell_basis=sell[i].basis,
        )
        for i, r in enumerate(ranges)
    )

    clock_order = sorted(zip(ranges, slots, strict=True), key=lambda pair: pair[0].clock)
    periods = tuple(
        TouPeriod(
            name=slot.period,
            windows=(TouWindow(0, 6, r.clock, r.clock + SLOT_MINUTES),),
            buy=slot.buy,
            sell=slot.sell,
        )
        for r, slot in clock_order
    )
    plan = TouPlan(
        code=PLAN_CODE,
        name=options.name,
        utility=options.utility,
        seasons=(TouSeason(SEASON_NAME, 1, 1, 12, 31, periods),),
    )
    return BuiltTariff(plan=plan, tariff=encode_tariff(plan), slots=slots, now=now)
