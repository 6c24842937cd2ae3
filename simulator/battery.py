"""The simulated Powerwall: settings, state of charge, power flows and their energy totals.

Time moves in whole minutes on a fixed grid (minute boundaries since the epoch). Whenever anything
reads the battery it is first stepped up to the last minute boundary; the current, unfinished
minute is shown but not committed. So the state depends only on the clock and on when settings
changed (which take effect from the minute they fall in), never on how often anyone looked.

What the battery does each minute depends on the mode:

- `self_consumption`: store surplus solar, cover load from the battery down to the reserve.
- `backup` (and storm watch while a storm is active): charge to full from solar, and from the grid
  if grid charging is allowed; never discharge.
- `autonomous` (time-based control): act on the STORED plan. Every half-hour slot it looks at the
  plan's next 24 hours (buy, and sell where exports from the battery are allowed):
  * flat plan (no spread worth a cent): behave as self-consumption;
  * `export` at full power if this slot is among the dearest slots the stored energy can serve and
    its sell price is as good as any of them (export rule `battery_ok` only), else `discharge`
    to cover the house there;
  * `charge` from the grid at full power if this slot is among the cheapest slots before the
    dearest stretch that are needed to hold what the dearer slots will use (their forecast
    unmet load, or full power where exporting pays), less the solar surplus expected by then
    (the model forecasts solar and load perfectly); equal prices: the latest slots;
  * `discharge` to cover the house if the energy can be bought back cheaper before the next
    dear slot;
  * otherwise `hold`: keep the charge, store only surplus solar.

Limits everywhere: power (5 kW), capacity (13.5 kWh), the backup reserve (not discharged below;
topped up from the grid when below it and grid charging is allowed),
`disallow_charge_from_grid_with_solar_installed` (no grid charging at all), and the export rule
(`never`: solar is curtailed rather than exported; `pv_only`: the battery never exports).
Without the `rate_plan_manager_no_pricing_constraint` feature, a slot whose sell price exceeds
its buy price is treated as buy = sell, as Tesla documents.

Energy balance holds exactly at every step: solar + grid import + battery discharge = load + grid
export + battery charge. The state of charge moves by charge x sqrt(eta) and discharge / sqrt(eta)
(round trip eta = 90 %).
"""

from __future__ import annotations

from collections.abc import Mapping
import copy
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
import math
from typing import Any
from zoneinfo import ZoneInfo

from .household import Household
from .tariff import Rates, TariffReader

MINUTE = timedelta(minutes=1)
SLOT = timedelta(minutes=30)
HORIZON_SLOTS = 48
MAX_CATCH_UP = timedelta(days=14)  # a longer jump skips ahead without simulating the gap
MARGIN = 0.01  # currency/kWh a decision must be worth

MODES = ("autonomous", "self_consumption", "backup")
EXPORT_RULES = ("battery_ok", "pv_only", "never")

FLOW_FIELDS = (
    "solar_energy_exported",
    "generator_energy_exported",
    "grid_energy_imported",
    "grid_services_energy_imported",
    "grid_services_energy_exported",
    "grid_energy_exported_from_solar",
    "grid_energy_exported_from_generator",
    "grid_energy_exported_from_battery",
    "battery_energy_exported",
    "battery_energy_imported_from_grid",
    "battery_energy_imported_from_solar",
    "battery_energy_imported_from_generator",
    "consumer_energy_imported_from_grid",
    "consumer_energy_imported_from_solar",
    "consumer_energy_imported_from_battery",
    "consumer_energy_imported_from_generator",
)
_INDEX = {name: index for index, name in enumerate(FLOW_FIELDS)}


def floor_minute(when: datetime) -> datetime:
    """`when` rounded down to its minute (UTC)."""
    epoch = math.floor(when.timestamp())
    return datetime.fromtimestamp(epoch - epoch % 60, UTC)


