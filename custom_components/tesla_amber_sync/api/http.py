"""The one place where HTTP happens: timeouts, bounded retries, and status → exception mapping."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import json
import logging
import math
from typing import Any

import aiohttp
from multidict import CIMultiDict

from .errors import (
    ApiConnectionError,
    ApiError,
    AuthError,
    BadResponseError,
    PaymentRequiredError,
    RateLimitedError,
    RegionError,
)

_LOGGER = logging.getLogger(__name__)

# Waits between attempts of a retried call. Kept short: the coordinators poll again soon anyway,
# and a long in-call wait would hold up the 5-minute cycle.
RETRY_DELAYS: tuple[float, ...] = (1.0, 3.0)
MAX_ERROR_TEXT = 200


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded JSON response and the headers that came with it."""

    status: int
    payload: Any
    headers: Mapping[str, str]


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """How long a 429 asks us to wait: `Retry-After` (seconds or date), else `RateLimit-Reset`."""
    for name in ("Retry-After", "RateLimit-Reset", "X-RateLimit-Reset"):
        raw = headers.get(name)
        if raw is None:
            continue
        raw = raw.strip()
        try:
            seconds = float(raw)
        except ValueError:
            try:
                when = parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                continue
            if when.tzinfo is None:  # asctime dates carry no zone; HTTP dates are GMT
                when = when.replace(tzinfo=UTC)
            seconds = (when - (now or datetime.now(UTC))).total_seconds()
        if not math.isfinite(seconds) or seconds < 0:  # NaN, or in the past
            return 0.0
        # A reset given as an epoch timestamp rather than a delay.
        if seconds > 10**9:
            seconds = seconds - (now or datetime.now(UTC)).timestamp()
        return max(0.0, min(seconds, 24 * 3600.0))
    return None


class HttpClient:
    """Sends one service's requests: bearer auth, JSON in and out, errors mapped to `ApiError`s.

    `secrets` are scrubbed from every error message, whatever the server echoed back.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        service: str,
        timeout: float,
    ) -> None:
        self._session = session
        self.service = service
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def request(
        self,
        method: str,
        url: str,
        *,
        op: str,
        token: str,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        retry: bool,
    ) -> Response:
        """Send a request; with `retry`, connection failures get a bounded number of retries."""
        attempts = len(RETRY_DELAYS) + 1 if retry else 1
        last: ApiConnectionError | None = None
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(RETRY_DELAYS[attempt - 1])
            try:
                return await self._once(method, url, op=op, token=token, params=params, body=body)
            except ApiConnectionError as err:
                last = err
                if attempt + 1 < attempts:
                    _LOGGER.debug("%s; retrying (attempt %d of %d)", err, attempt + 2, attempts)
        assert last is not None
        raise last

    async def _once(
        self,
        method: str,
        url: str,
        *,
        op: str,
        token: str,
        params: Mapping[str, str | int] | None,
        body: Any,
    ) -> Response:
        label = f"{self.service} {op}"
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            async with self._session.request(
                method,
                url,
                headers=headers,
                params=params,
                json=body,
                timeout=self._timeout,
            ) as resp:
                text = await resp.text()
                status = resp.status
                # Header names are case-insensitive (proxies often lower-case them).
                resp_headers: Mapping[str, str] = CIMultiDict(resp.headers)
        except TimeoutError as err:
            raise ApiConnectionError(f"{label}: timed out") from err
        except aiohttp.ClientConnectorError as err:
            raise ApiConnectionError(f"{label}: cannot connect ({type(err).__name__})") from err
        except aiohttp.ClientError as err:
            raise ApiConnectionError(f"{label}: {type(err).__name__}") from err
        payload = _decode(text)
        if status >= 400:
            raise _status_error(label, status, payload, resp_headers, token)
        if payload is _NOT_JSON:
            raise BadResponseError(
                f"{label}: HTTP {status} but the body is not JSON", status=status
            )
        return Response(status=status, payload=payload, headers=resp_headers)


_NOT_JSON = object()


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


def _error_text(payload: Any, token: str) -> str:
    """The vendor's short error text, trimmed and with the token removed if it was echoed."""
    if isinstance(payload, dict):
        parts = [
            str(payload[key])
            for key in ("error", "error_description", "message")
            if payload.get(key) not in (None, "")
        ]
        text = ": ".join(parts)
    else:
        text = ""
    if token:
        text = text.replace(token, "***")
    return text[:MAX_ERROR_TEXT]


def _status_error(
    label: str, status: int, payload: Any, headers: Mapping[str, str], token: str
) -> ApiError:
    detail = _error_text(payload, token)
    message = f"{label}: HTTP {status}" + (f" ({detail})" if detail else "")
    if status in (401, 403):
        return AuthError(message, status=status)
    if status == 402:
        return PaymentRequiredError(message, status=status)
    if status == 421:
        return RegionError(message, status=status)
    if status == 429:
        return RateLimitedError(message, retry_after=retry_after_seconds(headers))
    if status == 408 or status >= 500:
        return ApiConnectionError(message, status=status)
    return BadResponseError(message, status=status)
