"""Amber prices, fetched just after each 5-minute boundary.

Amber publishes a new current interval every 5 minutes, a few seconds after the boundary, first
as an estimate and then final. Polling on a fixed period from start-up would see each new price
up to five minutes late; this coordinator runs on the boundaries instead and re-polls briefly
(bounded) until the interval has rolled over and its price is final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api.amber import AmberClient, dedupe_intervals
from .api.errors import ApiError, BadResponseError, RateLimitedError
from .api.models import AmberSite, ChannelType, IntervalType, PriceBatch, PriceInterval
from .const import (
    AMBER_INTERVAL,
    AMBER_NEXT,
    AMBER_NEXT_30MIN,
    AMBER_POLL_OFFSET,
    AMBER_POLL_OFFSETS,
    AMBER_PREVIOUS,
)
from .coordinator_errors import translate
from .issues import ISSUE_AMBER_SITE_GONE, clear_issue, raise_issue

_LOGGER = logging.getLogger(__name__)

# A rolling 24 h plan is covered by this much look-ahead. Amber has 15.5-40 h (AEMO's horizon):
# when it has less, the plan's last hours use the same clock time a day earlier, so settled
# prices are kept that far back (with an hour to spare for a daylight-saving change).
NEEDED_HORIZON = timedelta(hours=24, minutes=30)
HISTORY_KEPT = timedelta(hours=25)
HALF_HOUR = timedelta(minutes=30)
# At most one catch-up call for missing history per this long (Amber may simply not have it).
BACKFILL_RETRY = timedelta(minutes=30)
# Without a reset time from Amber, a throttle lasts about this long.
DEFAULT_RATE_LIMIT_WAIT = 300.0
MAX_FAILURE_BACKOFF = timedelta(minutes=5)
MIN_REPOLL = timedelta(seconds=2)


def _by_channel_time(interval: PriceInterval) -> tuple[str, datetime, datetime]:
    return (interval.channel, interval.start, interval.end)


def _half_hour(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 30, second=0, microsecond=0)


def interval_start(moment: datetime) -> datetime:
    """Start of the 5-minute interval holding `moment` (UTC)."""
    moment = dt_util.as_utc(moment)
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class AmberData:
    """What the Amber coordinator knows after a successful poll."""

    site: AmberSite
    batch: PriceBatch
    interval_start: datetime  # the 5-minute interval this poll is current for (UTC)
    last_look: bool = False  # no more polls this interval: push what there is
    # Settled intervals of up to 25 h back, kept across polls (for the beyond-horizon rule).
    history: tuple[PriceInterval, ...] = ()

    def current(self, channel: ChannelType) -> PriceInterval | None:
        """The interval on `channel` holding the poll time (Amber's current interval)."""
        return self.batch.at(channel, self.batch.fetched_at)

    @property
    def rolled_over(self) -> bool:
        """Amber has published the interval that holds the poll time."""
        current = self.batch.current(ChannelType.GENERAL)
        return current is not None and current.contains(self.batch.fetched_at)

    @property
    def final(self) -> bool:
        """The current general price is no longer an estimate."""
        current = self.batch.current(ChannelType.GENERAL)
        return self.rolled_over and current is not None and not current.estimate


class AmberCoordinator(DataUpdateCoordinator[AmberData]):
    """Polls `/prices/current` aligned to Amber's 5-minute intervals."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: AmberClient,
        site: AmberSite,
    ) -> None:
        """Polling is driven by our own boundary-aligned timer, not `update_interval`."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"Amber prices ({site.nmi or site.id})",
            update_interval=None,
            always_update=True,
        )
        self.client = client
        self.site = site
        self.calls = 0  # HTTP calls made (for diagnostics and the API-budget benchmark)
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._polls_in_interval: tuple[datetime, int] = (interval_start(dt_util.utcnow()), 0)
        self._wait_until: datetime | None = None
        self._failures = 0
        self._stopped = False
        self.next_poll: datetime | None = None
        self._history: dict[tuple[str, datetime, datetime], PriceInterval] = {}
        self._history_view: tuple[PriceInterval, ...] = ()
        self._backfilled_at: datetime | None = None

    async def _async_update_data(self) -> AmberData:
        now = dt_util.utcnow()
        start = interval_start(now)
        slot, count = self._polls_in_interval
        self._polls_in_interval = (start, count + 1 if slot == start else 1)
        try:
            intervals = await self._fetch(now)
        except RateLimitedError as err:
            wait = err.retry_after if err.retry_after is not None else DEFAULT_RATE_LIMIT_WAIT
            self._wait_until = now + timedelta(seconds=wait)
            resume = dt_util.as_local(self._wait_until)
            raise UpdateFailed(f"Amber rate limit reached; next try at {resume:%H:%M:%S}") from err
        except BadResponseError as err:
            if err.status == 404:
                raise_issue(self.hass, ISSUE_AMBER_SITE_GONE, self.config_entry.entry_id)
            raise translate(self.hass, self.config_entry, err, "amber") from err
        except ApiError as err:
            raise translate(self.hass, self.config_entry, err, "amber") from err
        clear_issue(self.hass, ISSUE_AMBER_SITE_GONE, self.config_entry.entry_id)
        if not any(i.channel == ChannelType.GENERAL for i in intervals):
            raise UpdateFailed("Amber returned no usable general-channel prices")
        batch = PriceBatch(
            intervals=tuple(intervals),
            fetched_at=now,
            rate_limit=self.client.rate_limit,
        )
        return AmberData(
            site=self.site,
            batch=batch,
            interval_start=start,
            last_look=self._polls_in_interval[1] >= len(AMBER_POLL_OFFSETS),
            history=self._history_view,
        )

    async def _fetch(self, now: datetime) -> list[PriceInterval]:
        """One call normally; a second (30-minute resolution) when the first fell short of 24 h."""
        self.calls += 1
        # A site billed per 30 minutes is asked for its 30-minute intervals, so the current slot
        # carries Amber's own 30-minute price (5-minute sites get 5-minute detail).
        resolution = 30 if self.site.interval_length == 30 else 5
        intervals, _ = await self.client.current_prices(
            self.site.id,
            previous=AMBER_PREVIOUS,
            next_intervals=AMBER_NEXT,
            resolution=resolution,
        )
        # `next` counts per channel: the general channel tells whether the count ran out (a
        # forecast that simply ends at AEMO's horizon, ~24 h at 04:00 NEM, is not cut short).
        ahead = [
            i
            for i in intervals
            if i.channel == ChannelType.GENERAL and i.interval_type == IntervalType.FORECAST
        ]
        horizon = max((i.end for i in intervals), default=now)
        if horizon - now < NEEDED_HORIZON and len(ahead) >= AMBER_NEXT:
            # Amber cut the response by count, not by its forecast horizon: ask for 30-minute
            # intervals to reach further. (The date-range endpoint ignores `next`: never use it.)
            self.calls += 1
            more, _ = await self.client.current_prices(
                self.site.id, previous=0, next_intervals=AMBER_NEXT_30MIN, resolution=30
            )
            intervals = dedupe_intervals(intervals + more)
        self._remember(intervals, now)
        if self._needs_backfill(intervals, now):
            await self._backfill(now)
        return intervals

    # --- settled history ------------------------------------------------------------------------

    def _remember(self, intervals: list[PriceInterval], now: datetime) -> None:
        """Keep the settled intervals of this answer; forget what is older than 25 h."""
        changed = False
        for interval in intervals:
            if interval.interval_type == IntervalType.ACTUAL:
                key = (interval.channel, interval.start, interval.end)
                if key not in self._history:
                    self._history[key] = interval
                    changed = True
        oldest = now - HISTORY_KEPT
        stale = [key for key, interval in self._history.items() if interval.end <= oldest]
        for key in stale:
            del self._history[key]
        if changed or stale:
            self._history_view = tuple(sorted(self._history.values(), key=_by_channel_time))

    def _needs_backfill(self, intervals: list[PriceInterval], now: datetime) -> bool:
        """The forecast stops short of 24 h and the day before has half hours we never saw."""
        general = [i for i in intervals if i.channel == ChannelType.GENERAL]
        horizon = max((i.end for i in general), default=now)
        if horizon - now >= NEEDED_HORIZON:
            return False
        if self._backfilled_at is not None and now - self._backfilled_at < BACKFILL_RETRY:
            return False
        # The same clock times a day before the plan's unforecast slots, an hour to spare.
        wanted = _half_hour(horizon - timedelta(hours=25))
        until = _half_hour(now) - HALF_HOUR
        seen = {
            _half_hour(i.start) for i in self._history.values() if i.channel == ChannelType.GENERAL
        }
        while wanted < until:
            if wanted not in seen:
                return True
            wanted += HALF_HOUR
        return False

    async def _backfill(self, now: datetime) -> None:
        """One call for the settled half hours of the last day (30-minute resolution)."""
        self._backfilled_at = now
        self.calls += 1
        count = int(HISTORY_KEPT / HALF_HOUR)
        try:
            settled, _ = await self.client.current_prices(
                self.site.id, previous=count, next_intervals=0, resolution=30
            )
        except ApiError as err:
            # The plan still builds (from the other two figures); the next try is in 30 minutes.
            _LOGGER.debug("Amber price history unavailable: %s", err)
            return
        self._remember(settled, now)

    # --- scheduling -----------------------------------------------------------------------------

    @callback
    def start_schedule(self) -> None:
        """Begin boundary-aligned polling (after the first refresh)."""
        self._schedule_next()

    @callback
    def stop_schedule(self) -> None:
        """Stop polling (entry unload)."""
        self._stopped = True
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    def next_boundary_poll(self, now: datetime) -> datetime:
        """The first poll time of the next 5-minute interval."""
        return interval_start(now) + AMBER_INTERVAL + AMBER_POLL_OFFSET

    @callback
    def _schedule_next(self) -> None:
        if self._stopped:
            return
        now = dt_util.utcnow()
        when = self.next_boundary_poll(now)
        if self._wait_until is not None and self._wait_until > now:
            when = max(when, self._wait_until)
        elif not self.last_update_success:
            self._failures += 1
            backoff = min(timedelta(seconds=30 * 2 ** (self._failures - 1)), MAX_FAILURE_BACKOFF)
            when = min(when, now + backoff)
        else:
            self._failures = 0
            self._wait_until = None
            slot, count = self._polls_in_interval
            data = self.data
            if (
                data is not None
                and slot == interval_start(now)
                and count < len(AMBER_POLL_OFFSETS)
                and not data.final
            ):
                # Not rolled over yet, or still an estimate: look again at the next offset.
                when = min(when, max(slot + AMBER_POLL_OFFSETS[count], now + MIN_REPOLL))
        self.next_poll = when
        if self._unsub_timer is not None:
            self._unsub_timer()
        self._unsub_timer = async_track_point_in_utc_time(self.hass, self._on_timer, when)

    async def _on_timer(self, _now: datetime) -> None:
        self._unsub_timer = None
        await self.async_refresh()

    async def async_refresh(self) -> None:
        """Refresh, then plan the next poll whatever happened."""
        try:
            await super().async_refresh()
        finally:
            self._schedule_next()
