"""Demand-charge entities: created while the demand option is on, removed when it is off."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Final

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfPower, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_utc_time_change
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .data import TeslaAmberSyncConfigEntry
from .demand_manager import DemandManager
from .sync_entity import PushedEntity

DEMAND_KEYS: Final = (
    "in_demand_window",
    "current_demand",
    "peak_demand",
    "demand_charge_cost",
    "days_until_demand_reset",
)


@dataclass(frozen=True, kw_only=True)
class DemandSensorDescription(SensorEntityDescription):
    """A sensor reading the demand manager."""

    value_fn: Callable[[DemandManager], StateType]


DEMAND_SENSORS: Final = (
    DemandSensorDescription(
        key="current_demand",
        translation_key="current_demand",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda m: m.current_kw,
    ),
    DemandSensorDescription(
        key="peak_demand",
        translation_key="peak_demand",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda m: m.peak_kw if m.peak_kw is not None else 0.0,
    ),
    DemandSensorDescription(
        key="demand_charge_cost",
        translation_key="demand_charge_cost",
        device_class=SensorDeviceClass.MONETARY,
        native_unit_of_measurement="AUD",
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        value_fn=lambda m: m.cost,
    ),
    DemandSensorDescription(
        key="days_until_demand_reset",
        translation_key="days_until_demand_reset",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.DAYS,
        value_fn=lambda m: m.days_until_reset,
    ),
)


class DemandSensor(PushedEntity[DemandManager], SensorEntity):
    """Demand figures of the current billing cycle."""

    entity_description: DemandSensorDescription

    @property
    def native_value(self) -> StateType:
        """The manager's current figure."""
        return self.entity_description.value_fn(self.source)

    @property
    def last_reset(self) -> datetime | None:
        """The cost restarts at the beginning of each billing cycle."""
        if self.entity_description.key != "demand_charge_cost" or self.source.cycle_start is None:
            return None
        return datetime.combine(self.source.cycle_start, time(), tzinfo=self.source.tz)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """When the peak happened, and the cycle it belongs to."""
        if self.entity_description.key != "peak_demand":
            return None
        at = self.source.peak_at
        start = self.source.cycle_start
        return {
            "peak_at": dt_util.as_local(at).isoformat() if at else None,
            "cycle_start": start.isoformat() if start else None,
        }


class InDemandWindowSensor(PushedEntity[DemandManager], BinarySensorEntity):
    """On inside the configured demand window (distinct from Amber's own flag)."""

    async def async_added_to_hass(self) -> None:
        """Also follow the clock: the window opens and closes on half-hour boundaries."""
        await super().async_added_to_hass()

        @callback
        def tick(_now: datetime) -> None:
            self.async_write_ha_state()

        self.async_on_remove(async_track_utc_time_change(self.hass, tick, minute=(0, 30), second=2))

    @property
    def is_on(self) -> bool:
        """Whether now is inside the window."""
        return self.source.in_window


def demand_sensors(manager: DemandManager, entry: TeslaAmberSyncConfigEntry) -> list[SensorEntity]:
    """The demand sensors for an entry."""
    return [DemandSensor(manager, entry, description) for description in DEMAND_SENSORS]


def demand_binary_sensors(
    manager: DemandManager, entry: TeslaAmberSyncConfigEntry
) -> list[BinarySensorEntity]:
    """The in-window binary sensor."""
    return [
        InDemandWindowSensor(
            manager,
            entry,
            BinarySensorEntityDescription(
                key="in_demand_window", translation_key="in_demand_window"
            ),
        )
    ]


@callback
def remove_demand_entities(hass: HomeAssistant, entry: TeslaAmberSyncConfigEntry) -> None:
    """Demand switched off: its entities go from the registry too, not just from view."""
    registry = er.async_get(hass)
    for platform in ("sensor", "binary_sensor"):
        for key in DEMAND_KEYS:
            entity_id = registry.async_get_entity_id(platform, DOMAIN, f"{entry.unique_id}_{key}")
            if entity_id is not None:
                registry.async_remove(entity_id)
