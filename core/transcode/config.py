"""The ``transcode:`` section of configuration.yaml (the library optimiser).

Example (every key is optional; these are the defaults unless noted)::

    transcode:
      profile: balanced            # a profile of the transcoder (see GET /api/transcode/profiles)
      transcoder: ffmpeg           # which transcoder entry (its name); default: the first one
      libraries: [Movies]          # library names, paths or ids it applies to; default: all
      concurrency: 1               # jobs encoding at once
      auto_queue: false            # queue new candidates after every library scan
      schedule:                    # start jobs only between these local times (default: any time)
        start: "01:00"
        end: "07:00"
      minimum_savings: 5           # percent; a result saving less keeps the original
      progress_interval: 1.0       # seconds between progress events of one job
      candidates:
        skip_codecs: [hevc, av1]   # files already in these codecs are never candidates
        codecs: []                 # when not empty: only files in these codecs are candidates
        min_bits_per_pixel: null   # bits per pixel (video bitrate / (width × height × fps))
        min_mb_per_hour: null      # MB per hour of running time
        min_size: 0                # MB; smaller files are not worth the work
        frame_rate: 24             # fps assumed for bits per pixel (the library does not store it)
        target_bits_per_pixel: 0.05  # what the profile is expected to reach, for estimated savings
      verify:
        full_decode: true          # decode the whole result (ffmpeg -xerror -f null -) before replacing
        duration_tolerance: 0.5    # percent the result's duration may differ from the source's
        min_size_ratio: 0.01       # result size / source size below this fails verification
        max_size_ratio: 2.0        # … and above this

With neither ``min_bits_per_pixel`` nor ``min_mb_per_hour`` set, every video whose codec is not
skipped is a candidate; with one or both set, a file must reach at least one of them.
"""

from __future__ import annotations

import re
from typing import Any

import voluptuous as vol

_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _clock(value: Any) -> str:
    """"HH:MM" (24-hour clock)."""
    text = str(value).strip()
    if not _TIME_RE.match(text):
        raise vol.Invalid("expected a time as HH:MM (24-hour clock)")
    hours, minutes = text.split(":")
    return f"{int(hours):02d}:{minutes}"


def _codec(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid("expected a codec name (as ffprobe reports it: h264, hevc, av1, mpeg4 …)")
    return value.strip().lower()


def _ratios_ordered(verify: dict[str, Any]) -> dict[str, Any]:
    if verify["min_size_ratio"] >= verify["max_size_ratio"]:
        raise vol.Invalid("min_size_ratio must be smaller than max_size_ratio", path=["min_size_ratio"])
    return verify


_POSITIVE = vol.All(vol.Coerce(float), vol.Range(min=0))
_OPTIONAL_POSITIVE = vol.Any(None, _POSITIVE)

CANDIDATES_SCHEMA = vol.Schema(
    {
        vol.Optional("skip_codecs", default=["hevc", "av1"]): [_codec],
        vol.Optional("codecs", default=[]): [_codec],
        vol.Optional("min_bits_per_pixel", default=None): _OPTIONAL_POSITIVE,
        vol.Optional("min_mb_per_hour", default=None): _OPTIONAL_POSITIVE,
        vol.Optional("min_size", default=0.0): _POSITIVE,
        vol.Optional("frame_rate", default=24.0): vol.All(vol.Coerce(float), vol.Range(min=1, max=300)),
        vol.Optional("target_bits_per_pixel", default=0.05): vol.All(vol.Coerce(float), vol.Range(min=0.001)),
    }
)

VERIFY_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Optional("full_decode", default=True): bool,
            vol.Optional("duration_tolerance", default=0.5): vol.All(vol.Coerce(float), vol.Range(min=0, max=100)),
            vol.Optional("min_size_ratio", default=0.01): vol.All(vol.Coerce(float), vol.Range(min=0)),
            vol.Optional("max_size_ratio", default=2.0): vol.All(vol.Coerce(float), vol.Range(min=0.01)),
        }
    ),
    _ratios_ordered,
)

SCHEDULE_SCHEMA = vol.Schema({vol.Required("start"): _clock, vol.Required("end"): _clock})

TRANSCODE_SCHEMA = vol.Schema(
    {
        vol.Optional("profile", default="balanced"): vol.All(str, vol.Length(min=1)),
        vol.Optional("transcoder"): vol.All(str, vol.Length(min=1)),
        vol.Optional("libraries", default=[]): [vol.Any(int, str)],
        vol.Optional("concurrency", default=1): vol.All(vol.Coerce(int), vol.Range(min=1, max=16)),
        vol.Optional("auto_queue", default=False): bool,
        vol.Optional("schedule"): vol.Any(None, SCHEDULE_SCHEMA),
        vol.Optional("minimum_savings", default=5.0): vol.All(vol.Coerce(float), vol.Range(min=0, max=99)),
        vol.Optional("progress_interval", default=1.0): vol.All(vol.Coerce(float), vol.Range(min=0.05, max=60)),
        vol.Optional("candidates", default={}): CANDIDATES_SCHEMA,
        vol.Optional("verify", default={}): VERIFY_SCHEMA,
    }
)


def in_schedule(schedule: dict[str, str] | None, hour: int, minute: int) -> bool:
    """Whether local time ``hour:minute`` lies in ``schedule`` (``{"start", "end"}`` as HH:MM;
    ``end`` before ``start`` wraps past midnight; ``start == end`` is the whole day). No
    schedule means always."""
    if not schedule:
        return True
    now = hour * 60 + minute
    sh, sm = map(int, schedule["start"].split(":"))
    eh, em = map(int, schedule["end"].split(":"))
    start, end = sh * 60 + sm, eh * 60 + em
    if start == end:
        return True
    if start < end:
        return start <= now < end
    return now >= start or now < end
