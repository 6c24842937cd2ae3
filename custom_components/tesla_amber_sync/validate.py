"""Checks a `tariff_content_v2` body before it is pushed to a Powerwall.

Runs on every plan we send (Amber-derived, imported fixed-rate, demand-split, forced modes), so
it reads anything without crashing and reports what is wrong in words a user can act on: which
season, period, entry, weekday, time or field. Pure: no Home Assistant, no I/O.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
import math
from typing import Any

from .tou import DAY_MINUTES, WEEK_MINUTES, wire_window_spans

MAX_ENERGY_RATE = 100.0  # $/kWh; the market cap is ~$22/kWh, so 100+ is a c/kWh-vs-$ mix-up
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TIME_FIELDS = ("fromDayOfWeek", "toDayOfWeek", "fromHour", "fromMinute", "toHour", "toMinute")
DATE_FIELDS = ("fromMonth", "fromDay", "toMonth", "toDay")
_LEAP_YEAR = 2000  # any leap year: lets Feb 29 be checked like every other day
_SUMMARY_COUNT = 3


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a plan."""

    code: str  # snake_case, stable: usable as a translation key
    message: str  # names the exact season / period / day / time / field


class TariffValidationError(Exception):
    """The plan must not be pushed; `problems` says why."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        shown = "; ".join(p.message for p in self.problems[:_SUMMARY_COUNT])
        more = len(self.problems) - _SUMMARY_COUNT
        suffix = f"; and {more} more" if more > 0 else ""
        count = len(self.problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the tariff: {shown}{suffix}"
        )


def validate_tariff(tariff: Mapping[str, Any]) -> None:
    """Raise TariffValidationError unless the plan is safe to push."""
    problems = find_problems(tariff)
    if problems:
        raise TariffValidationError(problems)


def find_problems(tariff: Mapping[str, Any]) -> list[Problem]:
    """Everything wrong with a plan; empty when it is fine. Never raises on any input."""
    checker = _Checker()
    checker.check(tariff)
    return checker.problems


# --- helpers -----------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A short, safe rendering of any value for a message."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's digit limit for str()
        return "a number with too many digits"
    return text if len(text) <= 40 else text[:37] + "..."


def _key(value: Any) -> str:
    """A mapping key as text (JSON keys are text; anything else is shown, not trusted)."""
    return value if isinstance(value, str) else _show(value)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except (RecursionError, ValueError, TypeError):  # self-referencing or odd objects
        return False


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _day_list(days: list[int]) -> str:
    if len(days) == 7:
        return "every day"
    return ", ".join(DAY_NAMES[d] for d in days)


def _date_text(day: date) -> str:
    return f"{day.day} {day.strftime('%b')}"


def _rate_issue(value: Any, ceiling: float | None) -> str | None:
    """Why `value` is not a usable rate, or None when it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"is {_show(value)} ({_kind(value)}), not a number"
    try:
        number = float(value)
    except OverflowError:
        return f"is {_show(value)}, far too large"
    if math.isnan(number):
        return "is NaN, not a number"
    if math.isinf(number):
        return f"is {_show(value)}, not a finite number"
    if number < 0:
        return f"is {_show(value)}; Tesla takes no negative rates"
    if ceiling is not None and number > ceiling:
        return (
            f"is {_show(value)} $/kWh, above the {ceiling:g} $/kWh sanity limit "
            "(a c/kWh price sent as $/kWh?)"
        )
    return None


