"""Demand-charge maths: windows, half-hour averages, peaks, billing cycles, costs, persistence."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
import json
import math
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.tesla_amber_sync.demand import (
    ALL_MONTHS,
    DemandConfig,
    DemandConfigError,
    DemandTracker,
    HalfHour,
    HalfHourAverager,
    amber_window_slots,
    applies_in_month,
    cycle_cost,
    cycle_start,
    days_until_reset,
    half_hour_start,
    in_window,
    next_reset,
    slot_labels,
    window_slots,
)

SYD = ZoneInfo("Australia/Sydney")
BNE = ZoneInfo("Australia/Brisbane")
ADL = ZoneInfo("Australia/Adelaide")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the package-wide fixture: this module is pure and needs no Home Assistant."""


def local(
    y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, tz: tzinfo = SYD
) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=tz)


def cfg(**options: Any) -> DemandConfig:
    return DemandConfig.from_options({"demand_enabled": True, **options})


def feed(
    target: DemandTracker | HalfHourAverager,
    start: datetime,
    samples: Iterable[tuple[float, float | None] | tuple[float, float | None, bool | None]],
) -> list[HalfHour]:
    """Feed `(seconds after start, watts[, flag])` samples; collect completed half hours."""
    done: list[HalfHour] = []
    for sample in samples:
        seconds, watts, *rest = sample
        flag = rest[0] if rest else None
        # Real elapsed time: aware-datetime arithmetic in a zone would be wall-clock time.
        done += target.add_sample(start.astimezone(UTC) + timedelta(seconds=seconds), watts, flag)
    return done


def steady(
    start_s: float, end_s: float, watts: float | None, every: float = 30
) -> list[tuple[float, float | None]]:
    """Samples every `every` seconds in [start_s, end_s)."""
    count = math.ceil((end_s - start_s) / every)
    return [(start_s + i * every, watts) for i in range(count)]


# --- configuration -----------------------------------------------------------------------------


def test_defaults() -> None:
    config = DemandConfig.from_options({})
    assert config == DemandConfig()
    assert config.enabled is False
    assert config.rate == 0.0
    assert config.rate_basis == "per_kw_month"
    assert config.window_source == "fixed"
    assert (config.start_label, config.end_label) == ("16:00", "21:00")
    assert config.days == "all"
    assert config.months == ALL_MONTHS
    assert config.billing_day == 1
    assert config.in_plan == "none"
    assert config.surcharge == 0.0


def test_from_options_accepts_selector_shapes() -> None:
    config = DemandConfig.from_options(
        {
            "demand_enabled": True,
            "demand_rate": "12.5",
            "demand_rate_basis": "c_per_kw_day",
            "demand_window_source": "amber",
            "demand_start": "22:00:00",
            "demand_end": "02:30",
            "demand_days": "weekdays",
            "demand_months": ["6", 7, "8"],
            "demand_billing_day": 15.0,
            "demand_in_plan": "surcharge",
            "demand_surcharge": 0.3,
            "unrelated_option": object(),
        }
    )
    assert config.rate == 12.5
    assert config.start_minute == 22 * 60
    assert config.end_minute == 150
    assert config.crosses_midnight
    assert config.months == frozenset({6, 7, 8})
    assert config.billing_day == 15
    assert DemandConfig.from_options(config.to_options()) == config


def test_from_options_time_objects_and_end_of_day() -> None:
    config = cfg(demand_start=time(17, 30), demand_end="24:00")
    assert (config.start_minute, config.end_minute) == (17 * 60 + 30, 0)
    assert not config.crosses_midnight
    assert config.end_label == "00:00"


