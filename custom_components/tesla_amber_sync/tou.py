"""A time-of-use plan in plain terms, and its Tesla wire form (`tariff_content_v2`).

Every plan we send (Amber-derived, fixed-rate, demand-split, forced-mode) is first a `TouPlan`;
`encode_tariff` is the only place that writes Tesla's format, and `read_tariff` the only place
that reads it back. Pure: no Home Assistant, no I/O.

Times are wall-clock minutes of the site's own time zone; days are Monday=0 .. Sunday=6.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
import hashlib
import json
import math
from typing import Any

DAY_MINUTES = 24 * 60
WEEK_MINUTES = 7 * DAY_MINUTES
PLAN_CODE_PREFIX = "TESLA_AMBER_SYNC"
RATE_DECIMALS = 4


@dataclass(frozen=True, slots=True)
class TouWindow:
    """Days `from_day..to_day` (inclusive, Monday=0), clock minutes `[start, end)` on each.

    `end` may be 1440 (midnight at the end of the day). A window never crosses midnight: a
    period that does is two windows.
    """

    from_day: int
    to_day: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.from_day <= 6 and 0 <= self.to_day <= 6):
            raise ValueError(f"days must be 0..6, got {self.from_day}..{self.to_day}")
        if not 0 <= self.start < self.end <= DAY_MINUTES:
            raise ValueError(f"window minutes must satisfy 0 <= start < end <= 1440: {self}")

    @property
    def days(self) -> tuple[int, ...]:
        """The weekdays covered, allowing a range that wraps past Sunday."""
        if self.from_day <= self.to_day:
            return tuple(range(self.from_day, self.to_day + 1))
        return (*range(self.from_day, 7), *range(self.to_day + 1))

    def to_wire(self) -> dict[str, int]:
        """All six fields, always: Tesla rejects plans that leave any out."""
        return {
            "fromDayOfWeek": self.from_day,
            "toDayOfWeek": self.to_day,
            "fromHour": self.start // 60,
            "fromMinute": self.start % 60,
            "toHour": self.end // 60,
            "toMinute": self.end % 60,
        }


@dataclass(frozen=True, slots=True)
class TouPeriod:
    """A named price period: its windows and its rates in $/kWh (and $/kW for demand)."""

    name: str
    windows: tuple[TouWindow, ...]
    buy: float
    sell: float
    demand: float = 0.0


@dataclass(frozen=True, slots=True)
class TouSeason:
    """A season from `from_month/from_day` to `to_month/to_day` inclusive (may wrap the year)."""

    name: str
    from_month: int
    from_day: int
    to_month: int
    to_day: int
    periods: tuple[TouPeriod, ...]


WHOLE_YEAR = (1, 1, 12, 31)


@dataclass(frozen=True, slots=True)
class TouPlan:
    """A complete plan, ready to encode."""

    code: str
    name: str
    utility: str
    seasons: tuple[TouSeason, ...]
    daily_charge: float = 0.0
    currency: str = "AUD"


def _rate(value: float) -> float:
    return round(float(value), RATE_DECIMALS)


def _charges(rates_by_season: dict[str, dict[str, float]]) -> dict[str, Any]:
    charges: dict[str, Any] = {"ALL": {"rates": {"ALL": 0}}}
    for season, rates in rates_by_season.items():
        charges[season] = {"rates": rates}
    return charges


def encode_tariff(plan: TouPlan) -> dict[str, Any]:
    """The `tariff_content_v2` body for `plan`: buy side at the top, sell side mirrored."""
    seasons: dict[str, Any] = {}
    buy: dict[str, dict[str, float]] = {}
    sell: dict[str, dict[str, float]] = {}
    demand: dict[str, dict[str, float]] = {}
    for season in plan.seasons:
        seasons[season.name] = {
            "fromMonth": season.from_month,
            "fromDay": season.from_day,
            "toMonth": season.to_month,
            "toDay": season.to_day,
            "tou_periods": {
                period.name: {"periods": [w.to_wire() for w in period.windows]}
                for period in season.periods
            },
        }
        buy[season.name] = {p.name: _rate(p.buy) for p in season.periods}
        sell[season.name] = {p.name: _rate(p.sell) for p in season.periods}
        demand[season.name] = {p.name: _rate(p.demand) for p in season.periods if p.demand}
    daily = [{"name": "Charge", "amount": _rate(plan.daily_charge)}]
    return {
        "version": 1,
        "code": plan.code,
        "name": plan.name,
        "utility": plan.utility,
        "currency": plan.currency,
        "daily_charges": daily,
        "demand_charges": _charges(demand),
        "energy_charges": _charges(buy),
        "seasons": seasons,
        "sell_tariff": {
            "name": plan.name,
            "utility": plan.utility,
            "daily_charges": [{"name": "Charge", "amount": 0}],
            "demand_charges": _charges({name: {} for name in demand}),
            "energy_charges": _charges(sell),
            "seasons": seasons,
        },
    }


def is_our_plan(tariff: Mapping[str, Any] | None) -> bool:
    """Whether a plan read from the Powerwall was written by this integration."""
    if not tariff:
        return False
    return str(tariff.get("code", "")).startswith(PLAN_CODE_PREFIX)


# --- reading a plan back -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the week `[start, end)` in minutes-of-week (Monday 00:00 = 0) with one rate."""

    start: int
    end: int
    period: str
    rate: float | None


