"""The scheduler (core/dvr/scheduler.py): tuner counts, priorities, alternates, padding trims,
running recordings, and the words of every conflict. Pure logic: no hub, no database."""

from __future__ import annotations

import itertools
import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from omnimedia.core.dvr.rules import RULE_SCHEMA, airings_for_rule
from omnimedia.core.dvr.scheduler import PlannedEntry, describe_airing, schedule
from omnimedia.core.dvr.types import Airing, Programme

TZ = ZoneInfo("Europe/Berlin")
H = 3600.0
# Tuesday 2024-03-12 00:00 in Berlin (CET)
DAY0 = datetime(2024, 3, 12, tzinfo=TZ).timestamp()
NOW = DAY0


def t(hhmm: str, day: int = 0) -> float:
    hours, minutes = hhmm.split(":")
    return DAY0 + day * 86400 + int(hours) * H + int(minutes) * 60


def air(title: str, channel: str | list[str], start: str, stop: str, *, day: int = 0, priority: int = 0,
        rule_id: int | None = 1, key: str | None = None, before: float = 0.0, after: float = 0.0, **kw) -> Airing:
    channels = [channel] if isinstance(channel, str) else list(channel)
    begin, end = t(start, day), t(stop, day)
    if end <= begin:
        end += 86400
    return Airing(rule_id=rule_id, priority=priority, channels=channels, start=begin, stop=end, title=title,
                  padding_before=before, padding_after=after, episode_key=key, **kw)


ONE = {"devices": {"D1": 1}, "carriers": {"5.1": ["D1"], "7.1": ["D1"], "9.1": ["D1"]}}
TWO = {"devices": {"10ABCDEF": 2}, "carriers": {"5.1": ["10ABCDEF"], "7.1": ["10ABCDEF"], "9.1": ["10ABCDEF"]}}


def plan(airings, *, devices, carriers, now=NOW, busy=(), names=None):
    return schedule(airings, devices=devices, carriers=carriers, now=now, busy=busy, tz=TZ, names=names)


def recorded(entries) -> list[str]:
    return [e.airing.title for e in entries]


def by_title(items, title):
    [found] = [i for i in items if i.airing.title == title]
    return found


# ---------------------------------------------------------------------------------------------
# capacity
# ---------------------------------------------------------------------------------------------
def test_everything_fits():
    entries, conflicts = plan([air("A", "5.1", "20:00", "21:00"), air("B", "7.1", "20:00", "21:00")], **TWO)
    assert conflicts == []
    assert sorted(recorded(entries)) == ["A", "B"]
    assert all(isinstance(e, PlannedEntry) and e.device_id == "10ABCDEF" and e.note is None for e in entries)
    assert {e.channel for e in entries} == {"5.1", "7.1"}


def test_two_tuners_three_overlapping_airings_one_conflict_naming_both_holders():
    airings = [air("A", "5.1", "20:00", "21:00", rule_id=1), air("B", "7.1", "19:30", "21:00", rule_id=2),
               air("News", "9.1", "20:30", "21:30", rule_id=3)]
    entries, conflicts = plan(airings, **TWO, names={"10ABCDEF": "HDHR"})
    assert sorted(recorded(entries)) == ["A", "B"]
    [conflict] = conflicts
    assert conflict.reason == "no_tuner"
    assert conflict.airing.title == "News"
    assert conflict.message == (
        "'News' on 9.1 at Tue 12 Mar 20:30–21:30: no free tuner — both tuners of HDHR (10ABCDEF) are recording "
        "'B' on 7.1 at Tue 12 Mar 19:30–21:00 (same priority, starts earlier) and "
        "'A' on 5.1 at Tue 12 Mar 20:00–21:00 (same priority, starts earlier)")
    assert sorted(b["title"] for b in conflict.blocked_by) == ["A", "B"]
    assert all(b["device_id"] == "10ABCDEF" and b["recording"] is False for b in conflict.blocked_by)
    as_dict = conflict.as_dict()
    assert as_dict["reason"] == "no_tuner" and as_dict["title"] == "News" and as_dict["channels"] == ["9.1"]


