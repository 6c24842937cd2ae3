"""Fixed-rate TOU plans: parsing, validation, expansion to the Powerwall plan, period lookup.

Every plan that expands is also checked by the tariff validator (`validate.validate_tariff`)
and by an independent resolver (`tesla_fleet_api.get_tariff_periods`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import copy
from datetime import date, datetime, timedelta, timezone
import json
import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from tesla_fleet_api import get_tariff_periods

from custom_components.tesla_amber_sync import plans, tou, validate
from custom_components.tesla_amber_sync.plans import (
    FixedPlan,
    PeriodAt,
    PlanError,
    PlanPeriod,
    PlanSeason,
    load_plan,
    period_at,
    plan_to_tou,
    validate_plan,
)
from custom_components.tesla_amber_sync.validate import validate_tariff

FIXTURES = Path(__file__).parent / "fixtures" / "plans"
SYDNEY = ZoneInfo("Australia/Sydney")
BRISBANE = timezone(timedelta(hours=10))
PARSE_CODES = {"wrong_type", "unknown_key", "missing_key", "bad_time", "bad_date"}


def real_plan_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "origin_flexi_tou.json").read_text())
    return data


def encoded(plan: FixedPlan) -> dict[str, Any]:
    return tou.encode_tariff(plan_to_tou(plan))


def half_hours(start: datetime, days: int) -> Iterator[datetime]:
    """Every half hour of `days` wall-clock days from `start` (wall-clock arithmetic)."""
    for step in range(days * 48):
        yield start + timedelta(minutes=30 * step)


def assert_all_agree(plan: FixedPlan, tariff: dict[str, Any], moment: datetime) -> PeriodAt:
    """period_at, tou.rates_at and the independent resolver give the same season/period/rates."""
    here = period_at(plan, moment)
    assert here is not None, f"no period at {moment}"
    tesla_season, tesla_period = plans.tesla_names(plan)[(here.season, here.period)]
    resolved = get_tariff_periods(tariff, moment)
    assert resolved is not None, f"resolver found no season at {moment}"
    assert (resolved.buy.season_name, resolved.buy.period_name) == (tesla_season, tesla_period)
    assert resolved.buy.price == round(here.buy, tou.RATE_DECIMALS), moment
    assert (resolved.sell.season_name, resolved.sell.period_name) == (tesla_season, tesla_period)
    assert resolved.sell.price == round(here.sell, tou.RATE_DECIMALS), moment
    ours = tou.rates_at(tariff, moment)
    assert (ours.season, ours.period) == (tesla_season, tesla_period)
    assert ours.buy == round(here.buy, tou.RATE_DECIMALS)
    assert ours.sell == round(here.sell, tou.RATE_DECIMALS)
    return here


# --- the real-shaped plan: exact expansion -----------------------------------------------------


def _windows(*rows: tuple[int, int, int, int, int, int]) -> dict[str, Any]:
    keys = ("fromDayOfWeek", "toDayOfWeek", "fromHour", "fromMinute", "toHour", "toMinute")
    return {"periods": [dict(zip(keys, row, strict=True)) for row in rows]}


REAL_TOU_PERIODS = {
    "PEAK": _windows((0, 4, 15, 0, 21, 0)),
    "SHOULDER": _windows((0, 4, 7, 0, 15, 0)),
    "SHOULDER_EVENING": _windows((0, 4, 21, 0, 22, 0)),
    "WEEKEND_SHOULDER": _windows((5, 6, 7, 0, 22, 0)),
    "OFF_PEAK": _windows((0, 6, 0, 0, 7, 0), (0, 6, 22, 0, 24, 0)),
}
REAL_SEASONS = {
    "SUMMER": {
        "fromMonth": 12,
        "fromDay": 1,
        "toMonth": 3,
        "toDay": 31,
        "tou_periods": REAL_TOU_PERIODS,
    },
    "REST_OF_YEAR": {
        "fromMonth": 4,
        "fromDay": 1,
        "toMonth": 11,
        "toDay": 30,
        "tou_periods": REAL_TOU_PERIODS,
    },
}
EXPECTED_REAL_TARIFF = {
    "version": 1,
    "code": "TESLA_AMBER_SYNC:FIXED:ORIGIN_FLEXI_TOU",
    "name": "Origin Flexi TOU",
    "utility": "Origin Energy",
    "currency": "AUD",
    "daily_charges": [{"name": "Charge", "amount": 1.1}],
    "demand_charges": {
        "ALL": {"rates": {"ALL": 0}},
        "SUMMER": {"rates": {"PEAK": 0.25}},
        "REST_OF_YEAR": {"rates": {}},
    },
    "energy_charges": {
        "ALL": {"rates": {"ALL": 0}},
        "SUMMER": {
            "rates": {
                "PEAK": 0.55,
                "SHOULDER": 0.3,
                "SHOULDER_EVENING": 0.3,
                "WEEKEND_SHOULDER": 0.3,
                "OFF_PEAK": 0.22,
            }
        },
        "REST_OF_YEAR": {
            "rates": {
                "PEAK": 0.45,
                "SHOULDER": 0.28,
                "SHOULDER_EVENING": 0.28,
                "WEEKEND_SHOULDER": 0.28,
                "OFF_PEAK": 0.2,
            }
        },
    },
    "seasons": REAL_SEASONS,
    "sell_tariff": {
        "name": "Origin Flexi TOU",
        "utility": "Origin Energy",
        "daily_charges": [{"name": "Charge", "amount": 0}],
        "demand_charges": {
            "ALL": {"rates": {"ALL": 0}},
            "SUMMER": {"rates": {}},
            "REST_OF_YEAR": {"rates": {}},
        },
        "energy_charges": {
            "ALL": {"rates": {"ALL": 0}},
            "SUMMER": {
                "rates": {
                    "PEAK": 0.05,
                    "SHOULDER": 0.05,
                    "SHOULDER_EVENING": 0.05,
                    "WEEKEND_SHOULDER": 0.05,
                    "OFF_PEAK": 0.03,
                }
            },
            "REST_OF_YEAR": {
                "rates": {
                    "PEAK": 0.05,
                    "SHOULDER": 0.05,
                    "SHOULDER_EVENING": 0.05,
                    "WEEKEND_SHOULDER": 0.05,
                    "OFF_PEAK": 0.03,
                }
            },
        },
        "seasons": REAL_SEASONS,
    },
}


def test_real_plan_expands_exactly() -> None:
    plan = load_plan(real_plan_data())
    tariff = encoded(plan)
    assert tariff == EXPECTED_REAL_TARIFF
    validate_tariff(tariff)


def test_real_plan_tou_model() -> None:
    tou_plan = plan_to_tou(load_plan(real_plan_data()))
    assert tou_plan.daily_charge == 1.1
    summer = tou_plan.seasons[0]
    assert (summer.name, summer.from_month, summer.from_day, summer.to_month, summer.to_day) == (
        "SUMMER",
        12,
        1,
        3,
        31,
    )
    peak = summer.periods[0]
    assert (peak.name, peak.buy, peak.sell, peak.demand) == ("PEAK", 0.55, 0.05, 0.25)
    assert summer.periods[4].windows == (
        tou.TouWindow(0, 6, 0, 420),
        tou.TouWindow(0, 6, 1320, 1440),
    )


def test_tiny_plan_expands_exactly() -> None:
    """List days, a range wrapping past Sunday, midnight-crossing, "24:00", name slugs."""
    data = {
        "name": "Tiny",
        "seasons": [
            {
                "name": "All year",
                "from": "01-01",
                "to": "12-31",
                "periods": [
                    {"name": "Weekend+", "days": "fri-mon", "from": "00:00", "to": "24:00",
                     "buy": 0.2, "sell": 0},
                    {"name": "Midweek day", "days": ["tue", "wed", "thu"], "from": "06:00",
                     "to": "23:00", "buy": 0.123456, "sell": 0.07, "demand": 12.5},
                    {"name": "midweek night", "days": "Tue-Thu", "from": "23:00", "to": "06:00",
                     "buy": 0.1, "sell": 0.1},
                ],
            }
        ],
    }  # fmt: skip
    tou_periods = {
        "WEEKEND": _windows((0, 0, 0, 0, 24, 0), (4, 6, 0, 0, 24, 0)),
        "MIDWEEK_DAY": _windows((1, 3, 6, 0, 23, 0)),
        "MIDWEEK_NIGHT": _windows((1, 3, 0, 0, 6, 0), (1, 3, 23, 0, 24, 0)),
    }
    seasons = {
        "ALL_YEAR": {
            "fromMonth": 1,
            "fromDay": 1,
            "toMonth": 12,
            "toDay": 31,
            "tou_periods": tou_periods,
        }
    }
    expected = {
        "version": 1,
        "code": "TESLA_AMBER_SYNC:FIXED:TINY",
        "name": "Tiny",
        "utility": "",
        "currency": "AUD",
        "daily_charges": [{"name": "Charge", "amount": 0.0}],
        "demand_charges": {
            "ALL": {"rates": {"ALL": 0}},
            "ALL_YEAR": {"rates": {"MIDWEEK_DAY": 12.5}},
        },
        "energy_charges": {
            "ALL": {"rates": {"ALL": 0}},
            "ALL_YEAR": {"rates": {"WEEKEND": 0.2, "MIDWEEK_DAY": 0.1235, "MIDWEEK_NIGHT": 0.1}},
        },
        "seasons": seasons,
        "sell_tariff": {
            "name": "Tiny",
            "utility": "",
            "daily_charges": [{"name": "Charge", "amount": 0}],
            "demand_charges": {"ALL": {"rates": {"ALL": 0}}, "ALL_YEAR": {"rates": {}}},
            "energy_charges": {
                "ALL": {"rates": {"ALL": 0}},
                "ALL_YEAR": {"rates": {"WEEKEND": 0.0, "MIDWEEK_DAY": 0.07, "MIDWEEK_NIGHT": 0.1}},
            },
            "seasons": seasons,
        },
    }  # fmt: skip
    plan = load_plan(data)
    report = validate_plan(plan)
    assert report.errors == []
    assert [w.code for w in report.warnings] == []  # sell == buy is not "above"
    tariff = encoded(plan)
    assert tariff == expected
    validate_tariff(tariff)


# --- the real-shaped plan against the resolver -------------------------------------------------


def real_plan_oracle(moment: datetime) -> tuple[str, float, float]:
    """The real plan's (period, buy, sell), written out by hand from the bill."""
    summer = moment.month in (12, 1, 2, 3)
    hour = moment.hour + moment.minute / 60
    weekday = moment.weekday() < 5
    if hour >= 22 or hour < 7:
        return ("Off-peak", 0.22 if summer else 0.2, 0.03)
    shoulder = 0.3 if summer else 0.28
    if not weekday:
        return ("Weekend shoulder", shoulder, 0.05)
    if 15 <= hour < 21:
        return ("Peak", 0.55 if summer else 0.45, 0.05)
    if hour >= 21:
        return ("Shoulder evening", shoulder, 0.05)
    return ("Shoulder", shoulder, 0.05)


