"""The README's examples are real: its YAML parses and its plan passes every check."""

from __future__ import annotations

from pathlib import Path
import re

import yaml

from custom_components.tesla_amber_sync.plans import load_plan, plan_to_tou, validate_plan
from custom_components.tesla_amber_sync.tou import encode_tariff
from custom_components.tesla_amber_sync.validate import validate_tariff

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def yaml_blocks() -> list[object]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", README, re.S)]


def test_every_yaml_example_parses() -> None:
    """Copy-pasting an example must not fail on syntax."""
    blocks = yaml_blocks()
    assert len(blocks) >= 3


def test_the_worked_plan_example_is_valid() -> None:
    """The fixed-plan example imports, has no warnings, and encodes to a valid Powerwall plan."""
    action = next(
        b
        for b in yaml_blocks()
        if isinstance(b, dict) and b.get("action", "").endswith("import_plan")
    )
    plan = load_plan(action["data"]["plan"])
    assert validate_plan(plan).warnings == []
    tariff = encode_tariff(plan_to_tou(plan))
    validate_tariff(tariff)
    assert set(tariff["seasons"]) == {"SUMMER", "REST_OF_YEAR"}
    assert set(tariff["seasons"]["SUMMER"]["tou_periods"]) == {
        "PEAK",
        "SHOULDER",
        "EVENING_SHOULDER",
        "WEEKEND_SHOULDER",
        "OFF_PEAK",
    }
