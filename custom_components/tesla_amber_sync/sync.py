"""The sync engine: the only place that decides to write a plan to the Powerwall.

Rules it keeps (see README "How the tariff is derived" and "Sync"):
- one push per Amber 5-minute interval, once the price is final (or with the estimate when the
  last poll, 45 s in, still finds one);
- never a plan identical to the one the Powerwall holds or we last sent; at most one write per
  4 minutes; a write is read back and a mismatch re-sent, two in a row reported;
- no plan at all from missing or garbage data: the last good plan stays and the user is told;
- the user's own plan is saved before our first write and can be put back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import logging
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_utc_time, async_track_time_interval
from homeassistant.util import dt as dt_util

from .api.errors import ApiError, AuthError, RateLimitedError
from .const import REAUTH_SERVICE
from .coordinator_errors import tesla_failed, tesla_ok
from .data import TeslaAmberSyncData
from .issues import (
    ISSUE_NOT_AUTONOMOUS,
    ISSUE_PLAN_RESTORED,
    ISSUE_PRICES_UNAVAILABLE,
    ISSUE_READBACK_MISMATCH,
    ISSUE_WRITES_FAILING,
    clear_issue,
    raise_issue,
)
from .listeners import Listeners
from .plan_source import PlanBuild, PlanSource, PlanUnavailableError, site_zone
from .sync_state import SyncMemory, SyncStore
from .tou import TariffIndex, fingerprint, is_our_plan
from .validate import TariffValidationError, validate_tariff

_LOGGER = logging.getLogger(__name__)

TARIFF_WRITE: Final = "time_of_use_settings"
WRITE_SPACING: Final = timedelta(minutes=4)
# When the last poll (+45 s) fails or is slow, the estimate already held goes out at this point.
ESTIMATE_DEADLINE: Final = timedelta(seconds=50)
READBACK_DELAY: Final = timedelta(seconds=15)
WATCHDOG_PERIOD: Final = timedelta(minutes=1)
PRICES_ISSUE_AFTER: Final = timedelta(minutes=30)
WRITES_ISSUE_AFTER: Final = timedelta(minutes=30)
RESTORE_ORIGINAL_AFTER: Final = timedelta(hours=2)
MISMATCHES_FOR_ISSUE: Final = 2

# sync_status states
STATUS_OK: Final = "ok"
STATUS_UNCHANGED: Final = "unchanged"
STATUS_WAITING: Final = "waiting_rate_limit"
STATUS_FAILED: Final = "failed"
STATUS_PRICES_UNAVAILABLE: Final = "prices_unavailable"
STATUS_DISABLED: Final = "disabled"
STATUS_FORCED: Final = "forced_mode"
STATUSES: Final = (
    STATUS_OK,
    STATUS_UNCHANGED,
    STATUS_WAITING,
    STATUS_FAILED,
    STATUS_PRICES_UNAVAILABLE,
    STATUS_DISABLED,
    STATUS_FORCED,
)

# Triggers of timed pushes (switching auto-sync off cancels these, not an action's).
AUTO_TRIGGERS: Final = frozenset({"auto", "plan", "readback mismatch", "forced mode ended"})

# action results
RESULT_PUSHED: Final = "pushed"
RESULT_UNCHANGED: Final = "unchanged"
RESULT_SCHEDULED: Final = "scheduled"
RESULT_REFUSED: Final = "refused"


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a push attempt did (returned by the actions)."""

    result: str
    reason: str
    send_at: datetime | None = None
    build: PlanBuild | None = None

    def as_response(self) -> dict[str, Any]:
        """The action response: result, reason, when, and the plan's prices by slot."""
        return {
            "result": self.result,
            "reason": self.reason,
            "send_at": self.send_at.isoformat() if self.send_at else None,
            "buy": dict(self.build.buy) if self.build else {},
            "sell": dict(self.build.sell) if self.build else {},
        }


