"""Keep rules (core/dvr/retention.py): keep the last N, keep D days, never what is still being
made, and nothing of a deleted rule. Pure logic."""

from __future__ import annotations

import pytest

from omnimedia.core.dvr.retention import expired

DAY = 86400.0
NOW = 1_720_000_000.0


def rec(id_: int, *, rule_id: int | None = 1, state: str = "done", age_days: float = 1.0, finished: bool = True):
    start = NOW - age_days * DAY
    return {"id": id_, "rule_id": rule_id, "state": state, "start": start, "stop": start + 3600,
            "padded_stop": start + 3780, "finished_at": start + 3800 if finished else None}


def test_keep_last_keeps_the_newest():
    recordings = [rec(i, age_days=10 - i) for i in range(1, 6)]  # id 5 is the newest
    assert expired(recordings, {1: {"keep_last": 2}}, NOW) == [1, 2, 3]
    assert expired(recordings, {1: {"keep_last": 5}}, NOW) == []
    assert expired(recordings, {1: {"keep_last": 1}}, NOW) == [1, 2, 3, 4]


def test_keep_last_orders_by_airing_then_id():
    recordings = [rec(3, age_days=2), rec(1, age_days=1), rec(2, age_days=1)]
    assert expired(recordings, {1: {"keep_last": 1}}, NOW) == [1, 3]


@pytest.mark.parametrize(("keep_days", "expected"), [(1, [2, 3]), (5, [3]), (30, [])])
def test_keep_days(keep_days, expected):
    recordings = [rec(1, age_days=0.5), rec(2, age_days=3), rec(3, age_days=10)]
    assert expired(recordings, {1: {"keep_days": keep_days}}, NOW) == expected


def test_keep_days_without_finished_at_uses_the_padded_stop():
    r = rec(1, age_days=3, finished=False)
    assert expired([r], {1: {"keep_days": 2}}, NOW) == [1]
    assert expired([r], {1: {"keep_days": 4}}, NOW) == []


def test_both_limits_apply():
    recordings = [rec(1, age_days=20), rec(2, age_days=2), rec(3, age_days=1), rec(4, age_days=0.1)]
    assert expired(recordings, {1: {"keep_last": 3, "keep_days": 7}}, NOW) == [1]
    assert expired(recordings, {1: {"keep_last": 1, "keep_days": 7}}, NOW) == [1, 2, 3]


@pytest.mark.parametrize("state", ["recording", "processing", "failed", "cancelled", "deleted"])
def test_only_finished_recordings_count_and_go(state):
    recordings = [rec(1, age_days=9, state=state), rec(2, age_days=5), rec(3, age_days=4, state="partial")]
    assert expired(recordings, {1: {"keep_last": 1, "keep_days": 100}}, NOW) == [2]


def test_rules_without_limits_and_deleted_rules_keep_everything():
    recordings = [rec(1, age_days=50), rec(2, rule_id=2, age_days=50), rec(3, rule_id=None, age_days=50)]
    rules = {1: {"keep_last": None, "keep_days": None}}  # rule 2 was deleted
    assert expired(recordings, rules, NOW) == []


def test_rules_are_separate():
    recordings = [rec(1, rule_id=1, age_days=3), rec(2, rule_id=1, age_days=2), rec(3, rule_id=2, age_days=9)]
    assert expired(recordings, {1: {"keep_last": 1}, 2: {"keep_last": 1}}, NOW) == [1]
