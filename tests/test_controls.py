"""Battery controls: writes with their exact bodies, forced modes, restarts, negative prices."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.tesla_amber_sync.const import DOMAIN
from custom_components.tesla_amber_sync.validate import validate_tariff

from .conftest import entry_data, setup_fixed_entry
from .fakes import SYDNEY, FakeAmber, FakeTesla, default_price
from .helpers import advance, advance_to, state_value

RESERVE = "number.home_powerwall_backup_reserve"
MODE = "select.home_powerwall_operation_mode"
EXPORT = "select.home_powerwall_grid_export"
CHARGING = "switch.home_powerwall_grid_charging"
STORM = "switch.home_powerwall_storm_watch"
FORCED = "binary_sensor.home_powerwall_forced_mode"
STATUS = "sensor.home_powerwall_sync_status"


def posts(tesla: FakeTesla, op: str) -> list[Any]:
    """Bodies POSTed to one command."""
    return [c.body for c in tesla.calls_to(f"/{op}", "POST")]


def settings(tesla: FakeTesla) -> tuple[Any, ...]:
    """The Powerwall's four settings as the fake holds them."""
    info = tesla.info
    return (
        info["default_real_mode"],
        info["backup_reserve_percent"],
        info["components"]["customer_preferred_export_rule"],
        info["components"]["disallow_charge_from_grid_with_solar_installed"],
    )


def at(hour: int, minute: int, second: int = 0, day: int = 15) -> datetime:
    """A Sydney moment on 15 January 2025."""
    return datetime(2025, 1, day, hour, minute, second, tzinfo=SYDNEY)


async def call(hass: HomeAssistant, service: str, data: dict[str, Any] | None = None) -> Any:
    """An action with its response."""
    return await hass.services.async_call(
        DOMAIN, service, data or {}, blocking=True, return_response=True
    )


# --- entities ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "service", "entity_id", "data", "op", "body", "shown"),
    [
        (
            "number",
            "set_value",
            RESERVE,
            {"value": 35},
            "backup",
            {"backup_reserve_percent": 35},
            "35.0",
        ),
        (
            "select",
            "select_option",
            MODE,
            {"option": "self_consumption"},
            "operation",
            {"default_real_mode": "self_consumption"},
            "self_consumption",
        ),
        (
            "select",
            "select_option",
            EXPORT,
            {"option": "never"},
            "grid_import_export",
            {"customer_preferred_export_rule": "never"},
            "never",
        ),
        (
            "switch",
            "turn_on",
            CHARGING,
            {},
            "grid_import_export",
            {"disallow_charge_from_grid_with_solar_installed": False},
            "on",
        ),
        ("switch", "turn_on", STORM, {}, "storm_mode", {"enabled": True}, "on"),
    ],
)
async def test_each_control_writes_its_exact_body(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    domain: str,
    service: str,
    entity_id: str,
    data: dict[str, Any],
    op: str,
    body: dict[str, Any],
    shown: str,
) -> None:
    """One POST with exactly the documented body; the entity shows the value at once and after
    the read-back."""
    tesla.info["components"]["disallow_charge_from_grid_with_solar_installed"] = True
    await hass.services.async_call(domain, service, {"entity_id": entity_id, **data}, blocking=True)
    assert posts(tesla, op) == [body]
    assert state_value(hass, entity_id) == shown
    reads = len(tesla.calls_to("/site_info"))
    await advance(hass, frozen, timedelta(seconds=15))
    assert len(tesla.calls_to("/site_info")) > reads  # read back
    assert state_value(hass, entity_id) == shown


