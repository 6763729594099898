"""The ``dvr:`` section of configuration.yaml.

Example (every key is optional; these are the defaults unless noted)::

    dvr:
      recordings_path: recordings    # where recordings are written while they run (relative to the
                                     # config folder); finished ones are imported into `library`
      library: TV                    # the library (name, path or id) recordings are imported into;
                                     # default: the first library of type tv, else none (recordings
                                     # stay in recordings_path)
      timezone: Europe/Berlin        # for rules written in local time; default: the system's zone
      guide:
        - name: main                 # default: the file name or host
          source: guide.xml          # a file (relative to the config folder) or an http(s) URL
          refresh: 12                # hours between imports (0: only at start and on demand)
          lang: en                   # preferred language of titles and descriptions
      guide_days: 14                 # programmes older than a day and further ahead are dropped
      padding_before: 60             # seconds, unless a rule says otherwise
      padding_after: 180
      schedule_days: 7               # how far ahead the scheduler plans and reports conflicts
      stall_timeout: 10              # seconds without a byte before a stream counts as dropped
      reconnect_delay: 2             # seconds between reconnect attempts (doubles, up to 30)
      container: mkv                 # finished recordings: mkv (stream copy, with metadata and
                                     # chapters) or ts (as received)
      commercials:
        detect: auto                 # auto (comskip when installed, else ffmpeg), comskip, ffmpeg, off
        action: chapters             # chapters, edl (a .edl sidecar), cut (a copy without them), none
        comskip_ini: null            # a comskip.ini to use instead of ours
        keep_original: false         # after a verified cut, keep the uncut file as well
      post_process:
        transcode_profile: null      # a transcoder profile to compress recordings with (off when null)
        transcoder: null             # which transcoder entry; default: the first
      live:
        idle_timeout: 15             # seconds without a viewer before a live TV tuner is released
        max_sessions: 2              # live TV sessions at once (recordings are not counted)
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import voluptuous as vol

COMMERCIAL_DETECTORS = ("auto", "comskip", "ffmpeg", "off")
COMMERCIAL_ACTIONS = ("chapters", "edl", "cut", "none")
CONTAINERS = ("mkv", "ts")


def _zone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise vol.Invalid(f"unknown time zone (use an IANA name such as Europe/Berlin): {err}") from None
    return str(value)


_SECONDS = vol.All(vol.Coerce(float), vol.Range(min=0))

GUIDE_SOURCE_SCHEMA = vol.Schema(
    {
        vol.Optional("name"): str,
        vol.Required("source"): str,
        vol.Optional("refresh", default=12.0): vol.All(vol.Coerce(float), vol.Range(min=0)),
        # preferred language of titles and descriptions (the first one given when absent)
        vol.Optional("lang"): str,
    }
)

DVR_SCHEMA = vol.Schema(
    {
        vol.Optional("recordings_path", default="recordings"): str,
        vol.Optional("library"): vol.Any(str, int),
        vol.Optional("timezone"): _zone,
        vol.Optional("guide", default=[]): [GUIDE_SOURCE_SCHEMA],
        vol.Optional("guide_days", default=14): vol.All(vol.Coerce(int), vol.Range(min=1, max=60)),
        vol.Optional("padding_before", default=60.0): _SECONDS,
        vol.Optional("padding_after", default=180.0): _SECONDS,
        vol.Optional("schedule_days", default=7): vol.All(vol.Coerce(int), vol.Range(min=1, max=60)),
        vol.Optional("stall_timeout", default=10.0): vol.All(vol.Coerce(float), vol.Range(min=0.5)),
        vol.Optional("reconnect_delay", default=2.0): vol.All(vol.Coerce(float), vol.Range(min=0.1)),
        vol.Optional("container", default="mkv"): vol.In(CONTAINERS),
        vol.Optional("commercials", default={}): vol.Schema(
            {
                # YAML reads an unquoted `off` as false
                vol.Optional("detect", default="auto"): vol.All(
                    vol.Any(vol.All(False, lambda _: "off"), str), vol.In(COMMERCIAL_DETECTORS)
                ),
                vol.Optional("action", default="chapters"): vol.In(COMMERCIAL_ACTIONS),
                vol.Optional("comskip_ini"): vol.Any(None, str),
                vol.Optional("keep_original", default=False): bool,
            }
        ),
        vol.Optional("post_process", default={}): vol.Schema(
            {
                vol.Optional("transcode_profile"): vol.Any(None, str),
                vol.Optional("transcoder"): vol.Any(None, str),
            }
        ),
        vol.Optional("live", default={}): vol.Schema(
            {
                vol.Optional("idle_timeout", default=15.0): vol.All(vol.Coerce(float), vol.Range(min=1)),
                vol.Optional("max_sessions", default=2): vol.All(vol.Coerce(int), vol.Range(min=0)),
            }
        ),
    }
)


def dvr_timezone(settings: dict[str, Any]) -> tzinfo:
    """The zone rules in local time are read in: ``dvr.timezone``, else the system's (tzlocal)."""
    if settings.get("timezone"):
        return ZoneInfo(settings["timezone"])
    import tzlocal

    return tzlocal.get_localzone()
