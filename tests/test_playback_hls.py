"""HLS sessions on a real hub with real ffmpeg: VOD playlists of the whole item, MPEG-TS and fMP4
segments that decode and add up to the item, remuxed segments cut at the source's keyframes,
seeking by restart (the segments of every run fit together), cleanup."""

from __future__ import annotations

import asyncio
import math
import os
from pathlib import Path

import aiohttp
import pytest

from omnimedia.core import ffmpeg
from omnimedia.core.playback import hls
from omnimedia.core.playback.command import TIMELINE_PAD

from .playback_media import decodes, ffprobe, make_long, make_media, packets, playlist_entries, psnr

#: Segment lengths for these tests (the defaults are 3 s transcoding, 6 s remuxing).
EXTRA = "playback:\n  hls_segment_remux: 3\n  hls_segment_transcode: 2\n  max_transcodes: 4\n"
MPEGTS_OFFSET = 1.4  # ffmpeg's mpegts muxer starts timestamps 1.4 s in (its default mux delay)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    files = make_media(tmp_path_factory.mktemp("hls") / "media")
    files["long"] = make_long(files["movie"].parent / "Long.Film.2022.mkv", duration=60.0)
    return files


@pytest.fixture
async def served(hub_factory, media):
    hub = await hub_factory(media_dirs=[media["movie"].parent], extra=EXTRA)
    await hub.library.scan()
    items, _ = await hub.library.list_items(limit=50)
    by_name = {Path(i["path"]).name: i["id"] for i in items}
    ids = {key: by_name[path.name] for key, path in media.items() if path.name in by_name}
    host, port = hub.http.bound_address()
    async with aiohttp.ClientSession() as http:
        yield hub, f"http://{host}:{port}", http, ids


async def start(http, base, item_id, **body) -> dict:
    async with http.post(f"{base}/api/playback/sessions", json={"item_id": item_id, **body}) as resp:
        data = await resp.json()
        assert resp.status == 201, data
        return data


async def get(http, url) -> tuple[int, dict, bytes]:
    async with http.get(url) as resp:
        return resp.status, dict(resp.headers), await resp.read()


def session_base(base: str, plan: dict) -> str:
    return base + plan["url"].rsplit("/", 1)[0]


async def media_playlist(http, base, plan) -> tuple[str, list[tuple[float, str]]]:
    status, headers, body = await get(http, base + plan["url"])
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    master = body.decode()
    assert master.splitlines()[-1] == "media.m3u8"
    status, headers, body = await get(http, session_base(base, plan) + "/media.m3u8")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    text = body.decode()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    return master + text, playlist_entries(text)


async def fetch_segment(http, base, plan, uri, folder: Path, name: str) -> Path:
    status, headers, body = await get(http, f"{session_base(base, plan)}/{uri}")
    assert status == 200, body
    assert headers["Access-Control-Allow-Origin"] == "*"
    path = folder / name
    path.write_bytes(body)
    return path


def video_start(path: Path) -> float:
    return min(float(p["pts_time"]) for p in packets(path))


def keyframe_starts(path: Path, length: float) -> list[float]:
    """Segment starts of a remux: the first keyframe at least ``length`` s after the previous start."""
    info = ffprobe(path)
    origin = float(info["format"].get("start_time") or 0)
    keys = [float(p["pts_time"]) - origin for p in packets(path) if "K" in p["flags"]]
    starts = [0.0]
    for t in keys[1:]:
        if t - starts[-1] >= length - 1e-6:
            starts.append(t)
    return starts


