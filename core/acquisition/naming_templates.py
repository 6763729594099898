"""Naming templates: ``{Series Title} - S{season:00}E{episode:00} - {Episode Title} {Quality Full}``
→ ``Show Name - S01E02 - Episode Title WEBDL-1080p``.

The token vocabulary and its behaviour follow Sonarr's and Radarr's naming settings so that users
can paste the formats they already have (source: Sonarr/Radarr "Media Management → Episode
Naming" and their file-name builder's documented behaviour). The full list with examples is in
``docs/naming.md``.

Grammar of a token: ``{`` *prefix* *Name* [``:`` *format*] *suffix* ``}``

- *Name* is one or more words (``Series Title``, ``Air-Date``, ``Series.Title``); matching is
  case-insensitive. The character between the words is the *separator*: when it is not a
  space, spaces in the value are replaced by it (``{Series.Title}`` → ``Show.Name``; the date of
  ``{Air-Date}``/``{Air.Date}``/``{Air Date}`` is joined with it). A name written all in lower
  case gives a lower-case value, all in upper case an upper-case value.
- *prefix* (any of ``- ._[(``) and *suffix* (any of ``- ._)]``) are written only when the value
  is not empty: ``{[Quality Full]}``, ``{-Release Group}``.
- *format* is for the numbers: ``{season:00}`` pads to two digits, ``{absolute:000}`` to three.

Empty values collapse: a token with nothing to say disappears together with the separators
around it (``Show - S01E02 -  WEBDL`` never happens; it is ``Show - S01E02 - WEBDL``), and
brackets left empty are removed. ``{season}``, ``{episode}`` and ``{absolute}`` are the
exception: without a value they raise :class:`ValueError` — a file name missing its episode
number would collide with its siblings.

Output is one file-system-safe path component: ``/ \\`` → ``+``, ``:`` → ``-`` (``Title: Sub``
→ ``Title - Sub``), ``*`` → ``-``, ``?`` → ``!``, ``"`` → ``'``, ``< > |`` and control
characters removed, leading/trailing dots and spaces trimmed, and at most 255 bytes of UTF-8
(``max_bytes``), shortening the episode title first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: Canonical token names (as shown to users) → the key the renderer uses.
TOKENS: dict[str, str] = {
    "Series Title": "series title",
    "Series CleanTitle": "series cleantitle",
    "Series TitleYear": "series titleyear",
    "Year": "year",
    "season:00": "season",
    "episode:00": "episode",
    "absolute:000": "absolute",
    "Episode Title": "episode title",
    "Episode CleanTitle": "episode cleantitle",
    "Air-Date": "air date",
    "Quality Full": "quality full",
    "Quality Title": "quality title",
    "Release Group": "release group",
    "Movie Title": "movie title",
    "Movie CleanTitle": "movie cleantitle",
    "Movie TitleYear": "movie titleyear",
    "Edition Tags": "edition tags",
    "Original Title": "original title",
    "Original Filename": "original filename",
}
_KEYS = frozenset(TOKENS.values())
_NUMBERS = frozenset({"season", "episode", "absolute"})
_KNOWN_LIST = ", ".join("{" + name + "}" for name in TOKENS)

#: What each naming setting must contain so that two different files never get the same name
#: (alternatives: any one group of keys is enough).
REQUIRED: dict[str, tuple[frozenset[str], ...]] = {
    "episode": (frozenset({"season", "episode"}),),
    "daily_episode": (frozenset({"air date"}), frozenset({"season", "episode"})),
    "anime_episode": (frozenset({"absolute"}), frozenset({"season", "episode"})),
    "series_folder": (frozenset({"series title"}), frozenset({"series cleantitle"}), frozenset({"series titleyear"})),
    "season_folder": (frozenset({"season"}),),
    "movie": (
        frozenset({"movie title"}), frozenset({"movie cleantitle"}), frozenset({"movie titleyear"}),
        frozenset({"original title"}), frozenset({"original filename"}),
    ),
    "movie_folder": (frozenset({"movie title"}), frozenset({"movie cleantitle"}), frozenset({"movie titleyear"})),
}

_TOKEN_BODY = re.compile(
    r"^(?P<prefix>[-. _\[(]*)"
    r"(?P<name>[A-Za-z][A-Za-z0-9]*(?:[-. _][A-Za-z][A-Za-z0-9]*)*)"
    r"(?::(?P<format>[^}]*))?"
    r"(?P<suffix>[-. _)\]]*)$"
)
_SEP_CHARS = "-. _"
_EMPTY = "\x00"  # marks a token that rendered to nothing, until the clean-up removes it


@dataclass(frozen=True, slots=True)
class _Token:
    raw: str
    prefix: str
    key: str
    separator: str
    case: str  # "", "lower" or "upper"
    pad: int | None
    suffix: str


@lru_cache(maxsize=256)
def _parse(template: str) -> tuple[str | _Token, ...]:
    if not isinstance(template, str):
        raise ValueError(f"a naming template must be a string, got {type(template).__name__}")
    parts: list[str | _Token] = []
    pos = 0
    while pos < len(template):
        open_at = template.find("{", pos)
        close_at = template.find("}", pos)
        if close_at != -1 and (open_at == -1 or close_at < open_at):
            raise ValueError(f"naming template {template!r}: '}}' at position {close_at} has no matching '{{'")
        if open_at == -1:
            parts.append(template[pos:])
            break
        if open_at > pos:
            parts.append(template[pos:open_at])
        end = template.find("}", open_at)
        nested = template.find("{", open_at + 1)
        if end == -1 or (nested != -1 and nested < end):
            raise ValueError(f"naming template {template!r}: '{{' at position {open_at} is not closed")
        parts.append(_token(template, template[open_at + 1:end]))
        pos = end + 1
    for part in parts:
        if isinstance(part, str) and ("/" in part or "\\" in part):
            raise ValueError(
                f"naming template {template!r}: '/' and '\\' are not allowed; a template names one file "
                "or one folder (use series_folder / season_folder / movie_folder for folders)"
            )
    return tuple(parts)


def _token(template: str, body: str) -> _Token:
    m = _TOKEN_BODY.match(body)
    if not m:
        raise ValueError(f"naming template {template!r}: cannot read token {{{body}}}; known tokens: {_KNOWN_LIST}")
    name = m["name"]
    words = re.split(r"[-. _]", name)
    key = " ".join(w.lower() for w in words)
    if key not in _KEYS:
        raise ValueError(f"naming template {template!r}: unknown token {{{name}}}; known tokens: {_KNOWN_LIST}")
    seps = [c for c in name if c in _SEP_CHARS]
    separator = seps[0] if seps else " "
    letters = [c for c in name if c.isalpha()]
    case = ""
    if key not in _NUMBERS and key != "year":
        if all(c.islower() for c in letters):
            case = "lower"
        elif len(letters) > 1 and all(c.isupper() for c in letters):
            case = "upper"
    fmt = m["format"]
    pad: int | None = None
    if fmt is not None:
        if key not in _NUMBERS or not re.fullmatch(r"0+", fmt):
            raise ValueError(
                f"naming template {template!r}: {{{body}}}: a format (':00') is only allowed on "
                "{season}, {episode} and {absolute}, and is one or more zeros"
            )
        pad = len(fmt)
    return _Token("{" + body + "}", m["prefix"], key, separator, case, pad, m["suffix"])


def validate(template: str, *, setting: str | None = None) -> frozenset[str]:
    """Check ``template``; return the token keys it uses (``"series title"``, ``"season"`` …).

    ``setting`` (a key of the ``acquisition: naming:`` section, e.g. ``"episode"``) also checks
    that the template can tell files apart (:data:`REQUIRED`). Raises :class:`ValueError` with a
    message naming the problem and, for unknown tokens, listing the known ones.
    """
    keys = frozenset(p.key for p in _parse(template) if isinstance(p, _Token))
    if setting is not None and setting in REQUIRED:
        groups = REQUIRED[setting]
        if not any(group <= keys for group in groups):
            order = list(TOKENS.values())
            need = " or ".join(" and ".join(_display(k) for k in sorted(g, key=order.index)) for g in groups)
            raise ValueError(
                f"naming.{setting} {template!r} must contain {need}, or different files would get the same name"
            )
    return keys


def validate_naming(naming: Mapping[str, str]) -> dict[str, str]:
    """Validate a whole ``acquisition: naming:`` section (as voluptuous ``vol.All`` step);
    returns it unchanged. Raises :class:`ValueError` naming the setting at fault."""
    for setting, template in naming.items():
        validate(template, setting=setting)
    return dict(naming)


def naming_validator(naming: Mapping[str, str]) -> dict[str, str]:
    """:func:`validate_naming` for voluptuous schemas (``vol.All(NAMING_SCHEMA, naming_validator)``):
    raises ``vol.Invalid`` carrying the message and the setting's key as its path (voluptuous
    would turn a plain ValueError into "not a valid value")."""
    import voluptuous as vol

    for setting, template in naming.items():
        try:
            validate(template, setting=setting)
        except ValueError as exc:
            raise vol.Invalid(str(exc), path=[setting]) from exc
    return dict(naming)


def _display(key: str) -> str:
    for name, k in TOKENS.items():
        if k == key:
            return "{" + name + "}"
    return "{" + key + "}"


def render(template: str, values: Mapping[str, Any], *, max_bytes: int = 255, reserve: int = 0) -> str:
    """Render ``template`` with ``values`` into one file-system-safe name component.

    ``values`` keys (all optional; missing or ``None`` means "no value"):

    - ``series_title``, ``movie_title`` (str), ``year`` (int)
    - ``season`` (int); ``episodes`` (list of int, several for a multi-episode file) or
      ``episode`` (int); ``absolute_episodes`` (list) or ``absolute_episode`` (int)
    - ``episode_titles`` (list of str) or ``episode_title`` (str); ``air_date`` ("YYYY-MM-DD")
    - ``quality`` (a quality name, ``WEBDL-1080p``), ``proper``/``repack`` (bool), ``version``
      (int, the release's revision), ``series_type`` (``"anime"`` shows versions as ``v2``)
    - ``release_group``, ``edition`` (str or list of str), ``original_title`` (the release
      title), ``original_filename`` (the downloaded file's name without extension)

    Multi-episode files use the "prefixed range" style: the letters written just before
    ``{episode}`` repeat before the last number — ``S{season:00}E{episode:00}`` gives
    ``S01E01-E03``, ``{season}x{episode:00}`` gives ``1x01-x03``, no letters give ``01-03``.

    The result is at most ``max_bytes - reserve`` bytes of UTF-8 (``reserve``: room for an
    extension the caller appends). Raises :class:`ValueError` for a bad template, a missing
    season/episode/absolute number, or an empty result.
    """
    parts = _parse(template)
    limit = max_bytes - reserve
    if limit < 16:
        raise ValueError(f"max_bytes - reserve must leave at least 16 bytes, got {limit}")
    text = _render_once(parts, values, None)
    if len(text.encode()) > limit:
        titles = _episode_title(values)
        if titles:
            excess = len(text.encode()) - limit
            budget = len(titles.encode()) - excess - len("…".encode())
            short = _cut_bytes(titles, max(budget, 0)).rstrip(" .-") + "…" if budget > 0 else ""
            text = _render_once(parts, values, short)
        if len(text.encode()) > limit:
            text = _trim(_cut_bytes(text, limit))
    if not text:
        raise ValueError(f"naming template {template!r} rendered to an empty name with these values")
    return text


def _render_once(parts: tuple[str | _Token, ...], values: Mapping[str, Any], title_override: str | None) -> str:
    out: list[str] = []
    previous_literal = ""
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            previous_literal = part
            continue
        value = _value(part, values, previous_literal, title_override)
        previous_literal = ""
        if value:
            if part.separator != " ":
                value = value.replace(" ", part.separator)
            if part.case == "lower":
                value = value.lower()
            elif part.case == "upper":
                value = value.upper()
            out.append(part.prefix + value + part.suffix)
        else:
            out.append(_EMPTY)
    return _finish(_collapse("".join(out)))


def _numbers(values: Mapping[str, Any], many: str, one: str) -> list[int]:
    seq = values.get(many)
    if seq:
        return sorted({int(n) for n in seq})
    single = values.get(one)
    return [int(single)] if single is not None else []


def _fmt_number(n: int, pad: int | None) -> str:
    return str(n).zfill(pad) if pad else str(n)


def _value(tok: _Token, values: Mapping[str, Any], before: str, title_override: str | None) -> str:
    key = tok.key
    if key in _NUMBERS:
        if key == "season":
            nums = [] if values.get("season") is None else [int(values["season"])]
        elif key == "episode":
            nums = _numbers(values, "episodes", "episode")
        else:
            nums = _numbers(values, "absolute_episodes", "absolute_episode")
        if not nums:
            raise ValueError(f"the naming template uses {tok.raw} but there is no {key} number for this file")
        first = _fmt_number(nums[0], tok.pad)
        if len(nums) == 1:
            return first
        letters = re.search(r"[A-Za-z]{1,3}$", before)
        return f"{first}-{letters.group(0) if letters else ''}{_fmt_number(nums[-1], tok.pad)}"
    if key == "year":
        return str(values["year"]) if values.get("year") else ""
    if key in ("series title", "movie title"):
        return _text(values.get(key.replace(" ", "_")))
    if key in ("series cleantitle", "movie cleantitle"):
        return clean_title(_text(values.get(key.split()[0] + "_title")))
    if key in ("series titleyear", "movie titleyear"):
        return _title_year(_text(values.get(key.split()[0] + "_title")), values.get("year"))
    if key == "episode title":
        return title_override if title_override is not None else _episode_title(values)
    if key == "episode cleantitle":
        return clean_title(title_override if title_override is not None else _episode_title(values))
    if key == "air date":
        date = _text(values.get("air_date"))
        return date.replace("-", " ") if date else ""
    if key == "quality title":
        return _text(values.get("quality"))
    if key == "quality full":
        return quality_full(values)
    if key == "release group":
        return _text(values.get("release_group"))
    if key == "edition tags":
        edition = values.get("edition")
        if isinstance(edition, (list, tuple)):
            return " ".join(_text(e) for e in edition if _text(e))
        return _text(edition)
    if key == "original title":
        return _text(values.get("original_title"))
    if key == "original filename":
        return _text(values.get("original_filename"))
    raise AssertionError(key)  # pragma: no cover - _parse only lets known keys through


def _text(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


def _title_year(title: str, year: Any) -> str:
    if not title or not year:
        return title
    if re.search(rf"[(\s]{int(year)}\)?$", title):
        return title
    return f"{title} ({int(year)})"


def _episode_title(values: Mapping[str, Any]) -> str:
    titles = values.get("episode_titles")
    if titles is None:
        titles = [values.get("episode_title")]
    names = [_text(t) for t in titles if _text(t)]
    if not names:
        return ""
    # "Title (1)" + "Title (2)" → "Title" (a two-part episode), as Sonarr names them.
    bases = {re.sub(r"\s*\(\d+\)$", "", n) for n in names}
    if len(names) > 1 and len(bases) == 1:
        return bases.pop()
    unique: list[str] = []
    for n in names:
        if n not in unique:
            unique.append(n)
    return " + ".join(unique)


def quality_full(values: Mapping[str, Any]) -> str:
    """``{Quality Full}``: the quality name and its revision — ``WEBDL-1080p``,
    ``WEBDL-1080p Proper``, ``HDTV-720p Repack``, ``HDTV-720p v2`` for anime (Sonarr's wording)."""
    name = _text(values.get("quality"))
    if not name or name == "Unknown":
        return ""
    version = values.get("version") or 1
    if values.get("series_type") == "anime" and version > 1:
        return f"{name} v{version}"
    if values.get("repack"):
        return f"{name} Repack"
    if values.get("proper") or version > 1:
        return f"{name} Proper"
    return name


def clean_title(title: str) -> str:
    """A title without punctuation: ``&`` → ``and``, apostrophes, ``: ? ! ,`` and brackets
    removed, accents dropped — ``Marvel's Agents of S.H.I.E.L.D.`` →
    ``Marvels Agents of SHIELD``."""
    if not title:
        return ""
    t = title.replace("&", " and ")
    t = re.sub(r"[/\\]", " ", t)
    t = re.sub(r"['’`´:?!,;()\[\]{}\"<>|*~@$%^=]", "", t)
    t = re.sub(r"(?<=\b\w)\.(?=\w\b)", "", t)  # S.H.I.E.L.D → SHIELD
    t = re.sub(r"(?<=\s)[-_.](?=\s)", " ", t)
    t = re.sub(r"\.(?=\s|$)", "", t)
    t = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
    return " ".join(t.split())


_RUN = re.compile(rf"[{re.escape(_SEP_CHARS)}]*{_EMPTY}(?:[{re.escape(_SEP_CHARS)}]*{_EMPTY})*[{re.escape(_SEP_CHARS)}]*")
_BRACKETS = {"(": ")", "[": "]", "{": "}"}


def _collapse(text: str) -> str:
    """Remove empty-token markers with the separators around them, and brackets they leave empty."""
    if _EMPTY not in text:
        return text
    # Brackets that hold nothing but empty tokens and separators: drop them whole.
    text = re.sub(rf"[(\[]\s*{_EMPTY}(?:[\s{re.escape(_SEP_CHARS)}]*{_EMPTY})*\s*[)\]]", _EMPTY, text)

    def repl(m: re.Match[str]) -> str:
        start, end = m.start(), m.end()
        if start == 0 or end == len(m.string):
            return ""
        if m.string[start - 1] in _BRACKETS or m.string[end] in _BRACKETS.values():
            return ""
        pieces = [p for p in m.group(0).split(_EMPTY) if p]
        return max(pieces, key=len) if pieces else ""

    return _RUN.sub(repl, text)


_REPLACE = {"/": "+", "\\": "+", "*": "-", "?": "!", '"': "'", "<": "", ">": "", "|": ""}
_UNSAFE = re.compile(r'[/\\*?"<>|\x00-\x1f\x7f]')


def safe_component(text: str) -> str:
    """Make ``text`` usable as one file or folder name on Linux, macOS and Windows/SMB."""
    text = re.sub(r"\s*:\s+", " - ", text)
    text = text.replace(":", "-")
    text = _UNSAFE.sub(lambda m: _REPLACE.get(m.group(0), ""), text)
    return _trim(text)


def _trim(text: str) -> str:
    return re.sub(r"\s{2,}", " ", text).strip(" .")


def _finish(text: str) -> str:
    return safe_component(text)


def _cut_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, never inside a character."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", errors="ignore")


def known_tokens() -> Iterable[str]:
    """The token names as users write them (``Series Title``, ``season:00`` …)."""
    return tuple(TOKENS)
