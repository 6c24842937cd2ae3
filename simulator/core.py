"""The simulator's state in one place: clock, models, faults, limits, counters and the write log.

The HTTP modules (`amber_api`, `tesla_api`, `control`) only translate between HTTP and this
object; everything they change or read lives here.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from . import noise
from .battery import Powerwall
from .clock import Clock, ControllableClock, SimClock
from .faults import FaultRegistry
from .household import Household, HouseholdConfig
from .prices import PriceModel
from .ratelimit import SlidingWindowLimiter
from .sites import make_sites

EDIT_FLAGS = (
    "edit_setting_permission_to_export",
    "edit_setting_grid_charging",
    "edit_setting_energy_exports",
)


@dataclass(slots=True)
class SimOptions:
    """Everything that shapes a simulator run. All of it can be given to `create_app`; the
    fields marked live can also be changed while running via `POST /_control/config`."""

    seed: int = 42
    sites: int = 1
    time_zone: str = "Australia/Sydney"
    site_name: str = "Home Energy"
    capacity_wh: float = 13500.0
    max_power_w: float = 5000.0
    initial_percent: float = 60.0
    pv_watts: float = 6600.0  # DC size of the solar array (0 = a house without solar)
    # live:
    amber_rate_limit: int = 50
    amber_rate_window: int = 300
    tesla_rate_limit: int | None = None  # e.g. 30 (Teslemetry: 30 per 60 s); None = unlimited
    tesla_rate_window: int = 60
    estimate_seconds: float = 30.0
    # Amber's look-ahead: 0 = AEMO's pre-dispatch horizon (to 04:00 NEM of the next trading day,
    # a day more once the run published at `predispatch_minute` NEM time is out); more = always
    # that many hours (the old, always-long world). 5-minute forecasts reach `five_minute_hours`.
    horizon_hours: float = 0.0
    predispatch_minute: int = 12 * 60 + 30
    five_minute_hours: float = 1.0
    write_delay_seconds: float = 0.0
    tariff_min_interval_seconds: float = 0.0
    strict_tariff: bool = False
    no_pricing_constraint: bool = True
    report_time_zone: bool = True
    fault_delay_seconds: float = 60.0
    edit_flags: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(EDIT_FLAGS, True))
    omit_fields: dict[str, list[str]] = field(default_factory=dict)


LIVE_OPTIONS = frozenset(
    {
        "amber_rate_limit",
        "amber_rate_window",
        "tesla_rate_limit",
        "tesla_rate_window",
        "estimate_seconds",
        "horizon_hours",
        "predispatch_minute",
        "five_minute_hours",
        "write_delay_seconds",
        "tariff_min_interval_seconds",
        "strict_tariff",
        "no_pricing_constraint",
        "report_time_zone",
        "fault_delay_seconds",
        "edit_flags",
        "omit_fields",
    }
)


class ConfigError(ValueError):
    """A control-API configuration change was refused."""


@dataclass(slots=True)
class WriteRecord:
    """One write the Tesla API received."""

    time: str
    method: str
    path: str
    body: Any
    status: int
    applied: bool
    effective: str | None
    note: str | None = None


class Simulator:
    """All state of one simulator instance."""

    def __init__(self, options: SimOptions | None = None, clock: Clock | None = None) -> None:
        self.options = options or SimOptions()
        self.clock: Clock = clock or SimClock()
        o = self.options
        self.zone = ZoneInfo(o.time_zone)
        self.prices = PriceModel(
            o.seed,
            make_sites(o.seed, o.sites),
            estimate_seconds=o.estimate_seconds,
            horizon_hours=o.horizon_hours,
            predispatch_minute=o.predispatch_minute,
            five_minute_hours=o.five_minute_hours,
        )
        self.household = Household(o.seed, self.zone, HouseholdConfig(pv_dc_watts=o.pv_watts))
        self.powerwall = Powerwall(
            start=self.clock.now(),
            zone=self.zone,
            household=self.household,
            capacity_wh=o.capacity_wh,
            max_power_w=o.max_power_w,
            initial_percent=o.initial_percent,
            no_pricing_constraint=o.no_pricing_constraint,
        )
        self.faults = FaultRegistry(o.fault_delay_seconds)
        self.amber_limiter = SlidingWindowLimiter(o.amber_rate_limit, o.amber_rate_window)
        self.tesla_limiter = SlidingWindowLimiter(o.tesla_rate_limit or 1, o.tesla_rate_window)
        self.calls: Counter[str] = Counter()
        self.calls_by_route: Counter[str] = Counter()
        self.write_log: list[WriteRecord] = []
        self.last_tariff_write: datetime | None = None
        self.stop_event = asyncio.Event()
        self.energy_site_id = 10**15 + int(noise.unit(o.seed, "energy-site") * 9 * 10**14)
        serial = "".join(
            "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"[int(noise.unit(o.seed, "serial", k) * 33)]
            for k in range(10)
        )
        self.gateway_serial = f"GF22{serial}"
        self.gateway_id = f"1232100-00-J--{self.gateway_serial}"
        self.battery_serial = f"TG12{serial[::-1]}"
        self.site_uid = f"STE20240615-{int(noise.unit(o.seed, 'ste') * 99999):05d}"
        self.asset_site_id = f"{int(noise.unit(o.seed, 'asset') * 16**12):012x}"

    def now(self) -> datetime:
        """The simulated time."""
        return self.clock.now()

    def record_call(self, method: str, path: str, route: str | None) -> None:
        """Count a request by path and by route pattern."""
        self.calls[f"{method} {path}"] += 1
        self.calls_by_route[f"{method} {route or path}"] += 1

    def log_write(self, record: WriteRecord) -> None:
        """Remember a write."""
        self.write_log.append(record)

    # --- configuration ----------------------------------------------------------------------

    def configure(self, updates: Mapping[str, Any]) -> dict[str, Any]:
        """Change live options; refuse unknown names and wrong types. Returns the new options."""
        unknown = sorted(set(updates) - LIVE_OPTIONS)
        if unknown:
            raise ConfigError(f"not a live option: {', '.join(unknown)}")
        types = {f.name: f.type for f in fields(SimOptions)}
        o = self.options
        for name, value in updates.items():
            self._check_type(name, str(types[name]), value)
            new_value = value
            if name == "edit_flags":
                flags = dict(o.edit_flags)
                for flag, on in value.items():
                    if flag not in EDIT_FLAGS or not isinstance(on, bool):
                        raise ConfigError(f"edit_flags takes {', '.join(EDIT_FLAGS)} as booleans")
                    flags[flag] = on
                new_value = flags
            setattr(o, name, new_value)
        self.amber_limiter.configure(o.amber_rate_limit, o.amber_rate_window)
        self.tesla_limiter.configure(o.tesla_rate_limit or 1, o.tesla_rate_window)
        self.prices.estimate_seconds = o.estimate_seconds
        self.prices.horizon_hours = o.horizon_hours
        self.prices.predispatch_minute = o.predispatch_minute
        self.prices.five_minute_hours = o.five_minute_hours
        self.faults.default_delay = o.fault_delay_seconds
        if self.powerwall.no_pricing_constraint != o.no_pricing_constraint:
            self.powerwall.set_no_pricing_constraint(self.now(), o.no_pricing_constraint)
        return asdict(o)

    @staticmethod
    def _check_type(name: str, kind: str, value: Any) -> None:
        ok: bool
        if kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        elif kind == "int | None":
            ok = value is None or (
                isinstance(value, int) and not isinstance(value, bool) and value > 0
            )
        elif kind == "float":
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        elif kind == "dict[str, bool]":
            ok = isinstance(value, dict)
        else:  # dict[str, list[str]]
            ok = isinstance(value, dict) and all(
                isinstance(v, list) and all(isinstance(x, str) for x in v) for v in value.values()
            )
        if not ok:
            raise ConfigError(f"{name}: expected {kind}, got {value!r}")

    def omit(self, where: str, body: dict[str, Any]) -> dict[str, Any]:
        """Drop the fields `omit_fields[where]` names (to imitate sites that leave them out)."""
        for name in self.options.omit_fields.get(where, []):
            body.pop(name, None)
        return body

    # --- control ----------------------------------------------------------------------------

    def reset(self, *, calls: bool, writes: bool, rate_limits: bool, faults: bool) -> None:
        """Forget counters, the write log, rate-limit windows and/or faults."""
        if calls:
            self.calls.clear()
            self.calls_by_route.clear()
        if writes:
            self.write_log.clear()
        if rate_limits:
            self.amber_limiter.reset()
            self.tesla_limiter.reset()
        if faults:
            self.faults.clear()

    def state(self) -> dict[str, Any]:
        """Everything a test or a curious human wants to see, as JSON."""
        now = self.now()
        view = self.powerwall.live(now)
        s = self.powerwall.settings
        speed = self.clock.speed if isinstance(self.clock, ControllableClock) else None
        stamp = now.timestamp()
        return {
            "now": now.isoformat(),
            "local_time": now.astimezone(self.zone).isoformat(),
            "speed": speed,
            "seed": self.options.seed,
            "tesla": {
                "energy_site_id": self.energy_site_id,
                "default_real_mode": s.default_real_mode,
                "backup_reserve_percent": s.backup_reserve_percent,
                "customer_preferred_export_rule": s.customer_preferred_export_rule,
                "disallow_charge_from_grid_with_solar_installed": (
                    s.disallow_charge_from_grid_with_solar_installed
                ),
                "storm_mode_enabled": s.storm_mode_enabled,
                "storm_mode_active": view.storm_mode_active,
                "optimization_strategy": s.optimization_strategy,
                "battery": {
                    "percentage_charged": round(view.percentage_charged, 3),
                    "energy_left_wh": round(view.energy_left, 1),
                    "capacity_wh": self.powerwall.capacity_wh,
                    "battery_power_w": round(view.flow.battery),
                    "grid_power_w": round(view.flow.grid),
                    "solar_power_w": round(view.flow.solar),
                    "load_power_w": round(view.flow.load),
                    "action": view.flow.action,
                },
                "stored_plan": s.tariff_content_v2,
                "plan_issues": list(self.powerwall.reader.issues),
                "plan_next_24h": self.powerwall.slot_plan(now),
                "pending_writes": [
                    {"effective": p.effective.isoformat(), "updates": p.updates}
                    for p in self.powerwall.pending
                ],
                "write_log": [asdict(record) for record in self.write_log],
                "energy_totals_wh": self.powerwall.totals.to_json(),
                "curtailed_solar_wh": round(self.powerwall.curtailed_wh, 2),
                "history_start": self.powerwall.history_start.isoformat(),
            },
            "amber": {
                "sites": [site.to_json() for site in self.prices.sites],
                "horizon_end": self.prices.horizon_end(now).isoformat(),
                "forced_days": self.prices.forced_days(),
                "rate_limit": {
                    "limit": self.amber_limiter.limit,
                    "window": self.amber_limiter.window,
                    "used": {
                        _mask(key): used for key, used in self.amber_limiter.usage(stamp).items()
                    },
                },
            },
            "calls": dict(sorted(self.calls.items())),
            "calls_by_route": dict(sorted(self.calls_by_route.items())),
            "faults": self.faults.to_json(),
            "options": asdict(self.options),
        }


def _mask(key: str) -> str:
    return key if len(key) <= 8 else key[:8] + "..."
