"""Direct play over ``/api/stream/{id}``: HTTP range semantics (RFC 9110 §14, §13.1.5), multipart
byte ranges read off a raw socket, and DLNA headers, checked on a real hub serving real
ffmpeg-made files."""

from __future__ import annotations

import asyncio
import email.utils
import re
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import update

from omnimedia.core.db import MediaItem

from .mediagen import EPISODE_NAME, MOVIE_NAME, make_audio, make_mkv, make_mp4, make_photo

SONG_NAME = "01 - Test Tone.mp3"
PHOTO_NAME = "IMG_0001.jpg"


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("stream_media")
    make_mkv(folder / "Show" / EPISODE_NAME)
    make_mp4(folder / MOVIE_NAME)
    make_audio(folder / "Music" / SONG_NAME)
    make_photo(folder / "Photos" / PHOTO_NAME, size=(800, 600))
    return folder


@pytest.fixture
async def served(hub_factory, media_dir):
    """``(base_url, {file name: (item id, path, bytes)}, hub, session)`` on a scanned hub."""
    hub = await hub_factory(media_dirs=[media_dir])
    await hub.library.scan()
    items, total = await hub.library.list_items(limit=10)
    assert total == 4, items
    host, port = hub.http.bound_address()
    files = {Path(i["path"]).name: (i["id"], Path(i["path"]), Path(i["path"]).read_bytes()) for i in items}
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield f"http://{host}:{port}", files, hub, session


async def fetch(session, method, url, headers=None):
    async with session.request(method, url, headers=headers or {}) as resp:
        return resp.status, resp.headers, await resp.read()


async def test_whole_file(served):
    base, files, _, session = served
    item_id, path, data = files[EPISODE_NAME]
    status, headers, body = await fetch(session, "GET", f"{base}/api/stream/{item_id}")
    assert status == 200
    assert body == data
    assert headers["Accept-Ranges"] == "bytes"
    assert int(headers["Content-Length"]) == len(data)
    assert headers["Content-Type"] == "video/x-matroska"
    assert headers["ETag"].startswith('"') and headers["Last-Modified"]
    movie_id, _, movie = files[MOVIE_NAME]
    status, headers, body = await fetch(session, "GET", f"{base}/api/stream/{movie_id}")
    assert (status, headers["Content-Type"], body) == (200, "video/mp4", movie)


async def test_ranges(served):
    base, files, _, session = served
    item_id, _, data = files[EPISODE_NAME]
    size = len(data)
    url = f"{base}/api/stream/{item_id}"
    cases = [
        ("bytes=0-99", 0, 99),  # single closed range
        ("bytes=100-", 100, size - 1),  # open range
        ("bytes=-500", size - 500, size - 1),  # suffix range
        (f"bytes=-{size + 1000}", 0, size - 1),  # suffix longer than the file: all of it
        (f"bytes=10-{size + 1000}", 10, size - 1),  # last-byte-pos past the end is clamped
        (f"bytes={size - 1}-{size - 1}", size - 1, size - 1),  # the very last byte
    ]
    for header, first, last in cases:
        status, headers, body = await fetch(session, "GET", url, {"Range": header})
        assert status == 206, header
        assert headers["Content-Range"] == f"bytes {first}-{last}/{size}", header
        assert int(headers["Content-Length"]) == last - first + 1, header
        assert body == data[first : last + 1], header
        assert headers["Content-Type"] == "video/x-matroska"


async def test_head(served):
    base, files, _, session = served
    item_id, _, data = files[EPISODE_NAME]
    url = f"{base}/api/stream/{item_id}"
    status, headers, body = await fetch(session, "HEAD", url)
    assert (status, body) == (200, b"")
    assert int(headers["Content-Length"]) == len(data)
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Type"] == "video/x-matroska"
    status, headers, body = await fetch(session, "HEAD", url, {"Range": "bytes=-500"})
    assert (status, body) == (206, b"")
    assert headers["Content-Range"] == f"bytes {len(data) - 500}-{len(data) - 1}/{len(data)}"


@pytest.mark.parametrize("header", ["bytes={size}-", "bytes={size}-{end}", "bytes=-0", "bytes=5-2", "bytes=abc"])
async def test_unsatisfiable_is_416_with_content_range(served, header):
    base, files, _, session = served
    item_id, _, data = files[EPISODE_NAME]
    size = len(data)
    async with session.get(
        f"{base}/api/stream/{item_id}", headers={"Range": header.format(size=size, end=size + 10)}
    ) as resp:
        assert resp.status == 416
        assert resp.headers["Content-Range"] == f"bytes */{size}"
        assert resp.content_type == "application/json"
        assert (await resp.json())["error"]


