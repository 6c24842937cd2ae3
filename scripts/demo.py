"""Run the simulator and a real Home Assistant with Tesla Amber Sync (used by scripts/demo).

What it does, in order:

1. copies `demo/` (a minimal Home Assistant configuration) to a fresh runtime folder and links
   `custom_components/tesla_amber_sync` into it;
2. starts the seeded Amber + Tesla simulator (in this process, real time);
3. starts `python -m homeassistant --skip-pip` as a child in its own process group (it also gets
   SIGTERM if this process dies, even by SIGKILL);
4. completes onboarding through Home Assistant's onboarding API (user, core config with the
   Australia/Sydney time zone, analytics, integration step) and makes a long-lived token;
5. adds the integration through the config-flow API (the simulator's base URLs, in the wizard's
   Advanced sections), unless `--no-integration` (the browser test adds it through the UI);
6. waits until its entities have values, prints the address, the login and a few live figures;
7. runs until Ctrl-C (SIGINT) or SIGTERM, then stops Home Assistant and the simulator.

Any failure prints what went wrong and the tail of Home Assistant's log, and exits non-zero.
`--state-file` writes the addresses and the token as JSON once everything is ready (tests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import logging
import os
from pathlib import Path
import shutil
import signal
import socket
import sys
import time
from typing import Any

import aiohttp
import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from simulator import SimulatorHandle, start_simulator  # noqa: E402

DOMAIN = "tesla_amber_sync"
TEMPLATE = REPO / "demo"
INTEGRATION_SOURCE = REPO / "custom_components" / DOMAIN
DASHBOARD_EXAMPLE = REPO / "dashboards" / "demo.yaml"

DEMO_NAME = "Demo"
DEMO_USERNAME = "demo"
# Demo credentials, printed for the user: the simulator accepts any psk_... key and any token.
DEMO_PASSWORD = "demo-pass-1234"  # noqa: S105
AMBER_TOKEN = "psk_demo"  # noqa: S105
TESLEMETRY_TOKEN = "demo-teslemetry-token"  # noqa: S105
TIME_ZONE = "Australia/Sydney"
LOCATION_NAME = "Tesla Amber Sync demo"

DEFAULT_HA_PORT = 8123
DEFAULT_SIM_PORT = 8765
HA_PORT_ENV = "TAS_DEMO_HA_PORT"
SIM_PORT_ENV = "TAS_DEMO_SIM_PORT"

# Finishing onboarding's core-config step starts config flows for these built-in integrations
# (Home Assistant's onboarding/views.py). The demo removes the entries they create: they are not
# part of the demo, and radio_browser would keep trying to reach the internet.
ONBOARDING_EXTRAS = ("google_translate", "met", "radio_browser", "shopping_list")

# The wizard's menu choices, in order of preference: Amber prices, Teslemetry.
MENU_CHOICES = ("amber", "teslemetry")

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30)
STOP_GRACE_SECONDS = 30.0
LOG_TAIL_LINES = 40

_LOGGER = logging.getLogger("demo")


class DemoError(Exception):
    """A step failed; the message says which and why."""


# --- small helpers ----------------------------------------------------------------------------


def port_from_env(name: str, default: int) -> int:
    """A port number from the environment, or the default."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise DemoError(f"{name}={raw!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise DemoError(f"{name}={port} is not a port number (0-65535; 0 picks a free port)")
    return port


def claim_port(host: str, port: int, what: str, hint: str) -> int:
    """`port` if it is free on `host` (a free one for 0); a clear error when it is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Servers here set SO_REUSEADDR too: a port left in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise DemoError(
                f"{what} cannot use {host}:{port} ({err.strerror}). Stop whatever listens there, "
                f"or pick another port with {hint}=PORT (0 picks a free one)."
            ) from None
        return int(probe.getsockname()[1])


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file ('' when there is none)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def as_number(state: str | None) -> float | None:
    """A state as a number, or None (unknown, unavailable, missing)."""
    try:
        return float(state) if state is not None else None
    except ValueError:
        return None


def _load_libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - not Linux
        return None


_LIBC = _load_libc()
PR_SET_PDEATHSIG = 1


def _child_setup() -> None:  # pragma: no cover - runs in the forked child
    """Ask the kernel to send SIGTERM to the child when its parent dies (Linux)."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


# --- Home Assistant's websocket API -----------------------------------------------------------


def _answer(fields: list[dict[str, Any]], values: dict[str, str]) -> dict[str, Any]:
    """A form's answer from `values`, by field name; a section (the wizard's collapsed
    "advanced", holding the API addresses) gets a nested answer of its own."""
    answer: dict[str, Any] = {}
    for field in fields:
        if field.get("type") == "expandable":
            answer[field["name"]] = _answer(field.get("schema") or [], values)
        elif field["name"] in values:
            answer[field["name"]] = values[field["name"]]
    return answer


class CommandError(DemoError):
    """A websocket command Home Assistant answered with an error."""

    def __init__(self, command: str, error: dict[str, Any]) -> None:
        super().__init__(f"websocket command {command} failed: {error}")
        self.code = error.get("code")


class HassWebSocket:
    """A minimal client for Home Assistant's websocket API (one command at a time)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._next_id = 1

    @classmethod
    async def connect(
        cls, session: aiohttp.ClientSession, base_url: str, token: str
    ) -> HassWebSocket:
        """Connect and authenticate."""
        ws = await session.ws_connect(
            f"{base_url}/api/websocket", timeout=aiohttp.ClientWSTimeout(ws_close=10)
        )
        hello = await ws.receive_json(timeout=30)
        if hello.get("type") != "auth_required":
            raise DemoError(f"unexpected websocket greeting: {hello}")
        await ws.send_json({"type": "auth", "access_token": token})
        reply = await ws.receive_json(timeout=30)
        if reply.get("type") != "auth_ok":
            raise DemoError(f"websocket authentication failed: {reply}")
        return cls(ws)

    async def call(self, command: str, **payload: Any) -> Any:
        """Send a command and return its result (DemoError when it fails)."""
        ident = self._next_id
        self._next_id += 1
        await self._ws.send_json({"id": ident, "type": command, **payload})
        while True:
            message = await self._ws.receive_json(timeout=60)
            if message.get("id") != ident or message.get("type") != "result":
                continue
            if not message.get("success"):
                raise CommandError(command, message.get("error") or {})
            return message.get("result")

    async def call_once_loaded(self, command: str, wait: float, **payload: Any) -> Any:
        """`call`, retried while the integration behind `command` is still being set up.

        Home Assistant 2026.11 sets analytics up later in its start (stage 2) than 2025.4 did,
        after the onboarding API already answers: its commands say "Not loaded" until then.
        """
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            try:
                return await self.call(command, **payload)
            except CommandError as err:
                if err.code != "not_found" or asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(0.5)

    async def close(self) -> None:
        """Close the connection."""
        await self._ws.close()


# --- the demo ---------------------------------------------------------------------------------


class Demo:
    """The simulator, Home Assistant, and the steps that bring them together."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.root = Path(args.root).resolve()
        self.config_dir = self.root / "config"
        self.hass_out = self.root / "hass.out"
        self.sim_log = self.root / "simulator.log"
        self.host: str = args.host
        self.ha_port = 0
        self.sim: SimulatorHandle | None = None
        self.hass: asyncio.subprocess.Process | None = None
        self.session: aiohttp.ClientSession | None = None
        self.token: str | None = None
        self.ws: HassWebSocket | None = None
        self.ready = False
        self.summary: dict[str, Any] = {}

    @property
    def base_url(self) -> str:
        """Home Assistant's address."""
        return f"http://{self.host}:{self.ha_port}"

    @property
    def ha_log(self) -> Path:
        """Home Assistant's own log file."""
        return self.config_dir / "home-assistant.log"

    def failure_details(self) -> str:
        """The tail of Home Assistant's log (or of its console output)."""
        for path in (self.ha_log, self.hass_out):
            tail = log_tail(path)
            if tail:
                return f"--- last lines of {path} ---\n{tail}\n--- end of {path.name} ---"
        return "(Home Assistant wrote no log)"

    # --- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Everything up to 'ready', then wait until cancelled or Home Assistant stops."""
        self.ha_port = claim_port(self.host, self.args.ha_port, "Home Assistant", HA_PORT_ENV)
        sim_port = claim_port(self.host, self.args.sim_port, "The simulator", SIM_PORT_ENV)
        self.prepare_config()
        await self.start_simulator(sim_port)
        await self.start_hass()
        self.session = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
        await self.wait_for_hass()
        self.token = await self.onboard()
        self.ws = await HassWebSocket.connect(self._session(), self.base_url, self.token)
        await self.wait_until_running()
        await self.remove_onboarding_extras()
        entities: dict[str, str] = {}
        device_id: str | None = None
        entry_id: str | None = None
        if not self.args.no_integration:
            entry = await self.add_integration()
            entry_id = str(entry["entry_id"])
            entities, device_id = await self.wait_for_entities(entry_id)
            await self.save_dashboard(entry_id)
        self.ready = True
        await self.report(entry_id, entities, device_id)
        assert self.hass is not None
        code = await self.hass.wait()
        raise DemoError(f"Home Assistant stopped by itself (exit code {code})")

    async def stop(self) -> None:
        """Stop Home Assistant (SIGTERM to its group, then SIGKILL) and the simulator."""
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
            self.ws = None
        if self.session is not None:
            await self.session.close()
            self.session = None
        if self.hass is not None and self.hass.returncode is None:
            print("Stopping Home Assistant ...", flush=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.hass.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.hass.wait(), STOP_GRACE_SECONDS)
            except TimeoutError:
                print("Home Assistant did not stop in time; killing it", flush=True)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.hass.pid, signal.SIGKILL)
                await self.hass.wait()
        if self.hass is not None:
            # Anything Home Assistant started in its group goes with it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.hass.pid, signal.SIGKILL)
        if self.sim is not None:
            await self.sim.stop()
            self.sim = None
        if self.args.state_file is not None:
            with contextlib.suppress(FileNotFoundError):
                self.args.state_file.unlink()

    # --- steps ----------------------------------------------------------------------------------

    def prepare_config(self) -> None:
        """A fresh copy of demo/ with this run's address and the integration linked in."""
        if not (TEMPLATE / "configuration.yaml").is_file():
            raise DemoError(f"{TEMPLATE}/configuration.yaml is missing")
        self.root.mkdir(parents=True, exist_ok=True)
        if self.config_dir.exists():
            shutil.rmtree(self.config_dir)
        shutil.copytree(TEMPLATE, self.config_dir)
        (self.config_dir / "http.yaml").write_text(
            "# Written by scripts/demo.py for this run.\n"
            f"server_host: {self.host}\nserver_port: {self.ha_port}\n"
        )
        custom = self.config_dir / "custom_components"
        custom.mkdir(exist_ok=True)
        (custom / DOMAIN).symlink_to(INTEGRATION_SOURCE, target_is_directory=True)
        for path in (self.hass_out, self.sim_log):
            path.unlink(missing_ok=True)

    async def start_simulator(self, port: int) -> None:
        """The seeded simulator, in this process, on real time."""
        handler = logging.FileHandler(self.sim_log)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root_logger = logging.getLogger()
        root_logger.addHandler(handler)
        root_logger.setLevel(logging.INFO)
        try:
            self.sim = await start_simulator(self.host, port, seed=self.args.seed)
        except OSError as err:
            raise DemoError(f"the simulator could not start on {self.host}:{port}: {err}") from err

    async def start_hass(self) -> None:
        """`python -m homeassistant --skip-pip` in its own process group."""
        out = self.hass_out.open("wb")
        try:
            self.hass = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "homeassistant",
                "--config",
                str(self.config_dir),
                "--skip-pip",
                "--log-no-color",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_child_setup,  # only asks for SIGTERM on parent death
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        finally:
            out.close()

    def _ws(self) -> HassWebSocket:
        if self.ws is None:
            raise DemoError("no websocket connection")
        return self.ws

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            raise DemoError("no HTTP session")
        return self.session

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
    ) -> Any:
        """A call to Home Assistant's HTTP API; its JSON answer, or DemoError."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            async with self._session().request(
                method, f"{self.base_url}{path}", headers=headers, json=json_body, data=form
            ) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    raise DemoError(f"{method} {path} answered {resp.status}: {text[:500]}")
                return json.loads(text) if text else None
        except (aiohttp.ClientError, TimeoutError) as err:
            raise DemoError(f"{method} {path} failed: {err!r}") from err

    async def wait_for_hass(self) -> None:
        """Until the onboarding API answers (the HTTP server and frontend are up)."""
        assert self.hass is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.args.startup_timeout
        while True:
            if self.hass.returncode is not None:
                raise DemoError(
                    f"Home Assistant exited during start-up (exit code {self.hass.returncode})"
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self._session().get(
                    f"{self.base_url}/api/onboarding", timeout=aiohttp.ClientTimeout(total=5)
                ) as resp:
                    if resp.status == 200:
                        return
            if loop.time() > deadline:
                raise DemoError(
                    f"Home Assistant did not answer at {self.base_url} within "
                    f"{self.args.startup_timeout:.0f} s"
                )
            await asyncio.sleep(0.5)

    async def onboard(self) -> str:
        """Onboarding as the frontend does it; returns a long-lived access token."""
        steps = await self.request("GET", "/api/onboarding")
        done = {step["step"] for step in steps if step.get("done")}
        if done:
            raise DemoError(f"this Home Assistant is already (partly) onboarded: {sorted(done)}")
        client_id = f"{self.base_url}/"
        user = await self.request(
            "POST",
            "/api/onboarding/users",
            json_body={
                "client_id": client_id,
                "name": DEMO_NAME,
                "username": DEMO_USERNAME,
                "password": DEMO_PASSWORD,
                "language": "en",
            },
        )
        tokens = await self.request(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": user["auth_code"],
                "client_id": client_id,
            },
        )
        access = tokens["access_token"]
        ws = await HassWebSocket.connect(self._session(), self.base_url, access)
        try:
            await ws.call(
                "config/core/update",
                location_name=LOCATION_NAME,
                time_zone=TIME_ZONE,
                currency="AUD",
                country="AU",
                language="en",
                unit_system="metric",
            )
            await self.request("POST", "/api/onboarding/core_config", token=access)
            await ws.call_once_loaded("analytics/preferences", wait=60, preferences={"base": False})
            await self.request("POST", "/api/onboarding/analytics", token=access)
            await self.request(
                "POST",
                "/api/onboarding/integration",
                token=access,
                json_body={"client_id": client_id, "redirect_uri": f"{client_id}?auth_callback=1"},
            )
            await self.keep_http_config(ws)
            long_lived: str = await ws.call(
                "auth/long_lived_access_token", client_name="Tesla Amber Sync demo", lifespan=365
            )
        finally:
            await ws.close()
        return long_lived

    async def keep_http_config(self, ws: HassWebSocket) -> None:
        """Confirm the address and port written to http.yaml.

        Home Assistant 2026.11 moves the `http:` section of configuration.yaml into its own
        storage at the first start, as a trial it reverts (with a restart) five minutes later
        unless the user confirms it; until then the frontend covers every page with that
        question. Home Assistant 2025.4 uses the YAML as it is and has no such command.
        """
        try:
            await ws.call("http/config/promote")
        except CommandError as err:
            if err.code != "unknown_command":
                raise

    async def wait_until_running(self) -> None:
        """Until Home Assistant has finished starting (and is not in recovery mode)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.args.startup_timeout
        while True:
            config = await self.request("GET", "/api/config", token=self.token)
            if config.get("recovery_mode"):
                raise DemoError("Home Assistant started in recovery mode (see its log)")
            if config.get("state") == "RUNNING":
                return
            if loop.time() > deadline:
                raise DemoError(f"Home Assistant is still {config.get('state')!r}")
            await asyncio.sleep(0.5)

    async def remove_onboarding_extras(self) -> None:
        """Remove the entries onboarding's core-config step created for other integrations."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        expected = {"google_translate", "radio_browser", "shopping_list"}  # met: no location
        seen: set[str] = set()
        while True:
            entries = await self.request(
                "GET", "/api/config/config_entries/entry", token=self.token
            )
            for entry in entries:
                if entry.get("domain") in ONBOARDING_EXTRAS:
                    seen.add(entry["domain"])
                    await self.request(
                        "DELETE",
                        f"/api/config/config_entries/entry/{entry['entry_id']}",
                        token=self.token,
                    )
            flows = await self._ws().call("config_entries/flow/progress")
            busy = any(flow.get("handler") in ONBOARDING_EXTRAS for flow in flows)
            if (seen >= expected and not busy) or loop.time() > deadline:
                return
            await asyncio.sleep(0.5)

    async def add_integration(self) -> dict[str, Any]:
        """The setup wizard through the config-flow API, pointed at the simulator.

        Steps are answered by what they ask (menu options, form fields), not by their names.
        """
        assert self.sim is not None
        values: dict[str, str] = {
            "amber_api_token": AMBER_TOKEN,
            "amber_base_url": self.sim.amber_url,
            "teslemetry_api_token": TESLEMETRY_TOKEN,
            "tesla_base_url": self.sim.tesla_url,
        }
        base = "/api/config/config_entries/flow"
        flow = await self.request(
            "POST",
            base,
            token=self.token,
            json_body={"handler": DOMAIN},
        )
        for _ in range(10):
            kind, step = flow.get("type"), flow.get("step_id")
            if kind == "create_entry":
                result: dict[str, Any] = flow["result"]
                return result
            if kind == "abort":
                raise DemoError(f"the setup wizard stopped: {flow.get('reason')}")
            if kind == "menu":
                options = list(flow.get("menu_options") or [])
                choice = next((o for o in MENU_CHOICES if o in options), None)
                if choice is None:
                    raise DemoError(f"the wizard's menu {step!r} offers none of {MENU_CHOICES}")
                answer: dict[str, Any] = {"next_step_id": choice}
            elif kind == "form":
                if flow.get("errors"):
                    raise DemoError(f"the setup wizard's step {step!r} reported {flow['errors']}")
                fields = flow.get("data_schema") or []
                answer = _answer(fields, values)
                unknown = [
                    f["name"]
                    for f in fields
                    if f.get("required") and "default" not in f and f["name"] not in answer
                ]
                if unknown:
                    raise DemoError(f"the wizard's step {step!r} asks for {unknown}")
            else:
                raise DemoError(f"unexpected step in the setup wizard: {kind} {step!r}")
            flow = await self.request(
                "POST", f"{base}/{flow['flow_id']}", token=self.token, json_body=answer
            )
        raise DemoError("the setup wizard did not finish")

    async def wait_for_entities(self, entry_id: str) -> tuple[dict[str, str], str | None]:
        """Entity ids by key (general_price, battery_level, ...) once they have values."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while True:
            registry = await self._ws().call("config/entity_registry/list")
            mine = [e for e in registry if e.get("config_entry_id") == entry_id]
            entities = {
                e["unique_id"].split("_", 1)[1]: e["entity_id"]
                for e in mine
                if "_" in e.get("unique_id", "")
            }
            states = {
                s["entity_id"]: s["state"]
                for s in await self.request("GET", "/api/states", token=self.token)
            }
            wanted = [entities.get("general_price"), entities.get("battery_level")]
            if all(as_number(states.get(e or "")) is not None for e in wanted):
                battery = entities["battery_level"]
                device = next(e.get("device_id") for e in mine if e["entity_id"] == battery)
                return entities, device
            if loop.time() > deadline:
                raise DemoError(
                    "the integration's price and battery entities have no values after 2 "
                    f"minutes (entities: {entities}; states: "
                    f"{ {e: states.get(e) for e in entities.values()} })"
                )
            await asyncio.sleep(1)

    async def save_dashboard(self, entry_id: str) -> None:
        """Keep the view the integration's `dashboard` action returns as the repo's example."""
        reply = await self._ws().call(
            "call_service",
            domain="tesla_amber_sync",
            service="dashboard",
            service_data={"config_entry_id": entry_id},
            return_response=True,
        )
        view = reply["response"]["view"]
        DASHBOARD_EXAMPLE.parent.mkdir(exist_ok=True)
        DASHBOARD_EXAMPLE.write_text(
            "# What `tesla_amber_sync.dashboard` returned in the demo (scripts/demo).\n"
            "# Paste under `views:` of a dashboard in YAML mode; your entity ids may differ.\n"
            + yaml.safe_dump(view, sort_keys=False, allow_unicode=True, width=100)
        )

    async def report(
        self, entry_id: str | None, entities: dict[str, str], device_id: str | None
    ) -> None:
        """Print where to look and a few live figures; write the state file."""
        assert self.sim is not None
        states: dict[str, dict[str, Any]] = {
            s["entity_id"]: s for s in await self.request("GET", "/api/states", token=self.token)
        }

        def value(key: str, digits: int) -> str:
            state = states.get(entities.get(key, ""), {}).get("state")
            number = as_number(state)
            return f"{number:.{digits}f}" if number is not None else str(state)

        self.summary = {
            "ha_url": self.base_url,
            "username": DEMO_USERNAME,
            "password": DEMO_PASSWORD,
            "token": self.token,
            "sim_url": self.sim.url,
            "amber_url": self.sim.amber_url,
            "tesla_url": self.sim.tesla_url,
            "control_url": f"{self.sim.url}/_control",
            "amber_token": AMBER_TOKEN,
            "teslemetry_token": TESLEMETRY_TOKEN,
            "root": str(self.root),
            "config_dir": str(self.config_dir),
            "ha_log": str(self.ha_log),
            "hass_pid": self.hass.pid if self.hass else None,
            "entry_id": entry_id,
            "device_id": device_id,
            "entities": entities,
        }
        lines = [
            "",
            "Tesla Amber Sync demo is running.",
            "",
            f"  Home Assistant  {self.base_url}   (log in as {DEMO_USERNAME} / {DEMO_PASSWORD})",
        ]
        if device_id:
            lines.append(f"  Powerwall page  {self.base_url}/config/devices/device/{device_id}")
        lines.append(
            f"  Simulator       {self.sim.url}/_control/state   (Amber + Tesla stand-in, "
            f"seed {self.args.seed})"
        )
        if entities:
            lines += [
                "",
                "  Right now:",
                f"    Amber general price  {value('general_price', 4)} $/kWh   (feed-in "
                f"{value('feed_in_price', 4)} $/kWh, spike: {value('price_spike', 0)})",
                f"    Powerwall            {value('battery_level', 1)} %   battery "
                f"{value('battery_power', 2)} kW (+ = discharging), solar "
                f"{value('solar_power', 2)} kW, home {value('home_load', 2)} kW, grid "
                f"{value('grid_power', 2)} kW",
                f"    plan sync            {value('sync_status', 0)}   (auto-sync "
                f"{value('auto_sync', 0)})",
            ]
        lines += [
            "",
            f"  Logs: {self.ha_log}  and  {self.sim_log}",
            "  Press Ctrl-C to stop.",
            "",
        ]
        print("\n".join(lines), flush=True)
        if self.args.state_file is not None:
            tmp = self.args.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.summary, indent=2))
            tmp.replace(self.args.state_file)


