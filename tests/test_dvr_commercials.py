"""Commercial detection on broadcast-like MPEG-TS (tests/tv_media.py): the real comskip and the
ffmpeg black + silence fallback, comskip's exit codes and failures, and the actions (EDL,
Matroska chapters, a verified cut copy)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from omnimedia.core.dvr import commercials as cm

from .tv_media import cached_tv_ts

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
needs_comskip = pytest.mark.skipif(shutil.which("comskip") is None, reason="comskip is not installed (apt install comskip)")

#: Detected edges may differ from the made ones by this much (black frames are 1 s long;
#: detectors put the edge inside them).
SLACK = 2.0


def _ffprobe(path: Path, *show: str) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", *show, "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def _duration(path: Path) -> float:
    return float(_ffprobe(path, "-show_format")["format"]["duration"])


def _near(block, expected) -> bool:
    return abs(block[0] - expected[0]) <= SLACK and abs(block[1] - expected[1]) <= SLACK


def _programme_only(path: Path, seconds: float = 20.0) -> Path:
    """A TS with no breaks at all: one programme, tone throughout."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
         "-c:v", "mpeg2video", "-b:v", "600k", "-c:a", "ac3", "-ac", "2", "-f", "mpegts", str(path)],
        check=True, capture_output=True,
    )
    return path


def _shim(folder: Path, script: str) -> Path:
    """A ``comskip`` on a PATH of its own (with the real ffmpeg and ffprobe beside it)."""
    folder.mkdir(parents=True, exist_ok=True)
    fake = folder / "comskip"
    fake.write_text("#!/bin/sh\n" + script + "\n", encoding="utf-8")
    fake.chmod(0o755)
    for tool in ("ffmpeg", "ffprobe"):
        (folder / tool).symlink_to(shutil.which(tool))
    return folder


@pytest.fixture(scope="module")
def two_breaks():
    """programme 20 s | black 1 | commercial 10 | black 1 | programme 20 | black 1 | commercial 10 | black 1."""
    return cached_tv_ts(codec="mpeg2video", hd=False, cycles=2)


@needs_comskip
async def test_comskip_finds_the_break(two_breaks) -> None:
    report = await cm.detect_report(two_breaks.path, method="comskip")
    assert report.method == "comskip" and report.warnings == []
    assert report.blocks, "comskip found no commercials"
    assert _near(report.blocks[0], two_breaks.breaks[0]), (report.blocks, two_breaks.breaks)
    # comskip drops a break at the very end of a recording (shorter than
    # min_commercial_break_at_start_or_end counts as part of the padding); it never marks programme
    for block in report.blocks:
        for p0, p1 in two_breaks.programmes:
            overlap = min(block[1], p1) - max(block[0], p0)
            assert overlap < SLACK, f"commercial block {block} covers programme {p0}-{p1}"


@needs_comskip
async def test_auto_uses_comskip_when_installed(two_breaks) -> None:
    report = await cm.detect_report(two_breaks.path)
    assert report.method == "comskip"


async def test_ffmpeg_finds_a_break() -> None:
    media = cached_tv_ts(codec="mpeg2video", hd=False, cycles=1)
    blocks = await cm.detect(media.path, method="ffmpeg")
    assert len(blocks) == 1 and _near(blocks[0], media.breaks[0]), (blocks, media.breaks)


async def test_ffmpeg_finds_every_break_with_short_programme_segments(two_breaks) -> None:
    # 20 s programme segments are shorter than the default max_segment (120 s, real programmes
    # run minutes between breaks): the thresholds are parameters
    heuristic = cm.BreakHeuristic(max_segment=15)
    blocks = await cm.detect(two_breaks.path, method="ffmpeg", heuristic=heuristic)
    assert len(blocks) == 2, blocks
    for found, made in zip(blocks, two_breaks.breaks, strict=True):
        assert _near(found, made), (blocks, two_breaks.breaks)


async def test_h264_broadcast_is_detected_by_ffmpeg() -> None:
    media = cached_tv_ts(codec="h264", hd=True, cycles=1)
    blocks = await cm.detect(media.path, method="ffmpeg")
    assert len(blocks) == 1 and _near(blocks[0], media.breaks[0]), blocks


@needs_comskip
async def test_comskip_exit_status_1_means_no_commercials(tmp_path: Path) -> None:
    clean = _programme_only(tmp_path / "news.ts")
    # what comskip itself says for this file with our ini: status 1
    (tmp_path / "out").mkdir()
    ini = tmp_path / "comskip.ini"
    ini.write_text(cm.comskip_ini_text(), encoding="utf-8")
    proc = subprocess.run(["comskip", f"--ini={ini}", f"--output={tmp_path / 'out'}", str(clean)],
                          capture_output=True, check=False)
    assert proc.returncode == 1
    # … which is "none found", not a failure: no fallback, no warning
    report = await cm.detect_report(clean, method="comskip")
    assert report.blocks == [] and report.method == "comskip" and report.warnings == []
    assert await cm.detect(clean, method="ffmpeg") == []


