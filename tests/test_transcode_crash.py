"""``kill -9`` of the hub at any moment of a transcode leaves either the original or the verified
result, and the next start leaves no temporary file.

The hub runs in a subprocess with a checkpoint hook (:data:`omnimedia.core.transcode.replace.
checkpoint_hook`) that writes a marker file at a chosen point of the job and then freezes the
process there; the test hashes what is on disk, sends SIGKILL, starts a hub on the same
configuration (recovery only), checks the files, and finally lets the queue finish the job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from omnimedia.core.bootstrap import prepare
from omnimedia.core.hub import Hub

from .conftest import write_config
from .transcode_support import config_text, make_source, sha256, temp_files, wait_job

HUB_SCRIPT = """
import asyncio, json, sys, time
from pathlib import Path
from omnimedia.core.bootstrap import prepare
from omnimedia.core.hub import Hub
from omnimedia.core.transcode import replace

config_dir, point, marker = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])


def hook(name, info):
    if name != point:
        return
    marker.write_text(json.dumps(info))
    if name != "encoding":  # while encoding, ffmpeg must keep running until the kill
        time.sleep(3600)  # freeze the whole process (the loop too) right here


replace.checkpoint_hook = hook


async def main():
    config, plugins, errors = prepare(config_dir)
    assert not errors, [str(e) for e in errors]
    hub = Hub(config, plugins)
    await hub.start(serve_http=False, initial_scan=False, watch=False, discovery=False)
    await hub.library.scan()
    await hub.transcode.add_jobs(all_candidates=True)
    await asyncio.Event().wait()


asyncio.run(main())
"""

#: (profile, source extension, checkpoint): "fast" writes Matroska, so an .mp4 source changes
#: extension (two files exist between the rename and the removal of the original); "fast_same"
#: replaces an .mkv in place; "slow" encodes in real time so the kill lands mid-encode.
CASES = [
    ("slow", ".mp4", "encoding"),
    ("fast", ".mp4", "encoded"),
    ("fast", ".mp4", "verifying"),
    ("fast", ".mp4", "decoding"),
    ("fast", ".mp4", "verified"),
    ("fast", ".mp4", "committed"),
    ("fast", ".mp4", "replaced"),
    ("fast", ".mp4", "original_removed"),
    ("fast", ".mp4", "done"),
    ("fast_same", ".mkv", "committed"),
    ("fast_same", ".mkv", "replaced"),
]
BEFORE_COMMIT = {"encoding", "encoded", "verifying", "decoding", "verified"}


def _ffmpeg_children(marker: str) -> list[int]:
    """pids of ffmpeg processes whose command line mentions ``marker``."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"ffmpeg") and any(marker.encode() in part for part in cmd):
            out.append(int(pid))
    return out


def _decoded_duration(path: Path) -> float:
    """Decode the whole file with ffmpeg; fail on any error; return the decoded seconds."""
    proc = subprocess.run(
        ["ffmpeg", "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-", "-progress", "pipe:1", "-nostats"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    times = [line.split("=", 1)[1] for line in proc.stdout.splitlines() if line.startswith("out_time_us=")]
    return int(times[-1]) / 1e6


async def _start(config_dir: Path, *, background: bool) -> Hub:
    config, plugins, errors = prepare(config_dir)
    assert not errors
    hub = Hub(config, plugins)
    await hub.start(serve_http=False, initial_scan=False, watch=False, discovery=False, background=background)
    return hub


@pytest.mark.parametrize(("profile", "ext", "point"), CASES, ids=[f"{p}-{c}" for p, _e, c in CASES])
async def test_kill_at_any_point_leaves_original_or_result(tmp_path: Path, profile: str, ext: str, point: str) -> None:
    media = tmp_path / "media"
    source = make_source(media / f"Crash.Test.2024{ext}", duration=4)
    original_hash = sha256(source)
    config_dir = tmp_path / "config"
    write_config(config_dir, config_text(media, f"profile: {profile}"))
    script = tmp_path / "hub.py"
    script.write_text(textwrap.dedent(HUB_SCRIPT))
    marker = tmp_path / "marker.json"

    log = tmp_path / "hub.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(script), str(config_dir), point, str(marker)],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the job never reached {point}"
            time.sleep(0.02)
        info = json.loads(marker.read_text() or "{}")
        # what a verified result looks like, as far as it exists at this point
        result_hashes = {sha256(p) for p in media.iterdir() if p.is_file() and sha256(p) != original_hash}
        if point == "encoding":
            assert _ffmpeg_children(str(media)), "ffmpeg is encoding at the moment of the kill"
            assert info["temp"] and Path(info["temp"]).exists()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    deadline = time.monotonic() + 10
    while _ffmpeg_children(str(media)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _ffmpeg_children(str(media)) == [], "ffmpeg died with the hub (PR_SET_PDEATHSIG)"

    # restart: recovery only
    hub = await _start(config_dir, background=False)
    try:
        files = sorted(p for p in media.iterdir())
        assert temp_files(media) == [], "no temporary file survives a restart"
        assert len(files) == 1, f"exactly one copy of the film: {files}"
        kept = files[0]
        assert abs(_decoded_duration(kept) - 4.0) < 0.1, "it plays to the end"
        job = (await hub.transcode.list_jobs())[0][0]
        if point in BEFORE_COMMIT:
            assert kept == source and sha256(kept) == original_hash
            assert job["state"] == "queued" and job["temp_path"] is None
        else:
            assert sha256(kept) in result_hashes, "the verified result, byte for byte"
            assert kept.suffix == ".mkv"
            assert job["state"] == "done" and job["outcome"] == "replaced"
    finally:
        await hub.stop()

    # and the queue finishes what was left
    hub = await _start(config_dir, background=True)
    try:
        job = await wait_job(hub, job["id"], timeout=90)
        assert job["state"] == "done" and job["outcome"] == "replaced", job["message"]
        files = sorted(p for p in media.iterdir())
        assert len(files) == 1 and temp_files(media) == []
        assert abs(_decoded_duration(files[0]) - 4.0) < 0.1
    finally:
        await hub.stop()
