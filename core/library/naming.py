"""Release and file names → what they say (title, year, season, episode, quality…), via guessit.

guessit does the tokenising; a mapping layer on top turns its answer into the vocabulary of Sonarr and
Radarr and fixes the scene/P2P patterns it reads wrongly (titles that start with numbers, anime
``[Group] Title - Subtitle - 12`` names, tracker tags after the group, part/volume numbers in movie
titles, streaming-service tags without a source, …). Both are measured against the hand-recorded
real-world corpus in ``tests/data/release_names.tsv``.

Quality names follow Sonarr/Radarr's vocabulary (``SDTV``, ``DVD``, ``HDTV-720p``, ``WEBDL-1080p``,
``WEBRip-1080p``, ``Bluray-2160p``, ``Remux-1080p``, ``Raw-HD``, ``BR-DISK``, ``CAM`` …; every name
this module can produce is in :data:`QUALITY_NAMES`) so that profiles written for those tools read the
same here. Sources: Sonarr's ``Quality.cs``/``QualityParser.cs`` and Radarr's quality definitions
(which tokens mean which source: ``WEB`` alone is a WEB-DL, ``HDTV`` without a resolution is SDTV,
HDTV in MPEG-2 is Raw-HD, a Blu-ray with an AVC/VC-1/MPEG-2 stream and no encoder tag is a disc
image…). Only the *name* of a quality comes from here; ordering and profiles live elsewhere.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import re
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from babelfish import Language
from guessit import guessit

#: guessit ``source`` values grouped by the Sonarr/Radarr source they stand for.
_WEB = {"Web"}
_BLURAY = {"Blu-ray", "Ultra HD Blu-ray", "HD-DVD"}
_TV = {"HDTV", "Ultra HDTV", "Digital TV", "TV", "Satellite", "Video on Demand", "Digital Master",
       "Analog HDTV", "Pay-per-view", "VHS"}
_PRE_RELEASE = {"Camera": "CAM", "HD Camera": "CAM", "Telesync": "TELESYNC", "HD Telesync": "TELESYNC",
                "Telecine": "TELECINE", "HD Telecine": "TELECINE", "Workprint": "WORKPRINT"}
#: Streaming services whose catalogues are mostly anime (guessit's names for them).
_ANIME_SERVICES = {"Crunchy Roll", "Funimation", "HIDIVE", "VRV", "Wakanim", "Animax"}

#: Every quality name :func:`quality_name` can return (Sonarr's and Radarr's spelling), lowest first
#: within each source family. The ranking used for decisions is not defined here.
QUALITY_NAMES = (
    "WORKPRINT", "CAM", "TELESYNC", "TELECINE", "REGIONAL", "DVDSCR",
    "SDTV", "DVD", "WEBDL-480p", "WEBRip-480p", "Bluray-480p", "Bluray-576p",
    "HDTV-720p", "WEBDL-720p", "WEBRip-720p", "Bluray-720p", "Raw-HD",
    "HDTV-1080p", "WEBDL-1080p", "WEBRip-1080p", "Bluray-1080p", "Remux-1080p",
    "HDTV-2160p", "WEBDL-2160p", "WEBRip-2160p", "Bluray-2160p", "Remux-2160p", "BR-DISK",
)

KEYS = (
    "title", "year", "season", "episode", "episodes", "absolute_episode", "air_date", "episode_title",
    "type", "quality", "resolution", "source", "release_group", "proper", "repack", "version",
    "revision", "real", "seasons", "full_season", "absolute_episodes", "languages", "edition", "country",
    "streaming_service", "is_anime",
)


def _tok(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """A regex for ``pattern`` as a whole token: not glued to letters or digits on either side
    (``\\b`` would treat ``_`` as part of a word, and release names use it as a separator)."""
    return re.compile(rf"(?<![A-Za-z0-9])(?:{pattern})(?![A-Za-z0-9])", flags)


_PROPER_TOK = _tok(r"PROPER(\d?)")
_REPACK_TOK = _tok(r"(?:REPACK|RERIP)(\d?)")
_REAL_TOK = _tok(r"REAL", 0)  # Sonarr: upper-case only, so that "Real.Time…" stays a title
_RAWHD_TOK = _tok(r"Raw[-_. ]?HD")
_WEBMUX_TOK = _tok(r"WEB[-_. ]?Mux")
_REGIONAL_TOK = _tok(r"R[0-9]|REGIONAL")
_BRDISK_TOK = _tok(r"COMPLETE|ISO|BDISO|BD25|BD50|BD66|BD100|BDMV|BR[-_. ]?DISK")
_DISC_CODEC_TOK = _tok(r"AVC|VC[-_. ]?1|MVC|MPEG[-_. ]?2")
_HEVC_TOK = _tok(r"HEVC")
#: Streaming-service tags that mean WEB even when no WEB/WEB-DL token is present (Sonarr reads
#: "AmazonHD", "iTunesHD", "NetflixHD" as WEB-DL; "AMZN"/"NF"/… are the P2P spellings).
_SERVICE_TOK = _tok(r"AMZN|NF|NFLX|DSNP|DSNY|HMAX|ATVP|HULU|PCOK|PMTP|STAN|CRAV|iTunes(?:HD)?|AmazonHD|"
                    r"NetflixU?HD|WebHD|MaxdomeHD|FUNi|HIDI")
#: Scene language tags guessit does not always see (``DANISH``, ``CHINESE`` …) → ISO 639-3.
_LANGUAGE_TAGS = {
    "multi": "mul", "french": "fra", "truefrench": "fra", "vff": "fra", "vfq": "fra", "vf2": "fra",
    "german": "deu", "spanish": "spa", "castellano": "spa", "italian": "ita", "ita": "ita", "dutch": "nld",
    "flemish": "nld", "danish": "dan", "swedish": "swe", "norwegian": "nor", "finnish": "fin",
    "icelandic": "isl", "polish": "pol", "russian": "rus", "ukrainian": "ukr", "japanese": "jpn",
    "korean": "kor", "chinese": "zho", "mandarin": "zho", "cantonese": "zho", "hindi": "hin", "tamil": "tam",
    "telugu": "tel", "portuguese": "por", "brazilian": "por", "turkish": "tur", "czech": "ces",
    "hungarian": "hun", "greek": "ell", "hebrew": "heb", "arabic": "ara", "thai": "tha",
    "vietnamese": "vie", "romanian": "ron", "bulgarian": "bul", "english": "eng",
}
_LANGUAGE_TOK = _tok("|".join(_LANGUAGE_TAGS))
_ENCODE_TOK = _tok(r"[xh][-_. ]?26[45]|XviD|DivX|720p|BDRip|BRRip|REMUX")

_VIDEO_EXT_RE = re.compile(r"\.(?:mkv|mp4|m4v|avi|wmv|mov|mpg|mpeg|ts|m2ts|webm|flv|ogm|divx|iso)$",
                           re.IGNORECASE)
#: Site prefixes indexers and trackers put in front of names: "www.UIndex.org  -  ", "[ www.Speed.cd ] -".
_SITE_PREFIX_RE = re.compile(
    r"^\s*(?:\[\s*(?:www\.)?[\w-]+(?:\.[\w-]+)+\s*\]|www\.[\w-]+(?:\.[\w-]+)+)\s*-?\s*", re.IGNORECASE)
#: Tracker tags glued after the release group: "-KOGi[eztv.re].mkv", "-GLHF[rarbg]", "-Xclusive [eztv]".
_NOISE_SUFFIX_RE = re.compile(r"-?=\{[^}]*\}=?$")  # "-JiTB-={SPARROW}"
_TRACKER_SUFFIX_RE = re.compile(
    r"(-(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]+)\s*\[(?![0-9A-Fa-f]{8}\])[A-Za-z][A-Za-z0-9.]*\](\.[A-Za-z0-9]{2,4})?$")
#: A fansub group tag leading the name: "[SubsPlease] …".
_LEADING_GROUP_RE = re.compile(r"^\[([^\]]+)\][ _.]*")
#: Fansub episode names: "[Group] Title - 12 (1080p)", "[Group] Title - Subtitle - 05v2 [720p]",
#: "[Group] Title - 01-02 [..]", "[gg]_Toradora_-_25_[hash]". The title is everything up to the
#: last " - NN" that is followed by a bracket, the end, or an episode title.
_ANIME_RE = re.compile(
    r"^\[(?P<group>[^\]]+)\][ _.]*(?P<title>.+?)[ _.]+-[ _.]+"
    r"(?P<first>\d{1,4})(?:v(?P<v1>\d))?(?:[ _.]*-[ _.]*(?P<last>\d{1,4})(?:v(?P<v2>\d))?)?"
    r"(?=[ _.]*(?:[\[(]|$)|[ _.]+-[ _.]+[^\d\s])")
#: Fansub batches: "[Group] Title (01-28) (1080p) [Batch]".
_ANIME_BATCH_RE = re.compile(
    r"^\[(?P<group>[^\]]+)\][ _.]*(?P<title>.+?)[ _.]*\((?P<first>\d{1,4})-(?P<last>\d{1,4})\)")
#: A season named at the end of an anime title: "Mushoku Tensei S2", "… 6th Season", "… Season 2".
_ANIME_SEASON_RE = re.compile(
    r"^(?P<title>.+?)[ _.]+(?:S(?P<s1>\d{1,2})|(?P<s2>\d{1,2})(?:st|nd|rd|th)[ _.]+Season|Season[ _.]+(?P<s3>\d{1,2}))$",
    re.IGNORECASE)
_TITLE_YEAR_RE = re.compile(r"^(?P<title>.+?)[ _.]*\((?P<year>(?:19|20)\d{2})\)$")
#: Where the numbering starts in a TV name (used to find the title in front of it).
_MARKER_RE = re.compile(
    r"(?<![A-Za-z0-9])(?:S\d{1,4}[ ._-]?E\d{1,4}|S\d{1,2}(?=[ ._-]|$)|\d{1,2}x\d{2,3}"
    r"|(?:19|20)\d{2}[ ._-]\d{2}[ ._-]\d{2}|Season[ ._]\d{1,2})", re.IGNORECASE)
#: What lies between the two ends of an episode range: "-", "-E", "-1x", "-S01E".
_RANGE_GAP_RE = re.compile(r"\s*-\s*(?:\d{1,2}x|S\d{1,4}E|E)?", re.IGNORECASE)
#: UK "Series 4" = season 4, which guessit leaves in the title.
_UK_SERIES_RE = re.compile(r"^(?P<title>.+?)[ ._-]+Series[ ._-]?(?P<season>\d{1,2})(?![0-9])", re.IGNORECASE)
#: "Part.05" / "Part.5" in a name without a year: a mini-series episode (Sonarr reads it so); movie
#: sequels ("Part.2.2011", "Part.Two") come with a year.
_PART_EPISODE_RE = _tok(r"Part[ ._-]?\d{1,2}")

_EDITION_PHRASE = (
    r"(?:the[ ._-])?(?:director'?s(?:[ ._-]definitive)?|collector'?s|theatrical|ultimate|extended|special|"
    r"final|despecialized|hunter'?s|black[ ._-]and[ ._-]chrome|limited|deluxe|international|alternate|"
    r"alternative|\d{1,3}(?:st|nd|rd|th)[ ._-]anniversary|anniversary)[ ._-](?:cut|edition|version)"
)
_EDITION_WORD = (
    rf"{_EDITION_PHRASE}|extended|ultimate|unrated|uncut|uncensored|remastered|imax|criterion|redux|restored|"
    r"open[ ._-]?matte|dc"
)
_EDITION_RE = _tok(rf"(?:{_EDITION_WORD})(?:[ ._-]+(?:{_EDITION_WORD}))*")
_EDITION_SPELLING = {"directors": "Director's", "director's": "Director's", "collectors": "Collector's",
                     "collector's": "Collector's", "hunters": "Hunter's", "hunter's": "Hunter's",
                     "imax": "IMAX", "dc": "Director's Cut", "and": "and", "openmatte": "Open Matte"}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _first_int(value: Any) -> int | None:
    for v in _as_list(value):
        if isinstance(v, int):
            return v
    return None


def _resolution(screen_size: Any) -> str | None:
    """guessit's ``screen_size`` (``1080p``, ``1080i``, ``4K``, ``720x480``…) → ``"1080p"``-style."""
    if not isinstance(screen_size, str):
        return None
    m = re.match(r"^(\d{3,4})[pi]$", screen_size)
    if m:
        return f"{m.group(1)}p"
    m = re.match(r"^\d{3,4}x(\d{3,4})$", screen_size)
    if m:
        return f"{m.group(1)}p"
    if screen_size.upper() == "4K":
        return "2160p"
    return None