def default_tariff() -> dict[str, Any]:
    """The plan the Powerwall holds before anyone writes one: a simple two-rate TOU plan."""
    windows = {
        "ON_PEAK": [(16, 21)],
        "OFF_PEAK": [(0, 16), (21, 24)],
    }
    tou_periods = {
        name: {
            "periods": [
                {
                    "fromDayOfWeek": 0,
                    "toDayOfWeek": 6,
                    "fromHour": start,
                    "fromMinute": 0,
                    "toHour": end,
                    "toMinute": 0,
                }
                for start, end in spans
            ]
        }
        for name, spans in windows.items()
    }
    season = {"fromMonth": 1, "fromDay": 1, "toMonth": 12, "toDay": 31, "tou_periods": tou_periods}
    zero = {"ALL": {"rates": {"ALL": 0}}}
    return {
        "version": 1,
        "code": "SIM_DEFAULT_TOU",
        "name": "Simulator default TOU",
        "utility": "Simulated Utility",
        "currency": "AUD",
        "daily_charges": [{"name": "Charge", "amount": 0}],
        "demand_charges": copy.deepcopy(zero),
        "energy_charges": {
            **copy.deepcopy(zero),
            "Year": {"rates": {"ON_PEAK": 0.45, "OFF_PEAK": 0.25}},
        },
        "seasons": {"Year": season},
        "sell_tariff": {
            "name": "Simulator default TOU",
            "utility": "Simulated Utility",
            "daily_charges": [{"name": "Charge", "amount": 0}],
            "demand_charges": copy.deepcopy(zero),
            "energy_charges": {
                **copy.deepcopy(zero),
                "Year": {"rates": {"ON_PEAK": 0.08, "OFF_PEAK": 0.05}},
            },
            "seasons": copy.deepcopy({"Year": season}),
        },
    }


@dataclass(slots=True)
class PowerwallSettings:
    """Everything the Tesla API can change, with the names it uses."""

    default_real_mode: str = "self_consumption"
    backup_reserve_percent: float = 20
    customer_preferred_export_rule: str = "pv_only"
    disallow_charge_from_grid_with_solar_installed: bool = False
    storm_mode_enabled: bool = False
    optimization_strategy: str = "economics"
    tariff_content_v2: dict[str, Any] = field(default_factory=default_tariff)


@dataclass(frozen=True, slots=True)
class Flow:
    """Average power over one minute, watts; battery + = discharging, grid + = importing."""

    start: datetime
    action: str
    solar: float
    load: float
    charge: float
    discharge: float
    curtailed: float

    @property
    def battery(self) -> float:
        """Battery power, + = discharging."""
        return self.discharge - self.charge

    @property
    def grid(self) -> float:
        """Grid power, + = importing."""
        return self.load + self.charge - self.solar - self.discharge


@dataclass(frozen=True, slots=True)
class LiveView:
    """What `live_status` shows at one moment."""

    timestamp: datetime
    flow: Flow
    energy_left: float
    percentage_charged: float
    storm_mode_active: bool


@dataclass(slots=True)
class _Pending:
    effective: datetime
    updates: dict[str, Any]


class Counters:
    """Energy totals in Wh under Tesla's `calendar_history` names."""

    __slots__ = ("values",)

    def __init__(self, values: list[float] | None = None) -> None:
        self.values = values if values is not None else [0.0] * len(FLOW_FIELDS)

    def add(self, other: Counters) -> None:
        """Add `other` into these totals."""
        for index, value in enumerate(other.values):
            self.values[index] += value

    def __getitem__(self, name: str) -> float:
        return self.values[_INDEX[name]]

    def to_json(self, digits: int = 2) -> dict[str, float]:
        """The fields plus Tesla's derived `total_*` figures, rounded."""
        body = {
            name: round(value, digits) + 0.0
            for name, value in zip(FLOW_FIELDS, self.values, strict=True)
        }
        body["total_home_usage"] = (
            round(
                self["consumer_energy_imported_from_grid"]
                + self["consumer_energy_imported_from_solar"]
                + self["consumer_energy_imported_from_battery"]
                + self["consumer_energy_imported_from_generator"],
                digits,
            )
            + 0.0
        )
        body["total_battery_charge"] = (
            round(
                self["battery_energy_imported_from_grid"]
                + self["battery_energy_imported_from_solar"]
                + self["battery_energy_imported_from_generator"],
                digits,
            )
            + 0.0
        )
        body["total_battery_discharge"] = round(self["battery_energy_exported"], digits) + 0.0
        body["total_solar_generation"] = round(self["solar_energy_exported"], digits) + 0.0
        body["total_grid_energy_exported"] = (
            round(
                self["grid_energy_exported_from_solar"]
                + self["grid_energy_exported_from_battery"]
                + self["grid_energy_exported_from_generator"],
                digits,
            )
            + 0.0
        )
        return body


