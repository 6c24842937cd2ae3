"""Tesla energy-site client for Teslemetry and Tesla Fleet: same paths, other base URL and token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date
import logging
from typing import Any

import aiohttp

from .amber import finite_number, parse_time
from .errors import BadResponseError, RegionError
from .http import HttpClient, Response
from .models import EnergyHistoryDay, EnergySite, LiveStatus, SiteInfo

_LOGGER = logging.getLogger(__name__)

TESLEMETRY_BASE_URL = "https://api.teslemetry.com"
FLEET_BASE_URLS = {
    "na": "https://fleet-api.prd.na.vn.cloud.tesla.com",
    "eu": "https://fleet-api.prd.eu.vn.cloud.tesla.com",
    "cn": "https://fleet-api.prd.cn.vn.cloud.tesla.cn",
}
TESLA_TIMEOUT = 30.0

OPERATION_MODES = ("autonomous", "self_consumption", "backup")
EXPORT_RULES = ("battery_ok", "pv_only", "never")

TokenProvider = Callable[[], Awaitable[str]]
RegionListener = Callable[[str, str], None]


def _envelope(resp: Response, op: str) -> Any:
    """The `response` member of Tesla's envelope."""
    if not isinstance(resp.payload, Mapping) or "response" not in resp.payload:
        raise BadResponseError(f"Tesla {op}: no 'response' in the reply")
    return resp.payload["response"]


