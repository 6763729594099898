"""Naming templates: Sonarr/Radarr-style tokens → one safe file or folder name."""

from __future__ import annotations

import pytest

from omnimedia.core.acquisition.config import ACQUISITION_SCHEMA, NAMING_DEFAULTS
from omnimedia.core.acquisition.naming_templates import (
    clean_title,
    quality_full,
    render,
    safe_component,
    validate,
    validate_naming,
)

EPISODE = {
    "series_title": "Show Name", "year": 2019, "season": 1, "episodes": [2],
    "episode_titles": ["Episode Title"], "quality": "WEBDL-1080p", "release_group": "GROUP",
}


def test_default_templates_render_like_sonarr_and_radarr() -> None:
    assert render(NAMING_DEFAULTS["episode"], EPISODE) == "Show Name - S01E02 - Episode Title WEBDL-1080p"
    assert render(NAMING_DEFAULTS["series_folder"], EPISODE) == "Show Name (2019)"
    assert render(NAMING_DEFAULTS["season_folder"], EPISODE) == "Season 01"
    daily = {**EPISODE, "season": None, "episodes": [], "air_date": "2019-05-04", "quality": "HDTV-720p"}
    assert render(NAMING_DEFAULTS["daily_episode"], daily) == "Show Name - 2019-05-04 - Episode Title HDTV-720p"
    anime = {**EPISODE, "absolute_episodes": [1071], "episodes": [5], "season": 21}
    assert render(NAMING_DEFAULTS["anime_episode"], anime) == "Show Name - S21E05 - 1071 - Episode Title WEBDL-1080p"
    movie = {"movie_title": "Movie Title", "year": 2019, "quality": "Bluray-1080p"}
    assert render(NAMING_DEFAULTS["movie"], movie) == "Movie Title (2019) Bluray-1080p"
    assert render(NAMING_DEFAULTS["movie_folder"], movie) == "Movie Title (2019)"


def test_multi_episode_is_a_prefixed_range_and_titles_join() -> None:
    values = {**EPISODE, "episodes": [3, 1, 2], "episode_titles": ["Pilot", "Second", "Third"]}
    assert render(NAMING_DEFAULTS["episode"], values) == "Show Name - S01E01-E03 - Pilot + Second + Third WEBDL-1080p"
    assert render("{season}x{episode:00}", values) == "1x01-x03"
    assert render("{Series Title} {episode:00}", values) == "Show Name 01-03"
    assert render("{absolute:000}", {"absolute_episodes": [12, 13]}) == "012-013"
    # A two-part episode "Title (1)" + "Title (2)" is named once, as Sonarr does.
    two_part = {**EPISODE, "episodes": [1, 2], "episode_titles": ["The End (1)", "The End (2)"]}
    assert render("{Episode Title}", two_part) == "The End"
    # The same title twice is written once.
    assert render("{Episode Title}", {"episode_titles": ["Same", "Same"]}) == "Same"


def test_empty_values_collapse_without_stray_separators_or_brackets() -> None:
    bare = {**EPISODE, "episode_titles": [], "quality": None}
    assert render(NAMING_DEFAULTS["episode"], bare) == "Show Name - S01E02"
    assert render("{Series Title} - {Episode Title} - {Quality Full}", {"series_title": "Show"}) == "Show"
    assert render("{Series Title} - {Episode Title} - {Quality Full}",
                  {"series_title": "Show", "quality": "SDTV"}) == "Show - SDTV"
    assert render("{Movie Title} ({Year}) [{Release Group}]", {"movie_title": "Film"}) == "Film"
    assert render("{Movie Title} ({Year} {Edition Tags})", {"movie_title": "Film", "year": 2001}) == "Film (2001)"
    assert render("{Movie Title} ({Year} {Edition Tags})",
                  {"movie_title": "Film", "year": 2001, "edition": "Director's Cut"}) == "Film (2001 Director's Cut)"
    assert render("{Series.Title}.S{season:00}E{episode:00}.{Episode.Title}.{Quality.Full}",
                  {**EPISODE, "episode_titles": []}) == "Show.Name.S01E02.WEBDL-1080p"
    # Prefix and suffix inside the braces are written only with a value.
    assert render("{Series Title}{ [Quality Full]}{-Release Group}", {"series_title": "Show"}) == "Show"
    assert render("{Series Title}{ [Quality Full]}{-Release Group}", EPISODE) == "Show Name [WEBDL-1080p]-GROUP"
    # Never an empty bracket, a dangling " -" or a doubled space.
    out = render("[{Release Group}] {Series Title} - {Episode Title} ({Quality Title})", {"series_title": "X"})
    assert out == "X"


def test_numbers_are_required_not_collapsed() -> None:
    with pytest.raises(ValueError, match=r"\{episode:00\}.*no episode number"):
        render(NAMING_DEFAULTS["episode"], {**EPISODE, "episodes": []})
    with pytest.raises(ValueError, match="no season number"):
        render("Season {season}", {})


def test_token_separator_and_case_follow_how_the_token_is_written() -> None:
    assert render("{Series.Title}", EPISODE) == "Show.Name"
    assert render("{Series_Title}", EPISODE) == "Show_Name"
    assert render("{series title}", EPISODE) == "show name"
    assert render("{SERIES TITLE}", EPISODE) == "SHOW NAME"
    assert render("{Air Date}|{Air.Date}|{Air_Date}".replace("|", " "), {"air_date": "2019-05-04"}) == (
        "2019 05 04 2019.05.04 2019_05_04"
    )


