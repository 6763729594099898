"""Device profiles: what each kind of client plays natively.

Three profiles are built in (:data:`BUILTIN_PROFILES`), each written from the vendor's own
list of supported media, never from a guess:

- ``desktop_browser`` — Chromium/Chrome (and Edge, which shares its media stack).
- ``chromecast`` — every Google Cast video device, from the first Chromecast on; ``chromecast_4k``
  for the Chromecast Ultra and Chromecast with Google TV (4K); :func:`chromecast_profile_name`
  picks one from the model name a Cast device announces.
- ``dlna_generic`` — a DLNA Digital Media Renderer of the common TV kind.

``playback: device_profiles:`` in configuration.yaml adds profiles or replaces built-in ones
(a profile with a built-in's name replaces it); ``extends: <name>`` starts from another profile
and changes only the keys given. :func:`load_profiles` merges them.

Names used in the lists are ffprobe's: container names as :func:`container_of` reports them
(``mp4``, ``mkv``, ``webm``, ``mpegts``, ``mov``, ``mp3``, ``flac``, ``ogg``, ``wav`` …), codec
names as ffprobe's ``codec_name`` (``h264``, ``hevc``, ``vp9``, ``aac``, ``ac3`` …), profile names
lower-cased from ffprobe's ``profile`` (``high``, ``main``, ``main 10``, ``constrained
baseline``), levels as ffprobe's ``level`` integer (H.264: level × 10, so 41 is 4.1; HEVC: level
× 30, so 153 is 5.1; VP9/AV1: not checked unless a profile lists them). Subtitle formats:
``vtt``, ``srt``, ``ass``, ``ttml``, ``mov_text``, ``pgs``, ``dvdsub``, ``dvbsub``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from .types import DeviceProfile


class ProfileError(ValueError):
    """A ``device_profiles`` entry that cannot be built (unknown ``extends`` target, a cycle)."""


_H264_PROFILES_8BIT = ["high", "main", "baseline", "constrained baseline"]

#: Chromium's media stack. Source: "Audio/Video" on chromium.org
#: (https://www.chromium.org/audio-video/) and Chrome's "supported media formats" page
#: (developer.chrome.com): containers MP4, WebM, Ogg, WAV, MP3, FLAC; video H.264 (8-bit,
#: 4:2:0 — Chrome's software decoder does not take High 10), VP8, VP9, AV1; audio AAC, MP3,
#: Opus, FLAC, Vorbis, PCM. HEVC only with platform hardware (Chrome ≥ 107), so not listed.
#: Matroska is not a supported container (the WebM demuxer refuses most of it). Text tracks:
#: WebVTT only (<track>). Remux/transcode: progressive fragmented MP4 (Media Source not needed).
DESKTOP_BROWSER = DeviceProfile(
    name="desktop_browser",
    description="Chromium-based desktop browser (Chrome, Edge, Chromium)",
    containers=["mp4", "webm", "ogg", "mp3", "flac", "wav"],
    video_codecs=["h264", "vp8", "vp9", "av1"],
    audio_codecs=["aac", "mp3", "opus", "flac", "vorbis", "pcm_s16le", "pcm_u8", "pcm_f32le"],
    video_profiles={"h264": list(_H264_PROFILES_8BIT)},
    max_audio_channels=8,
    subtitle_formats=["vtt"],
    streaming="progressive",
    transcode_video_codec="h264",
    transcode_audio_codec="aac",
    transcode_container="mp4",
)

#: Every Google Cast video device. Source: "Supported Media for Google Cast"
#: (https://developers.google.com/cast/docs/media): containers MP2T, MP3, MP4, OGG, WAV, WebM;
#: Chromecast 1st/2nd gen H.264 High Profile up to level 4.1 (1080p/30), VP8 — the oldest
#: generation sets the limits here, so the profile holds for every device (3rd gen has 4.2,
#: Ultra/Google TV add HEVC and VP9: see ``chromecast_4k``). Audio: HE-AAC, LC-AAC, MP3, Opus,
#: Vorbis, FLAC, WAV (LPCM). Text tracks: WebVTT, TTML (and CEA-608 in the stream). The Default
#: Media Receiver plays HLS with MPEG-TS segments without extra set-up (``hlsSegmentFormat``
#: defaults to TS), so remux/transcode produce HLS in MPEG-TS. 20 Mbit/s: the first Chromecast's
#: practical Wi-Fi ceiling (802.11n, 2.4 GHz), also what other media servers assume for it.
CHROMECAST = DeviceProfile(
    name="chromecast",
    description="Google Cast device of any generation (Chromecast 1st gen limits)",
    containers=["mp4", "webm", "mpegts", "mp3", "ogg", "wav"],
    video_codecs=["h264", "vp8"],
    audio_codecs=["aac", "mp3", "opus", "flac", "vorbis", "pcm_s16le"],
    video_profiles={"h264": list(_H264_PROFILES_8BIT)},
    max_video_level={"h264": 41},
    max_width=1920,
    max_height=1080,
    max_audio_channels=6,
    max_bitrate=20_000_000,
    subtitle_formats=["vtt", "ttml"],
    streaming="hls",
    transcode_video_codec="h264",
    transcode_audio_codec="aac",
    transcode_container="mpegts",
)

#: Chromecast Ultra and Chromecast with Google TV (4K). Source: the same Google page: H.264
#: High up to level 4.2 (Ultra; Google TV has 5.1 but only 4K/30, so 4.2 is the common part),
#: HEVC Main and Main 10 up to level 5.1, VP9 Profile 0 and 2 up to level 5.1, 3840x2160.
#: 40 Mbit/s: Ultra's wired/5 GHz budget other media servers assume.
CHROMECAST_4K = DeviceProfile(
    name="chromecast_4k",
    description="Chromecast Ultra / Chromecast with Google TV 4K / Google TV Streamer",
    containers=["mp4", "webm", "mpegts", "mp3", "ogg", "wav"],
    video_codecs=["h264", "hevc", "vp8", "vp9"],
    audio_codecs=["aac", "mp3", "opus", "flac", "vorbis", "pcm_s16le"],
    video_profiles={"h264": list(_H264_PROFILES_8BIT), "hevc": ["main", "main 10"]},
    max_video_level={"h264": 42, "hevc": 153},
    max_width=3840,
    max_height=2160,
    max_audio_channels=6,
    max_bitrate=40_000_000,
    subtitle_formats=["vtt", "ttml"],
    streaming="hls",
    transcode_video_codec="h264",
    transcode_audio_codec="aac",
    transcode_container="mpegts",
)

#: A common DLNA TV/renderer. Source: DLNA Media Format guidelines as renderers advertise them
#: in ConnectionManager ``GetProtocolInfo`` sink lists (H.264 in MP4 and MPEG-TS with AAC, AC-3
#: and MP3: ``AVC_MP4_*_AAC``, ``AVC_TS_*_AC3``, ``MP3``), plus Matroska, which nearly every
#: DLNA TV made since ~2011 lists (``video/x-matroska``) although DLNA never defined it. H.264 up
#: to High level 4.1 and 1080p (DLNA ``AVC_*_HD`` profiles). Subtitles: SubRip sidecars
#: (renderers fetch them via ``CaptionInfo.sec`` / DIDL ``res``). Remux/transcode: MPEG-TS over
#: plain HTTP (``transferMode.dlna.org: Streaming``), which renderers play without a length.
DLNA_GENERIC = DeviceProfile(
    name="dlna_generic",
    description="Generic DLNA media renderer (TV or set-top box)",
    containers=["mp4", "mpegts", "mkv", "mp3"],
    video_codecs=["h264"],
    audio_codecs=["aac", "mp3", "ac3"],
    video_profiles={"h264": list(_H264_PROFILES_8BIT)},
    max_video_level={"h264": 41},
    max_width=1920,
    max_height=1080,
    max_audio_channels=6,
    subtitle_formats=["srt"],
    streaming="progressive",
    transcode_video_codec="h264",
    transcode_audio_codec="aac",
    transcode_container="mpegts",
    dlna=True,
)

#: The built-in profiles by name.
BUILTIN_PROFILES: dict[str, DeviceProfile] = {
    p.name: p for p in (DESKTOP_BROWSER, CHROMECAST, CHROMECAST_4K, DLNA_GENERIC)
}

#: Cast model names (``CastInfo.model_name`` as pychromecast reports it) of 4K-capable devices.
_CHROMECAST_4K_MODELS = ("chromecast ultra", "google tv")


def chromecast_profile_name(model_name: str | None) -> str:
    """``chromecast_4k`` when the Cast model name (``CastInfo.model_name`` as pychromecast reports
    it) names a device Google lists with HEVC/VP9 in 4K ("Chromecast Ultra", "Google TV
    Streamer", "Chromecast with Google TV"), else the conservative ``chromecast`` — an unknown
    model gets the limits every generation meets."""
    name = (model_name or "").strip().lower()
    return "chromecast_4k" if any(m in name for m in _CHROMECAST_4K_MODELS) else "chromecast"


_FIELDS = {f.name for f in fields(DeviceProfile)}


def _merge(base: DeviceProfile | None, entry: Mapping[str, Any]) -> DeviceProfile:
    values: dict[str, Any] = copy.deepcopy(base.as_dict()) if base is not None else {}
    for key, value in entry.items():
        if key in _FIELDS:
            values[key] = copy.deepcopy(value)
    values["name"] = entry["name"]
    if base is not None and "description" not in entry:
        values["description"] = f"{base.description} (customised)" if base.description else ""
    return DeviceProfile(**values)


def load_profiles(config_section: Mapping[str, Any] | None) -> dict[str, DeviceProfile]:
    """The device profiles in effect: the built-in ones, then each ``device_profiles`` entry of
    the ``playback:`` section (``config_section``, already validated by
    :data:`~.config.DEVICE_PROFILE_SCHEMA`) in order.

    An entry named like an existing profile replaces it; ``extends: <name>`` copies that profile
    (built-in, or defined earlier or later in the list) and overrides only the keys given, while
    an entry without ``extends`` starts empty (it plays nothing it does not list). Returns
    ``{name: DeviceProfile}``. Raises :class:`ProfileError` naming the entry for an unknown
    ``extends`` target or an ``extends`` cycle."""
    entries = list((config_section or {}).get("device_profiles") or [])
    by_name: dict[str, Mapping[str, Any]] = {}
    for entry in entries:
        by_name[entry["name"]] = entry  # a later entry with the same name wins
    result: dict[str, DeviceProfile] = dict(BUILTIN_PROFILES)
    building: list[str] = []
    built: dict[str, DeviceProfile] = {}

    def build(name: str) -> DeviceProfile:
        if name in built:
            return built[name]
        if name in building:
            cycle = " -> ".join([*building[building.index(name):], name])
            raise ProfileError(f"device profile {name!r}: 'extends' forms a cycle ({cycle})")
        entry = by_name[name]
        building.append(name)
        parent_name = entry.get("extends")
        base: DeviceProfile | None = None
        if parent_name is not None:
            if parent_name == name:
                base = BUILTIN_PROFILES.get(name)  # "extends itself": refine the built-in
            elif parent_name in by_name:
                base = build(parent_name)
            else:
                base = BUILTIN_PROFILES.get(parent_name)
            if base is None:
                known = ", ".join(sorted({*BUILTIN_PROFILES, *by_name}))
                raise ProfileError(
                    f"device profile {name!r}: 'extends' names unknown profile {parent_name!r} (known: {known})"
                )
        building.pop()
        built[name] = _merge(base, entry)
        return built[name]

    for name in by_name:
        result[name] = build(name)
    return result
