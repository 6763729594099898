"""Event-bus benchmark: Omni-Media's EventBus/StateMachine against Home Assistant's core bus.

Scenarios (``_bus_scenarios.py``, the same code for both): events/s with 1 and with 10 plain
callback listeners, and state writes/s with one ``state_changed`` listener. The timed region holds
the firing loop and the draining of the event loop until every listener call has happened.

Runs, in alternating rounds so that machine noise hits all alike:
  * ours on this interpreter (the project's venv),
  * ours on Home Assistant's interpreter (same Python as HA: the fairest comparison),
  * Home Assistant (``homeassistant`` installed in its own venv; it needs Python >= 3.13).
Each run is a separate process. Reports the median of the rounds and the ratio ours / HA.

    python scripts/bench/bench_bus.py --setup-ha          # once: make the HA venv (PyPI)
    python scripts/bench/bench_bus.py [--rounds 5] [--events 100000] [--record]

``--record`` writes the table into docs/benchmarks.md. Without a usable HA venv the HA rows are
skipped and the reason is printed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from _record import command_line, header, record  # noqa: E402

SCENARIO_SCRIPT = HERE / "_bus_scenarios.py"
DEFAULT_HA_VENV = Path(os.environ.get("OMNIMEDIA_HA_VENV", Path.home() / ".cache" / "omnimedia-bench" / "ha-venv"))
#: The newest Home Assistant release that installs on Python 3.13.0 (later ones need 3.13.2+).
HA_REQUIREMENT = os.environ.get("OMNIMEDIA_HA_REQUIREMENT", "homeassistant==2025.4.4")
SCENARIOS = ("events_1_listener", "events_10_listeners", "state_writes")
LABELS = {
    "events_1_listener": "events/s, 1 listener",
    "events_10_listeners": "events/s, 10 listeners",
    "state_writes": "state writes/s, 1 state_changed listener",
}


def find_python313() -> str | None:
    """A working Python 3.13: pyenv's installs first (a pyenv shim on PATH may not be usable)."""
    candidates = sorted(glob.glob(str(Path.home() / ".pyenv" / "versions" / "3.13*" / "bin" / "python3.13")),
                        reverse=True)
    on_path = shutil.which("python3.13")
    if on_path:
        candidates.append(on_path)
    for python in candidates:
        if subprocess.run([python, "-c", "import sys; assert sys.version_info[:2] == (3, 13)"],
                          capture_output=True).returncode == 0:
            return python
    return None


def setup_ha(venv: Path) -> None:
    python = find_python313()
    if python is None:
        sys.exit("no python3.13 found (PATH or ~/.pyenv/versions/3.13*); Home Assistant needs it")
    print(f"creating {venv} with {python} and installing {HA_REQUIREMENT}")
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", HA_REQUIREMENT], check=True)


def omnimedia_shim() -> Path:
    """A folder that makes ``omnimedia.core`` importable from the source tree on any interpreter
    (the bus and state machine need only the standard library)."""
    shim = Path(tempfile.mkdtemp(prefix="omnimedia-shim-"))
    (shim / "omnimedia").mkdir()
    (shim / "omnimedia" / "core").symlink_to(ROOT / "core", target_is_directory=True)
    return shim


def run_once(python: str, impl: str, events: int, pythonpath: Path | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run(
        [python, str(SCENARIO_SCRIPT), "--impl", impl, "--events", str(events)],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{impl} on {python} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description="Event-bus benchmark against Home Assistant's core bus")
    parser.add_argument("--events", type=int, default=100_000, help="events (and state writes) per scenario")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ha-venv", type=Path, default=DEFAULT_HA_VENV)
    parser.add_argument("--setup-ha", action="store_true", help="create the Home Assistant venv and exit")
    parser.add_argument("--record", action="store_true", help="write the results into docs/benchmarks.md")
    args = parser.parse_args()

    if args.setup_ha:
        setup_ha(args.ha_venv)
        return 0

    ha_python = args.ha_venv / "bin" / "python"
    have_ha = ha_python.exists() and subprocess.run(
        [str(ha_python), "-c", "import homeassistant.core"], capture_output=True).returncode == 0
    if not have_ha:
        print(f"Home Assistant not found in {args.ha_venv}: run with --setup-ha first; comparing nothing")
    shim = omnimedia_shim()
    runs: dict[str, list[dict[str, float]]] = {}
    meta: dict[str, str] = {}
    plan = [("omnimedia", sys.executable, "omnimedia", shim)]
    if have_ha:
        plan += [("omnimedia (HA's Python)", str(ha_python), "omnimedia", shim),
                 ("homeassistant", str(ha_python), "homeassistant", None)]
    try:
        for round_no in range(args.rounds):
            for label, python, impl, path in plan:
                result = run_once(python, impl, args.events, path)
                runs.setdefault(label, []).extend(result["rounds"])
                version = f" {result['version']}" if result.get("version") else ""
                meta[label] = f"{impl}{version} on Python {result['python']}"
            print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        shutil.rmtree(shim, ignore_errors=True)

    medians = {label: {s: statistics.median(r[s] for r in rounds) for s in SCENARIOS} for label, rounds in runs.items()}
    best = {label: {s: max(r[s] for r in rounds) for s in SCENARIOS} for label, rounds in runs.items()}

    lines = [f"{args.events:,} events per scenario, median (best) of {args.rounds} alternating rounds, one process per run.", ""]
    cols = list(medians)
    lines.append("| scenario | " + " | ".join(meta[c] for c in cols) + (" | ours / HA (same Python) |" if have_ha else " |"))
    lines.append("|---" * (len(cols) + 1 + (1 if have_ha else 0)) + "|")
    for s in SCENARIOS:
        cells = [f"{medians[c][s]:,.0f} ({best[c][s]:,.0f})" for c in cols]
        if have_ha:
            ratio = medians["omnimedia (HA's Python)"][s] / medians["homeassistant"][s]
            cells.append(f"{ratio:.2f}×")
        lines.append(f"| {LABELS[s]} | " + " | ".join(cells) + " |")
    if have_ha:
        ours_own = medians["omnimedia"]["events_1_listener"] / medians["homeassistant"]["events_1_listener"]
        lines += ["", f"Ours on the project's Python / HA, events/s with 1 listener: {ours_own:.2f}×."]
    table = "\n".join(lines)
    print(table)
    if args.record:
        path = record("bus", header(command_line()) + "\n" + table)
        print(f"recorded in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
