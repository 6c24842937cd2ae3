"""The Amber price model: final prices, forecasts as published at any moment, and the JSON.

Pure and deterministic: nothing here does I/O or keeps history. The final 5-minute spot price of
an interval is a function of (seed, NEM region, interval); what Amber had *published* about an
interval at time `now` is a function of that plus `now`. So a benchmark can ask "what did Amber
show at 14:05 yesterday?" with `PriceModel(seed).published(now, next=..., ...)` and get the exact
list `GET /sites/{id}/prices/current` returned then.

Units follow Amber: c/kWh including GST. `spotPerKwh` is the wholesale part; `perKwh` on
`general` adds the network's time-of-use rate and fees; on `feedIn` it is what the customer pays
to export (negative = they earn). A 30-minute interval is the mean of its six 5-minute parts.

Shape of a day (NEM time, UTC+10): moderate overnight, a morning bump, a solar trough around
12:45 (negative on "negative" days), an evening peak around 18:45, occasional evening spikes
(potential first, then spike) reaching $3-16.5/kWh wholesale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
import math
from typing import Any
from zoneinfo import ZoneInfo

from . import noise
from .sites import CONTROLLED_LOAD, FEED_IN, GENERAL, AmberSite, make_sites

NEM_TZ = timezone(timedelta(hours=10))
FIVE = timedelta(minutes=5)
THIRTY = timedelta(minutes=30)
SPIKE_SPOT = 33.0  # c/kWh wholesale incl. GST ($300/MWh + GST): a spike from here
POTENTIAL_SPOT = 50.0  # a forecast whose high band reaches this is a potential spike
SPOT_FLOOR = -110.0  # -$1,000/MWh incl. GST
SPOT_CAP = 2233.0  # $20,300/MWh incl. GST
DEFAULT_ESTIMATE_SECONDS = 30
# AEMO's pre-dispatch reaches 04:00 NEM time of the trading day after the one it was run for; the
# run that extends it by a day is published at about 12:30 NEM time.
TRADING_DAY_END = time(4)
DEFAULT_PREDISPATCH_MINUTE = 12 * 60 + 30
# How far ahead Amber gives 5-minute forecasts before switching to 30-minute ones.
DEFAULT_FIVE_MINUTE_HOURS = 1.0
MAX_INTERVALS = 2048

ACTUAL = "ActualInterval"
CURRENT = "CurrentInterval"
FORECAST = "ForecastInterval"


def floor_time(when: datetime, step: timedelta) -> datetime:
    """`when` rounded down to a multiple of `step` since the epoch (UTC)."""
    seconds = int(step.total_seconds())
    epoch = math.floor(when.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def nem_date(when: datetime) -> date:
    """The NEM (UTC+10) calendar date of an instant."""
    return when.astimezone(NEM_TZ).date()


def aemo_horizon_end(
    now: datetime, predispatch_minute: int = DEFAULT_PREDISPATCH_MINUTE
) -> datetime:
    """Where AEMO's pre-dispatch (and so Amber's forecast) ends at `now`: 04:00 NEM time two days
    after the day of the latest run, a run appearing each day at `predispatch_minute` NEM time."""
    local = now.astimezone(NEM_TZ)
    minute = local.hour * 60 + local.minute
    run_day = local.date() if minute >= predispatch_minute else local.date() - timedelta(1)
    return datetime.combine(run_day + timedelta(2), TRADING_DAY_END, NEM_TZ).astimezone(UTC)


def _utc_text(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _round(value: float, digits: int = 5) -> float:
    return round(value, digits) + 0.0  # + 0.0 turns -0.0 into 0.0


def _gauss(x: float, mu: float, sd: float) -> float:
    return math.exp(-0.5 * ((x - mu) / sd) ** 2)


def _season(month: int) -> str:
    if month in (12, 1, 2):
        return "summer"
    if month in (3, 4, 5):
        return "autumn"
    if month in (6, 7, 8):
        return "winter"
    return "spring"


@dataclass(frozen=True, slots=True)
class SpikeEvent:
    """An evening price spike: NEM minute-of-day it starts, how long, peak wholesale c/kWh."""

    start: int
    minutes: int
    peak: float


@dataclass(frozen=True, slots=True)
class DayOverride:
    """A scenario's instructions for one NEM day (None = leave it to the seed)."""

    spike: bool | None = None
    negative: bool | None = None
    spike_start: int | None = None
    spike_minutes: int | None = None
    spike_peak: float | None = None


