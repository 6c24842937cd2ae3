"""The control API under `/_control` (no auth; refused unless the caller is on loopback).

- `GET    /_control/state`            everything: time, plan, mode, reserve, SoC, write log, calls
- `POST   /_control/faults`           inject a fault (see `faults.py`); `GET` lists them
- `DELETE /_control/faults[?service=]` clear faults; `DELETE /_control/faults/{id}` one fault
- `POST   /_control/time`             `{"set": ISO8601}`, `{"advance": seconds}`, `{"speed": x}`
- `POST   /_control/scenario`         `{"kind": "spike"|"negative"|"normal"|"clear",
                                      "date": NEM date, "region", "spike_start": "HH:MM",
                                      "spike_minutes", "spike_peak"}`,
                                      or `{"kind": "storm", "active": bool}`
- `POST   /_control/config`           change live options (see `core.SimOptions`)
- `POST   /_control/reset`            `{"calls", "writes", "rate_limits", "faults"}` (default all)
"""

from __future__ import annotations

from datetime import date, datetime, time
import functools
import ipaddress
import json
from typing import Any

from aiohttp import web

from .clock import ControllableClock
from .core import ConfigError, Simulator
from .faults import FaultSpecError, Handler
from .prices import nem_date

SIM = web.AppKey("control_simulator", Simulator)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=functools.partial(json.dumps, indent=2))


def _bad(message: str, status: int = 400) -> web.Response:
    return _json({"error": message}, status)


def _sim(request: web.Request) -> Simulator:
    sim: Simulator = request.config_dict[SIM]
    return sim


def _is_loopback(remote: str | None) -> bool:
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        return False


@web.middleware
async def _loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_loopback(request.remote):
        return _bad("the control API answers loopback callers only", 403)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return _bad(exc.reason, exc.status)


async def _object(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except json.JSONDecodeError:
        raise web.HTTPBadRequest(reason="the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(reason="the body must be a JSON object")
    return data


async def get_state(request: web.Request) -> web.Response:
    """Everything the simulator knows right now."""
    return _json(_sim(request).state())


async def post_fault(request: web.Request) -> web.Response:
    """Inject a fault."""
    sim = _sim(request)
    try:
        fault = sim.faults.add(await _object(request))
    except FaultSpecError as err:
        return _bad(str(err))
    return _json(fault.to_json(), 201)


async def get_faults(request: web.Request) -> web.Response:
    """List the faults in force."""
    return _json(_sim(request).faults.to_json())


async def delete_faults(request: web.Request) -> web.Response:
    """Clear all faults, or one service's."""
    service = request.query.get("service")
    return _json({"cleared": _sim(request).faults.clear(service)})


async def delete_fault(request: web.Request) -> web.Response:
    """Clear one fault by id."""
    try:
        fault_id = int(request.match_info["fault_id"])
    except ValueError:
        return _bad("fault id must be an integer")
    if not _sim(request).faults.remove(fault_id):
        return _bad("no such fault", 404)
    return _json({"cleared": 1})


async def post_time(request: web.Request) -> web.Response:
    """Set, move on or re-time the clock."""
    sim = _sim(request)
    clock = sim.clock
    if not isinstance(clock, ControllableClock):
        return _bad("this simulator's clock cannot be controlled", 409)
    body = await _object(request)
    try:
        if "set" in body:
            when = datetime.fromisoformat(str(body["set"]))
            if when.tzinfo is None:
                return _bad("set needs a UTC offset, e.g. 2025-01-15T09:00:00+10:00")
            clock.set(when)
        if "advance" in body:
            seconds = body["advance"]
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                return _bad("advance takes seconds")
            clock.advance(float(seconds))
        if "speed" in body:
            speed = body["speed"]
            if isinstance(speed, bool) or not isinstance(speed, int | float):
                return _bad("speed takes a number")
            clock.set_speed(float(speed))
    except ValueError as err:
        return _bad(str(err))
    now = sim.now()
    return _json(
        {
            "now": now.isoformat(),
            "local_time": now.astimezone(sim.zone).isoformat(),
            "speed": clock.speed,
        }
    )


def _parse_hhmm(raw: Any) -> time | None:
    if raw is None:
        return None
    try:
        return time.fromisoformat(str(raw))
    except ValueError:
        raise web.HTTPBadRequest(reason="spike_start takes HH:MM (NEM time)") from None


async def post_scenario(request: web.Request) -> web.Response:
    """Force a spike day, a negative-price day, a normal day, clear overrides, or a storm."""
    sim = _sim(request)
    body = await _object(request)
    kind = body.get("kind")
    if kind == "storm":
        active = body.get("active", True)
        if not isinstance(active, bool):
            return _bad("active must be a boolean")
        sim.powerwall.set_storm_active(sim.now(), active)
        return _json({"storm_active": active})
    if kind not in ("spike", "negative", "normal", "clear"):
        return _bad("kind must be spike, negative, normal, clear or storm")
    try:
        day = date.fromisoformat(body["date"]) if body.get("date") else nem_date(sim.now())
    except ValueError:
        return _bad("date takes YYYY-MM-DD (a NEM date)")
    region = body.get("region")
    if region is not None and not isinstance(region, str):
        return _bad("region must be a NEM region such as NSW1")
    if kind == "clear":
        sim.prices.clear_forced(day if body.get("date") else None)
    elif kind == "normal":
        sim.prices.force_day(day, spike=False, negative=False, region=region)
    elif kind == "negative":
        sim.prices.force_day(day, negative=True, region=region)
    else:
        minutes = body.get("spike_minutes")
        peak = body.get("spike_peak")
        if minutes is not None and (
            isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 5
        ):
            return _bad("spike_minutes must be an integer >= 5")
        if peak is not None and (isinstance(peak, bool) or not isinstance(peak, int | float)):
            return _bad("spike_peak is wholesale c/kWh")
        sim.prices.force_day(
            day,
            spike=True,
            region=region,
            spike_start=_parse_hhmm(body.get("spike_start")),
            spike_minutes=minutes,
            spike_peak=None if peak is None else float(peak),
        )
    return _json({"forced_days": sim.prices.forced_days()})


async def post_config(request: web.Request) -> web.Response:
    """Change live options."""
    sim = _sim(request)
    try:
        options = sim.configure(await _object(request))
    except ConfigError as err:
        return _bad(str(err))
    return _json(options)


async def post_reset(request: web.Request) -> web.Response:
    """Forget call counts, the write log, rate-limit windows and/or faults."""
    sim = _sim(request)
    body = await _object(request)
    parts = {
        name: bool(body.get(name, True)) for name in ("calls", "writes", "rate_limits", "faults")
    }
    sim.reset(**parts)
    return _json({"reset": [name for name, on in parts.items() if on]})


def control_app(sim: Simulator) -> web.Application:
    """The control sub-application (mount it at `/_control`)."""
    app = web.Application(middlewares=[_loopback_only])
    app[SIM] = sim
    app.router.add_get("/state", get_state)
    app.router.add_get("/faults", get_faults)
    app.router.add_post("/faults", post_fault)
    app.router.add_delete("/faults", delete_faults)
    app.router.add_delete("/faults/{fault_id}", delete_fault)
    app.router.add_post("/time", post_time)
    app.router.add_post("/scenario", post_scenario)
    app.router.add_post("/config", post_config)
    app.router.add_post("/reset", post_reset)
    return app
