"""Transcode profiles: the built-in three and those written in the plugin's YAML entry.

A *resolved* profile is a plain dict with every key below filled in — the same input always gives
the same dict, so the transcode engine can hash it (``json.dumps(settings, sort_keys=True)``) to
remember which files were already processed with which settings:

``video_codec``
    ``"hevc"`` or ``"h264"`` (aliases accepted on input: ``h265``, ``x265``, ``libx265``,
    ``avc``, ``x264``, ``libx264``).
``crf``
    Constant rate factor, 0–51 (lower is better quality, bigger files). Hardware encoders get the
    same number as their constant-quality value (see :mod:`.hardware`).
``preset``
    x265/x264 preset, ``ultrafast`` … ``placebo``.
``tune``
    x265/x264 ``-tune`` (``grain``, ``animation`` …) or ``None``.
``pix_fmt``
    Output pixel format (``yuv420p10le`` for 10-bit) or ``None`` to keep the source's.
``audio``
    ``"copy"`` (keep every audio track as it is) or an encoder for all tracks: ``aac``, ``ac3``,
    ``eac3``, ``opus``, ``mp3``, ``flac``.
``audio_bitrate``
    ``"160k"``-style bitrate for encoded audio, or ``None`` for the encoder's default.
``subtitles``
    ``"all"`` (keep every subtitle track; text tracks are converted when the container needs it;
    an image track the container cannot hold fails the job before ffmpeg runs), ``"compatible"``
    (drop the tracks the container cannot hold, and say so) or ``"none"``.
``container``
    ``"source"`` (the source's container; sources whose container cannot hold the video codec
    become Matroska), ``"mkv"``, ``"mp4"`` or ``"mov"``.
``max_height``
    Pixels; taller video is scaled down to this height (aspect kept, even width), or ``None``.
``hardware``
    ``"off"``, ``"auto"`` (the first working hardware encoder for the codec, else software) or
    one API: ``"nvenc"``, ``"qsv"``, ``"vaapi"``, ``"videotoolbox"``.
``extra_args``
    ffmpeg output options added last: ``{option: value}`` (``None`` for a flag), e.g.
    ``{"x265-params": "aq-mode=3"}``. They override what the plugin sets for the same option.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import voluptuous as vol

#: The three profiles of the seed architecture. libx265 throughout; CRF and preset chosen from
#: x265's documentation (x265.readthedocs.io, "Quality, rate control and rate distortion
#: options"): CRF 28 is x265's default and is meant to look like x264 at CRF 23; each step of 6
#: roughly halves or doubles the size. ``slow`` adds rect/amp partitions and more reference
#: frames, worth its time when quality is the goal; at a fixed CRF a slower preset does not make
#: files smaller, so ``maximum_space`` stays at ``medium`` and gets its savings from the CRF.
BUILTIN_PROFILES: dict[str, dict[str, Any]] = {
    # visually transparent for almost every source; the slowest of the three (about 2x balanced)
    "maximum_quality": {"video_codec": "hevc", "crf": 20, "preset": "slow"},
    # hardly distinguishable from the source on a TV at normal distance; x265's speed reference
    "balanced": {"video_codec": "hevc", "crf": 23, "preset": "medium"},
    # x265's own default quality: noticeably softer on fine grain, about half the size of balanced
    "maximum_space": {"video_codec": "hevc", "crf": 28, "preset": "medium"},
}

CODEC_ALIASES = {
    "hevc": "hevc", "h265": "hevc", "x265": "hevc", "libx265": "hevc", "h.265": "hevc",
    "h264": "h264", "avc": "h264", "x264": "h264", "libx264": "h264", "h.264": "h264",
}
#: codec → software encoder
SOFTWARE_ENCODERS = {"hevc": "libx265", "h264": "libx264"}
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")
TUNES = ("psnr", "ssim", "grain", "zerolatency", "fastdecode", "animation", "film", "stillimage")
#: audio setting → ffmpeg encoder
AUDIO_ENCODERS = {"aac": "aac", "ac3": "ac3", "eac3": "eac3", "opus": "libopus", "libopus": "libopus",
                  "mp3": "libmp3lame", "libmp3lame": "libmp3lame", "flac": "flac"}
SUBTITLE_MODES = ("all", "compatible", "none")
CONTAINERS = ("source", "mkv", "mp4", "mov")
HARDWARE_MODES = ("off", "auto", "nvenc", "qsv", "vaapi", "videotoolbox")

_BITRATE = re.compile(r"^\d+(\.\d+)?[kKmM]?$")
_OPTION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_:.\-]*$")


def _codec(value: Any) -> str:
    key = str(value).strip().lower()
    if key not in CODEC_ALIASES:
        raise vol.Invalid(f"unknown video codec {value!r}; use hevc or h264")
    return CODEC_ALIASES[key]


def _audio(value: Any) -> str:
    key = str(value).strip().lower()
    if key != "copy" and key not in AUDIO_ENCODERS:
        raise vol.Invalid(f"unknown audio setting {value!r}; use copy or one of {', '.join(sorted(AUDIO_ENCODERS))}")
    return {"libopus": "opus", "libmp3lame": "mp3"}.get(key, key)


def _bitrate(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not _BITRATE.match(text):
        raise vol.Invalid(f"expected a bitrate like 128k or 1.5M, got {value!r}")
    return text.lower() if text[-1] in "kK" else text


def _extra_args(value: Any) -> dict[str, str | None]:
    """``{option: value}`` or a list ``["-opt", "value", "-flag", …]`` → ``{option: value}``."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        pairs = [(str(k).lstrip("-"), None if v is None else str(v)) for k, v in value.items()]
    elif isinstance(value, list | tuple):
        pairs, items = [], [str(v) for v in value]
        i = 0
        while i < len(items):
            opt = items[i]
            if not opt.startswith("-") or re.match(r"^-\d", opt):
                raise vol.Invalid(f"expected an option starting with '-' at position {i}, got {opt!r}")
            nxt = items[i + 1] if i + 1 < len(items) else None
            if nxt is not None and (not nxt.startswith("-") or re.match(r"^-\d", nxt)):
                pairs.append((opt[1:], nxt))
                i += 2
            else:
                pairs.append((opt[1:], None))
                i += 1
    else:
        raise vol.Invalid("expected a mapping {option: value} or a list of arguments")
    out: dict[str, str | None] = {}
    for key, val in pairs:
        if not _OPTION.match(key) or key in ("i", "y", "n", "f", "map", "progress"):
            raise vol.Invalid(f"option -{key} cannot be set in extra_args")
        out[key] = val
    return dict(sorted(out.items()))


