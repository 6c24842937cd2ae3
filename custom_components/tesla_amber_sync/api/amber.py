"""Amber Electric API client: sites and current/forecast prices, parsed tolerantly."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
import logging
import math
from typing import Any

import aiohttp

from .errors import BadResponseError
from .http import HttpClient
from .models import (
    AdvancedPrice,
    AmberChannel,
    AmberSite,
    IntervalType,
    PriceInterval,
    RateLimit,
)

_LOGGER = logging.getLogger(__name__)

AMBER_BASE_URL = "https://api.amber.com.au/v1"
AMBER_TIMEOUT = 15.0
# Amber's cap is ~2233 c/kWh and the floor about -110 c/kWh (incl. GST); allow generous network
# charges on top. Anything beyond this is a broken value, not a price.
PRICE_SANITY_CENTS = 5000.0
# When Amber repeats an interval, trust the most settled version.
_TYPE_RANK: dict[str, int] = {
    IntervalType.ACTUAL: 0,
    IntervalType.CURRENT: 1,
    IntervalType.FORECAST: 2,
}


def finite_number(value: Any) -> float | None:
    """A finite int/float as float; None for anything else (bools, strings, NaN, None)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp as aware UTC, or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


class IntervalTimes:
    """Amber's interval end times, parsed once: the same strings come back poll after poll.

    Two generations of at most `KEEP` strings each: a string seen in the last generation moves
    to the new one, the one before is dropped. An answer holds about 200 distinct end times and
    about 14 new ones appear each hour, so what is kept stays near one answer's worth, whatever
    the uptime (a least-recently-used cache would fill with times long past before it evicts).
    """

    KEEP = 512

    def __init__(self) -> None:
        self._new: dict[str, datetime | None] = {}
        self._old: dict[str, datetime | None] = {}

    def __len__(self) -> int:
        """Strings held."""
        return len(self._new) + len(self._old)

    def parse(self, value: Any) -> datetime | None:
        """`parse_time`, from the table when the string was seen lately."""
        if not isinstance(value, str):
            return None
        new = self._new
        if value in new:
            return new[value]
        old = self._old
        parsed = old[value] if value in old else parse_time(value)
        if len(new) >= self.KEEP:
            self._old, self._new = new, {}
        self._new[value] = parsed
        return parsed


_interval_times = IntervalTimes()


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_site(obj: Any) -> AmberSite | None:
    """A site object, or None when it lacks an id."""
    if not isinstance(obj, Mapping) or not isinstance(obj.get("id"), str) or not obj["id"]:
        return None
    channels = tuple(
        AmberChannel(
            identifier=str(ch.get("identifier", "")),
            type=str(ch.get("type", "")),
            tariff=ch.get("tariff") if isinstance(ch.get("tariff"), str) else None,
        )
        for ch in obj.get("channels") or []
        if isinstance(ch, Mapping)
    )
    length = obj.get("intervalLength")
    return AmberSite(
        id=obj["id"],
        nmi=str(obj.get("nmi") or ""),
        network=obj.get("network") if isinstance(obj.get("network"), str) else None,
        status=str(obj.get("status") or "unknown"),
        interval_length=length if length in (5, 30) else 30,
        channels=channels,
        active_from=_parse_date(obj.get("activeFrom")),
    )


