"""Starting the simulator in-process and from the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from simulator import ManualClock, start_simulator
from simulator.__main__ import parse_args


@pytest.mark.usefixtures("socket_enabled")
async def test_start_simulator_in_process() -> None:
    """`start_simulator` serves on a free port and reports its base URLs."""
    clock = ManualClock(datetime(2025, 1, 15, 2, 0, tzinfo=UTC))
    handle = await start_simulator("127.0.0.1", 0, seed=5, clock=clock)
    try:
        assert handle.amber_url == f"{handle.url}/amber/v1"
        assert handle.tesla_url == f"{handle.url}/tesla"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{handle.url}/") as response:
                index = await response.json()
            assert index["amber_base_url"] == handle.amber_url
            assert index["energy_site_id"] == handle.simulator.energy_site_id
            headers = {"Authorization": "Bearer psk_x"}
            async with session.get(f"{handle.amber_url}/sites", headers=headers) as response:
                assert response.status == 200
                assert len(await response.json()) == 1
            async with session.get(
                f"{handle.tesla_url}/api/1/users/region", headers={"Authorization": "Bearer t"}
            ) as response:
                region = (await response.json())["response"]
            assert region["fleet_api_base_url"] == handle.tesla_url
    finally:
        await handle.stop()


def test_command_line_options() -> None:
    """The CLI takes host, port, seed, speed and an ISO start with an offset."""
    args = parse_args(
        ["--port", "9000", "--seed", "7", "--speed", "60", "--start", "2025-06-01T06:00:00+10:00"]
    )
    assert (args.host, args.port, args.seed, args.speed) == ("127.0.0.1", 9000, 7, 60.0)
    assert args.start == datetime(2025, 5, 31, 20, 0, tzinfo=UTC)
    assert args.sites == 1
    with pytest.raises(SystemExit):
        parse_args(["--start", "2025-06-01T06:00:00"])