def _bucket(resolution: str | None) -> str | None:
    """Snap a resolution to the buckets Sonarr/Radarr use (480p, 576p, 720p, 1080p, 2160p)."""
    if resolution is None:
        return None
    lines = int(resolution[:-1])
    if lines >= 1600:
        return "2160p"
    if lines >= 900:
        return "1080p"
    if lines >= 700:
        return "720p"
    if lines >= 540:
        return "576p"
    return "480p"


def _is_br_disk(name: str, resolution: str | None, container: str | None) -> bool:
    """Radarr's BR-DISK rule: a Blu-ray named with its disc form (COMPLETE, ISO, BD50, BDMV…) or its
    untouched stream codec (AVC, VC-1, MPEG-2; HEVC unless 1080p), and no sign of an encode or remux."""
    if container or _ENCODE_TOK.search(name):
        return False
    if _BRDISK_TOK.search(name) or _DISC_CODEC_TOK.search(name):
        return True
    return bool(_HEVC_TOK.search(name)) and resolution != "1080p"


def quality_name(source: str | None, resolution: str | None, other: list[str], *,
                 video_codec: str | None = None, streaming_service: str | None = None,
                 name: str = "", container: str | None = None) -> str | None:
    """Sonarr/Radarr quality (one of :data:`QUALITY_NAMES`) for a guessit ``source``, a resolution
    (``"1080p"``-style), guessit's ``other`` tags and, optionally, its ``video_codec``,
    ``streaming_service``, ``container`` and the name itself (for tokens guessit does not report:
    ``WEBMux``, ``RawHD``, ``R5``, disc markers). ``None`` when the name says nothing about quality.

    Rules beyond guessit (from Sonarr's/Radarr's parsers): a streaming-service tag without a source
    means WEB; ``WEBMux`` and ``WEBRip`` are WEBRip, any other WEB a WEB-DL; ``UHD`` without a resolution
    is 2160p; HDTV in MPEG-2 is Raw-HD; HDTV under 720p is SDTV; a bare resolution is an HDTV capture
    of that size; remuxes are Remux-1080p or Remux-2160p.
    """
    others = {o.lower() for o in other}
    res = _bucket(resolution)
    if res is None and "ultra hd" in others and (source in _WEB or source in _BLURAY or streaming_service):
        res = "2160p"
    if source is None and _RAWHD_TOK.search(name):
        return "Raw-HD"
    if source in _PRE_RELEASE:
        return _PRE_RELEASE[source]
    if "screener" in others:
        return "DVDSCR"
    if source is None and ("region 5" in others or _REGIONAL_TOK.search(name)) and res is None:
        return "REGIONAL"
    if "remux" in others and (source is None or source in _BLURAY):
        return "Remux-2160p" if res == "2160p" else "Remux-1080p"
    if source in _BLURAY:
        if "rip" not in others and _is_br_disk(name, resolution, container):
            return "BR-DISK"
        if res is None and source == "Ultra HD Blu-ray":
            res = "2160p"
        return f"Bluray-{res or '480p'}"
    if source is None and (streaming_service or _SERVICE_TOK.search(name)):
        source = "Web"
    if source in _WEB:
        kind = "WEBRip" if ("rip" in others or "mux" in others or _WEBMUX_TOK.search(name)) else "WEBDL"
        return f"{kind}-{'480p' if res in (None, '576p') else res}"
    if source == "DVD":
        return "DVD"
    if source in _TV:
        if _RAWHD_TOK.search(name) or (video_codec == "MPEG-2" and res in ("720p", "1080p")):
            return "Raw-HD"
        if res in ("720p", "1080p", "2160p"):
            return f"HDTV-{res}"
        return "SDTV"
    if source is None and res is not None:
        # Sonarr's fallback: a bare resolution reads as a TV capture of that size.
        return "SDTV" if res in ("480p", "576p") else f"HDTV-{res}"
    return None