def test_back_to_back_on_one_tuner_without_padding():
    entries, conflicts = plan([air("A", "5.1", "20:00", "21:00"), air("B", "7.1", "21:00", "22:00")], **ONE)
    assert conflicts == [] and recorded(entries) == ["A", "B"]


def test_priority_beats_time():
    """One tuner: the later, higher-priority airing wins over the earlier one, and the message says why."""
    early = air("Early Show", "5.1", "19:30", "20:30", priority=0, rule_id=1)
    late = air("Big Match", "7.1", "20:00", "22:00", priority=5, rule_id=2)
    entries, conflicts = plan([early, late], **ONE)
    assert recorded(entries) == ["Big Match"]
    [conflict] = conflicts
    assert conflict.airing.title == "Early Show" and conflict.reason == "no_tuner"
    assert "the only tuner of D1 is recording 'Big Match' on 7.1 at Tue 12 Mar 20:00–22:00" in conflict.message
    assert "(higher priority: 5 over 0, so it wins although 'Early Show' starts earlier)" in conflict.message
    assert conflict.blocked_by[0]["priority"] == 5


def test_message_explains_each_holder_as_in_the_docs():
    """The no_tuner example of docs/recording-rules.md, word for word."""
    airings = [air("B", "7.1", "19:30", "21:00", rule_id=2), air("Match", "5.1", "20:00", "22:00", priority=5, rule_id=3),
               air("News", "9.1", "19:45", "20:45", rule_id=1)]
    _entries, [conflict] = plan(airings, **TWO, names={"10ABCDEF": "HDHR"})
    assert conflict.message == (
        "'News' on 9.1 at Tue 12 Mar 19:45–20:45: no free tuner — both tuners of HDHR (10ABCDEF) are recording "
        "'B' on 7.1 at Tue 12 Mar 19:30–21:00 (same priority, starts earlier) and 'Match' on 5.1 at Tue 12 Mar "
        "20:00–22:00 (higher priority: 5 over 0, so it wins although 'News' starts earlier)")


def test_same_priority_first_come():
    entries, conflicts = plan([air("Second", "7.1", "20:00", "21:00", rule_id=1),
                               air("First", "5.1", "19:30", "20:30", rule_id=2)], **ONE)
    assert recorded(entries) == ["First"]
    assert "(same priority, starts earlier)" in conflicts[0].message


def test_two_devices_carrying_a_channel_add_up():
    setup = {"devices": {"D1": 1, "D2": 1}, "carriers": {"5.1": ["D1", "D2"], "6.1": ["D1", "D2"]}}
    airings = [air("A", "5.1", "20:00", "21:00", rule_id=1), air("B", "6.1", "20:00", "21:00", rule_id=2,
                                                                 subtitle="other"),
               air("C", "5.1", "20:30", "21:30", rule_id=3)]
    entries, conflicts = plan(airings, **setup)
    assert sorted((e.airing.title, e.device_id) for e in entries) == [("A", "D1"), ("B", "D2")]
    [conflict] = conflicts
    assert conflict.airing.title == "C"
    assert "the only tuner of D1 is recording 'A'" in conflict.message
    assert "the only tuner of D2 is recording 'B: other'" in conflict.message


def test_a_device_that_does_not_carry_the_channel_cannot_help():
    setup = {"devices": {"D1": 1, "D2": 4}, "carriers": {"5.1": ["D1", "D2"], "7.1": ["D1"], "8.1": ["D1"]}}
    entries, conflicts = plan([air("A", "7.1", "20:00", "21:00", rule_id=1, priority=1),
                               air("B", "8.1", "20:00", "21:00", rule_id=2)], **setup)
    assert [(e.airing.title, e.device_id) for e in entries] == [("A", "D1")]
    [conflict] = conflicts
    assert "the only tuner of D1 is recording 'A'" in conflict.message
    assert "D2" not in conflict.message