@dataclass(slots=True)
class _Seasons:
    """What the structure checks learnt about one `seasons` object."""

    periods: dict[str, list[str]]  # season -> its period names (seasons that are objects)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, code: str, message: str) -> None:
        self.problems.append(Problem(code, message))

    # top level

    def check(self, tariff: Any) -> None:
        if not isinstance(tariff, Mapping):
            self.add("not_an_object", f"The tariff must be an object, got {_kind(tariff)}")
            return
        self._header(tariff, "", ("version", "code", "name", "utility", "currency"))
        buy = self._seasons(tariff.get("seasons"), "seasons", present="seasons" in tariff)
        self._energy_rates(tariff.get("energy_charges"), "energy_charges", buy, "buy")
        self._demand_rates(tariff.get("demand_charges"), "demand_charges")

        if "sell_tariff" not in tariff:
            self.add("missing_field", "sell_tariff is missing: Tesla needs the export side")
            return
        sell_side = tariff["sell_tariff"]
        if not isinstance(sell_side, Mapping):
            self.add("bad_type", f"sell_tariff must be an object, got {_kind(sell_side)}")
            return
        self._header(sell_side, "sell_tariff.", ())
        sell_seasons = sell_side.get("seasons")
        if sell_seasons is not None and _same(sell_seasons, tariff.get("seasons")):
            # The usual mirrored plan: its structure was just checked; do not report it twice.
            sell = buy
        else:
            sell = self._seasons(
                sell_seasons, "sell_tariff.seasons", present="seasons" in sell_side
            )
        self._energy_rates(
            sell_side.get("energy_charges"), "sell_tariff.energy_charges", sell, "sell"
        )
        self._demand_rates(sell_side.get("demand_charges"), "sell_tariff.demand_charges")

    def _header(self, body: Mapping[str, Any], prefix: str, text_keys: tuple[str, ...]) -> None:
        for key in text_keys:
            if key not in body:
                self.add("missing_field", f"{prefix}{key} is missing")
            elif key == "version":
                if not _is_int(body[key]):
                    self.add(
                        "bad_type",
                        f"{prefix}version must be a whole number, got {_show(body[key])}",
                    )
            elif not isinstance(body[key], str):
                self.add("bad_type", f"{prefix}{key} must be text, got {_show(body[key])}")
        if prefix == "":
            for key in ("daily_charges", "energy_charges", "demand_charges"):
                if key not in body:
                    self.add("missing_field", f"{key} is missing")
        elif "energy_charges" not in body:
            self.add("missing_field", f"{prefix}energy_charges is missing")
        if "daily_charges" in body:
            self._daily(body["daily_charges"], f"{prefix}daily_charges")

    def _daily(self, charges: Any, where: str) -> None:
        if not isinstance(charges, list):
            self.add("bad_type", f"{where} must be a list, got {_kind(charges)}")
            return
        for i, charge in enumerate(charges, start=1):
            if not isinstance(charge, Mapping):
                self.add("bad_type", f"{where} entry {i} must be an object, got {_kind(charge)}")
                continue
            if "amount" in charge:
                issue = _rate_issue(charge["amount"], None)
                if issue:
                    self.add("bad_charge", f"{where} entry {i} amount {issue}")

    # seasons and periods

    def _seasons(self, seasons: Any, where: str, *, present: bool) -> _Seasons:
        found = _Seasons(periods={})
        if not present:
            self.add("missing_field", f"{where} is missing")
            return found
        if not isinstance(seasons, Mapping):
            self.add("bad_type", f"{where} must be an object, got {_kind(seasons)}")
            return found
        if not seasons:
            self.add("no_seasons", f"{where} is empty: a plan needs at least one season")
            return found
        spans: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {}
        dates_ok = True
        for raw_name, season in seasons.items():
            name = _key(raw_name)
            label = name if where == "seasons" else f"{where}.{name}"
            if not isinstance(season, Mapping):
                self.add("bad_type", f"Season {label} must be an object, got {_kind(season)}")
                dates_ok = False
                continue
            found.periods[name] = []
            span = self._season_dates(season, label)
            if span is None:
                dates_ok = False
            else:
                spans[name] = span
            self._season_periods(season, label, found.periods[name])
        if dates_ok:
            self._year_coverage(spans, where)
        return found

    def _season_dates(
        self, season: Mapping[str, Any], label: str
    ) -> tuple[tuple[int, int], tuple[int, int]] | None:
        ok = True
        for key in DATE_FIELDS:
            if key not in season:
                self.add("missing_field", f"Season {label}: {key} is missing")
                ok = False
            elif not _is_int(season[key]):
                self.add(
                    "bad_type",
                    f"Season {label}: {key} must be a whole number, got {_show(season[key])}",
                )
                ok = False
        if not ok:
            return None
        ends: list[tuple[int, int]] = []
        for side in ("from", "to"):
            month, day = season[f"{side}Month"], season[f"{side}Day"]
            if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(_LEAP_YEAR, month)[1]:
                self.add(
                    "bad_date",
                    f"Season {label}: {side}Month/{side}Day {_show(month)}/{_show(day)} "
                    "is not a real date",
                )
                ok = False
            ends.append((month, day))
        return (ends[0], ends[1]) if ok else None

    def _year_coverage(
        self, spans: dict[str, tuple[tuple[int, int], tuple[int, int]]], where: str
    ) -> None:
        """Every day of a leap year in exactly one season (wrapping seasons allowed)."""
        first = date(_LEAP_YEAR, 1, 1)
        owners: list[list[str]] = []
        for offset in range(366):
            day = first + timedelta(days=offset)
            here = (day.month, day.day)
            owners.append(
                [
                    name
                    for name, (start, end) in spans.items()
                    if (start <= here <= end if start <= end else here >= start or here <= end)
                ]
            )
        offset = 0
        while offset < 366:
            who = owners[offset]
            last = offset
            while last + 1 < 366 and owners[last + 1] == who:
                last += 1
            if len(who) != 1:
                start_day = first + timedelta(days=offset)
                end_day = first + timedelta(days=last)
                days = (
                    _date_text(start_day)
                    if offset == last
                    else f"{_date_text(start_day)}-{_date_text(end_day)}"
                )
                if not who:
                    self.add("season_gap", f"{where}: no season covers {days}")
                else:
                    self.add(
                        "season_overlap",
                        f"{where}: {days} is in more than one season ({', '.join(who)})",
                    )
            offset = last + 1

    def _season_periods(self, season: Mapping[str, Any], label: str, names: list[str]) -> None:
        if "tou_periods" not in season:
            self.add("missing_field", f"Season {label}: tou_periods is missing")
            return
        tou_periods = season["tou_periods"]
        if not isinstance(tou_periods, Mapping):
            self.add(
                "bad_type",
                f"Season {label}: tou_periods must be an object, got {_kind(tou_periods)}",
            )
            return
        if not tou_periods:
            self.add("empty_season", f"Season {label} has no periods")
            return
        usable: list[tuple[str, Mapping[str, Any]]] = []
        all_ok = True
        for raw_name, body in tou_periods.items():
            period = _key(raw_name)
            names.append(period)
            where = f"Season {label}, period {period}"
            if not isinstance(body, Mapping):
                self.add("bad_type", f"{where} must be an object, got {_kind(body)}")
                all_ok = False
                continue
            entries = body.get("periods")
            if not isinstance(entries, list):
                code = "missing_field" if entries is None else "bad_type"
                self.add(code, f"{where}: `periods` must be a list of times, got {_kind(entries)}")
                all_ok = False
                continue
            if not entries:
                self.add("empty_period", f"{where}: `periods` is empty")
                all_ok = False
                continue
            for i, entry in enumerate(entries, start=1):
                if self._entry_ok(entry, f"{where}, entry {i}"):
                    usable.append((period, entry))
                else:
                    all_ok = False
        # With a broken entry the coverage report would describe symptoms of it; fix that first.
        if all_ok:
            self._week_coverage(usable, label)

    def _entry_ok(self, entry: Any, where: str) -> bool:
        if not isinstance(entry, Mapping):
            self.add("bad_type", f"{where} must be an object, got {_kind(entry)}")
            return False
        ok = True
        for key in TIME_FIELDS:
            if key not in entry:
                self.add("missing_field", f"{where}: {key} is missing (write all six time fields)")
                ok = False
            elif not _is_int(entry[key]):
                self.add(
                    "bad_type",
                    f"{where}: {key} must be a whole number, got {_show(entry[key])} "
                    f"({_kind(entry[key])})",
                )
                ok = False
        if not ok:
            return False
        limits = {
            "fromDayOfWeek": (0, 6),
            "toDayOfWeek": (0, 6),
            "fromHour": (0, 23),
            "toHour": (0, 24),
            "fromMinute": (0, 59),
            "toMinute": (0, 59),
        }
        for key, (low, high) in limits.items():
            if not low <= entry[key] <= high:
                self.add("bad_time", f"{where}: {key} {_show(entry[key])} is outside {low}..{high}")
                ok = False
        if entry["toHour"] == 24 and entry["toMinute"] != 0:
            self.add(
                "bad_time",
                f"{where}: toHour 24 needs toMinute 0, got toMinute {_show(entry['toMinute'])}",
            )
            ok = False
        return ok

    def _week_coverage(self, entries: list[tuple[str, Mapping[str, Any]]], label: str) -> None:
        """Every minute of the week in exactly one period; reports runs, grouped across days."""
        pieces: list[tuple[int, int]] = []
        for _, entry in entries:
            for start, end in wire_window_spans(entry):
                if end > WEEK_MINUTES:  # runs past Sunday midnight into Monday
                    pieces += [(start, WEEK_MINUTES), (0, end - WEEK_MINUTES)]
                else:
                    pieces.append((start, end))
        pieces.sort()
        cursor = 0
        for start, end in pieces:
            if start != cursor:
                break
            cursor = end
        else:
            if cursor == WEEK_MINUTES:
                return  # the pieces tile the week exactly: the usual case, checked cheaply

        count = [0] * WEEK_MINUTES
        owner: list[str | None] = [None] * WEEK_MINUTES
        clashes: dict[int, set[str]] = {}
        for period, entry in entries:
            for start, end in wire_window_spans(entry):
                for minute in range(start, end):
                    m = minute % WEEK_MINUTES
                    count[m] += 1
                    held = owner[m]
                    if held is None:
                        owner[m] = period
                    else:
                        clashes.setdefault(m, {held}).add(period)

        # (start, end, state) runs within each day; state None = uncovered, else clashing names
        grouped: dict[tuple[int, int, tuple[str, ...] | None], list[int]] = {}
        for day in range(7):
            base = day * DAY_MINUTES
            minute = 0
            while minute < DAY_MINUTES:
                state = self._state(count, clashes, base + minute)
                if state == ():
                    minute += 1
                    continue
                end = minute + 1
                while end < DAY_MINUTES and self._state(count, clashes, base + end) == state:
                    end += 1
                grouped.setdefault((minute, end, state), []).append(day)
                minute = end
        for (start, end, state), days in grouped.items():
            span = f"{_day_list(days)} {_hhmm(start)}-{_hhmm(end)}"
            if state is None:
                self.add("minute_uncovered", f"{label}: {span} is covered by no period")
            else:
                self.add(
                    "minute_overlap",
                    f"{label}: {span} is covered by more than one period ({', '.join(state)})",
                )

    @staticmethod
    def _state(count: list[int], clashes: dict[int, set[str]], m: int) -> tuple[str, ...] | None:
        if count[m] == 0:
            return None
        if count[m] == 1:
            return ()
        return tuple(sorted(clashes[m]))

    # rates

    def _rate_blocks(self, charges: Any, where: str) -> dict[str, Mapping[Any, Any]] | None:
        if charges is None:
            return None  # a required block that is absent was reported by _header
        if not isinstance(charges, Mapping):
            self.add("bad_type", f"{where} must be an object, got {_kind(charges)}")
            return None
        blocks: dict[str, Mapping[Any, Any]] = {}
        for raw_name, block in charges.items():
            name = _key(raw_name)
            if not isinstance(block, Mapping):
                self.add("bad_type", f"{where}.{name} must be an object, got {_kind(block)}")
                continue
            rates = block.get("rates")
            if not isinstance(rates, Mapping):
                self.add(
                    "missing_field" if rates is None else "bad_type",
                    f"{where}.{name}.rates must be an object, got {_kind(rates)}",
                )
                continue
            blocks[name] = rates
        return blocks

    def _energy_rates(self, charges: Any, where: str, seasons: _Seasons, kind: str) -> None:
        blocks = self._rate_blocks(charges, where)
        if blocks is None:
            return
        for name, rates in blocks.items():
            for raw_period, value in rates.items():
                issue = _rate_issue(value, MAX_ENERGY_RATE)
                if issue:
                    self.add("bad_rate", f"{where}.{name}.rates.{_key(raw_period)} {issue}")
        for season, periods in seasons.periods.items():
            season_rates = blocks.get(season)
            if season_rates is None:
                if periods:
                    self.add(
                        "missing_rate",
                        f"{where} has no rates for season {season}: every period needs "
                        f"a {kind} rate",
                    )
                continue
            keys = {_key(k) for k in season_rates}
            for period in periods:
                if period not in keys:
                    self.add(
                        "missing_rate",
                        f"Season {season}, period {period} has no {kind} rate in "
                        f"{where}.{season}.rates",
                    )

    def _demand_rates(self, charges: Any, where: str) -> None:
        for name, rates in (self._rate_blocks(charges, where) or {}).items():
            for raw_period, value in rates.items():
                issue = _rate_issue(value, None)
                if issue:
                    self.add("bad_rate", f"{where}.{name}.rates.{_key(raw_period)} {issue}")
