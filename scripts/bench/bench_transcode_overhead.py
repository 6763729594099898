"""Transcode overhead: the hub's transcode path versus the same ffmpeg command run by hand.

A clip is made with lavfi (``testsrc2`` 640x360 at 25 fps plus a stereo sine, H.264/AAC in
Matroska, ``--seconds`` long; the default makes a ``balanced`` run take about 9 s on the
2-core test machine when nothing else runs). A real hub is started (SQLite, no HTTP) with a ``plugins: - platform:
ffmpeg`` entry, and the ``ffmpeg`` plugin's transcoder, built the way the engine builds it
(``cls(hub, entry)``), transcodes the clip with the ``balanced`` profile on the hub's loop, with a
progress callback: that is the *plugin* side, timed around ``await transcode()`` (so it includes
the ffprobe of the source, planning, starting ffmpeg, reading ``-progress`` and the stderr tail;
each round uses a new transcoder object, so nothing is cached between rounds).

The *by hand* side runs the exact command line the plugin reported (``result["command"]``) with
:func:`subprocess.run` on a worker thread (the hub's loop stays alive and idle), ``-progress
pipe:N`` pointed at stdout, which goes to ``/dev/null``.

Rounds alternate which side runs first; one warm-up of each is not counted. The overhead is the
median of the per-round ratios plugin/by-hand − 1, and, as a cross-check, of the medians.

    python scripts/bench/bench_transcode_overhead.py [--rounds 24] [--seconds 36] [--record]

Goal (issue 4): overhead ≤ 2% of wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _record import command_line, header, record  # noqa: E402

from omnimedia.core.bootstrap import prepare  # noqa: E402
from omnimedia.core.hub import Hub  # noqa: E402

CONFIG = """\
hub:
  host: 127.0.0.1
  port: 0
  log_level: warning
libraries: []
discovery:
  zeroconf: false
  advertise: false
plugins:
  - platform: ffmpeg
