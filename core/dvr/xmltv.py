"""A streaming XMLTV parser: channels and programmes of a guide, times in UTC epoch seconds.

The format is the XMLTV DTD (``xmltv.dtd`` of the xmltv project, "DTD for TV listings"):
``<tv>`` holds ``<channel id=…>`` elements (``display-name``\\+, ``icon``\\*) and ``<programme
start=… stop=… channel=…>`` elements (``title``\\+, ``sub-title``, ``desc``, ``date``,
``category``, ``length``, ``icon``, ``episode-num``, ``previously-shown``, ``new``…). Whatever
this module does not use (credits, ratings, reviews, images, video/audio details) is skipped.

:func:`parse` reads the document incrementally (lxml's ``iterparse`` filtered to ``channel`` and
``programme`` in C, fed in 256 KiB chunks; each element is dropped once read), so memory holds the
parsed :class:`~omnimedia.core.dvr.types.Programme` objects, never the XML tree. It accepts a path, the
document's bytes, or a binary file object, gzip- or xz-compressed or not (detected from the
first bytes).

What it accepts, and what it makes of it (rules from the DTD unless noted):

- **Times** ``YYYYMMDDhhmmss`` or any initial part of it (``YYYYMMDDhhmm``, ``YYYYMMDD``,
  ``YYYYMM``, ``YYYY``), optionally followed by a zone: ``+hhmm``/``-hhmm`` (also ``+hh:mm``,
  ``+hh``), a common abbreviation (``UTC``, ``GMT``, ``BST`` = +0100 as the DTD says, ``CET``,
  ``CEST``, ``EST``, ``EDT``, ``PST`` …, see :data:`ZONE_ABBREVIATIONS`) or an IANA name
  (``Europe/London``, not in the DTD but seen in the wild). No zone means UTC. Results are UTC
  epoch seconds, so a guide written in local time with offsets is right across a DST change.
- **Stop** missing: the start of the next later programme on the same channel (the DTD: "stop
  time will usually be the start time of the next programme"); else ``start + <length>``; else
  the programme is skipped (counted, with a message). A stop before the start is skipped too.
- **Episode numbers** ``xmltv_ns`` "season.episode.part", zero-based, each optionally
  "x/total", spaces anywhere (→ one-based ``season``/``episode``); ``onscreen`` "S01E02",
  "S1 E2", "Season 1 Episode 2", "1x02", "E05" (parsed when ``xmltv_ns`` does not give the
  numbers); ``dd_progid`` (Schedules Direct/Zap2it programme id, e.g. "EP012345670012") →
  ``episode_id``; otherwise ``episode_id`` is the ``xmltv_ns`` value without spaces (when it
  has an episode) or the raw ``onscreen`` value. ``original-air-date`` (a Schedules Direct
  grabber's system, "2022-11-04 13:00:00") gives ``original_air_date``.
- ``<new/>`` → ``new``; ``<previously-shown>`` → ``previously_shown``, its ``start`` date (as
  written, "YYYY-MM-DD") → ``original_air_date``; ``<date>`` → ``year`` (first four digits) and,
  when it is a full date and nothing above gave one, ``original_air_date``.
- ``title``/``sub-title``/``desc``: the one in the preferred language (``lang`` argument,
  "en" also matches "en_GB") else the first; whitespace runs collapse to one space (the DTD
  says so for ``desc``). Categories: every non-empty one, duplicates dropped (with ``lang``:
  the ones in that language or without a language, when there are any). Icons: the first
  ``src``.
- A programme without a title is skipped (counted, with a message): a placeholder title would
  make series rules match unrelated programmes. A programme without a ``channel`` attribute or
  with a bad ``start`` is skipped the same way. Programmes may name channels the document does
  not declare (the DTD allows it); those channels are added with their id as the only name.
- Overlapping programmes on a channel are kept and counted (``overlaps``: a programme starting
  before an earlier one on the channel has stopped; times are half-open intervals, so one
  ending at 12:00 does not overlap one starting at 12:00).

Errors never raise for bad content inside a well-formed document: they are counted in
``skipped`` and described in ``errors`` (at most :data:`MAX_ERRORS` messages; each names the
programme by its line, position, channel, start and title). A document that breaks off or is not
well-formed keeps everything read before the break: ``partial=True`` and the parser's message
with its line and column. :class:`XmltvError` is raised only when nothing can be read at all: the
root element is not ``<tv>`` (say an HTML error page), the document declares entities, or it is
not XML.

Safety (the guide often comes from a URL): lxml runs with ``resolve_entities=False``,
``no_network=True``, ``load_dtd=False`` and without ``huge_tree``, so no DTD or external entity is
ever fetched (from disk or network) and no entity is expanded; in addition a document that
declares entities in its internal DTD subset is refused before parsing (XMLTV never needs them),
and a decompressed document over :data:`MAX_DOCUMENT_BYTES` is cut off there (``partial``).
"""

