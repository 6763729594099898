"""The ``ffmpeg`` transcoder plugin against the real ffmpeg 5.1: profiles, streams, progress,
cancellation, hardware detection and fallback, errors, and a YAML profile through a real hub."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from omnimedia.core import ffmpeg as core_ffmpeg
from omnimedia.core.ffmpeg import FfmpegCancelled, FfmpegError, FfmpegNotFound, Progress
from omnimedia.plugins.ffmpeg import FfmpegTranscoder, ProbeError, TranscodePlanError
from omnimedia.plugins.ffmpeg import command as ffcommand
from omnimedia.plugins.ffmpeg import hardware as ffhw
from omnimedia.plugins.ffmpeg.errors import TruncatedSource, telling_line

from .conftest import minimal_config

pytestmark = pytest.mark.timeout(120)

SIZE = "320x240"


def run_ffmpeg(*args: str) -> None:
    proc = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def make_clip(path: Path, *, duration: float = 2.0, subtitles: tuple[str, ...] = ("eng", "fra"),
              audio: tuple[str, ...] = ("eng", "fra"), chapters: int = 2, rate: int = 25,
              audio_codec: str = "aac") -> Path:
    """An H.264 clip of ``duration`` s: one audio track per language in ``audio`` (sine tones),
    one text subtitle per language in ``subtitles`` (SubRip in Matroska, mov_text in MP4),
    ``chapters`` chapters and a global title."""
    tmp = path.parent / f".{path.stem}"
    tmp.mkdir(parents=True, exist_ok=True)
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate={rate}:duration={duration}"]
    for i, _ in enumerate(audio):
        inputs += ["-f", "lavfi", "-i", f"sine=frequency={440 + 110 * i}:duration={duration}:sample_rate=48000"]
    meta = tmp / "meta.txt"
    lines = [";FFMETADATA1", "title=Generated Clip"]
    for c in range(chapters):
        start, end = int(duration * 1000 * c / chapters), int(duration * 1000 * (c + 1) / chapters)
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start}", f"END={end}", f"title=Part {c + 1}"]
    meta.write_text("\n".join(lines) + "\n", encoding="utf-8")
    inputs += ["-i", str(meta)]
    for i, _ in enumerate(subtitles):
        srt = tmp / f"{i}.srt"
        srt.write_text(f"1\n00:00:00,100 --> 00:00:01,000\nLine {i}\n", encoding="utf-8")
        inputs += ["-i", str(srt)]
    maps = ["-map", "0:v"] + [x for i in range(len(audio)) for x in ("-map", f"{1 + i}:a")]
    sub_base = 2 + len(audio)
    maps += [x for i in range(len(subtitles)) for x in ("-map", f"{sub_base + i}:s")]
    mp4 = path.suffix in (".mp4", ".mov")
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", audio_codec,
              "-c:s", "mov_text" if mp4 else "srt", "-map_metadata", str(1 + len(audio)),
              "-map_chapters", str(1 + len(audio))]
    for i, lang in enumerate(audio):
        codecs += [f"-metadata:s:a:{i}", f"language={lang}"]
    for i, lang in enumerate(subtitles):
        codecs += [f"-metadata:s:s:{i}", f"language={lang}", f"-metadata:s:s:{i}", f"title=Sub {lang}"]
    run_ffmpeg(*inputs, *maps, *codecs, "-t", str(duration), str(path))
    return path


def ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-show_chapters", "-of", "json",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def streams_of(info: dict, kind: str) -> list[dict]:
    return [s for s in info["streams"] if s["codec_type"] == kind]


def ffmpeg_children() -> list[int]:
    """pids of ffmpeg processes whose parent is this test process (read from /proc)."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == me and comm.startswith("ffmpeg"):
            found.append(int(entry))
    return found


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "mkv": make_clip(folder / "Show.S01E01.mkv"),
        "mp4": make_clip(folder / "Movie.2019.mp4", subtitles=("eng",)),
        "long": make_clip(folder / "Long.mkv", duration=6.0, subtitles=()),
    }


def transcoder(**entry) -> FfmpegTranscoder:
    return FfmpegTranscoder(None, {"platform": "ffmpeg", **entry})


