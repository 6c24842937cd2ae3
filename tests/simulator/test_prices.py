"""The Amber price model, without HTTP: shapes, timing, forecasts, scenarios, determinism."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
import itertools
import json
import statistics
from zoneinfo import ZoneInfo

import pytest

from simulator.prices import NEM_TZ, PriceModel
from simulator.sites import make_sites


def _utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _nem(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), NEM_TZ).astimezone(UTC)


def _channel(rows: list[dict[str, object]], channel: str) -> list[dict[str, object]]:
    return [row for row in rows if row["channelType"] == channel]


def test_resolution_5_mixes_5_minute_then_30_minute_intervals() -> None:
    """5-minute intervals for an hour past the current one (to a half-hour boundary), 30-minute
    after; contiguous."""
    model = PriceModel(42)
    now = _nem(date(2025, 1, 15), 10, 7, 30)
    rows = model.published(now, next=20, previous=3, resolution=5)
    general = _channel(rows, "general")
    assert len(general) == 3 + 1 + 20
    assert len(_channel(rows, "feedIn")) == 24
    assert [r["type"] for r in general[:4]] == ["ActualInterval"] * 3 + ["CurrentInterval"]
    assert {r["type"] for r in general[4:]} == {"ForecastInterval"}
    durations = [r["duration"] for r in general]
    # actuals 09:50..10:05, current 10:05-10:10, forecasts 10:10..11:25 (16 of 5 min), then 30
    assert durations == [5] * 4 + [5] * 16 + [30] * 4
    assert general[20]["nemTime"] == "2025-01-15T12:00:00+10:00"
    for before, after in itertools.pairwise(general):
        start = _utc(str(after["startTime"]))
        assert start - timedelta(seconds=1) == _utc(str(before["endTime"]))
    for row in general:
        start = _utc(str(row["startTime"]))
        end = _utc(str(row["endTime"]))
        assert start.second == 1, "startTime is one second past the boundary"
        bucket = end - timedelta(minutes=int(str(row["duration"])))
        assert bucket == start - timedelta(seconds=1)
        assert int(bucket.timestamp()) % (int(str(row["duration"])) * 60) == 0
        assert row["nemTime"] == end.astimezone(NEM_TZ).isoformat()
        assert str(row["nemTime"]).endswith("+10:00")


@pytest.mark.parametrize(
    ("five_minute_hours", "five_minute_forecasts"),
    [
        (0.0, 4),  # only to the end of the current half hour (10:10-10:30)
        (1.0, 16),
        (48.0, None),  # 5-minute all the way to the horizon (Amber cuts by count instead)
    ],
)
def test_five_minute_reach_is_a_parameter(
    five_minute_hours: float, five_minute_forecasts: int | None
) -> None:
    """Both ends of how far Amber gives 5-minute forecasts; the horizon holds either way."""
    model = PriceModel(42, five_minute_hours=five_minute_hours)
    now = _nem(date(2025, 1, 15), 10, 7, 30)
    general = _channel(model.published(now, next=2000, resolution=5), "general")
    forecasts = [int(str(r["duration"])) for r in general if r["type"] == "ForecastInterval"]
    fives = sum(1 for d in forecasts if d == 5)
    if five_minute_forecasts is None:
        assert set(forecasts) == {5}
    else:
        assert fives == five_minute_forecasts
        assert forecasts == [5] * fives + [30] * (len(forecasts) - fives)
    assert general[-1]["nemTime"] == "2025-01-16T04:00:00+10:00"
    few = _channel(model.published(now, next=68, resolution=5), "general")
    reach = _utc(str(few[-1]["endTime"])) - now
    if five_minute_forecasts is None:
        assert reach < timedelta(hours=6)  # `next` ran out long before the horizon
    else:
        assert few[-1]["nemTime"] == "2025-01-16T04:00:00+10:00"


@pytest.mark.parametrize(
    ("hour", "minute", "predispatch", "ends"),
    [
        (2, 0, "12:30", "2025-01-16T04:00:00+10:00"),  # before 04:00: yesterday's run, 26 h
        (4, 0, "12:30", "2025-01-16T04:00:00+10:00"),  # 24 h
        (8, 0, "12:30", "2025-01-16T04:00:00+10:00"),  # 20 h
        (12, 29, "12:30", "2025-01-16T04:00:00+10:00"),  # 15.5 h, the shortest
        (12, 30, "12:30", "2025-01-17T04:00:00+10:00"),  # the new run: 39.5 h
        (12, 30, "13:30", "2025-01-16T04:00:00+10:00"),  # a late run: still the short day
        (13, 30, "13:30", "2025-01-17T04:00:00+10:00"),
        (12, 0, "11:30", "2025-01-17T04:00:00+10:00"),  # an early run
    ],
)
def test_horizon_follows_aemo_predispatch(
    hour: int, minute: int, predispatch: str, ends: str
) -> None:
    """Forecasts end at 04:00 NEM time of the next trading day until the day's pre-dispatch run
    (12:30 by default, a parameter), then of the day after. No interval ends past it."""
    run_hour, run_minute = map(int, predispatch.split(":"))
    model = PriceModel(42, predispatch_minute=run_hour * 60 + run_minute)
    now = _nem(date(2025, 1, 15), hour, minute, 10)
    for resolution in (5, 30):
        rows = _channel(model.published(now, next=2000, resolution=resolution), "general")
        assert rows[-1]["nemTime"] == ends
    assert model.horizon_end(now) == datetime.fromisoformat(ends).astimezone(UTC)


def test_fixed_horizon_brings_back_the_long_world() -> None:
    """`horizon_hours` set: a constant look-ahead instead of AEMO's (for tests that need it)."""
    model = PriceModel(42, horizon_hours=40)
    morning = _nem(date(2025, 1, 15), 9, 5)
    rows = _channel(model.published(morning, next=2000, resolution=30), "general")
    assert timedelta(hours=40) <= _utc(str(rows[-1]["endTime"])) - morning <= timedelta(hours=41)


