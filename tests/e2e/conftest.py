"""Fixtures for the browser test: the demo stack in a child process and headless Chromium.

The stack is `scripts/demo.py --no-integration`: the simulator and a real Home Assistant
(`--skip-pip`) in a temporary folder, onboarded through the API, nothing else. The browser is
Debian's Chromium driven by Playwright. Neither runs inside this pytest process, so the
repository-wide autouse fixtures (which patch an in-process Home Assistant) are switched off here,
and sockets are allowed: the test talks to both over loopback.

Missing Chromium, Playwright or Home Assistant's frontend fail the test, or skip it when
TAS_E2E_OPTIONAL=1 (for machines that cannot install them). CI installs all three.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
import contextlib
import ctypes
import importlib.util
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "scripts" / "demo.py"
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("TAS_E2E_CHROMIUM", "/usr/bin/chromium"))
OPTIONAL_ENV = "TAS_E2E_OPTIONAL"
STACK_START_TIMEOUT = 180.0
STACK_STOP_TIMEOUT = 60.0
# Without the background-networking switches Chromium keeps trying to reach Google's services,
# which this test must not depend on (CI has no internet).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT_WIDTH, VIEWPORT_HEIGHT = 1280, 900
TALL_HEIGHT = 1500  # device pages
BRAND_ICONS = REPO / "custom_components" / "tesla_amber_sync" / "brand"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (this conftest is loaded only for tests/e2e)."""
    config.addinivalue_line(
        "markers", "e2e: real Home Assistant + simulator + headless Chromium (about a minute)"
    )


# --- the repository-wide autouse fixtures do not apply here ----------------------------------


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Home Assistant runs in a child process, which loads custom_components by itself."""


@pytest.fixture(autouse=True)
def fail_on_deprecation_report() -> None:
    """The child's log is checked for deprecation reports by the test instead."""


@pytest.fixture(autouse=True)
def no_retry_waits() -> None:
    """No in-process API clients to speed up."""


@pytest.fixture(autouse=True)
def loopback_sockets(socket_enabled: None) -> None:
    """The test talks to the simulator and Home Assistant over loopback."""


# --- prerequisites ----------------------------------------------------------------------------


def require(ok: bool, reason: str) -> None:
    """Fail with `reason`, or skip when TAS_E2E_OPTIONAL=1."""
    if ok:
        return
    if os.environ.get(OPTIONAL_ENV) == "1":
        pytest.skip(f"{reason} ({OPTIONAL_ENV}=1)")
    pytest.fail(f"{reason}. Set {OPTIONAL_ENV}=1 to skip this test instead.", pytrace=False)


def check_prerequisites() -> None:
    """Chromium, Playwright and Home Assistant's frontend, before anything is started."""
    require(CHROMIUM.is_file(), f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    require(
        importlib.util.find_spec("playwright") is not None,
        "Playwright is not installed: pip install -r requirements_e2e.txt",
    )
    require(
        importlib.util.find_spec("hass_frontend") is not None,
        "Home Assistant's frontend is not installed: pip install -r requirements_e2e.txt",
    )


def _load_libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - not Linux
        return None


_LIBC = _load_libc()


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """The stack gets SIGTERM if pytest dies, even by SIGKILL (Linux)."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no such file)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


# --- the stack ---------------------------------------------------------------------------------


@pytest.fixture
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The simulator and an onboarded Home Assistant; the demo's state file as a dict."""
    check_prerequisites()
    root = tmp_path_factory.mktemp("e2e-stack")
    state_file = root / "state.json"
    output = root / "demo.out"
    with output.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            [
                sys.executable,
                str(DEMO),
                "--root",
                str(root),
                "--ha-port",
                "0",
                "--sim-port",
                "0",
                "--no-integration",
                "--state-file",
                str(state_file),
            ],
            cwd=REPO,
            # pytest-cov would follow the children (COV_CORE_*): Home Assistant would then record
            # coverage of the integration under the temporary folder, and the combined report
            # would name files that no longer exist.
            env={k: v for k, v in os.environ.items() if not k.startswith("COV_CORE_")},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only asks for SIGTERM on parent death
        )
    state: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + STACK_START_TIMEOUT
        while not state_file.exists():
            if proc.poll() is not None:
                pytest.fail(
                    f"scripts/demo.py exited with {proc.returncode} while starting:\n"
                    f"{_tail(output)}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the stack was not ready after {STACK_START_TIMEOUT:.0f} s:\n{_tail(output)}",
                    pytrace=False,
                )
            time.sleep(0.25)
        state = json.loads(state_file.read_text())
        state["demo_output"] = str(output)
        yield state
    finally:
        _stop_stack(proc, state, output)


def _stop_stack(proc: subprocess.Popen[bytes], state: dict[str, Any], output: Path) -> None:
    """SIGINT, as Ctrl-C would; then make sure nothing is left behind."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(STACK_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(f"scripts/demo.py did not stop on SIGINT:\n{_tail(output)}")
    hass_pid = state.get("hass_pid")
    if hass_pid:
        deadline = time.monotonic() + 10
        while _alive(hass_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(hass_pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(hass_pid, signal.SIGKILL)
            pytest.fail(f"Home Assistant (pid {hass_pid}) outlived scripts/demo.py")


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture
def page(stack: dict[str, Any]) -> Generator[Any]:
    """A fresh headless Chromium page (new profile), with a blocked outside world."""
    from playwright.sync_api import Route, sync_playwright

    def brands(route: Route) -> None:
        # The frontend asks brands.home-assistant.io for icons. There is no internet here:
        # answer with the integration's own icon (which Home Assistant 2026.3+ serves by itself)
        # and 404 for the rest, so that screenshots show no broken images and nothing waits.
        url = route.request.url
        if "/tesla_amber_sync/" in url:
            name = "icon@2x.png" if "@2x" in url else "icon.png"
            route.fulfill(path=BRAND_ICONS / name, content_type="image/png")
        else:
            route.fulfill(status=404, body="")

    def outside(route: Route) -> None:
        route.abort()

    with (
        tempfile.TemporaryDirectory(prefix="tas-e2e-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT},
            locale="en-AU",
            timezone_id="Australia/Sydney",
        )
        try:
            context.route("https://brands.home-assistant.io/**", brands)
            context.route(_outside_pattern(stack["ha_url"], stack["sim_url"]), outside)
            browser_page = context.pages[0] if context.pages else context.new_page()
            browser_page.set_default_timeout(30_000)
            yield browser_page
        finally:
            context.close()


def _outside_pattern(*allowed: str) -> Callable[[str], bool]:
    """Anything but our two servers and the brand icons (handled above)."""
    prefixes = tuple(allowed)

    def match(url: str) -> bool:
        return url.startswith(("http://", "https://", "ws://", "wss://")) and not (
            url.startswith(prefixes) or url.startswith("https://brands.home-assistant.io/")
        )

    return match


@pytest.fixture
def shot(page: Any) -> Callable[..., Path]:
    """Save a screenshot as artifacts/screenshots/<name>.png (old ones are removed first)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()

    def take(name: str, *, tall: bool = False) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        if tall:  # Home Assistant scrolls inside its own layout: make the window taller instead
            page.set_viewport_size({"width": VIEWPORT_WIDTH, "height": TALL_HEIGHT})
            page.wait_for_timeout(300)
        try:
            # animations="disabled" finishes transitions (floating labels, ripples) first.
            page.screenshot(path=str(path), animations="disabled", caret="hide")
        finally:
            if tall:
                page.set_viewport_size({"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT})
        return path

    return take
