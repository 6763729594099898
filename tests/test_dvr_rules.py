"""Recording rules (core/dvr/rules.py): validation of every kind, episode identity, matching, and
the airings each kind wants — with daylight saving time changes in Europe/Berlin and
America/New_York (the skipped hour, the repeated hour). Pure logic: no hub, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import voluptuous as vol
import yaml

from omnimedia.core.dvr.rules import (
    RULE_FIELDS,
    RULE_KINDS,
    RULE_SCHEMA,
    airings_for_rule,
    episode_key,
    keyword_pattern,
    local_slot_start,
    normalise_title,
    slot_match,
)
from omnimedia.core.dvr.types import Programme

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = 3600.0
DEFAULTS = {"padding_before": 60.0, "padding_after": 180.0}


def at(text: str, tz=BERLIN) -> float:
    """UTC epoch seconds of a local wall time "YYYY-MM-DD HH:MM" (first occurrence when repeated)."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz).timestamp()


def utc(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp()


def local(ts: float, tz=BERLIN) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M %Z")


def prog(title: str, start: float, minutes: float = 60, channel: str = "one.de", **kw) -> Programme:
    return Programme(channel=channel, start=start, stop=start + minutes * 60, title=title, **kw)


def rule(**fields) -> dict:
    """A stored rule: validated like the manager does, with an id."""
    out = RULE_SCHEMA(fields)
    out["id"] = fields.get("id", 7)
    return out


NUMBERS = {"one.de": ["1", "101"], "two.de": ["2"]}
GUIDE = {"1": "one.de", "101": "one.de", "2": "two.de"}


def airings(r: dict, programmes=(), *, now: float, until: float, tz=BERLIN, recorded=frozenset(),
            numbers=NUMBERS, guide=GUIDE):
    return airings_for_rule(r, list(programmes), numbers_for_guide=numbers, guide_for_number=guide, now=now,
                            until=until, tz=tz, defaults=DEFAULTS, recorded_keys=set(recorded))


# ---------------------------------------------------------------------------------------------
# RULE_SCHEMA
# ---------------------------------------------------------------------------------------------
VALID = [
    pytest.param({"kind": "series", "title": "  Doctor   Who "},
                 {"kind": "series", "title": "Doctor Who", "channel": None, "new_only": False, "priority": 0,
                  "enabled": True, "padding_before": None}, id="series-minimal"),
    pytest.param({"kind": "SERIES", "title": "News", "channel": 5.1, "after": "18:00", "before": "2:00",
                  "new_only": "yes", "priority": "3", "padding_before": "2m", "padding_after": 300, "keep_last": 5},
                 {"kind": "series", "channel": "5.1", "after": "18:00", "before": "02:00", "new_only": True,
                  "priority": 3, "padding_before": 120.0, "padding_after": 300.0, "keep_last": 5}, id="series-full"),
    pytest.param({"kind": "keyword", "keyword": " star  trek "},
                 {"kind": "keyword", "keyword": "star trek", "title": "star trek"}, id="keyword-title-default"),
    pytest.param({"kind": "daily", "channel": "5.1", "start_time": "20:00", "duration": 3600},
                 {"start_time": "20:00", "duration": 3600.0, "days": None, "title": "5.1 20:00"}, id="daily"),
    pytest.param({"kind": "daily", "channel": "5.1", "start_time": "7:05", "duration": "1:30",
                  "days": [0, 1, 2, 3, 4, 5, 6], "title": "Morning"},
                 {"start_time": "07:05", "duration": 5400.0, "days": None, "title": "Morning"}, id="daily-all-days"),
    pytest.param({"kind": "daily", "channel": "5.1", "start_time": "2015", "duration": "1h30m", "days": "weekdays"},
                 {"start_time": "20:15", "duration": 5400.0, "days": [0, 1, 2, 3, 4]}, id="daily-weekdays"),
    pytest.param({"kind": "weekly", "channel": "7", "start_time": "21:00", "duration": "45m",
                  "days": ["Thursday", "mon", "tu"]},
                 {"days": [0, 1, 3], "duration": 2700.0}, id="weekly-names"),
    pytest.param({"kind": "weekly", "channel": "7", "start_time": "21:00", "duration": 60, "days": "sat-mon"},
                 {"days": [0, 5, 6]}, id="weekly-range-wraps"),
    pytest.param({"kind": "weekly", "channel": "7", "start_time": "21:00", "duration": 60, "days": "mon-fri"},
                 {"days": [0, 1, 2, 3, 4]}, id="weekly-range"),
    pytest.param({"kind": "once", "programme_id": "42"},
                 {"programme_id": 42, "start": None, "stop": None, "title": "Programme 42"}, id="once-programme"),
    pytest.param({"kind": "once", "channel": "5.1", "start": 1_700_000_000, "stop": 1_700_003_600, "title": "Match"},
                 {"start": 1_700_000_000.0, "stop": 1_700_003_600.0, "duration": None}, id="once-slot"),
    pytest.param({"kind": "once", "channel": "5.1", "start": "2024-03-01T20:00:00+01:00", "duration": "30m"},
                 {"start": utc("2024-03-01 19:00"), "stop": utc("2024-03-01 19:30")}, id="once-iso-duration"),
    pytest.param({"kind": "once", "channel": "5.1", "start": "2024-03-01T19:00:00Z", "stop": "2024-03-01T20:00:00Z",
                  "duration": 3600},
                 {"start": utc("2024-03-01 19:00"), "stop": utc("2024-03-01 20:00")}, id="once-duration-agrees"),
    pytest.param({"kind": "once", "programme_id": 9, "channel": "5.1", "start": 100, "stop": 200},
                 {"programme_id": 9, "start": 100.0, "stop": 200.0}, id="once-programme-with-slot"),
    pytest.param({"kind": "series", "title": "X", "enabled": "false", "keep_days": 30, "new_only": None},
                 {"enabled": False, "keep_days": 30, "new_only": False}, id="disabled"),
    pytest.param({"kind": "daily", "channel": "5.1", "start_time": "20:00", "duration": 3600, "new_only": False,
                  "id": 3, "created_at": 1.0, "updated_at": 2.0},
                 {"id": 3}, id="stored-rule-sent-back"),
]


@pytest.mark.parametrize(("payload", "expected"), VALID)
def test_schema_normalises(payload, expected):
    out = RULE_SCHEMA(payload)
    for key, value in expected.items():
        assert out[key] == value, key
    assert set(RULE_FIELDS) <= set(out)
    assert set(out) <= set(RULE_FIELDS) | {"id"}
    # Validating a stored rule again (what update_rule does, None values dropped) changes nothing.
    again = RULE_SCHEMA({k: v for k, v in out.items() if v is not None})
    assert again == out


INVALID = [
    pytest.param({"title": "x"}, "needs 'kind'", id="no-kind"),
    pytest.param({"kind": "monthly", "title": "x"}, "unknown rule kind 'monthly'", id="bad-kind"),
    pytest.param({"kind": "daily", "channel": "5.1", "duration": 3600}, "a daily rule needs 'start_time' (HH:MM",
                 id="daily-no-start-time"),
    pytest.param({"kind": "daily", "start_time": "20:00", "duration": 3600}, "a daily rule needs 'channel'",
                 id="daily-no-channel"),
    pytest.param({"kind": "daily", "channel": "5.1", "start_time": "20:00"}, "a daily rule needs 'duration'",
                 id="daily-no-duration"),
    pytest.param({"kind": "weekly", "channel": "5.1", "start_time": "20:00", "duration": 60},
                 "a weekly rule needs 'days'", id="weekly-no-days"),
    pytest.param({"kind": "daily", "channel": "5.1", "start_time": "24:00", "duration": 60},
                 "'start_time' must be a local time of day as HH:MM", id="bad-time"),
    pytest.param({"kind": "daily", "channel": "5.1", "start_time": "8pm", "duration": 60},
                 "'start_time' must be a local time of day", id="bad-time-text"),
    pytest.param({"kind": "daily", "channel": "5.1", "start_time": "20:00", "duration": 0},
                 "'duration' must be more than zero", id="zero-duration"),
    pytest.param({"kind": "daily", "channel": "5.1", "start_time": "20:00", "duration": 90000},
                 "'duration' is 90000 s; at most 86400", id="long-duration"),
    pytest.param({"kind": "daily", "channel": "5.1", "start_time": "20:00", "duration": "soon"},
                 "'duration' must be seconds", id="bad-duration"),
    pytest.param({"kind": "weekly", "channel": "5.1", "start_time": "20:00", "duration": 60, "days": ["funday"]},
                 "'days' has 'funday'", id="bad-day"),
    pytest.param({"kind": "weekly", "channel": "5.1", "start_time": "20:00", "duration": 60, "days": [7]},
                 "'days' has 7", id="day-out-of-range"),
    pytest.param({"kind": "weekly", "channel": "5.1", "start_time": "20:00", "duration": 60, "days": []},
                 "'days' is empty", id="no-days"),
    pytest.param({"kind": "weekly", "channel": "5.1", "start_time": "20:00", "duration": 60, "days": ["t"]},
                 "'days' has 't'", id="ambiguous-day"),
    pytest.param({"kind": "series"}, "a series rule needs 'title'", id="series-no-title"),
    pytest.param({"kind": "series", "title": "?!"}, "a series rule needs 'title'", id="series-punctuation-title"),
    pytest.param({"kind": "series", "title": "News", "start_time": "20:00"},
                 "'start_time' is for daily and weekly rules; a series rule does not use it", id="series-start-time"),
    pytest.param({"kind": "series", "title": "News", "duration": 60}, "a series rule does not use 'duration'",
                 id="series-duration"),
    pytest.param({"kind": "daily", "channel": "5", "start_time": "20:00", "duration": 60, "after": "18:00"},
                 "'after' is for series and keyword rules", id="daily-after"),
    pytest.param({"kind": "daily", "channel": "5", "start_time": "20:00", "duration": 60, "new_only": True},
                 "'new_only' is for series and keyword rules", id="daily-new-only"),
    pytest.param({"kind": "keyword"}, "a keyword rule needs 'keyword'", id="keyword-missing"),
    pytest.param({"kind": "keyword", "keyword": "--"}, "a keyword rule needs 'keyword'", id="keyword-no-word"),
    pytest.param({"kind": "series", "title": "N", "after": "20:00", "before": "20:00"}, "the time window is empty",
                 id="empty-window"),
    pytest.param({"kind": "once"}, "a once rule needs 'programme_id'", id="once-empty"),
    pytest.param({"kind": "once", "channel": "5", "stop": 100}, "needs 'start'", id="once-no-start"),
    pytest.param({"kind": "once", "start": 100, "stop": 200}, "needs 'channel'", id="once-no-channel"),
    pytest.param({"kind": "once", "channel": "5", "start": 100}, "needs 'stop' or 'duration'", id="once-no-stop"),
    pytest.param({"kind": "once", "channel": "5", "start": 200, "stop": 100}, "'stop' must be after 'start'",
                 id="once-backwards"),
    pytest.param({"kind": "once", "channel": "5", "start": 0, "stop": 3600, "duration": 60},
                 "does not agree with 'stop' - 'start'", id="once-disagree"),
    pytest.param({"kind": "once", "channel": "5", "start": "2024-03-01T20:00:00", "duration": 60},
                 "has no UTC offset", id="once-naive-iso"),
    pytest.param({"kind": "once", "channel": "5", "start": "tomorrow", "duration": 60},
                 "'start' must be UTC epoch seconds or an ISO 8601 time", id="once-bad-start"),
    pytest.param({"kind": "once", "programme_id": 0}, "'programme_id' must be at least 1", id="programme-zero"),
    pytest.param({"kind": "once", "programme_id": "abc"}, "'programme_id' must be a whole number", id="programme-text"),
    pytest.param({"kind": "series", "title": "N", "priority": 1.5}, "'priority' must be a whole number",
                 id="priority-fraction"),
    pytest.param({"kind": "series", "title": "N", "keep_last": 0}, "'keep_last' must be at least 1", id="keep-zero"),
    pytest.param({"kind": "series", "title": "N", "padding_before": -5}, "'padding_before' must be zero or more",
                 id="negative-padding"),
    pytest.param({"kind": "series", "title": "N", "new_only": "maybe"}, "'new_only' must be true or false",
                 id="bad-bool"),
    pytest.param({"kind": "series", "title": "N", "channel": ["5"]}, "'channel' must be a lineup channel number",
                 id="channel-list"),
    pytest.param({"kind": "series", "title": "N", "colour": "red"}, "unknown field(s) 'colour'", id="unknown-field"),
    pytest.param(["series"], "must be a mapping", id="not-a-mapping"),
]


@pytest.mark.parametrize(("payload", "message"), INVALID)
def test_schema_rejects_with_a_clear_message(payload, message):
    with pytest.raises(vol.Invalid) as err:
        RULE_SCHEMA(payload)
    assert message in str(err.value)


def test_schema_reads_unquoted_yaml_times():
    """YAML 1.1 reads an unquoted 20:00 as the base-60 number 1200, and 1:30:00 as 5400."""
    payload = yaml.safe_load("kind: daily\nchannel: '5.1'\nstart_time: 20:00\nduration: 1:30:00\n")
    assert payload["start_time"] == 1200
    out = RULE_SCHEMA(payload)
    assert (out["start_time"], out["duration"]) == ("20:00", 5400.0)
    series = RULE_SCHEMA(yaml.safe_load("kind: series\ntitle: News\nafter: 22:30\nbefore: 02:00\n"))
    assert (series["after"], series["before"]) == ("22:30", "02:00")


def test_rule_kinds():
    assert RULE_KINDS == ("once", "daily", "weekly", "series", "keyword")


# ---------------------------------------------------------------------------------------------
# titles, keywords, episode keys
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("a", "b", "same"), [
    ("Doctor Who", "doctor who", True),
    ("Law & Order: S.V.U.", "Law and Order SVU", True),
    ("Grey's Anatomy", "Greys Anatomy", True),
    ("Simpsons, The", "The Simpsons", True),
    ("Pokémon", "Pokemon", True),
    ("  Tatort ", "Tatort", True),
    ("The Office", "Office", False),
    ("Doctor Who", "Doctor Who Confidential", False),
])
def test_normalise_title(a, b, same):
    assert (normalise_title(a) == normalise_title(b)) is same