def test_a_planned_airing_moves_to_another_device_to_make_room():
    """A (5.1, on D1 or D2) is planned first on D1; B (7.1, only D1) needs D1: A moves to D2."""
    setup = {"devices": {"D1": 1, "D2": 1}, "carriers": {"5.1": ["D1", "D2"], "7.1": ["D1"]}}
    entries, conflicts = plan([air("A", "5.1", "20:00", "21:00", priority=2, rule_id=1),
                               air("B", "7.1", "20:00", "21:00", priority=1, rule_id=2)], **setup)
    assert conflicts == []
    assert sorted((e.airing.title, e.device_id) for e in entries) == [("A", "D2"), ("B", "D1")]


def test_other_channel_numbers_of_the_same_guide_channel_are_used():
    setup = {"devices": {"HDHR": 1, "IPTV": 1},
             "carriers": {"5.1": ["HDHR"], "6.1": ["HDHR"], "105": ["IPTV"], "106": ["IPTV"]}}
    entries, conflicts = plan([air("A", ["5.1", "105"], "20:00", "21:00", rule_id=1),
                               air("B", ["6.1", "106"], "20:00", "21:00", rule_id=2)], **setup)
    assert conflicts == []
    assert sorted((e.airing.title, e.channel, e.device_id) for e in entries) == [
        ("A", "5.1", "HDHR"), ("B", "106", "IPTV")]


def test_three_tuners_phrase_and_names():
    setup = {"devices": {"X": 3}, "carriers": {str(i): ["X"] for i in range(4)}}
    airings = [air(f"P{i}", str(i), "20:00", "21:00", rule_id=i, subtitle=str(i)) for i in range(4)]
    _entries, [conflict] = plan(airings, **setup, names={"X": "Attic"})
    assert "all 3 tuners of Attic (X) are recording 'P0: 0'" in conflict.message
    assert "'P1: 1'" in conflict.message and " and 'P2: 2'" in conflict.message


def test_device_with_no_tuners_or_unknown_device():
    setup = {"devices": {"Z": 0}, "carriers": {"1": ["Z", "ghost"]}}
    entries, [conflict] = plan([air("A", "1", "20:00", "21:00")], **setup)
    assert entries == [] and conflict.reason == "no_source"
    assert "no available tuner carries channel 1" in conflict.message


# ---------------------------------------------------------------------------------------------
# alternates
# ---------------------------------------------------------------------------------------------
def test_alternate_later_airing_is_chosen_when_the_first_conflicts():
    episode = "show|s1e1"
    first = air("Show", "5.1", "20:00", "21:00", rule_id=1, key=episode)
    later = air("Show", "7.1", "20:00", "21:00", day=2, rule_id=1, key=episode)
    blocker = air("Match", "9.1", "19:00", "22:00", rule_id=2, priority=3)
    entries, conflicts = plan([first, later, blocker], **ONE)
    assert sorted((e.airing.title, e.airing.start) for e in entries) == [("Match", blocker.start), ("Show", later.start)]
    [conflict] = conflicts
    assert conflict.reason == "alternate" and conflict.airing.start == first.start
    assert conflict.message == ("'Show' on 5.1 at Tue 12 Mar 20:00–21:00: the same episode is recorded instead at "
                                "'Show' on 7.1 at Thu 14 Mar 20:00–21:00 (no tuner is free for this one)")
    assert conflict.alternate_of["start"] == later.start and conflict.alternate_of["channel"] == "7.1"


def test_alternates_record_the_earliest_that_fits_once():
    episode = "show|s1e1"
    airings = [air("Show", "5.1", "20:00", "21:00", day=d, key=episode) for d in (3, 0, 1)]
    entries, conflicts = plan(airings, **TWO)
    assert [e.airing.start for e in entries] == [t("20:00", 0)]
    assert sorted(c.airing.start for c in conflicts) == [t("20:00", 1), t("20:00", 3)]
    assert all(c.reason == "alternate" and c.message.endswith("at 'Show' on 5.1 at Tue 12 Mar 20:00–21:00")
               for c in conflicts)