def test_none_values_take_defaults() -> None:
    assert DemandConfig.from_options(dict.fromkeys(DemandConfig().to_options())) == DemandConfig()


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"demand_enabled": "yes"}, "demand_enabled"),
        ({"demand_rate": -1}, "demand_rate"),
        ({"demand_rate": float("nan")}, "demand_rate"),
        ({"demand_rate": "abc"}, "demand_rate"),
        ({"demand_rate": True}, "demand_rate"),
        ({"demand_rate_basis": "per_kwh"}, "demand_rate_basis"),
        ({"demand_window_source": "network"}, "demand_window_source"),
        ({"demand_start": "16:15"}, "demand_start"),
        ({"demand_start": "25:00"}, "demand_start"),
        ({"demand_start": "4pm"}, "demand_start"),
        ({"demand_end": "21:00:30"}, "demand_end"),
        ({"demand_start": "16:00", "demand_end": "16:00"}, "demand_end"),
        ({"demand_days": "sundays"}, "demand_days"),
        ({"demand_months": []}, "demand_months"),
        ({"demand_months": [0, 5]}, "demand_months"),
        ({"demand_months": [13]}, "demand_months"),
        ({"demand_months": "1,2"}, "demand_months"),
        ({"demand_months": [True]}, "demand_months"),
        ({"demand_billing_day": 29}, "demand_billing_day"),
        ({"demand_billing_day": 0}, "demand_billing_day"),
        ({"demand_billing_day": 1.5}, "demand_billing_day"),
        ({"demand_in_plan": "always"}, "demand_in_plan"),
        ({"demand_surcharge": -0.01}, "demand_surcharge"),
        ({"demand_surcharge": float("inf")}, "demand_surcharge"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(DemandConfigError) as err:
        DemandConfig.from_options(options)
    assert err.value.field == field
    assert field in str(err.value)
    assert isinstance(err.value, ValueError)


# --- the window ----------------------------------------------------------------------------------


def test_fixed_window_is_half_open() -> None:
    config = cfg(demand_start="16:00", demand_end="21:00")
    assert not in_window(config, local(2025, 3, 3, 15, 59, 59), None)
    assert in_window(config, local(2025, 3, 3, 16, 0), None)
    assert in_window(config, local(2025, 3, 3, 20, 59, 59), None)
    assert not in_window(config, local(2025, 3, 3, 21, 0), None)


def test_window_crossing_midnight_belongs_to_its_start_day() -> None:
    config = cfg(demand_start="22:00", demand_end="02:00", demand_days="weekdays")
    # 2025-03-07 is a Friday.
    assert in_window(config, local(2025, 3, 7, 22, 0), None)
    assert in_window(config, local(2025, 3, 8, 1, 0), None)  # Saturday 01:00: Friday's window
    assert not in_window(config, local(2025, 3, 8, 2, 0), None)
    assert not in_window(config, local(2025, 3, 8, 23, 0), None)  # Saturday's own: no
    assert not in_window(config, local(2025, 3, 10, 1, 0), None)  # Monday 01:00: Sunday's: no
    assert in_window(config, local(2025, 3, 10, 22, 30), None)
    assert in_window(config, local(2025, 3, 11, 1, 59), None)  # Tuesday 01:59: Monday's
    assert not in_window(config, local(2025, 3, 11, 12, 0), None)


def test_weekend_window_crossing_midnight() -> None:
    config = cfg(demand_start="23:00", demand_end="01:00", demand_days="weekends")
    assert in_window(config, local(2025, 3, 9, 0, 30), None)  # Sunday 00:30: Saturday's
    assert in_window(config, local(2025, 3, 10, 0, 30), None)  # Monday 00:30: Sunday's
    assert not in_window(config, local(2025, 3, 8, 0, 30), None)  # Saturday 00:30: Friday's


def test_months_filter_uses_the_window_start_day() -> None:
    config = cfg(demand_start="22:00", demand_end="02:00", demand_months=[1])
    assert in_window(config, local(2025, 1, 31, 23, 0), None)
    assert in_window(config, local(2025, 2, 1, 1, 0), None)  # January's window
    assert not in_window(config, local(2025, 2, 1, 23, 0), None)
    assert applies_in_month(config, 1)
    assert not applies_in_month(config, 2)


def test_window_slots_fixed() -> None:
    plain = window_slots(cfg(demand_start="16:00", demand_end="21:00"))
    assert set(plain) == set(range(7))
    for slots in plain.values():
        assert slots == {"16:00", "16:30", "17:00", "17:30", "18:00", "18:30", "19:00", "19:30",
                         "20:00", "20:30"}  # fmt: skip

    crossing = window_slots(cfg(demand_start="22:00", demand_end="02:00", demand_days="weekdays"))
    evening = {"22:00", "22:30", "23:00", "23:30"}
    morning = {"00:00", "00:30", "01:00", "01:30"}
    assert crossing[0] == evening  # Monday morning belongs to Sunday: none
    for weekday in (1, 2, 3, 4):
        assert crossing[weekday] == evening | morning
    assert crossing[5] == morning  # Saturday morning is Friday's window
    assert crossing[6] == set()


def test_window_slots_agree_with_in_window() -> None:
    config = cfg(demand_start="21:30", demand_end="03:00", demand_days="weekends")
    slots = window_slots(config)
    monday = date(2025, 3, 3)
    for offset in range(7):
        day = monday + timedelta(days=offset)
        for label in slot_labels():
            moment = datetime.combine(day, time.fromisoformat(label), tzinfo=BNE)
            assert (label in slots[day.weekday()]) == in_window(config, moment, None)


def test_window_slots_refuse_the_amber_source() -> None:
    with pytest.raises(ValueError, match="amber_window_slots"):
        window_slots(cfg(demand_window_source="amber"))


def test_amber_window_slots() -> None:
    config = cfg(demand_window_source="amber", demand_days="weekdays", demand_months=[3])
    utc = [  # Friday 2025-03-07 local (+11)
        (local(2025, 3, 7, 16, 0).astimezone(UTC), True),
        (local(2025, 3, 7, 16, 5).astimezone(UTC), True),
        (local(2025, 3, 7, 16, 35).astimezone(UTC), True),
        (local(2025, 3, 7, 17, 0).astimezone(UTC), False),
        (local(2025, 3, 7, 17, 30).astimezone(UTC), None),
        (local(2025, 3, 8, 16, 0).astimezone(UTC), True),  # Saturday: filtered
        (local(2025, 4, 7, 16, 0).astimezone(UTC), True),  # April: filtered
    ]
    slots = amber_window_slots(config, utc, SYD)
    assert slots[4] == {"16:00", "16:30"}
    assert all(not slots[d] for d in (0, 1, 2, 3, 5, 6))


def test_amber_in_window() -> None:
    config = cfg(demand_window_source="amber", demand_months=[1, 2, 3], demand_days="weekdays")
    monday = local(2025, 3, 3, 3, 0)  # outside any fixed default window: only the flag matters
    assert in_window(config, monday, True)
    assert not in_window(config, monday, False)
    assert not in_window(config, monday, None)
    assert not in_window(config, local(2025, 4, 7, 17, 0), True)  # month filter
    assert not in_window(config, local(2025, 3, 8, 17, 0), True)  # day filter


# --- half-hour averaging -------------------------------------------------------------------------


def test_two_minute_burst_is_not_a_ten_kw_peak() -> None:
    tracker = DemandTracker(cfg(), SYD)
    start = local(2025, 3, 3, 17, 0)
    samples = [(0, 10_000.0), *steady(120, 1800, 0.0, every=60), (1800, 0.0)]
    done = feed(tracker, start, samples)
    assert len(done) == 1
    assert done[0].covered_seconds == 1800
    assert done[0].energy_ws == 10_000 * 120
    assert done[0].average_kw == pytest.approx(2 / 3, abs=1e-12)
    assert tracker.peak_kw == pytest.approx(0.6666666666666666, abs=1e-12)
    assert tracker.peak_start == start.astimezone(UTC)
    assert tracker.half_hours_counted == 1


def test_sample_and_hold_irregular_times_exact() -> None:
    averager = HalfHourAverager(SYD)
    start = local(2025, 3, 3, 16, 0)
    samples = [
        (0, 1000.0),
        (17, 3000.0),
        (221, -500.0),  # export: counts as zero import
        (240, 2000.0),
        (533, 4500.0),
        (700, 800.0),
        (1000, 1200.0),
        (1290, 600.0),
        (1560, 2500.0),
        (1680, 1500.0),  # held across 16:30 until the next sample
        (1860, 0.0),
    ]
    done = feed(averager, start, samples)
    assert len(done) == 1
    expected_energy = (
        1000 * 17 + 3000 * 204 + 0 * 19 + 2000 * 293 + 4500 * 167 + 800 * 300
        + 1200 * 290 + 600 * 270 + 2500 * 120 + 1500 * 120
    )  # fmt: skip
    assert done[0].energy_ws == expected_energy
    assert done[0].covered_seconds == 1800
    assert done[0].average_kw == pytest.approx(expected_energy / 1800 / 1000, rel=1e-12)
    # The held 1500 W from 16:28 to 16:31 contributes its last minute to the next half hour.
    assert averager.slot_start == local(2025, 3, 3, 16, 30).astimezone(UTC)
    assert averager.covered_seconds == 60
    assert averager.current_average_kw == pytest.approx(1.5)


def test_export_counts_as_zero_import() -> None:
    tracker = DemandTracker(cfg(), SYD)
    start = local(2025, 3, 3, 17, 0)
    done = feed(tracker, start, [*steady(0, 900, -4000.0), *steady(900, 1800, 2000.0), (1800, 0)])
    assert done[0].average_kw == pytest.approx(1.0)
    assert tracker.peak_kw == pytest.approx(1.0)


def test_gap_is_not_counted_as_zero() -> None:
    tracker = DemandTracker(cfg(), SYD)
    start = local(2025, 3, 3, 17, 0)
    # 3 kW, but the Powerwall is unreachable from 17:10 to 17:20 (gap > 5 min).
    samples = [*steady(0, 600, 3000.0), *steady(1200, 1800, 3000.0), (1800, 3000.0)]
    done = feed(tracker, start, samples)
    assert done[0].covered_seconds == 20 * 60 - 30  # 17:09:30 -> 17:20 is one uncounted span
    assert done[0].average_kw == pytest.approx(3.0)  # not diluted to 2 kW by zeros
    assert not done[0].valid  # 19.5 minutes < 20
    assert tracker.peak_kw is None
    assert tracker.half_hours_counted == 0


def test_gap_with_enough_coverage_still_counts() -> None:
    tracker = DemandTracker(cfg(), SYD)
    start = local(2025, 3, 3, 17, 0)
    # Unreachable (None samples) from 17:05 to 17:12; the None spans are not covered.
    samples = [*steady(0, 300, 2000.0), *steady(300, 720, None), *steady(720, 1800, 5000.0)]
    done = feed(tracker, start, [*samples, (1800, 0.0)])
    assert done[0].covered_seconds == 1800 - 420
    assert done[0].energy_ws == 2000 * 300 + 5000 * 1080
    assert done[0].valid
    assert tracker.peak_kw == pytest.approx((2000 * 300 + 5000 * 1080) / 1380 / 1000)


def test_gap_exactly_max_is_counted_and_longer_is_not() -> None:
    averager = HalfHourAverager(SYD, max_gap=timedelta(minutes=5))
    start = local(2025, 3, 3, 17, 0)
    done = feed(averager, start, [(0, 1000.0), (300, 1000.0), (601, 1000.0), (1800, 0.0)])
    assert done[0].covered_seconds == 300
    assert done[0].energy_ws == 300_000


def test_configurable_minimum_coverage() -> None:
    averager = HalfHourAverager(SYD, min_coverage=timedelta(minutes=10))
    start = local(2025, 3, 3, 17, 0)
    done = feed(averager, start, [*steady(1200, 1800, 1000.0), (1800, 0.0)])
    assert done[0].covered_seconds == 600
    assert done[0].valid
    with pytest.raises(ValueError, match="min_coverage"):
        HalfHourAverager(SYD, min_coverage=timedelta(minutes=31))
    with pytest.raises(ValueError, match="max_gap"):
        HalfHourAverager(SYD, max_gap=timedelta(0))


def test_out_of_order_and_duplicate_samples_are_ignored() -> None:
    start = local(2025, 3, 3, 17, 0)
    clean = [*steady(0, 1800, 2000.0), (1800, 0.0)]
    messy: list[tuple[float, float | None]] = []
    for seconds, watts in clean:
        messy.append((seconds, watts))
        messy.append((seconds, 99_000.0))  # duplicate time, different value: ignored
        messy.append((seconds - 10, 50_000.0))  # older than the last accepted: ignored
    clean_tracker, messy_tracker = DemandTracker(cfg(), SYD), DemandTracker(cfg(), SYD)
    assert feed(clean_tracker, start, clean) == feed(messy_tracker, start, messy)
    assert messy_tracker.peak_kw == pytest.approx(2.0)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        HalfHourAverager(SYD).add_sample(datetime(2025, 3, 3, 17, 0), 1000.0)


def test_non_finite_power_is_unreachable() -> None:
    averager = HalfHourAverager(SYD)
    start = local(2025, 3, 3, 17, 0)
    samples = [(0, float("nan")), (60, float("inf")), *steady(120, 1800, 1000.0), (1800, 0.0)]
    done = feed(averager, start, samples)
    assert done[0].covered_seconds == 1680


def test_running_average_and_close_until() -> None:
    tracker = DemandTracker(cfg(), SYD)
    start = local(2025, 3, 3, 17, 0)
    assert tracker.current_average_kw is None
    feed(tracker, start, [(0, 1000.0)])
    assert tracker.current_average_kw is None  # no coverage yet
    feed(tracker, start, [(60, 3000.0), (120, 3000.0)])
    assert tracker.current_average_kw == pytest.approx(2.0)
    feed(tracker, start, steady(180, 1800, 3000.0))  # last sample 17:29:30
    assert tracker.close_until(start + timedelta(minutes=29, seconds=50)) == []
    done = tracker.close_until(start + timedelta(minutes=30, seconds=1))
    assert len(done) == 1
    assert done[0].covered_seconds == 1800  # held up to the boundary
    assert done[0].energy_ws == 1000 * 60 + 3000 * 1740
    assert tracker.half_hours_counted == 1
    # The next sample continues from the boundary without counting 17:29:30-17:30 twice.
    done = feed(tracker, start, [(1830, 0.0), *steady(1860, 3600, 1000.0), (3600, 0.0)])
    assert done[0].covered_seconds == 1800
    assert done[0].energy_ws == 3000 * 30 + 0 * 30 + 1000 * 1740


def test_close_until_after_a_long_silence_counts_no_tail() -> None:
    averager = HalfHourAverager(SYD)
    start = local(2025, 3, 3, 17, 0)
    feed(averager, start, steady(0, 1500, 2000.0))  # last sample 17:24:30, then nothing
    done = averager.close_until(start + timedelta(hours=2))
    assert [h.covered_seconds for h in done] == [1470]
    assert averager.close_until(start + timedelta(hours=3)) == []
    done = feed(
        averager, start, [*steady(3 * 3600 + 5, 3 * 3600 + 1800, 1000.0), (3 * 3600 + 1800, 0)]
    )
    assert done[0].start == (start + timedelta(hours=3)).astimezone(UTC)
    assert done[0].covered_seconds == 1795


def test_half_hours_align_to_local_boundaries() -> None:
    moment = datetime(2025, 3, 3, 6, 47, 12, tzinfo=UTC)
    assert half_hour_start(moment, ADL) == datetime(2025, 3, 3, 6, 30, tzinfo=UTC)
    assert half_hour_start(moment, SYD) == datetime(2025, 3, 3, 6, 30, tzinfo=UTC)
    eucla = ZoneInfo("Australia/Eucla")  # +8:45: local :00/:30 are UTC :15/:45
    assert half_hour_start(moment, eucla) == datetime(2025, 3, 3, 6, 45, tzinfo=UTC)


# --- peaks ---------------------------------------------------------------------------------------


def test_peaks_outside_the_window_are_ignored() -> None:
    tracker = DemandTracker(cfg(demand_start="16:00", demand_end="21:00"), SYD)
    start = local(2025, 3, 3, 15, 0)
    samples = [
        *steady(0, 1800, 9000.0),  # 15:00-15:30: outside
        *steady(1800, 3600, 8000.0),  # 15:30-16:00: outside
        *steady(3600, 5400, 2500.0),  # 16:00-16:30: in
        *steady(5400, 7200, 1500.0),  # 16:30-17:00: in
        (7200, 0.0),
    ]
    done = feed(tracker, start, samples)
    assert [h.average_kw for h in done] == pytest.approx([9.0, 8.0, 2.5, 1.5])
    assert tracker.peak_kw == pytest.approx(2.5)
    assert tracker.peak_start == local(2025, 3, 3, 16, 0).astimezone(UTC)
    assert tracker.half_hours_counted == 2


def test_fixed_window_judged_at_half_hour_start() -> None:
    tracker = DemandTracker(cfg(demand_start="16:00", demand_end="21:00"), SYD)
    start = local(2025, 3, 3, 20, 30)
    feed(tracker, start, [*steady(0, 3600, 4000.0), (3600, 0.0)])
    assert tracker.half_hours_counted == 1  # 20:30 counts, 21:00 does not
    assert tracker.peak_start == start.astimezone(UTC)


def test_months_filter_in_tracker() -> None:
    tracker = DemandTracker(cfg(demand_months=[6, 7, 8]), SYD)
    feed(tracker, local(2025, 3, 3, 17, 0), [*steady(0, 1800, 5000.0), (1800, 0.0)])
    assert tracker.peak_kw is None
    feed(tracker, local(2025, 6, 3, 17, 0), [*steady(0, 1800, 1000.0), (1800, 0.0)])
    assert tracker.peak_kw == pytest.approx(1.0)


def test_weekday_window_crossing_midnight_in_tracker() -> None:
    config = cfg(demand_start="22:00", demand_end="02:00", demand_days="weekdays")
    tracker = DemandTracker(config, SYD)
    # Sunday 2025-03-09 22:00 to Monday 02:30: not Sunday's window, and Monday 00:00-02:00 is
    # the (non-existent) Sunday window.
    feed(tracker, local(2025, 3, 9, 22, 0), [*steady(0, 4.5 * 3600, 3000.0), (4.5 * 3600, 0)])
    assert tracker.peak_kw is None
    # Friday 23:00 to Saturday 01:30: all of it is Friday's window.
    feed(tracker, local(2025, 3, 14, 23, 0), [*steady(0, 9000, 2000.0), (9000, 0)])
    assert tracker.peak_kw == pytest.approx(2.0)
    assert tracker.half_hours_counted == 5


def test_amber_flag_windows_in_tracker() -> None:
    tracker = DemandTracker(cfg(demand_window_source="amber"), SYD)
    start = local(2025, 3, 3, 3, 0)  # the flag, not the clock, decides
    flagged = [(s, 4000.0, True) for s, _ in steady(0, 1800, 0)]
    unknown = [(s, 9000.0, None) for s, _ in steady(1800, 3600, 0)]
    minority = [(s, 8000.0, s < 3600 + 600) for s, _ in steady(3600, 5400, 0)]
    majority = [(s, 3000.0, s < 5400 + 1200) for s, _ in steady(5400, 7200, 0)]
    done = feed(tracker, start, [*flagged, *unknown, *minority, *majority, (7200, 0.0)])
    assert [h.amber_flagged for h in done] == [True, False, False, True]
    assert tracker.peak_kw == pytest.approx(4.0)
    assert tracker.half_hours_counted == 2


# --- billing cycles ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("billing_day", "today", "start", "days_left"),
    [
        (1, date(2025, 2, 1), date(2025, 2, 1), 28),
        (1, date(2024, 2, 1), date(2024, 2, 1), 29),
        (1, date(2025, 4, 1), date(2025, 4, 1), 30),
        (1, date(2025, 3, 1), date(2025, 3, 1), 31),
        (1, date(2025, 12, 31), date(2025, 12, 1), 1),
        (28, date(2025, 2, 28), date(2025, 2, 28), 28),
        (28, date(2024, 2, 28), date(2024, 2, 28), 29),
        (28, date(2024, 2, 29), date(2024, 2, 28), 28),
        (28, date(2025, 3, 27), date(2025, 2, 28), 1),
        (28, date(2025, 1, 5), date(2024, 12, 28), 23),
        (15, date(2025, 4, 15), date(2025, 4, 15), 30),
        (15, date(2025, 5, 14), date(2025, 4, 15), 1),
    ],
)
def test_cycle_dates(billing_day: int, today: date, start: date, days_left: int) -> None:
    config = cfg(demand_billing_day=billing_day)
    assert cycle_start(config, today) == start
    now = datetime.combine(today, time(12, 0), tzinfo=SYD)
    assert days_until_reset(config, now) == days_left
    reset = next_reset(config, now)
    assert reset.date() == today + timedelta(days=days_left)
    assert reset.timetz().replace(tzinfo=None) == time(0)