@pytest.mark.parametrize(("keyword", "text", "found"), [
    ("news", "BBC News at Ten", True),
    ("news", "Newsnight", False),
    ("news", "the news.", True),
    ("NEWS", "late news", True),
    ("star trek", "Star Trek: Picard", True),
    ("star trek", "STAR   TREK", True),
    ("star trek", "Startrek", False),
    ("star trek", "Star Trekking", False),
    ("c++", "Learning C++ today", True),
    ("c++", "C and more", False),
    ("fußball", "Fußball live", True),
    ("formel 1", "Formel 1: Großer Preis", True),
    ("formel 1", "Formel 10", False),
])
def test_keyword_whole_words(keyword, text, found):
    assert bool(keyword_pattern(keyword).search(text)) is found


@pytest.mark.parametrize(("fields", "key"), [
    ({"episode_id": "EP012345670012"}, "doctorwho|id:ep012345670012"),
    ({"episode_id": "EP012345670012", "season": 1, "episode": 2}, "doctorwho|id:ep012345670012"),
    ({"episode_id": "2 . 9 . 0/1"}, "doctorwho|id:2.9.0/1"),  # a raw xmltv_ns value with an episode
    ({"episode_id": "SH012345670000", "season": 3, "episode": 4}, "doctorwho|s3e4"),  # show-wide id: ignored
    ({"episode_id": "SH01234567.0000"}, None),
    ({"episode_id": "2..", "subtitle": "Blink"}, "doctorwho|sub:blink"),  # season-only xmltv_ns: ignored
    ({"season": 3, "episode": 10}, "doctorwho|s3e10"),
    ({"season": 3, "subtitle": "Blink!"}, "doctorwho|sub:blink"),
    ({"subtitle": "Blink", "original_air_date": "2007-06-09"}, "doctorwho|sub:blink"),
    ({"original_air_date": "2007-06-09"}, "doctorwho|date:2007-06-09"),
    ({"year": 1996, "categories": ["Movie"]}, "doctorwho|year:1996"),
    ({"year": 1996, "categories": ["Drama"]}, None),
    ({}, None),
])
def test_episode_key(fields, key):
    assert episode_key(prog("Doctor Who", 0, **fields)) == key


