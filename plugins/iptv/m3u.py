"""A parser for M3U/M3U8 channel playlists as IPTV providers write them.

The format has no formal specification for channel lists; what is accepted here follows what
providers write and what the common players read (sources: the extended M3U of Winamp —
``#EXTM3U``, ``#EXTINF:<duration>,<title>`` —; the ``tvg-*``/``group-title`` attributes of
Kodi's IPTV Simple client (``pvr.iptvsimple``, its README "M3U format elements"), including the
``url-tvg``/``x-tvg-url`` header attributes and ``#KODIPROP`` lines; VLC's ``#EXTVLCOPT``
options (``http-user-agent``, ``http-referrer``; VLC's ``modules/demux/playlist/m3u.c``);
``#EXTGRP`` (extended M3U group); Kodi's ``url|Header=value&Header2=value`` suffix with
URL-encoded values (Kodi wiki "HTTP": "Adding HTTP headers to URLs"); ``#EXTHTTP:{json}``
headers as TiviMate writes them):

.. code-block:: none

    #EXTM3U url-tvg="http://example.com/guide.xml"
    #EXTINF:-1 tvg-id="cnn.us" tvg-name="CNN" tvg-logo="http://…/cnn.png" tvg-chno="202" group-title="News",CNN HD
    #EXTVLCOPT:http-user-agent=VLC/3.0.18 LibVLC/3.0.18
    http://provider.example/live/cnn.m3u8|Referer=http://provider.example/&Cookie=a%3Db

Accepted:

- a UTF-8 BOM, CRLF / CR / LF line ends, blank lines, UTF-16 with a BOM; lines that are not
  UTF-8 are read as Windows-1252 (a warning names the first such line);
- the ``#EXTM3U`` header (missing: a warning; attributes ``url-tvg``, ``x-tvg-url``,
  ``tvg-url`` give the guide URLs, comma-separated lists allowed);
- ``#EXTINF:`` with a duration (ignored), attributes ``key="value"``, ``key='value'`` or
  ``key=value`` (keys case-insensitive; commas inside quotes belong to the value), then a comma
  and the display name (which may itself contain commas);
- attribute aliases some providers use: ``channel-id`` for ``tvg-id``, ``channel-number`` for
  ``tvg-chno``, ``logo`` for ``tvg-logo``; ``radio="true"`` marks a radio service;
- ``#EXTVLCOPT:http-user-agent=…``, ``http-referrer=…`` (and the ``http-referer`` spelling),
  ``#EXTHTTP:{"Cookie": "…"}``, ``#EXTGRP:<group>`` — each applies to the next stream URL;
- ``#KODIPROP:`` and any other ``#`` line are ignored;
- stream URLs with a scheme (``http``, ``https``, ``rtmp``, ``rtsp``, ``udp``, ``rtp`` …), with
  an optional ``|Header=value&…`` suffix (values URL-decoded).

Channel numbers: ``tvg-chno`` (``"5"``, ``"5.1"``; ``"5-1"`` is read as ``"5.1"``, leading
zeros are dropped; ``0`` and text are not numbers), else ``channel_start`` + the channel's
position among the playlist's channels (0-based: the first is ``channel_start``); a number already taken (a duplicate ``tvg-chno``, or a position number that collides
with one) moves up to the next free whole number, with a warning for duplicates. Positional
numbers change when the provider reorders the playlist; ``tvg-chno`` numbers do not.

Bad input: an ``#EXTINF`` without a stream URL, a URL without an ``#EXTINF``, a line that is
neither, an attribute without its closing quote, bad ``#EXTHTTP`` JSON — each gives a message
with its line number in :attr:`Playlist.errors` and the rest of the playlist is still read
(:attr:`Playlist.partial`). Something that is not an M3U playlist at all (an HTML page, an
XMLTV guide, JSON, binary data, an HLS stream playlist, text without any entry) raises
:class:`M3UError`.
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from omnimedia.core.dvr.types import LineupChannel

__all__ = ["M3UError", "Playlist", "parse", "split_url_headers", "canonical_header", "MAX_MESSAGES"]

#: Messages kept in :attr:`Playlist.errors` / :attr:`Playlist.warnings` (the counts are exact).
MAX_MESSAGES = 100

#: Header attributes that name the playlist's XMLTV guide.
GUIDE_URL_ATTRIBUTES = ("url-tvg", "x-tvg-url", "tvg-url")

_ALIASES = {"channel-id": "tvg-id", "channel-number": "tvg-chno", "logo": "tvg-logo"}
_KEY = re.compile(r"([A-Za-z0-9_.:\-]+)\s*=\s*")
_UNQUOTED = re.compile(r"[^\s,]*")
_BARE = re.compile(r"[^\s,]+")
_DURATION = re.compile(r"\s*(-?\d+(?:\.\d+)?)(?=[\s,]|$)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://\S")
_NUMBER = re.compile(r"^(\d+)(?:[.\-_](\d+))?$")
_HLS_TAGS = ("#EXT-X-TARGETDURATION", "#EXT-X-STREAM-INF", "#EXT-X-MEDIA-SEQUENCE", "#EXT-X-VERSION")
_CANONICAL_HEADERS = {"user-agent": "User-Agent", "referer": "Referer", "referrer": "Referer",
                      "cookie": "Cookie", "origin": "Origin", "authorization": "Authorization"}
_TRUE = {"1", "true", "yes", "on"}


class M3UError(ValueError):
    """The data is not an M3U channel playlist at all; the message says what it looks like."""


@dataclass(slots=True)
class Playlist:
    """What :func:`parse` read.

    ``channels``: the :class:`~omnimedia.core.dvr.types.LineupChannel` list in playlist order,
    each with ``extra`` = ``{"headers": {name: value}`` (request headers other than User-Agent
    and Referer), ``"user_agent"``, ``"referrer"`` (``None`` when the playlist sets none),
    ``"tvg_name"``, ``"attributes"`` (every ``#EXTINF`` attribute, keys lower-case), ``"line"``
    (the ``#EXTINF`` line number)}. ``guide_urls``: XMLTV URLs from the header.
    ``attributes``: the ``#EXTM3U`` header's attributes. ``entries``: ``#EXTINF`` entries seen;
    ``skipped``: entries and stray URLs not turned into a channel; ``renumbered``: channels whose
    ``tvg-chno`` was taken by an earlier one. ``errors``: problems that lost something (an entry,
    an attribute), ``warnings``: things fixed up; each a message starting with ``line N:`` (at
    most :data:`MAX_MESSAGES` kept, ``error_count``/``warning_count`` are exact)."""

    source: str = "playlist"
    channels: list[LineupChannel] = field(default_factory=list)
    guide_urls: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    entries: int = 0
    skipped: int = 0
    renumbered: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0

    @property
    def partial(self) -> bool:
        """Something in the playlist could not be read (see :attr:`errors`)."""
        return self.error_count > 0

    def error(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_MESSAGES:
            self.errors.append(message)

    def warn(self, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_MESSAGES:
            self.warnings.append(message)

    def summary(self) -> str:
        """One line for a log or a status page: ``"ca.m3u: 1 channel from 1 entry"`` plus the
        skipped / error / warning counts when there are any."""
        n = len(self.channels)
        text = f"{self.source}: {n} channel{'s' if n != 1 else ''} from {self.entries} entr{'ies' if self.entries != 1 else 'y'}"
        extra = []
        if self.skipped:
            extra.append(f"{self.skipped} skipped")
        if self.error_count:
            extra.append(f"{self.error_count} error{'s' if self.error_count != 1 else ''}")
        if self.warning_count:
            extra.append(f"{self.warning_count} warning{'s' if self.warning_count != 1 else ''}")
        return text + (f" ({', '.join(extra)})" if extra else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "channels": len(self.channels), "guide_urls": list(self.guide_urls),
            "entries": self.entries, "skipped": self.skipped, "renumbered": self.renumbered,
            "partial": self.partial, "errors": list(self.errors), "warnings": list(self.warnings),
            "error_count": self.error_count, "warning_count": self.warning_count,
        }


@dataclass(slots=True)
class _Entry:
    line: int
    name: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    group: str | None = None
    user_agent: str | None = None
    referrer: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    url: str | None = None


@dataclass(slots=True)
class _Options:
    """``#EXTVLCOPT``/``#EXTHTTP``/``#EXTGRP`` lines waiting for the next URL."""

    group: str | None = None
    user_agent: str | None = None
    referrer: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def canonical_header(name: str) -> str:
    """A header name as usually spelt (``user-agent`` → ``User-Agent``, ``Referrer`` → ``Referer``)."""
    name = name.strip()
    return _CANONICAL_HEADERS.get(name.lower(), name)


def split_url_headers(line: str) -> tuple[str, dict[str, str]]:
    """Split Kodi's ``url|Name=value&Name2=value`` into the URL and its headers (values
    URL-decoded, surrounding quotes removed; ``Referrer`` is read as ``Referer``; well-known
    header names get their usual spelling). A URL without ``|`` has no headers."""
    url, sep, suffix = line.partition("|")
    headers: dict[str, str] = {}
    if sep:
        for part in suffix.split("&"):
            name, eq, value = part.partition("=")
            if not name.strip() or not eq:
                continue
            value = unquote(value.strip())
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            headers[canonical_header(unquote(name))] = value
    return url.strip(), headers


def _without_bom(data: bytes) -> bytes:
    """``data`` as UTF-8 (or undecoded bytes) without a byte order mark."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return data
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):]
    return data


def _decode_lines(data: bytes, playlist: Playlist) -> list[str]:
    lines: list[str] = []
    bad: list[int] = []
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            bad.append(number)
            try:
                lines.append(raw.decode("cp1252"))
            except UnicodeDecodeError:
                lines.append(raw.decode("latin-1"))
    if bad:
        more = f" ({len(bad)} lines in all)" if len(bad) > 1 else ""
        playlist.warn(f"line {bad[0]}: not UTF-8; read as Windows-1252{more}")
    return lines


def _looks_like(first: str, data: bytes) -> str | None:
    """Why ``data`` is not an M3U playlist, or ``None`` when it may be one."""
    if b"\x00" in data[:4096]:
        return "binary data, not a text playlist"
    low = first.lstrip().lower()
    if low.startswith(("<!doctype html", "<html")) or "<html" in low[:200]:
        return "an HTML page (a login or error page?), not an M3U playlist"
    if low.startswith("<?xml") or low.startswith("<tv"):
        return "XML (an XMLTV guide? put guides under dvr: guide:), not an M3U playlist"
    if low.startswith("<"):
        return "markup, not an M3U playlist"
    if low.startswith(("{", "[")):
        return "JSON, not an M3U playlist"
    return None


def _parse_attributes(text: str, line: int, playlist: Playlist) -> tuple[dict[str, str], str | None]:
    """Read ``key="value" …`` from ``text`` up to the first comma outside quotes. Returns the
    attributes and the text after that comma (``None`` when there is no comma)."""
    attrs: dict[str, str] = {}
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            break
        if text[pos] == ",":
            return attrs, text[pos + 1:]
        m = _KEY.match(text, pos)
        if not m:
            word = _BARE.match(text, pos)
            assert word is not None
            playlist.warn(f"line {line}: {word.group(0)!r} is not an attribute (expected key=\"value\"); ignored")
            pos = word.end()
            continue
        key = m.group(1).lower()
        pos = m.end()
        if pos < n and text[pos] in "\"'":
            quote = text[pos]
            end = text.find(quote, pos + 1)
            if end < 0:
                # The value runs to the end of the line: nothing tells where it stops. Drop it
                # and take the name from after the line's last comma.
                playlist.error(f"line {line}: attribute {key!r} has no closing quote; attribute dropped")
                tail = text[pos + 1:]
                comma = tail.rfind(",")
                return attrs, (tail[comma + 1:] if comma >= 0 else None)
            value = text[pos + 1:end]
            pos = end + 1
        else:
            um = _UNQUOTED.match(text, pos)
            assert um is not None
            value = um.group(0)
            pos = um.end()
        attrs.setdefault(key, value.strip())
    return attrs, None


def _parse_extinf(body: str, line: int, playlist: Playlist) -> _Entry:
    pos = 0
    m = _DURATION.match(body)
    if m:
        pos = m.end()
    attrs, name = _parse_attributes(body[pos:], line, playlist)
    for alias, key in _ALIASES.items():
        if attrs.get(alias) and not attrs.get(key):
            attrs[key] = attrs[alias]
    entry = _Entry(line=line, attrs=attrs)
    entry.name = (name or "").strip()
    if name is None:
        playlist.warn(f"line {line}: #EXTINF has no ',<name>'")
    return entry


def _number(value: str) -> str | None:
    m = _NUMBER.match(value.strip())
    if not m:
        return None
    major = int(m.group(1))
    if m.group(2) is None:
        return str(major) if major > 0 else None
    return f"{major}.{int(m.group(2))}"


def _apply_options(entry: _Entry, options: _Options) -> None:
    entry.group = options.group
    entry.user_agent = options.user_agent
    entry.referrer = options.referrer
    entry.headers = dict(options.headers)


def parse(data: bytes | str, *, source: str = "playlist", channel_start: int = 1) -> Playlist:
    """Read an M3U/M3U8 channel playlist (``bytes`` as fetched or read from disk, or ``str``).

    ``source`` names the playlist in messages (a file name, a URL without its query).
    ``channel_start``: the number of the first entry when entries have no ``tvg-chno``.
    Returns a :class:`Playlist`; raises :class:`M3UError` when ``data`` is not an M3U playlist
    at all (see the module docstring)."""
    playlist = Playlist(source=source)
    if isinstance(data, str):
        data = data.encode("utf-8")
    data = _without_bom(data)
    if not data.strip():
        raise M3UError(f"{source} is empty")
    lines = _decode_lines(data, playlist)
    first = next((ln for ln in lines if ln.strip()), "")
    why = _looks_like(first, data)
    if why:
        raise M3UError(f"{source} is {why}")
    if any(ln.lstrip().upper().startswith(_HLS_TAGS) for ln in lines[:200]):
        raise M3UError(
            f"{source} is an HLS stream playlist (it has #EXT-X- tags), not a channel list; "
            "use its URL as one channel's stream in a playlist"
        )

    first_line = next(i for i, ln in enumerate(lines, 1) if ln.strip())
    header_seen = False
    pending: _Entry | None = None
    options = _Options()
    entries: list[_Entry] = []
    urls_seen = 0
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text:
            continue
        upper = text[:12].upper()
        if upper.startswith("#EXTM3U"):
            if not header_seen and number != first_line:
                playlist.warn(f"line {number}: #EXTM3U is not the first line")
            header_seen = True
            attrs, _ = _parse_attributes(text[7:], number, playlist)
            for key, value in attrs.items():
                playlist.attributes.setdefault(key, value)
                if key in GUIDE_URL_ATTRIBUTES:
                    for url in value.split(","):
                        if url.strip() and url.strip() not in playlist.guide_urls:
                            playlist.guide_urls.append(url.strip())
            continue
        if upper.startswith("#EXTINF:"):
            if pending is not None:
                playlist.error(
                    f"line {pending.line}: #EXTINF {pending.name or '(no name)'!r} has no stream URL "
                    f"(the next #EXTINF is on line {number}); entry skipped"
                )
                playlist.skipped += 1
            playlist.entries += 1
            pending = _parse_extinf(text[8:], number, playlist)
            continue
        if upper.startswith("#EXTVLCOPT:"):
            key, _, value = text[11:].partition("=")
            key = key.strip().lower()
            if key == "http-user-agent":
                options.user_agent = value.strip()
            elif key in ("http-referrer", "http-referer"):
                options.referrer = value.strip()
            continue
        if upper.startswith("#EXTHTTP:"):
            try:
                extra = json.loads(text[9:])
                if not isinstance(extra, dict):
                    raise ValueError("not an object")
            except ValueError as err:
                playlist.error(f"line {number}: #EXTHTTP is not a JSON object of headers ({err}); ignored")
                continue
            for key, value in extra.items():
                name = canonical_header(str(key))
                if name == "User-Agent":
                    options.user_agent = str(value)
                elif name == "Referer":
                    options.referrer = str(value)
                else:
                    options.headers[name] = str(value)
            continue
        if upper.startswith("#EXTGRP:"):
            options.group = text[8:].strip() or None
            continue
        if text.startswith("#"):
            continue  # #KODIPROP, #EXTVLCOPT options we do not use, comments
        if not _SCHEME.match(text):
            playlist.error(f"line {number}: {text[:60]!r} is not a stream URL (no scheme://) nor a # line; ignored")
            if pending is not None:
                playlist.error(f"line {pending.line}: #EXTINF {pending.name or '(no name)'!r} has no stream URL; entry skipped")
                playlist.skipped += 1
                pending = None
            options = _Options()
            continue
        urls_seen += 1
        url, headers = split_url_headers(text)
        if pending is None:
            playlist.error(f"line {number}: stream URL without an #EXTINF before it; skipped")
            playlist.skipped += 1
            options = _Options()
            continue
        _apply_options(pending, options)
        options = _Options()
        for name, value in headers.items():
            if name == "User-Agent":
                pending.user_agent = value
            elif name == "Referer":
                pending.referrer = value
            else:
                pending.headers[name] = value
        pending.url = url
        entries.append(pending)
        pending = None
    if pending is not None:
        playlist.error(f"line {pending.line}: #EXTINF {pending.name or '(no name)'!r} has no stream URL (end of file); entry skipped")
        playlist.skipped += 1
    if not header_seen:
        if not playlist.entries:
            what = f"{urls_seen} bare URL{'s' if urls_seen != 1 else ''}" if urls_seen else "no entries"
            raise M3UError(f"{source} is not an M3U playlist: no #EXTM3U header and no #EXTINF entries ({what})")
        playlist.warn("line 1: no #EXTM3U header; read as M3U because it has #EXTINF entries")
    playlist.channels = _number_channels(entries, channel_start, playlist)
    return playlist


def _number_channels(entries: Iterable[_Entry], start: int, playlist: Playlist) -> list[LineupChannel]:
    entries = list(entries)
    numbers: list[str | None] = [None] * len(entries)
    notes: list[str | None] = [None] * len(entries)
    used_by: dict[str, int] = {}  # number -> line of the entry that has it
    for i, entry in enumerate(entries):
        chno = (entry.attrs.get("tvg-chno") or "").strip()
        if not chno:
            continue
        number = _number(chno)
        if number is None:
            notes[i] = f"tvg-chno {chno!r} is not a channel number"
        elif number in used_by:
            notes[i] = f"channel number {number} is already used by line {used_by[number]}"
            playlist.renumbered += 1
        else:
            numbers[i] = number
            used_by[number] = entry.line
    channels: list[LineupChannel] = []
    for i, entry in enumerate(entries):
        number = numbers[i]
        if number is None:
            candidate = start + i
            while str(candidate) in used_by:
                candidate += 1
            number = str(candidate)
            used_by[number] = entry.line
        attrs = entry.attrs
        name = entry.name or attrs.get("tvg-name") or attrs.get("tvg-id") or ""
        if not name:
            name = f"Channel {number}"
            playlist.warn(f"line {entry.line}: entry has no name; called {name!r}")
        if notes[i]:
            playlist.warn(f"line {entry.line}: {notes[i]}; {name!r} is channel {number}")
        channels.append(
            LineupChannel(
                number=number,
                name=unicodedata.normalize("NFC", name),
                url=entry.url,
                radio=attrs.get("radio", "").strip().lower() in _TRUE,
                guide_id=attrs.get("tvg-id") or None,
                logo=attrs.get("tvg-logo") or None,
                group=attrs.get("group-title") or entry.group or None,
                extra={
                    "headers": dict(entry.headers),
                    "user_agent": entry.user_agent,
                    "referrer": entry.referrer,
                    "tvg_name": attrs.get("tvg-name") or None,
                    "attributes": dict(attrs),
                    "line": entry.line,
                },
            )
        )
    return channels
