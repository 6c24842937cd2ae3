"""`python -m simulator --host 127.0.0.1 --port 8765 --seed 42 [--speed 1.0] [--start ISO8601]`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
from datetime import datetime
import logging
import signal

from .app import start_simulator


def _parse_start(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(
            "--start needs a UTC offset, e.g. 2025-01-15T06:00:00+11:00"
        )
    return when


def _parse_clock(text: str) -> int:
    try:
        hour, minute = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError("expected HH:MM, e.g. 12:30") from None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise argparse.ArgumentTypeError("expected HH:MM, e.g. 12:30")
    return hour * 60 + minute


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Local Amber Electric + Tesla energy API simulator.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second"
    )
    parser.add_argument(
        "--start", type=_parse_start, help="simulated start time (ISO 8601 with offset)"
    )
    parser.add_argument(
        "--sites", type=int, default=1, choices=range(1, 5), help="Amber sites (1-4)"
    )
    parser.add_argument(
        "--time-zone", default="Australia/Sydney", help="Powerwall installation zone"
    )
    parser.add_argument(
        "--write-delay", type=float, default=0.0, help="seconds before Tesla writes apply"
    )
    parser.add_argument(
        "--strict-tariff", action="store_true", help="reject plans with gaps/overlaps"
    )
    parser.add_argument(
        "--no-pricing-constraint-feature",
        action="store_true",
        help="omit rate_plan_manager_no_pricing_constraint (buy is raised to sell)",
    )
    parser.add_argument(
        "--tesla-rate-limit", type=int, help="Tesla calls per 60 s (off by default)"
    )
    parser.add_argument(
        "--amber-rate-limit", type=int, default=50, help="Amber calls per 300 s per key"
    )
    parser.add_argument(
        "--horizon-hours",
        type=float,
        default=0.0,
        help="Amber's look-ahead in hours; 0 (default) = AEMO's pre-dispatch horizon",
    )
    parser.add_argument(
        "--predispatch",
        type=_parse_clock,
        default=12 * 60 + 30,
        help="NEM time (HH:MM) the pre-dispatch run that adds a day appears (default 12:30)",
    )
    parser.add_argument(
        "--five-minute-hours",
        type=float,
        default=1.0,
        help="how far ahead Amber gives 5-minute forecasts (default 1)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    handle = await start_simulator(
        args.host,
        args.port,
        seed=args.seed,
        speed=args.speed,
        start=args.start,
        sites=args.sites,
        time_zone=args.time_zone,
        write_delay_seconds=args.write_delay,
        strict_tariff=args.strict_tariff,
        no_pricing_constraint=not args.no_pricing_constraint_feature,
        tesla_rate_limit=args.tesla_rate_limit,
        amber_rate_limit=args.amber_rate_limit,
        horizon_hours=args.horizon_hours,
        predispatch_minute=args.predispatch,
        five_minute_hours=args.five_minute_hours,
    )
    sim = handle.simulator
    print(f"Simulator running at {handle.url}  (seed {args.seed}, speed {args.speed}x)")
    print(f"  Amber base URL : {handle.amber_url}   (token: any psk_...)")
    print(f"  Tesla base URL : {handle.tesla_url}   (token: anything)")
    print(f"  energy_site_id : {sim.energy_site_id}")
    print(f"  Amber site ids : {', '.join(s.id for s in sim.prices.sites)}")
    print(f"  control        : {handle.control_url}/state")
    print(f"  simulated now  : {sim.now().astimezone(sim.zone).isoformat()}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await handle.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the simulator until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s"
    )
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
