"""The release-name corpus (``tests/data/release_names.tsv``) and how a parse is scored against it.

Each row is a real-world release name with its truth recorded by hand (see the file's header). The
scoring rules live here so that the test and ad-hoc runs measure the same thing:

- *numbering right*: for ``ep`` rows season and episode equal the truth (``-`` = None); for ``daily``
  rows the air date; for ``abs`` rows the absolute episode number, with no season.
- *title right*: titles equal after folding: case, accents, apostrophes, punctuation and separators
  are ignored (``"Grey's Anatomy"`` = ``"greys.anatomy"``, ``"S.W.A.T"`` = ``"SWAT"``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "data" / "release_names.tsv"
SINGLE_KINDS = ("ep", "daily", "abs")


@dataclass(frozen=True)
class Row:
    line: int
    kind: str
    name: str
    title: str
    season: str
    episode: str
    quality: str
    group: str
    extra: dict[str, str] = field(default_factory=dict)


def load(path: Path = CORPUS) -> list[Row]:
    rows: list[Row] = []
    header_seen = False
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        cells = raw.split("\t")
        if not header_seen:
            header_seen = True
            if cells[0] == "kind":
                continue
        if len(cells) != 8:
            raise ValueError(f"{path.name}:{number}: expected 8 tab-separated cells, got {len(cells)}")
        extra = {}
        for pair in filter(None, (p.strip() for p in cells[7].split(";"))):
            key, _, value = pair.partition("=")
            extra[key.strip()] = value.strip()
        rows.append(Row(number, *cells[:7], extra=extra))
    return rows


def fold(text: str | None) -> str:
    """A title reduced to lower-case letters and digits (accents, apostrophes, separators dropped)."""
    if text is None:
        return ""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def expected_int(cell: str) -> int | None:
    return None if cell == "-" else int(cell)


def int_list(spec: str) -> list[int]:
    """``"1,2"`` → [1, 2]; ``"1-3"`` → [1, 2, 3]."""
    if "-" in spec and "," not in spec:
        first, last = (int(x) for x in spec.split("-"))
        return list(range(first, last + 1))
    return [int(x) for x in spec.split(",")]


def numbering_right(row: Row, parsed: dict[str, Any]) -> bool:
    if row.kind == "daily":
        return parsed["air_date"] == row.extra["air_date"]
    if row.kind == "abs":
        return parsed["season"] is None and parsed["absolute_episode"] == int(row.extra["absolute"])
    return parsed["season"] == expected_int(row.season) and parsed["episode"] == expected_int(row.episode)


def title_right(row: Row, parsed: dict[str, Any]) -> bool:
    return fold(parsed["title"]) == fold(row.title)


def score(rows: list[Row], parse: Any) -> dict[str, Any]:
    """Accuracy over the single-episode rows: ``{n, numbering, title_and_numbering, misses}``."""
    singles = [r for r in rows if r.kind in SINGLE_KINDS]
    numbering = both = 0
    misses: list[tuple[Row, dict[str, Any]]] = []
    for row in singles:
        parsed = parse(row.name)
        ok_numbers = numbering_right(row, parsed)
        ok_title = title_right(row, parsed)
        numbering += ok_numbers
        both += ok_numbers and ok_title
        if not (ok_numbers and ok_title):
            misses.append((row, parsed))
    n = len(singles)
    return {"n": n, "numbering": numbering / n, "title_and_numbering": both / n, "misses": misses}
