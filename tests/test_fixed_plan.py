"""Fixed-rate plans in Home Assistant: the wizard, what is pushed, the sensors, the editor, the
actions."""

from __future__ import annotations

from datetime import datetime, timedelta
import json
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.tesla_amber_sync.const import DOMAIN
from custom_components.tesla_amber_sync.validate import validate_tariff

from .conftest import THREE_RATE, fixed_data, setup_fixed_entry
from .fakes import SYDNEY, TESLEMETRY_TOKEN, FakeAmber, FakeTesla
from .flow_helpers import assert_has_strings
from .helpers import advance, advance_to, state_value

SUMMER_PLAN: dict[str, Any] = {
    "name": "Seasonal",
    "utility": "Example Energy",
    "daily_supply_charge": 1.0,
    "seasons": [
        {
            "name": "Summer",
            "from": "12-01",
            "to": "02-29",
            "periods": [
                {
                    "name": "Peak",
                    "days": "weekdays",
                    "from": "15:00",
                    "to": "21:00",
                    "buy": 0.6,
                    "sell": 0.08,
                    "demand": 0.2,
                },
                {
                    "name": "Weekday off-peak",
                    "days": "weekdays",
                    "from": "21:00",
                    "to": "15:00",
                    "buy": 0.2,
                    "sell": 0.05,
                },
                {
                    "name": "Weekend",
                    "days": "weekends",
                    "from": "00:00",
                    "to": "24:00",
                    "buy": 0.25,
                    "sell": 0.05,
                },
            ],
        },
        {
            "name": "Rest of year",
            "from": "03-01",
            "to": "11-30",
            "periods": [
                {
                    "name": "Anytime",
                    "days": "all",
                    "from": "00:00",
                    "to": "24:00",
                    "buy": 0.3,
                    "sell": 0.05,
                },
            ],
        },
    ],
}
GENERAL = "sensor.electricity_plan_general_price"
FEED_IN = "sensor.electricity_plan_feed_in_price"
PERIOD = "sensor.electricity_plan_plan_period"


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Sydney wall-clock moment in 2025."""
    return datetime(2025, month, day, hour, minute, tzinfo=SYDNEY)


# --- the wizard -----------------------------------------------------------------------------------


async def test_wizard_creates_a_fixed_plan_entry(
    hass: HomeAssistant, tesla: FakeTesla, amber: FakeAmber
) -> None:
    """Fixed plan → starter shape and rates → Teslemetry: an entry with no Amber key at all."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "fixed_plan"}
    )
    assert_has_strings(result)
    assert result["step_id"] == "fixed_plan"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "plan_template": "peak_shoulder_offpeak",
            "plan_name": " Origin Flexi TOU ",
            "utility": "Origin Energy",
            "daily_supply_charge": 1.1,
            "peak_rate": 0.55,
            "shoulder_rate": 0.35,
            "off_peak_rate": 0.22,
            "feed_in_rate": 0.05,
        },
    )
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "tesla_provider"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "teslemetry"}
    )
    with patch("custom_components.tesla_amber_sync.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"teslemetry_api_token": TESLEMETRY_TOKEN}
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == fixed_data()
    assert result["options"] == {"fixed_plan": THREE_RATE}
    assert amber.calls == []


async def test_wizard_refuses_a_plan_that_does_not_validate(
    hass: HomeAssistant, tesla: FakeTesla
) -> None:
    """A blank plan name makes an invalid plan: the form says so and keeps the values."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "fixed_plan"}
    )
    values = {
        "plan_template": "flat",
        "plan_name": "   ",
        "utility": "",
        "daily_supply_charge": 1.0,
        "peak_rate": 0.3,
        "shoulder_rate": 0.3,
        "off_peak_rate": 0.3,
        "feed_in_rate": 0.05,
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], values)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_plan"}
    assert_has_strings(result)


async def test_reauth_and_reconfigure_know_there_is_no_amber_key(
    hass: HomeAssistant, tesla: FakeTesla
) -> None:
    """Fixed entries: reauth goes straight to Tesla; reconfigure asks only the Tesla token."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id="1234567890123", data=fixed_data())
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_REAUTH, "entry_id": entry.entry_id},
        data=dict(entry.data),
    )
    assert result["step_id"] == "reauth_teslemetry"
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    assert list(result["data_schema"].schema) == ["teslemetry_api_token"]
    with patch("custom_components.tesla_amber_sync.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"teslemetry_api_token": "a-new-teslemetry-token"}
        )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["teslemetry_api_token"] == "a-new-teslemetry-token"
    fleet = MockConfigEntry(
        domain=DOMAIN,
        unique_id="42",
        data=fixed_data(
            tesla_provider="fleet", tesla_energy_site_id=42, auth_implementation="x", token={}
        ),
    )
    fleet.add_to_hass(hass)
    result = await fleet.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "nothing_to_reconfigure"
    assert_has_strings(result)


