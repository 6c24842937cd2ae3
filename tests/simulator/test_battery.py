"""The simulated Powerwall over a driven clock: plan-following, limits, energy accounting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import math
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from simulator.battery import FLOW_FIELDS
from simulator.clock import ManualClock

from .conftest import TESLA, ClientFactory, sim_of
from .plans import cheap_night_dear_evening

SYDNEY = ZoneInfo("Australia/Sydney")
JUNE_MIDNIGHT = datetime(2025, 6, 10, 14, 0, tzinfo=UTC)  # 2025-06-11 00:00 AEST, a Wednesday


def _site(client: TestClient[Any, Any]) -> str:
    return f"/tesla/api/1/energy_sites/{sim_of(client).energy_site_id}"


async def _live(client: TestClient[Any, Any]) -> dict[str, Any]:
    response = await client.get(f"{_site(client)}/live_status", headers=TESLA)
    assert response.status == 200
    body: dict[str, Any] = (await response.json())["response"]
    return body


async def _post(client: TestClient[Any, Any], path: str, body: Any) -> None:
    response = await client.post(f"{_site(client)}/{path}", json=body, headers=TESLA)
    assert response.status == 200, await response.text()


async def _autonomous(client: TestClient[Any, Any], tariff: dict[str, Any], rule: str) -> None:
    await _post(client, "time_of_use_settings", {"tou_settings": {"tariff_content_v2": tariff}})
    await _post(client, "operation", {"default_real_mode": "autonomous"})
    await _post(client, "backup", {"backup_reserve_percent": 10})
    await _post(client, "grid_import_export", {"customer_preferred_export_rule": rule})


async def _day(
    client: TestClient[Any, Any], clock: ManualClock, step_minutes: int = 10
) -> list[tuple[float, dict[str, Any]]]:
    """Read live_status through one day; (local hour, reading) pairs."""
    samples = []
    start = clock.now()
    for k in range(24 * 60 // step_minutes):
        clock.set(start + timedelta(minutes=k * step_minutes + 1))
        local = clock.now().astimezone(SYDNEY)
        samples.append((local.hour + local.minute / 60, await _live(client)))
    return samples


async def test_autonomous_charges_cheapest_and_discharges_dearest(
    make_client: ClientFactory, clock: ManualClock
) -> None:
    """No solar, so every decision is the plan's: grid-charge at full power in the cheap
    02:00-04:00 slots, cover the house in the dear 17:00-20:00 slots, hold in between."""
    clock.set(JUNE_MIDNIGHT)
    client = await make_client(pv_watts=0, initial_percent=30)
    await _autonomous(client, cheap_night_dear_evening(peak_sell=0.20), "battery_ok")
    samples = await _day(client, clock)
    cheap = [s for h, s in samples if 2 <= h < 4]
    dear = [s for h, s in samples if 17 <= h < 20]
    day = [s for h, s in samples if 4.2 <= h < 17]
    assert cheap
    for reading in cheap:
        if reading["percentage_charged"] < 99.9:
            assert reading["battery_power"] == -5000
            assert reading["grid_power"] == 5000 + reading["load_power"]
    assert all(s["battery_power"] >= 0 for h, s in samples if not 2 <= h < 4), (
        "no grid charging outside the cheapest slots"
    )
    assert all(s["battery_power"] == 0 for s in day), "holds its charge for the evening"
    for reading in dear:
        assert reading["battery_power"] > 0
        assert reading["battery_power"] == reading["load_power"]  # covers the house, no export
        assert reading["grid_power"] == 0
    history = await (
        await client.get(
            f"{_site(client)}/calendar_history?kind=energy&period=day"
            "&start_date=2025-06-11T00:00:00%2B10:00&end_date=2025-06-11T23:59:59%2B10:00",
            headers=TESLA,
        )
    ).json()
    [entry] = history["response"]["time_series"]
    assert entry["timestamp"] == "2025-06-11T00:00:00+10:00"
    assert entry["battery_energy_imported_from_grid"] > 9000  # two hours at 5 kW, near enough
    assert entry["consumer_energy_imported_from_battery"] > 3000
    assert entry["grid_energy_exported_from_battery"] == 0
    # the day's flows balance, grid charging included
    assert math.isclose(
        entry["total_solar_generation"]
        + entry["grid_energy_imported"]
        + entry["battery_energy_exported"],
        entry["total_home_usage"]
        + entry["total_grid_energy_exported"]
        + entry["total_battery_charge"],
        abs_tol=0.1,
    )
    assert math.isclose(
        entry["grid_energy_imported"],
        entry["battery_energy_imported_from_grid"] + entry["consumer_energy_imported_from_grid"],
        abs_tol=0.05,
    )


async def test_exports_when_sell_beats_buy_and_rule_allows(
    make_client: ClientFactory, clock: ManualClock
) -> None:
    """Sell above buy in the peak: export at full power, but only with `battery_ok`."""
    clock.set(JUNE_MIDNIGHT + timedelta(hours=17, minutes=5))
    exporter = await make_client(pv_watts=0, initial_percent=90)
    await _autonomous(exporter, cheap_night_dear_evening(peak_sell=0.70), "battery_ok")
    reading = await _live(exporter)
    assert reading["battery_power"] == 5000
    assert reading["grid_power"] == reading["load_power"] - 5000 < 0
    keeper = await make_client(pv_watts=0, initial_percent=90)
    await _autonomous(keeper, cheap_night_dear_evening(peak_sell=0.70), "pv_only")
    reading = await _live(keeper)
    assert reading["battery_power"] == reading["load_power"]
    assert reading["grid_power"] == 0


async def test_reserve_backup_and_grid_charging_rules(
    make_client: ClientFactory, clock: ManualClock
) -> None:
    """Below the reserve the battery charges from the grid unless that is disallowed; backup
    mode never discharges."""
    clock.set(JUNE_MIDNIGHT + timedelta(hours=1))
    client = await make_client(pv_watts=0, initial_percent=30)
    await _post(client, "backup", {"backup_reserve_percent": 50})
    topping_up = await _live(client)
    assert topping_up["battery_power"] == -5000
    await _post(
        client, "grid_import_export", {"disallow_charge_from_grid_with_solar_installed": True}
    )
    held = await _live(client)
    assert held["battery_power"] == 0
    assert held["grid_power"] == held["load_power"]
    backup = await make_client(pv_watts=0, initial_percent=80)
    await _post(backup, "operation", {"default_real_mode": "backup"})
    reading = await _live(backup)
    assert reading["battery_power"] == -5000  # fills from the grid, never discharges
    await _post(
        backup, "grid_import_export", {"disallow_charge_from_grid_with_solar_installed": True}
    )
    assert (await _live(backup))["battery_power"] == 0


async def test_storm_watch_holds_the_battery(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """With storm watch on and a storm active, the battery stops discharging."""
    clock.advance(11 * 3600)  # past midnight: self-consumption is discharging
    assert (await _live(client))["battery_power"] > 0
    await _post(client, "storm_mode", {"enabled": True})
    response = await client.post("/_control/scenario", json={"kind": "storm", "active": True})
    assert response.status == 200
    reading = await _live(client)
    assert reading["storm_mode_active"] is True
    assert reading["battery_power"] <= 0


async def test_energy_balance_and_calendar_history(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """Over two days the flows balance, the state of charge matches them, and calendar_history
    per local day adds up to the totals, whatever zone the days are cut in."""
    sim = sim_of(client)
    initial_wh = sim.powerwall.soc_wh
    await _post(
        client,
        "time_of_use_settings",
        {"tou_settings": {"tariff_content_v2": cheap_night_dear_evening()}},
    )
    await _post(client, "operation", {"default_real_mode": "autonomous"})
    clock.advance(2 * 86400)
    await _live(client)
    totals = sim.powerwall.totals
    solar = totals["solar_energy_exported"]
    grid_in = totals["grid_energy_imported"]
    discharge = totals["battery_energy_exported"]
    grid_out = (
        totals["grid_energy_exported_from_solar"] + totals["grid_energy_exported_from_battery"]
    )
    charge = (
        totals["battery_energy_imported_from_grid"] + totals["battery_energy_imported_from_solar"]
    )
    load = (
        totals["consumer_energy_imported_from_grid"]
        + totals["consumer_energy_imported_from_solar"]
        + totals["consumer_energy_imported_from_battery"]
    )
    assert solar > 40_000
    assert load > 10_000
    assert math.isclose(solar + grid_in + discharge, load + grid_out + charge, abs_tol=1e-6)
    eta = math.sqrt(0.9)
    assert math.isclose(
        sim.powerwall.soc_wh, initial_wh + charge * eta - discharge / eta, abs_tol=1e-6
    )

    query = (
        f"{_site(client)}/calendar_history?kind=energy&period=day"
        "&start_date=2025-01-15T00:00:00%2B11:00&end_date=2025-01-17T23:59:59%2B11:00"
    )
    sydney = await (await client.get(f"{query}&time_zone=Australia/Sydney", headers=TESLA)).json()
    series = sydney["response"]["time_series"]
    assert [e["timestamp"] for e in series] == [
        "2025-01-15T00:00:00+11:00",
        "2025-01-16T00:00:00+11:00",
        "2025-01-17T00:00:00+11:00",
    ]
    for name in FLOW_FIELDS:
        assert math.isclose(sum(e[name] for e in series), totals[name], abs_tol=0.05), name
    for entry in series:
        assert math.isclose(
            entry["total_home_usage"],
            entry["consumer_energy_imported_from_grid"]
            + entry["consumer_energy_imported_from_solar"]
            + entry["consumer_energy_imported_from_battery"],
            abs_tol=0.05,
        )
        assert entry["total_solar_generation"] == entry["solar_energy_exported"]
    brisbane = await (
        await client.get(f"{query}&time_zone=Australia/Brisbane", headers=TESLA)
    ).json()
    other = brisbane["response"]["time_series"]
    # history starts with the simulator (13:02 AEDT on the 15th), so Brisbane's first day is the
    # 15th too, but it ends an hour later than Sydney's
    assert [e["timestamp"][:10] for e in other] == ["2025-01-15", "2025-01-16", "2025-01-17"]
    assert other[0]["timestamp"] == "2025-01-15T00:00:00+10:00"
    assert other[0]["total_home_usage"] > series[0]["total_home_usage"]
    assert math.isclose(
        sum(e["solar_energy_exported"] for e in other),
        totals["solar_energy_exported"],
        abs_tol=0.05,
    )


async def test_calendar_history_matches_integrated_live_status(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """Watts read each minute, integrated, equal the Wh calendar_history adds over that hour."""
    query = f"{_site(client)}/calendar_history?kind=energy&period=day"
    clock.set(datetime(2025, 1, 15, 6, 0, tzinfo=UTC))  # 17:00 local
    before = (await (await client.get(query, headers=TESLA)).json())["response"]["time_series"][0]
    grid_wh = solar_wh = home_wh = 0.0
    for minute in range(60):
        clock.set(datetime(2025, 1, 15, 6, minute, tzinfo=UTC))
        reading = await _live(client)
        grid_wh += max(0, reading["grid_power"]) / 60
        solar_wh += reading["solar_power"] / 60
        home_wh += reading["load_power"] / 60
    clock.set(datetime(2025, 1, 15, 7, 0, tzinfo=UTC))
    after = (await (await client.get(query, headers=TESLA)).json())["response"]["time_series"][0]
    assert math.isclose(
        after["grid_energy_imported"] - before["grid_energy_imported"], grid_wh, abs_tol=1.0
    )
    assert math.isclose(
        after["total_solar_generation"] - before["total_solar_generation"], solar_wh, abs_tol=1.0
    )
    assert math.isclose(
        after["total_home_usage"] - before["total_home_usage"], home_wh, abs_tol=1.0
    )
    assert solar_wh > 500


async def test_state_does_not_depend_on_how_often_it_is_read(
    make_client: ClientFactory, clock: ManualClock
) -> None:
    """One simulator read every few minutes and one read once end up byte-identical."""
    busy = await make_client()
    idle = await make_client()
    start = clock.now()
    await _post(busy, "operation", {"default_real_mode": "autonomous"})
    await _post(idle, "operation", {"default_real_mode": "autonomous"})
    for k in range(1, 90):
        clock.set(start + timedelta(minutes=7 * k, seconds=13))
        await _live(busy)
    clock.set(start + timedelta(hours=11, seconds=13))
    first = await (await busy.get(f"{_site(busy)}/live_status", headers=TESLA)).read()
    second = await (await idle.get(f"{_site(idle)}/live_status", headers=TESLA)).read()
    assert first == second
