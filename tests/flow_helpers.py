"""Helpers for the config-flow and API-client tests: strings, forms, Tesla Fleet sign-in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.config_entries import ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section as flow_section
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.tesla_amber_sync.const import DOMAIN

STRINGS_PATH = (
    Path(__file__).parent.parent / "custom_components" / "tesla_amber_sync" / "strings.json"
)
STRINGS: dict[str, Any] = json.loads(STRINGS_PATH.read_text(encoding="utf-8"))

FLEET_AUTHORIZE_URL = "https://auth.tesla.com/oauth2/v3/authorize"
FLEET_TOKEN_URL = "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token"
CLIENT_ID = "client-id"
CLIENT_SECRET = "client-secret"
AUTH_IMPLEMENTATION = "imported-cred"
REDIRECT_URI = "https://example.com/auth/external/callback"

_PLACEHOLDER = re.compile(r"{(\w+)}")


def _placeholders(text: str | None) -> set[str]:
    return set(_PLACEHOLDER.findall(text or ""))


def _check_placeholders(text: str | None, result: ConfigFlowResult, where: str) -> None:
    wanted = _placeholders(text)
    given = set(result.get("description_placeholders") or {})
    missing = wanted - given
    assert not missing, f"{where}: the text needs {sorted(missing)} but the flow gave {given}"


def assert_has_strings(
    result: ConfigFlowResult, *, section: str = "config", placeholders: bool = True
) -> None:
    """The step, its fields, errors, menu choices or abort reason all have text in strings.json.

    With `placeholders`, every `{placeholder}` the shown text uses must also be supplied by the
    flow (the frontend cannot fill it otherwise).
    """
    texts = STRINGS[section]
    kind = result["type"]
    if kind in (FlowResultType.FORM, FlowResultType.MENU):
        step_id = result["step_id"]
        assert step_id in texts["step"], f"no strings for {section} step {step_id!r}"
        step = texts["step"][step_id]
        if placeholders:
            _check_placeholders(step.get("description"), result, f"step {step_id}")
    if kind is FlowResultType.FORM:
        schema = result["data_schema"]
        for key, value in schema.schema.items() if schema is not None else ():
            if isinstance(value, flow_section):
                texts_of = step.get("sections", {}).get(str(key), {})
                assert texts_of.get("name"), f"no name for section {key} of {step_id}"
                for inner in value.schema.schema:
                    assert str(inner) in texts_of.get("data", {}), (
                        f"no label for field {inner} in section {key} of {step_id}"
                    )
                continue
            assert str(key) in step.get("data", {}), f"no label for field {key} of {step_id}"
        for error in (result.get("errors") or {}).values():
            assert error in texts["error"], f"no strings for error {error!r}"
    elif kind is FlowResultType.MENU:
        for option in result["menu_options"]:
            assert option in step["menu_options"], f"no text for menu option {option!r}"
    elif kind is FlowResultType.ABORT:
        reason = result["reason"]
        assert reason in texts["abort"], f"no strings for abort reason {reason!r}"
        if placeholders:
            _check_placeholders(texts["abort"][reason], result, f"abort {reason}")


def schema_fields(result: ConfigFlowResult) -> list[str]:
    """Field names of a form, in order."""
    return [str(key) for key in result["data_schema"].schema]


def schema_sections(result: ConfigFlowResult) -> dict[str, tuple[bool, list[str]]]:
    """Sections of a form: name -> (collapsed, the names of its fields)."""
    return {
        str(key): (
            bool(value.options.get("collapsed")),
            [str(inner) for inner in value.schema.schema],
        )
        for key, value in result["data_schema"].schema.items()
        if isinstance(value, flow_section)
    }


def schema_defaults(result: ConfigFlowResult) -> dict[str, Any]:
    """Default value of each form field that has one."""
    defaults: dict[str, Any] = {}
    for key in result["data_schema"].schema:
        default = getattr(key, "default", None)
        if callable(default):
            value = default()
            defaults[str(key)] = value
    return defaults


def select_options(result: ConfigFlowResult, field: str) -> list[tuple[str, str]]:
    """(value, label) of a select field."""
    for key, selector in result["data_schema"].schema.items():
        if str(key) == field:
            return [(o["value"], o["label"]) for o in selector.config["options"]]
    raise AssertionError(f"no field {field}")


async def setup_fleet_credentials(hass: HomeAssistant) -> None:
    """The user's Tesla developer app, as application credentials."""
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass, DOMAIN, ClientCredential(CLIENT_ID, CLIENT_SECRET), AUTH_IMPLEMENTATION
    )


def fleet_token(
    access: str = "fleet-access-1", refresh: str = "fleet-refresh-1", expires_in: int = 3600
) -> dict[str, Any]:
    """What Tesla's token endpoint answers."""
    return {
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": expires_in,
        "token_type": "Bearer",
    }


async def finish_fleet_sign_in(
    hass: HomeAssistant,
    hass_client_no_auth: Callable[[], Awaitable[Any]],
    aioclient_mock: AiohttpClientMocker,
    result: ConfigFlowResult,
    *,
    token: dict[str, Any] | None = None,
) -> ConfigFlowResult:
    """From the external sign-in step: Tesla redirects back with a code, HA swaps it for a token."""
    assert result["type"] is FlowResultType.EXTERNAL_STEP, result
    state = config_entry_oauth2_flow._encode_jwt(
        hass, {"flow_id": result["flow_id"], "redirect_uri": REDIRECT_URI}
    )
    client = await hass_client_no_auth()
    resp = await client.get(f"/auth/external/callback?code=abcd&state={state}")
    assert resp.status == 200
    aioclient_mock.post(FLEET_TOKEN_URL, json=token or fleet_token())
    return await hass.config_entries.flow.async_configure(result["flow_id"])


def authorizations(aioclient_mock: AiohttpClientMocker, url_prefix: str) -> list[str]:
    """The Authorization header of every request sent to URLs starting with `url_prefix`."""
    return [
        (headers or {}).get("Authorization", "")
        for _method, url, _data, headers in aioclient_mock.mock_calls
        if str(url).startswith(url_prefix)
    ]
