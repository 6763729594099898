"""Completed-download handling: real download folders in tmp dirs → named files in a library.

Episodes and movies in the season-pack and movie tests are real videos made by ffmpeg
(tests/mediagen.py); elsewhere plain bytes stand in, since import only reads names and bytes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from omnimedia.core.acquisition.importer import (
    ImportFailed,
    ImportSubject,
    ImportTarget,
    execute,
    find_media_files,
    import_download,
    map_remote_path,
    plan_import,
    sample_size_limit,
)
from tests.mediagen import make_video

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def put(path: Path, size: int = 4096, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    block = hashlib.sha256(f"{path.name}{seed}".encode()).digest()
    path.write_bytes((block * (size // 32 + 1))[:size])
    return path


def rel_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


SHOW = ImportSubject("Show Name", "series", 2019)
EPISODES = [
    ImportTarget(1, season=1, episode=1, name="Pilot"),
    ImportTarget(2, season=1, episode=2, name="Episode Title"),
    ImportTarget(3, season=1, episode=3, name="Third", monitored=False),
]


@needs_ffmpeg
async def test_season_pack_with_samples_and_junk(tmp_path: Path) -> None:
    pack = tmp_path / "downloads" / "Show.Name.S01.1080p.WEB-DL.DDP5.1.H.264-GROUP"
    for e in (1, 2, 3, 4):
        make_video(pack / f"Show.Name.S01E{e:02d}.1080p.WEB-DL.DDP5.1.H.264-GROUP.mkv")
    make_video(pack / "Sample" / "show.name.s01e01.sample.mkv")
    make_video(pack / "show.name.s01e02-sample.mkv")
    put(pack / "Show.Name.S01.1080p.WEB-DL.DDP5.1.H.264-GROUP.nfo")
    put(pack / "RARBG.txt")
    put(pack / "Setup.exe")
    put(pack / "Show.Name.S01E05.1080p.WEB-DL.DDP5.1.H.264-GROUP.mkv.!qB")
    put(pack / "Featurettes" / "Making of.mkv")
    library = tmp_path / "library"
    targets = [*EPISODES, ImportTarget(4, season=1, episode=4, name="Four: The Return?")]

    result = await import_download(
        pack, SHOW, targets, root_folder=library, release_title=pack.name, quality="WEBDL-1080p",
    )

    assert rel_files(library) == [
        "Show Name (2019)/Season 01/Show Name - S01E01 - Pilot WEBDL-1080p.mkv",
        "Show Name (2019)/Season 01/Show Name - S01E02 - Episode Title WEBDL-1080p.mkv",
        "Show Name (2019)/Season 01/Show Name - S01E04 - Four - The Return! WEBDL-1080p.mkv",
    ]
    placed = library / "Show Name (2019)/Season 01/Show Name - S01E02 - Episode Title WEBDL-1080p.mkv"
    source = pack / "Show.Name.S01E02.1080p.WEB-DL.DDP5.1.H.264-GROUP.mkv"
    assert os.stat(placed).st_ino == os.stat(source).st_ino  # hard link: the client keeps seeding
    assert [(i["target_ids"], i["method"], i["quality"]) for i in result.imported] == [
        ([1], "hardlink", "WEBDL-1080p"), ([2], "hardlink", "WEBDL-1080p"), ([4], "hardlink", "WEBDL-1080p")
    ]
    assert result.failed == []
    assert result.rejected == [{"source": str(pack / "Show.Name.S01E03.1080p.WEB-DL.DDP5.1.H.264-GROUP.mkv"),
                                "reason": "S01E03 is not monitored"}]
    skipped = {Path(s["source"]).name: s["reason"] for s in result.skipped}
    assert skipped["show.name.s01e01.sample.mkv"] == "sample (in a 'Sample' folder)"
    assert skipped["show.name.s01e02-sample.mkv"].startswith("sample (")
    assert skipped["Show.Name.S01.1080p.WEB-DL.DDP5.1.H.264-GROUP.nfo"] == "not a video file (.nfo)"
    assert skipped["RARBG.txt"] == "not a video file (.txt)"
    assert skipped["Setup.exe"].startswith("executable")
    assert skipped["Show.Name.S01E05.1080p.WEB-DL.DDP5.1.H.264-GROUP.mkv.!qB"] == "incomplete download (.!qB file)"
    assert skipped["Making of.mkv"] == "extra (in a 'Featurettes' folder)"
    # The tracker's summary names every file that did not make it.
    assert result.as_dict()["failed"][0]["reason"] == "S01E03 is not monitored"


def test_samples_are_small_files_named_sample(tmp_path: Path) -> None:
    big = put(tmp_path / "dl" / "Show.S01E05.The.Sample.1080p.WEB-DL-GRP.mkv", 3000)
    found = find_media_files(tmp_path / "dl", runtime=None)
    assert found == []  # 3000 bytes named "sample": a sample
    assert sample_size_limit(60) == 75_000_000 and sample_size_limit(22) == 37_500_000
    assert sample_size_limit(2) == 1_875_000 and sample_size_limit(None, "movie") == 75_000_000
    # The same name at a real episode's size is the episode (the title just says "Sample").
    os.truncate(big, sample_size_limit(2) + 1)
    assert find_media_files(tmp_path / "dl", runtime=2) == [big]


def test_missing_download_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="remote path mapping") as info:
        find_media_files(tmp_path / "nope")
    assert info.value.reason == "source_missing"


async def test_multi_episode_file(tmp_path: Path) -> None:
    src = put(tmp_path / "dl" / "Show.Name.S01E01E02.720p.HDTV.x264-GRP.mkv")
    found = find_media_files(src)
    assert found == [src]
    plan = plan_import(found, SHOW, EPISODES, root_folder=tmp_path / "lib", release_title=src.stem)
    assert [(f.label, f.target_ids, f.destination.name) for f in plan.files] == [
        ("S01E01-E02", [1, 2], "Show Name - S01E01-E02 - Pilot + Episode Title HDTV-720p.mkv")
    ]
    result = await execute(plan)
    assert result.imported[0]["target_ids"] == [1, 2]
    assert (tmp_path / "lib" / "Show Name (2019)" / "Season 01" / plan.files[0].destination.name).exists()


async def test_multi_episode_file_partly_wanted_is_imported_with_a_note(tmp_path: Path) -> None:
    src = put(tmp_path / "dl" / "Show.Name.S01E02E03.720p.HDTV.x264-GRP.mkv")
    plan = plan_import([src], SHOW, EPISODES, root_folder=tmp_path / "lib")
    assert plan.files[0].target_ids == [2]
    assert plan.files[0].notes == ["the file also holds S01E03, which is not wanted"]
    # The name says both episodes the file holds (E03 is known, only not monitored).
    assert plan.files[0].destination.name == "Show Name - S01E02-E03 - Episode Title + Third HDTV-720p.mkv"


async def test_daily_show(tmp_path: Path) -> None:
    src = put(tmp_path / "dl" / "The.Daily.Show.2019.05.04.Guest.Name.720p.WEB.h264-GRP.mkv")
    subject = ImportSubject("The Daily Show", "series", 1996, series_type="daily")
    targets = [ImportTarget(10, season=2019, episode=50, air_date="2019-05-04", name="Guest Name"),
               ImportTarget(11, season=2019, episode=51, air_date="2019-05-05", name="Other Guest")]
    result = await import_download(src, subject, targets, root_folder=tmp_path / "lib", release_title=src.stem)
    assert result.imported[0]["target_ids"] == [10]
    assert rel_files(tmp_path / "lib") == [
        "The Daily Show (1996)/Season 2019/The Daily Show - 2019-05-04 - Guest Name WEBDL-720p.mkv"
    ]
    # A date that is not wanted is named in the reason.
    other = put(tmp_path / "dl2" / "The.Daily.Show.2019.06.01.720p.WEB.h264-GRP.mkv")
    plan = plan_import([other], subject, targets, root_folder=tmp_path / "lib")
    assert plan.problems == ["The.Daily.Show.2019.06.01.720p.WEB.h264-GRP.mkv: 2019-06-01 is not wanted"]


async def test_anime_absolute_numbering(tmp_path: Path) -> None:
    dl = tmp_path / "dl" / "[SubsPlease] Anime Name (1071-1072) (1080p) [Batch]"
    e1071 = put(dl / "[SubsPlease] Anime Name - 1071 (1080p) [ABCD1234].mkv")
    e1072 = put(dl / "[SubsPlease] Anime Name - 1072 (1080p) [EF567890].mkv")
    subject = ImportSubject("Anime Name", "series", 1999, series_type="anime")
    targets = [ImportTarget(71, season=21, episode=79, absolute_episode=1071, name="Egghead"),
               ImportTarget(72, season=21, episode=80, absolute_episode=1072, name="Vegapunk")]
    found = find_media_files(dl)
    plan = plan_import(found, subject, targets, root_folder=tmp_path / "lib", release_title=dl.name,
                       quality="WEBDL-1080p")
    by_source = {f.source: f for f in plan.files}
    # The file names only say "1080p"; the grabbed release's quality (WEBDL-1080p) is used.
    assert by_source[e1071].destination == (
        tmp_path / "lib" / "Anime Name (1999)" / "Season 21" / "Anime Name - S21E79 - 1071 - Egghead WEBDL-1080p.mkv"
    )
    assert by_source[e1072].target_ids == [72]
    result = await execute(plan)
    assert len(result.imported) == 2 and result.failed == []


@needs_ffmpeg
async def test_movie_main_file_extras_and_edition(tmp_path: Path) -> None:
    dl = tmp_path / "dl" / "Movie.Title.2019.Directors.Cut.1080p.BluRay.x264-GRP"
    main = make_video(dl / "Movie.Title.2019.Directors.Cut.1080p.BluRay.x264-GRP.mkv", duration=2.0)
    make_video(dl / "Movie.Title.2019.Directors.Cut.1080p.BluRay.x264-GRP-sample.mkv", duration=0.5)
    make_video(dl / "Featurettes" / "Behind the Scenes.mkv", duration=0.5)
    smaller = make_video(dl / "Movie.Title.2019.Bonus.Clip.mkv", duration=0.5)
    put(dl / "movie.title.2019.nfo")
    subject = ImportSubject("Movie Title", "movie", 2019)
    naming = {"movie": "{Movie Title} ({Year}) {Edition Tags} {Quality Full}"}
    result = await import_download(dl, subject, [ImportTarget(5, kind="movie")], naming=naming,
                                   root_folder=tmp_path / "movies", release_title=dl.name, quality="Bluray-1080p")
    assert rel_files(tmp_path / "movies") == ["Movie Title (2019)/Movie Title (2019) Director's Cut Bluray-1080p.mkv"]
    assert result.imported[0]["source"] == str(main) and result.imported[0]["target_ids"] == [5]
    skipped = {Path(s["source"]).name: s["reason"] for s in result.skipped}
    assert skipped[smaller.name] == f"not the main movie file ({main.name} is larger)"
    assert skipped["Behind the Scenes.mkv"] == "extra (in a 'Featurettes' folder)"
    assert skipped["Movie.Title.2019.Directors.Cut.1080p.BluRay.x264-GRP-sample.mkv"].startswith("sample")


def test_remote_path_mappings() -> None:
    mappings = [
        {"download_client": "seedbox", "remote": "/downloads/", "local": "/mnt/seedbox/"},
        {"download_client": "seedbox", "remote": "/downloads/tv", "local": "/mnt/tv"},
        {"download_client": "windows", "remote": "D:\\Downloads\\", "local": "/mnt/win"},
    ]
    assert map_remote_path("seedbox", "/downloads/complete/Show.S01", mappings) == "/mnt/seedbox/complete/Show.S01"
    assert map_remote_path("SeedBox", "/downloads/tv/Show.S01/a.mkv", mappings) == "/mnt/tv/Show.S01/a.mkv"
    assert map_remote_path("seedbox", "/downloads", mappings) == "/mnt/seedbox"
    assert map_remote_path("seedbox", "/downloads2/x", mappings) == "/downloads2/x"  # whole components only
    assert map_remote_path("other", "/downloads/x", mappings) == "/downloads/x"
    assert map_remote_path("windows", "d:\\downloads\\Movie (2019)\\m.mkv", mappings) == "/mnt/win/Movie (2019)/m.mkv"
    assert map_remote_path(None, "/downloads/x", mappings) == "/downloads/x"


async def test_import_through_a_remote_path_mapping(tmp_path: Path) -> None:
    local_downloads = tmp_path / "mnt" / "seedbox"
    put(local_downloads / "complete" / "Show.Name.S01E01.1080p.WEB-DL-GRP.mkv")
    mappings = [{"download_client": "seedbox", "remote": "/data/torrents", "local": str(local_downloads)}]
    result = await import_download(
        "/data/torrents/complete/Show.Name.S01E01.1080p.WEB-DL-GRP.mkv", SHOW, EPISODES,
        root_folder=tmp_path / "lib", client_name="seedbox", remote_path_mappings=mappings,
    )
    assert [Path(i["destination"]).name for i in result.imported] == ["Show Name - S01E01 - Pilot WEBDL-1080p.mkv"]
    with pytest.raises(ImportFailed, match="remote path mapping"):
        await import_download("/data/torrents/complete/x.mkv", SHOW, EPISODES, root_folder=tmp_path / "lib",
                              client_name="other", remote_path_mappings=mappings)


def test_unwanted_and_unknown_files_are_reported(tmp_path: Path) -> None:
    pack = tmp_path / "dl" / "Show.Name.S02.1080p.WEB-DL-GRP"
    put(pack / "Show.Name.S02E01.1080p.WEB-DL-GRP.mkv")
    put(pack / "Show.Name.S01E03.1080p.WEB-DL-GRP.mkv")
    put(pack / "Show.Name.S01E02E09.1080p.WEB-DL-GRP.mkv", 10)
    put(pack / "abc123.mkv")
    plan = plan_import(find_media_files(pack), SHOW, EPISODES, root_folder=tmp_path / "lib")
    assert sorted(plan.problems) == [
        "Show.Name.S01E03.1080p.WEB-DL-GRP.mkv: S01E03 is not monitored",
        "Show.Name.S02E01.1080p.WEB-DL-GRP.mkv: S02E01 is not wanted",
        "abc123.mkv: could not tell which episode this is (no season/episode, air date or absolute number in its name)",
    ]
    assert [f.label for f in plan.files] == ["S01E02"]
    assert plan.files[0].notes == ["the file also holds S01E09, which is not wanted"]


def test_episode_numbers_from_the_folder_and_the_release(tmp_path: Path) -> None:
    pack = tmp_path / "dl" / "Show.Name.S01.1080p.WEB-DL-GRP"
    two = put(pack / "02 - Episode Title.mkv")
    plan = plan_import([two], SHOW, EPISODES, root_folder=tmp_path / "lib", release_title=pack.name,
                       quality="WEBDL-1080p")
    assert plan.files[0].label == "S01E02"
    assert plan.files[0].destination.name == "Show Name - S01E02 - Episode Title WEBDL-1080p.mkv"
    # A lone file with an uninformative name takes its numbers from the release title.
    lone = put(tmp_path / "dl2" / "abc123.mkv")
    plan = plan_import([lone], SHOW, EPISODES, root_folder=tmp_path / "lib",
                       release_title="Show.Name.S01E01.720p.HDTV.x264-GRP")
    assert plan.files[0].target_ids == [1] and plan.files[0].quality == "HDTV-720p"


def test_two_files_for_one_episode_keep_the_better(tmp_path: Path) -> None:
    pack = tmp_path / "dl" / "pack"
    hd = put(pack / "Show.Name.S01E01.1080p.WEB-DL-GRP.mkv", 2000)
    sd = put(pack / "Show.Name.S01E01.720p.HDTV.x264-GRP.mkv", 5000)
    plan = plan_import([sd, hd], SHOW, EPISODES, root_folder=tmp_path / "lib")
    assert [f.source for f in plan.files] == [hd]
    assert plan.problems == [f"{sd.name}: S01E01 is also in {hd.name}, which is better"]


async def test_upgrade_replaces_the_old_file_after_the_new_one_is_placed(tmp_path: Path) -> None:
    season = tmp_path / "lib" / "Show Name (2019)" / "Season 01"
    old = put(season / "Show Name - S01E02 - Episode Title HDTV-720p.mkv", seed=1)
    targets = [ImportTarget(2, season=1, episode=2, name="Episode Title", file_path=str(old),
                            file_quality="HDTV-720p")]
    new = put(tmp_path / "dl" / "Show.Name.S01E02.1080p.WEB-DL-GRP.mkv", seed=2)
    result = await import_download(new, SHOW, targets, root_folder=tmp_path / "lib")
    assert result.imported[0]["replaced"] == [str(old)]
    assert rel_files(season) == ["Show Name - S01E02 - Episode Title WEBDL-1080p.mkv"]

    # keep_replaced: the old file stays (hidden backup) and is reported.
    older = Path(result.imported[0]["destination"])
    targets = [ImportTarget(2, season=1, episode=2, name="Episode Title", file_path=str(older),
                            file_quality="WEBDL-1080p")]
    proper = put(tmp_path / "dl2" / "Show.Name.S01E02.PROPER.1080p.WEB-DL-GRP.mkv", seed=3)
    result = await import_download(proper, SHOW, targets, root_folder=tmp_path / "lib", keep_replaced=True)
    entry = result.imported[0]
    # Same name ("WEBDL-1080p Proper" differs) → a new file; the old one is kept as a backup.
    assert Path(entry["destination"]).name == "Show Name - S01E02 - Episode Title WEBDL-1080p Proper.mkv"
    assert entry["replaced"] == [str(older)]
    assert len(entry["backups"]) == 1 and Path(entry["backups"][0]).read_bytes() == new.read_bytes()
    assert not older.exists()


def test_not_an_upgrade_is_refused(tmp_path: Path) -> None:
    targets = [ImportTarget(2, season=1, episode=2, name="Episode Title", file_path="/lib/x.mkv",
                            file_quality="Bluray-1080p")]
    src = put(tmp_path / "dl" / "Show.Name.S01E02.720p.WEB-DL-GRP.mkv")
    plan = plan_import([src], SHOW, targets, root_folder=tmp_path / "lib")
    assert plan.problems == [f"{src.name}: not an upgrade: S01E02 already has Bluray-1080p (this file is WEBDL-720p)"]
    assert plan_import([src], SHOW, targets, root_folder=tmp_path / "lib", check_upgrade=False).files


async def test_one_failed_file_never_stops_the_others(tmp_path: Path) -> None:
    pack = tmp_path / "dl" / "Show.Name.S01.1080p.WEB-DL-GRP"
    one = put(pack / "Show.Name.S01E01.1080p.WEB-DL-GRP.mkv")
    two = put(pack / "Show.Name.S01E02.1080p.WEB-DL-GRP.mkv")
    plan = plan_import(find_media_files(pack), SHOW, EPISODES, root_folder=tmp_path / "lib")
    old_for_two = put(tmp_path / "lib" / "old two.mkv")
    plan.files[1].replaces.append(old_for_two)
    one.unlink()  # the client removed it between planning and placing
    result = await execute(plan, "copy")
    assert [Path(i["source"]) for i in result.imported] == [two]
    assert result.failed[0]["source"] == str(one) and result.failed[0]["code"] == "source_missing"
    assert "is gone" in result.failed[0]["reason"]
    assert not old_for_two.exists()  # its replacement was placed

    # An old file whose replacement failed is kept.
    plan = plan_import([two], SHOW, EPISODES, root_folder=tmp_path / "lib2")
    keep_me = put(tmp_path / "lib2" / "old.mkv")
    plan.files[0].replaces.append(keep_me)
    two.unlink()
    result = await execute(plan)
    assert result.imported == [] and keep_me.exists()


async def test_albums_keep_their_file_names(tmp_path: Path) -> None:
    dl = tmp_path / "dl" / "Artist - Album (2001) [FLAC]"
    put(dl / "CD1" / "01 - Song: One.flac")
    put(dl / "CD2" / "01 - Song Two.flac")
    put(dl / "cover.jpg")
    subject = ImportSubject("Album", "album", 2001)
    result = await import_download(dl, subject, [ImportTarget(9, kind="album")], root_folder=tmp_path / "music")
    assert rel_files(tmp_path / "music") == ["Album (2001)/CD1/01 - Song - One.flac", "Album (2001)/CD2/01 - Song Two.flac"]
    assert {Path(s["source"]).name for s in result.skipped} == {"cover.jpg"}


async def test_disk_full_during_a_pack_import_loses_nothing(tmp_path: Path) -> None:
    """The library is another, small file system: the first episode fits, the second does not."""
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    library = tmp_path / "library"
    library.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(library)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        pack = tmp_path / "dl" / "Show.Name.S01.1080p.WEB-DL-GRP"
        one = put(pack / "Show.Name.S01E01.1080p.WEB-DL-GRP.mkv", 600 * 1024, seed=1)
        two = put(pack / "Show.Name.S01E02.1080p.WEB-DL-GRP.mkv", 600 * 1024, seed=2)
        before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (one, two)}
        result = await import_download(pack, SHOW, EPISODES, root_folder=library, quality="WEBDL-1080p")
        assert [Path(i["source"]) for i in result.imported] == [one]
        assert result.imported[0]["method"] == "copy"
        [failed] = result.failed
        assert failed["source"] == str(two) and failed["code"] == "not_enough_space"
        assert failed["reason"].startswith(f"Not enough space on {library}: need 600 KB for {two.name}, ")
        assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (one, two)} == before
        assert rel_files(library) == ["Show Name (2019)/Season 01/Show Name - S01E01 - Pilot WEBDL-1080p.mkv"]
    finally:
        subprocess.run(["umount", "-l", str(library)], capture_output=True, check=False)