def test_episode_key_ignores_title_spelling():
    a = prog("The Simpsons", 0, season=5, episode=1)
    b = prog("Simpsons, The", 0, season=5, episode=1, channel="two.de")
    assert episode_key(a) == episode_key(b)
    assert episode_key(prog("News", 0, season=5, episode=1)) != episode_key(a)


# ---------------------------------------------------------------------------------------------
# local time and daylight saving time
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("tz", "day", "hhmm", "expected_utc", "expected_local"), [
    # Berlin springs forward 2024-03-31 02:00 CET → 03:00 CEST (01:00 UTC)
    (BERLIN, date(2024, 3, 31), "01:30", "2024-03-31 00:30", "01:30 CET"),
    (BERLIN, date(2024, 3, 31), "02:00", "2024-03-31 01:00", "03:00 CEST"),  # skipped: first valid time
    (BERLIN, date(2024, 3, 31), "02:30", "2024-03-31 01:00", "03:00 CEST"),
    (BERLIN, date(2024, 3, 31), "03:00", "2024-03-31 01:00", "03:00 CEST"),
    (BERLIN, date(2024, 3, 31), "20:00", "2024-03-31 18:00", "20:00 CEST"),
    # Berlin falls back 2024-10-27 03:00 CEST → 02:00 CET: 02:00–02:59 happen twice
    (BERLIN, date(2024, 10, 27), "02:30", "2024-10-27 00:30", "02:30 CEST"),  # the first occurrence
    (BERLIN, date(2024, 10, 27), "03:00", "2024-10-27 02:00", "03:00 CET"),
    (BERLIN, date(2024, 10, 27), "20:00", "2024-10-27 19:00", "20:00 CET"),
    # New York springs forward 2024-03-10 02:00 EST → 03:00 EDT (07:00 UTC)
    (NEW_YORK, date(2024, 3, 10), "02:30", "2024-03-10 07:00", "03:00 EDT"),
    (NEW_YORK, date(2024, 3, 10), "01:59", "2024-03-10 06:59", "01:59 EST"),
    # New York falls back 2024-11-03 02:00 EDT → 01:00 EST: 01:00–01:59 happen twice
    (NEW_YORK, date(2024, 11, 3), "01:30", "2024-11-03 05:30", "01:30 EDT"),
    (NEW_YORK, date(2024, 11, 3), "02:00", "2024-11-03 07:00", "02:00 EST"),
])
def test_local_slot_start_across_dst(tz, day, hhmm, expected_utc, expected_local):
    ts = local_slot_start(day, hhmm, tz)
    assert ts == utc(expected_utc)
    assert datetime.fromtimestamp(ts, tz).strftime("%H:%M %Z") == expected_local


