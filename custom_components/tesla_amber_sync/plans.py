"""Fixed-rate time-of-use plans (peak / shoulder / off-peak) and their Powerwall form.

Pure: standard library and `tou` only, no Home Assistant, no I/O.

The JSON shape
--------------
This is what the `export_plan` action returns, what `import_plan` accepts and what the plan
editor stores::

    {
      "name": "Origin Flexi TOU",            # required, non-empty
      "utility": "Origin Energy",            # optional, default ""
      "daily_supply_charge": 1.10,           # optional, $/day, default 0
      "seasons": [
        {"name": "Summer", "from": "12-01", "to": "03-31",
         "periods": [
           {"name": "Peak", "days": "weekdays", "from": "15:00", "to": "21:00",
            "buy": 0.55, "sell": 0.05, "demand": null},
           {"name": "Off-peak", "days": "all", "from": "22:00", "to": "07:00",
            "buy": 0.22, "sell": 0.05}
         ]}
      ]
    }

Seasons
    `from` and `to` are "MM-DD", both inclusive; a season may wrap the new year ("12-01" to
    "03-31"). Together the seasons must cover every day of the year exactly once, 29 February
    included: a season that runs to the end of February should say "02-29" (in other years it
    then ends on the 28th, as the Powerwall reads it). No season may start on 29 February.
Periods
    `days` is "all", "weekdays" (Monday-Friday), "weekends", one day ("fri", or "friday"), a
    range of days ("mon-thu"; a range may wrap past Sunday: "fri-mon" is Friday to Monday), or a
    list of any of these (["mon", "wed", "fri"]). Case and surrounding spaces are ignored; `to_dict`
    gives the spec back exactly as it was written.

    `from`/`to` are "HH:MM" on half-hour boundaries; `to` may be "24:00". `to` at or before `from`
    means the period crosses midnight.

    **How a midnight-crossing period reads.** `days` names the days whose CLOCK TIMES the period
    covers. "weekdays 22:00-07:00" covers 22:00-24:00 and 00:00-07:00 of Monday, Tuesday, ...,
    Friday; it does *not* cover Saturday 00:00-07:00 (that is Saturday's clock time, and Saturday
    is not a weekday). So every check is per day: on each day of each season, every half hour
    belongs to exactly one period.

    `buy` and `sell` are $/kWh (sell positive = paid to export); `demand` is an optional $/kW
    (absent or null: no demand charge).

Parsing and validation
----------------------
`FixedPlan.from_dict` checks shape only (types, unknown or missing keys, "HH:MM" and "MM-DD"
syntax) and raises `PlanError` (the only exception it raises) listing every problem it found.
`validate_plan` checks meaning and returns a `PlanReport` of errors and warnings. `load_plan` does
both and raises `PlanError` on any error. `plan_to_tou` refuses (with `PlanError`) a plan that
has validation errors, so a plan that expands always encodes to a tariff where each day of each
season is covered exactly once.

Issue codes (`PlanIssue.code`, usable as translation keys) and their placeholders:

=========================  ========================================================
from_dict
``wrong_type``             where, key, expected, got
``unknown_key``            where, key, allowed
``missing_key``            where, key
``bad_time``               where, key, value (also from validate_plan)
``bad_date``               where, key, value (also from validate_plan)
validate_plan (errors)
``empty_name``             where
``no_seasons``             (none)
``no_periods``             season
``duplicate_season_name``  season
``duplicate_period_name``  season, period
``bad_days``               season, period, value, reason
``time_not_half_hour``     season, period, key, value
``zero_length_period``     season, period, value
``negative_rate``          season, period, key, value (season/period "" for the plan)
``rate_not_finite``        season, period, key, value (season/period "" for the plan)
``rate_too_high``          season, period, key, value (buy or sell above 100 $/kWh)
``period_overlap``         season, period, other_period, days, times
``uncovered_time``         season, days, times
``date_uncovered``         dates
``date_overlap``           season, other_season, dates
validate_plan (warnings)
``sell_above_buy``         season, period, buy, sell
=========================  ========================================================

`times` is the exact day-qualified list, e.g. "Saturday 07:00-09:00 and Sunday 07:00-09:00";
`days` the day names alone. Name checks (empty, duplicate) ignore case and surrounding spaces.
While a season has a period whose days or times cannot be read (``bad_days``, ``bad_time``),
its overlap and coverage checks are skipped (they would only describe symptoms); likewise the
year-coverage checks while any season date is bad. `validate_plan` never raises.

Expansion
---------
`plan_to_tou` gives one `tou.TouSeason` per plan season, dates as written. A season that wraps
the new year (from 12-01 to 03-31) is written as one Tesla season with fromMonth 12 > toMonth 3:
Tesla's format allows it, `tou.rates_at` reads it, and the independent resolver in
`tesla_fleet_api` (`get_tariff_periods`, v1.18.1) resolves it on both sides of the new year (it
anchors a wrapped season to the previous year before the `to` date and to the next year after
the `from` date). The tariff validator accepts it too. The tests check the resolver and
`tou.rates_at` against the plan at every half hour around New Year, so a split into two seasons
was not needed. Each plan period becomes one `tou.TouPeriod`, with one window per run of
consecutive days (runs never wrap past Sunday: "fri-mon" gives Friday-Sunday and Monday
windows) and, for a midnight-crossing period, two windows per run (`from`-24:00 and
00:00-`to`). Periods are never keyed by clock time alone, so a weekday and a weekend period at
the same clock time both survive. Tesla names are slugs: uppercase ASCII letters, digits and
underscores ("Off-peak" -> "OFF_PEAK"); "ALL" is reserved by the format, and collisions get
"_2", "_3", ... (`tesla_names` gives the mapping). The plan `code` is
"TESLA_AMBER_SYNC:FIXED:<slug of the plan name>"; `daily_charge` is the daily supply charge.

Which period applies now
------------------------
`period_at(plan, local)` reads `local` as wall-clock time of the site's zone (like the
Powerwall) and returns `PeriodAt(season, period, buy, sell)` with the plan's own names, or
None where the plan has no period (never, for a valid plan). It agrees with the expansion:
the tests compare it with `tou.rates_at` and the resolver on the encoded plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
import math
import re
from typing import Any, NamedTuple
import unicodedata

from . import tou

DAY_MINUTES = tou.DAY_MINUTES
HALF_HOUR = 30
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
PLAN_KEYS = ("name", "utility", "daily_supply_charge", "seasons")
SEASON_KEYS = ("name", "from", "to", "periods")
PERIOD_KEYS = ("name", "days", "from", "to", "buy", "sell", "demand")
FIXED_CODE = "FIXED"
RESERVED_NAMES = frozenset({"ALL"})  # the "ALL" key of Tesla's charge tables
MAX_SLUG = 40
# $/kWh. The market cap is about $22/kWh, so more is a c/kWh-vs-$ mix-up; the tariff validator
# (validate.MAX_ENERGY_RATE) refuses such rates too, and a test keeps the two limits in step.
MAX_ENERGY_RATE = 100.0

_DAY_WORDS: dict[str, int] = {}
for _index, _day in enumerate(DAY_NAMES):
    _DAY_WORDS[_day.lower()] = _index
    _DAY_WORDS[_day[:3].lower()] = _index
_DAY_GROUPS: dict[str, tuple[int, ...]] = {
    "all": tuple(range(7)),
    "weekdays": tuple(range(5)),
    "weekends": (5, 6),
}
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})")
_DATE_RE = re.compile(r"(\d{2})-(\d{2})")
# Day-of-year positions use a leap year so that 29 February has a place.
_LEAP_YEAR = 2028
_YEAR_DAYS = 366


# --- issues ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanIssue:
    """One problem: a snake_case `code`, a plain-English `message`, string `placeholders`."""

    code: str
    message: str
    placeholders: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class PlanReport:
    """What `validate_plan` found. A plan with no errors can be expanded."""

    errors: list[PlanIssue] = field(default_factory=list)
    warnings: list[PlanIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the plan has no errors (warnings allowed)."""
        return not self.errors