def test_next_reset_across_dst_is_local_midnight() -> None:
    config = cfg(demand_billing_day=5)
    # DST starts in Sydney on 2025-10-05 at 02:00; midnight of the 5th is still AEST (+10).
    reset = next_reset(config, local(2025, 9, 20, 10, 0))
    assert reset == local(2025, 10, 5, 0, 0)
    assert reset.astimezone(UTC) == datetime(2025, 10, 4, 14, 0, tzinfo=UTC)
    after = next_reset(config, local(2025, 10, 5, 0, 0))
    assert after.astimezone(UTC) == datetime(2025, 11, 4, 13, 0, tzinfo=UTC)  # AEDT (+11)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_reset(config, datetime(2025, 9, 20, 10, 0))


def test_tracker_resets_at_local_midnight_on_billing_day() -> None:
    tracker = DemandTracker(
        cfg(demand_billing_day=28, demand_start="22:00", demand_end="02:00"), SYD
    )
    start = local(2024, 2, 27, 23, 0)  # leap year: the cycle from 28 Jan runs to 28 Feb
    feed(tracker, start, steady(0, 3600, 5000.0))  # 23:00-23:59:30 on the 27th
    assert tracker.cycle_start == date(2024, 1, 28)
    assert tracker.peak_kw == pytest.approx(5.0)  # the 23:00 half hour, completed at 23:30
    feed(tracker, start, [(3600, 1000.0)])  # midnight: 23:30 half hour completes, then reset
    assert tracker.cycle_start == date(2024, 2, 28)
    assert tracker.peak_kw is None
    assert tracker.half_hours_counted == 0
    feed(tracker, start, [*steady(3630, 5400, 1000.0), (5400, 0.0)])
    assert tracker.peak_kw == pytest.approx(1.0)
    assert tracker.peak_start == local(2024, 2, 28, 0, 0).astimezone(UTC)


