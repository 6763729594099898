"""Info-hashes of .torrent files and magnet URIs, and a .torrent maker for tests and tools.

The hub computes the info-hash itself before it hands a torrent to a download client and tracks
the grab by it (clients report the same value: qBittorrent's ``hash``, Transmission's
``hashString``).

- :func:`infohash_from_torrent`: SHA-1 of the bencoded ``info`` dictionary **exactly as the bytes
  appear in the file** (BEP 3). Re-encoding a decoded dictionary would change the hash of a file
  whose encoder did not sort keys or wrote non-canonical integers, so we locate the raw span.
- :func:`infohash_from_magnet`: the ``xt=urn:btih:`` hash (40 hex digits, or 32 base32 characters,
  BEP 9), or a v2 ``urn:btmh:`` multihash (BEP 52).
- :func:`make_torrent`: a single-file or folder torrent made with `torf`.

BitTorrent v2-only torrents (BEP 52: ``meta version`` 2 and no ``pieces``) have no SHA-1 hash; for
them we return the SHA-256 of the info dictionary truncated to 20 bytes, which is the id
libtorrent and qBittorrent use for such torrents (qBittorrent's ``TorrentID``). Hybrid torrents
have both and we return the v1 SHA-1, as the clients do.

Every function raises :class:`ValueError` with a message saying what is wrong with the input.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

__all__ = ["infohash_from_magnet", "infohash_from_torrent", "make_torrent", "normalize_infohash"]

_HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")
_BASE32 = re.compile(r"^[A-Za-z2-7]{32}$")
#: bencode nests lists/dicts; real torrents go 4–5 levels deep. A cap keeps hostile input from
#: exhausting the stack.
_MAX_DEPTH = 64


class _Bencode:
    """A minimal bencode walker that validates structure and records where ``info`` lies.

    Only what the hash needs: it checks the grammar (BEP 3: ``i<int>e``, ``<len>:<bytes>``,
    ``l…e``, ``d…e`` with byte-string keys) and remembers the raw span of the top-level ``info``
    value and whether that dictionary has ``pieces`` / ``meta version``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.info_span: tuple[int, int] | None = None
        self.info_keys: dict[bytes, object] = {}

    def fail(self, pos: int, what: str) -> ValueError:
        return ValueError(f"not a valid .torrent (bencode): {what} at byte {pos}")

    def parse_document(self) -> None:
        if not self.data:
            raise ValueError("not a valid .torrent: the data is empty")
        if self.data[:1] != b"d":
            raise self.fail(0, "expected the top-level dictionary ('d')")
        end = self.value(0, depth=0, top=True)
        if end != len(self.data):
            raise self.fail(end, f"{len(self.data) - end} unexpected trailing byte(s)")

    def value(self, pos: int, depth: int, top: bool = False, capture: bool = False) -> int:
        """Parse one value at ``pos``; return the position after it."""
        if depth > _MAX_DEPTH:
            raise self.fail(pos, "nesting too deep")
        if pos >= len(self.data):
            raise self.fail(pos, "unexpected end of data")
        c = self.data[pos : pos + 1]
        if c == b"i":
            end = self.data.find(b"e", pos + 1)
            if end < 0:
                raise self.fail(pos, "unterminated integer")
            digits = self.data[pos + 1 : end]
            if not re.fullmatch(rb"-?\d+", digits):
                raise self.fail(pos, f"bad integer {digits[:20]!r}")
            return end + 1
        if c.isdigit():
            return self.string(pos)[1]
        if c == b"l":
            pos += 1
            while self.data[pos : pos + 1] != b"e":
                pos = self.value(pos, depth + 1)
            return pos + 1
        if c == b"d":
            pos += 1
            while self.data[pos : pos + 1] != b"e":
                if pos >= len(self.data):
                    raise self.fail(pos, "unterminated dictionary")
                if not self.data[pos : pos + 1].isdigit():
                    raise self.fail(pos, "dictionary key is not a byte string")
                key, pos = self.string(pos)
                start = pos
                if top and key == b"info":
                    if self.data[pos : pos + 1] != b"d":
                        raise self.fail(pos, "'info' is not a dictionary")
                    pos = self.value(pos, depth + 1, capture=True)
                    self.info_span = (start, pos)
                else:
                    pos = self.value(pos, depth + 1)
                if capture and key in (b"pieces", b"meta version", b"name"):
                    self.info_keys[key] = self.data[start:pos]
            return pos + 1
        raise self.fail(pos, f"unexpected byte {c!r}")

    def string(self, pos: int) -> tuple[bytes, int]:
        colon = self.data.find(b":", pos)
        if colon < 0 or not self.data[pos:colon].isdigit():
            raise self.fail(pos, "bad byte-string length")
        length = int(self.data[pos:colon])
        end = colon + 1 + length
        if end > len(self.data):
            raise self.fail(pos, f"byte string of {length} bytes runs past the end")
        return self.data[colon + 1 : end], end


