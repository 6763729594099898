"""guessit-based name parsing (``omnimedia parse`` and the scanner use the same function)."""

from __future__ import annotations

import json

import pytest

from omnimedia.core.library.naming import KEYS, parse_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "Show.Name.S01E02.1080p.WEB-DL.DDP5.1.H.264-GROUP.mkv",
            {"type": "episode", "title": "Show Name", "season": 1, "episode": 2, "episodes": [2],
             "quality": "WEBDL-1080p", "resolution": "1080p", "release_group": "GROUP", "proper": False},
        ),
        (
            "Movie.Title.2019.1080p.BluRay.x264-GRP.mp4",
            {"type": "movie", "title": "Movie Title", "year": 2019, "season": None, "episode": None,
             "quality": "Bluray-1080p", "release_group": "GRP"},
        ),
        (  # daily show: the air date is the episode number
            "The.Daily.Show.2023.05.04.Guest.Name.720p.HDTV.x264-FOO.mkv",
            {"type": "episode", "title": "The Daily Show", "air_date": "2023-05-04",
             "episode_title": "Guest Name", "quality": "HDTV-720p", "season": None},
        ),
        (  # anime absolute numbering
            "[SubsPlease] One Piece - 1071 (1080p) [ABCD1234].mkv",
            {"type": "episode", "title": "One Piece", "absolute_episode": 1071, "season": None,
             "release_group": "SubsPlease", "resolution": "1080p"},
        ),
        (  # multi-episode, proper and repack
            "Show.S02E03E04.PROPER.REPACK.720p.HDTV.x264-X.mkv",
            {"type": "episode", "season": 2, "episode": 3, "episodes": [3, 4], "proper": True, "repack": True,
             "quality": "HDTV-720p"},
        ),
        (
            "Movie.2010.2160p.UHD.BluRay.REMUX.HDR.HEVC-Y.mkv",
            {"type": "movie", "year": 2010, "quality": "Remux-2160p", "resolution": "2160p"},
        ),
        ("Show.S01E01.WEBRip.1080p.mkv", {"quality": "WEBRip-1080p", "season": 1, "episode": 1}),
        ("Movie.2010.DVDRip.XviD-Z.avi", {"quality": "DVD", "year": 2010}),
        ("Show.S01E05.HDTV.XviD-LOL.avi", {"quality": "SDTV"}),
        ("[Group] Anime Title - 05v2 [720p].mkv", {"version": 2, "absolute_episode": 5}),
        ("holiday video.mp4", {"quality": None, "year": None}),
    ],
)
def test_parse_name(name: str, expected: dict) -> None:
    result = parse_name(name)
    assert set(result) == set(KEYS)
    for key, value in expected.items():
        assert result[key] == value, (key, result)
    json.dumps(result)  # JSON-serialisable, dates included


def test_parse_name_is_cached_but_returns_fresh_dicts() -> None:
    a = parse_name("Show.S01E01E02.mkv")
    a["episodes"].append(99)
    a["title"] = "changed"
    b = parse_name("Show.S01E01E02.mkv")
    assert b["episodes"] == [1, 2] and b["title"] == "Show"


def test_parse_name_rejects_non_strings() -> None:
    with pytest.raises(TypeError, match="must be a string"):
        parse_name(42)  # type: ignore[arg-type]
