"""Every action, fuzzed: whatever the service data, a call either works or is refused with an
error that says what is wrong.

Allowed outcomes of a call:
- success, with a response free of secrets;
- `vol.Invalid` from the action's schema, which Home Assistant itself raises before the action
  runs (Home Assistant 2025.4 does not wrap schema errors): accepted only when the schema alone
  rejects the data, and only when every error names its field;
- `ServiceValidationError` / `HomeAssistantError` from the action with this integration's
  translation key, every placeholder filled, and no secret in the text.
Anything else (a `KeyError`, `TypeError`, a raw `vol.Invalid` from inside the action, ...) or a
traceback in the log fails the test.

Also here: plans that must be refused before they can reach the Powerwall, whatever their source
(an imported fixed plan; the user's own plan saved before the first write).
"""

from __future__ import annotations

from collections.abc import Generator
import copy
from itertools import pairwise
import json
import math
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.tesla_amber_sync.const import DOMAIN
from custom_components.tesla_amber_sync.plan_source import PlanUnavailableError
from custom_components.tesla_amber_sync.plans import PlanError, load_plan, plan_to_tou
from custom_components.tesla_amber_sync.services import SERVICES
from custom_components.tesla_amber_sync.tou import encode_tariff
from custom_components.tesla_amber_sync.validate import validate_tariff

from .conftest import THREE_RATE, entry_data, setup_fixed_entry
from .fakes import AMBER_TOKEN, FakeAmber, FakeTesla, user_tariff
from .fault_helpers import STATUS, assert_clean_logs, secrets_in
from .flow_helpers import STRINGS
from .helpers import state_value

EXCEPTIONS: dict[str, dict[str, str]] = STRINGS["exceptions"]
PLACEHOLDER = re.compile(r"{(\w+)}")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
AMBER_ACTIONS = sorted(SERVICES)
FIELDS = ("config_entry_id", "duration", "target_reserve", "plan")


# --- strategies ---------------------------------------------------------------------------------