async def test_a_broken_comskip_falls_back_to_ffmpeg(tmp_path: Path, monkeypatch, caplog) -> None:
    media = cached_tv_ts(codec="mpeg2video", hd=False, cycles=1)
    shim = _shim(tmp_path / "bin", 'echo "Could not open video codec" >&2\nexit 2')
    monkeypatch.setenv("PATH", str(shim))
    report = await cm.detect_report(media.path, method="comskip")
    assert report.method == "ffmpeg"
    assert len(report.blocks) == 1 and _near(report.blocks[0], media.breaks[0])
    assert len(report.warnings) == 1
    assert "exit status 2" in report.warnings[0] and "Could not open video codec" in report.warnings[0]
    assert "used ffmpeg instead" in caplog.text


async def test_comskip_not_installed_falls_back_to_ffmpeg(tmp_path: Path, monkeypatch) -> None:
    media = cached_tv_ts(codec="mpeg2video", hd=False, cycles=1)
    shim = _shim(tmp_path / "bin", "exit 0")
    (shim / "comskip").unlink()
    monkeypatch.setenv("PATH", str(shim))
    report = await cm.detect_report(media.path, method="comskip")
    assert report.method == "ffmpeg" and "not installed" in report.warnings[0]
    assert len(report.blocks) == 1
    # auto without comskip: ffmpeg, and nothing to warn about
    auto = await cm.detect_report(media.path, method="auto")
    assert auto.method == "ffmpeg" and auto.warnings == []


async def test_a_comskip_that_writes_no_edl_falls_back(tmp_path: Path, monkeypatch) -> None:
    media = cached_tv_ts(codec="mpeg2video", hd=False, cycles=1)
    monkeypatch.setenv("PATH", str(_shim(tmp_path / "bin", "exit 0")))
    report = await cm.detect_report(media.path, method="comskip")
    assert report.method == "ffmpeg" and "wrote no EDL" in report.warnings[0]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


async def test_a_hanging_comskip_is_killed_at_the_timeout(tmp_path: Path, monkeypatch) -> None:
    media = cached_tv_ts(codec="mpeg2video", hd=False, cycles=1)
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("PATH", str(_shim(tmp_path / "bin", f"echo $$ > {pidfile}\nexec {shutil.which('sleep')} 60")))
    monkeypatch.setattr(cm, "COMSKIP_TIMEOUT_BASE", 1.0)
    report = await cm.detect_report(media.path, method="comskip", timeout_factor=0.0)
    assert report.method == "ffmpeg" and "longer than 1 s" in report.warnings[0]
    assert not _alive(int(pidfile.read_text()))


