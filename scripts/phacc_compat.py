"""Port pytest-homeassistant-custom-component (PHACC) to the installed Home Assistant.

Run by `scripts/setup --ha current` with the venv's Python, after installing PHACC with --no-deps.
PHACC 0.13.375, the newest release, is built from Home Assistant 2026.10.4's test harness; we test
on 2026.11.0 (requirements_test_current.txt says why). One line of it no longer imports there:

  common.py: `from homeassistant.components.logger import (..., _clear_logger_overwrites)`:
  Home Assistant 2026.11 moved that test helper to homeassistant.components.logger.helpers.

This rewrites that import to the new module, and only where the installed Home Assistant no
longer has the old name (feature detection, no version numbers), so it does nothing to a PHACC
that already imports it from the right place, nor on Home Assistant versions that still have it.
Idempotent; fails loudly if PHACC's text is not what it expects. (The other 2026.11 change PHACC
trips over, importing httpx before Home Assistant, is handled in pyproject.toml's addopts.)

Usage: python scripts/phacc_compat.py
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys

OLD = """from homeassistant.components.logger import (
    DOMAIN as LOGGER_DOMAIN,
    SERVICE_SET_LEVEL,
    _clear_logger_overwrites,
)
"""
NEW = """from homeassistant.components.logger import (
    DOMAIN as LOGGER_DOMAIN,
    SERVICE_SET_LEVEL,
)
from homeassistant.components.logger.helpers import (  # scripts/phacc_compat.py
    _clear_logger_overwrites,
)
"""


def _source(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        sys.exit(f"{__file__}: {module} is not installed")
    return Path(spec.origin)


def main() -> int:
    """Patch PHACC's common.py when the installed Home Assistant needs it."""
    logger = _source("homeassistant.components.logger").read_text()
    if "def _clear_logger_overwrites" in logger:
        return 0  # this Home Assistant still has it where PHACC looks
    helpers = _source("homeassistant.components.logger.helpers").read_text()
    if "def _clear_logger_overwrites" not in helpers:
        sys.exit(f"{__file__}: _clear_logger_overwrites is in neither logger module")
    common = _source("pytest_homeassistant_custom_component.common")
    text = common.read_text()
    if NEW in text:
        return 0
    if OLD not in text:
        sys.exit(f"{__file__}: {common} does not import _clear_logger_overwrites as expected")
    common.write_text(text.replace(OLD, NEW))
    print(f"{__file__}: {common}: _clear_logger_overwrites from logger.helpers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
