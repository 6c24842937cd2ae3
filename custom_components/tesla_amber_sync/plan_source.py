"""Where the plan comes from: Amber prices now (fixed-rate plans plug in beside it).

A source turns what the coordinators hold into a validated `tariff_content_v2`, or says why it
cannot. Nothing here writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from homeassistant.util import dt as dt_util

from .amber_coordinator import AmberCoordinator
from .api.models import ChannelType, EnergySite, SiteInfo
from .const import (
    CONF_FORECAST_SOURCE,
    CONF_SPIKE_PROTECTION,
    DEFAULT_FORECAST_SOURCE,
    DEFAULT_SPIKE_PROTECTION,
)
from .demand import (
    IN_PLAN_NONE,
    SOURCE_FIXED,
    DemandConfig,
    applies_in_month,
    applies_on_weekday,
    window_slots,
)
from .demand_plan import Cell, apply_demand, label_index, window_cells
from .tariff import (
    BuiltTariff,
    MissingPricesError,
    Slot,
    TariffBuildError,
    TariffOptions,
    build_tariff,
)
from .tou import TariffIndex, TouPlan, encode_tariff
from .validate import TariffValidationError, validate_tariff

# Prices older than this are not "now" any more.
FRESH_FOR = timedelta(minutes=10)
# How far Amber's "current" interval may sit from the moment it was fetched (Amber switches the
# current interval a few seconds after each boundary).
CURRENT_SLACK = timedelta(minutes=5)


class PlanUnavailableError(Exception):
    """No trustworthy plan can be built; `reason` is a translation key."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PlanBuild:
    """A validated plan and what it says, slot by slot."""

    tariff: dict[str, Any]
    buy: dict[str, float]
    sell: dict[str, float]
    interval: datetime | None = None  # the Amber interval it was built for
    explanation: list[dict[str, Any]] = field(default_factory=list)
    # Per clock label: "amber", "gap" (a short hole bridged) or "beyond_horizon" (past Amber's
    # forecast; see tariff.py). Empty for plans that do not come from Amber prices.
    sources: dict[str, str] = field(default_factory=dict)


class PlanSource(Protocol):
    """Builds the plan the Powerwall should hold now."""

    # True: a new plan per price interval (pushed by the price poll). False: a standing plan,
    # pushed when it changes or when the Powerwall's copy drifts from it.
    follows_prices: bool

    def prices_fresh(self, now: datetime) -> bool:
        """Whether the inputs are current enough to build from."""

    def build(self, now: datetime) -> PlanBuild:
        """A validated plan, or PlanUnavailableError."""


def site_zone(site_info: SiteInfo | None) -> tzinfo:
    """The Powerwall's installation zone; Home Assistant's when Tesla gives none."""
    name = site_info.installation_time_zone if site_info else None
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return dt_util.get_default_time_zone()


def slot_rates(
    tariff: dict[str, Any], slots: tuple[Slot, ...]
) -> tuple[dict[str, float], dict[str, float]]:
    """Buy and sell of the encoded plan at each slot's own moment, in clock order."""
    buy: dict[str, float] = {}
    sell: dict[str, float] = {}
    index = TariffIndex(tariff)
    for slot in sorted(slots, key=lambda s: s.label):
        rate = index.rates_at(slot.start)
        buy[slot.label] = rate.buy if rate.buy is not None else float("nan")
        sell[slot.label] = rate.sell if rate.sell is not None else float("nan")
    return buy, sell


def explain(built: BuiltTariff) -> list[dict[str, Any]]:
    """Per-slot explanation in plain data (for the preview action)."""
    rows: list[dict[str, Any]] = []
    for slot in built.slots:
        rows.append(
            {
                "slot": slot.label,
                "start": slot.start.isoformat(),
                "buy": slot.buy,
                "sell": slot.sell,
                "buy_from": [
                    f"{s.interval_type} {s.start:%H:%M}Z {s.field} {s.cents}c x{s.minutes:g}m"
                    for s in slot.buy_sources
                ],
                "sell_from": [
                    f"{s.interval_type} {s.start:%H:%M}Z {s.field} {s.cents}c x{s.minutes:g}m"
                    for s in slot.sell_sources
                ],
                "source": slot.source,
                "buy_basis": slot.buy_basis.value,
                "sell_basis": slot.sell_basis.value,
                "buy_filled_from": slot.buy_filled_from,
                "sell_filled_from": slot.sell_filled_from,
                "spike_status": slot.spike_status,
                "adjustments": list(slot.adjustments),
            }
        )
    return rows