def test_tracker_reset_across_dst_start() -> None:
    tracker = DemandTracker(
        cfg(demand_billing_day=5, demand_start="00:00", demand_end="04:00"), SYD
    )
    # 2025-10-04 23:00 AEST to 2025-10-05 04:00 AEDT: 4 real hours (02:00-03:00 is skipped).
    start = local(2025, 10, 4, 23, 0)
    samples = [(s, 2000.0 if s < 3600 else 1000.0) for s, _ in steady(0, 4 * 3600, 0.0)]
    done = feed(tracker, start, [*samples, (4 * 3600, 0.0)])
    assert tracker.cycle_start == date(2025, 10, 5)
    assert [h.start.astimezone(SYD).strftime("%H:%M") for h in done] == [
        "23:00", "23:30", "00:00", "00:30", "01:00", "01:30", "03:00", "03:30",
    ]  # fmt: skip
    assert all(h.covered_seconds == 1800 for h in done)
    assert tracker.peak_kw == pytest.approx(1.0)
    assert tracker.half_hours_counted == 6


def test_tracker_reset_across_dst_end() -> None:
    tracker = DemandTracker(
        cfg(demand_billing_day=6, demand_start="00:00", demand_end="04:00"), SYD
    )
    # DST ends 2025-04-06 03:00 AEDT -> 02:00 AEST; the 6th starts at 13:00 UTC on the 5th.
    start = datetime(2025, 4, 5, 12, 0, tzinfo=UTC)  # 23:00 AEDT
    feed(tracker, start, steady(0, 3600, 7000.0))
    assert tracker.cycle_start == date(2025, 3, 6)
    feed(tracker, start, [(3600, 1000.0)])
    assert tracker.cycle_start == date(2025, 4, 6)
    done = feed(tracker, start, [*steady(3630, 6 * 3600, 1000.0), (6 * 3600, 0.0)])
    # 00:00 .. 04:00 local holds 5 real hours: the 02:00 hour happens twice.
    assert sum(1 for h in done if tracker.counts_toward_peak(h)) == 10
    assert tracker.half_hours_counted == 10


