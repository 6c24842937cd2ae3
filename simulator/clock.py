"""The simulated clock every model reads.

`SimClock` runs from a chosen start at a chosen speed (1.0 = real time) and can be set, moved on
or re-timed while running; `ManualClock` only moves when told to, which is what tests want. Both
return timezone-aware UTC datetimes from `now()`, and anything with such a `now()` can be injected.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the simulated time."""

    def now(self) -> datetime:
        """The current simulated time, timezone-aware UTC."""
        ...


@runtime_checkable
class ControllableClock(Clock, Protocol):
    """A clock that the control API can set, move on and re-time."""

    @property
    def speed(self) -> float:
        """Simulated seconds per real second (0 = stopped)."""
        ...

    def set(self, when: datetime) -> None:
        """Jump to `when`."""
        ...

    def advance(self, seconds: float) -> None:
        """Move on by `seconds` (may be negative)."""
        ...

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on, keeping the current time."""
        ...


def as_utc(when: datetime) -> datetime:
    """`when` as aware UTC; a naive value is taken to be UTC already."""
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


class SimClock:
    """Real time, optionally started elsewhere and run faster or slower."""

    def __init__(
        self,
        start: datetime | None = None,
        speed: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must not be negative")
        self._monotonic = monotonic
        self._anchor_sim = as_utc(start) if start is not None else datetime.now(UTC)
        self._anchor_real = monotonic()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    def now(self) -> datetime:
        """The simulated time now."""
        elapsed = (self._monotonic() - self._anchor_real) * self._speed
        return self._anchor_sim + timedelta(seconds=elapsed)

    def set(self, when: datetime) -> None:
        """Jump to `when` and keep running from there."""
        self._anchor_sim = as_utc(when)
        self._anchor_real = self._monotonic()

    def advance(self, seconds: float) -> None:
        """Move on by `seconds`."""
        self.set(self.now() + timedelta(seconds=seconds))

    def set_speed(self, speed: float) -> None:
        """Change the speed without moving the current time."""
        if speed < 0:
            raise ValueError("speed must not be negative")
        self.set(self.now())
        self._speed = float(speed)


class ManualClock:
    """A clock that stands still until moved: deterministic tests drive it by hand."""

    def __init__(self, start: datetime) -> None:
        self._now = as_utc(start)

    @property
    def speed(self) -> float:
        """Always 0: time moves only when told to."""
        return 0.0

    def now(self) -> datetime:
        """The time it was last set to."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when`."""
        self._now = as_utc(when)

    def advance(self, seconds: float) -> None:
        """Move on by `seconds`."""
        self._now += timedelta(seconds=seconds)

    def set_speed(self, speed: float) -> None:
        """A manual clock has no speed: refuse anything but 0."""
        if speed != 0:
            raise ValueError("a ManualClock does not run; use SimClock for a speed")
