"""Amber's public API (v1) over HTTP, mounted at `/amber/v1`.

Auth: `Authorization: Bearer psk_...` (any key starting `psk_`). Every response carries the
`RateLimit-*` headers of the caller's key; over the limit the answer is 429
`{"message": "Too Many Requests"}`. Errors are `{"message": ...}` with Amber's status codes.
"""

from __future__ import annotations

from datetime import date, timedelta
import functools
import json

from aiohttp import web

from .core import Simulator
from .faults import Handler, respond_with_fault
from .prices import MAX_INTERVALS, nem_date
from .sites import AmberSite

SERVICE = "amber"

dumps = functools.partial(json.dumps, separators=(",", ":"))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status, dumps=dumps)


def _status_error(status: int) -> web.Response:
    messages = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        422: "Unprocessable Entity",
        429: "Too Many Requests",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    return _error(status, messages.get(status, "Error"))


def _token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _sim(request: web.Request) -> Simulator:
    sim: Simulator = request.config_dict[SIM]
    return sim


SIM = web.AppKey("amber_simulator", Simulator)


@web.middleware
async def _amber_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    sim = _sim(request)
    route = request.match_info.route.resource
    sim.record_call(request.method, request.path, route.canonical if route else None)
    token = _token(request)
    key = token or "anonymous"
    now = sim.now().timestamp()
    fault = sim.faults.take(SERVICE, request.method, request.path)
    if fault is not None:
        response = await respond_with_fault(fault, request, handler, _status_error, sim.stop_event)
        decision = sim.amber_limiter.peek(key, now)
        headers = decision.headers()
        if fault.kind == "status" and fault.status == 429:
            headers["RateLimit-Remaining"] = "0"
            if fault.retry_after is not None:
                headers["RateLimit-Reset"] = response.headers["Retry-After"]
        if not response.prepared:
            response.headers.update(headers)
        return response
    decision = sim.amber_limiter.hit(key, now)
    if not decision.allowed:
        response = _error(429, "Too Many Requests")
        response.headers.update(decision.headers())
        return response
    if token is None or not token.startswith("psk_"):
        response = _error(401, "Unauthorized" if token is None else "Invalid API key")
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = _error(exc.status, exc.reason)
    response.headers.update(decision.headers())
    return response


def _int_param(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(reason=f"{name} must be an integer") from None
    if value < 0:
        raise web.HTTPBadRequest(reason=f"{name} must not be negative")
    return value


def _resolution(request: web.Request) -> int | None:
    value = _int_param(request, "resolution", None)
    if value is not None and value not in (5, 30):
        raise web.HTTPBadRequest(reason="resolution must be 5 or 30")
    return value


def _site_or_404(request: web.Request) -> AmberSite:
    sim = _sim(request)
    try:
        return sim.prices.site(request.match_info["site_id"])
    except KeyError:
        raise web.HTTPNotFound(reason="Site not found") from None


async def get_sites(request: web.Request) -> web.Response:
    """`GET /sites`."""
    sim = _sim(request)
    return web.json_response([site.to_json() for site in sim.prices.sites], dumps=dumps)


async def get_current_prices(request: web.Request) -> web.Response:
    """`GET /sites/{site_id}/prices/current?next=&previous=&resolution=`."""
    sim = _sim(request)
    site = _site_or_404(request)
    next_count = _int_param(request, "next", 0) or 0
    previous = _int_param(request, "previous", 0) or 0
    resolution = _resolution(request)
    if next_count + previous > MAX_INTERVALS:
        return _error(422, f"Requested number of intervals is greater than {MAX_INTERVALS}")
    body = sim.prices.published(sim.now(), next_count, previous, resolution, site)
    return web.json_response(body, dumps=dumps)


def _date_param(request: web.Request, name: str, default: date) -> date:
    raw = request.query.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise web.HTTPBadRequest(reason=f"{name} must be a date (YYYY-MM-DD)") from None


async def get_prices(request: web.Request) -> web.Response:
    """`GET /sites/{site_id}/prices?startDate=&endDate=&resolution=` (ignores next/previous)."""
    sim = _sim(request)
    site = _site_or_404(request)
    now = sim.now()
    today = nem_date(now)
    start = _date_param(request, "startDate", today)
    end = _date_param(request, "endDate", today)
    resolution = _resolution(request)
    if end < start:
        return _error(400, "endDate must not be before startDate")
    if end - start > timedelta(days=7):
        return _error(422, "Requested date range is greater than 7 days")
    body = sim.prices.published_between(now, start, end, resolution, site)
    return web.json_response(body, dumps=dumps)


def amber_app(sim: Simulator) -> web.Application:
    """The Amber sub-application (mount it at `/amber/v1`)."""
    app = web.Application(middlewares=[_amber_middleware])
    app[SIM] = sim
    app.router.add_get("/sites", get_sites)
    app.router.add_get("/sites/{site_id}/prices/current", get_current_prices)
    app.router.add_get("/sites/{site_id}/prices", get_prices)
    return app
