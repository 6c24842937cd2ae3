"""Replay figures for Amber's short morning forecast (AEMO's horizon): did the Powerwall always
hold a fresh plan, and how much of it came from the beyond-horizon rule, by hour of the day."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bench.replay_harness import ReplayRun
from custom_components.tesla_amber_sync.issues import ISSUE_PRICES_UNAVAILABLE
from custom_components.tesla_amber_sync.tou import is_our_plan

# Statuses under which the Powerwall holds no plan built from Amber's latest prices.
NO_FRESH_PLAN = frozenset({"prices_unavailable", "failed"})
SLOTS = 48
SAMPLE = 300.0  # seconds: one sample per 5-minute interval


@dataclass
class HorizonFigures:
    """What the user would have seen, per local day and per hour of the day."""

    days: list[str] = field(default_factory=list)
    stale_hours: dict[str, float] = field(default_factory=dict)  # local day -> hours
    refusals: int = 0  # episodes of "prices_unavailable"
    stale_repairs: int = 0
    restores: int = 0  # writes of a plan that is not ours (the original plan put back)
    history_calls: int = 0
    beyond_share: dict[int, float] = field(default_factory=dict)  # local hour -> share of slots


def _state_at(changes: list[tuple[float, str]], times: list[float], at: float) -> str | None:
    index = bisect_right(times, at)
    return changes[index - 1][1] if index else None


def horizon(run: ReplayRun, zone: ZoneInfo) -> HorizonFigures:
    """Sample every 5 minutes: status, beyond-horizon slots; count repairs and restores."""
    figures = HorizonFigures()
    status_times = [t for t, _ in run.statuses]
    beyond_times = [t for t, _ in run.beyond]
    beyond_states = [(t, str(n)) for t, n in run.beyond]
    by_hour: dict[int, list[float]] = defaultdict(list)
    at = run.start.timestamp() + SAMPLE / 2
    while at < run.end.timestamp():
        local = datetime.fromtimestamp(at, UTC).astimezone(zone)
        day = f"{local:%a %d %b}"
        if day not in figures.stale_hours:
            figures.days.append(day)
            figures.stale_hours[day] = 0.0
        if _state_at(run.statuses, status_times, at) in NO_FRESH_PLAN:
            figures.stale_hours[day] += SAMPLE / 3600
        count = _state_at(beyond_states, beyond_times, at)
        by_hour[local.hour].append(int(count or 0) / SLOTS)
        at += SAMPLE
    figures.beyond_share = {h: sum(v) / len(v) for h, v in sorted(by_hour.items())}
    figures.refusals = sum(1 for _, state in run.statuses if state == "prices_unavailable")
    figures.stale_repairs = sum(
        1 for _, issue in run.raised if issue.startswith(ISSUE_PRICES_UNAVAILABLE)
    )
    figures.restores = sum(1 for w in run.clouds.writes if not is_our_plan(w.tariff))
    figures.history_calls = sum(1 for c in run.clouds.calls if c.op == "history")
    return figures


def print_horizon(figures: HorizonFigures) -> None:
    """The horizon figures, Markdown tables."""
    print()
    worst = max(figures.stale_hours.values(), default=0.0)
    print("| horizon figure | value | goal |")
    print("|---|---|---|")
    print(f"| hours per day with no fresh plan (worst day) | {worst:.2f} | 0 |")
    print(f"| refused builds (prices_unavailable episodes) | {figures.refusals} | 0 |")
    print(f"| stale-price repairs raised | {figures.stale_repairs} | 0 |")
    print(f"| original-plan restores | {figures.restores} | 0 |")
    print(f"| Amber history catch-up calls | {figures.history_calls} | - |")
    print()
    hours = list(figures.beyond_share)
    print("| local hour | " + " | ".join(f"{h:02d}" for h in hours) + " |")
    print("|---|" + "---|" * len(hours))
    shares = " | ".join(f"{figures.beyond_share[h]:.0%}" for h in hours)
    print(f"| plan slots beyond Amber's horizon | {shares} |")
