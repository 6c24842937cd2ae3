"""Fault injection through the control API."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
import pytest

from simulator.faults import FaultRegistry, FaultSpecError
from simulator.sites import make_sites

from .conftest import AMBER, TESLA, sim_of

CURRENT = f"/amber/v1/sites/{make_sites(42)[0].id}/prices/current"


async def _fault(client: TestClient[Any, Any], **spec: Any) -> dict[str, Any]:
    response = await client.post("/_control/faults", json=spec)
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_tesla_429_with_retry_after(client: TestClient[Any, Any]) -> None:
    """A 429 fault answers Tesla's envelope with Retry-After, then expires after `count`."""
    await _fault(client, service="tesla", path="live_status", status=429, count=2, retry_after=17)
    site = f"/tesla/api/1/energy_sites/{sim_of(client).energy_site_id}"
    for _ in range(2):
        response = await client.get(f"{site}/live_status", headers=TESLA)
        assert response.status == 429
        assert response.headers["Retry-After"] == "17"
        body = await response.json()
        assert body["response"] is None
        assert body["error"] == "too_many_requests"
    other_path = await client.get(f"{site}/site_info", headers=TESLA)
    assert other_path.status == 200
    recovered = await client.get(f"{site}/live_status", headers=TESLA)
    assert recovered.status == 200
    state = await (await client.get("/_control/state")).json()
    assert state["faults"] == []


async def test_amber_500_and_429_fault(client: TestClient[Any, Any]) -> None:
    """A 500 fault uses Amber's message body; a 429 fault zeroes RateLimit-Remaining."""
    await _fault(client, service="amber", status=500, count=1)
    response = await client.get(CURRENT, headers=AMBER)
    assert response.status == 500
    assert await response.json() == {"message": "Internal Server Error"}
    await _fault(client, service="amber", path="prices", status=429, count=1, retry_after=120)
    throttled = await client.get(CURRENT, headers=AMBER)
    assert throttled.status == 429
    assert await throttled.json() == {"message": "Too Many Requests"}
    assert throttled.headers["Retry-After"] == "120"
    assert throttled.headers["RateLimit-Remaining"] == "0"
    assert throttled.headers["RateLimit-Reset"] == "120"
    assert (await client.get(CURRENT, headers=AMBER)).status == 200


async def test_revoked_key_until_cleared(client: TestClient[Any, Any]) -> None:
    """A 401 fault with no count lasts until the faults are cleared."""
    await _fault(client, service="amber", status=401, count=None)
    for _ in range(3):
        response = await client.get("/amber/v1/sites", headers=AMBER)
        assert response.status == 401
        assert "message" in await response.json()
    cleared = await client.delete("/_control/faults")
    assert (await cleared.json()) == {"cleared": 1}
    assert (await client.get("/amber/v1/sites", headers=AMBER)).status == 200


async def test_timeout_holds_one_request_but_not_others(client: TestClient[Any, Any]) -> None:
    """A timeout fault outlasts a short client timeout while other requests are served."""
    await _fault(client, service="tesla", path="site_info", kind="timeout")
    site = f"/tesla/api/1/energy_sites/{sim_of(client).energy_site_id}"
    short = aiohttp.ClientTimeout(total=0.3)

    async def held() -> None:
        with pytest.raises(TimeoutError):
            await client.get(f"{site}/site_info", headers=TESLA, timeout=short)

    async def served() -> int:
        await asyncio.sleep(0.05)
        response = await client.get(f"{site}/live_status", headers=TESLA)
        return response.status

    _, status = await asyncio.gather(held(), served())
    assert status == 200


async def test_html_and_truncated_bodies(client: TestClient[Any, Any]) -> None:
    """An HTML error page, and real JSON cut off halfway."""
    await _fault(client, service="tesla", path="products", kind="html", count=1)
    page = await client.get("/tesla/api/1/products", headers=TESLA)
    assert page.status == 502
    assert page.content_type == "text/html"
    assert "<html>" in await page.text()
    await _fault(client, service="amber", path="prices", kind="truncated", count=1)
    cut = await client.get(f"{CURRENT}?next=12", headers=AMBER)
    assert cut.status == 200
    assert cut.content_type == "application/json"
    text = await cut.text()
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    whole = await (await client.get(f"{CURRENT}?next=12", headers=AMBER)).text()
    assert whole.startswith(text)
    assert len(text) == len(whole) // 2


async def test_method_filter_and_listing(client: TestClient[Any, Any]) -> None:
    """A fault can target writes only; faults are listed and removable by id."""
    fault = await _fault(client, service="tesla", method="POST", status=503)
    site = f"/tesla/api/1/energy_sites/{sim_of(client).energy_site_id}"
    assert (await client.get(f"{site}/site_info", headers=TESLA)).status == 200
    write = await client.post(f"{site}/backup", json={"backup_reserve_percent": 50}, headers=TESLA)
    assert write.status == 503
    listed = await (await client.get("/_control/faults")).json()
    assert [f["id"] for f in listed] == [fault["id"]]
    assert listed[0]["hits"] == 1
    assert (await client.delete(f"/_control/faults/{fault['id']}")).status == 200
    assert (await client.get("/_control/faults")).status == 200
    assert await (await client.get("/_control/faults")).json() == []


async def test_bad_fault_specs_are_refused(client: TestClient[Any, Any]) -> None:
    """Unknown services or kinds, bad statuses and bad patterns are 400."""
    for spec in (
        {"service": "nem", "status": 500},
        {"service": "amber", "kind": "explode"},
        {"service": "amber", "kind": "status"},
        {"service": "amber", "status": 99},
        {"service": "amber", "status": 500, "path": "("},
        {"service": "amber", "status": 500, "count": 0},
    ):
        response = await client.post("/_control/faults", json=spec)
        assert response.status == 400, spec
        assert (await response.json())["error"]


def test_registry_first_match_wins_and_counts_down() -> None:
    """Faults apply in the order added; counted ones drop out when used up."""
    registry = FaultRegistry()
    first = registry.add({"service": "amber", "status": 500, "count": 1})
    second = registry.add({"service": "amber", "status": 502})
    taken = registry.take("amber", "GET", "/amber/v1/sites")
    assert taken is first
    assert registry.take("amber", "GET", "/amber/v1/sites") is second
    assert registry.take("tesla", "GET", "/tesla/api/1/products") is None
    with pytest.raises(FaultSpecError):
        registry.add({"service": "amber", "kind": "timeout", "delay": -1})