@dataclass
class SyncView:
    """What the entities show; replaced as a whole on every change."""

    status: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    next_sync: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class SyncEngine:
    """Keeps one Powerwall's plan in step with its price source."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        data: TeslaAmberSyncData,
        source: PlanSource,
        store: SyncStore,
    ) -> None:
        """Nothing runs until `async_start`."""
        self.hass = hass
        self.entry = entry
        self.data = data
        self.source = source
        self.store = store
        self.view = SyncView()
        self.writes = 0  # successful writes since start (diagnostics, benchmark)
        self._lock = asyncio.Lock()
        self._listeners = Listeners()
        self.add_listener = self._listeners.add_listener
        self._unsubs: list[CALLBACK_TYPE] = []
        self._pending: CALLBACK_TYPE | None = None  # a scheduled write
        self._pending_at: datetime | None = None
        self._pending_trigger: str | None = None
        self._manual = False  # an action is refreshing data: the timer must not push meanwhile
        self._outcome: str | None = None  # the last result, shown again when auto-sync resumes
        self._deadline: CALLBACK_TYPE | None = None  # the estimate deadline (a failed last poll)
        self._readback: CALLBACK_TYPE | None = None
        self._held_hash: str | None = None  # what site_info says the Powerwall holds
        self._hashed: tuple[dict[str, Any], str] | None = None
        self._reads = 0  # successful site_info reads this run
        self._reads_at_write: int | None = None  # `_reads` when we last wrote
        self._index: TariffIndex | None = None
        self._mismatches = 0
        self._resend = False
        self._prices_bad_since: datetime | None = None
        self._writes_failing_since: datetime | None = None
        self._blocked_until: datetime | None = None  # Tesla asked us to wait (429)
        # A forced charge/discharge: its plan replaces the source's until it ends.
        self.override: Callable[[datetime], PlanBuild] | None = None
        self._stopped = False

    # --- lifecycle -------------------------------------------------------------------------------

    @property
    def memory(self) -> SyncMemory:
        """Persisted state."""
        return self.store.memory

    @property
    def auto_sync(self) -> bool:
        """Whether the timer pushes plans (actions push regardless)."""
        return bool(self.memory.auto_sync)

    async def async_start(self) -> None:
        """Follow the coordinators and make the first decision (memory is loaded by setup)."""
        self._on_site_info()
        if self.data.prices is not None:
            self._unsubs.append(self.data.prices.async_add_listener(self._on_prices))
        self._unsubs.append(self.data.site_info.async_add_listener(self._on_site_info))
        self._unsubs.append(async_track_time_interval(self.hass, self._watchdog, WATCHDOG_PERIOD))
        self._set_status(STATUS_DISABLED if not self.auto_sync else self.view.status)
        self._kick()
        if self.view.status is None and self.auto_sync:
            # Nothing to decide yet (the interval was pushed before a restart): say so.
            self._set_status(STATUS_UNCHANGED)

    @property
    def forced(self) -> bool:
        """A forced mode has paused normal syncing."""
        return self.override is not None

    async def async_set_override(
        self, builder: Callable[[datetime], PlanBuild], reason: str
    ) -> SyncResult:
        """Pause normal syncing and push the forced plan (through the same gate)."""
        self.override = builder
        self._cancel_deadline()
        clear_issue(self.hass, ISSUE_NOT_AUTONOMOUS, self.entry.entry_id)
        self._set_status(STATUS_FORCED)
        return await self.async_push(reason)

    @callback
    def clear_override(self) -> None:
        """Hand back to normal syncing: a fresh plan from current prices (or the fixed plan).

        Pushed even with auto-sync off: the forced plan is ours and would otherwise repeat its
        forced prices every day."""
        self.override = None
        self._set_status(STATUS_DISABLED if not self.auto_sync else None)
        self._resend = True  # whatever the forced plan left, the next build must go out
        prices = self.data.prices
        interval = prices.data.interval_start if prices and prices.data else None
        self.hass.async_create_task(
            self.async_push("forced mode ended", interval=interval),
            "tesla_amber_sync hand back",
        )

    @callback
    def _kick(self) -> None:
        """Make the decision the current state calls for."""
        if self.forced:
            return
        if self.source.follows_prices:
            self._on_prices()
        elif self.auto_sync and not self._stopped:
            # A standing plan: push it unless the Powerwall already holds it (deduplicated).
            self.hass.async_create_task(self.async_push("plan"), "tesla_amber_sync plan push")

    async def async_stop(self) -> None:
        """Cancel every timer and save."""
        self._stopped = True
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self._cancel_pending()
        self._cancel_deadline()
        if self._readback is not None:
            self._readback()
            self._readback = None
        await self.store.async_save()

    @callback
    def _notify(self) -> None:
        self._listeners.notify()

    @callback
    def _set_status(self, status: str | None, *, error: str | None = None) -> None:
        if self.forced and status in (None, STATUS_OK, STATUS_UNCHANGED, STATUS_WAITING):
            status = STATUS_FORCED  # failures still show; routine outcomes say "forced"
        if status not in (None, STATUS_DISABLED, STATUS_FORCED):
            self._outcome = status
        self.view.status = status
        if error is not None:
            self.view.last_error = error
        self._notify()

    # --- what the Powerwall holds --------------------------------------------------------------

    @property
    def held_plan(self) -> dict[str, Any] | None:
        """The plan the Powerwall holds as far as we know: the newer of readback and our write."""
        info = self.data.site_info.data
        if info is not None and info.tariff is not None and self._read_since_write():
            return info.tariff
        return self.memory.last_plan or (info.tariff if info is not None else None)

    def held_index(self) -> TariffIndex | None:
        """The held plan, parsed once per plan (entities read it at every update)."""
        plan = self.held_plan
        if plan is None:
            return None
        if self._index is None or self._index.tariff is not plan:
            self._index = TariffIndex(plan)
        return self._index

    def held_sources(self) -> dict[str, str]:
        """Where each slot of the held plan came from, when it is the plan we last wrote."""
        held = self.held_plan
        if held is None or self.memory.last_write_hash is None:
            return {}
        if held is self.memory.last_plan or self._held_hash == self.memory.last_write_hash:
            return self.memory.last_sources
        return {}

    def held_rate_now(self) -> tuple[float | None, float | None]:
        """Buy and sell the Powerwall's plan shows at this moment (site wall-clock time)."""
        index = self.held_index()
        if index is None:
            return None, None
        rate = index.rates_at(dt_util.utcnow().astimezone(site_zone(self.data.site_info.data)))
        return rate.buy, rate.sell

    # --- events ---------------------------------------------------------------------------------

    @callback
    def _on_site_info(self) -> None:
        info = self.data.site_info.data
        if info is None or not self.data.site_info.last_update_success:
            return
        self._held_hash = self._hash(info.tariff) if info.tariff else None
        self._reads += 1
        if (
            self.auto_sync
            and not self.forced
            and info.default_real_mode not in (None, "autonomous")
        ):
            raise_issue(
                self.hass,
                ISSUE_NOT_AUTONOMOUS,
                self.entry.entry_id,
                {"mode": info.default_real_mode or "unknown"},
            )
        else:
            clear_issue(self.hass, ISSUE_NOT_AUTONOMOUS, self.entry.entry_id)
        self._notify()
        if not self.source.follows_prices and not self._lock.locked():
            # Standing plans are checked against every readback (hourly at least).
            self._kick()

    @callback
    def _on_prices(self) -> None:
        if self._stopped:
            return
        now = dt_util.utcnow()
        if self.forced or self._manual:
            return  # a forced plan stands; an action in progress pushes itself
        if not self.source.prices_fresh(now):
            self._prices_bad(now, "Amber prices are not available")
            return
        if not self.auto_sync:
            self._prices_good()
            self._set_status(STATUS_DISABLED)
            return
        prices = self.data.prices
        if prices is None or prices.data is None:
            return
        interval = prices.data.interval_start
        if self.memory.pushed_interval == interval:
            return
        if not prices.data.final and not prices.data.last_look:
            # The price is still an estimate and another poll is coming: wait for it. The
            # deadline only covers a poll that fails; it fires after the last poll's time.
            self._arm_deadline(interval + ESTIMATE_DEADLINE)
            return
        self._cancel_deadline()
        self.hass.async_create_task(
            self.async_push("auto", interval=interval), "tesla_amber_sync auto push"
        )

    @callback
    def _arm_deadline(self, when: datetime) -> None:
        if self._deadline is not None:
            return

        @callback
        def fire(_now: datetime) -> None:
            self._deadline = None
            prices = self.data.prices
            if prices is None or prices.data is None or not self.auto_sync:
                return
            interval = prices.data.interval_start
            if self.memory.pushed_interval != interval:
                # Still an estimate after the last poll: push it rather than leave the old price.
                self.hass.async_create_task(
                    self.async_push("auto", interval=interval), "tesla_amber_sync estimate push"
                )

        self._deadline = async_track_point_in_utc_time(self.hass, fire, when)

    @callback
    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline()
            self._deadline = None

    @callback
    def _watchdog(self, _now: datetime) -> None:
        """Time-based conditions: stale prices, long failures, the 2-hour restore."""
        now = dt_util.utcnow()
        if not self.forced and not self.source.prices_fresh(now):
            self._prices_bad(now, "Amber prices are not available")
        if (
            self._writes_failing_since is not None
            and now - self._writes_failing_since >= WRITES_ISSUE_AFTER
        ):
            raise_issue(
                self.hass,
                ISSUE_WRITES_FAILING,
                self.entry.entry_id,
                {"error": self.view.last_error or "unknown"},
            )

    @callback
    def _prices_bad(self, now: datetime, message: str) -> None:
        """Keep the last good plan, say so at once, escalate with time."""
        if self._prices_bad_since is None:
            self._prices_bad_since = now
            _LOGGER.warning("%s; the Powerwall keeps its current plan", message)
        if self.auto_sync:
            self._set_status(STATUS_PRICES_UNAVAILABLE, error=message)
        bad_for = now - self._prices_bad_since
        if bad_for >= PRICES_ISSUE_AFTER:
            raise_issue(
                self.hass,
                ISSUE_PRICES_UNAVAILABLE,
                self.entry.entry_id,
                {"minutes": str(int(bad_for.total_seconds() // 60))},
            )
        if (
            bad_for >= RESTORE_ORIGINAL_AFTER
            and self.auto_sync
            and not self.memory.restored_original
            and self.memory.original_plan is not None
            and not self._lock.locked()
        ):
            self.hass.async_create_task(self._restore_stale(), "tesla_amber_sync stale restore")

    @callback
    def _prices_good(self) -> None:
        if self._prices_bad_since is not None:
            _LOGGER.info("Prices are available again; syncing resumes")
        self._prices_bad_since = None
        clear_issue(self.hass, ISSUE_PRICES_UNAVAILABLE, self.entry.entry_id)

    async def _restore_stale(self) -> None:
        """The rolling window has gone stale: the user's own plan is better than an old one."""
        result = await self.async_push_plan(
            self.memory.original_plan, reason="prices unavailable for 2 hours", dedupe=False
        )
        if result.result == RESULT_PUSHED:
            self.memory.restored_original = True
            self.store.schedule_save()
            raise_issue(
                self.hass,
                ISSUE_PLAN_RESTORED,
                self.entry.entry_id,
                severity=ir.IssueSeverity.WARNING,
            )
            _LOGGER.warning(
                "Amber prices have been unavailable for 2 hours; restored the Powerwall's "
                "original plan until they return"
            )

    # --- auto sync switch ---------------------------------------------------------------------

    async def async_set_auto_sync(self, on: bool) -> None:
        """Turn the timer on or off (state survives restarts)."""
        self.memory.auto_sync = on
        self.store.schedule_save()
        if not on:
            self._cancel_deadline()
            if self._pending_trigger in AUTO_TRIGGERS:
                self._cancel_pending()  # a timed push waiting for the spacing; actions' stay
            self._set_status(STATUS_DISABLED)
            clear_issue(self.hass, ISSUE_NOT_AUTONOMOUS, self.entry.entry_id)
            return
        # Until the next decision, show the last outcome (never "unknown").
        self._set_status(self._outcome or STATUS_UNCHANGED)
        self._on_site_info()
        if self.source.follows_prices:
            self._on_prices()

    # --- pushing -----------------------------------------------------------------------------

    async def async_sync_now(self, refresh: Callable[[], Awaitable[Any]]) -> SyncResult:
        """Refresh the data, then push: the timer stays out of the way meanwhile, so the
        action's answer is the push it made (not 'unchanged' after a timed push raced it)."""
        self._manual = True
        try:
            await refresh()
        finally:
            self._manual = False
        prices = self.data.prices
        interval = prices.data.interval_start if prices and prices.data else None
        return await self.async_push("sync_now", interval=interval)

    def build(self) -> PlanBuild:
        """The plan that would be sent now (validated), or PlanUnavailableError."""
        return self.source.build(dt_util.utcnow())

    async def async_push(self, trigger: str, *, interval: datetime | None = None) -> SyncResult:
        """Build from current data and push, within the rules."""
        async with self._lock:
            now = dt_util.utcnow()
            self.view.last_attempt = now
            try:
                build = self.override(now) if self.override else self.source.build(now)
            except PlanUnavailableError as err:
                self._prices_bad(now, str(err))
                self._notify()
                return SyncResult(RESULT_REFUSED, str(err))
            self._prices_good()
            return await self._push_locked(build, trigger, interval=interval)

    async def async_push_plan(
        self, tariff: dict[str, Any] | None, *, reason: str, dedupe: bool = True
    ) -> SyncResult:
        """Push a given plan (the original plan, a forced-mode plan) through the same gate."""
        if tariff is None:
            return SyncResult(RESULT_REFUSED, "no plan to push")
        try:
            validate_tariff(tariff)
        except TariffValidationError as err:
            return SyncResult(RESULT_REFUSED, f"the plan is not valid: {err}")
        build = PlanBuild(tariff=tariff, buy={}, sell={})
        async with self._lock:
            self.view.last_attempt = dt_util.utcnow()
            return await self._push_locked(build, reason, dedupe=dedupe)

    async def _push_locked(
        self,
        build: PlanBuild,
        trigger: str,
        *,
        interval: datetime | None = None,
        dedupe: bool = True,
    ) -> SyncResult:
        now = dt_util.utcnow()
        plan_hash = fingerprint(build.tariff)
        # Unchanged: the Powerwall holds this plan, or we just sent it and have not read back yet.
        if (
            dedupe
            and not self._resend
            and (
                plan_hash == self._held_hash
                or (plan_hash == self.memory.last_write_hash and not self._read_since_write())
            )
        ):
            if interval is not None:
                self.memory.pushed_interval = interval
            if plan_hash == self.memory.last_write_hash and build.sources:
                self.memory.last_sources = build.sources
            if interval is not None or build.sources:
                self.store.schedule_save()
            self.view.last_success = now
            self._set_status(STATUS_UNCHANGED if self.auto_sync else self.view.status)
            return SyncResult(
                RESULT_UNCHANGED, "the Powerwall already holds this plan", build=build
            )

        last = self.memory.last_write_at
        earliest = max(
            last + WRITE_SPACING if last is not None else now,
            self._blocked_until or now,
        )
        if now < earliest:
            send_at = earliest
            self._schedule_push(send_at, trigger)
            if self._writes_failing_since is None:  # a failure stays visible until a write works
                self._set_status(STATUS_WAITING if self.auto_sync else self.view.status)
            return SyncResult(
                RESULT_SCHEDULED,
                "at most one write per 4 minutes (longer when Tesla asks); the plan goes out then",
                send_at=send_at,
                build=build,
            )

        self._save_original()
        self.memory.last_write_at = now  # spacing counts attempts that may have reached Tesla
        try:
            await self.data.tesla.set_tariff(self.data.energy_site.energy_site_id, build.tariff)
        except ApiError as err:
            return self._write_failed(err, build, trigger, now)
        finally:
            self.store.schedule_save()

        self.writes += 1
        self._reads_at_write = self._reads
        self._resend = False
        self.memory.last_write_hash = plan_hash
        self.memory.last_plan = build.tariff
        self.memory.last_sources = build.sources
        if interval is not None:
            self.memory.pushed_interval = interval
        if is_our_plan(build.tariff):
            self.memory.restored_original = False
            clear_issue(self.hass, ISSUE_PLAN_RESTORED, self.entry.entry_id)
        self._writes_failing_since = None
        clear_issue(self.hass, ISSUE_WRITES_FAILING, self.entry.entry_id)
        tesla_ok(self.hass, self.entry, TARIFF_WRITE)
        self.view.last_success = now
        self.view.last_error = None
        self._cancel_pending()
        self._arm_readback(plan_hash)
        _LOGGER.debug("Pushed plan %s (%s)", plan_hash, trigger)
        self._set_status(STATUS_OK)
        return SyncResult(RESULT_PUSHED, f"plan sent ({trigger})", build=build)

    def _hash(self, tariff: dict[str, Any]) -> str:
        """`fingerprint`, remembered for the plan object last hashed (a read-back is looked at
        by several listeners; the canonical form is the costly part)."""
        cached = self._hashed
        if cached is not None and cached[0] is tariff:
            return cached[1]
        if self.memory.last_write_hash and tariff == self.memory.last_plan:
            value = self.memory.last_write_hash  # a read-back of exactly what we wrote
        else:
            value = fingerprint(tariff)
        self._hashed = (tariff, value)
        return value

    def _read_since_write(self) -> bool:
        """Whether site_info has been read since our last write in this run (so it tells what
        stuck). Counted in reads, not clock time: a read and a write can share a timestamp."""
        return self._reads_at_write is None or self._reads > self._reads_at_write

    def _write_failed(
        self, err: ApiError, build: PlanBuild, trigger: str, now: datetime
    ) -> SyncResult:
        tesla_failed(self.hass, self.entry, TARIFF_WRITE, err)
        if self._writes_failing_since is None:
            self._writes_failing_since = now
            _LOGGER.warning("Could not write the plan to the Powerwall: %s", err)
        if isinstance(err, AuthError) and not err.missing_scopes:
            self.entry.async_start_reauth(self.hass, data={REAUTH_SERVICE: "tesla"})
        if isinstance(err, RateLimitedError):
            wait = timedelta(seconds=err.retry_after or WRITE_SPACING.total_seconds())
            retry_at = now + max(wait, WRITE_SPACING)
            self._blocked_until = retry_at
            status = STATUS_WAITING
        else:
            retry_at = now + WRITE_SPACING
            status = STATUS_FAILED
        self._schedule_push(retry_at, trigger)
        self._set_status(status, error=str(err))
        return SyncResult(RESULT_REFUSED, str(err), send_at=retry_at, build=build)

    def _save_original(self) -> None:
        """Before our first write, remember the user's own plan (never one of ours)."""
        if self.memory.original_plan is not None:
            return
        info = self.data.site_info.data
        if info is None or info.tariff is None or is_our_plan(info.tariff):
            return
        self.memory.original_plan = info.tariff
        self.memory.original_saved_at = dt_util.utcnow()
        _LOGGER.info("Saved the Powerwall's original plan %r", info.tariff.get("name"))

    @callback
    def _schedule_push(self, when: datetime, trigger: str) -> None:
        self._cancel_pending()
        self.view.next_sync = when
        self._pending_at = when
        self._pending_trigger = trigger.split(",")[0]  # "auto, delayed" is still the timer's

        @callback
        def fire(_now: datetime) -> None:
            self._pending = None
            self._pending_at = None
            self.hass.async_create_task(
                self._pending_push(trigger), "tesla_amber_sync scheduled push"
            )

        self._pending = async_track_point_in_utc_time(self.hass, fire, when)

    async def _pending_push(self, trigger: str) -> None:
        prices = self.data.prices
        interval = prices.data.interval_start if prices and prices.data else None
        await self.async_push(f"{trigger}, delayed", interval=interval)

    @callback
    def _cancel_pending(self) -> None:
        if self._pending is not None:
            self._pending()
            self._pending = None
            self._pending_at = None

    # --- readback -----------------------------------------------------------------------------

    @callback
    def _arm_readback(self, plan_hash: str) -> None:
        if self._readback is not None:
            self._readback()

        async def check(_now: datetime) -> None:
            self._readback = None
            await self._check_readback(plan_hash)

        self._readback = async_track_point_in_utc_time(
            self.hass, check, dt_util.utcnow() + READBACK_DELAY
        )

    async def _check_readback(self, plan_hash: str) -> None:
        """Writes are eventually consistent: confirm by reading the plan back."""
        await self.data.site_info.async_refresh()
        info = self.data.site_info.data
        if not self.data.site_info.last_update_success or info is None:
            return  # unknown, not a mismatch; the hourly refresh will tell
        if info.tariff is not None and self._hash(info.tariff) == plan_hash:
            self._mismatches = 0
            clear_issue(self.hass, ISSUE_READBACK_MISMATCH, self.entry.entry_id)
            return
        if self.memory.last_write_hash != plan_hash:
            return  # a newer write is already on its way
        self._mismatches += 1
        _LOGGER.warning(
            "The Powerwall does not hold the plan just written (check %d)", self._mismatches
        )
        if self._mismatches >= MISMATCHES_FOR_ISSUE:
            raise_issue(self.hass, ISSUE_READBACK_MISMATCH, self.entry.entry_id)
        self._resend = True
        last = self.memory.last_write_at or dt_util.utcnow()
        self._schedule_push(max(last + WRITE_SPACING, dt_util.utcnow()), "readback mismatch")

    # --- original plan -----------------------------------------------------------------------

    async def async_restore_original(self) -> SyncResult:
        """Put the user's own plan back (action, removal). Auto-sync is turned off."""
        original = self.memory.original_plan
        if original is None:
            return SyncResult(RESULT_REFUSED, "no original plan was saved")
        try:
            validate_tariff(original)
        except TariffValidationError as err:
            # Refused before anything changes: syncing goes on with the current plan.
            return SyncResult(RESULT_REFUSED, f"the saved original plan is not valid: {err}")
        await self.async_set_auto_sync(False)
        return await self.async_push_plan(original, reason="restore original plan", dedupe=False)