def test_alternates_follow_priority_before_time():
    """The same episode wanted by a low-priority rule early and a high-priority rule later: the
    high-priority airing is recorded (rule order first, then time)."""
    episode = "show|s1e1"
    entries, conflicts = plan([air("Show", "5.1", "20:00", "21:00", day=0, key=episode, rule_id=1, priority=0),
                               air("Show", "7.1", "20:00", "21:00", day=1, key=episode, rule_id=2, priority=3)], **TWO)
    assert [e.airing.rule_id for e in entries] == [2]
    assert [(c.reason, c.airing.rule_id) for c in conflicts] == [("alternate", 1)]


def test_no_alternate_fits_every_airing_is_a_no_tuner_conflict():
    episode = "show|s1e1"
    blockers = [air("Match", "9.1", "19:00", "23:00", day=d, priority=9, rule_id=2) for d in (0, 1)]
    shows = [air("Show", "5.1", "20:00", "21:00", day=d, key=episode) for d in (0, 1)]
    entries, conflicts = plan(shows + blockers, **ONE)
    assert recorded(entries) == ["Match", "Match"]
    assert [c.reason for c in conflicts] == ["no_tuner", "no_tuner"]
    assert all("'Match' on 9.1" in c.message for c in conflicts)


def test_a_planned_airing_moves_to_its_own_alternate_to_make_room():
    """One tuner. 'Show' (rule 1) is planned Tue 20:00 first; 'Film' (rule 2) has only Tue 20:00:
    'Show' moves to its Thursday airing and both are recorded."""
    episode = "show|s1e1"
    show_tue = air("Show", "5.1", "20:00", "21:00", rule_id=1, key=episode)
    show_thu = air("Show", "5.1", "20:00", "21:00", day=2, rule_id=1, key=episode)
    film = air("Film", "7.1", "20:00", "22:00", rule_id=2)
    entries, conflicts = plan([show_tue, show_thu, film], **ONE)
    assert sorted((e.airing.title, e.airing.start) for e in entries) == [("Film", film.start), ("Show", show_thu.start)]
    [conflict] = conflicts
    assert conflict.reason == "alternate" and conflict.airing.start == show_tue.start
    assert "moved to the airing 'Show' on 5.1 at Thu 14 Mar 20:00–21:00 so that 'Film' on 7.1" in conflict.message


def test_two_rules_wanting_the_same_airing_record_it_once():
    a = air("Show", "5.1", "20:00", "21:00", rule_id=1)
    b = air("Show", "5.1", "20:00", "21:00", rule_id=2, priority=4)
    entries, [conflict] = plan([a, b], **TWO)
    assert [e.airing.rule_id for e in entries] == [2]
    assert conflict.reason == "alternate" and conflict.airing.rule_id == 1
    assert conflict.message == "'Show' on 5.1 at Tue 12 Mar 20:00–21:00 is already planned for rule 2: recorded once"


def test_alternate_without_a_source():
    episode = "show|s1e1"
    entries, [conflict] = plan([air("Show", [], "20:00", "21:00", key=episode),
                                air("Show", "5.1", "20:00", "21:00", day=1, key=episode)], **ONE)
    assert [e.airing.start for e in entries] == [t("20:00", 1)]
    assert conflict.reason == "alternate" and "(no lineup channel shows this one)" in conflict.message