@pytest.mark.parametrize(("tz", "first_day", "change"), [
    (BERLIN, "2024-03-29", "spring"), (BERLIN, "2024-10-25", "autumn"),
    (NEW_YORK, "2024-03-08", "spring"), (NEW_YORK, "2024-11-01", "autumn"),
])
def test_daily_rule_keeps_its_wall_clock_time_across_a_change(tz, first_day, change):
    r = rule(kind="daily", channel="2", start_time="20:00", duration=3600)
    now = at(f"{first_day} 12:00", tz)
    out = airings(r, now=now, until=now + 5 * 86400, tz=tz)
    assert len(out) == 5
    assert [datetime.fromtimestamp(a.start, tz).strftime("%H:%M") for a in out] == ["20:00"] * 5
    assert all(a.stop - a.start == 3600 for a in out)
    offsets = {datetime.fromtimestamp(a.start, tz).utcoffset() for a in out}
    assert len(offsets) == 2, f"the {change} change lies in the window, so two UTC offsets appear"


def test_daily_slot_in_the_skipped_hour_starts_when_it_ends():
    r = rule(kind="daily", channel="2", start_time="02:30", duration=1800, padding_before=0, padding_after=0)
    now = at("2024-03-30 12:00")
    out = airings(r, now=now, until=at("2024-04-01 12:00"))
    assert [local(a.start) for a in out] == ["2024-03-31 03:00 CEST", "2024-04-01 02:30 CEST"]
    assert out[0].stop - out[0].start == 1800


