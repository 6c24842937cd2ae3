"""A local simulator of the Amber Electric and Tesla energy (Fleet API / Teslemetry) APIs.

See `simulator/README.md`. Entry points: `python -m simulator`, `create_app`, `start_simulator`,
and the pure price model `simulator.prices.PriceModel`.
"""

from .app import SimulatorHandle, create_app, start_simulator
from .clock import ManualClock, SimClock
from .prices import PriceModel

__all__ = [
    "ManualClock",
    "PriceModel",
    "SimClock",
    "SimulatorHandle",
    "create_app",
    "start_simulator",
]
