"""Network demand charges: the highest 30-minute average grid import inside a daily window.

Australian network demand tariffs bill, per billing month, the highest *half-hour average*
import (kW) measured inside a daily window (commonly late afternoon/evening), priced either in
$/kW/month or in c/kW/day. This module is the pure maths behind the integration's demand
sensors and the demand part of the Powerwall plan. It imports nothing from Home Assistant or any
HTTP library; the glue feeds it grid-power samples, reads its values and persists `to_dict()`.

Choices (also stated where they are implemented):

* Half hours are `[start, start + 30 min)` aligned to the site's local :00/:30, carried as UTC.
* Power between two samples is the earlier sample's value held until the later one
  (sample-and-hold). A held span longer than `max_gap` (default 5 min), or one that starts at an
  unreachable (None / non-finite) sample, is not counted at all: neither as zero nor as the held
  value. Export counts as zero import.
* A completed half hour's average is energy / covered time; it is valid only with at least
  `min_coverage` (default 20 min) of covered time. Invalid half hours never set a peak.
* `close_until(now)` may complete a half hour before the next sample arrives; it then counts
  the last sample's value held up to the boundary, provided that sample is not older than
  `max_gap` at the call. That is what the next sample confirms unless the next sample is itself
  late (then at most `max_gap` of held value was counted that strictly should not have been).
* Fixed windows are wall-clock `[start, end)`. A window that crosses midnight belongs to the
  day on which it *started*: for a weekdays-only 22:00-02:00 window, Saturday 01:00 is in the
  window (Friday's window) and Monday 01:00 is not (Sunday had no window). The month filter
  also uses the day the window started.
* Amber windows: a half hour is in the window when the Amber flag sent with the samples was
  true for the strict majority of its covered time (the flag is held with the power). Unknown
  flags (None) count as false. The day and month filters still apply, by the half hour's
  local start date.
* A fixed-window half hour is judged at its local start time.
* The billing cycle starts at local midnight on `billing_day` (1..28) of each month. A half hour
  belongs to the cycle of its local start date (midnight is a half-hour boundary).
* `in_window` and the tracker ignore `DemandConfig.enabled`: whether to track at all is the
  caller's decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
import math
import re
from typing import Any, Final

# --- option keys and values ------------------------------------------------------------------
CONF_DEMAND_ENABLED: Final = "demand_enabled"
CONF_DEMAND_RATE: Final = "demand_rate"
CONF_DEMAND_RATE_BASIS: Final = "demand_rate_basis"
CONF_DEMAND_WINDOW_SOURCE: Final = "demand_window_source"
CONF_DEMAND_START: Final = "demand_start"
CONF_DEMAND_END: Final = "demand_end"
CONF_DEMAND_DAYS: Final = "demand_days"
CONF_DEMAND_MONTHS: Final = "demand_months"
CONF_DEMAND_BILLING_DAY: Final = "demand_billing_day"
CONF_DEMAND_IN_PLAN: Final = "demand_in_plan"
CONF_DEMAND_SURCHARGE: Final = "demand_surcharge"

BASIS_PER_KW_MONTH: Final = "per_kw_month"
BASIS_C_PER_KW_DAY: Final = "c_per_kw_day"
RATE_BASES: Final = (BASIS_PER_KW_MONTH, BASIS_C_PER_KW_DAY)

SOURCE_FIXED: Final = "fixed"
SOURCE_AMBER: Final = "amber"
WINDOW_SOURCES: Final = (SOURCE_FIXED, SOURCE_AMBER)

DAYS_ALL: Final = "all"
DAYS_WEEKDAYS: Final = "weekdays"
DAYS_WEEKENDS: Final = "weekends"
DAY_FILTERS: Final = (DAYS_ALL, DAYS_WEEKDAYS, DAYS_WEEKENDS)

IN_PLAN_NONE: Final = "none"
IN_PLAN_DEMAND_RATES: Final = "demand_rates"
IN_PLAN_SURCHARGE: Final = "surcharge"
IN_PLAN_MODES: Final = (IN_PLAN_NONE, IN_PLAN_DEMAND_RATES, IN_PLAN_SURCHARGE)

ALL_MONTHS: Final = frozenset(range(1, 13))
DEFAULT_START: Final = "16:00"
DEFAULT_END: Final = "21:00"
MAX_BILLING_DAY: Final = 28

HALF_HOUR: Final = timedelta(minutes=30)
DAY_MINUTES: Final = 24 * 60
DEFAULT_MAX_GAP: Final = timedelta(minutes=5)
DEFAULT_MIN_COVERAGE: Final = timedelta(minutes=20)
STORAGE_VERSION: Final = 1

_HALF_HOUR_S: Final = HALF_HOUR.total_seconds()
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


class DemandConfigError(ValueError):
    """An invalid demand option; `field` is the option key at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


