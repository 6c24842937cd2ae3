"""Put a demand window into a plan: demand rates (or a buy surcharge) on exactly its slots and days.

Pure: works on `tou.TouPlan`. A weekly plan has no dates, so a window that applies on weekdays only
needs its periods split by day range; this module re-cuts any plan at half-hour granularity and
regroups the cells into periods and windows, so it works for the rolling Amber plan and for fixed
plans alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from .demand import (
    BASIS_C_PER_KW_DAY,
    IN_PLAN_DEMAND_RATES,
    IN_PLAN_NONE,
    IN_PLAN_SURCHARGE,
    DemandConfig,
)
from .tou import DAY_MINUTES, TouPeriod, TouPlan, TouWindow

SLOT = 30
SLOTS = DAY_MINUTES // SLOT
WINDOW_SUFFIX = "_DW"
# Tesla bills demand per kW per month; a c/kW/day rate becomes $/kW over an average month.
DAYS_PER_MONTH = 365.25 / 12

Cell = tuple[int, int]  # (weekday, half-hour index)


def monthly_rate(config: DemandConfig) -> float:
    """The demand rate in $/kW/month, whatever basis the user entered."""
    if config.rate_basis == BASIS_C_PER_KW_DAY:
        return round(config.rate / 100 * DAYS_PER_MONTH, 4)
    return config.rate


def label_index(label: str) -> int:
    """ "HH:MM" → half-hour index 0..47."""
    hour, minute = label.split(":")
    return (int(hour) * 60 + int(minute)) // SLOT


def window_cells(slots_by_weekday: Mapping[int, set[str]]) -> set[Cell]:
    """Cells from `demand.window_slots` / `amber_window_slots` output."""
    return {
        (day, label_index(label)) for day, labels in slots_by_weekday.items() for label in labels
    }


def _cells(period: TouPeriod) -> set[Cell]:
    cells: set[Cell] = set()
    for window in period.windows:
        first, last = window.start // SLOT, -(-window.end // SLOT)
        for day in window.days:
            cells.update((day, index) for index in range(first, last))
    return cells


def _windows(cells: set[Cell]) -> tuple[TouWindow, ...]:
    """Regroup cells: runs of half hours per day, then identical runs over consecutive days."""
    runs_by_day: dict[int, list[tuple[int, int]]] = {}
    for day in range(7):
        indexes = sorted(i for d, i in cells if d == day)
        runs: list[tuple[int, int]] = []
        for index in indexes:
            if runs and runs[-1][1] == index:
                runs[-1] = (runs[-1][0], index + 1)
            else:
                runs.append((index, index + 1))
        runs_by_day[day] = runs
    windows: list[TouWindow] = []
    day = 0
    while day < 7:
        last = day
        while last + 1 < 7 and runs_by_day[last + 1] == runs_by_day[day]:
            last += 1
        for start, end in runs_by_day[day]:
            windows.append(TouWindow(day, last, start * SLOT, end * SLOT))
        day = last + 1
    return tuple(windows)


def _split(
    period: TouPeriod, window: set[Cell], config: DemandConfig, taken: set[str]
) -> list[TouPeriod]:
    cells = _cells(period)
    inside, outside = cells & window, cells - window
    if not inside:
        return [period]
    if config.in_plan == IN_PLAN_SURCHARGE:
        charged = replace(period, buy=round(period.buy + config.surcharge, 4))
    else:
        charged = replace(period, demand=monthly_rate(config))
    if not outside:
        return [replace(charged, windows=_windows(inside))]
    # The in-window part needs a name of its own that no other period of the season has.
    name, number = period.name + WINDOW_SUFFIX, 2
    while name in taken:
        name, number = f"{period.name}{WINDOW_SUFFIX}_{number}", number + 1
    taken.add(name)
    return [
        replace(period, windows=_windows(outside)),
        replace(charged, name=name, windows=_windows(inside)),
    ]


def apply_demand(plan: TouPlan, config: DemandConfig, window: set[Cell]) -> TouPlan:
    """The plan with the demand window's cells charged (rates or surcharge) and nothing else
    changed. `window` holds (weekday, half-hour index) cells; an empty window changes nothing."""
    if not config.enabled or config.in_plan == IN_PLAN_NONE or not window:
        return plan
    if config.in_plan not in (IN_PLAN_DEMAND_RATES, IN_PLAN_SURCHARGE):
        raise ValueError(f"unknown demand_in_plan {config.in_plan!r}")
    seasons = []
    for season in plan.seasons:
        taken = {period.name for period in season.periods}
        periods = tuple(
            p for period in season.periods for p in _split(period, window, config, taken)
        )
        seasons.append(replace(season, periods=periods))
    return replace(plan, seasons=tuple(seasons))
