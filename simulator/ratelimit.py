"""A real sliding-window rate limiter, per key, on the simulated clock.

Amber advertises its limit in `RateLimit-Limit/-Remaining/-Reset/-Policy` headers; this class
produces those numbers. `RateLimit-Reset` is the number of seconds until the oldest counted
request leaves the window (so one more request is allowed), or the full window when none counts.
Refused requests are not counted.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import math


@dataclass(frozen=True, slots=True)
class Decision:
    """The limiter's answer for one request."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    window: int

    def headers(self) -> dict[str, str]:
        """Amber's rate-limit headers for this decision."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{self.limit};w={self.window}",
        }


class SlidingWindowLimiter:
    """At most `limit` requests per `window` seconds for each key."""

    def __init__(self, limit: int, window: int) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}

    def configure(self, limit: int, window: int) -> None:
        """Change the limit and window; requests already counted stay counted."""
        self.limit = limit
        self.window = window

    def reset(self) -> None:
        """Forget every counted request."""
        self._hits.clear()

    def _live(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def _decision(self, hits: deque[float], now: float, allowed: bool) -> Decision:
        reset = math.ceil(hits[0] + self.window - now) if hits else self.window
        return Decision(
            allowed=allowed,
            limit=self.limit,
            remaining=max(0, self.limit - len(hits)),
            reset=max(0, reset),
            window=self.window,
        )

    def peek(self, key: str, now: float) -> Decision:
        """The state for `key` without counting a request."""
        hits = self._live(key, now)
        return self._decision(hits, now, len(hits) < self.limit)

    def hit(self, key: str, now: float) -> Decision:
        """Count a request for `key` if the window has room; say whether it was allowed."""
        hits = self._live(key, now)
        if len(hits) >= self.limit:
            return self._decision(hits, now, False)
        hits.append(now)
        return self._decision(hits, now, True)

    def usage(self, now: float) -> dict[str, int]:
        """Requests counted in the current window, per key."""
        return {key: len(self._live(key, now)) for key in list(self._hits)}
