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

#: Schema of one ``device_profiles`` entry; the playback decision work fills it in
#: (see :class:`~.types.DeviceProfile` for the fields).
DEVICE_PROFILE_SCHEMA: Any = vol.Schema({vol.Required("name"): str}, extra=vol.ALLOW_EXTRA)

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
