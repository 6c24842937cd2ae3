"""A minimal change-notification list for our own engines (sync, demand, controls)."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.core import CALLBACK_TYPE, callback


class Listeners:
    """Entities subscribe; the owner calls `notify` after every change."""

    def __init__(self) -> None:
        """No subscribers yet."""
        self._callbacks: list[CALLBACK_TYPE] = []

    @callback
    def add_listener(self, update: CALLBACK_TYPE) -> Callable[[], None]:
        """Call `update` on every change; returns the unsubscribe function."""
        self._callbacks.append(update)

        def remove() -> None:
            self._callbacks.remove(update)

        return remove

    @callback
    def notify(self) -> None:
        """Tell every subscriber."""
        for update in list(self._callbacks):
            update()