def _int_field(value: Any, default: int, low: int, high: int) -> int | None:
    """A plan's integer field, or None when it is not one (plans read back may be anything)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def wire_window_spans(entry: Any) -> list[tuple[int, int]]:
    """Minute-of-week spans of one wire `periods[]` entry, one per day it applies to.

    A missing field reads as Tesla's default (days 0..6, times 0:00); an end at or before the
    start crosses midnight into the next day, as Tesla interprets it. Spans may run past the end
    of the week (wrap them with `% WEEK_MINUTES`). An unreadable entry has no spans (the
    validator reports it; readers of a plan held by the Powerwall must not crash on it).
    """
    if not isinstance(entry, Mapping):
        return []
    fields = (
        _int_field(entry.get("fromDayOfWeek"), 0, 0, 6),
        _int_field(entry.get("toDayOfWeek"), 6, 0, 6),
        _int_field(entry.get("fromHour"), 0, 0, 24),
        _int_field(entry.get("fromMinute"), 0, 0, 59),
        _int_field(entry.get("toHour"), 0, 0, 24),
        _int_field(entry.get("toMinute"), 0, 0, 59),
    )
    if any(field is None for field in fields):
        return []
    from_day, to_day, from_hour, from_minute, to_hour, to_minute = (int(f or 0) for f in fields)
    start = from_hour * 60 + from_minute
    end = to_hour * 60 + to_minute
    if end <= start:
        end += DAY_MINUTES
    days = (
        range(from_day, to_day + 1)
        if from_day <= to_day
        else [*range(from_day, 7), *range(to_day + 1)]
    )
    return [(day * DAY_MINUTES + start, day * DAY_MINUTES + end) for day in days]


def season_segments(season: Mapping[str, Any], rates: Mapping[str, Any] | None) -> list[Segment]:
    """Every span of a season's periods with its rate, sorted by start (wrapped into the week)."""
    segments: list[Segment] = []
    tou_periods = season.get("tou_periods")
    if not isinstance(tou_periods, Mapping):
        return segments
    for name, body in tou_periods.items():
        rate = _lookup_rate(rates, str(name))
        entries = body.get("periods") if isinstance(body, Mapping) else None
        for entry in entries if isinstance(entries, list) else []:
            for start, end in wire_window_spans(entry):
                if end > WEEK_MINUTES:  # split at the week boundary
                    segments.append(Segment(start, WEEK_MINUTES, name, rate))
                    segments.append(Segment(0, end - WEEK_MINUTES, name, rate))
                else:
                    segments.append(Segment(start, end, name, rate))
    segments.sort(key=lambda s: (s.start, s.end, s.period))
    return segments


def _lookup_rate(rates: Mapping[str, Any] | None, period: str) -> float | None:
    if not rates:
        return None
    value = rates.get(period, rates.get("ALL"))
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _season_rates(charges: Any, season: str) -> Mapping[str, Any] | None:
    if not isinstance(charges, Mapping):
        return None
    block = charges.get(season)
    if isinstance(block, Mapping) and isinstance(block.get("rates"), Mapping):
        return block["rates"]  # type: ignore[no-any-return]
    return None


def season_covers(season: Mapping[str, Any], month: int, day: int) -> bool:
    """Whether a season's inclusive `from..to` month/day range holds the given date."""
    fields = [
        _int_field(season.get(key), 0, 1, 31)
        for key in ("fromMonth", "fromDay", "toMonth", "toDay")
    ]
    if any(field is None for field in fields):
        return False
    start = (fields[0], fields[1])
    end = (fields[2], fields[3])
    here = (month, day)
    if start <= end:
        return start <= here <= end
    return here >= start or here <= end


