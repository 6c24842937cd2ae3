"""Amber intervals -> Tesla plan (tariff.py).

The property test compares the builder with an independent, deliberately plain reference written
here (minute by minute, nothing shared with tariff.py), then resolves the encoded plan with
tesla_fleet_api's offline resolver. Named cases pin the rules one at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from fractions import Fraction
import math
import random
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings, strategies as st
import pytest
from tesla_fleet_api import get_tariff_periods

from custom_components.tesla_amber_sync.api.models import AdvancedPrice, PriceInterval
from custom_components.tesla_amber_sync.tariff import (
    BuiltTariff,
    MissingPricesError,
    PriceSource,
    Slot,
    TariffBuildError,
    TariffOptions,
    build_tariff,
)
from custom_components.tesla_amber_sync.tou import PLAN_CODE_PREFIX, rates_at
from custom_components.tesla_amber_sync.validate import find_problems, validate_tariff

SYDNEY = ZoneInfo("Australia/Sydney")
ADELAIDE = ZoneInfo("Australia/Adelaide")
BRISBANE = ZoneInfo("Australia/Brisbane")
HOBART = ZoneInfo("Australia/Hobart")
ZONES = (SYDNEY, ADELAIDE, BRISBANE, HOBART)
MINUTE = timedelta(minutes=1)
ACTUAL, CURRENT, FORECAST = "ActualInterval", "CurrentInterval", "ForecastInterval"

Price = float | Callable[[datetime], float]


# --- building Amber data concisely --------------------------------------------------------------


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def kind_at(start: datetime, end: datetime, now: datetime) -> str:
    if end <= now:
        return ACTUAL
    return CURRENT if start <= now else FORECAST


def iv(
    start: datetime,
    minutes: int,
    cents: float,
    *,
    now: datetime,
    channel: str = "general",
    kind: str | None = None,
    advanced: tuple[float, float, float] | None = None,
    estimate: bool = False,
    spike: str = "none",
) -> PriceInterval:
    """One interval `[start, start + minutes)`; its type follows from `now` unless given."""
    start = start.astimezone(UTC)
    end = start + timedelta(minutes=minutes)
    return PriceInterval(
        interval_type=kind or kind_at(start, end, now),
        channel=channel,
        start=start,
        end=end,
        per_kwh=cents,
        spike_status=spike,
        estimate=estimate,
        advanced_price=AdvancedPrice(*advanced) if advanced else None,
    )


def _price(price: Price, start: datetime) -> float:
    return price(start) if callable(price) else price


def response(
    now: datetime,
    *,
    general: Price = 30.0,
    feed_in: Price = -8.0,
    back: int = 60,
    five_until: datetime | None = None,
    hours: float = 30,
    skip: Callable[[datetime], bool] = lambda _: False,
) -> list[PriceInterval]:
    """An Amber-like response for both channels: 5-minute intervals from `back` minutes before
    `now` to the end of the hour (or `five_until`, then to the next half hour), then 30-minute
    ones for `hours` after `now`.
    Prices may be functions of the interval start (UTC); `skip(start)` leaves an interval out."""
    now_utc = now.astimezone(UTC)
    t = now_utc.replace(minute=now_utc.minute // 5 * 5, second=0, microsecond=0)
    t -= timedelta(minutes=back)
    stop_five = five_until or now_utc.replace(minute=0, second=0, microsecond=0) + timedelta(
        hours=1
    )
    end = now_utc + timedelta(hours=hours)
    out: list[PriceInterval] = []
    while t < end:
        minutes = 5 if t < stop_five or t.minute % 30 else 30  # 30-minute ones stay aligned
        if not skip(t):
            out.append(iv(t, minutes, _price(general, t), now=now))
            out.append(iv(t, minutes, _price(feed_in, t), now=now, channel="feedIn"))
        t += timedelta(minutes=minutes)
    return out


def build(
    intervals: list[PriceInterval], now: datetime, tz: tzinfo = SYDNEY, **options: Any
) -> BuiltTariff:
    return build_tariff(intervals, now, tz, TariffOptions(**options))


def slot(built: BuiltTariff, label: str) -> Slot:
    return next(s for s in built.slots if s.label == label)


def by_hour(table: dict[int, float], default: float = 10.0) -> Callable[[datetime], float]:
    """A price per UTC hour."""
    return lambda start: table.get(start.hour, default)


# --- the independent reference ------------------------------------------------------------------

REF_RANK = {ACTUAL: 2, CURRENT: 1}
REF_SEVERITY = {"none": 0, "potential": 2, "spike": 3}


@dataclass
class RefOwner:
    rank: int
    index: int
    interval: PriceInterval
    field: str
    cents: float

    def __post_init__(self) -> None:
        self.exact = Fraction(repr(self.cents))  # the decimal Amber sent


@dataclass
class RefPrice:
    units: int  # $0.0001, Amber's sign
    sources: list[tuple[Any, ...]]
    spike: str
    filled_from: str | None = None
    basis: str = "amber"


@dataclass
class RefSlot:
    label: str
    start: datetime
    buy: float
    sell: float
    buy_sources: list[tuple[Any, ...]]
    sell_sources: list[tuple[Any, ...]]
    buy_filled_from: str | None
    sell_filled_from: str | None
    spike: str
    adjustments: tuple[str, ...]
    buy_basis: str = "amber"
    sell_basis: str = "amber"


@dataclass
class RefRefusal:
    channel: str
    reason: str
    missing: tuple[str, ...]
    longest_run: int


def ref_value(interval: PriceInterval, source: str) -> tuple[str, float]:
    adv = interval.advanced_price
    if interval.interval_type == ACTUAL:
        return "perKwh", interval.per_kwh
    if interval.interval_type == CURRENT:
        if interval.estimate and adv is not None and source != "aemo":
            return "advancedPrice.predicted", adv.predicted
        return "perKwh", interval.per_kwh
    if adv is None or source == "aemo":
        return "perKwh", interval.per_kwh
    return "advancedPrice." + source, {
        "low": adv.low,
        "predicted": adv.predicted,
        "high": adv.high,
    }[source]


def ref_owners(
    intervals: list[PriceInterval], channel: str, source: str
) -> dict[datetime, RefOwner]:
    """Who prices each UTC minute: dedupe by (start, end), then the finest interval wins."""
    kept: dict[tuple[datetime, datetime], RefOwner] = {}
    for index, interval in enumerate(intervals):
        if interval.channel != channel:
            continue
        field, cents = ref_value(interval, source)
        if not math.isfinite(cents):
            continue
        owner = RefOwner(REF_RANK.get(interval.interval_type, 0), index, interval, field, cents)
        old = kept.get((interval.start, interval.end))
        if old is None or owner.rank >= old.rank:
            kept[(interval.start, interval.end)] = owner
    minutes: dict[datetime, RefOwner] = {}
    for owner in kept.values():
        length = owner.interval.end - owner.interval.start
        t = owner.interval.start
        while t < owner.interval.end:
            held = minutes.get(t)
            if held is None:
                minutes[t] = owner
            else:
                held_length = held.interval.end - held.interval.start
                if (length, -owner.rank, -owner.index) < (held_length, -held.rank, -held.index):
                    minutes[t] = owner
            t += MINUTE
    return minutes


def ref_round(value: Fraction) -> int:
    """Half away from zero."""
    magnitude = abs(value)
    whole = int(magnitude)
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return whole if value >= 0 else -whole


def ref_slot_starts(now: datetime, tz: tzinfo) -> list[tuple[str, datetime]]:
    local = now.astimezone(tz)
    first = local.hour * 60 + local.minute // 30 * 30
    result = []
    for k in range(48):
        clock = (first + 30 * k) % 1440
        if k == 0:
            # Every test zone's offset is whole half hours: the UTC half hour holding now.
            u = now.astimezone(UTC)
            start = u.replace(minute=u.minute // 30 * 30, second=0, microsecond=0)
        else:
            day = local.date() if clock > first else local.date() + timedelta(days=1)
            start = datetime(
                day.year, day.month, day.day, clock // 60, clock % 60, tzinfo=tz
            ).astimezone(UTC)
        result.append((f"{clock // 60:02d}:{clock % 60:02d}", start))
    return result


def ref_source(owner: RefOwner, minutes: int) -> tuple[Any, ...]:
    i = owner.interval
    return (i.start, i.end, i.interval_type, owner.field, owner.cents, minutes)


def ref_price_of(
    owners: dict[datetime, RefOwner], start: datetime, filled_from: str | None = None
) -> RefPrice | None:
    """The half hour from `start` averaged over the minutes someone owns (None under 15)."""
    minutes = [start + i * MINUTE for i in range(30)]
    owned = [owners[m] for m in minutes if m in owners]
    if len(owned) < 15:
        return None
    total = Fraction(0)
    counts: dict[int, int] = {}
    for owner in owned:
        total += owner.exact
        counts[owner.index] = counts.get(owner.index, 0) + 1
    distinct = sorted({o.index: o for o in owned}.values(), key=lambda o: o.interval.start)
    spike = "none"
    for owner in distinct:
        status = owner.interval.spike_status
        if REF_SEVERITY.get(status, 1) > REF_SEVERITY.get(spike, 1):
            spike = status
    return RefPrice(
        ref_round(total * 100 / len(owned)),
        [ref_source(o, counts[o.index]) for o in distinct],
        spike,
        filled_from,
    )


def ref_channel(
    owners: dict[datetime, RefOwner],
    starts: list[tuple[str, datetime]],
    now: datetime,
    five_minute: bool,
    channel: str,
    lookup: dict[datetime, RefOwner],
    tz: tzinfo,
) -> list[RefPrice] | RefRefusal:
    found: list[RefPrice | None] = []
    for k, (_, start) in enumerate(starts):
        minutes = [start + i * MINUTE for i in range(30)]
        if k == 0 and five_minute:
            now_minute = now.astimezone(UTC).replace(second=0, microsecond=0)
            held = owners.get(now_minute)
            if held is not None:
                # Its whole extent in the slot: it sets the price alone.
                count = sum(1 for m in minutes if held.interval.start <= m < held.interval.end)
                units = ref_round(held.exact * 100)
                found.append(RefPrice(units, [ref_source(held, count)], held.interval.spike_status))
                continue
        found.append(ref_price_of(owners, start))

    if all(f is None for f in found):
        return RefRefusal(channel, "no_prices", tuple(label for label, _ in starts), 48)
    # The forecast's end: after the last priced slot, if that is at least 12 h from now and no
    # more than an hour before the next 04:00 NEM time (UTC 18:00).
    end = max(k for k, f in enumerate(found) if f is not None) + 1
    now_utc = now.astimezone(UTC)
    nem_day_end = datetime.combine(now_utc.date(), datetime.min.time(), UTC) + timedelta(hours=18)
    while nem_day_end <= now_utc:
        nem_day_end += timedelta(days=1)
    while nem_day_end - timedelta(days=1) > now_utc:
        nem_day_end -= timedelta(days=1)
    if end < 48 and (
        starts[end][1] - now_utc < timedelta(hours=12)
        or starts[end][1] < nem_day_end - timedelta(hours=1)
    ):
        end = 48
    inside = found[:end]
    missing = [k for k, f in enumerate(inside) if f is None]
    runs: list[list[int]] = []
    for k in missing:
        if runs and runs[-1][-1] == k - 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    longest = max((len(r) for r in runs), default=0)
    labels = tuple(starts[k][0] for k in missing)
    if longest > 2:
        return RefRefusal(channel, "price_gap", labels, longest)
    if len(missing) > 4:
        return RefRefusal(channel, "too_many_missing_prices", labels, longest)
    result: list[RefPrice] = []
    for k, f in enumerate(inside):
        if f is not None:
            result.append(f)
            continue
        run = next(r for r in runs if k in r)
        donor = run[-1] + 1 if run[0] == 0 else run[0] - 1
        d = inside[donor]
        assert d is not None
        result.append(RefPrice(d.units, [], d.spike, starts[donor][0], "gap"))
    if end == 48:
        return result
    # Past the horizon: the largest (worst for the customer, Amber's sign) of the price at the
    # same clock time a calendar day earlier, the last priced slot and the mean of priced slots.
    last = result[end - 1]
    priced = [f.units for f in inside if f is not None]
    mean = ref_round(Fraction(sum(priced), len(priced)))
    for label, start in starts[end:]:
        local = start.astimezone(tz)
        hour, minute = map(int, label.split(":"))
        earlier = local.date() - timedelta(days=1)
        before_start = datetime(
            earlier.year, earlier.month, earlier.day, hour, minute, tzinfo=tz
        ).astimezone(UTC)
        options = []
        before = ref_price_of(lookup, before_start, label)
        if before is not None:
            options.append(RefPrice(before.units, before.sources, "none", label, "day_before"))
        options.append(
            RefPrice(last.units, last.sources, "none", starts[end - 1][0], "last_forecast")
        )
        options.append(RefPrice(mean, [], "none", None, "forecast_average"))
        best = options[0]
        for option in options[1:]:
            if option.units > best.units:
                best = option
        result.append(best)
    return result


def reference(
    intervals: list[PriceInterval],
    now: datetime,
    tz: tzinfo,
    options: TariffOptions,
    history: list[PriceInterval] | None = None,
) -> list[RefSlot] | RefRefusal:
    starts = ref_slot_starts(now, tz)
    five = options.interval_length == 5
    both = (history or []) + intervals
    src = options.forecast_source
    buy = ref_channel(
        ref_owners(intervals, "general", src),
        starts,
        now,
        five,
        "general",
        ref_owners(both, "general", src),
        tz,
    )
    if isinstance(buy, RefRefusal):
        return buy
    if options.has_feed_in:
        sell = ref_channel(
            ref_owners(intervals, "feedIn", src),
            starts,
            now,
            five,
            "feedIn",
            ref_owners(both, "feedIn", src),
            tz,
        )
        if isinstance(sell, RefRefusal):
            return sell
    else:
        sell = [
            RefPrice(
                0,
                [(s, s + timedelta(minutes=30), "none", "none", 0.0, 30)],
                "none",
                None,
                "no_feed_in",
            )
            for _, s in starts
        ]
    buys: list[int] = []
    sells: list[int] = []
    notes: list[list[str]] = []
    for b, s in zip(buy, sell, strict=True):
        b_units, s_units, note = b.units, -s.units, []
        if b_units < 0:
            b_units = 0
            note.append("buy_clamped")
        if s_units < 0:
            s_units = 0
            note.append("sell_clamped")
        if s_units > b_units and not options.allow_sell_above_buy:
            s_units = b_units
            note.append("sell_capped")
        buys.append(b_units)
        sells.append(s_units)
        notes.append(note)
    top = max(sells)
    if options.spike_protection:
        for k, b in enumerate(buy):
            if b.spike in ("potential", "spike") and buys[k] < top:
                buys[k] = top + 100
                notes[k].append("spike_protected")
    return [
        RefSlot(
            label,
            start,
            buys[k] / 10000,
            sells[k] / 10000,
            buy[k].sources,
            sell[k].sources,
            buy[k].filled_from,
            sell[k].filled_from,
            buy[k].spike,
            tuple(notes[k]),
            buy[k].basis,
            sell[k].basis,
        )
        for k, (label, start) in enumerate(starts)
    ]


def sources(found: tuple[PriceSource, ...]) -> list[tuple[Any, ...]]:
    return [(s.start, s.end, s.interval_type, s.field, s.cents, s.minutes) for s in found]


def assert_matches(built: BuiltTariff, expected: list[RefSlot], tz: tzinfo) -> None:
    assert [s.label for s in built.slots] == [e.label for e in expected]
    for got, want in zip(built.slots, expected, strict=True):
        # In UTC: a fold=1 local time never compares equal across zones (PEP 495).
        assert got.start.astimezone(UTC) == want.start, got.label
        # Same-zone datetime subtraction is wall-clock arithmetic: compare instants.
        assert got.end.astimezone(UTC) - got.start.astimezone(UTC) == timedelta(minutes=30)
        assert got.start.tzinfo is tz
        assert got.period == "PERIOD_" + want.label.replace(":", "_")
        assert (got.buy, got.sell) == (want.buy, want.sell), got.label
        assert got.adjustments == want.adjustments, got.label
        assert got.spike_status == want.spike, got.label
        assert (got.buy_filled_from, got.sell_filled_from) == (
            want.buy_filled_from,
            want.sell_filled_from,
        )
        assert sources(got.buy_sources) == want.buy_sources, got.label
        assert sources(got.sell_sources) == want.sell_sources, got.label
        assert (got.buy_basis, got.sell_basis) == (want.buy_basis, want.sell_basis), got.label


def assert_resolves(built: BuiltTariff, tz: tzinfo, *, ours_too: bool = True) -> None:
    """Tesla's view: resolve each slot of the encoded plan offline on a plain week (and with
    tou.rates_at, unless the caller is in a hurry)."""
    monday = date(2025, 1, 6)  # no clock change anywhere that week
    for i, s in enumerate(built.slots):
        day = monday + timedelta(days=i % 7)
        hour, minute = map(int, s.label.split(":"))
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        resolved = get_tariff_periods(built.tariff, local)
        assert resolved is not None, s.label
        assert resolved.buy.price == s.buy, s.label
        assert resolved.sell.price == s.sell, s.label
        assert resolved.buy.period_name == s.period
        assert resolved.next_change == local + timedelta(minutes=30)
        if not ours_too:
            continue
        ours = rates_at(built.tariff, local + timedelta(minutes=29))
        assert (ours.buy, ours.sell, ours.period) == (s.buy, s.sell, s.period)


def assert_plan_shape(built: BuiltTariff) -> None:
    tariff = built.tariff
    assert tariff["code"] == f"{PLAN_CODE_PREFIX}:AMBER"
    assert list(tariff["seasons"]) == ["Summer"]
    season = tariff["seasons"]["Summer"]
    assert (season["fromMonth"], season["fromDay"], season["toMonth"], season["toDay"]) == (
        1,
        1,
        12,
        31,
    )
    periods = season["tou_periods"]
    assert list(periods) == [f"PERIOD_{c // 60:02d}_{c % 60:02d}" for c in range(0, 1440, 30)]
    for name, body in periods.items():
        (entry,) = body["periods"]
        hour, minute = int(name[7:9]), int(name[10:12])
        end = hour * 60 + minute + 30
        assert entry == {
            "fromDayOfWeek": 0,
            "toDayOfWeek": 6,
            "fromHour": hour,
            "fromMinute": minute,
            "toHour": end // 60,
            "toMinute": end % 60,
        }
    assert periods["PERIOD_23_30"]["periods"][0]["toHour"] == 24
    assert tariff["energy_charges"]["Summer"]["rates"] == {
        s.period: s.buy for s in sorted(built.slots, key=lambda s: s.label)
    }
    assert tariff["sell_tariff"]["energy_charges"]["Summer"]["rates"] == {
        s.period: s.sell for s in built.slots
    }
    assert list(built.buy) == sorted(built.buy)
    assert built.buy == {s.label: s.buy for s in built.slots}
    assert built.sell == {s.label: s.sell for s in built.slots}
    assert all(v >= 0 for v in built.buy.values())
    assert all(v >= 0 for v in built.sell.values())


# --- the property -------------------------------------------------------------------------------

ANCHORS = (
    utc(2025, 10, 4, 16),  # Sydney/Hobart clocks go forward (02:00 AEST -> 03:00 AEDT)
    utc(2025, 10, 4, 16, 30),  # Adelaide forward
    utc(2025, 4, 5, 16),  # Sydney/Hobart back (03:00 AEDT -> 02:00 AEST)
    utc(2025, 4, 5, 16, 30),  # Adelaide back
    utc(2025, 1, 14, 13),  # Sydney summer midnight
    utc(2025, 1, 14, 14),  # NEM midnight
    utc(2025, 7, 1, 3, 17),
    utc(2026, 2, 28, 12),
)
PRICE_POOL = (0.0, 1.0, -1.0, 12.345, -8.3, 25.5, 2000.0, -2000.0, 0.005, -0.005, 55.55, 100.0)
STATUSES = ("none", "none", "none", "none", "potential", "spike", "somethingNew")


class Scenario:
    """Not a dataclass: hypothesis would print every field of every interval."""

    def __init__(
        self,
        intervals: list[PriceInterval],
        now: datetime,
        tz: ZoneInfo,
        options: TariffOptions,
        history: list[PriceInterval],
    ) -> None:
        self.intervals, self.now, self.tz, self.options = intervals, now, tz, options
        self.history = history

    def __repr__(self) -> str:
        """One line per interval, so that a falsifying example can be read."""
        lines = [f"now={self.now.isoformat()} tz={self.tz.key} {self.options}"]
        for i in [*self.history, *self.intervals]:
            adv = i.advanced_price
            lines.append(
                f"  {i.channel:8} {i.start:%m-%d %H:%M}+{i.duration_minutes:<2} "
                f"{i.interval_type:16} {i.per_kwh!r:>20} est={i.estimate:d} {i.spike_status:9} "
                f"adv={(adv.low, adv.predicted, adv.high) if adv else None}"
            )
        return "\n".join(lines)


def _random_price(rng: random.Random) -> float:
    pick = rng.random()
    if pick < 0.35:
        return rng.choice(PRICE_POOL)
    if pick < 0.8:
        return rng.randint(-5000, 20000) / 100
    return rng.uniform(-2233.0, 2233.0)


def _random_interval(
    rng: random.Random, start: datetime, minutes: int, now: datetime, channel: str
) -> PriceInterval:
    end = start + timedelta(minutes=minutes)
    kind = kind_at(start, end, now)
    if kind == FORECAST and rng.random() < 0.05:
        kind = "SomeNewInterval"
    cents = _random_price(rng)
    if rng.random() < 0.01:
        cents = math.nan  # unusable: must count as missing, never as a price
    advanced = None
    if kind != ACTUAL and rng.random() < 0.7:
        values = sorted(_random_price(rng) for _ in range(3))
        advanced = AdvancedPrice(values[0], values[1], values[2])
    return PriceInterval(
        interval_type=kind,
        channel=channel,
        start=start,
        end=end,
        per_kwh=cents,
        spike_status=rng.choice(STATUSES),
        estimate=kind == CURRENT and rng.random() < 0.5,
        advanced_price=advanced,
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    tz = draw(st.sampled_from(ZONES))
    now = draw(st.sampled_from(ANCHORS)) + timedelta(
        seconds=draw(st.integers(-36 * 3600, 36 * 3600))
    )
    options = TariffOptions(
        forecast_source=draw(st.sampled_from(["predicted", "low", "high", "aemo"])),
        spike_protection=draw(st.booleans()),
        allow_sell_above_buy=draw(st.booleans()),
        interval_length=draw(st.sampled_from([5, 30])),
        has_feed_in=draw(st.booleans()),
    )
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    back = draw(st.integers(0, 24)) * 5
    five_halves = draw(st.sampled_from([None, 0, 1, 2]))  # None: a 30-minute-only response
    # Amber's horizon is 15.5-40 h; shorter ones are broken data (refused below 12 h).
    horizon = draw(
        st.one_of(
            st.integers(24 * 60, 40 * 60),
            st.integers(15 * 60, 26 * 60),
            st.integers(6 * 60, 15 * 60),
        )
    )
    gap = st.tuples(st.integers(-180, 40 * 60), st.one_of(st.integers(5, 70), st.integers(5, 300)))
    gaps = {
        "general": draw(st.lists(gap, max_size=4)),
        "feedIn": draw(st.lists(gap, max_size=4)),
        "controlledLoad": [],
    }
    coarse_over_fine = draw(st.booleans())
    split_some = draw(st.booleans())

    now_utc = now.astimezone(UTC)
    floor5 = now_utc.replace(minute=now_utc.minute // 5 * 5, second=0, microsecond=0)
    ceil30 = now_utc.replace(minute=now_utc.minute // 30 * 30, second=0, microsecond=0)
    ceil30 += timedelta(minutes=30)
    if five_halves is None:
        t = ceil30 - timedelta(minutes=30) - timedelta(minutes=back // 30 * 30)
        five_end = t
    else:
        t = floor5 - timedelta(minutes=back)
        five_end = ceil30 + timedelta(minutes=30 * five_halves)
    end = now_utc + timedelta(minutes=horizon)

    intervals: list[PriceInterval] = []
    for channel in ("general", "feedIn", "controlledLoad"):
        cursor = t
        while cursor < end:
            minutes = 5 if cursor < five_end else 30
            pieces = [(cursor, minutes)]
            if minutes == 30 and split_some and rng.random() < 0.1:
                pieces = [(cursor, 15), (cursor + timedelta(minutes=15), 15)]
            for start, length in pieces:
                offset = (start - now_utc) / MINUTE
                if not any(g <= offset < g + n for g, n in gaps[channel]):
                    intervals.append(_random_interval(rng, start, length, now, channel))
            cursor += timedelta(minutes=minutes)
        if coarse_over_fine and five_halves is not None:
            # Amber's 30-minute view of the same minutes the 5-minute data covers.
            cursor = t.replace(minute=t.minute // 30 * 30)
            while cursor < five_end:
                if rng.random() < 0.7:
                    intervals.append(_random_interval(rng, cursor, 30, now, channel))
                cursor += timedelta(minutes=30)

    for _ in range(draw(st.integers(0, 8))):  # repeats of the same (channel, start, end)
        original = rng.choice(intervals)
        kind = rng.choice([ACTUAL, CURRENT, FORECAST, original.interval_type])
        copy = replace(original, interval_type=kind, per_kwh=_random_price(rng))
        intervals.insert(rng.randrange(len(intervals) + 1), copy)
    if draw(st.booleans()):
        rng.shuffle(intervals)

    # Settled intervals of the day before, as the coordinator keeps them (some missing, some
    # repeating the fetch's own minutes, 5 or 30 minutes long).
    history: list[PriceInterval] = []
    if draw(st.booleans()):
        cursor = ceil30 - timedelta(hours=26)
        history_end = t + timedelta(minutes=draw(st.sampled_from([0, 30, 60])))
        while cursor < history_end:
            minutes = rng.choice([5, 30, 30])
            for channel in ("general", "feedIn"):
                if rng.random() < 0.9:
                    settled = _random_interval(rng, cursor, minutes, now, channel)
                    history.append(replace(settled, interval_type=ACTUAL))
            cursor += timedelta(minutes=minutes)
    return Scenario(intervals, now, tz, options, history)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario=scenarios())
def test_builder_matches_reference(scenario: Scenario) -> None:
    intervals, now, tz, options = scenario.intervals, scenario.now, scenario.tz, scenario.options
    history = scenario.history
    expected = reference(intervals, now, tz, options, history)
    if isinstance(expected, RefRefusal):
        event(f"refused: {expected.reason}")
        with pytest.raises(MissingPricesError) as caught:
            build_tariff(intervals, now, tz, options, history)
        err = caught.value
        assert (err.channel, err.reason, err.missing, err.longest_run) == (
            expected.channel,
            expected.reason,
            expected.missing,
            expected.longest_run,
        )
        return
    beyond = sum(s.buy_basis not in ("amber", "gap") for s in expected)
    event("built, beyond the horizon" if beyond else "built")
    built = build_tariff(intervals, now, tz, options, history)
    assert find_problems(built.tariff) == []
    validate_tariff(built.tariff)
    assert built.now == now
    assert_matches(built, expected, tz)
    assert_plan_shape(built)
    assert_resolves(built, tz, ours_too=False)
    counts = built.adjustments
    for name in ("buy_clamped", "sell_clamped", "sell_capped", "spike_protected"):
        assert counts[name] == sum(name in s.adjustments for s in expected)


# --- named cases: time ---------------------------------------------------------------------------


def test_rolling_window_around_midnight() -> None:
    now = datetime(2025, 1, 14, 23, 50, tzinfo=SYDNEY)
    prices = by_hour({h: 10.0 + h for h in range(24)})
    built = build(response(now, general=prices), now)
    assert [s.label for s in built.slots[:3]] == ["23:30", "00:00", "00:30"]
    assert slot(built, "23:30").start == datetime(2025, 1, 14, 23, 30, tzinfo=SYDNEY)
    assert slot(built, "00:00").start == datetime(2025, 1, 15, 0, 0, tzinfo=SYDNEY)
    assert slot(built, "23:00").start == datetime(2025, 1, 15, 23, 0, tzinfo=SYDNEY)
    assert slot(built, "23:00").end == datetime(2025, 1, 15, 23, 30, tzinfo=SYDNEY)
    # 23:00 AEDT on the 15th is 12:00Z.
    assert slot(built, "23:00").buy == 0.22

    now = datetime(2025, 1, 15, 0, 10, tzinfo=SYDNEY)
    built = build(response(now, general=prices), now)
    assert built.slots[0].label == "00:00"
    last = slot(built, "23:30")
    assert (last.start, last.end) == (
        datetime(2025, 1, 15, 23, 30, tzinfo=SYDNEY),
        datetime(2025, 1, 16, 0, 0, tzinfo=SYDNEY),
    )
    assert built.tariff["seasons"]["Summer"]["tou_periods"]["PERIOD_23_30"]["periods"] == [
        {
            "fromDayOfWeek": 0,
            "toDayOfWeek": 6,
            "fromHour": 23,
            "fromMinute": 30,
            "toHour": 24,
            "toMinute": 0,
        }
    ]
    assert_resolves(built, SYDNEY)


def test_now_in_any_zone_is_placed_in_the_site_zone() -> None:
    now_utc = utc(2025, 1, 14, 2, 40)  # 13:40 AEDT, 12:10 ACDT, 12:40 AEST
    data = response(now_utc)
    assert build(data, now_utc, SYDNEY).slots[0].label == "13:30"
    assert build(data, now_utc, ADELAIDE).slots[0].label == "13:00"
    assert build(data, now_utc, BRISBANE).slots[0].label == "12:30"
    assert build(data, now_utc.astimezone(ADELAIDE), SYDNEY).slots[0].label == "13:30"


@pytest.mark.parametrize(("tz", "shift"), [(SYDNEY, 0), (HOBART, 0), (ADELAIDE, 30)])
def test_clocks_going_forward(tz: ZoneInfo, shift: int) -> None:
    """First Sunday of October: 02:00-03:00 does not exist. Its slots take the instant a
    zoneinfo fold=0 time maps to (the offset before the change), the same as 03:00-04:00."""
    now = datetime(2025, 10, 4, 21, 10, tzinfo=tz)  # Saturday evening
    prices = lambda start: start.hour * 100 + start.minute  # noqa: E731
    built = build(response(now, general=prices, feed_in=-1.0), now, tz)
    base = utc(2025, 10, 4, 16) + timedelta(minutes=shift)
    assert slot(built, "01:30").buy_sources[0].start == base - timedelta(minutes=30)
    for label, offset in (("02:00", 0), ("02:30", 30), ("03:00", 0), ("03:30", 30)):
        s = slot(built, label)
        assert s.start.astimezone(UTC) == base + timedelta(minutes=offset), label
        assert [src.start for src in s.buy_sources] == [base + timedelta(minutes=offset)]
    assert slot(built, "02:00").buy == slot(built, "03:00").buy
    assert slot(built, "04:00").start.astimezone(UTC) == base + timedelta(hours=1)
    assert find_problems(built.tariff) == []
    assert_resolves(built, tz)


@pytest.mark.parametrize(("tz", "shift"), [(SYDNEY, 0), (HOBART, 0), (ADELAIDE, 30)])
def test_clocks_going_back(tz: ZoneInfo, shift: int) -> None:
    """First Sunday of April: 02:00-03:00 happens twice; the slots take the first one."""
    now = datetime(2025, 4, 5, 21, 10, tzinfo=tz)
    prices = lambda start: start.hour * 100 + start.minute  # noqa: E731
    built = build(response(now, general=prices, feed_in=-1.0), now, tz)
    first = utc(2025, 4, 5, 15) + timedelta(minutes=shift)  # 02:00 daylight time
    assert slot(built, "02:00").start.astimezone(UTC) == first
    assert slot(built, "02:30").start.astimezone(UTC) == first + timedelta(minutes=30)
    assert slot(built, "03:00").start.astimezone(UTC) == first + timedelta(hours=2)
    assert slot(built, "02:00").buy == (first.hour * 100 + first.minute) / 100
    used = {src.start for s in built.slots for src in s.buy_sources}
    repeated_hour = {first + timedelta(hours=1), first + timedelta(hours=1, minutes=30)}
    assert not used & repeated_hour
    assert_resolves(built, tz)


def test_current_slot_inside_the_repeated_hour() -> None:
    """At 02:10 standard time (the second 02:10), the current slot is the half hour holding now;
    the other slots follow fold=0, so 02:30 refers to the first (already past) 02:30."""
    now = utc(2025, 4, 5, 16, 10)
    assert now.astimezone(SYDNEY).fold == 1
    prices = lambda start: start.hour * 100 + start.minute  # noqa: E731
    built = build(response(now, general=prices, feed_in=-1.0, back=90), now, SYDNEY)
    current = built.slots[0]
    assert current.label == "02:00"
    assert current.start.astimezone(UTC) == utc(2025, 4, 5, 16)
    assert current.buy == 16.1  # the 16:10Z interval, unaveraged
    assert slot(built, "02:30").start.astimezone(UTC) == utc(2025, 4, 5, 15, 30)


def test_brisbane_has_no_clock_change() -> None:
    now = datetime(2025, 10, 4, 21, 10, tzinfo=BRISBANE)
    prices = lambda start: start.hour * 100 + start.minute  # noqa: E731
    built = build(response(now, general=prices), now, BRISBANE)
    starts = [s.start.astimezone(UTC) for s in built.slots]
    assert starts == [starts[0] + timedelta(minutes=30 * k) for k in range(48)]


@pytest.mark.parametrize(("tz", "boundary_label"), [(SYDNEY, "01:00"), (BRISBANE, "00:00")])
def test_nem_day_boundary(tz: ZoneInfo, boundary_label: str) -> None:
    """NEM midnight (00:00 +10:00) is 01:00 in Sydney's summer; nothing special happens there."""
    now = datetime(2025, 1, 14, 20, 0, tzinfo=tz)
    nem_midnight = utc(2025, 1, 14, 14)
    built = build(response(now, general=lambda s: 40.0 if s >= nem_midnight else 20.0), now, tz)
    labels = [s.label for s in built.slots]
    i = labels.index(boundary_label)
    assert built.slots[i - 1].buy == 0.2
    assert built.slots[i].buy == 0.4
    assert built.slots[i].start.astimezone(UTC) == nem_midnight