@pytest.mark.parametrize("header", [
    "items=0-5",  # another unit
    "bytes=0-99,50-150",  # overlapping
    "bytes=0-9,5-5",  # one inside another
    "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(17)),  # more than 16 ranges
])
async def test_ranges_we_do_not_serve_are_ignored(served, header):
    base, files, _, session = served
    item_id, _, data = files[EPISODE_NAME]
    status, headers, body = await fetch(session, "GET", f"{base}/api/stream/{item_id}", {"Range": header})
    assert (status, body) == (200, data)
    assert "Content-Range" not in headers


async def raw_request(url: str, method: str = "GET", headers: dict[str, str] | None = None):
    """One HTTP/1.1 request over a plain socket: ``(status, {lower-case name: value}, body bytes)``
    — the body exactly as sent (Content-Length framed), nothing parsed by an HTTP library."""
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert match, url
    host, port, target = match.group(1), int(match.group(2)), match.group(3)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        got = {}
        for line in filter(None, header_lines):
            name, _, value = line.partition(":")
            got[name.strip().lower()] = value.strip()
        body = b""
        if method != "HEAD" and status not in (204, 304):
            body = await reader.readexactly(int(got["content-length"]))
            assert await reader.read() == b"", "bytes after the declared Content-Length"
        return status, got, body
    finally:
        writer.close()


