"""A small Torznab indexer for tests that offers releases the test makes (real .torrent files).

Unlike ``tests/indexer_server.py`` (which replays captured real feeds), this one serves feeds
built from :class:`Offer` objects, so a test can offer a torrent it just made of a generated
media file and let the hub grab it for real. It speaks the Torznab wire format: ``t=caps``,
``t=search|tvsearch|movie`` answering with an RSS 2.0 document whose items carry an
``application/x-bittorrent`` enclosure and ``torznab:attr`` size / seeders / peers / infohash,
and serves each offer's .torrent at ``/dl/<n>.torrent``. ``broken`` switches every API answer to
an HTML page (what a tracker behind a login wall returns).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import pytest
from aiohttp import web

CAPS = """<?xml version="1.0" encoding="UTF-8"?>
<caps><server title="test torznab"/><limits max="100" default="50"/>
<searching><search available="yes" supportedParams="q"/>
<tv-search available="yes" supportedParams="q,season,ep"/>
<movie-search available="yes" supportedParams="q,imdbid"/></searching>
<categories><category id="5000" name="TV"/><category id="2000" name="Movies"/></categories></caps>"""


@dataclass
class Offer:
    """One release on offer. ``torrent`` bytes are served at ``/dl/<n>.torrent``; ``magnet``
    offers a magnet link instead. ``size`` bytes, ``age`` seconds before now."""

    title: str
    torrent: bytes | None = None
    magnet: str | None = None
    size: int = 1_000_000_000
    seeders: int = 10
    peers: int = 12
    infohash: str | None = None
    age: float = 3600.0
    category: int = 5000


@dataclass
class TorznabFeed:
    offers: list[Offer] = field(default_factory=list)
    broken: bool = False
    url: str = ""
    requests: list[dict[str, str]] = field(default_factory=list)

    def offer(self, title: str, **kwargs: object) -> Offer:
        offer = Offer(title, **kwargs)  # type: ignore[arg-type]
        self.offers.append(offer)
        return offer

    def _item(self, n: int, offer: Offer) -> str:
        link = offer.magnet or f"{self.url}/dl/{n}.torrent"
        published = email.utils.formatdate(time.time() - offer.age, usegmt=True)
        attrs = [("size", offer.size), ("seeders", offer.seeders), ("peers", offer.peers), ("category", offer.category)]
        if offer.infohash:
            attrs.append(("infohash", offer.infohash))
        return (
            f"<item><title>{escape(offer.title)}</title><guid>{self.url}/details/{n}</guid>"
            f"<link>{escape(link)}</link><comments>{self.url}/details/{n}</comments><pubDate>{published}</pubDate>"
            f"<size>{offer.size}</size><category>{offer.category}</category>"
            f'<enclosure url="{escape(link)}" length="{offer.size}" type="application/x-bittorrent"/>'
            + "".join(f'<torznab:attr name="{k}" value="{v}"/>' for k, v in attrs)
            + "</item>"
        )

    def document(self, q: str | None) -> str:
        words = [w for w in (q or "").lower().replace(".", " ").split() if w]
        items = [
            self._item(n, o) for n, o in enumerate(self.offers)
            if all(w in o.title.lower().replace(".", " ") for w in words)
        ]
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
                'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:torznab="http://torznab.com/schemas/2015/feed">'
                f"<channel><title>test torznab</title>{''.join(items)}</channel></rss>")

    def app(self) -> web.Application:
        async def api(request: web.Request) -> web.Response:
            self.requests.append(dict(request.query))
            if self.broken:
                return web.Response(text="<!DOCTYPE html><html><body>Login</body></html>", content_type="text/html")
            if request.query.get("t") == "caps":
                return web.Response(text=CAPS, content_type="application/xml")
            return web.Response(text=self.document(request.query.get("q")), content_type="application/rss+xml")

        async def download(request: web.Request) -> web.Response:
            n = int(request.match_info["n"])
            if n >= len(self.offers) or self.offers[n].torrent is None:
                raise web.HTTPNotFound()
            return web.Response(body=self.offers[n].torrent, content_type="application/x-bittorrent")

        app = web.Application()
        app.router.add_get("/api", api)
        app.router.add_get("/dl/{n:\\d+}.torrent", download)
        return app


@pytest.fixture
async def torznab_feed() -> AsyncIterator[TorznabFeed]:
    """A running :class:`TorznabFeed` on loopback; ``feed.url`` is its base URL."""
    feed = TorznabFeed()
    runner = web.AppRunner(feed.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    feed.url = f"http://127.0.0.1:{port}"
    yield feed
    await runner.cleanup()