def quality_from_name(name: str) -> str | None:
    """Just the Sonarr/Radarr quality name of a release name (see :func:`parse_name`)."""
    return parse_name(name)["quality"]


# -- the parse ---------------------------------------------------------------------------------------
def _matches(g: dict[str, Any], key: str, start: int = 0) -> list[Any]:
    """guessit's (advanced) matches for ``key`` that begin at or after ``start``."""
    return [m for m in _as_list(g.get(key)) if m.span[0] >= start]


def _values(g: dict[str, Any], key: str, start: int = 0) -> list[Any]:
    seen: list[Any] = []
    for m in _matches(g, key, start):
        if m.value not in seen:
            seen.append(m.value)
    return seen


def _value(g: dict[str, Any], key: str, start: int = 0) -> Any:
    values = _values(g, key, start) or _values(g, key)
    return values[0] if values else None


def _clean_title(text: str) -> str | None:
    """Separators → spaces: dots and underscores in dotted names, underscores only in spaced ones
    (where a dot is punctuation: "Dr. Stone", "Kaiju No. 8")."""
    text = text.replace("_", " ")
    if text.strip().count(".") > text.strip().count(" "):
        text = text.replace(".", " ")
    text = re.sub(r"\s+", " ", text).strip(" -.")
    return text or None