# -- profiles ---------------------------------------------------------------------------------------
def test_builtin_profiles_are_hevc_and_deterministic() -> None:
    t = transcoder()
    profiles = t.profiles()
    assert list(profiles) == ["maximum_quality", "balanced", "maximum_space"]
    assert {p["video_codec"] for p in profiles.values()} == {"hevc"}
    crfs = [profiles[n]["crf"] for n in ("maximum_quality", "balanced", "maximum_space")]
    assert crfs == sorted(crfs) and len(set(crfs)) == 3
    assert all(p["audio"] == "copy" and p["subtitles"] == "all" and p["container"] == "source" for p in profiles.values())
    # the same configuration gives byte-identical JSON, so the engine can hash it
    other = transcoder(profiles={"tiny": {"extra_args": ["-x265-params", "aq-mode=3", "-tag:0", "hvc1"]}})
    assert json.dumps(profiles, sort_keys=True) == json.dumps({k: other.profiles()[k] for k in profiles}, sort_keys=True)
    assert other.profiles()["tiny"]["extra_args"] == {"tag:0": "hvc1", "x265-params": "aq-mode=3"}
    assert json.dumps(other.profiles(), sort_keys=True) == json.dumps(
        transcoder(profiles={"tiny": {"extra_args": {"tag:0": "hvc1", "x265-params": "aq-mode=3"}}}).profiles(),
        sort_keys=True)


def test_yaml_profile_overrides_builtin_keys_only() -> None:
    t = transcoder(hardware="auto", profiles={"balanced": {"crf": 25}, "small": {"video_codec": "x265", "max_height": 480}})
    p = t.profiles()
    assert p["balanced"]["crf"] == 25 and p["balanced"]["preset"] == "medium"
    assert p["small"]["video_codec"] == "hevc" and p["small"]["max_height"] == 480
    assert p["small"]["hardware"] == "auto" and p["maximum_quality"]["hardware"] == "auto"


def test_bad_profile_is_rejected_with_its_path() -> None:
    import voluptuous as vol

    with pytest.raises(vol.Invalid) as err:
        transcoder(profiles={"odd": {"crf": 99}})
    assert "odd" in str(err.value.path) and "crf" in str(err.value.path)
    with pytest.raises(vol.Invalid, match="unknown video codec"):
        transcoder(profiles={"odd": {"video_codec": "mpeg2"}})


# -- output streams -----------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", ["maximum_quality", "balanced", "maximum_space"])
async def test_each_profile_makes_hevc_keeping_every_stream(profile: str, clips: dict[str, Path], tmp_path: Path) -> None:
    src = clips["mkv"]
    before = sha256(src)
    t = transcoder()
    dest = tmp_path / "out.partial"
    result = await t.transcode(str(src), str(dest), t.profiles()[profile])
    assert result["encoder"] == "libx265" and result["fallback"] is False
    assert result["container"] == "mkv" and result["dropped"] == [] and result["converted"] == []
    crf = str(t.profiles()[profile]["crf"])
    assert result["command"][result["command"].index("-crf:0") + 1] == crf
    out, orig = ffprobe(dest), ffprobe(src)
    assert "matroska" in out["format"]["format_name"]
    assert [s["codec_name"] for s in streams_of(out, "video")] == ["hevc"]
    assert [(s["codec_name"], s["tags"]["language"]) for s in streams_of(out, "audio")] == [("aac", "eng"), ("aac", "fra")]
    assert [(s["codec_name"], s["tags"]["language"], s["tags"]["title"]) for s in streams_of(out, "subtitle")] == [
        ("subrip", "eng", "Sub eng"), ("subrip", "fra", "Sub fra")]
    assert [c["tags"]["title"] for c in out["chapters"]] == ["Part 1", "Part 2"]
    assert out["format"]["tags"]["title"] == "Generated Clip"
    assert abs(float(out["format"]["duration"]) - float(orig["format"]["duration"])) < 0.1
    assert sha256(src) == before


async def test_crf_ladder_gives_smaller_files(clips: dict[str, Path], tmp_path: Path) -> None:
    t = transcoder()
    sizes = {}
    for name in ("maximum_quality", "maximum_space"):
        dest = tmp_path / f"{name}.mkv"
        await t.transcode(str(clips["long"]), str(dest), t.profiles()[name])
        sizes[name] = dest.stat().st_size
    assert sizes["maximum_space"] < sizes["maximum_quality"]


async def test_mp4_stays_mp4_with_hvc1_and_mov_text(clips: dict[str, Path], tmp_path: Path) -> None:
    t = transcoder()
    dest = tmp_path / "out.tmp"  # the engine's temporary name: the container is set with -f
    result = await t.transcode(str(clips["mp4"]), str(dest), "balanced")
    assert result["container"] == "mp4" and result["extension"] == ".mp4"
    out = ffprobe(dest)
    assert "mp4" in out["format"]["format_name"]
    video = streams_of(out, "video")[0]
    assert (video["codec_name"], video["codec_tag_string"]) == ("hevc", "hvc1")
    assert [s["codec_name"] for s in streams_of(out, "subtitle")] == ["mov_text"]
    assert [s["tags"]["language"] for s in streams_of(out, "audio")] == ["eng", "fra"]
    assert len(out["chapters"]) == 2
    assert result["dropped"] == []  # the source's chapter track is written again, not lost
    assert await t.output_extension(str(clips["mp4"]), "balanced") == ".mp4"
    assert await t.output_extension(str(clips["mkv"]), "balanced") == ".mkv"


