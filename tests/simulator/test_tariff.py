"""How the simulated Powerwall reads a stored plan."""

from __future__ import annotations

from datetime import datetime

from simulator.tariff import TariffReader

from .plans import cheap_night_dear_evening, plan


def test_rates_by_local_wall_clock_time() -> None:
    """Rates come from the period covering the local time; 24:00 ends the day."""
    reader = TariffReader(cheap_night_dear_evening())
    assert reader.valid, reader.issues
    at_three = reader.rates_at(datetime(2025, 6, 11, 3, 0))
    assert at_three is not None
    assert (at_three.buy, at_three.sell, at_three.period) == (0.05, 0.0, "CHEAP")
    peak = reader.rates_at(datetime(2025, 6, 11, 19, 59))
    assert peak is not None
    assert peak.period == "PEAK"
    late = reader.rates_at(datetime(2025, 6, 11, 23, 59))
    assert late is not None
    assert late.period == "REST"


def test_days_of_week_are_monday_zero() -> None:
    """fromDayOfWeek 0 is Monday; a period on Sunday only applies on Sundays."""
    tariff = plan({"ALLDAY": (0.30, 0.05, [(0, 0, 24, 0)])})
    weekday_periods = tariff["seasons"]["Year"]["tou_periods"]["ALLDAY"]["periods"]
    weekday_periods[0]["toDayOfWeek"] = 5
    sunday = dict(weekday_periods[0], fromDayOfWeek=6, toDayOfWeek=6)
    tariff["seasons"]["Year"]["tou_periods"]["SUNDAY"] = {"periods": [sunday]}
    tariff["energy_charges"]["Year"]["rates"]["SUNDAY"] = 0.10
    reader = TariffReader(tariff)
    assert reader.valid, reader.issues
    sunday_rates = reader.rates_at(datetime(2025, 6, 15, 12, 0))  # a Sunday
    monday_rates = reader.rates_at(datetime(2025, 6, 16, 12, 0))
    assert sunday_rates is not None
    assert monday_rates is not None
    assert (sunday_rates.period, sunday_rates.buy) == ("SUNDAY", 0.10)
    assert monday_rates.period == "ALLDAY"


def test_period_running_past_midnight() -> None:
    """21:00 -> 16:00 runs on into the next morning, as Tesla reads it."""
    reader = TariffReader(
        plan({"PEAK": (0.5, 0.1, [(16, 0, 21, 0)]), "OFF": (0.2, 0.05, [(21, 0, 16, 0)])})
    )
    assert reader.valid, reader.issues
    early = reader.rates_at(datetime(2025, 6, 11, 3, 0))
    assert early is not None
    assert early.period == "OFF"


def test_gaps_overlaps_and_missing_fields_are_reported() -> None:
    """A plan that does not cover each minute exactly once, or omits time fields, is flagged."""
    gap = TariffReader(plan({"DAY": (0.3, 0.05, [(0, 0, 23, 0)])}))
    assert any("not covered" in issue for issue in gap.issues)
    assert gap.rates_at(datetime(2025, 6, 11, 23, 30)) is None
    overlap = TariffReader(
        plan({"A": (0.3, 0.05, [(0, 0, 24, 0)]), "B": (0.4, 0.05, [(12, 0, 13, 0)])})
    )
    assert any("more than once" in issue for issue in overlap.issues)
    lazy = plan({"ALL": (0.3, 0.05, [(0, 0, 24, 0)])})
    del lazy["seasons"]["Year"]["tou_periods"]["ALL"]["periods"][0]["toMinute"]
    assert any("missing toMinute" in issue for issue in TariffReader(lazy).issues)
    negative = TariffReader(plan({"ALL": (-0.02, 0.05, [(0, 0, 24, 0)])}))
    assert any("negative buy" in issue for issue in negative.issues)
    assert TariffReader(None).issues == ["no tariff stored"]


def test_seasons_wrap_the_year() -> None:
    """A season from November to March holds January; the other holds June."""
    summer = plan({"S": (0.4, 0.1, [(0, 0, 24, 0)])})
    season = summer["seasons"].pop("Year")
    summer["seasons"]["Summer"] = dict(season, fromMonth=11, fromDay=1, toMonth=3, toDay=31)
    summer["seasons"]["Winter"] = dict(
        season,
        fromMonth=4,
        fromDay=1,
        toMonth=10,
        toDay=31,
        tou_periods={"W": season["tou_periods"]["S"]},
    )
    summer["energy_charges"]["Summer"] = {"rates": {"S": 0.4}}
    summer["energy_charges"]["Winter"] = {"rates": {"W": 0.2}}
    reader = TariffReader(summer)
    january = reader.rates_at(datetime(2025, 1, 10, 9, 0))
    june = reader.rates_at(datetime(2025, 6, 10, 9, 0))
    assert january is not None
    assert june is not None
    assert (january.season, january.buy) == ("Summer", 0.4)
    assert (june.season, june.buy) == ("Winter", 0.2)
    assert not any("season" in issue for issue in reader.issues)