class AmberPlanSource:
    """Amber's latest prices as a rolling 24-hour plan."""

    follows_prices = True

    def __init__(
        self,
        prices: AmberCoordinator,
        energy_site: EnergySite,
        site_info: Any,
        options: dict[str, Any],
        demand: DemandConfig | None = None,
    ) -> None:
        """`site_info` is the site-info coordinator (its data may be missing)."""
        self._prices = prices
        self._energy_site = energy_site
        self._site_info = site_info
        self._options = options
        self._demand = demand

    def prices_fresh(self, now: datetime) -> bool:
        """A successful poll within the last few minutes that covers now."""
        data = self._prices.data
        if not self._prices.last_update_success or data is None:
            return False
        batch = data.batch
        if now - batch.fetched_at > FRESH_FOR:
            return False
        # An answer whose current interval is not the time it was fetched is an old answer
        # (a cache, or a clock that is wrong), however far its forecast reaches.
        current = batch.current(ChannelType.GENERAL)
        if current is None or not (
            current.start - CURRENT_SLACK <= batch.fetched_at < current.end + CURRENT_SLACK
        ):
            return False
        return batch.at(ChannelType.GENERAL, now) is not None

    def tariff_options(self) -> TariffOptions:
        """Builder options from the entry options and what the sites support."""
        site = self._prices.site
        return TariffOptions(
            forecast_source=self._options.get(CONF_FORECAST_SOURCE, DEFAULT_FORECAST_SOURCE),
            spike_protection=self._options.get(CONF_SPIKE_PROTECTION, DEFAULT_SPIKE_PROTECTION),
            allow_sell_above_buy=self._energy_site.allows_sell_above_buy,
            interval_length=site.interval_length,
            has_feed_in=site.has_channel(ChannelType.FEED_IN),
        )

    def build(self, now: datetime) -> PlanBuild:
        """Build and validate; refuse rather than guess."""
        data = self._prices.data
        if not self.prices_fresh(now) or data is None:
            raise PlanUnavailableError("prices_stale", "Amber prices are not current")
        try:
            built = build_tariff(
                data.batch.intervals,
                now,
                site_zone(self._site_info.data),
                self.tariff_options(),
                data.history,
            )
        except MissingPricesError as err:
            raise PlanUnavailableError("prices_missing", str(err)) from err
        except TariffBuildError as err:
            raise PlanUnavailableError("prices_invalid", str(err)) from err
        plan = self._with_demand(built, now)
        tariff = built.tariff if plan is built.plan else encode_tariff(plan)
        try:
            validate_tariff(tariff)
        except TariffValidationError as err:
            raise PlanUnavailableError("plan_invalid", str(err)) from err
        buy, sell = slot_rates(tariff, built.slots)
        return PlanBuild(
            tariff=tariff,
            buy=buy,
            sell=sell,
            interval=data.interval_start,
            explanation=explain(built),
            sources={s.label: s.source for s in sorted(built.slots, key=lambda s: s.label)},
        )

    def _with_demand(self, built: BuiltTariff, now: datetime) -> TouPlan:
        """The demand window's charge on exactly its slots and days (when the option says so)."""
        config = self._demand
        if config is None or not config.enabled or config.in_plan == IN_PLAN_NONE:
            return built.plan
        zone = built.slots[0].start.tzinfo
        if not applies_in_month(config, now.astimezone(zone).month):
            return built.plan
        if config.window_source == SOURCE_FIXED:
            cells = window_cells(window_slots(config))
        else:
            cells = self._amber_window(config, built.slots)
        return apply_demand(built.plan, config, cells)

    def _amber_window(self, config: DemandConfig, slots: tuple[Slot, ...]) -> set[Cell]:
        """Slots Amber flags as demand window, on the weekday each slot stands for."""
        data = self._prices.data
        assert data is not None
        flagged = [i for i in data.batch.channel(ChannelType.GENERAL) if i.demand_window is True]
        cells: set[Cell] = set()
        for slot in slots:
            day = slot.start.weekday()
            if not applies_on_weekday(config, day):
                continue
            if any(i.start < slot.end and slot.start < i.end for i in flagged):
                cells.add((day, label_index(slot.label)))
        return cells