def test_reset_in_every_month_length() -> None:
    config = cfg(demand_billing_day=1, demand_start="00:00", demand_end="23:30")
    tracker = DemandTracker(config, BNE)
    day = date(2024, 1, 1)
    starts = set()
    while day < date(2025, 1, 1):
        moment = datetime.combine(day, time(0, 10), tzinfo=BNE)
        tracker.add_sample(moment, 1000.0)
        assert tracker.cycle_start == day.replace(day=1)
        starts.add(tracker.cycle_start)
        day += timedelta(days=1)
    assert len(starts) == 12


# --- costs ---------------------------------------------------------------------------------------


def test_cost_per_kw_month() -> None:
    config = cfg(demand_rate=12.34, demand_rate_basis="per_kw_month")
    assert cycle_cost(config, 3.456, date(2025, 3, 1), date(2025, 3, 1)) == 42.65  # 42.64704
    assert cycle_cost(config, 3.456, date(2025, 3, 1), date(2025, 3, 31)) == 42.65
    assert cycle_cost(config, None, date(2025, 3, 1), date(2025, 3, 5)) == 0.0
    assert cycle_cost(cfg(demand_rate=0.125), 1.0, date(2025, 3, 1), date(2025, 3, 1)) == 0.13


def test_cost_c_per_kw_day() -> None:
    config = cfg(demand_rate=45.5, demand_rate_basis="c_per_kw_day", demand_billing_day=15)
    start = date(2025, 3, 15)
    assert cycle_cost(config, 4.0, start, date(2025, 3, 15)) == 1.82  # 1 day
    assert cycle_cost(config, 4.0, start, date(2025, 3, 24)) == 18.20  # 10 days
    assert cycle_cost(config, 4.0, start, date(2025, 4, 14)) == 56.42  # 31 days: full cycle
    assert cycle_cost(config, 4.0, start, date(2025, 5, 1)) == 56.42  # capped at the cycle
    assert cycle_cost(config, 4.0, start, date(2025, 3, 1)) == 0.0
    assert (
        cycle_cost(config, 2.345, date(2025, 2, 15), date(2025, 3, 14)) == 29.88
    )  # 28 days: 29.8754