class PlanError(ValueError):
    """A plan could not be parsed, or has validation errors; `issues` lists every one."""

    def __init__(self, issues: Sequence[PlanIssue]) -> None:
        self.issues: list[PlanIssue] = list(issues)
        super().__init__("; ".join(issue.message for issue in self.issues) or "invalid plan")


# --- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanPeriod:
    """A named price period: `days`, clock minutes `start`..`end` (end <= start: crosses midnight).

    `start` is 0..1410 and `end` 0..1440 in a valid plan; `days` is kept as written.
    """

    name: str
    days: str | tuple[str, ...]
    start: int
    end: int
    buy: float
    sell: float
    demand: float | None = None

    @classmethod
    def from_dict(cls, data: Any) -> PlanPeriod:
        """Parse one period; raises `PlanError` listing every shape problem."""
        issues: list[PlanIssue] = []
        period = _parse_period(data, "Period", issues)
        if issues or period is None:
            raise PlanError(issues)
        return period

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see the module docstring)."""
        body: dict[str, Any] = {
            "name": self.name,
            "days": self.days if isinstance(self.days, str) else list(self.days),
            "from": format_time(self.start),
            "to": format_time(self.end),
            "buy": self.buy,
            "sell": self.sell,
        }
        if self.demand is not None:
            body["demand"] = self.demand
        return body


@dataclass(frozen=True, slots=True)
class PlanSeason:
    """A season from `start` to `end` inclusive, each `(month, day)`; may wrap the new year."""

    name: str
    start: tuple[int, int]
    end: tuple[int, int]
    periods: tuple[PlanPeriod, ...]

    @classmethod
    def from_dict(cls, data: Any) -> PlanSeason:
        """Parse one season; raises `PlanError` listing every shape problem."""
        issues: list[PlanIssue] = []
        season = _parse_season(data, "Season", issues)
        if issues or season is None:
            raise PlanError(issues)
        return season

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see the module docstring)."""
        return {
            "name": self.name,
            "from": format_month_day(self.start),
            "to": format_month_day(self.end),
            "periods": [period.to_dict() for period in self.periods],
        }


