"""Run the real integration in a real Home Assistant with simulated time (`bench/replay.py`).

Home Assistant comes from pytest-homeassistant-custom-component's test utilities, used outside
pytest: `async_test_home_assistant`, mocked storage, `AiohttpClientMocker` with the fakes of
`replay_fakes`, and freezegun for the clock. Time does not tick by itself: the harness jumps the
frozen clock straight to the next scheduled timer of the event loop, lets the loop run everything
that is due (the way a real loop would, in its own order), and repeats. So every timer fires at
its own instant, simulated network round trips included, and a week replays in minutes.
"""

from __future__ import annotations

# The test utilities' plugin swaps Home Assistant's clock functions for ones freezegun can move (and
# prepares the recorder). That must happen before anything imports Home Assistant's modules: import
# it first, after Home Assistant's bare package (2026.11 aliases httpx there, before any import
# of it; like pytest's `-p homeassistant.generated` in pyproject.toml).
import homeassistant.generated  # noqa: F401
import pytest_homeassistant_custom_component.plugins  # noqa: F401

# isort: split

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
import gc
import importlib
import logging
import sys
import time
from typing import Any
from unittest.mock import Mock, patch

import freezegun
from freezegun.api import FrozenDateTimeFactory
from homeassistant import loader, util as ha_util
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import event as event_helper, frame, issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
    mock_storage,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import mock_aiohttp_client

from bench.replay_fakes import (
    AMBER_TOKEN,
    ENERGY_SITE_ID,
    SITE_NAME,
    TESLEMETRY_TOKEN,
    Clouds,
)
from bench.time_travel import move_just_past, next_timer, settle
from custom_components.tesla_amber_sync.const import (
    CONF_AMBER_SITE_ID,
    CONF_AMBER_TOKEN,
    CONF_ENERGY_SITE_ID,
    CONF_PRICE_SOURCE,
    CONF_TESLA_PROVIDER,
    CONF_TESLEMETRY_TOKEN,
    DOMAIN,
    PRICE_SOURCE_AMBER,
    PROVIDER_TESLEMETRY,
)

STATUS_SUFFIX = "_sync_status"
PLAN_SUFFIX = "_powerwall_plan_price"
INTEGRATION_LOGGER = "custom_components.tesla_amber_sync"


def real_seconds() -> float:
    """Wall-clock seconds that freezegun leaves alone."""
    return float(freezegun.api.real_perf_counter())  # type: ignore[attr-defined]


# freezegun's names and the test utilities' replacements for them, which their pytest plugin
# installs before each test (fold-aware fake datetimes: DST matters). Newer releases replace more.
FREEZEGUN_FIXES = (
    ("datetime_to_fakedatetime", "ha_datetime_to_fakedatetime"),
    ("FakeDatetime", "HAFakeDatetime"),
    ("FakeDate", "HAFakeDate"),
    ("_get_module_attributes", "ha_get_module_attributes"),
    ("_get_module_attributes_hash", "ha_get_module_attributes_hash"),
    ("_should_use_real_time", "ha_should_use_real_time"),
    ("get_current_time", "ha_get_current_time"),
)


def install_freezegun_fixes() -> None:
    """What the pytest plugin does before each test, with whichever replacements it has."""
    try:  # the test utilities for Home Assistant 2025.5 and later keep them here
        fixes = importlib.import_module("pytest_homeassistant_custom_component.patch_time")
    except ImportError:  # and those for 2025.4 in their plugin
        fixes = importlib.import_module("pytest_homeassistant_custom_component.plugins")
    for name, replacement in FREEZEGUN_FIXES:
        if hasattr(fixes, replacement):
            setattr(freezegun.api, name, getattr(fixes, replacement))


# Our own code (the integration, the simulator, the bench) gets real datetime classes back while
# time is frozen: freezegun's datetime subclass makes date arithmetic several times slower, which
# would be charged to the integration's CPU figures. Time itself stays frozen because the
# integration reads it only through Home Assistant's `dt_util.utcnow`, patched below.
OWN_MODULES = ("custom_components.", "simulator", "bench.")