# --- what the Powerwall gets ---------------------------------------------------------------------


async def test_the_exact_plan_body_is_pushed(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    tesla: FakeTesla,
    amber: FakeAmber,
    snapshot: SnapshotAssertion,
) -> None:
    """A seasonal plan wrapping the year with weekday/weekend splits and a midnight-crossing
    off-peak: one push at start, byte for byte what the snapshot holds; no Amber call."""
    await setup_fixed_entry(hass, plan=SUMMER_PLAN)
    assert len(tesla.tariff_writes) == 1
    body = tesla.tariff_writes[0]
    validate_tariff(body)
    assert body == snapshot
    summer = body["seasons"]["SUMMER"]
    assert (summer["fromMonth"], summer["fromDay"], summer["toMonth"], summer["toDay"]) == (
        12,
        1,
        2,
        29,
    )
    # Weekday peak and weekend rate at the same clock time both survive.
    assert body["energy_charges"]["SUMMER"]["rates"]["PEAK"] == 0.6
    assert body["energy_charges"]["SUMMER"]["rates"]["WEEKEND"] == 0.25
    assert body["demand_charges"]["SUMMER"]["rates"] == {"PEAK": 0.2}
    assert body["daily_charges"] == [{"name": "Charge", "amount": 1.0}]
    assert amber.calls == []
    await advance(hass, frozen, timedelta(hours=3), step=timedelta(minutes=1))
    assert len(tesla.tariff_writes) == 1  # unchanged: never re-sent


async def test_sensors_follow_the_plan(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, fixed_entry: MockConfigEntry
) -> None:
    """Wednesday 14:02: weekday shoulder; 15:00: peak; Saturday 16:00: weekend shoulder."""
    assert state_value(hass, GENERAL) == "0.35"
    assert state_value(hass, FEED_IN) == "0.05"
    assert state_value(hass, PERIOD) == "Shoulder"
    general = hass.states.get(GENERAL)
    assert general is not None
    assert general.attributes["forecast"][1] == {
        "start": "2025-01-15T15:00:00+11:00",
        "end": "2025-01-15T15:30:00+11:00",
        "price": 0.55,
    }
    assert len(general.attributes["forecast"]) == 48
    await advance_to(hass, frozen, at(1, 15, 15, 0), step=timedelta(minutes=1))
    assert state_value(hass, GENERAL) == "0.55"
    assert state_value(hass, PERIOD) == "Peak"
    await advance_to(hass, frozen, at(1, 18, 16, 1), step=timedelta(minutes=10))
    assert state_value(hass, PERIOD) == "Weekend shoulder"
    assert state_value(hass, GENERAL) == "0.35"
    await advance_to(hass, frozen, at(1, 18, 23, 1), step=timedelta(minutes=10))
    assert state_value(hass, PERIOD) == "Off-peak"
    assert state_value(hass, GENERAL) == "0.22"


async def test_drift_on_the_powerwall_is_put_right(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    tesla: FakeTesla,
    fixed_entry: MockConfigEntry,
) -> None:
    """Someone changes the plan in the Tesla app: the next readback (hourly) re-sends ours."""
    await advance(hass, frozen, timedelta(minutes=1))
    assert len(tesla.tariff_writes) == 1
    ours = tesla.info["tariff_content_v2"]
    tesla.info["tariff_content_v2"] = {**ours, "energy_charges": {"ALL": {"rates": {"ALL": 0}}}}
    await advance(hass, frozen, timedelta(minutes=61), step=timedelta(minutes=1))
    assert len(tesla.tariff_writes) == 2
    assert tesla.tariff_writes[-1] == ours