# --- entry point ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (ports default to $TAS_DEMO_HA_PORT / $TAS_DEMO_SIM_PORT)."""
    parser = argparse.ArgumentParser(
        prog="scripts/demo",
        description="Run the Amber + Tesla simulator and Home Assistant with Tesla Amber Sync.",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=REPO / ".demo",
        help="runtime folder: config/ is recreated from demo/ on every start (default .demo)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--ha-port",
        type=int,
        default=None,
        help=f"Home Assistant's port (default ${HA_PORT_ENV} or {DEFAULT_HA_PORT}; 0: any free)",
    )
    parser.add_argument(
        "--sim-port",
        type=int,
        default=None,
        help=f"the simulator's port (default ${SIM_PORT_ENV} or {DEFAULT_SIM_PORT}; 0: any free)",
    )
    parser.add_argument("--seed", type=int, default=42, help="simulator seed (default 42)")
    parser.add_argument(
        "--no-integration",
        action="store_true",
        help="onboard but do not add the integration (the browser test adds it in the UI)",
    )
    parser.add_argument(
        "--state-file", type=Path, help="write addresses and the access token here when ready"
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=180.0,
        help="seconds to wait for Home Assistant to start (default 180)",
    )
    args = parser.parse_args(argv)
    if args.ha_port is None:
        args.ha_port = port_from_env(HA_PORT_ENV, DEFAULT_HA_PORT)
    if args.sim_port is None:
        args.sim_port = port_from_env(SIM_PORT_ENV, DEFAULT_SIM_PORT)
    return args