SUMMER = "Summer"
REST = "Rest of year"


@pytest.mark.parametrize(
    ("start", "days", "seasons"),
    [
        pytest.param(datetime(2026, 7, 6, tzinfo=SYDNEY), 7, {REST}, id="winter-week"),
        pytest.param(datetime(2027, 2, 1, tzinfo=SYDNEY), 7, {SUMMER}, id="summer-week"),
        pytest.param(datetime(2026, 12, 28, tzinfo=SYDNEY), 8, {SUMMER}, id="across-new-year"),
        pytest.param(datetime(2026, 11, 29, tzinfo=SYDNEY), 4, {SUMMER, REST}, id="summer-starts"),
        pytest.param(datetime(2027, 3, 29, tzinfo=SYDNEY), 5, {SUMMER, REST}, id="summer-ends"),
        pytest.param(datetime(2028, 2, 27, tzinfo=SYDNEY), 4, {SUMMER}, id="leap-day"),
        pytest.param(datetime(2026, 10, 3, tzinfo=SYDNEY), 3, {REST}, id="dst-starts"),
        pytest.param(datetime(2027, 4, 3, tzinfo=SYDNEY), 3, {REST}, id="dst-ends"),
    ],
)
def test_real_plan_resolves_like_the_bill(start: datetime, days: int, seasons: set[str]) -> None:
    plan = load_plan(real_plan_data())
    tariff = encoded(plan)
    seen = set()
    for moment in half_hours(start, days):
        here = assert_all_agree(plan, tariff, moment)
        assert (here.period, here.buy, here.sell) == real_plan_oracle(moment), moment
        assert here.season == (SUMMER if moment.month in (12, 1, 2, 3) else REST)
        seen.add(here.season)
    assert seen == seasons


def test_wrapping_season_is_one_tesla_season_both_sides_of_new_year() -> None:
    """Checked rather than assumed: the resolver anchors a wrapped season to either year."""
    tariff = encoded(load_plan(real_plan_data()))
    assert list(tariff["seasons"]) == ["SUMMER", "REST_OF_YEAR"]
    for moment in (
        datetime(2026, 12, 31, 23, 30, tzinfo=SYDNEY),
        datetime(2027, 1, 1, 0, 0, tzinfo=SYDNEY),
        datetime(2027, 1, 1, 0, 30, tzinfo=SYDNEY),
        datetime(2028, 2, 29, 12, 0, tzinfo=SYDNEY),
    ):
        resolved = get_tariff_periods(tariff, moment)
        assert resolved is not None
        assert resolved.buy.season_name == "SUMMER", moment
        assert resolved.buy.period_name == "OFF_PEAK" or moment.hour == 12
    # Walking the timeline across New Year: no gap, and still SUMMER on the far side.
    walk = get_tariff_periods(
        tariff, datetime(2026, 12, 31, 20, 0, tzinfo=SYDNEY), horizon_hours=24
    )
    assert walk is not None
    assert walk.upcoming is not None
    assert [
        (p.start.strftime("%m-%d %H:%M"), p.buy.season_name, p.buy.period_name, p.buy.price)
        for p in walk.upcoming
    ] == [
        ("12-31 15:00", "SUMMER", "PEAK", 0.55),
        ("12-31 21:00", "SUMMER", "SHOULDER_EVENING", 0.3),
        ("12-31 22:00", "SUMMER", "OFF_PEAK", 0.22),
        ("01-01 00:00", "SUMMER", "OFF_PEAK", 0.22),
        ("01-01 07:00", "SUMMER", "SHOULDER", 0.3),
        ("01-01 15:00", "SUMMER", "PEAK", 0.55),
    ]
    # ... and the season ends where the plan says: 1 April 00:00 starts the other one.
    walk = get_tariff_periods(tariff, datetime(2027, 3, 31, 23, 0, tzinfo=SYDNEY), horizon_hours=2)
    assert walk is not None
    assert walk.upcoming is not None
    assert [
        (p.start.strftime("%m-%d %H:%M"), p.buy.season_name, p.buy.price) for p in walk.upcoming
    ] == [("03-31 22:00", "SUMMER", 0.22), ("04-01 00:00", "REST_OF_YEAR", 0.2)]