# ---------------------------------------------------------------------------------------------
# padding
# ---------------------------------------------------------------------------------------------
def test_padding_counts_toward_a_clash_and_is_trimmed_instead_of_a_conflict():
    """One tuner, back to back: A (priority 5) 20:00–21:00 + 3 min; B (priority 0) 21:00–22:00 - 1 min.
    Only padding clashes: both are recorded, B's padding before and A's padding after are cut at 21:00."""
    a = air("A", "5.1", "20:00", "21:00", priority=5, rule_id=1, before=60, after=180)
    b = air("B", "5.1", "21:00", "22:00", priority=0, rule_id=2, before=60, after=180)
    entries, conflicts = plan([a, b], **ONE)
    assert conflicts == []
    ea, eb = by_title(entries, "A"), by_title(entries, "B")
    assert (ea.airing.padding_before, ea.airing.padding_after) == (60, 0)
    assert (eb.airing.padding_before, eb.airing.padding_after) == (0, 180)
    assert ea.airing.padded_stop == eb.airing.padded_start == t("21:00")
    assert ea.note == ("padding after trimmed from 3 min to 0 s so that 'B' on 5.1 at Tue 12 Mar 21:00–22:00 "
                       "can be recorded on the same tuners")
    assert eb.note.startswith("padding before trimmed from 1 min to 0 s: 'A' on 5.1")
    assert ea.as_dict()["note"] == ea.note and ea.as_dict()["padding_after"] == 0


def test_only_the_lower_priority_padding_is_trimmed_when_that_is_enough():
    a = air("A", "5.1", "20:00", "21:00", priority=5, rule_id=1, after=60)     # holds the tuner until 21:01
    b = air("B", "7.1", "21:05", "22:00", priority=0, rule_id=2, before=600)   # wants it from 20:55
    entries, conflicts = plan([a, b], **ONE)
    assert conflicts == []
    assert by_title(entries, "A").note is None and by_title(entries, "A").airing.padding_after == 60
    eb = by_title(entries, "B")
    assert eb.airing.padding_before == 240 and eb.airing.padded_start == t("21:01")
    assert eb.note.startswith("padding before trimmed from 10 min to 4 min")


def test_a_higher_priority_padding_gives_way_to_a_whole_programme():
    """High (priority 5) wants the tuner from 20:55; Low (priority 0) airs until 21:00. Padding is
    the soft part: High's padding before is cut to 0 rather than losing Low entirely."""
    high = air("High", "5.1", "21:00", "22:00", priority=5, rule_id=1, before=300)
    low = air("Low", "7.1", "20:00", "21:00", priority=0, rule_id=2, after=180)
    entries, conflicts = plan([high, low], **ONE)
    assert conflicts == []
    eh, el = by_title(entries, "High"), by_title(entries, "Low")
    assert (eh.airing.padding_before, el.airing.padding_after) == (0, 0)
    assert eh.note == ("padding before trimmed from 5 min to 0 s so that 'Low' on 7.1 at Tue 12 Mar 20:00–21:00 "
                       "can be recorded on the same tuners")
    assert el.note.startswith("padding after trimmed from 3 min to 0 s: 'High' on 5.1")


def test_padding_is_not_trimmed_when_a_second_tuner_is_free():
    a = air("A", "5.1", "20:00", "21:00", rule_id=1, after=180)
    b = air("B", "5.1", "21:00", "22:00", rule_id=2, before=60)
    entries, conflicts = plan([a, b], **TWO)
    assert conflicts == [] and all(e.note is None for e in entries)
    assert [(e.airing.padding_before, e.airing.padding_after) for e in entries] == [(0, 180), (60, 0)]


def test_programmes_that_really_overlap_are_not_trimmed_into_fitting():
    a = air("A", "5.1", "20:00", "21:10", priority=1, rule_id=1)
    b = air("B", "7.1", "21:00", "22:00", rule_id=2, before=60)
    entries, [conflict] = plan([a, b], **ONE)
    assert recorded(entries) == ["A"] and conflict.reason == "no_tuner"