# --- sharing plans --------------------------------------------------------------------------------


async def test_export_import_round_trip(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    tesla: FakeTesla,
    fixed_entry: MockConfigEntry,
) -> None:
    """Export gives the stored plan; importing another stores it and pushes it at once."""
    exported = await hass.services.async_call(
        DOMAIN, "export_plan", {}, blocking=True, return_response=True
    )
    assert exported == {"plan": THREE_RATE}
    await advance(hass, frozen, timedelta(minutes=5))  # past the 4-minute write spacing
    response = await hass.services.async_call(
        DOMAIN,
        "import_plan",
        {"config_entry_id": fixed_entry.entry_id, "plan": SUMMER_PLAN},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["warnings"] == []
    await hass.async_block_till_done()
    assert fixed_entry.options["fixed_plan"] == SUMMER_PLAN
    assert tesla.tariff_writes[-1]["name"] == "Seasonal"
    again = await hass.services.async_call(
        DOMAIN, "export_plan", {}, blocking=True, return_response=True
    )
    assert again == {"plan": SUMMER_PLAN}


async def test_import_refuses_a_broken_plan_and_names_the_problem(
    hass: HomeAssistant, fixed_entry: MockConfigEntry
) -> None:
    """Overlapping periods: refused with the exact problem; the stored plan is untouched."""
    broken = {
        **THREE_RATE,
        "seasons": [
            {
                **THREE_RATE["seasons"][0],
                "periods": [
                    *THREE_RATE["seasons"][0]["periods"],
                    {
                        "name": "Extra",
                        "days": "mon",
                        "from": "16:00",
                        "to": "17:00",
                        "buy": 0.1,
                        "sell": 0.0,
                    },
                ],
            }
        ],
    }
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "import_plan", {"plan": broken}, blocking=True)
    assert err.value.translation_key == "invalid_plan"
    assert "Extra" in err.value.translation_placeholders["problems"]
    assert "Peak" in err.value.translation_placeholders["problems"]
    assert fixed_entry.options["fixed_plan"] == THREE_RATE


