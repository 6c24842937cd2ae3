"""How the simulated Powerwall reads a stored `tariff_content_v2`: rates by local time, and faults.

Written for the simulator alone (it does not import the integration's encoder, so a mistake there
shows up here as a battery acting on the wrong prices). Interpretation, as Tesla's is understood:

- Seasons run `fromMonth/fromDay` .. `toMonth/toDay` inclusive and may wrap the year; a season
  with no `tou_periods` is ignored; the first season (in plan order) holding the date is used.
- A period entry covers days `fromDayOfWeek..toDayOfWeek` (Monday = 0, may wrap past Sunday),
  from `fromHour:fromMinute` to `toHour:toMinute` on each. A missing field reads as 0 (days:
  0 and 6). An end at or before the start (e.g. 21:00 -> 16:00, or toHour 0) runs on into the
  next day; `toHour: 24` is midnight at the end of the day.
- Buy rates: `energy_charges[season].rates[period]` (else that season's `ALL`); sell rates the same
  under `sell_tariff`. Both are in currency per kWh.

`TariffReader.issues` lists what Tesla's app is known to reject or what makes a plan ambiguous:
minutes of the week covered twice or not at all, period entries missing any of the six time
fields, periods without a rate, negative rates, and days of the year no season covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
import math
from typing import Any

DAY_MINUTES = 1440
WEEK_MINUTES = 7 * DAY_MINUTES
TIME_FIELDS = ("fromDayOfWeek", "toDayOfWeek", "fromHour", "fromMinute", "toHour", "toMinute")
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class Rates:
    """What the plan charges and pays at one moment, per kWh."""

    buy: float
    sell: float
    period: str
    season: str


@dataclass(slots=True)
class _Season:
    name: str
    start: tuple[int, int]
    end: tuple[int, int]
    periods: list[str]
    week: list[int]  # period index per minute of the week, -1 where none
    buy: list[float | None]
    sell: list[float | None]

    def covers(self, month: int, day: int) -> bool:
        here = (month, day)
        if self.start <= self.end:
            return self.start <= here <= self.end
        return here >= self.start or here <= self.end


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(entry: Mapping[str, Any], key: str, default: int) -> int:
    value = entry.get(key, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _rates(charges: Any, season: str) -> Mapping[str, Any]:
    if isinstance(charges, Mapping):
        block = charges.get(season)
        if isinstance(block, Mapping) and isinstance(block.get("rates"), Mapping):
            return block["rates"]  # type: ignore[no-any-return]
    return {}


def _minute_label(minute: int) -> str:
    day, rest = divmod(minute % WEEK_MINUTES, DAY_MINUTES)
    return f"{_DAY_NAMES[day]} {rest // 60:02d}:{rest % 60:02d}"


def _entries(body: Any) -> list[Mapping[str, Any]]:
    """A period's wire entries: `{"periods": [...]}`, or the older bare list."""
    if isinstance(body, Mapping):
        body = body.get("periods")
    if isinstance(body, list):
        return [entry for entry in body if isinstance(entry, Mapping)]
    return []


