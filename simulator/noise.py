"""Deterministic pseudo-random numbers keyed by meaning, not by call order.

Every random quantity in the simulator is a pure function of the seed and of what it describes
(a region, an interval, a day), so any moment can be recomputed without replaying history and
the same seed always gives the same bytes, whatever order requests arrive in.
"""

from __future__ import annotations

import hashlib
import math


def unit(*key: object) -> float:
    """A uniform number in [0, 1) fixed by `key`."""
    text = "\x1f".join(str(part) for part in key).encode()
    digest = hashlib.blake2b(text, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def between(low: float, high: float, *key: object) -> float:
    """A uniform number in [low, high) fixed by `key`."""
    return low + (high - low) * unit(*key)


def normal(*key: object) -> float:
    """A standard normal number fixed by `key` (Box-Muller on two keyed uniforms)."""
    u1 = max(unit(*key, "n1"), 1e-12)
    u2 = unit(*key, "n2")
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def chance(probability: float, *key: object) -> bool:
    """True with the given probability, fixed by `key`."""
    return unit(*key) < probability