"""


def make_clip(path: Path, seconds: float) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000",
         "-ac", "2", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", str(path)],
        check=True,
    )


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def by_hand(cmd: list[str]) -> tuple[float, float]:
    cpu = children_cpu()
    start = time.perf_counter()
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start, children_cpu() - cpu


def own_cpu() -> float:
    """CPU seconds of this process (the hub's loop and its threads), children excluded."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(rounds: int, seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-transcode-") as tmp:
        folder = Path(tmp)
        (folder / "config").mkdir()
        (folder / "config" / "configuration.yaml").write_text(CONFIG, encoding="utf-8")
        clip = folder / "clip.mkv"
        make_clip(clip, seconds)
        config, plugins, errors = prepare(folder / "config")
        assert config is not None and not errors, [str(e) for e in errors]
        hub = Hub(config, plugins)
        await hub.start(serve_http=False)
        try:
            entry = next(e for e in hub.config.plugins if e["platform"] == "ffmpeg")
            cls = hub.plugins.providers("transcoder")["ffmpeg"]
            profile = cls(hub, entry).profiles()["balanced"]
            updates: list[int] = []
            hub_cpu: list[float] = []

            async def plugin(dest: Path) -> tuple[float, float, list[str]]:
                count = 0

                def on_progress(_progress: object) -> None:
                    nonlocal count
                    count += 1

                cpu, mine = children_cpu(), own_cpu()
                start = time.perf_counter()
                transcoder = cls(hub, entry)  # a fresh object: nothing cached from the last round
                result = await transcoder.transcode(str(clip), str(dest), profile, on_progress=on_progress)
                wall = time.perf_counter() - start
                hub_cpu.append(own_cpu() - mine)
                updates.append(count)
                return wall, children_cpu() - cpu, result["command"]

            async def manual(cmd: list[str], dest: Path) -> tuple[float, float]:
                hand = list(cmd)
                hand[hand.index("-progress") + 1] = "pipe:1"  # stdout → /dev/null
                hand[hand.index(str(folder / "plugin.mkv"))] = str(dest)
                return await asyncio.to_thread(by_hand, hand)

            # warm-up (page cache, x265 start-up), and the command line to repeat
            _, _, cmd = await plugin(folder / "plugin.mkv")
            await manual(cmd, folder / "hand.mkv")
            # the fixed part of the plugin's path that runs before ffmpeg: ffprobe, plan, compile
            before = []
            for _ in range(10):
                start = time.perf_counter()
                await cls(hub, entry).plan(str(clip), str(folder / "plugin.mkv"), profile)
                before.append(time.perf_counter() - start)
            plugin_walls, hand_walls, ratios, plugin_cpu, hand_cpu = [], [], [], [], []
            for i in range(rounds):
                order = ("plugin", "hand") if i % 2 == 0 else ("hand", "plugin")
                got = {}
                for side in order:
                    if side == "plugin":
                        wall, cpu, _ = await plugin(folder / "plugin.mkv")
                    else:
                        wall, cpu = await manual(cmd, folder / "hand.mkv")
                    got[side] = (wall, cpu)
                    print(f"round {i + 1} {side:6s} {wall:7.3f} s wall, {cpu:7.3f} s CPU", flush=True)
                plugin_walls.append(got["plugin"][0])
                hand_walls.append(got["hand"][0])
                plugin_cpu.append(got["plugin"][1])
                hand_cpu.append(got["hand"][1])
                ratios.append(got["plugin"][0] / got["hand"][0] - 1)
            same_size = (folder / "plugin.mkv").stat().st_size == (folder / "hand.mkv").stat().st_size
        finally:
            await hub.stop()
    rng = random.Random(4)
    boot = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(2000))
    return {
        "ci": (boot[50], boot[1949]), "cmd": cmd, "plugin_median": statistics.median(plugin_walls), "hand_median": statistics.median(hand_walls),
        "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
        "plugin_cpu": statistics.median(plugin_cpu), "hand_cpu": statistics.median(hand_cpu),
        "before": statistics.median(before), "updates": statistics.median(updates), "hub_cpu": statistics.median(hub_cpu[1:]), "same_size": same_size, "rounds": rounds, "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=36.0, help="length of the generated clip")
    parser.add_argument("--record", action="store_true", help="write the results into docs/benchmarks.md")
    args = parser.parse_args()
    r = asyncio.run(run(args.rounds, args.seconds))
    overhead = 100 * r["ratio_median"]
    of_medians = 100 * (r["plugin_median"] / r["hand_median"] - 1)
    ok = overhead <= 2.0
    shown = " ".join(r["cmd"])
    table = (
        "| measure | value | goal |\n|---|---|---|\n"
        f"| by hand (`subprocess.run`), median of {r['rounds']} | {r['hand_median']:.3f} s wall, "
        f"{r['hand_cpu']:.2f} s CPU | |\n"
        f"| through the plugin's `transcode()` on a running hub, median of {r['rounds']} | "
        f"{r['plugin_median']:.3f} s wall, {r['plugin_cpu']:.2f} s CPU ({r['updates']:.0f} progress updates) | |\n"
        f"| overhead, median of the per-round ratios | {overhead:+.2f}% (rounds: {100 * r['ratio_min']:+.2f}% … "
        f"{100 * r['ratio_max']:+.2f}%); 95% bootstrap interval of that median {100 * r['ci'][0]:+.2f}% … "
        f"{100 * r['ci'][1]:+.2f}% | ≤ 2% {'✓' if ok else '✗'} |\n"
        f"| overhead, ratio of the medians | {of_medians:+.2f}% | |\n"
        f"| wall time before ffmpeg starts (ffprobe of the source, plan, compile), median of 10 | "
        f"{1000 * r['before']:.0f} ms = {100 * r['before'] / r['hand_median']:.2f}% of the by-hand wall time | |\n"
        f"| CPU the hub process itself spent per plugin run (progress, stderr, probe, plan) | "
        f"{1000 * r['hub_cpu']:.0f} ms = {100 * r['hub_cpu'] / r['hand_median']:.2f}% of the by-hand wall time | |\n"
        f"| outputs of both sides the same size | {'yes' if r['same_size'] else 'no'} | |\n"
    )
    print(table)
    print("command:", shown)
    if args.record:
        text = (header(command_line()) + f"\nClip: lavfi testsrc2 640x360 25 fps + stereo sine, {r['seconds']:g} s, "
                "H.264/AAC in Matroska; profile `balanced` (libx265 CRF 23, preset medium). Plugin CPU time includes "
                "its ffprobe of the source.\n\nThe command both sides ran (the plugin's, as it reported it):\n\n"
                f"```\n{shown}\n```\n\n" + table)
        print(f"recorded in {record('transcode', text)}")


if __name__ == "__main__":
    main()