@dataclass(frozen=True, slots=True)
class FixedPlan:
    """A fixed-rate plan: seasons of periods, plus a daily supply charge in $/day."""

    name: str
    seasons: tuple[PlanSeason, ...]
    utility: str = ""
    daily_supply_charge: float = 0.0

    @classmethod
    def from_dict(cls, data: Any) -> FixedPlan:
        """Parse the JSON form; raises `PlanError` (only) listing every shape problem."""
        issues: list[PlanIssue] = []
        plan = _parse_plan(data, issues)
        if issues or plan is None:
            raise PlanError(issues)
        return plan

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; `from_dict(to_dict())` gives an equal plan."""
        return {
            "name": self.name,
            "utility": self.utility,
            "daily_supply_charge": self.daily_supply_charge,
            "seasons": [season.to_dict() for season in self.seasons],
        }


# --- small formatters and parsers --------------------------------------------------------------


def format_time(minutes: int) -> str:
    """Clock minutes as "HH:MM" (1440 is "24:00")."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_month_day(month_day: tuple[int, int]) -> str:
    """`(month, day)` as "MM-DD"."""
    return f"{month_day[0]:02d}-{month_day[1]:02d}"


def parse_days(spec: str | Sequence[str]) -> frozenset[int]:
    """The weekdays (Monday=0) a `days` spec names; `ValueError` says what is wrong."""
    if isinstance(spec, str):
        return frozenset(_parse_day_word(spec))
    if not spec:
        raise ValueError("the list of days is empty")
    seen: set[int] = set()
    for item in spec:
        if not isinstance(item, str):
            raise ValueError(f"{item!r} is not a day")
        for day in _parse_day_word(item):
            if day in seen:
                raise ValueError(f"{DAY_NAMES[day]} is named twice")
            seen.add(day)
    return frozenset(seen)


def _parse_day_word(text: str) -> tuple[int, ...]:
    word = text.strip().lower()
    if word in _DAY_GROUPS:
        return _DAY_GROUPS[word]
    if word in _DAY_WORDS:
        return (_DAY_WORDS[word],)
    first, dash, last = word.partition("-")
    first, last = first.strip(), last.strip()
    if dash and first in _DAY_WORDS and last in _DAY_WORDS:
        start, stop = _DAY_WORDS[first], _DAY_WORDS[last]
        return tuple((start + offset) % 7 for offset in range((stop - start) % 7 + 1))
    raise ValueError(
        f'"{text}" is not a day spec (use all, weekdays, weekends, a day such as "mon",'
        ' a range such as "mon-thu", or a list of these)'
    )