# Numbers a YAML action can carry. Infinities are left out of `duration` and `target_reserve`
# here: they crash the schema (see test_infinite_numbers_are_refused_with_a_clear_error).
FINITE = st.floats(allow_nan=True, allow_infinity=False)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
ANY_VALUE = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
NUMBERISH = st.one_of(
    st.integers(-5, 300),
    FINITE,
    st.sampled_from(["15", "240", "14", "241", " 30 ", "1e2", "30.5", "", "fifteen", "0x1f"]),
    st.none(),
    st.booleans(),
    st.lists(st.integers(0, 100), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)
PLAN_LEAVES = st.one_of(
    SCALARS,
    st.sampled_from(
        [
            "00:00",
            "24:00",
            "23:59",
            "7:30",
            "07:15",
            "25:00",
            "mon",
            "weekdays",
            "fri-mon",
            "sun-sat",
            "xyz",
            "02-29",
            "12-31",
            "13-01",
            "00-00",
            0.0,
            99.99,
            100.0,
            100.01,
            -0.01,
        ]
    ),
    st.lists(st.sampled_from(["mon", "tue", "sat", "sun", "all", 3]), max_size=3),
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Generator[tuple[Any, ...]]:
    """Every path to a value inside nested dicts and lists."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*path, index)
            yield from _paths(value, (*path, index))


@st.composite
def mutated_plans(draw: st.DrawFn) -> Any:
    """A valid plan with a few values replaced, keys removed or odd keys added: mostly almost
    right, which is where parsers break."""
    plan: Any = copy.deepcopy(THREE_RATE)
    for _ in range(draw(st.integers(0, 3))):
        paths = list(_paths(plan))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = plan
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(("replace", "replace", "delete", "add")))
        if action == "replace":
            parent[path[-1]] = draw(PLAN_LEAVES)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(PLAN_LEAVES)
        else:
            parent.append(draw(PLAN_LEAVES))
    return plan


# Entry ids are drawn as references and resolved in the test (the real ids exist only then).
LOADED, OTHER_DOMAIN, NOT_LOADED = "@loaded", "@other-domain", "@not-loaded"
ENTRY_IDS = st.sampled_from(
    [
        LOADED,
        LOADED,
        LOADED,
        OTHER_DOMAIN,
        NOT_LOADED,
        "nope",
        "",
        " ",
        "01JXXXXXXXXXXXXXXXXXXXXXXX",
    ]
)
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "config_entry_id": st.one_of(ENTRY_IDS, ENTRY_IDS, SCALARS),
    "duration": st.one_of(st.integers(10, 250), NUMBERISH),
    "target_reserve": st.one_of(st.integers(-5, 105), NUMBERISH),
    "plan": st.one_of(mutated_plans(), mutated_plans(), ANY_VALUE),
}
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "force_discharge": ("config_entry_id", "duration"),
    "force_charge": ("config_entry_id", "duration", "target_reserve"),
    "import_plan": ("config_entry_id", "plan"),
}


def service_data(action: str) -> st.SearchStrategy[dict[str, Any]]:
    """Data for `action`: its own fields (present or not) with right, wrong and odd values, and
    now and then a stray key (another action's field, or anything)."""
    fields = ACTION_FIELDS.get(action, ("config_entry_id",))
    own = st.fixed_dictionaries({}, optional={field: FIELD_VALUES[field] for field in fields})
    stray = st.dictionaries(
        st.sampled_from(FIELDS) | st.text(min_size=1, max_size=8), ANY_VALUE, min_size=1, max_size=2
    )
    # A stray key about one time in four (Hypothesis's own choices lean towards the first option).
    extra = st.tuples(st.booleans(), st.booleans()).flatmap(
        lambda coin: stray if all(coin) else st.just({})
    )
    return st.builds(lambda mine, more: {**more, **mine}, own, extra)


def resolve(data: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """The drawn data with entry references replaced by real entry ids."""
    ref = data.get("config_entry_id")
    if isinstance(ref, str) and ref in ids:
        return {**data, "config_entry_id": ids[ref]}
    return data


# --- the oracle ---------------------------------------------------------------------------------


def _assert_explains(err: HomeAssistantError) -> None:
    """A refusal in the integration's own words, completely filled in, with no secret."""
    assert err.translation_domain == DOMAIN, err
    assert err.translation_key in EXCEPTIONS, err.translation_key
    wanted = set(PLACEHOLDER.findall(EXCEPTIONS[err.translation_key]["message"]))
    given_ = set((err.translation_placeholders or {}).keys())
    assert wanted <= given_, (err.translation_key, wanted - given_)
    text = str(err)
    assert text
    assert not PLACEHOLDER.search(text), text
    assert not secrets_in(text + json.dumps(err.translation_placeholders, default=str))


async def call_and_check(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    action: str,
    data: dict[str, Any],
    return_response: bool,
) -> Any:
    """Make one call; fail unless its outcome is one of the allowed ones (module docstring)."""
    caplog.clear()
    schema = hass.services.async_services()[DOMAIN][action].schema
    assert schema is not None
    try:
        schema(copy.deepcopy(data))
    except vol.Invalid:
        schema_ok = False
    else:
        schema_ok = True
    response: Any = None
    refusal: HomeAssistantError | vol.Invalid | None = None
    try:
        response = await hass.services.async_call(
            DOMAIN, action, copy.deepcopy(data), blocking=True, return_response=return_response
        )
    except (HomeAssistantError, vol.Invalid) as err:  # anything else fails the test
        refusal = err
    if isinstance(refusal, vol.Invalid):
        assert not schema_ok, f"vol.Invalid raised from inside the action: {refusal}"
        errors = refusal.errors if isinstance(refusal, vol.MultipleInvalid) else [refusal]
        for error in errors:
            # Each error names its field, however the validator words it: voluptuous (2025.4)
            # "... @ data['duration']", probatio (2026.11) "... at 'duration'".
            assert error.path, str(error)
            field, text = error.path[0], str(error)
            assert repr(field) in text or f"'{field}'" in text, text
    elif refusal is not None:  # ServiceValidationError, or a refusal to push (push_refused)
        assert schema_ok, "the schema refused this, so Home Assistant should have said so"
        _assert_explains(refusal)
    else:
        assert schema_ok
        assert not secrets_in(json.dumps(response, default=str))
    await hass.async_block_till_done()
    assert_clean_logs(caplog)
    return response


def response_mode(action: str, draw_optional: bool) -> bool:
    """Ask for a response where the action insists, never where it cannot, else either."""
    supports = SERVICES[action][1]
    if supports is SupportsResponse.ONLY:
        return True
    if supports is SupportsResponse.NONE:
        return False
    return draw_optional


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def other_entries(hass: HomeAssistant) -> dict[str, str]:
    """Entries that are not a loaded entry of ours: another integration's, and one of ours that
    is not set up."""
    sun = MockConfigEntry(domain="sun", title="Sun")
    sun.add_to_hass(hass)
    idle = MockConfigEntry(domain=DOMAIN, title="Idle", unique_id="42", data=entry_data())
    idle.add_to_hass(hass)
    return {OTHER_DOMAIN: sun.entry_id, NOT_LOADED: idle.entry_id}


# --- fuzzing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", AMBER_ACTIONS)
@FUZZ
@given(draw=st.data(), want=st.booleans())
async def test_fuzz_actions_on_an_amber_entry(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    loaded_entry: MockConfigEntry,
    other_entries: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    action: str,
    draw: st.DataObject,
    want: bool,
) -> None:
    """Any data, any action, on an Amber entry: works or is refused in words."""
    data = resolve(
        draw.draw(service_data(action)), {LOADED: loaded_entry.entry_id, **other_entries}
    )
    await call_and_check(hass, caplog, action, data, response_mode(action, want))


@pytest.mark.parametrize(
    "action",
    ["import_plan", "export_plan", "sync_now", "preview_tariff", "force_charge", "dashboard"],
)
@FUZZ
@given(draw=st.data(), want=st.booleans())
async def test_fuzz_actions_on_a_fixed_plan_entry(
    hass: HomeAssistant,
    fixed_entry: MockConfigEntry,
    other_entries: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    action: str,
    draw: st.DataObject,
    want: bool,
) -> None:
    """The plan actions on the entry they are for. An imported plan must be one the Powerwall
    can be sent: whatever import_plan accepts, the entry can build a valid tariff from."""
    data = resolve(draw.draw(service_data(action)), {LOADED: fixed_entry.entry_id, **other_entries})
    before = dict(fixed_entry.options)
    response = await call_and_check(hass, caplog, action, data, response_mode(action, want))
    if action != "import_plan" or fixed_entry.options == before:
        return
    # Accepted: stored as returned, and buildable into a tariff that validates.
    assert response is None or response["plan"] == fixed_entry.options["fixed_plan"]
    try:
        build = fixed_entry.runtime_data.sync.build()
    except PlanUnavailableError as err:
        pytest.fail(f"import_plan accepted a plan that cannot be sent: {err}")
    validate_tariff(build.tariff)


NAMES = st.one_of(
    st.text(min_size=1, max_size=12).filter(lambda t: t.strip()),
    st.sampled_from(
        ["ALL", "all", "Peak", "Peak!", "Off-peak", "Off peak", "日本", "__", "x" * 60]
    ),
)
RATES = st.floats(0, 100, allow_nan=False)


def _month_end(month: int) -> int:
    return (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]


@st.composite
def valid_plans(draw: st.DrawFn) -> dict[str, Any]:
    """Plans valid by construction: one or two seasons covering the year, day groups whose
    periods tile each day on half hours (one may wrap midnight), any names, any legal rates."""
    names: set[str] = set()

    def name() -> str:
        text = draw(NAMES)
        while text.strip().casefold() in names:
            text += "+"
        names.add(text.strip().casefold())
        return text

    split = draw(st.one_of(st.none(), st.integers(2, 12)))
    spans = (
        [("01-01", "12-31")]
        if split is None
        else [
            ("01-01", f"{split - 1:02d}-{_month_end(split - 1):02d}"),
            (f"{split:02d}-01", "12-31"),
        ]
    )
    seasons = []
    for start, end in spans:
        groups = draw(
            st.sampled_from([["all"], ["weekdays", "weekends"], [["mon", "tue"], "wed-sun"]])
        )
        periods = []
        for days in groups:
            cuts = sorted(draw(st.sets(st.integers(1, 47), max_size=4)))
            edges = [0, *cuts, 48]
            pieces = list(pairwise(edges))
            if len(pieces) > 2 and draw(st.booleans()):  # one period across midnight
                pieces = [(pieces[-1][0], pieces[0][1]), *pieces[1:-1]]
            for first, last in pieces:
                demand = draw(st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)))
                period = {
                    "name": name(),
                    "days": days,
                    "from": f"{first // 2:02d}:{first % 2 * 30:02d}",
                    "to": f"{last // 2:02d}:{last % 2 * 30:02d}",
                    "buy": draw(RATES),
                    "sell": draw(RATES),
                }
                if demand is not None:
                    period["demand"] = demand
                periods.append(period)
        seasons.append({"name": name(), "from": start, "to": end, "periods": periods})
    return {
        "name": draw(NAMES),
        "utility": draw(st.text(max_size=10)),
        "daily_supply_charge": draw(st.floats(0, 1e4, allow_nan=False)),
        "seasons": seasons,
    }


@settings(max_examples=200, deadline=None)
@given(plan=valid_plans())
def test_valid_plans_are_accepted_and_encode_to_valid_tariffs(plan: dict[str, Any]) -> None:
    """Any plan that is right by construction is accepted by the plan checks and expands to a
    tariff the validator passes (names that collide, slug to nothing or to ALL included)."""
    validate_tariff(encode_tariff(plan_to_tou(load_plan(plan))))


@settings(max_examples=300, deadline=None)
@given(plan=mutated_plans())
def test_every_plan_import_accepts_encodes_to_a_valid_tariff(plan: Any) -> None:
    """Without demand options, the plan checks and the tariff validator agree: a plan that
    import_plan would accept always expands to a tariff the validator passes."""
    try:
        loaded = load_plan(plan)
    except PlanError:
        return
    validate_tariff(encode_tariff(plan_to_tou(loaded)))


@pytest.mark.parametrize("field", ["duration", "target_reserve"])
@pytest.mark.parametrize("value", [math.inf, -math.inf], ids=["inf", "-inf"])
async def test_infinite_numbers_are_refused_with_a_clear_error(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: float,
) -> None:
    """YAML's `.inf` is a float like any other: refused with a schema error naming the field."""
    data: dict[str, Any] = {"duration": 30, field: value}
    with pytest.raises(vol.Invalid) as err:
        await hass.services.async_call(DOMAIN, "force_charge", data, blocking=True)
    assert field in str(err.value)


# --- plans that must never reach the Powerwall ---------------------------------------------------

DEMAND_SURCHARGE: dict[str, Any] = {
    "demand_enabled": True,
    "demand_rate": 10.0,
    "demand_rate_basis": "per_kw_month",
    "demand_window_source": "fixed",
    "demand_start": "16:00",
    "demand_end": "21:00",
    "demand_days": "all",
    "demand_billing_day": 1,
    "demand_in_plan": "surcharge",
    "demand_surcharge": 0.5,
}
DEMAND_RATES = {**DEMAND_SURCHARGE, "demand_in_plan": "demand_rates"}


def _flat_plan(buy: float, names: tuple[str, str] = ("Peak", "Off-peak")) -> dict[str, Any]:
    """A two-period plan: `names[0]` 15:00-21:00 at `buy`, `names[1]` the rest."""
    return {
        "name": "Edge plan",
        "utility": "Example Energy",
        "daily_supply_charge": 1.0,
        "seasons": [
            {
                "name": "All year",
                "from": "01-01",
                "to": "12-31",
                "periods": [
                    {
                        "name": names[0],
                        "days": "all",
                        "from": "15:00",
                        "to": "21:00",
                        "buy": buy,
                        "sell": 0.05,
                    },
                    {
                        "name": names[1],
                        "days": "all",
                        "from": "21:00",
                        "to": "15:00",
                        "buy": 0.2,
                        "sell": 0.05,
                    },
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    ("options", "plan"),
    [
        pytest.param(
            DEMAND_SURCHARGE,
            _flat_plan(99.9),
            id="surcharge-lifts-buy-past-the-limit",
        ),
        pytest.param(
            DEMAND_RATES,
            _flat_plan(0.55, ("Peak", "Peak DW")),
            id="demand-split-name-collides",
        ),
        pytest.param({}, _flat_plan(100.0), id="buy-at-the-limit"),
    ],
)
async def test_import_refuses_plans_whose_tariff_would_be_invalid(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    caplog: pytest.LogCaptureFixture,
    options: dict[str, Any],
    plan: dict[str, Any],
) -> None:
    """A plan that passes the plan checks but, with this entry's settings, would not make a
    valid tariff is refused at import (not stored, and then refused at every push)."""
    entry = await setup_fixed_entry(hass, options)
    writes = len(tesla.tariff_writes)
    try:
        await hass.services.async_call(
            DOMAIN, "import_plan", {"plan": plan}, blocking=True, return_response=True
        )
    except ServiceValidationError as err:
        _assert_explains(err)
        assert entry.options["fixed_plan"] == THREE_RATE
    await hass.async_block_till_done()
    # Whatever was stored must be sendable, and nothing invalid ever reached the Powerwall.
    build = entry.runtime_data.sync.build()
    validate_tariff(build.tariff)
    for body in tesla.tariff_writes[writes:]:
        validate_tariff(body)
    assert_clean_logs(caplog)


async def test_invalid_tariffs_never_reach_the_powerwall(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Even when a bad plan gets stored, the validator stops it before the Powerwall: the push
    is refused with the reason, and nothing is written."""
    entry = await setup_fixed_entry(hass, DEMAND_SURCHARGE)
    writes = len(tesla.tariff_writes)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "fixed_plan": _flat_plan(99.9)}
    )
    await hass.async_block_till_done()
    assert len(tesla.tariff_writes) == writes
    response = await hass.services.async_call(
        DOMAIN, "sync_now", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["result"] == "refused"
    assert "above the 100 $/kWh" in response["reason"]
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "sync_now", {}, blocking=True)
    _assert_explains(err.value)
    assert len(tesla.tariff_writes) == writes
    assert_clean_logs(caplog)


def _user_plan(**changes: Any) -> dict[str, Any]:
    """A user's flat plan in Tesla's format (as the fakes' site_info holds it), changed."""
    plan = user_tariff()
    plan.update(changes)
    return plan


def _without_sell_side() -> dict[str, Any]:
    plan = user_tariff()
    del plan["sell_tariff"]
    return plan


def _half_a_day() -> dict[str, Any]:
    plan = user_tariff()
    window = plan["seasons"]["Year"]["tou_periods"]["ALL"]["periods"][0]
    window.update(toHour=12, toMinute=0)
    return plan


def _missing_time_fields() -> dict[str, Any]:
    plan = user_tariff()
    window = plan["seasons"]["Year"]["tou_periods"]["ALL"]["periods"][0]
    del window["toHour"], window["toMinute"]
    return plan


# Malformed plans that Tesla could hand back as the user's own (shapes our code can read).
GARBAGE_ORIGINALS = [
    pytest.param(_without_sell_side(), id="no-sell-side"),
    pytest.param(_half_a_day(), id="covers-half-a-day"),
    pytest.param(_missing_time_fields(), id="missing-time-fields"),
    pytest.param(
        _user_plan(energy_charges={"ALL": {"rates": {"ALL": 0}}, "Year": {"rates": {"ALL": -0.3}}}),
        id="negative-rate",
    ),
    pytest.param(
        _user_plan(energy_charges={"ALL": {"rates": {"ALL": 0}}, "Year": {"rates": {"ALL": 300}}}),
        id="cents-as-dollars",
    ),
    pytest.param({"code": "USER:EMPTY", "name": "Empty"}, id="almost-empty"),
]


@pytest.mark.parametrize("original", GARBAGE_ORIGINALS)
async def test_restore_refuses_a_malformed_original(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    original: dict[str, Any],
) -> None:
    """The Powerwall held a malformed plan before our first write: restoring it is refused with
    the validator's reason, and nothing is written."""
    tesla.info["tariff_content_v2"] = copy.deepcopy(original)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.runtime_data.sync.memory.original_plan == original
    writes = len(tesla.tariff_writes)
    response = await hass.services.async_call(
        DOMAIN, "restore_original_plan", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["result"] == "refused"
    assert response["reason"].startswith("the saved original plan is not valid:")
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "restore_original_plan", {}, blocking=True)
    _assert_explains(err.value)
    assert "not valid" in str(err.value)
    assert len(tesla.tariff_writes) == writes
    for body in tesla.tariff_writes:
        validate_tariff(body)
    assert_clean_logs(caplog)


async def test_refused_restore_leaves_auto_sync_on(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    amber: FakeAmber,
    tesla: FakeTesla,
    config_entry: MockConfigEntry,
) -> None:
    """Nothing was restored, so nothing else changes: auto-sync stays on."""
    tesla.info["tariff_content_v2"] = _without_sell_side()
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    response = await hass.services.async_call(
        DOMAIN, "restore_original_plan", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["result"] == "refused"
    assert state_value(hass, "switch.home_powerwall_auto_sync") == "on"
    assert state_value(hass, STATUS) != "disabled"


def test_secret_check_sees_the_tokens() -> None:
    """The oracle's secret check would catch a leak (so its silence means something)."""
    assert secrets_in(f"error for {AMBER_TOKEN}") == [AMBER_TOKEN]
    assert secrets_in("HTTP 401 (***)") == []