from __future__ import annotations

import bisect
import gc
import gzip
import io
import lzma
import math
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from ..errors import OmniMediaError
from .types import GuideChannel, ImportResult, Programme

__all__ = [
    "ParsedGuide", "XmltvError", "parse", "parse_time", "parse_xmltv_ns", "parse_onscreen",
    "ZONE_ABBREVIATIONS", "MAX_ERRORS", "no_gc",
]

#: At most this many error messages are kept (the counts are always complete).
MAX_ERRORS = 50
#: A (decompressed) document is read up to this many bytes; the rest is cut off (``partial``).
MAX_DOCUMENT_BYTES = 4 * 2**30
#: Bytes read per chunk.
CHUNK = 256 * 1024
#: How far into the document the root element must start (the prolog is checked up to it).
PROLOG_LIMIT = 1 * 2**20

#: Zone abbreviations accepted after a time, as offsets in seconds east of UTC. The DTD's own
#: example is "BST" (= +0100); the rest are the unambiguous ones grabbers are seen to write.
ZONE_ABBREVIATIONS: dict[str, int] = {
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 3600, "BST": 3600,
    "CET": 3600, "MET": 3600, "CEST": 7200, "MEST": 7200, "EET": 7200, "EEST": 10800, "MSK": 10800,
    "EST": -18000, "EDT": -14400, "CST": -21600, "CDT": -18000, "MST": -25200, "MDT": -21600,
    "PST": -28800, "PDT": -25200, "AKST": -32400, "AKDT": -28800, "HST": -36000,
    "AWST": 28800, "ACST": 34200, "ACDT": 37800, "AEST": 36000, "AEDT": 39600,
    "NZST": 43200, "NZDT": 46800, "JST": 32400,
}

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_TIME_RE = re.compile(r"\s*(\d{4})(\d\d)?(\d\d)?(\d\d)?(\d\d)?(\d\d)?\s*(.*?)\s*$")
_OFFSET_RE = re.compile(r"([+-])(\d\d):?(\d\d)?$")
_NUMBER_RE = re.compile(r"\d+(?:[.\-_]\d+)?$")
_ONSCREEN_RES = (
    re.compile(r"\bS(?:eason)?\s*\.?\s*(\d{1,4})\s*[-.:,/ ]?\s*E(?:p(?:isode)?)?\s*\.?\s*(\d{1,5})\b", re.I),
    re.compile(r"\b(\d{1,4})\s*x\s*(\d{1,5})\b", re.I),
)
_EPISODE_ONLY_RE = re.compile(r"^\s*(?:E|Ep\.?|Episode)\s*(\d{1,5})\s*$", re.I)
_AIR_DATE_RE = re.compile(r"\s*(\d{4})-?(\d\d)-?(\d\d)")


class XmltvError(OmniMediaError):
    """The document cannot be read as XMLTV at all (not XML, the root is not ``<tv>``, entity
    declarations). The message says why and, when known, where (line)."""


