"""Time travel and small lookups shared by the integration tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed


async def advance(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    delta: timedelta,
    *,
    step: timedelta = timedelta(seconds=5),
) -> None:
    """Let `delta` pass in small steps so that every timer fires at (about) its own time."""
    end = dt_util.utcnow() + delta
    while dt_util.utcnow() < end:
        freezer.tick(min(step, end - dt_util.utcnow()))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


async def advance_to(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    when: datetime,
    *,
    step: timedelta = timedelta(seconds=5),
) -> None:
    """Advance until `when`."""
    await advance(hass, freezer, when - dt_util.utcnow(), step=step)


def state_value(hass: HomeAssistant, entity_id: str) -> str:
    """An entity's state string (fails clearly when the entity does not exist)."""
    state = hass.states.get(entity_id)
    assert state is not None, f"{entity_id} does not exist"
    return state.state