async def test_remux_segments_follow_the_source_keyframes(served, media, tmp_path):
    hub, base, http, ids = served
    plan = await start(http, base, ids["movie"], profile="chromecast", subtitle_stream=2)
    decision = plan["decision"]
    assert (decision["method"], decision["protocol"], decision["video"], decision["audio"]) == (
        "direct_stream", "hls", "copy", "copy")
    assert plan["mime_type"] == "application/vnd.apple.mpegurl"
    assert plan["url"] == f"/api/playback/sessions/{plan['session_id']}/master.m3u8"
    text, entries = await media_playlist(http, base, plan)
    assert "#EXT-X-VERSION:3" in text and "#EXT-X-MAP" not in text
    assert 'CODECS="avc1.' in text and "RESOLUTION=320x240" in text
    duration = float(ffprobe(media["movie"])["format"]["duration"])
    starts = keyframe_starts(media["movie"], 3.0)
    assert len(starts) == 4  # keyframes at 0, 2.5, 4, 7, 7.5 and 10 s make 0–4, 4–7, 7–10, 10–12
    assert [round(d, 3) for d, _ in entries] == [round(b - a, 3) for a, b in zip(starts, [*starts[1:], duration],
                                                                                  strict=True)]
    assert f"#EXT-X-TARGETDURATION:{max(round(d) for d, _ in entries)}" in text
    assert [uri for _, uri in entries] == [f"segments/{i}.ts" for i in range(4)]
    files = [await fetch_segment(http, base, plan, uri, tmp_path, f"{i}.ts") for i, (_, uri) in enumerate(entries)]
    origin = video_start(files[0]) - 0.021  # the file's video starts 21 ms in
    for path, (extinf, _), seg_start in zip(files, entries, starts, strict=True):
        pkts = packets(path)
        assert "K" in pkts[0]["flags"], path  # every segment starts with a keyframe
        assert video_start(path) - origin == pytest.approx(max(seg_start, 0.021), abs=0.002)
        info = ffprobe(path)
        assert float(info["format"]["duration"]) == pytest.approx(extinf, abs=0.1)
        assert [s["codec_name"] for s in info["streams"]] == ["h264", "aac"]
    # The segments one after the other are the whole item.
    whole = tmp_path / "whole.ts"
    whole.write_bytes(b"".join(p.read_bytes() for p in files))
    assert float(ffprobe(whole)["format"]["duration"]) == pytest.approx(duration, abs=0.15)
    decodes(whole)
    # Copied: the very same pictures (picture 130 is at 0.021 + 130 / 25 s in the source).
    assert psnr(whole, None, media["movie"], 0.021 + 130 / 25, a_frame=130) == float("inf")
    # The WebVTT sidecar is on the playlist's timeline (not shifted).
    status, headers, body = await get(http, base + plan["subtitles_url"])
    assert status == 200 and "00:00:01.021 --> 00:00:02.021\nOne" in body.decode()


async def test_transcoded_segments_are_cut_every_segment_length(served, media, tmp_path):
    hub, base, http, ids = served
    plan = await start(http, base, ids["avi"], profile="chromecast")
    assert (plan["decision"]["method"], plan["decision"]["video"]) == ("transcode", "h264")
    text, entries = await media_playlist(http, base, plan)
    # MPEG-4 in AVI from ffmpeg: 201 pictures, the last one at 8.0 s, so a short fifth segment.
    duration = float(ffprobe(media["avi"])["format"]["duration"])
    assert [d for d, _ in entries] == [2.0, 2.0, 2.0, 2.0, pytest.approx(duration - 8.0, abs=0.001)]
    assert 'CODECS="avc1.64001E,mp4a.40.34"' in text  # H.264 High 3.0 + the MP3 copied
    files = [await fetch_segment(http, base, plan, uri, tmp_path, f"t{i}.ts") for i, (_, uri) in enumerate(entries)]
    for i, path in enumerate(files):
        info = ffprobe(path)
        video = info["streams"][0]
        assert (video["codec_name"], video["profile"], video["pix_fmt"]) == ("h264", "High", "yuv420p")
        assert "K" in packets(path)[0]["flags"]
        # mpegts starts at 1.4 s (ffmpeg's mux delay) plus the B-frame delay: the same for all.
        assert video_start(path) - video_start(files[0]) == pytest.approx(2.0 * i, abs=0.01)
        decodes(path)
    whole = tmp_path / "t.ts"
    whole.write_bytes(b"".join(p.read_bytes() for p in files))
    assert float(ffprobe(whole)["format"]["duration"]) == pytest.approx(duration, abs=0.15)
    assert hub.playback.get_session(plan["session_id"]).restarts == 0  # one ffmpeg made them all


