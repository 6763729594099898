"""Finishing recordings in a real hub: parts → one verified file (mkv or ts) → commercials →
optional transcode → the TV library with the guide's metadata; and what is kept when a step
fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from omnimedia.core.dvr import commercials as cm
from omnimedia.core.dvr import postprocess
from omnimedia.core.dvr.config import DVR_SCHEMA

from .tv_media import cached_tv_ts

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
needs_comskip = pytest.mark.skipif(shutil.which("comskip") is None, reason="comskip is not installed (apt install comskip)")

SLACK = 2.0
#: 2024-05-01 20:00 UTC
AIRED = 1714593600.0
PROFILES = "fast: {crf: 32, preset: ultrafast, container: mkv}\n"


def _ffprobe(path: Path | str, *show: str) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", *show, "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def _duration(path: Path | str) -> float:
    return float(_ffprobe(path, "-show_format")["format"]["duration"])


def _config(tmp_path: Path, *, library: bool = True) -> str:
    tv = tmp_path / "media" / "tv"
    tv.mkdir(parents=True, exist_ok=True)
    libs = f"  - path: {str(tv)!r}\n    name: TV\n    type: tv\n" if library else "  []\n"
    return (
        "hub:\n  host: 127.0.0.1\n  port: 0\n  log_level: debug\n"
        f"libraries:\n{libs}"
        "discovery:\n  zeroconf: false\n  ssdp: false\n  advertise: false\n"
        "plugins:\n  - platform: ffmpeg\n    profiles:\n" + textwrap.indent(PROFILES, "      ")
        + "transcode:\n  verify: {full_decode: false}\n"
    )


@pytest.fixture(scope="module")
def broadcast():
    """programme 20 s | break 20–32 | programme 20 s | break 52–64 (MPEG-2, like ATSC)."""
    return cached_tv_ts(codec="mpeg2video", hd=False, cycles=2)


@pytest.fixture(scope="module")
def one_break():
    """programme 20 s | break 20–32: the ffmpeg heuristic's case (a break framed by break points;
    with two cycles its default max_segment of 120 s would take the 20 s programme between the
    breaks for a commercial too)."""
    return cached_tv_ts(codec="mpeg2video", hd=False, cycles=1)


def _split(src: Path, folder: Path, count: int) -> list[dict[str, Any]]:
    """The recorder's parts: ``count`` pieces of the stream (188-byte packets) as
    ``part-00N.ts`` with the recorder's part fields."""
    folder.mkdir(parents=True, exist_ok=True)
    data = src.read_bytes()
    packets = len(data) // 188
    cuts = [round(packets * i / count) * 188 for i in range(count)] + [len(data)]
    parts = []
    for i in range(count):
        path = folder / f"part-{i + 1:03d}.ts"
        path.write_bytes(data[cuts[i]:cuts[i + 1]])
        share = 64.0 / count  # received in real time
        parts.append({"path": str(path), "bytes": cuts[i + 1] - cuts[i], "start": AIRED + i * share,
                      "end": AIRED + (i + 1) * share})
    return parts


def _recording(hub, rec_id: int, parts: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    rec = {
        "id": rec_id, "rule_id": None, "programme_id": 7, "episode_key": "the-news-s01e02", "channel": "5.1",
        "device_id": "10ABCDEF", "title": "The News", "subtitle": "Pilot: Part 1",
        "description": "The first evening news.", "season": 1, "episode": 2, "original_air_date": None,
        "categories": ["News"], "year": None, "start": AIRED, "stop": AIRED + 64, "padded_start": AIRED,
        "padded_stop": AIRED + 64, "state": "processing", "parts": parts, "gaps": [], "path": None, "size": 0,
        "commercials": None, "item_id": None, "message": None,
    }
    rec.update(overrides)
    return rec


def _settings(**kw: Any) -> dict[str, Any]:
    return DVR_SCHEMA(kw)


class Updates:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, fields: dict[str, Any]) -> None:
        self.seen.append(dict(fields))

    def messages(self) -> list[str]:
        return [u["message"] for u in self.seen if "message" in u]


async def _hub(hub_factory, tmp_path: Path, **kw):
    hub = await hub_factory(config_text=_config(tmp_path, **kw), serve_http=False)
    return hub


def _work(hub, rec_id: int) -> Path:
    return hub.dvr.recordings_path / ".recording" / str(rec_id)


