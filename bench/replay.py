"""Replay a week of Amber prices through the real integration and measure how well it keeps up.

Run: .venv/bin/python bench/replay.py [--days 7] [--seed 42] [--quick]

The integration runs in a real Home Assistant (pytest-homeassistant-custom-component's test
utilities, used outside pytest) against fake Amber and Tesla clouds at the HTTP boundary. Amber
answers with exactly what the seeded simulator's price model had published at that moment
(estimates, finals, drifting forecasts); Tesla stores what is written. Time is frozen and jumped
from timer to timer, so 7 days take minutes. The default week starts on the Friday before the first
Sunday of April 2025 in Sydney (daylight saving ends on the Sunday, 03:00 -> 02:00), with the
Saturday forced to a negative-price day and the Monday to a spike day.

Printed: tracking (the share of time the Powerwall's plan shows another price than the plan built
by the same rules from Amber's latest published data, and the mean difference), sync latency, the
API budget, CPU per 5-minute cycle, build + validate time and entry setup time, each with its
target. The exit code is 0 whatever the figures (it is a measurement); 2 when the run broke.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
import functools
import math
import os
from pathlib import Path
import platform
import statistics
import sys
import time
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root

# Home Assistant's clock must be made freezable before anything imports Home Assistant's modules:
# these (third-party) imports sort before the first-party ones below. Home Assistant's bare package
# first: 2026.11 aliases httpx there, before anything imports it.
import homeassistant.generated  # noqa: F401
import pytest_homeassistant_custom_component.plugins  # noqa: F401

from bench import replay_harness as harness
from bench.replay_fakes import Clouds, Latency
from bench.replay_horizon import horizon, print_horizon
from bench.replay_metrics import (
    Budget,
    Cpu,
    Reference,
    Reproduced,
    Tracking,
    budget,
    cpu,
    percentile,
    reproduce,
    track,
)
from custom_components.tesla_amber_sync.validate import validate_tariff
from simulator import noise
from simulator.prices import PriceModel
from simulator.sites import make_sites

ZONE = ZoneInfo("Australia/Sydney")
SITES = {"sydney": 0, "brisbane": 2}  # indices into the simulated account's sites
DEFAULT_START = "2025-04-04T00:00"  # Friday; DST ends Sunday 6 April 03:00 -> 02:00
QUICK_DAYS = 0.125  # 3 simulated hours


@dataclass
class Scenario:
    """What is replayed."""

    seed: int
    start: datetime  # site-local, aware
    days: float
    negative_day: date
    spike_day: date
    latency: Latency
    site: str = "sydney"  # "sydney" (NSW, daylight saving) or "brisbane" (QLD, NEM time)
    horizon_hours: float = 0.0  # 0: AEMO's horizon, as Amber has it; > 0: a fixed look-ahead

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(make_sites(self.seed, 3)[SITES[self.site]].time_zone)

    @property
    def end(self) -> datetime:
        """End of the replay."""
        return self.start + timedelta(days=self.days)

    def model(self) -> PriceModel:
        """The seeded price model with the forced days."""
        model = PriceModel(self.seed, make_sites(self.seed, 3), horizon_hours=self.horizon_hours)
        model.force_day(self.negative_day, negative=True, spike=False)
        model.force_day(self.spike_day, spike=True)
        return model

    def clouds(self) -> Clouds:
        """Fresh fakes on a fresh model."""
        model = self.model()
        return Clouds(model=model, site=model.sites[SITES[self.site]], latency=self.latency)

    def dst_changes(self) -> list[str]:
        """Daylight-saving changes inside the replay, as local wall-clock descriptions."""
        found: list[str] = []
        moment = self.start
        while moment < self.end:
            later = min(moment + timedelta(hours=1), self.end)
            before = moment.astimezone(self.zone).utcoffset()
            after = later.astimezone(self.zone).utcoffset()
            if before != after:
                found.append(
                    f"{later.astimezone(self.zone):%a %d %b} ({moment.astimezone(self.zone):%Z} -> "
                    f"{later.astimezone(self.zone):%Z})"
                )
            moment = later
        return found


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--days",
        type=float,
        default=7.0,
        help="simulated Sydney wall-clock days (default 7; a DST change makes a day 23 or 25 h)",
    )
    parser.add_argument("--seed", type=int, default=42, help="price model seed (default 42)")
    parser.add_argument(
        "--start",
        default=DEFAULT_START,
        help=f"local Sydney start, ISO (default {DEFAULT_START}, a Friday before DST ends)",
    )
    parser.add_argument(
        "--site",
        choices=sorted(SITES),
        default="sydney",
        help="Amber site: sydney (NSW, daylight saving) or brisbane (QLD); default sydney",
    )
    parser.add_argument(
        "--horizon-hours",
        type=float,
        default=0.0,
        help="Amber's look-ahead: 0 (default) = AEMO's pre-dispatch horizon, 15.5-40 h",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"CI smoke run: {QUICK_DAYS * 24:g} h, fewer repeats"
    )
    parser.add_argument("--setup-runs", type=int, default=5, help="entry setups timed (default 5)")
    parser.add_argument(
        "--build-repeat", type=int, default=200, help="plan builds timed (default 200)"
    )
    parser.add_argument(
        "--amber-latency", type=float, default=0.3, help="Amber round trip, s (default 0.3)"
    )
    parser.add_argument(
        "--tesla-read-latency", type=float, default=0.5, help="Tesla read round trip, s (0.5)"
    )
    parser.add_argument(
        "--tesla-write-latency", type=float, default=1.5, help="Tesla write round trip, s (1.5)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.days = min(args.days, QUICK_DAYS)
        args.setup_runs = min(args.setup_runs, 2)
        args.build_repeat = min(args.build_repeat, 20)
    if args.days <= 0:
        parser.error("--days must be positive")
    if args.setup_runs < 1 or args.build_repeat < 1:
        parser.error("--setup-runs and --build-repeat must be at least 1")
    return args


def time_build(scenario: Scenario, repeat: int) -> list[float]:
    """ms to build and validate one plan from a realistic response (median of `repeat`)."""
    model = scenario.model()
    reference = Reference(model, model.sites[SITES[scenario.site]], scenario.zone)
    at = (scenario.start + timedelta(hours=17, minutes=12, seconds=30)).astimezone(ZONE)
    intervals = reference.published(at)
    history = reference.history(at)
    validate_tariff(reference.build(at).tariff)  # warm-up
    from custom_components.tesla_amber_sync.tariff import build_tariff

    timings: list[float] = []
    for _ in range(repeat):
        began = time.perf_counter()
        built = build_tariff(intervals, at, reference.zone, reference.options, history)
        validate_tariff(built.tariff)
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def fmt_seconds(value: float) -> str:
    """Seconds, or 'never' for inf."""
    return "never" if math.isinf(value) else f"{value:.1f} s"


def per_day(count: int, days: float) -> str:
    """A count per day, with a decimal when it is small."""
    rate = count / days
    return f"{rate:.1f}" if rate < 10 else f"{rate:.0f}"


def verdict(ok: bool) -> str:
    """Pass or fail."""
    return "pass" if ok else "FAIL"


def table(
    scenario: Scenario,
    tracking: Tracking,
    calls: Budget,
    usage: Cpu,
    build_ms: list[float],
    setups: list[float],
) -> list[tuple[str, str, str, str]]:
    """(metric, value, target, result) rows."""
    seconds = tracking.seconds or 1.0
    buy_share = tracking.buy_off / seconds
    sell_share = tracking.sell_off / seconds
    either = tracking.either_off / seconds
    lat = tracking.latencies or [math.inf]
    fin = tracking.final_latencies or [math.inf]
    p95 = percentile(lat, 0.95)
    days = calls.days
    reads = calls.tesla_reads
    read_parts = ", ".join(f"{op} {per_day(n, days)}" for op, n in sorted(reads.items()))
    gap = calls.shortest_gap
    cycle = usage.cycle or [math.nan]
    total = usage.total or [math.nan]
    warm = setups[1:] or setups
    return [
        (
            "Tracking: time buy differs > 0.1 c/kWh",
            f"{buy_share:.1%}",
            "< 10%",
            verdict(buy_share < 0.10),
        ),
        (
            "Tracking: time sell differs > 0.1 c/kWh",
            f"{sell_share:.1%}",
            "< 10%",
            verdict(sell_share < 0.10),
        ),
        ("Tracking: time buy or sell differs", f"{either:.1%}", "< 10%", verdict(either < 0.10)),
        (
            "Tracking: mean abs. buy difference (time-weighted)",
            f"{tracking.buy_weighted / seconds:.3f} c/kWh",
            "floor 0",
            "-",
        ),
        (
            "Tracking: mean abs. sell difference (time-weighted)",
            f"{tracking.sell_weighted / seconds:.3f} c/kWh",
            "floor 0",
            "-",
        ),
        ("Latency: median (new interval -> plan)", fmt_seconds(statistics.median(lat)), "", "-"),
        ("Latency: p95", fmt_seconds(p95), "< 60 s", verdict(p95 < 60)),
        ("Latency: max", fmt_seconds(max(lat)), "", "-"),
        (
            "Latency: intervals never carried",
            f"{tracking.missed} of {tracking.intervals}",
            "",
            "-",
        ),
        (
            "Latency from the final price: median / p95",
            f"{fmt_seconds(statistics.median(fin))} / {fmt_seconds(percentile(fin, 0.95))}",
            "",
            "-",
        ),
        ("Amber calls per day", f"{calls.amber_calls / days:.0f}", "", "-"),
        (
            "Amber calls per 5-min interval: mean / max",
            f"{calls.amber_per_interval_mean:.2f} / {calls.amber_per_interval_max}",
            "mean <= 3",
            verdict(calls.amber_per_interval_mean <= 3 + 1e-9),
        ),
        (
            "Tesla reads per day",
            f"{sum(reads.values()) / days:.0f} ({read_parts})",
            "",
            "-",
        ),
        ("Tesla writes per day", f"{calls.writes / days:.0f}", "", "-"),
        (
            "Identical consecutive writes",
            f"{calls.identical_consecutive}",
            "0",
            verdict(calls.identical_consecutive == 0),
        ),
        (
            "Shortest gap between writes",
            "no two writes" if gap is None else f"{gap:.1f} s",
            ">= 240 s",
            verdict(gap is None or gap >= 240 - 1e-6),
        ),
        (
            "CPU per 5-min cycle: median / p95 / max",
            f"{statistics.median(cycle):.1f} / {percentile(cycle, 0.95):.1f} / {max(cycle):.1f} ms",
            "< 20 ms (p95)",
            verdict(percentile(cycle, 0.95) < 20),
        ),
        (
            "CPU per 5 min incl. live-status polls: median / p95",
            f"{statistics.median(total):.1f} / {percentile(total, 0.95):.1f} ms",
            "",
            "-",
        ),
        (
            "build_tariff + validate_tariff: median / p95",
            f"{statistics.median(build_ms):.2f} / {percentile(build_ms, 0.95):.2f} ms",
            "",
            "-",
        ),
        (
            "Entry setup (async_setup, faked APIs): median / first",
            f"{statistics.median(warm) * 1000:.0f} / {setups[0] * 1000:.0f} ms",
            "",
            "-",
        ),
    ]


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    """The main table."""
    print_rows(("metric", "value", "target", "result"), rows)


def print_rows(heads: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A Markdown table (pastes into BENCHMARKS.md as is)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def print_days(tracking: Tracking) -> None:
    """Per local day: how the spike, negative-price and DST days compare."""
    print()
    rows = []
    for name, day in tracking.days.items():
        if day.seconds <= 0:
            continue
        lat = day.latencies or [math.inf]
        rows.append(
            (
                name,
                f"{day.seconds / 3600:.1f} h",
                f"{day.either_off / day.seconds:.1%}",
                f"{day.buy_weighted / day.seconds:.3f}",
                f"{fmt_seconds(statistics.median(lat))} / {fmt_seconds(percentile(lat, 0.95))}",
                f"{sum(1 for x in lat if math.isinf(x))}",
                f"{day.writes}",
            )
        )
    heads = (
        "local day",
        "replayed",
        "time off",
        "mean abs. buy diff, c",
        "latency median / p95",
        "never carried",
        "writes",
    )
    print_rows(heads, rows)


def print_checks(run: harness.ReplayRun, reproduced: Reproduced, tracking: Tracking) -> None:
    """What else the run saw: harness self-check, warnings, repairs, errors."""
    print()
    print(
        f"Harness check: {reproduced.equal} of {reproduced.checked} writes equal the plan "
        "build_tariff makes from the Amber response fetched before them"
        + (
            f" ({reproduced.from_earlier} from the response before one that arrived at the "
            "instant of the push)"
            if reproduced.from_earlier
            else ""
        )
        + (f" (first differing: {', '.join(reproduced.unmatched)})" if reproduced.unmatched else "")
    )
    print(
        f"Intervals that ended with the Powerwall on another price than Amber's final one: "
        f"{tracking.ended_off} of {tracking.intervals}"
    )
    warnings = [r for r in run.log_records if r[1].startswith(harness.INTEGRATION_LOGGER)]
    print(f"Integration warnings/errors logged: {len(warnings)}")
    for level, name, text in warnings[:5]:
        print(f"  {level} {name}: {text[:160]}")
    print(f"Full garbage collections during the replay (left out of CPU): {run.full_collections}")
    print(f"Repair issues open at the end: {', '.join(run.issues) or 'none'}")
    print(f"Entry state at the end: {run.entry_state}; unloads cleanly: {run.unload_ok}")
    if run.loop_errors:
        print(f"Uncaught errors in the event loop: {len(run.loop_errors)}")
        for text in run.loop_errors[:5]:
            print(f"  {text[:200]}")


async def measure(scenario: Scenario, setup_runs: int) -> tuple[harness.ReplayRun, list[float]]:
    """Setup timings, then the replay."""
    setups = await harness.time_setups(scenario.clouds, scenario.start, setup_runs)
    run = await harness.replay(scenario.clouds(), scenario.start, scenario.end)
    return run, setups


def main(argv: list[str] | None = None) -> int:
    """Run, print, return the exit code."""
    args = parse_args(argv)
    start = datetime.fromisoformat(args.start)
    start = start.replace(tzinfo=ZONE) if start.tzinfo is None else start.astimezone(ZONE)
    scenario = Scenario(
        seed=args.seed,
        start=start,
        days=args.days,
        negative_day=start.date() + timedelta(days=1),
        spike_day=start.date() + timedelta(days=3),
        latency=Latency(args.amber_latency, args.tesla_read_latency, args.tesla_write_latency),
        site=args.site,
        horizon_hours=args.horizon_hours,
    )
    # The simulator's noise is a pure function of its key; remembering it only saves time.
    noise.normal = functools.lru_cache(maxsize=1 << 21)(noise.normal)  # type: ignore[method-assign]
    harness.install_freezegun_fixes()

    began = time.perf_counter()
    run, setups = asyncio.run(measure(scenario, args.setup_runs))
    replayed = time.perf_counter() - began

    model = run.clouds.model
    reference = Reference(model, run.clouds.site, scenario.zone, since=scenario.start)
    tracking = track(run, reference)
    calls = budget(run)
    usage = cpu(run)
    reproduced = reproduce(run, reference, limit=None if args.quick else 400)
    build_ms = time_build(scenario, args.build_repeat)
    total = time.perf_counter() - began

    print(
        f"Tesla Amber Sync replay: {scenario.days:g} simulated days from "
        f"{scenario.start:%a %d %b %Y %H:%M %Z} (Australia/Sydney), seed {scenario.seed}; "
        f"site {scenario.site} ({scenario.zone.key}); Amber horizon "
        + (f"{scenario.horizon_hours:g} h" if scenario.horizon_hours else "AEMO pre-dispatch")
    )
    print(
        f"Scenario: negative-price day {scenario.negative_day:%a %d %b}, spike day "
        f"{scenario.spike_day:%a %d %b}; DST changes: {', '.join(scenario.dst_changes()) or 'none'}"
    )
    print(
        f"Simulated round trips: Amber {scenario.latency.amber:g} s, Tesla read "
        f"{scenario.latency.tesla_read:g} s, write {scenario.latency.tesla_write:g} s"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load}; replay "
        f"{run.wall_seconds:.0f} s wall ({len(run.steps)} clock steps), analysis "
        f"{total - replayed:.0f} s, total {total:.0f} s"
    )
    print()
    print_table(table(scenario, tracking, calls, usage, build_ms, setups))
    print_days(tracking)
    print_horizon(horizon(run, scenario.zone))
    print_checks(run, reproduced, tracking)
    broken = bool(run.loop_errors) or "LOADED" not in run.entry_state.upper()
    return 2 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