def infohash_from_torrent(data: bytes) -> str:
    """Return the info-hash of a .torrent file's bytes: 40 lower-case hex digits.

    v1 and hybrid torrents: SHA-1 of the raw bencoded ``info`` value (BEP 3). v2-only torrents
    (BEP 52): SHA-256 of it truncated to 20 bytes (see the module docstring).

    Raises ``ValueError`` when ``data`` is not bencode, has no ``info`` dictionary, or is an HTML
    page / magnet text passed by mistake."""
    if isinstance(data, str):
        raise ValueError("infohash_from_torrent needs the .torrent file's bytes, got a str")
    data = bytes(data)
    head = data[:64].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml")):
        raise ValueError("not a valid .torrent: got an HTML/XML page instead of a torrent file")
    if head.startswith(b"magnet:"):
        raise ValueError("not a valid .torrent: got a magnet URI (use infohash_from_magnet)")
    walker = _Bencode(data)
    walker.parse_document()
    if walker.info_span is None:
        raise ValueError("not a valid .torrent: the top-level dictionary has no 'info' dictionary")
    raw = data[walker.info_span[0] : walker.info_span[1]]
    v2_only = walker.info_keys.get(b"meta version") == b"i2e" and b"pieces" not in walker.info_keys
    if v2_only:
        return hashlib.sha256(raw).hexdigest()[:40]
    return hashlib.sha1(raw).hexdigest()


def normalize_infohash(value: str) -> str:
    """A v1 info-hash given as 40 hex digits or 32 base32 characters → 40 lower-case hex digits.
    Raises ``ValueError`` for anything else."""
    text = (value or "").strip()
    if _HEX40.match(text):
        return text.lower()
    if _BASE32.match(text):
        try:
            return base64.b32decode(text.upper()).hex()
        except binascii.Error as err:  # pragma: no cover - the regex admits only valid base32
            raise ValueError(f"bad base32 info-hash {text!r}: {err}") from None
    raise ValueError(f"not an info-hash (need 40 hex digits or 32 base32 characters): {text!r}")


def infohash_from_magnet(uri: str) -> str:
    """Return the info-hash of a magnet URI: 40 lower-case hex digits.

    Accepts ``xt=urn:btih:<40 hex>`` and ``xt=urn:btih:<32 base32>`` (BEP 9), and for v2-only
    magnets ``xt=urn:btmh:1220<64 hex>`` (a SHA-256 multihash, BEP 52; truncated to 20 bytes like
    :func:`infohash_from_torrent`). When a magnet has both, the v1 ``btih`` wins.

    Raises ``ValueError`` when ``uri`` is not a magnet URI or has no usable ``xt``."""
    if not isinstance(uri, str) or not uri.strip().lower().startswith("magnet:?"):
        raise ValueError(f"not a magnet URI (must start with 'magnet:?'): {str(uri)[:80]!r}")
    query = urlsplit(uri.strip()).query
    topics = parse_qs(query, keep_blank_values=True).get("xt", [])
    # Some sites number the parameter (xt.1, xt.2 …), which BEP 9 allows for multiple topics.
    for key, values in parse_qs(query).items():
        if key.startswith("xt."):
            topics.extend(values)
    v2: str | None = None
    for topic in topics:
        low = topic.lower()
        if low.startswith("urn:btih:"):
            return normalize_infohash(topic[9:])
        if low.startswith("urn:btmh:"):
            multihash = topic[9:]
            if not re.fullmatch(r"1220[0-9a-fA-F]{64}", multihash):
                raise ValueError(f"magnet has a malformed urn:btmh topic (need 1220 + 64 hex): {topic[:90]!r}")
            v2 = multihash[4:44].lower()
    if v2:
        return v2
    raise ValueError(f"magnet URI has no 'xt=urn:btih:' info-hash: {uri[:120]!r}")


def make_torrent(
    path: str | Path,
    *,
    announce: str | list[str] | None = None,
    piece_size: int | None = None,
    private: bool = False,
    comment: str | None = None,
) -> bytes:
    """Make a v1 .torrent of the file or folder at ``path`` and return its bytes.

    ``announce``: a tracker URL (or several, one tier each); none makes a trackerless torrent
    (peers are then added by hand or found over DHT). ``piece_size`` in bytes (a power of two
    ≥ 16 KiB); torf picks one from the size when None. Hashing runs in this thread: call it via
    ``asyncio.to_thread`` from async code.

    Raises ``ValueError`` for a missing path, an empty file/folder or a bad piece size."""
    import torf

    path = Path(path)
    if not path.exists():
        raise ValueError(f"cannot make a torrent of {path}: no such file or folder")
    trackers = [announce] if isinstance(announce, str) else list(announce or [])
    try:
        torrent = torf.Torrent(
            path=path,
            trackers=trackers or None,
            private=private or None,
            comment=comment,
            created_by="Omni-Media",
        )
        if piece_size is not None:
            torrent.piece_size = piece_size
        torrent.generate(threads=1)
        return torrent.dump(validate=True)
    except torf.TorfError as err:
        raise ValueError(f"cannot make a torrent of {path}: {err}") from None
