"""Energy (kWh) sensors for the Energy dashboard: lifetime meters that only ever go up."""

from __future__ import annotations

from typing import Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfEnergy

from .data import TeslaAmberSyncConfigEntry
from .energy_coordinator import TeslaEnergyCoordinator
from .energy_meter import METERS
from .entity import TeslaAmberSyncEntity, powerwall_device

ENERGY_KEYS: Final = {meter: f"{meter}_energy" for meter in METERS}


class EnergySensor(TeslaAmberSyncEntity[TeslaEnergyCoordinator], SensorEntity):
    """kWh since the integration started counting (total_increasing)."""

    _attr_device_class = SensorDeviceClass.ENERGY
    _attr_native_unit_of_measurement = UnitOfEnergy.KILO_WATT_HOUR
    _attr_state_class = SensorStateClass.TOTAL_INCREASING
    _attr_suggested_display_precision = 2

    def __init__(
        self, coordinator: TeslaEnergyCoordinator, entry: TeslaAmberSyncConfigEntry, meter: str
    ) -> None:
        """One meter."""
        key = ENERGY_KEYS[meter]
        super().__init__(
            coordinator,
            entry,
            SensorEntityDescription(key=key, translation_key=key),
            powerwall_device(entry),
        )
        self.meter = meter

    @property
    def native_value(self) -> float | None:
        """Lifetime kWh (unknown until Tesla has reported this meter once)."""
        value = self.coordinator.data.lifetime.get(self.meter)
        return None if value is None else round(value, 3)


def energy_sensors(entry: TeslaAmberSyncConfigEntry) -> list[SensorEntity]:
    """The six meters."""
    coordinator = entry.runtime_data.energy
    return [EnergySensor(coordinator, entry, meter) for meter in METERS]
