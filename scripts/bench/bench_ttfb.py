"""Streaming start-up benchmark: time to first byte, to the first complete fragment and to the first
HLS segment, on a running hub.

1. Makes one real source file with ffmpeg: H.264 High (x264, a keyframe every 2 s) + AAC stereo in
   Matroska, 1920x1080 at 24 fps, 30 s by default (``--size``, ``--duration``).
2. Starts ``omnimedia run`` on a configuration whose only library holds it, and waits until it is
   scanned.
3. For each scenario, ``--runs`` times (new session each time, the previous one deleted):
   ``POST /api/playback/sessions`` (lookup, ffprobe, decision, session; for HLS ffmpeg starts
   here), then the stream is requested and read:

   - *progressive remux* (``desktop_browser``: Matroska is remuxed to fragmented MP4, streams
     copied) and *progressive transcode* (the same with ``max_bitrate`` 4 Mbit/s: libx264
     veryfast): time from the GET to the first byte of the body, and to the end of the first
     complete ``moof`` + ``mdat`` fragment (a player can show a picture from there);
   - *HLS remux* (``chromecast``) and *HLS transcode* (``chromecast`` with 4 Mbit/s): time from
     the POST to the last byte of segment 0 (the master and media playlists are read first, as a
     player does).

   Medians (and the fastest run) in milliseconds. The session is deleted and its ffmpeg ended
   before the next run.

    python scripts/bench/bench_ttfb.py [--runs 5] [--size 1920x1080] [--duration 30] [--record]

No goal is set by the issue; the numbers say what a user waits for after pressing play.
``--record`` writes the table into docs/benchmarks.md (block ``bench:ttfb``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _record import command_line, header, record  # noqa: E402

BITRATE_CAP = 4_000_000


def make_source(path: Path, size: str, duration: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=24:duration={duration}",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}:sample_rate=48000",
        "-ac", "2", "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-g", "48", "-c:a", "aac", "-b:a", "192k", str(path)], check=True, timeout=600)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 - loopback only
        return json.loads(reply.read())


def start_hub(config_dir: Path, media: Path, port: int) -> subprocess.Popen:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "configuration.yaml").write_text(
        f"hub:\n  host: 127.0.0.1\n  port: {port}\n  log_level: warning\n"
        f"libraries:\n  - path: {str(media)!r}\n    type: movies\n"
        "discovery:\n  zeroconf: false\n  advertise: false\n"
        "playback:\n  max_transcodes: 2\n", encoding="utf-8")
    cli = Path(sys.executable).with_name("omnimedia")
    argv = [str(cli)] if cli.exists() else [sys.executable, "-m", "omnimedia.core.cli"]
    proc = subprocess.Popen([*argv, "run", "--config", str(config_dir)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"omnimedia run exited {proc.returncode}:\n{proc.stdout.read()[-3000:]}")
        try:
            stats = _get_json(f"{base}/api/library/stats")
            if not stats.get("scanning") and stats.get("total_items", 0) >= 1:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the hub did not scan the source in time")


def stop_hub(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def first_fragment_end(data: bytes) -> int | None:
    """Byte offset where the first complete moof + mdat ends (ISO/IEC 14496-12 box headers), or
    ``None`` while it has not all arrived."""
    pos, seen_moof = 0, False
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            if pos + 16 > len(data):
                return None
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        if size < 8:
            return None
        if kind == b"moof":
            seen_moof = True
        elif kind == b"mdat" and seen_moof:
            return pos + size if pos + size <= len(data) else None
        pos += size
    return None


async def progressive_run(http: aiohttp.ClientSession, base: str, item_id: int, body: dict) -> dict[str, float]:
    t0 = time.perf_counter()
    async with http.post(f"{base}/api/playback/sessions", json={"item_id": item_id, **body}) as resp:
        plan = await resp.json()
        assert resp.status == 201, plan
    t_plan = time.perf_counter()
    data = bytearray()
    first_byte = fragment = None
    async with http.get(base + plan["url"]) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "video/mp4"
        while fragment is None:
            chunk = await resp.content.readany()
            if not chunk:
                break
            now = time.perf_counter()
            if first_byte is None:
                first_byte = now
            data += chunk
            if first_fragment_end(bytes(data)) is not None:
                fragment = now
    async with http.delete(f"{base}/api/playback/sessions/{plan['session_id']}"):
        pass
    assert first_byte is not None and fragment is not None, "no fragment received"
    return {"plan": t_plan - t0, "first_byte": first_byte - t_plan, "fragment": fragment - t_plan,
            "method": plan["decision"]["method"]}


async def hls_run(http: aiohttp.ClientSession, base: str, item_id: int, body: dict) -> dict[str, float]:
    t0 = time.perf_counter()
    async with http.post(f"{base}/api/playback/sessions", json={"item_id": item_id, **body}) as resp:
        plan = await resp.json()
        assert resp.status == 201, plan
    t_plan = time.perf_counter()
    folder = base + plan["url"].rsplit("/", 1)[0]
    async with http.get(base + plan["url"]) as resp:
        await resp.read()
    async with http.get(folder + "/media.m3u8") as resp:
        uri = next(line for line in (await resp.text()).splitlines() if line and not line.startswith("#"))
    async with http.get(f"{folder}/{uri}") as resp:
        assert resp.status == 200, await resp.text()
        segment = await resp.read()
    t_segment = time.perf_counter()
    async with http.delete(f"{base}/api/playback/sessions/{plan['session_id']}"):
        pass
    assert segment[:1] == b"\x47", "not MPEG-TS"
    return {"plan": t_plan - t0, "segment": t_segment - t0, "method": plan["decision"]["method"]}


async def measure(base: str, item_id: int, runs: int) -> dict[str, list[dict[str, Any]]]:
    scenarios = {
        "progressive remux": (progressive_run, {"profile": "desktop_browser"}),
        "progressive transcode": (progressive_run, {"profile": "desktop_browser", "max_bitrate": BITRATE_CAP}),
        "HLS remux": (hls_run, {"profile": "chromecast"}),
        "HLS transcode": (hls_run, {"profile": "chromecast", "max_bitrate": BITRATE_CAP}),
    }
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in scenarios}
    async with aiohttp.ClientSession() as http:
        # One warm-up of each (page cache, keyframe index cache, first imports in the hub).
        for fn, body in scenarios.values():
            await fn(http, base, item_id, body)
        for _ in range(runs):  # rounds alternate between scenarios so load changes hit all alike
            for name, (fn, body) in scenarios.items():
                results[name].append(await fn(http, base, item_id, body))
                await asyncio.sleep(0.2)
    return results


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:,.0f} ({min(values) * 1000:,.0f})"


def main() -> int:
    parser = argparse.ArgumentParser(description="Time to first byte / fragment / segment of streaming")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--record", action="store_true", help="write the results into docs/benchmarks.md")
    args = parser.parse_args()

    started = header(command_line())
    work = args.workdir or Path(tempfile.mkdtemp(prefix="omnimedia-bench-ttfb-"))
    try:
        source = make_source(work / "media" / "Bench.Movie.2024.1080p.WEB-DL.H264-GRP.mkv", args.size, args.duration)
        port = _free_port()
        hub = start_hub(work / "config", source.parent, port)
        try:
            base = f"http://127.0.0.1:{port}"
            item_id = _get_json(f"{base}/api/media?limit=1")["items"][0]["id"]
            results = asyncio.run(measure(base, item_id, args.runs))
        finally:
            stop_hub(hub)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    rows = []
    for name, runs in results.items():
        method = runs[0]["method"]
        plan = _ms([r["plan"] for r in runs])
        if "fragment" in runs[0]:
            rows.append(f"| {name} ({method}) | {plan} | {_ms([r['first_byte'] for r in runs])} | "
                        f"{_ms([r['fragment'] for r in runs])} | |")
        else:
            rows.append(f"| {name} ({method}) | {plan} | | | {_ms([r['segment'] for r in runs])} |")
    table = "\n".join([
        f"Source: H.264 High {args.size} 24 fps (keyframe every 2 s) + AAC stereo in Matroska, "
        f"{args.duration:g} s; transcodes capped at {BITRATE_CAP / 1e6:g} Mbit/s (libx264 veryfast). "
        f"Median (fastest) of {args.runs} runs in ms, after one warm-up each.",
        "",
        "| scenario | POST → plan | GET → first byte | GET → first fMP4 fragment | POST → HLS segment 0 received |",
        "|---|---|---|---|---|",
        *rows,
    ])
    print(table)
    if args.record:
        path = record("ttfb", started + "\n" + table)
        print(f"recorded in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