def own_modules_real_datetimes() -> None:
    """Undo freezegun's datetime/date replacement in our own modules (call after imports)."""
    real_datetime = freezegun.api.real_datetime  # type: ignore[attr-defined]
    real_date = freezegun.api.real_date  # type: ignore[attr-defined]
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(OWN_MODULES):
            continue
        for attr, value in list(vars(module).items()):
            if not isinstance(value, type):
                continue
            if issubclass(value, real_datetime):
                if value is not real_datetime:
                    setattr(module, attr, real_datetime)
            elif issubclass(value, real_date) and value is not real_date:
                setattr(module, attr, real_date)


@contextmanager
def real_datetime_clock() -> Iterator[None]:
    """Home Assistant's `utcnow` returns plain datetimes at the frozen time."""
    real_datetime = freezegun.api.real_datetime  # type: ignore[attr-defined]

    def utcnow() -> datetime:
        return real_datetime.fromtimestamp(time.time(), UTC)  # type: ignore[no-any-return]

    with (
        patch.object(dt_util, "utcnow", utcnow),
        patch.object(ha_util, "utcnow", utcnow),
        patch.object(event_helper, "time_tracker_utcnow", utcnow),
    ):
        own_modules_real_datetimes()
        yield


@dataclass(frozen=True, slots=True)
class Step:
    """One jump of the clock: when, CPU the loop spent (fakes excluded), what the fakes saw."""

    at: float
    cpu: float
    ops: tuple[str, ...]


@dataclass
class ReplayRun:
    """Everything the replay recorded; `replay_metrics` turns it into figures."""

    start: datetime
    end: datetime
    clouds: Clouds
    steps: list[Step] = field(default_factory=list)
    log_records: list[tuple[str, str, str]] = field(default_factory=list)  # level, logger, text
    loop_errors: list[str] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    entry_state: str = ""
    unload_ok: bool = False
    wall_seconds: float = 0.0
    full_collections: int = 0  # full GCs during the replay (their CPU is left out)
    # What a user would have seen: the sync status (time, state) at each change, the plan
    # sensor's beyond-horizon slot count (time, count) at each change, repairs raised (time, id).
    statuses: list[tuple[float, str]] = field(default_factory=list)
    beyond: list[tuple[float, int]] = field(default_factory=list)
    raised: list[tuple[float, str]] = field(default_factory=list)


