"""Plain data shared by every layer: what Amber and the Powerwall tell us, parsed.

This module is the ground floor: it imports nothing from Home Assistant, from HTTP, or from any
other module of the integration. The pure domain modules (tariff, validation, demand, plans) and
the API clients both speak it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any


class ChannelType(StrEnum):
    """Amber channel types. Intervals are grouped by this, never by position in the response."""

    GENERAL = "general"
    CONTROLLED_LOAD = "controlledLoad"
    FEED_IN = "feedIn"


class IntervalType(StrEnum):
    """Amber interval types."""

    ACTUAL = "ActualInterval"
    CURRENT = "CurrentInterval"
    FORECAST = "ForecastInterval"


# Known enum values. Amber adds values from time to time: anything else is kept as text.
SPIKE_STATUSES = ("none", "potential", "spike")
DESCRIPTORS = ("extremelyLow", "veryLow", "low", "neutral", "high", "spike", "negative")


@dataclass(frozen=True, slots=True)
class AdvancedPrice:
    """Amber's own forecast for an interval, c/kWh, same sign convention as `perKwh`."""

    low: float
    predicted: float
    high: float


@dataclass(frozen=True, slots=True)
class PriceInterval:
    """One Amber interval on one channel.

    `start` is the bucket start, `end - duration` (Amber's own `startTime` is one second late),
    both timezone-aware UTC. Prices are c/kWh including GST, as Amber sends them.
    """

    interval_type: str  # an IntervalType value, or Amber's text when unknown
    channel: str  # a ChannelType value, or Amber's text when unknown
    start: datetime
    end: datetime
    per_kwh: float
    spot_per_kwh: float | None = None
    spike_status: str = "none"
    descriptor: str | None = None
    renewables: float | None = None
    estimate: bool = False
    advanced_price: AdvancedPrice | None = None
    demand_window: bool | None = None
    tariff_period: str | None = None

    @property
    def duration(self) -> timedelta:
        """Length of the interval."""
        return self.end - self.start

    @property
    def duration_minutes(self) -> int:
        """Length of the interval in whole minutes."""
        return int(self.duration.total_seconds() // 60)

    def contains(self, moment: datetime) -> bool:
        """Whether `moment` falls inside `[start, end)`."""
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class AmberChannel:
    """A metering channel of an Amber site."""

    identifier: str
    type: str
    tariff: str | None = None


@dataclass(frozen=True, slots=True)
class AmberSite:
    """An Amber site (one NMI)."""

    id: str
    nmi: str
    network: str | None
    status: str
    interval_length: int  # billing interval in minutes: 5 or 30
    channels: tuple[AmberChannel, ...] = ()
    active_from: date | None = None

    @property
    def is_active(self) -> bool:
        """Only active sites have prices."""
        return self.status == "active"

    def has_channel(self, channel: ChannelType) -> bool:
        """Whether the site meters the given channel type."""
        return any(c.type == channel for c in self.channels)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Rate-limit state as Amber advertises it in response headers (absent fields are None)."""

    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None
    policy: str | None = None


@dataclass(frozen=True, slots=True)
class PriceBatch:
    """One fetch of Amber prices: every channel's intervals, sorted by (channel, start)."""

    intervals: tuple[PriceInterval, ...]
    fetched_at: datetime
    dropped: int = 0  # intervals discarded because they had no usable price
    rate_limit: RateLimit = field(default_factory=RateLimit)

    def channel(self, channel: ChannelType | str) -> list[PriceInterval]:
        """Intervals of one channel in time order."""
        return [i for i in self.intervals if i.channel == channel]

    def at(self, channel: ChannelType | str, moment: datetime) -> PriceInterval | None:
        """The finest interval of `channel` containing `moment`, if any."""
        best: PriceInterval | None = None
        for interval in self.intervals:
            if (
                interval.channel == channel
                and interval.contains(moment)
                and (best is None or interval.duration < best.duration)
            ):
                best = interval
        return best

    def current(self, channel: ChannelType | str) -> PriceInterval | None:
        """The interval Amber marked as current for `channel`, if any."""
        for interval in self.intervals:
            if interval.channel == channel and interval.interval_type == IntervalType.CURRENT:
                return interval
        return None


@dataclass(frozen=True, slots=True)
class EnergySite:
    """A Tesla energy product (`GET /api/1/products` entry with an `energy_site_id`)."""

    energy_site_id: int
    site_name: str
    resource_type: str | None = None
    gateway_id: str | None = None
    features: frozenset[str] = frozenset()
    components: dict[str, Any] = field(default_factory=dict)

    @property
    def allows_sell_above_buy(self) -> bool:
        """Tesla lets this site's plan pay more for export than it charges for import."""
        return "rate_plan_manager_no_pricing_constraint" in self.features


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """Powerwall live status. Powers are watts; None means the Powerwall did not report it."""

    solar_power: float | None = None
    battery_power: float | None = None  # + = discharging
    grid_power: float | None = None  # + = importing
    load_power: float | None = None
    generator_power: float | None = None
    percentage_charged: float | None = None
    energy_left: float | None = None  # Wh
    total_pack_energy: float | None = None  # Wh
    grid_status: str | None = None
    island_status: str | None = None
    storm_mode_active: bool | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """The Powerwall's configuration as `site_info` reports it."""

    installation_time_zone: str | None = None  # None when Tesla sent "" or nothing
    default_real_mode: str | None = None
    backup_reserve_percent: float | None = None
    export_rule: str | None = None  # components.customer_preferred_export_rule
    disallow_charge_from_grid_with_solar_installed: bool | None = None
    optimization_strategy: str | None = None
    tariff: dict[str, Any] | None = None  # tariff_content_v2 as stored on the Powerwall
    components: dict[str, Any] = field(default_factory=dict)
    site_name: str | None = None
    nameplate_power: float | None = None  # W
    nameplate_energy: float | None = None  # Wh
    storm_mode_enabled: bool | None = None  # user_settings.storm_mode_enabled

    def has_component(self, name: str) -> bool:
        """Whether `components` reports the hardware or capability (battery, solar, ...)."""
        return self.components.get(name) is True

    @property
    def can_set_reserve_and_mode(self) -> bool:
        """Backup reserve and operation mode need a battery."""
        return self.has_component("battery")

    @property
    def can_set_grid_rules(self) -> bool:
        """Export rule and grid charging only exist on sites with a battery and solar."""
        return self.has_component("battery") and self.has_component("solar")

    @property
    def can_set_storm_watch(self) -> bool:
        """Storm Watch needs the capability flag."""
        return self.has_component("storm_mode_capable")


@dataclass(frozen=True, slots=True)
class EnergyHistoryDay:
    """Energy totals (Wh) of one local day from `calendar_history` (`kind=energy`)."""

    day: date
    totals: dict[str, float]