@needs_comskip
async def test_three_parts_become_one_mkv_in_the_tv_library(hub_factory, tmp_path: Path, broadcast) -> None:
    hub = await _hub(hub_factory, tmp_path)
    parts = _split(broadcast.path, _work(hub, 1), 3)
    updates = Updates()
    result = await postprocess.finish(hub, _settings(), _recording(hub, 1, parts), on_update=updates)

    final = tmp_path / "media" / "tv" / "The News" / "Season 01" / "The News - S01E02 - Pilot - Part 1.mkv"
    assert result["state"] == "done", result["message"]
    assert result["path"] == str(final) and final.is_file()
    assert result["size"] == final.stat().st_size
    for part in parts:
        assert not os.path.exists(part["path"]), "the parts are gone once the mkv is verified"
    assert not _work(hub, 1).exists(), "the work folder is removed"

    info = _ffprobe(final, "-show_format", "-show_streams", "-show_chapters")
    assert abs(float(info["format"]["duration"]) - broadcast.duration) <= SLACK
    assert sorted(s["codec_type"] for s in info["streams"]) == ["audio", "video"]
    tags = info["format"]["tags"]
    assert tags["SHOW"] == "The News" and tags["title"] == "Pilot: Part 1"
    assert tags["EPISODE_ID"] == "S01E02" and tags["SEASON_NUMBER"] == "1" and tags["EPISODE_SORT"] == "2"
    assert tags["DESCRIPTION"] == "The first evening news." and tags["NETWORK"] == "5.1"
    assert tags["DATE"] == postprocess.broadcast_date({"start": AIRED}, hub.dvr.tz)

    # commercials: comskip found the first break; chapters mark it
    assert result["commercials"] and abs(result["commercials"][0][0] - 20) <= SLACK
    assert abs(result["commercials"][0][1] - 32) <= SLACK
    titles = [c["tags"]["title"] for c in info["chapters"]]
    assert titles[:3] == ["Programme", "Commercial", "Programme"]
    commercial = info["chapters"][1]
    assert abs(float(commercial["start_time"]) - 20) <= SLACK and abs(float(commercial["end_time"]) - 32) <= SLACK

    # the library item, with the guide's metadata
    item = await hub.library.get_item(result["item_id"])
    assert item["path"] == str(final) and item["type"] == "episode"
    assert (item["title"], item["season"], item["episode"]) == ("The News", 1, 2)
    assert item["episode_title"] == "Pilot: Part 1"
    assert item["air_date"] == postprocess.broadcast_date({"start": AIRED}, hub.dvr.tz)
    assert item["tags"]["description"] == "The first evening news." and item["tags"]["channel"] == "5.1"
    assert item["tags"]["categories"] == "News"

    # progress as it went, and the checkpoints a restarted hub resumes from
    messages = updates.messages()
    assert messages[0].startswith("joining 3 parts into mkv")
    assert "detecting commercials" in messages and any(m.startswith("importing into TV") for m in messages)
    assert all(u.get("state", "processing") == "processing" for u in updates.seen)
    assert any(u.get("path") == str(final) for u in updates.seen)


async def test_an_existing_file_is_never_overwritten(hub_factory, tmp_path: Path, broadcast) -> None:
    hub = await _hub(hub_factory, tmp_path)
    taken = tmp_path / "media" / "tv" / "The News" / "Season 01" / "The News - S01E02 - Pilot - Part 1.mkv"
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"somebody else's file")
    parts = _split(broadcast.path, _work(hub, 2), 1)
    result = await postprocess.finish(hub, _settings(commercials={"detect": "off"}), _recording(hub, 2, parts),
                                      on_update=Updates())
    assert result["state"] == "done", result["message"]
    assert result["path"] == str(taken.with_name("The News - S01E02 - Pilot - Part 1 (2).mkv"))
    assert taken.read_bytes() == b"somebody else's file"


async def test_ts_container_gets_an_edl_and_a_date_name(hub_factory, tmp_path: Path, one_break) -> None:
    hub = await _hub(hub_factory, tmp_path)
    parts = _split(one_break.path, _work(hub, 3), 1)
    received = Path(parts[0]["path"]).read_bytes()
    rec = _recording(hub, 3, parts, title="Late Show", subtitle=None, season=None, episode=None,
                     original_air_date="2024-04-30")
    settings = _settings(container="ts", commercials={"detect": "ffmpeg", "action": "chapters"})
    result = await postprocess.finish(hub, settings, rec, on_update=Updates())

    final = tmp_path / "media" / "tv" / "Late Show" / "Late Show - 2024-04-30.ts"
    assert result["path"] == str(final), result
    assert final.read_bytes() == received, "one part in a ts container is the stream as received"
    assert result["state"] == "done" and "cannot hold chapters" in result["message"]
    edl = final.with_suffix(".edl")
    lines = [line.split("\t") for line in edl.read_text().splitlines()]
    assert len(lines) == 1 and lines[0][2] == "3"
    assert abs(float(lines[0][0]) - 20) <= SLACK and abs(float(lines[0][1]) - 32) <= SLACK
    item = await hub.library.get_item(result["item_id"])
    assert (item["title"], item["air_date"], item["season"], item["episode"]) == ("Late Show", "2024-04-30", None, None)