@dataclass(slots=True)
class ParsedGuide:
    """What :func:`parse` read.

    ``channels``: declared channels in document order, then channels only named by programmes
    (``undeclared`` of them, named by their id). ``programmes``: in document order, every one with
    a start, a stop and a title (times UTC epoch seconds). ``skipped``: programmes left out (bad
    time, no channel, no title, no way to know the stop); ``overlaps``: programmes kept that
    overlap an earlier one on their channel; ``errors``: up to :data:`MAX_ERRORS` messages;
    ``partial``: the document broke off (everything before the break is here) and ``errors`` says
    where; ``generator``: the ``<tv generator-info-name>``."""

    channels: list[GuideChannel] = field(default_factory=list)
    programmes: list[Programme] = field(default_factory=list)
    skipped: int = 0
    overlaps: int = 0
    errors: list[str] = field(default_factory=list)
    partial: bool = False
    undeclared: int = 0
    generator: str | None = None

    def error(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    def result(self, source: str = "") -> ImportResult:
        """The counts as an :class:`ImportResult` (``seconds`` left at 0)."""
        return ImportResult(source=source, channels=len(self.channels), programmes=len(self.programmes),
                            skipped=self.skipped, overlaps=self.overlaps, errors=list(self.errors),
                            partial=self.partial)


# -- times ------------------------------------------------------------------------------------------
def _zone_offset(zone: str, local: tuple[int, int, int, int, int, int]) -> float:
    """Seconds east of UTC for ``zone`` ("" → 0) at the given local time; ValueError when unknown."""
    if not zone:
        return 0
    m = _OFFSET_RE.match(zone)
    if m:
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if hours > 14 or minutes > 59:
            raise ValueError(f"bad zone offset {zone!r}")
        seconds = hours * 3600 + minutes * 60
        return -seconds if m.group(1) == "-" else seconds
    named = ZONE_ABBREVIATIONS.get(zone.upper())
    if named is not None:
        return named
    if "/" in zone:
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}") from None
        offset = datetime(*local, tzinfo=tz).utcoffset()
        return offset.total_seconds() if offset is not None else 0
    raise ValueError(f"unknown time zone {zone!r}")


def parse_time(text: str) -> float:
    """An XMLTV time → UTC epoch seconds.

    ``"20020420131000 +0100"`` → 1019304600.0. Accepts ``YYYYMMDDhhmmss`` or any initial part
    of it down to ``YYYY`` (missing parts are the start of the period), then an optional zone (see
    the module docstring; none means UTC). Raises ``ValueError`` naming what is wrong."""
    s = text
    # Fast path: the usual full form, "YYYYMMDDhhmmss +hhmm".
    if len(s) == 20 and s[14] == " " and s[15] in "+-" and s[:14].isdigit() and s[16:].isdigit():
        y, mo, d, h, mi, sec = int(s[0:4]), int(s[4:6]), int(s[6:8]), int(s[8:10]), int(s[10:12]), int(s[12:14])
        oh, om = int(s[16:18]), int(s[18:20])
        if oh > 14 or om > 59:
            raise ValueError(f"bad time {text!r}: bad zone offset {s[15:]!r}")
        offset = oh * 3600 + om * 60
        if s[15] == "-":
            offset = -offset
    else:
        m = _TIME_RE.match(s)
        if m is None:
            raise ValueError(f"bad time {text!r} (expected YYYYMMDDhhmmss with an optional zone)")
        y = int(m.group(1))
        mo, d = int(m.group(2) or 1), int(m.group(3) or 1)
        h, mi, sec = int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
        try:
            offset = _zone_offset(m.group(7), (y, mo, d, min(h, 23), mi, min(sec, 59)))
        except ValueError as err:
            raise ValueError(f"bad time {text!r}: {err}") from None
    if h > 24 or mi > 59 or sec > 60 or (h == 24 and (mi or sec)):
        raise ValueError(f"bad time {text!r}: no such time of day")
    try:
        days = date(y, mo, d).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        raise ValueError(f"bad time {text!r}: no such date") from None
    if sec == 60:  # a leap second: the instant after :59
        sec = 59
    return float(days * 86400 + h * 3600 + mi * 60 + sec - offset)


# -- episode numbers ----------------------------------------------------------------------------------
def _zero_based(part: str) -> int | None:
    value = part.split("/", 1)[0]
    if not value.isdigit():
        return None
    return int(value) + 1


def parse_xmltv_ns(text: str) -> tuple[int | None, int | None]:
    """``xmltv_ns`` "season.episode.part" (zero-based, "x/total" allowed, spaces anywhere) →
    one-based ``(season, episode)``; ``None`` for a part that is absent or not a number.

    ``"2 . 9 . 0/1"`` → ``(3, 10)``; ``"0 . 1 . "`` → ``(1, 2)``; ``".5."`` → ``(None, 6)``."""
    parts = "".join(text.split()).split(".")
    season = _zero_based(parts[0]) if parts else None
    episode = _zero_based(parts[1]) if len(parts) > 1 else None
    return season, episode