def test_daily_slot_in_the_repeated_hour_uses_the_first_occurrence():
    """New York, 2024-11-03: 01:00–01:59 happens in EDT, then again in EST. A 01:30 rule records
    the first; the guide's programme at the second 01:30 does not fill that slot."""
    first = utc("2024-11-03 05:30")   # 01:30 EDT
    second = utc("2024-11-03 06:30")  # 01:30 EST
    guide = [prog("Early Movie", first, 30, channel="two.de", subtitle="first run"),
             prog("Late Movie", second, 30, channel="two.de")]
    r = rule(kind="daily", channel="2", start_time="01:30", duration=1800)
    out = airings(r, guide, now=utc("2024-11-03 00:00"), until=utc("2024-11-03 12:00"), tz=NEW_YORK)
    assert len(out) == 1
    assert out[0].start == first
    assert (out[0].title, out[0].subtitle) == ("Early Movie", "first run")


def test_series_window_matches_both_occurrences_of_the_repeated_hour():
    """Berlin, 2024-10-27: a programme at 02:30 CEST and one at 02:30 CET both start in a 02:00–03:00 window."""
    guide = [prog("Nachtcafe", utc("2024-10-27 00:30"), 30, season=1, episode=1),
             prog("Nachtcafe", utc("2024-10-27 01:30"), 30, season=1, episode=2),
             prog("Nachtcafe", utc("2024-10-27 02:30"), 30, season=1, episode=3)]  # 03:30 CET
    r = rule(kind="series", title="Nachtcafé", after="02:00", before="03:00")
    out = airings(r, guide, now=utc("2024-10-26 12:00"), until=utc("2024-10-28 00:00"))
    assert [a.episode for a in out] == [1, 2]
    assert [local(a.start) for a in out] == ["2024-10-27 02:30 CEST", "2024-10-27 02:30 CET"]