def test_tracker_cost() -> None:
    config = cfg(demand_rate=10.0, demand_billing_day=1)
    tracker = DemandTracker(config, SYD)
    assert tracker.cost(date(2025, 3, 3)) == 0.0
    feed(tracker, local(2025, 3, 3, 17, 0), [*steady(0, 1800, 2500.0), (1800, 0.0)])
    assert tracker.cost(date(2025, 3, 3)) == 25.0


# --- persistence ---------------------------------------------------------------------------------


def roundtrip(tracker: DemandTracker, config: DemandConfig, **kwargs: Any) -> DemandTracker:
    stored = json.loads(json.dumps(tracker.to_dict(), allow_nan=False))
    return DemandTracker.from_dict(stored, config, tracker.tz, **kwargs)


def test_restart_mid_half_hour_matches_uninterrupted_run() -> None:
    config = cfg()
    start = local(2025, 3, 3, 17, 0)
    samples = [(s, 1000.0 + 37 * i) for i, (s, _) in enumerate(steady(0, 3 * 1800, 0.0, every=31))]
    samples.append((3 * 1800, 0.0))
    whole = DemandTracker(config, SYD)
    expected = feed(whole, start, samples)

    before = DemandTracker(config, SYD)
    cut = 40  # 17:20:40, mid half hour
    got = feed(before, start, samples[:cut])
    after = roundtrip(before, config, now=start + timedelta(seconds=samples[cut - 1][0] + 5))
    # Home Assistant replays the last known state after a restart: already counted, ignored.
    got += feed(after, start, [samples[cut - 1], samples[cut - 2]])
    got += feed(after, start, samples[cut:])
    assert got == expected
    assert after.peak_kw == whole.peak_kw
    assert after.peak_start == whole.peak_start
    assert after.half_hours_counted == whole.half_hours_counted == 3
    assert after.to_dict() == whole.to_dict()


