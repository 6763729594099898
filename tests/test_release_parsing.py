"""Release parsing against real-world names (``tests/data/release_names.tsv``) and feature by feature.

The corpus holds scene, P2P and fansub names with their truth recorded by hand (see
``tests/release_corpus.py`` for the scoring rules). Issue 3's goal, on single-episode names: season and
episode right for ≥ 95 %, title + season + episode right for ≥ 90 %.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from omnimedia.core.library import naming
from omnimedia.core.library.naming import KEYS, QUALITY_NAMES, parse_name, quality_from_name, quality_name

from . import release_corpus as rc

ROWS = rc.load()


def _miss_report(misses: list, limit: int = 25) -> str:
    lines = []
    for row, parsed in misses[:limit]:
        lines.append(f"  line {row.line}: {row.name!r}: want title={row.title!r} s={row.season} "
                     f"e={row.episode} {row.extra}; got title={parsed['title']!r} s={parsed['season']} "
                     f"e={parsed['episode']} abs={parsed['absolute_episode']} date={parsed['air_date']}")
    return "\n".join(lines)


# -- the corpus ------------------------------------------------------------------------------------
def test_corpus_is_big_and_varied_enough() -> None:
    kinds = Counter(row.kind for row in ROWS)
    assert kinds["ep"] + kinds["daily"] + kinds["abs"] >= 400
    assert kinds["movie"] >= 100
    assert kinds["daily"] >= 30 and kinds["abs"] >= 40 and kinds["multi"] >= 15 and kinds["pack"] >= 20
    assert len({row.name for row in ROWS}) == len(ROWS), "duplicate names in the corpus"


def test_single_episode_accuracy_meets_the_goal() -> None:
    result = rc.score(ROWS, parse_name)
    report = (f"{result['n']} single-episode names: numbering {result['numbering']:.1%}, "
              f"title+numbering {result['title_and_numbering']:.1%}\n{_miss_report(result['misses'])}")
    print(report)
    assert result["n"] >= 400
    assert result["numbering"] >= 0.95, report
    assert result["title_and_numbering"] >= 0.90, report


def test_the_scoring_itself_catches_wrong_answers() -> None:
    """A parser that gets titles wrong, or numbers wrong, scores low: the accuracy test can fail."""
    def wrong_title(name: str) -> dict:
        return {**parse_name(name), "title": "nothing like it"}

    def off_by_one(name: str) -> dict:
        parsed = parse_name(name)
        bump = {k: (v + 1 if isinstance(v, int) else v) for k, v in parsed.items()
                if k in ("season", "episode", "absolute_episode")}
        return {**parsed, **bump, "air_date": None}

    assert rc.score(ROWS, wrong_title)["title_and_numbering"] < 0.05
    assert rc.score(ROWS, off_by_one)["numbering"] < 0.05


def test_corpus_quality_names() -> None:
    rows = [row for row in ROWS if row.quality]
    wrong = [(row.name, row.quality, parse_name(row.name)["quality"]) for row in rows
             if parse_name(row.name)["quality"] != (None if row.quality == "-" else row.quality)]
    assert len(rows) >= 600
    assert len(wrong) <= len(rows) * 0.02, wrong


def test_corpus_release_groups() -> None:
    rows = [row for row in ROWS if row.group]
    wrong = [(row.name, row.group, parse_name(row.name)["release_group"]) for row in rows
             if parse_name(row.name)["release_group"] != (None if row.group == "-" else row.group)]
    assert len(wrong) <= len(rows) * 0.02, wrong


def test_corpus_movies_title_year_and_type() -> None:
    movies = [row for row in ROWS if row.kind == "movie"]
    wrong = []
    for row in movies:
        parsed = parse_name(row.name)
        if (parsed["type"] != "movie" or rc.fold(parsed["title"]) != rc.fold(row.title)
                or parsed["year"] != int(row.extra["year"]) or parsed["season"] is not None):
            wrong.append((row.name, parsed["title"], parsed["year"], parsed["type"]))
    assert len(wrong) <= len(movies) * 0.05, wrong


@pytest.mark.parametrize("key", ["episodes", "absolute", "seasons", "revision", "languages", "edition",
                                 "year", "country"])
def test_corpus_recorded_facts(key: str) -> None:
    """Every fact recorded in the corpus' extra column (multi-episode lists, pack seasons, revisions,
    languages, editions, years, countries) is what the parser says."""
    checked, wrong = 0, []
    for row in ROWS:
        if key not in row.extra:
            continue
        want, parsed = row.extra[key], parse_name(row.name)
        if key == "episodes":
            ok = parsed["episodes"] == rc.int_list(want)
        elif key == "absolute":
            ok = parsed["absolute_episodes"] == rc.int_list(want) and parsed["absolute_episode"] == rc.int_list(want)[0]
        elif key == "seasons":
            ok = parsed["seasons"] == rc.int_list(want)
        elif key == "languages":
            ok = parsed["languages"] == want.split(",")
        elif key == "edition":
            ok = rc.fold(parsed["edition"]) == rc.fold(want)
        elif key == "country":
            ok = parsed["country"] == want
        else:
            ok = parsed[key] == int(want)
        checked += 1
        if not ok:
            wrong.append((row.name, want, parsed.get(key if key != "absolute" else "absolute_episodes")))
    assert checked >= 3
    assert not wrong, wrong


def test_corpus_packs_and_multi_episode_shapes() -> None:
    for row in ROWS:
        parsed = parse_name(row.name)
        if row.kind == "pack":
            assert parsed["full_season"] is True, row.name
            assert parsed["episodes"] == [] and parsed["episode"] is None, row.name
        elif row.kind in ("ep", "daily", "abs", "multi"):
            assert parsed["full_season"] is False, row.name
            assert parsed["type"] == "episode", row.name


def test_every_corpus_parse_has_the_documented_shape() -> None:
    for row in ROWS:
        parsed = parse_name(row.name)
        assert tuple(parsed) == KEYS, row.name
        json.dumps(parsed)
        assert parsed["quality"] is None or parsed["quality"] in QUALITY_NAMES, (row.name, parsed["quality"])
        assert isinstance(parsed["revision"], int) and parsed["revision"] >= 1
        for key in ("episodes", "seasons", "absolute_episodes", "languages"):
            assert isinstance(parsed[key], list), (row.name, key)
        assert parsed["season"] == (parsed["seasons"][0] if parsed["seasons"] else None), row.name
        assert parsed["episode"] == (parsed["episodes"][0] if parsed["episodes"] else None), row.name


# -- quality mapping ------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "quality"), [
    # WEB: "WEB" alone is a WEB-DL (scene WEB rules), WEBRip / WEBMux are rips; streaming tags mean WEB
    ("Show.S01E01.1080p.WEB.H264-GRP", "WEBDL-1080p"),
    ("Show.S01E01.WEB.x264-GRP", "WEBDL-480p"),
    ("Show.S01E01.720p.WEB-DL.DD5.1.H.264-GRP", "WEBDL-720p"),
    ("Show.S01E01.WEB-DL.AAC2.0.H.264-GRP", "WEBDL-480p"),
    ("Show.S01E01.1080p.AMZN.WEBRip.DDP5.1.x264-GRP", "WEBRip-1080p"),
    ("Show.S01E01.WEBRip.x264-GRP", "WEBRip-480p"),
    ("Show.S01E01.iTALiAN.720p.WEBMux.x264-GRP", "WEBRip-720p"),
    ("Show.S01E01.1080p.AMZN.DDP5.1.x264-GRP", "WEBDL-1080p"),
    ("Show.S01E01.1080p.NF.DDP5.1.x264-GRP", "WEBDL-1080p"),
    ("Show.S01E01.German.DL.720p.AmazonHD.x264-GRP", "WEBDL-720p"),
    ("Show.S01E01.2160p.NF.WEB-DL.DDP5.1.HDR.H.265-GRP", "WEBDL-2160p"),
    ("Show.S01E01.UHD.WEB.H265-GRP", "WEBDL-2160p"),
    ("Show.S01E01.4K.WEB.H265-GRP", "WEBDL-2160p"),
    # TV: no resolution = SDTV; PDTV/DSR are SD captures; MPEG-2 or RawHD = Raw-HD
    ("Show.S01E01.HDTV.x264-GRP", "SDTV"),
    ("Show.S01E01.PDTV.XviD-GRP", "SDTV"),
    ("Show.S01E01.DSR.XviD-GRP", "SDTV"),
    ("Show.S01E01.720p.HDTV.x264-GRP", "HDTV-720p"),
    ("Show.S01E01.1080p.HDTV.H264-GRP", "HDTV-1080p"),
    ("Show.S01E01.2160p.HDTV.H265-GRP", "HDTV-2160p"),
    ("Show.S01E01.1080i.HDTV.DD5.1.MPEG2-GRP", "Raw-HD"),
    ("Show.S01E01.1080p.HDTV.RawHD-GRP", "Raw-HD"),
    # Blu-ray: BDRip/BRRip are Blu-ray encodes; no resolution = 480p; UHD = 2160p; remux; disc images
    ("Show.S01E01.720p.BluRay.x264-GRP", "Bluray-720p"),
    ("Show.S01E01.BDRip.XviD-GRP", "Bluray-480p"),
    ("Show.S01E01.BRRip.x264-GRP", "Bluray-480p"),
    ("Show.S01E01.1080p.BDRip.x264-GRP", "Bluray-1080p"),
    ("Movie.2019.576p.BluRay.x264-GRP", "Bluray-576p"),
    ("Movie.2019.UHD.BluRay.x265-GRP", "Bluray-2160p"),
    ("Movie.2019.2160p.UHD.BluRay.x265.10bit.HDR-GRP", "Bluray-2160p"),
    ("Movie.2019.1080p.BluRay.REMUX.AVC.DTS-HD.MA.5.1-GRP", "Remux-1080p"),
    ("Movie.2019.2160p.UHD.BluRay.REMUX.HDR.HEVC.Atmos-GRP", "Remux-2160p"),
    ("Movie.2019.1080p.BluRay.AVC.DTS-HD.MA.5.1-GRP", "BR-DISK"),
    ("Movie.2019.COMPLETE.UHD.BLURAY-GRP", "BR-DISK"),
    ("Movie.2019.1080p.BluRay.x264.DTS-HD.MA.5.1-GRP", "Bluray-1080p"),
    # DVD
    ("Movie.2019.DVDRip.XviD-GRP", "DVD"),
    ("Movie.2019.NTSC.DVDR-GRP", "DVD"),
    ("Movie.2019.PAL.DVD-R-GRP", "DVD"),
    # pre-release movie sources (Radarr)
    ("Movie.2019.CAM.x264-GRP", "CAM"),
    ("Movie.2019.HDCAM.x264-GRP", "CAM"),
    ("Movie.2019.TS.x264-GRP", "TELESYNC"),
    ("Movie.2019.HDTS.x264-GRP", "TELESYNC"),
    ("Movie.2019.TELECINE.x264-GRP", "TELECINE"),
    ("Movie.2019.WORKPRINT.XviD-GRP", "WORKPRINT"),
    ("Movie.2019.DVDScr.XviD-GRP", "DVDSCR"),
    ("Movie.2019.R5.XviD-GRP", "REGIONAL"),
    # no source: a bare resolution reads as HDTV of that size (Sonarr's fallback), 480p as SDTV
    ("Show.S01E01.1080p.HEVC.x265-GRP", "HDTV-1080p"),
    ("Show.S01E01.480p.x264-GRP", "SDTV"),
    ("[SubsPlease] Show - 01 (1080p) [ABCD1234].mkv", "HDTV-1080p"),
    ("[Commie] Show - 01 [BD 720p AAC] [ABCD1234].mkv", "Bluray-720p"),
    ("Show.S01E01.mkv", None),
    ("holiday video.mp4", None),
])
def test_quality_mapping(name: str, quality: str | None) -> None:
    assert parse_name(name)["quality"] == quality
    assert quality_from_name(name) == quality
    assert quality is None or quality in QUALITY_NAMES


def test_quality_name_function_directly() -> None:
    assert quality_name("Web", "1080p", []) == "WEBDL-1080p"
    assert quality_name("Web", "1080p", ["Rip"]) == "WEBRip-1080p"
    assert quality_name(None, "1080p", [], streaming_service="Netflix") == "WEBDL-1080p"
    assert quality_name("HDTV", None, []) == "SDTV"
    assert quality_name("HDTV", "1080p", [], video_codec="MPEG-2") == "Raw-HD"
    assert quality_name("Blu-ray", "720p", ["Remux"]) == "Remux-1080p"
    assert quality_name("Blu-ray", "1080p", [], name="Movie.2019.1080p.BluRay.AVC", container=None) == "BR-DISK"
    assert quality_name("Blu-ray", "1080p", [], name="Movie.2019.1080p.BluRay.AVC", container="mkv") == "Bluray-1080p"
    assert quality_name(None, None, []) is None


# -- revision -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "proper", "repack", "real", "version", "revision"), [
    ("Show.S01E01.720p.HDTV.x264-GRP", False, False, 0, None, 1),
    ("Show.S01E01.PROPER.720p.HDTV.x264-GRP", True, False, 0, None, 2),
    ("Show.S01E01.REPACK.720p.HDTV.x264-GRP", False, True, 0, None, 2),
    ("Show.S01E01.RERIP.720p.HDTV.x264-GRP", False, True, 0, None, 2),
    ("Show.S01E01.REPACK2.1080p.WEB.h264-GRP", False, True, 0, None, 3),
    ("Show.S01E01.PROPER.REPACK.720p.HDTV.x264-GRP", True, True, 0, None, 3),
    ("Show.S01E01.REAL.PROPER.720p.HDTV.x264-GRP", True, False, 1, None, 2),
    ("[Group] Anime Title - 05v2 [720p].mkv", False, False, 0, 2, 2),
    ("[Group] Anime Title - 05v3 [720p].mkv", False, False, 0, 3, 3),
    # "Real"/"Proper" inside the title are not revision tags
    ("Real.Time.with.Bill.Maher.S22E10.720p.HDTV.x264-GRP", False, False, 0, None, 1),
    ("The.Real.Housewives.of.Atlanta.S15E01.1080p.WEB.h264-GRP", False, False, 0, None, 1),
])
def test_revision(name: str, proper: bool, repack: bool, real: int, version: int | None, revision: int) -> None:
    parsed = parse_name(name)
    assert (parsed["proper"], parsed["repack"], parsed["real"], parsed["version"], parsed["revision"]) == (
        proper, repack, real, version, revision)


# -- multi-episode, packs, specials -----------------------------------------------------------------
@pytest.mark.parametrize(("name", "season", "episodes"), [
    ("Show.S01E01E02.720p.HDTV.x264-GRP", 1, [1, 2]),
    ("Show.S01E01-E03.720p.HDTV.x264-GRP", 1, [1, 2, 3]),
    ("Show.S01E01-03.720p.BluRay.x264-GRP", 1, [1, 2, 3]),
    ("Show.S01E01-S01E03.720p.HDTV.x264-GRP", 1, [1, 2, 3]),
    ("Show.S02E05.E06.1080p.WEB.h264-GRP", 2, [5, 6]),
    ("Show.S01E01E02E03.DVDRip.x264-GRP", 1, [1, 2, 3]),
    ("Show.Name.1x01-1x02.HDTV.XviD-GRP", 1, [1, 2]),
    ("Show.Name.1x01-1x03.HDTV.XviD-GRP", 1, [1, 2, 3]),
    ("Show - 6x15-6x16 - Episode Title.avi", 6, [15, 16]),
])
def test_multi_episode(name: str, season: int, episodes: list[int]) -> None:
    parsed = parse_name(name)
    assert (parsed["season"], parsed["episodes"], parsed["episode"]) == (season, episodes, episodes[0])
    assert parsed["full_season"] is False


@pytest.mark.parametrize(("name", "seasons"), [
    ("Show.S01.1080p.BluRay.x264-GRP", [1]),
    ("Show.S01-S03.1080p.BluRay.x264-GRP", [1, 2, 3]),
    ("Show.S01-03.1080p.NF.WEB-DL.DDP5.1.x264-GRP", [1, 2, 3]),
    ("Show.Season.2.720p.BluRay.x264-GRP", [2]),
    ("Show.Seasons.1-9.DVDRip.XviD-GRP", list(range(1, 10))),
    ("Show.S04.COMPLETE.720p.WEB.h264-GRP", [4]),
    ("Show.Series.4.1080p.BluRay.x264-GRP", [4]),
    ("[Judas] Show (Season 2) [1080p][HEVC x265 10bit][Multi-Subs] (Batch)", [2]),
    ("Show.Complete.Series.720p.BluRay.x264-GRP", []),
])
def test_season_packs(name: str, seasons: list[int]) -> None:
    parsed = parse_name(name)
    assert parsed["full_season"] is True
    assert parsed["seasons"] == seasons and parsed["season"] == (seasons[0] if seasons else None)
    assert parsed["episodes"] == [] and parsed["type"] == "episode"


def test_a_single_episode_is_not_a_pack_and_names_its_season() -> None:
    parsed = parse_name("Show.S03E04.720p.HDTV.x264-GRP")
    assert parsed["full_season"] is False and parsed["seasons"] == [3]


@pytest.mark.parametrize("name", ["Show.S00E05.720p.HDTV.x264-GRP",
                                  "Doctor.Who.2005.S00E29.The.Day.of.the.Doctor.720p.HDTV.x264-GRP"])
def test_specials_are_season_zero(name: str) -> None:
    parsed = parse_name(name)
    assert parsed["season"] == 0 and parsed["episode"] is not None and parsed["full_season"] is False


# -- daily ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "title", "air_date"), [
    ("The.Daily.Show.2024.03.12.Jon.Stewart.720p.WEB.h264-GRP", "The Daily Show", "2024-03-12"),
    ("The.Daily.Show.2024-03-12.720p.WEB.h264-GRP", "The Daily Show", "2024-03-12"),
    ("The Tonight Show Starring Jimmy Fallon 2024 03 12 Guest 720p WEB h264-GRP",
     "The Tonight Show Starring Jimmy Fallon", "2024-03-12"),
    ("60.Minutes.2024.03.10.720p.WEB.h264-GRP", "60 Minutes", "2024-03-10"),
    ("20.20.2024.03.08.720p.HDTV.x264-GRP", "20 20", "2024-03-08"),
    ("20/20.2024.03.08.720p.HDTV.x264-GRP", "20 20", "2024-03-08"),
    ("WWE.Monday.Night.Raw.2024.01.15.720p.HDTV.x264-GRP", "WWE Monday Night Raw", "2024-01-15"),
])
def test_daily(name: str, title: str, air_date: str) -> None:
    parsed = parse_name(name)
    assert (parsed["title"], parsed["air_date"], parsed["type"]) == (title, air_date, "episode")
    assert parsed["season"] is None and parsed["episode"] is None and parsed["episodes"] == []
    assert parsed["absolute_episode"] is None


# -- anime ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "title", "absolute", "group"), [
    ("[SubsPlease] One Piece - 1100 (1080p) [9D0C4B0B].mkv", "One Piece", [1100], "SubsPlease"),
    ("[SubsPlease] Kimetsu no Yaiba - Hashira Geiko-hen - 08 (1080p) [0A1B2C3D].mkv",
     "Kimetsu no Yaiba - Hashira Geiko-hen", [8], "SubsPlease"),
    ("[SubsPlease] 86 - Eighty Six - 23 (1080p) [D1E2F3A4].mkv", "86 - Eighty Six", [23], "SubsPlease"),
    ("[SubsPlease] Mob Psycho 100 III - 12 (1080p) [E5F6A7B8].mkv", "Mob Psycho 100 III", [12], "SubsPlease"),
    ("[gg]_Toradora_-_25_[6CF5A5A1].mkv", "Toradora", [25], "gg"),
    ("[Judas] One Piece - 1000-1001 [1080p][HEVC x265 10bit][Eng-Subs].mkv", "One Piece", [1000, 1001], "Judas"),
    ("[SubsPlease] Sousou no Frieren (01-28) (1080p) [Batch]", "Sousou no Frieren", list(range(1, 29)),
     "SubsPlease"),
    ("One.Piece.E1089.1080p.CR.WEB-DL.AAC2.0.H.264-VARYG", "One Piece", [1089], "VARYG"),
])
def test_anime_absolute_numbering(name: str, title: str, absolute: list[int], group: str) -> None:
    parsed = parse_name(name)
    assert parsed["title"] == title and parsed["release_group"] == group
    assert parsed["absolute_episodes"] == absolute and parsed["absolute_episode"] == absolute[0]
    assert parsed["season"] is None and parsed["type"] == "episode" and parsed["is_anime"] is True


@pytest.mark.parametrize(("name", "title", "season", "episode"), [
    ("[SubsPlease] Mushoku Tensei S2 - 13 (1080p) [6F7A8B9C].mkv", "Mushoku Tensei", 2, 13),
    ("[Erai-raws] Boku no Hero Academia 6th Season - 25 [1080p][Multiple Subtitle].mkv",
     "Boku no Hero Academia", 6, 25),
    ("[Judas] Jujutsu Kaisen - S02E23 [1080p][HEVC x265 10bit][Multi-Subs].mkv", "Jujutsu Kaisen", 2, 23),
])
def test_anime_with_a_season(name: str, title: str, season: int, episode: int) -> None:
    parsed = parse_name(name)
    assert (parsed["title"], parsed["season"], parsed["episode"]) == (title, season, episode)
    assert parsed["absolute_episode"] is None and parsed["is_anime"] is True


def test_anime_year_in_parentheses_and_hints() -> None:
    parsed = parse_name("[Tsundere] Hunter x Hunter (2011) - 148 [BDRip h264 1920x1080 10bit FLAC][6A7B8C9D].mkv")
    assert (parsed["title"], parsed["year"], parsed["absolute_episode"], parsed["quality"]) == (
        "Hunter x Hunter", 2011, 148, "Bluray-1080p")
    assert parse_name("Jujutsu.Kaisen.S02E23.1080p.CR.WEB-DL.AAC2.0.H.264-VARYG")["is_anime"] is True
    assert parse_name("Breaking.Bad.S05E16.720p.HDTV.x264-EVOLVE")["is_anime"] is False


# -- movies: editions and titles --------------------------------------------------------------------
@pytest.mark.parametrize(("name", "title", "edition"), [
    ("Kingdom.of.Heaven.2005.Directors.Cut.1080p.BluRay.x264-GRP", "Kingdom of Heaven", "Director's Cut"),
    ("Amadeus.1984.DC.1080p.BluRay.x264-GRP", "Amadeus", "Director's Cut"),
    ("The.Lord.of.the.Rings.The.Fellowship.of.the.Ring.2001.EXTENDED.1080p.BluRay.x264-GRP",
     "The Lord of the Rings The Fellowship of the Ring", "Extended"),
    ("Interstellar.2014.IMAX.1080p.BluRay.x264-GRP", "Interstellar", "IMAX"),
    ("Blade.Runner.1982.The.Final.Cut.1080p.BluRay.x264-GRP", "Blade Runner", "Final Cut"),
    ("Gladiator.2000.EXTENDED.REMASTERED.1080p.BluRay.x264-GRP", "Gladiator", "Extended Remastered"),
    ("Aliens.1986.Special.Edition.1080p.BluRay.x264-GRP", "Aliens", "Special Edition"),
    ("Anchorman.The.Legend.of.Ron.Burgundy.2004.UNRATED.1080p.BluRay.x264-GRP",
     "Anchorman The Legend of Ron Burgundy", "Unrated"),
    ("The.Wizard.of.Oz.1939.80th.Anniversary.Edition.1080p.BluRay.x264-GRP", "The Wizard of Oz",
     "80th Anniversary Edition"),
    ("Mad.Max.Fury.Road.2015.Black.and.Chrome.Edition.1080p.BluRay.x264-GRP", "Mad Max Fury Road",
     "Black and Chrome Edition"),
    ("Movie.2019.Open.Matte.1080p.WEB-DL.DDP5.1.H.264-GRP", "Movie", "Open Matte"),
    # edition words inside the title are the title
    ("The.Final.Cut.2004.1080p.BluRay.x264-GRP", "The Final Cut", None),
    ("Extended.Family.S01E01.720p.HDTV.x264-GRP", "Extended Family", None),
    ("Inception.2010.1080p.BluRay.x264-GRP", "Inception", None),
])
def test_editions(name: str, title: str, edition: str | None) -> None:
    parsed = parse_name(name)
    assert (parsed["title"], parsed["edition"]) == (title, edition)


@pytest.mark.parametrize(("name", "title", "year"), [
    ("Dune.Part.Two.2024.2160p.WEB-DL.DDP5.1.Atmos.DV.HDR.H.265-GRP", "Dune Part Two", 2024),
    ("Kill.Bill.Vol.1.2003.1080p.BluRay.x264-GRP", "Kill Bill Vol 1", 2003),
    ("The.Godfather.Part.II.1974.1080p.BluRay.x264-GRP", "The Godfather Part II", 1974),
    ("Blade.Runner.2049.2017.2160p.UHD.BluRay.REMUX.HDR.HEVC.Atmos-GRP", "Blade Runner 2049", 2017),
    ("2012.2009.1080p.BluRay.x264-GRP", "2012", 2009),
    ("The Matrix (1999).mkv", "The Matrix", 1999),
    # "DC" reads as Director's Cut to guessit; before the year it is part of the title
    ("AC.DC.Let.There.Be.Rock.1980.1080p.BluRay.x264-GRP", "AC DC Let There Be Rock", 1980),
    # a "/" in a release title (not a path to a video file) is part of the title
    ("AC/DC.Let.There.Be.Rock.1980.1080p.BluRay.x264-GRP", "AC DC Let There Be Rock", 1980),
])
def test_movie_titles_keep_their_numbers(name: str, title: str, year: int) -> None:
    parsed = parse_name(name)
    assert (parsed["title"], parsed["year"], parsed["type"]) == (title, year, "movie")


def test_mini_series_part_is_an_episode_but_a_movie_sequel_is_not() -> None:
    assert parse_name("The.Pacific.Part.05.720p.BluRay.x264-GRP")["episodes"] == [5]
    sequel = parse_name("Harry.Potter.and.the.Deathly.Hallows.Part.2.2011.1080p.BluRay.x264-GRP")
    assert sequel["type"] == "movie" and sequel["episodes"] == []


# -- languages, countries, groups -------------------------------------------------------------------
@pytest.mark.parametrize(("name", "languages"), [
    ("Show.S01E01.FRENCH.720p.HDTV.x264-GRP", ["French"]),
    ("Show.S01E01.GERMAN.1080p.WEB.x264-GRP", ["German"]),
    ("Show.S01E01.German.DL.720p.BluRay.x264-GRP", ["German", "Multi"]),
    ("Show.S01E01.MULTi.1080p.WEB.H264-GRP", ["Multi"]),
    ("Show.S01E01.DANISH.1080p.WEB.h264-GRP", ["Danish"]),
    ("Show.S01E01.iTALiAN.720p.WEBMux.x264-GRP", ["Italian"]),
    ("Movie.2000.CHINESE.1080p.BluRay.x264-GRP", ["Chinese"]),
    ("Show.S01E01.720p.HDTV.x264-GRP", []),
    ("The.Italian.Job.2003.1080p.BluRay.x264-GRP", []),  # a language word in the title is the title
])
def test_languages(name: str, languages: list[str]) -> None:
    assert parse_name(name)["languages"] == languages


@pytest.mark.parametrize(("name", "title", "country", "year"), [
    ("The.Office.US.S09E23.720p.HDTV.x264-GRP", "The Office", "US", None),
    ("The.Office.UK.S02E06.720p.BluRay.x264-GRP", "The Office", "GB", None),
    ("Doctor.Who.2005.S10E12.720p.HDTV.x264-GRP", "Doctor Who", None, 2005),
    ("1923.S01E08.1080p.WEB.H264-GRP", "1923", None, None),
    ("9-1-1.Lone.Star.S04E18.720p.HDTV.x264-GRP", "9-1-1 Lone Star", None, None),
])
def test_titles_countries_and_years(name: str, title: str, country: str | None, year: int | None) -> None:
    parsed = parse_name(name)
    assert (parsed["title"], parsed["country"], parsed["year"]) == (title, country, year)


@pytest.mark.parametrize(("name", "group"), [
    ("Better.Call.Saul.S06E13.720p.WEB.h264-KOGi[eztv.re].mkv", "KOGi"),
    ("The.Boys.S03E08.1080p.WEB.H264-GLHF[rarbg]", "GLHF"),
    ("Series Title S05E02 HDTV x264-Xclusive [eztv]", "Xclusive"),
    ("www.UIndex.org    -    The Walking Dead S11E24 1080p WEB H264-GLHF", "GLHF"),
    ("[ www.Speed.cd ] -Fargo.S05E10.720p.WEB.H264-GRP", "GRP"),
    ("Better Call Saul S01E05 Alpine Shepherd 1080p NF WEBRip DD5.1 x264", None),
])
def test_release_group_cleanup(name: str, group: str | None) -> None:
    assert parse_name(name)["release_group"] == group


# -- the real indexer feeds ------------------------------------------------------------------------
def test_titles_from_real_indexer_feeds(shared_fixtures: Path) -> None:
    """Every item title in the captured Torznab/Newznab/RSS feeds parses to the documented shape, and the
    titles whose facts EXPECTED.json restates parse to those facts."""
    from defusedxml import ElementTree

    titles: list[str] = []
    for path in sorted((shared_fixtures / "indexers").rglob("*.xml")):
        try:
            root = ElementTree.parse(path).getroot()
        except ElementTree.ParseError:
            continue  # a deliberately broken feed: the indexer tests cover it
        titles += [t for item in root.iter("item") if (t := item.findtext("title"))]
    assert len(titles) >= 200
    for title in titles:
        parsed = parse_name(title)
        assert tuple(parsed) == KEYS
        json.dumps(parsed)

    saul = parse_name("Better Call Saul S01E05 Alpine Shepherd 1080p NF WEBRip DD5.1 x264")
    assert (saul["title"], saul["season"], saul["episode"], saul["quality"]) == (
        "Better Call Saul", 1, 5, "WEBRip-1080p")
    eztv = parse_name("Series Title S05E02 HDTV x264-Xclusive [eztv]")
    assert (eztv["season"], eztv["episode"], eztv["quality"], eztv["release_group"]) == (5, 2, "SDTV", "Xclusive")
    anime = parse_name("[finFAGs]_Frame_Arms_Girl_07_(1280x720_TV_AAC)_[1262B6F7].mkv")
    assert (anime["title"], anime["absolute_episode"], anime["quality"], anime["release_group"]) == (
        "Frame Arms Girl", 7, "HDTV-720p", "finFAGs")


# -- cache ------------------------------------------------------------------------------------------
def test_cache_hits_and_can_be_cleared() -> None:
    naming.clear_cache()
    assert naming._parse_cached.cache_info().currsize == 0
    first = parse_name("Show.S01E01E02.720p.HDTV.x264-GRP")
    second = parse_name("Show.S01E01E02.720p.HDTV.x264-GRP")
    info = naming._parse_cached.cache_info()
    assert info.hits >= 1 and info.currsize == 1
    assert first == second and first is not second
    first["languages"].append("Klingon")
    first["seasons"].append(99)
    assert parse_name("Show.S01E01E02.720p.HDTV.x264-GRP")["languages"] == []
    assert parse_name("Show.S01E01E02.720p.HDTV.x264-GRP")["seasons"] == [1]