def test_resolution_30_is_all_half_hours_and_horizon_limits_next() -> None:
    """At resolution 30 every interval is 30 minutes; forecasts stop at the horizon."""
    model = PriceModel(42)
    morning = _nem(date(2025, 1, 15), 9, 5)
    rows = _channel(model.published(morning, next=2000, previous=2, resolution=30), "general")
    assert {r["duration"] for r in rows} == {30}
    assert rows[-1]["nemTime"] == "2025-01-16T04:00:00+10:00"  # 18 h 55 min ahead
    afternoon = _nem(date(2025, 1, 15), 13, 5)
    rows = _channel(model.published(afternoon, next=2000, resolution=30), "general")
    # after AEMO's afternoon run the forecast reaches the end of the next trading day
    assert rows[-1]["nemTime"] == "2025-01-17T04:00:00+10:00"
    limited = _channel(model.published(afternoon, next=10, resolution=30), "general")
    assert len(limited) == 11


def test_nem_date_belongs_to_interval_start() -> None:
    """The interval ending at NEM midnight belongs to the day before."""
    model = PriceModel(42)
    now = _nem(date(2025, 1, 16), 0, 2)
    rows = _channel(model.published(now, previous=1, resolution=5), "general")
    assert rows[0]["nemTime"] == "2025-01-16T00:00:00+10:00"
    assert rows[0]["date"] == "2025-01-15"
    assert rows[1]["date"] == "2025-01-16"


def test_estimate_flips_after_30_seconds() -> None:
    """The current interval is an estimate for its first 30 s, then the final price."""
    model = PriceModel(42)
    boundary = _nem(date(2025, 1, 15), 18, 40)
    early = _channel(model.published(boundary + timedelta(seconds=10)), "general")[0]
    late = _channel(model.published(boundary + timedelta(seconds=40)), "general")[0]
    final = model.final_price("general", boundary)
    assert early["type"] == late["type"] == "CurrentInterval"
    assert early["estimate"] is True
    assert early["perKwh"] != final
    assert early["advancedPrice"]["predicted"] != early["perKwh"]  # type: ignore[index]
    assert late["estimate"] is False
    assert late["perKwh"] == final
    settled = _channel(model.published(boundary + timedelta(minutes=6), previous=1), "general")[0]
    assert settled["type"] == "ActualInterval"
    assert settled["perKwh"] == final
    assert "estimate" not in settled
    assert "advancedPrice" not in settled


def test_forecasts_converge_on_the_final_price() -> None:
    """What was forecast earlier differs from the final price; the error shrinks with lead."""
    model = PriceModel(42)
    errors: dict[int, list[float]] = {12: [], 6: [], 1: [], 0: []}
    for day in range(1, 11):
        target = _nem(date(2025, 3, day), 19, 0)
        for lead_hours, bucket in ((12, 12), (6, 6), (1, 1), (0.1, 0)):
            now = target - timedelta(hours=lead_hours)
            rows = _channel(model.published(now, next=200, resolution=5), "general")
            match = next(r for r in rows if r["startTime"] == target.strftime("%Y-%m-%dT%H:%M:01Z"))
            final = model.final_price("general", target, duration=int(str(match["duration"])))
            predicted = match["advancedPrice"]["predicted"]  # type: ignore[index]
            errors[bucket].append(abs(predicted - final))
    means = {lead: statistics.mean(values) for lead, values in errors.items()}
    assert means[12] > means[1] > means[0]
    assert means[6] > means[0]
    assert means[12] > 1.0  # an early forecast is a real forecast, not the answer
    assert means[0] < 0.5


def test_feed_in_sign_follows_wholesale() -> None:
    """Feed-in perKwh is what exporting costs: negative (earning) normally, positive at
    negative-price middays."""
    model = PriceModel(42)
    day = date(2025, 10, 8)
    model.force_day(day, negative=True)
    noon = _nem(day, 12, 30)
    spot = model.final_spot("NSW1", noon)
    assert spot < 0
    assert model.final_price("feedIn", noon) > 0
    assert model.final_price("general", noon) < model.final_price("general", _nem(day, 19))
    evening = _nem(day, 19)
    assert model.final_spot("NSW1", evening) > 0
    assert model.final_price("feedIn", evening) < 0
    assert model.final_price("feedIn", evening) == pytest.approx(
        -model.final_spot("NSW1", evening) + 0.45, abs=1e-4
    )