async def amain(args: argparse.Namespace) -> int:
    """Run the demo; 0 after a clean stop, 1 on failure, 130 when interrupted while starting."""
    demo = Demo(args)
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    signals: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        if signals:
            print(f"({sig.name} again: still stopping, please wait)", flush=True)
            return
        signals.append(sig.name)
        print(f"\n{sig.name}: stopping the demo ...", flush=True)
        main_task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    started = time.monotonic()
    try:
        await demo.run()
    except asyncio.CancelledError:
        if not signals:
            raise
        return 0 if demo.ready else 130
    except DemoError as err:
        print(f"\nscripts/demo: {err}", file=sys.stderr, flush=True)
        if demo.hass is not None:
            print(demo.failure_details(), file=sys.stderr, flush=True)
        return 1
    finally:
        # Cleanup must finish even if another signal arrives (on_signal ignores repeats).
        started_anything = demo.sim is not None or demo.hass is not None
        await asyncio.shield(demo.stop())
        if started_anything:
            print(f"Demo stopped after {time.monotonic() - started:.0f} s.", flush=True)
    return 0  # pragma: no cover - run() only ends by raising


def main(argv: list[str] | None = None) -> int:
    """Entry point for scripts/demo."""
    try:
        args = parse_args(argv)
    except DemoError as err:
        print(f"scripts/demo: {err}", file=sys.stderr)
        return 2
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
