"""Tesla energy-site API (Fleet API and Teslemetry share the paths), mounted at `/tesla`.

Auth: any non-empty bearer token. Success: `{"response": ...}`; errors:
`{"response": null, "error": ..., "error_description": ...}`. Writes answer
`{"response": {"code": 201, "message": "Updated"}}` and are logged with their time and body.

Editability: `site_info.components` carries `edit_setting_permission_to_export`,
`edit_setting_grid_charging` and `edit_setting_energy_exports` (names seen on real sites). When a
flag is false, the matching write is still answered "Updated" but changes nothing (the log marks
it `applied: false`), so only reading `site_info` back reveals it:
- `customer_preferred_export_rule` needs `edit_setting_energy_exports` and
  `edit_setting_permission_to_export`;
- `disallow_charge_from_grid_with_solar_installed` needs `edit_setting_grid_charging`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, time
import functools
import json
import math
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from .battery import EXPORT_RULES, MODES
from .core import Simulator, WriteRecord
from .faults import Handler, respond_with_fault
from .tariff import TariffReader

SERVICE = "tesla"
SIM = web.AppKey("tesla_simulator", Simulator)
UPDATED = {"response": {"code": 201, "message": "Updated"}}
PERIODS = ("day", "week", "month", "year", "lifetime")
SCOPES = ["openid", "offline_access", "user_data", "energy_device_data", "energy_cmds"]

dumps = functools.partial(json.dumps, separators=(",", ":"))

ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request", "The request is invalid"),
    401: ("invalid_token", "The access token is invalid or has expired"),
    402: ("payment_required", "A subscription or API credits are required"),
    403: ("missing_scopes", "The token lacks the scopes this call needs"),
    404: ("not_found", "The requested resource was not found"),
    405: ("method_not_allowed", "Method not allowed"),
    408: ("device_offline", "The energy site's gateway is offline"),
    421: ("misdirected_request", "The user is not in the region this server serves"),
    429: ("too_many_requests", "Rate limit exceeded; retry later"),
    500: ("internal_error", "Internal server error"),
    502: ("bad_gateway", "Upstream error"),
    503: ("service_unavailable", "Service unavailable"),
    504: ("gateway_timeout", "Upstream timeout"),
    540: ("device_unexpected_response", "The gateway did not respond as expected"),
}


def _error(status: int, error: str | None = None, description: str | None = None) -> web.Response:
    default_error, default_description = ERRORS.get(status, ("error", "Error"))
    body = {
        "response": None,
        "error": error or default_error,
        "error_description": description if description is not None else default_description,
    }
    return web.json_response(body, status=status, dumps=dumps)


def _status_error(status: int) -> web.Response:
    return _error(status)


def _ok(payload: Any) -> web.Response:
    return web.json_response({"response": payload}, dumps=dumps)


def _sim(request: web.Request) -> Simulator:
    sim: Simulator = request.config_dict[SIM]
    return sim


@web.middleware
async def _tesla_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    sim = _sim(request)
    route = request.match_info.route.resource
    sim.record_call(request.method, request.path, route.canonical if route else None)
    fault = sim.faults.take(SERVICE, request.method, request.path)
    if fault is not None:
        return await respond_with_fault(fault, request, handler, _status_error, sim.stop_event)
    if sim.options.tesla_rate_limit is not None:
        decision = sim.tesla_limiter.hit(_token(request) or "anonymous", sim.now().timestamp())
        if not decision.allowed:
            response = _error(429)
            response.headers["Retry-After"] = str(max(1, decision.reset))
            return response
    if not _token(request):
        return _error(401)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return _error(exc.status, description=exc.reason)


def _token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _check_site(request: web.Request) -> Simulator:
    sim = _sim(request)
    if request.match_info["site_id"] != str(sim.energy_site_id):
        raise web.HTTPNotFound(reason="Energy site not found")
    return sim


# --- reads -------------------------------------------------------------------------------------


def _live_numbers(sim: Simulator) -> dict[str, Any]:
    view = sim.powerwall.live(sim.now())
    solar = round(view.flow.solar)
    battery = round(view.flow.battery)
    grid = round(view.flow.grid)
    return {
        "solar_power": solar,
        "battery_power": battery,
        "grid_power": grid,
        "load_power": solar + battery + grid,  # so the rounded figures still balance exactly
        "percentage_charged": round(view.percentage_charged, 6),
        "energy_left": round(view.energy_left, 2),
        "storm_mode_active": view.storm_mode_active,
        "timestamp": view.timestamp.astimezone(sim.zone).replace(microsecond=0).isoformat(),
    }


async def get_products(request: web.Request) -> web.Response:
    """`GET /api/1/products`: one energy site."""
    sim = _sim(request)
    live = _live_numbers(sim)
    s = sim.powerwall.settings
    features = (
        {"rate_plan_manager_no_pricing_constraint": True}
        if sim.options.no_pricing_constraint
        else {}
    )
    product = {
        "energy_site_id": sim.energy_site_id,
        "resource_type": "battery",
        "site_name": sim.options.site_name,
        "id": sim.site_uid,
        "gateway_id": sim.gateway_id,
        "asset_site_id": sim.asset_site_id,
        "warp_site_number": sim.site_uid,
        "energy_left": live["energy_left"],
        "total_pack_energy": round(sim.powerwall.capacity_wh),
        "percentage_charged": live["percentage_charged"],
        "battery_type": "ac_powerwall",
        "backup_capable": True,
        "battery_power": live["battery_power"],
        "go_off_grid_test_banner_enabled": None,
        "storm_mode_enabled": s.storm_mode_enabled,
        "powerwall_onboarding_settings_set": True,
        "powerwall_tesla_electric_interested_in": None,
        "vpp_tour_enabled": None,
        "sync_grid_alert_enabled": True,
        "breaker_alert_enabled": False,
        "components": {
            "battery": True,
            "battery_type": "ac_powerwall",
            "solar": True,
            "solar_type": "pv_panel",
            "grid": True,
            "load_meter": True,
            "market_type": "residential",
            "wall_connectors": [],
        },
        "features": features,
    }
    body = {"response": [sim.omit("products", product)], "count": 1}
    return web.json_response(body, dumps=dumps)


async def get_live_status(request: web.Request) -> web.Response:
    """`GET /api/1/energy_sites/{id}/live_status`."""
    sim = _check_site(request)
    live = _live_numbers(sim)
    body = {
        "solar_power": live["solar_power"],
        "energy_left": live["energy_left"],
        "total_pack_energy": round(sim.powerwall.capacity_wh),
        "percentage_charged": live["percentage_charged"],
        "backup_capable": True,
        "battery_power": live["battery_power"],
        "load_power": live["load_power"],
        "grid_status": "Active",
        "grid_services_active": False,
        "grid_power": live["grid_power"],
        "grid_services_power": 0,
        "generator_power": 0,
        "island_status": "on_grid",
        "storm_mode_active": live["storm_mode_active"],
        "timestamp": live["timestamp"],
        "wall_connectors": [],
    }
    return _ok(sim.omit("live_status", body))


async def get_site_info(request: web.Request) -> web.Response:
    """`GET /api/1/energy_sites/{id}/site_info`."""
    sim = _check_site(request)
    sim.powerwall.advance(sim.now())
    s = sim.powerwall.settings
    flags = sim.options.edit_flags
    components: dict[str, Any] = {
        "solar": True,
        "solar_type": "pv_panel",
        "battery": True,
        "grid": True,
        "backup": True,
        "gateway": "teg",
        "load_meter": True,
        "tou_capable": True,
        "storm_mode_capable": True,
        "flex_energy_request_capable": False,
        "car_charging_data_supported": False,
        "off_grid_vehicle_charging_reserve_supported": True,
        "vehicle_charging_performance_view_enabled": False,
        "vehicle_charging_solar_offset_view_enabled": False,
        "battery_solar_offset_view_enabled": True,
        "solar_value_enabled": True,
        "energy_value_header": "Energy Value",
        "energy_value_subheader": "Estimated Value",
        "energy_service_self_scheduling_enabled": True,
        "show_grid_import_battery_source_cards": True,
        "set_islanding_mode_enabled": True,
        "wifi_commissioning_enabled": True,
        "backup_time_remaining_enabled": True,
        "rate_plan_manager_supported": True,
        "battery_type": "ac_powerwall",
        "configurable": True,
        "grid_services_enabled": False,
        "gateways": [
            {
                "device_id": f"gw-{sim.gateway_serial.lower()}",
                "din": sim.gateway_id,
                "serial_number": sim.gateway_serial,
                "part_number": "1232100-00-J",
                "part_type": 10,
                "part_name": "Tesla Backup Gateway 2",
                "is_active": True,
                "site_id": sim.site_uid,
                "firmware_version": "24.36.2 c4d6a1f0",
                "updated_datetime": "2025-01-01T00:00:00.000Z",
            }
        ],
        "batteries": [
            {
                "device_id": f"pw-{sim.battery_serial.lower()}",
                "din": f"3012170-10-J--{sim.battery_serial}",
                "serial_number": sim.battery_serial,
                "part_number": "3012170-10-J",
                "part_type": 2,
                "part_name": "Powerwall 2",
                "nameplate_max_charge_power": round(sim.powerwall.max_power_w),
                "nameplate_max_discharge_power": round(sim.powerwall.max_power_w),
                "nameplate_energy": round(sim.powerwall.capacity_wh),
            }
        ],
        "wall_connectors": [],
        "disallow_charge_from_grid_with_solar_installed": (
            s.disallow_charge_from_grid_with_solar_installed
        ),
        "customer_preferred_export_rule": s.customer_preferred_export_rule,
        "net_meter_mode": "battery_ok",
        "system_alerts_enabled": True,
        "edit_setting_permission_to_export": flags["edit_setting_permission_to_export"],
        "edit_setting_grid_charging": flags["edit_setting_grid_charging"],
        "edit_setting_energy_exports": flags["edit_setting_energy_exports"],
    }
    body = {
        "id": sim.site_uid,
        "site_name": sim.options.site_name,
        "backup_reserve_percent": s.backup_reserve_percent,
        "default_real_mode": s.default_real_mode,
        "installation_date": "2024-06-15T10:30:00+10:00",
        "user_settings": {
            "go_off_grid_test_banner_enabled": False,
            "storm_mode_enabled": s.storm_mode_enabled,
            "powerwall_onboarding_settings_set": True,
            "powerwall_tesla_electric_interested_in": False,
            "vpp_tour_enabled": False,
            "sync_grid_alert_enabled": True,
            "breaker_alert_enabled": False,
        },
        "components": sim.omit("site_info.components", components),
        "version": "24.36.2 c4d6a1f0",
        "battery_count": 1,
        "tou_settings": {"optimization_strategy": s.optimization_strategy, "schedule": []},
        "nameplate_power": round(sim.powerwall.max_power_w),
        "nameplate_energy": round(sim.powerwall.capacity_wh),
        "installation_time_zone": sim.options.time_zone if sim.options.report_time_zone else "",
        "off_grid_vehicle_charging_reserve_percent": 0,
        "max_site_meter_power_ac": 1000000000,
        "min_site_meter_power_ac": -1000000000,
        "tariff_content_v2": s.tariff_content_v2,
        "vpp_backup_reserve_percent": 0,
    }
    return _ok(sim.omit("site_info", body))


def _parse_instant(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise web.HTTPBadRequest(reason=f"{name} must be an RFC 3339 date-time") from None
    if parsed.tzinfo is None:
        raise web.HTTPBadRequest(reason=f"{name} needs a UTC offset")
    return parsed


async def get_calendar_history(request: web.Request) -> web.Response:
    """`GET .../calendar_history?kind=energy&period=day&start_date=&end_date=&time_zone=`.

    One entry per local day of `time_zone` (default: the installation zone) between the two
    dates, for days the simulation has run through, with Tesla's energy field names in Wh.
    """
    sim = _check_site(request)
    kind = request.query.get("kind", "energy")
    if kind != "energy":
        return _error(400, "invalid_request", f"kind '{kind}' is not simulated; use kind=energy")
    period = request.query.get("period", "day")
    if period not in PERIODS:
        return _error(
            400,
            "invalid_request",
            "Period must either be 'day', 'week', 'month', 'year', or 'lifetime'",
        )
    zone_name = request.query.get("time_zone") or sim.options.time_zone
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return _error(400, "invalid_request", f"unknown time_zone '{zone_name}'")
    now = sim.now()
    sim.powerwall.advance(now)
    end = _parse_instant(request.query.get("end_date"), "end_date") or now
    start = _parse_instant(request.query.get("start_date"), "start_date")
    if start is None:
        start = datetime.combine(end.astimezone(zone).date(), time(0), zone)
    series = []
    for midnight, counters in sim.powerwall.history(zone, start, end):
        stamp = midnight.isoformat()
        series.append({"timestamp": stamp, **counters.to_json(), "raw_timestamp": stamp})
    body = {
        "serial_number": sim.gateway_id,
        "period": period,
        "installation_time_zone": sim.options.time_zone,
        "time_series": series,
    }
    return _ok(body)


async def get_region(request: web.Request) -> web.Response:
    """`GET /api/1/users/region`: this server is the right base URL."""
    base = f"{request.scheme}://{request.host}/tesla"
    return _ok({"region": "na", "fleet_api_base_url": base})


async def get_metadata(request: web.Request) -> web.Response:
    """Teslemetry's `GET /api/metadata` (not enveloped, not under /api/1)."""
    sim = _sim(request)
    body = {"uid": f"sim-{sim.options.seed}", "region": "NA", "scopes": SCOPES, "vehicles": {}}
    return web.json_response(body, dumps=dumps)