# --- configuration ---------------------------------------------------------------------------


def _clock_label(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True, slots=True)
class DemandConfig:
    """Validated demand options.

    `start_minute` / `end_minute` are wall-clock minutes of the day on half-hour boundaries;
    `end_minute <= start_minute` means the window crosses midnight (an end of 00:00 is
    midnight at the end of the start day). Rates: `rate` in $/kW/month or c/kW/day according
    to `rate_basis`; `surcharge` in $/kWh.
    """

    enabled: bool = False
    rate: float = 0.0
    rate_basis: str = BASIS_PER_KW_MONTH
    window_source: str = SOURCE_FIXED
    start_minute: int = 16 * 60
    end_minute: int = 21 * 60
    days: str = DAYS_ALL
    months: frozenset[int] = ALL_MONTHS
    billing_day: int = 1
    in_plan: str = IN_PLAN_NONE
    surcharge: float = 0.0

    def __post_init__(self) -> None:
        _check_rate(CONF_DEMAND_RATE, self.rate)
        _check_rate(CONF_DEMAND_SURCHARGE, self.surcharge)
        _check_choice(CONF_DEMAND_RATE_BASIS, self.rate_basis, RATE_BASES)
        _check_choice(CONF_DEMAND_WINDOW_SOURCE, self.window_source, WINDOW_SOURCES)
        _check_choice(CONF_DEMAND_DAYS, self.days, DAY_FILTERS)
        _check_choice(CONF_DEMAND_IN_PLAN, self.in_plan, IN_PLAN_MODES)
        for key, minute in (
            (CONF_DEMAND_START, self.start_minute),
            (CONF_DEMAND_END, self.end_minute),
        ):
            if (
                isinstance(minute, bool)
                or not isinstance(minute, int)
                or not 0 <= minute < DAY_MINUTES
                or minute % 30
            ):
                raise DemandConfigError(key, f"must be a half-hour time of day, got {minute!r}")
        if self.start_minute == self.end_minute:
            raise DemandConfigError(CONF_DEMAND_END, "the window must not start and end together")
        if not isinstance(self.months, frozenset):
            raise DemandConfigError(CONF_DEMAND_MONTHS, "months must be a frozenset of ints")
        if not self.months:
            raise DemandConfigError(CONF_DEMAND_MONTHS, "at least one month is required")
        if any(
            isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 12 for m in self.months
        ):
            raise DemandConfigError(CONF_DEMAND_MONTHS, f"months must be 1..12: {self.months!r}")
        if (
            isinstance(self.billing_day, bool)
            or not isinstance(self.billing_day, int)
            or not 1 <= self.billing_day <= MAX_BILLING_DAY
        ):
            raise DemandConfigError(
                CONF_DEMAND_BILLING_DAY, f"must be 1..{MAX_BILLING_DAY}, got {self.billing_day!r}"
            )
        if not isinstance(self.enabled, bool):
            raise DemandConfigError(CONF_DEMAND_ENABLED, f"must be true or false: {self.enabled!r}")

    @property
    def crosses_midnight(self) -> bool:
        """Whether the fixed window runs past midnight into the next day."""
        return self.end_minute < self.start_minute and self.end_minute > 0

    @property
    def start_label(self) -> str:
        """Window start as "HH:MM"."""
        return _clock_label(self.start_minute)

    @property
    def end_label(self) -> str:
        """Window end as "HH:MM" ("00:00" for midnight)."""
        return _clock_label(self.end_minute)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> DemandConfig:
        """Parse and validate the `demand_*` options; missing (or None) keys take defaults.

        Accepts what Home Assistant selectors produce: numbers as int, float or numeric text,
        times as "HH:MM" or "HH:MM:SS" (or `datetime.time`), months as ints or digit strings.
        Raises `DemandConfigError` naming the first bad option.
        """

        def get(key: str) -> Any:
            return options.get(key)

        enabled = get(CONF_DEMAND_ENABLED)
        if enabled is None:
            enabled = False
        if not isinstance(enabled, bool):
            raise DemandConfigError(CONF_DEMAND_ENABLED, f"must be true or false: {enabled!r}")
        months_raw = get(CONF_DEMAND_MONTHS)
        return cls(
            enabled=enabled,
            rate=_parse_number(CONF_DEMAND_RATE, get(CONF_DEMAND_RATE), 0.0),
            rate_basis=_parse_text(
                CONF_DEMAND_RATE_BASIS, get(CONF_DEMAND_RATE_BASIS), BASIS_PER_KW_MONTH
            ),
            window_source=_parse_text(
                CONF_DEMAND_WINDOW_SOURCE, get(CONF_DEMAND_WINDOW_SOURCE), SOURCE_FIXED
            ),
            start_minute=_parse_clock(CONF_DEMAND_START, get(CONF_DEMAND_START), DEFAULT_START),
            end_minute=_parse_clock(CONF_DEMAND_END, get(CONF_DEMAND_END), DEFAULT_END),
            days=_parse_text(CONF_DEMAND_DAYS, get(CONF_DEMAND_DAYS), DAYS_ALL),
            months=ALL_MONTHS if months_raw is None else _parse_months(months_raw),
            billing_day=_parse_int(CONF_DEMAND_BILLING_DAY, get(CONF_DEMAND_BILLING_DAY), 1),
            in_plan=_parse_text(CONF_DEMAND_IN_PLAN, get(CONF_DEMAND_IN_PLAN), IN_PLAN_NONE),
            surcharge=_parse_number(CONF_DEMAND_SURCHARGE, get(CONF_DEMAND_SURCHARGE), 0.0),
        )

    def to_options(self) -> dict[str, Any]:
        """The option values this config stands for (inverse of `from_options`)."""
        return {
            CONF_DEMAND_ENABLED: self.enabled,
            CONF_DEMAND_RATE: self.rate,
            CONF_DEMAND_RATE_BASIS: self.rate_basis,
            CONF_DEMAND_WINDOW_SOURCE: self.window_source,
            CONF_DEMAND_START: self.start_label,
            CONF_DEMAND_END: self.end_label,
            CONF_DEMAND_DAYS: self.days,
            CONF_DEMAND_MONTHS: sorted(self.months),
            CONF_DEMAND_BILLING_DAY: self.billing_day,
            CONF_DEMAND_IN_PLAN: self.in_plan,
            CONF_DEMAND_SURCHARGE: self.surcharge,
        }