def test_restart_gap_shorter_than_max_is_held_longer_is_not() -> None:
    config = cfg()
    start = local(2025, 3, 3, 17, 0)
    first = DemandTracker(config, SYD)
    feed(first, start, steady(0, 600, 2000.0))  # last sample 17:09:30
    short = roundtrip(first, config)
    done = feed(short, start, [*steady(690, 1800, 2000.0), (1800, 0)])  # back at 17:11:30
    assert done[0].covered_seconds == 1800
    long = roundtrip(first, config)
    done = feed(long, start, [*steady(1200, 1800, 2000.0), (1800, 0)])  # back at 17:20
    assert done[0].covered_seconds == 1200 - 30
    assert not done[0].valid


def test_restart_after_close_until_does_not_double_count() -> None:
    config = cfg()
    start = local(2025, 3, 3, 17, 0)
    tracker = DemandTracker(config, SYD)
    feed(tracker, start, steady(0, 1800, 2000.0))
    tracker.close_until(start + timedelta(minutes=30))
    restored = roundtrip(tracker, config)
    done = feed(restored, start, [*steady(1815, 3600, 4000.0), (3600, 0.0)])
    assert done[0].covered_seconds == 1800
    assert done[0].energy_ws == 2000 * 15 + 4000 * 1785


def test_restore_from_previous_cycle_resets() -> None:
    config = cfg(demand_billing_day=10)
    start = local(2025, 3, 20, 17, 0)
    old = DemandTracker(config, SYD)
    feed(old, start, [*steady(0, 1800, 6000.0), *steady(1800, 2000, 1000.0)])
    assert old.peak_kw == pytest.approx(6.0)
    stored = old.to_dict()

    restored = DemandTracker.from_dict(stored, config, SYD, now=local(2025, 4, 12, 9, 0))
    assert restored.cycle_start == date(2025, 4, 10)
    assert restored.peak_kw is None
    assert restored.peak_start is None
    assert restored.half_hours_counted == 0
    assert restored.cost(date(2025, 4, 12)) == 0.0

    # Without `now`, the first sample of the new cycle resets it; the stale partial half hour
    # completes but belongs to the finished cycle.
    lazy = DemandTracker.from_dict(stored, config, SYD)
    assert lazy.peak_kw == pytest.approx(6.0)
    done = lazy.add_sample(local(2025, 4, 12, 9, 0), 500.0)
    assert [h.start for h in done] == [local(2025, 3, 20, 17, 30).astimezone(UTC)]
    assert lazy.cycle_start == date(2025, 4, 10)
    assert lazy.peak_kw is None


def test_restore_in_same_cycle_keeps_peak() -> None:
    config = cfg(demand_billing_day=10)
    tracker = DemandTracker(config, SYD)
    feed(tracker, local(2025, 3, 20, 17, 0), [*steady(0, 1800, 6000.0), (1800, 0.0)])
    restored = roundtrip(tracker, config, now=local(2025, 4, 9, 23, 59))
    assert restored.peak_kw == pytest.approx(6.0)
    assert restored.cycle_start == date(2025, 3, 10)


def test_changed_billing_day_rederives_the_cycle() -> None:
    tracker = DemandTracker(cfg(demand_billing_day=15), SYD)
    feed(tracker, local(2025, 3, 20, 17, 0), [*steady(0, 1800, 6000.0), (1800, 0.0)])
    moved = roundtrip(tracker, cfg(demand_billing_day=1), now=local(2025, 3, 25, 12, 0))
    assert moved.cycle_start == date(2025, 3, 1)
    assert moved.peak_kw == pytest.approx(6.0)


def test_restore_tolerates_missing_keys() -> None:
    config = cfg()
    empty = DemandTracker.from_dict({}, config, SYD)
    assert (empty.cycle_start, empty.peak_kw, empty.half_hours_counted) == (None, None, 0)
    partial = DemandTracker.from_dict(
        {"cycle_start": "2025-03-01", "peak_kw": 2, "peak_start": "2025-03-03T06:00:00+00:00"},
        config,
        SYD,
    )
    assert partial.peak_kw == 2.0
    assert partial.cycle_start == date(2025, 3, 1)
    assert partial.averager.slot_start is None


def _valid_state() -> dict[str, Any]:
    tracker = DemandTracker(cfg(), SYD)
    feed(tracker, local(2025, 3, 3, 17, 0), [*steady(0, 2400, 3000.0)])
    return tracker.to_dict()


@pytest.mark.parametrize(
    "change",
    [
        {"peak_kw": float("nan")},
        {"peak_kw": float("inf")},
        {"peak_kw": "3.0"},
        {"peak_kw": True},
        {"peak_kw": -1.0},
        {"peak_start": None},
        {"peak_start": "yesterday"},
        {"peak_start": "2025-03-03T06:00:00"},  # naive
        {"peak_start": 1741000000},
        {"cycle_start": "2025-13-01"},
        {"cycle_start": 20250301},
        {"half_hours_counted": -1},
        {"half_hours_counted": 1.5},
        {"half_hours_counted": "1"},
        {"version": 99},
        {"partial": "nope"},
        {"partial": {"energy_ws": float("nan")}},
        {"partial": {"slot_start": "2025-03-03T06:00:00+00:00", "covered_s": 5000.0}},
        {"partial": {"slot_start": "2025-03-03T06:10:00+00:00"}},  # not a boundary
        {"partial": {"energy_ws": 5.0}},  # coverage without a half hour
        {"partial": {"last_w": 100.0}},  # value without a time
        {"partial": {"slot_start": "2025-03-03T06:00:00+00:00", "last_flag": "yes"}},
        {
            "partial": {
                "slot_start": "2025-03-03T06:00:00+00:00",
                "last_ts": "2025-03-03T09:00:00+00:00",
            }
        },
    ],
)
def test_garbage_restore_is_rejected(change: dict[str, Any]) -> None:
    state = {**_valid_state(), **change}
    with pytest.raises(ValueError):  # noqa: PT011 - any clear ValueError will do
        DemandTracker.from_dict(state, cfg(), SYD)


