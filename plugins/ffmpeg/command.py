"""From (source streams, profile, encoder) to an ffmpeg command, built with ffmpeg-python.

**Streams.** Every stream of the source is mapped explicitly, in the source's order
(``-map 0:0 -map 0:1 …``: what ``-map 0`` maps), except those the output container cannot hold,
which are listed in the plan's ``dropped`` with the reason. Video streams are encoded with the
profile's codec. Cover art (``attached_pic``) is copied: as an ``attached_pic`` stream in
MP4/QuickTime (``covr``), and as an *attachment* in Matroska — ffmpeg's Matroska demuxer shows a
picture attachment as an ``attached_pic`` video stream, but its muxer (5.1) would write such a
stream back as a one-frame video track, so the picture is extracted to a temporary file next to
the destination and attached with ``-attach``, its file name and its MIME type. Audio is copied
(or encoded with the profile's ``audio``), subtitles are copied, chapters and global metadata
are copied (``-map_chapters 0 -map_metadata 0``); stream metadata (language, title) and
dispositions follow each mapped stream (ffmpeg's default).

**Containers.** ``container: source`` keeps the source's container when it can hold the video
codec: Matroska stays Matroska, MP4 stays MP4, QuickTime stays QuickTime; everything else (WebM,
AVI, MPEG-TS/PS, FLV, ASF/WMV, Ogg …) becomes Matroska, which holds every codec involved. What
each container can hold (source: ffmpeg 5.1's muxers ``libavformat/matroskaenc.c``
``ff_mkv_codec_tags`` and ``libavformat/movenc.c`` ``codec_mp4_tags`` / ``codec_mov_tags``, and
trying them):

- Matroska: any audio; subtitles SubRip, ASS/SSA, WebVTT, VobSub (``dvd_subtitle``), PGS, DVB;
  attachments (fonts). Other text subtitles (``mov_text`` from an MP4, MicroDVD …) are converted
  to SubRip. Data streams (timecode, GPS) cannot be held and are dropped.
- MP4 and QuickTime sources show their chapters also as a text data track; it is not mapped
  (ffmpeg writes it again from the chapters, which are copied).
- MP4: audio AAC, MP3, AC-3, E-AC-3, ALAC, Opus, DTS; other audio (FLAC, TrueHD, PCM, Vorbis) is
  converted (to the profile's ``audio`` codec, or AAC when that is ``copy``). Text subtitles are
  converted to ``mov_text`` (ASS styling is lost); VobSub is copied; PGS and DVB subtitles cannot
  be held. Attachments and data streams are dropped. HEVC gets the ``hvc1`` tag (QuickTime, Safari and
  Apple TV play HEVC in MP4 only when it is tagged ``hvc1``, not ffmpeg's default ``hev1``) and the file gets
  ``+faststart`` (the index at the front, so browsers can play it while it downloads).
- QuickTime (``.mov``): audio AAC, MP3, AC-3, E-AC-3, ALAC, PCM; text subtitles → ``mov_text``;
  no image subtitles, attachments or data.

An image subtitle the container cannot hold fails the job before ffmpeg starts
(:class:`~.errors.TranscodePlanError`) with ``subtitles: all``, and is dropped (and reported)
with ``subtitles: compatible``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import ffmpeg

from . import hardware
from .errors import TranscodePlanError
from .hardware import Encoder
from .profiles import AUDIO_ENCODERS

#: container → (ffmpeg muxer, file extension)
MUXERS = {"mkv": ("matroska", ".mkv"), "mp4": ("mp4", ".mp4"), "mov": ("mov", ".mov")}

TEXT_SUBTITLES = {
    "subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text", "microdvd", "subviewer", "subviewer1",
    "jacosub", "sami", "realtext", "stl", "pjs", "mpl2", "vplayer",
}
_HOLDS_SUBTITLES = {
    "mkv": {"subrip", "srt", "ass", "ssa", "webvtt", "dvd_subtitle", "hdmv_pgs_subtitle", "dvb_subtitle"},
    "mp4": {"mov_text", "dvd_subtitle"},
    "mov": {"mov_text"},
}
_TEXT_TARGET = {"mkv": "srt", "mp4": "mov_text", "mov": "mov_text"}
_HOLDS_AUDIO: dict[str, set[str] | None] = {
    "mkv": None,  # everything
    "mp4": {"aac", "mp3", "ac3", "eac3", "alac", "opus", "dts"},
    "mov": {"aac", "mp3", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_s16be",
            "pcm_s24be", "pcm_s32be", "pcm_f32le", "pcm_f64le"},
}
_ATTACHMENTS = {"mkv"}
#: Highest bitrate (bit/s) we pick for an encoder when the profile gives none.
_MAX_AUDIO_RATE = {"aac": 512_000, "libopus": 510_000, "ac3": 640_000, "eac3": 1_536_000, "libmp3lame": 320_000}


def container_for(settings: dict[str, Any], format_name: str | None, path: str) -> str:
    """The output container (``mkv``, ``mp4`` or ``mov``) for a source whose ffprobe
    ``format_name`` is ``format_name`` (may be None) and whose file is ``path``."""
    if settings["container"] != "source":
        return settings["container"]
    ext = os.path.splitext(path)[1].lower()
    fmt = (format_name or "").lower()
    if ext == ".webm":
        return "mkv"  # WebM holds VP8/VP9/AV1 only
    if "matroska" in fmt or ext in (".mkv", ".mk3d"):
        return "mkv"
    if "mp4" in fmt or "mov" in fmt or ext in (".mp4", ".m4v", ".mov"):
        return "mov" if ext == ".mov" else "mp4"
    return "mkv"


_IMAGE_TYPES = {"mjpeg": ("image/jpeg", ".jpg"), "png": ("image/png", ".png"), "bmp": ("image/bmp", ".bmp"),
                "gif": ("image/gif", ".gif"), "webp": ("image/webp", ".webp")}


def _cover(stream: dict[str, Any], number: int) -> dict[str, Any]:
    """Name and MIME type of a cover for a Matroska attachment: its own (a Matroska source's
    attachment tags) or made up from the codec (an MP4 ``covr`` has neither)."""
    tags = {k.lower(): v for k, v in (stream.get("tags") or {}).items()}
    mime, ext = _IMAGE_TYPES.get(stream.get("codec_name") or "", ("application/octet-stream", ".bin"))
    name = os.path.basename(str(tags.get("filename") or "")) or f"cover{'' if number == 0 else number + 1}{ext}"
    return {"index": stream.get("index"), "filename": name, "mimetype": tags.get("mimetype") or mime}


_DEEP = re.compile(r"p0?1[026]")  # yuv420p10le, p010le, yuv444p12le — not nv12


def _ten_bit(stream: dict[str, Any], settings: dict[str, Any]) -> bool:
    fmt = settings.get("pix_fmt") or stream.get("pix_fmt") or ""
    return bool(_DEEP.search(fmt)) or str(stream.get("bits_per_raw_sample") or "") in ("10", "12")


def _audio_bitrate(encoder: str, stream: dict[str, Any], settings: dict[str, Any]) -> str | None:
    if settings.get("audio_bitrate"):
        return settings["audio_bitrate"]
    if encoder == "flac":
        return None
    channels = int(stream.get("channels") or 2)
    rate = max(96_000, 64_000 * channels)
    return f"{min(rate, _MAX_AUDIO_RATE.get(encoder, rate)) // 1000}k"


@dataclass
class Plan:
    """What one job will do: ``container``; ``maps`` (source stream indexes, in output order);
    ``options`` (ffmpeg-python output keyword arguments); ``global_args``; ``dropped`` /
    ``converted`` (``[{"index", "type", "codec", "to"?, "reason"}]``); ``encoder`` (name)."""

    container: str
    encoder: str
    maps: list[int] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    global_args: list[str] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    converted: list[dict[str, Any]] = field(default_factory=list)
    #: cover art to write as Matroska attachments: ``[{"index", "filename", "mimetype"}]``
    covers: list[dict[str, Any]] = field(default_factory=list)
    #: output indexes of the source's own attachments (fonts), mapped before the covers
    attachment_outputs: list[int] = field(default_factory=list)

    @property
    def extension(self) -> str:
        return MUXERS[self.container][1]


def plan(
    info: dict[str, Any],
    path: str,
    settings: dict[str, Any],
    hw: Encoder | None,
    *,
    vaapi_device: str = hardware.DEFAULT_VAAPI_DEVICE,
    hdr10: str | None = None,
) -> Plan:
    """Plan a job from ffprobe's JSON ``info`` of ``path``, resolved ``settings`` and the
    hardware encoder to use (``None``: software). ``hdr10``: x265 parameters carrying the
    source's HDR10 static metadata (:func:`x265_hdr10_params`), added for libx265. Raises
    :class:`TranscodePlanError`."""
    codec = settings["video_codec"]
    encoder = hw or next(e for e in hardware.SOFTWARE if e.codec == codec)
    fmt_name = (info.get("format") or {}).get("format_name") or ""
    container = container_for(settings, fmt_name, path)
    out = Plan(container=container, encoder=encoder.name)
    out.options["format"] = MUXERS[container][0]
    streams = sorted(info.get("streams") or [], key=lambda s: s.get("index", 0))
    encoded_video = 0

    def drop(stream: dict[str, Any], reason: str) -> None:
        out.dropped.append({"index": stream.get("index"), "type": stream.get("codec_type"),
                            "codec": stream.get("codec_name"), "reason": reason})

    for stream in streams:
        kind, name = stream.get("codec_type"), stream.get("codec_name") or "unknown"
        index = stream.get("index")
        spec = str(len(out.maps))  # the output stream index this stream will get
        if kind == "video":
            if (stream.get("disposition") or {}).get("attached_pic"):
                if container == "mkv":
                    out.covers.append(_cover(stream, len(out.covers)))
                else:
                    out.maps.append(index)
                    out.options[f"c:{spec}"] = "copy"
                continue
            out.maps.append(index)
            encoded_video += 1
            out.options[f"c:{spec}"] = encoder.name
            out.options.update(hardware.quality_options(encoder, settings, spec))
            if hdr10 and encoder.name == "libx265" and encoded_video == 1:
                out.options[f"x265-params:{spec}"] += ":" + hdr10
            filters = []
            height = stream.get("height")
            if settings.get("max_height") and height and int(height) > settings["max_height"]:
                filters.append(f"scale=-2:{settings['max_height']}")
            if hw is not None:
                filters += hardware.upload_filters(hw, _ten_bit(stream, settings))
            elif settings.get("pix_fmt"):
                out.options[f"pix_fmt:{spec}"] = settings["pix_fmt"]
            if filters:
                out.options[f"filter:{spec}"] = ",".join(filters)
            if codec == "hevc" and container in ("mp4", "mov"):
                out.options[f"tag:{spec}"] = "hvc1"
        elif kind == "audio":
            holds = _HOLDS_AUDIO[container]
            if settings["audio"] == "copy" and (holds is None or name in holds):
                out.maps.append(index)
                out.options[f"c:{spec}"] = "copy"
                continue
            target = AUDIO_ENCODERS["aac" if settings["audio"] == "copy" else settings["audio"]]
            out.maps.append(index)
            out.options[f"c:{spec}"] = target
            rate = _audio_bitrate(target, stream, settings)
            if rate:
                out.options[f"b:{spec}"] = rate
            if settings["audio"] == "copy":
                out.converted.append({"index": index, "type": kind, "codec": name, "to": target,
                                      "reason": f"{container} cannot hold {name} audio"})
        elif kind == "subtitle":
            if settings["subtitles"] == "none":
                drop(stream, "the profile drops subtitles")
                continue
            holds = _HOLDS_SUBTITLES[container]
            if name in holds:
                out.maps.append(index)
                out.options[f"c:{spec}"] = "copy"
            elif name in TEXT_SUBTITLES:
                target = _TEXT_TARGET[container]
                out.maps.append(index)
                out.options[f"c:{spec}"] = target
                out.converted.append({"index": index, "type": kind, "codec": name, "to": target,
                                      "reason": f"{container} holds text subtitles as {target}"})
            elif settings["subtitles"] == "compatible":
                drop(stream, f"{container} cannot hold {name} subtitles")
            else:
                raise TranscodePlanError(
                    f"{path}: subtitle stream #{index} ({name}) cannot be stored in {container}; "
                    "use container: mkv, or subtitles: compatible to drop it"
                )
        elif kind == "attachment":
            if container in _ATTACHMENTS:
                out.attachment_outputs.append(len(out.maps))
                out.maps.append(index)
                out.options[f"c:{spec}"] = "copy"
            else:
                drop(stream, f"{container} cannot hold attachments")
        elif kind == "data" and stream.get("codec_tag_string") == "text" and "mp4" in fmt_name:
            # an MP4/QuickTime chapter track: ffmpeg writes it again from the chapters
            continue
        else:  # data (timecode, GPS …) and unknown streams
            drop(stream, f"{container} cannot hold {kind or 'unknown'} streams")
    if not encoded_video:
        raise TranscodePlanError(f"{path}: no video stream to transcode")
    out.options["map_metadata"] = "0"
    out.options["map_chapters"] = "0"
    out.options["max_muxing_queue_size"] = "4096"  # sparse subtitle streams next to dense video
    if container in ("mp4", "mov"):
        out.options["movflags"] = "+faststart"
    for key, value in (settings.get("extra_args") or {}).items():
        # "-crf" replaces ours for every stream ("-crf:0"); "-c:1" replaces only "-c:1"
        if ":" not in key:
            for mine in [k for k in out.options if k.split(":", 1)[0] == key]:
                del out.options[mine]
        out.options[key] = value
    if hw is not None:
        out.global_args = hardware.global_args(hw, vaapi_device)
    out.global_args = [*out.global_args, "-loglevel", "warning"]
    return out


def _ratio(value: Any) -> float:
    num, _, den = str(value).partition("/")
    return float(num) / float(den or 1)


def x265_hdr10_params(side_data: list[dict[str, Any]]) -> str | None:
    """x265 parameters that write a source's HDR10 static metadata again, from the first video
    frame's ``side_data_list`` (ffprobe ``-show_frames``): ``Mastering display metadata`` →
    ``master-display=G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)`` (chromaticities in units of 0.00002,
    luminance in 0.0001 cd/m²: SMPTE ST 2086 as x265's documentation of ``--master-display``
    gives it) and ``Content light level metadata`` → ``max-cll=MaxCLL,MaxFALL`` (CTA-861.3);
    with ``hdr10=1`` and ``repeat-headers=1`` (the SEI before every keyframe, so a seek or a
    stream that starts mid-file still has it). None when the frame carries neither: ffmpeg 5.1
    does not pass this side data to libx265 itself, so without it an HDR10 source would come out
    with PQ transfer but no mastering metadata."""
    parts = []
    for entry in side_data or []:
        kind = entry.get("side_data_type")
        try:
            if kind == "Mastering display metadata":
                xy = {name: f"({round(_ratio(entry[name + '_x']) * 50000)},{round(_ratio(entry[name + '_y']) * 50000)})"
                      for name in ("green", "blue", "red", "white_point")}
                lum = f"L({round(_ratio(entry['max_luminance']) * 10000)},{round(_ratio(entry['min_luminance']) * 10000)})"
                parts.append(f"master-display=G{xy['green']}B{xy['blue']}R{xy['red']}WP{xy['white_point']}{lum}")
            elif kind == "Content light level metadata":
                parts.append(f"max-cll={int(entry['max_content'])},{int(entry['max_average'])}")
        except (KeyError, ValueError, ZeroDivisionError):
            continue  # incomplete side data: leave it out rather than write wrong values
    return ":".join(["hdr10=1", "repeat-headers=1", *parts]) if parts else None


def compile_args(source: str, destination: str, job: Plan, cover_files: list[str] = ()) -> list[str]:
    """The ffmpeg arguments (without the binary) for ``job``: ffmpeg-python's ``compile()`` of
    input → mapped streams → output, with ``-y`` (the destination is the engine's temporary
    name; a stale one from a crash is overwritten). ``cover_files``: the extracted
    :attr:`Plan.covers`, in order, attached with ``-attach`` (an option ffmpeg-python's keyword
    arguments cannot repeat, so it is put in front of the output name after compiling)."""
    inp = ffmpeg.input(source)
    streams = [inp[str(i)] for i in job.maps]
    out = ffmpeg.output(*streams, destination, **job.options)
    if job.global_args:
        out = out.global_args(*job.global_args)
    args = out.compile(cmd="ffmpeg", overwrite_output=True)[1:]
    if cover_files:
        first = len(job.attachment_outputs)  # the source's own attachments come first
        attach: list[str] = []
        for n, (cover, path) in enumerate(zip(job.covers, cover_files, strict=True)):
            spec = f"-metadata:s:t:{first + n}"
            attach += ["-attach", path, spec, f"mimetype={cover['mimetype']}", spec, f"filename={cover['filename']}"]
        at = len(args) - 1 - args[::-1].index(destination)
        args[at:at] = attach
    return args


def extract_covers_args(source: str, job: Plan, paths: list[str]) -> list[str]:
    """ffmpeg arguments that copy each of ``job.covers`` (one picture each) to ``paths``."""
    inp = ffmpeg.input(source)
    outs = [inp[str(c["index"])].output(p, c="copy", f="image2", update=1, **{"frames:v": 1})
            for c, p in zip(job.covers, paths, strict=True)]
    merged = ffmpeg.merge_outputs(*outs).global_args("-loglevel", "warning")
    return merged.compile(cmd="ffmpeg", overwrite_output=True)[1:]