def _edition(text: str) -> str | None:
    m = _EDITION_RE.search(text)
    if not m:
        return None
    words = re.split(r"[ ._-]+", m.group(0))
    if words and words[0].lower() == "the":
        words = words[1:]
    out: list[str] = []
    for i, word in enumerate(words):
        low = word.lower()
        if low == "open" and i + 1 < len(words) and words[i + 1].lower() == "matte":
            continue
        if low == "matte" and i and words[i - 1].lower() == "open":
            out.append("Open Matte")
            continue
        out.append(_EDITION_SPELLING.get(low, low if low[:1].isdigit() else word.capitalize()))
    return " ".join(out) or None


def _language_name(language: Any) -> str | None:
    code = getattr(language, "alpha3", None)
    if code == "mul":
        return "Multi"
    if code in (None, "und", "zxx"):
        return None
    try:
        name = language.name
    except Exception:  # noqa: BLE001 - babelfish raises its own errors for codes without a name
        return str(language)
    return name.split(" (")[0]  # "Modern Greek (1453-)" → "Modern Greek"


def _revision(tail: str, version: int | None) -> tuple[bool, bool, int, int]:
    """(proper, repack, revision, real) from the text after the title."""
    propers = [int(n or 1) for n in _PROPER_TOK.findall(tail)]
    repacks = [int(n or 1) for n in _REPACK_TOK.findall(tail)]
    real = len(_REAL_TOK.findall(tail))
    revision = (version or 1) + sum(propers) + sum(repacks)
    return bool(propers) or real > 0, bool(repacks), revision, real