@dataclass(frozen=True, slots=True)
class RateAt:
    """The rates a plan shows at one moment."""

    buy: float | None
    sell: float | None
    period: str | None
    season: str | None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _seasons_of(tariff: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The readable seasons that have periods (a plan read back may hold anything)."""
    return [
        (str(name), season)
        for name, season in _mapping(tariff.get("seasons")).items()
        if isinstance(season, Mapping) and season.get("tou_periods")
    ]


class TariffIndex:
    """A plan parsed once for fast lookups (entities ask for 96 rates at every update)."""

    def __init__(self, tariff: Mapping[str, Any]) -> None:
        """Expand every season's periods into sorted minute-of-week segments."""
        self.tariff = tariff
        sell_side = _mapping(tariff.get("sell_tariff"))
        self._seasons: list[tuple[str, Mapping[str, Any], list[Segment], list[int], Any]] = []
        for name, season in _seasons_of(tariff):
            segments = season_segments(season, _season_rates(tariff.get("energy_charges"), name))
            sell_rates = _season_rates(sell_side.get("energy_charges"), name)
            starts = [segment.start for segment in segments]
            self._seasons.append((name, season, segments, starts, sell_rates))

    def rates_at(self, local: datetime) -> RateAt:
        """Buy and sell rates at the wall-clock time `local` (site time zone)."""
        minute = local.weekday() * DAY_MINUTES + local.hour * 60 + local.minute
        for name, season, segments, starts, sell_rates in self._seasons:
            if not season_covers(season, local.month, local.day):
                continue
            index = bisect_right(starts, minute) - 1
            # Segments may overlap in a malformed plan; scan back for one that holds the minute.
            while index >= 0:
                segment = segments[index]
                if segment.start <= minute < segment.end:
                    return RateAt(
                        buy=segment.rate,
                        sell=_lookup_rate(sell_rates, segment.period),
                        period=segment.period,
                        season=name,
                    )
                index -= 1
        return RateAt(None, None, None, None)


def rates_at(tariff: Mapping[str, Any], local: datetime) -> RateAt:
    """Buy and sell rates the plan gives at the wall-clock time `local` (site time zone)."""
    return TariffIndex(tariff).rates_at(local)


def canonical(tariff: Mapping[str, Any]) -> list[Any]:
    """A form of the plan that ignores naming and key order: what the Powerwall will charge.

    Two plans with equal canonical forms bill identically, so a readback that differs only in
    number types or field order is not a mismatch.
    """
    result: list[Any] = []
    sell_side = _mapping(tariff.get("sell_tariff"))
    for season_name, season in sorted(_seasons_of(tariff), key=lambda item: item[0]):
        buy_rates = _season_rates(tariff.get("energy_charges"), season_name)
        sell_rates = _season_rates(sell_side.get("energy_charges"), season_name)
        demand_rates = _season_rates(tariff.get("demand_charges"), season_name)
        spans = [
            (
                s.start,
                s.end,
                _rounded(s.rate),
                _rounded(_lookup_rate(sell_rates, s.period)),
                # An absent demand rate and an explicit 0 bill the same.
                _rounded(_lookup_rate(demand_rates, s.period) or 0.0),
            )
            for s in season_segments(season, buy_rates)
        ]
        result.append(
            [
                [_whole(season.get(k)) for k in ("fromMonth", "fromDay", "toMonth", "toDay")],
                _merge(spans),
            ]
        )
    return result


def _whole(value: Any) -> Any:
    """1.0 -> 1, so `fingerprint` (JSON text) ignores int-vs-float as `same_rates` does."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, RATE_DECIMALS)


def _merge(spans: list[tuple[int, int, Any, Any, Any]]) -> list[tuple[int, int, Any, Any, Any]]:
    """Join touching spans with equal rates so that how a plan is cut into periods is ignored."""
    merged: list[tuple[int, int, Any, Any, Any]] = []
    for span in spans:
        if merged and merged[-1][1] == span[0] and merged[-1][2:] == span[2:]:
            merged[-1] = (merged[-1][0], span[1], *span[2:])
        else:
            merged.append(span)
    return merged


def same_rates(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether two plans charge and pay the same at every minute of the year."""
    if a is None or b is None:
        return a is b
    return canonical(a) == canonical(b)


def fingerprint(tariff: Mapping[str, Any]) -> str:
    """Short stable hash of what a plan charges (see `canonical`)."""
    text = json.dumps(canonical(tariff), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