class _Collect(logging.Handler):
    """Keeps warnings and errors for the report."""

    def __init__(self, sink: list[tuple[str, str, str]]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append((record.levelname, record.name, record.getMessage()))


def entry_data(site_id: str) -> dict[str, Any]:
    """The entry the wizard creates for Amber + Teslemetry."""
    return {
        CONF_PRICE_SOURCE: PRICE_SOURCE_AMBER,
        CONF_AMBER_TOKEN: AMBER_TOKEN,
        CONF_AMBER_SITE_ID: site_id,
        CONF_TESLA_PROVIDER: PROVIDER_TESLEMETRY,
        CONF_TESLEMETRY_TOKEN: TESLEMETRY_TOKEN,
        CONF_ENERGY_SITE_ID: ENERGY_SITE_ID,
    }


@contextmanager
def network_patches() -> Iterator[None]:
    """What the test plugin patches for every test: no real network interfaces or source IP."""
    adapter = Mock(
        nice_name="eth0",
        ips=[Mock(is_IPv6=False, ip="10.10.10.10", network_prefix=24)],
        index=0,
    )
    loaded = {
        "auto": True,
        "default": True,
        "enabled": True,
        "index": 0,
        "ipv4": [{"address": "10.10.10.10", "network_prefix": 24}],
        "ipv6": [],
        "name": "eth0",
    }
    with (
        patch("homeassistant.components.network.util.ifaddr.get_adapters", return_value=[adapter]),
        patch("homeassistant.components.network.async_get_loaded_adapters", return_value=[loaded]),
        patch(
            "homeassistant.components.network.util.async_get_source_ip",
            return_value="10.10.10.10",
        ),
    ):
        yield


@asynccontextmanager
async def home_assistant(clouds: Clouds) -> AsyncIterator[tuple[HomeAssistant, MockConfigEntry]]:
    """A test Home Assistant in Sydney time with the fakes and an entry, not yet set up."""
    with mock_storage(), mock_aiohttp_client() as mocker, network_patches():
        async with async_test_home_assistant() as hass:
            frame.async_setup(hass)
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # load custom_components/
            await hass.config.async_set_time_zone(clouds.site.time_zone)
            clouds.register(mocker)
            entry = MockConfigEntry(
                domain=DOMAIN,
                title=SITE_NAME,
                unique_id=str(ENERGY_SITE_ID),
                data=entry_data(clouds.site.id),
                options={},
            )
            entry.add_to_hass(hass)
            try:
                yield hass, entry
            finally:
                if entry.state is ConfigEntryState.LOADED:
                    await hass.config_entries.async_unload(entry.entry_id)
                await hass.async_stop(force=True)


class FullCollections:
    """CPU spent in full (generation 2) garbage collections.

    A full collection walks every object in the process, and most of them are the harness's own
    (call logs, the price model's caches), so its cost says nothing about the integration and is
    left out of the integration's CPU figures; the count is reported.
    """

    cpu = 0.0
    count = 0
    _began = 0.0

    @classmethod
    def callback(cls, phase: str, info: dict[str, Any]) -> None:
        """gc.callbacks hook."""
        if info.get("generation") != 2:
            return
        if phase == "start":
            cls._began = time.process_time()
        else:
            cls.cpu += time.process_time() - cls._began
            cls.count += 1


if FullCollections.callback not in gc.callbacks:
    gc.callbacks.append(FullCollections.callback)


def excluded_cpu(clouds: Clouds) -> float:
    """CPU seconds so far that are not the integration's: the fakes and full collections."""
    return clouds.cpu + FullCollections.cpu


async def step_to(
    loop: asyncio.AbstractEventLoop, freezer: FrozenDateTimeFactory, when: float, clouds: Clouds
) -> tuple[float, tuple[str, ...]]:
    """Move the clock to `when`, run what is due; CPU used (fakes excluded) and calls served."""
    move_just_past(freezer, when)
    calls_before = len(clouds.calls)
    excluded_before = excluded_cpu(clouds)
    began = time.process_time()
    await settle(loop)
    cpu = time.process_time() - began - (excluded_cpu(clouds) - excluded_before)
    return cpu, tuple(c.op for c in clouds.calls[calls_before:])


async def drive(
    loop: asyncio.AbstractEventLoop,
    freezer: FrozenDateTimeFactory,
    clouds: Clouds,
    awaited: asyncio.Future[Any],
    steps: list[Step] | None = None,
) -> None:
    """Move simulated time on (timer by timer) until `awaited` is done.

    What is awaited may wait for simulated round trips, which only end when the clock moves.
    """
    began = time.process_time()
    excluded_before = excluded_cpu(clouds)
    calls_before = len(clouds.calls)
    at = time.time()
    await settle(loop)
    if steps is not None:
        steps.append(
            Step(
                at,
                time.process_time() - began - (excluded_cpu(clouds) - excluded_before),
                tuple(c.op for c in clouds.calls[calls_before:]),
            )
        )
    while not awaited.done():
        when = next_timer(loop)
        if when is None:
            raise RuntimeError("waiting for something no timer will bring")
        now = time.time()
        cpu, ops = await step_to(loop, freezer, max(when, now), clouds)
        if steps is not None:
            steps.append(Step(max(when, now), cpu, ops))


def watch(hass: HomeAssistant, run: ReplayRun) -> None:
    """Record the sync status, the plan sensor's beyond-horizon count and repairs raised."""

    @callback
    def on_state(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        entity_id = event.data["entity_id"]
        if new is None or not entity_id.startswith("sensor."):
            return
        now = time.time()
        if entity_id.endswith(STATUS_SUFFIX):
            if not run.statuses or run.statuses[-1][1] != new.state:
                run.statuses.append((now, new.state))
        elif entity_id.endswith(PLAN_SUFFIX):
            count = int(new.attributes.get("beyond_horizon", 0))
            if not run.beyond or run.beyond[-1][1] != count:
                run.beyond.append((now, count))

    @callback
    def on_issue(event: Event[dict[str, Any]]) -> None:
        if event.data.get("domain") == DOMAIN and event.data.get("action") == "create":
            run.raised.append((time.time(), str(event.data.get("issue_id"))))

    hass.bus.async_listen(EVENT_STATE_CHANGED, on_state)
    hass.bus.async_listen(ir.EVENT_REPAIRS_ISSUE_REGISTRY_UPDATED, on_issue)


async def replay(clouds: Clouds, start: datetime, end: datetime) -> ReplayRun:
    """Set the entry up at `start` and let time run to `end`, timer by timer."""
    run = ReplayRun(start=start, end=end, clouds=clouds)
    collector = _Collect(run.log_records)
    logging.getLogger().addHandler(collector)
    wall = real_seconds()
    collections = FullCollections.count
    try:
        with freezegun.freeze_time(start) as freezer, real_datetime_clock():
            loop = asyncio.get_running_loop()
            previous_handler = loop.get_exception_handler()

            def on_error(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
                run.loop_errors.append(str(context.get("exception") or context.get("message")))

            loop.set_exception_handler(on_error)
            try:
                async with home_assistant(clouds) as (hass, entry):
                    watch(hass, run)
                    setup = asyncio.ensure_future(hass.config_entries.async_setup(entry.entry_id))
                    await drive(loop, freezer, clouds, setup, run.steps)
                    if not setup.result():
                        raise RuntimeError(f"setting up the entry failed: {entry.state}")
                    own_modules_real_datetimes()  # platforms imported during the setup
                    end_ts = end.timestamp()
                    while (when := next_timer(loop)) is not None and when <= end_ts:
                        now = time.time()  # frozen
                        cpu, ops = await step_to(loop, freezer, max(when, now), clouds)
                        run.steps.append(Step(max(when, now), cpu, ops))
                    freezer.move_to(end)
                    await settle(loop)
                    run.entry_state = str(entry.state)
                    run.issues = sorted(
                        issue_id
                        for (domain, issue_id) in ir.async_get(hass).issues
                        if domain == DOMAIN
                    )
                    unload = asyncio.ensure_future(hass.config_entries.async_unload(entry.entry_id))
                    await drive(loop, freezer, clouds, unload)
                    run.unload_ok = unload.result()
            finally:
                loop.set_exception_handler(previous_handler)
    finally:
        logging.getLogger().removeHandler(collector)
        run.wall_seconds = real_seconds() - wall
        run.full_collections = FullCollections.count - collections
    return run


async def time_setups(clouds_factory: Any, at: datetime, runs: int) -> list[float]:
    """Wall seconds of `async_setup(entry_id)` against the fakes, each in a fresh Home Assistant.

    The first run also imports the integration and its platforms (a cold start).
    """
    seconds: list[float] = []
    with freezegun.freeze_time(at) as freezer, real_datetime_clock():
        loop = asyncio.get_running_loop()
        for _ in range(runs):
            clouds: Clouds = clouds_factory()
            async with home_assistant(clouds) as (hass, entry):
                setup = asyncio.ensure_future(hass.config_entries.async_setup(entry.entry_id))
                began = real_seconds()
                await drive(loop, freezer, clouds, setup)
                seconds.append(real_seconds() - began)
                if not setup.result():
                    raise RuntimeError(f"setting up the entry failed: {entry.state}")
                # Let the first push's simulated round trips finish before unloading.
                settled = asyncio.ensure_future(hass.async_block_till_done())
                await drive(loop, freezer, clouds, settled)
    return seconds