def _anime(base: str) -> dict[str, Any] | None:
    """Fansub-style numbering that guessit misreads ("86 - Eighty Six - 23", "Mob Psycho 100 - 12")."""
    m = _ANIME_RE.match(base)
    batch = False
    if m is None:
        m = _ANIME_BATCH_RE.match(base)
        batch = m is not None
    if m is None:
        return None
    title = _clean_title(m.group("title")) or ""
    if not title or re.fullmatch(r"S?\d+", title, re.IGNORECASE):
        return None
    first = int(m.group("first"))
    last = int(m.group("last")) if m.group("last") else first
    if last < first or last - first > 2000:
        return None
    version = None if batch else (m.group("v2") or m.group("v1"))
    year = None
    ym = _TITLE_YEAR_RE.match(title)
    if ym:
        title, year = ym.group("title").strip(" -"), int(ym.group("year"))
    season = None
    sm = _ANIME_SEASON_RE.match(title)
    if sm:
        title = sm.group("title").strip(" -")
        season = int(sm.group("s1") or sm.group("s2") or sm.group("s3"))
    return {"group": m.group("group").strip(), "title": title, "year": year, "season": season,
            "episodes": list(range(first, last + 1)), "version": int(version) if version else None,
            "end": m.end()}


def _preclean(name: str) -> str:
    """Drop site prefixes and tracker tags that are not part of the release name."""
    head, sep, base = name.rpartition("/") if "/" in name else ("", "", name)
    base = _SITE_PREFIX_RE.sub("", base, count=1)
    base = _NOISE_SUFFIX_RE.sub("", base)
    if not base.startswith("["):  # fansub names end in [hash] / [720p] tags that are theirs
        base = _TRACKER_SUFFIX_RE.sub(lambda m: m.group(1) + (m.group(2) or ""), base, count=1)
    return head + sep + base


