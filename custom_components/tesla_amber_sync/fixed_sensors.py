"""Price sensors of a fixed-rate plan, with the same keys as Amber's (dashboards work for both)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.sensor import SensorEntity, SensorEntityDescription, SensorStateClass
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.event import async_track_utc_time_change
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .data import TeslaAmberSyncConfigEntry
from .plan_source import site_zone
from .plans import FixedPlan, PeriodAt, period_at

PRICE_UNIT = "AUD/kWh"
FORECAST_HOURS = 24


def plan_device(entry: TeslaAmberSyncConfigEntry, plan: FixedPlan) -> DeviceInfo:
    """The plan, as a service device (in place of the Amber site)."""
    return DeviceInfo(
        identifiers={(DOMAIN, f"{entry.unique_id}_plan")},
        name="Electricity plan",
        manufacturer=plan.utility or "Fixed-rate plan",
        model=plan.name,
        entry_type=DeviceEntryType.SERVICE,
    )


class FixedPlanEntity(Entity):
    """Reads the stored plan at the site's wall-clock time; refreshed on every half hour."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        entry: TeslaAmberSyncConfigEntry,
        plan: FixedPlan,
        description: SensorEntityDescription,
    ) -> None:
        """Bind to the entry's plan."""
        self.entity_description = description
        self._entry = entry
        self._plan = plan
        self._attr_unique_id = f"{entry.unique_id}_{description.key}"
        self._attr_device_info = plan_device(entry, plan)

    async def async_added_to_hass(self) -> None:
        """Periods change on half hours."""

        @callback
        def tick(_now: datetime) -> None:
            self.async_write_ha_state()

        self.async_on_remove(async_track_utc_time_change(self.hass, tick, minute=(0, 30), second=0))

    def local_now(self) -> datetime:
        """Now in the Powerwall's zone (the plan is wall-clock time there)."""
        return dt_util.utcnow().astimezone(site_zone(self._entry.runtime_data.site_info.data))

    def now_period(self) -> PeriodAt | None:
        """The period in force."""
        return period_at(self._plan, self.local_now())


class FixedPriceSensor(FixedPlanEntity, SensorEntity):
    """Buy (`general_price`) or sell (`feed_in_price`, positive = paid) from the plan now."""

    _attr_native_unit_of_measurement = PRICE_UNIT
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_suggested_display_precision = 4
    _unrecorded_attributes = frozenset({"forecast"})

    @property
    def _sell(self) -> bool:
        return self.entity_description.key == "feed_in_price"

    @property
    def native_value(self) -> float | None:
        """The plan's rate now."""
        at = self.now_period()
        if at is None:
            return None
        return round(at.sell if self._sell else at.buy, 4)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """The period, and the next 24 h as half-hour `[{start, end, price}]`."""
        at = self.now_period()
        now = self.local_now()
        start = now.replace(minute=now.minute - now.minute % 30, second=0, microsecond=0)
        forecast: list[dict[str, Any]] = []
        for step in range(1, FORECAST_HOURS * 2 + 1):
            slot = start + timedelta(minutes=30 * step)
            period = period_at(self._plan, slot)
            if period is None:
                continue
            forecast.append(
                {
                    "start": slot.isoformat(),
                    "end": (slot + timedelta(minutes=30)).isoformat(),
                    "price": round(period.sell if self._sell else period.buy, 4),
                }
            )
        return {
            "season": at.season if at else None,
            "period": at.period if at else None,
            "forecast": forecast,
        }


class PlanPeriodSensor(FixedPlanEntity, SensorEntity):
    """The name of the plan period in force (peak, shoulder, off-peak...)."""

    @property
    def native_value(self) -> str | None:
        """The period's name."""
        at = self.now_period()
        return at.period if at else None

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """Season and rates of the period."""
        at = self.now_period()
        return {
            "season": at.season if at else None,
            "buy": at.buy if at else None,
            "sell": at.sell if at else None,
            "plan": self._plan.name,
        }


def fixed_plan_sensors(entry: TeslaAmberSyncConfigEntry, plan: FixedPlan) -> list[SensorEntity]:
    """The fixed plan's sensors."""
    return [
        FixedPriceSensor(
            entry,
            plan,
            SensorEntityDescription(key="general_price", translation_key="general_price"),
        ),
        FixedPriceSensor(
            entry,
            plan,
            SensorEntityDescription(key="feed_in_price", translation_key="feed_in_price"),
        ),
        PlanPeriodSensor(
            entry, plan, SensorEntityDescription(key="plan_period", translation_key="plan_period")
        ),
    ]
