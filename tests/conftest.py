"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Generator
import logging

import pytest

pytest_plugins = ["pytest_homeassistant_custom_component"]

DEPRECATION_MARK = "Detected that custom integration"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components/."""


@pytest.fixture(autouse=True)
def fail_on_deprecation_report(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail any test during which Home Assistant reports deprecated use by our code.

    Newer Home Assistant releases turn these reports into errors, and our users run newer
    releases than the one the tests pin.
    """
    caplog.set_level(logging.WARNING, logger="homeassistant")
    yield
    reports = [r.getMessage() for r in caplog.records if DEPRECATION_MARK in r.getMessage()]
    assert not reports, f"Home Assistant reported deprecated use: {reports}"