# ---------------------------------------------------------------------------------------------
# once
# ---------------------------------------------------------------------------------------------
def test_once_programme():
    p = prog("Tatort", at("2024-05-05 20:15"), 90, season=1, episode=1200, description="Crime", categories=["Krimi"],
             id=55)
    other = prog("Tatort", at("2024-05-12 20:15"), 90, season=1, episode=1201, id=56)
    r = rule(kind="once", programme_id=55, priority=4)
    [a] = airings(r, [other, p], now=at("2024-05-01 12:00"), until=at("2024-05-20 12:00"))
    assert (a.start, a.stop, a.title, a.programme_id) == (p.start, p.stop, "Tatort", 55)
    assert (a.description, a.categories, a.season, a.episode) == ("Crime", ["Krimi"], 1, 1200)
    assert a.channels == ["1", "101"]
    assert (a.rule_id, a.priority, a.padding_before, a.padding_after) == (7, 4, 60.0, 180.0)
    assert a.episode_key == "tatort|s1e1200"


def test_once_programme_on_a_chosen_channel_lists_it_first():
    p = prog("Tatort", at("2024-05-05 20:15"), 90, id=55)
    [a] = airings(rule(kind="once", programme_id=55, channel="101"), [p], now=at("2024-05-01 12:00"),
                  until=at("2024-05-20 12:00"))
    assert a.channels == ["101", "1"]


def test_once_programme_gone_from_the_guide_falls_back_to_its_slot():
    """Guide programme ids change with every import: the slot stored with the rule still records,
    with the metadata of the programme now in that slot."""
    start = at("2024-05-05 20:15")
    now_in_guide = prog("Tatort", start, 90, subtitle="Der Fall", id=999)
    r = rule(kind="once", programme_id=55, channel="1", start=start, stop=start + 90 * 60, title="Tatort")
    [a] = airings(r, [now_in_guide], now=at("2024-05-01 12:00"), until=at("2024-05-20 12:00"))
    assert (a.start, a.programme_id, a.subtitle) == (start, 999, "Der Fall")
    assert a.episode_key is None  # a slot is recorded as asked, never an alternate
    assert airings(rule(kind="once", programme_id=55), [now_in_guide], now=at("2024-05-01 12:00"),
                   until=at("2024-05-20 12:00")) == []


def test_once_slot_without_guide():
    start = at("2024-05-05 20:15")
    r = rule(kind="once", channel="9", start=start, duration=600, title="Manual", padding_before=0)
    [a] = airings(r, now=start - 60, until=start + 86400)
    assert (a.channels, a.title, a.start, a.stop, a.padding_before, a.padding_after) == (
        ["9"], "Manual", start, start + 600, 0.0, 180.0)
    assert a.programme_id is None


@pytest.mark.parametrize(("now_offset", "count"), [(-3600, 1), (300, 1), (599, 1), (600, 0), (3600, 0)])
def test_once_ended_is_skipped_in_progress_is_kept(now_offset, count):
    start = at("2024-05-05 20:15")
    r = rule(kind="once", channel="9", start=start, duration=600)
    assert len(airings(r, now=start + now_offset, until=start + 86400)) == count


def test_once_beyond_the_window_waits():
    start = at("2024-05-05 20:15")
    r = rule(kind="once", channel="9", start=start, duration=600)
    assert airings(r, now=start - 8 * 86400, until=start - 86400) == []


