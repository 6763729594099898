"""The decision engine (core/acquisition/decisions.py): one test per rule and per ranking step,
with real release names, and a run over a real captured Newznab feed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from omnimedia.core.acquisition.decisions import (
    Decision,
    DecisionContext,
    SearchSubject,
    TargetState,
    best,
    clean_title,
    decide,
    decide_rss,
    pick_grabs,
    term_pattern,
)
from omnimedia.core.acquisition.quality import GB, MB, QualityProfile, default_profile
from omnimedia.core.acquisition.types import Release

NOW = 1_700_000_000.0


def rel(title: str, *, protocol: str = "torrent", size: int | None = None, seeders: int | None = 50,
        age: float = 600.0, indexer: str = "idx", priority: int = 25, **kw) -> Release:
    """A release ``age`` minutes old."""
    return Release(title=title, indexer=indexer, protocol=protocol, guid=f"{indexer}/{title}", size=size,
                   seeders=seeders if protocol == "torrent" else None, published=NOW - age * 60,
                   indexer_priority=priority, **kw)


def prof(name: str = "HD-1080p", **changes) -> QualityProfile:
    return dataclasses.replace(default_profile(name), **changes)


def ep(id: int, season: int | None, episode: int | None, **kw) -> TargetState:
    kw.setdefault("runtime", 45)
    return TargetState(id, "episode", season=season, episode=episode, **kw)


def show(title: str = "Breaking Bad", targets: list[TargetState] | None = None, profile: QualityProfile | None = None,
         **kw) -> SearchSubject:
    if targets is None:
        targets = [ep(100 + i, 5, i) for i in range(1, 17)]
    return SearchSubject(id=1, media_type="series", title=title, profile=profile or prof(), targets=targets, **kw)


def movie(title: str = "Frozen", year: int | None = 2013, profile: QualityProfile | None = None,
          target: TargetState | None = None) -> SearchSubject:
    target = target or TargetState(7, "movie", runtime=102)
    return SearchSubject(id=2, media_type="movie", title=title, year=year, profile=profile or prof(), targets=[target])


def ctx(**kw) -> DecisionContext:
    return DecisionContext(now=NOW, **kw)


def one(release: Release, subject: SearchSubject | None, context: DecisionContext | None = None,
        profile: QualityProfile | None = None) -> Decision:
    [decision] = decide([release], subject, context or ctx(), profile)
    return decision


def titles(decisions: list[Decision]) -> list[str]:
    return [d.release.title for d in decisions]


# -- title -----------------------------------------------------------------------------------------
def test_title_folding_the_punctuation_and_ampersand() -> None:
    assert clean_title("The Office (US)") == "officeus"
    assert clean_title("Law & Order: Special Victims Unit") == clean_title("Law and Order Special Victims Unit")
    assert clean_title("Marvel's Agents of S.H.I.E.L.D.") == clean_title("Marvels Agents of SHIELD")
    assert clean_title("Amélie") == "amelie"


@pytest.mark.parametrize(("wanted", "name"), [
    ("Law & Order: Special Victims Unit", "Law.and.Order.SVU.S05E01.720p.HDTV.x264-LOL"),
    ("Marvel's Agents of S.H.I.E.L.D.", "Marvels.Agents.of.S.H.I.E.L.D.S05E01.1080p.WEB-DL.DD5.1.H264-RARBG"),
    ("The Office (US)", "The.Office.US.S05E01.720p.HDTV.x264-IMMERSE"),
    ("Doctor Who (2005)", "Doctor.Who.2005.S05E01.720p.HDTV.x264-FoV"),
])
def test_title_matches_folded_names_and_aliases(wanted: str, name: str) -> None:
    aliases = ["Law and Order SVU"] if wanted.startswith("Law") else []
    subject = show(wanted, [ep(1, 5, 1)], prof("Any"), aliases=aliases)
    decision = one(rel(name, size=900 * MB), subject)
    assert decision.accepted, decision.rejections
    assert decision.target_ids == [1]


def test_title_mismatch_is_rejected() -> None:
    subject = show("Breaking Bad")
    # a name that cannot start with the title is rejected before it is parsed …
    quick = one(rel("Better.Call.Saul.S05E01.720p.HDTV.x264-AVS"), subject)
    assert quick.rejections == ["Title does not match Breaking Bad"]
    assert quick.parsed == {}
    # … unless the caller wants everything parsed (interactive search)
    [parsed] = decide([rel("Better.Call.Saul.S05E01.720p.HDTV.x264-AVS")], subject, ctx(), parse_all=True)
    assert parsed.rejections == ["Title 'Better Call Saul' does not match Breaking Bad"]
    assert parsed.quality == "HDTV-720p"
    # a longer title that starts like the wanted one is parsed and told apart
    longer = one(rel("Breaking.Bad.Behaviour.S05E01.720p.HDTV.x264-XX"), subject)
    assert longer.rejections == ["Title 'Breaking Bad Behaviour' does not match Breaking Bad"]


def test_country_in_the_name_tells_remakes_apart() -> None:
    from omnimedia.core.library.naming import parse_name

    if "country" not in parse_name("The.Office.US.S05E01.720p.HDTV.x264-IMMERSE"):
        pytest.skip("parse_name does not report a title's country yet")
    us = show("The Office (US)", [ep(1, 1, 1)], prof("Any"))
    uk = dataclasses.replace(show("The Office (UK)", [ep(2, 1, 1)], prof("Any")), id=5)
    name = "The.Office.UK.S01E01.720p.BluRay.x264-SHORTBREHD"
    assert one(rel(name, size=1 * GB), uk).accepted
    assert one(rel(name, size=1 * GB), us).rejections == ["Title 'The Office' (GB) does not match The Office (US)"]
    decisions = decide_rss([rel(name, size=1 * GB), rel("The.Office.US.S01E01.720p.HDTV.x264-IMMERSE", size=1 * GB)],
                           [us, uk], ctx())
    assert sorted((d.release.title, d.subject_id, d.accepted) for d in decisions) == [
        ("The.Office.UK.S01E01.720p.BluRay.x264-SHORTBREHD", 5, True),
        ("The.Office.US.S01E01.720p.HDTV.x264-IMMERSE", 1, True)]


def test_every_corpus_name_matches_its_true_title() -> None:
    """Title matching (quick check + parsed title, year, country) over the hand-checked corpus
    of real release names (tests/data/release_names.tsv): the true title must match."""
    from tests.release_corpus import CORPUS, load

    if not CORPUS.exists():
        pytest.skip(f"release-name corpus not found at {CORPUS}")
    rows = [r for r in load() if r.title]
    misses = []
    for row in rows:
        country = row.extra.get("country")
        title = f"{row.title} ({country})" if country else row.title
        year = int(row.extra["year"]) if row.extra.get("year", "").isdigit() else None
        subject = SearchSubject(id=1, media_type="movie" if row.kind == "movie" else "series", title=title,
                                year=year, profile=prof("Any"))
        [decision] = decide([rel(row.name)], subject, ctx())
        if any(r.startswith(("Title", "Year")) for r in decision.rejections):
            misses.append((row.name, title, decision.rejections))
    assert len(rows) > 500
    assert not misses, misses


def test_every_corpus_episode_name_fills_its_true_targets() -> None:
    """Episode matching over the real release-name corpus: each single, daily, anime, multi-episode
    and season-pack name fills exactly the targets its hand-recorded truth names."""
    from tests.release_corpus import CORPUS, expected_int, int_list, load

    if not CORPUS.exists():
        pytest.skip(f"release-name corpus not found at {CORPUS}")
    checked, misses = 0, []
    for row in load():
        if row.kind not in ("ep", "daily", "abs", "multi", "pack") or not row.title:
            continue
        if row.kind == "daily":
            targets = [TargetState(1, "episode", air_date=row.extra["air_date"])]
        elif "absolute" in row.extra:
            targets = [TargetState(a, "episode", absolute_episode=a) for a in int_list(row.extra["absolute"])]
        elif row.kind == "pack":
            targets = [TargetState(s * 100 + e, "episode", season=s, episode=e)
                       for s in int_list(row.extra.get("seasons") or row.season) for e in (1, 2, 3)]
        else:
            season = expected_int(row.season)
            season = 1 if season is None else season     # a miniseries "E01" / "Part 05" is season 1
            numbers = int_list(row.extra["episodes"]) if "episodes" in row.extra else [int(row.episode)]
            targets = [TargetState(season * 100 + e, "episode", season=season, episode=e) for e in numbers]
        country = row.extra.get("country")
        subject = SearchSubject(1, "series", f"{row.title} ({country})" if country else row.title, prof("Any"),
                                targets=targets)
        [decision] = decide([rel(row.name)], subject, ctx())
        checked += 1
        wrong = [r for r in decision.rejections if not r.startswith("Quality")]
        if wrong or sorted(decision.target_ids) != sorted(t.id for t in targets):
            misses.append((row.name, decision.target_ids, wrong))
    assert checked > 500
    assert not misses, misses


def test_movie_year_within_one() -> None:
    subject = movie("Frozen", 2013)
    assert one(rel("Frozen.2013.1080p.BluRay.x264-SPARKS", size=8 * GB), subject).accepted
    assert one(rel("Frozen.2014.1080p.BluRay.x264-SPARKS", size=8 * GB), subject).accepted
    wrong = one(rel("Frozen.2010.1080p.BluRay.x264-HDEX", size=8 * GB), subject)
    assert wrong.rejections == ["Year 2010 does not match Frozen (2013)"]
    episode = one(rel("Frozen.S01E01.1080p.WEB.h264-GRP", size=2 * GB), subject)
    assert episode.rejections == ["The release is an episode of a series, not the movie Frozen"]


# -- episodes --------------------------------------------------------------------------------------
def test_wanted_episode_match() -> None:
    subject = show(targets=[ep(1, 5, 14)])
    assert one(rel("Breaking.Bad.S05E14.720p.HDTV.x264-EVOLVE"), subject, profile=prof("Any")).target_ids == [1]
    other = one(rel("Breaking.Bad.S05E15.720p.HDTV.x264-EVOLVE"), subject, profile=prof("Any"))
    assert other.rejections == ["S05E15 is not a wanted episode of Breaking Bad"]


def test_multi_episode_covers_several_targets_all_must_be_wanted() -> None:
    name = "Sherlock.S02E01E02.1080p.WEB-DL.DD5.1.H.264-NTb"
    both = show("Sherlock", [ep(1, 2, 1), ep(2, 2, 2)])
    assert one(rel(name, size=3 * GB), both).target_ids == [1, 2]
    only_first = show("Sherlock", [ep(1, 2, 1)])
    assert one(rel(name, size=3 * GB), only_first).rejections == ["S02E02 is not a wanted episode of Sherlock"]
    second_done = show("Sherlock", [ep(1, 2, 1), ep(2, 2, 2, file_quality="Bluray-1080p")])
    assert one(rel(name, size=3 * GB), second_done).rejections == [
        "Already have Bluray-1080p for S02E02, which meets the cutoff WEBDL-1080p"]


def test_season_pack_covers_every_monitored_target_of_the_season() -> None:
    targets = [ep(i, 1, i, monitored=i != 3) for i in range(1, 7)] + [ep(99, 2, 1)]
    subject = show("Broadchurch", targets)
    decision = one(rel("Broadchurch.S01.1080p.BluRay.x264-SHORTBREHD", size=12 * GB), subject)
    assert decision.accepted, decision.rejections
    assert decision.target_ids == [1, 2, 4, 5, 6]
    none_monitored = show("Broadchurch", [ep(1, 1, 1, monitored=False)])
    assert one(rel("Broadchurch.S01.1080p.BluRay.x264-SHORTBREHD", size=12 * GB), none_monitored).rejections == [
        "No episode of season 1 is monitored"]


def test_miniseries_without_season_is_season_one() -> None:
    subject = show("Band of Brothers", [ep(1, 1, 1, runtime=70)], prof("Any"))
    decision = one(rel("Band.of.Brothers.E01.Currahee.1080p.BluRay.x264-SiNNERS", size=5 * GB), subject)
    assert decision.accepted, decision.rejections
    assert decision.target_ids == [1]


def test_daily_show_matches_by_air_date() -> None:
    targets = [TargetState(1, "episode", air_date="2012-02-27", runtime=22),
               TargetState(2, "episode", air_date="2012-02-28", runtime=22)]
    subject = show("The Daily Show", targets, prof("HD-720p"))
    hit = one(rel("The.Daily.Show.2012.02.28.Jon.Hamm.720p.HDTV.x264-LMAO", size=500 * MB), subject)
    assert hit.accepted and hit.target_ids == [2]
    miss = one(rel("The.Daily.Show.2012.03.01.Guest.720p.HDTV.x264-LMAO", size=500 * MB), subject)
    assert miss.rejections == ["The 2012-03-01 episode is not a wanted episode of The Daily Show"]


def test_anime_matches_by_absolute_number() -> None:
    targets = [TargetState(1, "episode", season=21, episode=179, absolute_episode=1071, runtime=24)]
    subject = show("One Piece", targets, prof("HD - 720p/1080p"))
    hit = one(rel("[SubsPlease] One Piece - 1071 (1080p) [ABCD1234].mkv", size=1400 * MB), subject)
    assert hit.accepted, hit.rejections
    assert hit.target_ids == [1]
    assert one(rel("[SubsPlease] One Piece - 1072 (1080p) [0F0E0D0C].mkv", size=1400 * MB), subject).rejections == [
        "Episode 1072 (absolute) is not a wanted episode of One Piece"]


def test_not_monitored_is_rejected() -> None:
    subject = show(targets=[ep(1, 5, 14, monitored=False)])
    assert one(rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB), subject).rejections == [
        "S05E14 is not monitored"]


# -- profile ---------------------------------------------------------------------------------------
def test_quality_must_be_allowed_by_the_profile() -> None:
    subject = show()
    hdtv = one(rel("Breaking.Bad.S05E14.720p.HDTV.x264-EVOLVE", size=1 * GB), subject)
    assert hdtv.quality == "HDTV-720p"
    assert hdtv.rejections == ["Quality HDTV-720p is not wanted in profile HD-1080p"]
    unknown = one(rel("Breaking Bad S05E14", size=1 * GB), subject)
    assert unknown.rejections == ["Quality Unknown (the release name does not say) is not wanted in profile HD-1080p"]


def test_every_parsed_quality_is_on_the_ladder() -> None:
    from omnimedia.core.acquisition.quality import QUALITY_NAMES, rank
    from omnimedia.core.library import naming

    assert set(getattr(naming, "QUALITY_NAMES", ())) <= set(QUALITY_NAMES)
    assert rank("CAM") < rank("SDTV") < rank("Bluray-480p") < rank("Bluray-576p") < rank("HDTV-720p")
    # "Any" does not grab a cam copy or a disc image unasked
    cam = one(rel("Oppenheimer.2023.HDCAM.x264-XXX", size=2 * GB), None)
    assert cam.quality == "CAM"
    assert cam.rejections == ["Quality CAM is not wanted in profile Any"]


def test_size_limits_per_minute_of_runtime() -> None:
    subject = show(targets=[ep(1, 5, 14)])   # 45 min, WEBDL-1080p 4–130 MB/min → 180 MB – 5.7 GB
    name = "Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb"
    assert one(rel(name, size=int(9.8 * GB)), subject).rejections == [
        "Size 9.8 GB is above the limit of 5.7 GB for WEBDL-1080p (45 min)"]
    assert one(rel(name, size=100 * MB), subject).rejections == [
        "Size 100 MB is below the minimum of 180 MB for WEBDL-1080p (45 min)"]
    assert one(rel(name, size=2 * GB), subject).accepted
    assert one(rel(name, size=None), subject).accepted                       # size unknown: no check
    no_runtime = show(targets=[ep(1, 5, 14, runtime=None)])
    assert one(rel(name, size=int(9.8 * GB)), no_runtime).accepted                # runtime unknown: no check
    own_limits = show(targets=[ep(1, 5, 14)], profile=prof(sizes={"WEBDL-1080p": {"max": 20.0}}))
    assert one(rel(name, size=1 * GB), own_limits).rejections == [
        "Size 1.0 GB is above the limit of 900 MB for WEBDL-1080p (45 min)"]


def test_size_limit_multiplies_by_episodes() -> None:
    subject = show("Sherlock", [ep(1, 2, 1, runtime=88), ep(2, 2, 2, runtime=88)])
    name = "Sherlock.S02E01E02.1080p.WEB-DL.DD5.1.H.264-NTb"
    assert one(rel(name, size=20 * GB), subject).accepted                     # 176 min × 130 MB = 22.3 GB
    assert one(rel(name, size=24 * GB), subject).rejections == [
        "Size 24.0 GB is above the limit of 22.3 GB for WEBDL-1080p (2 episodes, 176 min)"]


def test_must_contain_and_must_not_contain() -> None:
    subject = movie(profile=prof(must_contain=["x265", "/\\bHEVC\\b/i"], must_not_contain=["CAM", "/hdrip/i"]))
    assert one(rel("Frozen.2013.1080p.BluRay.x265-RARBG", size=4 * GB), subject).accepted
    assert one(rel("Frozen.2013.1080p.BluRay.hevc-PSA", size=4 * GB), subject).accepted
    assert one(rel("Frozen.2013.1080p.BluRay.x264-SPARKS", size=4 * GB), subject).rejections == [
        "Contains none of the terms profile HD-1080p requires (x265, /\\bHEVC\\b/i)"]
    cam = one(rel("Frozen.2013.CAM.x265-NoGroup", size=4 * GB), subject, profile=prof("Any", must_not_contain=["CAM"]))
    assert "Contains 'CAM', which profile Any does not accept" in cam.rejections
    # a plain term is a whole token: "CAM" is not in "Cambridge"
    assert not term_pattern("CAM").search("Cambridge.Spies.S01E01.720p.HDTV.x264-ORGANiC")
    broken = one(rel("Frozen.2013.1080p.BluRay.x265-RARBG", size=4 * GB), subject,
                 profile=prof(must_not_contain=["/(unclosed/"]))
    assert broken.rejections and "is not a valid regular expression" in broken.rejections[0]


def test_preferred_words_are_summed_and_minimum_score() -> None:
    p = prof(preferred_words={"x265": 10, "/\\bAMZN\\b/": 5, "HDR": 3, "YIFY": -100}, minimum_score=0)
    subject = show("The Boys", [ep(1, 1, 1, runtime=60)], p)
    good = one(rel("The.Boys.S01E01.1080p.AMZN.WEB-DL.DDP5.1.HDR.x265-NTb", size=3 * GB), subject)
    assert good.score == 18 and good.accepted
    bad = one(rel("The.Boys.S01E01.1080p.WEB-DL.x264-YIFY", size=3 * GB), subject)
    assert bad.score == -100
    assert bad.rejections == ["Preferred-word score -100 is below the minimum score 0 of profile HD-1080p"]


def test_minimum_seeders_for_torrents_only() -> None:
    subject = show(targets=[ep(1, 5, 14)], profile=prof(minimum_seeders=5))
    name = "Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb"
    assert one(rel(name, size=2 * GB, seeders=3), subject).rejections == ["3 seeders, fewer than the minimum 5"]
    assert one(rel(name, size=2 * GB, seeders=1), subject).rejections == ["1 seeder, fewer than the minimum 5"]
    assert one(rel(name, size=2 * GB, seeders=None), subject).accepted            # unknown passes
    assert one(rel(name, size=2 * GB, protocol="usenet"), subject).accepted      # usenet has no seeders


def test_minimum_age_is_a_temporary_rejection_for_usenet() -> None:
    subject = show(targets=[ep(1, 5, 14)], profile=prof(minimum_age=30))
    name = "Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb"
    young = one(rel(name, size=2 * GB, protocol="usenet", age=5), subject)
    assert young.rejections == ["Release is 5 minutes old, younger than the minimum age of 30 minutes"]
    assert young.pending and not young.accepted
    assert one(rel(name, size=2 * GB, protocol="usenet", age=45), subject).accepted
    assert one(rel(name, size=2 * GB, protocol="torrent", age=5), subject).accepted


def test_delay_makes_young_releases_pending_unless_they_meet_the_cutoff() -> None:
    subject = show(targets=[ep(1, 5, 14)], profile=prof("HD - 720p/1080p", delay=60))
    hdtv = one(rel("Breaking.Bad.S05E14.720p.HDTV.x264-EVOLVE", size=1 * GB, age=10), subject)
    assert hdtv.pending
    assert hdtv.rejections == [
        "Release is 10 minutes old; profile HD - 720p/1080p waits 60 minutes for a release that meets the cutoff "
        "WEBDL-1080p"]
    # meets the cutoff: no reason to wait
    assert one(rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB, age=10), subject).accepted
    # old enough, or the user asked for it
    assert one(rel("Breaking.Bad.S05E14.720p.HDTV.x264-EVOLVE", size=1 * GB, age=61), subject).accepted
    assert one(rel("Breaking.Bad.S05E14.720p.HDTV.x264-EVOLVE", size=1 * GB, age=10), subject,
               ctx(user_initiated=True)).accepted
    # a permanent reason as well: not pending
    mixed = one(rel("Breaking.Bad.S05E14.720p.HDTV.x264-EVOLVE", size=1 * GB, age=10, seeders=0), subject)
    assert not mixed.pending and len(mixed.rejections) == 2


def test_blocklisted_release() -> None:
    blocked = rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB)
    context = ctx(blocklist=lambda r: "download failed (par2 repair failed)" if r.key == blocked.key else None)
    assert one(blocked, show(targets=[ep(1, 5, 14)]), context).rejections == [
        "Release is blocklisted: download failed (par2 repair failed)"]


def test_already_in_library_and_upgrades() -> None:
    name = "Breaking.Bad.S05E14.1080p.BluRay.x264-ROVERS"

    def with_file(quality: str, **kw) -> SearchSubject:
        return show(targets=[ep(1, 5, 14, file_quality=quality, **kw)])

    assert one(rel(name, size=3 * GB), with_file("WEBDL-1080p")).rejections == [
        "Already have WEBDL-1080p for S05E14, which meets the cutoff WEBDL-1080p"]
    assert one(rel(name, size=3 * GB), with_file("HDTV-1080p")).accepted           # better quality: upgrade
    assert one(rel("Breaking.Bad.S05E14.1080p.HDTV.x264-EVOLVE", size=3 * GB),
               with_file("WEBRip-1080p")).rejections == [
        "Already have WEBRip-1080p for S05E14, which is better than HDTV-1080p"]
    off = show(targets=[ep(1, 5, 14, file_quality="HDTV-1080p")], profile=prof(upgrades_allowed=False))
    assert one(rel(name, size=3 * GB), off).rejections == [
        "Already have HDTV-1080p for S05E14 and profile HD-1080p does not allow upgrades"]


def test_same_quality_upgrades_by_revision_or_score() -> None:
    # a PROPER of the file's own quality is taken even past the cutoff
    have = show(targets=[ep(1, 5, 14, file_quality="WEBDL-1080p")])
    proper = one(rel("Breaking.Bad.S05E14.PROPER.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB), have)
    assert proper.revision == 2 and proper.accepted, proper.rejections
    again = show(targets=[ep(1, 5, 14, file_quality="WEBDL-1080p", file_revision=2)])
    assert not one(rel("Breaking.Bad.S05E14.PROPER.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB), again).accepted
    # below the cutoff, a higher score of the same quality is an upgrade, an equal one is not
    scored = prof(cutoff="Bluray-1080p", preferred_words={"x265": 10})
    below = show(targets=[ep(1, 5, 14, file_quality="WEBDL-1080p", file_score=0)], profile=scored)
    assert one(rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.x265-NTb", size=2 * GB), below).accepted
    assert one(rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB), below).rejections == [
        "Already have WEBDL-1080p for S05E14 with score 0; this release (WEBDL-1080p, score 0) is not an upgrade"]


def test_already_grabbed_and_target_queued() -> None:
    subject = show(targets=[ep(1, 5, 14)])
    release = rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB)
    assert one(release, subject, ctx(grabbed_release_keys=frozenset({release.key}))).rejections == [
        "This release was already grabbed"]
    assert one(release, subject, ctx(queued_target_ids=frozenset({1}))).rejections == [
        "A grab for S05E14 is already in progress"]


def test_free_disk_space() -> None:
    subject = show(targets=[ep(1, 5, 14)])
    release = rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB)
    assert one(release, subject, ctx(free_space=3 * GB, minimum_free_space=100 * MB)).accepted
    assert one(release, subject, ctx(free_space=2 * GB, minimum_free_space=100 * MB)).rejections == [
        "Not enough free space: the release needs 2.0 GB and 100 MB must stay free, but only 2.0 GB is free"]


def test_free_search_applies_only_the_profile() -> None:
    releases = [rel("Frozen.2013.1080p.BluRay.x264-SPARKS", size=8 * GB),
                rel("Some.Other.Movie.2001.DVDRip.XviD-FOO", size=700 * MB),
                rel("Frozen 2013")]
    decisions = decide(releases, None, ctx())
    assert [d.accepted for d in decisions] == [True, True, False]
    assert decisions[0].quality == "Bluray-1080p" and decisions[0].target_ids == []
    assert decisions[2].rejections == ["Quality Unknown (the release name does not say) is not wanted in profile Any"]
    hd = decide(releases, None, ctx(), prof())
    assert [d.release.title for d in hd if d.accepted] == ["Frozen.2013.1080p.BluRay.x264-SPARKS"]


def test_decision_as_dict_is_json_ready() -> None:
    import json

    decision = one(rel("Breaking.Bad.S05E14.720p.HDTV.x264-EVOLVE", size=1 * GB), show(targets=[ep(1, 5, 14)]))
    data = json.loads(json.dumps(decision.as_dict()))
    assert data["accepted"] is False and data["pending"] is False
    assert data["rejections"] == ["Quality HDTV-720p is not wanted in profile HD-1080p"]
    assert data["release"]["title"] == "Breaking.Bad.S05E14.720p.HDTV.x264-EVOLVE"
    assert data["parsed"]["season"] == 5 and data["quality"] == "HDTV-720p" and data["target_ids"] == [1]


# -- ranking ---------------------------------------------------------------------------------------
def ranked(releases: list[Release], subject: SearchSubject | None = None, profile: QualityProfile | None = None) -> list[str]:
    subject = subject or show(targets=[ep(1, 5, 14)], profile=profile or prof("Any"))
    decisions = decide(releases, subject, ctx())
    assert all(d.accepted for d in decisions), [d.rejections for d in decisions]
    return titles(decisions)


def test_rank_quality_first() -> None:
    assert ranked([rel("Breaking.Bad.S05E14.720p.HDTV.x264-EVOLVE", size=1 * GB, seeders=900),
                   rel("Breaking.Bad.S05E14.1080p.BluRay.x264-ROVERS", size=3 * GB, seeders=5),
                   rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB, seeders=50)]) == [
        "Breaking.Bad.S05E14.1080p.BluRay.x264-ROVERS",
        "Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb",
        "Breaking.Bad.S05E14.720p.HDTV.x264-EVOLVE"]


def test_rank_revision_second() -> None:
    assert ranked([rel("Breaking.Bad.S05E14.720p.HDTV.x264-EVOLVE", size=1 * GB, seeders=900),
                   rel("Breaking.Bad.S05E14.REPACK.720p.HDTV.x264-EVOLVE", size=1 * GB, seeders=5)])[0] == (
        "Breaking.Bad.S05E14.REPACK.720p.HDTV.x264-EVOLVE")


def test_rank_score_third() -> None:
    p = prof("Any", preferred_words={"NTb": 5})
    assert ranked([rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-KiNGS", size=2 * GB, seeders=900),
                   rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB, seeders=5)], profile=p)[0] == (
        "Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb")


def test_rank_preferred_protocol_fourth() -> None:
    releases = [rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB, indexer="tracker"),
                rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB, protocol="usenet", indexer="nzb")]
    assert [r.protocol for r in (d.release for d in decide(releases, show(targets=[ep(1, 5, 14)]), ctx()))] == [
        "torrent", "usenet"]
    usenet_first = show(targets=[ep(1, 5, 14)], profile=prof(preferred_protocol="usenet"))
    assert [d.release.protocol for d in decide(releases, usenet_first, ctx())] == ["usenet", "torrent"]


def test_rank_more_wanted_targets_before_fewer() -> None:
    subject = show("Broadchurch", [ep(i, 1, i) for i in range(1, 9)], prof("Any"))
    assert ranked([rel("Broadchurch.S01E01.1080p.BluRay.x264-SHORTBREHD", size=2 * GB, seeders=900),
                   rel("Broadchurch.S01.1080p.BluRay.x264-SHORTBREHD", size=16 * GB, seeders=40)], subject)[0] == (
        "Broadchurch.S01.1080p.BluRay.x264-SHORTBREHD")


def test_rank_torrent_seeders() -> None:
    decisions = decide([rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB, seeders=5, indexer="a"),
                        rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB, seeders=500, indexer="b",
                            priority=50)], show(targets=[ep(1, 5, 14)]), ctx())
    assert [d.release.seeders for d in decisions] == [500, 5]


def test_rank_usenet_newer_first() -> None:
    decisions = decide([rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", protocol="usenet", size=2 * GB,
                            age=20 * 24 * 60, indexer="old"),
                        rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", protocol="usenet", size=2 * GB,
                            age=30, indexer="new", priority=50)], show(targets=[ep(1, 5, 14)]), ctx())
    assert [d.release.indexer for d in decisions] == ["new", "old"]


def test_rank_larger_size_within_limits() -> None:
    decisions = decide([rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=1 * GB, indexer="small"),
                        rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=3 * GB, indexer="large",
                            priority=50),
                        rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=None, indexer="unknown")],
                       show(targets=[ep(1, 5, 14)]), ctx())
    assert [d.release.indexer for d in decisions] == ["large", "small", "unknown"]


def test_rank_indexer_priority_last() -> None:
    decisions = decide([rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB, indexer="b", priority=30),
                        rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB, indexer="a", priority=10)],
                       show(targets=[ep(1, 5, 14)]), ctx())
    assert [d.release.indexer for d in decisions] == ["a", "b"]


def test_accepted_then_pending_then_rejected_and_best_skips_pending() -> None:
    subject = show(targets=[ep(1, 5, 14)], profile=prof("HD - 720p/1080p", delay=60))
    decisions = decide([rel("Breaking.Bad.S05E14.480p.HDTV.x264-mSD", size=300 * MB),
                        rel("Breaking.Bad.S05E14.720p.HDTV.x264-EVOLVE", size=1 * GB, age=5),
                        rel("Breaking.Bad.S05E14.1080p.HDTV.x264-EVOLVE", size=2 * GB, age=5)], subject, ctx())
    assert [(d.accepted, d.pending) for d in decisions] == [(False, True), (False, True), (False, False)]
    assert best(decisions) is None
    later = decide([d.release for d in decisions], subject, DecisionContext(now=NOW + 3600))
    assert best(later).release.title == "Breaking.Bad.S05E14.1080p.HDTV.x264-EVOLVE"


# -- RSS: many wanted titles -----------------------------------------------------------------------
def test_decide_rss_matches_each_release_to_its_title_and_picks_one_grab_per_target() -> None:
    bb = show(targets=[ep(1, 5, 14), ep(2, 5, 15)])
    dexter = dataclasses.replace(show("Dexter", [ep(10, 8, 1)], prof("HD-720p")), id=3)
    feed = [rel("Breaking.Bad.S05E14.1080p.WEB-DL.DD5.1.H.264-NTb", size=2 * GB, seeders=10),
            rel("Breaking.Bad.S05E14.1080p.BluRay.x264-ROVERS", size=3 * GB),
            rel("Breaking.Bad.S05E15.720p.HDTV.x264-EVOLVE", size=1 * GB),
            rel("Dexter.S08E01.720p.HDTV.x264-IMMERSE", size=1 * GB),
            rel("Homeland.S03E01.720p.HDTV.x264-IMMERSE", size=1 * GB),
            rel("Dexter.New.Blood.S01E01.720p.HDTV.x264-KILLERS", size=1 * GB)]
    decisions = decide_rss(feed, [bb, dexter], ctx())
    assert len(decisions) == len(feed)
    by_title = {d.release.title: d for d in decisions}
    assert by_title["Dexter.S08E01.720p.HDTV.x264-IMMERSE"].subject_id == 3
    assert by_title["Homeland.S03E01.720p.HDTV.x264-IMMERSE"].rejections == ["Title matches no wanted title"]
    assert by_title["Dexter.New.Blood.S01E01.720p.HDTV.x264-KILLERS"].rejections == [
        "Title 'Dexter New Blood' matches no wanted title"]
    assert by_title["Breaking.Bad.S05E15.720p.HDTV.x264-EVOLVE"].rejections == [
        "Quality HDTV-720p is not wanted in profile HD-1080p"]
    grabs = pick_grabs(decisions)
    assert titles(grabs) == ["Breaking.Bad.S05E14.1080p.BluRay.x264-ROVERS", "Dexter.S08E01.720p.HDTV.x264-IMMERSE"]


# -- a real feed -----------------------------------------------------------------------------------
def _read_feed(path: Path) -> list[Release]:
    """The indexer reader (core/acquisition/feeds.py) over a captured feed."""
    from omnimedia.core.acquisition.feeds import build_release, parse_feed

    feed = parse_feed(path.read_bytes(), name="nzb.su")
    return [build_release(item, indexer="nzb.su", protocol="usenet") for item in feed.items]


def test_decisions_over_the_real_nzb_su_feed(shared_fixtures: Path) -> None:
    releases = _read_feed(shared_fixtures / "indexers" / "newznab" / "newznab_nzb_su.xml")
    assert len(releases) == 100
    newest = max(r.published for r in releases)
    context = DecisionContext(now=newest + 3600)
    subject = show("White Collar", [ep(300 + i, 3, i) for i in range(1, 11)], prof("HD-720p"))
    decisions = decide(releases, subject, context)
    assert len(decisions) == 100
    accepted = [d for d in decisions if d.accepted]
    # the feed's five White Collar season-3 720p HDTV releases, and nothing else
    assert sorted(d.release.title.lower() for d in accepted) == sorted(t.lower() for t in [
        "White.Collar.S03E02.720p.HDTV.X264-DIMENSION", "White.Collar.S03E03.720p.HDTV.x264-CTU",
        "White.Collar.S03E04.720p.HDTV.X264-DIMENSION", "White.Collar.S03E05.720p.HDTV.X264-DIMENSION",
        "White.Collar.S03E07.720p.HDTV.x264-IMMERSE"])
    assert decisions[: len(accepted)] == accepted
    assert {tuple(d.target_ids) for d in accepted} == {(302,), (303,), (304,), (305,), (307,)}
    assert all(d.quality == "HDTV-720p" and 1 * GB < d.release.size < 1.5 * GB for d in accepted)
    s02 = next(d for d in decisions if d.release.title == "White.Collar.S02E14.720p.HDTV.X264-DIMENSION")
    assert s02.rejections == ["S02E14 is not a wanted episode of White Collar"]
    others = [d for d in decisions if not d.release.title.lower().startswith("white.collar")]
    assert len(others) == 94 and all(d.rejections == ["Title does not match White Collar"] for d in others)

    # a free search over the same feed with the HD-1080p profile: the 1080p Blu-rays pass,
    # 720p does not, and each rejection says why
    free = decide(releases, None, context, prof())
    by_title = {d.release.title: d for d in free}
    assert by_title["Space.1999.S01E10.1080p.BluRay.x264-aAF"].accepted
    assert by_title["White.Collar.S03E05.720p.HDTV.X264-DIMENSION"].rejections == [
        "Quality HDTV-720p is not wanted in profile HD-1080p"]
    assert all(d.quality in prof().qualities for d in free if d.accepted)
    assert sum(d.accepted for d in free) >= 10