# ---------------------------------------------------------------------------------------------
# running recordings, the past, no source
# ---------------------------------------------------------------------------------------------
def test_busy_recordings_hold_tuners():
    now = t("20:10")
    busy = [{"device_id": "D1", "start": t("19:59"), "stop": t("21:03"), "title": "Running", "channel": "5.1"}]
    entries, [conflict] = plan([air("Later", "7.1", "20:30", "21:30")], **ONE, now=now, busy=busy)
    assert entries == [] and conflict.reason == "no_tuner"
    assert "the only tuner of D1 is recording 'Running' on 5.1 (recording now, until 21:03)" in conflict.message
    assert conflict.blocked_by == [{"device_id": "D1", "channel": "5.1", "title": "Running", "start": t("19:59"),
                                    "stop": t("21:03"), "recording": True}]
    # after its padded stop the tuner is free again (padding of the new airing is trimmed to fit)
    entries, conflicts = plan([air("After", "7.1", "21:03", "22:00", before=120)], **ONE, now=now, busy=busy)
    assert conflicts == [] and entries[0].airing.padding_before == 0


def test_busy_on_a_vanished_device_or_already_over_is_ignored():
    busy = [{"device_id": "gone", "start": 0, "stop": t("23:00"), "title": "X", "channel": "5.1"},
            {"device_id": "D1", "start": 0, "stop": t("19:00"), "title": "Y", "channel": "5.1"}]
    entries, conflicts = plan([air("A", "5.1", "20:00", "21:00")], **ONE, now=t("19:30"), busy=busy)
    assert recorded(entries) == ["A"] and conflicts == []


def test_busy_recording_of_the_same_episode_makes_alternates():
    busy = [{"device_id": "D1", "start": t("19:59"), "stop": t("21:03"), "title": "Show", "channel": "5.1",
             "episode_key": "show|s1e1"}]
    entries, [conflict] = plan([air("Show", "7.1", "22:00", "23:00", key="show|s1e1")], **TWO | {"devices": {"D1": 2}},
                               now=t("20:10"), busy=busy)
    assert entries == [] and conflict.reason == "alternate"
    assert "already being recorded ('Show' on 5.1, until Tue 21:03)" in conflict.message
    assert conflict.alternate_of["recording"] is True


def test_the_airing_a_busy_recording_is_making_is_not_planned_twice():
    a = air("Show", "5.1", "20:00", "21:00", before=60, after=180)
    busy = [{"device_id": "D1", "channel": "5.1", "title": "Show", "start": a.start, "stop": a.stop,
             "padded_start": a.padded_start, "padded_stop": a.padded_stop}]
    assert plan([a], **ONE, now=t("20:10"), busy=busy) == ([], [])


def test_in_past():
    a = air("Old", "5.1", "18:00", "19:00", after=180)
    entries, [conflict] = plan([a], **ONE, now=t("19:03"))
    assert entries == [] and conflict.reason == "in_past"
    assert conflict.message == "'Old' on 5.1 at Tue 12 Mar 18:00–19:00 is over: it ended before it could be recorded"
    entries, conflicts = plan([a], **ONE, now=t("19:02"))  # only padding left: still planned
    assert recorded(entries) == ["Old"] and conflicts == []


def test_in_progress_airing_only_needs_the_tuner_from_now():
    """Started at 19:00; a recording that held the tuner until 19:30 does not block it at 19:45."""
    busy = [{"device_id": "D1", "start": t("18:00"), "stop": t("19:30"), "title": "Before", "channel": "7.1"}]
    entries, conflicts = plan([air("Now", "5.1", "19:00", "20:00", before=60)], **ONE, now=t("19:45"), busy=busy)
    assert recorded(entries) == ["Now"] and conflicts == []


def test_no_source():
    entries, conflicts = plan([air("Unmapped", [], "20:00", "21:00", programme_id=77),
                               air("Elsewhere", "42", "20:00", "21:00", rule_id=2)], **ONE)
    assert entries == []
    assert [c.reason for c in conflicts] == ["no_source", "no_source"]
    msgs = {c.airing.title: c.message for c in conflicts}
    assert msgs["Unmapped"] == ("'Unmapped' at Tue 12 Mar 20:00–21:00 cannot be recorded: its guide channel is not "
                                "shown by any lineup channel: map that guide channel to a lineup channel to record it "
                                "(guide programme 77)")
    assert "no available tuner carries channel 42" in msgs["Elsewhere"]


