"""Battery controls: user writes, forced charge/discharge, and the negative-price actions.

Every settings change goes through `ControlManager.async_apply`, which compares what the layered
model (`battery_settings.desired`) wants with what the Powerwall reports, and writes only the
difference. The user's own settings (the baseline) are saved before the first overlay and put
back exactly when the last one ends, across restarts too.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
import logging
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later, async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api.errors import ApiConnectionError, ApiError, AuthError, RateLimitedError
from .api.models import ChannelType, SiteInfo
from .battery_settings import (
    FORCED_CHARGE,
    BatterySettings,
    Overlays,
    changes,
    desired,
)
from .const import (
    CONF_AVOID_PAID_EXPORTS,
    CONF_CHARGE_ON_NEGATIVE,
    CONF_NEGATIVE_CHARGE_RESERVE,
    DEFAULT_NEGATIVE_CHARGE_RESERVE,
    DOMAIN,
)
from .coordinator_errors import tesla_failed, tesla_ok
from .data import TeslaAmberSyncData
from .forced_plan import forced_plan
from .listeners import Listeners
from .plan_source import PlanBuild, site_zone
from .sync import SyncResult
from .tou import encode_tariff
from .validate import validate_tariff

_LOGGER = logging.getLogger(__name__)
STORAGE_VERSION = 1
EVENT_BATTERY_ACTION: Final = f"{DOMAIN}_battery_action"
# Tesla applies settings eventually: show what was written until a read confirms it.
PENDING_FOR = timedelta(minutes=2)
REFRESH_AFTER_WRITE = 10.0  # seconds
RESTORE_RETRY = timedelta(minutes=1)  # a failed write of the user's settings is tried again
WRITE_OPS: Final = {
    "mode": "operation",
    "reserve": "backup",
    "export_rule": "grid_import_export",
    "grid_charging": "grid_import_export",
    "storm_watch": "storm_mode",
}


def settings_of(info: SiteInfo | None) -> BatterySettings:
    """The four settings as the Powerwall reports them."""
    if info is None:
        return BatterySettings()
    disallow = info.disallow_charge_from_grid_with_solar_installed
    return BatterySettings(
        mode=info.default_real_mode,
        reserve=round(info.backup_reserve_percent)
        if info.backup_reserve_percent is not None
        else None,
        export_rule=info.export_rule,
        grid_charging=None if disallow is None else not disallow,
    )


@dataclass(frozen=True, slots=True)
class Forced:
    """A forced charge or discharge in progress."""

    kind: str
    started: datetime
    end: datetime
    reserve: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "kind": self.kind,
            "started": self.started.isoformat(),
            "end": self.end.isoformat(),
            "reserve": self.reserve,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Forced | None:
        """None for anything unreadable (a forced mode is then simply not resumed)."""
        try:
            return cls(
                kind=str(data["kind"]),
                started=datetime.fromisoformat(data["started"]),
                end=datetime.fromisoformat(data["end"]),
                reserve=data.get("reserve"),
            )
        except (KeyError, TypeError, ValueError):
            return None


def translated_error(err: ApiError) -> HomeAssistantError:
    """A write failure the user can act on."""
    if isinstance(err, AuthError) and err.missing_scopes:
        key = "missing_scopes_write"
    elif isinstance(err, ApiConnectionError) and err.status in (408, 540):
        key = "powerwall_offline"
    elif isinstance(err, RateLimitedError):
        key = "rate_limited_write"
    else:
        key = "command_failed"
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders={"error": str(err)}
    )


class ControlManager:
    """One Powerwall's settings: the baseline, the overlays, and the writes between them."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, data: TeslaAmberSyncData) -> None:
        """Nothing runs until `async_start`."""
        self.hass = hass
        self.entry = entry
        self.data = data
        self.baseline: BatterySettings | None = None
        self.forced: Forced | None = None
        self.actions: deque[dict[str, Any]] = deque(maxlen=10)
        self.pending: dict[str, tuple[Any, datetime]] = {}
        self._price_overlays = Overlays()
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.controls.{entry.entry_id}"
        )
        self._listeners = Listeners()
        self.add_listener = self._listeners.add_listener
        self._unsubs: list[CALLBACK_TYPE] = []
        self._end_timer: CALLBACK_TYPE | None = None
        self._refresh: CALLBACK_TYPE | None = None
        self._retry: CALLBACK_TYPE | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Restore state; a forced mode that ended while Home Assistant was down ends now."""
        raw = await self._store.async_load() or {}
        if raw.get("baseline") is not None:
            self.baseline = BatterySettings.from_dict(raw["baseline"])
        self.forced = Forced.from_dict(raw["forced"]) if raw.get("forced") else None
        if self.data.prices is not None:
            self._unsubs.append(self.data.prices.async_add_listener(self._on_prices))
        if self.forced is not None:
            if self.forced.end <= dt_util.utcnow():
                _LOGGER.info("A forced %s ended while Home Assistant was stopped", self.forced.kind)
                self.hass.async_create_task(self.async_end_forced("ended during a restart"))
            else:
                await self.data.sync.async_set_override(self._forced_build, "forced mode resumed")
                self._arm_end()
        self._on_prices()
        self._listeners.notify()

    async def async_stop(self) -> None:
        """Stop timers; the state is already on disk."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        for timer in (self._end_timer, self._refresh, self._retry):
            if timer is not None:
                timer()
        self._end_timer = self._refresh = self._retry = None

    async def _save(self) -> None:
        await self._store.async_save(
            {
                "baseline": self.baseline.to_dict() if self.baseline else None,
                "forced": self.forced.to_dict() if self.forced else None,
            }
        )

    # --- state ---------------------------------------------------------------------------------

    @property
    def current(self) -> BatterySettings:
        """The settings now: what the Powerwall reports, or what we just wrote to it (Tesla
        applies writes eventually, so a read right after may still show the old value)."""
        reported = settings_of(self.data.site_info.data)
        return BatterySettings(
            mode=self.shown("mode", reported.mode),
            reserve=self.shown("reserve", reported.reserve),
            export_rule=self.shown("export_rule", reported.export_rule),
            grid_charging=self.shown("grid_charging", reported.grid_charging),
        )

    @property
    def overlays(self) -> Overlays:
        """Everything temporarily asked of the Powerwall."""
        forced = self.forced
        return replace(
            self._price_overlays,
            forced=forced.kind if forced else None,
            forced_reserve=forced.reserve if forced else None,
        )

    def shown(self, name: str, reported: Any) -> Any:
        """A setting as entities show it: a just-written value until Tesla reports it."""
        pending = self.pending.get(name)
        if pending is None:
            return reported
        value, until = pending
        if reported == value or dt_util.utcnow() > until:
            self.pending.pop(name, None)
            return reported
        return value

    # --- writes --------------------------------------------------------------------------------

    async def _write(self, name: str, value: Any) -> None:
        op = WRITE_OPS[name]
        try:
            await self._send(name, value)
        except ApiError as err:
            tesla_failed(self.hass, self.entry, op, err)
            raise
        tesla_ok(self.hass, self.entry, op)
        self.pending[name] = (value, dt_util.utcnow() + PENDING_FOR)

    async def _send(self, name: str, value: Any) -> None:
        tesla, site = self.data.tesla, self.data.energy_site.energy_site_id
        if name == "mode":
            await tesla.set_operation_mode(site, value)
        elif name == "reserve":
            await tesla.set_backup_reserve(site, int(value))
        elif name == "export_rule":
            await tesla.set_grid_import_export(site, export_rule=value)
        elif name == "grid_charging":
            await tesla.set_grid_import_export(site, disallow_charge_from_grid=not value)
        elif name == "storm_watch":
            await tesla.set_storm_mode(site, bool(value))
        else:  # pragma: no cover - names come from this module
            raise ValueError(name)

    @callback
    def _refresh_later(self) -> None:
        """Read the settings back shortly (Tesla applies writes eventually)."""
        if self._refresh is not None:
            self._refresh()

        async def refresh(_now: datetime) -> None:
            self._refresh = None
            await self.data.site_info.async_request_refresh()

        self._refresh = async_call_later(self.hass, REFRESH_AFTER_WRITE, refresh)

    async def async_apply(self, reason: str) -> list[tuple[str, Any]]:
        """Write what the layered model wants and the Powerwall lacks; log and announce it."""
        overlays = self.overlays
        if overlays.any and self.baseline is None:
            self.baseline = self.current
        base = self.baseline or self.current
        made = changes(self.current, desired(base, overlays))
        for name, value in made:
            try:
                await self._write(name, value)
            except ApiError as err:
                _LOGGER.warning("Could not set %s to %s (%s): %s", name, value, reason, err)
                raise translated_error(err) from err
        if not overlays.any:
            self.baseline = None
        await self._save()
        if made:
            _LOGGER.info("Powerwall settings changed (%s): %s", reason, dict(made))
            record = {"at": dt_util.utcnow().isoformat(), "reason": reason, "changes": dict(made)}
            self.actions.appendleft(record)
            self.hass.bus.async_fire(
                EVENT_BATTERY_ACTION, {"entry_id": self.entry.entry_id, **record}
            )
            self._refresh_later()
        self._listeners.notify()
        return made

    async def async_set(self, name: str, value: Any) -> None:
        """A user write from an entity. Under an overlay it becomes the new baseline value."""
        if name == "storm_watch":
            try:
                await self._write(name, value)
            except ApiError as err:
                raise translated_error(err) from err
            self._refresh_later()
            self._listeners.notify()
            return
        if self.overlays.any:
            self.baseline = replace(self.baseline or self.current, **{name: value})
            await self.async_apply(f"user set {name}")
            return
        try:
            await self._write(name, value)
        except ApiError as err:
            raise translated_error(err) from err
        self._refresh_later()
        self._listeners.notify()

    # --- forced modes -------------------------------------------------------------------------

    def _forced_build(self, now: datetime) -> PlanBuild:
        forced = self.forced
        assert forced is not None
        zone = site_zone(self.data.site_info.data)
        tariff = encode_tariff(forced_plan(forced.kind, now, forced.end, zone))
        validate_tariff(tariff)
        return PlanBuild(tariff=tariff, buy={}, sell={})

    async def async_start_forced(
        self, kind: str, minutes: int, target_reserve: int | None
    ) -> SyncResult:
        """Start (or replace) a forced charge or discharge for `minutes`."""
        now = dt_util.utcnow()
        if self.forced is None and self.baseline is None:
            await self.data.site_info.async_refresh()  # the baseline must be the real settings
        reserve = (
            (target_reserve if target_reserve is not None else 100)
            if kind == FORCED_CHARGE
            else None
        )
        previous = self.forced
        self.forced = Forced(
            kind=kind, started=now, end=now + timedelta(minutes=minutes), reserve=reserve
        )
        try:
            result = await self.data.sync.async_set_override(self._forced_build, f"forced {kind}")
            await self.async_apply(f"forced {kind} for {minutes} min")
        except HomeAssistantError:
            # Nothing may stay half-forced: go back to what ran before (a forced mode still
            # running, or normal syncing with the user's settings), then report the failure.
            self.forced = previous
            if previous is None:
                self.data.sync.clear_override()
                await self._restore(f"forced {kind} could not start", raise_errors=False)
            else:
                self._arm_end()
                await self._save()
            raise
        self._arm_end()
        return result

    @callback
    def _arm_end(self) -> None:
        if self._end_timer is not None:
            self._end_timer()
        assert self.forced is not None

        async def end(_now: datetime) -> None:
            self._end_timer = None
            await self.async_end_forced("time is up")

        self._end_timer = async_track_point_in_utc_time(self.hass, end, self.forced.end)

    async def async_end_forced(self, reason: str, *, raise_errors: bool = False) -> bool:
        """End a forced mode: settings back, normal syncing resumes. False if none was on.

        A failed restore write is retried in the background; `raise_errors` also reports it
        to the caller (the restore_normal action)."""
        if self.forced is None:
            return False
        kind = self.forced.kind
        self.forced = None
        if self._end_timer is not None:
            self._end_timer()
            self._end_timer = None
        self.data.sync.clear_override()
        await self._restore(f"forced {kind} ended: {reason}", raise_errors=raise_errors)
        return True

    async def _restore(self, reason: str, *, raise_errors: bool) -> None:
        """Put the user's settings back; a failed write is retried until it goes through."""
        if self._retry is not None:
            self._retry()
            self._retry = None
        try:
            await self.async_apply(reason)
        except HomeAssistantError:
            await self._save()  # no forced mode any more, and the settings still to restore
            self._listeners.notify()
            _LOGGER.warning("Will retry restoring the Powerwall settings in %s", RESTORE_RETRY)

            async def retry(_now: datetime) -> None:
                self._retry = None
                await self._restore(reason, raise_errors=False)

            self._retry = async_call_later(self.hass, RESTORE_RETRY, retry)
            if raise_errors:
                raise

    # --- negative prices -------------------------------------------------------------------------

    @callback
    def _on_prices(self) -> None:
        """Amber's current prices decide the price overlays (Amber entries only)."""
        prices = self.data.prices
        options = self.entry.options
        if prices is None or prices.data is None or not prices.last_update_success:
            return
        general = prices.data.current(ChannelType.GENERAL)
        feed_in = prices.data.current(ChannelType.FEED_IN)
        rule = options.get(CONF_AVOID_PAID_EXPORTS, "off")
        overlays = Overlays(
            avoid_export_rule=rule
            if rule in ("never", "pv_only") and feed_in is not None and feed_in.per_kwh > 0
            else None,
            negative_reserve=int(
                options.get(CONF_NEGATIVE_CHARGE_RESERVE, DEFAULT_NEGATIVE_CHARGE_RESERVE)
            )
            if options.get(CONF_CHARGE_ON_NEGATIVE) and general is not None and general.per_kwh < 0
            else None,
        )
        if overlays == self._price_overlays:
            return
        self._price_overlays = overlays
        self.hass.async_create_task(self._apply_quietly("price change"), "tesla_amber_sync prices")

    async def _apply_quietly(self, reason: str) -> None:
        try:
            await self.async_apply(reason)
        except HomeAssistantError as err:
            _LOGGER.warning("Battery settings not changed for the %s: %s", reason, err)

    @property
    def price_actions(self) -> dict[str, Any]:
        """What the negative-price options are doing now."""
        return {
            "avoiding_paid_export": self._price_overlays.avoid_export_rule is not None,
            "charging_on_negative_price": self._price_overlays.negative_reserve is not None,
        }
