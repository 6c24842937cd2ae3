"""Plans (`tariff_content_v2`) for the simulator's tests, written out by hand."""

from __future__ import annotations

from typing import Any

Window = tuple[int, int, int, int]  # fromHour, fromMinute, toHour, toMinute (every day)


def plan(periods: dict[str, tuple[float, float, list[Window]]]) -> dict[str, Any]:
    """A one-season plan: period name -> (buy $/kWh, sell $/kWh, daily windows)."""
    tou_periods = {
        name: {
            "periods": [
                {
                    "fromDayOfWeek": 0,
                    "toDayOfWeek": 6,
                    "fromHour": fh,
                    "fromMinute": fm,
                    "toHour": th,
                    "toMinute": tm,
                }
                for fh, fm, th, tm in windows
            ]
        }
        for name, (_, _, windows) in periods.items()
    }
    season = {"fromMonth": 1, "fromDay": 1, "toMonth": 12, "toDay": 31, "tou_periods": tou_periods}
    zero = {"rates": {"ALL": 0}}
    return {
        "version": 1,
        "code": "TEST_PLAN",
        "name": "Test plan",
        "utility": "Test",
        "currency": "AUD",
        "daily_charges": [{"name": "Charge", "amount": 0}],
        "demand_charges": {"ALL": zero},
        "energy_charges": {
            "ALL": zero,
            "Year": {"rates": {name: buy for name, (buy, _, _) in periods.items()}},
        },
        "seasons": {"Year": season},
        "sell_tariff": {
            "name": "Test plan",
            "utility": "Test",
            "daily_charges": [{"name": "Charge", "amount": 0}],
            "demand_charges": {"ALL": zero},
            "energy_charges": {
                "ALL": zero,
                "Year": {"rates": {name: sell for name, (_, sell, _) in periods.items()}},
            },
            "seasons": {"Year": season},
        },
    }


def cheap_night_dear_evening(peak_sell: float = 0.20) -> dict[str, Any]:
    """Cheap 02:00-04:00, dear 17:00-20:00, ordinary otherwise."""
    return plan(
        {
            "CHEAP": (0.05, 0.0, [(2, 0, 4, 0)]),
            "PEAK": (0.60, peak_sell, [(17, 0, 20, 0)]),
            "REST": (0.28, 0.05, [(0, 0, 2, 0), (4, 0, 17, 0), (20, 0, 24, 0)]),
        }
    )