def profile_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    """The schema of one profile; missing keys take ``defaults`` (a full profile)."""
    d = defaults
    return vol.Schema(
        {
            vol.Optional("video_codec", default=d["video_codec"]): _codec,
            vol.Optional("crf", default=d["crf"]): vol.All(vol.Coerce(int), vol.Range(min=0, max=51)),
            vol.Optional("preset", default=d["preset"]): vol.All(str, vol.Lower, vol.In(PRESETS)),
            vol.Optional("tune", default=d["tune"]): vol.Any(None, vol.All(str, vol.Lower, vol.In(TUNES))),
            vol.Optional("pix_fmt", default=d["pix_fmt"]): vol.Any(None, vol.Match(r"^[a-z0-9_]+$")),
            vol.Optional("audio", default=d["audio"]): _audio,
            vol.Optional("audio_bitrate", default=d["audio_bitrate"]): _bitrate,
            vol.Optional("subtitles", default=d["subtitles"]): vol.All(str, vol.Lower, vol.In(SUBTITLE_MODES)),
            vol.Optional("container", default=d["container"]): vol.All(str, vol.Lower, vol.In(CONTAINERS)),
            vol.Optional("max_height", default=d["max_height"]): vol.Any(None, vol.All(vol.Coerce(int), vol.Range(min=16))),
            vol.Optional("hardware", default=d["hardware"]): vol.All(str, vol.Lower, vol.In(HARDWARE_MODES)),
            vol.Optional("extra_args", default=d["extra_args"]): _extra_args,
        }
    )


def base_defaults(hardware: str = "off") -> dict[str, Any]:
    """What a profile is before it says anything: ``balanced`` with the entry's ``hardware``."""
    return {
        **BUILTIN_PROFILES["balanced"],
        "tune": None, "pix_fmt": None, "audio": "copy", "audio_bitrate": None, "subtitles": "all",
        "container": "source", "max_height": None, "hardware": hardware, "extra_args": {},
    }


def _yaml_profiles(value: Any) -> dict[str, dict[str, Any]]:
    """Check the ``profiles:`` mapping's shape (names and known keys); values are resolved later
    against the entry's defaults by :func:`resolve_profiles`."""
    if not isinstance(value, Mapping):
        raise vol.Invalid("expected a mapping of profile name → settings")
    out = {}
    loose = profile_schema(base_defaults())
    for name, settings in value.items():
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$", name):
            raise vol.Invalid(f"profile name {name!r} must be letters, digits, '_', '-' or '.'")
        settings = dict(settings or {})
        try:
            loose(dict(settings))
        except vol.Invalid as err:
            raise vol.Invalid(err.msg, path=[name, *err.path]) from None
        out[name] = settings
    return out


PROFILES_SCHEMA = vol.All(vol.Any(None, dict), lambda v: _yaml_profiles(v or {}))


def resolve(settings: Mapping[str, Any], hardware: str = "off", base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A full, validated profile from partial ``settings``: missing keys come from ``base`` (a
    full profile) or :func:`base_defaults`. Raises ``voluptuous.Invalid``."""
    schema = profile_schema(base or base_defaults(hardware))
    known = {k: v for k, v in settings.items() if k != "name"}
    return dict(sorted(schema(known).items()))


def resolve_profiles(yaml_profiles: Mapping[str, Mapping[str, Any]], hardware: str = "off") -> dict[str, dict[str, Any]]:
    """Built-in profiles, then the YAML ones: a YAML profile named like a built-in one changes
    only the keys it gives; a new name starts from :func:`base_defaults`."""
    out = {name: resolve(values, hardware) for name, values in BUILTIN_PROFILES.items()}
    for name, values in yaml_profiles.items():
        out[name] = resolve(values, hardware, base=out.get(name))
    return out
