"""The playback decision: direct play, direct stream (remux) or transcode — and why.

:func:`decide` compares an item's streams (ffprobe JSON, as returned by
:func:`omnimedia.core.library.probe.probe`) with a :class:`~.types.DeviceProfile`:

- **direct play** when the container, the codecs, the video profile and level, the picture size,
  the bitrate and the audio channels all fit, the chosen audio track is the one a player picks by
  itself, and the chosen subtitle (if any) can be shown without touching the file;
- **direct stream** (remux into the profile's ``transcode_container``, streams copied) when only
  the container is wrong, or the audio track asked for is not the file's default one (players of
  a direct-played file always take the default track);
- **transcode** otherwise, re-encoding only the stream that does not fit: a video that fits is
  copied while its AC-3 audio is re-encoded, and the other way round. A copied stream must also
  fit the output container (VP8 cannot go into MP4 or MPEG-TS); if it cannot, it is re-encoded.

Every limit that blocks a better method adds one sentence to ``Decision.reasons``.

Subtitles: a text subtitle (SubRip, ASS/SSA, mov_text, WebVTT) is delivered as a sidecar
(``webvtt``: the hub converts it to WebVTT, or SubRip for devices that only list ``srt``) when the
device shows sidecars (``vtt`` or ``srt`` in its ``subtitle_formats``); an image subtitle (PGS,
DVD, DVB) is kept in the stream (``embed``) when the device lists its format, and otherwise burnt
into the picture (``burn_in``) — which forces a video transcode. Burn-in is chosen only for the
subtitle that was asked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..library.probe import container_name
from .errors import NotPlayable, PlaybackError
from .types import Decision, DeviceProfile

__all__ = ["NotPlayable", "PlaybackError", "decide", "media_type_for_decision", "container_of"]


#: ffprobe ``codec_name`` of text subtitles → the name used in ``subtitle_formats``.
TEXT_SUBTITLE_CODECS = {
    "subrip": "srt",
    "srt": "srt",
    "ass": "ass",
    "ssa": "ass",
    "mov_text": "mov_text",
    "webvtt": "vtt",
    "text": "srt",
}
#: ffprobe ``codec_name`` of image (bitmap) subtitles → the name used in ``subtitle_formats``.
IMAGE_SUBTITLE_CODECS = {
    "hdmv_pgs_subtitle": "pgs",
    "dvd_subtitle": "dvdsub",
    "dvb_subtitle": "dvbsub",
    "xsub": "xsub",
}

#: Streams each output container takes as a copy (ffmpeg 5.1 muxers, and only what players of
#: that container decode: FLAC in MP4 is "experimental" in ffmpeg 5.1, Vorbis in MP4 is written
#: by ffmpeg but played by nobody, VP8 has no MP4/MPEG-TS mapping). ``None``: anything.
_COPYABLE: dict[str, dict[str, frozenset[str]] | None] = {
    "mp4": {
        "video": frozenset({"h264", "hevc", "av1", "vp9", "mpeg4"}),
        "audio": frozenset({"aac", "mp3", "ac3", "eac3", "opus", "alac"}),
        "subtitle": frozenset({"mov_text"}),
    },
    "mpegts": {
        "video": frozenset({"h264", "hevc", "mpeg2video", "mpeg1video"}),
        "audio": frozenset({"aac", "mp3", "mp2", "ac3", "eac3"}),
        "subtitle": frozenset({"dvbsub"}),
    },
    "webm": {
        "video": frozenset({"vp8", "vp9", "av1"}),
        "audio": frozenset({"opus", "vorbis"}),
        "subtitle": frozenset({"vtt"}),
    },
    "mkv": None,
}

#: Extensions / demuxer names → the container names profiles use.
_CONTAINER_ALIASES = {
    "matroska": "mkv",
    "mka": "mkv",
    "mk3d": "mkv",
    "m4v": "mp4",
    "m4a": "mp4",
    "m4b": "mp4",
    "3gp": "mp4",
    "ts": "mpegts",
    "m2ts": "mpegts",
    "mts": "mpegts",
    "oga": "ogg",
    "ogv": "ogg",
    "opus": "ogg",
}

_MEDIA_TYPES = {  # container → (with video, audio only); sources: IANA media types + de-facto x- types
    "mp4": ("video/mp4", "audio/mp4"),
    "webm": ("video/webm", "audio/webm"),
    "mkv": ("video/x-matroska", "audio/x-matroska"),
    "mpegts": ("video/mp2t", "audio/mp2t"),
    "ogg": ("video/ogg", "audio/ogg"),
    "mov": ("video/quicktime", "video/quicktime"),
    "avi": ("video/x-msvideo", "video/x-msvideo"),
    "mp3": ("audio/mpeg", "audio/mpeg"),
    "flac": ("audio/flac", "audio/flac"),
    "wav": ("audio/wav", "audio/wav"),
    "aac": ("audio/aac", "audio/aac"),
}
HLS_MEDIA_TYPE = "application/vnd.apple.mpegurl"  # RFC 8216 §4


def container_of(probe: Mapping[str, Any]) -> str | None:
    """The container name profiles use (``mp4``, ``mkv``, ``webm``, ``mpegts``, ``mov``,
    ``mp3`` …) for an ffprobe result: ffprobe's demuxer list narrowed by the file's extension
    (``format.filename``), then aliases folded (``matroska``/``mka`` → ``mkv``, ``m4v``/``m4a``
    → ``mp4``, ``ts``/``m2ts`` → ``mpegts``); an ISO media file without a telling extension is
    ``mp4`` unless its major brand is QuickTime's. ``None`` when ffprobe named no format."""
    fmt = probe.get("format") or {}
    filename = str(fmt.get("filename") or "")
    name = container_name(fmt.get("format_name"), filename)
    if name is None:
        return None
    name = name.lower()
    if name == "mov" and not filename.lower().endswith((".mov", ".qt")):
        # No telling extension: ISO base media files name their brand (isom, mp42, M4V …);
        # only "qt  " is QuickTime proper.
        brand = str((fmt.get("tags") or {}).get("major_brand") or "").strip().lower()
        name = "mov" if brand == "qt" else "mp4"
    return _CONTAINER_ALIASES.get(name, name)


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _is_default(stream: Mapping[str, Any]) -> bool:
    return bool((stream.get("disposition") or {}).get("default"))