# --- named cases: averaging and precedence ------------------------------------------------------


def test_mixed_five_and_thirty_minute_data() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = [
        iv(now.replace(minute=0) + timedelta(minutes=5 * k), 5, 10.0 * (k + 1), now=now)
        for k in range(12)
    ]  # 10:00-11:00 in 5-minute steps: 10, 20, ..., 120
    data += [
        iv(now.replace(minute=0) + timedelta(minutes=60 + 30 * k), 30, 7.0, now=now)
        for k in range(48)
    ]
    built = build(data, now, BRISBANE, has_feed_in=False, interval_length=30)
    assert slot(built, "10:00").buy == 0.35  # mean of 10..60
    assert slot(built, "10:30").buy == 0.95  # mean of 70..120
    assert slot(built, "11:00").buy == 0.07
    assert [s.minutes for s in slot(built, "10:30").buy_sources] == [5.0] * 6
    assert slot(built, "11:00").buy_sources[0].minutes == 30.0


def test_finer_intervals_win_over_a_coarse_one_for_the_same_minutes() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    start = now.replace(minute=30)
    coarse = iv(start, 30, 100.0, now=now)
    fine = [iv(start + timedelta(minutes=5 * k), 5, 10.0, now=now) for k in range(4)]
    data = [coarse, *fine]
    data += [
        iv(now.replace(minute=0) + timedelta(minutes=30 * k), 30, 5.0, now=now)
        for k in (0, *range(2, 49))
    ]
    built = build(data, now, BRISBANE, has_feed_in=False)
    s = slot(built, "10:30")
    # 20 minutes at 10 c from the fine intervals, the last 10 minutes from the coarse one.
    assert s.buy == round((20 * 10 + 10 * 100) / 30 / 100, 4) == 0.4
    # Sources are listed by start, then end.
    assert [(x.cents, x.minutes) for x in s.buy_sources] == [
        (10.0, 5.0),
        (100.0, 10.0),
        (10.0, 5.0),
        (10.0, 5.0),
        (10.0, 5.0),
    ]