async def test_mkv_to_mp4_converts_subtitles_and_flac(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "lossless.mkv", audio=("eng",), subtitles=("eng",), audio_codec="flac")
    t = transcoder(profiles={"apple": {"container": "mp4", "crf": 30, "preset": "ultrafast"}})
    result = await t.transcode(str(src), str(tmp_path / "out"), t.profiles()["apple"])
    assert {(c["codec"], c["to"]) for c in result["converted"]} == {("flac", "aac"), ("subrip", "mov_text")}
    out = ffprobe(tmp_path / "out")
    # MP4 keeps chapters twice: as chapters and as a QuickTime chapter text track (data)
    assert [(s["codec_type"], s["codec_name"]) for s in out["streams"]] == [
        ("video", "hevc"), ("audio", "aac"), ("subtitle", "mov_text"), ("data", "bin_data")]
    assert len(out["chapters"]) == 2 and result["extension"] == ".mp4" and result["dropped"] == []


async def test_webm_source_becomes_matroska(tmp_path: Path) -> None:
    src = tmp_path / "clip.webm"
    run_ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate=10:duration=1", "-f", "lavfi", "-i", "sine=duration=1",
               "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus", str(src))
    t = transcoder()
    assert await t.output_extension(str(src), "balanced") == ".mkv"
    result = await t.transcode(str(src), str(tmp_path / "out"), "balanced")
    out = ffprobe(tmp_path / "out")
    assert result["container"] == "mkv" and "matroska" in out["format"]["format_name"]
    assert [s["codec_name"] for s in out["streams"]] == ["hevc", "opus"]


async def test_yaml_profile_downscales_and_encodes_audio(clips: dict[str, Path], tmp_path: Path) -> None:
    t = transcoder(profiles={"phone": {"crf": 30, "preset": "ultrafast", "max_height": 120, "audio": "aac",
                                       "audio_bitrate": "64k", "subtitles": "none"}})
    result = await t.transcode(str(clips["mkv"]), str(tmp_path / "out"), t.profiles()["phone"])
    out = ffprobe(tmp_path / "out")
    video = streams_of(out, "video")[0]
    assert (video["codec_name"], video["width"], video["height"]) == ("hevc", 160, 120)
    assert [s["codec_name"] for s in streams_of(out, "audio")] == ["aac", "aac"]
    assert streams_of(out, "subtitle") == []
    assert [d["codec"] for d in result["dropped"]] == ["subrip", "subrip"]
    assert "-b:1" in result["command"] and result["command"][result["command"].index("-b:1") + 1] == "64k"


def test_image_subtitles_mp4_cannot_hold_fail_or_drop() -> None:
    """The planner's container rules on a source ffmpeg cannot make here (no PGS encoder): the
    ffprobe JSON of a Blu-ray remux."""
    info = {"format": {"format_name": "matroska,webm"}, "streams": [
        {"index": 0, "codec_type": "video", "codec_name": "h264", "height": 1080, "disposition": {}},
        {"index": 1, "codec_type": "audio", "codec_name": "truehd", "channels": 8},
        {"index": 2, "codec_type": "subtitle", "codec_name": "hdmv_pgs_subtitle"},
        {"index": 3, "codec_type": "attachment", "codec_name": "ttf"},
    ]}
    t = transcoder(profiles={"mp4": {"container": "mp4"}, "mp4_lossy": {"container": "mp4", "subtitles": "compatible"}})
    with pytest.raises(TranscodePlanError, match=r"subtitle stream #2 \(hdmv_pgs_subtitle\) cannot be stored in mp4"):
        ffcommand.plan(info, "/m/x.mkv", t.profiles()["mp4"], None)
    job = ffcommand.plan(info, "/m/x.mkv", t.profiles()["mp4_lossy"], None)
    assert job.maps == [0, 1]
    assert [(d["index"], d["reason"]) for d in job.dropped] == [
        (2, "mp4 cannot hold hdmv_pgs_subtitle subtitles"), (3, "mp4 cannot hold attachments")]
    assert job.options["c:1"] == "aac" and job.options["b:1"] == "512k"  # 8 channels, capped
    kept = ffcommand.plan(info, "/m/x.mkv", t.profiles()["balanced"], None)
    assert kept.maps == [0, 1, 2, 3] and kept.dropped == []