async def test_switches_turn_off_with_their_exact_bodies(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """Grid charging and Storm Watch on at start; turning each off sends exactly its body."""
    tesla.info["components"]["disallow_charge_from_grid_with_solar_installed"] = False
    tesla.info["user_settings"]["storm_mode_enabled"] = True
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert state_value(hass, CHARGING) == "on"
    assert state_value(hass, STORM) == "on"
    for entity_id in (CHARGING, STORM):
        await hass.services.async_call(
            "switch", "turn_off", {"entity_id": entity_id}, blocking=True
        )
        assert state_value(hass, entity_id) == "off"
    assert posts(tesla, "grid_import_export") == [
        {"disallow_charge_from_grid_with_solar_installed": True}
    ]
    assert posts(tesla, "storm_mode") == [{"enabled": False}]


@pytest.mark.parametrize(
    ("fault", "key"),
    [
        (
            {"status": 403, "body": {"response": None, "error": "missing scopes"}},
            "missing_scopes_write",
        ),
        (
            {"status": 408, "body": {"response": None, "error": "device offline"}},
            "powerwall_offline",
        ),
        ({"status": 540, "body": {"response": None}}, "powerwall_offline"),
        ({"status": 429, "headers": {"Retry-After": "30"}}, "rate_limited_write"),
        ({"status": 422, "body": {"response": None, "error": "invalid"}}, "command_failed"),
    ],
)
async def test_write_failures_are_translated_errors(
    hass: HomeAssistant,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    fault: dict[str, Any],
    key: str,
) -> None:
    """A failed write says why, in words, and changes nothing (never retried)."""
    tesla.fail("backup", **fault)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "number", "set_value", {"entity_id": RESERVE, "value": 50}, blocking=True
        )
    assert err.value.translation_key == key
    assert len(posts(tesla, "backup")) == 1
    assert state_value(hass, RESERVE) == "20.0"