def parse_onscreen(text: str) -> tuple[int | None, int | None]:
    """An ``onscreen`` episode number → ``(season, episode)`` as written (one-based):
    "S01E02", "S1 E2", "Season 1 Episode 2", "1x02", "E05"/"Episode 5" (no season). Anything else
    → ``(None, None)``."""
    for pattern in _ONSCREEN_RES:
        m = pattern.search(text)
        if m:
            return int(m.group(1)), int(m.group(2))
    m = _EPISODE_ONLY_RE.match(text)
    if m:
        return None, int(m.group(1))
    return None, None


def _air_date(text: str | None) -> str | None:
    """"YYYYMMDD…" or "YYYY-MM-DD…" → "YYYY-MM-DD" when it is a real date, else None."""
    if not text:
        return None
    if len(text) == 8 and text.isdigit():  # the usual "YYYYMMDD"
        try:
            date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            return None
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    m = _AIR_DATE_RE.match(text)
    if m is None:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


# -- reading ------------------------------------------------------------------------------------------
_GZIP_MAGIC = b"\x1f\x8b"
_XZ_MAGIC = b"\xfd7zXZ\x00"


@contextmanager
def _open(source: str | Path | bytes | bytearray | memoryview | IO[bytes]) -> Iterator[IO[bytes]]:
    """A binary stream of the (decompressed) document."""
    owned: list[IO[bytes]] = []
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            raw: IO[bytes] = io.BytesIO(bytes(source))
        elif isinstance(source, (str, Path)):
            raw = open(source, "rb")  # noqa: SIM115 - closed below
            owned.append(raw)
        else:
            raw = source
        head = _peek(raw, 6)
        if head.startswith(_GZIP_MAGIC):
            raw = gzip.GzipFile(fileobj=raw, mode="rb")
            owned.append(raw)
        elif head.startswith(_XZ_MAGIC):
            raw = lzma.LZMAFile(raw, mode="rb")
            owned.append(raw)
        yield raw
    finally:
        for stream in reversed(owned):
            stream.close()


def _peek(stream: IO[bytes], n: int) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return peek(n)[:n]
    if stream.seekable():
        pos = stream.tell()
        data = stream.read(n)
        stream.seek(pos)
        return data
    raise TypeError("the XMLTV source must be a path, bytes, or a seekable/peekable binary file object")


_PROLOG_JUNK = re.compile(r"<!--.*?-->|<\?.*?\?>", re.S)
_DOCTYPE = re.compile(r"<!DOCTYPE\b(?:[^\[>]|\[.*?\])*>", re.S)
_ROOT = re.compile(r"<([A-Za-z_][\w.:\-]*)")


def _check_prolog(head: bytes, complete: bool) -> str | None:
    """The root element's name once ``head`` reaches it (None: read more). Raises
    :class:`XmltvError` for entity declarations."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="replace")
    else:
        text = head.decode("latin-1")
    text = _PROLOG_JUNK.sub(" ", text)
    doctype = _DOCTYPE.search(text)
    if doctype is not None:
        if "<!ENTITY" in doctype.group(0):
            line = text.count("\n", 0, doctype.start()) + 1
            raise XmltvError(f"line {line}: the document declares XML entities; a guide never needs them "
                             "and they are refused for safety")
        text = text[:doctype.start()] + text[doctype.end():]
    elif "<!DOCTYPE" in text and not complete:
        return None  # the DOCTYPE continues in the next chunk
    m = _ROOT.search(text)
    return m.group(1) if m else None


def _text(el: Any) -> str:
    """The element's text, stripped, whitespace runs collapsed to one space."""
    t = el.text
    if not t:
        return ""
    if "\n" in t or "  " in t or "\t" in t or "\r" in t:
        return " ".join(t.split())
    return t.strip()


def _lang_matches(item_lang: str, lang: str) -> bool:
    """"en" (already normalised) matches "en", "EN", "en_GB", "en-US"."""
    return item_lang.replace("-", "_").split("_")[0].lower() == lang


