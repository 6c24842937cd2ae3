"""Starter fixed-rate plans the wizard offers (then refined in the plan editor).

Pure: produces the plan JSON of `plans.py`; validated like any imported plan.
"""

from __future__ import annotations

from typing import Any, Final

TEMPLATE_FLAT: Final = "flat"
TEMPLATE_PEAK_OFFPEAK: Final = "peak_offpeak"
TEMPLATE_THREE_RATE: Final = "peak_shoulder_offpeak"
TEMPLATES: Final = (TEMPLATE_THREE_RATE, TEMPLATE_PEAK_OFFPEAK, TEMPLATE_FLAT)


def _period(name: str, days: str, start: str, end: str, buy: float, sell: float) -> dict[str, Any]:
    return {"name": name, "days": days, "from": start, "to": end, "buy": buy, "sell": sell}


def starter_plan(
    template: str,
    *,
    name: str,
    utility: str,
    daily_supply_charge: float,
    peak: float,
    shoulder: float,
    off_peak: float,
    sell: float,
) -> dict[str, Any]:
    """A whole-year plan of the common Australian shapes (peak 3 pm-9 pm on weekdays)."""
    if template == TEMPLATE_FLAT:
        periods = [_period("Anytime", "all", "00:00", "24:00", peak, sell)]
    elif template == TEMPLATE_PEAK_OFFPEAK:
        periods = [
            _period("Peak", "weekdays", "15:00", "21:00", peak, sell),
            _period("Off-peak", "weekdays", "21:00", "15:00", off_peak, sell),
            _period("Weekend off-peak", "weekends", "00:00", "24:00", off_peak, sell),
        ]
    elif template == TEMPLATE_THREE_RATE:
        periods = [
            _period("Peak", "weekdays", "15:00", "21:00", peak, sell),
            _period("Shoulder", "weekdays", "07:00", "15:00", shoulder, sell),
            _period("Evening shoulder", "weekdays", "21:00", "22:00", shoulder, sell),
            _period("Weekend shoulder", "weekends", "07:00", "22:00", shoulder, sell),
            _period("Off-peak", "all", "22:00", "07:00", off_peak, sell),
        ]
    else:
        raise ValueError(f"unknown plan template {template!r}")
    return {
        "name": name,
        "utility": utility,
        "daily_supply_charge": daily_supply_charge,
        "seasons": [{"name": "All year", "from": "01-01", "to": "12-31", "periods": periods}],
    }
