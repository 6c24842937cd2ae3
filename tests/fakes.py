"""Fake Amber and Tesla clouds at the HTTP boundary, shaped like the real APIs (APIS.md).

They answer through Home Assistant's `aioclient_mock`, so the integration's real clients, retries
and parsing all run. Responses are computed from the (frozen) current time, faults can be queued
per call, and every request is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import ClientConnectorError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from yarl import URL

from simulator.prices import aemo_horizon_end

AMBER_URL = "https://api.amber.com.au/v1"
TESLEMETRY_URL = "https://api.teslemetry.com"
FLEET_NA_URL = "https://fleet-api.prd.na.vn.cloud.tesla.com"
FLEET_EU_URL = "https://fleet-api.prd.eu.vn.cloud.tesla.com"
SYDNEY = ZoneInfo("Australia/Sydney")
NEM = ZoneInfo("Australia/Brisbane")  # UTC+10 all year, like NEM time

AMBER_TOKEN = "psk_amber_secret_token_0123456789"
TESLEMETRY_TOKEN = "teslemetry_secret_token_abcdefghij"
AMBER_SITE_ID = "01J0000000000000000000SITE"
ENERGY_SITE_ID = 1234567890123


def floor_minutes(moment: datetime, minutes: int) -> datetime:
    """Start of the `minutes`-long interval holding `moment` (UTC-aligned)."""
    moment = moment.astimezone(UTC)
    base = moment.replace(second=0, microsecond=0)
    return base - timedelta(minutes=base.minute % minutes)


def default_price(channel: str, start: datetime) -> float:
    """A deterministic daily shape in c/kWh: constant within each half hour (easy to check).

    General: 20 c at night, 8 c midday, 45 c evening peak. Feed-in (Amber's sign: negative =
    you earn) mirrors the wholesale part.
    """
    local = start.astimezone(SYDNEY)
    half_hour = local.hour * 2 + local.minute // 30
    if 10 <= local.hour < 15:
        general = 8.0 + half_hour * 0.1
    elif 17 <= local.hour < 21:
        general = 45.0 + half_hour * 0.1
    else:
        general = 20.0 + half_hour * 0.1
    general = round(general, 2)
    if channel == "general":
        return general
    if channel == "feedIn":
        return round(-(general - 10.0) * 0.8, 2)
    return round(general * 0.6, 2)  # controlledLoad


@dataclass
class Fault:
    """One queued failure for matching calls."""

    status: int = 500
    body: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    exc: BaseException | None = None
    times: int = 1  # how many calls it hits; -1 = until cleared


@dataclass
class Call:
    """A recorded request."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: datetime


