"""Plans on the forecast horizon Amber really has (AEMO's pre-dispatch), built from the simulator.

Every morning Amber's forecast stops at 04:00 NEM time of the next trading day (15.5-24 h ahead)
until the ~12:30 NEM run adds a day. These are the times at which the integration once refused to
build (`price_gap`): each must now give a valid plan in which every slot names its source, the
slots past the horizon (and only those) are filled by the beyond-horizon rule, and that rule takes
the figure least favourable to the customer. The uncertain parts of Amber's behaviour (when the
run appears, how far 5-minute intervals reach) are parameters, tested at both ends.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean
from zoneinfo import ZoneInfo

import pytest

from custom_components.tesla_amber_sync.api.amber import dedupe_intervals, parse_interval
from custom_components.tesla_amber_sync.api.models import PriceInterval
from custom_components.tesla_amber_sync.const import AMBER_NEXT, AMBER_NEXT_30MIN, AMBER_PREVIOUS
from custom_components.tesla_amber_sync.tariff import (
    BuiltTariff,
    Slot,
    SlotBasis,
    TariffOptions,
    build_tariff,
)
from custom_components.tesla_amber_sync.validate import validate_tariff
from simulator.prices import PriceModel
from simulator.sites import AmberSite, make_sites

SEED = 7
SYDNEY = ZoneInfo("Australia/Sydney")
BRISBANE = ZoneInfo("Australia/Brisbane")
BEYOND = {SlotBasis.DAY_BEFORE, SlotBasis.LAST_FORECAST, SlotBasis.FORECAST_AVERAGE}
SLOT = timedelta(minutes=30)
UNIT = 0.0001  # $/kWh: the plan's resolution; figures below are recomputed in floats


def site_in(zone: str) -> AmberSite:
    return next(s for s in make_sites(SEED, 4) if s.time_zone == zone and s.status == "active")


def parsed(rows: list[dict[str, object]]) -> list[PriceInterval]:
    return [i for i in map(parse_interval, rows) if i is not None]


def what_the_entry_holds(
    model: PriceModel, site: AmberSite, now: datetime
) -> tuple[list[PriceInterval], list[PriceInterval]]:
    """The intervals of one poll and the settled history, fetched as the Amber coordinator does:
    one call; a 30-minute call when the first ran out of `next` before 24 h; a day of 30-minute
    actuals (the catch-up call the coordinator makes when its own history has holes)."""
    resolution = 30 if site.interval_length == 30 else 5
    rows = model.published(now, AMBER_NEXT, AMBER_PREVIOUS, resolution, site)
    intervals = parsed(rows)
    ahead = [
        i for i in intervals if i.channel == "general" and i.interval_type == "ForecastInterval"
    ]
    if (
        max(i.end for i in intervals) - now < timedelta(hours=24, minutes=30)
        and len(ahead) >= AMBER_NEXT
    ):
        intervals = dedupe_intervals(
            intervals + parsed(model.published(now, AMBER_NEXT_30MIN, 0, 30, site))
        )
    history = [
        i
        for i in parsed(model.published(now, 0, 50, 30, site))
        if i.interval_type == "ActualInterval"
    ]
    history += [i for i in intervals if i.interval_type == "ActualInterval"]
    return intervals, history


def build_at(model: PriceModel, site: AmberSite, now: datetime) -> BuiltTariff:
    intervals, history = what_the_entry_holds(model, site, now)
    options = TariffOptions(interval_length=site.interval_length, has_feed_in=True)
    return build_tariff(intervals, now, ZoneInfo(site.time_zone), options, history)


def predicted(interval: PriceInterval) -> float:
    """The price the default options plan with: settled `perKwh`, else Amber's predicted price."""
    settled = interval.interval_type == "ActualInterval" or (
        interval.interval_type == "CurrentInterval" and not interval.estimate
    )
    if settled or interval.advanced_price is None:
        return interval.per_kwh
    return interval.advanced_price.predicted


def mean_cents(intervals: list[PriceInterval], channel: str, start: datetime) -> float | None:
    """Amber's price for the half hour from `start` on `channel`, time-weighted, or None."""
    end = start + SLOT
    parts = [
        (predicted(i), (min(i.end, end) - max(i.start, start)).total_seconds())
        for i in intervals
        if i.channel == channel and i.start < end and i.end > start
    ]
    seconds = sum(w for _, w in parts)
    if seconds < 15 * 60:
        return None
    return sum(p * w for p, w in parts) / seconds


def slot_cents(intervals: list[PriceInterval], channel: str, slot: Slot, now: datetime) -> float:
    """Amber's price for a forecast slot; the one holding `now` carries the current interval's
    own price (a 5-minute site is billed it, unaveraged)."""
    holds_now = slot.start.astimezone(UTC) <= now < slot.end.astimezone(UTC)
    for i in intervals:
        current = i.interval_type == "CurrentInterval" and i.start <= now < i.end
        if holds_now and current and i.channel == channel:
            return predicted(i)
    cents = mean_cents(intervals, channel, slot.start.astimezone(UTC))
    assert cents is not None
    return cents


