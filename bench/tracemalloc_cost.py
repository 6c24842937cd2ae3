"""How much tracemalloc slows one plan build here: why the soak traces memory in stretches.

Run: .venv/bin/python bench/tracemalloc_cost.py [--repeat N] [--frames F]

Times `build_tariff` + `validate_tariff` (the heart of every sync cycle) on the same seeded
response as `bench/tariff_build.py`, first untraced, then with tracemalloc keeping F frames.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import random
import statistics
import sys
import time
import tracemalloc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root

from bench.tariff_build import NOW, SITE_ZONE, response
from custom_components.tesla_amber_sync.tariff import TariffOptions, build_tariff
from custom_components.tesla_amber_sync.validate import validate_tariff


def median_ms(repeat: int) -> float:
    """Median milliseconds of one build + validate."""
    intervals = response(random.Random(20250114), NOW)
    options = TariffOptions()
    build_tariff(intervals, NOW, SITE_ZONE, options)  # warm-up
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        validate_tariff(build_tariff(intervals, NOW, SITE_ZONE, options).tariff)
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=100, help="timed runs (default 100)")
    parser.add_argument("--frames", type=int, default=8, help="frames kept per trace (default 8)")
    args = parser.parse_args()
    if args.repeat < 1 or args.frames < 1:
        parser.error("--repeat and --frames must be at least 1")
    plain = median_ms(args.repeat)
    tracemalloc.start(args.frames)
    try:
        traced = median_ms(args.repeat)
    finally:
        tracemalloc.stop()
    print(
        f"build + validate: {plain:.2f} ms untraced, {traced:.2f} ms traced "
        f"({args.frames} frames): {traced / plain:.1f}x"
    )


if __name__ == "__main__":
    main()
