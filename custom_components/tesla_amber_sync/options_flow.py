"""Options: how prices become a plan, and how often the Powerwall is polled."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import voluptuous as vol

from .const import (
    CONF_FORECAST_SOURCE,
    CONF_LIVE_INTERVAL,
    CONF_RESTORE_ON_REMOVE,
    CONF_SPIKE_PROTECTION,
    CONF_TESLA_PROVIDER,
    DEFAULT_FORECAST_SOURCE,
    DEFAULT_LIVE_INTERVAL,
    DEFAULT_RESTORE_ON_REMOVE,
    DEFAULT_SPIKE_PROTECTION,
    FORECAST_SOURCES,
    MAX_LIVE_INTERVAL,
    MIN_LIVE_INTERVAL,
    PROVIDER_TESLEMETRY,
)


def live_interval(options: dict[str, Any] | Any, provider: str) -> int:
    """Seconds between `live_status` polls: the option, else the provider's default."""
    default = DEFAULT_LIVE_INTERVAL.get(provider, DEFAULT_LIVE_INTERVAL[PROVIDER_TESLEMETRY])
    return int(options.get(CONF_LIVE_INTERVAL, default))


class TeslaAmberSyncOptionsFlow(OptionsFlow):
    """Edit the entry's options; the entry reloads when they change."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form for the sync options."""
        if user_input is not None:
            user_input[CONF_LIVE_INTERVAL] = int(user_input[CONF_LIVE_INTERVAL])
            return self.async_create_entry(data={**self.config_entry.options, **user_input})
        options = self.config_entry.options
        provider = self.config_entry.data.get(CONF_TESLA_PROVIDER, PROVIDER_TESLEMETRY)
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_FORECAST_SOURCE,
                    default=options.get(CONF_FORECAST_SOURCE, DEFAULT_FORECAST_SOURCE),
                ): SelectSelector(
                    SelectSelectorConfig(
                        options=list(FORECAST_SOURCES),
                        mode=SelectSelectorMode.DROPDOWN,
                        translation_key=CONF_FORECAST_SOURCE,
                    )
                ),
                vol.Required(
                    CONF_SPIKE_PROTECTION,
                    default=options.get(CONF_SPIKE_PROTECTION, DEFAULT_SPIKE_PROTECTION),
                ): BooleanSelector(),
                vol.Required(
                    CONF_RESTORE_ON_REMOVE,
                    default=options.get(CONF_RESTORE_ON_REMOVE, DEFAULT_RESTORE_ON_REMOVE),
                ): BooleanSelector(),
                vol.Required(
                    CONF_LIVE_INTERVAL, default=live_interval(options, provider)
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=MIN_LIVE_INTERVAL,
                        max=MAX_LIVE_INTERVAL,
                        step=5,
                        unit_of_measurement="s",
                        mode=NumberSelectorMode.BOX,
                    )
                ),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema)
