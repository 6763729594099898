"""Guide import throughput: a generated 200-channel × 14-day XMLTV file (≈100,000 programmes) parsed
and stored through ``Guide.import_source`` into a fresh SQLite database.

The file is realistic: channels with display-names and numbers, programmes of 15–90 minutes with
titles, sub-titles, descriptions (≈200 characters), one to three categories, ``xmltv_ns`` +
``onscreen`` + ``dd_progid`` episode numbers, icons, ``<date>``, ``<new/>`` /
``<previously-shown/>``, ratings and credits, with times written in the channel's local zone
(Europe/Berlin, America/New_York or UTC; the 14 days from 20 October 2026 hold both DST changes
back to winter time, so offsets change mid-guide) — what a Schedules Direct or
EPG.best grabber writes.

Each round imports the file into a new SQLite database (the hub's own engine and migrations) and
times ``import_source`` as a whole (read + parse + prune + one write transaction); the parse alone
and a re-import over the existing guide (the refresh case: the source's rows replaced, programme
ids kept) are timed too.

    python scripts/bench/bench_guide_import.py [--channels 200] [--days 14] [--rounds 5] [--record]

Goal (issue 5): 100,000 programmes in under 5 s, parse + store. ``--record`` writes the table into
docs/benchmarks.md (block ``bench:guide_import``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _record import command_line, header, record  # noqa: E402

INTRO = """## Guide import — `scripts/bench/bench_guide_import.py`

A generated XMLTV guide (200 channels × 14 days, realistic fields, local times with offsets across
DST) imported through `Guide.import_source` (`core/dvr/guide.py`: read, parse with
`core/dvr/xmltv.py`, prune, one write transaction) into a fresh SQLite database per round; median
of the rounds. Goal (issue 5): 100,000 programmes in under 5 s, parse + store.

```sh
python scripts/bench/bench_guide_import.py --rounds 5 --record
```

