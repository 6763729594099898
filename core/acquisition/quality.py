"""The quality ladder, size limits and quality profiles.

Qualities use Sonarr/Radarr's names and order (source: Sonarr ``Quality.cs`` /
``QualityDefinitionService`` defaults, Radarr's quality definitions): a higher ``rank`` is a
better quality. The ladder is Sonarr's, with Radarr's movie-only rungs added where Radarr puts
them (pre-release copies below SDTV, ``Bluray-576p`` above ``Bluray-480p``, ``BR-DISK`` on top);
it holds every name :func:`omnimedia.core.library.naming.quality_name` returns. Size limits are megabytes per minute of runtime, ``None`` for "no limit".

A *quality profile* (configured under ``acquisition: quality_profiles:``) lists the allowed
qualities, the *cutoff* (once a file of this quality or better is in the library, the engine stops
upgrading) and whether upgrades are allowed at all, plus release filters (must / must-not
contain, preferred words with scores, minimum seeders, minimum age, delay).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Quality:
    """One rung of the ladder. ``min_size``/``max_size``: default MB per minute of runtime."""

    name: str
    rank: int
    source: str
    resolution: int
    min_size: float | None
    max_size: float | None


def _ladder() -> tuple[Quality, ...]:
    rows = [
        # name,          source,       resolution, min MB/min, max MB/min
        ("Unknown", "unknown", 0, None, None),
        # Radarr's pre-release sources (movies), below every retail source
        ("WORKPRINT", "workprint", 480, None, 100.0),
        ("CAM", "cam", 480, None, 100.0),
        ("TELESYNC", "telesync", 480, None, 100.0),
        ("TELECINE", "telecine", 480, None, 100.0),
        ("REGIONAL", "dvd", 480, None, 100.0),
        ("DVDSCR", "dvd", 480, None, 100.0),
        ("SDTV", "television", 480, 2.0, 100.0),
        ("WEBRip-480p", "webrip", 480, 2.0, 100.0),
        ("WEBDL-480p", "web", 480, 2.0, 100.0),
        ("DVD", "dvd", 480, 2.0, 100.0),
        ("Bluray-480p", "bluray", 480, 2.0, 100.0),
        ("Bluray-576p", "bluray", 576, 2.0, 100.0),
        ("HDTV-720p", "television", 720, 3.0, 125.0),
        ("HDTV-1080p", "television", 1080, 4.0, 125.0),
        ("Raw-HD", "televisionraw", 1080, 4.0, None),
        ("WEBRip-720p", "webrip", 720, 3.0, 130.0),
        ("WEBDL-720p", "web", 720, 3.0, 130.0),
        ("Bluray-720p", "bluray", 720, 4.0, 130.0),
        ("WEBRip-1080p", "webrip", 1080, 4.0, 130.0),
        ("WEBDL-1080p", "web", 1080, 4.0, 130.0),
        ("Bluray-1080p", "bluray", 1080, 4.0, 155.0),
        ("Remux-1080p", "blurayremux", 1080, 35.0, None),
        ("HDTV-2160p", "television", 2160, 35.0, 199.0),
        ("WEBRip-2160p", "webrip", 2160, 35.0, None),
        ("WEBDL-2160p", "web", 2160, 35.0, None),
        ("Bluray-2160p", "bluray", 2160, 35.0, None),
        ("Remux-2160p", "blurayremux", 2160, 35.0, None),
        # a whole Blu-ray disc (ISO / BDMV), Radarr's top rung; no stock profile allows it
        ("BR-DISK", "bluray", 1080, None, None),
    ]
    return tuple(Quality(n, i, s, r, lo, hi) for i, (n, s, r, lo, hi) in enumerate(rows))


#: Every known quality, worst first.
QUALITIES: tuple[Quality, ...] = _ladder()
BY_NAME: dict[str, Quality] = {q.name: q for q in QUALITIES}
QUALITY_NAMES: tuple[str, ...] = tuple(q.name for q in QUALITIES)


def quality(name: str | None) -> Quality:
    """The :class:`Quality` called ``name`` (``Unknown`` for None or an unknown name)."""
    return BY_NAME.get(name or "Unknown", BY_NAME["Unknown"])


def rank(name: str | None) -> int:
    """Position of ``name`` on the ladder (0 for Unknown)."""
    return quality(name).rank


#: Bytes in the "MB" of size limits and "GB" of messages: binary units (MiB/GiB), as Sonarr and
#: Radarr count them (their ``Megabytes()`` / human-readable sizes are powers of 1024).
MB = 1024 * 1024
GB = 1024 * MB


def format_size(num_bytes: float) -> str:
    """A size for people: ``"9.8 GB"``, ``"850 MB"``, ``"12 KB"`` (binary units, see :data:`MB`)."""
    if num_bytes >= GB:
        return f"{num_bytes / GB:.1f} GB"
    if num_bytes >= MB:
        return f"{num_bytes / MB:.0f} MB"
    return f"{num_bytes / 1024:.0f} KB"


@dataclass(slots=True)
class QualityProfile:
    """A validated profile from the configuration (see :data:`DEFAULT_PROFILES` for examples).

    ``qualities`` are the allowed quality names; ``cutoff`` one of them. ``sizes`` overrides the
    default size limits per quality: ``{name: {"min": MB/min, "max": MB/min}}``.
    ``preferred_words`` maps a word or ``/regex/`` to a score added when a release title
    matches. ``minimum_age`` and ``delay`` are minutes; ``minimum_seeders`` applies to torrents.
    ``preferred_protocol`` breaks ties (``torrent`` or ``usenet``).
    """

    name: str
    qualities: list[str]
    cutoff: str
    upgrades_allowed: bool = True
    sizes: dict[str, dict[str, float | None]] = field(default_factory=dict)
    must_contain: list[str] = field(default_factory=list)
    must_not_contain: list[str] = field(default_factory=list)
    preferred_words: dict[str, int] = field(default_factory=dict)
    minimum_seeders: int = 1
    minimum_age: float = 0.0
    delay: float = 0.0
    preferred_protocol: str = "torrent"
    minimum_score: int | None = None

    @classmethod
    def from_config(cls, data: dict[str, Any]) -> QualityProfile:
        return cls(**data)

    def allows(self, quality_name: str | None) -> bool:
        return quality_name in self.qualities

    def size_limits(self, quality_name: str) -> tuple[float | None, float | None]:
        """(min, max) MB per minute for ``quality_name``: this profile's override, else the default."""
        q = quality(quality_name)
        override = self.sizes.get(quality_name, {})
        return override.get("min", q.min_size), override.get("max", q.max_size)

    def meets_cutoff(self, quality_name: str | None) -> bool:
        """True when a file of ``quality_name`` is at or above the cutoff."""
        return quality_name is not None and rank(quality_name) >= rank(self.cutoff)

    def size_range(self, quality_name: str, minutes: float) -> tuple[float | None, float | None]:
        """(min, max) bytes for a release of ``quality_name`` lasting ``minutes`` (None = no limit)."""
        lo, hi = self.size_limits(quality_name)
        return (lo * minutes * MB if lo else None), (hi * minutes * MB if hi is not None else None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "qualities": list(self.qualities), "cutoff": self.cutoff,
            "upgrades_allowed": self.upgrades_allowed, "sizes": dict(self.sizes),
            "must_contain": list(self.must_contain), "must_not_contain": list(self.must_not_contain),
            "preferred_words": dict(self.preferred_words), "minimum_seeders": self.minimum_seeders,
            "minimum_age": self.minimum_age, "delay": self.delay,
            "preferred_protocol": self.preferred_protocol, "minimum_score": self.minimum_score,
        }


