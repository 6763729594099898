"""The ``ffmpeg`` transcoder: profiles, hardware encoder detection, and
:class:`~omnimedia.core.plugins.kinds.Transcoder` on top of ffmpeg-python.

- :mod:`.profiles` — the built-in profiles (``maximum_quality``, ``balanced``,
  ``maximum_space``: libx265 at CRF 20/slow, 23/medium, 28/medium) and YAML-defined ones;
- :mod:`.hardware` — VAAPI, QSV, NVENC and VideoToolbox encoders found by a one-second test
  encode each, cached; ``degraded`` after a failure on a real job;
- :mod:`.command` — which streams go where, per container, and the ffmpeg-python graph;
- :mod:`.transcoder` — :class:`FfmpegTranscoder`, which runs the command through
  :class:`omnimedia.core.ffmpeg.FfmpegProcess` and falls back to software when hardware fails.

Configuration (``plugins: - platform: ffmpeg``) and behaviour are documented in
``docs/plugins.md`` ("Built-in transcoder").
"""

from __future__ import annotations

import logging
from typing import Any

from omnimedia.core.ffmpeg import FfmpegNotFound, which
from omnimedia.core.plugins import PluginManifest, hookimpl
from omnimedia.core.plugins.kinds import Transcoder

from .errors import ProbeError, TranscodePlanError, telling_line
from .profiles import BUILTIN_PROFILES
from .transcoder import CONFIG_SCHEMA, PLATFORM, FfmpegTranscoder

__all__ = [
    "BUILTIN_PROFILES", "CONFIG_SCHEMA", "PLATFORM", "FfmpegTranscoder", "ProbeError", "TranscodePlanError",
    "telling_line",
]

_LOGGER = logging.getLogger(__name__)


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.2.0",
        description="Transcodes media with ffmpeg (libx265/libx264, or VAAPI/QSV/NVENC/VideoToolbox when they work)",
        kinds=("transcoder",),
        config_schema=CONFIG_SCHEMA,
        documentation="https://ffmpeg.org/ffmpeg.html",
    )


@hookimpl
def omnimedia_transcoders() -> list[type[Transcoder]]:
    return [FfmpegTranscoder]


@hookimpl
def omnimedia_setup(hub: Any, entries: list[dict[str, Any]]) -> None:
    """Nothing to start: encoders are tested on first use. A missing ffmpeg is only logged —
    the hub runs on, and each transcode says ``FfmpegNotFound``."""
    for entry in entries or [{"ffmpeg_binary": "ffmpeg"}]:
        binary = entry.get("ffmpeg_binary", "ffmpeg")
        try:
            which(binary)
        except FfmpegNotFound as err:
            _LOGGER.warning("ffmpeg plugin: %s; transcoding will fail until it is installed", err)