async def test_seek_by_restart_keeps_one_timeline(served, media, tmp_path, monkeypatch):
    hub, base, http, ids = served
    # Start at 40 s: ffmpeg begins at the segment holding 40 s.
    plan = await start(http, base, ids["long"], profile="chromecast", start=40.0,
                       max_bitrate=500_000)  # a bitrate cap forces a transcode
    assert plan["decision"]["method"] == "transcode" and plan["start"] == 0.0  # the player seeks to 40 s itself
    session = hub.playback.get_session(plan["session_id"])
    _, entries = await media_playlist(http, base, plan)
    assert len(entries) == 30 and sum(d for d, _ in entries) == pytest.approx(60.0, abs=0.1)
    seg20 = await fetch_segment(http, base, plan, entries[20][1], tmp_path, "s20.ts")
    assert session.restarts == 0
    # Back to the start: nothing made it, so ffmpeg restarts there.
    seg0 = await fetch_segment(http, base, plan, entries[0][1], tmp_path, "s0.ts")
    seg1 = await fetch_segment(http, base, plan, entries[1][1], tmp_path, "s1.ts")
    assert session.restarts == 1
    # Far ahead of the encoder: restart again (the wait budget is shrunk so the encoder's speed on
    # this machine cannot make waiting look cheaper).
    monkeypatch.setattr(hls, "WAIT_BUDGET", 0.01)
    seg27 = await fetch_segment(http, base, plan, entries[27][1], tmp_path, "s27.ts")
    assert session.restarts == 2
    seg19 = await fetch_segment(http, base, plan, entries[19][1], tmp_path, "s19.ts")
    assert session.restarts == 3
    # Every segment sits where the playlist says, whichever run made it.
    origin = video_start(seg0)  # the item's time + 10 s (TIMELINE_PAD) + 1.4 s (mpegts) + B-frame delay
    assert origin == pytest.approx(TIMELINE_PAD + MPEGTS_OFFSET, abs=0.15)
    for index, path in ((0, seg0), (1, seg1), (19, seg19), (20, seg20), (27, seg27)):
        assert video_start(path) - origin == pytest.approx(2.0 * index, abs=0.01), index
        # Its first picture is the item's first at or after that time, not one before or after.
        match = psnr(path, None, media["long"], 2.0 * index)
        assert match > 30, index
        if index:
            assert psnr(path, None, media["long"], 2.0 * index - 0.04) < match - 5, index
        assert psnr(path, None, media["long"], 2.0 * index + 0.04) < match - 5, index
    # Segments of different runs play one after the other: 19 (fourth run) then 20 (first run).
    joined = tmp_path / "19-20.ts"
    joined.write_bytes(seg19.read_bytes() + seg20.read_bytes())
    assert float(ffprobe(joined)["format"]["duration"]) == pytest.approx(4.0, abs=0.1)
    decodes(joined)
    # The session lists its one ffmpeg; stopping it ends the process and removes every file.
    pids = session.as_dict()["pids"]
    assert len(pids) <= 1
    folder = session.folder
    assert folder.is_dir()
    async with http.delete(base + f"/api/playback/sessions/{plan['session_id']}") as resp:
        assert resp.status == 204
    assert not folder.exists()
    assert all(not os.path.exists(f"/proc/{pid}") for pid in pids)
    assert ffmpeg.running() == []
    status, _, _ = await get(http, base + plan["url"])
    assert status == 404


async def test_remux_restart_lands_on_the_same_keyframe_segments(served, media, tmp_path):
    hub, base, http, ids = served
    plan = await start(http, base, ids["long"], profile="chromecast", start=35.0)
    assert plan["decision"]["method"] == "direct_stream"
    session = hub.playback.get_session(plan["session_id"])
    _, entries = await media_playlist(http, base, plan)
    starts = keyframe_starts(media["long"], 3.0)
    assert len(entries) == len(starts) and len(starts) > 3
    late = session.segment_for(35.0)
    assert starts[late] <= 35.0 < starts[late + 1]
    first_run = await fetch_segment(http, base, plan, entries[late][1], tmp_path, "late.ts")
    head = await fetch_segment(http, base, plan, entries[0][1], tmp_path, "head.ts")
    assert session.restarts == 1
    before = await fetch_segment(http, base, plan, entries[late - 1][1], tmp_path, "before.ts")
    origin = video_start(head) - video_start(media["long"])  # the source's video starts 21 ms in
    assert video_start(before) - origin == pytest.approx(starts[late - 1], abs=0.002)
    assert video_start(first_run) - origin == pytest.approx(starts[late], abs=0.002)
    assert psnr(first_run, None, media["long"], starts[late]) == float("inf")
    joined = tmp_path / "joined.ts"
    joined.write_bytes(before.read_bytes() + first_run.read_bytes())
    decodes(joined)
    assert float(ffprobe(joined)["format"]["duration"]) == pytest.approx(
        entries[late - 1][0] + entries[late][0], abs=0.1)


