"""The plan encoder and reader (tou.py)."""

from __future__ import annotations

import copy
from datetime import datetime
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.tesla_amber_sync.tou import (
    PLAN_CODE_PREFIX,
    TouPeriod,
    TouPlan,
    TouSeason,
    TouWindow,
    canonical,
    encode_tariff,
    fingerprint,
    is_our_plan,
    rates_at,
    same_rates,
)

SYDNEY = ZoneInfo("Australia/Sydney")
SIX_FIELDS = {"fromDayOfWeek", "toDayOfWeek", "fromHour", "fromMinute", "toHour", "toMinute"}


def two_period_plan(peak: float = 0.45, off: float = 0.2) -> TouPlan:
    """Weekday peak 16:00-21:00, everything else off-peak (as three windows)."""
    return TouPlan(
        code=f"{PLAN_CODE_PREFIX}:TEST",
        name="Test",
        utility="Test Co",
        seasons=(
            TouSeason(
                "Summer",
                1,
                1,
                12,
                31,
                (
                    TouPeriod("PEAK", (TouWindow(0, 4, 16 * 60, 21 * 60),), peak, 0.1),
                    TouPeriod(
                        "OFF_PEAK",
                        (
                            TouWindow(0, 4, 0, 16 * 60),
                            TouWindow(0, 4, 21 * 60, 1440),
                            TouWindow(5, 6, 0, 1440),
                        ),
                        off,
                        0.05,
                        demand=1.5,
                    ),
                ),
            ),
        ),
    )


def test_encode_shape() -> None:
    tariff = encode_tariff(two_period_plan())
    assert tariff["version"] == 1
    assert tariff["code"] == f"{PLAN_CODE_PREFIX}:TEST"
    assert tariff["currency"] == "AUD"
    assert tariff["daily_charges"] == [{"name": "Charge", "amount": 0.0}]
    season = tariff["seasons"]["Summer"]
    assert (season["fromMonth"], season["fromDay"], season["toMonth"], season["toDay"]) == (
        1,
        1,
        12,
        31,
    )
    for body in season["tou_periods"].values():
        for entry in body["periods"]:
            assert set(entry) == SIX_FIELDS
            assert all(type(v) is int for v in entry.values())
    off = season["tou_periods"]["OFF_PEAK"]["periods"]
    # The day's end is written as toHour 24, toMinute 0.
    assert off[1] == {
        "fromDayOfWeek": 0,
        "toDayOfWeek": 4,
        "fromHour": 21,
        "fromMinute": 0,
        "toHour": 24,
        "toMinute": 0,
    }
    assert tariff["energy_charges"] == {
        "ALL": {"rates": {"ALL": 0}},
        "Summer": {"rates": {"PEAK": 0.45, "OFF_PEAK": 0.2}},
    }
    assert tariff["sell_tariff"]["energy_charges"]["Summer"]["rates"] == {
        "PEAK": 0.1,
        "OFF_PEAK": 0.05,
    }
    assert tariff["demand_charges"]["Summer"]["rates"] == {"OFF_PEAK": 1.5}
    assert tariff["sell_tariff"]["seasons"] == tariff["seasons"]


def test_encode_rounds_rates_to_four_places() -> None:
    tariff = encode_tariff(two_period_plan(peak=0.123456789))
    assert tariff["energy_charges"]["Summer"]["rates"]["PEAK"] == 0.1235


def test_window_rejects_bad_ranges() -> None:
    with pytest.raises(ValueError, match="days"):
        TouWindow(0, 7, 0, 30)
    with pytest.raises(ValueError, match="minutes"):
        TouWindow(0, 6, 30, 30)
    with pytest.raises(ValueError, match="minutes"):
        TouWindow(0, 6, 0, 1441)


def test_window_days_wrap_past_sunday() -> None:
    assert TouWindow(5, 1, 0, 30).days == (5, 6, 0, 1)


@pytest.mark.parametrize(
    ("local", "buy", "sell", "period"),
    [
        (datetime(2025, 1, 6, 16, 0, tzinfo=SYDNEY), 0.45, 0.1, "PEAK"),  # Monday
        (datetime(2025, 1, 6, 15, 59, tzinfo=SYDNEY), 0.2, 0.05, "OFF_PEAK"),
        (datetime(2025, 1, 10, 20, 59, tzinfo=SYDNEY), 0.45, 0.1, "PEAK"),  # Friday
        (datetime(2025, 1, 10, 21, 0, tzinfo=SYDNEY), 0.2, 0.05, "OFF_PEAK"),
        (datetime(2025, 1, 11, 17, 0, tzinfo=SYDNEY), 0.2, 0.05, "OFF_PEAK"),  # Saturday
        (datetime(2025, 1, 12, 23, 59, tzinfo=SYDNEY), 0.2, 0.05, "OFF_PEAK"),  # Sunday
    ],
)
def test_rates_at(local: datetime, buy: float, sell: float, period: str) -> None:
    found = rates_at(encode_tariff(two_period_plan()), local)
    assert (found.buy, found.sell, found.period, found.season) == (buy, sell, period, "Summer")


