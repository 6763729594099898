"""ffmpeg command lines for streaming: progressive fragmented MP4, HLS and WebVTT extraction.

:func:`stream_plan` turns an item's ffprobe JSON and a :class:`~.types.Decision` into a
:class:`StreamPlan` — which streams go out, copied or encoded to what, at which size, level and
bitrate — and the ``*_args`` functions turn a plan into the arguments after ``ffmpeg`` that
:class:`~omnimedia.core.ffmpeg.FfmpegProcess` runs. The commands are built with ffmpeg-python
(``ffmpeg.input`` / ``ffmpeg.output`` / ``compile()``), which writes the ``-filter_complex``
graph and its ``-map`` labels for burn-in and scaling.

Protocol details and their sources:

- Progressive MP4 for ``<video>``: ``-movflags frag_keyframe+empty_moov+default_base_moof``
  writes ``ftyp`` + a ``moov`` without samples and then ``moof``/``mdat`` fragments, so a player
  can start before the end is known (ISO/IEC 14496-12 §8.8; the flags are documented in
  ffmpeg-formats(1), "mov, mp4, ismv"). ``default_base_moof`` is what Media Source Extensions and
  Chromium's demuxer expect (ISO BMFF byte stream format, W3C MSE §3). ``delay_moov`` holds the
  ``moov`` back until the first fragment is cut: only then does ffmpeg know the video's first
  composition offset and write it as an edit list — without it every B-frame stream (copied or
  encoded) would show its pictures two frames late against the audio (measured with ffmpeg 5.1).
  ``-frag_duration`` 1 s cuts fragments at least every second (at keyframes or between them),
  so the first bytes do not wait for a whole group of pictures.
- H.264 for browsers and Cast: High profile, 4:2:0 8-bit (``yuv420p``) — what every H.264
  decoder in Chromium, Chromecast and TVs accepts; the level is the smallest of H.264 Table A-1
  whose frame size and macroblock rate fit the output (never below 3.0).
- HLS (RFC 8216): MPEG-TS segments with H.264 video and AAC/MP3/AC-3/E-AC-3 audio — what every
  HLS client, every TV and the Cast default receiver take (Cast ``HlsVideoSegmentFormat.MPEG2_TS``
  "supports AVC"). fMP4 segments (the only way Cast takes HEVC over HLS) are not made: with
  ffmpeg 5.1 the fMP4 segments of a run started mid-item (a seek by restart) carry a start time
  that does not continue the first run's (measured: the ``tfdt`` restarts near the offset given
  to the first run), so a restarted session would jump. Items whose streams cannot go into
  MPEG-TS as they are are sent to HLS devices as a progressive fragmented MP4 instead (see
  :mod:`.manager`). ``-output_ts_offset`` puts each run's timestamps where its segments sit in
  the whole item.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import ffmpeg

from .subtitles import IMAGE_SUBTITLE_CODECS, draw_text_subtitle, is_image_subtitle, overlay_image_subtitle
from .types import Decision, DeviceProfile

#: Encoders for ``Decision.video`` / ``Decision.audio`` codec names (``h264`` uses the
#: configured ``playback.video_encoder``).
VIDEO_ENCODERS = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "av1": "libaom-av1"}
AUDIO_ENCODERS = {"aac": "aac", "mp3": "libmp3lame", "opus": "libopus", "ac3": "ac3", "eac3": "eac3",
                  "flac": "flac", "vorbis": "libvorbis"}
#: Audio codecs MPEG-TS HLS segments carry (RFC 8216 §3.2, Apple's HLS authoring spec).
TS_AUDIO_CODECS = {"aac", "mp3", "ac3", "eac3"}
#: Video codecs sent in MPEG-TS HLS segments (H.264 only; see the module docstring).
TS_VIDEO_CODECS = {"h264"}
#: Keyframe interval of progressive transcodes, seconds.
PROGRESSIVE_KEYFRAME_INTERVAL = 2.0
#: Seconds added to every HLS timestamp (see :func:`hls_args`).
TIMELINE_PAD = 10.0
#: Longest fragment of a progressive fMP4, microseconds (``-frag_duration``).
FRAGMENT_DURATION_US = 1_000_000
#: CRF of software H.264/HEVC streaming encodes (x264's default quality).
CRF = 23
#: Audio bitrate per channel when encoding, bit/s.
AUDIO_BITRATE_PER_CHANNEL = 96_000
#: Video bitrate assumed when nothing says better: 0.1 bit per pixel per frame.
BITS_PER_PIXEL = 0.1

# H.264 Table A-1: (level_idc, MaxMBPS macroblocks/s, MaxFS macroblocks).
_H264_LEVELS = [
    (30, 40_500, 1_620), (31, 108_000, 3_600), (32, 216_000, 5_120), (40, 245_760, 8_192),
    (41, 245_760, 8_192), (42, 522_240, 8_704), (50, 589_824, 22_080), (51, 983_040, 36_864),
    (52, 2_073_600, 36_864), (60, 4_177_920, 139_264), (61, 8_355_840, 139_264), (62, 16_711_680, 139_264),
]
# ISO/IEC 14496-10 profile_idc and the constraint flags byte for RFC 6381 "avc1.PPCCLL".
_AVC_PROFILES = {
    "constrained baseline": (0x42, 0xE0), "baseline": (0x42, 0x00), "main": (0x4D, 0x40),
    "extended": (0x58, 0x00), "high": (0x64, 0x00), "high 10": (0x6E, 0x00), "high 4:2:2": (0x7A, 0x00),
}
_AUDIO_CODECS_RFC6381 = {"mp3": "mp4a.40.34", "ac3": "ac-3", "eac3": "ec-3", "opus": "Opus", "flac": "fLaC"}
_AAC_OBJECT_TYPES = {"lc": 2, "he-aac": 5, "he-aacv2": 29, "main": 1, "ltp": 4}


class NotStreamable(ValueError):
    """The item has nothing to stream (no audio and no video stream), or the decision names a
    stream the file does not have. The message says which."""


def _fps(stream: dict[str, Any]) -> float | None:
    for key in ("avg_frame_rate", "r_frame_rate"):
        try:
            rate = Fraction(stream.get(key) or "0/0")
        except (ValueError, ZeroDivisionError):
            continue
        if 0 < rate < 1000:
            return float(rate)
    return None


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def h264_level(width: int, height: int, fps: float | None) -> int:
    """The smallest H.264 ``level_idc`` (30 = 3.0 … 62) for ``width``×``height`` at ``fps``
    (Table A-1 of ITU-T H.264: frame size and macroblock rate). 4.0 is raised to 4.1, whose
    higher bitrate ceiling every 1080p decoder supports."""
    mbs = math.ceil(width / 16) * math.ceil(height / 16)
    mbps = mbs * (fps or 30.0)
    for level, max_mbps, max_fs in _H264_LEVELS:
        if mbs <= max_fs and mbps <= max_mbps:
            return 41 if level == 40 else level
    return _H264_LEVELS[-1][0]


def video_codec_string(codec: str | None, profile: str | None, level: int | None) -> str | None:
    """RFC 6381 ``CODECS`` value of a video stream (``avc1.640029``, ``hvc1.1.6.L120.B0``), or
    ``None`` when it cannot be told exactly enough."""
    if not codec or level is None or level <= 0:
        return None
    prof = (profile or "").lower()
    if codec == "h264" and prof in _AVC_PROFILES:
        idc, flags = _AVC_PROFILES[prof]
        return f"avc1.{idc:02X}{flags:02X}{level:02X}"
    if codec == "hevc" and prof in ("main", "main 10"):
        return f"hvc1.{1 if prof == 'main' else 2}.{6 if prof == 'main' else 4}.L{level}.B0"
    return None


def audio_codec_string(codec: str | None, profile: str | None = None) -> str | None:
    """RFC 6381 ``CODECS`` value of an audio stream (``mp4a.40.2`` for AAC-LC…), or ``None``."""
    if codec == "aac":
        kind = _AAC_OBJECT_TYPES.get((profile or "lc").lower())
        return f"mp4a.40.{kind}" if kind else None
    return _AUDIO_CODECS_RFC6381.get(codec or "")


@dataclass(slots=True)
class StreamPlan:
    """What one streaming ffmpeg reads and writes.

    ``path`` of the source; ``video`` / ``audio`` / ``subtitle`` the chosen ffprobe stream
    dicts (``None``: none); ``video_codec`` / ``audio_codec`` the codec sent (ffprobe names);
    ``video_encoder`` / ``audio_encoder`` the ffmpeg encoder, ``None`` for stream copy;
    ``width`` / ``height`` / ``fps`` / ``level`` of the video sent; ``burn_in`` when the subtitle
    is drawn into the picture; ``embed_subtitle`` when it travels as ``mov_text`` in the MP4;
    ``max_video_bitrate`` (bit/s) the encoder's cap; ``audio_channels`` / ``audio_bitrate``
    (bit/s) when encoding; ``duration`` (s) and ``source_start`` (the container's start time,
    s); ``bandwidth`` (bit/s, peak estimate for HLS ``BANDWIDTH``); ``codecs`` (RFC 6381 list or
    ``None``); ``segment_format`` for HLS: always ``mpegts``; ``ts_compatible``: every stream
    sent can go into MPEG-TS HLS segments as it is (H.264; AAC, MP3, AC-3, E-AC-3)."""

    path: str
    video: dict[str, Any] | None
    audio: dict[str, Any] | None
    subtitle: dict[str, Any] | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    video_encoder: str | None = None
    audio_encoder: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    level: int | None = None
    burn_in: bool = False
    embed_subtitle: bool = False
    max_video_bitrate: int | None = None
    audio_channels: int | None = None
    audio_bitrate: int | None = None
    duration: float | None = None
    source_start: float = 0.0
    bandwidth: int = 0
    codecs: str | None = None
    segment_format: str = "mpegts"
    container: str = "mp4"
    deinterlace: bool = False
    subtitle_position: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ts_compatible(self) -> bool:
        return (self.video is None or self.video_codec in TS_VIDEO_CODECS) and (
            self.audio is None or self.audio_codec in TS_AUDIO_CODECS)

    @property
    def video_copy(self) -> bool:
        return self.video is not None and self.video_encoder is None

    @property
    def has_video(self) -> bool:
        return self.video is not None

    @property
    def mime_type(self) -> str:
        """Media type of a progressive stream: ``video/mp4`` (``audio/mp4`` without video) or
        ``video/mp2t``."""
        if self.container == "mpegts":
            return "video/mp2t"
        return "video/mp4" if self.video is not None else "audio/mp4"

    @property
    def extension(self) -> str:
        """File extension of a progressive stream: ``mp4`` or ``ts``."""
        return "ts" if self.container == "mpegts" else "mp4"

    def as_dict(self) -> dict[str, Any]:
        return {
            "video_stream": self.video.get("index") if self.video else None,
            "audio_stream": self.audio.get("index") if self.audio else None,
            "subtitle_stream": self.subtitle.get("index") if self.subtitle else None,
            "video_codec": self.video_codec, "audio_codec": self.audio_codec,
            "video_encoder": self.video_encoder, "audio_encoder": self.audio_encoder,
            "width": self.width, "height": self.height, "level": self.level, "burn_in": self.burn_in,
            "max_video_bitrate": self.max_video_bitrate, "bandwidth": self.bandwidth,
            "codecs": self.codecs, "segment_format": self.segment_format, "container": self.container,
        }


def _real_video(streams: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in streams if s.get("codec_type") == "video"
            and not (s.get("disposition") or {}).get("attached_pic")]


def _pick(streams: list[dict[str, Any]], index: int | None, kind: str, fallback: list[dict[str, Any]]) -> dict | None:
    if index is None:
        return fallback[0] if fallback else None
    for s in streams:
        if s.get("index") == index:
            if s.get("codec_type") != kind:
                raise NotStreamable(f"stream {index} is a {s.get('codec_type')} stream, not {kind}")
            return s
    raise NotStreamable(f"the file has no stream {index}")


def _fit(width: int, height: int, max_w: int | None, max_h: int | None) -> tuple[int, int]:
    """Scale ``width``×``height`` down (never up) to fit ``max_w``×``max_h``, even numbers."""
    scale = 1.0
    if max_w and width > max_w:
        scale = min(scale, max_w / width)
    if max_h and height > max_h:
        scale = min(scale, max_h / height)
    w, h = int(width * scale), int(height * scale)
    return max(2, w - w % 2), max(2, h - h % 2)


def stream_plan(
    info: dict[str, Any],
    path: str,
    decision: Decision,
    profile: DeviceProfile | None = None,
    *,
    video_encoder: str = "libx264",
    protocol: str = "progressive",
) -> StreamPlan:
    """Resolve ``decision`` against the file's ffprobe JSON ``info``.

    ``protocol`` ``progressive`` or ``hls`` (chooses the HLS segment format). A progressive
    stream is MPEG-TS when the decision's container is ``mpegts`` (DLNA renderers), else
    fragmented MP4. Burn-in forces a video encode even if the decision says ``copy``. Raises
    :class:`NotStreamable`."""
    streams = info.get("streams") or []
    fmt = info.get("format") or {}
    videos = _real_video(streams)
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    video = _pick(streams, decision.video_stream, "video", videos) if decision.video is not None else None
    audio = _pick(streams, decision.audio_stream, "audio", audios) if decision.audio is not None else None
    if video is None and audio is None:
        raise NotStreamable("the file has neither a video nor an audio stream to send")
    subtitle = None
    if decision.subtitles in ("burn_in", "embed") and decision.subtitle_stream is not None:
        subtitle = _pick(streams, decision.subtitle_stream, "subtitle", [])
    container = "mpegts" if protocol == "progressive" and decision.container == "mpegts" else "mp4"
    burn = subtitle is not None and decision.subtitles == "burn_in" and video is not None
    embed = subtitle is not None and decision.subtitles == "embed" and protocol == "progressive" \
        and container == "mp4" and subtitle.get("codec_name") not in IMAGE_SUBTITLE_CODECS
    subs = [s for s in streams if s.get("codec_type") == "subtitle"]
    plan = StreamPlan(
        path=path, video=video, audio=audio, subtitle=subtitle if (burn or embed) else None,
        burn_in=burn, embed_subtitle=embed, container=container,
        duration=_float(fmt.get("duration")),
        source_start=_float(fmt.get("start_time")) or 0.0,
        subtitle_position=subs.index(subtitle) if subtitle in subs else 0,
    )
    if video is not None:
        src_w, src_h = int(video.get("width") or 0), int(video.get("height") or 0)
        plan.fps = _fps(video)
        encode = decision.video not in (None, "copy") or burn
        if encode:
            codec = decision.video if decision.video not in (None, "copy") else "h264"
            plan.video_codec = codec
            plan.video_encoder = video_encoder if codec == "h264" else VIDEO_ENCODERS.get(codec, codec)
            max_w = decision.width or (profile.max_width if profile else None)
            max_h = decision.height or (profile.max_height if profile else None)
            plan.width, plan.height = _fit(src_w, src_h, max_w, max_h) if src_w and src_h else (None, None)
            if codec == "h264" and plan.width and plan.height:
                plan.level = h264_level(plan.width, plan.height, plan.fps)
            plan.deinterlace = (video.get("field_order") or "progressive") not in ("progressive", "unknown")
        else:
            plan.video_codec = video.get("codec_name")
            plan.width, plan.height = src_w or None, src_h or None
            plan.level = video.get("level") if isinstance(video.get("level"), int) else None
    if audio is not None:
        if decision.audio in (None, "copy"):
            plan.audio_codec = audio.get("codec_name")
        else:
            plan.audio_codec = decision.audio
            plan.audio_encoder = AUDIO_ENCODERS.get(decision.audio, decision.audio)
            limit = (profile.max_audio_channels if profile and profile.max_audio_channels else 2)
            plan.audio_channels = max(1, min(int(audio.get("channels") or 2), limit))
            plan.audio_bitrate = AUDIO_BITRATE_PER_CHANNEL * plan.audio_channels
    _bitrates(plan, decision, fmt)
    _codecs(plan)
    return plan


def _bitrates(plan: StreamPlan, decision: Decision, fmt: dict[str, Any]) -> None:
    audio_rate = plan.audio_bitrate or int(_float((plan.audio or {}).get("bit_rate")) or 0) or (
        256_000 if plan.audio else 0)
    source_rate = int(_float(fmt.get("bit_rate")) or 0)
    if plan.video is not None and not plan.video_copy:
        if decision.max_bitrate:
            plan.max_video_bitrate = max(200_000, decision.max_bitrate - audio_rate)
        estimate = int((plan.width or 1280) * (plan.height or 720) * (plan.fps or 30) * BITS_PER_PIXEL)
        plan.bandwidth = (plan.max_video_bitrate or estimate) + audio_rate
    elif plan.video is not None:
        plan.bandwidth = int((source_rate or 10_000_000) * 1.2)
    else:
        plan.bandwidth = audio_rate or source_rate or 320_000


def _codecs(plan: StreamPlan) -> None:
    parts: list[str | None] = []
    if plan.video is not None:
        profile = "high" if plan.video_encoder else plan.video.get("profile")
        parts.append(video_codec_string(plan.video_codec, profile, plan.level))
    if plan.audio is not None:
        parts.append(audio_codec_string(plan.audio_codec, None if plan.audio_encoder else plan.audio.get("profile")))
    plan.codecs = ",".join(parts) if parts and all(parts) else None  # type: ignore[arg-type]


# -- command lines ----------------------------------------------------------------------------

def _video_options(plan: StreamPlan, keyframe_interval: float, *, only_forced_keyframes: bool = False) -> dict[str, Any]:
    """Output options for the video stream (encoder settings or copy). ``only_forced_keyframes``:
    no keyframes but the forced ones (HLS cuts at every keyframe)."""
    if plan.video is None:
        return {"vn": None}
    if plan.video_copy:
        opts: dict[str, Any] = {"c:v": "copy"}
        if plan.video_codec == "hevc":
            # Parameter sets in the sample entry (hvc1), which Apple players require (HLS authoring
            # specification); players that take hev1 take hvc1 too.
            opts["tag:v"] = "hvc1"
        return opts
    enc = plan.video_encoder or "libx264"
    opts = {"c:v": enc}
    if enc in ("libx264", "libx265"):
        opts.update({"preset:v": "veryfast", "crf": CRF})
    if plan.video_codec == "h264":
        opts["profile:v"] = "high"
        if plan.level:
            opts["level:v"] = f"{plan.level / 10:.1f}"
    if plan.max_video_bitrate:
        opts.update({"maxrate:v": plan.max_video_bitrate, "bufsize:v": plan.max_video_bitrate * 2})
        if enc not in ("libx264", "libx265"):
            opts["b:v"] = plan.max_video_bitrate
    elif enc not in ("libx264", "libx265"):
        opts["b:v"] = max(500_000, plan.bandwidth - (plan.audio_bitrate or 0))
    # A keyframe at the first picture at or after every interval of output time (which starts
    # at 0 after the input seek): fragments and HLS segments start there. The pictures keep the
    # source's timestamps (no constant-rate re-timing).
    opts["force_key_frames:v"] = f"expr:gte(t,n_forced*{keyframe_interval:g})"
    opts["fps_mode:v"] = "passthrough"
    if only_forced_keyframes:
        # No scene-cut keyframes and no maximum interval: HLS cuts at every keyframe.
        opts["g:v"] = 1_000_000
        if enc == "libx264":
            opts["sc_threshold:v"] = 0
        elif enc == "libx265":
            opts["x265-params"] = "scenecut=0:open-gop=0"
    return opts


def _audio_options(plan: StreamPlan) -> dict[str, Any]:
    if plan.audio is None:
        return {"an": None}
    if plan.audio_encoder is None:
        if plan.video is not None and not plan.video_copy:
            # The input seek lands on the source's keyframe before the start; the encoded video
            # drops what lies before the start, and so must the copied audio (ffmpeg copies
            # every packet from the seek point otherwise — seconds of extra audio).
            return {"c:a": "copy", "copypriorss": 0}
        return {"c:a": "copy"}
    opts: dict[str, Any] = {"c:a": plan.audio_encoder, "ac": plan.audio_channels or 2,
                            "b:a": plan.audio_bitrate or 192_000}
    if plan.audio_codec == "opus":
        opts["ar"] = 48_000
    return opts


def _streams(plan: StreamPlan, start: float, *, source_name: str | None) -> tuple[Any, list[Any]]:
    """The ffmpeg-python input and the output streams (video with its filters, audio, subtitle)."""
    inp = ffmpeg.input(plan.path, ss=f"{start:.6f}") if start > 0 else ffmpeg.input(plan.path)
    outs: list[Any] = []
    if plan.video is not None:
        video = inp[str(plan.video["index"])]
        if not plan.video_copy:
            image_subs = plan.burn_in and plan.subtitle is not None and is_image_subtitle(plan.subtitle)
            if image_subs:
                video = overlay_image_subtitle(video, inp[str(plan.subtitle["index"])], plan.subtitle, plan.video)
            if plan.deinterlace:
                video = video.filter("yadif")
            src_w, src_h = plan.video.get("width"), plan.video.get("height")
            if plan.width and plan.height and (plan.width, plan.height) != (src_w, src_h):
                video = video.filter("scale", plan.width, plan.height)
            if plan.burn_in and plan.subtitle is not None and not image_subs:
                video = draw_text_subtitle(video, source_name or plan.path, plan.subtitle_position, start)
            if plan.video_codec in ("h264", "hevc"):
                video = video.filter("format", "yuv420p")
        outs.append(video)
    if plan.audio is not None:
        outs.append(inp[str(plan.audio["index"])])
    if plan.embed_subtitle and plan.subtitle is not None:
        outs.append(inp[str(plan.subtitle["index"])])
    return inp, outs


def _compile(node: Any) -> list[str]:
    return list(node.compile(cmd="ffmpeg"))[1:]


def progressive_args(plan: StreamPlan, start: float = 0.0, *, source_name: str | None = None) -> list[str]:
    """Arguments for a fragmented MP4 (or MPEG-TS, see :attr:`StreamPlan.container`) on
    ``pipe:1`` from ``start`` seconds (input seek).

    ``source_name``: the name the ``subtitles`` filter opens (a link in the session folder, the
    process's working directory, so no path escaping is needed); defaults to ``plan.path``."""
    _, outs = _streams(plan, start, source_name=source_name)
    opts: dict[str, Any] = {**_video_options(plan, PROGRESSIVE_KEYFRAME_INTERVAL), **_audio_options(plan)}
    if plan.container == "mpegts":
        opts["f"] = "mpegts"
    else:
        opts.update({"f": "mp4", "movflags": "frag_keyframe+empty_moov+default_base_moof+delay_moov",
                     "frag_duration": FRAGMENT_DURATION_US,
                     "strict": "experimental"})  # FLAC / Opus in MP4 on older ffmpeg builds
    if plan.embed_subtitle:
        opts["c:s"] = "mov_text"
    return _compile(ffmpeg.output(*outs, "pipe:1", **opts))


def hls_args(
    plan: StreamPlan,
    *,
    start: float,
    start_number: int,
    keyframe_interval: float,
    segment_pattern: str,
    playlist: str,
    source_name: str | None = None,
) -> list[str]:
    """Arguments for one HLS run: from ``start`` seconds (input seek), numbering files from
    ``start_number``, one file per keyframe (``-hls_time`` below a frame; audio alone: every
    ``keyframe_interval`` seconds), writing
    ``segment_pattern`` (``u%d.ts``) and ffmpeg's own ``playlist`` (not served) in the working
    directory. An encoded video gets keyframes exactly every ``keyframe_interval`` seconds and no
    others; a copied one keeps the source's.

    Timestamps are the item's time plus :data:`TIMELINE_PAD` in every run (``-output_ts_offset``),
    so a run never starts below zero: otherwise the run from the very start, whose B-frames
    begin with a negative decoding time, would be shifted by ffmpeg and runs started later not,
    and their segments would disagree by the B-frame delay."""
    _, outs = _streams(plan, start, source_name=source_name)
    opts: dict[str, Any] = {
        **_video_options(plan, keyframe_interval, only_forced_keyframes=True), **_audio_options(plan),
        # A cut at every keyframe of a video; audio alone (every packet a keyframe) is cut by time.
        "f": "hls", "hls_time": "0.001" if plan.video is not None else f"{keyframe_interval:g}",
        "hls_list_size": 0, "start_number": start_number,
        "hls_segment_filename": segment_pattern, "hls_flags": "temp_file",
        "hls_segment_type": plan.segment_format, "output_ts_offset": f"{start + TIMELINE_PAD:.6f}",
    }
    return _compile(ffmpeg.output(*outs, playlist, **opts).overwrite_output())


def webvtt_args(path: str, stream_index: int) -> list[str]:
    """Arguments that write subtitle stream ``stream_index`` (ffprobe index) of ``path`` as
    WebVTT to ``pipe:1``."""
    inp = ffmpeg.input(path)
    return _compile(ffmpeg.output(inp[str(stream_index)], "pipe:1", **{"c:s": "webvtt", "f": "webvtt"}))