def parse_byteranges(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """Split a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1.1) strictly: it must start
    with the first delimiter, parts are separated by CRLF + delimiter and it ends with the close
    delimiter and CRLF."""
    delimiter = b"--" + boundary.encode()
    assert body.startswith(delimiter + b"\r\n"), body[:80]
    assert body.endswith(b"\r\n" + delimiter + b"--\r\n"), body[-80:]
    inner = body[len(delimiter) + 2 : -(len(delimiter) + 6)]
    parts = []
    for raw in inner.split(b"\r\n" + delimiter + b"\r\n"):
        head, sep, data = raw.partition(b"\r\n\r\n")
        assert sep, raw[:80]
        fields = dict(line.split(": ", 1) for line in head.decode("ascii").split("\r\n"))
        parts.append(({k.lower(): v for k, v in fields.items()}, data))
    return parts


@pytest.mark.parametrize("spec", [
    [(0, 99), (200, 299)],
    [(1000, 1999), (0, 9), (-300, None)],  # not ascending, with a suffix range
    [(5, None), (0, 0)],  # an open range and the first byte
    [(0, 0), (2, 2), (4, 4), (6, 6)],  # single bytes
])
async def test_several_ranges_are_multipart(served, spec):
    base, files, _, _ = served
    item_id, _, data = files[EPISODE_NAME]
    size = len(data)

    def resolve(first, last):
        if first < 0:
            return size + first, size - 1
        return first, size - 1 if last is None else last

    header = "bytes=" + ", ".join(f"-{-f}" if f < 0 else f"{f}-{'' if last is None else last}" for f, last in spec)
    status, headers, body = await raw_request(f"{base}/api/stream/{item_id}", headers={"Range": header})
    assert status == 206, (header, headers)
    assert "content-range" not in headers  # only in the parts
    content_type = headers["content-type"]
    assert content_type.startswith("multipart/byteranges; boundary="), content_type
    boundary = content_type.split("boundary=", 1)[1]
    assert int(headers["content-length"]) == len(body)
    assert headers["accept-ranges"] == "bytes" and headers["etag"]
    parts = parse_byteranges(body, boundary)
    assert len(parts) == len(spec)
    for (fields, chunk), (first, last) in zip(parts, [resolve(*r) for r in spec], strict=True):
        assert fields["content-type"] == "video/x-matroska"
        assert fields["content-range"] == f"bytes {first}-{last}/{size}"
        assert chunk == data[first : last + 1]

    # HEAD: the same head, no body.
    status, head_headers, head_body = await raw_request(f"{base}/api/stream/{item_id}", "HEAD", {"Range": header})
    assert (status, head_body) == (206, b"")
    assert head_headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert int(head_headers["content-length"]) == len(body)


async def test_multipart_leaves_out_ranges_past_the_end(served):
    base, files, _, session = served
    item_id, _, data = files[EPISODE_NAME]
    size = len(data)
    url = f"{base}/api/stream/{item_id}"
    # Two satisfiable ranges of three: multipart with two parts.
    status, headers, body = await raw_request(url, headers={"Range": f"bytes=0-1, {size + 5}-, 10-11"})
    assert status == 206
    parts = parse_byteranges(body, headers["content-type"].split("boundary=", 1)[1])
    assert [p[0]["content-range"] for p in parts] == [f"bytes 0-1/{size}", f"bytes 10-11/{size}"]
    assert [p[1] for p in parts] == [data[0:2], data[10:12]]
    # One satisfiable range left: a plain single-range 206.
    status, headers, body = await fetch(session, "GET", url, {"Range": f"bytes={size}-, -0, 3-5"})
    assert (status, headers["Content-Range"], body) == (206, f"bytes 3-5/{size}", data[3:6])
    assert headers["Content-Type"] == "video/x-matroska"
    # None: 416.
    status, headers, _ = await fetch(session, "GET", url, {"Range": f"bytes={size}-, -0"})
    assert (status, headers["Content-Range"]) == (416, f"bytes */{size}")
    # A broken range spec among good ones: the header is invalid, 416.
    status, _, _ = await fetch(session, "GET", url, {"Range": "bytes=0-1, 9-3"})
    assert status == 416


async def test_multipart_preconditions(served):
    base, files, _, session = served
    item_id, _, data = files[EPISODE_NAME]
    url = f"{base}/api/stream/{item_id}"
    _, headers, _ = await fetch(session, "HEAD", url)
    etag, last_modified = headers["ETag"], headers["Last-Modified"]
    ranges = {"Range": "bytes=0-1,4-5"}
    status, _, body = await fetch(session, "GET", url, {**ranges, "If-None-Match": etag})
    assert (status, body) == (304, b"")
    status, _, body = await fetch(session, "GET", url, {**ranges, "If-Modified-Since": last_modified})
    assert (status, body) == (304, b"")
    status, _, _ = await fetch(session, "GET", url, {**ranges, "If-Match": '"other"'})
    assert status == 412
    status, headers, _ = await fetch(session, "GET", url, {**ranges, "If-Match": etag})
    assert status == 206 and headers["Content-Type"].startswith("multipart/byteranges")
    # If-Range: a matching tag keeps the ranges, a stale one gets the whole file.
    status, headers, _ = await fetch(session, "GET", url, {**ranges, "If-Range": etag})
    assert status == 206 and headers["Content-Type"].startswith("multipart/byteranges")
    status, headers, body = await fetch(session, "GET", url, {**ranges, "If-Range": '"stale"'})
    assert (status, body, headers["Content-Type"]) == (200, data, "video/x-matroska")


DLNA_AV_FLAGS = "DLNA.ORG_FLAGS=01700000000000000000000000000000"


async def test_dlna_headers_when_asked(served):
    base, files, _, session = served
    item_id, _, data = files[EPISODE_NAME]
    url = f"{base}/api/stream/{item_id}"
    # A browser: no DLNA headers.
    _, headers, _ = await fetch(session, "HEAD", url)
    assert "contentFeatures.dlna.org" not in headers and "transferMode.dlna.org" not in headers

    # A renderer's usual first request (HEAD or GET with both headers), then ranges.
    dlna = {"getcontentFeatures.dlna.org": "1", "transferMode.dlna.org": "Streaming"}
    for method in ("HEAD", "GET"):
        status, headers, body = await fetch(session, method, url, dlna)
        assert status == 200
        # Matroska has no DLNA profile name: the PN is left out, the rest is there.
        assert headers["contentFeatures.dlna.org"] == f"DLNA.ORG_OP=01;DLNA.ORG_CI=0;{DLNA_AV_FLAGS}"
        assert headers["transferMode.dlna.org"] == "Streaming"
        assert body == (data if method == "GET" else b"")
    status, headers, body = await fetch(session, "GET", url, {**dlna, "Range": "bytes=100-"})
    assert (status, body) == (206, data[100:])
    assert headers["transferMode.dlna.org"] == "Streaming"
    assert headers["contentFeatures.dlna.org"].endswith(DLNA_AV_FLAGS)
    # Content features asked without a transfer mode: Streaming for audio/video.
    _, headers, _ = await fetch(session, "HEAD", url, {"getcontentFeatures.dlna.org": "1"})
    assert headers["transferMode.dlna.org"] == "Streaming"
    # Only a transfer mode: it is echoed, no content features.
    _, headers, _ = await fetch(session, "HEAD", url, {"transferMode.dlna.org": "Background"})
    assert headers["transferMode.dlna.org"] == "Background"
    assert "contentFeatures.dlna.org" not in headers


async def test_dlna_profile_names_when_known(served):
    base, files, _, session = served
    dlna = {"getcontentFeatures.dlna.org": "1"}
    song_id, _, _ = files[SONG_NAME]
    _, headers, _ = await fetch(session, "HEAD", f"{base}/api/stream/{song_id}", dlna)
    assert headers["Content-Type"] == "audio/mpeg"
    assert headers["contentFeatures.dlna.org"] == f"DLNA.ORG_PN=MP3;DLNA.ORG_OP=01;DLNA.ORG_CI=0;{DLNA_AV_FLAGS}"
    photo_id, _, _ = files[PHOTO_NAME]
    _, headers, _ = await fetch(session, "HEAD", f"{base}/api/stream/{photo_id}", dlna)
    assert headers["contentFeatures.dlna.org"] == (
        "DLNA.ORG_PN=JPEG_MED;DLNA.ORG_OP=01;DLNA.ORG_CI=0;DLNA.ORG_FLAGS=00f00000000000000000000000000000"
    )
    assert headers["transferMode.dlna.org"] == "Interactive"


async def test_if_range(served, media_dir):
    base, files, _, session = served
    item_id, path, data = files[EPISODE_NAME]
    url = f"{base}/api/stream/{item_id}"
    _, headers, _ = await fetch(session, "HEAD", url)
    etag, last_modified = headers["ETag"], headers["Last-Modified"]

    # The validator still matches: the range is served.
    status, headers, body = await fetch(session, "GET", url, {"Range": "bytes=0-9", "If-Range": etag})
    assert (status, body) == (206, data[:10])
    status, _, body = await fetch(session, "GET", url, {"Range": "bytes=0-9", "If-Range": last_modified})
    assert (status, body) == (206, data[:10])

    # The file changed since (another tag / an older date) or a weak tag: the whole file, 200.
    for stale in ('"0-0"', f"W/{etag}", email.utils.formatdate(0, usegmt=True)):
        status, headers, body = await fetch(session, "GET", url, {"Range": "bytes=0-9", "If-Range": stale})
        assert (status, body) == (200, data), stale
        assert "Content-Range" not in headers


async def test_conditional_get(served):
    base, files, _, session = served
    item_id, _, _ = files[EPISODE_NAME]
    url = f"{base}/api/stream/{item_id}"
    _, headers, _ = await fetch(session, "HEAD", url)
    status, _, body = await fetch(session, "GET", url, {"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")


async def test_pre_compressed_sibling_is_never_served(served):
    base, files, _, session = served
    item_id, path, data = files[MOVIE_NAME]
    sibling = path.with_name(path.name + ".gz")
    sibling.write_bytes(b"not the movie")
    try:
        status, headers, body = await fetch(session, "GET", f"{base}/api/stream/{item_id}", {"Accept-Encoding": "gzip"})
        assert (status, body) == (200, data)
        assert "Content-Encoding" not in headers
    finally:
        sibling.unlink()


async def test_file_outside_every_library_is_refused(served, tmp_path):
    base, files, hub, session = served
    item_id, _, _ = files[MOVIE_NAME]
    secret = tmp_path / "private.mp4"
    secret.write_bytes(b"private data")
    # The database says the item lives outside the library (stale or tampered row).
    async with hub.db.session() as session_db:
        await session_db.execute(update(MediaItem).where(MediaItem.id == item_id).values(path=str(secret)))
        await session_db.commit()
    status, headers, body = await fetch(session, "GET", f"{base}/api/stream/{item_id}")
    assert status == 403
    assert b"private data" not in body
    assert b"not inside a configured library" in body


async def test_a_moved_file_is_streamed_from_its_new_place(hub_factory, tmp_path):
    """Item rows are cached for direct play; the library's media_moved event drops the entry."""
    library = tmp_path / "library"
    old = make_mp4(library / MOVIE_NAME)
    data = old.read_bytes()
    hub = await hub_factory(media_dirs=[library])
    await hub.library.scan()
    items, _ = await hub.library.list_items(limit=5)
    item_id = items[0]["id"]
    host, port = hub.http.bound_address()
    url = f"http://{host}:{port}/api/stream/{item_id}"
    async with aiohttp.ClientSession() as session:
        assert (await fetch(session, "GET", url, {"Range": "bytes=0-9"}))[0] == 206  # now cached
        new = library / "Moved" / MOVIE_NAME
        new.parent.mkdir()
        old.rename(new)
        await hub.library.scan()
        moved = await hub.library.get_item(item_id)
        assert moved is not None and moved["path"] == str(new), moved  # the same item, moved
        status, _, body = await fetch(session, "GET", url)
        assert (status, body) == (200, data)
        new.unlink()
        await hub.library.scan()
        assert (await fetch(session, "GET", url))[0] == 404