@lru_cache(maxsize=8192)
def _parse_cached(name: str) -> tuple[tuple[str, Any], ...]:
    text = name.replace("\\", "/")
    if "/" in text and not _VIDEO_EXT_RE.search(text):
        text = text.replace("/", " " if " " in text else ".")  # a title, not a path: "AC/DC …", "20/20 …"
    text = _preclean(text)
    g = dict(guessit(text, {"advanced": True}))
    base = text.rsplit("/", 1)[-1]
    off = len(text) - len(base)  # spans before this are folder hints
    base_noext = _VIDEO_EXT_RE.sub("", base)

    other = [str(o) for o in _values(g, "other")]
    title_m = next(iter(_matches(g, "title", off)), None) or next(iter(_matches(g, "title")), None)
    title = _clean_title(str(title_m.value)) if title_m is not None else None
    title_end = title_m.span[1] - off if title_m is not None and title_m.span[0] >= off else 0
    year_m = next(iter(_matches(g, "year", off)), None)
    year = year_m.value if year_m is not None else _value(g, "year")
    season_ms = _matches(g, "season", off) or _matches(g, "season")
    episode_ms = [m for m in _matches(g, "episode", off) if isinstance(m.value, int)]
    date = _value(g, "date", off)
    air_date = date.isoformat() if isinstance(date, _dt.date) else None
    version = _first_int(_values(g, "version"))
    group = _value(g, "release_group", off)
    kind = "episode" if _value(g, "type") == "episode" else "movie"
    absolute: list[int] = [v for v in _values(g, "absolute_episode", off) if isinstance(v, int)]
    season_override: list[int] | None = None

    leading = _LEADING_GROUP_RE.match(base)
    prefix_start = leading.end() if leading else 0
    if leading and not re.fullmatch(r"[0-9A-Fa-f]{8}", leading.group(1)):
        group = leading.group(1).strip()
    elif isinstance(group, str) and "-" in group and _RAWHD_TOK.match(group):
        group = group.split("-", 1)[1]  # "…HDTV.RawHD-GRP": RawHD is the quality, GRP the group

    anime = _anime(base_noext)
    if anime is not None:
        title, group, kind = anime["title"], anime["group"], "episode"
        year = anime["year"] if anime["year"] is not None else year
        version = anime["version"] or version
        title_end = anime["end"]
        episode_ms = []
        if anime["season"] is not None:
            season_override, episodes = [anime["season"]], anime["episodes"]
            absolute = []
        else:
            season_override, episodes, absolute = [], anime["episodes"], anime["episodes"]
    else:
        marker = _MARKER_RE.search(base, prefix_start)
        if marker is not None and kind == "episode":
            start_ok = title_m is None or (title_m.span[0] - off) > prefix_start
            if start_ok and marker.start() > prefix_start:
                # guessit left numbers at the front out of the title ("1923.S01E08", "60.Minutes.2024.03.10")
                end = marker.start()
                if title_m is not None and prefix_start < title_m.span[1] - off <= marker.start():
                    end = title_m.span[1] - off
                title, title_end = _clean_title(base[prefix_start:end]), end
                if year_m is not None and year_m.span[1] - off <= end:
                    year = None
        # numbers inside the title are not the numbering ("60 Minutes", "20 20" before an air date)
        episode_ms = [m for m in episode_ms if m.span[0] - off >= title_end]
        season_ms = [m for m in season_ms if m.span[0] < off or m.span[0] - off >= title_end]
        if air_date is not None and not season_ms:
            episode_ms = []
        episodes = []
        for m in episode_ms:
            if m.value not in episodes:
                episodes.append(m.value)
        if len(episode_ms) == 2 and 0 < episodes[-1] - episodes[0] <= 50 and _RANGE_GAP_RE.fullmatch(
                base[episode_ms[0].span[1] - off:episode_ms[1].span[0] - off]):
            episodes = list(range(episodes[0], episodes[-1] + 1))  # "1x01-1x03" is a range, as S01E01-E03
        uk = _UK_SERIES_RE.match(base_noext, prefix_start) if not season_ms and air_date is None else None
        if uk is not None and not _MARKER_RE.search(uk.group("title")):
            # "Sherlock.Series.4", "Top.Gear.Series.22": UK for season N (guessit reads an episode)
            number = int(uk.group("season"))
            title, title_end, kind = _clean_title(uk.group("title")), uk.end(), "episode"
            season_override = [number]
            episodes = []
            for m in episode_ms:
                if m.span[0] - off >= uk.end() and m.value not in episodes:
                    episodes.append(m.value)
        part = _value(g, "part", off)
        if (kind == "movie" and year is None and not season_ms and not episodes and isinstance(part, int)
                and _PART_EPISODE_RE.search(base)):
            kind, episodes = "episode", [part]  # "The.Pacific.Part.05": a mini-series episode
        if kind == "movie" and title_m is not None and year_m is not None:
            # Radarr's reading: a movie's title is everything before its year. guessit cuts it short at
            # words it knows ("Dune.Part.Two.2024", "Kill.Bill.Vol.1.2003", "AC.DC.Let.There.Be.Rock.1980")
            between = [m for key, value in g.items() if key not in ("title", "year", "type")
                       for m in _as_list(value)
                       if title_m.span[1] <= m.span[0] < year_m.span[0] and m.span[0] >= off]
            if between:
                title = _clean_title(base[title_m.span[0] - off:year_m.span[0] - off]) or title
                title_end = year_m.span[0] - off
                episodes = []
                season_ms = []

    seasons = season_override if season_override is not None else []
    if season_override is None:
        for m in season_ms:
            if isinstance(m.value, int) and m.value not in seasons:
                seasons.append(m.value)
    season = seasons[0] if seasons else None

    if (kind == "episode" and season is None and not episodes and air_date is None and year is not None
            and "Complete" not in other):
        kind = "movie"  # "Blade.Runner.1982.The.Final.Cut": a year and no numbering
    if kind == "movie":
        seasons, season, episodes, absolute = [], None, [], []
    elif (not absolute and season is None and air_date is None and len(episodes) >= 1
          and (leading is not None or _value(g, "crc32") is not None)):
        absolute = list(episodes)  # "[Group] Show - 1071": anime-style absolute numbering
    elif not absolute and season is None and air_date is None and len(episodes) == 1 and anime is None:
        absolute = list(episodes)  # "Show.E1089": no season, so the number is absolute

    full_season = kind == "episode" and not episodes and air_date is None and not absolute and (
        bool(seasons) or "Complete" in other)

    resolution = _resolution(_value(g, "screen_size", off))
    source = _value(g, "source", off)
    source = source if isinstance(source, str) else None
    service = _value(g, "streaming_service", off)
    service = str(service) if service is not None else None
    container = _value(g, "container")
    quality = quality_name(source, resolution, other, video_codec=_value(g, "video_codec", off),
                           streaming_service=service, name=base_noext,
                           container=str(container) if container else None)

    episode_title = _value(g, "episode_title", off) if kind == "episode" else None
    if isinstance(episode_title, str) and anime is not None:
        episode_title = None if episode_title in title else episode_title

    ends = [title_end]
    if kind == "movie":
        if year_m is not None and year_m.span[0] >= off:
            ends.append(year_m.span[1] - off)
    else:
        for key in ("season", "episode", "date", "episode_title", "year"):
            ends += [m.span[1] - off for m in _matches(g, key, off)]
    edition = _edition(base_noext[max(ends):])

    proper, repack, revision, real = _revision(base_noext[title_end:], version)

    found = [(m.span[0] - off, m.value) for m in _matches(g, "language", off)]
    numbering_end = max([title_end] + [m.span[1] - off for key in ("season", "episode", "date", "year")
                                       for m in _matches(g, key, off)])
    found += [(numbering_end + m.start(), Language(_LANGUAGE_TAGS[m.group(0).lower()]))
              for m in _LANGUAGE_TOK.finditer(base_noext[numbering_end:])]
    languages: list[str] = []
    for _pos, lang in sorted(found, key=lambda item: item[0]):
        label = _language_name(lang)
        if label and label not in languages:
            languages.append(label)
    country = _value(g, "country", off)
    country_code = getattr(country, "alpha2", None) or (str(country) if country is not None else None)

    # fansub convention: "[Group] Title …" (site tags in brackets were removed by _preclean)
    is_anime = leading is not None or anime is not None or service in _ANIME_SERVICES

    result = {
        "title": title,
        "year": year if isinstance(year, int) else None,
        "season": season,
        "episode": episodes[0] if episodes else None,
        "episodes": tuple(episodes),
        "absolute_episode": absolute[0] if absolute else None,
        "air_date": air_date if kind == "episode" else None,
        "episode_title": str(episode_title) if episode_title is not None else None,
        "type": kind,
        "quality": quality,
        "resolution": resolution,
        "source": source,
        "release_group": str(group) if group is not None else None,
        "proper": proper,
        "repack": repack,
        "version": version,
        "revision": revision,
        "real": real,
        "seasons": tuple(seasons),
        "full_season": full_season,
        "absolute_episodes": tuple(absolute),
        "languages": tuple(languages),
        "edition": edition,
        "country": country_code,
        "streaming_service": service,
        "is_anime": is_anime,
    }
    return tuple(result.items())