def as_buy(cents: float) -> float:
    return max(cents, 0.0) / 100


def as_sell(cents: float) -> float:
    return max(-cents, 0.0) / 100


def check_plan(model: PriceModel, site: AmberSite, now: datetime) -> BuiltTariff:
    """The properties every horizon case must have; returns the build for case-specific checks."""
    built = build_at(model, site, now)
    validate_tariff(built.tariff)
    horizon = model.horizon_end(now)
    zone = ZoneInfo(site.time_zone)
    intervals, history = what_the_entry_holds(model, site, now)
    amber_slots = [s for s in built.slots if s.source == "amber"]
    assert amber_slots, "the current half hour at least is Amber's"
    for slot in built.slots:
        past = slot.start.astimezone(UTC) >= horizon
        assert slot.source == ("beyond_horizon" if past else "amber"), slot.label
        if not past:
            assert slot.buy_basis is SlotBasis.AMBER
            assert slot.sell_basis is SlotBasis.AMBER
            continue
        assert slot.buy_basis in BEYOND, slot.label
        assert slot.sell_basis in BEYOND, slot.label
        assert slot.spike_status == "none"
        check_beyond(slot, built, amber_slots, intervals, history, zone)
    return built


def check_beyond(
    slot: Slot,
    built: BuiltTariff,
    amber_slots: list[Slot],
    intervals: list[PriceInterval],
    history: list[PriceInterval],
    zone: ZoneInfo,
) -> None:
    """The slot's rate is the least favourable of the three figures, and is the one it names."""
    last = amber_slots[-1]
    day_before = datetime.combine(
        slot.start.date() - timedelta(1), slot.start.time(), zone
    ).astimezone(UTC)
    pool = history + intervals
    for channel, convert, rate, basis, least_favourable in (
        ("general", as_buy, slot.buy, slot.buy_basis, max),
        ("feedIn", as_sell, slot.sell, slot.sell_basis, min),
    ):
        last_cents = mean_cents(intervals, channel, last.start.astimezone(UTC))
        assert last_cents is not None
        figures = {
            SlotBasis.LAST_FORECAST: convert(last_cents),
            SlotBasis.FORECAST_AVERAGE: convert(
                fmean(slot_cents(intervals, channel, s, built.now) for s in amber_slots)
            ),
        }
        before = mean_cents(pool, channel, day_before)
        if before is not None:
            figures[SlotBasis.DAY_BEFORE] = convert(before)
        else:
            assert basis is not SlotBasis.DAY_BEFORE
        # The figure it names is the least favourable one (export: the least paid) ...
        assert figures[basis] == pytest.approx(least_favourable(figures.values()), abs=UNIT), (
            slot.label,
            channel,
            figures,
        )
        # ... and is the rate, but for Tesla's sell <= buy, which only makes export pay less.
        expected = min(figures[basis], slot.buy) if channel == "feedIn" else figures[basis]
        assert rate == pytest.approx(expected, abs=UNIT), (slot.label, channel, basis, figures)


def beyond_labels(built: BuiltTariff) -> list[str]:
    return [s.label for s in built.slots if s.source == "beyond_horizon"]


def local(zone: ZoneInfo, day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), zone).astimezone(UTC)


SUMMER = date(2025, 1, 15)  # Sydney on daylight time (UTC+11), an hour ahead of NEM time


@pytest.mark.parametrize(
    ("clock", "beyond"),
    [
        # Sydney 08:02 = 07:02 NEM: forecast to 05:00 Sydney tomorrow, 21 h; 08:00-05:00 is Amber's.
        ((8, 2), ["05:00", "05:30", "06:00", "06:30", "07:00", "07:30"]),
        ((10, 2), [f"{h:02d}:{m:02d}" for h in range(5, 10) for m in (0, 30)]),
        ((12, 2), [f"{h:02d}:{m:02d}" for h in range(5, 12) for m in (0, 30)]),
        # 12:32 Sydney is 11:32 NEM: still before the run, the shortest forecast of the day.
        ((12, 32), [f"{h:02d}:{m:02d}" for h in range(5, 12) for m in (0, 30)] + ["12:00"]),
        # 13:32 Sydney = 12:32 NEM: the first poll after the new run reaches two days: no rule.
        ((13, 32), []),
    ],
)
def test_sydney_summer_morning(clock: tuple[int, int], beyond: list[str]) -> None:
    model = PriceModel(SEED, make_sites(SEED, 4))
    site = site_in("Australia/Sydney")
    built = check_plan(model, site, local(SYDNEY, SUMMER, *clock))
    assert beyond_labels(built) == beyond


BRISBANE_TIMES = [
    (h, m) for h in range(5, 13) for m in (2, 32) if (h, m) <= (12, 2) and (h, m) >= (5, 32)
]


