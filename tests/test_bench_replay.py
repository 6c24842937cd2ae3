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


def test_short_morning_replay_on_amber_horizon() -> None:
    """A Brisbane morning on AEMO's horizon: the plan's last hours come from the beyond-horizon
    rule, and nothing is refused, repaired or restored; every write is the rules' plan."""
    done = subprocess.run(  # noqa: S603 (our own script, fixed arguments)
        [
            sys.executable,
            str(ROOT / "bench" / "replay.py"),
            "--quick",
            "--site",
            "brisbane",
            "--start",
            "2025-04-04T09:00",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = {
        cells[0]: cells[1]
        for line in done.stdout.splitlines()
        if line.startswith("| ")
        and len(cells := [c.strip() for c in line.strip("|").split("|")]) >= 2
    }
    assert rows["hours per day with no fresh plan (worst day)"] == "0.00"
    assert rows["refused builds (prices_unavailable episodes)"] == "0"
    assert rows["stale-price repairs raised"] == "0"
    assert rows["original-plan restores"] == "0"
    assert int(rows["Amber history catch-up calls"]) >= 1
    shares = next(line for line in done.stdout.splitlines() if "beyond Amber's horizon" in line)
    values = [float(c.strip().rstrip("%")) for c in shares.strip("|").split("|")[1:]]
    assert values, shares
    assert all(v > 0 for v in values), shares  # 07:00-10:00 Brisbane: tomorrow 04:00+ unforecast
    checked = next(line for line in done.stdout.splitlines() if line.startswith("Harness check:"))
    equal, _, total = checked.removeprefix("Harness check: ").split(" ")[:3]
    assert equal == total, checked