# ---------------------------------------------------------------------------------------------
# daily / weekly
# ---------------------------------------------------------------------------------------------
def test_weekly_days_and_guide_metadata():
    # 2024-05-06 is a Monday
    guide = [
        prog("Quiz", at("2024-05-06 18:00"), 60, channel="two.de", subtitle="Round 1", season=2, episode=1, id=1),
        prog("Quiz", at("2024-05-09 17:58"), 67, channel="two.de", subtitle="Round 4", id=2),   # close enough
        prog("Short", at("2024-05-13 18:00"), 30, channel="two.de", id=3),                      # half the slot: no
        prog("Elsewhere", at("2024-05-16 18:00"), 60, channel="one.de", id=4),                  # other channel
    ]
    r = rule(kind="weekly", channel="2", start_time="18:00", duration=3600, days=["mon", "thu"], title="Slot")
    out = airings(r, guide, now=at("2024-05-06 00:00"), until=at("2024-05-20 00:00"))
    assert [local(a.start) for a in out] == ["2024-05-06 18:00 CEST", "2024-05-09 18:00 CEST",
                                             "2024-05-13 18:00 CEST", "2024-05-16 18:00 CEST"]
    assert [a.title for a in out] == ["Quiz", "Quiz", "Slot", "Slot"]
    assert [a.subtitle for a in out] == ["Round 1", "Round 4", None, None]
    assert [a.programme_id for a in out] == [1, 2, None, None]
    assert out[0].season == 2 and out[0].episode == 1
    assert all(a.stop - a.start == 3600 and a.channels == ["2"] and a.episode_key is None for a in out)


def test_daily_slot_in_progress_and_until():
    r = rule(kind="daily", channel="1", start_time="20:00", duration=3600)
    out = airings(r, now=at("2024-05-06 20:30"), until=at("2024-05-08 20:00"))
    assert [local(a.start) for a in out] == ["2024-05-06 20:00 CEST", "2024-05-07 20:00 CEST"]
    assert out[0].channels == ["1", "101"]


def test_daily_slot_crossing_midnight():
    r = rule(kind="daily", channel="1", start_time="23:30", duration=5400)
    out = airings(r, now=at("2024-05-07 00:30"), until=at("2024-05-08 12:00"))
    assert [(local(a.start), local(a.stop)) for a in out] == [
        ("2024-05-06 23:30 CEST", "2024-05-07 01:00 CEST"), ("2024-05-07 23:30 CEST", "2024-05-08 01:00 CEST")]


def test_slot_match_prefers_the_largest_overlap():
    start = at("2024-05-06 20:00")
    guide = [prog("A", start - 600, 60), prog("B", start, 60), prog("C", start + 300, 58)]
    assert slot_match(guide, "one.de", start, start + 3600).title == "B"
    assert slot_match(guide, "two.de", start, start + 3600) is None
    assert slot_match(guide, None, start, start + 3600) is None


def test_disabled_rule_wants_nothing():
    r = rule(kind="daily", channel="1", start_time="20:00", duration=3600, enabled=False)
    assert airings(r, now=at("2024-05-06 00:00"), until=at("2024-05-10 00:00")) == []


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="rule 7: unknown kind 'monthly'"):
        airings({"id": 7, "kind": "monthly"}, now=0, until=1)


# ---------------------------------------------------------------------------------------------
# series / keyword
# ---------------------------------------------------------------------------------------------
def guide_week():
    base = at("2024-05-06 00:00")
    return [
        prog("Doctor Who", base + 19 * H, season=1, episode=1, new=True, id=1),
        prog("doctor who!", base + 86400 + 19 * H, channel="two.de", season=1, episode=2, id=2),
        prog("Doctor Who", base + 2 * 86400 + 23 * H, season=1, episode=1, previously_shown=True, id=3),
        prog("Doctor Who", base + 3 * 86400 + 1 * H, season=1, episode=3, previously_shown=True, new=True, id=4),
        prog("Doctor Who Confidential", base + 19.5 * H, id=5),
        prog("Doctor Who", base + 4 * 86400 + 12 * H, channel="sat.de", season=1, episode=4, id=6),  # no lineup
        prog("Doctor Who", base + 5 * 86400 + 12 * H, id=7),  # nothing identifies it
    ]


def test_series_any_channel():
    out = airings(rule(kind="series", title="Doctor Who"), guide_week(), now=at("2024-05-06 00:00"),
                  until=at("2024-05-13 00:00"))
    assert [a.programme_id for a in out] == [1, 2, 3, 4, 6, 7]
    assert [a.channels for a in out] == [["1", "101"], ["2"], ["1", "101"], ["1", "101"], [], ["1", "101"]]
    assert out[1].title == "doctor who!"  # the guide's own spelling is kept
    assert [a.episode_key for a in out] == ["doctorwho|s1e1", "doctorwho|s1e2", "doctorwho|s1e1", "doctorwho|s1e3",
                                            "doctorwho|s1e4", None]


