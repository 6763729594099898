"""The shapes the DVR engine and the tuner plugins share.

Times are UTC epoch seconds (``float``) everywhere in the engine; local time appears only where a
user writes it (a daily rule's "20:00") and is converted with the DVR's time zone
(:func:`omnimedia.core.dvr.config.dvr_timezone`).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import OmniMediaError

__all__ = [
    "LineupChannel", "TunerError", "TunerBusy", "UnknownChannel", "TunerUnavailable", "TunerStream",
    "Programme", "GuideChannel", "Airing", "ScheduleEntry", "Conflict", "ImportResult",
]


@dataclass(frozen=True, slots=True)
class LineupChannel:
    """One channel a tuner can receive.

    ``number``: the guide number as the device or playlist gives it ("5.1", "101"); channels are
    identified across tuners by this string (two tuners with the same number carry the same
    channel). ``name``: the station name ("KQED-HD"). ``url``: where the tuner streams it from
    (informational). ``hd``/``favorite``/``drm``/``radio``: flags (HDHomeRun ``HD``,
    ``Favorite``, ``DRM``; ``radio`` for audio-only services). ``video_codec`` /
    ``audio_codec``: as the device reports them ("MPEG2", "H264", "AC3"), ``None`` when absent.
    ``guide_id``: a guide channel id hint (M3U ``tvg-id``), ``logo`` a URL, ``group`` a
    category (M3U ``group-title``). ``extra``: whatever else the source gives."""

    number: str
    name: str
    url: str | None = None
    hd: bool = False
    favorite: bool = False
    drm: bool = False
    radio: bool = False
    video_codec: str | None = None
    audio_codec: str | None = None
    guide_id: str | None = None
    logo: str | None = None
    group: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TunerError(OmniMediaError):
    """A tuner could not give a stream. ``device_id`` names the device when known."""

    def __init__(self, message: str, *, device_id: str | None = None) -> None:
        super().__init__(message)
        self.device_id = device_id


class TunerBusy(TunerError):
    """Every tuner of the device is in use (HDHomeRun: HTTP 503; IPTV: the configured number
    of concurrent streams is reached)."""


class UnknownChannel(TunerError):
    """The device does not carry this channel (HDHomeRun: HTTP 404)."""


class TunerUnavailable(TunerError):
    """The device cannot be reached, or the stream broke (connection refused or reset, a
    timeout, an HTTP 5xx other than 503)."""


class TunerStream(abc.ABC):
    """One open stream of one channel: MPEG-TS bytes (``content_type``) until closed.

    Use as ``async with await tuner.open_stream("5.1") as stream: async for chunk in stream: …``.
    Iteration yields non-empty ``bytes`` chunks (at most about 64 KiB each, so memory stays
    bounded) and ends when the source ends the stream (a ``duration`` ran out, the playlist
    ended); a broken connection raises :class:`TunerUnavailable`. The consumer applies its own
    stall timeout around each chunk. ``close()`` frees the device's tuner; it is idempotent.
    ``tuner_index``: which of the device's tuners serves it, when the device says (else ``None``).
    """

    content_type: str = "video/mp2t"
    tuner_index: int | None = None

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[bytes]: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> TunerStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


@dataclass(slots=True)
class GuideChannel:
    """A channel of the guide (XMLTV ``<channel id=…>``): ``id``, ``names`` (every
    ``display-name``, first is the main one), ``number`` (a display-name that looks like a
    channel number, e.g. "5.1", else ``None``), ``icon`` (URL), ``source`` (the guide source's name)."""

    id: str
    names: list[str]
    number: str | None = None
    icon: str | None = None
    source: str = ""


@dataclass(slots=True)
class Programme:
    """One airing in the guide (XMLTV ``<programme>``).

    ``channel``: guide channel id. ``start``/``stop``: UTC epoch seconds (XMLTV times without a
    zone are UTC). ``season``/``episode``: one-based numbers (``xmltv_ns`` is zero-based and is
    converted; ``onscreen`` "S01E02" is parsed), ``episode_id``: a stable episode identity when
    the guide gives one (``dd_progid``, or the raw ``xmltv_ns``/``onscreen`` value), ``new``:
    the guide marks it ``<new/>``; ``previously_shown``: the guide marks it
    ``<previously-shown>``; ``original_air_date``: "YYYY-MM-DD" when given. ``categories``:
    every ``<category>`` text. ``id``: the database id once stored."""

    channel: str
    start: float
    stop: float
    title: str
    subtitle: str | None = None
    description: str | None = None
    categories: list[str] = field(default_factory=list)
    season: int | None = None
    episode: int | None = None
    episode_id: str | None = None
    new: bool = False
    previously_shown: bool = False
    original_air_date: str | None = None
    icon: str | None = None
    year: int | None = None
    id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Airing:
    """Something a rule wants recorded: ``rule_id``, ``priority`` (higher wins), ``channels``
    (lineup channel numbers that carry it, best first), ``start``/``stop`` (UTC epoch seconds,
    *without* padding), ``padding_before``/``padding_after`` (seconds), ``title``,
    ``programme_id`` (guide programme, ``None`` for a manual time slot), ``episode_key`` (the
    identity of the episode: airings with the same key are alternates of each other, only one is
    recorded), plus the guide metadata to import with (``subtitle``, ``description``, ``season``,
    ``episode``, ``original_air_date``, ``categories``, ``year``)."""

    rule_id: int | None
    priority: int
    channels: list[str]
    start: float
    stop: float
    title: str
    padding_before: float = 0.0
    padding_after: float = 0.0
    programme_id: int | None = None
    episode_key: str | None = None
    subtitle: str | None = None
    description: str | None = None
    season: int | None = None
    episode: int | None = None
    original_air_date: str | None = None
    categories: list[str] = field(default_factory=list)
    year: int | None = None

    @property
    def padded_start(self) -> float:
        return self.start - self.padding_before

    @property
    def padded_stop(self) -> float:
        return self.stop + self.padding_after

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class ScheduleEntry:
    """An airing the scheduler will record: on ``channel`` (a number) with a tuner of
    ``device_id``."""

    airing: Airing
    channel: str
    device_id: str

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "device_id": self.device_id, **self.airing.as_dict()}


@dataclass(slots=True)
class Conflict:
    """An airing that will *not* be recorded, and why, in words a user understands:
    ``reason`` is one of ``no_tuner`` (every tuner that carries the channel is taken by
    ``blocked_by`` at that time), ``no_source`` (no tuner carries any of its channels),
    ``alternate`` (another airing of the same episode is recorded instead: ``alternate_of``),
    ``in_past`` (it ended before it could start); ``message`` says it in a sentence with titles,
    channels and local times. ``blocked_by``: the airings (as dicts) that hold the tuners."""

    airing: Airing
    reason: str
    message: str
    blocked_by: list[dict[str, Any]] = field(default_factory=list)
    alternate_of: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason, "message": self.message, "blocked_by": self.blocked_by,
            "alternate_of": self.alternate_of, **self.airing.as_dict(),
        }


@dataclass(slots=True)
class ImportResult:
    """What one guide import did: ``source`` (name), ``channels`` and ``programmes`` stored,
    ``skipped`` programmes (bad or missing times, unknown channel, no title), ``overlaps``
    (programmes overlapping the previous one on the same channel; kept), ``errors`` (up to 50
    messages with line numbers), ``partial`` (the document broke off: what came before the
    break is imported), ``seconds`` taken."""

    source: str
    channels: int = 0
    programmes: int = 0
    skipped: int = 0
    overlaps: int = 0
    errors: list[str] = field(default_factory=list)
    partial: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
