"""The ``playback:`` section of configuration.yaml.

Example (every key is optional; these are the defaults)::

    playback:
      default_profile: desktop_browser  # device profile for clients that do not name one
      transcode_dir:                     # scratch folder for HLS segments (default: <config>/.transcodes)
      max_transcodes: 2                  # ffmpeg processes for streaming at once (0: no limit)
      hls_segment_transcode: 3           # seconds per HLS segment when transcoding
      hls_segment_remux: 6               # seconds per HLS segment when only remuxing
      session_idle_timeout: 60           # seconds without a request before a session ends
      watched_threshold: 0.9             # fraction of the duration after which an item is watched
      video_encoder: libx264             # encoder for streaming transcodes
      device_profiles: []                # extra or replacing device profiles, see core/playback/profiles.py
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol

_SECONDS = vol.All(vol.Coerce(float), vol.Range(min=1, max=60))

#: Subtitle format names a device profile may list (see core/playback/profiles.py).
SUBTITLE_FORMATS = ("vtt", "srt", "ass", "ttml", "mov_text", "pgs", "dvdsub", "dvbsub")
_LEVEL_SCALE = {"h264": 10, "hevc": 30, "mpeg4": 1, "vp9": 10, "av1": 1}


def _names(value: Any) -> list[str]:
    """A list of names, or one comma-separated string, lower-cased: ``[H264, vp9]``, ``"h264, vp9"``."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise vol.Invalid("expected a list of names or a comma-separated string")
    return [v.strip().lower() for v in value if v.strip()]


def _levels(value: Any) -> dict[str, int]:
    """``{codec: level}``. An integer is ffprobe's level value (41 for H.264 4.1, 153 for HEVC
    5.1); a decimal such as ``4.1`` or ``"5.1"`` is the codec's level name, converted."""
    if not isinstance(value, dict):
        raise vol.Invalid("expected a mapping of codec to level, e.g. {h264: 4.1}")
    out = {}
    for codec, level in value.items():
        codec = str(codec).strip().lower()
        if isinstance(level, bool):
            raise vol.Invalid(f"expected a level number for codec {codec}")
        if isinstance(level, int):
            out[codec] = level
            continue
        try:
            number = float(str(level))
        except ValueError:
            raise vol.Invalid(f"expected a level number for codec {codec}, e.g. 4.1") from None
        if codec not in _LEVEL_SCALE:
            raise vol.Invalid(f"give codec {codec}'s level as ffprobe's integer level value")
        out[codec] = round(number * _LEVEL_SCALE[codec])
    return out


def _bitrate(value: Any) -> int | None:
    """Bits per second: an integer, or a number with k/M/G (``8M``, ``800k``, ``8 Mbit/s``)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        if isinstance(value, int) and value <= 0:
            raise vol.Invalid("expected a positive bitrate in bit/s")
        return value
    text = str(value).strip().lower().replace(" ", "").removesuffix("/s").removesuffix("bit").removesuffix("bps")
    factor = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(text[-1:], 1)
    try:
        number = float(text[:-1] if factor != 1 else text)
    except ValueError:
        raise vol.Invalid("expected a bitrate in bit/s such as 8000000 or 8M") from None
    if number <= 0:
        raise vol.Invalid("expected a positive bitrate in bit/s")
    return int(number * factor)


_PIXELS = vol.Any(None, vol.All(vol.Coerce(int), vol.Range(min=16, max=16384)))

#: Schema of one ``device_profiles`` entry (see :class:`~.types.DeviceProfile` for the fields
#: and core/playback/profiles.py for names and sources). Unknown keys are errors, so a typo is
#: reported with its file and line instead of being ignored. ``extends`` names a profile to start
#: from; whether it exists is checked by :func:`~.profiles.load_profiles`.
DEVICE_PROFILE_SCHEMA: Any = vol.Schema(
    {
        vol.Required("name"): vol.All(
            str, vol.Match(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", msg="expected a name of letters, digits, _ . -")
        ),
        vol.Optional("extends"): str,
        vol.Optional("description"): str,
        vol.Optional("containers"): _names,
        vol.Optional("video_codecs"): _names,
        vol.Optional("audio_codecs"): _names,
        vol.Optional("video_profiles"): vol.Schema({vol.All(str, vol.Lower): _names}),
        vol.Optional("max_video_level"): _levels,
        vol.Optional("max_width"): _PIXELS,
        vol.Optional("max_height"): _PIXELS,
        vol.Optional("max_audio_channels"): vol.Any(None, vol.All(vol.Coerce(int), vol.Range(min=1, max=32))),
        vol.Optional("max_bitrate"): _bitrate,
        vol.Optional("subtitle_formats"): vol.All(_names, [vol.In(SUBTITLE_FORMATS)]),
        vol.Optional("streaming"): vol.In(("http", "progressive", "hls")),
        vol.Optional("transcode_video_codec"): vol.All(str, vol.Lower, vol.In(("h264", "hevc", "vp9", "av1"))),
        vol.Optional("transcode_audio_codec"): vol.All(str, vol.Lower, vol.In(("aac", "mp3", "opus", "ac3"))),
        vol.Optional("transcode_container"): vol.All(str, vol.Lower, vol.In(("mp4", "mpegts", "mkv", "webm"))),
        vol.Optional("dlna"): bool,
    }
)

PLAYBACK_SCHEMA = vol.Schema(
    {
        vol.Optional("default_profile", default="desktop_browser"): str,
        vol.Optional("transcode_dir"): str,
        vol.Optional("max_transcodes", default=2): vol.All(vol.Coerce(int), vol.Range(min=0)),
        vol.Optional("hls_segment_transcode", default=3.0): _SECONDS,
        vol.Optional("hls_segment_remux", default=6.0): _SECONDS,
        vol.Optional("session_idle_timeout", default=60.0): vol.All(vol.Coerce(float), vol.Range(min=5)),
        vol.Optional("watched_threshold", default=0.9): vol.All(vol.Coerce(float), vol.Range(min=0.5, max=1.0)),
        vol.Optional("video_encoder", default="libx264"): str,
        vol.Optional("device_profiles", default=[]): [DEVICE_PROFILE_SCHEMA],
    }
)
