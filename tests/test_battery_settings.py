"""The layered settings model and the forced-mode plan (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.tesla_amber_sync.battery_settings import (
    BatterySettings,
    Overlays,
    changes,
    desired,
)
from custom_components.tesla_amber_sync.forced_plan import forced_plan, forced_slots
from custom_components.tesla_amber_sync.tou import encode_tariff, rates_at
from custom_components.tesla_amber_sync.validate import validate_tariff

SYDNEY = ZoneInfo("Australia/Sydney")

baselines = st.builds(
    BatterySettings,
    mode=st.sampled_from(["autonomous", "self_consumption", "backup"]),
    reserve=st.integers(0, 100),
    export_rule=st.sampled_from(["battery_ok", "pv_only", "never"]),
    grid_charging=st.booleans(),
)
overlays = st.builds(
    Overlays,
    forced=st.sampled_from([None, "charge", "discharge"]),
    forced_reserve=st.one_of(st.none(), st.integers(0, 100)),
    avoid_export_rule=st.sampled_from([None, "never", "pv_only"]),
    negative_reserve=st.one_of(st.none(), st.integers(0, 100)),
)


@given(baselines)
def test_no_overlay_means_the_users_settings(baseline: BatterySettings) -> None:
    assert desired(baseline, Overlays()) == baseline


@given(baselines, overlays)
@settings(max_examples=300)
def test_forced_modes_outrank_price_actions(base: BatterySettings, over: Overlays) -> None:
    wanted = desired(base, over)
    if over.forced == "discharge":
        assert (wanted.mode, wanted.export_rule) == ("autonomous", "battery_ok")
        assert wanted.reserve == min(base.reserve, 5)  # low enough to export, never raised
    elif over.forced == "charge":
        assert wanted.grid_charging is True
        assert wanted.reserve == (over.forced_reserve if over.forced_reserve is not None else 100)
    else:
        if over.avoid_export_rule:
            assert wanted.export_rule == over.avoid_export_rule
        if over.negative_reserve is not None:
            assert wanted.grid_charging is True
            assert wanted.reserve == max(base.reserve or 0, over.negative_reserve)


@given(baselines, baselines)
def test_changes_take_current_to_wanted(current: BatterySettings, wanted: BatterySettings) -> None:
    fields = dict(changes(current, wanted))
    applied = BatterySettings(**{**current.to_dict(), **fields})
    assert applied == wanted
    assert all(getattr(current, name) != value for name, value in fields.items())


def test_settings_round_trip_and_garbage() -> None:
    value = BatterySettings("backup", 40, "never", False)
    assert BatterySettings.from_dict(value.to_dict()) == value
    assert BatterySettings.from_dict({"reserve": 140, "mode": 3, "grid_charging": "yes"}) == (
        BatterySettings()
    )
    assert BatterySettings.from_dict(None) == BatterySettings()


@pytest.mark.parametrize("kind", ["charge", "discharge"])
@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
    minutes=st.integers(15, 240),
)
@settings(max_examples=60, deadline=None)
def test_forced_plan_is_valid_and_covers_exactly_the_period(
    kind: str, start: datetime, minutes: int
) -> None:
    """Across DST changes too: every half hour from now to the end carries the forced prices."""
    end = start + timedelta(minutes=minutes)
    tariff = encode_tariff(forced_plan(kind, start, end, SYDNEY))
    validate_tariff(tariff)
    now_buy = 2.0 if kind == "discharge" else 0.0
    cursor = start
    while cursor < end:
        assert rates_at(tariff, cursor.astimezone(SYDNEY)).buy == now_buy
        cursor += timedelta(minutes=10)
    labels = forced_slots(start, end, SYDNEY)
    assert len(labels) == min(48, len(labels))
    after = end + timedelta(minutes=30)
    if f"{after.astimezone(SYDNEY):%H:%M}" not in labels:
        assert rates_at(tariff, after.astimezone(SYDNEY)).buy != now_buy


def test_unknown_forced_kind() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="unknown forced mode"):
        forced_plan("hover", now, now + timedelta(hours=1), SYDNEY)