@pytest.mark.parametrize(
    "clock", BRISBANE_TIMES, ids=[f"{h:02d}:{m:02d}" for h, m in BRISBANE_TIMES]
)
def test_brisbane_morning(clock: tuple[int, int]) -> None:
    """Brisbane keeps NEM time all year: from 04:00 the window's last hours are tomorrow's."""
    model = PriceModel(SEED, make_sites(SEED, 4))
    site = site_in("Australia/Brisbane")
    now = local(BRISBANE, SUMMER, *clock)
    built = check_plan(model, site, now)
    first = built.slots[0].start
    expected = [
        f"{t.hour:02d}:{t.minute:02d}"
        for k in range(48)
        if (t := first + SLOT * k) >= datetime.combine(SUMMER + timedelta(1), time(4), BRISBANE)
    ]
    assert expected, "a morning build always has slots past 04:00 tomorrow"
    assert beyond_labels(built) == expected


@pytest.mark.parametrize(
    "day",
    [
        date(2025, 10, 5),  # Sydney springs forward at 02:00: a 23-hour day
        date(2025, 10, 6),  # the day after: "the day before" lacks 02:00-03:00
        date(2026, 4, 5),  # Sydney falls back at 03:00: a 25-hour day
        date(2026, 4, 6),
    ],
)
@pytest.mark.parametrize("clock", [(2, 32), (8, 2), (12, 2)])
def test_daylight_saving_days(day: date, clock: tuple[int, int]) -> None:
    model = PriceModel(SEED, make_sites(SEED, 4))
    site = site_in("Australia/Sydney")
    built = check_plan(model, site, local(SYDNEY, day, *clock))
    assert len(built.slots) == 48


@pytest.mark.parametrize(
    ("predispatch", "beyond_count"),
    [
        ("11:00", 0),  # an early run: at 11:32 NEM the forecast already reaches two days
        ("12:30", 15),
        ("15:00", 15),  # a late run: still the short forecast, the plan still builds
    ],
)
def test_predispatch_time_is_a_parameter(predispatch: str, beyond_count: int) -> None:
    hour, minute = map(int, predispatch.split(":"))
    model = PriceModel(SEED, make_sites(SEED, 4), predispatch_minute=hour * 60 + minute)
    site = site_in("Australia/Sydney")
    built = check_plan(model, site, local(SYDNEY, SUMMER, 12, 32))
    assert len(beyond_labels(built)) == beyond_count


def test_late_run_afternoon_still_builds() -> None:
    """AEMO's run hours late (15:00 NEM): at 14:32 NEM the forecast is 13.5 h, still a plan."""
    model = PriceModel(SEED, make_sites(SEED, 4), predispatch_minute=15 * 60)
    site = site_in("Australia/Brisbane")
    built = check_plan(model, site, local(BRISBANE, SUMMER, 14, 32))
    assert len(beyond_labels(built)) == 21  # 04:00-14:00 tomorrow


@pytest.mark.parametrize("five_minute_hours", [0.0, 1.0, 48.0])
def test_five_minute_reach_is_a_parameter(five_minute_hours: float) -> None:
    """However far Amber's 5-minute intervals reach (48 h: the count runs out after ~5.7 h and
    the coordinator's 30-minute call reaches the horizon), the same slots are beyond it."""
    model = PriceModel(SEED, make_sites(SEED, 4), five_minute_hours=five_minute_hours)
    site = site_in("Australia/Sydney")
    built = check_plan(model, site, local(SYDNEY, SUMMER, 10, 2))
    assert beyond_labels(built) == [f"{h:02d}:{m:02d}" for h in range(5, 10) for m in (0, 30)]


def test_thirty_minute_site() -> None:
    """A site billed per 30 minutes asks for 30-minute intervals: the same rule applies."""
    model = PriceModel(SEED, make_sites(SEED, 4))
    site = next(s for s in make_sites(SEED, 4) if s.interval_length == 30 and s.status == "active")
    check_plan(model, site, local(ZoneInfo(site.time_zone), SUMMER, 9, 2))


@pytest.mark.parametrize("kind", ["spike", "negative"])
def test_spike_and_negative_days(kind: str) -> None:
    """Today's spike evening or negative midday never turns into a cheap (or paid) import in the
    unforecast hours of tomorrow morning: those take the dearest known figure."""
    model = PriceModel(SEED, make_sites(SEED, 4))
    model.force_day(SUMMER, **{kind: True})
    site = site_in("Australia/Sydney")
    built = check_plan(model, site, local(SYDNEY, SUMMER, 12, 2))
    beyond = [s for s in built.slots if s.source == "beyond_horizon"]
    known = [s for s in built.slots if s.source == "amber"]
    assert beyond
    median = sorted(s.buy for s in known)[len(known) // 2]
    assert min(s.buy for s in beyond) >= median - UNIT
    assert max(s.sell for s in beyond) <= max(s.sell for s in known) + UNIT
