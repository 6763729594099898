"""Library benchmark: cold scan, no-change rescan and probe throughput on 10,000 real files, and the
memory of a running hub holding them.

1. Makes a handful of tiny but real media files (ffmpeg: H.264/AAC in MKV and MP4, MP3 and FLAC
   with tags; Pillow: JPEG with EXIF), then copies them under 10,000 release-like names across
   four libraries (movies, tv, music, photos) in nested folders.
2. In-process, through the real hub and ``hub.library.scan()`` on a fresh SQLite database:
   the cold scan (every file walked, classified, parsed, probed or read, and stored) and a
   no-change rescan (walk + size/mtime comparison only).
3. Starts ``omnimedia run`` as a subprocess on the same config (its start-up scan is a no-change
   rescan), waits until it answers ``/api/health`` and has finished scanning, serves one page of
   ``/api/media``, then reads the process's ``VmRSS``/``VmHWM`` from ``/proc/<pid>/status``.

    python scripts/bench/bench_library.py [--files 10000] [--workdir DIR] [--keep] [--record]

Goals (issue 2): no-change rescan of 10,000 files < 1 s; running hub with 10,000 items < 150 MB RSS.
``--record`` writes the table into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _record import command_line, header, record  # noqa: E402

MOVIE_TITLES = ["Silent River", "The Last Harbor", "Glass Mountain", "Paper Moon Rising", "Iron Orchard",
                "Northern Lights", "Blue Horizon", "The Quiet Year", "Winter Signal", "Copper Sky"]
SHOWS = ["Station Eleven", "The Harbor Files", "Night Shift", "Desert Kings", "Small Town Law",
         "Deep Space Crew", "Kitchen Wars", "Old Money", "City Of Glass", "Field Notes"]
ARTISTS = ["Aurora Falls", "The Midnight Owls", "Sigur Stone", "Neon Harbor", "Quiet Engines"]
GROUPS = ["GRP", "NTb", "FLUX", "SPARKS", "RARBG", "EDITH"]
QUALITIES = ["720p.WEB-DL.x264", "1080p.BluRay.x264", "2160p.WEB-DL.DDP5.1.H.265", "1080p.HDTV.x264"]


# -- media ----------------------------------------------------------------------------------------
def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, timeout=120)


def make_sources(folder: Path) -> dict[str, Path]:
    """The real files every generated name is a copy of: {kind: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    av = ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10:duration=1",
          "-f", "lavfi", "-i", "sine=frequency=440:duration=1:sample_rate=44100"]
    out = {
        "mkv": folder / "source.mkv",
        "mp4": folder / "source.mp4",
        "mp3": folder / "source.mp3",
        "flac": folder / "source.flac",
        "jpg": folder / "source.jpg",
    }
    _ffmpeg(*av, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(out["mkv"]))
    _ffmpeg(*av, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest",
            "-movflags", "+faststart", str(out["mp4"]))
    sine = ["-f", "lavfi", "-i", "sine=frequency=660:duration=1:sample_rate=44100"]
    tags = ["-metadata", "artist=Aurora Falls", "-metadata", "album=First Light", "-metadata", "title=Opening",
            "-metadata", "track=1", "-metadata", "date=2021"]
    _ffmpeg(*sine, "-c:a", "libmp3lame", "-b:a", "64k", *tags, str(out["mp3"]))
    _ffmpeg(*sine, "-c:a", "flac", *tags, str(out["flac"]))
    from PIL import Image

    image = Image.new("RGB", (64, 48), (40, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "Omni-Media Bench"  # Make
    exif[0x0110] = "Camera 1"  # Model
    exif[0x0132] = "2023:06:01 12:00:00"  # DateTime
    image.save(out["jpg"], "JPEG", exif=exif)
    return out


def layout(count: int) -> list[tuple[str, str, str]]:
    """``count`` (library, relative path, source kind) triples, like a real household library:
    30 % movies, 40 % episodes, 20 % music tracks, 10 % photos."""
    plan: list[tuple[str, str, str]] = []
    n_movies, n_eps, n_tracks = int(count * 0.3), int(count * 0.4), int(count * 0.2)
    n_photos = count - n_movies - n_eps - n_tracks
    for i in range(n_movies):
        title = f"{MOVIE_TITLES[i % len(MOVIE_TITLES)]} {i // len(MOVIE_TITLES) + 1}"
        year = 1960 + i % 64
        dotted = title.replace(" ", ".")
        ext = "mkv" if i % 3 else "mp4"
        name = f"{dotted}.{year}.{QUALITIES[i % len(QUALITIES)]}-{GROUPS[i % len(GROUPS)]}.{ext}"
        plan.append(("movies", f"{title} ({year})/{name}", ext))
    for i in range(n_eps):
        show = SHOWS[i % len(SHOWS)]
        k = i // len(SHOWS)
        season, episode = k // 24 + 1, k % 24 + 1
        name = f"{show.replace(' ', '.')}.S{season:02d}E{episode:02d}.{QUALITIES[i % len(QUALITIES)]}-{GROUPS[i % len(GROUPS)]}.mkv"
        plan.append(("tv", f"{show}/Season {season:02d}/{name}", "mkv"))
    for i in range(n_tracks):
        artist = ARTISTS[i % len(ARTISTS)]
        album_no, track = divmod(i // len(ARTISTS), 12)
        ext = "flac" if i % 4 == 0 else "mp3"
        plan.append(("music", f"{artist}/Album {album_no + 1:03d}/{track + 1:02d} - Track {track + 1}.{ext}", ext))
    for i in range(n_photos):
        plan.append(("photos", f"{2000 + i % 24}/{i % 12 + 1:02d}/IMG_{i:05d}.jpg", "jpg"))
    return plan


def build_tree(root: Path, count: int) -> dict[str, int]:
    sources = make_sources(root / "_sources")
    per_library: dict[str, int] = {}
    for library, rel, kind in layout(count):
        dest = root / library / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sources[kind], dest)
        per_library[library] = per_library.get(library, 0) + 1
    return per_library


def write_config(config_dir: Path, media_root: Path, port: int) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    libs = "".join(f"  - path: {str(media_root / t)!r}\n    type: {t}\n" for t in ("movies", "tv", "music", "photos"))
    (config_dir / "configuration.yaml").write_text(
        f"hub:\n  host: 127.0.0.1\n  port: {port}\n  log_level: warning\n"
        f"libraries:\n{libs}"
        "discovery:\n  zeroconf: false\n  advertise: false\n",
        encoding="utf-8",
    )


# -- measurements ---------------------------------------------------------------------------------
async def scan_in_process(config_dir: Path) -> dict[str, Any]:
    from omnimedia.core.bootstrap import prepare
    from omnimedia.core.hub import Hub

    config, plugins, errors = prepare(config_dir)
    if errors or config is None:
        raise SystemExit("configuration errors: " + "; ".join(map(str, errors)))
    hub = Hub(config, plugins)
    await hub.start(serve_http=False, initial_scan=False, watch=False, discovery=False)
    try:
        t0 = time.perf_counter()
        cold = await hub.library.scan()
        cold_s = time.perf_counter() - t0
        rescans = []
        for _ in range(3):
            t0 = time.perf_counter()
            again = await hub.library.scan()
            rescans.append(time.perf_counter() - t0)
        stats = await hub.library.stats()
    finally:
        await hub.stop()
    return {"cold": cold, "cold_s": cold_s, "rescan": again, "rescan_s": sorted(rescans)[1], "stats": stats}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 - loopback only
        return json.loads(reply.read())


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def hub_rss(config_dir: Path, port: int, expected_items: int) -> dict[str, Any]:
    """Run ``omnimedia run`` and measure its memory once it serves all items."""
    cli = Path(sys.executable).with_name("omnimedia")
    argv = [str(cli)] if cli.exists() else [sys.executable, "-m", "omnimedia.core.cli"]
    proc = subprocess.Popen([*argv, "run", "--config", str(config_dir)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        stats: dict[str, Any] = {}
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"omnimedia run exited {proc.returncode}:\n{proc.stdout.read()[-3000:]}")
            try:
                _get_json(f"{base}/api/health")
                stats = _get_json(f"{base}/api/library/stats")
                if not stats.get("scanning") and stats.get("total_items", 0) >= expected_items:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError(f"hub not ready with {expected_items} items in time: {stats}")
        time.sleep(2)  # let the start-up rescan's stragglers settle
        page = _get_json(f"{base}/api/media?limit=100")
        rss = _status_kib(proc.pid, "VmRSS")
        hwm = _status_kib(proc.pid, "VmHWM")
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        return {"rss_kib": rss, "hwm_kib": hwm, "items": stats.get("total_items"), "page": len(page["items"]),
                "total": page["total"], "exit": code}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description="Library scan and memory benchmark")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, help="where to build the tree (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated tree and database")
    parser.add_argument("--record", action="store_true", help="write the results into docs/benchmarks.md")
    args = parser.parse_args()

    started = header(command_line())  # commit and load when the measured code was imported
    work = args.workdir or Path(tempfile.mkdtemp(prefix="omnimedia-bench-library-"))
    work.mkdir(parents=True, exist_ok=True)
    media, config_dir = work / "media", work / "config"
    try:
        t0 = time.perf_counter()
        per_library = build_tree(media, args.files)
        built_s = time.perf_counter() - t0
        print(f"built {sum(per_library.values())} files {per_library} in {built_s:.1f} s", file=sys.stderr)
        port = _free_port()
        write_config(config_dir, media, port)

        scan = asyncio.run(scan_in_process(config_dir))
        cold = scan["cold"]
        probed = per_library.get("movies", 0) + per_library.get("tv", 0) + per_library.get("music", 0)
        print(f"cold scan {scan['cold_s']:.1f} s: {cold}", file=sys.stderr)
        print(f"no-change rescan {scan['rescan_s']:.3f} s: {scan['rescan']}", file=sys.stderr)
        mem = hub_rss(config_dir, port, args.files)
        print(f"hub memory: {mem}", file=sys.stderr)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    rescan_ok = "✓" if scan["rescan_s"] < 1.0 else "✗"
    rss_mb = mem["rss_kib"] / 1024
    rss_ok = "✓" if rss_mb < 150 else "✗"
    rows = [
        ("files (movies / episodes / tracks / photos)",
         f"{args.files:,} ({per_library.get('movies', 0)} / {per_library.get('tv', 0)} / "
         f"{per_library.get('music', 0)} / {per_library.get('photos', 0)})", ""),
        ("cold scan", f"{scan['cold_s']:.1f} s ({args.files / scan['cold_s']:.0f} files/s; "
                      f"added {cold.get('added')}, errors {cold.get('errors')})", ""),
        ("probe throughput (ffprobe'd audio/video files / cold-scan time)",
         f"{probed / scan['cold_s']:.0f} files/s", ""),
        ("no-change rescan (median of 3)", f"{scan['rescan_s']:.3f} s (unchanged {scan['rescan'].get('unchanged')})",
         f"< 1 s {rescan_ok}"),
        ("running hub RSS with all items (VmRSS; peak VmHWM)",
         f"{rss_mb:.0f} MB (peak {mem['hwm_kib'] / 1024:.0f} MB; serving {mem['items']} items)", f"< 150 MB {rss_ok}"),
    ]
    lines = ["| measure | result | goal |", "|---|---|---|", *[f"| {a} | {b} | {c} |" for a, b, c in rows]]
    table = "\n".join(lines)
    print(table)
    if args.record:
        path = record("library", started + "\n" + table)
        print(f"recorded in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
