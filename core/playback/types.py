"""Values shared by the playback decision, the streaming engine and casting.

A :class:`DeviceProfile` says what a client can play natively; :func:`~.decision.decide` compares
an item's streams with it and returns a :class:`Decision`; the streaming engine turns the decision
into a URL (:class:`PlaybackPlan`). Bitrates are bits per second, durations seconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: How an item reaches a client, best first: the file as it is (``direct_play``), the same
#: streams in another container (``direct_stream``, a remux), or re-encoded (``transcode``).
Method = Literal["direct_play", "direct_stream", "transcode"]
#: How a subtitle track reaches the client: not at all, as a WebVTT sidecar, kept in the
#: container, or burnt into the picture (only for image subtitles the client cannot draw).
SubtitleDelivery = Literal["none", "webvtt", "embed", "burn_in"]
#: Streaming protocols for ``direct_stream`` / ``transcode``.
Protocol = Literal["http", "progressive", "hls"]


@dataclass(slots=True)
class DeviceProfile:
    """What one kind of client plays natively.

    - ``containers``: file containers it can direct-play (ffprobe/our names: ``mp4``, ``mkv``,
      ``webm``, ``mpegts`` …).
    - ``video_codecs`` / ``audio_codecs``: ffprobe ``codec_name`` values (``h264``, ``hevc``,
      ``vp9``, ``av1``, ``aac``, ``mp3``, ``opus``, ``ac3``, ``eac3``, ``flac`` …).
    - ``max_video_level`` per codec (ffprobe's ``level``: 41 for H.264 level 4.1),
      ``video_profiles`` per codec (``["high", "main", "baseline"]``), ``max_width`` /
      ``max_height`` (pixels), ``max_audio_channels``, ``max_bitrate`` (bit/s, whole stream).
    - ``subtitle_formats``: formats it renders itself as sidecars (``vtt``, ``srt``) or embedded.
    - ``streaming``: protocol for remux/transcode (``progressive`` fragmented MP4 for browsers,
      ``hls`` for TVs and Cast); ``transcode_video_codec`` / ``transcode_audio_codec`` /
      ``transcode_container`` what to produce when it must transcode.
    - ``dlna``: send DLNA headers (``contentFeatures.dlna.org``, ``transferMode.dlna.org``).
    """

    name: str
    description: str = ""
    containers: list[str] = field(default_factory=list)
    video_codecs: list[str] = field(default_factory=list)
    audio_codecs: list[str] = field(default_factory=list)
    video_profiles: dict[str, list[str]] = field(default_factory=dict)
    max_video_level: dict[str, int] = field(default_factory=dict)
    max_width: int | None = None
    max_height: int | None = None
    max_audio_channels: int | None = None
    max_bitrate: int | None = None
    subtitle_formats: list[str] = field(default_factory=list)
    streaming: Protocol = "progressive"
    transcode_video_codec: str = "h264"
    transcode_audio_codec: str = "aac"
    transcode_container: str = "mp4"
    dlna: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Decision:
    """How to play one item on one device profile, and why.

    ``method``; ``reasons``: one sentence per thing that stopped a better method (empty for
    direct play), e.g. ``"audio codec dts is not supported (supported: aac, mp3, opus)"``;
    ``protocol`` (``http`` for direct play); ``container`` to send; ``video`` / ``audio``:
    ``"copy"`` or the codec to encode to; ``video_stream`` / ``audio_stream`` /
    ``subtitle_stream``: ffprobe stream indexes chosen (``None``: none); ``subtitles``;
    ``max_bitrate`` (bit/s) when the encoder must respect one; ``profile`` the device
    profile's name."""

    method: Method
    profile: str
    reasons: list[str] = field(default_factory=list)
    protocol: Protocol = "http"
    container: str | None = None
    video: str | None = "copy"
    audio: str | None = "copy"
    video_stream: int | None = None
    audio_stream: int | None = None
    subtitle_stream: int | None = None
    subtitles: SubtitleDelivery = "none"
    max_bitrate: int | None = None
    width: int | None = None
    height: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class PlaybackPlan:
    """What a client (or a renderer) is told to fetch: ``url`` relative to the hub
    (``/api/stream/12``, ``/api/playback/sessions/<id>/master.m3u8`` …), its ``mime_type``,
    the ``decision``, the ``session_id`` (``None`` for direct play, which needs no process),
    ``subtitles_url`` (a WebVTT sidecar) and ``start`` (seconds) it begins at."""

    url: str
    mime_type: str
    decision: Decision
    session_id: str | None = None
    subtitles_url: str | None = None
    start: float = 0.0
    duration: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url, "mime_type": self.mime_type, "decision": self.decision.as_dict(),
            "session_id": self.session_id, "subtitles_url": self.subtitles_url, "start": self.start,
            "duration": self.duration,
        }
