"""Powerwall data: live power flows (frequent) and site configuration (hourly and after writes)."""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime, timedelta
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api.errors import ApiError, RateLimitedError
from .api.models import LiveStatus, SiteInfo
from .api.tesla import TeslaEnergyClient
from .const import SITE_INFO_INTERVAL
from .coordinator_errors import tesla_ok, translate

_LOGGER = logging.getLogger(__name__)
DEFAULT_RATE_LIMIT_WAIT = 60.0  # seconds, when Tesla's 429 does not say


class TeslaCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """One Tesla read on a schedule, its failures translated (reauth, repair, or retry)."""

    config_entry: ConfigEntry
    label = "Powerwall data"
    op = "energy_site"  # the Tesla call's name, for repair issues

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: TeslaEnergyClient,
        site_id: int,
        interval: timedelta,
    ) -> None:
        """Poll one energy site."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{self.label} ({site_id})",
            update_interval=interval,
            always_update=True,
        )
        self.client = client
        self.site_id = site_id
        self.calls = 0  # for diagnostics and the API-budget benchmark
        self._wait_until: datetime | None = None

    @abstractmethod
    async def _fetch(self) -> DataT:
        """The one Tesla read this coordinator makes (each subclass names it)."""

    async def _async_update_data(self) -> DataT:
        now = dt_util.utcnow()
        if self._wait_until is not None and now < self._wait_until:
            # Tesla asked us to wait (429): no call until then.
            raise UpdateFailed(f"Tesla rate limit; next try after {self._wait_until:%H:%M:%S} UTC")
        self.calls += 1
        try:
            data = await self._fetch()
        except RateLimitedError as err:
            wait = err.retry_after if err.retry_after is not None else DEFAULT_RATE_LIMIT_WAIT
            self._wait_until = now + timedelta(seconds=wait)
            raise translate(self.hass, self.config_entry, err, "tesla", self.op) from err
        except ApiError as err:
            raise translate(self.hass, self.config_entry, err, "tesla", self.op) from err
        self._wait_until = None
        tesla_ok(self.hass, self.config_entry, self.op)
        return data


class TeslaLiveCoordinator(TeslaCoordinator[LiveStatus]):
    """`live_status` every 30 s on Teslemetry, 60 s on Fleet (which bills each call)."""

    label = "Powerwall live status"
    op = "live_status"

    async def _fetch(self) -> LiveStatus:
        return await self.client.live_status(self.site_id)


class TeslaSiteInfoCoordinator(TeslaCoordinator[SiteInfo]):
    """`site_info` hourly (writers ask for refreshes): time zone, mode, reserve, export rule and
    the plan the Powerwall holds."""

    label = "Powerwall site info"
    op = "site_info"

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: TeslaEnergyClient,
        site_id: int,
    ) -> None:
        """Hourly."""
        super().__init__(hass, entry, client, site_id, SITE_INFO_INTERVAL)

    async def _fetch(self) -> SiteInfo:
        return await self.client.site_info(self.site_id)