def test_duplicates_and_out_of_order_input() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    base = now.replace(minute=0)
    target = base + timedelta(hours=2)  # 12:00
    later = base + timedelta(hours=3)  # 13:00
    data = [
        iv(base + timedelta(minutes=30 * k), 30, 20.0, now=now)
        for k in range(49)
        if base + timedelta(minutes=30 * k) not in (target, later)
    ]
    data += [
        iv(target, 30, 50.0, now=now, kind=FORECAST),
        iv(target, 30, 99.0, now=now, kind=ACTUAL),  # the settled price beats any forecast
        iv(target, 30, 51.0, now=now, kind=FORECAST),
        iv(later, 30, 61.0, now=now),  # two forecasts: the later one in the input wins
        iv(later, 30, 62.0, now=now),
    ]
    data.reverse()
    built = build(data, now, BRISBANE, has_feed_in=False)
    assert slot(built, "12:00").buy == 0.99
    assert [x.interval_type for x in slot(built, "12:00").buy_sources] == [ACTUAL]
    # Reversed, the 61 c copy is the later one in the input.
    assert slot(built, "13:00").buy == 0.61
    assert len(slot(built, "13:00").buy_sources) == 1
    assert slot(built, "10:30").buy == 0.2
    assert [s.label for s in built.slots[:2]] == ["10:00", "10:30"]