def test_quality_full_revisions() -> None:
    assert quality_full({"quality": "WEBDL-1080p"}) == "WEBDL-1080p"
    assert quality_full({"quality": "WEBDL-1080p", "proper": True}) == "WEBDL-1080p Proper"
    assert quality_full({"quality": "HDTV-720p", "proper": True, "repack": True}) == "HDTV-720p Repack"
    assert quality_full({"quality": "HDTV-720p", "version": 2}) == "HDTV-720p Proper"
    assert quality_full({"quality": "HDTV-720p", "version": 2, "series_type": "anime"}) == "HDTV-720p v2"
    assert quality_full({"quality": "Unknown"}) == ""


def test_title_tokens() -> None:
    assert render("{Series TitleYear}", EPISODE) == "Show Name (2019)"
    assert render("{Series TitleYear}", {"series_title": "Show (2019)", "year": 2019}) == "Show (2019)"
    assert render("{Series TitleYear}", {"series_title": "Show"}) == "Show"
    assert clean_title("Marvel's Agents of S.H.I.E.L.D. & Friends: Part 2?") == "Marvels Agents of SHIELD and Friends Part 2"
    assert clean_title("Pokémon") == "Pokemon"
    assert render("{Movie CleanTitle}", {"movie_title": "Mission: Impossible"}) == "Mission Impossible"
    assert render("{Original Title}", {"original_title": "Show.Name.S01E02.1080p.WEB-DL-GRP"}) == (
        "Show.Name.S01E02.1080p.WEB-DL-GRP"
    )


def test_output_is_file_system_safe() -> None:
    values = {"movie_title": 'AC/DC: Live at <Donington> | "Rare"? *', "year": 1992}
    out = render(NAMING_DEFAULTS["movie_folder"], values)
    assert out == "AC+DC - Live at Donington 'Rare'! - (1992)"
    for bad in '/\\:*?"<>|':
        assert bad not in out
    assert safe_component("..hidden name.. ") == "hidden name"
    assert safe_component("a\x00b\x1fc") == "abc"
    # Titles that end in a dot do not leave a trailing dot (Windows/SMB refuse those).
    assert render("{Series Title}", {"series_title": "Show Inc."}) == "Show Inc"


def test_names_are_capped_at_255_bytes_shortening_the_episode_title_first() -> None:
    long_title = "Ünïcode " * 60  # 600 bytes and more
    values = {**EPISODE, "episode_titles": [long_title]}
    out = render(NAMING_DEFAULTS["episode"], values, reserve=len(".mkv"))
    assert len(out.encode()) <= 255 - 4
    assert out.startswith("Show Name - S01E02 - Ünïcode")
    assert out.endswith("… WEBDL-1080p")  # the quality survives; the title was shortened
    out.encode().decode("utf-8")  # never cut inside a character
    # Without an episode title to shorten, the name is cut at a character boundary.
    hard = render("{Series Title}", {"series_title": "é" * 300})
    assert len(hard.encode()) <= 255 and hard == "é" * 127


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{Series Titel}", r"unknown token \{Series Titel\}; known tokens: \{Series Title\}"),
        ("{Series Title", "is not closed"),
        ("Show}", "has no matching"),
        ("{Series Title:00}", "only allowed on"),
        ("{season:0x}", "one or more zeros"),
        ("Season {season}/{Series Title}", "not allowed"),
    ],
)
def test_bad_templates_raise_clear_errors(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate(template)
    with pytest.raises(ValueError, match=message):
        render(template, EPISODE)


def test_settings_must_tell_files_apart() -> None:
    assert validate(NAMING_DEFAULTS["episode"], setting="episode") >= {"season", "episode"}
    for setting, template in NAMING_DEFAULTS.items():
        validate(template, setting=setting)
    with pytest.raises(ValueError, match=r"naming.episode .* must contain \{season:00\} and \{episode:00\}"):
        validate("{Series Title} - {Episode Title}", setting="episode")
    with pytest.raises(ValueError, match=r"naming.daily_episode .*\{Air-Date\} or \{season:00\} and \{episode:00\}"):
        validate("{Series Title}", setting="daily_episode")
    with pytest.raises(ValueError, match="naming.season_folder"):
        validate_naming({**NAMING_DEFAULTS, "season_folder": "Season"})
    # The validated config section passes.
    section = ACQUISITION_SCHEMA({})
    assert validate_naming(section["naming"]) == NAMING_DEFAULTS


def test_voluptuous_validator_keeps_the_message_and_names_the_setting() -> None:
    import voluptuous as vol

    from omnimedia.core.acquisition.config import NAMING_SCHEMA
    from omnimedia.core.acquisition.naming_templates import naming_validator

    schema = vol.Schema({vol.Optional("naming", default={}): vol.All(NAMING_SCHEMA, naming_validator)})
    assert schema({})["naming"] == NAMING_DEFAULTS
    with pytest.raises(vol.MultipleInvalid) as info:
        schema({"naming": {"episode": "{Series Title} {Foo}"}})
    error = info.value.errors[0]
    assert error.path == ["naming", "episode"]
    assert "unknown token {Foo}; known tokens:" in error.msg