async def test_hevc_for_a_4k_cast_goes_progressive_not_hls(served, media, tmp_path):
    hub, base, http, ids = served
    async with http.post(f"{base}/api/playback/sessions",
                         json={"item_id": ids["hevc"], "profile": "chromecast_4k"}) as resp:
        assert resp.status == 201
        plan = await resp.json()
    decision = plan["decision"]
    assert (decision["method"], decision["video"], decision["protocol"]) == ("direct_stream", "copy", "progressive")
    assert decision["reasons"][-1] == ("sent as a progressive fragmented MP4 instead of HLS: the hub's HLS segments "
                                       "are MPEG-TS, which does not carry video hevc")
    assert plan["url"].endswith("/stream.mp4") and plan["mime_type"] == "video/mp4"
    status, headers, body = await get(http, base + plan["url"])
    assert status == 200
    out = tmp_path / "hevc.mp4"
    out.write_bytes(body)
    info = ffprobe(out)
    assert [s["codec_name"] for s in info["streams"]] == ["hevc", "aac"]
    assert info["streams"][0]["codec_tag_string"] == "hvc1"
    decodes(out)
    # A wrong segment number or kind is refused.
    ts_plan = await start(http, base, ids["avi"], profile="chromecast")
    _, entries = await media_playlist(http, base, ts_plan)
    status, _, body = await get(http, session_base(base, ts_plan) + f"/segments/{len(entries)}.ts")
    assert status == 404 and b"does not exist" in body
    status, _, body = await get(http, session_base(base, ts_plan) + "/segments/0.m4s")
    assert status == 404


async def test_audio_only_hls(served, media, tmp_path):
    hub, base, http, ids = served
    plan = await start(http, base, ids["audio"], profile="chromecast")
    assert (plan["decision"]["video"], plan["decision"]["audio"]) == (None, "aac")
    text, entries = await media_playlist(http, base, plan)
    assert "RESOLUTION" not in text and 'CODECS="mp4a.40.2"' in text
    assert len(entries) == math.ceil(6.0 / 2.0)
    files = [await fetch_segment(http, base, plan, uri, tmp_path, f"a{i}.ts") for i, (_, uri) in enumerate(entries)]
    whole = tmp_path / "audio.ts"
    whole.write_bytes(b"".join(p.read_bytes() for p in files))
    info = ffprobe(whole)
    assert [s["codec_type"] for s in info["streams"]] == ["audio"]
    assert float(info["format"]["duration"]) == pytest.approx(6.0, abs=0.15)
    decodes(whole)


async def test_waiting_for_a_segment_being_made_does_not_restart(served, media, tmp_path):
    hub, base, http, ids = served
    plan = await start(http, base, ids["long"], profile="chromecast", max_bitrate=500_000)
    session = hub.playback.get_session(plan["session_id"])
    _, entries = await media_playlist(http, base, plan)
    # Segments 1 and 2 asked for at once, before the encoder has written them: both wait.
    first, second = await asyncio.gather(
        fetch_segment(http, base, plan, entries[1][1], tmp_path, "w1.ts"),
        fetch_segment(http, base, plan, entries[2][1], tmp_path, "w2.ts"),
    )
    assert session.restarts == 0
    assert video_start(second) - video_start(first) == pytest.approx(2.0, abs=0.05)


async def test_hub_stop_ends_hls_ffmpeg_and_sweeps_leftovers(hub_factory, media, tmp_path):
    config = tmp_path / "cfg"
    hub = await hub_factory(media_dirs=[media["movie"].parent], extra=EXTRA, config_dir=config)
    await hub.library.scan()
    items, _ = await hub.library.list_items(text="Long.Film", limit=1)
    plan = await hub.playback.prepare(items[0]["id"], profile="chromecast", max_bitrate=500_000)
    session = hub.playback.get_session(plan.session_id)
    procs = session.processes()
    assert len(procs) == 1 and procs[0].returncode is None
    # A folder a crashed hub would have left.
    leftover = hub.playback.sessions.folder / "crashed-session"
    leftover.mkdir()
    (leftover / "u0.ts").write_bytes(b"\x47" * 188)
    await hub.stop()
    assert procs[0].returncode is not None and ffmpeg.running() == []
    assert not session.folder.exists()
    # The next start on the same configuration sweeps what is left.
    again = await hub_factory(media_dirs=[media["movie"].parent], extra=EXTRA, config_dir=config)
    assert not leftover.exists()
    assert list(again.playback.sessions.folder.iterdir()) == []


async def test_ffmpeg_failure_is_a_clear_error_not_a_hang(hub_factory, media):
    hub = await hub_factory(media_dirs=[media["movie"].parent], extra=EXTRA + "  video_encoder: no_such_encoder\n")
    await hub.library.scan()
    items, _ = await hub.library.list_items(text="Old.Film", limit=1)
    plan = await hub.playback.prepare(items[0]["id"], profile="chromecast")
    host, port = hub.http.bound_address()
    folder = f"http://{host}:{port}" + plan.url.rsplit("/", 1)[0]
    async with aiohttp.ClientSession() as http:
        status, _, body = await asyncio.wait_for(get(http, folder + "/segments/0.ts"), 30)
    assert status == 500
    assert "no_such_encoder" in body.decode()
    session = hub.playback.get_session(plan.session_id)
    assert session.state == "error" and "no_such_encoder" in session.error
    assert ffmpeg.running() == []