def test_half_way_values_round_away_from_zero() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = response(now, general=12.345, feed_in=-12.345)
    built = build(data, now, BRISBANE, allow_sell_above_buy=True)
    assert slot(built, "12:00").buy == 0.1235
    assert slot(built, "12:00").sell == 0.1235
    # 1.22 and 1.23 c alternating in 5-minute steps: a mean of exactly 1.225 c.
    data = response(
        now,
        general=lambda s: 1.22 if s.minute // 5 % 2 == 0 else 1.23,
        feed_in=lambda s: -1.22 if s.minute // 5 % 2 == 0 else -1.23,
        five_until=now + timedelta(hours=2),
    )
    built = build(data, now, BRISBANE, allow_sell_above_buy=True)
    assert len(slot(built, "11:00").buy_sources) == 6
    assert (slot(built, "11:00").buy, slot(built, "11:00").sell) == (0.0123, 0.0123)


# --- named cases: missing data ------------------------------------------------------------------


def test_three_hour_gap_is_refused_with_its_labels() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    hole_start = utc(2025, 1, 14, 8)  # 18:00 AEST
    data = response(now, skip=lambda s: hole_start <= s < hole_start + timedelta(hours=3))
    with pytest.raises(MissingPricesError) as caught:
        build(data, now, BRISBANE)
    err = caught.value
    assert err.channel == "general"
    assert err.reason == "price_gap"
    assert err.missing == ("18:00", "18:30", "19:00", "19:30", "20:00", "20:30")
    assert err.longest_run == 6
    assert "18:00-21:00" in str(err)
    assert isinstance(err, TariffBuildError)