# --- writes ------------------------------------------------------------------------------------


class _RefusedError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _RefusedError(400, "invalid_json", "The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _RefusedError(400, "invalid_request", "The body must be a JSON object")
    return data


def _operation(sim: Simulator, body: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    mode = body.get("default_real_mode")
    if mode not in MODES:
        raise _RefusedError(
            400, "invalid_request", f"default_real_mode must be one of {', '.join(MODES)}"
        )
    return {"default_real_mode": mode}, None


def _backup(sim: Simulator, body: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    value = body.get("backup_reserve_percent")
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= 100
    ):
        raise _RefusedError(
            400, "invalid_request", "backup_reserve_percent must be a number 0..100"
        )
    return {"backup_reserve_percent": value}, None


def _grid_import_export(
    sim: Simulator, body: Mapping[str, Any]
) -> tuple[dict[str, Any], str | None]:
    updates: dict[str, Any] = {}
    ignored: list[str] = []
    flags = sim.options.edit_flags
    if "customer_preferred_export_rule" in body:
        rule = body["customer_preferred_export_rule"]
        if rule not in EXPORT_RULES:
            raise _RefusedError(
                400,
                "invalid_request",
                f"customer_preferred_export_rule must be one of {', '.join(EXPORT_RULES)}",
            )
        if flags["edit_setting_energy_exports"] and flags["edit_setting_permission_to_export"]:
            updates["customer_preferred_export_rule"] = rule
        else:
            ignored.append("customer_preferred_export_rule (not editable on this site)")
    if "disallow_charge_from_grid_with_solar_installed" in body:
        value = body["disallow_charge_from_grid_with_solar_installed"]
        if not isinstance(value, bool):
            raise _RefusedError(
                400,
                "invalid_request",
                "disallow_charge_from_grid_with_solar_installed must be a boolean",
            )
        if flags["edit_setting_grid_charging"]:
            updates["disallow_charge_from_grid_with_solar_installed"] = value
        else:
            ignored.append(
                "disallow_charge_from_grid_with_solar_installed (not editable on this site)"
            )
    if not updates and not ignored:
        raise _RefusedError(
            400,
            "invalid_request",
            "give customer_preferred_export_rule and/or "
            "disallow_charge_from_grid_with_solar_installed",
        )
    return updates, "; ".join(ignored) or None


def _storm_mode(sim: Simulator, body: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise _RefusedError(400, "invalid_request", "enabled must be a boolean")
    return {"storm_mode_enabled": enabled}, None


def _time_of_use(sim: Simulator, body: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    settings = body.get("tou_settings")
    if not isinstance(settings, dict):
        raise _RefusedError(400, "invalid_request", "tou_settings must be an object")
    updates: dict[str, Any] = {}
    if "optimization_strategy" in settings:
        strategy = settings["optimization_strategy"]
        if strategy not in ("economics", "balanced"):
            raise _RefusedError(
                400, "invalid_request", "optimization_strategy must be economics or balanced"
            )
        updates["optimization_strategy"] = strategy
    if "tariff_content_v2" in settings:
        tariff = settings["tariff_content_v2"]
        if not isinstance(tariff, dict):
            raise _RefusedError(400, "invalid_request", "tariff_content_v2 must be an object")
        if sim.options.strict_tariff:
            issues = TariffReader(tariff).issues
            if issues:
                raise _RefusedError(400, "invalid_tariff", "; ".join(issues))
        now = sim.now()
        gap = sim.options.tariff_min_interval_seconds
        if gap > 0 and sim.last_tariff_write is not None:
            wait = gap - (now - sim.last_tariff_write).total_seconds()
            if wait > 0:
                raise _RefusedError(
                    429,
                    "too_many_requests",
                    f"tariff updated too recently; retry in {math.ceil(wait)} s",
                )
        sim.last_tariff_write = now
        updates["tariff_content_v2"] = tariff
    if not updates:
        raise _RefusedError(400, "invalid_request", "tou_settings needs tariff_content_v2")
    return updates, None


Parser = Callable[[Simulator, Mapping[str, Any]], tuple[dict[str, Any], str | None]]


def _write(parse: Parser) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        sim = _check_site(request)
        now = sim.now()
        raw: Any = None
        try:
            raw = await _body(request)
            updates, note = parse(sim, raw)
        except _RefusedError as refused:
            if raw is None:
                raw = (await request.text())[:2000]
            sim.log_write(
                WriteRecord(
                    time=now.isoformat(),
                    method=request.method,
                    path=request.path,
                    body=raw,
                    status=refused.status,
                    applied=False,
                    effective=None,
                    note=refused.description,
                )
            )
            response = _error(refused.status, refused.error, refused.description)
            if refused.status == 429 and sim.last_tariff_write is not None:
                wait = (
                    sim.options.tariff_min_interval_seconds
                    - (now - sim.last_tariff_write).total_seconds()
                )
                response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        effective = None
        if updates:
            effective = sim.powerwall.change(now, updates, sim.options.write_delay_seconds)
        sim.log_write(
            WriteRecord(
                time=now.isoformat(),
                method=request.method,
                path=request.path,
                body=raw,
                status=200,
                applied=bool(updates),
                effective=effective.isoformat() if effective else None,
                note=note,
            )
        )
        return web.json_response(UPDATED, dumps=dumps)

    return handler


def tesla_app(sim: Simulator) -> web.Application:
    """The Tesla sub-application (mount it at `/tesla`)."""
    app = web.Application(middlewares=[_tesla_middleware])
    app[SIM] = sim
    site = "/api/1/energy_sites/{site_id}"
    app.router.add_get("/api/1/products", get_products)
    app.router.add_get("/api/1/users/region", get_region)
    app.router.add_get("/api/metadata", get_metadata)
    app.router.add_get(f"{site}/live_status", get_live_status)
    app.router.add_get(f"{site}/site_info", get_site_info)
    app.router.add_get(f"{site}/calendar_history", get_calendar_history)
    app.router.add_post(f"{site}/time_of_use_settings", _write(_time_of_use))
    app.router.add_post(f"{site}/operation", _write(_operation))
    app.router.add_post(f"{site}/backup", _write(_backup))
    app.router.add_post(f"{site}/grid_import_export", _write(_grid_import_export))
    app.router.add_post(f"{site}/storm_mode", _write(_storm_mode))
    return app
