"""The replay benchmark (`bench/replay.py`) runs: a short replay completes and prints every row.

Not a timed test: the figures are measurements, only their presence is checked. The benchmark runs
in its own process because it freezes and patches the clock for the whole interpreter.
"""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).resolve().parent.parent
ROWS = (
    "Tracking: time buy differs > 0.1 c/kWh",
    "Tracking: time sell differs > 0.1 c/kWh",
    "Tracking: time buy or sell differs",
    "Tracking: mean abs. buy difference (time-weighted)",
    "Tracking: mean abs. sell difference (time-weighted)",
    "Latency: median (new interval -> plan)",
    "Latency: p95",
    "Latency: max",
    "Latency: intervals never carried",
    "Amber calls per day",
    "Amber calls per 5-min interval: mean / max",
    "Tesla reads per day",
    "Tesla writes per day",
    "Identical consecutive writes",
    "Shortest gap between writes",
    "CPU per 5-min cycle: median / p95 / max",
    "build_tariff + validate_tariff: median / p95",
    "Entry setup (async_setup, faked APIs): median / first",
)


def test_short_replay_prints_every_metric() -> None:
    """Three simulated hours through the real integration: exit 0 and the full table."""
    done = subprocess.run(  # noqa: S603 (our own script, fixed arguments)
        [sys.executable, str(ROOT / "bench" / "replay.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for row in ROWS:
        matching = [line for line in lines if line.startswith(f"| {row} ")]
        assert len(matching) == 1, f"no row {row!r} in:\n{done.stdout}"
        cells = [cell.strip() for cell in matching[0].strip("|").split("|")]
        assert len(cells) == 4, matching[0]
        assert cells[1], f"{row} has no value"
        assert cells[3] in ("pass", "FAIL", "-"), matching[0]
    assert "Harness check:" in done.stdout
