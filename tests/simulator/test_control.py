"""The control API: state, time, scenarios, configuration, reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from simulator.app import create_app
from simulator.clock import ManualClock, SimClock
from simulator.control import _is_loopback
from simulator.prices import PriceModel
from simulator.sites import make_sites

from .conftest import AMBER, START, TESLA, sim_of

SITE = make_sites(42)[0].id


async def _state(client: TestClient[Any, Any]) -> dict[str, Any]:
    response = await client.get("/_control/state")
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def test_state_shows_plan_settings_battery_log_and_calls(
    client: TestClient[Any, Any],
) -> None:
    """State carries the stored plan, mode, reserve, export rule, SoC, write log and calls."""
    site = f"/tesla/api/1/energy_sites/{sim_of(client).energy_site_id}"
    await client.post(f"{site}/backup", json={"backup_reserve_percent": 42}, headers=TESLA)
    await client.get("/amber/v1/sites", headers=AMBER)
    state = await _state(client)
    tesla = state["tesla"]
    assert state["now"] == START.isoformat()
    assert tesla["backup_reserve_percent"] == 42
    assert tesla["default_real_mode"] == "self_consumption"
    assert tesla["customer_preferred_export_rule"] == "pv_only"
    assert tesla["stored_plan"]["code"] == "SIM_DEFAULT_TOU"
    assert tesla["plan_issues"] == []
    assert len(tesla["plan_next_24h"]) == 48
    assert 0 < tesla["battery"]["percentage_charged"] <= 100
    [write] = tesla["write_log"]
    assert write["body"] == {"backup_reserve_percent": 42}
    assert write["time"] == START.isoformat()
    assert write["path"] == f"{site}/backup"
    assert state["calls"] == {f"POST {site}/backup": 1, "GET /amber/v1/sites": 1}
    assert state["calls_by_route"]["POST /tesla/api/1/energy_sites/{site_id}/backup"] == 1
    assert state["amber"]["rate_limit"]["used"] == {"psk_0123...": 1}


async def test_time_control_with_a_manual_clock(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """set and advance move the clock; a manual clock refuses a speed."""
    response = await client.post("/_control/time", json={"set": "2025-02-01T09:00:00+11:00"})
    assert (await response.json())["now"] == "2025-01-31T22:00:00+00:00"
    await client.post("/_control/time", json={"advance": 90})
    assert clock.now() == datetime(2025, 1, 31, 22, 1, 30, tzinfo=UTC)
    refused = await client.post("/_control/time", json={"speed": 60})
    assert refused.status == 400
    naive = await client.post("/_control/time", json={"set": "2025-02-01T09:00:00"})
    assert naive.status == 400


async def test_speed_through_the_control_api(aiohttp_client: Any, socket_enabled: None) -> None:
    """With a SimClock, `speed` makes simulated time run faster; `advance` still jumps."""
    ticks = [0.0]
    sim_clock = SimClock(START, 1.0, monotonic=lambda: ticks[0])
    client = await aiohttp_client(create_app(clock=sim_clock))
    response = await client.post("/_control/time", json={"speed": 60})
    assert (await response.json())["speed"] == 60
    ticks[0] = 2.0  # two real seconds
    assert (await _state(client))["now"] == (START + timedelta(minutes=2)).isoformat()
    await client.post("/_control/time", json={"advance": 3600, "speed": 0})
    ticks[0] = 50.0
    assert (await _state(client))["now"] == (START + timedelta(minutes=62)).isoformat()


async def test_scenarios_force_spike_and_negative_days(client: TestClient[Any, Any]) -> None:
    """A forced spike shows in the forecast; a negative day makes midday feed-in cost money."""
    spike = await client.post(
        "/_control/scenario",
        json={"kind": "spike", "date": "2025-01-15", "spike_start": "17:00", "spike_peak": 1700},
    )
    assert spike.status == 200
    rows = await (
        await client.get(
            f"/amber/v1/sites/{SITE}/prices/current?next=20&resolution=30", headers=AMBER
        )
    ).json()
    statuses = {r["nemTime"]: r["spikeStatus"] for r in rows if r["channelType"] == "general"}
    assert statuses["2025-01-15T17:30:00+10:00"] in ("potential", "spike")
    assert statuses["2025-01-15T13:00:00+10:00"] == "none"
    await client.post("/_control/scenario", json={"kind": "negative", "date": "2025-01-16"})
    model = sim_of(client).prices
    noon = datetime(2025, 1, 16, 2, 30, tzinfo=UTC)  # 12:30 NEM
    assert model.final_price("feedIn", noon) > 0
    state = await _state(client)
    days = {d["date"]: d for d in state["amber"]["forced_days"]}
    assert days["2025-01-15"]["spike"] is True
    assert days["2025-01-15"]["spike_start"] == "17:00"
    assert days["2025-01-16"]["negative"] is True
    await client.post("/_control/scenario", json={"kind": "clear"})
    assert (await _state(client))["amber"]["forced_days"] == []
    assert model.final_price("feedIn", noon) == PriceModel(42).final_price("feedIn", noon)
    bad = await client.post("/_control/scenario", json={"kind": "volcano"})
    assert bad.status == 400


async def test_config_changes_live_options(client: TestClient[Any, Any]) -> None:
    """Rate limits, omitted fields and the zone report can be changed while running."""
    response = await client.post(
        "/_control/config",
        json={
            "amber_rate_limit": 2,
            "report_time_zone": False,
            "omit_fields": {"live_status": ["energy_left", "total_pack_energy"]},
        },
    )
    assert response.status == 200
    for expected in (200, 200, 429):
        assert (await client.get("/amber/v1/sites", headers=AMBER)).status == expected
    site = f"/tesla/api/1/energy_sites/{sim_of(client).energy_site_id}"
    info = (await (await client.get(f"{site}/site_info", headers=TESLA)).json())["response"]
    assert info["installation_time_zone"] == ""
    live = (await (await client.get(f"{site}/live_status", headers=TESLA)).json())["response"]
    assert "energy_left" not in live
    assert "total_pack_energy" not in live
    for bad in ({"seed": 1}, {"amber_rate_limit": "many"}, {"edit_flags": {"nope": True}}):
        refused = await client.post("/_control/config", json=bad)
        assert refused.status == 400, bad


async def test_tesla_rate_limit_when_enabled(client: TestClient[Any, Any]) -> None:
    """Teslemetry-style limit: off by default; when set, 429 with Retry-After."""
    await client.post("/_control/config", json={"tesla_rate_limit": 2, "tesla_rate_window": 60})
    statuses = [(await client.get("/tesla/api/1/products", headers=TESLA)).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = await client.get("/tesla/api/1/products", headers=TESLA)
    assert refused.headers["Retry-After"] == "60"


async def test_reset_forgets_calls_writes_and_windows(client: TestClient[Any, Any]) -> None:
    """Reset clears counters, the write log, rate-limit windows and faults."""
    await client.get("/amber/v1/sites", headers=AMBER)
    await client.post("/_control/faults", json={"service": "tesla", "status": 500})
    response = await client.post("/_control/reset", json={})
    assert set((await response.json())["reset"]) == {"calls", "writes", "rate_limits", "faults"}
    state = await _state(client)
    assert state["calls"] == {}
    assert state["faults"] == []
    assert state["amber"]["rate_limit"]["used"] == {}


def test_loopback_check() -> None:
    """Only loopback callers may use the control API."""
    assert _is_loopback("127.0.0.1")
    assert _is_loopback("::1")
    assert not _is_loopback("192.168.1.20")
    assert not _is_loopback(None)
    assert not _is_loopback("not-an-address")