def test_garbage_restore_not_a_mapping() -> None:
    with pytest.raises(ValueError, match="mapping"):
        DemandTracker.from_dict([1, 2], cfg(), SYD)  # type: ignore[arg-type]


def test_state_is_json_primitives() -> None:
    state = _valid_state()
    assert json.loads(json.dumps(state, allow_nan=False)) == state
    assert state["partial"]["slot_start"] == "2025-03-03T06:30:00+00:00"
    assert state["peak_start"] == "2025-03-03T06:00:00+00:00"


# --- property tests against an independent minute-by-minute reference ---------------------------

MAX_GAP_MIN = 5
MIN_COVER_MIN = 20
WINDOW = (16 * 60, 21 * 60)  # the tests' window, minutes of the local day
BASE_MINUTE = 15 * 60  # samples start at 15:00 local

# Minutes after the previous raw sample: mostly a regular poll, sometimes a duplicate or an
# out-of-order sample (<= 0), sometimes a gap longer than the 5-minute maximum.
deltas = st.sampled_from([-2, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 5, 6, 9, 17])
# Watts, or None (unreachable) about one time in ten.
powers = st.tuples(st.integers(min_value=-5000, max_value=15000), st.integers(0, 9)).map(
    lambda pair: None if pair[1] == 0 else pair[0]
)
steps = st.lists(st.tuples(deltas, powers), min_size=60, max_size=200)


def _raw_samples(
    step_list: list[tuple[int, int | None]], base: datetime
) -> list[tuple[datetime, int | None]]:
    minute = 0
    raw = []
    for delta, watts in step_list:
        minute += delta
        raw.append((base + timedelta(minutes=minute), watts))
    return raw


def _reference(
    raw: list[tuple[datetime, int | None]], base: datetime
) -> tuple[dict[int, tuple[int, int]], float | None]:
    """Half-hour index -> (covered minutes, energy W-min) for completed half hours; the peak."""
    accepted: list[tuple[int, int | None]] = []
    for moment, watts in raw:
        minute = int((moment - base).total_seconds() // 60)
        if not accepted or minute > accepted[-1][0]:
            accepted.append((minute, watts))
    power_at: dict[int, int] = {}  # minute -> held import, only where counted
    for (m0, w0), (m1, _) in pairwise(accepted):
        if w0 is not None and m1 - m0 <= MAX_GAP_MIN:
            for minute in range(m0, m1):
                power_at[minute] = max(w0, 0)
    last = accepted[-1][0]
    result: dict[int, tuple[int, int]] = {}
    for minute, watts in power_at.items():
        index = minute // 30
        if (index + 1) * 30 <= last:
            covered, energy = result.get(index, (0, 0))
            result[index] = (covered + 1, energy + watts)
    peak: float | None = None
    for index, (covered, energy) in result.items():
        clock = (BASE_MINUTE + index * 30) % (24 * 60)
        if covered >= MIN_COVER_MIN and WINDOW[0] <= clock < WINDOW[1]:
            average = energy / covered / 1000
            peak = average if peak is None else max(peak, average)
    return result, peak


@settings(max_examples=150, deadline=None)
@given(step_list=steps, tz=st.sampled_from([SYD, ADL, BNE]))
def test_matches_minute_by_minute_reference(
    step_list: list[tuple[int, int | None]], tz: tzinfo
) -> None:
    base = datetime(2025, 3, 3, 15, 0, tzinfo=tz)
    raw = _raw_samples(step_list, base)
    tracker = DemandTracker(cfg(demand_start="16:00", demand_end="21:00"), tz)
    done: list[HalfHour] = []
    for moment, watts in raw:
        done += tracker.add_sample(moment, watts)
    expected, peak = _reference(raw, base)

    got = {int((h.start - base).total_seconds() // 1800): h for h in done if h.covered_seconds > 0}
    assert set(got) == set(expected)
    for index, (covered, energy) in expected.items():
        half_hour = got[index]
        assert half_hour.covered_seconds == covered * 60
        assert half_hour.energy_ws == energy * 60
        assert half_hour.average_kw == pytest.approx(energy / covered / 1000, rel=1e-12)
        assert half_hour.valid == (covered >= MIN_COVER_MIN)
    if peak is None:
        assert tracker.peak_kw is None
    else:
        assert tracker.peak_kw == pytest.approx(peak, rel=1e-12)
    starts = [h.start for h in done]
    assert starts == sorted(set(starts))  # each half hour completes once, in order


@settings(max_examples=100, deadline=None)
@given(step_list=steps, cut=st.integers(min_value=0, max_value=200), tz=st.sampled_from([SYD, ADL]))
def test_restart_anywhere_changes_nothing(
    step_list: list[tuple[int, int | None]], cut: int, tz: tzinfo
) -> None:
    base = datetime(2025, 3, 3, 15, 0, tzinfo=tz)
    raw = _raw_samples(step_list, base)
    config = cfg(demand_start="16:00", demand_end="21:00")
    whole = DemandTracker(config, tz)
    expected = [h for moment, watts in raw for h in whole.add_sample(moment, watts)]

    first = DemandTracker(config, tz)
    got = [h for moment, watts in raw[:cut] for h in first.add_sample(moment, watts)]
    second = roundtrip(first, config)
    got += [h for moment, watts in raw[max(cut - 2, 0) :] for h in second.add_sample(moment, watts)]
    assert got == expected
    assert second.to_dict() == whole.to_dict()
