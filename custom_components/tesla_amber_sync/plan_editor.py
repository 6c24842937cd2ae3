"""The fixed-plan editor: options-flow steps to edit seasons and periods, or paste JSON.

Edits go to a working copy; "Save" validates the whole plan, names every problem exactly, and
only then stores it (the entry reloads and the sync engine pushes the new plan).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import CONF_FIXED_PLAN
from .demand import DemandConfig, DemandConfigError
from .fixed_plan_source import plan_problem
from .plans import FixedPlan, PlanError, validate_plan

RATE = NumberSelector(NumberSelectorConfig(min=0, max=100, step="any", mode=NumberSelectorMode.BOX))
OPTIONAL_RATE = NumberSelector(
    NumberSelectorConfig(min=0, max=1000, step="any", mode=NumberSelectorMode.BOX)
)
TEXT = TextSelector()
DAYS = SelectSelector(
    SelectSelectorConfig(
        options=["all", "weekdays", "weekends", "mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        mode=SelectSelectorMode.DROPDOWN,
        custom_value=True,
        translation_key="plan_days",
    )
)
EMPTY_PLAN: dict[str, Any] = {
    "name": "My time-of-use plan",
    "utility": "",
    "daily_supply_charge": 0.0,
    "seasons": [],
}


def _choice(values: list[str]) -> SelectSelector:
    return SelectSelector(SelectSelectorConfig(options=values, mode=SelectSelectorMode.LIST))


def _summary(plan: dict[str, Any]) -> str:
    """A short text of the plan for step descriptions."""
    lines = [f"**{plan.get('name', '')}** ({plan.get('utility') or 'no retailer'})"]
    for season in plan.get("seasons", []):
        lines.append(f"- {season['name']} ({season['from']} to {season['to']})")
        for period in season.get("periods", []):
            days = period["days"] if isinstance(period["days"], str) else ",".join(period["days"])
            lines.append(
                f"  - {period['name']}: {days} {period['from']}-{period['to']}, "
                f"buy {period['buy']}, sell {period['sell']}"
            )
    return "\n".join(lines)


def _problems(plan: dict[str, Any], entry: ConfigEntry) -> tuple[list[str], list[str]]:
    """Errors and warnings of the working plan, as exact messages; with no errors of its own,
    it must also make a valid Powerwall plan as the entry is configured (demand options)."""
    try:
        parsed = FixedPlan.from_dict(plan)
    except PlanError as err:
        return [issue.message for issue in err.issues], []
    report = validate_plan(parsed)
    errors = [i.message for i in report.errors]
    if not errors:
        site_info = entry.runtime_data.site_info if entry.state is ConfigEntryState.LOADED else None
        try:
            demand: DemandConfig | None = DemandConfig.from_options(entry.options)
        except DemandConfigError:
            demand = None
        problem = plan_problem(parsed, site_info, demand, dt_util.utcnow())
        if problem is not None:
            errors.append(problem)
    return errors, [i.message for i in report.warnings]


def _hhmm(value: str) -> str:
    """Accept "7:00", "07:00" or the selector's "07:00:00"."""
    parts = value.strip().split(":")
    if len(parts) == 3:
        parts = parts[:2]
    return ":".join(parts)


