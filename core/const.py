"""Names shared across the core: event types, media types and defaults."""

from __future__ import annotations

from typing import Final

#: Any event type; listen to it to receive every event.
MATCH_ALL: Final = "*"

EVENT_HUB_START: Final = "hub_start"
EVENT_HUB_STARTED: Final = "hub_started"
EVENT_HUB_STOP: Final = "hub_stop"
EVENT_STATE_CHANGED: Final = "state_changed"
EVENT_SERVICE_REGISTERED: Final = "service_registered"
EVENT_SERVICE_CALLED: Final = "service_called"
EVENT_PLUGIN_STATE: Final = "plugin_state_changed"
EVENT_DEVICE_REGISTRY_UPDATED: Final = "device_registry_updated"
EVENT_ENTITY_REGISTRY_UPDATED: Final = "entity_registry_updated"
EVENT_DISCOVERY: Final = "discovery"

EVENT_MEDIA_ADDED: Final = "media_added"
EVENT_MEDIA_UPDATED: Final = "media_updated"
EVENT_MEDIA_REMOVED: Final = "media_removed"
EVENT_MEDIA_MOVED: Final = "media_moved"
EVENT_MEDIA_ERROR: Final = "media_error"
EVENT_SCAN_STARTED: Final = "library_scan_started"
EVENT_SCAN_FINISHED: Final = "library_scan_finished"

EVENT_GRAB_UPDATED: Final = "acquisition_grab_updated"
EVENT_GRABBED: Final = "acquisition_grabbed"
EVENT_IMPORTED: Final = "acquisition_imported"
EVENT_DOWNLOAD_FAILED: Final = "acquisition_download_failed"
EVENT_PROVIDER_HEALTH: Final = "acquisition_health_changed"
EVENT_WANTED_CHANGED: Final = "acquisition_wanted_changed"

#: Library (and media item) types. Source: the seed architecture's media types.
MEDIA_TYPES: Final = ("movies", "tv", "music", "photos", "ebooks", "comics", "audiobooks")

DEFAULT_PORT: Final = 8765
ZEROCONF_SERVICE_TYPE: Final = "_omnimedia._tcp.local."

# Transcoding, playback and casting (see core/transcode, core/playback, core/casting)
EVENT_TRANSCODE_JOB: Final = "transcode_job_updated"
EVENT_PLAYBACK_SESSION: Final = "playback_session_updated"
EVENT_PLAYBACK_POSITION: Final = "playback_position_updated"
EVENT_CAST_STATE: Final = "cast_state_changed"
# Live TV and DVR (data: see docs/dvr.md)
EVENT_DVR_GUIDE: Final = "dvr_guide_updated"
EVENT_DVR_LINEUP: Final = "dvr_lineup_updated"
EVENT_DVR_SCHEDULE: Final = "dvr_schedule_updated"
EVENT_DVR_RECORDING: Final = "dvr_recording_updated"
EVENT_DVR_LIVE: Final = "dvr_live_session_updated"