class TariffReader:
    """A parsed plan: `rates_at(local_datetime)` and the list of `issues` found."""

    def __init__(self, tariff: Mapping[str, Any] | None) -> None:
        self.issues: list[str] = []
        self._seasons: list[_Season] = []
        if not isinstance(tariff, Mapping):
            self.issues.append("no tariff stored")
            return
        seasons = tariff.get("seasons")
        if not isinstance(seasons, Mapping) or not seasons:
            self.issues.append("tariff has no seasons")
            return
        sell_side = tariff.get("sell_tariff")
        sell_charges = sell_side.get("energy_charges") if isinstance(sell_side, Mapping) else None
        for name, season in seasons.items():
            if not isinstance(season, Mapping):
                continue
            parsed = self._parse_season(
                str(name),
                season,
                _rates(tariff.get("energy_charges"), str(name)),
                _rates(sell_charges, str(name)),
            )
            if parsed is not None:
                self._seasons.append(parsed)
        if not self._seasons:
            self.issues.append("no season has any time-of-use periods")
            return
        self._check_year()

    def _parse_season(
        self,
        name: str,
        season: Mapping[str, Any],
        buy_rates: Mapping[str, Any],
        sell_rates: Mapping[str, Any],
    ) -> _Season | None:
        tou_periods = season.get("tou_periods")
        if not isinstance(tou_periods, Mapping) or not tou_periods:
            return None
        parsed = _Season(
            name=name,
            start=(_int(season, "fromMonth", 1), _int(season, "fromDay", 1)),
            end=(_int(season, "toMonth", 12), _int(season, "toDay", 31)),
            periods=[],
            week=[-1] * WEEK_MINUTES,
            buy=[],
            sell=[],
        )
        coverage = [0] * WEEK_MINUTES
        for period_name, body in tou_periods.items():
            index = len(parsed.periods)
            parsed.periods.append(str(period_name))
            buy = _number(buy_rates.get(period_name, buy_rates.get("ALL")))
            sell = _number(sell_rates.get(period_name, sell_rates.get("ALL")))
            if buy is None:
                self.issues.append(f"{name}/{period_name}: no buy rate")
            elif buy < 0:
                self.issues.append(f"{name}/{period_name}: negative buy rate {buy}")
            if sell is not None and sell < 0:
                self.issues.append(f"{name}/{period_name}: negative sell rate {sell}")
            parsed.buy.append(buy)
            parsed.sell.append(sell)
            entries = _entries(body)
            if not entries:
                self.issues.append(f"{name}/{period_name}: no periods")
            for number, entry in enumerate(entries):
                missing = [key for key in TIME_FIELDS if key not in entry]
                if missing:
                    self.issues.append(
                        f"{name}/{period_name}[{number}]: missing {', '.join(missing)}"
                    )
                for start, end in self._spans(entry):
                    for minute in range(start, end):
                        slot = minute % WEEK_MINUTES
                        coverage[slot] += 1
                        if parsed.week[slot] < 0:
                            parsed.week[slot] = index
        self._check_coverage(name, coverage)
        return parsed

    @staticmethod
    def _spans(entry: Mapping[str, Any]) -> list[tuple[int, int]]:
        from_day = _int(entry, "fromDayOfWeek", 0) % 7
        to_day = _int(entry, "toDayOfWeek", 6) % 7
        start = _int(entry, "fromHour", 0) * 60 + _int(entry, "fromMinute", 0)
        end = _int(entry, "toHour", 0) * 60 + _int(entry, "toMinute", 0)
        if end <= start:
            end += DAY_MINUTES
        if from_day <= to_day:
            days = list(range(from_day, to_day + 1))
        else:
            days = [*range(from_day, 7), *range(to_day + 1)]
        return [(day * DAY_MINUTES + start, day * DAY_MINUTES + end) for day in days]

    def _check_coverage(self, season: str, coverage: list[int]) -> None:
        gaps = [m for m, count in enumerate(coverage) if count == 0]
        overlaps = [m for m, count in enumerate(coverage) if count > 1]
        if gaps:
            self.issues.append(
                f"{season}: {len(gaps)} minutes of the week not covered "
                f"(first {_minute_label(gaps[0])})"
            )
        if overlaps:
            self.issues.append(
                f"{season}: {len(overlaps)} minutes of the week covered more than once "
                f"(first {_minute_label(overlaps[0])})"
            )

    def _check_year(self) -> None:
        day = date(2024, 1, 1)  # a leap year, so 29 February is checked too
        missing = 0
        first: date | None = None
        while day.year == 2024:
            if not any(s.covers(day.month, day.day) for s in self._seasons):
                missing += 1
                first = first or day
            day += timedelta(days=1)
        if first is not None:
            self.issues.append(
                f"{missing} days of the year in no season (first {first.strftime('%d %b')})"
            )

    @property
    def valid(self) -> bool:
        """Whether the plan has no known problem."""
        return not self.issues

    def rates_at(self, local: datetime) -> Rates | None:
        """The rates at wall-clock time `local` (site zone); None where the plan is silent."""
        for season in self._seasons:
            if not season.covers(local.month, local.day):
                continue
            minute = local.weekday() * DAY_MINUTES + local.hour * 60 + local.minute
            index = season.week[minute]
            if index < 0:
                return None
            buy = season.buy[index]
            if buy is None:
                return None
            sell = season.sell[index]
            return Rates(
                buy=buy,
                sell=sell if sell is not None else 0.0,
                period=season.periods[index],
                season=season.name,
            )
        return None