def _main_video(streams: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The first real video stream (cover art — ``attached_pic`` — does not count)."""
    videos = [
        s for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    return next((s for s in videos if _is_default(s)), videos[0] if videos else None)


def _default_audio(streams: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The audio track a player picks by itself: the first marked default, else the first."""
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    return next((s for s in audios if _is_default(s)), audios[0] if audios else None)


def _stream(by_index: dict[Any, Mapping[str, Any]], index: int, kind: str) -> Mapping[str, Any]:
    stream = by_index.get(index)
    if stream is None:
        known = ", ".join(str(i) for i in sorted(k for k in by_index if isinstance(k, int))) or "none"
        raise NotPlayable(f"the file has no stream {index} (streams: {known})")
    if stream.get("codec_type") != kind:
        raise NotPlayable(f"stream {index} is {stream.get('codec_type') or 'unknown'}, not {kind}")
    return stream


def _mbit(bps: float) -> str:
    return f"{bps / 1_000_000:.1f} Mbit/s"


def _level_text(codec: str, level: int) -> str:
    if codec == "h264":
        return f"{level / 10:g}"
    if codec == "hevc":
        return f"{level / 30:g}"
    return str(level)


def _bitrate(probe: Mapping[str, Any]) -> float | None:
    fmt = probe.get("format") or {}
    rate = _num(fmt.get("bit_rate"))
    if rate:
        return rate
    size, duration = _num(fmt.get("size")), _num(fmt.get("duration"))
    return size * 8 / duration if size and duration else None


def _fit(width: int, height: int, max_w: int | None, max_h: int | None) -> tuple[int, int]:
    """Largest even size with the same aspect ratio inside ``max_w`` x ``max_h``."""
    scale = min(max_w / width if max_w else 1.0, max_h / height if max_h else 1.0, 1.0)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def _check_video(video: Mapping[str, Any], profile: DeviceProfile) -> list[str]:
    reasons: list[str] = []
    codec = str(video.get("codec_name") or "unknown")
    if codec not in profile.video_codecs:
        supported = ", ".join(profile.video_codecs) or "none"
        return [f"video codec {codec} is not supported (supported: {supported})"]
    allowed_profiles = profile.video_profiles.get(codec)
    vprofile = str(video.get("profile") or "").strip().lower()
    if allowed_profiles and vprofile and vprofile != "unknown" and vprofile not in allowed_profiles:
        reasons.append(
            f"{codec} profile {video.get('profile')} is not supported (supported: {', '.join(allowed_profiles)})"
        )
    max_level = profile.max_video_level.get(codec)
    level = video.get("level")
    if max_level is not None and isinstance(level, int) and level > 0 and level > max_level:
        reasons.append(
            f"{codec} level {_level_text(codec, level)} is above the device's maximum {_level_text(codec, max_level)}"
        )
    return reasons


def _size_reason(video: Mapping[str, Any], profile: DeviceProfile) -> tuple[str | None, int | None, int | None]:
    width, height = video.get("width"), video.get("height")
    if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        return None, None, None
    too_wide = profile.max_width is not None and width > profile.max_width
    too_high = profile.max_height is not None and height > profile.max_height
    if not (too_wide or too_high):
        return None, width, height
    limit = f"{profile.max_width or '∞'}x{profile.max_height or '∞'}"
    out_w, out_h = _fit(width, height, profile.max_width, profile.max_height)
    return f"video is {width}x{height}, larger than the device's {limit}; it is scaled to {out_w}x{out_h}", out_w, out_h


def _check_audio(audio: Mapping[str, Any], profile: DeviceProfile) -> list[str]:
    codec = str(audio.get("codec_name") or "unknown")
    reasons = []
    if codec not in profile.audio_codecs:
        supported = ", ".join(profile.audio_codecs) or "none"
        reasons.append(f"audio codec {codec} is not supported (supported: {supported})")
    channels = audio.get("channels")
    if profile.max_audio_channels is not None and isinstance(channels, int) and channels > profile.max_audio_channels:
        reasons.append(f"audio has {channels} channels, the device takes at most {profile.max_audio_channels}")
    return reasons


def _copyable(container: str, kind: str, codec: str) -> bool:
    table = _COPYABLE.get(container)
    return table is None or codec in table[kind]


def decide(
    probe: Mapping[str, Any],
    profile: DeviceProfile,
    *,
    audio_stream: int | None = None,
    subtitle_stream: int | None = None,
    max_bitrate: int | None = None,
) -> Decision:
    """Decide how to play the file described by ``probe`` on ``profile``.

    ``probe``: ffprobe JSON ``{"format": {...}, "streams": [...]}``. ``audio_stream`` /
    ``subtitle_stream``: ffprobe stream indexes the user picked (``None``: the file's default
    audio track, no subtitle). ``max_bitrate``: a client limit in bit/s (e.g. a slow network),
    applied together with the profile's own ``max_bitrate`` (the lower one wins).

    Returns a :class:`~.types.Decision`; its ``max_bitrate`` is set only when transcoding under a
    limit, ``width``/``height`` are the picture size sent (scaled down when too big).
    Raises :class:`~.errors.NotPlayable` when nothing can be played (see there)."""
    streams = [s for s in (probe.get("streams") or []) if isinstance(s, Mapping)]
    if not streams:
        raise NotPlayable("the file has no streams (not a media file, or a corrupt one)")
    by_index = {s.get("index"): s for s in streams}
    video = _main_video(streams)
    default_audio = _default_audio(streams)
    audio = _stream(by_index, audio_stream, "audio") if audio_stream is not None else default_audio
    if video is None and audio is None:
        kinds = ", ".join(sorted({str(s.get("codec_type")) for s in streams}))
        raise NotPlayable(f"the file has no video or audio stream to play (only: {kinds})")
    subtitle = _stream(by_index, subtitle_stream, "subtitle") if subtitle_stream is not None else None

    container = container_of(probe)
    remux_reasons: list[str] = []
    video_reasons: list[str] = []
    audio_reasons: list[str] = []
    sub_reasons: list[str] = []

    # Container.
    if container not in profile.containers:
        supported = ", ".join(profile.containers) or "none"
        remux_reasons.append(f"container {container or 'unknown'} is not supported (supported: {supported})")

    # Video: codec, profile, level, size.
    out_w = out_h = None
    if video is not None:
        video_reasons += _check_video(video, profile)
        size_reason, out_w, out_h = _size_reason(video, profile)
        if size_reason:
            video_reasons.append(size_reason)

    # Audio: codec, channels, and whether a player would pick this track by itself.
    if audio is not None:
        audio_reasons += _check_audio(audio, profile)
        if default_audio is not None and audio.get("index") != default_audio.get("index"):
            remux_reasons.append(
                f"audio stream {audio.get('index')} is not the file's default audio track "
                f"(stream {default_audio.get('index')}), which a player of the file would pick"
            )

    # Bitrate: the whole stream against the lower of the device's and the client's limit.
    limits = [b for b in (profile.max_bitrate, max_bitrate) if b]
    limit = min(limits) if limits else None
    bitrate = _bitrate(probe)
    if limit is not None and bitrate is not None and bitrate > limit:
        who = "the client's" if max_bitrate is not None and limit == max_bitrate else "the device's"
        sentence = f"bitrate {_mbit(bitrate)} is above {who} limit of {_mbit(limit)}"
        (video_reasons if video is not None else audio_reasons).append(sentence)

    # Subtitles.
    delivery = "none"
    burn = False
    if subtitle is not None:
        codec = str(subtitle.get("codec_name") or "unknown")
        index = subtitle.get("index")
        sidecar = any(f in profile.subtitle_formats for f in ("vtt", "srt"))
        if codec in TEXT_SUBTITLE_CODECS:
            if sidecar:
                delivery = "webvtt"
            elif TEXT_SUBTITLE_CODECS[codec] in profile.subtitle_formats:
                delivery = "embed"
            else:
                burn = True
                sub_reasons.append(
                    f"the device shows no text subtitles; subtitle stream {index} ({codec}) is burnt into the picture"
                )
        elif codec in IMAGE_SUBTITLE_CODECS:
            if IMAGE_SUBTITLE_CODECS[codec] in profile.subtitle_formats:
                delivery = "embed"
            else:
                burn = True
                sub_reasons.append(
                    f"subtitle stream {index} is an image subtitle ({codec}) the device cannot draw; "
                    "it is burnt into the picture"
                )
        else:
            raise NotPlayable(f"subtitle stream {index} has codec {codec}, which the hub cannot show")
        if burn:
            if video is None:
                raise NotPlayable(f"subtitle stream {index} cannot be burnt in: the file has no video")
            delivery = "burn_in"

    transcode_video = bool(video_reasons) or burn
    transcode_audio = bool(audio_reasons)
    if transcode_video or transcode_audio:
        method = "transcode"
    elif remux_reasons:
        method = "direct_stream"
    else:
        method = "direct_play"

    out_container = container if method == "direct_play" else profile.transcode_container
    if method != "direct_play":
        # A stream that is copied must fit the output container.
        if video is not None and not transcode_video:
            vcodec = str(video.get("codec_name"))
            if not _copyable(out_container, "video", vcodec):
                transcode_video = True
                video_reasons.append(f"video codec {vcodec} cannot be copied into {out_container}")
        if audio is not None and not transcode_audio:
            acodec = str(audio.get("codec_name"))
            if not _copyable(out_container, "audio", acodec):
                transcode_audio = True
                audio_reasons.append(f"audio codec {acodec} cannot be copied into {out_container}")
        if delivery == "embed":
            sub_format = TEXT_SUBTITLE_CODECS.get(str(subtitle.get("codec_name"))) or IMAGE_SUBTITLE_CODECS.get(
                str(subtitle.get("codec_name")), ""
            )
            if not _copyable(out_container, "subtitle", sub_format) and not (
                out_container == "mp4" and sub_format in TEXT_SUBTITLE_CODECS.values()
                and "mov_text" in profile.subtitle_formats
            ):
                if video is None:
                    raise NotPlayable(
                        f"subtitle stream {subtitle.get('index')} cannot be carried in {out_container}"
                    )
                delivery = "burn_in"
                transcode_video = True
                sub_reasons.append(
                    f"subtitle stream {subtitle.get('index')} ({subtitle.get('codec_name')}) cannot be carried "
                    f"in {out_container}; it is burnt into the picture"
                )
        if transcode_video or transcode_audio:
            method = "transcode"

    return Decision(
        method=method,  # type: ignore[arg-type]
        profile=profile.name,
        reasons=[*remux_reasons, *video_reasons, *audio_reasons, *sub_reasons],
        protocol="http" if method == "direct_play" else profile.streaming,
        container=out_container,
        video=None if video is None else (profile.transcode_video_codec if transcode_video else "copy"),
        audio=None if audio is None else (profile.transcode_audio_codec if transcode_audio else "copy"),
        video_stream=None if video is None else video.get("index"),
        audio_stream=None if audio is None else audio.get("index"),
        subtitle_stream=None if subtitle is None else subtitle.get("index"),
        subtitles=delivery,  # type: ignore[arg-type]
        max_bitrate=limit if method == "transcode" else None,
        width=out_w,
        height=out_h,
    )


def media_type_for_decision(decision: Decision) -> str:
    """The ``Content-Type`` of what the client receives for ``decision``: the HLS playlist type
    (RFC 8216) for ``hls``, else the container's media type (``video/mp4``, ``audio/mp4`` when
    there is no video, ``video/x-matroska``, ``video/mp2t`` …; ``application/octet-stream`` for
    an unknown container)."""
    if decision.protocol == "hls":
        return HLS_MEDIA_TYPE
    types = _MEDIA_TYPES.get(decision.container or "")
    if types is None:
        return "application/octet-stream"
    return types[0] if decision.video is not None else types[1]