def parse_interval(obj: Any) -> PriceInterval | None:
    """An interval, or None when it has no usable time or price (never a made-up 0)."""
    if not isinstance(obj, Mapping):
        return None
    end = _interval_times.parse(obj.get("endTime"))
    price = finite_number(obj.get("perKwh"))
    channel = obj.get("channelType")
    if end is None or price is None or not isinstance(channel, str):
        return None
    if abs(price) > PRICE_SANITY_CENTS:
        return None
    duration = obj.get("duration")
    if isinstance(duration, bool) or not isinstance(duration, int) or duration not in (5, 15, 30):
        start_time = _interval_times.parse(obj.get("startTime"))
        if start_time is None:
            return None
        # startTime is one second past the boundary: round the span to whole 5 minutes.
        minutes = round((end - start_time).total_seconds() / 300) * 5
        if minutes not in (5, 15, 30):
            return None
        duration = minutes
    advanced = obj.get("advancedPrice")
    advanced_price = None
    if isinstance(advanced, Mapping):
        low, predicted, high = (
            finite_number(advanced.get(k)) for k in ("low", "predicted", "high")
        )
        if low is not None and predicted is not None and high is not None:
            advanced_price = AdvancedPrice(low=low, predicted=predicted, high=high)
    tariff_info = obj.get("tariffInformation")
    demand_window = None
    period = None
    if isinstance(tariff_info, Mapping):
        flag = tariff_info.get("demandWindow")
        demand_window = flag if isinstance(flag, bool) else None
        period = tariff_info.get("period") if isinstance(tariff_info.get("period"), str) else None
    spike = obj.get("spikeStatus")
    descriptor = obj.get("descriptor")
    return PriceInterval(
        interval_type=str(obj.get("type") or "unknown"),
        channel=channel,
        start=end - timedelta(minutes=duration),
        end=end,
        per_kwh=price,
        spot_per_kwh=finite_number(obj.get("spotPerKwh")),
        spike_status=spike if isinstance(spike, str) and spike else "none",
        descriptor=descriptor if isinstance(descriptor, str) and descriptor else None,
        renewables=finite_number(obj.get("renewables")),
        estimate=obj.get("estimate") is True,
        advanced_price=advanced_price,
        demand_window=demand_window,
        tariff_period=period,
    )


def dedupe_intervals(intervals: list[PriceInterval]) -> list[PriceInterval]:
    """One interval per (channel, start, end), the most settled kept; sorted by channel and time."""
    best: dict[tuple[str, datetime, datetime], PriceInterval] = {}
    for interval in intervals:
        key = (interval.channel, interval.start, interval.end)
        kept = best.get(key)
        if kept is None or _TYPE_RANK.get(interval.interval_type, 3) <= _TYPE_RANK.get(
            kept.interval_type, 3
        ):
            best[key] = interval
    return sorted(best.values(), key=lambda i: (i.channel, i.start, i.end))


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit:
    """Amber's advertised rate-limit state (community-documented headers; read, never assumed)."""

    def number(name: str) -> float | None:
        raw = headers.get(name)
        if raw is None:
            return None
        try:
            value = float(raw.split(";")[0].strip())
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    limit, remaining = number("RateLimit-Limit"), number("RateLimit-Remaining")
    return RateLimit(
        limit=int(limit) if limit is not None else None,
        remaining=int(remaining) if remaining is not None else None,
        reset_seconds=number("RateLimit-Reset"),
        policy=headers.get("RateLimit-Policy"),
    )


class AmberClient:
    """Typed access to the parts of Amber's API this integration uses."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        *,
        base_url: str = AMBER_BASE_URL,
        timeout: float = AMBER_TIMEOUT,
    ) -> None:
        self._token = token
        self._base = base_url.rstrip("/")
        self._http = HttpClient(session, service="Amber", timeout=timeout)
        self.rate_limit = RateLimit()

    async def sites(self) -> list[AmberSite]:
        """Every site on the account (callers keep the active ones)."""
        resp = await self._http.request(
            "GET", f"{self._base}/sites", op="sites", token=self._token, retry=True
        )
        self.rate_limit = parse_rate_limit(resp.headers)
        if not isinstance(resp.payload, list):
            raise BadResponseError("Amber sites: expected a list of sites")
        return [site for site in map(parse_site, resp.payload) if site is not None]

    async def current_prices(
        self, site_id: str, *, previous: int, next_intervals: int, resolution: int
    ) -> tuple[list[PriceInterval], int]:
        """Intervals around now from `/prices/current` (the only endpoint honouring `next`).

        Returns the parsed intervals (deduplicated, sorted) and how many were dropped as unusable.
        """
        resp = await self._http.request(
            "GET",
            f"{self._base}/sites/{site_id}/prices/current",
            op="prices",
            token=self._token,
            params={"previous": previous, "next": next_intervals, "resolution": resolution},
            retry=True,
        )
        self.rate_limit = parse_rate_limit(resp.headers)
        if not isinstance(resp.payload, list):
            raise BadResponseError("Amber prices: expected a list of intervals")
        parsed = [parse_interval(obj) for obj in resp.payload]
        kept = [i for i in parsed if i is not None]
        dropped = len(parsed) - len(kept)
        if dropped:
            _LOGGER.debug(
                "Amber sent %d of %d price intervals without a usable time or price; ignored",
                dropped,
                len(parsed),
            )
        return dedupe_intervals(kept), dropped
