"""A local indexer server for tests: serves the captured real feeds of
``../shared/fixtures/indexers`` the way a Newznab/Torznab API or a tracker's RSS URL would, and
injects faults.

It speaks the real wire format: ``GET /api?t=caps|search|tvsearch|movie|music|book&apikey=…``
answers with the configured caps / feed document (HTTP 200, ``application/rss+xml``), and a
wrong API key gets the real Newznab error-100 document (``newznab/unauthorized.xml``, with its
BOM) with HTTP 200, as Newznab servers do. With ``paginate`` on, a feed is served the way a
server pages it: the items ``offset … offset+limit`` of the fixture, and ``newznab:response``
rewritten to that offset and the fixture's item count as ``total``.

Routes: ``/api`` (and ``/<prefix>/api``), ``/rss/<file>`` (a file of ``indexers/rss``), and
``/files/<path>`` (any fixture file as is).

Faults (:class:`Fault`, set ``server.fault`` — applies to every request until cleared, or put
several in ``server.fault_queue`` — one per request): ``latency`` seconds before answering,
an HTTP ``status`` with ``headers`` (``Retry-After``) and ``body``, ``kind="html"`` (an HTML
login page with HTTP 200), ``"malformed"`` (the feed cut in the middle of an item), ``"bom"``
(a UTF-8 BOM before the document), ``"error"`` (a Newznab ``<error code= description=>``
document with ``code``).

Every request is recorded in ``server.requests`` as ``{"path": str, "query": {name: value}}``.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

TORZNAB_NS = "http://torznab.com/schemas/2015/feed"
NEWZNAB_NS = "http://www.newznab.com/DTD/2010/feeds/attributes/"
ATOM_NS = "http://www.w3.org/2005/Atom"
for _prefix, _uri in (("torznab", TORZNAB_NS), ("newznab", NEWZNAB_NS), ("atom", ATOM_NS)):
    ET.register_namespace(_prefix, _uri)

HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Login - Tracker</title></head>"
    b"<body><form action='/login'><input name='username'></form></body></html>"
)


@dataclass
class Fault:
    """What to do instead of (or before) the normal answer. See the module docstring."""

    latency: float = 0.0
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    kind: str | None = None  # "html" | "malformed" | "bom" | "error"
    code: int = 900
    description: str = "Unknown error"


class IndexerServer:
    """The server; ``await start()`` then use :attr:`url` (``http://127.0.0.1:PORT``)."""

    def __init__(self, indexers_dir: Path) -> None:
        self.dir = indexers_dir
        #: document for t=caps: a fixture path (relative to indexers/) or bytes
        self.caps: str | bytes = "newznab/newznab_caps.xml"
        #: document for every search function: a fixture path or bytes
        self.feed: str | bytes = "newznab/newznab_nzb_su.xml"
        #: per-function overrides, e.g. {"tvsearch": "torznab/torznab_tpb.xml"}
        self.feeds: dict[str, str | bytes] = {}
        #: serve items offset…offset+limit with newznab:response offset/total
        self.paginate = False
        #: when set, requests must carry apikey=<this>; others get the real error-100 document
        self.api_key: str | None = None
        #: queries (dict) for which the answer is an empty feed (e.g. "no results by id")
        self.empty_when: Callable[[dict[str, str]], bool] | None = None
        self.fault: Fault | None = None
        self.fault_queue: list[Fault] = []
        self.requests: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> IndexerServer:
        app = web.Application()
        app.router.add_get("/api", self._api)
        app.router.add_get("/{prefix:.+}/api", self._api)
        app.router.add_get("/rss/{name}", self._rss)
        app.router.add_get("/files/{path:.+}", self._file)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- helpers ----------------------------------------------------------------------------
    def read(self, what: str | bytes) -> bytes:
        return what if isinstance(what, bytes) else (self.dir / what).read_bytes()

    def queries(self, t: str | None = None) -> list[dict[str, str]]:
        """The recorded ``/api`` queries (only those with ``t=<t>`` when given)."""
        return [r["query"] for r in self.requests if r["path"].endswith("/api") and (t is None or r["query"].get("t") == t)]

    def _next_fault(self) -> Fault | None:
        if self.fault_queue:
            return self.fault_queue.pop(0)
        return self.fault

    async def _apply(self, fault: Fault | None, body: bytes) -> web.Response:
        if fault is not None and fault.latency:
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=fault.latency)
            except TimeoutError:
                pass
        if fault is None:
            return _xml(body)
        if fault.kind == "html":
            return web.Response(body=HTML_PAGE, status=fault.status or 200, content_type="text/html")
        if fault.kind == "malformed":
            cut = body.find(b"</item>")
            return _xml(body[: cut - 20 if cut > 40 else len(body) // 2], status=fault.status or 200)
        if fault.kind == "bom":
            return _xml(b"\xef\xbb\xbf" + body, status=fault.status or 200)
        if fault.kind == "error":
            doc = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<error code="{fault.code}" '
                f'description="{fault.description}"/>'
            ).encode()
            return _xml(doc, status=fault.status or 200, headers=fault.headers)
        if fault.status is not None:
            payload = fault.body if fault.body is not None else b""
            return web.Response(body=payload, status=fault.status, headers=fault.headers,
                                content_type="text/plain" if not payload.lstrip().startswith(b"<") else "text/xml")
        return _xml(body)

    def _page(self, data: bytes, query: dict[str, str]) -> bytes:
        root = ET.fromstring(data.lstrip(b"\xef\xbb\xbf"))
        channel = root.find("channel")
        assert channel is not None
        items = channel.findall("item")
        offset = int(query.get("offset") or 0)
        limit = int(query.get("limit") or 100)
        for i, item in enumerate(items):
            if not offset <= i < offset + limit:
                channel.remove(item)
        response = channel.find(f"{{{NEWZNAB_NS}}}response")
        if response is None:
            response = ET.SubElement(channel, f"{{{NEWZNAB_NS}}}response")
        response.set("offset", str(offset))
        response.set("total", str(len(items)))
        return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root)

    @staticmethod
    def _empty(data: bytes) -> bytes:
        root = ET.fromstring(data.lstrip(b"\xef\xbb\xbf"))
        channel = root.find("channel")
        if channel is not None:
            for item in channel.findall("item"):
                channel.remove(item)
            response = channel.find(f"{{{NEWZNAB_NS}}}response")
            if response is not None:
                response.set("total", "0")
        return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root)

    # -- handlers ---------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append({"path": request.path, "query": query})
        fault = self._next_fault()
        t = query.get("t", "")
        if self.api_key is not None and query.get("apikey") != self.api_key:
            return await self._apply(fault, self.read("newznab/unauthorized.xml"))
        if t == "caps":
            return await self._apply(fault, self.read(self.caps))
        if t not in ("search", "tvsearch", "movie", "music", "book"):
            doc = b'<?xml version="1.0" encoding="UTF-8"?>\n<error code="202" description="No such function"/>'
            return await self._apply(fault, doc)
        data = self.read(self.feeds.get(t, self.feed))
        if self.empty_when is not None and self.empty_when(query):
            data = self._empty(data)
        elif self.paginate:
            data = self._page(data, query)
        return await self._apply(fault, data)

    async def _rss(self, request: web.Request) -> web.Response:
        self.requests.append({"path": request.path, "query": dict(request.query)})
        path = self.dir / "rss" / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        return await self._apply(self._next_fault(), path.read_bytes())

    async def _file(self, request: web.Request) -> web.Response:
        self.requests.append({"path": request.path, "query": dict(request.query)})
        path = (self.dir / request.match_info["path"]).resolve()
        if self.dir.resolve() not in path.parents or not path.is_file():
            raise web.HTTPNotFound()
        return await self._apply(self._next_fault(), path.read_bytes())


def _xml(body: bytes, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=body, status=status, headers=headers, content_type="application/rss+xml")


@pytest.fixture
async def indexer_server(shared_fixtures: Path) -> AsyncIterator[IndexerServer]:
    """A started :class:`IndexerServer` on the real fixtures (skips without ../shared)."""
    server = IndexerServer(shared_fixtures / "indexers")
    await server.start()
    yield server
    await server.stop()