# ---------------------------------------------------------------------------------------------
# determinism and the words
# ---------------------------------------------------------------------------------------------
def busy_week() -> list[Airing]:
    rng = random.Random(5)
    out = []
    for i in range(60):
        start = f"{rng.randint(17, 22)}:{rng.choice(['00', '15', '30', '45'])}"
        stop_h = int(start.split(":")[0]) + rng.randint(1, 2)
        key = f"show{i % 9}|e{i % 4}" if i % 3 else None
        out.append(air(f"T{i}", rng.choice(["5.1", "7.1", "9.1", "105"]), start, f"{stop_h % 24}:00",
                       day=rng.randint(0, 3), priority=rng.randint(0, 2), rule_id=i % 5 + 1, key=key,
                       before=60, after=180))
    return out


def test_results_are_deterministic_whatever_the_input_order():
    setup = {"devices": {"A": 2, "B": 1}, "carriers": {"5.1": ["A"], "7.1": ["A", "B"], "9.1": ["B"], "105": ["B"]}}
    airings = busy_week()
    reference = plan(airings, **setup)
    ref = ([e.as_dict() for e in reference[0]], [c.as_dict() for c in reference[1]])
    assert ref[0] and ref[1]
    for seed in range(5):
        shuffled = airings[:]
        random.Random(seed).shuffle(shuffled)
        entries, conflicts = plan(shuffled, **setup)
        assert ([e.as_dict() for e in entries], [c.as_dict() for c in conflicts]) == ref
    # every airing is accounted for exactly once, and no device is ever over its tuner count
    assert len(reference[0]) + len(reference[1]) == len(airings)
    for device, count in setup["devices"].items():
        spans = [(e.airing.padded_start, e.airing.padded_stop) for e in reference[0] if e.device_id == device]
        for point in {s for s, _ in spans}:
            assert sum(1 for s, e in spans if s <= point < e) <= count


def test_every_combination_of_three_airings_respects_capacity():
    """All orders and priorities of three overlapping airings on one tuner: one recorded, two conflicts."""
    base = [air("A", "5.1", "20:00", "21:00", rule_id=1), air("B", "7.1", "20:15", "21:15", rule_id=2),
            air("C", "9.1", "20:30", "21:30", rule_id=3)]
    for prios in itertools.product((0, 1), repeat=3):
        airings = [Airing(**{**a.as_dict(), "priority": p}) for a, p in zip(base, prios, strict=True)]
        entries, conflicts = plan(airings, **ONE)
        assert len(entries) == 1 and len(conflicts) == 2
        best = max(airings, key=lambda a: (a.priority, -a.start))
        assert entries[0].airing.title == best.title


def test_describe_airing_crossing_midnight():
    a = air("Late", "5.1", "23:30", "00:30")
    assert describe_airing(a, TZ) == "'Late' on 5.1 at Tue 12 Mar 23:30–Wed 00:30"


def test_messages_use_local_time_across_a_dst_change():
    tz = ZoneInfo("America/New_York")
    start = datetime(2024, 11, 3, 1, 30, tzinfo=tz).timestamp()  # first 01:30 (EDT)
    a = Airing(rule_id=1, priority=0, channels=["2"], start=start, stop=start + 2 * H, title="Night")
    assert describe_airing(a, tz) == "'Night' on 2 at Sun 3 Nov 01:30–02:30"  # 2 h later it is 02:30 EST