def default_profile(name: str = "Any") -> QualityProfile:
    """The built-in profile ``name`` (:data:`DEFAULT_PROFILES`), with every other field at its
    default. Raises ``KeyError`` for an unknown name."""
    return QualityProfile(name=name, **{k: list(v) if isinstance(v, list) else v
                                        for k, v in DEFAULT_PROFILES[name].items()})


def _names(*names: str) -> list[str]:
    return list(names)


#: What even the "Any" profile leaves out: an unknown quality, pre-release copies (cam, telesync
#: …, which nobody wants grabbed unasked) and whole disc images (not a playable file).
_NOT_IN_ANY = frozenset({"Unknown", "WORKPRINT", "CAM", "TELESYNC", "TELECINE", "REGIONAL", "DVDSCR", "BR-DISK"})


#: Profiles every hub has unless the configuration defines ones with the same names; named after
#: Sonarr's/Radarr's stock profiles so that users recognise them.
DEFAULT_PROFILES: dict[str, dict[str, Any]] = {
    "Any": {
        "qualities": [q.name for q in QUALITIES if q.name not in _NOT_IN_ANY],
        "cutoff": "SDTV",
        "upgrades_allowed": False,
    },
    "SD": {
        "qualities": _names("SDTV", "WEBRip-480p", "WEBDL-480p", "DVD", "Bluray-480p"),
        "cutoff": "SDTV",
    },
    "HD-720p": {
        "qualities": _names("HDTV-720p", "WEBRip-720p", "WEBDL-720p", "Bluray-720p"),
        "cutoff": "HDTV-720p",
    },
    "HD-1080p": {
        "qualities": _names("HDTV-1080p", "WEBRip-1080p", "WEBDL-1080p", "Bluray-1080p", "Remux-1080p"),
        "cutoff": "WEBDL-1080p",
    },
    "HD - 720p/1080p": {
        "qualities": _names(
            "HDTV-720p", "HDTV-1080p", "WEBRip-720p", "WEBDL-720p", "Bluray-720p",
            "WEBRip-1080p", "WEBDL-1080p", "Bluray-1080p",
        ),
        "cutoff": "WEBDL-1080p",
    },
    "Ultra-HD": {
        "qualities": _names("HDTV-2160p", "WEBRip-2160p", "WEBDL-2160p", "Bluray-2160p", "Remux-2160p"),
        "cutoff": "WEBDL-2160p",
    },
}
