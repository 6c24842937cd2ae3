"""Injected faults: what the control API asks the next matching requests to suffer.

A fault names a service (`amber` or `tesla`), optionally a regular expression searched in the
request path (e.g. `prices/current`) and a method, and a kind:

- `status`: answer with that HTTP status and the service's own error body;
- `timeout`: hold the request for `delay` seconds (default 60, longer than any client waits)
  without blocking other requests, then answer normally;
- `html`: answer with an HTML error page (status default 502), as a proxy or CDN would;
- `truncated`: answer with the real JSON cut off halfway.

`retry_after` adds a `Retry-After` header. `count` is how many requests it hits (None = until
cleared). Faults are checked in the order they were added; the first match applies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
import contextlib
from dataclasses import dataclass, field
import math
import re
from typing import Any

from aiohttp import web

SERVICES = ("amber", "tesla")
KINDS = ("status", "timeout", "html", "truncated")
DEFAULT_DELAY = 60.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HTML_PAGE = """<!DOCTYPE html>
<html><head><title>{status} {reason}</title></head>
<body><h1>{status} {reason}</h1><p>The upstream server did not answer in time.</p>
<hr><center>simulated-proxy</center></body></html>
"""


class FaultSpecError(ValueError):
    """The control API was given an unusable fault."""


@dataclass(slots=True)
class Fault:
    """One injected fault and how often it has struck."""

    id: int
    service: str
    kind: str
    path: str | None = None
    method: str | None = None
    status: int | None = None
    count: int | None = None
    retry_after: float | None = None
    delay: float = DEFAULT_DELAY
    hits: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def matches(self, service: str, method: str, path: str) -> bool:
        """Whether this fault applies to a request."""
        if service != self.service:
            return False
        if self.method is not None and method.upper() != self.method:
            return False
        return self._pattern is None or self._pattern.search(path) is not None

    def to_json(self) -> dict[str, Any]:
        """The fault as the control API shows it."""
        return {
            "id": self.id,
            "service": self.service,
            "kind": self.kind,
            "path": self.path,
            "method": self.method,
            "status": self.status,
            "count": self.count,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "hits": self.hits,
        }


def _optional_number(spec: Mapping[str, Any], key: str) -> float | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultSpecError(f"{key} must be a non-negative number")
    return float(value)


class FaultRegistry:
    """The faults in force, in the order they were added."""

    def __init__(self, default_delay: float = DEFAULT_DELAY) -> None:
        self.default_delay = default_delay
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, spec: Mapping[str, Any]) -> Fault:
        """Validate and add a fault from its JSON description."""
        service = spec.get("service")
        if service not in SERVICES:
            raise FaultSpecError(f"service must be one of {', '.join(SERVICES)}")
        kind = spec.get("kind", "status")
        if kind not in KINDS:
            raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}")
        status = spec.get("status")
        if status is not None and (
            isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599
        ):
            raise FaultSpecError("status must be an HTTP status code")
        if kind == "status" and status is None:
            raise FaultSpecError("a status fault needs a status")
        count = spec.get("count")
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or count < 1
        ):
            raise FaultSpecError("count must be a positive integer or null")
        path = spec.get("path")
        pattern = None
        if path is not None:
            if not isinstance(path, str):
                raise FaultSpecError("path must be a regular expression")
            try:
                pattern = re.compile(path)
            except re.error as err:
                raise FaultSpecError(f"bad path pattern: {err}") from err
        method = spec.get("method")
        if method is not None and not isinstance(method, str):
            raise FaultSpecError("method must be a string")
        delay = _optional_number(spec, "delay")
        fault = Fault(
            id=self._next_id,
            service=service,
            kind=kind,
            path=path,
            method=method.upper() if method else None,
            status=status,
            count=count,
            retry_after=_optional_number(spec, "retry_after"),
            delay=self.default_delay if delay is None else delay,
            _pattern=pattern,
        )
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def take(self, service: str, method: str, path: str) -> Fault | None:
        """The first fault matching a request, counted (and dropped when used up)."""
        for fault in self._faults:
            if fault.matches(service, method, path):
                fault.hits += 1
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def clear(self, service: str | None = None) -> int:
        """Remove every fault (of one service); return how many went."""
        before = len(self._faults)
        self._faults = [f for f in self._faults if service is not None and f.service != service]
        return before - len(self._faults)

    def remove(self, fault_id: int) -> bool:
        """Remove one fault by id."""
        before = len(self._faults)
        self._faults = [f for f in self._faults if f.id != fault_id]
        return len(self._faults) < before

    def to_json(self) -> list[dict[str, Any]]:
        """Every fault in force."""
        return [fault.to_json() for fault in self._faults]


async def respond_with_fault(
    fault: Fault,
    request: web.Request,
    handler: Handler,
    error_response: Callable[[int], web.Response],
    stop: asyncio.Event,
) -> web.StreamResponse:
    """Produce the response a fault calls for."""
    response: web.StreamResponse
    if fault.kind == "timeout":
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), fault.delay)
        if stop.is_set():  # shutting down: let the request go quickly
            return error_response(503)
        return await handler(request)
    if fault.kind == "html":
        status = fault.status or 502
        reason = web.Response(status=status).reason
        response = web.Response(
            status=status,
            text=HTML_PAGE.format(status=status, reason=reason),
            content_type="text/html",
        )
    elif fault.kind == "truncated":
        real = await handler(request)
        body = real.body if isinstance(real, web.Response) else b""
        data = bytes(body) if isinstance(body, bytes | bytearray) else b""
        response = web.Response(
            status=fault.status or real.status,
            body=data[: max(1, len(data) // 2)],
            content_type="application/json",
        )
    else:
        response = error_response(fault.status or 500)
    if fault.retry_after is not None:
        response.headers["Retry-After"] = str(math.ceil(fault.retry_after))
    return response