def test_daily_shape_midday_cheaper_than_evening() -> None:
    """Over four weeks, midday is cheaper than the evening peak, and overnight sits between."""
    model = PriceModel(7)
    midday, evening, overnight = [], [], []
    wins = 0
    for offset in range(28):
        day = date(2025, 2, 1) + timedelta(days=offset)

        def hours(lo: int, hi: int, day: date = day) -> list[float]:
            start = _nem(day, lo)
            count = (hi - lo) * 12
            return [
                model.final_price("general", start + timedelta(minutes=5 * k)) for k in range(count)
            ]

        m, e, n = statistics.mean(hours(11, 14)), statistics.mean(hours(17, 20)), hours(1, 4)
        midday.append(m)
        evening.append(e)
        overnight.append(statistics.mean(n))
        wins += m < e
    assert statistics.mean(midday) < statistics.mean(overnight) < statistics.mean(evening)
    assert wins >= 25


def test_forced_spike_day_goes_potential_then_spike() -> None:
    """A forced spike is a potential spike hours ahead and a spike close in; $15+/kWh buy."""
    model = PriceModel(42)
    day = date(2025, 1, 16)
    model.force_day(day, spike=True, spike_start=time(18, 0), spike_minutes=30, spike_peak=1600)
    peak_start = _nem(day, 18, 10)
    assert model.final_price("general", peak_start) > 1500
    assert model.final_price("feedIn", peak_start) < -1500
    target = peak_start.strftime("%Y-%m-%dT%H:%M:01Z")

    def seen(hours_before: float) -> dict[str, object]:
        rows = model.published(peak_start - timedelta(hours=hours_before), next=300, resolution=5)
        return next(
            r for r in _channel(rows, "general") if r["startTime"] <= target < str(r["endTime"])
        )

    assert seen(8)["spikeStatus"] == "potential"
    assert seen(0.5)["spikeStatus"] == "spike"
    assert seen(0.5)["descriptor"] == "spike"
    actual = _channel(model.published(peak_start + timedelta(minutes=7), previous=1), "general")[0]
    assert actual["spikeStatus"] == "spike"
    model.clear_forced()
    assert model.final_price("general", peak_start) < 200


def test_same_seed_same_bytes_and_other_seed_differs() -> None:
    """The published JSON is a pure function of seed and time."""
    now = _nem(date(2025, 1, 15), 16, 3, 12)
    first = json.dumps(PriceModel(42).published(now, next=60, previous=12, resolution=5))
    again = json.dumps(PriceModel(42).published(now, next=60, previous=12, resolution=5))
    other = json.dumps(PriceModel(43).published(now, next=60, previous=12, resolution=5))
    assert first == again
    assert first != other


def test_thirty_minute_price_is_mean_of_five_minute_prices() -> None:
    """A 30-minute interval's price is the mean of its six 5-minute prices."""
    model = PriceModel(42)
    start = _nem(date(2025, 1, 15), 14, 30)
    parts = [model.final_price("general", start + timedelta(minutes=5 * k)) for k in range(6)]
    assert model.final_price("general", start, duration=30) == pytest.approx(
        statistics.mean(parts), abs=1e-4
    )


def test_thirty_minute_site_and_controlled_load_site() -> None:
    """The 30-minute site always gets 30-minute intervals; the QLD site has a controlled load."""
    sites = make_sites(42, 4)
    model = PriceModel(42, sites)
    now = _nem(date(2025, 1, 15), 10, 7)
    half_hourly = model.published(now, next=3, resolution=5, site=sites[1])
    assert {r["duration"] for r in half_hourly} == {30}
    qld = model.published(now, next=1, site=sites[2])
    assert [r["channelType"] for r in qld] == ["general"] * 2 + ["controlledLoad"] * 2 + [
        "feedIn"
    ] * 2
    assert sites[3].status == "closed"
    assert len({site.id for site in sites}) == 4
    assert all(len(site.id) == 26 for site in sites)


def test_tariff_information_marks_the_demand_window() -> None:
    """Amber flags the network's 15:00-21:00 demand window and time-of-use period."""
    model = PriceModel(42)
    rows = _channel(
        model.published(_nem(date(2025, 1, 15), 15, 2), next=60, resolution=5), "general"
    )
    for row in rows:
        end = _utc(str(row["endTime"]))
        start = end - timedelta(minutes=int(str(row["duration"])))
        local_hour = start.astimezone(ZoneInfo(make_sites(42)[0].time_zone)).hour
        info = row["tariffInformation"]
        assert info["demandWindow"] is (15 <= local_hour < 21)  # type: ignore[index]
        expected = (
            "peak" if 15 <= local_hour < 21 else "shoulder" if 7 <= local_hour < 22 else "offPeak"
        )
        assert info["period"] == expected  # type: ignore[index]
        assert info["season"] == "summer"  # type: ignore[index]
