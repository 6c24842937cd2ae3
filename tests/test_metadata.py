"""What hassfest and HACS would check: manifest, hacs.json, strings, services, icons, brand."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from awesomeversion import AwesomeVersion
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.tesla_amber_sync.const import DOMAIN

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / DOMAIN


def load(name: str) -> Any:
    return json.loads((INTEGRATION / name).read_text(encoding="utf-8"))


def test_manifest_keys_values_and_order() -> None:
    """domain, name, then the rest alphabetically, as hassfest demands."""
    manifest = load("manifest.json")
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == DOMAIN
    assert manifest["name"] == "Tesla Amber Sync"
    assert manifest["config_flow"] is True
    assert manifest["dependencies"] == ["application_credentials"]
    assert manifest["integration_type"] == "hub"
    assert manifest["iot_class"] == "cloud_polling"
    assert manifest["requirements"] == []
    for key in ("documentation", "issue_tracker", "codeowners", "version"):
        assert manifest[key]
    assert set(keys) == {
        "domain",
        "name",
        "codeowners",
        "config_flow",
        "dependencies",
        "documentation",
        "integration_type",
        "iot_class",
        "issue_tracker",
        "requirements",
        "version",
    }


def test_hacs_json() -> None:
    """Only the keys HACS knows; the oldest Home Assistant declared is the one the minimum job
    tests on, and README says the same."""
    hacs = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
    assert hacs == {"name": "Tesla Amber Sync", "homeassistant": "2025.4.4", "country": "AU"}
    assert (ROOT / "info.md").read_text(encoding="utf-8").strip()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Requires Home Assistant {hacs['homeassistant']} or newer" in readme
    running = AwesomeVersion(ha_version)
    assert running >= AwesomeVersion(hacs["homeassistant"])
    if running.section(0) == 2025 and running.section(1) == 4:  # the minimum job
        assert hacs["homeassistant"] == ha_version


def test_brand_icon() -> None:
    """A 256x256 PNG (HA 2026.3+ shows it)."""
    data = (INTEGRATION / "brand" / "icon.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (256, 256)


def test_translations_match_strings() -> None:
    """translations/en.json is strings.json."""
    assert load("strings.json") == load("translations/en.json")


def _flow_literals() -> tuple[set[str], set[str], set[str]]:
    """Step ids shown (forms and menus), error keys and abort reasons written in the flows."""
    steps: set[str] = set()
    errors: set[str] = set()
    aborts: set[str] = set()
    for name in ("config_flow.py", "options_flow.py"):
        tree = ast.parse((INTEGRATION / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and isinstance(node.value, ast.Constant):
                if node.arg == "reason":
                    aborts.add(node.value.value)
                if node.arg == "step_id":
                    steps.add(node.value.value)
            if (
                isinstance(node, ast.Return)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and node.value.value.islower()
            ):
                errors.add(node.value.value)
            if isinstance(node, ast.Dict) and any(
                isinstance(k, ast.Constant) and k.value == "base" for k in node.keys
            ):
                errors.update(v.value for v in node.values if isinstance(v, ast.Constant))
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                target = node.targets[0]
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.slice, ast.Constant)
                    and target.slice.value == "base"
                ):
                    errors.add(node.value.value)
    return steps, errors, aborts


def test_every_flow_step_error_and_abort_has_a_string() -> None:
    """Nothing in the wizard shows a raw key."""
    strings = load("strings.json")
    steps, errors, aborts = _flow_literals()
    config_steps = set(strings["config"]["step"])
    options_steps = set(strings["options"]["step"])
    assert {"user", "teslemetry", "reconfigure", "init"} <= steps
    for step in steps:
        assert step in config_steps | options_steps, f"no string for step {step}"
    errors.discard("base")
    for error in errors:
        assert error in strings["config"]["error"] or error in strings["config"]["abort"], error
    for reason in aborts:
        assert reason in strings["config"]["abort"], f"no string for abort {reason}"
    # Aborts Home Assistant's OAuth helper can raise for us.
    for reason in (
        "missing_credentials",
        "missing_configuration",
        "authorize_url_timeout",
        "no_url_available",
        "oauth_error",
        "oauth_failed",
        "oauth_timeout",
        "oauth_unauthorized",
        "user_rejected_authorize",
        "already_configured",
        "reauth_successful",
        "reconfigure_successful",
    ):
        assert reason in strings["config"]["abort"], reason
    for menu in ("tesla_provider", "reauth"):
        assert strings["config"]["step"][menu]["menu_options"]


async def test_services_yaml_matches_registered_actions(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Every registered action is described in services.yaml and strings.json, and no other."""
    described = yaml.safe_load((INTEGRATION / "services.yaml").read_text(encoding="utf-8"))
    registered = set(hass.services.async_services_for_domain(DOMAIN))
    assert set(described) == registered
    strings = load("strings.json")["services"]
    assert set(strings) == registered
    for name, spec in described.items():
        fields = set((spec or {}).get("fields", {}))
        assert set(strings[name].get("fields", {})) == fields, name
        assert strings[name]["name"]
        assert strings[name]["description"]


async def test_icons_name_only_existing_keys(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """icons.json refers to real entity translation keys and real actions."""
    icons = load("icons.json")
    strings = load("strings.json")
    for platform, keys in icons["entity"].items():
        for key in keys:
            assert key in strings["entity"][platform], f"icon for unknown {platform}.{key}"
    assert set(icons.get("services", {})) <= set(hass.services.async_services_for_domain(DOMAIN))


async def test_every_entity_has_a_translated_name(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Each created entity's translation key has a name in strings.json."""
    strings = load("strings.json")["entity"]
    entries = er.async_entries_for_config_entry(er.async_get(hass), loaded_entry.entry_id)
    assert entries
    for entry in entries:
        assert entry.translation_key, entry.entity_id
        assert strings[entry.domain][entry.translation_key]["name"], entry.entity_id
        assert entry.unique_id.startswith(f"{loaded_entry.unique_id}_")
