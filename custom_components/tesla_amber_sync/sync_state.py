"""What the sync engine must remember across reloads and restarts, and its storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .api.amber import parse_time
from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)
STORAGE_VERSION = 1
SAVE_DELAY = 5.0  # seconds: coalesce bursts of changes into one disk write


_time = parse_time  # stored times are aware ISO strings, read back as UTC


@dataclass
class SyncMemory:
    """Persisted facts: when we last wrote, what, and the user's own plan."""

    last_write_at: datetime | None = None
    last_write_hash: str | None = None
    last_plan: dict[str, Any] | None = None  # the last plan we wrote (for the tariff entity)
    pushed_interval: datetime | None = None  # the Amber interval the last push was made for
    original_plan: dict[str, Any] | None = None  # the Powerwall's plan before our first push
    original_saved_at: datetime | None = None
    restored_original: bool = False  # we put the original back because prices went stale
    auto_sync: bool = True
    # Where each slot of `last_plan` came from ("amber" / "gap" / "beyond_horizon"), by label.
    last_sources: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "last_write_at": self.last_write_at.isoformat() if self.last_write_at else None,
            "last_write_hash": self.last_write_hash,
            "last_plan": self.last_plan,
            "pushed_interval": self.pushed_interval.isoformat() if self.pushed_interval else None,
            "original_plan": self.original_plan,
            "original_saved_at": self.original_saved_at.isoformat()
            if self.original_saved_at
            else None,
            "restored_original": self.restored_original,
            "auto_sync": self.auto_sync,
            "last_sources": dict(self.last_sources),
        }

    @classmethod
    def from_dict(cls, data: Any) -> SyncMemory:
        """Tolerant: anything unreadable is forgotten, never fatal."""
        if not isinstance(data, dict):
            return cls()
        plan = data.get("last_plan")
        original = data.get("original_plan")
        return cls(
            last_write_at=_time(data.get("last_write_at")),
            last_write_hash=data.get("last_write_hash")
            if isinstance(data.get("last_write_hash"), str)
            else None,
            last_plan=plan if isinstance(plan, dict) else None,
            pushed_interval=_time(data.get("pushed_interval")),
            original_plan=original if isinstance(original, dict) else None,
            original_saved_at=_time(data.get("original_saved_at")),
            restored_original=data.get("restored_original") is True,
            auto_sync=data.get("auto_sync") is not False,
            last_sources=_sources(data.get("last_sources")),
        )


def _sources(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


class SyncStore:
    """One store per entry (per Powerwall)."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Bind to `.storage/tesla_amber_sync.sync.<entry_id>`."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.sync.{entry_id}"
        )
        self.memory = SyncMemory()

    async def async_load(self) -> SyncMemory:
        """Read what was saved (or start fresh)."""
        try:
            raw = await self._store.async_load()
        except Exception:  # a corrupt file must not stop the integration
            _LOGGER.warning("Sync state could not be read; starting fresh", exc_info=True)
            raw = None
        self.memory = SyncMemory.from_dict(raw)
        return self.memory

    def schedule_save(self) -> None:
        """Save soon (coalesced)."""
        self._store.async_delay_save(self.memory.to_dict, SAVE_DELAY)

    async def async_save(self) -> None:
        """Save now (shutdown, unload)."""
        await self._store.async_save(self.memory.to_dict())

    async def async_remove(self) -> None:
        """Forget everything (entry removed)."""
        await self._store.async_remove()