@pytest.mark.parametrize("year", [2027, 2028])
def test_season_ending_on_29_february_in_leap_and_other_years(year: int) -> None:
    data = base_plan()
    _set("seasons.0.from", "01-01")(data)
    _set("seasons.0.to", "02-29")(data)
    _set("seasons.1.from", "03-01")(data)
    _set("seasons.1.to", "12-31")(data)
    plan = load_plan(data)
    tariff = encoded(plan)
    validate_tariff(tariff)
    for moment in half_hours(datetime(year, 2, 27, tzinfo=BRISBANE), 4):
        here = assert_all_agree(plan, tariff, moment)
        assert here.season == ("Summer" if moment.month == 2 else "Winter"), moment


def test_weekday_and_weekend_periods_at_the_same_clock_time_both_survive() -> None:
    plan = load_plan(real_plan_data())
    tariff = encoded(plan)
    monday = datetime(2026, 7, 6, 16, 0, tzinfo=BRISBANE)
    saturday = datetime(2026, 7, 11, 16, 0, tzinfo=BRISBANE)
    for moment, period, buy in ((monday, "PEAK", 0.45), (saturday, "WEEKEND_SHOULDER", 0.28)):
        resolved = get_tariff_periods(tariff, moment)
        assert resolved is not None
        assert (resolved.buy.period_name, resolved.buy.price) == (period, buy)


def test_identical_clock_times_on_different_days_both_survive() -> None:
    data = {
        "name": "Flat by day",
        "seasons": [
            {
                "name": "Year",
                "from": "01-01",
                "to": "12-31",
                "periods": [
                    {"name": "Weekday", "days": "weekdays", "from": "00:00", "to": "24:00",
                     "buy": 0.3, "sell": 0.08},
                    {"name": "Weekend", "days": "weekends", "from": "00:00", "to": "24:00",
                     "buy": 0.15, "sell": 0.02},
                ],
            }
        ],
    }  # fmt: skip
    plan = load_plan(data)
    tariff = encoded(plan)
    periods = tariff["seasons"]["YEAR"]["tou_periods"]
    assert periods == {
        "WEEKDAY": _windows((0, 4, 0, 0, 24, 0)),
        "WEEKEND": _windows((5, 6, 0, 0, 24, 0)),
    }
    validate_tariff(tariff)
    for moment in half_hours(datetime(2026, 6, 1, tzinfo=BRISBANE), 7):
        here = assert_all_agree(plan, tariff, moment)
        assert here.buy == (0.3 if moment.weekday() < 5 else 0.15)


def test_midnight_crossing_period_covers_the_named_days_clock_times() -> None:
    """Weekdays 22:00-07:00 is Mon..Fri's evening and morning, not Saturday morning."""
    data: dict[str, Any] = {
        "name": "Night owl",
        "seasons": [
            {
                "name": "Year",
                "from": "01-01",
                "to": "12-31",
                "periods": [
                    {"name": "Night", "days": "weekdays", "from": "22:00", "to": "07:00",
                     "buy": 0.1, "sell": 0.0},
                    {"name": "Day", "days": "weekdays", "from": "07:00", "to": "22:00",
                     "buy": 0.4, "sell": 0.0},
                    {"name": "Weekend", "days": "weekends", "from": "00:00", "to": "00:00",
                     "buy": 0.2, "sell": 0.0},
                ],
            }
        ],
    }  # fmt: skip
    # "00:00" to "00:00" is zero length, not a whole day.
    report = validate_plan(FixedPlan.from_dict(data))
    assert "zero_length_period" in [e.code for e in report.errors]
    data["seasons"][0]["periods"][2]["to"] = "24:00"
    plan = load_plan(data)
    tariff = encoded(plan)
    assert tariff["seasons"]["YEAR"]["tou_periods"]["NIGHT"] == _windows(
        (0, 4, 0, 0, 7, 0), (0, 4, 22, 0, 24, 0)
    )
    friday_night = datetime(2026, 7, 10, 23, 0, tzinfo=BRISBANE)
    saturday_morning = datetime(2026, 7, 11, 3, 0, tzinfo=BRISBANE)
    monday_morning = datetime(2026, 7, 13, 3, 0, tzinfo=BRISBANE)
    assert assert_all_agree(plan, tariff, friday_night).period == "Night"
    assert assert_all_agree(plan, tariff, saturday_morning).period == "Weekend"
    assert assert_all_agree(plan, tariff, monday_morning).period == "Night"


def test_tesla_names_are_safe_unique_and_not_reserved() -> None:
    names = ["Off-peak", "off peak!", "All", "日本", "", "Peak 2", "Peak", "peak_2 "]
    assert plans._unique_slugs(names, "PERIOD") == [
        "OFF_PEAK",
        "OFF_PEAK_2",
        "ALL_2",
        "PERIOD",
        "PERIOD_2",
        "PEAK_2",
        "PEAK",
        "PEAK_2_2",
    ]
    assert plans.slug("Été à Sydney", "X") == "ETE_A_SYDNEY"
    assert plans.slug("x" * 60, "X") == "X" * 40


def test_colliding_period_names_become_distinct_tesla_periods() -> None:
    data = real_plan_data()
    periods = data["seasons"][0]["periods"]
    periods[1]["name"] = "Shoulder (day)"
    periods[2]["name"] = "Shoulder day"
    plan = load_plan(data)
    tariff = encoded(plan)
    assert list(tariff["seasons"]["SUMMER"]["tou_periods"]) == [
        "PEAK",
        "SHOULDER_DAY",
        "SHOULDER_DAY_2",
        "WEEKEND_SHOULDER",
        "OFF_PEAK",
    ]
    validate_tariff(tariff)
    evening = datetime(2027, 1, 4, 21, 30, tzinfo=BRISBANE)
    assert assert_all_agree(plan, tariff, evening).period == "Shoulder day"


# --- validation: every code, exact message -----------------------------------------------------