async def test_controls_only_where_the_site_allows_them(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """No solar: no export rule or grid charging; no storm capability: no Storm Watch; a site
    that locks grid charging: none either."""
    tesla.info["components"]["solar"] = False
    tesla.info["components"]["storm_mode_capable"] = False
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(RESERVE) is not None
    assert hass.states.get(MODE) is not None
    for entity_id in (EXPORT, CHARGING, STORM):
        assert hass.states.get(entity_id) is None, entity_id


async def test_controls_replace_the_read_only_sensors(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """An entry upgraded from read-only sensors loses them from the registry."""
    registry = er.async_get(hass)
    for key in ("backup_reserve", "operation_mode"):
        registry.async_get_or_create(
            "sensor", DOMAIN, f"{config_entry.unique_id}_{key}", config_entry=config_entry
        )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    for key in ("backup_reserve", "operation_mode"):
        assert (
            registry.async_get_entity_id("sensor", DOMAIN, f"{config_entry.unique_id}_{key}")
            is None
        )
    assert state_value(hass, RESERVE) == "20.0"
    assert state_value(hass, MODE) == "autonomous"


# --- forced modes --------------------------------------------------------------------------


async def test_forced_discharge_runs_and_hands_back(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """A plan that makes export obvious, Time-Based Control and battery export; normal syncing
    paused (and refused); at the end the user's settings and a fresh Amber plan come back."""
    tesla.info["components"]["customer_preferred_export_rule"] = "pv_only"
    tesla.info["default_real_mode"] = "self_consumption"
    original = settings(tesla)
    await advance(hass, frozen, timedelta(minutes=5))  # past the write spacing
    response = await call(hass, "force_discharge", {"duration": 30})
    assert response["result"] == "pushed"
    assert response["mode"] == "discharge"
    assert response["ends_at"] == "2025-01-15T14:37:30+11:00"
    plan = tesla.tariff_writes[-1]
    validate_tariff(plan)
    sell = plan["sell_tariff"]["energy_charges"]["Summer"]["rates"]
    assert sell["PERIOD_14_00"] == sell["PERIOD_14_30"] == 2.0  # until 14:37
    assert sell["PERIOD_15_00"] == 0.0
    assert settings(tesla)[:3] == ("autonomous", 5, "battery_ok")  # reserve down to export
    assert state_value(hass, FORCED) == "on"
    forced = hass.states.get(FORCED)
    assert forced is not None
    assert forced.attributes["mode"] == "discharge"
    assert state_value(hass, STATUS) == "forced_mode"
    assert state_value(hass, "switch.home_powerwall_auto_sync") == "on"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "sync_now")
    assert err.value.translation_key == "forced_mode_active"
    writes = len(tesla.tariff_writes)
    await advance_to(hass, frozen, at(14, 37, 0))
    assert len(tesla.tariff_writes) == writes  # no normal pushes meanwhile
    await advance_to(hass, frozen, at(14, 37, 40))
    assert settings(tesla) == original
    assert state_value(hass, FORCED) == "off"
    assert tesla.tariff_writes[-1]["code"] == "TESLA_AMBER_SYNC:AMBER"
    assert state_value(hass, STATUS) == "ok"


async def test_forced_start_that_cannot_write_leaves_nothing_forced(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """The reserve write fails half-way through starting a discharge: the action says why, the
    mode already changed goes back, syncing is not left paused and the Amber plan returns."""
    tesla.info["default_real_mode"] = "self_consumption"
    original = settings(tesla)
    await advance(hass, frozen, timedelta(minutes=5))
    tesla.fail("backup", status=540, body={"response": None})
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "force_discharge", {"duration": 30})
    assert err.value.translation_key == "powerwall_offline"
    await hass.async_block_till_done()
    assert settings(tesla) == original
    assert state_value(hass, FORCED) == "off"
    assert state_value(hass, STATUS) != "forced_mode"
    await advance(hass, frozen, timedelta(minutes=5))
    assert tesla.tariff_writes[-1]["code"] == "TESLA_AMBER_SYNC:AMBER"
    response = await call(hass, "sync_now")  # not refused as "forced mode active"
    assert response["result"] in ("pushed", "unchanged")


async def test_failed_restore_at_the_end_is_retried(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The Powerwall is offline when a forced charge ends: the settings come back a minute later,
    without a restart."""
    original = settings(tesla)
    await call(hass, "force_charge", {"duration": 15})
    assert settings(tesla)[1] == 100
    tesla.fail("backup", status=540, body={"response": None})
    await advance_to(hass, frozen, at(14, 18, 0))
    assert state_value(hass, FORCED) == "off"
    assert settings(tesla)[1] == 100  # the restore write failed
    assert "Will retry restoring the Powerwall settings in 0:01:00" in caplog.text
    await advance_to(hass, frozen, at(14, 19, 10))
    assert settings(tesla) == original


async def test_hand_back_with_auto_sync_off_replaces_the_forced_plan(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """Auto-sync off: the forced plan (export paid $2/kWh) must not stay on the Powerwall to repeat
    every day; the hand-back pushes the normal plan once, and the switch stays off."""
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.home_powerwall_auto_sync"}, blocking=True
    )
    await advance(hass, frozen, timedelta(minutes=5))
    await call(hass, "force_discharge", {"duration": 15})
    assert tesla.tariff_writes[-1]["code"] != "TESLA_AMBER_SYNC:AMBER"
    with pytest.raises(ServiceValidationError):
        await call(hass, "sync_tou_schedule")
    await advance_to(hass, frozen, at(14, 28, 0))
    assert tesla.tariff_writes[-1]["code"] == "TESLA_AMBER_SYNC:AMBER"
    assert state_value(hass, "switch.home_powerwall_auto_sync") == "off"
    assert state_value(hass, STATUS) == "disabled"


async def test_forced_charge_survives_a_restart(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """Restarted in the middle, the charge continues until its end and then restores."""
    tesla.info["components"]["disallow_charge_from_grid_with_solar_installed"] = True
    await advance(hass, frozen, timedelta(minutes=61), step=timedelta(minutes=1))  # hourly read
    original = settings(tesla)
    await call(hass, "force_charge", {"duration": 60, "target_reserve": 80})
    assert settings(tesla)[1:4:2] == (80, False)  # reserve 80, grid charging allowed
    buy = tesla.tariff_writes[-1]["energy_charges"]["Summer"]["rates"]
    assert buy["PERIOD_15_00"] == buy["PERIOD_15_30"] == buy["PERIOD_16_00"] == 0.0  # to 16:03
    assert buy["PERIOD_16_30"] == 1.0
    await advance(hass, frozen, timedelta(minutes=20))
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert state_value(hass, FORCED) == "on"
    assert state_value(hass, STATUS) == "forced_mode"
    assert settings(tesla)[1] == 80
    await advance_to(hass, frozen, at(16, 4, 0))
    assert settings(tesla) == original
    assert state_value(hass, FORCED) == "off"


async def test_forced_mode_that_ended_during_downtime_restores_at_once(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """Home Assistant was off past the end: on start-up the settings come straight back."""
    original = settings(tesla)
    await call(hass, "force_charge", {"duration": 15})
    assert settings(tesla)[1] == 100
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    frozen.tick(timedelta(minutes=40))
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert settings(tesla) == original
    assert state_value(hass, FORCED) == "off"
    assert tesla.tariff_writes[-1]["code"] == "TESLA_AMBER_SYNC:AMBER"


async def test_overlapping_calls_keep_the_original_settings(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """Discharge, then charge on top: the end restores what the user had, not the discharge's."""
    tesla.info["components"]["customer_preferred_export_rule"] = "never"
    original = settings(tesla)
    await call(hass, "force_discharge", {"duration": 60})
    await advance(hass, frozen, timedelta(minutes=5))
    response = await call(hass, "force_charge", {"duration": 30})
    assert response["mode"] == "charge"
    forced = hass.states.get(FORCED)
    assert forced is not None
    assert forced.attributes["mode"] == "charge"
    response = await call(hass, "restore_normal")
    assert response == {"ended": True}
    assert settings(tesla) == original
    assert await call(hass, "restore_normal") == {"ended": False}


async def test_restore_normal_leaves_nothing_changed(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
) -> None:
    """After restore_normal every setting is the user's and the Amber plan is back."""
    tesla.info["backup_reserve_percent"] = 35
    tesla.info["components"]["disallow_charge_from_grid_with_solar_installed"] = True
    await advance(hass, frozen, timedelta(minutes=61), step=timedelta(minutes=1))  # hourly read
    original = settings(tesla)
    await call(hass, "force_charge", {"duration": 120, "target_reserve": 90})
    await advance(hass, frozen, timedelta(minutes=10))
    await call(hass, "restore_normal")
    await advance(hass, frozen, timedelta(minutes=5))
    assert settings(tesla) == original
    assert tesla.tariff_writes[-1]["code"] == "TESLA_AMBER_SYNC:AMBER"


# --- negative prices -----------------------------------------------------------------------


def price_with(feed_in: float | None = None, general: float | None = None) -> Any:
    """Default prices, with feed-in and/or general overridden from 14:05 to 14:30."""

    def price(channel: str, start: datetime) -> float:
        window = at(14, 5) <= start < at(14, 30)
        if window and channel == "feedIn" and feed_in is not None:
            return feed_in
        if window and channel == "general" and general is not None:
            return general
        return default_price(channel, start)

    return price


async def setup_with(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, options: dict[str, Any]
) -> MockConfigEntry:
    await hass.config.async_set_time_zone("Australia/Sydney")
    frozen.move_to(at(14, 2, 30))
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id="1234567890123", data=entry_data(), options=options
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_paid_exports_switch_the_rule_and_restore_it(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """While exporting costs money the rule is 'never'; then the user's rule comes back.
    Each change is an event and shows on the forced-mode entity."""
    events = async_capture_events(hass, "tesla_amber_sync_battery_action")
    amber.price_fn = price_with(feed_in=3.1)
    await setup_with(hass, frozen, {"avoid_paid_exports": "never"})
    assert settings(tesla)[2] == "battery_ok"
    await advance_to(hass, frozen, at(14, 5, 10))
    assert settings(tesla)[2] == "never"
    assert posts(tesla, "grid_import_export") == [{"customer_preferred_export_rule": "never"}]
    status = hass.states.get(FORCED)
    assert status is not None
    assert status.attributes["avoiding_paid_export"] is True
    await advance_to(hass, frozen, at(14, 30, 10))
    assert settings(tesla)[2] == "battery_ok"
    assert [e.data["changes"] for e in events] == [
        {"export_rule": "never"},
        {"export_rule": "battery_ok"},
    ]


async def test_negative_import_charges_then_restores(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """While importing pays: grid charging on and reserve up; afterwards as before."""
    tesla.info["components"]["disallow_charge_from_grid_with_solar_installed"] = True
    amber.price_fn = price_with(general=-4.0)
    await setup_with(hass, frozen, {"charge_on_negative": True, "negative_charge_reserve": 95})
    original = settings(tesla)
    await advance_to(hass, frozen, at(14, 5, 10))
    assert settings(tesla)[1] == 95
    assert settings(tesla)[3] is False  # grid charging allowed
    await advance_to(hass, frozen, at(14, 30, 10))
    assert settings(tesla) == original


async def test_price_actions_never_fight_a_forced_mode(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, amber: FakeAmber, tesla: FakeTesla
) -> None:
    """A forced discharge keeps battery export on through a paid-export period; when it ends the
    price action applies; when prices recover the user's rule is back."""
    tesla.info["components"]["customer_preferred_export_rule"] = "pv_only"
    amber.price_fn = price_with(feed_in=3.1)
    await setup_with(hass, frozen, {"avoid_paid_exports": "never"})
    await advance(hass, frozen, timedelta(minutes=2))
    await call(hass, "force_discharge", {"duration": 15})
    await advance_to(hass, frozen, at(14, 10))
    assert settings(tesla)[2] == "battery_ok"  # forced wins
    await advance_to(hass, frozen, at(14, 20))
    assert settings(tesla)[2] == "never"  # forced ended inside the paid-export period
    await advance_to(hass, frozen, at(14, 30, 10))
    assert settings(tesla)[2] == "pv_only"


async def test_battery_options_step(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """The options form stores the negative-price choices."""
    from .flow_helpers import assert_has_strings

    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert "battery" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "battery"}
    )
    assert_has_strings(result, section="options")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "avoid_paid_exports": "pv_only",
            "charge_on_negative": True,
            "negative_charge_reserve": 80.0,
        },
    )
    await hass.async_block_till_done()
    assert loaded_entry.options == {
        "avoid_paid_exports": "pv_only",
        "charge_on_negative": True,
        "negative_charge_reserve": 80,
    }


async def test_time_based_control_repair_stays_quiet_while_forced(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """Self-powered at start: the repair is raised. During a forced mode it stays away even if
    the Powerwall reports another mode; once normal again, it is back."""
    from homeassistant.helpers import issue_registry as ir

    tesla.info["default_real_mode"] = "self_consumption"
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    issue_id = f"not_time_based_control_{config_entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    await advance(hass, frozen, timedelta(minutes=5))
    await call(hass, "force_charge", {"duration": 30})
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    tesla.info["default_real_mode"] = "self_consumption"  # changed in the Tesla app meanwhile
    await config_entry.runtime_data.site_info.async_refresh()
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    await call(hass, "restore_normal")
    await config_entry.runtime_data.site_info.async_refresh()
    await hass.async_block_till_done()
    assert tesla.info["default_real_mode"] == "self_consumption"  # the user's own mode is back
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None


async def test_forced_mode_on_a_fixed_plan_hands_back_the_fixed_plan(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
) -> None:
    """A fixed-plan entry: the forced plan goes out, and at the end the fixed plan returns,
    byte for byte; Amber is never called."""
    await setup_fixed_entry(hass)
    fixed_plan = tesla.tariff_writes[-1]
    await advance(hass, frozen, timedelta(minutes=5))
    await call(hass, "force_discharge", {"duration": 15})
    assert tesla.tariff_writes[-1] != fixed_plan
    assert state_value(hass, STATUS) == "forced_mode"
    await advance_to(hass, frozen, at(14, 28, 0))
    assert tesla.tariff_writes[-1] == fixed_plan
    assert state_value(hass, FORCED) == "off"
    assert amber.calls == []
