"""What a loaded entry holds at run time (`entry.runtime_data`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry

from .api.amber import AmberClient
from .api.models import AmberSite, EnergySite
from .api.tesla import TeslaEnergyClient
from .plans import FixedPlan

if TYPE_CHECKING:
    from .amber_coordinator import AmberCoordinator
    from .controls import ControlManager
    from .demand_manager import DemandManager
    from .energy_coordinator import TeslaEnergyCoordinator
    from .sync import SyncEngine
    from .tesla_coordinator import TeslaLiveCoordinator, TeslaSiteInfoCoordinator


@dataclass
class TeslaAmberSyncData:
    """Clients, coordinators and engines of one entry (one Powerwall)."""

    tesla: TeslaEnergyClient
    energy_site: EnergySite
    live: TeslaLiveCoordinator
    site_info: TeslaSiteInfoCoordinator
    amber: AmberClient | None = None
    amber_site: AmberSite | None = None
    prices: AmberCoordinator | None = None
    # Options as loaded: the update listener reloads only when these change (token refreshes
    # also fire it, and must not reload) or when a flow asks for it (`reload_requested`).
    options: dict[str, Any] = field(default_factory=dict)
    # Set by reauth and reconfigure when they save new connection details into the running
    # entry: its update listener then reloads it (config_flow.py, `_save_and_reload`).
    reload_requested: bool = False
    sync: SyncEngine = field(init=False)
    demand: DemandManager | None = None
    fixed_plan: FixedPlan | None = None  # price_source fixed_plan: the plan in force
    controls: ControlManager = field(init=False)
    energy: TeslaEnergyCoordinator = field(init=False)


type TeslaAmberSyncConfigEntry = ConfigEntry[TeslaAmberSyncData]
