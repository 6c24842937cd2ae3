"""Amber's API over HTTP: parameters, errors, auth, rate limits, determinism."""

from __future__ import annotations

from datetime import date, timedelta
import json
from typing import Any

from aiohttp.test_utils import TestClient

from simulator.clock import ManualClock
from simulator.prices import PriceModel
from simulator.sites import make_sites

from .conftest import AMBER, START, ClientFactory, sim_of

SITE = make_sites(42)[0].id
CURRENT = f"/amber/v1/sites/{SITE}/prices/current"
RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy")


async def test_sites_lists_one_active_five_minute_site(client: TestClient[Any, Any]) -> None:
    """The default account has one active 5-minute site with general and feed-in channels."""
    response = await client.get("/amber/v1/sites", headers=AMBER)
    assert response.status == 200
    sites = await response.json()
    assert len(sites) == 1
    site = sites[0]
    assert site["id"] == SITE
    assert len(site["id"]) == 26
    assert site["status"] == "active"
    assert site["intervalLength"] == 5
    assert [c["type"] for c in site["channels"]] == ["general", "feedIn"]
    assert len(site["nmi"]) == 10
    assert set(RATE_HEADERS) <= set(response.headers)


async def test_more_sites_on_request(make_client: ClientFactory) -> None:
    """`sites=4` adds a 30-minute site, a controlled-load site and a closed one."""
    client = await make_client(sites=4)
    sites = await (await client.get("/amber/v1/sites", headers=AMBER)).json()
    assert [s["intervalLength"] for s in sites] == [5, 30, 5, 30]
    assert [s["status"] for s in sites] == ["active", "active", "active", "closed"]
    assert "controlledLoad" in [c["type"] for c in sites[2]["channels"]]
    assert sites[3]["closedOn"] == "2024-06-30"
    rows = await (
        await client.get(
            f"/amber/v1/sites/{sites[1]['id']}/prices/current?next=4&resolution=5", headers=AMBER
        )
    ).json()
    assert {r["duration"] for r in rows} == {30}


