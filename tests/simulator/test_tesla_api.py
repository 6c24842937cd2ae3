"""Tesla energy-site API over HTTP: shapes, writes and their read-back."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from simulator.clock import ManualClock

from .conftest import TESLA, ClientFactory, sim_of
from .plans import cheap_night_dear_evening


def _site(client: TestClient[Any, Any]) -> str:
    return f"/tesla/api/1/energy_sites/{sim_of(client).energy_site_id}"


async def _get(client: TestClient[Any, Any], path: str) -> Any:
    response = await client.get(path, headers=TESLA)
    assert response.status == 200, await response.text()
    return (await response.json())["response"]


async def _post(client: TestClient[Any, Any], path: str, body: Any) -> Any:
    response = await client.post(path, json=body, headers=TESLA)
    return response.status, await response.json()


async def test_products_lists_one_energy_site(client: TestClient[Any, Any]) -> None:
    """One battery site with an integer id, components and the pricing-constraint feature."""
    body = await (await client.get("/tesla/api/1/products", headers=TESLA)).json()
    assert body["count"] == 1
    site = body["response"][0]
    assert isinstance(site["energy_site_id"], int)
    assert site["resource_type"] == "battery"
    assert site["site_name"] == "Home Energy"
    assert site["gateway_id"]
    assert site["components"]["battery"] is True
    assert site["components"]["solar"] is True
    assert site["components"]["grid"] is True
    assert site["features"] == {"rate_plan_manager_no_pricing_constraint": True}


async def test_feature_can_be_switched_off(make_client: ClientFactory) -> None:
    """Without the feature, products says so."""
    client = await make_client(no_pricing_constraint=False)
    body = await (await client.get("/tesla/api/1/products", headers=TESLA)).json()
    assert body["response"][0]["features"] == {}


async def test_site_info_shape(client: TestClient[Any, Any]) -> None:
    """site_info carries zone, mode, reserve, grid settings, editability and the plan."""
    info = await _get(client, f"{_site(client)}/site_info")
    assert info["installation_time_zone"] == "Australia/Sydney"
    assert info["default_real_mode"] == "self_consumption"
    assert info["backup_reserve_percent"] == 20
    components = info["components"]
    assert components["customer_preferred_export_rule"] == "pv_only"
    assert components["disallow_charge_from_grid_with_solar_installed"] is False
    for flag in (
        "edit_setting_permission_to_export",
        "edit_setting_grid_charging",
        "edit_setting_energy_exports",
    ):
        assert components[flag] is True
    assert info["tou_settings"]["optimization_strategy"] == "economics"
    assert info["tariff_content_v2"]["seasons"]
    assert info["nameplate_power"] == 5000
    assert info["nameplate_energy"] == 13500
    assert info["site_name"] == "Home Energy"


async def test_live_status_shape_and_signs(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """Watts balance; battery + is discharging, grid + is importing."""
    live = await _get(client, f"{_site(client)}/live_status")
    for key in ("solar_power", "battery_power", "grid_power", "load_power", "generator_power"):
        assert isinstance(live[key], int), key
    assert live["load_power"] == live["solar_power"] + live["battery_power"] + live["grid_power"]
    assert live["grid_status"] == "Active"
    assert live["island_status"] == "on_grid"
    assert live["storm_mode_active"] is False
    assert live["total_pack_energy"] == 13500
    assert 0 <= live["percentage_charged"] <= 100
    assert live["energy_left"] == round(live["percentage_charged"] * 135, 2)
    assert live["timestamp"] == "2025-01-15T13:02:40+11:00"
    # early afternoon in January: solar exceeds the house, the battery charges
    assert live["solar_power"] > live["load_power"]
    assert live["battery_power"] < 0
    clock.advance(11 * 3600)  # 00:02 local: self-consumption covers the house from the battery
    night = await _get(client, f"{_site(client)}/live_status")
    assert night["solar_power"] == 0
    assert night["battery_power"] > 0
    assert night["grid_power"] == 0


async def test_written_plan_is_shown_back(client: TestClient[Any, Any]) -> None:
    """A plan written with time_of_use_settings is what site_info returns; the write is logged."""
    tariff = cheap_night_dear_evening()
    status, body = await _post(
        client,
        f"{_site(client)}/time_of_use_settings",
        {"tou_settings": {"tariff_content_v2": tariff}},
    )
    assert status == 200
    assert body == {"response": {"code": 201, "message": "Updated"}}
    info = await _get(client, f"{_site(client)}/site_info")
    assert info["tariff_content_v2"] == tariff
    sim = sim_of(client)
    assert sim.write_log[-1].body == {"tou_settings": {"tariff_content_v2": tariff}}
    assert sim.write_log[-1].time == "2025-01-15T02:02:40+00:00"
    assert sim.write_log[-1].applied is True
    assert sim.powerwall.reader.valid


async def test_writes_change_mode_reserve_export_and_storm(client: TestClient[Any, Any]) -> None:
    """Each write shows up in site_info (and products for storm watch)."""
    site = _site(client)
    assert (await _post(client, f"{site}/operation", {"default_real_mode": "autonomous"}))[0] == 200
    assert (await _post(client, f"{site}/backup", {"backup_reserve_percent": 35}))[0] == 200
    rule = {"customer_preferred_export_rule": "battery_ok"}
    assert (await _post(client, f"{site}/grid_import_export", rule))[0] == 200
    grid = {"disallow_charge_from_grid_with_solar_installed": True}
    assert (await _post(client, f"{site}/grid_import_export", grid))[0] == 200
    assert (await _post(client, f"{site}/storm_mode", {"enabled": True}))[0] == 200
    info = await _get(client, f"{site}/site_info")
    assert info["default_real_mode"] == "autonomous"
    assert info["backup_reserve_percent"] == 35
    assert info["components"]["customer_preferred_export_rule"] == "battery_ok"
    assert info["components"]["disallow_charge_from_grid_with_solar_installed"] is True
    assert info["user_settings"]["storm_mode_enabled"] is True
    products = await (await client.get("/tesla/api/1/products", headers=TESLA)).json()
    assert products["response"][0]["storm_mode_enabled"] is True
    assert len(sim_of(client).write_log) == 5


async def test_bad_writes_are_refused_and_logged(client: TestClient[Any, Any]) -> None:
    """Invalid values get Tesla's error envelope and change nothing."""
    site = _site(client)
    cases = [
        ("operation", {"default_real_mode": "turbo"}),
        ("backup", {"backup_reserve_percent": 101}),
        ("backup", {"backup_reserve_percent": True}),
        ("grid_import_export", {"customer_preferred_export_rule": "sometimes"}),
        ("grid_import_export", {}),
        ("storm_mode", {"enabled": "yes"}),
        ("time_of_use_settings", {"tariff_content_v2": {}}),
    ]
    for path, body in cases:
        status, answer = await _post(client, f"{site}/{path}", body)
        assert status == 400, (path, body)
        assert answer["response"] is None
        assert answer["error"]
        assert answer["error_description"]
    info = await _get(client, f"{site}/site_info")
    assert info["default_real_mode"] == "self_consumption"
    assert info["backup_reserve_percent"] == 20
    assert [record.status for record in sim_of(client).write_log] == [400] * len(cases)