def base_plan() -> dict[str, Any]:
    return {
        "name": "Test plan",
        "utility": "Test",
        "daily_supply_charge": 1.0,
        "seasons": [
            {
                "name": "Summer",
                "from": "12-01",
                "to": "03-31",
                "periods": [
                    {"name": "Peak", "days": "weekdays", "from": "15:00", "to": "21:00",
                     "buy": 0.5, "sell": 0.1},
                    {"name": "Off-peak", "days": "weekdays", "from": "21:00", "to": "15:00",
                     "buy": 0.2, "sell": 0.1},
                    {"name": "Weekend", "days": "weekends", "from": "00:00", "to": "24:00",
                     "buy": 0.25, "sell": 0.1},
                ],
            },
            {
                "name": "Winter",
                "from": "04-01",
                "to": "11-30",
                "periods": [
                    {"name": "Flat", "days": "all", "from": "00:00", "to": "24:00",
                     "buy": 0.3, "sell": 0.05},
                ],
            },
        ],
    }  # fmt: skip


def test_base_plan_is_valid() -> None:
    plan = load_plan(base_plan())
    assert validate_plan(plan) == plans.PlanReport([], [])
    validate_tariff(encoded(plan))


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """Set `seasons.0.periods.1.to`-style paths."""

    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return apply