async def test_cancelling_detection_kills_comskip(tmp_path: Path, monkeypatch) -> None:
    media = cached_tv_ts(codec="mpeg2video", hd=False, cycles=1)
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("PATH", str(_shim(tmp_path / "bin", f"echo $$ > {pidfile}\nexec {shutil.which('sleep')} 60")))
    task = asyncio.ensure_future(cm.detect(media.path, method="comskip"))
    for _ in range(200):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.05)
    pid = int(pidfile.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _alive(pid)


@needs_comskip
async def test_a_users_ini_still_produces_an_edl(tmp_path: Path, two_breaks) -> None:
    ini = tmp_path / "mine.ini"
    ini.write_text("[Main Settings]\ndetect_method=65\n[Detection Settings]\nmin_commercialbreak=8\n"
                   "min_show_segment_length=15\n[Output Control]\noutput_edl=0\noutput_default=1\n", encoding="utf-8")
    report = await cm.detect_report(two_breaks.path, method="comskip", comskip_ini=ini)
    assert report.method == "comskip" and report.blocks and _near(report.blocks[0], two_breaks.breaks[0])


async def test_radio_has_no_black_frames(tmp_path: Path) -> None:
    media = cached_tv_ts(radio=True, cycles=1)
    report = await cm.detect_report(media.path)
    assert report.blocks == [] and report.method == "none" and "no video stream" in report.warnings[0]


async def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.ts"
    bad.write_bytes(b"not a transport stream" * 100)
    with pytest.raises(cm.CommercialError, match="garbage.ts"):
        await cm.detect(bad, method="ffmpeg")


def test_edl_text_and_parsing(tmp_path: Path) -> None:
    path = cm.write_edl(tmp_path / "show.edl", [(20.5, 31.5), (52.25, 63.5)])
    assert path.read_text() == "20.50\t31.50\t3\n52.25\t63.50\t3\n"
    assert cm.write_edl(tmp_path / "cut.edl", [(1, 2)], action=cm.EDL_CUT).read_text() == "1.00\t2.00\t0\n"
    assert not list(tmp_path.glob(".*")), "no temporary file left"
    text = "20.48\t31.44\t0\nbroken line\n40 39 0\n\n# comment\n30 35 0\n90 120 0\n"
    assert cm.parse_edl(text, duration=100) == [(20.48, 35.0), (90.0, 100.0)]


def test_chapters_metadata_alternates_programme_and_commercial() -> None:
    text = cm.chapters_metadata([(20.5, 31.5)], 64.0)
    assert text.splitlines()[0] == ";FFMETADATA1"
    chapters = text.split("[CHAPTER]")[1:]
    assert [c.strip().splitlines() for c in chapters] == [
        ["TIMEBASE=1/1000", "START=0", "END=20500", "title=Programme"],
        ["TIMEBASE=1/1000", "START=20500", "END=31500", "title=Commercial"],
        ["TIMEBASE=1/1000", "START=31500", "END=64000", "title=Programme"],
    ]
    assert cm.chapters_metadata([(0, 10)], 10).count("[CHAPTER]") == 1


def test_heuristic_on_break_points() -> None:
    h = cm.BreakHeuristic()
    black = [(20.0, 21.0), (31.0, 32.0), (300.0, 300.05)]
    silence = [(19.9, 21.1), (31.0, 32.0), (300.0, 301.0)]
    points = cm.break_points(black, silence, h)
    assert [round(p, 2) for p in points] == [20.5, 31.5]  # the 0.05 s black is not a break point
    assert cm.break_points(black, [], h) == []  # black without silence: programme (a night scene)
    assert cm.blocks_from_points([20.5, 31.5], h) == [(20.5, 31.5)]
    assert cm.blocks_from_points([20.5, 25.0], h) == []  # 4.5 s: one fade, not a break
    assert cm.blocks_from_points([0, 100, 200, 300, 400, 500, 600, 700], h) == []  # longer than max_break
    assert cm.blocks_from_points([10, 40, 70, 400, 420], h) == [(10, 70), (400, 420)]


async def test_chapters_in_the_mkv(tmp_path: Path, two_breaks) -> None:
    mkv = tmp_path / "show.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(two_breaks.path), "-map", "0", "-c", "copy",
                    "-metadata", "show=The News", str(mkv)], check=True, capture_output=True)
    duration = _duration(mkv)
    out = tmp_path / "chaptered.mkv"
    result = await cm.mark_chapters(mkv, out, [(20.5, 31.5)], duration)
    assert result["chapters"] == 3
    info = _ffprobe(out, "-show_chapters", "-show_format", "-show_streams")
    chapters = [(round(float(c["start_time"]), 2), round(float(c["end_time"]), 2), c["tags"]["title"])
                for c in info["chapters"]]
    assert chapters == [(0.0, 20.5, "Programme"), (20.5, 31.5, "Commercial"), (31.5, round(duration, 2), "Programme")]
    assert info["format"]["tags"]["SHOW"] == "The News", "the tags are kept"
    assert sorted(s["codec_type"] for s in info["streams"]) == ["audio", "video"]
    assert not list(tmp_path.glob("*.txt")), "the ffmetadata file is removed"


@pytest.mark.parametrize("container", ["ts", "mkv"])
async def test_cut_copy_without_the_commercial(tmp_path: Path, two_breaks, container: str) -> None:
    src = tmp_path / f"show.{container}"
    if container == "ts":
        shutil.copy(two_breaks.path, src)
    else:
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(two_breaks.path), "-map", "0", "-c", "copy", str(src)],
                       check=True, capture_output=True)
    before = src.read_bytes()
    duration = _duration(src)
    block = (20.5, 31.5)
    dest = tmp_path / f"cut.{container}"
    result = await cm.cut(src, dest, [block], duration)
    assert abs(_duration(dest) - (duration - (block[1] - block[0]))) <= SLACK
    assert result["kept"] == [(0.0, 20.5), (31.5, round(duration, 3))]
    assert sorted(s["codec_type"] for s in _ffprobe(dest, "-show_streams")["streams"]) == ["audio", "video"]
    assert src.read_bytes() == before, "the source is never touched"
    assert not list(tmp_path.glob("*.ffconcat"))


async def test_cut_that_would_leave_nothing_fails_and_writes_nothing(tmp_path: Path, two_breaks) -> None:
    dest = tmp_path / "cut.ts"
    with pytest.raises(cm.CutFailed, match="leave nothing"):
        await cm.cut(two_breaks.path, dest, [(0, 1000)], two_breaks.duration)
    assert not dest.exists()


async def test_cut_verification_failure_removes_the_copy(tmp_path: Path, two_breaks, monkeypatch) -> None:
    # a duration that is a lie: the kept total cannot match what ffmpeg writes
    dest = tmp_path / "cut.ts"
    with pytest.raises(cm.CutFailed, match="failed verification: it lasts"):
        await cm.cut(two_breaks.path, dest, [(20.5, 31.5)], two_breaks.duration + 60)
    assert not dest.exists()
