"""Seeded solar generation and household load, in watts, as functions of time.

Solar follows the sun's elevation at the site (latitude/longitude, day of year), scaled by the
array size, clipped by the inverter, and dimmed by seeded clouds: each local day is clear, partly
cloudy or overcast, with cloud cover varying in 10-minute blocks. Load is a base draw plus a
morning and a larger evening bump (bigger in winter) and seeded appliance runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
import math
from zoneinfo import ZoneInfo

from . import noise


@dataclass(frozen=True, slots=True)
class HouseholdConfig:
    """The house: where it is, its solar array and its usual draw."""

    latitude: float = -33.87
    longitude: float = 151.21
    pv_dc_watts: float = 6600.0
    inverter_watts: float = 5000.0
    base_load_watts: float = 320.0


class Household:
    """Solar and load for one house, deterministic for a seed."""

    def __init__(self, seed: int, zone: ZoneInfo, config: HouseholdConfig | None = None) -> None:
        self.seed = seed
        self.zone = zone
        self.config = config or HouseholdConfig()

    def _sun_elevation_sine(self, when: datetime) -> float:
        utc = when.timestamp()
        day_of_year = when.timetuple().tm_yday
        declination = math.radians(-23.44) * math.cos(2 * math.pi * (day_of_year + 10) / 365)
        solar_hours = (utc / 3600 + self.config.longitude / 15) % 24
        hour_angle = math.radians(15 * (solar_hours - 12))
        lat = math.radians(self.config.latitude)
        return math.sin(lat) * math.sin(declination) + math.cos(lat) * math.cos(
            declination
        ) * math.cos(hour_angle)

    def _cloud_factor(self, when: datetime) -> float:
        local = when.astimezone(self.zone)
        day = local.date().isoformat()
        kind = noise.unit(self.seed, "sky", day)
        cover = 0.0 if kind < 0.45 else 0.35 if kind < 0.8 else 0.75
        minutes = local.hour * 60 + local.minute + local.second / 60
        block, within = divmod(minutes, 10)
        here = noise.unit(self.seed, "cloud", day, int(block))
        there = noise.unit(self.seed, "cloud", day, int(block) + 1)
        drift = here + (there - here) * within / 10
        return max(0.05, 1 - cover * (0.4 + 0.6 * drift))

    def solar_watts(self, when: datetime) -> float:
        """AC solar output at `when`."""
        elevation = self._sun_elevation_sine(when)
        if elevation <= 0:
            return 0.0
        dc = self.config.pv_dc_watts * 0.82 * math.pow(elevation, 1.15) * self._cloud_factor(when)
        return min(self.config.inverter_watts, dc)

    def load_watts(self, when: datetime) -> float:
        """Household draw at `when`."""
        local = when.astimezone(self.zone)
        hour = local.hour + local.minute / 60
        winter = local.month in (5, 6, 7, 8, 9)
        minute_key = int(when.timestamp() // 60)
        base = self.config.base_load_watts * (
            1 + 0.15 * noise.normal(self.seed, "base", minute_key)
        )
        morning = 900 * math.exp(-0.5 * ((hour - 7.4) / 0.9) ** 2)
        evening = (2100 if winter else 1500) * math.exp(-0.5 * ((hour - 18.9) / 1.7) ** 2)
        daytime = 250 * math.exp(-0.5 * ((hour - 13) / 3) ** 2)
        block = minute_key // 15
        appliance = 0.0
        if noise.chance(0.12, self.seed, "appliance", block):
            appliance = noise.between(900, 2400, self.seed, "appliance-w", block)
        return max(120.0, base + morning + evening + daytime + appliance)

    def day_energy(self, start: datetime) -> tuple[float, float]:
        """Solar and load Wh over the 24 hours from `start`, minute by minute (for tests)."""
        solar = load = 0.0
        for minute in range(1440):
            t = start + timedelta(minutes=minute, seconds=30)
            solar += self.solar_watts(t) / 60
            load += self.load_watts(t) / 60
        return solar, load