class Powerwall:
    """One simulated Powerwall site (battery, solar, house), stepped by the clock."""

    def __init__(
        self,
        *,
        start: datetime,
        zone: ZoneInfo,
        household: Household,
        capacity_wh: float = 13500.0,
        max_power_w: float = 5000.0,
        round_trip: float = 0.9,
        initial_percent: float = 60.0,
        settings: PowerwallSettings | None = None,
        no_pricing_constraint: bool = True,
    ) -> None:
        self.zone = zone
        self.household = household
        self.capacity_wh = capacity_wh
        self.max_power_w = max_power_w
        self.one_way = math.sqrt(round_trip)
        self.round_trip = round_trip
        self.soc_wh = capacity_wh * initial_percent / 100
        self.settings = settings or PowerwallSettings()
        self.no_pricing_constraint = no_pricing_constraint
        self.storm_active = False
        self.committed = floor_minute(start)
        self.history_start = self.committed
        self.version = 0
        self.tariff_version = 0
        self.reader = TariffReader(self.settings.tariff_content_v2)
        self.pending: list[_Pending] = []
        self.totals = Counters()
        self.curtailed_wh = 0.0
        self.buckets: dict[int, Counters] = {}
        self._actions: dict[tuple[int, int], str] = {}
        self._slot_rates: dict[tuple[int, int], tuple[float, float] | None] = {}
        self._slot_forecast: dict[int, tuple[float, float]] = {}

    # --- changing settings ------------------------------------------------------------------

    def change(
        self, now: datetime, updates: Mapping[str, Any], delay_seconds: float = 0
    ) -> datetime:
        """Apply setting `updates` at `now`, or from the first minute boundary `delay_seconds`
        later (writes are eventually consistent). Either way the state never depends on when
        anyone reads it."""
        self.advance(now)
        effective = now
        if delay_seconds > 0:  # from the first minute boundary after the delay
            later = now + timedelta(seconds=delay_seconds)
            effective = floor_minute(later)
            if effective < later:
                effective += MINUTE
        self.pending.append(_Pending(effective, copy.deepcopy(dict(updates))))
        self._apply_due(now)
        return effective

    def set_no_pricing_constraint(self, now: datetime, allowed: bool) -> None:
        """Turn the `rate_plan_manager_no_pricing_constraint` feature on or off from now."""
        self.advance(now)
        self.no_pricing_constraint = allowed
        self._bump(tariff=True)

    def set_storm_active(self, now: datetime, active: bool) -> None:
        """A storm alert starts or ends (matters only with storm watch enabled)."""
        self.advance(now)
        self.storm_active = active
        self._bump()

    def _bump(self, *, tariff: bool = False) -> None:
        self.version += 1
        self._actions.clear()
        if tariff:
            self.tariff_version += 1
            self._slot_rates.clear()

    def _apply_due(self, upto: datetime) -> None:
        """Apply pending changes due by `upto`."""
        due = [p for p in self.pending if p.effective <= upto]
        if not due:
            return
        self.pending = [p for p in self.pending if p not in due]
        tariff_changed = False
        for change in sorted(due, key=lambda p: p.effective):
            for name, value in change.updates.items():
                setattr(self.settings, name, value)
                tariff_changed = tariff_changed or name == "tariff_content_v2"
        if tariff_changed:
            self.reader = TariffReader(self.settings.tariff_content_v2)
        self._bump(tariff=tariff_changed)

    # --- stepping ----------------------------------------------------------------------------

    def advance(self, now: datetime) -> None:
        """Simulate every whole minute up to `now`."""
        target = floor_minute(now)
        if target - self.committed > MAX_CATCH_UP:
            self.committed = target - MAX_CATCH_UP
        while self.committed < target:
            self._apply_due(self.committed)
            self._commit(self._flow(self.committed))
            self.committed += MINUTE
        self._apply_due(now)

    def live(self, now: datetime) -> LiveView:
        """The state at `now`, including the part of the current minute already gone."""
        self.advance(now)
        flow = self._flow(self.committed)
        fraction = max(0.0, min(1.0, (now - self.committed).total_seconds() / 60))
        delta = (flow.charge * self.one_way - flow.discharge / self.one_way) / 60 * fraction
        energy = min(self.capacity_wh, max(0.0, self.soc_wh + delta))
        return LiveView(
            timestamp=now,
            flow=flow,
            energy_left=energy,
            percentage_charged=100 * energy / self.capacity_wh,
            storm_mode_active=self._storm_now(),
        )

    def _storm_now(self) -> bool:
        return self.storm_active and self.settings.storm_mode_enabled

    def _flow(self, start: datetime) -> Flow:
        mid = start + timedelta(seconds=30)
        solar = self.household.solar_watts(mid)
        load = self.household.load_watts(mid)
        action = self._action(start)
        return self._dispatch(start, action, solar, load)

    def _dispatch(self, start: datetime, action: str, solar: float, load: float) -> Flow:
        s = self.settings
        reserve_wh = self.capacity_wh * float(s.backup_reserve_percent) / 100
        room = max(0.0, (self.capacity_wh - self.soc_wh) * 60 / self.one_way)
        max_charge = min(self.max_power_w, room)
        spare = max(0.0, (self.soc_wh - reserve_wh) * 60 * self.one_way)
        max_discharge = min(self.max_power_w, spare)
        grid_ok = not s.disallow_charge_from_grid_with_solar_installed
        surplus = max(0.0, solar - load)
        deficit = max(0.0, load - solar)
        charge = discharge = 0.0
        if action in ("backup", "charge"):
            charge = max_charge if grid_ok else min(surplus, max_charge)
        elif action in ("self", "discharge"):
            charge = min(surplus, max_charge)
            discharge = min(deficit, max_discharge)
        elif action == "export":
            discharge = max_discharge
        else:  # hold
            charge = min(surplus, max_charge)
        if action != "backup" and self.soc_wh < reserve_wh - 1e-6:
            discharge = 0.0
            charge = max_charge if grid_ok else min(surplus, max_charge)
        rule = s.customer_preferred_export_rule
        if rule != "battery_ok":
            discharge = min(discharge, deficit)
        curtailed = 0.0
        if rule == "never":
            curtailed = max(0.0, solar - load - charge + discharge)
            curtailed = min(curtailed, solar)
        return Flow(
            start=start,
            action=action,
            solar=solar - curtailed,
            load=load,
            charge=charge,
            discharge=discharge,
            curtailed=curtailed,
        )

    def _commit(self, flow: Flow) -> None:
        solar = flow.solar / 60
        load = flow.load / 60
        charge = flow.charge / 60
        discharge = flow.discharge / 60
        to_house_solar = min(load, solar)
        solar_left = solar - to_house_solar
        to_battery_solar = min(charge, solar_left)
        to_battery_grid = charge - to_battery_solar
        export_solar = solar_left - to_battery_solar
        load_left = load - to_house_solar
        to_house_battery = min(discharge, load_left)
        export_battery = discharge - to_house_battery
        to_house_grid = load_left - to_house_battery
        step = Counters()
        v = step.values
        v[_INDEX["solar_energy_exported"]] = solar
        v[_INDEX["grid_energy_imported"]] = to_battery_grid + to_house_grid
        v[_INDEX["grid_energy_exported_from_solar"]] = export_solar
        v[_INDEX["grid_energy_exported_from_battery"]] = export_battery
        v[_INDEX["battery_energy_exported"]] = discharge
        v[_INDEX["battery_energy_imported_from_grid"]] = to_battery_grid
        v[_INDEX["battery_energy_imported_from_solar"]] = to_battery_solar
        v[_INDEX["consumer_energy_imported_from_grid"]] = to_house_grid
        v[_INDEX["consumer_energy_imported_from_solar"]] = to_house_solar
        v[_INDEX["consumer_energy_imported_from_battery"]] = to_house_battery
        self.totals.add(step)
        bucket = int(flow.start.timestamp()) // 300
        self.buckets.setdefault(bucket, Counters()).add(step)
        self.curtailed_wh += flow.curtailed / 60
        self.soc_wh += charge * self.one_way - discharge / self.one_way
        self.soc_wh = min(self.capacity_wh, max(0.0, self.soc_wh))

    # --- time-based control -----------------------------------------------------------------

    def _action(self, start: datetime) -> str:
        s = self.settings
        if s.default_real_mode == "backup" or self._storm_now():
            return "backup"
        if s.default_real_mode == "autonomous":
            return self._slot_action(start)
        return "self"

    def rates_at(self, when: datetime) -> Rates | None:
        """The stored plan's rates at instant `when`."""
        return self.reader.rates_at(when.astimezone(self.zone))

    def _rates_for_slot(self, slot: datetime) -> tuple[float, float] | None:
        """Mean (buy, sell) over a half-hour slot, with Tesla's buy >= sell rule if it applies."""
        key = (int(slot.timestamp()), self.tariff_version)
        if key in self._slot_rates:
            return self._slot_rates[key]
        samples = [self.rates_at(slot + timedelta(minutes=m)) for m in range(0, 30, 5)]
        known = [r for r in samples if r is not None]
        result: tuple[float, float] | None = None
        if known:
            buy = sum(r.buy for r in known) / len(known)
            sell = sum(r.sell for r in known) / len(known)
            if not self.no_pricing_constraint:
                buy = max(buy, sell)
            result = (buy, sell)
        self._slot_rates[key] = result
        return result

    def _forecast_wh(self, slot: datetime) -> tuple[float, float]:
        """(spare solar, unmet load) Wh in a half-hour slot: the model forecasts perfectly."""
        key = int(slot.timestamp())
        cached = self._slot_forecast.get(key)
        if cached is None:
            spare = short = 0.0
            for minutes in range(0, 30, 5):
                t = slot + timedelta(minutes=minutes + 2.5)
                net = self.household.solar_watts(t) - self.household.load_watts(t)
                spare += max(0.0, net) / 12
                short += max(0.0, -net) / 12
            if len(self._slot_forecast) > 20_000:
                self._slot_forecast.clear()
            cached = self._slot_forecast[key] = (spare, short)
        return cached

    def _slot_action(self, start: datetime) -> str:
        epoch = int(start.timestamp())
        slot = datetime.fromtimestamp(epoch - epoch % 1800, UTC)
        key = (int(slot.timestamp()), self.version)
        cached = self._actions.get(key)
        if cached is not None:
            return cached
        action = self._decide(slot)
        self._actions[key] = action
        return action

    def _decide(self, slot: datetime) -> str:
        s = self.settings
        rates = [self._rates_for_slot(slot + SLOT * i) for i in range(HORIZON_SLOTS)]
        if rates[0] is None:
            return "self"
        battery_exports = s.customer_preferred_export_rule == "battery_ok"
        slots = [(i, r[0], r[1]) for i, r in enumerate(rates) if r is not None]
        buy = {i: b for i, b, _ in slots}
        sell = {i: sv for i, _, sv in slots}
        value = {i: max(b, sv) if battery_exports else b for i, b, sv in slots}
        min_buy = min(buy.values())
        if max(value.values()) - min_buy <= MARGIN:
            return "self"
        reserve_wh = self.capacity_wh * float(s.backup_reserve_percent) / 100
        per_slot = self.max_power_w * 0.5  # Wh at full power for half an hour
        b0, v0, s0 = buy[0], value[0], sell[0]

        # 1. Among the dearest slots the stored energy can serve: use it now.
        n_empty = math.ceil(max(0.0, self.soc_wh - reserve_wh) * self.one_way / per_slot - 1e-9)
        dearest = sorted(value, key=lambda i: (-value[i], i))[: max(0, n_empty)]
        if 0 in dearest and v0 > min_buy + MARGIN:
            threshold = min(value[i] for i in dearest)
            if battery_exports and s0 > 0 and s0 >= threshold:
                return "export"
            return "discharge"

        # 2. Buy now if this is one of the cheapest slots before the dearest stretch that are
        #    needed to hold what the dearer slots will use (less the solar expected meanwhile).
        #    Among equal prices the latest slots are used, so it never buys back at the price
        #    it just discharged at.
        worth = [i for i in value if i > 0 and self.round_trip * value[i] - MARGIN > b0]
        use_wh = sum(
            per_slot
            if battery_exports and self.round_trip * sell[i] - MARGIN > b0
            else self._forecast_wh(slot + SLOT * i)[1]
            for i in worth
        )
        top = sorted(value, key=lambda i: (-value[i], i))[:6]
        peak_at = min((i for i in top if i > 0), default=HORIZON_SLOTS)
        free_wh = sum(self._forecast_wh(slot + SLOT * i)[0] for i in range(peak_at))
        target_wh = min(self.capacity_wh, reserve_wh + use_wh / self.one_way)
        to_buy = target_wh - self.soc_wh - free_wh * self.one_way
        n_fill = math.ceil(to_buy / (per_slot * self.one_way) - 1e-9)
        before_peak = [i for i in buy if i < peak_at]
        cheapest = sorted(before_peak, key=lambda i: (buy[i], -i))[: max(0, n_fill)]
        if not s.disallow_charge_from_grid_with_solar_installed and 0 in cheapest and worth:
            return "charge"

        # 3. Cover the house now if the energy can be bought back cheaper before it is needed.
        next_dear = min((i for i in dearest if i > 0), default=HORIZON_SLOTS)
        refill = [buy[i] for i in buy if 0 < i < next_dear]
        if refill and self.round_trip * b0 > min(refill) + MARGIN:
            return "discharge"
        return "hold"

    def slot_plan(self, start: datetime) -> list[dict[str, Any]]:
        """The plan's (buy, sell) per half-hour for 24 h from `start`, for the control API."""
        epoch = int(start.timestamp())
        slot = datetime.fromtimestamp(epoch - epoch % 1800, UTC)
        out = []
        for i in range(HORIZON_SLOTS):
            at = slot + SLOT * i
            rates = self._rates_for_slot(at)
            out.append(
                {
                    "start": at.astimezone(self.zone).isoformat(),
                    "buy": None if rates is None else round(rates[0], 5),
                    "sell": None if rates is None else round(rates[1], 5),
                }
            )
        return out

    # --- history -----------------------------------------------------------------------------

    def history(
        self, zone: ZoneInfo, start: datetime, end: datetime
    ) -> list[tuple[datetime, Counters]]:
        """Totals per local day of `zone`, for days overlapping [start, end] and the past."""
        first = max(start, self.history_start)
        last = min(end, self.committed)
        if last <= first:
            return []
        out: list[tuple[datetime, Counters]] = []
        day: date = first.astimezone(zone).date()
        while True:
            midnight = datetime.combine(day, time(0), zone)
            next_midnight = datetime.combine(day + timedelta(days=1), time(0), zone)
            if midnight >= last:
                break
            lo = max(midnight, first)
            hi = min(next_midnight, last)
            total = Counters()
            bucket = int(lo.timestamp()) // 300
            stop = math.ceil(hi.timestamp() / 300)
            while bucket < stop:
                counters = self.buckets.get(bucket)
                if counters is not None:
                    total.add(counters)
                bucket += 1
            out.append((midnight, total))
            day += timedelta(days=1)
        return out

    def settings_json(self) -> dict[str, Any]:
        """Current settings, for the control API."""
        return asdict(self.settings)