def parse_name(name: str) -> dict[str, Any]:
    """Parse a release or file name (a base name; a path to a video file also works, its folders give
    hints; a ``/`` in a name without a video extension is read as part of the title, e.g. ``AC/DC``).

    Returns a dict with these keys (missing facts are ``None``, lists are empty):

    - ``title`` (series or movie title, separators turned into spaces), ``year`` (int),
      ``country`` (ISO 3166 alpha-2 of a title suffix such as ``The.Office.US``: ``"US"``),
      ``type`` (``"episode"`` | ``"movie"``), ``episode_title``.
    - Numbering: ``season`` (int; 0 for specials), ``seasons`` (every season named: ``[1, 2, 3]`` for
      ``S01-S03``, ``[5]`` for an S05 episode), ``episode`` (the first), ``episodes`` (all:
      ``S01E01E02``, ``S01E01-E03``, ``1x01-1x02``), ``full_season`` (bool: a season pack — seasons and no
      episodes, or a ``COMPLETE`` series), ``air_date`` (``"YYYY-MM-DD"`` for daily shows),
      ``absolute_episode`` / ``absolute_episodes`` (anime numbering: ``[Group] Show - 1071``,
      ``Show.E1089``: a number with no season), ``is_anime`` (bool hint: a fansub-style ``[Group] …``
      name or an anime streaming service such as Crunchyroll).
    - Quality: ``quality`` (one of :data:`QUALITY_NAMES`, Sonarr/Radarr spelling, or None),
      ``resolution`` (``"1080p"``…), ``source`` (guessit's, e.g. ``"Web"``, ``"Blu-ray"``, ``"HDTV"``),
      ``streaming_service`` (guessit's name, e.g. ``"Amazon Prime"``, ``"Netflix"``).
    - Revision: ``proper`` / ``repack`` (bool), ``version`` (anime ``v2`` → 2, else None), ``real``
      (count of upper-case ``REAL`` tags), ``revision`` (int ≥ 1: the version, or 1, plus one per
      ``PROPER``/``REPACK``/``RERIP`` tag, ``REPACK2`` counting 2; Sonarr's revision rule).
    - ``release_group``; ``languages`` (audio languages named in the release, English names as
      guessit knows them: ``["French"]``, ``["German", "Multi"]`` for ``German.DL``; ``"Multi"`` for
      ``MULTi``; empty when none is named — usually English); ``edition`` (movie editions as written,
      normalised: ``"Director's Cut"``, ``"Extended"``, ``"IMAX"``, ``"Final Cut"``, ``"Extended
      Remastered"``…).

    Every value is JSON-serialisable. Results are cached by name (an LRU of 8192 names); each call
    returns a fresh dict. Raises ``TypeError`` when ``name`` is not a string.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    return {key: list(value) if isinstance(value, tuple) else value for key, value in _parse_cached(name)}


def clear_cache() -> None:
    """Forget every cached parse (benchmarks measure cold parses with this)."""
    _parse_cached.cache_clear()


#: guessit is pure Python and takes ~5–20 ms a name: it runs on one worker thread, never on the
#: event loop, and one thread keeps its (shared, cached) rule engine single-threaded.
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omnimedia-naming")


async def run_off_loop(func: Any, *args: Any) -> Any:
    """Run ``func(*args)`` (a name-parsing function) on the naming thread and await its result."""
    return await asyncio.get_running_loop().run_in_executor(_EXECUTOR, func, *args)
