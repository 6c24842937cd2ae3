"""Sensors that show what the sync engine did and what the Powerwall's plan says."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import callback
from homeassistant.helpers.event import async_track_utc_time_change
from homeassistant.util import dt as dt_util

from .data import TeslaAmberSyncConfigEntry
from .plan_source import site_zone
from .sync import STATUSES, SyncEngine
from .sync_entity import PushedEntity
from .tou import is_our_plan


def _iso(moment: datetime | None) -> str | None:
    return dt_util.as_local(moment).isoformat() if moment else None


class SyncStatusSensor(PushedEntity[SyncEngine], SensorEntity):
    """ok / unchanged / waiting_rate_limit / failed / prices_unavailable / disabled."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = list(STATUSES)

    def __init__(self, engine: SyncEngine, entry: TeslaAmberSyncConfigEntry) -> None:
        """Belongs to the Powerwall device."""
        super().__init__(
            engine, entry, SensorEntityDescription(key="sync_status", translation_key="sync_status")
        )

    @property
    def native_value(self) -> str | None:
        """The engine's latest outcome."""
        return self.source.view.status

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """When it last tried, succeeded, failed, and will next act."""
        view = self.source.view
        prices = self.source.data.prices
        next_sync = view.next_sync
        if next_sync is None or next_sync < dt_util.utcnow():
            next_sync = prices.next_poll if prices is not None else None
        return {
            "last_attempt": _iso(view.last_attempt),
            "last_success": _iso(view.last_success),
            "last_error": view.last_error,
            "next_sync": _iso(next_sync),
            "last_write": _iso(self.source.memory.last_write_at),
            **view.extra,
        }


class TariffSensor(PushedEntity[SyncEngine], SensorEntity):
    """The buy price the Powerwall's plan shows now; the whole day's plan as attributes."""

    _attr_native_unit_of_measurement = "AUD/kWh"
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_suggested_display_precision = 4
    _unrecorded_attributes = frozenset({"buy", "sell", "source"})

    def __init__(self, engine: SyncEngine, entry: TeslaAmberSyncConfigEntry) -> None:
        """Belongs to the Powerwall device."""
        super().__init__(
            engine, entry, SensorEntityDescription(key="tariff", translation_key="tariff")
        )

    async def async_added_to_hass(self) -> None:
        """Also refresh at every half hour: the plan's price changes with the clock."""
        await super().async_added_to_hass()

        @callback
        def tick(_now: datetime) -> None:
            self.async_write_ha_state()

        self.async_on_remove(async_track_utc_time_change(self.hass, tick, minute=(0, 30), second=1))

    @property
    def native_value(self) -> float | None:
        """Buy price now, per the plan the Powerwall holds."""
        return self.source.held_rate_now()[0]

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """48 half-hour buy and sell prices (today, site time) and where the plan came from."""
        index = self.source.held_index()
        if index is None:
            return None
        plan = index.tariff
        zone = site_zone(self.source.data.site_info.data)
        today = dt_util.utcnow().astimezone(zone).date()
        buy: dict[str, float | None] = {}
        sell: dict[str, float | None] = {}
        for slot in range(48):
            clock = (datetime.combine(today, time()) + timedelta(minutes=30 * slot)).time()
            rate = index.rates_at(datetime.combine(today, clock, tzinfo=zone))
            buy[f"{clock:%H:%M}"] = rate.buy
            sell[f"{clock:%H:%M}"] = rate.sell
        attributes: dict[str, Any] = {
            "plan_name": plan.get("name"),
            "ours": is_our_plan(plan),
            "sell_now": self.source.held_rate_now()[1],
            "buy": buy,
            "sell": sell,
        }
        sources = self.source.held_sources()
        if sources:
            # Which slots hold Amber's own price, a bridged gap, or the beyond-horizon rule.
            attributes["source"] = dict(sources)
            attributes["beyond_horizon"] = sum(v == "beyond_horizon" for v in sources.values())
        return attributes
