"""The ``ffmpeg`` transcoder (filled in by the transcoder work): profiles, hardware encoder
detection, and :class:`~omnimedia.core.plugins.kinds.Transcoder` on top of ffmpeg-python."""

from __future__ import annotations

from omnimedia.core.plugins import PluginManifest, hookimpl

PLATFORM = "ffmpeg"


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="Transcodes media with ffmpeg (software and hardware encoders)",
        kinds=("transcoder",),
    )