def _pick(items: list[tuple[str | None, str]] | None, lang: str | None) -> str | None:
    """The value in language ``lang`` when there is one, else the first."""
    if not items:
        return None
    if lang:
        for item_lang, value in items:
            if item_lang and _lang_matches(item_lang, lang):
                return value
    return items[0][1]


_LENGTH_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600}


def _length(el: Any) -> float | None:
    """``<length units="minutes">30</length>`` → 1800.0 seconds (None when unreadable)."""
    try:
        value = float((el.text or "").strip())
    except ValueError:
        return None
    factor = _LENGTH_UNITS.get(el.get("units") or "")
    return value * factor if factor and value >= 0 else None


class _Reader:
    """The element handlers; one per :func:`parse` call."""

    def __init__(self, out: ParsedGuide, lang: str | None) -> None:
        self.out = out
        self.lang = lang.replace("-", "_").split("_")[0].lower() if lang else None
        self.seen_channels: dict[str, GuideChannel] = {}
        self.referenced: dict[str, None] = {}
        self.count = 0  # programmes seen, for messages
        self.times: dict[str, float] = {}
        self.no_stop: list[tuple[Programme, float | None, int, int | None]] = []

    def when(self, text: str) -> float:
        cached = self.times.get(text)
        if cached is None:
            if len(self.times) > 100_000:
                self.times.clear()
            cached = self.times[text] = parse_time(text)
        return cached

    def channel(self, el: Any) -> None:
        cid = (el.get("id") or "").strip()
        if not cid:
            self.out.error("a <channel> without an id is ignored")
            return
        names: list[str] = []
        icon = None
        for child in el:
            tag = child.tag
            if tag == "display-name":
                name = _text(child)
                if name and name not in names:
                    names.append(name)
            elif tag == "icon" and icon is None:
                icon = (child.get("src") or "").strip() or None
        if cid in self.seen_channels:
            self.out.error(f"channel {cid!r} is declared twice; the first declaration is kept")
            return
        number = next((n for n in names if _NUMBER_RE.match(n)), None)
        ch = GuideChannel(id=cid, names=names or [cid], number=number, icon=icon)
        self.seen_channels[cid] = ch
        self.out.channels.append(ch)

    def skip(self, what: str) -> None:
        self.out.skipped += 1
        self.out.error(what)

    def programme(self, el: Any) -> None:
        self.count += 1
        get = el.get
        channel = (get("channel") or "").strip()
        start_text = (get("start") or "").strip()
        stop_text = (get("stop") or "").strip()
        lang = self.lang
        title = subtitle = desc = None
        langs: dict[str, list[tuple[str | None, str]]] | None = {} if lang else None
        categories: list[tuple[str | None, str]] = []
        ns_value = onscreen = progid = air_date = date_text = icon = length = None
        new = previously_shown = False
        for child in el:
            tag = child.tag
            if tag == "title" or tag == "desc" or tag == "sub-title":
                if langs is not None:
                    value = _text(child)
                    if value:
                        langs.setdefault(tag, []).append((child.get("lang"), value))
                elif tag == "title":
                    if title is None:
                        title = _text(child) or None
                elif tag == "desc":
                    if desc is None:
                        desc = _text(child) or None
                elif subtitle is None:
                    subtitle = _text(child) or None
            elif tag == "category":
                value = _text(child)
                if value:
                    categories.append((child.get("lang") if lang else None, value))
            elif tag == "episode-num":
                value = child.text
                value = value.strip() if value else ""
                if not value:
                    continue
                system = child.get("system") or "onscreen"
                if system == "xmltv_ns":
                    ns_value = value
                elif system == "onscreen":
                    onscreen = onscreen or value
                elif system == "dd_progid":
                    progid = progid or value
                elif system == "original-air-date":
                    air_date = air_date or _air_date(value)
            elif tag == "icon":
                if icon is None:
                    icon = (child.get("src") or "").strip() or None
            elif tag == "new":
                new = True
            elif tag == "previously-shown":
                previously_shown = True
                shown = _air_date(child.get("start"))
                if shown:
                    air_date = shown  # the DTD's own "when it was shown before" wins
            elif tag == "date":
                date_text = (child.text or "").strip()
            elif tag == "length":
                length = _length(child)
        if langs is not None:
            title = _pick(langs.get("title"), lang)
            subtitle = _pick(langs.get("sub-title"), lang)
            desc = _pick(langs.get("desc"), lang)

        if not channel:
            self.skip(f"{self.where(el, channel, start_text, title)}: no channel attribute; skipped")
            return
        try:
            start = self.when(start_text)
        except ValueError as err:
            self.skip(f"{self.where(el, channel, start_text, title)}: "
                      f"{err if start_text else 'no start time'}; skipped")
            return
        if title is None:
            self.skip(f"{self.where(el, channel, start_text, title)}: no title; skipped")
            return
        stop = math.nan
        if stop_text:
            try:
                stop = self.when(stop_text)
            except ValueError as err:
                self.skip(f"{self.where(el, channel, start_text, title)}: {err}; skipped")
                return
            if stop < start:
                self.skip(f"{self.where(el, channel, start_text, title)}: stops ({stop_text!r}) before it "
                          "starts; skipped")
                return

        season = episode = year = None
        episode_id = progid
        if ns_value is not None:
            season, episode = parse_xmltv_ns(ns_value)
            if episode_id is None and episode is not None:
                episode_id = "".join(ns_value.split())
        if season is None and episode is None and onscreen is not None:
            season, episode = parse_onscreen(onscreen)
        if episode_id is None:
            episode_id = onscreen
        if date_text:
            if date_text[:4].isdigit():
                y = int(date_text[:4])
                year = y if 1800 <= y <= 2200 else None
            if air_date is None and len(date_text) >= 8:
                air_date = _air_date(date_text)
        cats: list[str] = []
        if categories:
            chosen = categories
            if lang:
                matching = [c for c in categories if not c[0] or _lang_matches(c[0], lang)]
                chosen = matching or categories
            for _lang, value in chosen:
                if value not in cats:
                    cats.append(value)

        p = Programme(
            channel=channel, start=start, stop=stop, title=title, subtitle=subtitle, description=desc,
            categories=cats, season=season, episode=episode, episode_id=episode_id, new=new,
            previously_shown=previously_shown, original_air_date=air_date, icon=icon, year=year,
        )
        if stop != stop:  # NaN: filled in by finish()
            self.no_stop.append((p, length, self.count, el.sourceline))
        self.out.programmes.append(p)
        if channel not in self.referenced:
            self.referenced[channel] = None

    def where(self, el: Any, channel: str, start: str, title: str | None) -> str:
        """How messages name a programme: line, position, channel, start and title."""
        line = el.sourceline
        text = f"line {line}: " if line else ""
        text += f"programme {self.count} (channel {channel!r}, start {start!r}"
        return text + (f", {title!r})" if title else ")")

    def finish(self) -> None:
        """Fill in missing stops, count overlaps, add undeclared channels."""
        out = self.out
        by_channel: dict[str, list[Programme]] = {}
        for p in out.programmes:
            lst = by_channel.get(p.channel)
            if lst is None:
                by_channel[p.channel] = [p]
            else:
                lst.append(p)
        if self.no_stop:
            missing = {id(p): (length, index, line) for p, length, index, line in self.no_stop}
            dropped: set[int] = set()
            for lst in by_channel.values():
                lst.sort(key=_start)
                starts = [p.start for p in lst]
                for p in lst:
                    info = missing.get(id(p))
                    if info is None:
                        continue
                    i = bisect.bisect_right(starts, p.start)
                    if i < len(starts):
                        p.stop = starts[i]
                    elif info[0] is not None:
                        p.stop = p.start + info[0]
                    else:
                        dropped.add(id(p))
                        line = f"line {info[2]}: " if info[2] else ""
                        self.skip(f"{line}programme {info[1]} (channel {p.channel!r}, {p.title!r}): no stop "
                                  "time and no later programme on its channel; skipped")
            if dropped:
                out.programmes = [p for p in out.programmes if id(p) not in dropped]
                for ch, lst in by_channel.items():
                    by_channel[ch] = [p for p in lst if id(p) not in dropped]
        overlaps = 0
        for lst in by_channel.values():
            lst.sort(key=_start_stop)
            latest = -math.inf
            for p in lst:
                if p.start < latest:
                    overlaps += 1
                if p.stop > latest:
                    latest = p.stop
        out.overlaps = overlaps
        for cid in self.referenced:
            if cid not in self.seen_channels and by_channel.get(cid):
                out.channels.append(GuideChannel(id=cid, names=[cid]))
                out.undeclared += 1