def _check_rate(key: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise DemandConfigError(key, f"must be a number >= 0, got {value!r}")


def _check_choice(key: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise DemandConfigError(key, f"must be one of {', '.join(choices)}; got {value!r}")


def _parse_number(key: str, value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool):
        raise DemandConfigError(key, f"must be a number, got {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise DemandConfigError(key, f"must be a number, got {value!r}") from None
    else:
        raise DemandConfigError(key, f"must be a number, got {value!r}")
    _check_rate(key, number)
    return number


def _parse_int(key: str, value: Any, default: int) -> int:
    if value is None:
        return default
    number = _parse_number(key, value, float(default))
    if not number.is_integer():
        raise DemandConfigError(key, f"must be a whole number, got {value!r}")
    return int(number)


def _parse_text(key: str, value: Any, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise DemandConfigError(key, f"must be text, got {value!r}")
    return value


def _parse_clock(key: str, value: Any, default: str) -> int:
    if value is None:
        value = default
    if isinstance(value, time):
        hour, minute, second = value.hour, value.minute, value.second + value.microsecond
    elif isinstance(value, str) and (match := _CLOCK.match(value.strip())):
        hour, minute = int(match[1]), int(match[2])
        second = int(match[3] or 0)
    else:
        raise DemandConfigError(key, f"must be a time HH:MM, got {value!r}")
    if (hour, minute, second) == (24, 0, 0):
        hour = 0  # "24:00" is midnight at the end of the day, written like "00:00"
    if not (0 <= hour <= 23 and minute in (0, 30) and second == 0):
        raise DemandConfigError(key, f"must be on a half-hour boundary (HH:00 or HH:30): {value!r}")
    return hour * 60 + minute


def _parse_months(value: Any) -> frozenset[int]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise DemandConfigError(CONF_DEMAND_MONTHS, f"must be a list of months, got {value!r}")
    months: set[int] = set()
    for item in value:
        if isinstance(item, str) and item.strip().isdigit():
            month = int(item.strip())
        elif isinstance(item, int) and not isinstance(item, bool):
            month = item
        else:
            raise DemandConfigError(CONF_DEMAND_MONTHS, f"not a month number: {item!r}")
        if not 1 <= month <= 12:
            raise DemandConfigError(CONF_DEMAND_MONTHS, f"months are 1..12, got {month}")
        months.add(month)
    if not months:
        raise DemandConfigError(CONF_DEMAND_MONTHS, "at least one month is required")
    return frozenset(months)


# --- the window ------------------------------------------------------------------------------


def applies_in_month(config: DemandConfig, month: int) -> bool:
    """Whether demand is charged in `month` (1..12). Weekly plans cannot express this."""
    return month in config.months


def applies_on_weekday(config: DemandConfig, weekday: int) -> bool:
    """Whether the day filter admits a window starting on `weekday` (Monday = 0)."""
    if config.days == DAYS_WEEKDAYS:
        return weekday < 5
    if config.days == DAYS_WEEKENDS:
        return weekday >= 5
    return True


def _window_started(config: DemandConfig, clock_minute: int, day: date) -> date | None:
    """The date the fixed window containing this wall-clock minute started (no filters)."""
    start, end = config.start_minute, config.end_minute
    if start < end:
        return day if start <= clock_minute < end else None
    if clock_minute >= start:
        return day
    if clock_minute < end:
        return day - timedelta(days=1)
    return None


def in_window(config: DemandConfig, local_dt: datetime, amber_flag: bool | None = None) -> bool:
    """Whether the site-local moment `local_dt` is inside the demand window.

    Fixed source: wall clock in `[start, end)`; the part of a window after midnight belongs to
    the window that started the previous day, and the day and month filters apply to that
    start day. Amber source: `amber_flag` (None = unknown = not in the window), with the day and
    month filters applied to `local_dt`'s date.
    """
    if config.window_source == SOURCE_AMBER:
        day: date | None = local_dt.date() if amber_flag is True else None
    else:
        day = _window_started(config, local_dt.hour * 60 + local_dt.minute, local_dt.date())
    return (
        day is not None
        and applies_on_weekday(config, day.weekday())
        and applies_in_month(config, day.month)
    )


def slot_labels() -> tuple[str, ...]:
    """The 48 half-hour labels of a day, "00:00" .. "23:30"."""
    return tuple(_clock_label(m) for m in range(0, DAY_MINUTES, 30))


def window_slots(config: DemandConfig) -> dict[int, set[str]]:
    """Fixed source: for each weekday 0..6 (Monday = 0), the "HH:MM" half hours in the window.

    The slot's clock time is judged on that weekday, so a window crossing midnight puts its
    after-midnight slots on the following weekday (when the start day passes the day filter).
    Months are not expressible here: see `applies_in_month`.
    """
    if config.window_source != SOURCE_FIXED:
        raise ValueError("window_slots is for the fixed window; use amber_window_slots")
    slots: dict[int, set[str]] = {weekday: set() for weekday in range(7)}
    for weekday in range(7):
        for minute in range(0, DAY_MINUTES, 30):
            start = config.start_minute
            end = config.end_minute
            if start < end:
                started_on = weekday if start <= minute < end else None
            elif minute >= start:
                started_on = weekday
            elif minute < end:
                started_on = (weekday - 1) % 7
            else:
                started_on = None
            if started_on is not None and applies_on_weekday(config, started_on):
                slots[weekday].add(_clock_label(minute))
    return slots


def amber_window_slots(
    config: DemandConfig, intervals: Iterable[tuple[datetime, bool | None]], tz: tzinfo
) -> dict[int, set[str]]:
    """Amber source: the half hours Amber flags as demand window, by local weekday.

    `intervals` are `(interval start, demandWindow flag)` pairs (aware datetimes, e.g. the
    general channel's `PriceInterval.start` and `.demand_window`). A half hour is in the
    window when any interval starting in it is flagged true (conservative for 5-minute
    intervals). Day and month filters apply to each interval's local date. Weekdays without
    flagged intervals map to empty sets.
    """
    slots: dict[int, set[str]] = {weekday: set() for weekday in range(7)}
    for start, flag in intervals:
        if flag is not True:
            continue
        local = _aware(start, "interval start").astimezone(tz)
        if not (
            applies_on_weekday(config, local.weekday()) and applies_in_month(config, local.month)
        ):
            continue
        slots[local.weekday()].add(_clock_label(local.hour * 60 + local.minute // 30 * 30))
    return slots


# --- billing cycle and cost ------------------------------------------------------------------


def _plain_date(day: date) -> date:
    return day.date() if isinstance(day, datetime) else day


def _next_month(day: date) -> date:
    """Same day-of-month (<= 28) in the following month."""
    if day.month == 12:
        return day.replace(year=day.year + 1, month=1)
    return day.replace(month=day.month + 1)


def _previous_month(day: date) -> date:
    if day.month == 1:
        return day.replace(year=day.year - 1, month=12)
    return day.replace(month=day.month - 1)


def cycle_start(config: DemandConfig, local_date: date) -> date:
    """The first day of the billing cycle containing the site-local date `local_date`."""
    day = _plain_date(local_date)
    start = day.replace(day=config.billing_day)
    return start if day.day >= config.billing_day else _previous_month(start)


def cycle_end(config: DemandConfig, local_date: date) -> date:
    """The first day of the *next* cycle (exclusive end of the cycle containing `local_date`)."""
    return _next_month(cycle_start(config, local_date))


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    naive = datetime.combine(day, time(0))
    # Round-trip through UTC so a midnight skipped by a DST change becomes a real instant.
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def next_reset(config: DemandConfig, now_local: datetime) -> datetime:
    """The next reset: local midnight starting the next cycle, in `now_local`'s time zone."""
    tz = _aware(now_local, "now_local").tzinfo
    assert tz is not None
    return _local_midnight(cycle_end(config, now_local.date()), tz)


def days_until_reset(config: DemandConfig, now_local: datetime) -> int:
    """Whole days from today's date to the next reset date.

    Never 0: on the reset day itself a new cycle has just begun, so this is the full length of
    that cycle (28..31); on the last day of a cycle it is 1.
    """
    _aware(now_local, "now_local")
    today = now_local.date()
    return (cycle_end(config, today) - today).days


def _cents(amount: float) -> float:
    return float(Decimal(repr(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def cycle_cost(
    config: DemandConfig, peak_kw: float | None, cycle_start: date, today: date
) -> float:
    """Demand charge (AUD, rounded half-up to cents) accrued so far in the cycle.

    per_kw_month: `peak_kw * rate`, the whole month's charge as soon as a peak exists (the
    bill charges the month's peak in full, whatever day it happened). c_per_kw_day:
    `peak_kw * rate / 100 * days`, with days elapsed in the cycle counting today (1 on the
    reset day), capped at the cycle's length and 0 if `today` is before the cycle. No peak
    (None) costs nothing.
    """
    if peak_kw is None or peak_kw <= 0:
        return 0.0
    if config.rate_basis == BASIS_PER_KW_MONTH:
        return _cents(peak_kw * config.rate)
    start = _plain_date(cycle_start)
    length = (_next_month(start) - start).days
    days = min(max((_plain_date(today) - start).days + 1, 0), length)
    return _cents(peak_kw * config.rate / 100 * days)


# --- time helpers ----------------------------------------------------------------------------


def _aware(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {moment!r}")
    return moment


def _utc(moment: datetime, what: str = "timestamp") -> datetime:
    return _aware(moment, what).astimezone(UTC)


def half_hour_start(moment: datetime, tz: tzinfo) -> datetime:
    """UTC start of the site-local :00/:30 half hour containing `moment`."""
    moment = _utc(moment)
    offset = moment.astimezone(tz).utcoffset()
    assert offset is not None
    wall = moment.replace(tzinfo=None) + offset
    floored = wall.replace(minute=wall.minute // 30 * 30, second=0, microsecond=0)
    return (floored - offset).replace(tzinfo=UTC)


# --- half-hour averaging ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HalfHour:
    """One completed half hour: `[start, start + 30 min)` in UTC."""

    start: datetime
    energy_ws: float  # imported energy over the covered time, watt-seconds
    covered_seconds: float
    flagged_seconds: float  # covered time during which the (held) Amber flag was true
    valid: bool  # covered_seconds >= the averager's minimum coverage

    @property
    def end(self) -> datetime:
        """Exclusive end."""
        return self.start + HALF_HOUR

    @property
    def average_kw(self) -> float | None:
        """Average import over the covered time (kW), None without coverage."""
        if self.covered_seconds <= 0:
            return None
        return self.energy_ws / self.covered_seconds / 1000

    @property
    def amber_flagged(self) -> bool:
        """Flag true for the strict majority of the covered time."""
        return self.covered_seconds > 0 and 2 * self.flagged_seconds > self.covered_seconds


def _finite_or_none(value: float | None) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class HalfHourAverager:
    """Time-weighted half-hour averages of grid import from irregular samples.

    Feed `add_sample(ts, watts, flag)` in time order; samples at or before the last accepted
    one are ignored (out of order, duplicates, re-fed after a restart). A None or non-finite
    `watts` marks the Powerwall unreachable: the span it starts is not covered.
    """

    def __init__(
        self,
        tz: tzinfo,
        *,
        max_gap: timedelta = DEFAULT_MAX_GAP,
        min_coverage: timedelta = DEFAULT_MIN_COVERAGE,
    ) -> None:
        if max_gap <= timedelta(0):
            raise ValueError("max_gap must be positive")
        if not timedelta(0) < min_coverage <= HALF_HOUR:
            raise ValueError("min_coverage must be within (0, 30 min]")
        self.tz = tz
        self.max_gap = max_gap
        self.min_coverage = min_coverage
        self._slot: datetime | None = None  # UTC start of the half hour in progress
        self._energy = 0.0
        self._covered = 0.0
        self._flagged = 0.0
        self._last_ts: datetime | None = None
        self._last_w: float | None = None
        self._last_flag: bool | None = None
        self._accounted: datetime | None = None  # integrated up to here

    # - reading

    @property
    def slot_start(self) -> datetime | None:
        """UTC start of the half hour in progress (None before any sample)."""
        return self._slot

    @property
    def last_sample_time(self) -> datetime | None:
        """UTC time of the last accepted sample."""
        return self._last_ts

    @property
    def covered_seconds(self) -> float:
        """Covered time so far in the half hour in progress."""
        return self._covered

    @property
    def current_average_kw(self) -> float | None:
        """Running average of the half hour in progress (None without coverage yet).

        Counts what has been integrated, i.e. up to the last sample; the held value after it
        is not included until the next sample confirms it.
        """
        if self._covered <= 0:
            return None
        return self._energy / self._covered / 1000

    # - feeding

    def add_sample(
        self, ts: datetime, watts: float | None, flag: bool | None = None
    ) -> list[HalfHour]:
        """Take a sample; returns the half hours it completed, oldest first."""
        ts = _utc(ts)
        if self._last_ts is not None and ts <= self._last_ts:
            return []
        done: list[HalfHour] = []
        held = self._held(ts)
        if held is not None:
            begin, watts_held, flag_held = held
            done += self._integrate(begin, ts, watts_held, flag_held)
        here = max(ts, self._accounted) if self._accounted is not None else ts
        done += self._roll_to(here)
        self._last_ts = ts
        self._last_w = _finite_or_none(watts)
        self._last_flag = flag if isinstance(flag, bool) else None
        self._accounted = here
        return done

    def close_until(self, now: datetime) -> list[HalfHour]:
        """Complete every half hour that ended at or before `now`; returns them.

        If the last sample is not older than `max_gap` at `now`, its value is held up to the
        latest half-hour boundary before `now` (what the next sample will most likely confirm);
        otherwise the time after it is uncovered.
        """
        now = _utc(now, "now")
        if self._slot is None or now < self._slot + HALF_HOUR:
            return []
        done: list[HalfHour] = []
        boundary = half_hour_start(now, self.tz)
        held = self._held(now)
        if held is not None and held[0] < boundary:
            begin, watts_held, flag_held = held
            done += self._integrate(begin, boundary, watts_held, flag_held)
            self._accounted = boundary
        if self._slot is not None and now >= self._slot + HALF_HOUR:
            done.append(self._close())
        return done

    def _held(self, until: datetime) -> tuple[datetime, float, bool] | None:
        """Where the held span still to integrate begins, its import (W) and flag; None when
        the span up to `until` is not counted (unreachable, or longer than `max_gap`)."""
        if self._last_ts is None or self._last_w is None or until - self._last_ts > self.max_gap:
            return None
        begin = self._last_ts if self._accounted is None else max(self._last_ts, self._accounted)
        return begin, max(self._last_w, 0.0), self._last_flag is True

    def _integrate(
        self, begin: datetime, end: datetime, watts: float, flag: bool
    ) -> list[HalfHour]:
        done: list[HalfHour] = []
        while begin < end:
            if self._slot is not None and begin >= self._slot + HALF_HOUR:
                done.append(self._close())
            if self._slot is None:
                self._open(half_hour_start(begin, self.tz))
            assert self._slot is not None
            slot_end = self._slot + HALF_HOUR
            piece_end = min(end, slot_end)
            seconds = (piece_end - begin).total_seconds()
            self._energy += watts * seconds
            self._covered += seconds
            if flag:
                self._flagged += seconds
            begin = piece_end
        return done

    def _roll_to(self, moment: datetime) -> list[HalfHour]:
        done: list[HalfHour] = []
        if self._slot is not None and moment >= self._slot + HALF_HOUR:
            done.append(self._close())
        if self._slot is None:
            self._open(half_hour_start(moment, self.tz))
        return done

    def _open(self, slot: datetime) -> None:
        self._slot = slot
        self._energy = self._covered = self._flagged = 0.0

    def _close(self) -> HalfHour:
        assert self._slot is not None
        covered = min(self._covered, _HALF_HOUR_S)
        finished = HalfHour(
            start=self._slot,
            energy_ws=self._energy,
            covered_seconds=covered,
            flagged_seconds=min(self._flagged, covered),
            valid=covered >= self.min_coverage.total_seconds(),
        )
        self._slot = None
        self._energy = self._covered = self._flagged = 0.0
        return finished

    # - persistence

    def to_dict(self) -> dict[str, Any]:
        """The partial half hour and the last sample, as JSON-safe primitives."""
        return {
            "slot_start": _iso(self._slot),
            "energy_ws": self._energy,
            "covered_s": self._covered,
            "flagged_s": self._flagged,
            "last_ts": _iso(self._last_ts),
            "last_w": self._last_w,
            "last_flag": self._last_flag,
            "accounted_until": _iso(self._accounted),
        }

    def load(self, data: Mapping[str, Any]) -> None:
        """Restore `to_dict()` output; raises ValueError on anything inconsistent."""
        if not isinstance(data, Mapping):
            raise ValueError(f"partial half hour must be a mapping, got {type(data).__name__}")
        slot = _read_time(data, "slot_start")
        energy = _read_float(data, "energy_ws", 0.0)
        covered = _read_float(data, "covered_s", 0.0)
        flagged = _read_float(data, "flagged_s", 0.0)
        last_ts = _read_time(data, "last_ts")
        last_w = _read_optional_float(data, "last_w")
        last_flag = data.get("last_flag")
        accounted = _read_time(data, "accounted_until")
        if last_flag is not None and not isinstance(last_flag, bool):
            raise ValueError(f"last_flag must be a bool or null, got {last_flag!r}")
        if energy < 0 or covered < 0 or flagged < 0:
            raise ValueError("energy and coverage must not be negative")
        if covered > _HALF_HOUR_S + 1e-6 or flagged > covered + 1e-6:
            raise ValueError("coverage exceeds the half hour")
        if slot is None and (energy or covered or flagged):
            raise ValueError("coverage without a half hour")
        if slot is not None and half_hour_start(slot, self.tz) != slot:
            raise ValueError(f"slot_start {slot.isoformat()} is not a half-hour boundary here")
        if last_ts is None and (last_w is not None or accounted is not None):
            raise ValueError("a last sample value without its time")
        if last_ts is not None and accounted is not None and accounted < last_ts:
            raise ValueError("accounted_until before the last sample")
        if slot is not None and last_ts is not None:
            reference = accounted or last_ts
            if not slot <= reference <= slot + HALF_HOUR:
                raise ValueError("the last sample is outside the half hour in progress")
        if last_ts is not None and accounted is None:
            accounted = last_ts
        self._slot = slot
        self._energy, self._covered, self._flagged = energy, covered, flagged
        self._last_ts, self._last_w, self._last_flag = last_ts, last_w, last_flag
        self._accounted = accounted


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _read_time(data: Mapping[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be an ISO time string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{key} is not an ISO time: {value!r}") from None
    if moment.utcoffset() is None:
        raise ValueError(f"{key} has no UTC offset: {value!r}")
    return moment.astimezone(UTC)


def _read_optional_float(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number, got {value!r}")
    return float(value)


def _read_float(data: Mapping[str, Any], key: str, default: float) -> float:
    value = _read_optional_float(data, key)
    return default if value is None else value


# --- peak tracking ---------------------------------------------------------------------------


class DemandTracker:
    """The billing cycle's demand peak, from grid-power samples.

    `peak_kw` is the highest average of the cycle's completed, valid, in-window half hours in
    applicable months (None until there is one); `peak_start` is that half hour's UTC start;
    `half_hours_counted` is how many half hours qualified this cycle.
    """

    def __init__(
        self,
        config: DemandConfig,
        tz: tzinfo,
        *,
        max_gap: timedelta = DEFAULT_MAX_GAP,
        min_coverage: timedelta = DEFAULT_MIN_COVERAGE,
    ) -> None:
        self.config = config
        self.tz = tz
        self.averager = HalfHourAverager(tz, max_gap=max_gap, min_coverage=min_coverage)
        self.cycle_start: date | None = None
        self.peak_kw: float | None = None
        self.peak_start: datetime | None = None
        self.half_hours_counted = 0
        self.last_half_hour: HalfHour | None = None

    # - feeding

    def add_sample(
        self, ts: datetime, grid_power_w: float | None, amber_flag: bool | None = None
    ) -> list[HalfHour]:
        """Feed one grid-power sample (W, + = import); returns the half hours it completed."""
        done = self.averager.add_sample(ts, grid_power_w, amber_flag)
        for half_hour in done:
            self._account(half_hour)
        if self.averager.last_sample_time == _utc(ts):
            self.roll_cycle(ts)
        return done

    def close_until(self, now: datetime) -> list[HalfHour]:
        """Complete half hours ended by `now` (see `HalfHourAverager.close_until`) and roll the
        cycle to `now`."""
        done = self.averager.close_until(now)
        for half_hour in done:
            self._account(half_hour)
        self.roll_cycle(now)
        return done

    def roll_cycle(self, now: datetime) -> bool:
        """Start a new cycle (clearing the peak) if `now` is past the current one's end."""
        return self._roll_to_cycle(cycle_start(self.config, _utc(now, "now").astimezone(self.tz)))

    def _roll_to_cycle(self, start: date) -> bool:
        if self.cycle_start is not None and start <= self.cycle_start:
            return False
        self.cycle_start = start
        self.peak_kw = None
        self.peak_start = None
        self.half_hours_counted = 0
        return True

    def counts_toward_peak(self, half_hour: HalfHour) -> bool:
        """Whether a completed half hour is valid and inside an applicable window."""
        if not half_hour.valid or half_hour.average_kw is None:
            return False
        local_start = half_hour.start.astimezone(self.tz)
        return in_window(self.config, local_start, half_hour.amber_flagged)

    def _account(self, half_hour: HalfHour) -> None:
        self.last_half_hour = half_hour
        own_cycle = cycle_start(self.config, half_hour.start.astimezone(self.tz).date())
        self._roll_to_cycle(own_cycle)
        if own_cycle != self.cycle_start or not self.counts_toward_peak(half_hour):
            return  # a half hour of a cycle already finished, or outside the window
        average = half_hour.average_kw
        assert average is not None
        self.half_hours_counted += 1
        if self.peak_kw is None or average > self.peak_kw:
            self.peak_kw = average
            self.peak_start = half_hour.start

    # - reading

    @property
    def current_average_kw(self) -> float | None:
        """Running average of the half hour in progress."""
        return self.averager.current_average_kw

    def cost(self, today: date) -> float:
        """`cycle_cost` of the current peak (0.0 before a cycle or a peak)."""
        if self.cycle_start is None:
            return 0.0
        return cycle_cost(self.config, self.peak_kw, self.cycle_start, today)

    # - persistence

    def to_dict(self) -> dict[str, Any]:
        """The whole state as JSON-safe primitives (times as UTC ISO strings)."""
        return {
            "version": STORAGE_VERSION,
            "cycle_start": None if self.cycle_start is None else self.cycle_start.isoformat(),
            "peak_kw": self.peak_kw,
            "peak_start": _iso(self.peak_start),
            "half_hours_counted": self.half_hours_counted,
            "partial": self.averager.to_dict(),
        }

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        config: DemandConfig,
        tz: tzinfo,
        *,
        now: datetime | None = None,
        max_gap: timedelta = DEFAULT_MAX_GAP,
        min_coverage: timedelta = DEFAULT_MIN_COVERAGE,
    ) -> DemandTracker:
        """Restore `to_dict()` output. Raises ValueError on garbage; missing keys take their
        empty values. With `now`, a state from a previous cycle is reset at once.

        The stored cycle start is re-derived under `config` (from the peak's date if there is
        one), so a changed billing day keeps a peak that still falls in the current cycle.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"demand state must be a mapping, got {type(data).__name__}")
        version = data.get("version", STORAGE_VERSION)
        if version != STORAGE_VERSION or isinstance(version, bool):
            raise ValueError(f"unsupported demand state version {version!r}")
        tracker = cls(config, tz, max_gap=max_gap, min_coverage=min_coverage)
        stored_cycle = data.get("cycle_start")
        if stored_cycle is not None:
            if not isinstance(stored_cycle, str):
                raise ValueError(f"cycle_start must be an ISO date, got {stored_cycle!r}")
            try:
                tracker.cycle_start = date.fromisoformat(stored_cycle)
            except ValueError:
                raise ValueError(f"cycle_start is not an ISO date: {stored_cycle!r}") from None
        peak = _read_optional_float(data, "peak_kw")
        peak_start = _read_time(data, "peak_start")
        if (peak is None) != (peak_start is None):
            raise ValueError("peak_kw and peak_start go together")
        if peak is not None and peak < 0:
            raise ValueError(f"peak_kw must not be negative: {peak}")
        counted = data.get("half_hours_counted", 0)
        if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
            raise ValueError(f"half_hours_counted must be a count, got {counted!r}")
        partial = data.get("partial")
        if partial is not None:
            tracker.averager.load(partial)
        if peak_start is not None:
            tracker.cycle_start = cycle_start(config, peak_start.astimezone(tz).date())
        elif tracker.cycle_start is not None:
            tracker.cycle_start = cycle_start(config, tracker.cycle_start)
        tracker.peak_kw, tracker.peak_start = peak, peak_start
        tracker.half_hours_counted = counted
        if tracker.cycle_start is None and peak is not None:
            raise ValueError("a peak without a cycle")
        if now is not None:
            tracker.roll_cycle(now)
        return tracker
