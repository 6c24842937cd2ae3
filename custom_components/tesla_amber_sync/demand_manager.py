"""Demand tracking in a running Home Assistant: feeds the pure tracker and keeps it on disk.

Samples come from the Powerwall's `grid_power` at every live poll; a failed poll is fed as
"unreachable" so an outage is never counted as zero import. The tracker's whole state (peak, its
time, the cycle start and the half hour in progress) is saved after each completed half hour, soon
after every sample, and at shutdown, so a restart loses nothing and counts nothing twice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_utc_time_change
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api.models import ChannelType
from .const import DOMAIN
from .data import TeslaAmberSyncData
from .demand import (
    DEFAULT_MAX_GAP,
    SOURCE_AMBER,
    DemandConfig,
    DemandTracker,
    days_until_reset,
    in_window,
)
from .listeners import Listeners
from .plan_source import site_zone

_LOGGER = logging.getLogger(__name__)
STORAGE_VERSION = 1
SAMPLE_SAVE_DELAY = 60.0  # seconds; a completed half hour is saved at once


class DemandManager:
    """One entry's demand tracker, fed by the live-status coordinator."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        data: TeslaAmberSyncData,
        config: DemandConfig,
        live_interval: timedelta,
    ) -> None:
        """Nothing runs until `async_start`."""
        self.hass = hass
        self.entry = entry
        self.data = data
        self.config = config
        self.tz = site_zone(data.site_info.data)
        # A poll gap up to a few missed polls is still "reachable" time.
        self.max_gap = max(DEFAULT_MAX_GAP, live_interval * 2.5)
        self.tracker = DemandTracker(config, self.tz, max_gap=self.max_gap)
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.demand.{entry.entry_id}"
        )
        self._listeners = Listeners()
        self.add_listener = self._listeners.add_listener
        self._unsubs: list[CALLBACK_TYPE] = []

    async def async_start(self) -> None:
        """Restore the saved state (a garbled file starts a fresh cycle) and follow the poll."""
        now = dt_util.utcnow()
        raw = await self._store.async_load()
        if raw is not None:
            try:
                self.tracker = DemandTracker.from_dict(
                    raw, self.config, self.tz, now=now, max_gap=self.max_gap
                )
            except ValueError as err:
                _LOGGER.warning("Saved demand state ignored (%s); tracking starts afresh", err)
        self.tracker.roll_cycle(now)
        self._unsubs.append(self.data.live.async_add_listener(self._on_live))
        self._unsubs.append(
            async_track_utc_time_change(self.hass, self._on_boundary, minute=(0, 30), second=1)
        )

    async def async_stop(self) -> None:
        """Stop following and save."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        await self._store.async_save(self.tracker.to_dict())

    async def async_remove(self) -> None:
        """Forget the stored state (entry removed)."""
        await self._store.async_remove()

    def _amber_flag(self) -> bool | None:
        prices = self.data.prices
        if prices is None or prices.data is None or not prices.last_update_success:
            return None
        current = prices.data.current(ChannelType.GENERAL)
        return None if current is None else current.demand_window

    @callback
    def _on_live(self) -> None:
        live = self.data.live
        watts = live.data.grid_power if live.last_update_success and live.data else None
        done = self.tracker.add_sample(dt_util.utcnow(), watts, self._amber_flag())
        self._after(done)

    @callback
    def _on_boundary(self, now: datetime) -> None:
        """Close a half hour even when no sample arrives right at its end."""
        self._after(self.tracker.close_until(dt_util.utcnow()))

    @callback
    def _after(self, done: list[Any]) -> None:
        if done:
            peak = self.tracker.peak_kw
            _LOGGER.debug(
                "Half hour done: %s kW; cycle peak %s kW",
                done[-1].average_kw,
                peak,
            )
            self._store.async_delay_save(self.tracker.to_dict, 1)
        else:
            self._store.async_delay_save(self.tracker.to_dict, SAMPLE_SAVE_DELAY)
        self._listeners.notify()

    # --- what the entities show ----------------------------------------------------------------

    def local_now(self) -> datetime:
        """Now, in the site's zone."""
        return dt_util.utcnow().astimezone(self.tz)

    @property
    def in_window(self) -> bool:
        """The configured window holds now."""
        flag = self._amber_flag() if self.config.window_source == SOURCE_AMBER else None
        return in_window(self.config, self.local_now(), flag)

    @property
    def current_kw(self) -> float | None:
        """Running 30-minute average import of the half hour in progress."""
        value = self.tracker.current_average_kw
        return None if value is None else round(value, 3)

    @property
    def peak_kw(self) -> float | None:
        """The cycle's billed peak so far."""
        value = self.tracker.peak_kw
        return None if value is None else round(value, 3)

    @property
    def peak_at(self) -> datetime | None:
        """Start of the half hour that set the peak."""
        return self.tracker.peak_start

    @property
    def cycle_start(self) -> date | None:
        """First day of the billing cycle."""
        return self.tracker.cycle_start

    @property
    def cost(self) -> float:
        """The cycle's demand charge so far (AUD)."""
        return self.tracker.cost(self.local_now().date())

    @property
    def days_until_reset(self) -> int:
        """Whole days to the next billing-cycle reset."""
        return days_until_reset(self.config, self.local_now())
