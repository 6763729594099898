"""What the transcode tests share: configurations for the real ``ffmpeg`` transcoder plugin
with fast test profiles, media made on the spot, and helpers to drive a hub."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from .conftest import minimal_config

#: ``ffmpeg`` plugin profiles for tests: fast ones (x265 ultrafast) and ones that go wrong on purpose.
PROFILES = """
fast: {crf: 30, preset: ultrafast, container: mkv}
fast_same: {crf: 30, preset: ultrafast}
lossless: {video_codec: h264, crf: 0, preset: ultrafast}
short: {crf: 30, preset: ultrafast, extra_args: {t: "1"}}
no_audio: {crf: 30, preset: ultrafast, extra_args: {an: null}}
slow: {crf: 30, preset: ultrafast, extra_args: {"filter:v": realtime}}
"""


def make_source(
    path: Path, *, duration: float = 4.0, size: str = "320x240", rate: int = 25, crf: int = 16,
    audio: bool = True, video: bool = True, vcodec: str = "libx264",
) -> Path:
    """A high-bitrate test clip (testsrc2 + a sine tone): H.264 + AAC unless told otherwise;
    the container follows the extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["ffmpeg", "-v", "error", "-y"]
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={duration}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}:sample_rate=44100"]
    if video:
        args += ["-c:v", vcodec, "-pix_fmt", "yuv420p"]
        if vcodec == "libx264":
            args += ["-preset", "ultrafast", "-crf", str(crf)]
        elif vcodec == "libx265":
            args += ["-preset", "ultrafast", "-crf", str(crf), "-x265-params", "log-level=error"]
    if audio:
        args += ["-c:a", "aac" if path.suffix != ".mp3" else "libmp3lame"]
    args += ["-shortest", str(path)]
    subprocess.run(args, check=True, capture_output=True)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


def config_text(
    media: Path, transcode: str = "profile: fast", extra: str = "", *, plugin: bool = True,
    database_url: str | None = None,
) -> str:
    """A test hub configuration: one mixed library on ``media``, the ``ffmpeg`` plugin with
    :data:`PROFILES` (unless ``plugin`` is false: then the engine's default entry is used), and
    the ``transcode:`` section (YAML text)."""
    section = "transcode:\n" + textwrap.indent(textwrap.dedent(transcode).strip() or "{}", "  ") + "\n"
    plugins = ""
    if plugin:
        plugins = "plugins:\n  - platform: ffmpeg\n    profiles:\n" + textwrap.indent(PROFILES.strip(), "      ") + "\n"
    return minimal_config([media], f"{section}{plugins}{extra}", database_url)


async def api(hub: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    host, port = hub.http.bound_address()
    async with aiohttp.ClientSession() as s, s.request(method, f"http://{host}:{port}{path}", **kwargs) as r:
        body = await r.json() if r.content_type == "application/json" else await r.text()
        return r.status, body


async def until(predicate: Callable[[], Awaitable[Any]], timeout: float = 60.0) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            value = await predicate()
            if value:
                return value
            await asyncio.sleep(0.05)


async def wait_job(hub: Any, job_id: int, states: tuple[str, ...] = ("done", "failed", "skipped", "cancelled"),
                   timeout: float = 60.0) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        job = await hub.transcode.get_job(job_id)
        return job if job and job["state"] in states else None

    return await until(check, timeout)


def temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if ".omnimedia-tmp" in p.name)
