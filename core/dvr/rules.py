"""Recording rules: what a user asks to record, and the airings each rule wants.

Pure logic (no I/O, no database): :data:`RULE_SCHEMA` validates a rule as the API or YAML gives
it and normalises it into the columns of :class:`omnimedia.core.db.models.RecordingRule`;
:func:`airings_for_rule` turns one stored rule plus the guide's programmes into
:class:`~omnimedia.core.dvr.types.Airing` objects for the scheduler; :func:`episode_key` says
which airings show the same episode.

Kinds (:data:`RULE_KINDS`):

``once``
    One guide programme (``programme_id``), or a time slot on a channel (``channel`` + ``start``
    + ``stop`` or ``duration``; ``start``/``stop`` in UTC epoch seconds or ISO 8601 with a UTC
    offset). A programme rule may also carry the slot: guide programme ids change with every
    guide import, so when the id is gone the slot is used (and the guide's programme in it).
``daily`` / ``weekly``
    A local-time slot on a channel: ``start_time`` ("HH:MM", in the DVR's time zone),
    ``duration`` (seconds of real time), ``days`` (0 = Monday … 6 = Sunday; every day when a
    daily rule has none; required for weekly).
``series``
    Every programme whose title equals ``title`` (case, accents, punctuation and spaces
    ignored; "Simpsons, The" = "The Simpsons"), on ``channel`` or on any channel (``None``).
``keyword``
    Every programme whose title, subtitle or description contains ``keyword`` as whole words
    (case-insensitive), on ``channel`` or any channel.

Series and keyword rules may have a local time window for the programme's *start*: ``after``
and/or ``before`` ("HH:MM"; ``after`` later than ``before`` crosses midnight), and
``new_only``: skip programmes the guide marks previously shown (unless also marked new) and
episodes whose :func:`episode_key` is already recorded.

Times: UTC epoch seconds everywhere; local time only for ``start_time``/``after``/``before``,
read in the zone passed as ``tz`` (the DVR's, :func:`omnimedia.core.dvr.config.dvr_timezone`).
Daylight saving time: a slot stays at its wall-clock time across a change; a slot inside the
hour skipped in spring starts when that hour ends (at the first valid local time); a slot in
the hour repeated in autumn starts at the first occurrence.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import voluptuous as vol

from .types import Airing, Programme

__all__ = [
    "RULE_KINDS", "RULE_SCHEMA", "RULE_FIELDS", "WEEKDAYS", "airings_for_rule", "episode_key",
    "normalise_title", "keyword_pattern", "local_slot_start", "slot_match",
]

RULE_KINDS = ("once", "daily", "weekly", "series", "keyword")

#: The columns of ``dvr_rules`` a validated rule fills (``id``, ``created_at`` and ``updated_at``
#: are the store's).
RULE_FIELDS = (
    "kind", "title", "keyword", "channel", "programme_id", "start", "stop", "start_time", "duration",
    "days", "after", "before", "new_only", "padding_before", "padding_after", "priority", "keep_last",
    "keep_days", "enabled",
)

#: Day names accepted in ``days`` (English, full or three letters), 0 = Monday.
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_GROUPS = {"weekdays": [0, 1, 2, 3, 4], "weekend": [5, 6], "weekends": [5, 6], "all": list(range(7)),
               "every day": list(range(7)), "daily": list(range(7))}

#: Longest slot of a daily/weekly rule (a longer one would overlap the next day's) and of a once rule.
MAX_SLOT_SECONDS = 24 * 3600
MAX_ONCE_SECONDS = 7 * 24 * 3600
MAX_PADDING_SECONDS = 6 * 3600

#: Which kinds use which of the kind-specific fields (a non-null field a kind does not use is an error).
_KIND_FIELDS = {
    "programme_id": ("once",),
    "start": ("once",),
    "stop": ("once",),
    "start_time": ("daily", "weekly"),
    "days": ("daily", "weekly"),
    "after": ("series", "keyword"),
    "before": ("series", "keyword"),
    "new_only": ("series", "keyword"),
    "keyword": ("keyword",),
}

#: A guide programme "matches" a slot when their overlap covers this share of the longer of the two.
SLOT_MATCH_SHARE = 0.8


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
def _invalid(key: str | None, message: str) -> vol.Invalid:
    return vol.Invalid(message, path=[key] if key else None)


def _hhmm(key: str, value: Any) -> str:
    """"HH:MM" (also "H:MM", "HH:MM:SS" with zero seconds, "2000") → "HH:MM". A whole number is
    what YAML makes of an unquoted ``20:00`` (base 60: 20 × 60 + 0 = 1200) and is read that way."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < 24 * 60:
            return f"{value // 60:02d}:{value % 60:02d}"
        raise _invalid(key, f"'{key}' must be a local time of day as HH:MM (24-hour clock, e.g. \"20:15\"; "
                            f"quote it in YAML), got {value!r}")
    text = str(value).strip()
    match = re.fullmatch(r"(\d{1,2}):?(\d{2})(?::00)?", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise _invalid(key, f"'{key}' must be a local time of day as HH:MM (24-hour clock, e.g. 20:15), got {value!r}")
    return f"{int(match.group(1)):02d}:{int(match.group(2)):02d}"


_UNITS = re.compile(r"(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?:in)?)?\s*(?:(\d+(?:\.\d+)?)\s*s)?", re.IGNORECASE)


def _seconds(key: str, value: Any, *, maximum: float, allow_zero: bool) -> float:
    """Seconds as a number, or text: "H:MM" / "H:MM:SS", or units "1h30m", "90m", "45s".
    (Unquoted YAML ``1:30:00`` is already 5400; unquoted ``1:30`` is 90 — seconds: quote it.)"""
    if isinstance(value, bool):
        raise _invalid(key, f"'{key}' must be a number of seconds, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        match = re.fullmatch(r"(\d+):(\d{2})(?::(\d{2}))?", text)
        if match:
            hours, minutes, secs = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
            if minutes > 59 or secs > 59:
                raise _invalid(key, f"'{key}' {value!r} is not H:MM or H:MM:SS")
            seconds = float(hours * 3600 + minutes * 60 + secs)
        elif text and (units := _UNITS.fullmatch(text)) and any(units.groups()):
            h, m, sec = (float(g) if g else 0.0 for g in units.groups())
            seconds = h * 3600 + m * 60 + sec
        else:
            try:
                seconds = float(text)
            except ValueError:
                raise _invalid(key, f"'{key}' must be seconds (a number), H:MM[:SS] or e.g. 1h30m, got {value!r}") from None
    elif isinstance(value, int | float):
        seconds = float(value)
    else:
        raise _invalid(key, f"'{key}' must be seconds (a number) or H:MM[:SS], got {value!r}")
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        raise _invalid(key, f"'{key}' must be {'zero or more' if allow_zero else 'more than zero'} seconds, got {value!r}")
    if seconds > maximum:
        raise _invalid(key, f"'{key}' is {seconds:g} s; at most {maximum:g} s ({maximum / 3600:g} hours)")
    return seconds


def _epoch(key: str, value: Any) -> float:
    """UTC epoch seconds, or an ISO 8601 date-time with a UTC offset ("2024-03-01T20:00:00+01:00", "…Z")."""
    if isinstance(value, bool):
        raise _invalid(key, f"'{key}' must be UTC epoch seconds or an ISO 8601 time, got {value!r}")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _invalid(key, f"'{key}' {value.isoformat()} has no time zone")
        return value.timestamp()
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            return _iso(key, text, value)
    if not math.isfinite(number) or number < 0:
        raise _invalid(key, f"'{key}' must be UTC epoch seconds, got {value!r}")
    return number


def _iso(key: str, text: str, value: Any) -> float:
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise _invalid(key, f"'{key}' must be UTC epoch seconds or an ISO 8601 time such as "
                            f"2024-03-01T20:00:00+01:00, got {value!r}") from None
    if parsed.tzinfo is None:
        raise _invalid(key, f"'{key}' {text!r} has no UTC offset: write e.g. {text}+01:00 or {text}Z, "
                            "or give UTC epoch seconds")
    return parsed.timestamp()


def _int(key: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool):
        raise _invalid(key, f"'{key}' must be a whole number, got {value!r}")
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise _invalid(key, f"'{key}' must be a whole number, got {value!r}")
    if minimum is not None and number < minimum:
        raise _invalid(key, f"'{key}' must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise _invalid(key, f"'{key}' must be at most {maximum}, got {number}")
    return number


def _bool(key: str, value: Any) -> bool:
    try:
        return vol.Boolean()(value)
    except vol.Invalid:
        raise _invalid(key, f"'{key}' must be true or false, got {value!r}") from None


def _text(key: str, value: Any) -> str | None:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _invalid(key, f"'{key}' must be text, got {value!r}")
    text = " ".join(str(value).split())
    return text or None


def _channel(value: Any) -> str | None:
    """A lineup number as text ("5.1"). YAML reads 5.1 as a number; quote numbers like "5.10"."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid("channel", f"'channel' must be a lineup channel number such as \"5.1\", got {value!r}")
    text = str(value).strip()
    return text or None


def _day(item: Any, shown: Any) -> int:
    """0–6 from 0–6 or a day name ("mon", "Monday", "tu" — unambiguous prefixes of two letters or more)."""
    if isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 6:
        return item
    name = str(item).strip().casefold()
    if name.isdigit() and 0 <= int(name) <= 6:
        return int(name)
    found = [i for i, day in enumerate(WEEKDAYS) if len(name) >= 2 and day.startswith(name)]
    if len(found) == 1:
        return found[0]
    raise _invalid("days", f"'days' has {shown!r}: use 0 = Monday … 6 = Sunday, or day names (mon, tue, …, mon-fri)")


def _days(value: Any) -> list[int] | None:
    items: Iterable[Any]
    if isinstance(value, str):
        group = _DAY_GROUPS.get(value.strip().casefold())
        if group is not None:
            return list(group)
        items = []
        for part in (p for p in re.split(r"[,\s]+", value) if p):
            if "-" in part:  # a range such as mon-fri
                first, _, last = part.partition("-")
                lo, hi = _day(first, part), _day(last, part)
                items.extend(range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(0, hi + 1)])
            else:
                items.append(part)
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        raise _invalid("days", f"'days' must be a list of weekdays (0 = Monday … 6 = Sunday, or names), got {value!r}")
    out = {_day(item, item) for item in items}
    if not out:
        raise _invalid("days", "'days' is empty: name at least one weekday (0 = Monday … 6 = Sunday)")
    return sorted(out)


def _validate(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise _invalid(None, f"a recording rule must be a mapping of fields, got {type(data).__name__}")
    data = dict(data)
    for key in ("created_at", "updated_at"):  # the store's; a client may send a rule back as read
        data.pop(key, None)
    unknown = sorted(str(k) for k in data if k not in RULE_FIELDS and k != "id")
    if unknown:
        raise _invalid(unknown[0], f"unknown field(s) {', '.join(map(repr, unknown))} in a recording rule; "
                                   f"known fields: {', '.join(RULE_FIELDS)}")
    raw_kind = data.get("kind")
    if raw_kind is None:
        raise _invalid("kind", f"a recording rule needs 'kind' (one of {', '.join(RULE_KINDS)})")
    kind = str(raw_kind).strip().casefold()
    if kind not in RULE_KINDS:
        raise _invalid("kind", f"unknown rule kind {raw_kind!r}; use one of {', '.join(RULE_KINDS)}")

    def given(key: str) -> bool:
        return data.get(key) is not None

    for key, kinds in _KIND_FIELDS.items():
        if given(key) and kind not in kinds and not (key == "new_only" and not _bool(key, data[key])):
            hint = {"start_time": " (for series or keyword rules use 'after'/'before')",
                    "after": " (daily/weekly rules use 'start_time' and 'duration')",
                    "before": " (daily/weekly rules use 'start_time' and 'duration')"}.get(key, "")
            raise _invalid(key, f"'{key}' is for {' and '.join(kinds)} rules; a {kind} rule does not use it{hint}")

    out: dict[str, Any] = dict.fromkeys(RULE_FIELDS)
    out["kind"] = kind
    if "id" in data and data["id"] is not None:
        out["id"] = _int("id", data["id"], minimum=1)
    out["channel"] = _channel(data["channel"]) if given("channel") else None
    out["title"] = _text("title", data["title"]) if given("title") else None
    out["keyword"] = _text("keyword", data["keyword"]) if given("keyword") else None
    if given("programme_id"):
        out["programme_id"] = _int("programme_id", data["programme_id"], minimum=1)
    if given("start"):
        out["start"] = _epoch("start", data["start"])
    if given("stop"):
        out["stop"] = _epoch("stop", data["stop"])
    if given("start_time"):
        out["start_time"] = _hhmm("start_time", data["start_time"])
    if given("days"):
        out["days"] = _days(data["days"])
    for key in ("after", "before"):
        if given(key):
            out[key] = _hhmm(key, data[key])
    out["new_only"] = _bool("new_only", data["new_only"]) if given("new_only") else False
    for key in ("padding_before", "padding_after"):
        if given(key):
            out[key] = _seconds(key, data[key], maximum=MAX_PADDING_SECONDS, allow_zero=True)
    out["priority"] = _int("priority", data["priority"], minimum=-1000, maximum=1000) if given("priority") else 0
    out["keep_last"] = _int("keep_last", data["keep_last"], minimum=1) if given("keep_last") else None
    out["keep_days"] = _int("keep_days", data["keep_days"], minimum=1) if given("keep_days") else None
    out["enabled"] = _bool("enabled", data["enabled"]) if given("enabled") else True

    if kind == "once":
        _validate_once(data, out)
    elif kind in ("daily", "weekly"):
        if out["channel"] is None:
            raise _invalid("channel", f"a {kind} rule needs 'channel' (a lineup number such as \"5.1\")")
        if out["start_time"] is None:
            raise _invalid("start_time", f"a {kind} rule needs 'start_time' (HH:MM, local time)")
        if not given("duration"):
            raise _invalid("duration", f"a {kind} rule needs 'duration' (seconds, or H:MM)")
        out["duration"] = _seconds("duration", data["duration"], maximum=MAX_SLOT_SECONDS, allow_zero=False)
        if kind == "weekly" and out["days"] is None:
            raise _invalid("days", "a weekly rule needs 'days' (0 = Monday … 6 = Sunday, or names such as [mon, thu])")
        if out["days"] == list(range(7)) and kind == "daily":
            out["days"] = None
        if out["title"] is None:
            out["title"] = f"{out['channel']} {out['start_time']}"
    elif kind == "series":
        if out["title"] is None or not normalise_title(out["title"]):
            raise _invalid("title", "a series rule needs 'title' (the programme title to match)")
        if given("duration"):
            raise _invalid("duration", "a series rule does not use 'duration' (programmes are recorded as the guide says)")
    else:  # keyword
        if out["keyword"] is None or not re.search(r"\w", out["keyword"]):
            raise _invalid("keyword", "a keyword rule needs 'keyword' (words to find in titles and descriptions)")
        if given("duration"):
            raise _invalid("duration", "a keyword rule does not use 'duration' (programmes are recorded as the guide says)")
        if out["title"] is None:
            out["title"] = out["keyword"]
    if out["after"] is not None and out["after"] == out["before"]:
        raise _invalid("before", f"'after' and 'before' are both {out['after']}: the time window is empty")
    return out


def _validate_once(data: dict[str, Any], out: dict[str, Any]) -> None:
    has_slot = out["start"] is not None or out["stop"] is not None or data.get("duration") is not None
    if out["programme_id"] is None and not has_slot:
        raise _invalid("programme_id", "a once rule needs 'programme_id' (a guide programme) or 'channel', "
                                       "'start' and 'stop' (or 'duration')")
    if has_slot:
        if out["start"] is None:
            raise _invalid("start", "a once rule with a time slot needs 'start' (UTC epoch seconds or ISO 8601)")
        if out["channel"] is None:
            raise _invalid("channel", "a once rule with a time slot needs 'channel' (a lineup number such as \"5.1\")")
        if data.get("duration") is not None:
            duration = _seconds("duration", data["duration"], maximum=MAX_ONCE_SECONDS, allow_zero=False)
            if out["stop"] is not None and abs(out["start"] + duration - out["stop"]) > 1:
                raise _invalid("duration", f"'duration' ({duration:g} s) does not agree with 'stop' - 'start' "
                                           f"({out['stop'] - out['start']:g} s); give one of them")
            out["stop"] = out["start"] + duration
        if out["stop"] is None:
            raise _invalid("stop", "a once rule with a time slot needs 'stop' or 'duration'")
        if out["stop"] <= out["start"]:
            raise _invalid("stop", "'stop' must be after 'start'")
        if out["stop"] - out["start"] > MAX_ONCE_SECONDS:
            raise _invalid("stop", f"a once rule records at most {MAX_ONCE_SECONDS // 86400} days")
    if out["title"] is None:
        out["title"] = f"Programme {out['programme_id']}" if out["programme_id"] else f"{out['channel']} recording"


#: ``RULE_SCHEMA(payload) -> dict``: every key of :data:`RULE_FIELDS` (``None`` where the kind does
#: not use it; ``id`` kept when given), values normalised (channel as text, times "HH:MM", days
#: sorted 0–6, seconds as float, ISO times as UTC epoch seconds). Raises ``voluptuous.Invalid``
#: (a ``MultipleInvalid``) whose message names the field and what it needs, e.g. "a daily rule
#: needs 'start_time' (HH:MM, local time)".
RULE_SCHEMA = vol.Schema(_validate)


# ---------------------------------------------------------------------------------------------
# matching
# ---------------------------------------------------------------------------------------------
_ARTICLE_SUFFIX = re.compile(r"^(.*),\s*(the|a|an|der|die|das|le|la|les)$", re.IGNORECASE)


def normalise_title(title: str | None) -> str:
    """A title folded for an exact comparison: a trailing ", The" moved to the front, accents
    dropped, case folded, "&" read as "and", everything but letters and digits removed.
    ``"Law & Order: S.V.U."`` → ``"lawandordersvu"``; ``"Simpsons, The"`` → ``"thesimpsons"``."""
    if not title:
        return ""
    text = " ".join(title.split())
    match = _ARTICLE_SUFFIX.match(text)
    if match:
        text = f"{match.group(2)} {match.group(1)}"
    text = unicodedata.normalize("NFKD", text.replace("&", " and "))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return "".join(c for c in text if c.isalnum())


def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """The regular expression of a keyword: whole words, case-insensitive, any run of white space
    between its words ("star trek" finds "Star  Trek:" but not "Startrek" or "Star Trekking")."""
    words = keyword.split()
    body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


# dd_progid of a show as a whole ("SH01234567.0000", "SH012345670000"): the same for every airing.
_SHOW_ID = re.compile(r"^SH\d+\.?0+$", re.IGNORECASE)
# xmltv_ns "season.episode.part" (zero-based, each part optional, "x/y" totals allowed).
_XMLTV_NS = re.compile(r"^\s*([\d\s]*)(?:/\s*\d+\s*)?\.\s*([\d\s]*)(?:/\s*\d+\s*)?\.\s*([\d\s]*)(?:/\s*\d+\s*)?$")


def _useful_episode_id(value: str | None) -> str | None:
    """The guide's episode id when it names one episode: not a show-wide ``SH…0000`` id, and an
    ``xmltv_ns`` value only when it has an episode number (a season alone is shared by many)."""
    if not value:
        return None
    text = value.strip()
    if not text or _SHOW_ID.match(text):
        return None
    ns = _XMLTV_NS.match(text)
    if ns is not None and not ns.group(2).strip():
        return None
    return "".join(text.split()).casefold()


def episode_key(programme: Programme) -> str | None:
    """The identity of the episode a programme shows: airings with the same key are the same
    episode (alternates of each other; "new only" skips keys already recorded).

    ``"<normalised title>|<what identifies it>"``, trying in order: the guide's ``episode_id``
    (``id:…``; a show-wide dd_progid ``SH…0000`` or a season-only ``xmltv_ns`` does not count),
    season and episode (``s2e5``), the subtitle (``sub:…``, normalised like titles), the original
    air date (``date:YYYY-MM-DD``), a film's year (``year:…``, when a category says movie or
    film). ``None`` when nothing identifies the episode (a news show): such airings are never
    alternates and never count as already recorded."""
    title = normalise_title(programme.title)
    if not title:
        return None
    ident = _useful_episode_id(programme.episode_id)
    if ident:
        return f"{title}|id:{ident}"
    if programme.season is not None and programme.episode is not None:
        return f"{title}|s{programme.season}e{programme.episode}"
    subtitle = normalise_title(programme.subtitle)
    if subtitle:
        return f"{title}|sub:{subtitle}"
    if programme.original_air_date:
        return f"{title}|date:{programme.original_air_date.strip()}"
    if programme.year and any(c.strip().casefold() in ("movie", "film", "movies", "films", "feature film")
                              for c in programme.categories or ()):
        return f"{title}|year:{programme.year}"
    return None


# ---------------------------------------------------------------------------------------------
# local time
# ---------------------------------------------------------------------------------------------
def _wall(ts: float, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(ts, tz).replace(tzinfo=None)


def local_slot_start(day: date, start_time: str, tz: tzinfo) -> float:
    """UTC epoch seconds of ``start_time`` ("HH:MM") on local ``day`` in ``tz``.

    A time that does not exist (the hour skipped when clocks go forward) gives the first valid
    local time after it, i.e. the instant of the change ("02:30" on a Berlin spring-forward day
    → 03:00 CEST); a time that exists twice (the repeated hour) gives its first occurrence
    (PEP 495 ``fold=0``)."""
    hours, minutes = (int(p) for p in start_time.split(":"))
    naive = datetime.combine(day, time(hours, minutes))
    first = naive.replace(tzinfo=tz, fold=0).timestamp()
    if _wall(first, tz) == naive:
        return first
    # In a gap: fold=0 reads it with the offset before the change (an instant after the change),
    # fold=1 with the offset after (an instant before it). The change lies between: find it.
    low = naive.replace(tzinfo=tz, fold=1).timestamp()
    high = first
    if low > high:
        low, high = high, low
    # invariant: the wall time at `low` is before `naive`, at `high` after it
    while high - low > 1:
        mid = math.floor((low + high) / 2)
        if _wall(mid, tz) < naive:
            low = mid
        else:
            high = mid
    return float(high)


def _minute_of_day(ts: float, tz: tzinfo) -> float:
    wall = _wall(ts, tz)
    return wall.hour * 60 + wall.minute + wall.second / 60


def _in_window(ts: float, after: str | None, before: str | None, tz: tzinfo) -> bool:
    """Whether the local time of ``ts`` is in [after, before) (crossing midnight when after > before)."""
    if after is None and before is None:
        return True
    minute = _minute_of_day(ts, tz)
    lo = _to_minutes(after) if after is not None else 0.0
    hi = _to_minutes(before) if before is not None else 24 * 60.0
    if lo < hi:
        return lo <= minute < hi
    return minute >= lo or minute < hi


def _to_minutes(hhmm: str) -> float:
    hours, minutes = (int(p) for p in hhmm.split(":"))
    return hours * 60.0 + minutes


# ---------------------------------------------------------------------------------------------
# airings
# ---------------------------------------------------------------------------------------------
def _channels_for(guide_id: str | None, rule_channel: str | None,
                  numbers_for_guide: Mapping[str, list[str]]) -> list[str]:
    """Lineup numbers that show ``guide_id``, the rule's own channel first."""
    numbers = list(numbers_for_guide.get(guide_id, ())) if guide_id is not None else []
    if rule_channel is not None:
        if rule_channel in numbers:
            numbers.remove(rule_channel)
        numbers.insert(0, rule_channel)
    return numbers


def slot_match(programmes: Iterable[Programme], guide_id: str | None, start: float, stop: float) -> Programme | None:
    """The guide programme on ``guide_id`` that fills the slot ``[start, stop)``: the one with the
    largest overlap, if it covers at least :data:`SLOT_MATCH_SHARE` of the longer of the slot and
    the programme (a 20:00–21:00 slot matches a 20:00–21:00 programme and a 19:58–21:05 one, not
    a 20:00–20:30 one)."""
    if guide_id is None:
        return None
    best: tuple[float, float, int] | None = None
    found: Programme | None = None
    for prog in programmes:
        if prog.channel != guide_id:
            continue
        overlap = min(stop, prog.stop) - max(start, prog.start)
        if overlap <= 0 or overlap < SLOT_MATCH_SHARE * max(stop - start, prog.stop - prog.start):
            continue
        rank = (-overlap, prog.start, prog.id if prog.id is not None else -1)
        if best is None or rank < best:
            best, found = rank, prog
    return found


def _padding(rule: Mapping[str, Any], defaults: Mapping[str, Any], key: str) -> float:
    value = rule.get(key)
    if value is None:
        value = defaults.get(key)
    return float(value or 0.0)


def _airing(rule: Mapping[str, Any], defaults: Mapping[str, Any], *, channels: list[str], start: float,
            stop: float, title: str, programme: Programme | None, key: str | None) -> Airing:
    airing = Airing(
        rule_id=rule.get("id"), priority=int(rule.get("priority") or 0), channels=channels, start=float(start),
        stop=float(stop), title=title, padding_before=_padding(rule, defaults, "padding_before"),
        padding_after=_padding(rule, defaults, "padding_after"), episode_key=key,
    )
    if programme is not None:
        airing = dataclasses.replace(
            airing, programme_id=programme.id, title=programme.title or title, subtitle=programme.subtitle,
            description=programme.description, season=programme.season, episode=programme.episode,
            original_air_date=programme.original_air_date, categories=list(programme.categories or ()),
            year=programme.year,
        )
    return airing


def _slot_airing(rule: Mapping[str, Any], programmes: list[Programme], *, start: float, stop: float,
                 numbers_for_guide: Mapping[str, list[str]], guide_for_number: Mapping[str, str],
                 defaults: Mapping[str, Any]) -> Airing:
    """A manual time slot on the rule's channel, with the guide's metadata when a programme fills it.
    A slot is recorded as asked, so it has no episode key (it is never an alternate)."""
    channel = rule["channel"]
    guide_id = guide_for_number.get(channel)
    match = slot_match(programmes, guide_id, start, stop)
    return _airing(rule, defaults, channels=_channels_for(guide_id, channel, numbers_for_guide), start=start,
                   stop=stop, title=rule.get("title") or channel, programme=match, key=None)


def _slots(rule: Mapping[str, Any], *, now: float, until: float, tz: tzinfo) -> list[tuple[float, float]]:
    """The (start, stop) of every daily/weekly slot that ends after ``now`` and starts before ``until``."""
    duration = float(rule["duration"])
    days = set(rule.get("days") or range(7))
    first = _wall(now - duration, tz).date() - timedelta(days=1)
    last = _wall(until, tz).date() + timedelta(days=1)
    out = []
    day = first
    while day <= last:
        if day.weekday() in days:
            start = local_slot_start(day, rule["start_time"], tz)
            stop = start + duration
            if stop > now and start < until:
                out.append((start, stop))
        day += timedelta(days=1)
    return out


def airings_for_rule(rule: Mapping[str, Any], programmes: list[Programme], *,
                     numbers_for_guide: Mapping[str, list[str]], guide_for_number: Mapping[str, str],
                     now: float, until: float, tz: tzinfo, defaults: Mapping[str, Any],
                     recorded_keys: set[str] | frozenset[str] = frozenset()) -> list[Airing]:
    """The airings one rule wants between ``now`` and ``until`` (UTC epoch seconds), by start.

    ``rule``: a stored rule (the fields of :data:`RULE_SCHEMA` plus ``id``); a disabled rule wants
    nothing. ``programmes``: the guide's programmes around the window (any order). ``numbers_for_guide``:
    guide channel id → lineup numbers showing it (best first); ``guide_for_number``: lineup number →
    guide channel id. ``tz``: the zone local times are read in. ``defaults``: ``padding_before`` /
    ``padding_after`` seconds for rules without their own. ``recorded_keys``: episode keys already
    recorded (for ``new_only``).

    An airing that ended (``stop`` ≤ ``now``) is left out; one in progress is included (the
    recorder starts late). ``channels`` lists every lineup number of the programme's guide
    channel, the rule's channel first; a programme whose guide channel no lineup channel shows
    gets ``channels == []`` (the scheduler reports it as ``no_source``)."""
    if not rule.get("enabled", True):
        return []
    kind = rule.get("kind")
    if kind == "once":
        out = _once(rule, programmes, numbers_for_guide=numbers_for_guide, guide_for_number=guide_for_number,
                    defaults=defaults)
        out = [a for a in out if a.stop > now and a.start < until]
    elif kind in ("daily", "weekly"):
        out = [
            _slot_airing(rule, programmes, start=start, stop=stop, numbers_for_guide=numbers_for_guide,
                         guide_for_number=guide_for_number, defaults=defaults)
            for start, stop in _slots(rule, now=now, until=until, tz=tz)
        ]
    elif kind in ("series", "keyword"):
        out = _matching(rule, programmes, numbers_for_guide=numbers_for_guide, guide_for_number=guide_for_number,
                        now=now, until=until, tz=tz, defaults=defaults, recorded_keys=recorded_keys)
    else:
        raise ValueError(f"recording rule {rule.get('id')}: unknown kind {kind!r}")
    out.sort(key=lambda a: (a.start, a.stop, a.channels, a.programme_id or 0))
    return out


def _once(rule: Mapping[str, Any], programmes: list[Programme], *, numbers_for_guide: Mapping[str, list[str]],
          guide_for_number: Mapping[str, str], defaults: Mapping[str, Any]) -> list[Airing]:
    programme_id = rule.get("programme_id")
    if programme_id is not None:
        for prog in programmes:
            if prog.id == programme_id:
                return [_airing(rule, defaults, channels=_channels_for(prog.channel, rule.get("channel"), numbers_for_guide),
                                start=prog.start, stop=prog.stop, title=prog.title, programme=prog,
                                key=episode_key(prog))]
    if rule.get("start") is None or rule.get("stop") is None or rule.get("channel") is None:
        return []  # the programme is not in the guide window (or is gone) and there is no slot to fall back on
    return [_slot_airing(rule, programmes, start=float(rule["start"]), stop=float(rule["stop"]),
                         numbers_for_guide=numbers_for_guide, guide_for_number=guide_for_number, defaults=defaults)]


def _matching(rule: Mapping[str, Any], programmes: list[Programme], *, numbers_for_guide: Mapping[str, list[str]],
              guide_for_number: Mapping[str, str], now: float, until: float, tz: tzinfo,
              defaults: Mapping[str, Any], recorded_keys: set[str] | frozenset[str]) -> list[Airing]:
    channel = rule.get("channel")
    guide_id = None
    if channel is not None:
        guide_id = guide_for_number.get(channel)
        if guide_id is None:
            return []  # the rule's channel has no guide: nothing can match
    if rule["kind"] == "series":
        wanted = normalise_title(rule.get("title"))

        def matches(prog: Programme) -> bool:
            return normalise_title(prog.title) == wanted
    else:
        pattern = keyword_pattern(rule.get("keyword") or "")

        def matches(prog: Programme) -> bool:
            return any(text and pattern.search(text) for text in (prog.title, prog.subtitle, prog.description))

    new_only = bool(rule.get("new_only"))
    out = []
    for prog in programmes:
        if prog.stop <= now or prog.start >= until:
            continue
        if guide_id is not None and prog.channel != guide_id:
            continue
        if not _in_window(prog.start, rule.get("after"), rule.get("before"), tz):
            continue
        if not matches(prog):
            continue
        key = episode_key(prog)
        if new_only and ((prog.previously_shown and not prog.new) or (key is not None and key in recorded_keys)):
            continue
        out.append(_airing(rule, defaults, channels=_channels_for(prog.channel, channel, numbers_for_guide),
                           start=prog.start, stop=prog.stop, title=prog.title, programme=prog, key=key))
    return out
