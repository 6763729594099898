"""Release-name parsing throughput: names/s for ``parse_name`` cold (cache cleared) and warm (cached),
next to plain guessit on the same names (what the mapping layer costs on top of it), and through
``run_off_loop`` (the naming thread the hub and the acquisition engine use).

The names are the real-world corpus of ``tests/data/release_names.tsv`` (scene, P2P, fansub, daily,
packs, movies). Each cold round clears the parse cache first, so every name is parsed for real;
rounds alternate between plain guessit and ``parse_name`` so that machine noise hits both alike.

    python scripts/bench/bench_parse.py [--rounds 5] [--warm-rounds 20] [--record]

There is no numeric goal in issue 3 for this figure; it sizes the parse cost of an RSS sync or a
search (names × 1 / cold names/s seconds of CPU on the naming thread). ``--record`` writes the table
into docs/benchmarks.md (block ``bench:parse``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from _record import command_line, header, record  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "release_names.tsv"
INTRO = """## Release-name parsing — `scripts/bench/bench_parse.py`

Names/s of `parse_name` (guessit plus our mapping layer, `core/library/naming.py`) over the real-world
names of `tests/data/release_names.tsv`: cold (parse cache cleared before each round) and warm (every
name cached), next to plain guessit on the same names in alternating rounds, the mapping layer alone
(guessit's answers memoised), and through `run_off_loop` (the naming thread). No goal in issue 3;
guessit's time per name is the whole cost of a cold parse.

```sh
python scripts/bench/bench_parse.py --rounds 5 --record
```

"""


def load_names(path: Path = CORPUS) -> list[str]:
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("kind\t"):
            continue
        names.append(line.split("\t")[1])
    return names


def timed(func, names: list[str]) -> float:
    """Seconds of wall time for ``func`` over every name (CPU-bound, one thread)."""
    t0 = time.perf_counter()
    for name in names:
        func(name)
    return time.perf_counter() - t0


def mapping_layer_only(naming, guessit, names: list[str], rounds: int) -> list[float]:
    """Seconds per round for ``parse_name`` with guessit's answers memoised beforehand: the cost of
    our mapping layer alone (pre-cleaning, regexes, quality mapping), without guessit's."""
    answers = {}

    def memo(text: str, options: dict) -> object:
        if text not in answers:
            answers[text] = guessit(text, options)
        return answers[text]

    real = naming.guessit
    naming.guessit = memo
    try:
        naming.clear_cache()
        timed(naming.parse_name, names)  # fill the memo
        seconds = []
        for _ in range(rounds):
            naming.clear_cache()
            seconds.append(timed(naming.parse_name, names))
    finally:
        naming.guessit = real
        naming.clear_cache()
    return seconds


async def off_loop(names: list[str]) -> float:
    from omnimedia.core.library.naming import parse_name, run_off_loop

    t0 = time.perf_counter()
    await asyncio.gather(*(run_off_loop(parse_name, name) for name in names))
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description="Release-name parse throughput")
    parser.add_argument("--rounds", type=int, default=5, help="cold rounds (each parses every name)")
    parser.add_argument("--warm-rounds", type=int, default=20, help="warm rounds (cache hits)")
    parser.add_argument("--record", action="store_true", help="write the results into docs/benchmarks.md")
    args = parser.parse_args()

    started = header(command_line())  # commit and load when the measured code was imported
    from guessit import guessit

    from omnimedia.core.library import naming

    names = load_names()
    n = len(names)
    print(f"{n} names from {CORPUS.relative_to(ROOT)}", file=sys.stderr)
    guessit(names[0])  # load guessit's rules once before timing anything
    naming.parse_name(names[0])

    plain, cold = [], []
    for i in range(args.rounds):
        plain.append(timed(guessit, names))
        naming.clear_cache()
        cold.append(timed(naming.parse_name, names))
        print(f"round {i + 1}: guessit {n / plain[-1]:.0f} names/s, parse_name cold {n / cold[-1]:.0f} names/s",
              file=sys.stderr)
    warm = [timed(naming.parse_name, names) for _ in range(args.warm_rounds)]  # cache now holds every name
    layer = mapping_layer_only(naming, guessit, names, args.rounds)
    naming.clear_cache()
    loop_cold = asyncio.run(off_loop(names))
    loop_warm = asyncio.run(off_loop(names))

    def rate(seconds: list[float]) -> float:
        return n / statistics.median(seconds)

    rows = [
        ("names (corpus)", f"{n:,}"),
        ("guessit alone (median of rounds)", f"{rate(plain):,.0f} names/s ({1000 / rate(plain):.2f} ms/name)"),
        ("`parse_name` cold: cache cleared (median)", f"{rate(cold):,.0f} names/s ({1000 / rate(cold):.2f} ms/name)"),
        ("our mapping layer alone (guessit answers memoised)",
         f"{1000 / rate(layer):.3f} ms/name ({rate(layer):,.0f} names/s)"),
        ("`parse_name` warm: cached (median)", f"{rate(warm):,.0f} names/s ({1e6 / rate(warm):.1f} µs/name)"),
        ("`run_off_loop(parse_name)` cold, all names gathered", f"{n / loop_cold:,.0f} names/s"),
        ("`run_off_loop(parse_name)` warm", f"{n / loop_warm:,.0f} names/s"),
        ("1,000 new names (e.g. one RSS sync, all unparsed)", f"≈ {1000 / rate(cold):.1f} s on the naming thread"),
    ]
    lines = ["| measure | result |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows]]
    table = "\n".join(lines)
    print(table)
    if args.record:
        path = record("parse", INTRO + started + "\n" + table)
        print(f"recorded in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