# -- progress and cancellation --------------------------------------------------------------------------
async def test_progress_increases_and_ends_with_done(clips: dict[str, Path], tmp_path: Path) -> None:
    t = transcoder()
    seen: list[Progress] = []
    await t.transcode(str(clips["long"]), str(tmp_path / "out"), "maximum_quality", on_progress=seen.append)
    times = [p.out_time for p in seen if p.out_time is not None]
    assert len(set(times)) >= 2, [p.as_dict() for p in seen]
    assert times == sorted(times)
    assert seen[-1].done and seen[-1].percent == 100.0
    assert not any(p.done for p in seen[:-1])
    assert all(p.percent is None or 0 <= p.percent <= 100 for p in seen)


async def test_cancel_ends_ffmpeg_and_removes_partial_output(clips: dict[str, Path], tmp_path: Path) -> None:
    src = clips["long"]
    before = sha256(src)
    t = transcoder(profiles={"slowest": {"preset": "veryslow"}})
    started = asyncio.Event()
    dest = tmp_path / "out.mkv"
    task = asyncio.ensure_future(t.transcode(str(src), str(dest), t.profiles()["slowest"],
                                             on_progress=lambda p: started.set()))
    await asyncio.wait_for(started.wait(), 30)
    assert ffmpeg_children(), "ffmpeg should be running"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert core_ffmpeg.running() == []
    assert ffmpeg_children() == []
    assert not dest.exists()
    assert sha256(src) == before


async def test_hub_stop_ends_a_running_transcode(clips: dict[str, Path], tmp_path: Path, hub_factory) -> None:
    hub = await hub_factory(extra="plugins:\n  - platform: ffmpeg\n")
    t = hub.plugins.providers("transcoder")["ffmpeg"](hub, {"platform": "ffmpeg"})
    started = asyncio.Event()
    task = asyncio.ensure_future(t.transcode(str(clips["long"]), str(tmp_path / "o.mkv"), {"preset": "veryslow"},
                                             on_progress=lambda p: started.set()))
    await asyncio.wait_for(started.wait(), 30)
    await core_ffmpeg.terminate_all(grace=5)
    with pytest.raises(FfmpegCancelled):
        await task
    assert ffmpeg_children() == [] and not (tmp_path / "o.mkv").exists()


# -- a real hub -------------------------------------------------------------------------------------------
async def test_yaml_profile_through_a_real_hub(hub_factory, clips: dict[str, Path], tmp_path: Path) -> None:
    extra = textwrap.dedent("""\
        plugins:
          - platform: ffmpeg
            profiles:
              pocket:
                video_codec: h265
                crf: 32
                preset: ultrafast
                max_height: 180
                audio: opus
                audio_bitrate: 48k
                container: mkv
                extra_args:
                  x265-params: "log-level=error:aq-mode=3"
        """)
    hub = await hub_factory(extra=extra)
    record = hub.plugins.plugins["ffmpeg"]
    assert record.state == "running", record.reason
    entry = next(e for e in hub.config.plugins if e["platform"] == "ffmpeg")
    cls = hub.plugins.providers("transcoder")["ffmpeg"]
    t = cls(hub, entry)
    pocket = t.profiles()["pocket"]
    assert (pocket["crf"], pocket["max_height"], pocket["audio"]) == (32, 180, "opus")
    result = await t.transcode(str(clips["mp4"]), str(tmp_path / "pocket.part"), pocket)
    assert "aq-mode=3" in result["command"][result["command"].index("-x265-params") + 1]
    assert "-x265-params:0" not in result["command"]  # the profile's extra_args replaced the plugin's
    out = ffprobe(tmp_path / "pocket.part")
    assert "matroska" in out["format"]["format_name"]
    assert [(s["codec_name"], s.get("height")) for s in out["streams"]] == [
        ("hevc", 180), ("opus", None), ("opus", None), ("subrip", None)]


async def test_invalid_yaml_profile_is_a_config_error(tmp_path: Path) -> None:
    from omnimedia.core.bootstrap import prepare

    from .conftest import write_config

    write_config(tmp_path, minimal_config(extra="plugins:\n  - platform: ffmpeg\n    profiles:\n      bad:\n        crf: 90\n"))
    _config, _plugins, errors = prepare(tmp_path, [])
    text = " ".join(str(e) for e in errors)
    assert "configuration.yaml, line" in text and "crf" in text and "bad" in text, text


