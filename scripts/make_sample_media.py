"""Make a sample media library with real, tiny media (ffmpeg, Pillow, mutagen-readable tags).

    python scripts/make_sample_media.py DIR               # one of everything (15 files, ~1 s)
    python scripts/make_sample_media.py DIR --count 10000 # plus N episode files (for benchmarks)

The extra files are copies of one generated clip named like a real TV library
(``Show 0001/Season 01/Show.0001.S01E01.1080p.WEB-DL.H.264-GRP.mkv``), so making 10,000 takes seconds.
Requires ffmpeg on PATH.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import mediagen  # noqa: E402


def make_many(root: Path, count: int, per_season: int = 10) -> int:
    """Add ``count`` episode files under ``root/Bulk``; return how many were made."""
    clip = mediagen.make_mkv(root / ".bulk-source.mkv", subtitles=[])
    made = 0
    try:
        for n in range(count):
            show, episode = divmod(n, per_season)
            folder = root / "Bulk" / f"Show {show:04d}" / "Season 01"
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(clip, folder / f"Show.{show:04d}.S01E{episode + 1:02d}.1080p.WEB-DL.H.264-GRP.mkv")
            made += 1
    finally:
        clip.unlink(missing_ok=True)
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="folder to create the library in")
    parser.add_argument("--count", type=int, default=0, help="extra episode files to add (default 0)")
    args = parser.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("ffmpeg is not installed (run scripts/install-system-packages.sh)", file=sys.stderr)
        return 2
    started = time.monotonic()
    files = mediagen.make_library(args.dir)
    extra = make_many(args.dir, args.count) if args.count > 0 else 0
    print(f"made {len(files) + extra} files in {args.dir} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