def test_feed_in_gap_is_refused_for_its_channel() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = [
        i
        for i in response(now)
        if not (i.channel == "feedIn" and utc(2025, 1, 14, 8) <= i.start < utc(2025, 1, 14, 10))
    ]
    with pytest.raises(MissingPricesError) as caught:
        build(data, now, BRISBANE)
    assert (caught.value.channel, caught.value.longest_run) == ("feedIn", 4)
    # A site that cannot export does not need feed-in prices at all.
    built = build(data, now, BRISBANE, has_feed_in=False)
    assert set(built.sell.values()) == {0.0}


def test_one_hour_gap_is_filled_from_the_slot_before() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    hole = utc(2025, 1, 14, 8)
    data = response(
        now,
        general=lambda s: 55.0 if s == hole - timedelta(minutes=30) else 20.0,
        skip=lambda s: hole <= s < hole + timedelta(hours=1),
    )
    built = build(data, now, BRISBANE)
    for label in ("18:00", "18:30"):
        s = slot(built, label)
        assert (s.buy, s.buy_filled_from, s.buy_sources) == (0.55, "17:30", ())
        assert (s.sell, s.sell_filled_from, s.sell_sources) == (0.08, "17:30", ())
    assert slot(built, "19:00").buy_filled_from is None
    assert slot(built, "19:00").buy == 0.2


