"""Time `build_tariff` + `validate_tariff` on a realistic 40-hour Amber response.

Run: .venv/bin/python bench/tariff_build.py [--repeat N] [--seed S]

The response is seeded, so runs compare: 1 h of previous 5-minute actuals, 5-minute intervals to
the end of the current hour, then 30-minute forecasts with advancedPrice, for both channels.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
import platform
import random
import statistics
import sys
import time
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root

from custom_components.tesla_amber_sync.api.models import (
    AdvancedPrice,
    PriceInterval,
)
from custom_components.tesla_amber_sync.tariff import TariffOptions, build_tariff
from custom_components.tesla_amber_sync.validate import validate_tariff

SITE_ZONE = ZoneInfo("Australia/Sydney")
NOW = datetime(2025, 1, 14, 17, 12, 30, tzinfo=SITE_ZONE)


def response(rng: random.Random, now: datetime) -> list[PriceInterval]:
    """Both channels, 1 h back to 40 h in all, Amber's mixed resolution."""
    now_utc = now.astimezone(UTC)
    start = now_utc.replace(minute=now_utc.minute // 5 * 5, second=0, microsecond=0)
    start -= timedelta(hours=1)
    five_until = now_utc.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    end = start + timedelta(hours=40)
    out: list[PriceInterval] = []
    t = start
    while t < end:
        minutes = 5 if t < five_until else 30
        stop = t + timedelta(minutes=minutes)
        kind = (
            "ActualInterval"
            if stop <= now_utc
            else "CurrentInterval"
            if t <= now_utc
            else "ForecastInterval"
        )
        buy = rng.uniform(-5, 60) if rng.random() > 0.02 else rng.uniform(300, 2000)
        sell = -buy * rng.uniform(0.6, 0.95)
        for channel, cents in (("general", buy), ("feedIn", sell)):
            advanced = None
            if kind != "ActualInterval":
                spread = abs(cents) * 0.2 + 1
                advanced = AdvancedPrice(cents - spread, cents, cents + spread)
            out.append(
                PriceInterval(
                    interval_type=kind,
                    channel=channel,
                    start=t,
                    end=stop,
                    per_kwh=round(cents, 2),
                    spike_status="potential" if cents > 300 else "none",
                    estimate=kind == "CurrentInterval",
                    advanced_price=advanced,
                )
            )
        t = stop
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="timed runs (default 200)")
    parser.add_argument("--seed", type=int, default=20250114, help="price generator seed")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    intervals = response(random.Random(args.seed), NOW)
    options = TariffOptions()
    build_tariff(intervals, NOW, SITE_ZONE, options)  # warm-up (imports, caches)

    timings: list[float] = []
    for _ in range(args.repeat):
        began = time.perf_counter()
        built = build_tariff(intervals, NOW, SITE_ZONE, options)
        validate_tariff(built.tariff)
        timings.append((time.perf_counter() - began) * 1000)

    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    print(f"python {platform.python_version()} ({platform.python_implementation()})")
    print(f"intervals: {len(intervals)} (both channels), repeat: {args.repeat}")
    print(
        f"build_tariff + validate_tariff: median {statistics.median(timings):.2f} ms, "
        f"p95 {p95:.2f} ms"
    )


if __name__ == "__main__":
    main()