"""

ZONES = ("Europe/Berlin", "America/New_York", "UTC")
#: The guide starts here (UTC): its 14 days hold the European (25 October 2026) and the US
#: (1 November 2026) changes back to winter time. The Guide's clock is set to it, so nothing is
#: pruned as past.
BEGIN = datetime(2026, 10, 20, tzinfo=UTC).timestamp()
SHOWS = [
    "Station Eleven", "The Harbor Files", "Night Shift", "Desert Kings", "Small Town Law", "Deep Space Crew",
    "Kitchen Wars", "Old Money", "City Of Glass", "Field Notes", "Morning Report", "Evening News",
    "Wild Planet", "Garden Rescue", "The Repair Shop", "Quiz Night", "Late Show", "Match of the Week",
    "Weather", "Cartoon Hour", "History Hunters", "Auction Kings", "Street Food", "Crime Lab",
]
CATEGORIES = ["News", "Sports", "Drama", "Comedy", "Documentary", "Kids", "Series", "Movie", "Reality",
              "Talk", "Music", "Cooking", "Nature", "Crime", "Science fiction"]
WORDS = ("the a of and to in is for on with as by at from about into over after team city night house "
         "family secret story life world new old finds must when their they his her while before during "
         "friends discovers unexpected journey local mystery season final case").split()
RATINGS = ["TV-G", "TV-PG", "TV-14", "TV-MA"]


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _stamp(epoch: float, zone: ZoneInfo) -> str:
    local = datetime.fromtimestamp(epoch, zone)
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{local:%Y%m%d%H%M%S} {sign}{minutes // 60:02d}{minutes % 60:02d}"


def generate_xmltv(path: Path, *, channels: int = 200, days: int = 14, start: float = BEGIN, seed: int = 5) -> int:
    """Write a realistic XMLTV file to ``path``; return the number of programmes written.

    Programmes start at ``start`` (UTC epoch seconds) and fill ``days`` days on each of
    ``channels`` channels back to back."""
    rng = random.Random(seed)
    begin = start
    end = begin + days * 86400
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n')
        out.write('<tv generator-info-name="omnimedia bench_guide_import" source-info-name="generated">\n')
        for c in range(channels):
            out.write(f'  <channel id="ch{c}.bench.tv">\n'
                      f'    <display-name>Bench {c} HD</display-name>\n'
                      f'    <display-name>{c // 10 + 2}.{c % 10 + 1}</display-name>\n'
                      f'    <icon src="https://img.example.com/ch{c}.png"/>\n  </channel>\n')
        for c in range(channels):
            zone = ZoneInfo(ZONES[c % len(ZONES)])
            t = begin
            while t < end:
                length = rng.choice((900, 900, 1800, 1800, 1800, 1800, 2700, 3600, 3600, 5400))
                show = rng.choice(SHOWS)
                season, episode = rng.randint(0, 11), rng.randint(0, 23)
                parts = [f'  <programme start="{_stamp(t, zone)}" stop="{_stamp(t + length, zone)}" '
                         f'channel="ch{c}.bench.tv">\n',
                         f'    <title lang="en">{escape(show)}</title>\n',
                         f'    <sub-title lang="en">{escape(_sentence(rng, 3))}</sub-title>\n',
                         f'    <desc lang="en">{escape(_sentence(rng, 30))}</desc>\n',
                         '    <credits>\n      <actor>Jane Doe</actor>\n      <actor>John Roe</actor>\n'
                         '    </credits>\n',
                         f'    <date>{rng.randint(1990, 2024)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}</date>\n']
                for cat in rng.sample(CATEGORIES, rng.randint(1, 3)):
                    parts.append(f'    <category lang="en">{cat}</category>\n')
                parts.append(f'    <icon src={quoteattr(f"https://img.example.com/p/{rng.randint(1, 99999)}.jpg")}/>\n')
                parts.append(f'    <episode-num system="xmltv_ns">{season}.{episode}.</episode-num>\n')
                parts.append(f'    <episode-num system="onscreen">S{season + 1:02d}E{episode + 1:02d}</episode-num>\n')
                parts.append(f'    <episode-num system="dd_progid">EP{rng.randint(0, 99999999):08d}.'
                             f'{season * 100 + episode:04d}</episode-num>\n')
                parts.append('    <new />\n' if rng.random() < 0.2 else '    <previously-shown />\n')
                parts.append(f'    <rating system="VCHIP">\n      <value>{rng.choice(RATINGS)}</value>\n'
                             '    </rating>\n  </programme>\n')
                out.write("".join(parts))
                count += 1
                t += length
        out.write("</tv>\n")
    return count


async def _guide(db_url: str, config_dir: Path, source: str) -> Any:
    from omnimedia.core.bus import EventBus
    from omnimedia.core.db import Database
    from omnimedia.core.dvr.config import DVR_SCHEMA
    from omnimedia.core.dvr.guide import Guide

    db = Database(db_url)
    await db.connect()
    hub = SimpleNamespace(db=db, bus=EventBus(), config=SimpleNamespace(config_dir=config_dir))
    settings = DVR_SCHEMA({"guide": [{"name": "bench", "source": source, "refresh": 0}], "guide_days": 30})
    return Guide(SimpleNamespace(hub=hub), settings, clock=lambda: BEGIN)


async def one_round(work: Path, xml: Path, index: int, reimport: bool) -> dict[str, float]:
    db_path = work / f"round{index}.db"
    guide = await _guide(f"sqlite+aiosqlite:///{db_path}", work, str(xml))
    try:
        t0 = time.perf_counter()
        result = await guide.import_source("bench")
        seconds = time.perf_counter() - t0
        out = {"seconds": seconds, "programmes": result.programmes, "skipped": result.skipped}
        # Back-to-back programmes in local time across the DST changes: none may overlap or be lost.
        assert result.overlaps == 0 and result.skipped == 0 and not result.partial, result
        if reimport:
            t0 = time.perf_counter()
            again = await guide.import_source("bench")
            out["reimport"] = time.perf_counter() - t0
            assert again.programmes == result.programmes, (again, result)
        return out
    finally:
        await guide.stop()
        await guide.hub.db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)


def parse_only(xml: Path) -> float:
    from omnimedia.core.dvr import xmltv

    t0 = time.perf_counter()
    parsed = xmltv.parse(xml)
    seconds = time.perf_counter() - t0
    assert not parsed.partial and parsed.programmes, parsed.errors
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description="XMLTV guide import throughput")
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the generated file here")
    parser.add_argument("--record", action="store_true", help="write the results into docs/benchmarks.md")
    args = parser.parse_args()

    started = header(command_line())
    with tempfile.TemporaryDirectory(prefix="bench-guide-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        xml = work / "guide.xml"
        t0 = time.perf_counter()
        n = generate_xmltv(xml, channels=args.channels, days=args.days)
        size = xml.stat().st_size
        print(f"generated {n:,} programmes, {size / 2**20:.1f} MiB in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)

        parse_s = []
        rounds: list[dict[str, float]] = []
        for i in range(args.rounds):
            parse_s.append(parse_only(xml))
            rounds.append(asyncio.run(one_round(work, xml, i, reimport=True)))
            r = rounds[-1]
            print(f"round {i + 1}: parse {parse_s[-1]:.2f} s, import {r['seconds']:.2f} s "
                  f"({r['programmes']:,.0f} stored), re-import {r['reimport']:.2f} s", file=sys.stderr)

    stored = int(rounds[0]["programmes"])
    med = statistics.median(r["seconds"] for r in rounds)
    med_re = statistics.median(r["reimport"] for r in rounds)
    med_parse = statistics.median(parse_s)
    rows = [
        ("guide", f"{args.channels} channels × {args.days} days, {n:,} programmes, {size / 2**20:.1f} MiB"),
        ("programmes stored", f"{stored:,} (skipped {int(rounds[0]['skipped'])})"),
        ("parse alone (`xmltv.parse`, median)", f"{med_parse:.2f} s ({n / med_parse:,.0f} programmes/s)"),
        ("**import into a fresh SQLite database (median)**",
         f"**{med:.2f} s** ({stored / med:,.0f} programmes/s) — goal < 5 s: {'met' if med < 5 else 'MISSED'}"),
        ("re-import over the existing guide (refresh, median)", f"{med_re:.2f} s ({stored / med_re:,.0f} programmes/s)"),
        ("rounds (import s)", ", ".join(f"{r['seconds']:.2f}" for r in rounds)),
    ]
    table = "\n".join(["| measure | result |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows]])
    print(table)
    if args.record:
        path = record("guide_import", INTRO + started + "\n" + table)
        print(f"recorded in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
