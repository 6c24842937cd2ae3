"""Amber and Tesla at the HTTP boundary for the replay benchmark (`bench/replay.py`).

Both answer through Home Assistant's `AiohttpClientMocker`, so the integration's real clients,
parsing and retries run. Amber answers with exactly what the simulator's price model says Amber had
published at the (frozen) moment the request arrives; Tesla stores what is written and serves it
back from `site_info`. Each answer can take a network round trip (`latency`, seconds of simulated
time, half before the server acts and half after), every call is recorded with its time, and the
CPU spent inside these fakes is counted so that the benchmark can leave it out of the
integration's own figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
import json
import re
import time
from typing import Any

from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from yarl import URL

from custom_components.tesla_amber_sync.api.amber import AMBER_BASE_URL
from custom_components.tesla_amber_sync.api.tesla import TESLEMETRY_BASE_URL
from simulator.prices import PriceModel
from simulator.sites import AmberSite

ENERGY_SITE_ID = 1234567890123
SITE_NAME = "Home Powerwall"
AMBER_TOKEN = "psk_bench_replay_token_0123456789"  # noqa: S105 (a fake)
TESLEMETRY_TOKEN = "teslemetry_bench_replay_token"  # noqa: S105 (a fake)

Handler = Callable[[str, URL, Any], Awaitable[AiohttpClientMockResponse]]


@dataclass(frozen=True, slots=True)
class Call:
    """One request as the server saw it."""

    at: float  # POSIX seconds (simulated) when the server handled it
    service: str  # "amber" | "tesla"
    method: str
    op: str  # "sites", "prices", "products", "live_status", "site_info", "time_of_use_settings"...


@dataclass(frozen=True, slots=True)
class Write:
    """A plan the Powerwall accepted, and when."""

    at: float
    tariff: dict[str, Any]


@dataclass
class Latency:
    """Simulated round trips, seconds (0 = instant answers)."""

    amber: float = 0.3
    tesla_read: float = 0.5
    tesla_write: float = 1.5


@dataclass
class Clouds:
    """Fake Amber + Tesla, shared call log and CPU counter."""

    model: PriceModel
    site: AmberSite
    latency: Latency = field(default_factory=Latency)
    calls: list[Call] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    cpu: float = 0.0  # process-CPU seconds spent inside the fakes
    tariff: dict[str, Any] | None = None
    initial_tariff: dict[str, Any] = field(default_factory=lambda: user_tariff())

    def __post_init__(self) -> None:
        self.tariff = json.loads(json.dumps(self.initial_tariff))

    def register(self, mocker: AiohttpClientMocker) -> None:
        """Answer everything under Amber's and Teslemetry's base URLs."""
        for base, handler in ((AMBER_BASE_URL, self._amber), (TESLEMETRY_BASE_URL, self._tesla)):
            pattern = re.compile("^" + re.escape(base.rstrip("/")) + "(/|$)")
            for method in ("get", "post"):
                mocker.request(method, pattern, side_effect=handler)

    # --- plumbing ---------------------------------------------------------------------------------

    async def _timed(
        self, delay: float, work: Callable[[], tuple[int, Any, dict[str, str]]]
    ) -> tuple[int, str, dict[str, str]]:
        """Half the round trip out, the server's work (CPU counted), half back."""
        if delay > 0:
            await asyncio.sleep(delay / 2)
        began = time.process_time()
        try:
            status, payload, headers = work()
            text = json.dumps(payload)
        finally:
            self.cpu += time.process_time() - began
        if delay > 0:
            await asyncio.sleep(delay / 2)
        return status, text, headers

    def _log(self, service: str, method: str, op: str) -> None:
        self.calls.append(Call(dt_util.utcnow().timestamp(), service, method.upper(), op))

    # --- Amber ------------------------------------------------------------------------------------

    async def _amber(self, method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        path = url.path[len(URL(AMBER_BASE_URL).path.rstrip("/")) :]
        query = dict(url.query)

        def work() -> tuple[int, Any, dict[str, str]]:
            headers = {
                "RateLimit-Limit": "50",
                "RateLimit-Remaining": "45",
                "RateLimit-Reset": "120",
                "RateLimit-Policy": "50;w=300",
            }
            if method.upper() == "GET" and path == "/sites":
                self._log("amber", method, "sites")
                return 200, [self.site.to_json()], headers
            match = re.fullmatch(r"/sites/([^/]+)/prices/current", path)
            if method.upper() == "GET" and match:
                # A call for settled prices only (next=0) is the entry's history catch-up.
                self._log("amber", method, "history" if query.get("next") == "0" else "prices")
                if match.group(1) != self.site.id:
                    return 404, {"message": "Site not found"}, headers
                body = self.model.published(
                    dt_util.utcnow(),
                    next=int(query.get("next", 0)),
                    previous=int(query.get("previous", 0)),
                    resolution=int(query.get("resolution", 5)),
                    site=self.site,
                )
                return 200, body, headers
            self._log("amber", method, "unknown")
            return 404, {"message": "Not Found"}, headers

        status, text, headers = await self._timed(self.latency.amber, work)
        return AiohttpClientMockResponse(method, url, status=status, text=text, headers=headers)

    # --- Tesla ------------------------------------------------------------------------------------

    async def _tesla(self, method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        path = url.path
        match = re.fullmatch(r"/api/1/energy_sites/(\d+)/(\w+)", path)
        if path == "/api/1/products":
            op = "products"
        elif match is not None:
            op = match.group(2)
        else:
            op = path
        write = method.upper() == "POST"

        def work() -> tuple[int, Any, dict[str, str]]:
            self._log("tesla", method, op)
            ok = {"response": {"code": 201, "message": "Updated"}}
            if op == "products":
                return 200, {"response": [product_json()], "count": 1}, {}
            if match is None or int(match.group(1)) != ENERGY_SITE_ID:
                return 404, {"response": None, "error": "not_found", "error_description": ""}, {}
            if op == "live_status":
                return 200, {"response": live_json()}, {}
            if op == "site_info":
                return 200, {"response": site_info_json(self.tariff, self.site.time_zone)}, {}
            if op == "calendar_history":
                return 200, {"response": {"serial_number": "X", "time_series": []}}, {}
            if op == "time_of_use_settings" and write:
                # What Tesla stores is a copy of the JSON it received.
                tariff = json.loads(json.dumps(data["tou_settings"]["tariff_content_v2"]))
                self.tariff = tariff
                self.writes.append(Write(dt_util.utcnow().timestamp(), tariff))
                return 200, ok, {}
            if write:
                return 200, ok, {}
            return 404, {"response": None, "error": "unknown", "error_description": ""}, {}

        delay = self.latency.tesla_write if write else self.latency.tesla_read
        status, text, headers = await self._timed(delay, work)
        return AiohttpClientMockResponse(method, url, status=status, text=text, headers=headers)


def product_json() -> dict[str, Any]:
    """The one energy product on the account."""
    return {
        "energy_site_id": ENERGY_SITE_ID,
        "resource_type": "battery",
        "site_name": SITE_NAME,
        "id": "STE20240101-00001",
        "gateway_id": "1152100-00-E--TG0123456789AB",
        "energy_left": 9000.5,
        "total_pack_energy": 13500,
        "percentage_charged": 66.7,
        "battery_type": "ac_powerwall",
        "backup_capable": True,
        "battery_power": -1500,
        "storm_mode_enabled": False,
        "components": {"battery": True, "solar": True, "grid": True, "load_meter": True},
        "features": {"rate_plan_manager_no_pricing_constraint": False},
    }


def live_json() -> dict[str, Any]:
    """`live_status` in watts (constant: the benchmark is about prices)."""
    return {
        "solar_power": 4210.0,
        "energy_left": 9000.5,
        "total_pack_energy": 13500,
        "percentage_charged": 66.67,
        "backup_capable": True,
        "battery_power": -1500.0,
        "load_power": 1250.0,
        "grid_status": "Active",
        "grid_services_active": False,
        "grid_power": -1460.0,
        "generator_power": 0,
        "island_status": "on_grid",
        "storm_mode_active": False,
        "timestamp": "2025-01-15T14:00:00+11:00",
        "wall_connectors": [],
    }


def site_info_json(tariff: dict[str, Any] | None, zone: str = "Australia/Sydney") -> dict[str, Any]:
    """`site_info` with the stored plan, in Time-Based Control, in the Amber site's zone."""
    return {
        "id": "STE20240101-00001",
        "site_name": SITE_NAME,
        "backup_reserve_percent": 20,
        "default_real_mode": "autonomous",
        "installation_date": "2024-01-01T10:00:00+11:00",
        "user_settings": {"storm_mode_enabled": False},
        "components": {
            "solar": True,
            "battery": True,
            "grid": True,
            "backup": True,
            "load_meter": True,
            "storm_mode_capable": True,
            "customer_preferred_export_rule": "battery_ok",
            "disallow_charge_from_grid_with_solar_installed": False,
        },
        "version": "24.44.1",
        "battery_count": 1,
        "tou_settings": {"optimization_strategy": "economics", "schedule": []},
        "nameplate_power": 5000,
        "nameplate_energy": 13500,
        "installation_time_zone": zone,
        "tariff_content_v2": json.loads(json.dumps(tariff)) if tariff is not None else None,
    }


def user_tariff() -> dict[str, Any]:
    """The user's own flat plan (30 c buy, 5 c sell), held before the integration's first write."""
    window = {
        "fromDayOfWeek": 0,
        "toDayOfWeek": 6,
        "fromHour": 0,
        "fromMinute": 0,
        "toHour": 0,
        "toMinute": 0,
    }
    season = {
        "fromMonth": 1,
        "fromDay": 1,
        "toMonth": 12,
        "toDay": 31,
        "tou_periods": {"ALL": {"periods": [window]}},
    }
    return {
        "version": 1,
        "code": "USER:FLAT",
        "name": "My flat plan",
        "utility": "Someone Energy",
        "currency": "AUD",
        "daily_charges": [{"name": "Supply", "amount": 1.1}],
        "demand_charges": {"ALL": {"rates": {"ALL": 0}}},
        "energy_charges": {"ALL": {"rates": {"ALL": 0}}, "Year": {"rates": {"ALL": 0.3}}},
        "seasons": {"Year": season},
        "sell_tariff": {
            "name": "My flat plan",
            "utility": "Someone Energy",
            "daily_charges": [{"name": "Charge", "amount": 0}],
            "demand_charges": {"ALL": {"rates": {"ALL": 0}}},
            "energy_charges": {"ALL": {"rates": {"ALL": 0}}, "Year": {"rates": {"ALL": 0.05}}},
            "seasons": {"Year": season},
        },
    }