# -- hardware ---------------------------------------------------------------------------------------------
async def test_no_hardware_encoder_works_on_this_machine(clips: dict[str, Path], tmp_path: Path) -> None:
    t = transcoder()
    encoders = {e["name"]: e for e in await t.encoders()}
    assert set(encoders) >= {"libx265", "libx264", "hevc_vaapi", "h264_vaapi", "hevc_qsv", "hevc_nvenc",
                             "hevc_videotoolbox"}
    assert encoders["libx265"]["status"] == "available" and encoders["libx265"]["hardware"] is False
    for name, enc in encoders.items():
        if enc["hardware"]:
            assert enc["status"] == "unavailable" and enc["reason"], enc
            assert enc["api"] in name
    assert "libcuda" in encoders["hevc_nvenc"]["reason"]
    assert "hevc_videotoolbox" in encoders["hevc_videotoolbox"]["reason"]
    # auto finds nothing and uses software; a named API that does not work falls back
    auto = await t.transcode(str(clips["mkv"]), str(tmp_path / "a"), {"hardware": "auto", "preset": "ultrafast"})
    assert (auto["encoder"], auto["fallback"]) == ("libx265", False)
    named = await t.transcode(str(clips["mkv"]), str(tmp_path / "n"), {"hardware": "vaapi", "preset": "ultrafast"})
    assert (named["encoder"], named["fallback"]) == ("libx265", True)
    assert "No VA display" in named["hardware_error"]


VAAPI_DRIVER_FAILURE = [
    "[hevc_vaapi @ 0x55d0c0a3c8c0] Failed to end picture encode issue: 1 (operation failed).",
    "[hevc_vaapi @ 0x55d0c0a3c8c0] Encode failed: -5.",
    "Video encoding failed",
    "Conversion failed!",
]


