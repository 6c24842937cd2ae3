"""Lifetime energy meters from the Powerwall's daily totals (`calendar_history`, kind=energy).

Pure. Tesla reports running totals per local day, and revises them (a total can drop a little,
then rise again). The Energy dashboard needs meters that only ever go up, never count a kWh
twice, and survive restarts. So each meter keeps, per recent local day, the highest total seen,
and adds only increases above it: a revision downwards is held, a later rise counts only what it
adds beyond the old high, and a new day starts from its own first total. The first total ever
seen is the meter's starting point (not counted as new energy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
import math
from typing import Any, Final

# Each meter: the Tesla field with the total, or the fields that add up to it when absent.
METERS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "grid_import": ("grid_energy_imported", ()),
    "grid_export": (
        "total_grid_energy_exported",
        (
            "grid_energy_exported_from_solar",
            "grid_energy_exported_from_battery",
            "grid_energy_exported_from_generator",
        ),
    ),
    "solar_production": ("total_solar_generation", ("solar_energy_exported",)),
    "battery_charge": (
        "total_battery_charge",
        (
            "battery_energy_imported_from_grid",
            "battery_energy_imported_from_solar",
            "battery_energy_imported_from_generator",
        ),
    ),
    "battery_discharge": ("total_battery_discharge", ("battery_energy_exported",)),
    "home_consumption": (
        "total_home_usage",
        (
            "consumer_energy_imported_from_grid",
            "consumer_energy_imported_from_solar",
            "consumer_energy_imported_from_battery",
            "consumer_energy_imported_from_generator",
        ),
    ),
}
KEEP_DAYS = 3  # days of per-day highs kept (today, yesterday's late revisions, a spare)


def day_total(totals: Mapping[str, float], meter: str) -> float | None:
    """The meter's Wh total for one day, or None when Tesla sent nothing for it."""
    main, parts = METERS[meter]
    if main in totals:
        return totals[main]
    found = [totals[name] for name in parts if name in totals]
    return sum(found) if found else None


@dataclass
class EnergyMeters:
    """Lifetime kWh per meter, and the per-day highs (Wh) that keep it honest."""

    lifetime: dict[str, float] = field(default_factory=dict)  # kWh
    highs: dict[str, dict[str, float]] = field(default_factory=dict)  # day -> meter -> Wh

    def update(self, days: Iterable[tuple[date, Mapping[str, float]]]) -> dict[str, float]:
        """Fold in daily totals; returns the kWh each meter gained."""
        gained: dict[str, float] = {}
        for day, totals in sorted(days, key=lambda item: item[0]):
            key = day.isoformat()
            day_highs = self.highs.setdefault(key, {})
            for meter in METERS:
                value = day_total(totals, meter)
                if value is None or not math.isfinite(value) or value < 0:
                    continue
                if meter not in self.lifetime:
                    # First sight: this is where the meter starts, not new energy.
                    self.lifetime[meter] = value / 1000
                    day_highs[meter] = value
                    continue
                previous = day_highs.get(meter, 0.0)
                if value > previous:
                    delta = (value - previous) / 1000
                    self.lifetime[meter] += delta
                    gained[meter] = gained.get(meter, 0.0) + delta
                    day_highs[meter] = value
        for old in sorted(self.highs)[:-KEEP_DAYS]:
            del self.highs[old]
        return gained

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "lifetime": dict(self.lifetime),
            "highs": {d: dict(h) for d, h in self.highs.items()},
        }

    @classmethod
    def from_dict(cls, data: Any) -> EnergyMeters:
        """Tolerant restore: anything unreadable is dropped (never a negative jump)."""
        meters = cls()
        if not isinstance(data, Mapping):
            return meters
        for meter, value in (data.get("lifetime") or {}).items():
            if (
                meter in METERS
                and isinstance(value, int | float)
                and math.isfinite(value)
                and value >= 0
            ):
                meters.lifetime[meter] = float(value)
        for day, highs in (data.get("highs") or {}).items():
            try:
                date.fromisoformat(day)
            except (TypeError, ValueError):
                continue
            if isinstance(highs, Mapping):
                meters.highs[day] = {
                    m: float(v)
                    for m, v in highs.items()
                    if m in METERS and isinstance(v, int | float) and math.isfinite(v)
                }
        return meters