def _both(*mutations: Mutation) -> Mutation:
    def apply(data: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(data)

    return apply


def _add_summer_period(period: dict[str, Any]) -> Mutation:
    def apply(data: dict[str, Any]) -> None:
        data["seasons"][0]["periods"].append(period)

    return apply


def _del(path: str) -> Mutation:
    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return apply


PEAK = "seasons.0.periods.0"
OFF = "seasons.0.periods.1"
WEEKEND = "seasons.0.periods.2"
FLAT = "seasons.1.periods.0"
WEEKDAYS_21_22 = ", ".join(
    f"{day} 21:00-22:00" for day in ("Monday", "Tuesday", "Wednesday", "Thursday")
)

VALIDATION_CASES: list[Any] = [
    pytest.param(
        _both(_set(f"{PEAK}.from", "15:30"), _set(f"{FLAT}.to", "23:30")),
        [],
        [
            (
                "uncovered_time",
                "Summer: Monday 15:00-15:30, Tuesday 15:00-15:30, Wednesday 15:00-15:30,"
                " Thursday 15:00-15:30 and Friday 15:00-15:30 are covered by no period",
            ),
            (
                "uncovered_time",
                "Winter: Monday 23:30-24:00, Tuesday 23:30-24:00, Wednesday 23:30-24:00,"
                " Thursday 23:30-24:00, Friday 23:30-24:00, Saturday 23:30-24:00 and"
                " Sunday 23:30-24:00 are covered by no period",
            ),
        ],
        id="uncovered_time-half-hours",
    ),
    pytest.param(
        _both(_set(f"{WEEKEND}.from", "09:00"), _set(f"{WEEKEND}.to", "07:00")),
        [],
        [
            (
                "uncovered_time",
                "Summer: Saturday 07:00-09:00 and Sunday 07:00-09:00 are covered by no period",
            )
        ],
        id="uncovered_time",
    ),
    pytest.param(
        _set(f"{PEAK}.days", "mon-thu"),
        [],
        [
            (
                "uncovered_time",
                "Summer: Friday 15:00-21:00 is covered by no period",
            )
        ],
        id="uncovered_time-one-day",
    ),
    pytest.param(
        _set(f"{PEAK}.to", "22:00"),
        [],
        [
            (
                "period_overlap",
                f"Summer: Peak and Off-peak overlap on {WEEKDAYS_21_22} and Friday 21:00-22:00",
            )
        ],
        id="period_overlap",
    ),
    pytest.param(
        _add_summer_period(
            {
                "name": "Fri special",
                "days": "fri",
                "from": "14:00",
                "to": "16:00",
                "buy": 0.1,
                "sell": 0.0,
            }
        ),
        [],
        [
            ("period_overlap", "Summer: Peak and Fri special overlap on Friday 15:00-16:00"),
            ("period_overlap", "Summer: Off-peak and Fri special overlap on Friday 14:00-15:00"),
        ],
        id="period_overlap-two-pairs",
    ),  # fmt: skip
    pytest.param(
        _set(f"{WEEKEND}.days", "fri-sun"),
        [],
        [
            (
                "period_overlap",
                "Summer: Peak and Weekend overlap on Friday 15:00-21:00",
            ),
            (
                "period_overlap",
                "Summer: Off-peak and Weekend overlap on Friday 00:00-15:00 and Friday 21:00-24:00",
            ),
        ],
        id="period_overlap-midnight-crossing",
    ),
    pytest.param(
        _set("seasons.1.from", "04-15"),
        [],
        [("date_uncovered", "No season covers 1 April to 14 April")],
        id="date_uncovered",
    ),
    pytest.param(
        _both(_set("seasons.0.to", "02-28"), _set("seasons.1.from", "03-01")),
        [],
        [("date_uncovered", "No season covers 29 February")],
        id="date_uncovered-leap-day",
    ),
    pytest.param(
        _both(
            _set("seasons.0.from", "12-21"),
            _set("seasons.0.to", "01-04"),
            _set("seasons.1.from", "01-05"),
            _set("seasons.1.to", "12-10"),
        ),
        [],
        [("date_uncovered", "No season covers 11 December to 20 December")],
        id="date_uncovered-december",
    ),  # fmt: skip
    pytest.param(
        _both(
            _set("seasons.0.from", "01-05"),
            _set("seasons.0.to", "06-30"),
            _set("seasons.1.from", "07-01"),
            _set("seasons.1.to", "12-20"),
        ),
        [],
        [("date_uncovered", "No season covers 21 December to 4 January")],
        id="date_uncovered-across-new-year",
    ),  # fmt: skip
    pytest.param(
        _set("seasons.1.to", "12-15"),
        [],
        [("date_overlap", "Seasons Summer and Winter both cover 1 December to 15 December")],
        id="date_overlap",
    ),
    pytest.param(
        _both(_set("seasons.1.from", "01-01"), _set("seasons.1.to", "12-31")),
        [],
        [
            (
                "date_overlap",
                "Seasons Summer and Winter both cover 1 December to 31 March",
            )
        ],
        id="date_overlap-across-new-year",
    ),
    pytest.param(
        _set(f"{PEAK}.buy", -0.1),
        [],
        [("negative_rate", "Summer: period Peak has a negative buy rate (-0.1)")],
        id="negative_rate-buy",
    ),
    pytest.param(
        _set(f"{FLAT}.sell", -0.05),
        [],
        [("negative_rate", "Winter: period Flat has a negative sell rate (-0.05)")],
        id="negative_rate-sell",
    ),
    pytest.param(
        _set(f"{PEAK}.demand", -2),
        [],
        [("negative_rate", "Summer: period Peak has a negative demand rate (-2.0)")],
        id="negative_rate-demand",
    ),
    pytest.param(
        _set("daily_supply_charge", -1),
        [],
        [("negative_rate", "The plan has a negative daily supply charge (-1.0)")],
        id="negative_rate-daily",
    ),
    pytest.param(
        _set(f"{PEAK}.sell", math.nan),
        [],
        [
            (
                "rate_not_finite",
                "Summer: period Peak has a sell rate that is not a finite number (nan)",
            )
        ],
        id="rate_not_finite-nan",
    ),
    pytest.param(
        _set(f"{PEAK}.buy", 10**400),
        [],
        [
            (
                "rate_not_finite",
                "Summer: period Peak has a buy rate that is not a finite number (inf)",
            )
        ],
        id="rate_not_finite-huge-int",
    ),
    pytest.param(
        _set("daily_supply_charge", -math.inf),
        [],
        [
            (
                "rate_not_finite",
                "The plan has a daily supply charge that is not a finite number (-inf)",
            )
        ],
        id="rate_not_finite-daily",
    ),
    pytest.param(
        _set(f"{PEAK}.buy", 150),
        [],
        [
            (
                "rate_too_high",
                "Summer: period Peak has a buy rate of 150.0 $/kWh, above the 100 $/kWh limit"
                " (a c/kWh price entered as $/kWh?)",
            )
        ],
        id="rate_too_high",
    ),
    pytest.param(
        _set(f"{FLAT}.sell", 100.5),
        [],
        [
            (
                "rate_too_high",
                "Winter: period Flat has a sell rate of 100.5 $/kWh, above the 100 $/kWh limit"
                " (a c/kWh price entered as $/kWh?)",
            )
        ],
        id="rate_too_high-sell",
    ),
    pytest.param(
        _set(f"{FLAT}.demand", 500),
        [],
        [],
        id="demand-has-no-ceiling",
    ),
    pytest.param(
        _both(_set(f"{PEAK}.from", "15:15"), _set(f"{OFF}.to", "15:15")),
        [],
        [
            (
                "time_not_half_hour",
                "Summer: period Peak starts at 15:15, which is not on a half-hour boundary"
                " (the Powerwall works in half hours: use :00 or :30)",
            ),
            (
                "time_not_half_hour",
                "Summer: period Off-peak ends at 15:15, which is not on a half-hour boundary"
                " (the Powerwall works in half hours: use :00 or :30)",
            ),
        ],
        id="time_not_half_hour",
    ),
    pytest.param(
        _add_summer_period(
            {
                "name": "Nothing",
                "days": "weekdays",
                "from": "10:00",
                "to": "10:00",
                "buy": 0.1,
                "sell": 0.0,
            }
        ),
        [],
        [
            (
                "zero_length_period",
                "Summer: period Nothing starts and ends at 10:00, so covers no time"
                " (for a whole day use 00:00 to 24:00)",
            )
        ],
        id="zero_length_period",
    ),  # fmt: skip
    pytest.param(
        _set(f"{PEAK}.days", "funday"),
        [],
        [
            (
                "bad_days",
                'Summer: period Peak has bad days: "funday" is not a day spec (use all,'
                ' weekdays, weekends, a day such as "mon", a range such as "mon-thu", or a'
                " list of these)",
            )
        ],
        id="bad_days-word",
    ),
    pytest.param(
        _set(f"{PEAK}.days", "mon-funday"),
        [],
        [
            (
                "bad_days",
                'Summer: period Peak has bad days: "mon-funday" is not a day spec (use all,'
                ' weekdays, weekends, a day such as "mon", a range such as "mon-thu", or a'
                " list of these)",
            )
        ],
        id="bad_days-range",
    ),
    pytest.param(
        _set(f"{PEAK}.days", []),
        [],
        [("bad_days", "Summer: period Peak has bad days: the list of days is empty")],
        id="bad_days-empty-list",
    ),
    pytest.param(
        _set(f"{PEAK}.days", ["weekdays", "Mon"]),
        [],
        [("bad_days", "Summer: period Peak has bad days: Monday is named twice")],
        id="bad_days-twice",
    ),
    pytest.param(
        _set("name", " "),
        [],
        [("empty_name", "The plan has no name")],
        id="empty_name-plan",
    ),
    pytest.param(
        _set("seasons.1.name", ""),
        [],
        [("empty_name", "Season 2 has no name")],
        id="empty_name-season",
    ),
    pytest.param(
        _set(f"{OFF}.name", "  "),
        [],
        [("empty_name", "Summer: period 2 has no name")],
        id="empty_name-period",
    ),
    pytest.param(
        _set(f"{WEEKEND}.name", " peak"),
        [],
        [("duplicate_period_name", "Summer: two periods are named peak")],
        id="duplicate_period_name",
    ),
    pytest.param(
        _set("seasons.1.name", "SUMMER"),
        [],
        [("duplicate_season_name", "Two seasons are named SUMMER")],
        id="duplicate_season_name",
    ),
    pytest.param(
        _set("seasons", []),
        [],
        [("no_seasons", "The plan has no seasons")],
        id="no_seasons",
    ),
    pytest.param(
        _set("seasons.1.periods", []),
        [],
        [("no_periods", "Winter has no periods")],
        id="no_periods",
    ),
    pytest.param(
        _set("seasons.0.to", "02-30"),
        [],
        [("bad_date", 'Summer: "to" 02-30 is not a date')],
        id="bad_date-not-a-date",
    ),
    pytest.param(
        _both(_set("seasons.0.to", "02-28"), _set("seasons.1.from", "02-29")),
        [],
        [
            (
                "bad_date",
                "Winter: a season cannot start on 29 February, which most years do not have;"
                " end the season before on 02-29 and start this one on 03-01",
            )
        ],
        id="bad_date-starts-feb-29",
    ),
    pytest.param(
        _set(f"{PEAK}.sell", 0.6),
        [
            (
                "sell_above_buy",
                "Summer: period Peak pays more to sell (0.6) than it charges to buy (0.5);"
                " the Powerwall may cap sell at buy",
            )
        ],
        [],
        id="sell_above_buy",
    ),
]


@pytest.mark.parametrize(("mutate", "warnings", "errors"), VALIDATION_CASES)
def test_validation_codes_and_messages(
    mutate: Mutation, warnings: list[tuple[str, str]], errors: list[tuple[str, str]]
) -> None:
    data = base_plan()
    mutate(data)
    plan = FixedPlan.from_dict(data)
    report = validate_plan(plan)
    assert [(e.code, e.message) for e in report.errors] == errors
    assert [(w.code, w.message) for w in report.warnings] == warnings
    if errors:
        with pytest.raises(PlanError) as caught:
            plan_to_tou(plan)
        assert [(i.code, i.message) for i in caught.value.issues] == errors
        with pytest.raises(PlanError):
            load_plan(data)
    else:
        validate_tariff(encoded(plan))


def test_every_documented_validation_code_is_exercised() -> None:
    documented = {
        "empty_name", "no_seasons", "no_periods", "duplicate_season_name",
        "duplicate_period_name", "bad_days", "bad_time", "bad_date", "time_not_half_hour",
        "zero_length_period", "negative_rate", "rate_not_finite", "rate_too_high",
        "period_overlap", "uncovered_time", "date_uncovered", "date_overlap",
    }  # fmt: skip
    exercised = {code for case in VALIDATION_CASES for code, _ in case.values[2]}
    assert documented - exercised == {"bad_time"}  # bad_time: see the next test
    for code in documented | {"sell_above_buy"} | PARSE_CODES:
        assert f"``{code}``" in (plans.__doc__ or ""), code


def test_placeholders_are_structured() -> None:
    data = base_plan()
    _set(f"{WEEKEND}.from", "09:00")(data)
    _set(f"{WEEKEND}.to", "07:00")(data)
    _set(f"{PEAK}.to", "22:00")(data)
    report = validate_plan(FixedPlan.from_dict(data))
    overlap, uncovered = report.errors
    assert overlap.placeholders == {
        "season": "Summer",
        "period": "Peak",
        "other_period": "Off-peak",
        "days": "Monday, Tuesday, Wednesday, Thursday and Friday",
        "times": f"{WEEKDAYS_21_22} and Friday 21:00-22:00",
    }
    assert uncovered.placeholders == {
        "season": "Summer",
        "days": "Saturday and Sunday",
        "times": "Saturday 07:00-09:00 and Sunday 07:00-09:00",
    }
    data = base_plan()
    _set(f"{PEAK}.sell", 0.75)(data)
    (warning,) = validate_plan(FixedPlan.from_dict(data)).warnings
    assert warning.placeholders == {
        "season": "Summer",
        "period": "Peak",
        "buy": "0.5",
        "sell": "0.75",
    }


def test_out_of_range_times_built_in_code_are_errors() -> None:
    """The plan editor builds dataclasses directly: validation rechecks what parsing would."""
    good = load_plan(base_plan())
    summer = good.seasons[0]
    bad_period = PlanPeriod("Peak", "weekdays", -30, 1500, 0.5, 0.1)
    plan = FixedPlan(
        good.name,
        (PlanSeason("Summer", summer.start, summer.end, (bad_period, *summer.periods[1:])),
         good.seasons[1]),
    )  # fmt: skip
    report = validate_plan(plan)
    assert [(e.code, e.message) for e in report.errors] == [
        ("bad_time", "Summer: period Peak has a start time outside 00:00-23:59 (-30 minutes)"),
        ("bad_time", "Summer: period Peak has an end time outside 00:00-24:00 (1500 minutes)"),
    ]
    bad_days = PlanPeriod("Peak", ("mon", 3), 900, 1260, 0.5, 0.1)  # type: ignore[arg-type]
    plan = FixedPlan(
        good.name,
        (PlanSeason("Summer", summer.start, summer.end, (bad_days, *summer.periods[1:])),
         good.seasons[1]),
    )  # fmt: skip
    assert [e.message for e in validate_plan(plan).errors] == [
        "Summer: period Peak has bad days: 3 is not a day"
    ]
    with pytest.raises(PlanError):
        plan_to_tou(plan)
    assert period_at(plan, datetime(2027, 1, 4, 16, 0)) is None  # no usable Peak, no period


def test_energy_rate_limit_matches_the_tariff_validator() -> None:
    assert plans.MAX_ENERGY_RATE == validate.MAX_ENERGY_RATE
    data = base_plan()
    _set(f"{PEAK}.buy", plans.MAX_ENERGY_RATE)(data)
    validate_tariff(encoded(load_plan(data)))


# --- parsing: garbage in, PlanError out --------------------------------------------------------

PARSE_CASES: list[Any] = [
    pytest.param(None, [("wrong_type", "Plan: it must be an object, got null")], id="none"),
    pytest.param([1, 2], [("wrong_type", "Plan: it must be an object, got a list")], id="list"),
    pytest.param(
        "plan", [("wrong_type", 'Plan: it must be an object, got text "plan"')], id="text"
    ),
    pytest.param(
        {},
        [
            ("missing_key", 'Plan: "name" is missing'),
            ("missing_key", 'Plan: "seasons" is missing'),
        ],
        id="empty",
    ),
    pytest.param(
        {"name": 7, "seasons": {}, "rates": [], 3: 1},
        [
            (
                "unknown_key",
                'Plan: unknown key "rates" (allowed: name, utility, daily_supply_charge, seasons)',
            ),
            (
                "unknown_key",
                'Plan: unknown key "3" (allowed: name, utility, daily_supply_charge, seasons)',
            ),
            ("wrong_type", 'Plan: "name" must be text, got the number 7'),
            ("wrong_type", 'Plan: "seasons" must be a list, got an object'),
        ],
        id="plan-level",
    ),
    pytest.param(
        {"name": "P", "daily_supply_charge": True, "utility": None, "seasons": [None, 5]},
        [
            ("wrong_type", 'Plan: "utility" must be text, got null'),
            ("wrong_type", 'Plan: "daily_supply_charge" must be a number, got true'),
            ("wrong_type", "Season 1: it must be an object, got null"),
            ("wrong_type", "Season 2: it must be an object, got the number 5"),
        ],
        id="plan-types",
    ),
    pytest.param(
        {"name": "P", "seasons": [{"name": "S", "from": "1201", "to": 331, "periods": "x"}]},
        [
            ("bad_date", 'Season "S": "from" must be a date "MM-DD", got "1201"'),
            ("wrong_type", 'Season "S": "to" must be a date "MM-DD", got the number 331'),
            ("wrong_type", 'Season "S": "periods" must be a list, got text "x"'),
        ],
        id="season-types",
    ),
    pytest.param(
        {"name": "P", "seasons": [{"name": "", "periods": [], "colour": "red"}]},
        [
            (
                "unknown_key",
                'Season 1: unknown key "colour" (allowed: name, from, to, periods)',
            ),
            ("missing_key", 'Season 1: "from" is missing'),
            ("missing_key", 'Season 1: "to" is missing'),
        ],
        id="season-keys",
    ),
    pytest.param(
        {
            "name": "P",
            "seasons": [
                {
                    "name": "S",
                    "from": "01-01",
                    "to": "12-31",
                    "periods": [
                        {
                            "name": "Peak",
                            "days": "all",
                            "from": "25:00",
                            "to": "7am",
                            "buy": "0.5",
                            "sell": None,
                            "demand": "x",
                            "price": 1,
                        },
                        {
                            "name": "Two",
                            "days": ["mon", 2],
                            "from": "24:00",
                            "to": "24:01",
                            "buy": 1,
                            "sell": 1,
                        },
                        {"days": {"mon": True}, "from": "12:60", "to": "", "buy": [], "sell": 0},
                        "Peak",
                    ],
                }
            ],
        },
        [
            (
                "unknown_key",
                'Season "S", period "Peak": unknown key "price" (allowed: name, days, from,'
                " to, buy, sell, demand)",
            ),
            (
                "bad_time",
                'Season "S", period "Peak": "from" must be a time "HH:MM" from 00:00 to'
                ' 23:59, got "25:00"',
            ),
            (
                "bad_time",
                'Season "S", period "Peak": "to" must be a time "HH:MM" from 00:00 to 24:00,'
                ' got "7am"',
            ),
            ("wrong_type", 'Season "S", period "Peak": "buy" must be a number, got text "0.5"'),
            ("wrong_type", 'Season "S", period "Peak": "sell" must be a number, got null'),
            ("wrong_type", 'Season "S", period "Peak": "demand" must be a number, got text "x"'),
            (
                "wrong_type",
                'Season "S", period "Two": "days" must be text or a list of texts, got a list',
            ),
            (
                "bad_time",
                'Season "S", period "Two": "from" must be a time "HH:MM" from 00:00 to 23:59,'
                ' got "24:00"',
            ),
            (
                "bad_time",
                'Season "S", period "Two": "to" must be a time "HH:MM" from 00:00 to 24:00,'
                ' got "24:01"',
            ),
            ("missing_key", 'Season "S", period 3: "name" is missing'),
            (
                "wrong_type",
                'Season "S", period 3: "days" must be text or a list of texts, got an object',
            ),
            (
                "bad_time",
                'Season "S", period 3: "from" must be a time "HH:MM" from 00:00 to 23:59,'
                ' got "12:60"',
            ),
            (
                "bad_time",
                'Season "S", period 3: "to" must be a time "HH:MM" from 00:00 to 24:00, got ""',
            ),
            ("wrong_type", 'Season "S", period 3: "buy" must be a number, got a list'),
            ("wrong_type", 'Season "S", period 4: it must be an object, got text "Peak"'),
        ],
        id="period-garbage",
    ),  # fmt: skip
]


@pytest.mark.parametrize(("data", "expected"), PARSE_CASES)
def test_from_dict_reports_garbage(data: Any, expected: list[tuple[str, str]]) -> None:
    with pytest.raises(PlanError) as caught:
        FixedPlan.from_dict(data)
    assert [(i.code, i.message) for i in caught.value.issues] == expected
    assert str(caught.value) == "; ".join(message for _, message in expected)


def test_parse_issue_placeholders() -> None:
    data = base_plan()
    _set(f"{PEAK}.buy", "0.5")(data)
    _set(f"{FLAT}.extra", 1)(data)
    with pytest.raises(PlanError) as caught:
        FixedPlan.from_dict(data)
    wrong, unknown = caught.value.issues
    assert wrong.placeholders == {
        "where": 'Season "Summer", period "Peak"',
        "key": "buy",
        "expected": "a number",
        "got": 'text "0.5"',
    }
    assert unknown.placeholders == {
        "where": 'Season "Winter", period "Flat"',
        "key": "extra",
        "allowed": "name, days, from, to, buy, sell, demand",
    }


def test_season_and_period_from_dict() -> None:
    period = PlanPeriod.from_dict(
        {"name": "N", "days": "sat-mon", "from": "7:30", "to": "00:00", "buy": 1, "sell": 0}
    )
    assert period == PlanPeriod("N", "sat-mon", 450, 0, 1.0, 0.0, None)
    assert period.to_dict() == {
        "name": "N",
        "days": "sat-mon",
        "from": "07:30",
        "to": "00:00",
        "buy": 1.0,
        "sell": 0.0,
    }
    with pytest.raises(PlanError) as caught:
        PlanSeason.from_dict({"name": "S", "from": "01-01", "to": "12-31", "periods": [{}]})
    assert [i.code for i in caught.value.issues] == ["missing_key"] * 6
    with pytest.raises(PlanError):
        PlanPeriod.from_dict(None)


def test_parse_days() -> None:
    assert plans.parse_days("ALL") == frozenset(range(7))
    assert plans.parse_days(" Weekdays ") == frozenset(range(5))
    assert plans.parse_days("weekends") == frozenset({5, 6})
    assert plans.parse_days("mon-thu") == frozenset({0, 1, 2, 3})
    assert plans.parse_days("fri - mon") == frozenset({4, 5, 6, 0})
    assert plans.parse_days("sunday") == frozenset({6})
    assert plans.parse_days(["mon", "wed-thu", "weekends"]) == frozenset({0, 2, 3, 5, 6})
    for bad in ("", "weekday", "mon-", "mon,tue", "funday"):
        with pytest.raises(ValueError, match="is not a day spec"):
            plans.parse_days(bad)


# --- round trip --------------------------------------------------------------------------------


def test_round_trip_is_stable() -> None:
    data = real_plan_data()
    plan = FixedPlan.from_dict(data)
    assert plan.to_dict() == data
    assert FixedPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    loose = {
        "name": "Loose",
        "seasons": [
            {"name": "Y", "from": "01-01", "to": "12-31", "periods": [
                {"name": "All", "days": ["Mon", "tue-sun"], "from": "0:00", "to": "24:00",
                 "buy": 1, "sell": 0, "demand": None}]}
        ],
    }  # fmt: skip
    once = FixedPlan.from_dict(loose).to_dict()
    assert once == {
        "name": "Loose",
        "utility": "",
        "daily_supply_charge": 0.0,
        "seasons": [
            {"name": "Y", "from": "01-01", "to": "12-31", "periods": [
                {"name": "All", "days": ["Mon", "tue-sun"], "from": "00:00", "to": "24:00",
                 "buy": 1.0, "sell": 0.0}]}
        ],
    }  # fmt: skip
    assert FixedPlan.from_dict(once).to_dict() == once


# --- hypothesis: random valid plans ------------------------------------------------------------

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAME_POOL = ("Peak", "peak", "Off-peak", "off peak", "Shoulder", "ALL", "all", "Night", "夜", "!")


SEASON_STARTS = [p for p in range(366) if p != 59]  # day 59 of a leap year is 29 February


def _leap_date(position: int) -> tuple[int, int]:
    day = date(2028, 1, 1) + timedelta(days=position)
    return day.month, day.day


@st.composite
def day_spec(draw: st.DrawFn, days: list[int]) -> str | list[str]:
    """Some way of writing exactly `days` (in the forms the plan accepts)."""
    options: list[str | list[str]] = [[DAY_KEYS[d] for d in draw(st.permutations(days))]]
    as_set = set(days)
    if as_set == set(range(7)):
        options += ["all", "All", "mon-sun", "wed-tue"]
    if as_set == set(range(5)):
        options += ["weekdays", "mon-fri"]
    if as_set == {5, 6}:
        options += ["weekends", "sat-sun"]
    if len(days) == 1:
        options += [DAY_KEYS[days[0]], DAY_KEYS[days[0]].upper()]
    for first in days:  # a (possibly wrapping) range starting at `first`
        run = [(first + k) % 7 for k in range(len(days))]
        if set(run) == as_set and len(days) < 7:
            options.append(f"{DAY_KEYS[run[0]]}-{DAY_KEYS[run[-1]]}")
    return draw(st.sampled_from(options))


rates = st.floats(min_value=0, max_value=5, allow_nan=False) | st.sampled_from([0.0, 0.05, 1.0])


@st.composite
def season_periods(draw: st.DrawFn) -> list[dict[str, Any]]:
    groups = draw(st.lists(st.integers(0, 3), min_size=7, max_size=7))
    periods: list[dict[str, Any]] = []
    used: set[str] = set()
    for group in sorted(set(groups)):
        days = [day for day in range(7) if groups[day] == group]
        cuts = sorted(draw(st.sets(st.integers(0, 47), min_size=1, max_size=6)))
        if len(cuts) == 1:
            cuts = [0]  # one period all day: 00:00-24:00 (from == to would be zero length)
        for index, start in enumerate(cuts):
            end = cuts[(index + 1) % len(cuts)]
            to_text = f"{end // 2:02d}:{end % 2 * 30:02d}"
            if end == 0:  # midnight: "00:00" reads as crossing, so only when not from 00:00
                to_text = draw(st.sampled_from(["24:00", "00:00"])) if start else "24:00"
            name = draw(st.sampled_from(NAME_POOL)) + draw(st.sampled_from(["", " 2", "-2"]))
            if name.strip().casefold() in used:
                name = f"{name} #{len(periods)}"
            used.add(name.strip().casefold())
            body: dict[str, Any] = {
                "name": name,
                "days": draw(day_spec(days)),
                "from": f"{start // 2:02d}:{start % 2 * 30:02d}",
                "to": to_text,
                "buy": draw(rates),
                "sell": draw(rates),
            }
            demand = draw(st.none() | rates)
            if demand is not None or draw(st.booleans()):
                body["demand"] = demand
            periods.append(body)
    return draw(st.permutations(periods))


@st.composite
def valid_plan_data(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 4))
    starts = sorted(draw(st.sets(st.sampled_from(SEASON_STARTS), min_size=count, max_size=count)))
    names = draw(
        st.lists(
            st.sampled_from(["Summer", "Winter", "Autumn", "summer ", "ALL", "Été", "!!"]),
            min_size=count,
            max_size=count,
            unique_by=lambda n: n.strip().casefold(),
        )
    )
    seasons = []
    for index, start in enumerate(starts):
        end = (starts[(index + 1) % count] - 1) % 366
        seasons.append(
            {
                "name": names[index],
                "from": "{:02d}-{:02d}".format(*_leap_date(start)),
                "to": "{:02d}-{:02d}".format(*_leap_date(end)),
                "periods": draw(season_periods()),
            }
        )
    return {
        "name": draw(st.sampled_from(["Origin Flexi", "x", "Plan: 2025/26", "日本"])),
        "utility": draw(st.sampled_from(["", "AGL"])),
        "daily_supply_charge": draw(rates),
        "seasons": draw(st.permutations(seasons)),
    }