class PlanEditorMixin(OptionsFlow):
    """Steps of the plan editor, mixed into the options flow."""

    _plan: dict[str, Any] | None = None
    _season: int | None = None
    _period: int | None = None

    @property
    def working(self) -> dict[str, Any]:
        """The plan being edited (a copy of the stored one at first)."""
        if self._plan is None:
            stored = self.config_entry.options.get(CONF_FIXED_PLAN)
            self._plan = copy.deepcopy(stored) if stored else copy.deepcopy(EMPTY_PLAN)
        return self._plan

    async def async_step_plan(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The plan's top menu."""
        options = ["plan_details", "season_add"]
        if self.working["seasons"]:
            options.append("season_pick")
        options += ["plan_json", "plan_save"]
        return self.async_show_menu(
            step_id="plan",
            menu_options=options,
            description_placeholders={"plan": _summary(self.working)},
        )

    async def async_step_plan_details(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Name, retailer and daily supply charge."""
        plan = self.working
        if user_input is not None:
            plan["name"] = user_input["name"].strip()
            plan["utility"] = (user_input.get("utility") or "").strip()
            plan["daily_supply_charge"] = float(user_input["daily_supply_charge"])
            return await self.async_step_plan()
        schema = vol.Schema(
            {
                vol.Required("name", default=plan["name"]): TEXT,
                vol.Optional("utility", default=plan.get("utility", "")): TEXT,
                vol.Required(
                    "daily_supply_charge", default=plan.get("daily_supply_charge", 0.0)
                ): RATE,
            }
        )
        return self.async_show_form(step_id="plan_details", data_schema=schema)

    def _season_schema(self, season: dict[str, Any] | None) -> vol.Schema:
        season = season or {"name": "", "from": "01-01", "to": "12-31"}
        return vol.Schema(
            {
                vol.Required("name", default=season["name"]): TEXT,
                vol.Required("from", default=season["from"]): TEXT,
                vol.Required("to", default=season["to"]): TEXT,
            }
        )

    async def async_step_season_add(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new season (dates as MM-DD; it may wrap the new year)."""
        if user_input is not None:
            self.working["seasons"].append(
                {
                    "name": user_input["name"].strip(),
                    "from": user_input["from"].strip(),
                    "to": user_input["to"].strip(),
                    "periods": [],
                }
            )
            self._season = len(self.working["seasons"]) - 1
            return await self.async_step_season()
        return self.async_show_form(step_id="season_add", data_schema=self._season_schema(None))

    async def async_step_season_pick(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose a season to edit."""
        names = [s["name"] for s in self.working["seasons"]]
        if user_input is not None:
            self._season = names.index(user_input["season"])
            return await self.async_step_season()
        return self.async_show_form(
            step_id="season_pick",
            data_schema=vol.Schema({vol.Required("season", default=names[0]): _choice(names)}),
        )

    @property
    def season(self) -> dict[str, Any]:
        """The season being edited."""
        assert self._season is not None
        season: dict[str, Any] = self.working["seasons"][self._season]
        return season

    async def async_step_season(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One season's menu."""
        options = ["period_add"]
        if self.season["periods"]:
            options.append("period_pick")
        options += ["season_edit", "season_remove", "plan"]
        return self.async_show_menu(
            step_id="season",
            menu_options=options,
            description_placeholders={
                "season": self.season["name"],
                "plan": _summary({**self.working, "seasons": [self.season]}),
            },
        )

    async def async_step_season_edit(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Rename the season or change its dates."""
        if user_input is not None:
            self.season.update(
                name=user_input["name"].strip(),
                **{"from": user_input["from"].strip(), "to": user_input["to"].strip()},
            )
            return await self.async_step_season()
        return self.async_show_form(
            step_id="season_edit", data_schema=self._season_schema(self.season)
        )

    async def async_step_season_remove(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Remove the season (after confirmation)."""
        if user_input is not None:
            if user_input.get("confirm"):
                assert self._season is not None
                del self.working["seasons"][self._season]
                self._season = None
                return await self.async_step_plan()
            return await self.async_step_season()
        return self.async_show_form(
            step_id="season_remove",
            data_schema=vol.Schema({vol.Required("confirm", default=False): BooleanSelector()}),
            description_placeholders={"season": self.season["name"]},
        )

    def _period_schema(self, period: dict[str, Any] | None, *, removable: bool) -> vol.Schema:
        period = period or {
            "name": "",
            "days": "all",
            "from": "00:00",
            "to": "24:00",
            "buy": 0.3,
            "sell": 0.05,
        }
        days = period["days"] if isinstance(period["days"], str) else ",".join(period["days"])
        fields: dict[Any, Any] = {
            vol.Required("name", default=period["name"]): TEXT,
            vol.Required("days", default=days): DAYS,
            vol.Required("from", default=period["from"]): TEXT,
            vol.Required("to", default=period["to"]): TEXT,
            vol.Required("buy", default=period["buy"]): RATE,
            vol.Required("sell", default=period["sell"]): RATE,
        }
        demand = period.get("demand")
        fields[
            vol.Optional("demand", description={"suggested_value": demand})
            if demand is not None
            else vol.Optional("demand")
        ] = OPTIONAL_RATE
        if removable:
            fields[vol.Required("remove", default=False)] = BooleanSelector()
        return vol.Schema(fields)

    @staticmethod
    def _period_from(user_input: dict[str, Any]) -> dict[str, Any]:
        days: str = user_input["days"].strip()
        period: dict[str, Any] = {
            "name": user_input["name"].strip(),
            "days": [d.strip() for d in days.split(",")] if "," in days else days,
            "from": _hhmm(user_input["from"]),
            "to": _hhmm(user_input["to"]),
            "buy": float(user_input["buy"]),
            "sell": float(user_input["sell"]),
        }
        if user_input.get("demand") is not None:
            period["demand"] = float(user_input["demand"])
        return period

    async def async_step_period_add(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new period in this season (times HH:MM on half hours; 24:00 allowed as the end)."""
        if user_input is not None:
            self.season["periods"].append(self._period_from(user_input))
            return await self.async_step_season()
        return self.async_show_form(
            step_id="period_add",
            data_schema=self._period_schema(None, removable=False),
            description_placeholders={"season": self.season["name"]},
        )

    async def async_step_period_pick(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose a period to edit."""
        names = [p["name"] for p in self.season["periods"]]
        if user_input is not None:
            self._period = names.index(user_input["period"])
            return await self.async_step_period_edit()
        return self.async_show_form(
            step_id="period_pick",
            data_schema=vol.Schema({vol.Required("period", default=names[0]): _choice(names)}),
            description_placeholders={"season": self.season["name"]},
        )

    async def async_step_period_edit(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change a period, or remove it."""
        assert self._period is not None
        periods = self.season["periods"]
        if user_input is not None and "name" in user_input:
            if user_input.get("remove"):
                del periods[self._period]
            else:
                periods[self._period] = self._period_from(user_input)
            self._period = None
            return await self.async_step_season()
        return self.async_show_form(
            step_id="period_edit",
            data_schema=self._period_schema(periods[self._period], removable=True),
            description_placeholders={"season": self.season["name"]},
        )

    async def async_step_plan_json(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The whole plan as JSON: copy it to share, or paste one to replace it."""
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            try:
                data = json.loads(user_input["plan"])
                FixedPlan.from_dict(data)
            except ValueError as err:
                errors["plan"] = "plan_not_readable"
                placeholders["error"] = str(err)
            else:
                self._plan = data
                return await self.async_step_plan()
        text = json.dumps(self.working, indent=2)
        return self.async_show_form(
            step_id="plan_json",
            data_schema=vol.Schema(
                {
                    vol.Required("plan", default=text): TextSelector(
                        TextSelectorConfig(multiline=True)
                    )
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_plan_invalid(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The list of problems (shown by plan_save); leads back to the plan."""
        return await self.async_step_plan_save()

    async def async_step_plan_save(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Check the whole plan; store it only when it has no errors."""
        errors, warnings = _problems(self.working, self.config_entry)
        if errors:
            # Nothing is stored: list every problem and go back to editing.
            return self.async_show_menu(
                step_id="plan_invalid",
                menu_options=["plan"],
                description_placeholders={"errors": "\n".join(f"- {e}" for e in errors)},
            )
        if user_input is not None:
            plan = FixedPlan.from_dict(self.working).to_dict()
            return self.async_create_entry(
                data={**self.config_entry.options, CONF_FIXED_PLAN: plan}
            )
        return self.async_show_form(
            step_id="plan_save",
            data_schema=vol.Schema({}),
            description_placeholders={
                "plan": _summary(self.working),
                "warnings": "\n".join(f"- {w}" for w in warnings) or "none",
            },
        )
