"""Keep rules: which finished recordings a rule no longer keeps.

Pure logic (no I/O): :func:`expired` reads recordings and rules as plain dicts (the rows of
``dvr_recordings`` and ``dvr_rules``) and returns the ids to delete; the DVR manager deletes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["KEPT_STATES", "expired"]

#: Only finished recordings are ever deleted by a keep rule; ``recording`` and ``processing`` ones
#: never are, and ``failed``/``cancelled`` ones are left for the user to look at.
KEPT_STATES = ("done", "partial")

DAY = 86400.0


def _finished(rec: Mapping[str, Any]) -> float:
    """When a recording finished (UTC epoch seconds): ``finished_at``, else its padded stop, else its stop."""
    for key in ("finished_at", "padded_stop", "stop"):
        if rec.get(key) is not None:
            return float(rec[key])
    return 0.0


def expired(recordings: Iterable[Mapping[str, Any]], rules: Mapping[int, Mapping[str, Any]], now: float) -> list[int]:
    """The ids of the recordings their rule no longer keeps, ascending.

    ``recordings``: dicts with ``id``, ``rule_id``, ``state``, ``start`` (UTC epoch seconds) and
    ``finished_at`` (or ``padded_stop``/``stop``). ``rules``: rule id → rule dict with
    ``keep_last`` (keep the newest N; newest by airing start, then id) and ``keep_days`` (keep a
    recording D days after it finished). Both may apply; ``None`` keeps everything. Only
    ``done``/``partial`` recordings are counted and deleted; a recording whose rule was deleted
    (``rule_id`` not in ``rules``, or ``None``) is always kept. ``now``: UTC epoch seconds."""
    by_rule: dict[int, list[Mapping[str, Any]]] = {}
    for rec in recordings:
        rule_id = rec.get("rule_id")
        if rule_id is None or rule_id not in rules or rec.get("state") not in KEPT_STATES or rec.get("id") is None:
            continue
        by_rule.setdefault(rule_id, []).append(rec)
    out: set[int] = set()
    for rule_id, recs in by_rule.items():
        rule = rules[rule_id]
        keep_last = rule.get("keep_last")
        keep_days = rule.get("keep_days")
        if keep_last is not None and int(keep_last) >= 0:
            newest_first = sorted(recs, key=lambda r: (float(r.get("start") or 0.0), int(r["id"])), reverse=True)
            out.update(int(r["id"]) for r in newest_first[int(keep_last):])
        if keep_days is not None:
            limit = now - float(keep_days) * DAY
            out.update(int(r["id"]) for r in recs if _finished(r) < limit)
    return sorted(out)
