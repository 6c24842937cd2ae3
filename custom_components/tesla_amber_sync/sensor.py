"""Sensors: Amber prices, Powerwall power flows and settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
import logging
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .amber_coordinator import AmberCoordinator, AmberData
from .api.models import SPIKE_STATUSES, ChannelType, LiveStatus, PriceInterval, SiteInfo
from .api.tesla import OPERATION_MODES
from .const import CONF_FORECAST_SOURCE, DEFAULT_FORECAST_SOURCE
from .control_entities import replaces_sensor
from .data import TeslaAmberSyncConfigEntry
from .demand_entities import demand_sensors
from .energy_sensors import energy_sensors
from .entity import TeslaAmberSyncEntity, amber_device, powerwall_device
from .fixed_sensors import fixed_plan_sensors
from .pricing import interval_price
from .sync_sensors import SyncStatusSensor, TariffSensor
from .tesla_coordinator import TeslaLiveCoordinator, TeslaSiteInfoCoordinator

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0  # coordinator-driven: nothing to throttle
PRICE_UNIT = "AUD/kWh"
FORECAST_HORIZON = timedelta(hours=24)


def _dollars(cents: float) -> float:
    return round(cents / 100, 4)


def _watts_to_kw(value: float | None) -> float | None:
    return None if value is None else round(value / 1000, 3)


# --- Amber ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AmberSensorDescription(SensorEntityDescription):
    """A sensor computed from the latest Amber prices."""

    value_fn: Callable[[AmberData], StateType]
    channel: ChannelType = ChannelType.GENERAL
    sign: int = 1  # feed-in is shown positive when you are paid
    with_forecast: bool = False


def _channel_price(channel: ChannelType, sign: int) -> Callable[[AmberData], StateType]:
    def value(data: AmberData) -> StateType:
        current = data.current(channel)
        return None if current is None else _dollars(sign * current.per_kwh)

    return value


def _renewables(data: AmberData) -> StateType:
    current = data.current(ChannelType.GENERAL)
    return None if current is None or current.renewables is None else round(current.renewables, 1)


def _price_description(key: str, channel: ChannelType, sign: int) -> AmberSensorDescription:
    return AmberSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=PRICE_UNIT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=4,
        value_fn=_channel_price(channel, sign),
        channel=channel,
        sign=sign,
        with_forecast=True,
    )


AMBER_SENSORS: tuple[AmberSensorDescription, ...] = (
    _price_description("general_price", ChannelType.GENERAL, 1),
    _price_description("feed_in_price", ChannelType.FEED_IN, -1),
    _price_description("controlled_load_price", ChannelType.CONTROLLED_LOAD, 1),
    AmberSensorDescription(
        key="renewables",
        translation_key="renewables",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=_renewables,
    ),
)


class AmberSensor(TeslaAmberSyncEntity[AmberCoordinator], SensorEntity):
    """A price (or renewables share) from Amber's current interval."""

    entity_description: AmberSensorDescription
    _unrecorded_attributes = frozenset({"forecast"})

    def __init__(
        self,
        coordinator: AmberCoordinator,
        entry: TeslaAmberSyncConfigEntry,
        description: AmberSensorDescription,
    ) -> None:
        """Price sensors belong to the Amber device."""
        super().__init__(coordinator, entry, description, amber_device(entry))
        self._entry = entry

    @property
    def native_value(self) -> StateType:
        """The current value."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Details of the current interval and, for prices, the next 24 h."""
        desc = self.entity_description
        if not desc.with_forecast:
            return None
        data = self.coordinator.data
        current = data.current(desc.channel)
        if current is None:
            return None
        attrs: dict[str, Any] = {
            "spot_price": None
            if current.spot_per_kwh is None
            else _dollars(desc.sign * current.spot_per_kwh),
            "descriptor": current.descriptor,
            "spike_status": current.spike_status,
            "renewables": current.renewables,
            "estimate": current.estimate,
            "interval_start": dt_util.as_local(current.start).isoformat(),
            "interval_end": dt_util.as_local(current.end).isoformat(),
        }
        source = self._entry.options.get(CONF_FORECAST_SOURCE, DEFAULT_FORECAST_SOURCE)
        attrs["forecast"] = _forecast(data, current, desc.channel, desc.sign, source)
        return attrs


def _forecast(
    data: AmberData, current: PriceInterval, channel: ChannelType, sign: int, source: str
) -> list[dict[str, Any]]:
    """The next 24 h after the current interval, in $/kWh with the sensor's sign."""
    horizon = current.end + FORECAST_HORIZON
    return [
        {
            "start": dt_util.as_local(interval.start).isoformat(),
            "end": dt_util.as_local(interval.end).isoformat(),
            "price": _dollars(sign * interval_price(interval, source)[0]),
        }
        for interval in data.batch.channel(channel)
        if current.end <= interval.start < horizon
    ]