def _day_runs(days: frozenset[int]) -> list[tuple[int, int]]:
    """Runs of consecutive weekdays `(first, last)`, never wrapping past Sunday."""
    runs: list[tuple[int, int]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _pieces(start: int, end: int) -> list[tuple[int, int]]:
    """The clock spans `[a, b)` of one day a period covers (two if it crosses midnight)."""
    if start < end:
        return [(start, end)]
    pieces = [(start, DAY_MINUTES)]
    if end > 0:
        pieces.insert(0, (0, end))
    return pieces


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _num(value: float) -> str:
    return repr(float(value))


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'text "{shown}"'
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


# --- from_dict ---------------------------------------------------------------------------------


def _wrong_type(issues: list[PlanIssue], where: str, key: str, expected: str, got: Any) -> None:
    subject = f'"{key}"' if key else "it"
    issues.append(
        PlanIssue(
            "wrong_type",
            f"{where}: {subject} must be {expected}, got {_describe(got)}",
            {"where": where, "key": key, "expected": expected, "got": _describe(got)},
        )
    )


def _check_keys(
    data: Mapping[Any, Any],
    where: str,
    allowed: tuple[str, ...],
    required: tuple[str, ...],
    issues: list[PlanIssue],
) -> None:
    for key in data:
        if key not in allowed:
            shown = key if isinstance(key, str) else repr(key)
            issues.append(
                PlanIssue(
                    "unknown_key",
                    f'{where}: unknown key "{shown}" (allowed: {", ".join(allowed)})',
                    {"where": where, "key": str(shown), "allowed": ", ".join(allowed)},
                )
            )
    for key in required:
        if key not in data:
            issues.append(
                PlanIssue(
                    "missing_key", f'{where}: "{key}" is missing', {"where": where, "key": key}
                )
            )


def _get_str(
    data: Mapping[Any, Any], key: str, where: str, issues: list[PlanIssue], default: str | None
) -> str | None:
    if key not in data:
        return default
    value = data[key]
    if not isinstance(value, str):
        _wrong_type(issues, where, key, "text", value)
        return None
    return value


def _get_number(
    data: Mapping[Any, Any],
    key: str,
    where: str,
    issues: list[PlanIssue],
    default: float | None,
    nullable: bool = False,
) -> float | None:
    if key not in data:
        return default
    value = data[key]
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        _wrong_type(issues, where, key, "a number", value)
        return None
    try:
        return float(value)
    except OverflowError:  # an int too large for a float: validation calls it not finite
        return math.inf


def _parse_time(value: Any, key: str, where: str, issues: list[PlanIssue]) -> int | None:
    if not isinstance(value, str):
        _wrong_type(issues, where, key, 'a time "HH:MM"', value)
        return None
    match = _TIME_RE.fullmatch(value.strip())
    latest = DAY_MINUTES if key == "to" else DAY_MINUTES - 1
    if match:
        hour, minute = int(match[1]), int(match[2])
        minutes = hour * 60 + minute
        if minute < 60 and minutes <= latest:
            return minutes
    span = "00:00 to 24:00" if key == "to" else "00:00 to 23:59"
    issues.append(
        PlanIssue(
            "bad_time",
            f'{where}: "{key}" must be a time "HH:MM" from {span}, got "{value}"',
            {"where": where, "key": key, "value": value},
        )
    )
    return None


def _parse_month_day(
    value: Any, key: str, where: str, issues: list[PlanIssue]
) -> tuple[int, int] | None:
    if not isinstance(value, str):
        _wrong_type(issues, where, key, 'a date "MM-DD"', value)
        return None
    match = _DATE_RE.fullmatch(value.strip())
    if match:
        return int(match[1]), int(match[2])
    issues.append(
        PlanIssue(
            "bad_date",
            f'{where}: "{key}" must be a date "MM-DD", got "{value}"',
            {"where": where, "key": key, "value": value},
        )
    )
    return None


def _label(data: Mapping[Any, Any], kind: str, index: int) -> str:
    name = data.get("name")
    if isinstance(name, str) and name.strip():
        return f'{kind} "{name.strip()}"'
    return f"{kind} {index + 1}"


def _parse_plan(data: Any, issues: list[PlanIssue]) -> FixedPlan | None:
    where = "Plan"
    if not isinstance(data, Mapping):
        _wrong_type(issues, where, "", "an object", data)
        return None
    _check_keys(data, where, PLAN_KEYS, ("name", "seasons"), issues)
    name = _get_str(data, "name", where, issues, None)
    utility = _get_str(data, "utility", where, issues, "")
    daily = _get_number(data, "daily_supply_charge", where, issues, 0.0)
    raw_seasons = data.get("seasons")
    seasons: list[PlanSeason] = []
    if "seasons" in data:
        if isinstance(raw_seasons, list | tuple):
            for index, raw in enumerate(raw_seasons):
                label = _label(raw, "Season", index) if isinstance(raw, Mapping) else None
                season = _parse_season(raw, label or f"Season {index + 1}", issues)
                if season is not None:
                    seasons.append(season)
        else:
            _wrong_type(issues, where, "seasons", "a list", raw_seasons)
    if issues or name is None or utility is None or daily is None:
        return None
    return FixedPlan(name, tuple(seasons), utility, daily)


def _parse_season(data: Any, where: str, issues: list[PlanIssue]) -> PlanSeason | None:
    if not isinstance(data, Mapping):
        _wrong_type(issues, where, "", "an object", data)
        return None
    before = len(issues)
    _check_keys(data, where, SEASON_KEYS, SEASON_KEYS, issues)
    name = _get_str(data, "name", where, issues, None)
    start = _parse_month_day(data["from"], "from", where, issues) if "from" in data else None
    end = _parse_month_day(data["to"], "to", where, issues) if "to" in data else None
    periods: list[PlanPeriod] = []
    if "periods" in data:
        raw_periods = data["periods"]
        if isinstance(raw_periods, list | tuple):
            for index, raw in enumerate(raw_periods):
                label = _label(raw, "period", index) if isinstance(raw, Mapping) else None
                period = _parse_period(raw, f"{where}, {label or f'period {index + 1}'}", issues)
                if period is not None:
                    periods.append(period)
        else:
            _wrong_type(issues, where, "periods", "a list", raw_periods)
    if len(issues) > before or name is None or start is None or end is None:
        return None
    return PlanSeason(name, start, end, tuple(periods))


def _parse_period(data: Any, where: str, issues: list[PlanIssue]) -> PlanPeriod | None:
    if not isinstance(data, Mapping):
        _wrong_type(issues, where, "", "an object", data)
        return None
    before = len(issues)
    _check_keys(data, where, PERIOD_KEYS, PERIOD_KEYS[:-1], issues)
    name = _get_str(data, "name", where, issues, None)
    days: str | tuple[str, ...] | None = None
    if "days" in data:
        raw_days = data["days"]
        if isinstance(raw_days, str):
            days = raw_days
        elif isinstance(raw_days, list | tuple) and all(isinstance(d, str) for d in raw_days):
            days = tuple(raw_days)
        else:
            _wrong_type(issues, where, "days", "text or a list of texts", raw_days)
    start = _parse_time(data["from"], "from", where, issues) if "from" in data else None
    end = _parse_time(data["to"], "to", where, issues) if "to" in data else None
    buy = _get_number(data, "buy", where, issues, None)
    sell = _get_number(data, "sell", where, issues, None)
    demand = _get_number(data, "demand", where, issues, None, nullable=True)
    if (
        len(issues) > before
        or name is None
        or days is None
        or start is None
        or end is None
        or buy is None
        or sell is None
    ):
        return None
    return PlanPeriod(name, days, start, end, buy, sell, demand)


# --- validation --------------------------------------------------------------------------------


def load_plan(data: Any) -> FixedPlan:
    """Parse and validate: the plan, or `PlanError` with every parse or validation error."""
    plan = FixedPlan.from_dict(data)
    report = validate_plan(plan)
    if report.errors:
        raise PlanError(report.errors)
    return plan


def validate_plan(plan: FixedPlan) -> PlanReport:
    """Every problem with `plan` (see the module docstring for the codes)."""
    report = PlanReport()
    errors = report.errors
    if not plan.name.strip():
        errors.append(PlanIssue("empty_name", "The plan has no name", {"where": "Plan"}))
    _check_rate(errors, plan.daily_supply_charge, "daily_supply_charge", "", "")
    if not plan.seasons:
        errors.append(PlanIssue("no_seasons", "The plan has no seasons", {}))
        return report
    labels = [_season_label(season, index) for index, season in enumerate(plan.seasons)]
    seen: set[str] = set()
    for season, label in zip(plan.seasons, labels, strict=True):
        key = season.name.strip().casefold()
        if not key:
            errors.append(PlanIssue("empty_name", f"{label} has no name", {"where": label}))
        elif key in seen:
            errors.append(
                PlanIssue(
                    "duplicate_season_name",
                    f"Two seasons are named {label}",
                    {"season": label},
                )
            )
        seen.add(key)
    dates_ok = True
    for season, label in zip(plan.seasons, labels, strict=True):
        for key, month_day in (("from", season.start), ("to", season.end)):
            problem = _month_day_problem(month_day, key)
            if problem:
                dates_ok = False
                errors.append(
                    PlanIssue(
                        "bad_date",
                        f"{label}: {problem}",
                        {"where": label, "key": key, "value": format_month_day(month_day)},
                    )
                )
    if dates_ok:
        _check_year(plan.seasons, labels, errors)
    for season, label in zip(plan.seasons, labels, strict=True):
        _check_season(season, label, report)
    return report


def _season_label(season: PlanSeason, index: int) -> str:
    return season.name.strip() or f"Season {index + 1}"


def _month_day_problem(month_day: tuple[int, int], key: str) -> str | None:
    month, day = month_day
    try:
        date(_LEAP_YEAR, month, day)
    except ValueError:
        return f'"{key}" {format_month_day(month_day)} is not a date'
    if key == "from" and (month, day) == (2, 29):
        return (
            "a season cannot start on 29 February, which most years do not have;"
            " end the season before on 02-29 and start this one on 03-01"
        )
    return None


def _year_positions(season: PlanSeason) -> set[int]:
    """Days of a leap year (0 = 1 January) that the season covers."""
    first = date(_LEAP_YEAR, *season.start).timetuple().tm_yday - 1
    last = date(_LEAP_YEAR, *season.end).timetuple().tm_yday - 1
    if first <= last:
        return set(range(first, last + 1))
    return set(range(first, _YEAR_DAYS)) | set(range(last + 1))


def _format_positions(positions: set[int]) -> str:
    """Day-of-year positions as date ranges, joining a run across the new year."""
    if len(positions) == _YEAR_DAYS:
        return "every day of the year"
    runs: list[list[int]] = []
    for position in sorted(positions):
        if runs and runs[-1][1] == position - 1:
            runs[-1][1] = position
        else:
            runs.append([position, position])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == _YEAR_DAYS - 1:
        runs[0][0] = runs.pop()[0]
    parts = []
    for first, last in runs:
        start = date(_LEAP_YEAR, 1, 1) + timedelta(days=first)
        end = date(_LEAP_YEAR, 1, 1) + timedelta(days=last)
        text = f"{start.day} {MONTH_NAMES[start.month - 1]}"
        if last != first:
            text += f" to {end.day} {MONTH_NAMES[end.month - 1]}"
        parts.append(text)
    return _join(parts)


def _check_year(
    seasons: Sequence[PlanSeason], labels: Sequence[str], errors: list[PlanIssue]
) -> None:
    covered = [_year_positions(season) for season in seasons]
    uncovered = set(range(_YEAR_DAYS)).difference(*covered)
    if uncovered:
        dates = _format_positions(uncovered)
        errors.append(PlanIssue("date_uncovered", f"No season covers {dates}", {"dates": dates}))
    for i, first in enumerate(covered):
        for j in range(i + 1, len(covered)):
            both = first & covered[j]
            if both:
                dates = _format_positions(both)
                errors.append(
                    PlanIssue(
                        "date_overlap",
                        f"Seasons {labels[i]} and {labels[j]} both cover {dates}",
                        {"season": labels[i], "other_season": labels[j], "dates": dates},
                    )
                )


def _check_rate(errors: list[PlanIssue], value: float, key: str, season: str, period: str) -> bool:
    """Report a non-finite or negative rate; True when the rate is fine."""
    owner = f"{season}: period {period} has a" if season else "The plan has a"
    what = "daily supply charge" if key == "daily_supply_charge" else f"{key} rate"
    placeholders = {"season": season, "period": period, "key": key, "value": _num(value)}
    if not math.isfinite(value):
        errors.append(
            PlanIssue(
                "rate_not_finite",
                f"{owner} {what} that is not a finite number ({_num(value)})",
                placeholders,
            )
        )
        return False
    if value < 0:
        errors.append(
            PlanIssue("negative_rate", f"{owner} negative {what} ({_num(value)})", placeholders)
        )
        return False
    if key in ("buy", "sell") and value > MAX_ENERGY_RATE:
        errors.append(
            PlanIssue(
                "rate_too_high",
                f"{owner} {what} of {_num(value)} $/kWh, above the {MAX_ENERGY_RATE:g} $/kWh"
                " limit (a c/kWh price entered as $/kWh?)",
                placeholders,
            )
        )
        return False
    return True


def _check_season(season: PlanSeason, label: str, report: PlanReport) -> None:
    errors = report.errors
    if not season.periods:
        errors.append(PlanIssue("no_periods", f"{label} has no periods", {"season": label}))
        return
    names: set[str] = set()
    spans_by_period: list[tuple[str, dict[int, list[tuple[int, int]]]]] = []
    usable = True
    for index, period in enumerate(season.periods):
        plabel = period.name.strip() or f"period {index + 1}"
        where = f"{label}: period {period.name.strip() or index + 1}"
        key = period.name.strip().casefold()
        if not key:
            errors.append(
                PlanIssue(
                    "empty_name",
                    f"{label}: period {index + 1} has no name",
                    {"where": f"{label}, period {index + 1}"},
                )
            )
        elif key in names:
            errors.append(
                PlanIssue(
                    "duplicate_period_name",
                    f"{label}: two periods are named {plabel}",
                    {"season": label, "period": plabel},
                )
            )
        names.add(key)
        base = {"season": label, "period": plabel}
        times_ok = True
        for tkey, minutes, latest in (
            ("from", period.start, DAY_MINUTES - 1),
            ("to", period.end, DAY_MINUTES),
        ):
            if not 0 <= minutes <= latest:
                times_ok = False
                errors.append(
                    PlanIssue(
                        "bad_time",
                        f"{where} has {'a start' if tkey == 'from' else 'an end'} time"
                        f" outside 00:00-{format_time(latest)} ({minutes} minutes)",
                        {"where": where, "key": tkey, "value": str(minutes)},
                    )
                )
            elif minutes % HALF_HOUR:
                errors.append(
                    PlanIssue(
                        "time_not_half_hour",
                        f"{where} {'starts' if tkey == 'from' else 'ends'} at"
                        f" {format_time(minutes)}, which is not on a half-hour boundary"
                        " (the Powerwall works in half hours: use :00 or :30)",
                        {**base, "key": tkey, "value": format_time(minutes)},
                    )
                )
        if times_ok and period.start == period.end:
            errors.append(
                PlanIssue(
                    "zero_length_period",
                    f"{where} starts and ends at {format_time(period.start)}, so covers no"
                    " time (for a whole day use 00:00 to 24:00)",
                    {**base, "value": format_time(period.start)},
                )
            )
        try:
            days = parse_days(period.days)
        except ValueError as err:
            days = None
            spec = (
                period.days
                if isinstance(period.days, str)
                else ", ".join(str(day) for day in period.days)
            )
            errors.append(
                PlanIssue(
                    "bad_days",
                    f"{where} has bad days: {err}",
                    {**base, "value": spec, "reason": str(err)},
                )
            )
        fine = [
            _check_rate(errors, period.buy, "buy", label, plabel),
            _check_rate(errors, period.sell, "sell", label, plabel),
        ]
        if period.demand is not None:
            _check_rate(errors, period.demand, "demand", label, plabel)
        if all(fine) and period.sell > period.buy:
            report.warnings.append(
                PlanIssue(
                    "sell_above_buy",
                    f"{where} pays more to sell ({_num(period.sell)}) than it charges to buy"
                    f" ({_num(period.buy)}); the Powerwall may cap sell at buy",
                    {**base, "buy": _num(period.buy), "sell": _num(period.sell)},
                )
            )
        if days is None or not times_ok:
            usable = False
            continue
        pieces = _pieces(period.start, period.end) if period.start != period.end else []
        spans_by_period.append((plabel, dict.fromkeys(days, pieces)))
    if usable:
        _check_day_coverage(label, spans_by_period, errors)


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for a_start, a_end in a:
        for b_start, b_end in b:
            start, end = max(a_start, b_start), min(a_end, b_end)
            if start < end:
                out.append((start, end))
    return sorted(out)


def _spans_text(spans: list[tuple[int, int, int]]) -> tuple[str, str]:
    """(`days`, `times`) texts for day-qualified spans `(day, start, end)`."""
    spans = sorted(spans)
    days = _join([DAY_NAMES[d] for d in sorted({day for day, _, _ in spans})])
    times = _join(
        [f"{DAY_NAMES[day]} {format_time(start)}-{format_time(end)}" for day, start, end in spans]
    )
    return days, times


def _check_day_coverage(
    label: str,
    periods: list[tuple[str, dict[int, list[tuple[int, int]]]]],
    errors: list[PlanIssue],
) -> None:
    for i, (name, spans) in enumerate(periods):
        for other, other_spans in periods[i + 1 :]:
            overlap = [
                (day, start, end)
                for day in range(7)
                for start, end in _intersect(spans.get(day, []), other_spans.get(day, []))
            ]
            if overlap:
                days, times = _spans_text(overlap)
                errors.append(
                    PlanIssue(
                        "period_overlap",
                        f"{label}: {name} and {other} overlap on {times}",
                        {
                            "season": label,
                            "period": name,
                            "other_period": other,
                            "days": days,
                            "times": times,
                        },
                    )
                )
    gaps: list[tuple[int, int, int]] = []
    for day in range(7):
        taken = sorted(piece for _, spans in periods for piece in spans.get(day, []))
        cursor = 0
        for start, end in taken:
            if start > cursor:
                gaps.append((day, cursor, start))
            cursor = max(cursor, end)
        if cursor < DAY_MINUTES:
            gaps.append((day, cursor, DAY_MINUTES))
    if gaps:
        days, times = _spans_text(gaps)
        verb = "is" if len(gaps) == 1 else "are"
        errors.append(
            PlanIssue(
                "uncovered_time",
                f"{label}: {times} {verb} covered by no period",
                {"season": label, "days": days, "times": times},
            )
        )


# --- expansion ---------------------------------------------------------------------------------


def slug(text: str, fallback: str) -> str:
    """A Tesla-safe name: uppercase ASCII letters, digits and underscores."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Z0-9]+", "_", ascii_text.upper()).strip("_")[:MAX_SLUG].strip("_")
    return cleaned or fallback


def _unique_slugs(names: Sequence[str], fallback: str) -> list[str]:
    used: set[str] = set()
    out: list[str] = []
    for name in names:
        base = slug(name, fallback)
        candidate, counter = base, 1
        while candidate in used or candidate in RESERVED_NAMES:
            counter += 1
            candidate = f"{base}_{counter}"
        used.add(candidate)
        out.append(candidate)
    return out


def plan_code(plan: FixedPlan) -> str:
    """The `code` of the Tesla plan: marks it as ours and as a fixed plan."""
    return f"{tou.PLAN_CODE_PREFIX}:{FIXED_CODE}:{slug(plan.name, 'PLAN')}"


def _period_windows(period: PlanPeriod) -> tuple[tou.TouWindow, ...]:
    days = parse_days(period.days)
    windows = [
        tou.TouWindow(first, last, start, end)
        for first, last in _day_runs(days)
        for start, end in _pieces(period.start, period.end)
    ]
    return tuple(sorted(windows, key=lambda w: (w.from_day, w.start)))


def plan_to_tou(plan: FixedPlan) -> tou.TouPlan:
    """The Powerwall plan for `plan`; `PlanError` if the plan has validation errors."""
    report = validate_plan(plan)
    if report.errors:
        raise PlanError(report.errors)
    season_names = _unique_slugs([season.name for season in plan.seasons], "SEASON")
    seasons = []
    for season, season_name in zip(plan.seasons, season_names, strict=True):
        period_names = _unique_slugs([period.name for period in season.periods], "PERIOD")
        periods = tuple(
            tou.TouPeriod(
                name=period_name,
                windows=_period_windows(period),
                buy=period.buy,
                sell=period.sell,
                demand=period.demand or 0.0,
            )
            for period, period_name in zip(season.periods, period_names, strict=True)
        )
        seasons.append(tou.TouSeason(season_name, *season.start, *season.end, periods=periods))
    return tou.TouPlan(
        code=plan_code(plan),
        name=plan.name,
        utility=plan.utility,
        seasons=tuple(seasons),
        daily_charge=plan.daily_supply_charge,
    )


def tesla_names(plan: FixedPlan) -> dict[tuple[str, str], tuple[str, str]]:
    """`(season, period)` names of the plan -> their names in the Tesla plan."""
    names: dict[tuple[str, str], tuple[str, str]] = {}
    season_names = _unique_slugs([season.name for season in plan.seasons], "SEASON")
    for season, season_name in zip(plan.seasons, season_names, strict=True):
        period_names = _unique_slugs([period.name for period in season.periods], "PERIOD")
        for period, period_name in zip(season.periods, period_names, strict=True):
            names[(season.name, period.name)] = (season_name, period_name)
    return names


# --- which period applies now ------------------------------------------------------------------


class PeriodAt(NamedTuple):
    """The plan's season and period at one moment, with its rates."""

    season: str
    period: str
    buy: float
    sell: float


def _season_holds(season: PlanSeason, month: int, day: int) -> bool:
    here = (month, day)
    if season.start <= season.end:
        return season.start <= here <= season.end
    return here >= season.start or here <= season.end


def period_at(plan: FixedPlan, local: datetime) -> PeriodAt | None:
    """The period in force at `local`, read as wall-clock time of the site's zone.

    Matches the expansion (the Powerwall reads the same season and window). `None` when the
    plan has no period there, which a valid plan never does.
    """
    minute = local.hour * 60 + local.minute
    weekday = local.weekday()
    for season in plan.seasons:
        if not _season_holds(season, local.month, local.day):
            continue
        for period in season.periods:
            try:
                days = parse_days(period.days)
            except ValueError:
                continue
            if weekday not in days:
                continue
            if any(start <= minute < end for start, end in _pieces(period.start, period.end)):
                return PeriodAt(season.name, period.name, period.buy, period.sell)
        return None
    return None