class FakeService:
    """Common request routing, faults and call log."""

    def __init__(self, base_url: str) -> None:
        self.base = URL(base_url)
        self.faults: dict[str, list[Fault]] = {}
        self.calls: list[Call] = []

    def fail(self, op: str, fault: Fault | None = None, **kwargs: Any) -> None:
        """Queue a fault for the named operation."""
        self.faults.setdefault(op, []).append(fault or Fault(**kwargs))

    def clear_faults(self) -> None:
        """Every call succeeds again."""
        self.faults.clear()

    def calls_to(self, op_path: str, method: str | None = None) -> list[Call]:
        """Recorded calls whose path ends with `op_path`."""
        return [
            c
            for c in self.calls
            if c.path.endswith(op_path) and (method is None or c.method == method)
        ]

    def _take_fault(self, op: str) -> Fault | None:
        queue = self.faults.get(op)
        if not queue:
            return None
        fault = queue[0]
        if fault.times > 0:
            fault.times -= 1
            if fault.times == 0:
                queue.pop(0)
        return fault

    def register(self, mock: AiohttpClientMocker) -> None:
        """Answer every request under the base URL."""
        pattern = re.compile("^" + re.escape(str(self.base)) + "(/|$)")
        for method in ("get", "post"):
            mock.request(method, pattern, side_effect=self._handle)

    def route(self, method: str, path: str) -> str | None:
        """The operation name for a request, or None when unknown."""
        raise NotImplementedError

    def answer(
        self, op: str, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Status, JSON body and headers for a successful call."""
        raise NotImplementedError

    async def _handle(self, method: str, url: URL, data: Any) -> AiohttpClientMockResponse:
        path = url.path[len(self.base.path.rstrip("/")) :]
        query = dict(url.query)
        self.calls.append(Call(method.upper(), path, query, copy.deepcopy(data), dt_util.utcnow()))
        op = self.route(method.upper(), path)
        if op is None:
            return AiohttpClientMockResponse(method, url, status=404, json={"message": "no route"})
        fault = self._take_fault(op) or self._take_fault("*")
        if fault is not None:
            if fault.exc is not None:
                return AiohttpClientMockResponse(method, url, exc=fault.exc)
            if fault.text is not None:
                return AiohttpClientMockResponse(
                    method, url, status=fault.status, text=fault.text, headers=fault.headers
                )
            return AiohttpClientMockResponse(
                method, url, status=fault.status, json=fault.body, headers=fault.headers
            )
        status, payload, headers = self.answer(op, method.upper(), path, query, data)
        return AiohttpClientMockResponse(
            method, url, status=status, text=json.dumps(payload), headers=headers
        )


def connection_refused() -> BaseException:
    """What aiohttp raises when nothing listens."""
    from unittest.mock import Mock

    return ClientConnectorError(Mock(), OSError(111, "Connection refused"))


class FakeAmber(FakeService):
    """Amber's `/sites` and `/sites/{id}/prices/current`."""

    def __init__(self, base_url: str = AMBER_URL) -> None:
        super().__init__(base_url)
        self.sites: list[dict[str, Any]] = [site_json()]
        self.price_fn: Callable[[str, datetime], float] = default_price
        # Seconds into each 5-minute interval during which the current price is an estimate.
        self.estimate_for = 0
        # Seconds into each interval before Amber publishes it (the previous one stays current).
        self.publish_delay = 0
        # None: AEMO's horizon, as Amber has it (15.5-40 h: see simulator.prices); a timedelta:
        # always that far ahead.
        self.horizon: timedelta | None = None
        self.spikes: dict[datetime, str] = {}  # interval start (UTC) -> spikeStatus
        self.demand_window: Callable[[datetime], bool] = lambda start: (
            16 <= start.astimezone(SYDNEY).hour < 20
        )
        self.mutate: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None
        # Answers as of this much later than now (negative: an old answer, from a cache or a
        # server whose clock is wrong).
        self.clock_offset = timedelta(0)
        self.rate_limit_remaining = 45
        self._signature: tuple[Any, ...] = ()
        self._cache: dict[tuple[Any, ...], dict[str, Any]] = {}

    def route(self, method: str, path: str) -> str | None:
        """sites or prices."""
        if method == "GET" and path == "/sites":
            return "sites"
        if method == "GET" and re.fullmatch(r"/sites/[^/]+/prices/current", path):
            return "prices"
        return None

    def answer(
        self, op: str, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Sites, or intervals computed from the current time."""
        headers = {
            "RateLimit-Limit": "50",
            "RateLimit-Remaining": str(self.rate_limit_remaining),
            "RateLimit-Reset": "120",
            "RateLimit-Policy": "50;w=300",
        }
        if op == "sites":
            return 200, self.sites, headers
        site_id = path.split("/")[2]
        site = next((s for s in self.sites if s["id"] == site_id), None)
        if site is None:
            return 404, {"message": "Site not found"}, headers
        previous = int(query.get("previous", 0))
        next_count = int(query.get("next", 0))
        resolution = int(query.get("resolution", 30))
        moment = dt_util.utcnow() + self.clock_offset
        intervals = self.intervals(site, moment, previous, next_count, resolution)
        if self.mutate is not None:
            intervals = self.mutate(intervals)
        return 200, intervals, headers

    def channels(self, site: dict[str, Any]) -> list[str]:
        """Channel types the site meters."""
        return [ch["type"] for ch in site["channels"]]

    def intervals(
        self,
        site: dict[str, Any],
        now: datetime,
        previous: int,
        next_count: int,
        resolution: int,
    ) -> list[dict[str, Any]]:
        """Amber's mixed response: 5-minute to the end of the hour, then 30-minute."""
        published = now - timedelta(seconds=self.publish_delay)
        size = 5 if resolution == 5 else 30
        current = floor_minutes(published, size)
        spans: list[tuple[datetime, int, str]] = []
        start = current
        for _ in range(previous):
            start -= timedelta(minutes=size)
            spans.insert(0, (start, size, "ActualInterval"))
        spans.append((current, size, "CurrentInterval"))
        cursor = current + timedelta(minutes=size)
        hour_end = floor_minutes(current, 60) + timedelta(hours=1)
        limit = aemo_horizon_end(now) if self.horizon is None else now + self.horizon
        while len(spans) - previous - 1 < next_count and cursor < limit:
            length = 5 if size == 5 and cursor < hour_end else 30
            spans.append((cursor, length, "ForecastInterval"))
            cursor += timedelta(minutes=length)
        estimate = (now - current).total_seconds() < self.estimate_for
        # Building intervals under freezegun is slow; the same inputs give the same interval.
        signature = (id(self.price_fn), id(self.demand_window), tuple(sorted(self.spikes.items())))
        if signature != self._signature:
            self._signature, self._cache = signature, {}
        result: list[dict[str, Any]] = []
        for channel in self.channels(site):
            for begin, length, kind in spans:
                key = (channel, begin.timestamp(), length, kind, estimate)
                cached = self._cache.get(key)
                if cached is None:
                    cached = self._cache[key] = self.interval_json(
                        channel, begin, length, kind, estimate=estimate
                    )
                result.append({k: dict(v) if isinstance(v, dict) else v for k, v in cached.items()})
        return result

    def interval_json(
        self, channel: str, start: datetime, length: int, kind: str, *, estimate: bool = False
    ) -> dict[str, Any]:
        """One interval with every field Amber sends."""
        end = start + timedelta(minutes=length)
        # A 30-minute interval's price is the mean of its 5-minute prices.
        prices = [self.price_fn(channel, start + timedelta(minutes=m)) for m in range(0, length, 5)]
        price = round(sum(prices) / len(prices), 5)
        spike = self.spikes.get(start, "none")
        body: dict[str, Any] = {
            "type": kind,
            "date": end.astimezone(NEM).date().isoformat(),
            "duration": length,
            "startTime": (start + timedelta(seconds=1)).isoformat().replace("+00:00", "Z"),
            "endTime": end.isoformat().replace("+00:00", "Z"),
            "nemTime": end.astimezone(NEM).isoformat(),
            "perKwh": price,
            "renewables": 42.5,
            "spotPerKwh": round(price * 0.4, 5),
            "channelType": channel,
            "spikeStatus": spike,
            "tariffInformation": {
                "period": "peak",
                "season": "default",
                "demandWindow": self.demand_window(start),
            },
            "descriptor": "high" if price > 30 else "neutral",
        }
        if kind != "ActualInterval":
            body["advancedPrice"] = {"low": price - 1, "predicted": price, "high": price + 2}
        if kind == "CurrentInterval":
            body["estimate"] = estimate
        return body


def site_json(
    site_id: str = AMBER_SITE_ID,
    nmi: str = "4102123456",
    *,
    interval_length: int = 5,
    controlled_load: bool = False,
    status: str = "active",
) -> dict[str, Any]:
    """An Amber site object."""
    channels = [
        {"identifier": "E1", "type": "general", "tariff": "EA116"},
        {"identifier": "B1", "type": "feedIn", "tariff": "EA116"},
    ]
    if controlled_load:
        channels.append({"identifier": "E2", "type": "controlledLoad", "tariff": "EA030"})
    return {
        "id": site_id,
        "nmi": nmi,
        "channels": channels,
        "network": "Ausgrid",
        "status": status,
        "activeFrom": "2024-01-01",
        "intervalLength": interval_length,
    }


class FakeTesla(FakeService):
    """Tesla energy-site API (Teslemetry and Fleet share it)."""

    def __init__(self, base_url: str = TESLEMETRY_URL) -> None:
        super().__init__(base_url)
        self.products: list[dict[str, Any]] = [product_json()]
        self.live: dict[str, Any] = live_json()
        # When set, `live_status` also carries these fields computed from the current time.
        self.live_fn: Callable[[datetime], dict[str, Any]] | None = None
        self.info: dict[str, Any] = site_info_json()
        self.history: list[dict[str, Any]] = []
        self.region = {"region": "na", "fleet_api_base_url": base_url}
        # Tesla's stored copy of a plan (a hook lets a test simulate a Powerwall that alters it).
        self.store_tariff: Callable[[dict[str, Any]], dict[str, Any]] = copy.deepcopy
        self.delay = 0.0

    def route(self, method: str, path: str) -> str | None:
        """Operation name from the path."""
        if path == "/api/1/products":
            return "products"
        if path == "/api/1/users/region":
            return "region"
        match = re.fullmatch(r"/api/1/energy_sites/(\d+)/(\w+)", path)
        if match is None:
            return None
        return match.group(2)

    @property
    def tariff_writes(self) -> list[dict[str, Any]]:
        """Every plan body POSTed, in order."""
        return [
            c.body["tou_settings"]["tariff_content_v2"]
            for c in self.calls_to("/time_of_use_settings", "POST")
        ]

    def answer(
        self, op: str, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Answer from the fake site's state; writes change it."""
        match = re.fullmatch(r"/api/1/energy_sites/(\d+)/\w+", path)
        if match and int(match.group(1)) not in {p["energy_site_id"] for p in self.products}:
            return 404, {"response": None, "error": "not_found", "error_description": ""}, {}
        ok = {"response": {"code": 201, "message": "Updated"}}
        if op == "products":
            return 200, {"response": self.products, "count": len(self.products)}, {}
        if op == "region":
            return 200, {"response": self.region}, {}
        if op == "live_status":
            live = dict(self.live)
            if self.live_fn is not None:
                live.update(self.live_fn(dt_util.utcnow()))
            return 200, {"response": live}, {}
        if op == "site_info":
            return 200, {"response": self.info}, {}
        if op == "calendar_history":
            return 200, {"response": {"serial_number": "X", "time_series": self.history}}, {}
        if op == "time_of_use_settings":
            self.info["tariff_content_v2"] = self.store_tariff(
                body["tou_settings"]["tariff_content_v2"]
            )
            return 200, ok, {}
        if op == "operation":
            self.info["default_real_mode"] = body["default_real_mode"]
            return 200, ok, {}
        if op == "backup":
            self.info["backup_reserve_percent"] = body["backup_reserve_percent"]
            return 200, ok, {}
        if op == "grid_import_export":
            self.info["components"].update(body)
            return 200, ok, {}
        if op == "storm_mode":
            self.info["user_settings"]["storm_mode_enabled"] = body["enabled"]
            return 200, ok, {}
        return 404, {"response": None, "error": "unknown"}, {}


def product_json(
    site_id: int = ENERGY_SITE_ID, name: str = "Home Powerwall", *, sell_above_buy: bool = False
) -> dict[str, Any]:
    """An energy product entry."""
    features: dict[str, bool] = {"rate_plan_manager_no_pricing_constraint": sell_above_buy}
    return {
        "energy_site_id": site_id,
        "resource_type": "battery",
        "site_name": name,
        "id": "STE20240101-00001",
        "gateway_id": "1152100-00-E--TG0123456789AB",
        "energy_left": 9000.5,
        "total_pack_energy": 13500,
        "percentage_charged": 66.7,
        "battery_type": "ac_powerwall",
        "backup_capable": True,
        "battery_power": -1500,
        "go_off_grid_test_banner_enabled": None,
        "storm_mode_enabled": False,
        "powerwall_onboarding_settings_set": True,
        "components": {"battery": True, "solar": True, "grid": True, "load_meter": True},
        "features": features,
    }


def live_json() -> dict[str, Any]:
    """`live_status` in watts."""
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
        "grid_services_power": 0,
        "generator_power": 0,
        "island_status": "on_grid",
        "storm_mode_active": False,
        "timestamp": "2025-01-15T14:00:00+11:00",
        "wall_connectors": [],
    }


def site_info_json() -> dict[str, Any]:
    """`site_info` with a user's own (non-Amber) plan on the Powerwall."""
    return {
        "id": "STE20240101-00001",
        "site_name": "Home Powerwall",
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
        "installation_time_zone": "Australia/Sydney",
        "max_site_meter_power_ac": 1000000000,
        "min_site_meter_power_ac": -1000000000,
        "tariff_content_v2": user_tariff(),
        "address": {"address_line1": "1 Example St", "city": "Sydney"},
    }


def user_tariff() -> dict[str, Any]:
    """The user's own flat plan, as the Powerwall held it before we came."""
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


async def forever() -> None:
    """Never returns (a hung server)."""
    await asyncio.Event().wait()


HTTP = HTTPStatus
