"""The playback decision on real files made by ffmpeg and probed by ffprobe: direct play, direct
stream and transcode for the built-in device profiles, with the reasons given; subtitles
(WebVTT sidecar, burn-in of a real PGS stream); profiles from YAML."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import aiohttp
import pytest

from omnimedia.core.bootstrap import prepare
from omnimedia.core.library.probe import probe
from omnimedia.core.playback.config import PLAYBACK_SCHEMA
from omnimedia.core.playback.decision import PlaybackError, container_of, decide, media_type_for_decision
from omnimedia.core.playback.profiles import (
    BUILTIN_PROFILES,
    ProfileError,
    chromecast_profile_name,
    load_profiles,
)

from .conftest import minimal_config, write_config
from .mediagen import make_pgs_sup

DESKTOP = BUILTIN_PROFILES["desktop_browser"]
CHROMECAST = BUILTIN_PROFILES["chromecast"]
CHROMECAST_4K = BUILTIN_PROFILES["chromecast_4k"]
DLNA = BUILTIN_PROFILES["dlna_generic"]


def ffmpeg(*args: str) -> None:
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)}: {proc.stderr}"


def video_src(size: str = "320x240", duration: float = 1.0) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=10:duration={duration}"]


def audio_src(channels: int = 2, duration: float = 1.0, freq: int = 440) -> list[str]:
    layout = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}[channels]
    tone = "|".join([f"sin({freq}*2*PI*t)"] * channels)
    return ["-f", "lavfi", "-i", f"aevalsrc={tone}:c={layout}:s=48000:d={duration}"]


X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    """Every file the decisions are checked on, made once for the module."""
    d = tmp_path_factory.mktemp("decision_media")
    srt = d / "sub.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,900\nHello\n", encoding="utf-8")
    files = {
        "h264_aac.mp4": [*video_src(), *audio_src(), *X264, "-c:a", "aac"],
        "h264_aac.mkv": [*video_src(), *audio_src(), *X264, "-c:a", "aac"],
        "h264_ac3.mkv": [*video_src(), *audio_src(), *X264, "-c:a", "ac3"],
        "hevc_aac.mkv": [*video_src(), *audio_src(), "-c:v", "libx265", "-preset", "ultrafast",
                         "-x265-params", "log-level=error", "-pix_fmt", "yuv420p", "-c:a", "aac"],
        "h264_4k_l51.mp4": [*video_src("3840x2160", 0.2), *audio_src(duration=0.2), *X264,
                            "-level:v", "5.1", "-c:a", "aac"],
        "h264_high10.mp4": ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=1", *audio_src(),
                            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-c:a", "aac"],
        "h264_aac51.mp4": [*video_src(), *audio_src(channels=8), *X264, "-c:a", "aac"],
        "vp9_opus.webm": [*video_src(), *audio_src(), "-c:v", "libvpx-vp9", "-deadline", "realtime",
                          "-cpu-used", "8", "-b:v", "100k", "-c:a", "libopus"],
        "vp8_vorbis.webm": [*video_src(), *audio_src(), "-c:v", "libvpx", "-deadline", "realtime",
                            "-b:v", "100k", "-c:a", "libvorbis"],
        "tone.mp3": [*audio_src(), "-c:a", "libmp3lame"],
        "tone.flac": [*audio_src(), "-c:a", "flac"],
    }
    out = {}
    for name, args in files.items():
        ffmpeg(*args, str(d / name))
        out[name] = d / name
    # H.264 + AAC in Matroska with a SubRip track (stream 2).
    ffmpeg("-i", str(out["h264_aac.mkv"]), "-i", str(srt), "-map", "0", "-map", "1", "-c", "copy",
           "-c:s", "srt", str(d / "h264_aac_srt.mkv"))
    out["h264_aac_srt.mkv"] = d / "h264_aac_srt.mkv"
    # The same with a PGS track (stream 2).
    sup = make_pgs_sup(d / "sub.sup")
    ffmpeg("-i", str(out["h264_aac.mkv"]), "-i", str(sup), "-map", "0", "-map", "1", "-c", "copy",
           str(d / "h264_aac_pgs.mkv"))
    out["h264_aac_pgs.mkv"] = d / "h264_aac_pgs.mkv"
    # MP4 with two audio tracks: English (default, stream 1) and a second one (stream 2).
    ffmpeg(*video_src(), *audio_src(), "-f", "lavfi", "-i", "sine=frequency=880:duration=1",
           "-map", "0:v", "-map", "1:a", "-map", "2:a", *X264, "-c:a", "aac",
           "-disposition:a:0", "default", "-disposition:a:1", "0", str(d / "two_audio.mp4"))
    out["two_audio.mp4"] = d / "two_audio.mp4"
    out["sub.srt"] = srt
    return out


async def probed(path: Path) -> dict:
    return await probe(str(path))


async def test_h264_aac_mp4_direct_plays_everywhere(media):
    info = await probed(media["h264_aac.mp4"])
    assert container_of(info) == "mp4"
    # Without its file name (a probe passed around without it) the brand still says MP4.
    assert container_of({**info, "format": {**info["format"], "filename": "pipe:"}}) == "mp4"
    for profile in (DESKTOP, CHROMECAST, CHROMECAST_4K, DLNA):
        decision = decide(info, profile)
        assert decision.method == "direct_play", (profile.name, decision.reasons)
        assert decision.reasons == []
        assert (decision.protocol, decision.container, decision.video, decision.audio) == ("http", "mp4", "copy", "copy")
        assert (decision.video_stream, decision.audio_stream, decision.subtitles) == (0, 1, "none")
        assert (decision.width, decision.height) == (320, 240)
        assert decision.max_bitrate is None
        assert media_type_for_decision(decision) == "video/mp4"


async def test_h264_aac_mkv_on_desktop_is_remuxed(media):
    decision = decide(await probed(media["h264_aac.mkv"]), DESKTOP)
    assert decision.method == "direct_stream"
    assert decision.reasons == ["container mkv is not supported (supported: mp4, webm, ogg, mp3, flac, wav)"]
    assert (decision.protocol, decision.container, decision.video, decision.audio) == ("progressive", "mp4", "copy", "copy")
    assert media_type_for_decision(decision) == "video/mp4"


async def test_h264_ac3_mkv_on_desktop_copies_video_and_transcodes_audio(media):
    info = await probed(media["h264_ac3.mkv"])
    decision = decide(info, DESKTOP)
    assert decision.method == "transcode"
    assert (decision.video, decision.audio, decision.container) == ("copy", "aac", "mp4")
    assert decision.reasons[0].startswith("container mkv is not supported")
    assert decision.reasons[1].startswith("audio codec ac3 is not supported (supported: aac, mp3")
    assert len(decision.reasons) == 2
    # A DLNA TV takes Matroska with AC-3 as it is.
    assert decide(info, DLNA).method == "direct_play"


async def test_hevc_on_chromecast_is_transcoded_but_remuxed_on_a_4k_cast(media):
    info = await probed(media["hevc_aac.mkv"])
    decision = decide(info, CHROMECAST)
    assert decision.method == "transcode"
    assert (decision.video, decision.audio) == ("h264", "copy")
    assert (decision.protocol, decision.container) == ("hls", "mpegts")
    assert "video codec hevc is not supported (supported: h264, vp8)" in decision.reasons
    assert media_type_for_decision(decision) == "application/vnd.apple.mpegurl"
    assert decision.max_bitrate == CHROMECAST.max_bitrate  # the encoder must respect the device's limit

    decision = decide(info, CHROMECAST_4K)
    assert decision.method == "direct_stream", decision.reasons
    assert (decision.video, decision.audio, decision.container) == ("copy", "copy", "mpegts")
    assert decision.reasons == [
        "container mkv is not supported (supported: mp4, webm, mpegts, mp3, ogg, wav)"
    ]


async def test_4k_level_51_on_chromecast(media):
    info = await probed(media["h264_4k_l51.mp4"])
    decision = decide(info, CHROMECAST)
    assert decision.method == "transcode"
    assert (decision.video, decision.audio) == ("h264", "copy")
    assert "h264 level 5.1 is above the device's maximum 4.1" in decision.reasons
    assert "video is 3840x2160, larger than the device's 1920x1080; it is scaled to 1920x1080" in decision.reasons
    assert (decision.width, decision.height) == (1920, 1080)
    # The desktop browser has no level or size limit.
    assert decide(info, DESKTOP).method == "direct_play"


async def test_high10_profile(media):
    info = await probed(media["h264_high10.mp4"])
    decision = decide(info, CHROMECAST)
    assert decision.method == "transcode"
    assert decision.reasons == [
        "h264 profile High 10 is not supported (supported: high, main, baseline, constrained baseline)"
    ]
    assert (decision.video, decision.audio) == ("h264", "copy")


async def test_too_many_audio_channels(media):
    info = await probed(media["h264_aac51.mp4"])
    decision = decide(info, CHROMECAST)
    assert decision.method == "transcode"
    assert (decision.video, decision.audio) == ("copy", "aac")
    assert decision.reasons == ["audio has 8 channels, the device takes at most 6"]
    assert decide(info, DESKTOP).method == "direct_play"


async def test_client_bitrate_limit(media):
    info = await probed(media["h264_aac.mp4"])
    decision = decide(info, DESKTOP, max_bitrate=10_000)
    assert decision.method == "transcode"
    assert (decision.video, decision.audio, decision.max_bitrate) == ("h264", "copy", 10_000)
    assert len(decision.reasons) == 1
    assert "above the client's limit of 0.0 Mbit/s" in decision.reasons[0]
    # A generous limit changes nothing.
    assert decide(info, DESKTOP, max_bitrate=100_000_000).method == "direct_play"


async def test_webm(media):
    vp9 = await probed(media["vp9_opus.webm"])
    assert container_of(vp9) == "webm"
    assert decide(vp9, DESKTOP).method == "direct_play"
    assert decide(vp9, CHROMECAST_4K).method == "direct_play"
    decision = decide(vp9, CHROMECAST)
    assert (decision.method, decision.video, decision.audio) == ("transcode", "h264", "aac")
    # Opus is fine on a Chromecast, but not inside MPEG-TS, the container its HLS uses.
    assert "audio codec opus cannot be copied into mpegts" in decision.reasons

    vp8 = await probed(media["vp8_vorbis.webm"])
    assert decide(vp8, CHROMECAST).method == "direct_play"
    decision = decide(vp8, DLNA)
    assert (decision.method, decision.video, decision.audio, decision.container) == ("transcode", "h264", "aac", "mpegts")
    assert len(decision.reasons) == 3  # container, video codec, audio codec


async def test_a_supported_stream_that_cannot_be_copied_into_the_output_container(media):
    # A renderer that decodes VP9 but not WebM: the remux target (MPEG-TS) cannot hold VP9.
    profiles = load_profiles(PLAYBACK_SCHEMA({"device_profiles": [
        {"name": "tv", "extends": "dlna_generic", "video_codecs": ["h264", "vp9"], "audio_codecs": "aac, opus"},
    ]}))
    decision = decide(await probed(media["vp9_opus.webm"]), profiles["tv"])
    assert decision.method == "transcode"
    assert (decision.video, decision.audio) == ("h264", "aac")
    assert decision.reasons == [
        "container webm is not supported (supported: mp4, mpegts, mkv, mp3)",
        "video codec vp9 cannot be copied into mpegts",
        "audio codec opus cannot be copied into mpegts",
    ]


async def test_audio_files(media):
    mp3 = await probed(media["tone.mp3"])
    decision = decide(mp3, DESKTOP)
    assert (decision.method, decision.video, decision.audio, decision.video_stream) == ("direct_play", None, "copy", None)
    assert media_type_for_decision(decision) == "audio/mpeg"
    assert decide(mp3, DLNA).method == "direct_play"

    flac = await probed(media["tone.flac"])
    assert decide(flac, DESKTOP).method == "direct_play"
    decision = decide(flac, DLNA)
    assert (decision.method, decision.video, decision.audio, decision.container) == ("transcode", None, "aac", "mpegts")
    assert decision.reasons == [
        "container flac is not supported (supported: mp4, mpegts, mkv, mp3)",
        "audio codec flac is not supported (supported: aac, mp3, ac3)",
    ]


async def test_a_file_without_audio_or_video_is_refused(media):
    info = await probed(media["sub.srt"])  # ffprobe reads it: one subrip stream
    assert [s["codec_type"] for s in info["streams"]] == ["subtitle"]
    with pytest.raises(PlaybackError, match="no video or audio stream"):
        decide(info, DESKTOP)
    with pytest.raises(PlaybackError, match="no streams"):
        decide({"format": {}, "streams": []}, DESKTOP)


async def test_choosing_an_audio_track(media):
    info = await probed(media["two_audio.mp4"])
    assert decide(info, DESKTOP).audio_stream == 1
    assert decide(info, DESKTOP, audio_stream=1).method == "direct_play"
    decision = decide(info, DESKTOP, audio_stream=2)
    assert (decision.method, decision.audio_stream, decision.container) == ("direct_stream", 2, "mp4")
    assert decision.reasons == [
        "audio stream 2 is not the file's default audio track (stream 1), which a player of the file would pick"
    ]
    with pytest.raises(PlaybackError, match="no stream 7"):
        decide(info, DESKTOP, audio_stream=7)
    with pytest.raises(PlaybackError, match="stream 0 is video, not audio"):
        decide(info, DESKTOP, audio_stream=0)


async def test_text_subtitle_is_a_webvtt_sidecar(media):
    info = await probed(media["h264_aac_srt.mkv"])
    assert decide(info, DESKTOP).subtitles == "none"  # only the one asked for is delivered
    decision = decide(info, DESKTOP, subtitle_stream=2)
    assert (decision.method, decision.subtitles, decision.subtitle_stream) == ("direct_stream", "webvtt", 2)
    # A DLNA TV shows SubRip sidecars and plays the Matroska file as it is.
    decision = decide(info, DLNA, subtitle_stream=2)
    assert (decision.method, decision.subtitles) == ("direct_play", "webvtt")
    # A device that shows no subtitles at all gets it burnt in.
    bare = load_profiles({"device_profiles": [{"name": "bare", "extends": "desktop_browser", "subtitle_formats": []}]})
    decision = decide(info, bare["bare"], subtitle_stream=2)
    assert (decision.method, decision.subtitles, decision.video, decision.audio) == ("transcode", "burn_in", "h264", "copy")
    assert "the device shows no text subtitles; subtitle stream 2 (subrip) is burnt into the picture" in decision.reasons
    with pytest.raises(PlaybackError, match="stream 1 is audio, not subtitle"):
        decide(info, DESKTOP, subtitle_stream=1)


async def test_image_subtitle_requested_is_burnt_in(media):
    info = await probed(media["h264_aac_pgs.mkv"])
    assert info["streams"][2]["codec_name"] == "hdmv_pgs_subtitle"
    # Not asked for: it does not matter.
    assert decide(info, DLNA).method == "direct_play"
    decision = decide(info, DLNA, subtitle_stream=2)
    assert (decision.method, decision.subtitles, decision.subtitle_stream) == ("transcode", "burn_in", 2)
    assert (decision.video, decision.audio) == ("h264", "copy")
    assert decision.reasons == [
        "subtitle stream 2 is an image subtitle (hdmv_pgs_subtitle) the device cannot draw; it is burnt into the picture"
    ]
    # A player that draws PGS itself gets the file as it is.
    pgs = load_profiles({"device_profiles": [
        {"name": "player", "extends": "dlna_generic", "subtitle_formats": ["srt", "pgs"]}]})["player"]
    decision = decide(info, pgs, subtitle_stream=2)
    assert (decision.method, decision.subtitles) == ("direct_play", "embed")
    # The generated PGS stream is real: ffmpeg decodes and overlays it.
    ffmpeg("-i", str(media["h264_aac_pgs.mkv"]), "-filter_complex", "[0:v][0:s]overlay", "-frames:v", "2",
           "-f", "null", "-")


def test_load_profiles_merges_yaml():
    section = PLAYBACK_SCHEMA({"device_profiles": [
        {"name": "chromecast", "extends": "chromecast", "video_codecs": ["h264", "vp8", "vp9"]},
        {"name": "living_room", "extends": "my_tv", "max_bitrate": "8M"},
        {"name": "my_tv", "extends": "dlna_generic", "max_video_level": {"h264": 4.2}, "description": "LG"},
        {"name": "minimal", "containers": ["mp4"], "video_codecs": ["h264"], "audio_codecs": ["aac"]},
    ]})
    profiles = load_profiles(section)
    assert set(profiles) == {*BUILTIN_PROFILES, "living_room", "my_tv", "minimal"}
    assert profiles["chromecast"].video_codecs == ["h264", "vp8", "vp9"]
    assert profiles["chromecast"].max_video_level == {"h264": 41}  # the rest comes from the built-in
    assert BUILTIN_PROFILES["chromecast"].video_codecs == ["h264", "vp8"]  # built-ins untouched
    assert profiles["my_tv"].max_video_level == {"h264": 42} and profiles["my_tv"].dlna
    assert profiles["living_room"].max_bitrate == 8_000_000
    assert profiles["living_room"].max_video_level == {"h264": 42}  # extends a profile defined later
    assert profiles["minimal"].subtitle_formats == [] and not profiles["minimal"].dlna
    assert load_profiles({}) == BUILTIN_PROFILES

    with pytest.raises(ProfileError, match="'x': 'extends' names unknown profile 'nope'"):
        load_profiles({"device_profiles": [{"name": "x", "extends": "nope"}]})
    with pytest.raises(ProfileError, match=r"cycle \(a -> b -> a\)"):
        load_profiles({"device_profiles": [{"name": "a", "extends": "b"}, {"name": "b", "extends": "a"}]})


def test_chromecast_generation():
    assert chromecast_profile_name("Chromecast Ultra") == "chromecast_4k"
    assert chromecast_profile_name("Google TV Streamer") == "chromecast_4k"
    assert chromecast_profile_name("Chromecast") == "chromecast"
    assert chromecast_profile_name(None) == "chromecast"


@pytest.mark.parametrize(("entry", "message"), [
    ("{name: tv, contaners: [mp4]}", "unknown key 'playback -> device_profiles -> 0 -> contaners'"),
    ("{name: tv, max_bitrate: lots}", "expected a bitrate in bit/s such as 8000000 or 8M for "
                                       "'playback -> device_profiles -> 0 -> max_bitrate'"),
    ("{name: tv, streaming: rtsp}", "'playback -> device_profiles -> 0 -> streaming'"),
    ("{name: tv, subtitle_formats: [vtt, bogus]}", "'playback -> device_profiles -> 0 -> subtitle_formats -> 1'"),
    ("{containers: [mp4]}", "required key 'playback -> device_profiles -> 0 -> name' is missing"),
])
def test_bad_profile_yaml_names_the_key_and_line(tmp_path, entry, message):
    config = minimal_config(extra=f"playback:\n  device_profiles:\n    - {entry}\n")
    write_config(tmp_path, config)
    line = config.splitlines().index(f"    - {entry}") + 1
    _, _, errors = prepare(tmp_path, [])
    text = "\n".join(str(e) for e in errors)
    assert f"configuration.yaml, line {line}: {message}" in text or (
        f"configuration.yaml, line {line}: " in text and message in text
    ), text


async def test_decision_and_profiles_over_http(hub_factory, media, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    for name in ("h264_aac.mp4", "hevc_aac.mkv", "h264_aac_pgs.mkv"):
        os.link(media[name], library / name)
    (library / "broken.mkv").write_bytes(b"\x1a\x45\xdf\xa3 not really matroska" * 10)
    hub = await hub_factory(media_dirs=[library], extra=(
        "playback:\n  default_profile: chromecast\n  device_profiles:\n"
        "    - name: living_room_tv\n      extends: dlna_generic\n      max_bitrate: 8M\n"
    ))
    await hub.library.scan()
    items, _ = await hub.library.list_items(limit=10)
    ids = {Path(i["path"]).name: i["id"] for i in items}
    host, port = hub.http.bound_address()
    base = f"http://{host}:{port}"

    async def get(session, path, status=200):
        async with session.get(base + path) as resp:
            data = await resp.json()
            assert resp.status == status, (path, data)
            return data

    async with aiohttp.ClientSession() as session:
        data = await get(session, "/api/playback/profiles")
        assert data["default"] == "chromecast"
        profiles = {p["name"]: p for p in data["profiles"]}
        assert set(profiles) == {*BUILTIN_PROFILES, "living_room_tv"}
        assert profiles["living_room_tv"]["max_bitrate"] == 8_000_000 and profiles["living_room_tv"]["dlna"]
        assert profiles["chromecast"]["max_video_level"] == {"h264": 41}

        # The default profile (chromecast) cannot take HEVC.
        data = await get(session, f"/api/items/{ids['hevc_aac.mkv']}/decision")
        assert data["item_id"] == ids["hevc_aac.mkv"]
        assert data["decision"]["method"] == "transcode" and data["decision"]["profile"] == "chromecast"
        assert "video codec hevc is not supported (supported: h264, vp8)" in data["decision"]["reasons"]
        assert (data["mime_type"], data["stream_url"]) == ("application/vnd.apple.mpegurl", None)

        data = await get(session, f"/api/items/{ids['h264_aac.mp4']}/decision?profile=desktop_browser")
        assert (data["decision"]["method"], data["decision"]["reasons"]) == ("direct_play", [])
        assert (data["mime_type"], data["stream_url"]) == ("video/mp4", f"/api/stream/{ids['h264_aac.mp4']}")

        data = await get(session, f"/api/items/{ids['h264_aac.mp4']}/decision?profile=desktop_browser&max_bitrate=1000")
        assert (data["decision"]["method"], data["decision"]["max_bitrate"]) == ("transcode", 1000)

        pgs = ids["h264_aac_pgs.mkv"]
        data = await get(session, f"/api/items/{pgs}/decision?profile=living_room_tv&subtitle_stream=2")
        assert (data["decision"]["method"], data["decision"]["subtitles"]) == ("transcode", "burn_in")
        assert data["decision"]["profile"] == "living_room_tv"

        error = await get(session, f"/api/items/{pgs}/decision?profile=nope", 400)
        assert "unknown device profile 'nope'" in error["error"] and "living_room_tv" in error["error"]
        error = await get(session, f"/api/items/{pgs}/decision?audio_stream=9", 422)
        assert error["error"] == f"media item {pgs} cannot be played: the file has no stream 9 (streams: 0, 1, 2)"
        error = await get(session, f"/api/items/{pgs}/decision?subtitle_stream=abc", 400)
        assert "subtitle_stream" in error["error"]
        error = await get(session, f"/api/items/{ids['broken.mkv']}/decision", 422)
        assert error["error"].startswith(f"cannot read media item {ids['broken.mkv']}: corrupt or unsupported file")
        error = await get(session, "/api/items/99999/decision", 404)
        assert "no media item with id 99999" in error["error"]
        (library / "hevc_aac.mkv").unlink()
        error = await get(session, f"/api/items/{ids['hevc_aac.mkv']}/decision", 404)
        assert "is missing" in error["error"]

        document = await get(session, "/api/openapi.json")
        for path in ("/api/playback/profiles", "/api/items/{id}/decision", "/api/stream/position",
                     "/api/items/{id}/position", "/api/items/{id}/watched", "/api/playback/continue"):
            assert path in document["paths"], path