def _check_expands_and_resolves(plan: FixedPlan, moments: list[datetime]) -> dict[str, Any]:
    tariff = encoded(plan)
    validate_tariff(tariff)
    for moment in moments:
        assert_all_agree(plan, tariff, moment)
    return tariff


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=valid_plan_data(),
    week_start=st.dates(date(2026, 1, 1), date(2029, 12, 31)),
    zone=st.sampled_from([BRISBANE, SYDNEY, ZoneInfo("Australia/Adelaide")]),
)
def test_random_valid_plans_validate_expand_and_resolve(
    data: dict[str, Any], week_start: date, zone: ZoneInfo | timezone
) -> None:
    plan = FixedPlan.from_dict(data)
    report = validate_plan(plan)
    assert report.errors == []
    assert all(w.code == "sell_above_buy" for w in report.warnings)
    assert FixedPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    assert FixedPlan.from_dict(plan.to_dict()).to_dict() == plan.to_dict()
    start = datetime(week_start.year, week_start.month, week_start.day, tzinfo=zone)
    moments = list(half_hours(start, 7))
    for season in plan.seasons:  # the first and last day of every season
        for month, day in (season.start, season.end):
            year = 2028 if (month, day) == (2, 29) else week_start.year
            moments += half_hours(datetime(year, month, day, tzinfo=zone), 1)
    tariff = _check_expands_and_resolves(plan, moments)
    tesla_seasons = tariff["seasons"]
    assert len(tesla_seasons) == len(plan.seasons)
    for name, body in tesla_seasons.items():
        assert name != "ALL"
        assert all(p != "ALL" and p.replace("_", "").isalnum() for p in body["tou_periods"])
        assert all(p.isascii() and p == p.upper() for p in body["tou_periods"])


