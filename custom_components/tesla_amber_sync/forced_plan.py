"""The plan that makes a forced charge or discharge the obvious choice for the Powerwall.

Pure. A rolling 24-hour plan like the Amber one: the half hours from now until the end of the
forced period carry prices that make the wanted action clearly best, every other half hour makes
it clearly not worth deferring. Tesla's optimiser then does the rest.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Final

from .battery_settings import FORCED_CHARGE, FORCED_DISCHARGE
from .tou import PLAN_CODE_PREFIX, TouPeriod, TouPlan, TouSeason, TouWindow

SLOT = timedelta(minutes=30)
# Discharge: exporting now earns a high price that no later slot offers, and buying now costs
# as much (so charging now is never worth it, and sell never exceeds buy).
DISCHARGE_NOW: Final = (2.0, 2.0)
DISCHARGE_LATER: Final = (0.3, 0.0)
# Charge: importing now is free and dear later; export is worth nothing at any time.
CHARGE_NOW: Final = (0.0, 0.0)
CHARGE_LATER: Final = (1.0, 0.0)


def forced_slots(now: datetime, end: datetime, tz: tzinfo) -> set[str]:
    """Local "HH:MM" half hours that overlap `[now, end)`."""
    # Every Australian offset is a whole number of half hours, so UTC half hours are local ones;
    # stepping in UTC is right across daylight-saving changes.
    utc = now.astimezone(UTC)
    cursor = utc.replace(minute=utc.minute - utc.minute % 30, second=0, microsecond=0)
    labels: set[str] = set()
    while cursor < end and len(labels) < 48:
        labels.add(f"{cursor.astimezone(tz):%H:%M}")
        cursor += SLOT
    return labels


def forced_plan(kind: str, now: datetime, end: datetime, tz: tzinfo) -> TouPlan:
    """48 half-hour periods (every day) with the forced prices on the slots until `end`."""
    if kind not in (FORCED_CHARGE, FORCED_DISCHARGE):
        raise ValueError(f"unknown forced mode {kind!r}")
    active = forced_slots(now, end, tz)
    now_rates, later_rates = (
        (DISCHARGE_NOW, DISCHARGE_LATER) if kind == FORCED_DISCHARGE else (CHARGE_NOW, CHARGE_LATER)
    )
    periods = []
    for index in range(48):
        start = index * 30
        label = f"{time(start // 60, start % 60):%H:%M}"
        buy, sell = now_rates if label in active else later_rates
        periods.append(
            TouPeriod(
                name=f"PERIOD_{label.replace(':', '_')}",
                windows=(TouWindow(0, 6, start, start + 30),),
                buy=buy,
                sell=sell,
            )
        )
    return TouPlan(
        code=f"{PLAN_CODE_PREFIX}:FORCED_{kind.upper()}",
        name=f"Tesla Amber Sync: forced {kind}",
        utility="Tesla Amber Sync",
        seasons=(TouSeason("Summer", 1, 1, 12, 31, tuple(periods)),),
    )