def test_gap_at_the_window_start_is_filled_from_the_slot_after() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = response(
        now,
        back=0,
        five_until=now.replace(minute=0),
        general=lambda s: 42.0 if s == utc(2025, 1, 14, 1) else 20.0,
        skip=lambda s: s < utc(2025, 1, 14, 1),
    )
    built = build(data, now, BRISBANE)
    assert [s.label for s in built.slots[:3]] == ["10:00", "10:30", "11:00"]
    for s in built.slots[:2]:
        assert (s.buy, s.buy_filled_from) == (0.42, "11:00")
    assert built.slots[2].buy_filled_from is None


def test_short_coverage_counts_as_missing() -> None:
    """14 minutes of data in a slot is not enough; 15 is."""
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = [i for i in response(now) if i.start.hour != 4]  # 14:00-15:00 gone
    base = utc(2025, 1, 14, 4)
    data += [iv(base + timedelta(minutes=k), 1, 90.0, now=now) for k in range(14)]
    data += [iv(base + timedelta(minutes=30 + k), 1, 70.0, now=now) for k in range(15)]
    built = build(data, now, BRISBANE, has_feed_in=False)
    assert slot(built, "14:00").buy_filled_from == "13:30"
    assert slot(built, "14:30").buy == 0.7
    assert slot(built, "14:30").buy_filled_from is None