# --- hypothesis: mutated plans never get past both layers into a rejected tariff ---------------


def _clock(hour: int, minute: int) -> str:
    return f"{hour:02d}:{minute:02d}"


def _month_day(month: int, day: int) -> str:
    return f"{month:02d}-{day:02d}"


# Values of the right type for some field: they get past parsing and test the validator.
plausible = st.one_of(
    st.builds(_clock, st.integers(0, 24), st.sampled_from([0, 0, 30, 30, 15, 59])),
    st.builds(_month_day, st.integers(1, 12), st.integers(1, 31)),
    st.sampled_from(
        ["all", "weekdays", "weekends", "sat-mon", "fri", "Mon-Thu", ("mon", "tue"), ("sun",),
         "", " ", "Peak", "peak", "ALL", "Off-peak"]
    ),
    st.floats(min_value=-1, max_value=200),
    st.sampled_from([0.0, 0.5, 100.0, 100.01, -0.0, math.nan, math.inf]),
    st.none(),
)  # fmt: skip

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(
        ["07:15", "24:00", "00:00", "23:59", "sat-mon", "weekend", "", "02-29", "13-01",
         "12-31", -0.01, 150.0, 100.0, 1e308, math.inf, "mon", ("mon", "mon"), ()]
    )
)  # fmt: skip
_json_level_1 = (
    json_leaf
    | st.lists(json_leaf, max_size=3)
    | st.dictionaries(st.text(max_size=5), json_leaf, max_size=3)
)
json_values = (
    _json_level_1
    | st.lists(_json_level_1, max_size=3)
    | st.dictionaries(st.text(max_size=5), _json_level_1, max_size=3)
)  # two levels of nesting, spelt out (no st.recursive: its leaf cap is shared state)