def test_rates_at_entry_crossing_the_week_end() -> None:
    """A wire entry that ends before it starts runs past midnight, here Sunday -> Monday."""
    plan = TouPlan(
        "C",
        "n",
        "u",
        (
            TouSeason(
                "Summer",
                1,
                1,
                12,
                31,
                (
                    TouPeriod(
                        "DAY",
                        (
                            TouWindow(0, 0, 120, 1440),
                            TouWindow(1, 5, 0, 1440),
                            TouWindow(6, 6, 0, 1320),
                        ),
                        0.3,
                        0.1,
                    ),
                ),
            ),
        ),
    )
    tariff = encode_tariff(plan)
    tariff["seasons"]["Summer"]["tou_periods"]["NIGHT"] = {
        "periods": [
            {
                "fromDayOfWeek": 6,
                "toDayOfWeek": 6,
                "fromHour": 22,
                "fromMinute": 0,
                "toHour": 2,
                "toMinute": 0,
            }
        ]
    }
    tariff["energy_charges"]["Summer"]["rates"]["NIGHT"] = 0.01
    tariff["sell_tariff"]["energy_charges"]["Summer"]["rates"]["NIGHT"] = 0.0
    assert rates_at(tariff, datetime(2025, 1, 12, 23, 0, tzinfo=SYDNEY)).period == "NIGHT"
    monday_1am = rates_at(tariff, datetime(2025, 1, 6, 1, 59, tzinfo=SYDNEY))
    assert (monday_1am.period, monday_1am.buy, monday_1am.sell) == ("NIGHT", 0.01, 0.0)
    assert rates_at(tariff, datetime(2025, 1, 6, 2, 0, tzinfo=SYDNEY)).period == "DAY"
    assert rates_at(tariff, datetime(2025, 1, 12, 21, 59, tzinfo=SYDNEY)).period == "DAY"
    # Without DAY, a Tuesday noon is covered by nothing.
    del tariff["seasons"]["Summer"]["tou_periods"]["DAY"]
    gap = rates_at(tariff, datetime(2025, 1, 7, 12, 0, tzinfo=SYDNEY))
    assert (gap.buy, gap.sell, gap.period, gap.season) == (None, None, None, None)


def test_rates_at_outside_every_season() -> None:
    tariff = encode_tariff(two_period_plan())
    tariff["seasons"]["Summer"]["toMonth"] = 6
    assert rates_at(tariff, datetime(2025, 7, 1, 12, tzinfo=SYDNEY)).buy is None
    assert rates_at(tariff, datetime(2025, 6, 30, 17, tzinfo=SYDNEY)).buy == 0.45


def _shuffled(value: Any) -> Any:
    """Same content, reversed key order at every level."""
    if isinstance(value, dict):
        return {k: _shuffled(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_shuffled(v) for v in value]
    return value


def _floats(value: Any) -> Any:
    """Every int written as a float, as a JSON round trip through another tool may do."""
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def test_canonical_ignores_key_order_and_number_types() -> None:
    tariff = encode_tariff(two_period_plan())
    readback = _floats(_shuffled(json.loads(json.dumps(tariff))))
    assert list(readback) != list(tariff)
    assert same_rates(tariff, readback)
    assert canonical(tariff) == canonical(readback)
    assert fingerprint(tariff) == fingerprint(readback)


def test_canonical_ignores_how_periods_are_cut() -> None:
    one = TouPlan(
        "C",
        "n",
        "u",
        (
            TouSeason(
                "S", 1, 1, 12, 31, (TouPeriod("ALLDAY", (TouWindow(0, 6, 0, 1440),), 0.3, 0.1),)
            ),
        ),
    )
    halves = TouPlan(
        "C",
        "n",
        "u",
        (
            TouSeason(
                "Winter",
                1,
                1,
                12,
                31,
                (
                    TouPeriod("AM", (TouWindow(0, 6, 0, 720),), 0.3, 0.1),
                    TouPeriod("PM", (TouWindow(0, 6, 720, 1440),), 0.3, 0.1),
                ),
            ),
        ),
    )
    assert same_rates(encode_tariff(one), encode_tariff(halves))
    assert fingerprint(encode_tariff(one)) == fingerprint(encode_tariff(halves))


def test_same_rates_sees_a_changed_rate() -> None:
    a = encode_tariff(two_period_plan())
    b = encode_tariff(two_period_plan(peak=0.4501))
    assert not same_rates(a, b)
    assert fingerprint(a) != fingerprint(b)
    c = copy.deepcopy(a)
    c["sell_tariff"]["energy_charges"]["Summer"]["rates"]["PEAK"] = 0.11
    assert not same_rates(a, c)
    assert same_rates(None, None)
    assert not same_rates(a, None)


def test_fingerprint_is_stable() -> None:
    tariff = encode_tariff(two_period_plan())
    first = fingerprint(tariff)
    assert first == fingerprint(copy.deepcopy(tariff))
    assert first == fingerprint(encode_tariff(two_period_plan()))
    assert len(first) == 16
    assert int(first, 16) >= 0


def test_is_our_plan() -> None:
    assert is_our_plan(encode_tariff(two_period_plan()))
    assert is_our_plan({"code": f"{PLAN_CODE_PREFIX}:AMBER"})
    assert not is_our_plan({"code": "EA205"})
    assert not is_our_plan({})
    assert not is_our_plan(None)
    assert not is_our_plan({"code": None})