async def test_ts_from_three_parts_has_one_clock(hub_factory, tmp_path: Path, one_break) -> None:
    hub = await _hub(hub_factory, tmp_path)
    parts = _split(one_break.path, _work(hub, 17), 3)
    result = await postprocess.finish(hub, _settings(container="ts", commercials={"detect": "ffmpeg", "action": "edl"}),
                                      _recording(hub, 17, parts), on_update=Updates())
    assert result["state"] == "done", result["message"]
    assert result["path"].endswith("The News - S01E02 - Pilot - Part 1.ts")
    assert abs(_duration(result["path"]) - one_break.duration) <= SLACK
    assert len(result["commercials"]) == 1 and abs(result["commercials"][0][0] - 20) <= SLACK
    assert Path(result["path"]).with_suffix(".edl").is_file()


async def test_cut_with_keep_original(hub_factory, tmp_path: Path, one_break) -> None:
    hub = await _hub(hub_factory, tmp_path)
    parts = _split(one_break.path, _work(hub, 4), 2)
    settings = _settings(commercials={"detect": "ffmpeg", "action": "cut", "keep_original": True})
    result = await postprocess.finish(hub, settings, _recording(hub, 4, parts), on_update=Updates())
    assert result["state"] == "done", result["message"]
    final = Path(result["path"])
    original = final.with_name(final.stem + ".original.mkv")
    assert original.is_file() and final.is_file()
    assert result["commercials"] == [], "the file has none left"
    assert "cut 1 commercial break (11 s)" in result["message"]
    assert abs(_duration(original) - one_break.duration) <= SLACK
    assert abs(_duration(final) - (one_break.duration - 11)) <= SLACK
    item = await hub.library.get_item(result["item_id"])
    assert item["path"] == str(final)


async def test_a_failing_cut_keeps_the_uncut_recording(hub_factory, tmp_path: Path, broadcast, monkeypatch) -> None:
    hub = await _hub(hub_factory, tmp_path)
    parts = _split(broadcast.path, _work(hub, 5), 3)

    async def everything(path, **kw):  # a detector gone wrong: the whole file is "commercials"
        return cm.Detection([(0.0, 1000.0)], "ffmpeg")

    monkeypatch.setattr(cm, "detect_report", everything)
    settings = _settings(commercials={"detect": "ffmpeg", "action": "cut"})
    result = await postprocess.finish(hub, settings, _recording(hub, 5, parts), on_update=Updates())
    assert result["state"] == "partial"
    assert "would leave nothing" in result["message"] and "kept uncut" in result["message"]
    assert abs(_duration(result["path"]) - broadcast.duration) <= SLACK, "the whole recording is kept"
    assert result["item_id"] is not None, "and still imported"
    assert not any(p.name.startswith(".") for p in Path(result["path"]).parent.iterdir())


async def test_a_missing_transcoder_keeps_the_recording(hub_factory, tmp_path: Path, broadcast) -> None:
    hub = await _hub(hub_factory, tmp_path)
    parts = _split(broadcast.path, _work(hub, 6), 1)
    settings = _settings(commercials={"detect": "off"}, post_process={"transcode_profile": "fast", "transcoder": "nope"})
    result = await postprocess.finish(hub, settings, _recording(hub, 6, parts), on_update=Updates())
    assert result["state"] == "partial"
    assert "no transcoder named 'nope'" in result["message"] and "kept as recorded" in result["message"]
    assert result["path"].endswith(".mkv") and abs(_duration(result["path"]) - broadcast.duration) <= SLACK