def test_more_than_four_missing_slots_is_refused() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    holes = {utc(2025, 1, 14, h) for h in (3, 5, 7, 9, 11)}
    data = response(now, skip=lambda s: s in holes)
    with pytest.raises(MissingPricesError) as caught:
        build(data, now, BRISBANE)
    assert caught.value.reason == "too_many_missing_prices"
    assert caught.value.missing == ("13:00", "15:00", "17:00", "19:00", "21:00")
    assert caught.value.longest_run == 1
    holes.discard(utc(2025, 1, 14, 11))
    assert build(response(now, skip=lambda s: s in holes), now, BRISBANE).adjustments


def test_no_data_and_short_horizon() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    with pytest.raises(MissingPricesError) as caught:
        build([], now, BRISBANE)
    assert (caught.value.reason, caught.value.longest_run, len(caught.value.missing)) == (
        "no_prices",
        48,
        48,
    )
    # A date-range fetch that stops at midnight (the earlier tool's bug) must not become 0 c.
    with pytest.raises(MissingPricesError) as caught:
        build(response(now, hours=13.5), now, BRISBANE)  # the last interval starts 23:30
    assert caught.value.missing[0] == "00:00"
    assert caught.value.missing[-1] == "09:30"


def test_nan_price_is_missing_not_zero() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = [
        replace(i, per_kwh=math.nan) if i.start == utc(2025, 1, 14, 6) else i for i in response(now)
    ]
    built = build(data, now, BRISBANE)
    assert slot(built, "16:00").buy_filled_from == "15:30"
    assert slot(built, "16:00").buy == 0.3


def test_controlled_load_is_ignored() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = response(now)
    data += [replace(i, channel="controlledLoad", per_kwh=999.0) for i in data]
    built = build(data, now, BRISBANE)
    assert set(built.buy.values()) == {0.3}


# --- named cases: sign, clamping, capping, spikes ----------------------------------------------


def test_negative_feed_in_is_paid_positive_feed_in_clamps() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    noon = utc(2025, 1, 14, 2)  # 12:00 AEST
    built = build(
        response(now, general=30.0, feed_in=lambda s: 3.1 if s == noon else -8.3), now, BRISBANE
    )
    assert slot(built, "11:30").sell == 0.083
    assert slot(built, "11:30").sell_sources[0].cents == -8.3  # Amber's sign kept
    assert slot(built, "12:00").sell == 0.0
    assert slot(built, "12:00").adjustments == ("sell_clamped",)
    assert built.adjustments["sell_clamped"] == 1


def test_negative_buy_clamps_to_zero() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    built = build(response(now, general=-12.0, feed_in=15.0), now, BRISBANE)
    s = slot(built, "13:00")
    assert (s.buy, s.sell) == (0.0, 0.0)
    assert s.adjustments == ("buy_clamped", "sell_clamped")


@pytest.mark.parametrize(
    ("allowed", "sell", "notes"), [(False, 0.1, ("sell_capped",)), (True, 0.15, ())]
)
def test_sell_above_buy(allowed: bool, sell: float, notes: tuple[str, ...]) -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    built = build(
        response(now, general=10.0, feed_in=-15.0), now, BRISBANE, allow_sell_above_buy=allowed
    )
    assert {(s.buy, s.sell, s.adjustments) for s in built.slots} == {(0.1, sell, notes)}


def test_spike_in_the_current_interval_reaches_a_five_minute_site_unaveraged() -> None:
    now = datetime(2025, 1, 14, 18, 7, 30, tzinfo=BRISBANE)
    spike_start = now.replace(minute=5, second=0).astimezone(UTC)
    data = response(now, general=lambda s: 2000.0 if s == spike_start else 30.0)
    five = build(data, now, BRISBANE, interval_length=5, spike_protection=False)
    current = five.slots[0]
    assert current.label == "18:00"
    assert current.buy == 20.0
    assert [(s.start, s.cents, s.minutes) for s in current.buy_sources] == [
        (spike_start, 2000.0, 5.0)
    ]
    thirty = build(data, now, BRISBANE, interval_length=30, spike_protection=False)
    assert thirty.slots[0].buy == round((2000 + 5 * 30) / 6 / 100, 4) == 3.5833
    assert len(thirty.slots[0].buy_sources) == 6
    # Later slots are averaged on both.
    assert five.slots[1].buy == thirty.slots[1].buy == 0.3


def test_thirty_minute_current_interval_on_a_thirty_minute_site() -> None:
    now = datetime(2025, 1, 14, 18, 7, tzinfo=BRISBANE)
    data = response(now, general=44.0, back=5, five_until=now.replace(minute=0))
    built = build(data, now, BRISBANE, interval_length=30)
    (source,) = built.slots[0].buy_sources
    assert (source.interval_type, source.minutes, built.slots[0].buy) == (CURRENT, 30.0, 0.44)


def test_spike_protection_raises_buy_above_the_best_sell() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    spike_at = utc(2025, 1, 14, 8)  # 18:00
    best_sell_at = utc(2025, 1, 14, 9)  # 19:00
    data = [
        replace(i, spike_status="potential")
        if i.start == spike_at and i.channel == "general"
        else i
        for i in response(
            now,
            general=lambda s: 30.0 if s == best_sell_at else 10.0,
            feed_in=lambda s: -25.0 if s == best_sell_at else -5.0,
        )
    ]
    built = build(data, now, BRISBANE)
    s = slot(built, "18:00")
    assert s.spike_status == "potential"
    assert s.buy == 0.26  # best sell 0.25 + 0.01
    assert s.adjustments == ("spike_protected",)
    assert slot(built, "17:30").buy == 0.1
    assert built.adjustments == {
        "buy_clamped": 0,
        "sell_clamped": 0,
        "sell_capped": 0,
        "spike_protected": 1,
    }
    off = build(data, now, BRISBANE, spike_protection=False)
    assert slot(off, "18:00").buy == 0.1
    assert slot(off, "18:00").adjustments == ()


def test_spike_protection_leaves_an_already_dear_buy_alone() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = [
        replace(i, spike_status="spike") if i.channel == "general" else i
        for i in response(now, general=900.0, feed_in=-20.0)
    ]
    built = build(data, now, BRISBANE)
    assert {(s.buy, s.adjustments) for s in built.slots} == {(9.0, ())}


