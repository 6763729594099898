"""The optimiser's parts on their own: candidate rules, fingerprints, temporary names, the
schedule, the configuration, and the verification checks on real ffmpeg output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import voluptuous as vol

from omnimedia.core.library.probe import probe
from omnimedia.core.transcode.candidates import MIB, evaluate
from omnimedia.core.transcode.config import TRANSCODE_SCHEMA, in_schedule
from omnimedia.core.transcode.fingerprint import WHOLE_FILE_LIMIT, FileState, fingerprint, settings_hash
from omnimedia.core.transcode.replace import NAME_MAX, is_temp_name, output_paths
from omnimedia.core.transcode.verify import VerificationFailed, compare, full_decode, tail_check, verify

from .transcode_support import make_source

RULES = TRANSCODE_SCHEMA({})["candidates"]
VERIFY = TRANSCODE_SCHEMA({})["verify"]


def _item(**kw):
    base = {"id": 1, "type": "movie", "status": "ok", "video_codec": "h264", "width": 1920, "height": 1080,
            "duration": 7200.0, "size": 8 * 1024**3, "bitrate": None}
    return {**base, **kw}


# -- candidates ---------------------------------------------------------------------------------
def test_candidate_by_codec_with_savings_from_bits_per_pixel() -> None:
    item = _item()  # 8 GiB, 2 h of 1080p: 9.5 Mbit/s, 0.19 bits per pixel at 24 fps
    verdict = evaluate(item, RULES)
    assert verdict.qualifies and verdict.reasons == ["codec h264 (not hevc, av1)"]
    assert verdict.bits_per_pixel == pytest.approx(8 * 1024**3 * 8 / 7200 / (1920 * 1080 * 24), abs=1e-4)
    assert verdict.mb_per_hour == pytest.approx(8 * 1024 / 2, abs=0.1)
    expected = int(item["size"] * (1 - 0.05 / (item["size"] * 8 / 7200 / (1920 * 1080 * 24))))
    assert verdict.estimated_savings == pytest.approx(expected, rel=1e-3)


def test_skipped_codecs_unreadable_files_and_files_without_video() -> None:
    assert evaluate(_item(video_codec="hevc"), RULES).reasons == ["already hevc (skip_codecs: hevc, av1)"]
    assert not evaluate(_item(video_codec="av1"), RULES).qualifies
    assert evaluate(_item(status="error", error="corrupt or unsupported file: x"), RULES).reasons == [
        "the file cannot be read: corrupt or unsupported file: x"
    ]
    assert not evaluate(_item(type="track", video_codec=None), RULES).qualifies
    only = {**RULES, "codecs": ["mpeg4"]}
    assert evaluate(_item(), only).reasons == ["codec h264 is not one of mpeg4"]
    assert evaluate(_item(video_codec="mpeg4"), only).qualifies


def test_thresholds_bits_per_pixel_and_mb_per_hour() -> None:
    rules = {**RULES, "min_bits_per_pixel": 0.1, "min_mb_per_hour": 5000}
    lean = _item(size=2 * 1024**3)  # 0.048 bpp, 1024 MB/h
    verdict = evaluate(lean, rules)
    assert not verdict.qualifies
    assert verdict.reasons == ["0.048 bits per pixel < 0.1", "1,024 MB per hour < 5,000"]
    fat = evaluate(_item(), rules)
    assert fat.qualifies and fat.reasons == ["0.192 bits per pixel ≥ 0.1"]
    huge = evaluate(_item(size=20 * 1024**3), rules)
    assert huge.reasons == ["0.479 bits per pixel ≥ 0.1", "10,240 MB per hour ≥ 5,000"]
    # the probed bitrate wins over size / duration
    assert evaluate(_item(bitrate=20_000_000), RULES).bits_per_pixel == pytest.approx(20e6 / (1920 * 1080 * 24), abs=1e-4)
    # already at the target: nothing to gain
    small = evaluate(_item(size=int(0.04 * 1920 * 1080 * 24 * 7200 / 8)), RULES)
    assert not small.qualifies and small.reasons[0].startswith("nothing to gain: 0.040 bits per pixel")
    assert not evaluate(_item(size=10 * MIB), {**RULES, "min_size": 100}).qualifies


# -- fingerprints -------------------------------------------------------------------------------
def test_fingerprint_follows_content_not_name(tmp_path: Path) -> None:
    a = tmp_path / "a.mkv"
    a.write_bytes(os.urandom(3 * WHOLE_FILE_LIMIT))
    fp = fingerprint(str(a))
    b = tmp_path / "renamed" / "b.mkv"
    b.parent.mkdir()
    shutil.copy(a, b)
    assert fingerprint(str(b)) == fp and fp.startswith("v1:")
    data = bytearray(a.read_bytes())
    data[0] ^= 1  # the first byte is always sampled
    a.write_bytes(bytes(data))
    assert fingerprint(str(a)) != fp
    c = tmp_path / "c.mkv"
    c.write_bytes(b.read_bytes() + b"\0")  # the size is part of it
    assert fingerprint(str(c)) != fp
    small = tmp_path / "small.mkv"
    small.write_bytes(b"x" * 1000)
    other = tmp_path / "other.mkv"
    other.write_bytes(b"x" * 999 + b"y")  # small files are hashed whole
    assert fingerprint(str(small)) != fingerprint(str(other))


def test_settings_hash_and_file_state(tmp_path: Path) -> None:
    one = settings_hash("ffmpeg", {"crf": 23, "preset": "medium"})
    assert one == settings_hash("ffmpeg", {"preset": "medium", "crf": 23})
    assert one != settings_hash("ffmpeg", {"crf": 24, "preset": "medium"})
    assert one != settings_hash("other", {"crf": 23, "preset": "medium"})
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    before = FileState.of(str(path))
    assert before.differences(FileState.of(str(path))) == []
    path.write_bytes(b"abcd")
    assert before.differences(FileState.of(str(path)))[0] == "size 3 → 4 bytes"


# -- temporary names and the schedule ------------------------------------------------------------
def test_output_and_temporary_paths() -> None:
    assert output_paths("/m/Movie (2019).mp4", "mkv") == ("/m/Movie (2019).mkv", "/m/.Movie (2019).omnimedia-tmp.mkv")
    assert output_paths("/m/Movie.mkv", None) == ("/m/Movie.mkv", "/m/.Movie.omnimedia-tmp.mkv")
    assert output_paths("/m/Movie.avi", ".MKV")[0] == "/m/Movie.mkv"
    final, temp = output_paths("/m/" + "é" * 120 + ".mp4", "mkv")
    assert len(os.path.basename(temp).encode()) <= NAME_MAX and temp.endswith(".omnimedia-tmp.mkv")
    assert is_temp_name(os.path.basename(temp)) and not is_temp_name("Movie.mkv")


def test_schedule_windows_and_config_errors() -> None:
    night = {"start": "22:00", "end": "06:30"}
    assert in_schedule(night, 23, 0) and in_schedule(night, 6, 29) and not in_schedule(night, 6, 30)
    assert not in_schedule(night, 12, 0)
    day = {"start": "09:00", "end": "17:00"}
    assert in_schedule(day, 9, 0) and not in_schedule(day, 17, 0)
    assert in_schedule(None, 3, 0) and in_schedule({"start": "01:00", "end": "01:00"}, 15, 0)
    conf = TRANSCODE_SCHEMA({"schedule": {"start": "1:05", "end": "7:00"}, "candidates": {"skip_codecs": ["HEVC"]}})
    assert conf["schedule"] == {"start": "01:05", "end": "07:00"}
    assert conf["candidates"]["skip_codecs"] == ["hevc"] and conf["concurrency"] == 1
    with pytest.raises(vol.Invalid, match="HH:MM"):
        TRANSCODE_SCHEMA({"schedule": {"start": "25:00", "end": "07:00"}})
    with pytest.raises(vol.Invalid, match="min_size_ratio must be smaller"):
        TRANSCODE_SCHEMA({"verify": {"min_size_ratio": 3}})
    with pytest.raises(vol.Invalid):
        TRANSCODE_SCHEMA({"concurrency": 0})


# -- verification on real files --------------------------------------------------------------------
def _doc(streams: list[tuple[str, str]], duration: float) -> dict:
    return {"format": {"duration": str(duration)},
            "streams": [{"codec_type": t, "codec_name": c} for t, c in streams]}


def test_compare_checks_streams_codecs_duration_and_size() -> None:
    src = _doc([("video", "h264"), ("audio", "aac"), ("subtitle", "subrip")], 1000.0)
    ok = dict(source_size=1000, result_size=400, video_codec="hevc", audio_codec="copy", options=VERIFY)
    good = _doc([("video", "hevc"), ("audio", "aac"), ("subtitle", "subrip")], 1004.9)
    assert compare(src, good, **ok)["size_ratio"] == 0.4
    with pytest.raises(VerificationFailed, match=r"1005.100 s, the source 1000.000 s: 0.51% apart \(allowed 0.5%\)"):
        compare(src, _doc([("video", "hevc"), ("audio", "aac"), ("subtitle", "subrip")], 1005.1), **ok)
    with pytest.raises(VerificationFailed, match="the result has 0 subtitle streams, expected 1"):
        compare(src, _doc([("video", "hevc"), ("audio", "aac")], 1000), **ok)
    # a stream the transcoder says it dropped on purpose is not expected
    dropped = [{"type": "subtitle", "codec": "subrip", "reason": "mp4 cannot hold it"}]
    compare(src, _doc([("video", "hevc"), ("audio", "aac")], 1000), dropped=dropped, **ok)
    with pytest.raises(VerificationFailed, match="the result's video is h264, expected hevc"):
        compare(src, _doc([("video", "h264"), ("audio", "aac"), ("subtitle", "subrip")], 1000), **ok)
    with pytest.raises(VerificationFailed, match="the result's audio is aac, expected opus"):
        compare(src, good, **{**ok, "audio_codec": "opus"})
    with pytest.raises(VerificationFailed, match=r"0.005× the source's size"):
        compare(src, good, **{**ok, "result_size": 5})
    # cover art is not a video stream
    art = {"codec_type": "video", "codec_name": "mjpeg", "disposition": {"attached_pic": 1}}
    compare({**src, "streams": [*src["streams"], art]}, good, **ok)
    # short clips: one audio frame of difference is allowed
    compare(_doc([("video", "h264")], 4.0), _doc([("video", "hevc")], 4.023), **{**ok, "audio_codec": None})


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    whole = make_source(folder / "whole.mkv", duration=4)
    cut = folder / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return {"whole": whole, "cut": cut}


async def test_a_result_cut_short_is_caught_by_both_end_checks(clips: dict[str, Path]) -> None:
    whole, cut = str(clips["whole"]), str(clips["cut"])
    info = await probe(cut)
    assert float(info["format"]["duration"]) > 4.0, "the header of the cut file still claims the whole duration"
    assert await tail_check(whole, 4.0, 0.5) == pytest.approx(4.0, abs=0.1)
    with pytest.raises(VerificationFailed, match="File ended prematurely|cut short"):
        await tail_check(cut, 4.0, 0.5)
    assert await full_decode(whole, duration=4.0) == pytest.approx(4.0, abs=0.1)
    with pytest.raises(VerificationFailed, match="decoding the result reported: .*File ended prematurely"):
        await full_decode(cut, duration=4.0)
    source = await probe(whole)
    size = clips["whole"].stat().st_size
    for full in (True, False):
        report = await verify(source, whole, source_size=size, video_codec="h264", audio_codec="copy",
                              options={**VERIFY, "full_decode": full, "max_size_ratio": 2.0})
        assert report["size"] == size
        with pytest.raises(VerificationFailed):
            await verify(source, cut, source_size=size, video_codec="h264", audio_codec="copy",
                         options={**VERIFY, "full_decode": full})