async def test_transcoded_with_a_profile(hub_factory, tmp_path: Path) -> None:
    hub = await _hub(hub_factory, tmp_path)
    media = cached_tv_ts(codec="mpeg2video", hd=False, cycles=1, programme_seconds=6.0, commercial_seconds=10.0)
    parts = _split(media.path, _work(hub, 7), 1)
    settings = _settings(commercials={"detect": "off"}, post_process={"transcode_profile": "fast"})
    updates = Updates()
    result = await postprocess.finish(hub, settings, _recording(hub, 7, parts), on_update=updates)
    assert result["state"] == "done", result["message"]
    assert "transcoded with fast" in result["message"]
    info = _ffprobe(result["path"], "-show_streams", "-show_format")
    assert [s["codec_name"] for s in info["streams"] if s["codec_type"] == "video"] == ["hevc"]
    assert abs(float(info["format"]["duration"]) - media.duration) <= SLACK
    assert any(m.startswith("transcoding with") for m in updates.messages())


async def test_unknown_profile_keeps_the_recording(hub_factory, tmp_path: Path, broadcast) -> None:
    hub = await _hub(hub_factory, tmp_path)
    parts = _split(broadcast.path, _work(hub, 8), 1)
    settings = _settings(commercials={"detect": "off"}, post_process={"transcode_profile": "nonesuch"})
    result = await postprocess.finish(hub, settings, _recording(hub, 8, parts), on_update=Updates())
    assert result["state"] == "partial" and "no profile 'nonesuch'" in result["message"]
    assert os.path.isfile(result["path"])


async def test_without_a_tv_library_it_stays_in_the_recordings_folder(hub_factory, tmp_path: Path, broadcast) -> None:
    hub = await _hub(hub_factory, tmp_path, library=False)
    parts = _split(broadcast.path, _work(hub, 9), 2)
    result = await postprocess.finish(hub, _settings(commercials={"detect": "off"}), _recording(hub, 9, parts),
                                      on_update=Updates())
    final = hub.dvr.recordings_path / "The News" / "Season 01" / "The News - S01E02 - Pilot - Part 1.mkv"
    assert result == {**result, "state": "done", "path": str(final), "item_id": None}
    assert final.is_file() and not _work(hub, 9).exists()


async def test_a_library_that_does_not_exist_is_reported(hub_factory, tmp_path: Path, broadcast) -> None:
    hub = await _hub(hub_factory, tmp_path)
    parts = _split(broadcast.path, _work(hub, 10), 1)
    result = await postprocess.finish(hub, _settings(library="Movies", commercials={"detect": "off"}),
                                      _recording(hub, 10, parts), on_update=Updates())
    assert result["state"] == "partial" and "no library 'Movies'" in result["message"]
    assert "TV (" in result["message"], "the message lists the libraries there are"
    assert Path(result["path"]).is_relative_to(hub.dvr.recordings_path)


async def test_library_chosen_by_name(hub_factory, tmp_path: Path, broadcast) -> None:
    hub = await _hub(hub_factory, tmp_path)
    parts = _split(broadcast.path, _work(hub, 11), 1)
    result = await postprocess.finish(hub, _settings(library="tv", commercials={"detect": "off"}),
                                      _recording(hub, 11, parts), on_update=Updates())
    assert result["state"] == "done" and result["path"].startswith(str(tmp_path / "media" / "tv"))


async def test_nothing_recorded_fails_and_says_so(hub_factory, tmp_path: Path) -> None:
    hub = await _hub(hub_factory, tmp_path)
    folder = _work(hub, 12)
    folder.mkdir(parents=True)
    (folder / "part-001.ts").write_bytes(b"")
    parts = [{"path": str(folder / "part-001.ts"), "bytes": 0, "start": AIRED, "end": AIRED + 1},
             {"path": str(folder / "part-002.ts"), "bytes": 10, "start": AIRED + 2, "end": AIRED + 3}]
    result = await postprocess.finish(hub, _settings(), _recording(hub, 12, parts), on_update=Updates())
    assert result["state"] == "failed" and result["path"] is None
    assert "nothing was recorded" in result["message"] and "1 of 2 recorded parts are missing" in result["message"]


async def test_unreadable_parts_are_kept(hub_factory, tmp_path: Path) -> None:
    hub = await _hub(hub_factory, tmp_path)
    folder = _work(hub, 13)
    folder.mkdir(parents=True)
    (folder / "part-001.ts").write_bytes(b"\x00garbage" * 1000)
    parts = [{"path": str(folder / "part-001.ts"), "bytes": 8000, "start": AIRED, "end": AIRED + 5}]
    result = await postprocess.finish(hub, _settings(), _recording(hub, 13, parts), on_update=Updates())
    assert result["state"] == "failed" and "can be read" in result["message"]
    assert (folder / "part-001.ts").is_file(), "never lose what was recorded"