class PriceSpikeSensor(TeslaAmberSyncEntity[AmberCoordinator], SensorEntity):
    """Amber's spike status; a value we do not know yet reads as unknown, never a crash."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = list(SPIKE_STATUSES)

    def __init__(self, coordinator: AmberCoordinator, entry: TeslaAmberSyncConfigEntry) -> None:
        """Belongs to the Amber device."""
        super().__init__(
            coordinator,
            entry,
            SensorEntityDescription(key="price_spike", translation_key="price_spike"),
            amber_device(entry),
        )
        self._reported: set[str] = set()

    @property
    def native_value(self) -> str | None:
        """none / potential / spike."""
        current = self.coordinator.data.current(ChannelType.GENERAL)
        if current is None:
            return None
        if current.spike_status in SPIKE_STATUSES:
            return current.spike_status
        if current.spike_status not in self._reported:
            self._reported.add(current.spike_status)
            _LOGGER.warning(
                "Amber sent an unknown spike status %r; shown as unknown", current.spike_status
            )
        return None


# --- Powerwall ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LiveSensorDescription(SensorEntityDescription):
    """A sensor computed from `live_status`."""

    value_fn: Callable[[LiveStatus], StateType]


def _power(key: str, value_fn: Callable[[LiveStatus], float | None]) -> LiveSensorDescription:
    return LiveSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda live: _watts_to_kw(value_fn(live)),
    )


LIVE_SENSORS: tuple[LiveSensorDescription, ...] = (
    LiveSensorDescription(
        key="battery_level",
        translation_key="battery_level",
        device_class=SensorDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda live: None
        if live.percentage_charged is None
        else round(live.percentage_charged, 1),
    ),
    _power("battery_power", lambda live: live.battery_power),
    _power("solar_power", lambda live: live.solar_power),
    _power("grid_power", lambda live: live.grid_power),
    _power("home_load", lambda live: live.load_power),
)


class LiveSensor(TeslaAmberSyncEntity[TeslaLiveCoordinator], SensorEntity):
    """Power flows and charge level."""

    entity_description: LiveSensorDescription

    @property
    def native_value(self) -> StateType:
        """The latest reading."""
        return self.entity_description.value_fn(self.coordinator.data)


@dataclass(frozen=True, kw_only=True)
class SiteInfoSensorDescription(SensorEntityDescription):
    """A sensor computed from `site_info`."""

    value_fn: Callable[[SiteInfo], StateType]


SITE_INFO_SENSORS: tuple[SiteInfoSensorDescription, ...] = (
    SiteInfoSensorDescription(
        key="backup_reserve",
        translation_key="backup_reserve",
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=0,
        value_fn=lambda info: info.backup_reserve_percent,
    ),
    SiteInfoSensorDescription(
        key="operation_mode",
        translation_key="operation_mode",
        device_class=SensorDeviceClass.ENUM,
        options=list(OPERATION_MODES),
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda info: info.default_real_mode
        if info.default_real_mode in OPERATION_MODES
        else None,
    ),
)


class SiteInfoSensor(TeslaAmberSyncEntity[TeslaSiteInfoCoordinator], SensorEntity):
    """Powerwall settings, read-only."""

    entity_description: SiteInfoSensorDescription

    @property
    def native_value(self) -> StateType:
        """The latest reading."""
        return self.entity_description.value_fn(self.coordinator.data)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TeslaAmberSyncConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the entry's sensors."""
    data = entry.runtime_data
    entities: list[SensorEntity] = []
    if data.prices is not None and data.amber_site is not None:
        site = data.amber_site
        entities.extend(
            AmberSensor(data.prices, entry, description)
            for description in AMBER_SENSORS
            if description.key != "controlled_load_price"
            or site.has_channel(ChannelType.CONTROLLED_LOAD)
        )
        entities.append(PriceSpikeSensor(data.prices, entry))
    device = powerwall_device(entry)
    if data.fixed_plan is not None:
        entities.extend(fixed_plan_sensors(entry, data.fixed_plan))
    entities.extend(LiveSensor(data.live, entry, d, device) for d in LIVE_SENSORS)
    entities.extend(
        SiteInfoSensor(data.site_info, entry, d, device)
        for d in SITE_INFO_SENSORS
        if not replaces_sensor(entry, d.key)
    )
    if data.demand is not None:
        entities.extend(demand_sensors(data.demand, entry))
    entities.extend(energy_sensors(entry))
    entities.append(SyncStatusSensor(data.sync, entry))
    entities.append(TariffSensor(data.sync, entry))
    async_add_entities(entities)
