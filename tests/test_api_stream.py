"""Direct play over ``/api/stream/{id}``: HTTP range semantics (RFC 9110 §14, §13.1.5) checked on
a real hub serving real ffmpeg-made files."""

from __future__ import annotations

import email.utils
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import update

from omnimedia.core.db import MediaItem

from .mediagen import EPISODE_NAME, MOVIE_NAME, make_mkv, make_mp4


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("stream_media")
    make_mkv(folder / "Show" / EPISODE_NAME)
    make_mp4(folder / MOVIE_NAME)
    return folder


@pytest.fixture
async def served(hub_factory, media_dir):
    """``(base_url, {file name: (item id, path, bytes)}, hub, session)`` on a scanned hub."""
    hub = await hub_factory(media_dirs=[media_dir])
    await hub.library.scan()
    items, total = await hub.library.list_items(limit=10)
    assert total == 2, items
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


@pytest.mark.parametrize("header", ["items=0-5", "bytes=0-5,10-20"])
async def test_ranges_we_do_not_serve_are_ignored(served, header):
    base, files, _, session = served
    item_id, _, data = files[EPISODE_NAME]
    status, headers, body = await fetch(session, "GET", f"{base}/api/stream/{item_id}", {"Range": header})
    assert (status, body) == (200, data)
    assert "Content-Range" not in headers


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
