"""Daily energy totals from the Powerwall, every 5 minutes, folded into lifetime meters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api.tesla import TeslaEnergyClient
from .const import DOMAIN
from .energy_meter import EnergyMeters
from .plan_source import site_zone
from .tesla_coordinator import TeslaCoordinator, TeslaSiteInfoCoordinator

ENERGY_INTERVAL = timedelta(minutes=5)
SAVE_DELAY = 30.0


class TeslaEnergyCoordinator(TeslaCoordinator[EnergyMeters]):
    """`calendar_history` for yesterday and today (late revisions of yesterday still count).

    The meters object is updated in place, so every poll notifies (always_update).
    """

    label = "Powerwall energy"
    op = "calendar_history"

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: TeslaEnergyClient,
        site_id: int,
        site_info: TeslaSiteInfoCoordinator,
    ) -> None:
        """Meters are restored from disk before the first poll."""
        super().__init__(hass, entry, client, site_id, ENERGY_INTERVAL)
        self.site_info = site_info
        self.meters = EnergyMeters()
        self._store: Store[dict[str, Any]] = Store(hass, 1, f"{DOMAIN}.energy.{entry.entry_id}")
        self._loaded = False

    async def _fetch(self) -> EnergyMeters:
        if not self._loaded:
            self.meters = EnergyMeters.from_dict(await self._store.async_load())
            self._loaded = True
        zone = site_zone(self.site_info.data)
        today = dt_util.utcnow().astimezone(zone).date()
        days = await self.client.calendar_history(
            self.site_id, start=today - timedelta(days=1), end=today, time_zone=str(zone)
        )
        self.meters.update((day.day, day.totals) for day in days)
        self._store.async_delay_save(self.meters.to_dict, SAVE_DELAY)
        return self.meters