def _dict(value: Any, op: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadResponseError(f"Tesla {op}: expected an object")
    return value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def parse_product(obj: Any) -> EnergySite | None:
    """An energy product, or None for vehicles and malformed entries."""
    if not isinstance(obj, Mapping):
        return None
    site_id = obj.get("energy_site_id")
    if isinstance(site_id, bool) or not isinstance(site_id, int):
        return None
    features = obj.get("features")
    components = obj.get("components")
    return EnergySite(
        energy_site_id=site_id,
        site_name=_str(obj.get("site_name")) or f"Energy site {site_id}",
        resource_type=_str(obj.get("resource_type")),
        gateway_id=_str(obj.get("gateway_id")),
        features=frozenset(
            str(k)
            for k, v in (features.items() if isinstance(features, Mapping) else [])
            if v is True
        )
        | frozenset(str(f) for f in (features if isinstance(features, list) else [])),
        components=dict(components) if isinstance(components, Mapping) else {},
    )


def parse_live_status(obj: Mapping[str, Any]) -> LiveStatus:
    """Live status with every non-number treated as not reported."""
    return LiveStatus(
        solar_power=finite_number(obj.get("solar_power")),
        battery_power=finite_number(obj.get("battery_power")),
        grid_power=finite_number(obj.get("grid_power")),
        load_power=finite_number(obj.get("load_power")),
        generator_power=finite_number(obj.get("generator_power")),
        percentage_charged=finite_number(obj.get("percentage_charged")),
        energy_left=finite_number(obj.get("energy_left")),
        total_pack_energy=finite_number(obj.get("total_pack_energy")),
        grid_status=_str(obj.get("grid_status")),
        island_status=_str(obj.get("island_status")),
        storm_mode_active=_bool(obj.get("storm_mode_active")),
        timestamp=parse_time(obj.get("timestamp")),
    )


def parse_site_info(obj: Mapping[str, Any]) -> SiteInfo:
    """Site configuration; the stored plan is kept only when it is an object."""
    components = obj.get("components")
    comps: Mapping[str, Any] = components if isinstance(components, Mapping) else {}
    tou = obj.get("tou_settings")
    tariff = obj.get("tariff_content_v2")
    if not isinstance(tariff, Mapping) and isinstance(tou, Mapping):
        tariff = tou.get("tariff_content_v2")
    user_settings = obj.get("user_settings")
    rule = comps.get("customer_preferred_export_rule")
    return SiteInfo(
        installation_time_zone=_str(obj.get("installation_time_zone")),
        default_real_mode=_str(obj.get("default_real_mode")),
        backup_reserve_percent=finite_number(obj.get("backup_reserve_percent")),
        export_rule=_str(rule),
        disallow_charge_from_grid_with_solar_installed=_bool(
            comps.get("disallow_charge_from_grid_with_solar_installed")
        ),
        optimization_strategy=_str(tou.get("optimization_strategy"))
        if isinstance(tou, Mapping)
        else None,
        tariff=dict(tariff) if isinstance(tariff, Mapping) else None,
        components=dict(comps),
        site_name=_str(obj.get("site_name")),
        nameplate_power=finite_number(obj.get("nameplate_power")),
        nameplate_energy=finite_number(obj.get("nameplate_energy")),
        storm_mode_enabled=_bool(user_settings.get("storm_mode_enabled"))
        if isinstance(user_settings, Mapping)
        else None,
    )


def parse_calendar_history(obj: Mapping[str, Any]) -> list[EnergyHistoryDay]:
    """Daily energy totals; entries without a date are skipped, non-numbers left out."""
    days: list[EnergyHistoryDay] = []
    for entry in obj.get("time_series") or []:
        if not isinstance(entry, Mapping):
            continue
        stamp = parse_time(entry.get("timestamp"))
        raw = entry.get("timestamp")
        day: date | None = None
        if isinstance(raw, str) and len(raw) >= 10:
            try:
                day = date.fromisoformat(raw[:10])  # the local date, as Tesla writes it
            except ValueError:
                day = None
        if day is None and stamp is not None:
            day = stamp.date()
        if day is None:
            continue
        totals = {
            key: number
            for key, value in entry.items()
            if key != "timestamp" and (number := finite_number(value)) is not None
        }
        days.append(EnergyHistoryDay(day=day, totals=totals))
    return days


class TeslaEnergyClient:
    """Energy-site calls on Teslemetry or the Tesla Fleet API."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: TokenProvider,
        *,
        base_url: str,
        follow_region: bool = False,
        on_region_change: RegionListener | None = None,
        timeout: float = TESLA_TIMEOUT,
    ) -> None:
        self._token = token
        self.base_url = base_url.rstrip("/")
        self._follow_region = follow_region
        self._on_region_change = on_region_change
        self._http = HttpClient(session, service="Tesla", timeout=timeout)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        op: str,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        retry: bool,
    ) -> Any:
        token = await self._token()
        try:
            resp = await self._http.request(
                method,
                f"{self.base_url}{path}",
                op=op,
                token=token,
                params=params,
                body=body,
                retry=retry,
            )
        except RegionError:
            if not self._follow_region:
                raise
            await self._move_region(token)
            resp = await self._http.request(
                method,
                f"{self.base_url}{path}",
                op=op,
                token=token,
                params=params,
                body=body,
                retry=retry,
            )
        return _envelope(resp, op)

    async def _move_region(self, token: str) -> None:
        """A 421 means the account lives in another region: ask Tesla which, and go there."""
        region, base_url = await self._fetch_region(token)
        _LOGGER.info("Tesla Fleet account is in region %s; using %s", region, base_url)
        self.base_url = base_url
        if self._on_region_change is not None:
            self._on_region_change(region, base_url)

    async def _fetch_region(self, token: str) -> tuple[str, str]:
        resp = await self._http.request(
            "GET",
            f"{self.base_url}/api/1/users/region",
            op="region",
            token=token,
            retry=True,
        )
        body = _dict(_envelope(resp, "region"), "region")
        region = _str(body.get("region"))
        base_url = _str(body.get("fleet_api_base_url"))
        if region is None or base_url is None or not base_url.startswith(("https://", "http://")):
            raise BadResponseError("Tesla region: no region or base URL in the reply")
        return region, base_url.rstrip("/")

    async def region(self) -> tuple[str, str]:
        """The account's Fleet region and base URL (`GET /api/1/users/region`)."""
        return await self._fetch_region(await self._token())

    async def products(self) -> list[EnergySite]:
        """Energy sites on the account (vehicles are ignored)."""
        body = await self._call("GET", "/api/1/products", op="products", retry=True)
        if not isinstance(body, list):
            raise BadResponseError("Tesla products: expected a list")
        return [site for site in map(parse_product, body) if site is not None]

    async def live_status(self, site_id: int) -> LiveStatus:
        """Power flows and charge level now."""
        body = await self._call(
            "GET", f"/api/1/energy_sites/{site_id}/live_status", op="live_status", retry=True
        )
        return parse_live_status(_dict(body, "live_status"))

    async def site_info(self, site_id: int) -> SiteInfo:
        """Configuration, including the plan the Powerwall holds."""
        body = await self._call(
            "GET", f"/api/1/energy_sites/{site_id}/site_info", op="site_info", retry=True
        )
        return parse_site_info(_dict(body, "site_info"))

    async def calendar_history(
        self, site_id: int, *, start: date, end: date, time_zone: str
    ) -> list[EnergyHistoryDay]:
        """Daily energy totals between two local dates (inclusive)."""
        body = await self._call(
            "GET",
            f"/api/1/energy_sites/{site_id}/calendar_history",
            op="calendar_history",
            params={
                "kind": "energy",
                "period": "day",
                "start_date": f"{start.isoformat()}T00:00:00Z",
                "end_date": f"{end.isoformat()}T23:59:59Z",
                "time_zone": time_zone,
            },
            retry=True,
        )
        return parse_calendar_history(_dict(body, "calendar_history"))

    async def set_tariff(self, site_id: int, tariff: Mapping[str, Any]) -> None:
        """Store a time-of-use plan. Idempotent, so connection failures are retried."""
        await self._call(
            "POST",
            f"/api/1/energy_sites/{site_id}/time_of_use_settings",
            op="time_of_use_settings",
            body={"tou_settings": {"tariff_content_v2": tariff}},
            retry=True,
        )

    async def set_operation_mode(self, site_id: int, mode: str) -> None:
        """`autonomous` (Time-Based Control), `self_consumption` or `backup`."""
        if mode not in OPERATION_MODES:
            raise ValueError(f"unknown operation mode {mode!r}")
        await self._call(
            "POST",
            f"/api/1/energy_sites/{site_id}/operation",
            op="operation",
            body={"default_real_mode": mode},
            retry=False,
        )

    async def set_backup_reserve(self, site_id: int, percent: int) -> None:
        """Backup reserve, 0..100 %."""
        if not 0 <= percent <= 100:
            raise ValueError("backup reserve must be 0..100")
        await self._call(
            "POST",
            f"/api/1/energy_sites/{site_id}/backup",
            op="backup",
            body={"backup_reserve_percent": percent},
            retry=False,
        )

    async def set_grid_import_export(
        self,
        site_id: int,
        *,
        export_rule: str | None = None,
        disallow_charge_from_grid: bool | None = None,
    ) -> None:
        """Export rule and/or grid-charging permission."""
        body: dict[str, Any] = {}
        if export_rule is not None:
            if export_rule not in EXPORT_RULES:
                raise ValueError(f"unknown export rule {export_rule!r}")
            body["customer_preferred_export_rule"] = export_rule
        if disallow_charge_from_grid is not None:
            body["disallow_charge_from_grid_with_solar_installed"] = disallow_charge_from_grid
        if not body:
            raise ValueError("nothing to change")
        await self._call(
            "POST",
            f"/api/1/energy_sites/{site_id}/grid_import_export",
            op="grid_import_export",
            body=body,
            retry=False,
        )

    async def set_storm_mode(self, site_id: int, enabled: bool) -> None:
        """Storm Watch on or off."""
        await self._call(
            "POST",
            f"/api/1/energy_sites/{site_id}/storm_mode",
            op="storm_mode",
            body={"enabled": enabled},
            retry=False,
        )
