"""Search fan-out benchmark: one search across 10 Torznab indexers with injected latencies.

A local aiohttp server plays 10 Torznab indexers (``/ix0`` … ``/ix9``), each answering a search
with a 50-item feed after its own delay (50, 100 … 500 ms; caps answer at once and are read
before timing). The hub's real ``torznab`` indexer objects and its real fan-out
(:func:`omnimedia.core.acquisition.search.fan_out`) run the search; the reported overhead is the
total wall time minus the slowest indexer's delay.

A second scenario adds an 11th indexer that never answers, with a 1 s per-indexer timeout: the
search must return the other 10 indexers' results after about 1 s, with one error.

    python scripts/bench/bench_fanout.py [--rounds 20] [--record]

Goal (issue 3): total ≤ slowest indexer + 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

from aiohttp import web

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _record import command_line, header, record  # noqa: E402

from omnimedia.core.acquisition.search import fan_out  # noqa: E402
from omnimedia.core.acquisition.types import SearchQuery  # noqa: E402
from omnimedia.plugins.torznab import TorznabIndexer  # noqa: E402

DELAYS = [0.05 * (i + 1) for i in range(10)]  # seconds
CAPS = """<?xml version="1.0" encoding="UTF-8"?>
<caps><server title="bench"/><limits max="100" default="50"/>
<searching><search available="yes" supportedParams="q"/><tv-search available="yes" supportedParams="q,season,ep"/>
<movie-search available="yes" supportedParams="q"/></searching>
<categories><category id="5000" name="TV"/></categories></caps>"""
GROUPS = ["NTb", "FLUX", "KiNGS", "SiGMA", "GGEZ", "EDITH", "MeGusta", "SuccessfulCrab"]


def feed(indexer: int, items: int = 50) -> str:
    rows = []
    for i in range(items):
        title = f"Bench Show S01E{i % 20 + 1:02d} 1080p WEB-DL DDP5.1 H.264-{GROUPS[i % len(GROUPS)]}"
        rows.append(
            f"<item><title>{title}</title><guid>ix{indexer}-{i}</guid>"
            f"<link>http://127.0.0.1/dl/{indexer}/{i}.torrent</link><pubDate>Mon, 03 Nov 2025 10:00:00 +0000</pubDate>"
            f'<enclosure url="http://127.0.0.1/dl/{indexer}/{i}.torrent" length="{1_500_000_000 + i}" type="application/x-bittorrent"/>'
            f'<torznab:attr name="seeders" value="{i + 1}"/><torznab:attr name="peers" value="{i + 5}"/></item>'
        )
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:torznab="http://torznab.com/schemas/2015/feed">'
            f'<channel><title>ix{indexer}</title>{"".join(rows)}</channel></rss>')


def make_app(hang: asyncio.Event) -> web.Application:
    feeds = {i: feed(i) for i in range(11)}

    async def api(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if request.query.get("t") == "caps":
            return web.Response(text=CAPS, content_type="application/xml")
        if n >= len(DELAYS):
            await hang.wait()  # the indexer that never answers
        else:
            await asyncio.sleep(DELAYS[n])
        return web.Response(text=feeds[n], content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/ix{n}/api", api)
    return app


async def run(rounds: int) -> dict[str, float]:
    hang = asyncio.Event()
    runner = web.AppRunner(make_app(hang))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    indexers = [TorznabIndexer(None, {"platform": "torznab", "name": f"ix{i}", "url": f"http://127.0.0.1:{port}/ix{i}"})
                for i in range(11)]
    query = SearchQuery(type="tvsearch", q="Bench Show", season=1, episode=2)
    try:
        for ix in indexers:
            await ix.caps()
        await fan_out([(ix, None) for ix in indexers[:10]], query, timeout=5.0)  # warm-up
        overheads, totals = [], []
        for _ in range(rounds):
            out = await fan_out([(ix, None) for ix in indexers[:10]], query, timeout=5.0)
            assert not out.errors and len(out.releases) == 500, (out.errors, len(out.releases))
            totals.append(out.elapsed)
            overheads.append(out.elapsed - max(DELAYS))
        hung = []
        for _ in range(3):
            out = await fan_out([(ix, None) for ix in indexers], query, timeout=1.0)
            assert len(out.errors) == 1 and len(out.releases) == 500, (out.errors, len(out.releases))
            hung.append(out.elapsed)
    finally:
        hang.set()
        for ix in indexers:
            await ix.close()
        await runner.cleanup()
    return {
        "slowest": max(DELAYS), "median_total": statistics.median(totals), "max_total": max(totals),
        "median_overhead": statistics.median(overheads), "max_overhead": max(overheads),
        "hung_median": statistics.median(hung),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--record", action="store_true", help="write the results into docs/benchmarks.md")
    args = parser.parse_args()
    r = asyncio.run(run(args.rounds))
    ok = r["max_overhead"] <= 0.050
    table = (
        "| measure | value | goal |\n|---|---|---|\n"
        f"| slowest indexer's injected delay | {r['slowest'] * 1000:.0f} ms | |\n"
        f"| total search time, median of {args.rounds} | {r['median_total'] * 1000:.0f} ms | |\n"
        f"| overhead over the slowest indexer, median | {r['median_overhead'] * 1000:.1f} ms | ≤ 50 ms |\n"
        f"| overhead over the slowest indexer, worst | {r['max_overhead'] * 1000:.1f} ms | ≤ 50 ms {'✓' if ok else '✗'} |\n"
        f"| with an 11th indexer that never answers (timeout 1 s), median total | {r['hung_median'] * 1000:.0f} ms | ≈ timeout |\n"
    )
    print(table)
    if args.record:
        text = header(command_line()) + "\n10 Torznab indexers (real `torznab` plugin objects, real HTTP on loopback), " \
            "50 items each, delays 50–500 ms.\n\n" + table
        print(f"recorded in {record('fanout', text)}")


if __name__ == "__main__":
    main()