# ---------------------------------------------------------------------------------------------
# rules → scheduler
# ---------------------------------------------------------------------------------------------
def test_series_rule_through_the_scheduler_picks_the_repeat_when_the_premiere_clashes():
    guide = [
        Programme(channel="one.de", start=t("20:00"), stop=t("21:00"), title="Show", season=1, episode=1, new=True, id=1),
        Programme(channel="two.de", start=t("20:00"), stop=t("22:00"), title="Cup Final", id=2),
        Programme(channel="one.de", start=t("23:00"), stop=t("00:00", 1), title="Show", season=1, episode=1,
                  previously_shown=True, id=3),
    ]
    numbers = {"one.de": ["5.1"], "two.de": ["7.1"]}
    guide_for = {"5.1": "one.de", "7.1": "two.de"}
    rules = [dict(RULE_SCHEMA({"kind": "series", "title": "Show"}), id=1),
             dict(RULE_SCHEMA({"kind": "once", "programme_id": 2, "priority": 10}), id=2)]
    airings = [a for r in rules for a in airings_for_rule(
        r, guide, numbers_for_guide=numbers, guide_for_number=guide_for, now=NOW, until=NOW + 7 * 86400, tz=TZ,
        defaults={"padding_before": 60, "padding_after": 180}, recorded_keys=set())]
    entries, conflicts = plan(airings, **ONE)
    assert [(e.airing.title, e.airing.programme_id) for e in entries] == [("Cup Final", 2), ("Show", 3)]
    [conflict] = conflicts
    assert conflict.reason == "alternate" and conflict.airing.programme_id == 1
    assert "recorded instead at 'Show' on 5.1 at Tue 12 Mar 23:00–Wed 00:00 (no tuner is free for this one)" \
        in conflict.message


@pytest.mark.parametrize("count", [1, 2, 3])
def test_daily_rules_fill_exactly_the_tuner_count(count):
    setup = {"devices": {"D": count}, "carriers": {str(c): ["D"] for c in range(4)}}
    airings = []
    for c in range(4):
        r = dict(RULE_SCHEMA({"kind": "daily", "channel": str(c), "start_time": "20:00", "duration": 3600,
                              "padding_before": 0, "padding_after": 0}), id=c + 1)
        airings += airings_for_rule(r, [], numbers_for_guide={}, guide_for_number={}, now=NOW, until=NOW + 3 * 86400,
                                    tz=TZ, defaults={}, recorded_keys=set())
    entries, conflicts = plan(airings, **setup)
    assert len(entries) == 3 * count and len(conflicts) == 3 * (4 - count)
    assert {e.airing.rule_id for e in entries} == set(range(1, count + 1))


def test_a_time_slot_rule_records_every_slot_even_when_a_series_rule_shares_the_episode():
    """Mon and Tue 20:00 on 5.1 show the same episode. The series rule alone records it once; with a
    daily 20:00 rule on 5.1 both slots are recorded (a slot is recorded as asked), each once."""
    guide = [Programme(channel="one.de", start=t("20:00", d), stop=t("21:00", d), title="Show", season=1, episode=1,
                       id=d + 1) for d in (0, 1)]
    kw = {"numbers_for_guide": {"one.de": ["5.1"]}, "guide_for_number": {"5.1": "one.de"}, "now": NOW,
          "until": NOW + 2 * 86400, "tz": TZ, "defaults": {}, "recorded_keys": set()}
    series = airings_for_rule(dict(RULE_SCHEMA({"kind": "series", "title": "Show"}), id=1), guide, **kw)
    daily = airings_for_rule(dict(RULE_SCHEMA({"kind": "daily", "channel": "5.1", "start_time": "20:00",
                                               "duration": 3600}), id=2), guide, **kw)
    entries, conflicts = plan(series, **ONE)
    assert [e.airing.start for e in entries] == [t("20:00", 0)]
    assert [c.reason for c in conflicts] == ["alternate"]

    entries, conflicts = plan(series + daily, **ONE)
    assert sorted(e.airing.start for e in entries) == [t("20:00", 0), t("20:00", 1)]
    assert sorted((c.reason, c.airing.start) for c in conflicts) == [("alternate", t("20:00", 0)),
                                                                     ("alternate", t("20:00", 1))]
    assert all("is already planned for rule" in c.message and c.message.endswith("recorded once") for c in conflicts)