@dataclass(frozen=True, slots=True)
class DayProfile:
    """The seeded character of one NEM day in one region."""

    day: date
    region: str
    base: float
    morning: float
    evening: float
    midday: float
    negative: bool
    spike: SpikeEvent | None
    phases: tuple[float, float, float]
    renewables: float


@dataclass(frozen=True, slots=True)
class SpotDetail:
    """The settled 5-minute wholesale price and what it is made of."""

    final: float
    excess: float  # the spike's share of `final`
    evening: float  # the evening-peak component (AEMO over-forecasts it)
    renewables: float

    @property
    def underlying(self) -> float:
        """The price without its spike."""
        return self.final - self.excess


@dataclass(frozen=True, slots=True)
class _Quote:
    """What was shown for one 5-minute part at publication time: spot terms, c/kWh."""

    state: str  # "final", "estimate" or "forecast"
    shown: float  # the number behind perKwh/spotPerKwh
    low: float
    predicted: float
    high: float
    renewables: float


@dataclass(slots=True)
class PriceModel:
    """Seeded Amber prices for a set of sites.

    `sites` defaults to the single default site of `make_sites(seed)`. Scenario hooks
    (`force_day`) change the model in place; everything else is a pure function of its inputs.
    """

    seed: int
    sites: Sequence[AmberSite] = ()
    estimate_seconds: float = DEFAULT_ESTIMATE_SECONDS
    # 0: AEMO's horizon (see `horizon_end`); more: a fixed look-ahead of that many hours (the
    # simulator's old, always-long world, for tests that need it).
    horizon_hours: float = 0.0
    predispatch_minute: int = DEFAULT_PREDISPATCH_MINUTE  # NEM minute of the day
    five_minute_hours: float = DEFAULT_FIVE_MINUTE_HOURS
    _overrides: dict[tuple[str | None, date], DayOverride] = field(default_factory=dict)
    _profiles: dict[tuple[str, date], DayProfile] = field(default_factory=dict)
    _spots: dict[tuple[str, int], SpotDetail] = field(default_factory=dict)
    _zones: dict[str, ZoneInfo] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.sites:
            self.sites = make_sites(self.seed, 1)

    # --- scenario hooks ---------------------------------------------------------------------

    def force_day(
        self,
        day: date,
        *,
        spike: bool | None = None,
        negative: bool | None = None,
        region: str | None = None,
        spike_start: time | None = None,
        spike_minutes: int | None = None,
        spike_peak: float | None = None,
    ) -> None:
        """Make NEM day `day` a spike day and/or a negative-price day (or force either off).

        `region` limits it to one NEM region (default: all). A spike may be placed with
        `spike_start` (NEM time), `spike_minutes` and `spike_peak` (wholesale c/kWh).
        """
        key = (region, day)
        old = self._overrides.get(key, DayOverride())
        start = spike_start.hour * 60 + spike_start.minute if spike_start else None
        self._overrides[key] = DayOverride(
            spike=old.spike if spike is None else spike,
            negative=old.negative if negative is None else negative,
            spike_start=old.spike_start if start is None else start - start % 5,
            spike_minutes=old.spike_minutes if spike_minutes is None else spike_minutes,
            spike_peak=old.spike_peak if spike_peak is None else spike_peak,
        )
        self._invalidate()

    def clear_forced(self, day: date | None = None) -> None:
        """Forget scenario overrides for `day` (or all of them)."""
        if day is None:
            self._overrides.clear()
        else:
            for key in [k for k in self._overrides if k[1] == day]:
                del self._overrides[key]
        self._invalidate()

    def forced_days(self) -> list[dict[str, Any]]:
        """The overrides in force, for the control API."""
        return [
            {
                "date": day.isoformat(),
                "region": region,
                "spike": o.spike,
                "negative": o.negative,
                "spike_start": (
                    None
                    if o.spike_start is None
                    else f"{o.spike_start // 60:02d}:{o.spike_start % 60:02d}"
                ),
                "spike_minutes": o.spike_minutes,
                "spike_peak": o.spike_peak,
            }
            for (region, day), o in sorted(
                self._overrides.items(), key=lambda item: (item[0][1], item[0][0] or "")
            )
        ]

    def _invalidate(self) -> None:
        self._profiles.clear()
        self._spots.clear()

    # --- the settled market -----------------------------------------------------------------

    def day_profile(self, region: str, day: date) -> DayProfile:
        """The seeded character of NEM day `day` in `region`, after scenario overrides."""
        cached = self._profiles.get((region, day))
        if cached is not None:
            return cached
        key = (self.seed, region, day.isoformat())
        month = day.month
        winter = month in (6, 7, 8)
        spring = month in (9, 10, 11)
        summer = month in (12, 1, 2)
        override = self._overrides.get((region, day)) or self._overrides.get((None, day))
        override = override or DayOverride()

        negative_p = 0.35 if spring else 0.22 if summer else 0.08 if winter else 0.15
        negative = noise.chance(negative_p, *key, "negative")
        if override.negative is not None:
            negative = override.negative
        spike_p = 0.10 if (summer or winter) else 0.05
        has_spike = noise.chance(spike_p, *key, "spike")
        if override.spike is not None:
            has_spike = override.spike
        spike = None
        if has_spike:
            start = 16 * 60 + 30 + 5 * int(noise.unit(*key, "spike-start") * 31)
            minutes = 15 + 5 * int(noise.unit(*key, "spike-len") * 7)
            peak = noise.between(300.0, 1650.0, *key, "spike-peak")
            spike = SpikeEvent(
                start=override.spike_start if override.spike_start is not None else start,
                minutes=override.spike_minutes or minutes,
                peak=override.spike_peak if override.spike_peak is not None else peak,
            )
        midday = (
            noise.between(-14.0, -4.0, *key, "midday")
            if negative
            else noise.between(-0.5, 6.0, *key, "midday")
        )
        profile = DayProfile(
            day=day,
            region=region,
            base=noise.between(7.0, 12.0, *key, "base"),
            morning=noise.between(4.0, 10.0, *key, "morning") * (1.3 if winter else 1.0),
            evening=noise.between(9.0, 20.0, *key, "evening") * (1.35 if winter else 1.0),
            midday=midday,
            negative=negative,
            spike=spike,
            phases=(
                noise.unit(*key, "p1") * 2 * math.pi,
                noise.unit(*key, "p2") * 2 * math.pi,
                noise.unit(*key, "p3") * 2 * math.pi,
            ),
            renewables=noise.between(0.8, 1.2, *key, "renewables"),
        )
        self._profiles[(region, day)] = profile
        return profile

    def spot_detail(self, region: str, start: datetime) -> SpotDetail:
        """The settled wholesale price of the 5-minute interval starting at `start` (UTC)."""
        start = floor_time(start, FIVE)
        epoch = int(start.timestamp())
        cached = self._spots.get((region, epoch))
        if cached is not None:
            return cached
        if len(self._spots) > 250_000:
            self._spots.clear()
        mid = (start + FIVE / 2).astimezone(NEM_TZ)
        day = mid.date()
        hour = mid.hour + mid.minute / 60 + mid.second / 3600
        profile = self.day_profile(region, day)
        if hour >= 3:
            base_from, base_to = profile.base, self.day_profile(region, day + timedelta(1)).base
            weight = (hour - 3) / 24
        else:
            base_from, base_to = self.day_profile(region, day - timedelta(1)).base, profile.base
            weight = (hour + 21) / 24
        base = base_from + (base_to - base_from) * weight
        morning = profile.morning * _gauss(hour, 7.75, 1.1)
        evening = profile.evening * _gauss(hour, 18.75, 1.6)
        solar = _gauss(hour, 12.75, 2.4)
        shape = (base + morning + evening) * (1 - solar) + profile.midday * solar
        smooth = (
            1.1 * math.sin(2 * math.pi * hour / 5.3 + profile.phases[0])
            + 0.7 * math.sin(2 * math.pi * hour / 2.1 + profile.phases[1])
            + 0.4 * math.sin(2 * math.pi * hour / 0.9 + profile.phases[2])
        )
        white = 0.5 * noise.normal(self.seed, region, "white", epoch)
        value = shape + (smooth + white) * (1 + 0.03 * max(0.0, shape))
        excess = self._spike_excess(profile, start.astimezone(NEM_TZ), epoch)
        final = min(SPOT_CAP, max(SPOT_FLOOR, value + excess))
        renewables = (
            18.0
            + 62.0 * solar * profile.renewables
            + (28.0 * solar if profile.negative else 0.0)
            + 4.0 * math.sin(2 * math.pi * hour / 7.7 + profile.phases[1])
            + 1.5 * noise.normal(self.seed, region, "renew", epoch)
        )
        detail = SpotDetail(
            final=final,
            excess=final - min(SPOT_CAP, max(SPOT_FLOOR, value)),
            evening=evening,
            renewables=max(3.0, renewables),
        )
        self._spots[(region, epoch)] = detail
        return detail

    def _spike_excess(self, profile: DayProfile, start_nem: datetime, epoch: int) -> float:
        event = profile.spike
        if event is None:
            return 0.0
        minute = start_nem.hour * 60 + start_nem.minute
        offset = minute - event.start
        if 0 <= offset < event.minutes:
            x = (offset + 2.5) / event.minutes
            wobble = 0.85 + 0.3 * noise.unit(self.seed, profile.region, "spike-wobble", epoch)
            return event.peak * (0.45 + 0.55 * math.sin(math.pi * x)) * wobble
        if -30 <= offset < 0:  # prices climb before the spike proper
            return 6.0 + 18.0 * (1 + offset / 30)
        if event.minutes <= offset < event.minutes + 15:
            return 12.0 * (1 - (offset - event.minutes) / 15)
        return 0.0

    def final_spot(self, region: str, start: datetime) -> float:
        """Settled wholesale c/kWh of the 5-minute interval starting at `start`."""
        return self.spot_detail(region, start).final

    def final_price(
        self,
        channel: str,
        interval_start_utc: datetime,
        *,
        duration: int = 5,
        site: AmberSite | str | None = None,
    ) -> float:
        """The settled `perKwh` (c/kWh) of an interval on `channel` of `site`.

        `interval_start_utc` is the bucket start (Amber's `startTime` minus one second also works:
        it is rounded down); `duration` is 5 or 30.
        """
        chosen = self.site(site)
        step = FIVE if duration == 5 else THIRTY
        start = floor_time(interval_start_utc, step)
        parts = [start + FIVE * k for k in range(duration // 5)]
        values = [
            self._channel_price(chosen, channel, self.final_spot(chosen.region, p), p)
            for p in parts
        ]
        return _round(sum(values) / len(values))

    # --- sites and channels -----------------------------------------------------------------

    def site(self, site: AmberSite | str | None = None) -> AmberSite:
        """Resolve a site object or id (default: the first site)."""
        if isinstance(site, AmberSite):
            return site
        if site is None:
            return self.sites[0]
        for candidate in self.sites:
            if candidate.id == site:
                return candidate
        raise KeyError(site)

    def _zone(self, name: str) -> ZoneInfo:
        zone = self._zones.get(name)
        if zone is None:
            zone = self._zones[name] = ZoneInfo(name)
        return zone

    def _network(self, site: AmberSite, start: datetime) -> tuple[str, float, bool]:
        """Network period name, general-channel rate and demand-window flag at `start`."""
        local = start.astimezone(self._zone(site.time_zone))
        hour = local.hour + local.minute / 60
        tariff = site.tariff
        window = tariff.demand_window[0] <= hour < tariff.demand_window[1]
        if tariff.peak[0] <= hour < tariff.peak[1]:
            return "peak", tariff.peak_rate, window
        for low, high in tariff.off_peak:
            if low <= hour < high:
                return tariff.off_peak_name, tariff.off_peak_rate, window
        return "shoulder", tariff.shoulder_rate, window

    def _channel_price(self, site: AmberSite, channel: str, spot: float, start: datetime) -> float:
        if channel == FEED_IN:
            return -spot + site.tariff.feed_in_fee
        if channel == CONTROLLED_LOAD:
            return spot + site.tariff.controlled_load_rate + site.tariff.fees
        _, rate, _ = self._network(site, start)
        return spot + rate + site.tariff.fees

    # --- what was published -----------------------------------------------------------------

    def horizon_end(self, now: datetime) -> datetime:
        """The end of the forecast Amber shows at `now`.

        AEMO's pre-dispatch only reaches the end of the next trading day (04:00 NEM time), and
        the run that adds a day appears at `predispatch_minute` (about 12:30 NEM). So from 04:00
        to 12:30 the look-ahead shrinks from 24 h to 15.5 h, then jumps to about 39.5 h. With
        `horizon_hours` set, the horizon is simply that far ahead instead.
        """
        if self.horizon_hours > 0:
            return floor_time(now + timedelta(hours=self.horizon_hours) + THIRTY, THIRTY)
        return aemo_horizon_end(now, self.predispatch_minute)

    def five_minute_end(self, current: datetime) -> datetime:
        """Where 5-minute forecasts stop: `five_minute_hours` past the current interval, on the
        next half-hour boundary (30-minute intervals start on one), never before the current
        half hour is finished."""
        reach = current + max(FIVE, timedelta(hours=self.five_minute_hours))
        aligned = floor_time(reach, THIRTY)
        return aligned if aligned >= reach else aligned + THIRTY

    def _quote(self, region: str, start: datetime, now: datetime) -> _Quote:
        detail = self.spot_detail(region, start)
        epoch = int(start.timestamp())
        scale = 1 + abs(detail.underlying) / 25
        if start + FIVE <= now:
            f = detail.final
            return _Quote("final", f, f, f, f, detail.renewables)
        if start <= now:
            elapsed = (now - start).total_seconds()
            if elapsed >= self.estimate_seconds:
                f = detail.final
                return _Quote("final", f, f, f, f, detail.renewables)
            shown = detail.final + 1.4 * scale * noise.normal(self.seed, region, "est-a", epoch)
            shown -= 0.1 * detail.excess
            predicted = detail.final + 0.5 * scale * noise.normal(self.seed, region, "est-p", epoch)
            band = 0.4 + 0.04 * abs(predicted)
            return _Quote(
                "estimate", shown, predicted - band, predicted, predicted + band, detail.renewables
            )
        lead_minutes = (start - now).total_seconds() / 60
        lead_hours = lead_minutes / 60
        sigma = min(6.0, 0.9 * math.sqrt(lead_hours)) * scale
        bucket = math.floor(now.timestamp() / 300)
        z1 = noise.normal(self.seed, region, "z1", epoch)
        z2 = noise.normal(self.seed, region, "z2", epoch, bucket)
        z3 = noise.normal(self.seed, region, "z3", epoch)
        seen = 1.0 if lead_minutes <= 15 else math.exp(-(lead_minutes - 15) / 60)
        predicted = detail.underlying + sigma * (0.8 * z1 + 0.6 * z2) + detail.excess * seen
        band = 0.3 + 0.9 * sigma + 0.06 * abs(predicted)
        low = predicted - band
        high = predicted + 1.25 * band + 0.7 * detail.excess * (1 - seen)
        aemo = (
            detail.underlying
            + 1.4 * sigma * (0.6 * z3 + 0.8 * z2)
            + 0.15 * detail.evening * min(1.0, lead_hours / 2)
            + detail.excess * math.exp(-lead_minutes / 180)
        )
        renewables = detail.renewables + 1.5 * math.sqrt(lead_hours) * z3
        return _Quote("forecast", aemo, low, predicted, high, max(0.0, renewables))

    def _descriptor(self, site: AmberSite, spot: float, start: datetime, spiking: bool) -> str:
        if spiking:
            return "spike"
        general = self._channel_price(site, GENERAL, spot, start)
        if general < 0:
            return "extremelyLow"
        if general < 15:
            return "veryLow"
        if general < 25:
            return "low"
        if general < 40:
            return "neutral"
        return "high"

    def interval(
        self,
        site: AmberSite,
        channel: str,
        start: datetime,
        duration: int,
        now: datetime,
    ) -> dict[str, Any]:
        """One interval object as Amber publishes it at `now`."""
        end = start + timedelta(minutes=duration)
        parts = [start + FIVE * k for k in range(duration // 5)]
        quotes = [self._quote(site.region, p, now) for p in parts]
        if end <= now:
            kind = ACTUAL
        elif start <= now:
            kind = CURRENT
        else:
            kind = FORECAST
        count = len(parts)
        shown_spot = sum(q.shown for q in quotes) / count
        per_kwh = (
            sum(
                self._channel_price(site, channel, q.shown, p)
                for q, p in zip(quotes, parts, strict=True)
            )
            / count
        )
        renewables = sum(q.renewables for q in quotes) / count
        period, _, window = self._network(site, start)
        local = start.astimezone(self._zone(site.time_zone))
        body: dict[str, Any] = {
            "type": kind,
            "date": nem_date(start).isoformat(),
            "duration": duration,
            "startTime": _utc_text(start + timedelta(seconds=1)),
            "endTime": _utc_text(end),
            "nemTime": end.astimezone(NEM_TZ).isoformat(),
            "perKwh": _round(per_kwh),
            "renewables": _round(renewables, 3),
            "spotPerKwh": _round(shown_spot),
            "channelType": channel,
        }
        tariff_information = {
            "period": period,
            "season": _season(local.month),
            "demandWindow": window,
        }
        if kind == ACTUAL:
            spiking = shown_spot >= SPIKE_SPOT
            body["spikeStatus"] = "spike" if spiking else "none"
            body["tariffInformation"] = tariff_information
            body["descriptor"] = self._descriptor(site, shown_spot, start, spiking)
            return body
        low_spot = sum(q.low for q in quotes) / count
        predicted_spot = sum(q.predicted for q in quotes) / count
        high_spot = sum(q.high for q in quotes) / count
        # A current interval spikes on the price shown; a forecast on Amber's own prediction,
        # and is a potential spike when its high band or AEMO's number gets there.
        spiking = (shown_spot if kind == CURRENT else predicted_spot) >= SPIKE_SPOT
        potential = high_spot >= POTENTIAL_SPOT or shown_spot >= SPIKE_SPOT
        status = "spike" if spiking else "potential" if potential else "none"
        body["spikeStatus"] = status
        body["tariffInformation"] = tariff_information
        body["descriptor"] = self._descriptor(site, predicted_spot, start, spiking)
        if status != "none":
            body["range"] = {"min": _round(low_spot), "max": _round(high_spot)}
        if kind == CURRENT:
            body["estimate"] = any(q.state != "final" for q in quotes)
        mapped = [
            sorted(
                (
                    self._channel_price(site, channel, q.low, p),
                    self._channel_price(site, channel, q.high, p),
                )
            )
            for q, p in zip(quotes, parts, strict=True)
        ]
        body["advancedPrice"] = {
            "low": _round(sum(m[0] for m in mapped) / count),
            "predicted": _round(
                sum(
                    self._channel_price(site, channel, q.predicted, p)
                    for q, p in zip(quotes, parts, strict=True)
                )
                / count
            ),
            "high": _round(sum(m[1] for m in mapped) / count),
        }
        return body

    def effective_resolution(self, site: AmberSite, resolution: int | None) -> int:
        """Resolution actually served: the site's billing interval unless 5/30 is asked for.

        A site billed on 30-minute intervals only ever gets 30-minute intervals.
        """
        if site.interval_length == 30:
            return 30
        return resolution if resolution in (5, 30) else site.interval_length

    def timeline(
        self, now: datetime, next_count: int, previous: int, resolution: int
    ) -> list[tuple[datetime, int]]:
        """(start, minutes) of every interval `prices/current` returns at `now`, in order.

        At resolution 5: `previous` 5-minute actuals, the current 5-minute interval, then
        forecasts of 5 minutes as far as `five_minute_end` and 30 minutes after that.
        At resolution 30 everything is 30 minutes. No interval ends past the horizon.
        """
        step = FIVE if resolution == 5 else THIRTY
        current = floor_time(now, step)
        slots = [(current - step * k, resolution) for k in range(previous, 0, -1)]
        slots.append((current, resolution))
        horizon = self.horizon_end(now)
        five_end = self.five_minute_end(current)
        cursor = current + step
        for _ in range(next_count):
            minutes = 5 if resolution == 5 and cursor < five_end else 30
            if cursor + timedelta(minutes=minutes) > horizon:
                break
            slots.append((cursor, minutes))
            cursor += timedelta(minutes=minutes)
        return slots

    def published(
        self,
        now_utc: datetime,
        next: int = 0,
        previous: int = 0,
        resolution: int | None = None,
        site: AmberSite | str | None = None,
    ) -> list[dict[str, Any]]:
        """Exactly what `GET /sites/{id}/prices/current?next=&previous=&resolution=` returned
        at `now_utc`: every channel's intervals, general first, then controlled load, feed-in."""
        chosen = self.site(site)
        served = self.effective_resolution(chosen, resolution)
        slots = self.timeline(now_utc, max(0, next), max(0, previous), served)
        return [
            self.interval(chosen, channel, start, minutes, now_utc)
            for channel in chosen.channel_types()
            for start, minutes in slots
        ]

    def published_between(
        self,
        now_utc: datetime,
        start_date: date,
        end_date: date,
        resolution: int | None = None,
        site: AmberSite | str | None = None,
    ) -> list[dict[str, Any]]:
        """What `GET /sites/{id}/prices?startDate=&endDate=` returned at `now_utc`: every
        interval whose NEM date lies in the range, as known then (forecasts stop at the horizon)."""
        chosen = self.site(site)
        served = self.effective_resolution(chosen, resolution)
        step = FIVE if served == 5 else THIRTY
        first = datetime.combine(start_date, time(0), NEM_TZ).astimezone(UTC)
        last = datetime.combine(end_date + timedelta(1), time(0), NEM_TZ).astimezone(UTC)
        current = floor_time(now_utc, step)
        five_end = self.five_minute_end(current)
        horizon = self.horizon_end(now_utc)
        slots: list[tuple[datetime, int]] = []
        cursor = first
        while cursor < last:
            minutes = 5 if served == 5 and (cursor <= current or cursor < five_end) else 30
            if minutes == 30 and cursor.minute % 30:
                minutes = 5  # finish the half hour in 5-minute steps
            if cursor > current and cursor + timedelta(minutes=minutes) > horizon:
                break
            slots.append((cursor, minutes))
            cursor += timedelta(minutes=minutes)
        return [
            self.interval(chosen, channel, start, minutes, now_utc)
            for channel in chosen.channel_types()
            for start, minutes in slots
        ]
