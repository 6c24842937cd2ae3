"""Powerwall data: live power flows (frequent) and site configuration (hourly and after writes)."""

from __future__ import annotations

from datetime import timedelta
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .api.errors import ApiError
from .api.models import LiveStatus, SiteInfo
from .api.tesla import TeslaEnergyClient
from .const import SITE_INFO_INTERVAL
from .coordinator_errors import tesla_ok, translate

_LOGGER = logging.getLogger(__name__)


class TeslaLiveCoordinator(DataUpdateCoordinator[LiveStatus]):
    """`live_status` every 30 s on Teslemetry, 60 s on Fleet (which bills each call)."""

    config_entry: ConfigEntry

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
            name=f"Powerwall live status ({site_id})",
            update_interval=interval,
            always_update=True,
        )
        self.client = client
        self.site_id = site_id
        self.calls = 0

    async def _async_update_data(self) -> LiveStatus:
        self.calls += 1
        try:
            status = await self.client.live_status(self.site_id)
        except ApiError as err:
            raise translate(self.hass, self.config_entry, err, "tesla") from err
        tesla_ok(self.hass, self.config_entry)
        return status


class TeslaSiteInfoCoordinator(DataUpdateCoordinator[SiteInfo]):
    """`site_info`: time zone, mode, reserve, export rule and the plan the Powerwall holds."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: TeslaEnergyClient,
        site_id: int,
    ) -> None:
        """Poll hourly; writers ask for a refresh after they change something."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"Powerwall site info ({site_id})",
            update_interval=SITE_INFO_INTERVAL,
            always_update=True,
        )
        self.client = client
        self.site_id = site_id
        self.calls = 0

    async def _async_update_data(self) -> SiteInfo:
        self.calls += 1
        try:
            info = await self.client.site_info(self.site_id)
        except ApiError as err:
            raise translate(self.hass, self.config_entry, err, "tesla") from err
        tesla_ok(self.hass, self.config_entry)
        return info