async def test_not_editable_settings_are_ignored(client: TestClient[Any, Any]) -> None:
    """With an edit flag off the write says Updated but nothing changes: read back to know."""
    sim = sim_of(client)
    sim.configure({"edit_flags": {"edit_setting_grid_charging": False}})
    site = _site(client)
    status, _ = await _post(
        client,
        f"{site}/grid_import_export",
        {"disallow_charge_from_grid_with_solar_installed": True},
    )
    assert status == 200
    info = await _get(client, f"{site}/site_info")
    assert info["components"]["edit_setting_grid_charging"] is False
    assert info["components"]["disallow_charge_from_grid_with_solar_installed"] is False
    assert sim.write_log[-1].applied is False


async def test_write_delay_is_eventually_consistent(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """With a write delay, site_info shows the old value until the change lands (at the first
    whole minute after the delay)."""
    sim_of(client).configure({"write_delay_seconds": 30})
    site = _site(client)
    await _post(client, f"{site}/backup", {"backup_reserve_percent": 80})
    assert (await _get(client, f"{site}/site_info"))["backup_reserve_percent"] == 20
    # 13:02:40 + 30 s lands at the next whole minute, 13:04:00
    clock.advance(75)
    assert (await _get(client, f"{site}/site_info"))["backup_reserve_percent"] == 20
    clock.advance(5)
    assert (await _get(client, f"{site}/site_info"))["backup_reserve_percent"] == 80
    assert sim_of(client).write_log[-1].effective == "2025-01-15T02:04:00+00:00"


async def test_strict_tariff_and_issue_report(make_client: ClientFactory) -> None:
    """A plan with a gap is stored with its issues listed, or refused in strict mode."""
    client = await make_client()
    site = _site(client)
    gappy = cheap_night_dear_evening()
    del gappy["seasons"]["Year"]["tou_periods"]["CHEAP"]
    await _post(
        client, f"{site}/time_of_use_settings", {"tou_settings": {"tariff_content_v2": gappy}}
    )
    issues = sim_of(client).powerwall.reader.issues
    assert any("not covered" in issue for issue in issues)
    strict = await make_client(strict_tariff=True)
    status, body = await _post(
        strict,
        f"{_site(strict)}/time_of_use_settings",
        {"tou_settings": {"tariff_content_v2": gappy}},
    )
    assert status == 400
    assert body["error"] == "invalid_tariff"
    assert "not covered" in body["error_description"]


async def test_auth_unknown_site_and_region(client: TestClient[Any, Any]) -> None:
    """No token is 401; another site id is 404; region and metadata point back here."""
    response = await client.get("/tesla/api/1/products")
    assert response.status == 401
    body = await response.json()
    assert body["response"] is None
    assert body["error"] == "invalid_token"
    missing = await client.get("/tesla/api/1/energy_sites/123/site_info", headers=TESLA)
    assert missing.status == 404
    assert (await missing.json())["error"] == "not_found"
    region = await _get(client, "/tesla/api/1/users/region")
    assert region["region"] == "na"
    assert region["fleet_api_base_url"] == f"http://{client.host}:{client.port}/tesla"
    metadata = await (await client.get("/tesla/api/metadata", headers=TESLA)).json()
    assert set(metadata) >= {"uid", "region", "scopes"}
    assert "energy_cmds" in metadata["scopes"]


async def test_same_seed_same_bytes(make_client: ClientFactory) -> None:
    """Tesla reads are deterministic too."""
    one = await make_client()
    two = await make_client()
    for suffix in ("live_status", "site_info"):
        first = await (await one.get(f"{_site(one)}/{suffix}", headers=TESLA)).read()
        second = await (await two.get(f"{_site(two)}/{suffix}", headers=TESLA)).read()
        assert first == second, suffix