async def test_plan_actions_refuse_amber_entries(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """An Amber entry has no fixed plan to export."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "export_plan", {}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "not_a_fixed_plan_entry"


# --- the editor -----------------------------------------------------------------------------------


async def step(hass: HomeAssistant, result: Any, user_input: dict[str, Any]) -> Any:
    """Submit an options step and check the next one has its strings."""
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert_has_strings(result, section="options")
    return result


async def test_editor_builds_a_seasonal_plan_and_saves_it(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    tesla: FakeTesla,
    fixed_entry: MockConfigEntry,
) -> None:
    """Add a summer season with a weekday peak; the year gap is named exactly until fixed;
    saved, the entry reloads and the Powerwall gets the new plan."""
    result = await hass.config_entries.options.async_init(fixed_entry.entry_id)
    assert result["menu_options"] == ["plan", "sync", "demand"]
    result = await step(hass, result, {"next_step_id": "plan"})
    result = await step(hass, result, {"next_step_id": "season_pick"})
    result = await step(hass, result, {"season": "All year"})
    result = await step(hass, result, {"next_step_id": "season_edit"})
    result = await step(hass, result, {"name": "Winter", "from": "04-01", "to": "11-30"})
    result = await step(hass, result, {"next_step_id": "plan"})
    result = await step(hass, result, {"next_step_id": "season_add"})
    result = await step(hass, result, {"name": "Summer", "from": "12-01", "to": "03-30"})
    assert result["step_id"] == "season"
    result = await step(hass, result, {"next_step_id": "period_add"})
    result = await step(
        hass,
        result,
        {
            "name": "Peak",
            "days": "weekdays",
            "from": "15:00:00",
            "to": "21:00",
            "buy": 0.7,
            "sell": 0.1,
            "demand": 0.3,
        },
    )
    result = await step(hass, result, {"next_step_id": "period_add"})
    result = await step(
        hass,
        result,
        {
            "name": "Other",
            "days": "weekdays",
            "from": "21:00",
            "to": "15:00",
            "buy": 0.25,
            "sell": 0.05,
        },
    )
    result = await step(hass, result, {"next_step_id": "plan"})
    result = await step(hass, result, {"next_step_id": "plan_save"})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "plan_invalid"
    errors = result["description_placeholders"]["errors"]
    assert "31 March" in errors  # the day in no season
    assert "Saturday" in errors  # weekends of Summer uncovered
    assert "Sunday" in errors
    result = await step(hass, result, {"next_step_id": "plan"})
    result = await step(hass, result, {"next_step_id": "season_pick"})
    result = await step(hass, result, {"season": "Summer"})
    result = await step(hass, result, {"next_step_id": "season_edit"})
    result = await step(hass, result, {"name": "Summer", "from": "12-01", "to": "03-31"})
    result = await step(hass, result, {"next_step_id": "period_add"})
    result = await step(
        hass,
        result,
        {
            "name": "Weekend",
            "days": "sat,sun",
            "from": "00:00",
            "to": "24:00",
            "buy": 0.1,
            "sell": 0.12,
        },
    )
    result = await step(hass, result, {"next_step_id": "plan"})
    result = await step(hass, result, {"next_step_id": "plan_save"})
    assert result["type"] is FlowResultType.FORM
    assert "sell" in result["description_placeholders"]["warnings"]  # weekend sell > buy
    await advance(hass, frozen, timedelta(minutes=5))
    result = await step(hass, result, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    stored = fixed_entry.options["fixed_plan"]
    assert [s["name"] for s in stored["seasons"]] == ["Winter", "Summer"]
    assert stored["seasons"][1]["periods"][0] == {
        "name": "Peak",
        "days": "weekdays",
        "from": "15:00",
        "to": "21:00",
        "buy": 0.7,
        "sell": 0.1,
        "demand": 0.3,
    }
    assert stored["seasons"][1]["periods"][2]["days"] == ["sat", "sun"]
    body = tesla.tariff_writes[-1]
    assert body["energy_charges"]["SUMMER"]["rates"]["PEAK"] == 0.7
    assert state_value(hass, GENERAL) == "0.25"  # January is summer; Wednesday 14:07: Other


async def test_editor_json_edit_and_removals(
    hass: HomeAssistant, fixed_entry: MockConfigEntry
) -> None:
    """Paste JSON (garbage refused with the reason), edit and remove periods and seasons."""
    result = await hass.config_entries.options.async_init(fixed_entry.entry_id)
    result = await step(hass, result, {"next_step_id": "plan"})
    result = await step(hass, result, {"next_step_id": "plan_json"})
    result = await step(hass, result, {"plan": "{not json"})
    assert result["errors"] == {"plan": "plan_not_readable"}
    result = await step(hass, result, {"plan": '{"name": "x", "seasons": [{"name": 1}]}'})
    assert result["errors"] == {"plan": "plan_not_readable"}
    result = await step(hass, result, {"plan": json.dumps(SUMMER_PLAN)})
    assert result["step_id"] == "plan"
    result = await step(hass, result, {"next_step_id": "plan_details"})
    result = await step(
        hass, result, {"name": "Seasonal v2", "utility": "", "daily_supply_charge": 0.9}
    )
    result = await step(hass, result, {"next_step_id": "season_pick"})
    result = await step(hass, result, {"season": "Summer"})
    result = await step(hass, result, {"next_step_id": "period_pick"})
    result = await step(hass, result, {"period": "Peak"})
    assert result["step_id"] == "period_edit"
    result = await step(
        hass,
        result,
        {
            "name": "Peak",
            "days": "weekdays",
            "from": "15:00",
            "to": "21:00",
            "buy": 0.65,
            "sell": 0.08,
            "remove": False,
        },
    )
    result = await step(hass, result, {"next_step_id": "period_pick"})
    result = await step(hass, result, {"period": "Weekend"})
    result = await step(
        hass,
        result,
        {
            "name": "Weekend",
            "days": "weekends",
            "from": "00:00",
            "to": "24:00",
            "buy": 0.25,
            "sell": 0.05,
            "remove": True,
        },
    )
    assert result["step_id"] == "season"
    result = await step(hass, result, {"next_step_id": "season_remove"})
    result = await step(hass, result, {"confirm": False})
    assert result["step_id"] == "season"
    result = await step(hass, result, {"next_step_id": "season_remove"})
    result = await step(hass, result, {"confirm": True})
    assert result["step_id"] == "plan"
    result = await step(hass, result, {"next_step_id": "plan_save"})
    assert result["step_id"] == "plan_invalid"  # Summer's days are now in no season
    result = await step(hass, result, {"next_step_id": "plan"})
    result = await step(hass, result, {"next_step_id": "season_pick"})
    result = await step(hass, result, {"season": "Rest of year"})
    result = await step(hass, result, {"next_step_id": "season_edit"})
    result = await step(hass, result, {"name": "All year", "from": "01-01", "to": "12-31"})
    result = await step(hass, result, {"next_step_id": "plan"})
    result = await step(hass, result, {"next_step_id": "plan_save"})
    result = await step(hass, result, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert fixed_entry.options["fixed_plan"]["name"] == "Seasonal v2"
    assert fixed_entry.options["fixed_plan"]["daily_supply_charge"] == 0.9
    assert [s["name"] for s in fixed_entry.options["fixed_plan"]["seasons"]] == ["All year"]


async def test_sync_options_for_a_fixed_plan_have_no_amber_fields(
    hass: HomeAssistant, fixed_entry: MockConfigEntry
) -> None:
    """Forecast source and spike protection only make sense for Amber."""
    result = await hass.config_entries.options.async_init(fixed_entry.entry_id)
    result = await step(hass, result, {"next_step_id": "sync"})
    assert [str(k) for k in result["data_schema"].schema] == [
        "restore_on_remove",
        "live_status_interval",
    ]


# --- demand charges on a fixed plan --------------------------------------------------------------

DEMAND_OPTIONS: dict[str, Any] = {
    "demand_enabled": True,
    "demand_rate": 12.5,
    "demand_rate_basis": "per_kw_month",
    "demand_window_source": "fixed",
    "demand_start": "16:00",
    "demand_end": "21:00",
    "demand_days": "all",
    "demand_billing_day": 1,
    "demand_in_plan": "demand_rates",
}


async def pushed_with(hass: HomeAssistant, tesla: FakeTesla, options: dict[str, Any]) -> Any:
    """The plan a fresh fixed-plan entry with these options pushes at set-up (15 January)."""
    entry = await setup_fixed_entry(hass, options)
    body = tesla.tariff_writes[-1]
    validate_tariff(body)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    return body


async def test_demand_window_months_apply_to_a_fixed_plan(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, tesla: FakeTesla, amber: FakeAmber
) -> None:
    """A window for June-August only stays off the plan in January; one that includes January
    puts its demand rate on the plan."""
    plain = await pushed_with(hass, tesla, {})
    winter_only = await pushed_with(hass, tesla, {**DEMAND_OPTIONS, "demand_months": [6, 7, 8]})
    all_year = await pushed_with(hass, tesla, {**DEMAND_OPTIONS, "demand_months": [1, 6]})
    assert winter_only == plain
    assert plain["demand_charges"]["ALL_YEAR"]["rates"] == {}
    # The 16:00-21:00 window cuts the periods it overlaps; each piece carries the rate.
    assert all_year["demand_charges"]["ALL_YEAR"]["rates"] == {
        "PEAK_DW": 12.5,
        "WEEKEND_SHOULDER_DW": 12.5,
    }


async def test_demand_options_of_a_fixed_plan_offer_only_a_fixed_window(
    hass: HomeAssistant, fixed_entry: MockConfigEntry
) -> None:
    """No Amber demandWindow flags to follow on a fixed plan: the choice is not offered."""
    result = await hass.config_entries.options.async_init(fixed_entry.entry_id)
    result = await step(hass, result, {"next_step_id": "demand"})
    selector = next(
        value
        for key, value in result["data_schema"].schema.items()
        if str(key) == "demand_window_source"
    )
    assert selector.config["options"] == ["fixed"]
