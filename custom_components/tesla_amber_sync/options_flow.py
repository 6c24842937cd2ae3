"""Options: how prices become a plan, how often the Powerwall is polled, demand charges."""

from __future__ import annotations

from typing import Any, Literal

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TimeSelector,
)
import voluptuous as vol

from .const import (
    AVOID_EXPORT_CHOICES,
    CONF_AVOID_PAID_EXPORTS,
    CONF_CHARGE_ON_NEGATIVE,
    CONF_FORECAST_SOURCE,
    CONF_LIVE_INTERVAL,
    CONF_NEGATIVE_CHARGE_RESERVE,
    CONF_PRICE_SOURCE,
    CONF_RESTORE_ON_REMOVE,
    CONF_SPIKE_PROTECTION,
    CONF_TESLA_PROVIDER,
    DEFAULT_FORECAST_SOURCE,
    DEFAULT_LIVE_INTERVAL,
    DEFAULT_NEGATIVE_CHARGE_RESERVE,
    DEFAULT_RESTORE_ON_REMOVE,
    DEFAULT_SPIKE_PROTECTION,
    FORECAST_SOURCES,
    MAX_LIVE_INTERVAL,
    MIN_LIVE_INTERVAL,
    PRICE_SOURCE_FIXED,
    PROVIDER_TESLEMETRY,
)
from .demand import (
    CONF_DEMAND_BILLING_DAY,
    CONF_DEMAND_DAYS,
    CONF_DEMAND_ENABLED,
    CONF_DEMAND_END,
    CONF_DEMAND_IN_PLAN,
    CONF_DEMAND_MONTHS,
    CONF_DEMAND_RATE,
    CONF_DEMAND_RATE_BASIS,
    CONF_DEMAND_START,
    CONF_DEMAND_SURCHARGE,
    CONF_DEMAND_WINDOW_SOURCE,
    DAY_FILTERS,
    IN_PLAN_MODES,
    RATE_BASES,
    SOURCE_FIXED,
    WINDOW_SOURCES,
    DemandConfig,
    DemandConfigError,
)
from .plan_editor import PlanEditorMixin


def live_interval(options: dict[str, Any] | Any, provider: str) -> int:
    """Seconds between `live_status` polls: the option, else the provider's default."""
    default = DEFAULT_LIVE_INTERVAL.get(provider, DEFAULT_LIVE_INTERVAL[PROVIDER_TESLEMETRY])
    return int(options.get(CONF_LIVE_INTERVAL, default))


def _select(options: list[str] | tuple[str, ...], key: str, *, multiple: bool = False) -> Any:
    return SelectSelector(
        SelectSelectorConfig(
            options=list(options),
            mode=SelectSelectorMode.DROPDOWN,
            translation_key=key,
            multiple=multiple,
        )
    )