async def test_next_previous_and_mixed_resolution(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """next/previous are honoured per channel; 5-minute up to the hour, then 30-minute."""
    # 13:02:40 AEDT = 12:02:40 NEM: current 12:00-12:05, 5-minute forecasts to 13:00 NEM
    response = await client.get(f"{CURRENT}?next=30&previous=6&resolution=5", headers=AMBER)
    rows = await response.json()
    general = [r for r in rows if r["channelType"] == "general"]
    feed_in = [r for r in rows if r["channelType"] == "feedIn"]
    assert rows[: len(general)] == general, "general first, then feed-in"
    assert len(general) == len(feed_in) == 6 + 1 + 30
    assert [r["type"] for r in general].count("ActualInterval") == 6
    assert general[6]["type"] == "CurrentInterval"
    assert general[6]["nemTime"] == "2025-01-15T12:05:00+10:00"
    durations = [r["duration"] for r in general[7:]]
    assert durations == [5] * 11 + [30] * 19
    for row_g, row_f in zip(general, feed_in, strict=True):
        assert row_g["startTime"] == row_f["startTime"]
    default = await (await client.get(CURRENT, headers=AMBER)).json()
    assert [r["type"] for r in default] == ["CurrentInterval", "CurrentInterval"]
    half = await (
        await client.get(f"{CURRENT}?next=3&previous=1&resolution=30", headers=AMBER)
    ).json()
    assert len(half) == 2 * 5
    assert {r["duration"] for r in half} == {30}


async def test_endpoint_returns_exactly_what_the_model_published(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """The benchmark's `PriceModel.published` and the endpoint agree byte for byte."""
    clock.advance(3600 * 5 + 17)
    response = await client.get(f"{CURRENT}?next=96&previous=12&resolution=5", headers=AMBER)
    expected = PriceModel(42).published(clock.now(), next=96, previous=12, resolution=5)
    assert await response.read() == json.dumps(expected, separators=(",", ":")).encode()


async def test_same_seed_same_bytes(make_client: ClientFactory) -> None:
    """Two simulators with the same seed at the same time answer identically."""
    one = await make_client()
    two = await make_client()
    other = await make_client(seed=43)
    path = f"{CURRENT}?next=48&previous=24&resolution=5"
    first = await (await one.get(path, headers=AMBER)).read()
    assert first == await (await two.get(path, headers=AMBER)).read()
    other_site = make_sites(43)[0].id
    third = await (await other.get(path.replace(SITE, other_site), headers=AMBER)).read()
    assert first != third.replace(other_site.encode(), SITE.encode())


async def test_estimate_flips_over_http(client: TestClient[Any, Any], clock: ManualClock) -> None:
    """10 s into an interval the price is an estimate; 40 s in it is final."""
    boundary = START.replace(minute=10, second=0)
    clock.set(boundary + timedelta(seconds=10))
    early = (await (await client.get(CURRENT, headers=AMBER)).json())[0]
    clock.set(boundary + timedelta(seconds=40))
    late = (await (await client.get(CURRENT, headers=AMBER)).json())[0]
    assert early["estimate"] is True
    assert late["estimate"] is False
    assert late["perKwh"] == PriceModel(42).final_price("general", boundary)
    assert early["perKwh"] != late["perKwh"]


async def test_too_many_intervals_is_422(client: TestClient[Any, Any]) -> None:
    """next + previous > 2048 is refused with 422."""
    response = await client.get(f"{CURRENT}?next=2000&previous=49", headers=AMBER)
    assert response.status == 422
    assert "message" in await response.json()
    ok = await client.get(f"{CURRENT}?next=2000&previous=48", headers=AMBER)
    assert ok.status == 200


async def test_bad_parameters_are_400(client: TestClient[Any, Any]) -> None:
    """Non-numeric or negative counts and odd resolutions are bad requests."""
    for query in ("next=abc", "previous=-1", "resolution=15"):
        response = await client.get(f"{CURRENT}?{query}", headers=AMBER)
        assert response.status == 400, query
        assert (await response.json())["message"]


async def test_auth_required(client: TestClient[Any, Any]) -> None:
    """No key, or a key that is not `psk_...`, is 401 with a message."""
    missing = await client.get("/amber/v1/sites")
    assert missing.status == 401
    assert await missing.json() == {"message": "Unauthorized"}
    wrong = await client.get("/amber/v1/sites", headers={"Authorization": "Bearer abc"})
    assert wrong.status == 401
    assert set(RATE_HEADERS) <= set(wrong.headers)


async def test_unknown_site_is_404(client: TestClient[Any, Any]) -> None:
    """An unknown site id is 404 on both price endpoints."""
    for path in ("/amber/v1/sites/01NOPE/prices/current", "/amber/v1/sites/01NOPE/prices"):
        response = await client.get(path, headers=AMBER)
        assert response.status == 404
        assert (await response.json())["message"] == "Site not found"


async def test_rate_limit_sliding_window(client: TestClient[Any, Any], clock: ManualClock) -> None:
    """50 calls per 300 s per key: the 51st is 429; the window slides on the simulated clock."""
    for number in range(50):
        response = await client.get("/amber/v1/sites", headers=AMBER)
        assert response.status == 200
        assert response.headers["RateLimit-Remaining"] == str(49 - number)
        assert response.headers["RateLimit-Limit"] == "50"
        assert response.headers["RateLimit-Policy"] == "50;w=300"
        clock.advance(2)
    refused = await client.get("/amber/v1/sites", headers=AMBER)
    assert refused.status == 429
    assert await refused.json() == {"message": "Too Many Requests"}
    assert refused.headers["RateLimit-Remaining"] == "0"
    # the first call was 100 s ago: it leaves the window in 200 s
    assert refused.headers["RateLimit-Reset"] == "200"
    other_key = await client.get("/amber/v1/sites", headers={"Authorization": "Bearer psk_other"})
    assert other_key.status == 200
    clock.advance(201)
    again = await client.get("/amber/v1/sites", headers=AMBER)
    assert again.status == 200
    assert again.headers["RateLimit-Remaining"] == "0"


async def test_date_range_endpoint_ignores_next(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """`/prices?startDate&endDate` returns whole NEM days at the asked resolution."""
    path = f"/amber/v1/sites/{SITE}/prices?startDate=2025-01-13&endDate=2025-01-14"
    rows = await (await client.get(f"{path}&resolution=30", headers=AMBER)).json()
    same = await (await client.get(f"{path}&resolution=30&next=500", headers=AMBER)).json()
    assert rows == same
    general = [r for r in rows if r["channelType"] == "general"]
    assert len(general) == 96
    assert {r["date"] for r in general} == {"2025-01-13", "2025-01-14"}
    assert {r["type"] for r in general} == {"ActualInterval"}
    five = await (await client.get(f"{path}&resolution=5", headers=AMBER)).json()
    assert len([r for r in five if r["channelType"] == "general"]) == 576
    today = await (await client.get(f"/amber/v1/sites/{SITE}/prices", headers=AMBER)).json()
    kinds = [r["type"] for r in today if r["channelType"] == "general"]
    assert kinds.count("CurrentInterval") == 1
    assert {r["date"] for r in today} == {"2025-01-15"}
    # a NEM day ends 14:00 UTC: forecasts fill the rest of it
    assert today[len(kinds) - 1]["nemTime"] == "2025-01-16T00:00:00+10:00"


async def test_date_range_limits(client: TestClient[Any, Any]) -> None:
    """More than 7 days is 422; reversed or malformed dates are 400."""
    base = f"/amber/v1/sites/{SITE}/prices"
    week = (date(2025, 1, 1), date(2025, 1, 9))
    too_long = await client.get(f"{base}?startDate={week[0]}&endDate={week[1]}", headers=AMBER)
    assert too_long.status == 422
    backwards = await client.get(f"{base}?startDate=2025-01-09&endDate=2025-01-01", headers=AMBER)
    assert backwards.status == 400
    malformed = await client.get(f"{base}?startDate=yesterday", headers=AMBER)
    assert malformed.status == 400


async def test_calls_are_counted(client: TestClient[Any, Any]) -> None:
    """The control state counts calls per path and per route."""
    await client.get(f"{CURRENT}?next=1", headers=AMBER)
    await client.get(f"{CURRENT}?next=2", headers=AMBER)
    sim = sim_of(client)
    assert sim.calls[f"GET {CURRENT}"] == 2
    assert sim.calls_by_route["GET /amber/v1/sites/{site_id}/prices/current"] == 2
