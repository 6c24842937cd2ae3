"""The Powerwall settings we may change, layered: the user's own settings plus temporary overlays.

Pure. A forced charge/discharge and the negative-price actions each want some settings for a
while; the user's own settings (the baseline) must come back, exactly, when they end, and the two
kinds of overlay must never fight. So nothing writes settings directly: callers describe the
active overlays and `desired` says what the Powerwall should be set to; `changes` says which
writes get it there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Final

FORCED_CHARGE: Final = "charge"
FORCED_DISCHARGE: Final = "discharge"
FORCED_KINDS: Final = (FORCED_CHARGE, FORCED_DISCHARGE)
AUTONOMOUS: Final = "autonomous"


# The reserve during a forced discharge (%): the battery exports down to here.
DISCHARGE_RESERVE: Final = 5


@dataclass(frozen=True, slots=True)
class BatterySettings:
    """Operation mode, backup reserve (%), export rule and grid-charging permission."""

    mode: str | None = None
    reserve: int | None = None
    export_rule: str | None = None
    grid_charging: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> BatterySettings:
        """Tolerant: unreadable fields are unknown (None)."""
        if not isinstance(data, dict):
            return cls()
        mode = data.get("mode")
        reserve = data.get("reserve")
        rule = data.get("export_rule")
        charging = data.get("grid_charging")
        return cls(
            mode=mode if isinstance(mode, str) else None,
            reserve=reserve
            if isinstance(reserve, int) and not isinstance(reserve, bool) and 0 <= reserve <= 100
            else None,
            export_rule=rule if isinstance(rule, str) else None,
            grid_charging=charging if isinstance(charging, bool) else None,
        )


@dataclass(frozen=True, slots=True)
class Overlays:
    """What is temporarily asked of the Powerwall.

    `forced`: "charge" or "discharge" (with `forced_reserve` for a charge). `avoid_export_rule`:
    while exporting costs money, the export rule to use ("never" or "pv_only"). `negative_reserve`:
    while importing pays, charge from the grid up to this reserve.
    """

    forced: str | None = None
    forced_reserve: int | None = None
    avoid_export_rule: str | None = None
    negative_reserve: int | None = None

    @property
    def any(self) -> bool:
        """Whether anything is overlaid."""
        return any(
            value is not None
            for value in (self.forced, self.avoid_export_rule, self.negative_reserve)
        )


def desired(baseline: BatterySettings, overlays: Overlays) -> BatterySettings:
    """The settings the Powerwall should have now. A forced mode outranks the price actions."""
    target = baseline
    if overlays.forced == FORCED_DISCHARGE:
        # Export needs Time-Based Control, permission to export battery energy, and a reserve
        # low enough to leave something to export (a lower one of the user's is kept).
        reserve = min(baseline.reserve if baseline.reserve is not None else 100, DISCHARGE_RESERVE)
        return replace(target, mode=AUTONOMOUS, export_rule="battery_ok", reserve=reserve)
    if overlays.forced == FORCED_CHARGE:
        reserve = overlays.forced_reserve if overlays.forced_reserve is not None else 100
        return replace(target, mode=AUTONOMOUS, grid_charging=True, reserve=reserve)
    if overlays.avoid_export_rule is not None:
        target = replace(target, export_rule=overlays.avoid_export_rule)
    if overlays.negative_reserve is not None:
        reserve = max(baseline.reserve or 0, overlays.negative_reserve)
        target = replace(target, grid_charging=True, reserve=reserve)
    return target


def changes(current: BatterySettings, wanted: BatterySettings) -> list[tuple[str, Any]]:
    """(field, value) writes that take `current` to `wanted`; unknown wanted values are left."""
    result: list[tuple[str, Any]] = []
    for name in ("mode", "reserve", "export_rule", "grid_charging"):
        value = getattr(wanted, name)
        if value is not None and getattr(current, name) != value:
            result.append((name, value))
    return result
