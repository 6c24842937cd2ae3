"""The Amber sites the simulated account holds.

Site 1 is always an active 5-minute NSW site with general + feedIn channels. `make_sites(seed, n)`
adds, in order: an active 30-minute VIC site, an active 5-minute QLD site with a controlledLoad
channel, and a closed NSW site (which a client must filter out). Each site carries what the price
model needs: its NEM region, its local time zone and its network's time-of-use windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from . import noise

GENERAL = "general"
CONTROLLED_LOAD = "controlledLoad"
FEED_IN = "feedIn"
CHANNEL_ORDER = (GENERAL, CONTROLLED_LOAD, FEED_IN)  # Amber's documented return order

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True, slots=True)
class Channel:
    """One meter channel as Amber lists it."""

    identifier: str
    type: str
    tariff: str


@dataclass(frozen=True, slots=True)
class NetworkTariff:
    """A network's time-of-use shape, in local hours [start, end) of the site's own zone.

    Rates are c/kWh including GST, added to the spot price on the general channel.
    """

    peak: tuple[int, int]
    off_peak: tuple[tuple[int, int], ...]
    demand_window: tuple[int, int]
    peak_rate: float
    shoulder_rate: float
    off_peak_rate: float
    off_peak_name: str = "offPeak"
    controlled_load_rate: float = 3.6
    fees: float = 1.9  # market, environmental and Amber fees per kWh
    feed_in_fee: float = 0.45  # what Amber keeps from each exported kWh


@dataclass(frozen=True, slots=True)
class AmberSite:
    """A site: the public fields plus the model's region, zone and network tariff."""

    id: str
    nmi: str
    network: str
    region: str
    time_zone: str
    interval_length: int
    channels: tuple[Channel, ...]
    status: str
    active_from: date
    tariff: NetworkTariff
    closed_on: date | None = None

    def channel_types(self) -> list[str]:
        """Channel types in Amber's return order, each once."""
        present = {channel.type for channel in self.channels}
        return [kind for kind in CHANNEL_ORDER if kind in present]

    def to_json(self) -> dict[str, object]:
        """The site object exactly as `GET /sites` returns it."""
        body: dict[str, object] = {
            "id": self.id,
            "nmi": self.nmi,
            "channels": [
                {"identifier": c.identifier, "type": c.type, "tariff": c.tariff}
                for c in self.channels
            ],
            "network": self.network,
            "status": self.status,
            "activeFrom": self.active_from.isoformat(),
        }
        if self.closed_on is not None:
            body["closedOn"] = self.closed_on.isoformat()
        body["intervalLength"] = self.interval_length
        return body


AUSGRID = NetworkTariff(
    peak=(15, 21),
    off_peak=((22, 24), (0, 7)),
    demand_window=(15, 21),
    peak_rate=19.8,
    shoulder_rate=6.2,
    off_peak_rate=4.4,
)
JEMENA = NetworkTariff(
    peak=(15, 21),
    off_peak=((21, 24), (0, 15)),
    demand_window=(15, 21),
    peak_rate=17.5,
    shoulder_rate=17.5,
    off_peak_rate=5.1,
)
ENERGEX = NetworkTariff(
    peak=(16, 21),
    off_peak=((11, 16),),
    demand_window=(16, 21),
    peak_rate=21.3,
    shoulder_rate=7.4,
    off_peak_rate=3.2,
    off_peak_name="solarSponge",
    controlled_load_rate=2.9,
)


def ulid(seed: int, index: int, created: date) -> str:
    """A 26-character ULID: creation time in its first 10 characters, seeded randomness after."""
    millis = int(datetime(created.year, created.month, created.day, tzinfo=UTC).timestamp() * 1000)
    chars = []
    for _ in range(10):
        chars.append(_CROCKFORD[millis % 32])
        millis //= 32
    stamp = "".join(reversed(chars))
    tail = "".join(_CROCKFORD[int(noise.unit(seed, "ulid", index, k) * 32)] for k in range(16))
    return stamp + tail


def _nmi(seed: int, index: int, prefix: str) -> str:
    digits = "".join(
        str(int(noise.unit(seed, "nmi", index, k) * 10)) for k in range(10 - len(prefix))
    )
    return prefix + digits


def make_sites(seed: int, count: int = 1) -> list[AmberSite]:
    """The first `count` (1..4) sites of the simulated account, deterministic for `seed`."""
    if not 1 <= count <= 4:
        raise ValueError("the simulated account holds 1 to 4 sites")
    nsw_from = date(2024, 7, 1)
    specs = [
        AmberSite(
            id=ulid(seed, 0, nsw_from),
            nmi=_nmi(seed, 0, "4102"),
            network="Ausgrid",
            region="NSW1",
            time_zone="Australia/Sydney",
            interval_length=5,
            channels=(Channel("E1", GENERAL, "EA116"), Channel("B1", FEED_IN, "EA116")),
            status="active",
            active_from=nsw_from,
            tariff=AUSGRID,
        ),
        AmberSite(
            id=ulid(seed, 1, date(2023, 3, 14)),
            nmi=_nmi(seed, 1, "6001"),
            network="Jemena",
            region="VIC1",
            time_zone="Australia/Melbourne",
            interval_length=30,
            channels=(Channel("E1", GENERAL, "GD1"), Channel("B1", FEED_IN, "GD1")),
            status="active",
            active_from=date(2023, 3, 14),
            tariff=JEMENA,
        ),
        AmberSite(
            id=ulid(seed, 2, date(2024, 11, 20)),
            nmi=_nmi(seed, 2, "3120"),
            network="Energex",
            region="QLD1",
            time_zone="Australia/Brisbane",
            interval_length=5,
            channels=(
                Channel("E1", GENERAL, "6900"),
                Channel("E2", CONTROLLED_LOAD, "9000"),
                Channel("B1", FEED_IN, "6900"),
            ),
            status="active",
            active_from=date(2024, 11, 20),
            tariff=ENERGEX,
        ),
        AmberSite(
            id=ulid(seed, 3, date(2021, 6, 1)),
            nmi=_nmi(seed, 3, "4103"),
            network="Ausgrid",
            region="NSW1",
            time_zone="Australia/Sydney",
            interval_length=30,
            channels=(Channel("E1", GENERAL, "EA111"),),
            status="closed",
            active_from=date(2021, 6, 1),
            closed_on=date(2024, 6, 30),
            tariff=AUSGRID,
        ),
    ]
    return specs[:count]