def _start(p: Programme) -> float:
    return p.start


def _start_stop(p: Programme) -> tuple[float, float]:
    return p.start, p.stop


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects (it would traverse
    them again and again for nothing: they are all kept)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Feed:
    """The document's bytes as lxml reads them: the prolog is checked first (root element,
    entity declarations); a read error (a truncated gzip/xz stream, an I/O error) or the size cap
    ends the document early, noted in ``problem``, so what came before is still imported."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        # read1: a truncated gzip/xz stream then still gives everything up to its last complete
        # block before it raises (read() would drop the whole chunk).
        self._read_some = getattr(stream, "read1", None) or stream.read
        self.pending = b""
        self.total = 0
        self.problem: str | None = None

    def _read(self, n: int) -> bytes:
        if self.problem is not None:
            return b""
        try:
            data = self._read_some(n)
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as err:
            self.problem = f"the document could not be read to its end ({err})"
            return b""
        self.total += len(data)
        if self.total > MAX_DOCUMENT_BYTES:
            self.problem = f"the document is larger than {MAX_DOCUMENT_BYTES} bytes; the rest is ignored"
            return b""
        return data

    def check_prolog(self) -> None:
        """Read up to the root element; raise :class:`XmltvError` unless it is ``<tv>`` (or when
        the document declares entities)."""
        head = b""
        while True:
            data = self._read(CHUNK)
            head += data
            name = _check_prolog(head, complete=not data)
            if name is not None:
                if name != "tv":
                    raise XmltvError(f"not an XMLTV document: the root element is <{name}>, expected <tv>")
                self.pending = head
                return
            if not data:
                why = f": {self.problem}" if self.problem else " (empty, or not XML)"
                raise XmltvError(f"not an XMLTV document: no root element{why}")
            if len(head) > PROLOG_LIMIT:
                raise XmltvError(f"not an XMLTV document: no root element in the first {PROLOG_LIMIT} bytes")

    def read(self, n: int = CHUNK) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        return self._read(max(n, CHUNK) if n > 0 else CHUNK)


def parse(source: str | Path | bytes | IO[bytes], *, lang: str | None = None) -> ParsedGuide:
    """Read an XMLTV document (path, bytes, or binary file object; gzip/xz detected) into a
    :class:`ParsedGuide`. ``lang`` ("en", "de") prefers titles, sub-titles, descriptions and
    categories in that language.

    Blocking (CPU and file I/O): run it in a thread from the event loop. Raises
    :class:`XmltvError` when the document is not XMLTV at all, ``OSError`` when the file cannot be
    opened; malformed content is reported in the result (see the module docstring)."""
    out = ParsedGuide()
    reader = _Reader(out, lang)
    with _open(source) as stream, no_gc():
        feed = _Feed(stream)
        feed.check_prolog()
        context = etree.iterparse(
            feed, events=("end",), tag=("channel", "programme"), resolve_entities=False, no_network=True,
            load_dtd=False, remove_comments=True, remove_pis=True, huge_tree=False,
        )
        first = True
        try:
            for _event, el in context:
                if first:
                    first = False
                    parent = el.getparent()
                    if parent is not None:
                        out.generator = parent.get("generator-info-name")
                if el.tag == "programme":
                    reader.programme(el)
                else:
                    reader.channel(el)
                el.clear(keep_tail=False)
                previous = el.getprevious()
                if previous is not None:  # drop what is done so memory holds one element at a time
                    parent = el.getparent()
                    while previous is not None:
                        parent.remove(previous)
                        previous = el.getprevious()
        except etree.XMLSyntaxError as err:
            out.partial = True
            line, column = getattr(err, "position", None) or (err.lineno or 0, 0)
            cause = f"{feed.problem}; " if feed.problem else ""
            why = re.sub(r",? line \d+, column \d+$", "", err.msg or str(err))
            out.error(f"line {line}, column {column}: {cause}the XML is not well-formed ({why}); "
                      "what came before is imported")
        else:
            if feed.problem:  # the cut happened to fall at the end of the document
                out.partial = True
                out.error(f"{feed.problem}; what came before is imported")
        reader.finish()
    return out
