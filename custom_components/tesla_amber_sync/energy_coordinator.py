"""Daily energy totals from the Powerwall, every 5 minutes, folded into lifetime meters."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .api.errors import ApiError
from .api.tesla import TeslaEnergyClient
from .const import DOMAIN
from .coordinator_errors import tesla_ok, translate
from .energy_meter import EnergyMeters
from .plan_source import site_zone
from .tesla_coordinator import TeslaSiteInfoCoordinator

_LOGGER = logging.getLogger(__name__)
ENERGY_INTERVAL = timedelta(minutes=5)
SAVE_DELAY = 30.0


class TeslaEnergyCoordinator(DataUpdateCoordinator[EnergyMeters]):
    """`calendar_history` for yesterday and today (late revisions of yesterday still count)."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: TeslaEnergyClient,
        site_id: int,
        site_info: TeslaSiteInfoCoordinator,
    ) -> None:
        """Meters are restored from disk before the first poll."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"Powerwall energy ({site_id})",
            update_interval=ENERGY_INTERVAL,
            always_update=True,  # the meters object is updated in place
        )
        self.client = client
        self.site_id = site_id
        self.site_info = site_info
        self.meters = EnergyMeters()
        self.calls = 0
        self._store: Store[dict[str, Any]] = Store(hass, 1, f"{DOMAIN}.energy.{entry.entry_id}")
        self._loaded = False

    async def _async_update_data(self) -> EnergyMeters:
        if not self._loaded:
            self.meters = EnergyMeters.from_dict(await self._store.async_load())
            self._loaded = True
        zone = site_zone(self.site_info.data)
        today = dt_util.utcnow().astimezone(zone).date()
        self.calls += 1
        try:
            days = await self.client.calendar_history(
                self.site_id,
                start=today - timedelta(days=1),
                end=today,
                time_zone=str(zone),
            )
        except ApiError as err:
            raise translate(self.hass, self.config_entry, err, "tesla") from err
        tesla_ok(self.hass, self.config_entry)
        self.meters.update((day.day, day.totals) for day in days)
        self._store.async_delay_save(self.meters.to_dict, SAVE_DELAY)
        return self.meters

    async def async_remove(self) -> None:
        """Forget the meters (entry removed)."""
        await self._store.async_remove()