def _slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) inside a JSON value."""
    found: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((node, key))
            found += _slots(value)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append((node, index))
            found += _slots(value)
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=valid_plan_data(), choices=st.data())
def test_mutated_plans_either_fail_cleanly_or_encode_validly(
    data: dict[str, Any], choices: st.DataObject
) -> None:
    mutated = copy.deepcopy(data)
    for _ in range(choices.draw(st.integers(1, 3))):
        slots = _slots(mutated)
        container, key = choices.draw(st.sampled_from(slots))
        action = choices.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            container[key] = choices.draw(plausible | json_values)
        elif action == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[choices.draw(st.sampled_from(["extra", "name", "days", "to"]))] = (
                choices.draw(json_values)
            )
        if not _slots(mutated):
            break
    try:
        plan = FixedPlan.from_dict(mutated)
    except PlanError as err:
        issues = err.issues
    else:
        issues = []
    if issues:
        assert {issue.code for issue in issues} <= PARSE_CODES
        return
    report = validate_plan(plan)
    if report.errors:
        with pytest.raises(PlanError):
            plan_to_tou(plan)
        return
    start = datetime(2027, 12, 27, tzinfo=BRISBANE)
    _check_expands_and_resolves(plan, list(half_hours(start, 7))[::5])


@settings(max_examples=200, deadline=None)
@given(garbage=json_values)
def test_from_dict_never_raises_anything_but_plan_error(garbage: Any) -> None:
    try:
        plan = FixedPlan.from_dict(garbage)
    except PlanError as err:
        issues = err.issues
    else:  # pragma: no cover - random garbage is never a whole plan
        validate_plan(plan)
        return
    assert issues
    assert all(issue.code in PARSE_CODES and issue.message for issue in issues)