async def test_a_restarted_finish_goes_on_from_the_joined_file(hub_factory, tmp_path: Path, broadcast) -> None:
    hub = await _hub(hub_factory, tmp_path)
    folder = _work(hub, 14)
    parts = _split(broadcast.path, folder, 2)
    # the last run joined the parts (and said so), then the hub stopped before the parts were removed
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(broadcast.path), "-map", "0", "-c", "copy",
                    str(folder / "recording.mkv")], check=True, capture_output=True)
    (folder / ".chapters.partial.mkv").write_bytes(b"half a file")
    rec = _recording(hub, 14, parts, path=str(folder / "recording.mkv"))
    result = await postprocess.finish(hub, _settings(commercials={"detect": "off"}), rec, on_update=Updates())
    assert result["state"] == "done", result["message"]
    assert result["path"].endswith("The News - S01E02 - Pilot - Part 1.mkv") and result["item_id"]
    assert not folder.exists(), "leftover parts and temporary files are cleaned up"


async def test_a_restart_after_an_unannounced_rename_finds_the_file(hub_factory, tmp_path: Path, one_break) -> None:
    hub = await _hub(hub_factory, tmp_path)
    folder = _work(hub, 16)
    parts = _split(one_break.path, folder, 1)
    # ts, one part: renamed to recording.ts, then the hub died before storing the new path
    os.replace(parts[0]["path"], folder / "recording.ts")
    result = await postprocess.finish(hub, _settings(container="ts", commercials={"detect": "off"}),
                                      _recording(hub, 16, parts), on_update=Updates())
    assert result["state"] == "done", result["message"]
    assert Path(result["path"]).read_bytes() == one_break.path.read_bytes()


async def test_metadata_survives_a_reprobe_or_is_restored(hub_factory, tmp_path: Path, broadcast) -> None:
    hub = await _hub(hub_factory, tmp_path)
    parts = _split(broadcast.path, _work(hub, 15), 1)
    rec = _recording(hub, 15, parts, title="Film Club", subtitle="Casablanca (1942)", season=3, episode=4,
                     original_air_date="2024-04-01")
    result = await postprocess.finish(hub, _settings(commercials={"detect": "off"}), rec, on_update=Updates())
    assert result["state"] == "done", result["message"]
    item = await hub.library.rescan_item(result["item_id"])
    # a re-probe reads the name and the container's tags again …
    assert (item["season"], item["episode"]) == (3, 4)
    assert item["tags"]["description"] == "The first evening news." and item["tags"]["show"] == "Film Club"
    # … and what the name cannot carry is put back from the recording
    rec = {**rec, "item_id": result["item_id"]}
    changed = await postprocess.restore_guide_metadata(hub, rec, hub.dvr.tz)
    item = await hub.library.get_item(result["item_id"])
    assert (item["title"], item["episode_title"], item["air_date"]) == ("Film Club", "Casablanca (1942)", "2024-04-01")
    assert changed is True
    assert await postprocess.restore_guide_metadata(hub, rec, hub.dvr.tz) is False
    with pytest.raises(ValueError, match="cannot set path"):
        await hub.library.set_metadata(result["item_id"], {"path": "/elsewhere.mkv"})
    with pytest.raises(KeyError):
        await hub.library.set_metadata(999_999, {"title": "x"})


def test_names() -> None:
    tz = __import__("zoneinfo").ZoneInfo("Europe/Berlin")
    rec = {"title": "Law & Order: SVU", "subtitle": "Who/What? <Part 2>", "season": 24, "episode": 3, "channel": "4.1",
           "start": AIRED}
    assert str(postprocess.relative_name(rec, "mkv", tz)) == (
        "Law & Order - SVU/Season 24/Law & Order - SVU - S24E03 - Who+What! Part 2.mkv"
    )
    rec = {"title": "News", "subtitle": None, "season": None, "episode": None, "start": AIRED - 3600 * 21,
           "channel": "2.1"}
    assert str(postprocess.relative_name(rec, "ts", tz)) == "News/News - 2024-05-01.ts"
    rec = {"title": "News", "season": 2, "episode": None, "start": AIRED, "original_air_date": "2024-05-02"}
    assert str(postprocess.relative_name(rec, "ts", tz)) == "News/Season 02/News - 2024-05-02.ts"
    rec = {"title": "", "channel": "7.1", "season": None, "episode": None, "start": AIRED, "subtitle": "x" * 400}
    name = postprocess.relative_name(rec, "mkv", tz)
    assert name.parts[0] == "Channel 7.1" and len(name.name.encode()) <= 255
