"""Fixtures for the simulator's tests: a manual clock and an in-process server on loopback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
import pytest

from simulator.app import SIMULATOR, create_app
from simulator.clock import ManualClock
from simulator.core import Simulator

AMBER = {"Authorization": "Bearer psk_0123456789abcdef"}
TESLA = {"Authorization": "Bearer tesla-token"}

# 2025-01-15 13:02:40 AEDT, a Wednesday in summer
START = datetime(2025, 1, 15, 2, 2, 40, tzinfo=UTC)

type ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the repository-wide fixture: the simulator's tests need no Home Assistant."""


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when a test moves it."""
    return ManualClock(START)


@pytest.fixture
def make_client(aiohttp_client: Any, clock: ManualClock, socket_enabled: None) -> ClientFactory:
    """Start a simulator on loopback with the test clock; keyword options go to `create_app`.

    Home Assistant's test plugin forbids sockets; `socket_enabled` lifts that for these tests,
    and its host restriction still keeps every connection on 127.0.0.1.
    """

    async def make(**options: Any) -> TestClient[Any, Any]:
        options.setdefault("seed", 42)
        client: TestClient[Any, Any] = await aiohttp_client(create_app(clock=clock, **options))
        return client

    return make


@pytest.fixture
async def client(make_client: ClientFactory) -> TestClient[Any, Any]:
    """A default simulator (seed 42, one Amber site)."""
    return await make_client()


def sim_of(client: TestClient[Any, Any]) -> Simulator:
    """The simulator behind a test client."""
    return client.server.app[SIMULATOR]