def test_series_on_one_channel():
    out = airings(rule(kind="series", title="DOCTOR WHO", channel="101"), guide_week(), now=at("2024-05-06 00:00"),
                  until=at("2024-05-13 00:00"))
    assert [a.programme_id for a in out] == [1, 3, 4, 7]
    assert all(a.channels == ["101", "1"] for a in out)


def test_series_on_a_channel_without_guide_wants_nothing():
    assert airings(rule(kind="series", title="Doctor Who", channel="55"), guide_week(), now=at("2024-05-06 00:00"),
                   until=at("2024-05-13 00:00")) == []


def test_series_new_only():
    out = airings(rule(kind="series", title="Doctor Who", new_only=True), guide_week(), now=at("2024-05-06 00:00"),
                  until=at("2024-05-13 00:00"), recorded={"doctorwho|s1e2", "news|s1e4"})
    # 3: previously shown; 2: already recorded; 4: previously shown but also new; 7: no key, kept
    assert [a.programme_id for a in out] == [1, 4, 6, 7]


@pytest.mark.parametrize(("after", "before", "expected"), [
    ("18:00", "20:00", [1, 2]),
    ("22:00", "02:00", [3, 4]),       # crosses midnight
    ("22:00", None, [3]),
    (None, "02:00", [4]),
    ("12:00", "12:01", [6, 7]),
    ("19:00", "19:00:00", None),      # an empty window is refused by the schema
])
def test_series_time_window(after, before, expected):
    fields = {k: v for k, v in {"after": after, "before": before}.items() if v}
    if expected is None:
        with pytest.raises(vol.Invalid, match="empty"):
            rule(kind="series", title="Doctor Who", **fields)
        return
    out = airings(rule(kind="series", title="Doctor Who", **fields), guide_week(), now=at("2024-05-06 00:00"),
                  until=at("2024-05-13 00:00"))
    assert [a.programme_id for a in out] == expected


def test_series_skips_what_ended_and_keeps_what_is_on():
    guide = guide_week()
    out = airings(rule(kind="series", title="Doctor Who"), guide, now=at("2024-05-07 19:30"),
                  until=at("2024-05-09 00:00"))
    assert [a.programme_id for a in out] == [2, 3]  # 2 is on now (19:00–20:00), 1 ended, 4 is after `until`


def test_keyword_rule():
    base = at("2024-05-06 00:00")
    guide = [
        prog("Tagesschau", base + 20 * H, 15, description="Die Nachrichten", id=1),
        prog("Weltspiegel", base + 21 * H, subtitle="Nachrichten aus aller Welt", id=2),
        prog("Nachrichtenmagazin", base + 22 * H, id=3),  # not a whole word
        prog("Nachrichten", base + 23 * H, channel="two.de", previously_shown=True, id=4),
        prog("Film", base + 12 * H, id=5),
    ]
    out = airings(rule(kind="keyword", keyword="nachrichten", priority=2, padding_after=0), guide, now=base,
                  until=base + 86400)
    assert [a.programme_id for a in out] == [1, 2, 4]
    assert all(a.priority == 2 and a.padding_after == 0 and a.padding_before == 60 for a in out)
    only_new = airings(rule(kind="keyword", keyword="Nachrichten", new_only=True, channel="1"), guide, now=base,
                       until=base + 86400)
    assert [a.programme_id for a in only_new] == [1, 2]


def test_airings_are_sorted_by_start():
    guide = list(reversed(guide_week()))
    out = airings(rule(kind="series", title="Doctor Who"), guide, now=at("2024-05-06 00:00"),
                  until=at("2024-05-13 00:00"))
    assert [a.start for a in out] == sorted(a.start for a in out)


def test_rule_fields_are_the_columns_of_the_model():
    from omnimedia.core.db.models import RecordingRule

    columns = {c.key for c in RecordingRule.__table__.columns} - {"id", "created_at", "updated_at"}
    assert set(RULE_FIELDS) == columns
    row = RecordingRule(**RULE_SCHEMA({"kind": "weekly", "channel": "5.1", "start_time": "20:00", "duration": 60,
                                       "days": "weekend"}), created_at=0.0, updated_at=0.0)
    assert (row.days, row.start_time, row.duration) == ([5, 6], "20:00", 60.0)
