"""Reading RSS feeds of the Newznab family (Newznab, Torznab) and plain torrent RSS feeds.

What is here, shared by the ``torznab``, ``newznab`` and ``rss`` indexer plugins:

- :func:`parse_feed` — bytes of an RSS document → :class:`Feed` (items with their enclosures,
  ``newznab:attr`` / ``torznab:attr`` attributes, the ``newznab:response`` offset/total). Error
  documents (``<error code=".." description=".."/>``), HTML pages and malformed XML become
  :class:`~omnimedia.core.errors.ProviderError` subclasses naming the indexer.
- :func:`parse_caps` — a ``t=caps`` document → the caps dict of
  :meth:`omnimedia.core.plugins.kinds.Indexer.caps`, with the spec's defaults when
  ``supportedParams`` is absent.
- :func:`build_release` — one :class:`FeedItem` → a :class:`~.types.Release`.
- :class:`FeedClient` — HTTP GET with aiohttp, a per-request timeout and HTTP statuses mapped
  to provider errors.
- :func:`parse_size`, :func:`parse_date`, :func:`infohash_from_magnet` — the small readers the
  above use, also used by the plain RSS plugin on description texts.

Sources of the protocol details:

- Newznab API spec (nZEDb's ``newznab_api_specification.txt`` v0.4): functions, attributes
  (``size``, ``category``, ``files``, ``grabs``, ``tvdbid``, ``rageid``, ``imdb``, ``language``
  …), ``newznab:response offset total``, error codes 100–107, 200–203, 300, 500–501, 900 sent
  with HTTP 200.
- Torznab spec 1.0/1.3 (torznab.github.io): the ``torznab`` namespace, ``infohash``,
  ``magneturl``, ``seeders``, ``leechers``, ``peers`` (= seeders + leechers),
  ``downloadvolumefactor`` / ``uploadvolumefactor``, several enclosures per item ("clients
  should select the preferred enclosure"), the enclosure ``length`` being 0, the ``.torrent``
  size or the media size (so the ``size`` attribute wins).
- Observed feeds (Sonarr's captured fixtures, ``../shared/fixtures/indexers``): both attribute
  namespaces in one item, UTF-8 BOMs, double-escaped titles (``&amp;amp;``), relative URLs,
  sizes written as text ("Size: 0.99 GB", binary units: 880496711 bytes is shown as
  "839.71 MB"), ``pubDate`` without a zone ("2015-06-03 03:19:49", taken as UTC) or without a
  weekday, magnet links with base32 info-hashes.

Units: sizes in bytes, times in UTC seconds since the epoch.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import html
import html.entities
import re
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import aiohttp
import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from .. import __version__
from ..errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderResponseError,
    ProviderUnavailable,
)
from .types import Release

TORZNAB_NS = "http://torznab.com/schemas/2015/feed"
NEWZNAB_NS = "http://www.newznab.com/DTD/2010/feeds/attributes/"
#: The two namespaces extended attributes (``<…:attr name= value=>``) come in.
ATTR_NAMESPACES = (TORZNAB_NS, NEWZNAB_NS)

USER_AGENT = f"Omni-Media/{__version__}"

#: Bodies larger than this are parsed on a worker thread rather than on the event loop.
THREAD_PARSE_BYTES = 512 * 1024

_BOM = b"\xef\xbb\xbf"
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I | re.S
)
_NAMED_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
#: C0 control characters other than tab, LF and CR: not allowed anywhere in XML 1.0.
_CONTROL_CHARS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XML_ENTITIES = {b"amp", b"lt", b"gt", b"quot", b"apos"}
_TEXT_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")
_B32_32 = re.compile(r"^[A-Za-z2-7]{32}$")
_BTIH = re.compile(r"urn:btih:([0-9A-Za-z]+)", re.I)


# -------------------------------------------------------------------------------------------------
# Data read from a feed
# -------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Enclosure:
    """An RSS ``<enclosure url= length= type=>``. ``length`` in bytes (None when absent or bad)."""

    url: str
    length: int | None = None
    type: str = ""


@dataclass(slots=True)
class FeedItem:
    """One ``<item>`` as written, before any interpretation.

    ``attrs`` maps an extended attribute's name (lower case) to its values in document order,
    from the preferred namespace, completed by names only the other namespace has (an item may
    carry both, e.g. AnimeTosho's feed). ``extra`` holds the text of the other child elements by
    lower-case local name (``size``, ``seeders``, ``info_hash``, ``status`` …), including the
    children of a nested element such as ezRSS's ``<torrent><infoHash>``.
    """

    title: str = ""
    guid: str | None = None
    guid_is_permalink: bool = True
    link: str | None = None
    comments: str | None = None
    pub_date: str | None = None
    description: str | None = None
    enclosures: list[Enclosure] = field(default_factory=list)
    attrs: dict[str, list[str]] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)

    def attr(self, name: str) -> str | None:
        """The first value of attribute ``name`` (None when absent)."""
        values = self.attrs.get(name)
        return values[0] if values else None


@dataclass(slots=True)
class Feed:
    """A parsed feed. ``offset``/``total`` come from ``<newznab:response>`` (None when absent)."""

    items: list[FeedItem]
    title: str | None = None
    offset: int | None = None
    total: int | None = None


# -------------------------------------------------------------------------------------------------
# Errors
# -------------------------------------------------------------------------------------------------
#: Newznab error codes → what they mean for us. Source: the Newznab API spec, section 5 (and
#: 429, 910 as sent by newer Newznab/nZEDb servers: "request limit", "API disabled").
_AUTH_CODES = range(100, 103)
_RATE_CODES = (429, 500, 501)


def error_for_code(name: str, code: int, description: str, *, retry_after: float | None = None) -> ProviderError:
    """The :class:`ProviderError` for a Newznab ``<error code description>`` document.

    100–102 (credentials, suspended, not authorised) → :class:`ProviderAuthError`; 429, 500
    (request limit) and 501 (download limit) → :class:`ProviderRateLimited`; everything else
    (103–107 registration, 200–203 bad request / function, 300 no such item, 900–910 other) →
    :class:`ProviderResponseError`.
    """
    text = description.strip() or "no description"
    if code in _AUTH_CODES:
        hint = " — check the API key" if code == 100 else ""
        return ProviderAuthError(f"{name}: refused our credentials (error {code}: {text}){hint}", code=code)
    if code in _RATE_CODES:
        return ProviderRateLimited(
            f"{name}: request limit reached (error {code}: {text})", code=code, retry_after=retry_after
        )
    return ProviderResponseError(f"{name}: the indexer answered with error {code}: {text}", code=code)


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag.split(":")[-1]


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _replace_html_entities(data: bytes) -> bytes:
    """HTML named entities (``&nbsp;``, ``&szlig;``) are undefined in XML; some trackers send them
    outside CDATA. Rewrite them as numeric references so the document parses."""

    def sub(m: re.Match[bytes]) -> bytes:
        name = m.group(1)
        if name in _XML_ENTITIES:
            return m.group(0)
        cp = html.entities.name2codepoint.get(name.decode("ascii"))
        return b"&#%d;" % cp if cp is not None else b"&amp;" + name + b";"

    return _NAMED_ENTITY.sub(sub, data)


def parse_document(data: bytes, *, name: str) -> Element:
    """Parse XML ``data`` with defusedxml (no external entities, no entity expansion bombs).

    Accepts a UTF-8 BOM and leading whitespace. Raises :class:`ProviderUnavailable` when the
    body is an HTML page (a login page, a proxy's or Cloudflare's error page: the service is not
    really answering), :class:`ProviderResponseError` when it is empty or not well-formed XML,
    and the error of :func:`error_for_code` when the document is a Newznab ``<error>``.
    """
    body = data.lstrip()
    while body.startswith(_BOM):
        body = body[len(_BOM):].lstrip()
    if not body:
        raise ProviderResponseError(f"{name}: the indexer sent an empty answer where XML was expected")
    if _HTML_START.match(body[:4096]):
        title = re.search(rb"<title[^>]*>(.*?)</title>", body[:65536], re.I | re.S)
        what = f" ({html.unescape(title.group(1).decode('utf-8', 'replace')).strip()[:80]!r})" if title else ""
        raise ProviderUnavailable(f"{name}: the indexer sent an HTML page{what} where XML was expected")
    try:
        try:
            root = DET.fromstring(body)
        except ParseError as first:
            # Second chance for what real trackers send: control characters (a BEL in an NFO in
            # CDATA, AlphaRatio) and HTML entities outside CDATA. Nothing else is repaired.
            repaired = _replace_html_entities(_CONTROL_CHARS.sub(b"", body))
            if repaired == body:
                raise
            try:
                root = DET.fromstring(repaired)
            except ParseError:
                raise first from None
    except ParseError as err:
        raise ProviderResponseError(f"{name}: the indexer sent malformed XML ({err})") from err
    except DefusedXmlException as err:
        raise ProviderResponseError(f"{name}: the indexer sent XML we refuse to read ({err})") from err
    if _local(root.tag).lower() == "html":
        raise ProviderUnavailable(f"{name}: the indexer sent an HTML page where XML was expected")
    if _local(root.tag) == "error":
        code_text = (root.get("code") or "").strip()
        try:
            code = int(code_text)
        except ValueError:
            code = 900
        raise error_for_code(name, code, root.get("description") or (root.text or ""))
    return root


# -------------------------------------------------------------------------------------------------
# Feeds
# -------------------------------------------------------------------------------------------------
_STANDARD = {"title", "guid", "link", "comments", "pubdate", "description", "enclosure", "attr", "category"}


def _text(el: Element | None) -> str | None:
    if el is None:
        return None
    text = "".join(el.itertext()).strip()
    return text or None


def _int(value: Any) -> int | None:
    if value is None:
        return None
    text = str(value).strip().replace(",", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number == number and abs(number) < 1e19 else None


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if number == number else None


def _read_item(el: Element, prefer: str) -> FeedItem:
    item = FeedItem()
    by_ns: dict[str, dict[str, list[str]]] = {ns: {} for ns in ATTR_NAMESPACES}
    for child in el:
        tag = child.tag if isinstance(child.tag, str) else ""
        local = _local(tag).lower()
        ns = _ns(tag)
        if local == "attr" and ns in by_ns:
            key = (child.get("name") or "").strip().lower()
            if key:
                by_ns[ns].setdefault(key, []).append((child.get("value") or "").strip())
            continue
        if ns and ns not in ATTR_NAMESPACES and local in _STANDARD:
            # e.g. <dc:title>, <showrss:...> — not the RSS element of that name
            item.extra.setdefault(local, _text(child) or "")
            continue
        if local == "title" and not ns:
            item.title = _text(child) or ""
        elif local == "guid" and not ns:
            item.guid = _text(child)
            item.guid_is_permalink = (child.get("isPermaLink") or "true").strip().lower() != "false"
        elif local == "link" and not ns:
            item.link = _text(child) or child.get("href")
        elif local == "comments" and not ns:
            item.comments = _text(child)
        elif local == "pubdate" and not ns:
            item.pub_date = _text(child)
        elif local == "description" and not ns:
            item.description = "".join(child.itertext())
        elif local == "enclosure":
            url = (child.get("url") or "").strip()
            if url:
                item.enclosures.append(
                    Enclosure(url=url, length=_int(child.get("length")), type=(child.get("type") or "").strip())
                )
        elif local == "category":
            continue
        elif len(child):
            for grandchild in child:
                key = _local(grandchild.tag).lower()
                if key:
                    item.extra.setdefault(key, _text(grandchild) or "")
        elif local:
            item.extra.setdefault(local, _text(child) or "")
    other = [ns for ns in ATTR_NAMESPACES if ns != prefer]
    attrs = dict(by_ns.get(prefer, {}))
    for ns in other:
        for key, values in by_ns[ns].items():
            attrs.setdefault(key, values)
    item.attrs = attrs
    return item


def read_feed(root: Element, *, name: str, prefer: str = TORZNAB_NS) -> Feed:
    """Items and paging of a parsed RSS ``root`` (``<rss><channel><item>…``; an Atom-less RSS
    0.91/1.0/2.0 document). Raises :class:`ProviderResponseError` when it is not RSS."""
    if _local(root.tag).lower() != "rss":
        channel = root if _local(root.tag).lower() == "channel" else None
        if channel is None:
            raise ProviderResponseError(
                f"{name}: expected an RSS feed, got a <{_local(root.tag)}> document"
            )
    else:
        channel = next((c for c in root if _local(c.tag).lower() == "channel"), None)
        if channel is None:
            return Feed(items=[])
    feed = Feed(items=[])
    for child in channel:
        local = _local(child.tag).lower()
        if local == "item":
            feed.items.append(_read_item(child, prefer))
        elif local == "response" and _ns(child.tag) in ATTR_NAMESPACES:
            feed.offset = _int(child.get("offset"))
            feed.total = _int(child.get("total"))
        elif local == "title" and not _ns(child.tag):
            feed.title = _text(child)
    return feed


def parse_feed(data: bytes, *, name: str, prefer: str = TORZNAB_NS) -> Feed:
    """:func:`parse_document` then :func:`read_feed`. Raises as those do."""
    return read_feed(parse_document(data, name=name), name=name, prefer=prefer)


# -------------------------------------------------------------------------------------------------
# Caps
# -------------------------------------------------------------------------------------------------
#: ``<searching>`` element → our search type (:data:`~.types.SEARCH_TYPES`).
CAPS_SEARCH_ELEMENTS = {
    "search": "search",
    "tv-search": "tvsearch",
    "movie-search": "movie",
    "music-search": "music",
    "audio-search": "music",
    "book-search": "book",
}

#: Parameters assumed when an element has no ``supportedParams``. Sources: Newznab's original
#: parameters (``q`` for search, ``q,rid,season,ep`` for tvsearch — the Newznab spec and
#: Sonarr's "Implementing a Torznab indexer"), ``q,imdbid`` for movie (Newznab spec 2.5),
#: ``q,artist,album`` for music and ``q,author,title`` for books (what Lidarr/Readarr assume).
DEFAULT_PARAMS: dict[str, list[str]] = {
    "search": ["q"],
    "tvsearch": ["q", "rid", "season", "ep"],
    "movie": ["q", "imdbid"],
    "music": ["q", "artist", "album"],
    "book": ["q", "author", "title"],
}

#: When a server's caps have no ``<searching>`` at all: the Newznab originals.
DEFAULT_SEARCH_TYPES = {"search": DEFAULT_PARAMS["search"], "tvsearch": DEFAULT_PARAMS["tvsearch"]}

DEFAULT_LIMITS = {"max": 100, "default": 100}


def default_caps() -> dict[str, Any]:
    """The caps assumed for a server that does not answer ``t=caps`` usefully."""
    return {
        "search_types": {k: list(v) for k, v in DEFAULT_SEARCH_TYPES.items()},
        "categories": [],
        "limits": dict(DEFAULT_LIMITS),
        "server": {},
        "defaults_used": True,
    }


def read_caps(root: Element, *, name: str) -> dict[str, Any]:
    """The caps of a parsed ``<caps>`` document.

    Returns ``{"search_types": {type: [param, …]}, "categories": [{"id", "name", "subcats":
    [{"id", "name"}]}], "limits": {"max", "default"}, "server": {attr: value}}``. Only search
    types with ``available="yes"`` are listed; an element without ``supportedParams`` gets
    :data:`DEFAULT_PARAMS`; a document without ``<searching>`` gets
    :data:`DEFAULT_SEARCH_TYPES`. Parameter names are lower case (``tvdbid``, ``imdbid`` …).
    """
    if _local(root.tag).lower() != "caps":
        raise ProviderResponseError(f"{name}: expected a <caps> document, got <{_local(root.tag)}>")
    caps: dict[str, Any] = {"search_types": {}, "categories": [], "limits": dict(DEFAULT_LIMITS), "server": {}}
    searching = None
    for child in root:
        local = _local(child.tag).lower()
        if local == "server":
            caps["server"] = dict(child.attrib)
        elif local == "limits":
            maximum, default = _int(child.get("max")), _int(child.get("default"))
            maximum = maximum if maximum and maximum > 0 else None
            default = default if default and default > 0 else None
            caps["limits"]["max"] = maximum or default or DEFAULT_LIMITS["max"]
            caps["limits"]["default"] = min(default or caps["limits"]["max"], caps["limits"]["max"])
        elif local == "searching":
            searching = child
        elif local == "categories":
            for cat in child:
                if _local(cat.tag).lower() != "category":
                    continue
                cat_id = _int(cat.get("id"))
                if cat_id is None:
                    continue
                subcats = [
                    {"id": _int(s.get("id")), "name": s.get("name") or ""}
                    for s in cat
                    if _local(s.tag).lower() == "subcat" and _int(s.get("id")) is not None
                ]
                caps["categories"].append({"id": cat_id, "name": cat.get("name") or "", "subcats": subcats})
    if searching is None:
        caps["search_types"] = {k: list(v) for k, v in DEFAULT_SEARCH_TYPES.items()}
    else:
        for el in searching:
            kind = CAPS_SEARCH_ELEMENTS.get(_local(el.tag).lower())
            if kind is None or (el.get("available") or "no").strip().lower() != "yes":
                continue
            raw = el.get("supportedParams")
            if raw is None:
                raw = el.get("supportedparams")
            params = (
                [p.strip().lower() for p in raw.split(",") if p.strip()]
                if raw is not None
                else list(DEFAULT_PARAMS[kind])
            )
            if kind in caps["search_types"]:  # music-search and audio-search both present
                params = list(dict.fromkeys(caps["search_types"][kind] + params))
            caps["search_types"][kind] = params
    return caps


def parse_caps(data: bytes, *, name: str) -> dict[str, Any]:
    """:func:`parse_document` then :func:`read_caps`. Raises as those do."""
    return read_caps(parse_document(data, name=name), name=name)


# -------------------------------------------------------------------------------------------------
# Small readers
# -------------------------------------------------------------------------------------------------
_UNITS = {
    "b": 1, "byte": 1, "bytes": 1,
    "kb": 1024, "kib": 1024,
    "mb": 1024**2, "mib": 1024**2,
    "gb": 1024**3, "gib": 1024**3,
    "tb": 1024**4, "tib": 1024**4,
    "pb": 1024**5, "pib": 1024**5,
}
_SIZE_NUMBER = r"(?<![\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?)"
_SIZE_UNIT = r"\s*(bytes?|[KMGTP]i?B|B)(?![\w/])"
_SIZE_RE = re.compile(_SIZE_NUMBER + _SIZE_UNIT, re.I)
_LABELLED_SIZE_RE = re.compile(r"(?<![a-z])size\s*[:=]?\s*" + _SIZE_NUMBER + _SIZE_UNIT, re.I)


def _size_value(number: str, unit: str) -> int | None:
    if "," in number and "." in number:
        number = number.replace(",", "")
    elif "," in number:
        head, _, tail = number.rpartition(",")
        number = number.replace(",", "") if len(tail) == 3 and head else number.replace(",", ".")
    try:
        value = float(number)
    except ValueError:
        return None
    factor = _UNITS.get(unit.lower())
    if factor is None:
        return None
    return int(value * factor)


def parse_size(text: str | None, *, labelled_only: bool = False) -> int | None:
    """A size written as text → bytes, or None.

    Plain digits are bytes (``"562386947"``). Otherwise the first ``"Size: 938.49 MB"``
    (the word *size* right before the number) is used, else — unless ``labelled_only`` — the first
    number followed by a unit anywhere (``"[ 4.28 GB ]"``). Units are binary whether written
    ``MB`` or ``MiB`` (trackers show 880496711 bytes as "839.71 MB"); ``1,234.5`` and ``1,5``
    are both understood. Numbers glued to a word (``93x50mb``) are not sizes.
    """
    if not text:
        return None
    stripped = text.strip()
    if stripped.isdigit():
        value = int(stripped)
        return value if value > 0 else None
    m = _LABELLED_SIZE_RE.search(stripped)
    if m is None and not labelled_only:
        m = _SIZE_RE.search(stripped)
    if m is None:
        return None
    value = _size_value(m.group(1), m.group(2))
    return value if value and value > 0 else None


_ZONE_HOURS = re.compile(r"\s([+-])(\d{2})$")
_ISO_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def parse_date(text: str | None) -> float | None:
    """An RSS date → UTC seconds since the epoch, or None when unreadable.

    RFC 822/2822 (``Sat, 14 Mar 2015 17:10:42 -0400``; also without the weekday, with a zone
    name, or a zone of hours only ``-12``), and ISO 8601 (``2015-06-03 03:19:49``,
    ``2017-05-17T20:36:06Z``). A date without a zone is UTC.
    """
    if not text:
        return None
    text = " ".join(text.split())
    fixed = _ZONE_HOURS.sub(lambda m: f" {m.group(1)}{m.group(2)}00", text)
    try:
        dt = email.utils.parsedate_to_datetime(fixed)
    except (TypeError, ValueError, IndexError):
        dt = None
    if dt is None:
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for fmt in _ISO_FORMATS:
                try:
                    dt = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def normalise_infohash(value: str | None) -> str | None:
    """A BitTorrent v1 info-hash as 40 lower-case hex digits, from hex (any case) or base32
    (32 characters, BEP 9 allows both in magnet links); None when it is neither."""
    if not value:
        return None
    value = value.strip()
    if _HEX40.match(value):
        return value.lower()
    if _B32_32.match(value):
        try:
            return base64.b32decode(value.upper()).hex()
        except ValueError:
            return None
    return None


def infohash_from_magnet(uri: str | None) -> str | None:
    """The ``xt=urn:btih:`` info-hash of a magnet URI (hex or base32, BEP 9), normalised."""
    if not uri or not uri.lower().startswith("magnet:"):
        return None
    m = _BTIH.search(uri)
    return normalise_infohash(m.group(1)) if m else None


def unescape_title(title: str) -> str:
    """Undo one level of HTML escaping left in a title (``Series.&amp;.Title`` — an indexer that
    escaped twice), and trim it."""
    title = title.strip()
    if "&" in title and _TEXT_ENTITY.search(title):
        title = html.unescape(title).strip()
    return " ".join(title.split()) if "\n" in title or "\t" in title else title


def resolve_url(url: str | None, base_url: str | None) -> str | None:
    """``url`` made absolute against ``base_url`` (the URL the feed was fetched from).
    Magnet URIs and absolute URLs are returned unchanged."""
    if not url:
        return None
    url = url.strip()
    if not url:
        return None
    if url.lower().startswith("magnet:"):
        return url
    if base_url and not urllib.parse.urlsplit(url).scheme:
        return urllib.parse.urljoin(base_url, url)
    return url


# -------------------------------------------------------------------------------------------------
# Item → Release
# -------------------------------------------------------------------------------------------------
#: Attribute names (lower case) → ``Release.ids`` keys. Sources: Newznab spec section 4.1
#: (``tvdbid``, ``rageid``/``tvrageid``, ``tvmazeid``, ``imdb``/``imdbid``, ``tmdbid``,
#: ``traktid``, ``anidbid``) and Torznab 1.3 (``doubanid``).
ID_ATTRS = {
    "tvdbid": "tvdbid",
    "rageid": "tvrageid",
    "tvrageid": "tvrageid",
    "tvmazeid": "tvmazeid",
    "imdb": "imdbid",
    "imdbid": "imdbid",
    "tmdbid": "tmdbid",
    "traktid": "traktid",
    "anidbid": "anidbid",
    "doubanid": "doubanid",
}

#: Torznab ``tag`` values and Newznab flag attributes we pass on as ``Release.flags``.
KNOWN_TAGS = {"freeleech", "halfleech", "double_upload", "internal", "scene", "nuked", "exclusive"}

TORRENT_TYPES = ("application/x-bittorrent",)
NZB_TYPES = ("application/x-nzb",)


def _imdb(value: str) -> str | None:
    digits = value.strip().lower().removeprefix("tt")
    if not digits.isdigit() or int(digits) == 0:
        return None
    return "tt" + digits.zfill(7)


def _choose_enclosure(enclosures: list[Enclosure], protocol: str) -> Enclosure | None:
    if not enclosures:
        return None
    wanted = TORRENT_TYPES if protocol == "torrent" else NZB_TYPES
    for enc in enclosures:
        if enc.type.lower().split(";")[0].strip() in wanted:
            return enc
    if protocol == "torrent":
        for enc in enclosures:
            path = urllib.parse.urlsplit(enc.url).path.lower()
            if enc.url.lower().startswith("magnet:") or path.endswith(".torrent"):
                return enc
    others = NZB_TYPES if protocol == "torrent" else TORRENT_TYPES
    for enc in enclosures:
        if enc.type.lower().split(";")[0].strip() not in others:
            return enc
    return enclosures[0]


def _split_languages(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for part in re.split(r"\s*[,/|]\s*", value):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


_SEEDERS_RE = (
    re.compile(r"(?<![a-z])(?:seeders|seeds|seeding|seed)\s*[:=]\s*(\d[\d,]*)", re.I),
    re.compile(r"(?<![\w.,])(\d[\d,]*)\s*(?:seeders?|seeds)\b", re.I),
)
_LEECHERS_RE = (
    re.compile(r"(?<![a-z])(?:leechers|leeches|leechs|leeching|leech)\s*[:=]\s*(\d[\d,]*)", re.I),
    re.compile(r"(?<![\w.,])(\d[\d,]*)\s*(?:leechers?|leeches)\b", re.I),
)
_NO_LEECHERS = re.compile(r"\bno\s+leech(?:er|ers)?\b", re.I)


def parse_swarm_text(text: str | None) -> tuple[int | None, int | None]:
    """Seeders and leechers written as text: ``"Seeders: 6 / Leechers: 2"``, ``"Seeds: 0<br />
    Leechers: 0"``, ``"2 seeders and 0 leechers"``, ``"4 seeders and no leecher"``. Either
    may be None."""
    if not text:
        return None, None
    seeders = leechers = None
    for rx in _SEEDERS_RE:
        m = rx.search(text)
        if m:
            seeders = _int(m.group(1))
            break
    for rx in _LEECHERS_RE:
        m = rx.search(text)
        if m:
            leechers = _int(m.group(1))
            break
    if leechers is None and _NO_LEECHERS.search(text):
        leechers = 0
    return seeders, leechers


def build_release(
    item: FeedItem,
    *,
    indexer: str,
    protocol: str,
    base_url: str | None = None,
    priority: int = 25,
) -> Release:
    """Interpret one :class:`FeedItem` as a :class:`~.types.Release`.

    - ``download_url``: the preferred enclosure (``application/x-bittorrent`` or a magnet /
      ``.torrent`` for torrents, ``application/x-nzb`` for usenet), else ``<link>``; relative URLs
      are resolved against ``base_url``. A magnet download URL is also the ``magnet_url``.
    - ``magnet_url``: the ``magneturl`` attribute, else a magnet enclosure/link, else a
      ``magnetURI`` element (ezRSS).
    - ``infohash``: the ``infohash`` attribute, else an ``infohash``/``info_hash`` element, else
      the magnet's ``btih`` (hex or base32).
    - ``size``: the ``size`` attribute, else ``<size>`` (digits or "Size: 0.99 GB"), else the
      chosen enclosure's ``length`` when > 0, else a ``contentLength`` element; None otherwise.
    - ``info_url``: ``<comments>`` without a trailing ``#comments`` (the details page), else a
      permalink ``<guid>``, else ``<link>`` when it is not the download; ``comments_url``:
      ``<comments>``.
    - ``seeders``/``leechers``/``peers``: attributes, else elements of those names or a
      ``<status>`` text; Torznab's ``peers`` counts seeders and leechers, so a missing one of
      ``peers``/``leechers`` is computed from the others.
    - ``download_volume_factor``/``upload_volume_factor`` and the ``flags`` they imply:
      ``freeleech`` (0), ``halfleech`` (0.5), ``partial_freeleech`` (other values below 1),
      ``double_upload`` (2 and more); ``tag`` attributes; Newznab ``prematch``/``haspretime``
      = 1 → ``scene``, ``nuked`` = 1 → ``nuked``.
    - ``ids`` from :data:`ID_ATTRS` (ints; ``imdbid`` as ``tt`` + 7 digits); 0 means unknown.
    - ``languages`` from ``language`` attributes (comma-separated lists split).
    """
    attr = item.attr
    extra = item.extra
    title = unescape_title(item.title)

    enclosure = _choose_enclosure(item.enclosures, protocol)
    link = resolve_url(item.link, base_url)
    download_url = resolve_url(enclosure.url, base_url) if enclosure else link
    if download_url is None and protocol == "torrent":
        download_url = extra.get("magneturi") or attr("magneturl")

    magnet = attr("magneturl") or None
    if not magnet and download_url and download_url.lower().startswith("magnet:"):
        magnet = download_url
    if not magnet:
        for candidate in (extra.get("magneturi"), item.link):
            if candidate and candidate.strip().lower().startswith("magnet:"):
                magnet = candidate.strip()
                break
    if protocol != "torrent":
        magnet = None

    infohash = None
    if protocol == "torrent":
        infohash = (
            normalise_infohash(attr("infohash"))
            or normalise_infohash(extra.get("infohash"))
            or normalise_infohash(extra.get("info_hash"))
            or infohash_from_magnet(magnet)
            or infohash_from_magnet(download_url)
        )

    size = _int(attr("size"))
    if not size or size <= 0:
        size = parse_size(extra.get("size")) if extra.get("size") else None
    if not size and enclosure is not None and enclosure.length and enclosure.length > 0:
        size = enclosure.length
    if not size:
        size = _int(extra.get("contentlength"))
    if not size or size <= 0:
        size = None

    comments_url = resolve_url(item.comments, base_url)
    info_url = None
    if item.comments:
        raw = item.comments.strip()
        info_url = resolve_url(raw[: -len("#comments")] if raw.endswith("#comments") else raw, base_url)
    if not info_url and item.guid and item.guid_is_permalink:
        guid_url = resolve_url(item.guid, base_url) if "/" in item.guid else None
        if guid_url and guid_url.lower().startswith(("http://", "https://")) and guid_url != download_url:
            info_url = guid_url
    if not info_url and link and link != download_url and link.lower().startswith(("http://", "https://")):
        info_url = link

    seeders = _int(attr("seeders"))
    leechers = _int(attr("leechers"))
    peers = _int(attr("peers"))
    if seeders is None:
        seeders = _int(extra.get("seeders"))
    if leechers is None:
        leechers = _int(extra.get("leechers"))
    if peers is None:
        peers = _int(extra.get("peers"))
    if (seeders is None or leechers is None) and extra.get("status"):
        s, lc = parse_swarm_text(extra["status"])
        seeders = s if seeders is None else seeders
        leechers = lc if leechers is None else leechers
    if peers is None and seeders is not None and leechers is not None:
        peers = seeders + leechers
    if leechers is None and peers is not None and seeders is not None and peers >= seeders:
        leechers = peers - seeders

    categories: list[int] = []
    for value in item.attrs.get("category", []):
        cat = _int(value)
        if cat is not None and cat not in categories:
            categories.append(cat)

    ids: dict[str, str | int] = {}
    for key, target in ID_ATTRS.items():
        value = attr(key)
        if not value or target in ids:
            continue
        if target == "imdbid":
            imdb = _imdb(value)
            if imdb:
                ids[target] = imdb
            continue
        number = _int(value)
        if number:
            ids[target] = number

    dvf = _float(attr("downloadvolumefactor"))
    uvf = _float(attr("uploadvolumefactor"))
    flags: list[str] = []
    if dvf is not None:
        if dvf == 0:
            flags.append("freeleech")
        elif dvf == 0.5:
            flags.append("halfleech")
        elif 0 < dvf < 1:
            flags.append("partial_freeleech")
    if uvf is not None and uvf >= 2:
        flags.append("double_upload")
    for value in item.attrs.get("tag", []):
        tag = value.strip().lower().replace(" ", "_").replace("-", "_")
        if tag in KNOWN_TAGS and tag not in flags:
            flags.append(tag)
    if (attr("prematch") == "1" or attr("haspretime") == "1") and "scene" not in flags:
        flags.append("scene")
    if attr("nuked") == "1" and "nuked" not in flags:
        flags.append("nuked")

    published = parse_date(item.pub_date) or parse_date(attr("usenetdate"))

    return Release(
        title=title,
        indexer=indexer,
        protocol=protocol,
        download_url=download_url,
        guid=item.guid or download_url,
        info_url=info_url,
        comments_url=comments_url,
        magnet_url=magnet,
        infohash=infohash,
        size=size,
        published=published,
        categories=categories,
        seeders=seeders,
        leechers=leechers,
        peers=peers,
        grabs=_int(attr("grabs")),
        files=_int(attr("files")),
        ids=ids,
        download_volume_factor=dvf,
        upload_volume_factor=uvf,
        flags=flags,
        languages=_split_languages(item.attrs.get("language", [])),
        indexer_priority=priority,
    )


# -------------------------------------------------------------------------------------------------
# HTTP
# -------------------------------------------------------------------------------------------------
_SECRET_PARAMS = {"apikey", "api_key", "passkey", "key", "secret_key", "torrent_pass", "authkey", "r", "i"}


def redact_url(url: str) -> str:
    """``url`` with the values of credential-like query parameters (``apikey``, ``passkey`` …)
    replaced by ``***``, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    if not parts.query:
        return url
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    safe = [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in query]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(safe, safe="*,/:")))


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """An HTTP ``Retry-After`` header (seconds, or an HTTP date) → seconds to wait (RFC 9110
    10.2.3); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = parse_date(value)
    if when is None:
        return None
    return max(0.0, when - (time.time() if now is None else now))


class FeedClient:
    """GETs feed documents over HTTP(S) with aiohttp for one indexer named ``name``.

    Each request is bounded by ``timeout`` seconds. Failures become provider errors whose
    message names the indexer and never contains the API key:

    - connection refused, DNS failure, timeout, HTTP 5xx (except below) → :class:`ProviderUnavailable`
      (``retry_after`` from a ``Retry-After`` header when sent);
    - HTTP 401/403 → :class:`ProviderAuthError` (the Newznab error in the body, when any, is quoted);
    - HTTP 429 → :class:`ProviderRateLimited` with ``retry_after`` from ``Retry-After``;
    - a Newznab error document in a 4xx/5xx body → :func:`error_for_code` (500/501 "request
      limit" sent with HTTP 503 is rate limiting, not an outage);
    - other HTTP 4xx → :class:`ProviderResponseError`.

    The aiohttp session is created on first use and closed by :meth:`close`.
    """

    def __init__(self, name: str, *, timeout: float = 30.0, headers: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.timeout = float(timeout)
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/xml, text/xml, */*"}
        self.headers.update(headers or {})
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self.headers)
        return self._session

    async def get(self, url: str, params: Mapping[str, str] | None = None) -> tuple[bytes, str]:
        """GET ``url`` (with ``params`` added to its query) → (body bytes, the final URL after
        redirects, for resolving relative links). Raises as described on the class."""
        session = self._get_session()
        shown = redact_url(url)
        try:
            async with session.get(
                url,
                params=params,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=True,
            ) as resp:
                body = await resp.read()
                final_url = str(resp.url)
                status = resp.status
                retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
        except TimeoutError as err:
            raise ProviderUnavailable(f"{self.name}: no answer from {shown} within {self.timeout:g} s") from err
        except aiohttp.InvalidURL as err:
            raise ProviderResponseError(f"{self.name}: invalid URL {shown}") from err
        except aiohttp.ClientError as err:
            reason = str(err) or type(err).__name__
            raise ProviderUnavailable(f"{self.name}: cannot reach {shown} ({reason})") from err
        if status < 400:
            return body, final_url
        self._raise_for_status(status, body, shown, retry_after)
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_for_status(self, status: int, body: bytes, shown: str, retry_after: float | None) -> None:
        document_error: ProviderError | None = None
        if body.strip():
            try:
                parse_document(body[:65536], name=self.name)
            except (ProviderAuthError, ProviderRateLimited) as err:
                document_error = err
            except ProviderResponseError as err:
                document_error = err if err.code is not None else None
            except ProviderError:
                document_error = None
        detail = f" ({document_error.args[0].split(': ', 1)[-1]})" if document_error is not None else ""
        if status in (401, 403):
            raise ProviderAuthError(
                f"{self.name}: HTTP {status} from {shown} — the indexer refused our credentials{detail}",
                code=status,
            )
        if status == 429:
            raise ProviderRateLimited(
                f"{self.name}: HTTP 429 from {shown} — too many requests{detail}",
                code=429,
                retry_after=retry_after,
            )
        if isinstance(document_error, ProviderRateLimited):
            document_error.retry_after = retry_after
            raise document_error
        if isinstance(document_error, ProviderAuthError):
            raise document_error
        if status >= 500:
            raise ProviderUnavailable(
                f"{self.name}: HTTP {status} from {shown} — the indexer has a server error{detail}",
                code=status,
                retry_after=retry_after,
            )
        raise ProviderResponseError(f"{self.name}: HTTP {status} from {shown}{detail}", code=status)

    async def close(self) -> None:
        """Close the HTTP session (safe to call more than once)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


async def parse_in_background(func: Any, data: bytes, **kwargs: Any) -> Any:
    """Run ``func(data, **kwargs)`` on a worker thread when ``data`` is large (more than
    :data:`THREAD_PARSE_BYTES`), inline otherwise — parsing a big feed must not stall the loop."""
    if len(data) > THREAD_PARSE_BYTES:
        return await asyncio.to_thread(func, data, **kwargs)
    return func(data, **kwargs)
