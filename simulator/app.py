"""Build the simulator as an aiohttp application, or start it in-process.

app = create_app(seed=42, clock=ManualClock(datetime(2025, 1, 15, tzinfo=UTC)))
handle = await start_simulator("127.0.0.1", 0, seed=42)   # port 0 = any free port
handle.amber_url   # http://127.0.0.1:PORT/amber/v1   (Amber base, ends in /v1)
handle.tesla_url   # http://127.0.0.1:PORT/tesla      (Tesla base: /api/1/... below it)
await handle.stop()
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import functools
import json
from typing import Any, cast

from aiohttp import web

from . import amber_api, control, tesla_api
from .clock import Clock, SimClock
from .core import SimOptions, Simulator

SIMULATOR = web.AppKey("simulator", Simulator)


async def _index(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    base = f"{request.scheme}://{request.host}"
    body = {
        "simulator": "tesla_amber_sync",
        "amber_base_url": f"{base}/amber/v1",
        "tesla_base_url": f"{base}/tesla",
        "control": f"{base}/_control/state",
        "energy_site_id": sim.energy_site_id,
        "amber_site_ids": [site.id for site in sim.prices.sites],
        "now": sim.now().isoformat(),
    }
    return web.json_response(body, dumps=functools.partial(json.dumps, indent=2))


async def _release_waiters(app: web.Application) -> None:
    """On shutdown, let requests held by timeout faults finish at once."""
    app[SIMULATOR].stop_event.set()


def create_app(seed: int = 42, clock: Clock | None = None, **options: Any) -> web.Application:
    """The whole simulator as one application: Amber at `/amber/v1`, Tesla at `/tesla`, control
    at `/_control`. `options` are `SimOptions` fields (sites, time_zone, amber_rate_limit, ...).
    Without a clock the simulator runs in real time from now."""
    sim = Simulator(SimOptions(seed=seed, **options), clock or SimClock())
    return app_for(sim)


def app_for(sim: Simulator) -> web.Application:
    """The application serving an existing `Simulator`."""
    app = web.Application()
    app[SIMULATOR] = sim
    app.router.add_get("/", _index)
    app.add_subapp("/amber/v1", amber_api.amber_app(sim))
    app.add_subapp("/tesla", tesla_api.tesla_app(sim))
    app.add_subapp("/_control", control.control_app(sim))
    # aiohttp 3.11's Signal annotation disagrees with aiosignal 1.4's generics; the call is fine.
    cast(Any, app.on_shutdown).append(_release_waiters)
    return app


@dataclass(slots=True)
class SimulatorHandle:
    """A running simulator."""

    url: str
    simulator: Simulator
    runner: web.AppRunner

    @property
    def amber_url(self) -> str:
        """Amber base URL (ends in /v1)."""
        return f"{self.url}/amber/v1"

    @property
    def tesla_url(self) -> str:
        """Tesla base URL (Fleet API and Teslemetry paths live below it)."""
        return f"{self.url}/tesla"

    @property
    def control_url(self) -> str:
        """Control API base URL."""
        return f"{self.url}/_control"

    async def stop(self) -> None:
        """Stop serving and release every held request."""
        await self.runner.cleanup()


async def start_simulator(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    seed: int = 42,
    clock: Clock | None = None,
    speed: float = 1.0,
    start: datetime | None = None,
    **options: Any,
) -> SimulatorHandle:
    """Serve the simulator on `host:port` (port 0 picks a free one) and return its handle.

    Give either a `clock`, or `start`/`speed` for a `SimClock`."""
    sim = Simulator(SimOptions(seed=seed, **options), clock or SimClock(start, speed))
    runner = web.AppRunner(app_for(sim), access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    shown = f"[{bound[0]}]" if ":" in str(bound[0]) else str(bound[0])
    return SimulatorHandle(url=f"http://{shown}:{bound[1]}", simulator=sim, runner=runner)