def _number(
    low: float, high: float, step: float | Literal["any"], unit: str | None = None
) -> NumberSelector:
    config = NumberSelectorConfig(min=low, max=high, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


MONTHS = [str(month) for month in range(1, 13)]


class TeslaAmberSyncOptionsFlow(PlanEditorMixin):
    """Edit the entry's options; the entry reloads when they change."""

    @property
    def _fixed(self) -> bool:
        return self.config_entry.data.get(CONF_PRICE_SOURCE) == PRICE_SOURCE_FIXED

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose what to change."""
        options = ["plan", "sync", "demand"] if self._fixed else ["sync", "demand", "battery"]
        return self.async_show_menu(step_id="init", menu_options=options)

    def _save(self, changes: dict[str, Any]) -> ConfigFlowResult:
        return self.async_create_entry(data={**self.config_entry.options, **changes})

    async def async_step_sync(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """How prices become a plan, and polling."""
        if user_input is not None:
            user_input[CONF_LIVE_INTERVAL] = int(user_input[CONF_LIVE_INTERVAL])
            return self._save(user_input)
        options = self.config_entry.options
        provider = self.config_entry.data.get(CONF_TESLA_PROVIDER, PROVIDER_TESLEMETRY)
        fields: dict[Any, Any] = {}
        if not self._fixed:  # only Amber prices have forecasts and spikes
            fields[
                vol.Required(
                    CONF_FORECAST_SOURCE,
                    default=options.get(CONF_FORECAST_SOURCE, DEFAULT_FORECAST_SOURCE),
                )
            ] = _select(FORECAST_SOURCES, CONF_FORECAST_SOURCE)
            fields[
                vol.Required(
                    CONF_SPIKE_PROTECTION,
                    default=options.get(CONF_SPIKE_PROTECTION, DEFAULT_SPIKE_PROTECTION),
                )
            ] = BooleanSelector()
        schema = vol.Schema(
            {
                **fields,
                vol.Required(
                    CONF_RESTORE_ON_REMOVE,
                    default=options.get(CONF_RESTORE_ON_REMOVE, DEFAULT_RESTORE_ON_REMOVE),
                ): BooleanSelector(),
                vol.Required(CONF_LIVE_INTERVAL, default=live_interval(options, provider)): _number(
                    MIN_LIVE_INTERVAL, MAX_LIVE_INTERVAL, 5, "s"
                ),
            }
        )
        return self.async_show_form(step_id="sync", data_schema=schema)

    async def async_step_battery(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """What to do while Amber prices are negative (levers a plan cannot express)."""
        if user_input is not None:
            user_input[CONF_NEGATIVE_CHARGE_RESERVE] = int(user_input[CONF_NEGATIVE_CHARGE_RESERVE])
            return self._save(user_input)
        options = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_AVOID_PAID_EXPORTS, default=options.get(CONF_AVOID_PAID_EXPORTS, "off")
                ): _select(AVOID_EXPORT_CHOICES, CONF_AVOID_PAID_EXPORTS),
                vol.Required(
                    CONF_CHARGE_ON_NEGATIVE, default=options.get(CONF_CHARGE_ON_NEGATIVE, False)
                ): BooleanSelector(),
                vol.Required(
                    CONF_NEGATIVE_CHARGE_RESERVE,
                    default=options.get(
                        CONF_NEGATIVE_CHARGE_RESERVE, DEFAULT_NEGATIVE_CHARGE_RESERVE
                    ),
                ): _number(0, 100, 1, "%"),
            }
        )
        return self.async_show_form(step_id="battery", data_schema=schema)

    async def async_step_demand(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The network's demand charge: rate, window, billing day, and how the plan shows it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            user_input[CONF_DEMAND_MONTHS] = sorted(
                int(m) for m in user_input.get(CONF_DEMAND_MONTHS) or MONTHS
            )
            user_input[CONF_DEMAND_BILLING_DAY] = int(user_input[CONF_DEMAND_BILLING_DAY])
            try:
                config = DemandConfig.from_options(user_input)
            except DemandConfigError as err:
                errors[err.field] = "invalid_demand_value"
            else:
                return self._save(config.to_options())
        try:
            current = DemandConfig.from_options(self.config_entry.options)
        except DemandConfigError:
            current = DemandConfig()
        shown = {**current.to_options(), **(user_input or {})}
        schema = vol.Schema(
            {
                vol.Required(CONF_DEMAND_ENABLED, default=shown[CONF_DEMAND_ENABLED]): (
                    BooleanSelector()
                ),
                vol.Required(CONF_DEMAND_RATE, default=shown[CONF_DEMAND_RATE]): _number(
                    0, 1000, "any"
                ),
                vol.Required(CONF_DEMAND_RATE_BASIS, default=shown[CONF_DEMAND_RATE_BASIS]): (
                    _select(RATE_BASES, CONF_DEMAND_RATE_BASIS)
                ),
                vol.Required(
                    CONF_DEMAND_WINDOW_SOURCE,
                    default=shown[CONF_DEMAND_WINDOW_SOURCE],
                    # A fixed plan has no Amber demandWindow flags to follow.
                ): _select(
                    (SOURCE_FIXED,) if self._fixed else WINDOW_SOURCES, CONF_DEMAND_WINDOW_SOURCE
                ),
                vol.Required(CONF_DEMAND_START, default=shown[CONF_DEMAND_START]): TimeSelector(),
                vol.Required(CONF_DEMAND_END, default=shown[CONF_DEMAND_END]): TimeSelector(),
                vol.Required(CONF_DEMAND_DAYS, default=shown[CONF_DEMAND_DAYS]): _select(
                    DAY_FILTERS, CONF_DEMAND_DAYS
                ),
                vol.Required(
                    CONF_DEMAND_MONTHS, default=[str(m) for m in shown[CONF_DEMAND_MONTHS]]
                ): _select(MONTHS, CONF_DEMAND_MONTHS, multiple=True),
                vol.Required(CONF_DEMAND_BILLING_DAY, default=shown[CONF_DEMAND_BILLING_DAY]): (
                    _number(1, 28, 1)
                ),
                vol.Required(CONF_DEMAND_IN_PLAN, default=shown[CONF_DEMAND_IN_PLAN]): _select(
                    IN_PLAN_MODES, CONF_DEMAND_IN_PLAN
                ),
                vol.Required(CONF_DEMAND_SURCHARGE, default=shown[CONF_DEMAND_SURCHARGE]): (
                    _number(0, 100, "any", "AUD/kWh")
                ),
            }
        )
        return self.async_show_form(step_id="demand", data_schema=schema, errors=errors)
