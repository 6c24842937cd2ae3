"""The pre-push plan checks (validate.py)."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.tesla_amber_sync.tou import (
    TouPeriod,
    TouPlan,
    TouSeason,
    TouWindow,
    encode_tariff,
)
from custom_components.tesla_amber_sync.validate import (
    Problem,
    TariffValidationError,
    find_problems,
    validate_tariff,
)


def half_hour_plan() -> dict[str, Any]:
    """The shape the Amber builder sends: 48 half-hour periods, one season."""
    periods = tuple(
        TouPeriod(
            f"PERIOD_{c // 60:02d}_{c % 60:02d}",
            (TouWindow(0, 6, c, c + 30),),
            0.2 + c / 10000,
            0.05,
        )
        for c in range(0, 1440, 30)
    )
    plan = TouPlan(
        "TESLA_AMBER_SYNC:AMBER",
        "Amber",
        "Amber Electric",
        (TouSeason("Summer", 1, 1, 12, 31, periods),),
    )
    return encode_tariff(plan)


def two_season_plan() -> dict[str, Any]:
    """A wrapping summer (Nov-Mar) and a winter, weekday peak, separate windows."""
    peak = (TouWindow(0, 4, 16 * 60, 21 * 60),)
    off = (TouWindow(0, 4, 0, 16 * 60), TouWindow(0, 4, 21 * 60, 1440), TouWindow(5, 6, 0, 1440))
    seasons = tuple(
        TouSeason(
            name,
            fm,
            fd,
            tm,
            td,
            (TouPeriod("PEAK", peak, 0.5, 0.1), TouPeriod("OFF_PEAK", off, 0.2, 0.05, demand=2.0)),
        )
        for name, fm, fd, tm, td in (("Summer", 11, 1, 3, 31), ("Winter", 4, 1, 10, 31))
    )
    return encode_tariff(TouPlan("X", "Two seasons", "Co", seasons))


def plain(tariff: dict[str, Any]) -> dict[str, Any]:
    """A copy whose sell side does not share the seasons object with the buy side (deepcopy
    would keep that aliasing)."""
    return json.loads(json.dumps(tariff))  # type: ignore[no-any-return]


def codes(tariff: Any) -> list[str]:
    return [p.code for p in find_problems(tariff)]


def only(tariff: Any, code: str) -> Problem:
    """The one problem of `code` (there must be exactly one)."""
    found = [p for p in find_problems(tariff) if p.code == code]
    assert len(found) == 1, find_problems(tariff)
    return found[0]


def entry(
    plan: dict[str, Any], period: str, index: int = 0, season: str = "Summer"
) -> dict[str, Any]:
    return plan["seasons"][season]["tou_periods"][period]["periods"][index]  # type: ignore[no-any-return]


# --- valid plans --------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [half_hour_plan, two_season_plan])
def test_valid_plans_pass(make: Any) -> None:
    tariff = make()
    assert find_problems(tariff) == []
    validate_tariff(tariff)


def test_midnight_written_as_zero_and_wrapping_entries_pass() -> None:
    tariff = plain(two_season_plan())
    for season in ("Summer", "Winter"):
        # 21:00 -> 00:00 as toHour 0, and the weekend as one Sat 00:00 -> Mon 00:00 entry.
        off = tariff["seasons"][season]["tou_periods"]["OFF_PEAK"]["periods"]
        off[1]["toHour"] = 0
        off[2] = {
            "fromDayOfWeek": 5,
            "toDayOfWeek": 5,
            "fromHour": 0,
            "fromMinute": 0,
            "toHour": 0,
            "toMinute": 0,
        }
        off.append(dict(off[2], fromDayOfWeek=6, toDayOfWeek=6))
    assert find_problems(tariff) == []


def test_night_period_crossing_sunday_midnight_passes() -> None:
    tariff = plain(half_hour_plan())
    periods = tariff["seasons"]["Summer"]["tou_periods"]
    # Replace 23:30 and 00:00 with one period 23:30 -> 00:30 every day.
    del periods["PERIOD_23_30"], periods["PERIOD_00_00"]
    periods["NIGHT"] = {
        "periods": [
            {
                "fromDayOfWeek": 0,
                "toDayOfWeek": 6,
                "fromHour": 23,
                "fromMinute": 30,
                "toHour": 0,
                "toMinute": 30,
            }
        ]
    }
    for side in (tariff, tariff["sell_tariff"]):
        side["energy_charges"]["Summer"]["rates"]["NIGHT"] = 0.1
    tariff["sell_tariff"]["seasons"] = tariff["seasons"]
    assert find_problems(tariff) == []


# --- each problem, with a message naming the spot -----------------------------------------------


def test_uncovered_half_hour_named_by_day_and_time() -> None:
    tariff = plain(half_hour_plan())
    entry(tariff, "PERIOD_03_00")["toDayOfWeek"] = 0  # Monday only
    # Only the buy side was edited; the sell side has its own, still complete, copy.
    assert find_problems(tariff) == [
        Problem(
            "minute_uncovered",
            "Summer: Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday 03:00-03:30 "
            "is covered by no period",
        )
    ]


def test_uncovered_every_day_is_summarised() -> None:
    tariff = half_hour_plan()  # shared seasons object: one report, not two
    entry(tariff, "PERIOD_12_00")["toMinute"] = 15
    problem = only(tariff, "minute_uncovered")
    assert problem.message == "Summer: every day 12:15-12:30 is covered by no period"


def test_overlap_names_both_periods() -> None:
    tariff = half_hour_plan()
    entry(tariff, "PERIOD_12_00")["toHour"] = 13
    entry(tariff, "PERIOD_12_00")["toMinute"] = 0  # 12:00-13:00 now overlaps 12:30
    problem = only(tariff, "minute_overlap")
    assert problem.message == (
        "Summer: every day 12:30-13:00 is covered by more than one period "
        "(PERIOD_12_00, PERIOD_12_30)"
    )


def test_week_wrap_overlap_detected() -> None:
    tariff = half_hour_plan()
    # Sunday 23:30 -> Monday 01:00 overlaps Monday's 00:00 and 00:30 periods.
    entry(tariff, "PERIOD_23_30")["toHour"] = 1
    entry(tariff, "PERIOD_23_30")["fromDayOfWeek"] = 6
    messages = [p.message for p in find_problems(tariff)]
    assert (
        "Summer: Monday 00:00-00:30 is covered by more than one period (PERIOD_00_00, PERIOD_23_30)"
        in messages
    )
    assert (
        "Summer: Monday 00:30-01:00 is covered by more than one period (PERIOD_00_30, PERIOD_23_30)"
        in messages
    )
    # Monday..Saturday 23:30 are no longer covered.
    assert (
        "Summer: Monday, Tuesday, Wednesday, Thursday, Friday, Saturday 23:30-24:00 "
        "is covered by no period"
    ) in messages


def test_sell_side_checked_when_it_has_its_own_seasons() -> None:
    tariff = plain(half_hour_plan())
    tariff["sell_tariff"]["seasons"]["Summer"]["tou_periods"]["PERIOD_05_00"]["periods"][0][
        "fromDayOfWeek"
    ] = 2
    problem = only(tariff, "minute_uncovered")
    assert problem.message == (
        "sell_tariff.seasons.Summer: Monday, Tuesday 05:00-05:30 is covered by no period"
    )


@pytest.mark.parametrize(
    "field", ["fromDayOfWeek", "toDayOfWeek", "fromHour", "fromMinute", "toHour", "toMinute"]
)
def test_each_missing_time_field(field: str) -> None:
    tariff = half_hour_plan()
    del entry(tariff, "PERIOD_10_30")[field]
    problem = only(tariff, "missing_field")
    assert problem.message == (
        f"Season Summer, period PERIOD_10_30, entry 1: {field} is missing "
        "(write all six time fields)"
    )
    # The coverage check waits for the entry to be fixed rather than reporting its symptoms.
    assert codes(tariff) == ["missing_field"]


@pytest.mark.parametrize(
    ("value", "kind"), [(10.0, "a number"), ("10", "text"), (True, "a bool"), (None, "null")]
)
def test_time_field_must_be_a_real_int(value: Any, kind: str) -> None:
    tariff = half_hour_plan()
    entry(tariff, "PERIOD_10_00")["fromHour"] = value
    problem = only(tariff, "bad_type")
    assert problem.message == (
        f"Season Summer, period PERIOD_10_00, entry 1: fromHour must be a whole number, "
        f"got {value!r} ({kind})"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("fromDayOfWeek", 7, "fromDayOfWeek 7 is outside 0..6"),
        ("toDayOfWeek", -1, "toDayOfWeek -1 is outside 0..6"),
        ("fromHour", 24, "fromHour 24 is outside 0..23"),
        ("toHour", 25, "toHour 25 is outside 0..24"),
        ("fromMinute", 60, "fromMinute 60 is outside 0..59"),
        ("toMinute", 75, "toMinute 75 is outside 0..59"),
    ],
)
def test_time_field_ranges(field: str, value: int, message: str) -> None:
    tariff = half_hour_plan()
    entry(tariff, "PERIOD_10_00")[field] = value
    assert only(tariff, "bad_time").message == (
        f"Season Summer, period PERIOD_10_00, entry 1: {message}"
    )


def test_hour_24_needs_minute_zero() -> None:
    tariff = half_hour_plan()
    e = entry(tariff, "PERIOD_23_30")
    e["toMinute"] = 30
    assert only(tariff, "bad_time").message == (
        "Season Summer, period PERIOD_23_30, entry 1: toHour 24 needs toMinute 0, got toMinute 30"
    )


def test_empty_period_and_season() -> None:
    tariff = half_hour_plan()
    tariff["seasons"]["Summer"]["tou_periods"]["PERIOD_01_00"]["periods"] = []
    assert only(tariff, "empty_period").message == (
        "Season Summer, period PERIOD_01_00: `periods` is empty"
    )
    tariff = half_hour_plan()
    tariff["seasons"]["Summer"]["tou_periods"] = {}
    assert only(tariff, "empty_season").message == "Season Summer has no periods"


def test_missing_buy_and_sell_rates() -> None:
    tariff = plain(half_hour_plan())
    del tariff["energy_charges"]["Summer"]["rates"]["PERIOD_07_00"]
    del tariff["sell_tariff"]["energy_charges"]["Summer"]["rates"]["PERIOD_19_30"]
    messages = sorted(p.message for p in find_problems(tariff) if p.code == "missing_rate")
    assert messages == [
        "Season Summer, period PERIOD_07_00 has no buy rate in energy_charges.Summer.rates",
        "Season Summer, period PERIOD_19_30 has no sell rate in "
        "sell_tariff.energy_charges.Summer.rates",
    ]


def test_an_all_fallback_is_not_an_explicit_rate() -> None:
    tariff = plain(half_hour_plan())
    tariff["energy_charges"]["Summer"]["rates"] = {"ALL": 0.3}
    problems = [p for p in find_problems(tariff) if p.code == "missing_rate"]
    assert len(problems) == 48


def test_missing_rate_block_for_a_season() -> None:
    tariff = plain(two_season_plan())
    del tariff["sell_tariff"]["energy_charges"]["Winter"]
    assert only(tariff, "missing_rate").message == (
        "sell_tariff.energy_charges has no rates for season Winter: every period needs a sell rate"
    )


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (float("nan"), "is NaN, not a number"),
        (float("inf"), "is inf, not a finite number"),
        (-0.01, "is -0.01; Tesla takes no negative rates"),
        (True, "is True (a bool), not a number"),
        ("0.3", "is '0.3' (text), not a number"),
        (None, "is None (null), not a number"),
        (150.0, "is 150.0 $/kWh, above the 100 $/kWh sanity limit (a c/kWh price sent as $/kWh?)"),
        (10**400, "far too large"),
    ],
)
def test_bad_buy_rate(value: Any, why: str) -> None:
    tariff = plain(half_hour_plan())
    tariff["energy_charges"]["Summer"]["rates"]["PERIOD_18_00"] = value
    problem = only(tariff, "bad_rate")
    assert problem.message.startswith("energy_charges.Summer.rates.PERIOD_18_00 ")
    assert why in problem.message


def test_spike_rate_of_22_dollars_is_fine_and_100_is_the_limit() -> None:
    tariff = plain(half_hour_plan())
    tariff["energy_charges"]["Summer"]["rates"]["PERIOD_18_00"] = 22.33
    tariff["sell_tariff"]["energy_charges"]["Summer"]["rates"]["PERIOD_18_00"] = 100
    assert find_problems(tariff) == []
    tariff["sell_tariff"]["energy_charges"]["Summer"]["rates"]["PERIOD_18_00"] = 100.01
    assert only(tariff, "bad_rate").message.startswith(
        "sell_tariff.energy_charges.Summer.rates.PERIOD_18_00 is 100.01 $/kWh"
    )


def test_bad_demand_rate_and_daily_charge() -> None:
    tariff = plain(two_season_plan())
    tariff["demand_charges"]["Winter"]["rates"]["OFF_PEAK"] = -1
    assert only(tariff, "bad_rate").message == (
        "demand_charges.Winter.rates.OFF_PEAK is -1; Tesla takes no negative rates"
    )
    tariff = plain(two_season_plan())
    tariff["demand_charges"]["Winter"]["rates"]["OFF_PEAK"] = 250.0  # $/kW: no ceiling
    assert find_problems(tariff) == []
    tariff["daily_charges"][0]["amount"] = float("nan")
    assert only(tariff, "bad_charge").message == "daily_charges entry 1 amount is NaN, not a number"


def test_season_gap_and_overlap_named_by_dates() -> None:
    tariff = plain(two_season_plan())
    tariff["seasons"]["Winter"]["fromMonth"] = 5  # April uncovered
    tariff["sell_tariff"]["seasons"] = tariff["seasons"]
    assert only(tariff, "season_gap").message == "seasons: no season covers 1 Apr-30 Apr"
    tariff["seasons"]["Winter"]["fromMonth"] = 3  # March in both
    assert only(tariff, "season_overlap").message == (
        "seasons: 1 Mar-31 Mar is in more than one season (Summer, Winter)"
    )


def test_feb_29_must_be_covered() -> None:
    tariff = plain(two_season_plan())
    summer = tariff["seasons"]["Summer"]
    summer["toMonth"], summer["toDay"] = 2, 28
    tariff["seasons"]["Winter"]["fromMonth"] = 3
    tariff["sell_tariff"]["seasons"] = tariff["seasons"]
    assert only(tariff, "season_gap").message == "seasons: no season covers 29 Feb"
    summer["toDay"] = 29
    assert find_problems(tariff) == []


@pytest.mark.parametrize(
    ("field", "value", "code", "message"),
    [
        ("fromMonth", 13, "bad_date", "Season Summer: fromMonth/fromDay 13/1 is not a real date"),
        ("toDay", 32, "bad_date", "Season Summer: toMonth/toDay 3/32 is not a real date"),
        ("fromDay", 0, "bad_date", "Season Summer: fromMonth/fromDay 11/0 is not a real date"),
        ("fromDay", 1.0, "bad_type", "Season Summer: fromDay must be a whole number, got 1.0"),
        ("toMonth", None, "bad_type", "Season Summer: toMonth must be a whole number, got None"),
    ],
)
def test_bad_season_dates(field: str, value: Any, code: str, message: str) -> None:
    tariff = plain(two_season_plan())
    tariff["seasons"]["Summer"][field] = value
    tariff["sell_tariff"]["seasons"] = tariff["seasons"]
    assert only(tariff, code).message == message
    # No season_gap noise while a date is unusable.
    assert "season_gap" not in codes(tariff)


def test_april_31_is_not_a_date() -> None:
    tariff = plain(two_season_plan())
    tariff["seasons"]["Winter"]["fromDay"] = 31
    tariff["seasons"]["Winter"]["fromMonth"] = 4
    tariff["sell_tariff"]["seasons"] = tariff["seasons"]
    assert only(tariff, "bad_date").message == (
        "Season Winter: fromMonth/fromDay 4/31 is not a real date"
    )


def test_missing_season_date_field() -> None:
    tariff = half_hour_plan()
    del tariff["seasons"]["Summer"]["fromDay"]
    assert only(tariff, "missing_field").message == "Season Summer: fromDay is missing"


@pytest.mark.parametrize(
    ("key", "code", "message"),
    [
        ("version", "missing_field", "version is missing"),
        ("code", "missing_field", "code is missing"),
        ("currency", "missing_field", "currency is missing"),
        ("daily_charges", "missing_field", "daily_charges is missing"),
        ("energy_charges", "missing_field", "energy_charges is missing"),
        ("demand_charges", "missing_field", "demand_charges is missing"),
        ("seasons", "missing_field", "seasons is missing"),
        ("sell_tariff", "missing_field", "sell_tariff is missing: Tesla needs the export side"),
    ],
)
def test_missing_top_level_key(key: str, code: str, message: str) -> None:
    tariff = plain(half_hour_plan())
    del tariff[key]
    problems = find_problems(tariff)
    assert Problem(code, message) in problems


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("version", "1", "version must be a whole number, got '1'"),
        ("version", True, "version must be a whole number, got True"),
        ("name", None, "name must be text, got None"),
        ("daily_charges", {}, "daily_charges must be a list, got an object"),
        ("energy_charges", [], "energy_charges must be an object, got a list"),
        ("seasons", "Summer", "seasons must be an object, got text"),
        ("sell_tariff", [], "sell_tariff must be an object, got a list"),
    ],
)
def test_wrong_top_level_type(key: str, value: Any, message: str) -> None:
    tariff = plain(half_hour_plan())
    tariff[key] = value
    assert Problem("bad_type", message) in find_problems(tariff)


def test_empty_seasons() -> None:
    tariff = plain(half_hour_plan())
    tariff["seasons"] = {}
    assert Problem("no_seasons", "seasons is empty: a plan needs at least one season") in (
        find_problems(tariff)
    )


def test_sell_tariff_needs_energy_charges_and_seasons() -> None:
    tariff = plain(half_hour_plan())
    del tariff["sell_tariff"]["energy_charges"]
    del tariff["sell_tariff"]["seasons"]
    messages = {p.message for p in find_problems(tariff)}
    assert {"sell_tariff.energy_charges is missing", "sell_tariff.seasons is missing"} <= messages


# --- garbage never crashes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("garbage", "message"),
    [
        (None, "The tariff must be an object, got null"),
        ([], "The tariff must be an object, got a list"),
        ("x", "The tariff must be an object, got text"),
        (3, "The tariff must be an object, got a number"),
    ],
)
def test_not_an_object(garbage: Any, message: str) -> None:
    assert find_problems(garbage) == [Problem("not_an_object", message)]
    with pytest.raises(TariffValidationError) as caught:
        validate_tariff(garbage)
    assert caught.value.problems == (Problem("not_an_object", message),)
    assert str(caught.value) == f"1 problem in the tariff: {message}"


def test_empty_object_reports_every_required_key() -> None:
    assert sorted(p.message for p in find_problems({})) == sorted(
        [
            "version is missing",
            "code is missing",
            "name is missing",
            "utility is missing",
            "currency is missing",
            "daily_charges is missing",
            "energy_charges is missing",
            "demand_charges is missing",
            "seasons is missing",
            "sell_tariff is missing: Tesla needs the export side",
        ]
    )


def test_error_summary_names_the_first_few() -> None:
    tariff = plain(half_hour_plan())
    for clock in ("00_00", "00_30", "01_00", "01_30", "02_00"):
        tariff["energy_charges"]["Summer"]["rates"][f"PERIOD_{clock}"] = -1
    with pytest.raises(TariffValidationError) as caught:
        validate_tariff(tariff)
    assert len(caught.value.problems) == 5
    assert str(caught.value) == (
        "5 problems in the tariff: "
        "energy_charges.Summer.rates.PERIOD_00_00 is -1; Tesla takes no negative rates; "
        "energy_charges.Summer.rates.PERIOD_00_30 is -1; Tesla takes no negative rates; "
        "energy_charges.Summer.rates.PERIOD_01_00 is -1; Tesla takes no negative rates; "
        "and 2 more"
    )


def test_hostile_values_are_reported_not_raised() -> None:
    tariff = plain(half_hour_plan())
    huge = 10**5000  # str() of it raises in Python >= 3.11
    tariff["seasons"]["Summer"]["tou_periods"]["PERIOD_01_00"]["periods"][0]["toMinute"] = huge
    tariff["energy_charges"]["Summer"]["rates"][huge] = 1
    tariff["energy_charges"]["Summer"]["rates"]["PERIOD_02_00"] = huge
    tariff["sell_tariff"]["seasons"]["Summer"]["loop"] = tariff["sell_tariff"]["seasons"]
    found = {(p.code, p.message) for p in find_problems(tariff)}
    assert (
        "bad_time",
        "Season Summer, period PERIOD_01_00, entry 1: toMinute a number with too many digits "
        "is outside 0..59",
    ) in found
    assert (
        "bad_rate",
        "energy_charges.Summer.rates.PERIOD_02_00 is a number with too many digits, far too large",
    ) in found


GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    st.just({}),
    st.just([]),
    st.dictionaries(st.integers(), st.none(), max_size=2),  # non-text keys
    st.just(10**5000),  # past Python's int-to-text digit limit
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _mutate(tariff: Any, path: tuple[Any, ...], action: str, garbage: Any) -> Any:
    if not path:
        return garbage
    parent = tariff
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = garbage
    elif isinstance(parent, dict):  # "add" a sibling key
        parent[f"extra{len(parent)}"] = garbage
    else:
        parent.append(garbage)
    return tariff


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    base=st.sampled_from([half_hour_plan, two_season_plan]),
    shared=st.booleans(),
)
def test_random_mutations_never_crash(data: st.DataObject, base: Any, shared: bool) -> None:
    tariff = base() if shared else plain(base())
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(tariff)
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["delete", "replace", "add"]))
        garbage = data.draw(GARBAGE)
        if action == "delete" and not path:
            action = "replace"
        before = copy.deepcopy(tariff)
        tariff = _mutate(tariff, path, action, garbage)
        problems = find_problems(tariff)
        assert all(isinstance(p, Problem) and p.code and p.message for p in problems)
        if (
            action == "delete"
            and path
            and path[-1]
            in {
                "fromDayOfWeek",
                "toDayOfWeek",
                "fromHour",
                "fromMinute",
                "toHour",
                "toMinute",
                "sell_tariff",
                "seasons",
                "energy_charges",
            }
        ):
            # Removing a required field is always reported.
            assert problems, (path, before)
        if problems:
            with pytest.raises(TariffValidationError) as caught:
                validate_tariff(tariff)
            assert caught.value.problems == tuple(problems)
        else:
            validate_tariff(tariff)
