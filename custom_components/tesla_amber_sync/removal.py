"""When the integration is removed, hand the Powerwall back as we found it."""

from __future__ import annotations

import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .api.errors import ApiError
from .clients import build_tesla_client
from .const import (
    CONF_ENERGY_SITE_ID,
    CONF_RESTORE_ON_REMOVE,
    DEFAULT_RESTORE_ON_REMOVE,
    DOMAIN,
)
from .sync_state import SyncStore
from .tou import is_our_plan
from .validate import TariffValidationError, validate_tariff

_LOGGER = logging.getLogger(__name__)


async def restore_on_removal(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Put the saved original plan back if the Powerwall still holds ours; never raises."""
    store = SyncStore(hass, entry.entry_id)
    memory = await store.async_load()
    await store.async_remove()
    for kind in ("demand", "energy", "controls"):
        await Store[dict[str, object]](hass, 1, f"{DOMAIN}.{kind}.{entry.entry_id}").async_remove()
    original = memory.original_plan
    if original is None or not entry.options.get(CONF_RESTORE_ON_REMOVE, DEFAULT_RESTORE_ON_REMOVE):
        return
    site_id = entry.data[CONF_ENERGY_SITE_ID]
    try:
        validate_tariff(original)
        client = await build_tesla_client(hass, entry)
        info = await client.site_info(site_id)
        if not is_our_plan(info.tariff):
            _LOGGER.info("The Powerwall no longer holds our plan; left as it is")
            return
        await client.set_tariff(site_id, original)
    except (ApiError, ValueError, TariffValidationError) as err:
        _LOGGER.warning(
            "Could not put the Powerwall's original plan back on removal: %s. "
            "Set your plan in the Tesla app",
            err,
        )
        return
    _LOGGER.info("Restored the Powerwall's original plan %r", original.get("name"))