def vaapi_wrapper(folder: Path) -> Path:
    """An ``ffmpeg`` that has a VAAPI encoder which passes the plugin's test encode (on lavfi test
    patterns it encodes in software) but fails on real files the way a hanging i965/iHD driver
    does: a few bytes of output, ffmpeg's VAAPI errors on stderr, exit status 1. Everything else
    goes to the real ffmpeg."""
    real = shutil.which("ffmpeg")
    script = folder / "ffmpeg"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, sys
        REAL = {real!r}
        args = sys.argv[1:]
        if any(a in ("hevc_vaapi", "h264_vaapi") for a in args):
            if "lavfi" in args:
                out, i = [], 0
                while i < len(args):
                    if args[i] in ("-init_hw_device", "-filter_hw_device") or (
                            args[i].startswith("-filter:") and "hwupload" in args[i + 1]):
                        i += 2
                        continue
                    out.append({{"hevc_vaapi": "libx265", "h264_vaapi": "libx264"}}.get(args[i], args[i]))
                    i += 1
                os.execv(REAL, [REAL] + out)
            destination = args[args.index("-init_hw_device") - 1]
            try:
                with open(destination, "wb") as f:
                    f.write(bytes.fromhex("1a45dfa3") + b"partial")
            except OSError:
                pass
            sys.stderr.write({chr(10).join(VAAPI_DRIVER_FAILURE) + chr(10)!r})
            sys.exit(1)
        os.execv(REAL, [REAL] + args)
        """))
    script.chmod(0o755)
    return script


async def test_hardware_failure_falls_back_to_software_and_degrades(clips: dict[str, Path], tmp_path: Path) -> None:
    binary = vaapi_wrapper(tmp_path)
    t = transcoder(ffmpeg_binary=str(binary), hardware="auto", vaapi_device="/dev/dri/renderD129")
    encoders = {e["name"]: e for e in await t.encoders()}
    assert encoders["hevc_vaapi"]["status"] == "available"
    assert encoders["hevc_nvenc"]["status"] == "unavailable"
    src = clips["mkv"]
    before = sha256(src)
    progress: list[Progress] = []
    result = await t.transcode(str(src), str(tmp_path / "out.mkv"), "balanced", on_progress=progress.append)
    assert result["fallback"] is True and result["encoder"] == "libx265"
    assert result["hardware_error"] == VAAPI_DRIVER_FAILURE[0]
    assert "libx265" in result["command"] and "hevc_vaapi" not in result["command"]
    assert progress and progress[-1].done
    out = ffprobe(tmp_path / "out.mkv")
    assert [s["codec_name"] for s in out["streams"]] == ["hevc", "aac", "aac", "subrip", "subrip"]
    encoders = {e["name"]: e for e in await t.encoders()}
    assert encoders["hevc_vaapi"]["status"] == "degraded"
    assert encoders["hevc_vaapi"]["reason"] == VAAPI_DRIVER_FAILURE[0]
    assert encoders["h264_vaapi"]["status"] == "available"  # only the encoder that failed
    # the next job does not try the degraded encoder again
    again = await t.transcode(str(src), str(tmp_path / "again.mkv"), {"preset": "ultrafast"})
    assert (again["encoder"], again["fallback"]) == ("libx265", False)
    assert sha256(src) == before
    # a fresh detection clears it
    assert {e["name"]: e["status"] for e in await t.redetect()}["hevc_vaapi"] == "available"


async def test_hardware_and_software_both_failing_is_not_the_encoders_fault(tmp_path: Path) -> None:
    binary = vaapi_wrapper(tmp_path)
    t = transcoder(ffmpeg_binary=str(binary), hardware="vaapi", vaapi_device="/dev/dri/renderD130")
    await t.encoders()
    src = make_clip(tmp_path / "clip.mkv", duration=1.0, subtitles=(), audio=("eng",))
    # the hardware run fails (the wrapper's driver error), then software fails too, because the
    # destination's folder does not exist: the encoder is not to blame and stays available
    with pytest.raises(FfmpegError) as err:
        await t.transcode(str(src), str(tmp_path / "missing" / "out.mkv"), "balanced")
    assert "No such file or directory" in err.value.message
    assert {e["name"]: e["status"] for e in await t.encoders()}["hevc_vaapi"] == "available"


# -- errors -------------------------------------------------------------------------------------------------
async def test_corrupt_input_gives_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "garbage.mkv"
    src.write_bytes(random.Random(4).randbytes(200_000))
    before = sha256(src)
    with pytest.raises(ProbeError) as err:
        await transcoder().transcode(str(src), str(tmp_path / "out.mkv"), "balanced")
    assert isinstance(err.value, FfmpegError)
    assert err.value.message.endswith("Invalid data found when processing input"), err.value.message
    assert str(src) in err.value.message
    assert not (tmp_path / "out.mkv").exists() and sha256(src) == before


async def test_truncated_input_is_an_error_not_a_short_file(clips: dict[str, Path], tmp_path: Path) -> None:
    data = clips["long"].read_bytes()
    src = tmp_path / "cut.mkv"
    src.write_bytes(data[: len(data) // 3])
    with pytest.raises(TruncatedSource) as err:
        await transcoder().transcode(str(src), str(tmp_path / "out.mkv"), {"preset": "ultrafast"})
    assert "File ended prematurely" in err.value.message and "truncated" in err.value.message
    assert not (tmp_path / "out.mkv").exists()


async def test_audio_only_file_has_no_video_to_transcode(tmp_path: Path) -> None:
    src = tmp_path / "song.mkv"
    run_ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(src))
    with pytest.raises(TranscodePlanError, match="no video stream"):
        await transcoder().transcode(str(src), str(tmp_path / "out.mkv"), "balanced")


async def test_missing_ffmpeg_is_clear_and_does_not_break_the_hub(hub_factory, clips: dict[str, Path], tmp_path: Path) -> None:
    hub = await hub_factory(extra="plugins:\n  - platform: ffmpeg\n    ffmpeg_binary: /nonexistent/ffmpeg\n")
    assert hub.plugins.plugins["ffmpeg"].state == "running"
    entry = next(e for e in hub.config.plugins if e["platform"] == "ffmpeg")
    t = hub.plugins.providers("transcoder")["ffmpeg"](hub, entry)
    with pytest.raises(FfmpegNotFound, match="/nonexistent/ffmpeg is not installed"):
        await t.transcode(str(clips["mkv"]), str(tmp_path / "out.mkv"), "balanced")
    encoders = await t.encoders()
    assert encoders and all(e["status"] == "unavailable" and "not installed" in e["reason"] for e in encoders)
    missing_probe = transcoder(ffprobe_binary="/nonexistent/ffprobe")
    with pytest.raises(FfmpegNotFound, match="ffprobe"):
        await missing_probe.transcode(str(clips["mkv"]), str(tmp_path / "out.mkv"), "balanced")


async def test_ffmpeg_refusing_the_container_names_the_reason(tmp_path: Path) -> None:
    """ffmpeg's last lines are generic ('Error initializing output stream 0:1 --'); the message is
    the line before them that says why."""
    src = tmp_path / "pcm.mov"
    run_ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate=10:duration=1", "-f", "lavfi", "-i", "sine=duration=1",
               "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", str(src))
    t = transcoder(profiles={"forced": {"container": "mp4", "preset": "ultrafast", "extra_args": {"c:1": "copy"}}})
    with pytest.raises(FfmpegError) as err:
        await t.transcode(str(src), str(tmp_path / "out.mp4"), t.profiles()["forced"])
    assert "codec not currently supported in container" in err.value.message, err.value.stderr_tail
    assert str(err.value) == err.value.message


def test_telling_line_skips_generic_lines() -> None:
    tail = ["[matroska @ 0x1] Error writing packet", "av_interleaved_write_frame(): No space left on device",
            "Error writing trailer of /x/out.mkv: No space left on device", "Conversion failed!"]
    assert telling_line(tail) == "Error writing trailer of /x/out.mkv: No space left on device"
    assert telling_line(["Error initializing output stream 0:0 -- ", "Conversion failed!"]) == \
        "Error initializing output stream 0:0 --"
    # the muxer's reason, not the "Could not write header" line that repeats it as an errno
    assert telling_line(["[mp4 @ 0x1] Could not find tag for codec pcm_s16le in stream #1, codec not currently "
                         "supported in container",
                         "Could not write header for output file #0 (incorrect codec parameters ?): Invalid argument",
                         "Error initializing output stream 0:0 -- "]).endswith("not currently supported in container")
    assert telling_line([]) == ""


async def test_destination_is_the_source(clips: dict[str, Path]) -> None:
    before = sha256(clips["mkv"])
    with pytest.raises(TranscodePlanError, match="the destination is the source"):
        await transcoder().transcode(str(clips["mkv"]), str(clips["mkv"]), "balanced")
    assert sha256(clips["mkv"]) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
async def test_full_disk_says_no_space_left(clips: dict[str, Path], tmp_path: Path) -> None:
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mnt)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        with pytest.raises(FfmpegError) as err:
            await transcoder().transcode(str(clips["long"]), str(mnt / "out.mkv"), {"crf": 0, "preset": "ultrafast"})
        assert "No space left on device" in err.value.message, err.value.stderr_tail
        assert not (mnt / "out.mkv").exists()
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


async def test_cover_art_stays_cover_art(tmp_path: Path) -> None:
    """A Matroska cover attachment (shown by ffmpeg as an attached_pic video stream) stays an
    attachment, not a one-frame video track; an MP4 cover becomes one when the output is mkv."""
    cover = tmp_path / "cover.jpg"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:duration=1", "-frames:v", "1", "-update", "1", str(cover))
    plain = make_clip(tmp_path / "plain.mkv", subtitles=("eng",), audio=("eng",), duration=1.0)
    src = tmp_path / "covered.mkv"
    run_ffmpeg("-i", str(plain), "-attach", str(cover), "-metadata:s:t", "mimetype=image/jpeg",
               "-metadata:s:t", "filename=cover.jpg", "-map", "0", "-c", "copy", str(src))
    assert [s["codec_type"] for s in ffprobe(src)["streams"]] == ["video", "audio", "subtitle", "video"]
    t = transcoder()
    result = await t.transcode(str(src), str(tmp_path / "out.part"), {"preset": "ultrafast"})
    assert "-attach" in result["command"] and result["dropped"] == []
    out = ffprobe(tmp_path / "out.part")
    kinds = [(s["codec_type"], s["codec_name"], s["disposition"]["attached_pic"]) for s in out["streams"]]
    assert kinds == [("video", "hevc", 0), ("audio", "aac", 0), ("subtitle", "subrip", 0), ("video", "mjpeg", 1)]
    tags = {k.lower(): v for k, v in out["streams"][3]["tags"].items()}
    assert (tags["filename"], tags["mimetype"]) == ("cover.jpg", "image/jpeg")
    assert not list(tmp_path.glob(".covers-*"))
    # MP4 cover art (covr) into Matroska
    mp4 = tmp_path / "covered.mp4"
    run_ffmpeg("-i", str(plain), "-i", str(cover), "-map", "0:v", "-map", "0:a", "-map", "1", "-c", "copy",
               "-map_chapters", "-1", "-disposition:v:1", "attached_pic", str(mp4))
    assert ffprobe(mp4)["streams"][2]["disposition"]["attached_pic"] == 1
    await t.transcode(str(mp4), str(tmp_path / "out2"), {"preset": "ultrafast", "container": "mkv"})
    kinds = [(s["codec_type"], s["codec_name"], s["disposition"]["attached_pic"]) for s in ffprobe(tmp_path / "out2")["streams"]]
    assert kinds == [("video", "hevc", 0), ("audio", "aac", 0), ("video", "mjpeg", 1)]
    # and back into MP4 it stays an attached picture
    await t.transcode(str(mp4), str(tmp_path / "out3"), {"preset": "ultrafast"})
    kinds = [(s["codec_type"], s["codec_name"], s["disposition"]["attached_pic"]) for s in ffprobe(tmp_path / "out3")["streams"]]
    assert kinds[:3] == [("video", "hevc", 0), ("audio", "aac", 0), ("video", "mjpeg", 1)]


def test_hardware_commands_upload_after_scaling() -> None:
    """The command a VAAPI/QSV/NVENC job would run (no such hardware here, so it is checked as
    arguments; the same builders run the test encodes above, which fail at the device, not at
    parsing)."""
    info = {"format": {"format_name": "matroska,webm"}, "streams": [
        {"index": 0, "codec_type": "video", "codec_name": "hevc", "height": 2160, "pix_fmt": "yuv420p10le",
         "disposition": {}},
        {"index": 1, "codec_type": "audio", "codec_name": "eac3", "channels": 6}]}
    t = transcoder(profiles={"hw": {"max_height": 1080, "hardware": "vaapi"}})
    settings = t.profiles()["hw"]
    job = ffcommand.plan(info, "/m/x.mkv", settings, ffhw.BY_NAME["hevc_vaapi"], vaapi_device="/dev/dri/renderD129")
    args = ffcommand.compile_args("/m/x.mkv", "/m/.x.tmp", job)
    assert args[args.index("-filter:0") + 1] == "scale=-2:1080,format=p010,hwupload"
    assert args[args.index("-c:0") + 1] == "hevc_vaapi" and args[args.index("-qp:0") + 1] == "23"
    assert args[args.index("-init_hw_device") + 1] == "vaapi=hw:/dev/dri/renderD129"
    assert args[args.index("-c:1") + 1] == "copy" and "-crf:0" not in args
    qsv = ffcommand.compile_args("/m/x.mkv", "/m/o", ffcommand.plan(info, "/m/x.mkv", settings, ffhw.BY_NAME["hevc_qsv"]))
    assert qsv[qsv.index("-filter:0") + 1] == "scale=-2:1080,format=p010,hwupload=extra_hw_frames=64"
    assert qsv[qsv.index("-global_quality:0") + 1] == "23" and qsv[qsv.index("-preset:0") + 1] == "medium"
    nv = ffcommand.compile_args("/m/x.mkv", "/m/o", ffcommand.plan(info, "/m/x.mkv", settings, ffhw.BY_NAME["hevc_nvenc"]))
    assert nv[nv.index("-filter:0") + 1] == "scale=-2:1080" and "-init_hw_device" not in nv
    assert (nv[nv.index("-cq:0") + 1], nv[nv.index("-preset:0") + 1]) == ("23", "p4")


async def test_hdr10_metadata_is_carried_over(tmp_path: Path) -> None:
    """ffmpeg 5.1 does not hand mastering-display / content-light-level side data to libx265;
    the plugin reads it from the source's first frame and writes it again."""
    src = tmp_path / "hdr.mkv"
    run_ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate=25:duration=1", "-pix_fmt", "yuv420p10le",
               "-c:v", "libx265", "-x265-params",
               "log-level=error:hdr10=1:repeat-headers=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:"
               "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400",
               "-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc", str(src))

    def first_frame(path: Path) -> dict:
        out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1",
                              "-show_frames", "-of", "json", str(path)], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)["frames"][0]

    result = await transcoder().transcode(str(src), str(tmp_path / "out.mkv"), {"preset": "ultrafast"})
    assert "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)" in \
        result["command"][result["command"].index("-x265-params:0") + 1]
    frame, orig = first_frame(tmp_path / "out.mkv"), first_frame(src)
    assert (frame["color_transfer"], frame["color_primaries"], frame["pix_fmt"]) == ("smpte2084", "bt2020", "yuv420p10le")
    side = {d["side_data_type"]: d for d in frame["side_data_list"]}
    want = {d["side_data_type"]: d for d in orig["side_data_list"]}
    assert side["Mastering display metadata"] == want["Mastering display metadata"]
    assert (side["Content light level metadata"]["max_content"], side["Content light level metadata"]["max_average"]) == (1000, 400)
    # plan() shows the same; an SDR source gets no HDR parameters
    job, _ = await transcoder().plan(str(src), str(tmp_path / "x.mkv"), "balanced")
    assert "max-cll=1000,400" in job.options["x265-params:0"]
    sdr = make_clip(tmp_path / "sdr.mkv", duration=1.0, audio=(), subtitles=(), chapters=0)
    job, _ = await transcoder().plan(str(sdr), str(tmp_path / "x.mkv"), "balanced")
    assert job.options["x265-params:0"] == "log-level=error"


async def test_a_changed_source_is_probed_again(tmp_path: Path) -> None:
    t = transcoder()
    path = make_clip(tmp_path / "a.mkv", duration=1.0, audio=("eng", "fra"), subtitles=())
    job, _ = await t.plan(str(path), str(tmp_path / "o"), "balanced")
    assert job.maps == [0, 1, 2]
    again, _ = await t.plan(str(path), str(tmp_path / "o"), "balanced")  # same file: from the cache
    assert again.maps == [0, 1, 2]
    make_clip(tmp_path / "b.mkv", duration=1.0, audio=("eng",), subtitles=()).replace(path)
    job, _ = await t.plan(str(path), str(tmp_path / "o"), "balanced")
    assert job.maps == [0, 1]