def test_unknown_spike_status_is_shown_but_does_not_protect() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = [
        replace(i, spike_status="extreme") if i.channel == "general" else i
        for i in response(now, general=5.0, feed_in=-20.0)
    ]
    built = build(data, now, BRISBANE, allow_sell_above_buy=True)
    assert {(s.spike_status, s.buy, s.adjustments) for s in built.slots} == {("extreme", 0.05, ())}


# --- named cases: which number -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "field", "buy"),
    [
        ("predicted", "advancedPrice.predicted", 0.2),
        ("low", "advancedPrice.low", 0.1),
        ("high", "advancedPrice.high", 0.4),
        ("aemo", "perKwh", 0.33),
    ],
)
def test_forecast_source_chooses_the_field(source: str, field: str, buy: float) -> None:
    now = datetime(2025, 1, 14, 10, 17, tzinfo=BRISBANE)
    general = AdvancedPrice(10.0, 20.0, 40.0)
    feed_in = AdvancedPrice(-10.0, -20.0, -40.0)  # Amber's sign: low/high as sent
    data = [
        replace(i, advanced_price=general if i.channel == "general" else feed_in)
        if i.interval_type == FORECAST
        else i
        for i in response(now, general=33.0, feed_in=-33.0)
    ]
    built = build(data, now, BRISBANE, forecast_source=source, allow_sell_above_buy=True)
    later = slot(built, "15:00")
    assert (later.buy, later.sell) == (buy, buy)
    assert later.buy_sources[0].field == later.sell_sources[0].field == field
    # Actuals are always perKwh, whatever the option (10:00-10:15 on a 30-minute site).
    current = build(data, now, BRISBANE, forecast_source=source, interval_length=30).slots[0]
    assert [(x.interval_type, x.field) for x in current.buy_sources[:3]] == [(ACTUAL, "perKwh")] * 3


def test_forecast_without_advanced_price_falls_back_to_per_kwh() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    built = build(response(now, general=33.0), now, BRISBANE, forecast_source="high")
    assert slot(built, "15:00").buy_sources[0].field == "perKwh"
    assert slot(built, "15:00").buy == 0.33


@pytest.mark.parametrize(
    ("estimate", "source", "field", "buy"),
    [
        (True, "predicted", "advancedPrice.predicted", 0.5),
        (True, "high", "advancedPrice.predicted", 0.5),  # always predicted for the current one
        (True, "aemo", "perKwh", 0.3),
        (False, "predicted", "perKwh", 0.3),
    ],
)
def test_current_interval_estimate(estimate: bool, source: str, field: str, buy: float) -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = [
        replace(i, estimate=estimate, advanced_price=AdvancedPrice(40.0, 50.0, 60.0))
        if i.interval_type == CURRENT
        else i
        for i in response(now, general=30.0)
    ]
    built = build(data, now, BRISBANE, forecast_source=source)
    (used,) = built.slots[0].buy_sources
    assert (used.interval_type, used.field, built.slots[0].buy) == (CURRENT, field, buy)
    # Without Amber's forecast, an estimated current price is still perKwh.
    data = [replace(i, estimate=True) if i.interval_type == CURRENT else i for i in response(now)]
    assert build(data, now, BRISBANE).slots[0].buy_sources[0].field == "perKwh"


def test_unknown_interval_type_is_treated_as_a_forecast() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = [
        replace(i, interval_type="PredictedInterval", advanced_price=AdvancedPrice(1.0, 2.0, 3.0))
        if i.interval_type == FORECAST
        else i
        for i in response(now)
    ]
    s = slot(build(data, now, BRISBANE, forecast_source="low"), "15:00")
    assert (s.buy_sources[0].field, s.buy) == ("advancedPrice.low", 0.01)


# --- named cases: the explanation and the options ---------------------------------------------


def test_explanation_of_a_slot() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    built = build(response(now, general=30.0, feed_in=-8.0), now, BRISBANE)
    s = slot(built, "10:30")
    assert s.period == "PERIOD_10_30"
    assert (s.start, s.end) == (
        datetime(2025, 1, 14, 10, 30, tzinfo=BRISBANE),
        datetime(2025, 1, 14, 11, 0, tzinfo=BRISBANE),
    )
    assert sources(s.buy_sources) == [
        (
            utc(2025, 1, 14, 0, 30) + timedelta(minutes=5 * k),
            utc(2025, 1, 14, 0, 35) + timedelta(minutes=5 * k),
            FORECAST,
            "perKwh",
            30.0,
            5.0,
        )
        for k in range(6)
    ]
    assert [x.cents for x in s.sell_sources] == [-8.0] * 6
    assert (s.buy, s.sell, s.spike_status, s.adjustments) == (0.3, 0.08, "none", ())
    assert s.buy_filled_from is None


def test_site_without_feed_in() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = [i for i in response(now, general=30.0) if i.channel == "general"]
    built = build(data, now, BRISBANE, has_feed_in=False)
    assert set(built.sell.values()) == {0.0}
    (none,) = slot(built, "12:00").sell_sources
    assert (none.field, none.interval_type, none.cents, none.minutes) == ("none", "none", 0.0, 30.0)
    assert (none.start, none.end) == (utc(2025, 1, 14, 2), utc(2025, 1, 14, 2, 30))
    validate_tariff(built.tariff)


def test_names_come_from_the_options() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    built = build(response(now), now, BRISBANE, name="Mine", utility="Amber")
    assert (built.tariff["name"], built.tariff["utility"]) == ("Mine", "Amber")
    assert built.plan.seasons[0].name == "Summer"


@pytest.mark.parametrize(
    ("options", "now"),
    [
        ({"forecast_source": "best"}, datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)),
        ({"interval_length": 15}, datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)),
        ({}, datetime(2025, 1, 14, 10, 2)),
    ],
)
def test_unusable_options(options: dict[str, Any], now: datetime) -> None:
    with pytest.raises(TariffBuildError) as caught:
        build(response(datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)), now, BRISBANE, **options)
    assert caught.value.reason == "invalid_options"
    assert not isinstance(caught.value, MissingPricesError)


def test_naive_interval_is_refused() -> None:
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = response(now)
    data[5] = replace(data[5], start=data[5].start.replace(tzinfo=None))
    with pytest.raises(TariffBuildError) as caught:
        build(data, now, BRISBANE)
    assert caught.value.reason == "invalid_interval"


def test_the_reference_itself_catches_a_wrong_price() -> None:
    """Guard against a vacuous property: a one-unit change in one slot is noticed."""
    now = datetime(2025, 1, 14, 10, 2, tzinfo=BRISBANE)
    data = response(now, general=lambda s: 10.0 + s.hour)
    options = TariffOptions()
    built = build_tariff(data, now, BRISBANE, options)
    expected = reference(data, now, BRISBANE, options)
    assert not isinstance(expected, RefRefusal)
    assert_matches(built, expected, BRISBANE)
    expected[7].buy += 0.0001
    with pytest.raises(AssertionError):
        assert_matches(built, expected, BRISBANE)
