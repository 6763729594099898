"""The decision engine: which of the releases an indexer offered are acceptable, why the others
are not, and which accepted one is best.

Pure, synchronous and free of I/O: everything it needs comes in as arguments (the wanted title as
a :class:`SearchSubject`, the state of the hub as a :class:`DecisionContext`). It calls
:func:`~omnimedia.core.library.naming.parse_name` (guessit, ~5–20 ms a name) for every release
whose title can be the wanted one, so the engine runs it on the naming thread
(:func:`~omnimedia.core.library.naming.run_off_loop`), never on the event loop.

- :func:`decide` — releases × one wanted title (or a free search) → one :class:`Decision` per
  release, ranked: accepted first, then *pending* (only waiting for a delay or a minimum age),
  then rejected. Every rejection is a sentence a user can act on.
- :func:`decide_rss` — releases × many wanted titles (RSS sync): each release is matched to its
  title by name once, then judged against that title.
- :func:`best` / :func:`pick_grabs` — the release to grab / the releases to grab so that no
  target is covered twice.

The rules and the ranking follow what Sonarr and Radarr do (their ``DecisionEngine``
specifications and ``DownloadDecisionComparer``, read for behaviour); each rule, its reason text
and every deliberate difference are listed in ``docs/acquisition.md``, "Decisions and ranking".

Units: sizes in bytes (limits are configured in MB per minute, binary MB), times in UTC seconds
since the epoch, ages and delays in minutes.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..library.naming import parse_name
from .quality import MB, QualityProfile, default_profile, format_size, rank
from .types import Release

# -------------------------------------------------------------------------------------------------
# Inputs and outputs
# -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class TargetState:
    """One wanted unit: an episode, the movie, an album or a book.

    ``kind`` is ``"episode"``, ``"movie"``, ``"album"`` or ``"book"``. Episodes are found by
    ``season``/``episode``, by ``air_date`` ("YYYY-MM-DD", daily shows) or by
    ``absolute_episode`` (anime). ``file_quality`` is the quality name of the file already in the
    library (None = missing), with its preferred-word ``file_score`` and ``file_revision``
    (1 = original, 2 = PROPER/REPACK …; None counts as 1). ``runtime`` is minutes.
    """

    id: int
    kind: str
    season: int | None = None
    episode: int | None = None
    absolute_episode: int | None = None
    air_date: str | None = None
    monitored: bool = True
    file_quality: str | None = None
    file_score: int | None = None
    file_revision: int | None = None
    runtime: float | None = None


@dataclass(slots=True)
class SearchSubject:
    """One wanted title (a series, a movie, an album or a book) and its targets.

    ``media_type`` is ``"series"``, ``"movie"``, ``"album"`` or ``"book"``. ``aliases`` are other
    names releases may use. ``runtime`` (minutes) is the default for targets without one.
    ``targets`` may be every target of the title or only the wanted ones: a release that holds a
    target not listed here is rejected ("not a wanted episode").

    ``season_episodes`` (optional, added to the brief's interface) maps a season number to how
    many episodes the season has in total; it sizes season packs when ``targets`` lists only
    the wanted episodes (otherwise the targets of that season are counted).
    """

    id: int | None
    media_type: str
    title: str
    profile: QualityProfile
    year: int | None = None
    aliases: list[str] = field(default_factory=list)
    targets: list[TargetState] = field(default_factory=list)
    runtime: float | None = None
    season_episodes: dict[int, int] = field(default_factory=dict)


def _no_block(release: Release) -> str | None:
    return None


@dataclass(slots=True)
class DecisionContext:
    """The hub's state that decisions depend on.

    ``now``: UTC epoch seconds (ages are measured against it). ``blocklist(release)`` returns the
    reason a release is blocklisted, None when it is not. ``grabbed_release_keys``: the
    :attr:`Release.key` of every grab active or done; ``queued_target_ids``: targets a grab in
    progress covers. ``free_space``: bytes free at the destination (None = unknown);
    ``minimum_free_space``: bytes that must stay free. ``user_initiated`` (added): an
    interactive search the user started — the delay does not apply to it (as in Sonarr).
    """

    now: float
    blocklist: Callable[[Release], str | None] = _no_block
    grabbed_release_keys: frozenset[str] = frozenset()
    queued_target_ids: frozenset[int] = frozenset()
    free_space: int | None = None
    minimum_free_space: int = 0
    user_initiated: bool = False


@dataclass(slots=True)
class Decision:
    """The verdict on one release.

    ``quality`` is the Sonarr/Radarr quality name (``"Unknown"`` when the name says nothing),
    ``revision`` 1 for an original release, 2+ for a PROPER/REPACK or an anime ``v2``; ``score``
    the sum of the profile's preferred-word scores the title matches. ``target_ids`` are the
    targets the release would fill. ``rejections`` holds the reasons (empty = accepted);
    ``pending`` is True when the only reasons are temporary (delay, minimum age), so the same
    release may be accepted later. ``subject_id`` (added) is the wanted title it was judged
    against (None for a free search or an unmatched release). ``parsed`` is
    :func:`~omnimedia.core.library.naming.parse_name`'s dict, or ``{}`` when the release was
    rejected on its name alone without being parsed (see :func:`decide`).
    """

    release: Release
    parsed: dict
    quality: str
    revision: int
    score: int
    target_ids: list[int]
    rejections: list[str]
    pending: bool = False
    subject_id: int | None = None
    rank_key: tuple = field(default=(), repr=False, compare=False)

    @property
    def accepted(self) -> bool:
        return not self.rejections

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{release, parsed, quality, revision, score, accepted, pending,
        rejections, target_ids, subject_id}``."""
        return {
            "release": self.release.as_dict(), "parsed": dict(self.parsed), "quality": self.quality,
            "revision": self.revision, "score": self.score, "accepted": self.accepted,
            "pending": self.pending, "rejections": list(self.rejections),
            "target_ids": list(self.target_ids), "subject_id": self.subject_id,
        }


# -------------------------------------------------------------------------------------------------
# Titles
# -------------------------------------------------------------------------------------------------
#: Words left out when comparing titles ("The Office" = "Office", "Law & Order" = "Law and Order"
#: = "Law Order"), as Sonarr's ``CleanSeriesTitle`` does with its articles and conjunctions.
_STOP_WORDS = frozenset({"the", "a", "an", "and"})
_SPLIT = re.compile(r"[\W_]+")
#: Single letters written apart ("S.W.A.T.", "S W A T", "S.H.I.E.L.D"): read as one word, so that
#: their "A" is not taken for the article.
_ABBREVIATION = re.compile(r"\b(?:[^\W\d_][.\s_])+[^\W\d_]\b")
_SEPARATORS = re.compile(r"[.\s_]")
_TRAILING_PAREN = re.compile(r"\s*[(\[]([^)\]]*)[)\]]\s*$")
_LEADING_JUNK = re.compile(
    r"^(?:\s*(?:\[[^\]]*\]|【[^】]*】|\((?!\d{4}\))[^)]*\)|www\.[\w.-]+\.\w{2,4}|[\w-]+\.(?:com|org|net|to)\s*-)\s*[-_.]?)+",
    re.IGNORECASE,
)


@lru_cache(maxsize=8192)
def clean_title(text: str) -> str:
    """A title folded for comparison: letters written apart joined ("S.W.A.T." = "S W A T" = "SWAT"), accents
    dropped, case folded, ``&`` read as "and", the words "the", "a", "an", "and" and all
    punctuation and spaces removed.
    ``"The Office (US)"`` → ``"officeus"``; ``"Marvel's Agents of S.H.I.E.L.D."`` →
    ``"marvelsagentsofshield"``."""
    text = _ABBREVIATION.sub(lambda m: _SEPARATORS.sub("", m.group(0)) + " ", text)
    text = unicodedata.normalize("NFKD", text.replace("&", " and "))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return "".join(w for w in _SPLIT.split(text) if w and w not in _STOP_WORDS)


@lru_cache(maxsize=8192)
def _name_key(release_title: str) -> str:
    """The release name folded like :func:`clean_title` after leading ``[group]`` tags and site
    prefixes are dropped: a wanted title's folded form is a prefix of it when it can be that title."""
    stripped = _LEADING_JUNK.sub("", release_title) or release_title
    return clean_title(stripped)


def title_variants(subject: SearchSubject) -> set[str]:
    """The folded names ``subject`` may appear under: its title, the title without a trailing
    ``(…)`` (country or year, "The Office (US)" → "The Office"), the title with its year, and
    each alias likewise."""
    out: set[str] = set()
    for name in [subject.title, *subject.aliases]:
        if not name:
            continue
        out.add(clean_title(name))
        m = _TRAILING_PAREN.search(name)
        if m:
            out.add(clean_title(name[: m.start()]))
        if subject.year:
            out.add(clean_title(f"{name} {subject.year}"))
    out.discard("")
    return out


def _title_match(parsed: dict[str, Any], subject: SearchSubject, variants: set[str]) -> str | None:
    """None when the parsed title is ``subject``'s, else the reason it is not."""
    title = parsed.get("title")
    if not title:
        return "The release name has no recognisable title"
    year = parsed.get("year")
    if year and clean_title(f"{title} {year}") in variants:
        # "Doctor Who 2005" for "Doctor Who (2005)", "Frozen 2013" for Frozen (2013).
        return None
    country = parsed.get("country")
    if country and any(clean_title(f"{title} {c}") in variants for c in _country_names(country)):
        return None   # "The.Office.US" for The Office (US)
    if clean_title(title) not in variants:
        return f"Title '{title}' does not match {subject.title}"
    wanted_country = _country(subject.title)
    if country and wanted_country and _COUNTRY_ALIASES.get(country, country) != wanted_country:
        return f"Title '{title}' ({country}) does not match {subject.title}"
    if year and subject.year and abs(int(year) - int(subject.year)) > 1:
        return f"Year {year} does not match {subject.title} ({subject.year})"
    return None


_COUNTRY_ALIASES = {"UK": "GB"}
_COUNTRY_SUFFIX = re.compile(r"\(([A-Za-z]{2})\)\s*$")


@lru_cache(maxsize=256)
def _country_names(code: str) -> tuple[str, ...]:
    """How a title may write the country ``code`` (ISO alpha-2): "GB", "UK", "United Kingdom";
    "AU", "Australia". Names from babelfish (guessit's country database)."""
    names = [code]
    if code.upper() == "GB":
        names.append("UK")
    if code.upper() == "US":
        names.append("USA")
    try:
        from babelfish import Country

        names.append(Country(code.upper()).name)
    except Exception:  # noqa: BLE001 - unknown code or babelfish missing: the code alone
        pass
    return tuple(names)


def _country(title: str) -> str | None:
    """The country of a title written like "The Office (US)" (ISO alpha-2, UK read as GB)."""
    m = _COUNTRY_SUFFIX.search(title)
    if not m:
        return None
    code = m.group(1).upper()
    return _COUNTRY_ALIASES.get(code, code)


# -------------------------------------------------------------------------------------------------
# Terms (must contain / must not contain / preferred words)
# -------------------------------------------------------------------------------------------------
_REGEX_TERM = re.compile(r"^/(.*)/([a-z]*)$", re.S)


@lru_cache(maxsize=2048)
def term_pattern(term: str) -> re.Pattern[str]:
    """A profile term → its compiled pattern.

    ``/regex/`` or ``/regex/i`` (flags ``i``, ``m``, ``s``, ``x``) is a Python regular
    expression searched in the release title. Any other term is a plain word: case-insensitive,
    matched as a whole token (not inside a longer word or number), so ``CAM`` matches
    ``Movie.2019.CAM.x264`` but not ``Cambridge`` and ``x265`` matches ``HEVC.x265-GRP``.
    Raises ``ValueError`` naming the term when a regular expression does not compile.
    """
    m = _REGEX_TERM.match(term)
    if m and m.group(1):
        flags = 0
        for ch in m.group(2):
            flags |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}.get(ch, 0)
        try:
            return re.compile(m.group(1), flags)
        except re.error as err:
            raise ValueError(f"'{term}' is not a valid regular expression: {err}") from err
    return re.compile(r"(?<![0-9a-z])" + re.escape(term.strip()) + r"(?![0-9a-z])", re.IGNORECASE)


def score_title(title: str, preferred_words: dict[str, int]) -> int:
    """Sum of the scores of the preferred words ``title`` matches (invalid regexes count 0)."""
    total = 0
    for term, value in preferred_words.items():
        try:
            if term_pattern(term).search(title):
                total += value
        except ValueError:
            continue
    return total


# -------------------------------------------------------------------------------------------------
# Helpers
# -------------------------------------------------------------------------------------------------
def release_revision(parsed: dict[str, Any]) -> int:
    """1 for an original release; 2 (or the anime ``vN``) for PROPER / REPACK / ``v2``.
    Uses the parser's ``revision`` when it gives one."""
    revision = parsed.get("revision")
    if isinstance(revision, int) and revision > 0:
        return revision
    value = parsed.get("version") if isinstance(parsed.get("version"), int) else 1
    if parsed.get("proper") or parsed.get("repack"):
        value = max(value, 2)
    return max(value, 1)


def _plural(n: float, word: str) -> str:
    n = int(n) if float(n).is_integer() else round(n, 1)
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _minutes(value: float) -> str:
    return _plural(round(value) if value >= 1 else round(value, 1), "minute")


def _label(target: TargetState) -> str:
    """How a user names a target in a sentence: ``S03E05``, ``the 2012-02-27 episode``,
    ``episode 1071``; empty for a movie/album/book (the title itself is used)."""
    if target.kind != "episode":
        return ""
    if target.season is not None and target.episode is not None:
        return f"S{target.season:02d}E{target.episode:02d}"
    if target.air_date:
        return f"the {target.air_date} episode"
    if target.absolute_episode is not None:
        return f"episode {target.absolute_episode}"
    return f"episode {target.id}"


def _episode_label(season: int | None, episode: int) -> str:
    return f"S{season:02d}E{episode:02d}" if season is not None else f"episode {episode}"


def _upgrade_problem(profile: QualityProfile, target: TargetState, quality: str, revision: int, score: int) -> str | None:
    """None when a release of ``quality``/``revision``/``score`` is wanted for ``target``
    (missing, or an upgrade the profile allows); else the sentence saying why not.

    Source: Sonarr's ``UpgradableSpecification`` / ``UpgradeDiskSpecification`` /
    ``UpgradeAllowedSpecification``: a PROPER/REPACK of the file's own quality is taken even past
    the cutoff and with upgrades off; anything else needs upgrades on, the cutoff not met, and a
    better quality (or the same quality with a higher score)."""
    have = target.file_quality
    if have is None:
        return None
    label = _label(target)
    for_label = f" for {label}" if label else ""
    have_revision = target.file_revision or 1
    have_score = target.file_score or 0
    have_rank, new_rank = rank(have), rank(quality)
    if new_rank == have_rank and revision > have_revision:
        return None
    if profile.meets_cutoff(have):
        return f"Already have {have}{for_label}, which meets the cutoff {profile.cutoff}"
    if new_rank < have_rank:
        return f"Already have {have}{for_label}, which is better than {quality}"
    if new_rank == have_rank:
        if revision < have_revision:
            return f"Already have {have}{for_label} in a newer revision (PROPER/REPACK) than this release"
        if score <= have_score:
            return (f"Already have {have}{for_label} with score {have_score}; "
                    f"this release ({quality}, score {score}) is not an upgrade")
    if not profile.upgrades_allowed:
        return f"Already have {have}{for_label} and profile {profile.name} does not allow upgrades"
    return None


def _age_minutes(release: Release, now: float) -> float | None:
    if release.published is None:
        return None
    return max(0.0, (now - release.published) / 60.0)


def _log_bucket(value: int | None) -> int:
    """Sonarr's coarse peer buckets: round(log10(n)) — 1–3 → 0, 4–31 → 1, 32–316 → 2 …"""
    return round(math.log10(value)) if value and value > 0 else -1


def _usenet_age_bucket(release: Release, now: float) -> float:
    """Newer is better, in Sonarr's buckets: < 1 h, ≤ 24 h, ≤ 7 days, then -round(log10(days))."""
    age = _age_minutes(release, now)
    if age is None:
        return -100.0
    hours = age / 60.0
    if hours < 1:
        return 1000.0
    if hours <= 24:
        return 100.0
    days = hours / 24.0
    if days <= 7:
        return 10.0
    return -float(round(math.log10(days)))


_SIZE_STEP = 200 * MB


def _rank_key(decision: Decision, preferred_protocol: str, now: float) -> tuple:
    """Smaller sorts first. The ranking (docs/acquisition.md, "Decisions and ranking"):
    quality rank → revision → score → preferred protocol → wanted targets covered → torrent
    seeders then peers (log buckets) / usenet age (newer first, buckets) → size (larger first, in
    200 MB steps; unknown last) → indexer priority (lower number first)."""
    r = decision.release
    if r.protocol == "torrent":
        swarm = (-_log_bucket(r.seeders), -_log_bucket(r.peers))
    else:
        swarm = (-_usenet_age_bucket(r, now), 0)
    size = -round(r.size / _SIZE_STEP) if r.size else 1
    return (-rank(decision.quality), -decision.revision, -decision.score,
            0 if r.protocol == preferred_protocol else 1, -len(decision.target_ids),
            *swarm, size, r.indexer_priority)


# -------------------------------------------------------------------------------------------------
# Which targets a release holds
# -------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Coverage:
    targets: list[TargetState]          # the targets the release fills (wanted ones must be all)
    size_episodes: int | None = None    # episodes the release holds, for its size limit
    problems: list[str] = field(default_factory=list)
    full_season: bool = False


def _series_coverage(parsed: dict[str, Any], subject: SearchSubject) -> _Coverage:
    season = parsed.get("season")
    seasons = [s for s in (parsed.get("seasons") or []) if isinstance(s, int)] or (
        [season] if isinstance(season, int) else [])
    episodes = [e for e in (parsed.get("episodes") or []) if isinstance(e, int)]
    if not episodes and isinstance(parsed.get("episode"), int):
        episodes = [parsed["episode"]]
    air_date = parsed.get("air_date")
    absolutes = [a for a in (parsed.get("absolute_episodes") or []) if isinstance(a, int)]
    if not absolutes and isinstance(parsed.get("absolute_episode"), int):
        absolutes = [parsed["absolute_episode"]]
    full_season = bool(parsed.get("full_season")) or (
        bool(seasons) and not episodes and not air_date and not absolutes)
    targets = subject.targets

    if air_date:
        found = [t for t in targets if t.air_date == air_date]
        if not found:
            return _Coverage([], problems=[f"The {air_date} episode is not a wanted episode of {subject.title}"])
        return _Coverage(found, len(found))

    if full_season:
        found = [t for t in targets if t.season in seasons]
        label = ", ".join(str(s) for s in seasons)
        word = "Season" if len(seasons) == 1 else "Seasons"
        if not found:
            return _Coverage([], problems=[f"{word} {label} of {subject.title} has no wanted episodes"], full_season=True)
        monitored = [t for t in found if t.monitored]
        if not monitored:
            return _Coverage([], problems=[f"No episode of {word.lower()} {label} is monitored"], full_season=True)
        count = sum(subject.season_episodes.get(s) or sum(1 for t in found if t.season == s) for s in seasons)
        return _Coverage(monitored, count, full_season=True)

    if episodes and season is not None:
        by_number = {(t.season, t.episode): t for t in targets}
        found, problems = [], []
        for e in episodes:
            target = by_number.get((season, e))
            if target is None:
                problems.append(f"{_episode_label(season, e)} is not a wanted episode of {subject.title}")
            else:
                found.append(target)
        if problems and absolutes:
            by_absolute = {t.absolute_episode: t for t in targets if t.absolute_episode is not None}
            alt = [by_absolute[a] for a in absolutes if a in by_absolute]
            if len(alt) == len(absolutes):
                return _Coverage(alt, len(alt))
        return _Coverage(found, len(episodes), problems)

    if absolutes or episodes:
        numbers = absolutes or episodes   # "[Group] Show - 1071": anime absolute numbering
        by_absolute = {t.absolute_episode: t for t in targets if t.absolute_episode is not None}
        found, problems = [], []
        for a in numbers:
            target = by_absolute.get(a)
            if target is None:
                problems.append(f"Episode {a} (absolute) is not a wanted episode of {subject.title}")
            else:
                found.append(target)
        if problems and episodes and not found:
            # a miniseries without a season ("Band.of.Brothers.E01", "The.Pacific.Part.05"):
            # season 1, as Sonarr reads it
            by_number = {(t.season, t.episode): t for t in targets}
            season_one = [by_number.get((1, e)) for e in episodes]
            if all(season_one):
                return _Coverage([t for t in season_one if t], len(episodes))
        return _Coverage(found, len(numbers), problems)

    return _Coverage([], problems=["The release name has no season, episode or air date, so it cannot "
                                   f"be matched to episodes of {subject.title}"])


def _coverage(parsed: dict[str, Any], subject: SearchSubject) -> _Coverage:
    if subject.media_type == "series":
        return _series_coverage(parsed, subject)
    if subject.media_type == "movie" and parsed.get("type") == "episode" and (
            parsed.get("episodes") or parsed.get("air_date")):
        return _Coverage([], problems=[f"The release is an episode of a series, not the movie {subject.title}"])
    return _Coverage(list(subject.targets), len(subject.targets) or 1)


# -------------------------------------------------------------------------------------------------
# Deciding
# -------------------------------------------------------------------------------------------------
def _runtime(subject: SearchSubject | None, coverage: _Coverage) -> float | None:
    """Minutes the release should run: the targets' runtimes (the title's default for those
    without one) × the episodes it holds; None when unknown."""
    if subject is None:
        return None
    per: list[float] = []
    for t in coverage.targets:
        minutes = t.runtime or subject.runtime
        if not minutes:
            return None
        per.append(float(minutes))
    if not per:
        return float(subject.runtime) * (coverage.size_episodes or 1) if subject.runtime else None
    episodes = coverage.size_episodes or len(per)
    if episodes == len(per):
        return sum(per)
    return sum(per) / len(per) * episodes


def _size_problems(release: Release, quality: str, profile: QualityProfile, minutes: float | None,
                   episodes: int) -> list[str]:
    if not release.size or not minutes or quality == "Unknown":
        return []
    lo, hi = profile.size_range(quality, minutes)
    span = f"{round(minutes)} min" if episodes <= 1 else f"{episodes} episodes, {round(minutes)} min"
    if hi is not None and release.size > hi:
        return [f"Size {format_size(release.size)} is above the limit of {format_size(hi)} for {quality} ({span})"]
    if lo is not None and release.size < lo:
        return [f"Size {format_size(release.size)} is below the minimum of {format_size(lo)} for {quality} ({span})"]
    return []


def _term_problems(title: str, profile: QualityProfile) -> list[str]:
    problems: list[str] = []
    try:
        if profile.must_contain and not any(term_pattern(t).search(title) for t in profile.must_contain):
            terms = ", ".join(profile.must_contain)
            problems.append(f"Contains none of the terms profile {profile.name} requires ({terms})")
        for term in profile.must_not_contain:
            if term_pattern(term).search(title):
                problems.append(f"Contains '{term}', which profile {profile.name} does not accept")
    except ValueError as err:
        problems.append(f"Profile {profile.name} has a term that cannot be used: {err}")
    return problems


def _judge(release: Release, parsed: dict[str, Any], subject: SearchSubject | None, profile: QualityProfile,
           context: DecisionContext, variants: set[str] | None) -> Decision:
    quality = parsed.get("quality") or "Unknown"
    revision = release_revision(parsed)
    score = score_title(release.title, profile.preferred_words)
    final: list[str] = []
    temporary: list[str] = []
    coverage = _Coverage([])

    # what it is: title, then which targets
    if subject is not None:
        problem = _title_match(parsed, subject, variants if variants is not None else title_variants(subject))
        if problem:
            return Decision(release, parsed, quality, revision, score, [], [problem], subject_id=subject.id)
        coverage = _coverage(parsed, subject)
        final.extend(coverage.problems)
        for t in coverage.targets:
            if not t.monitored:
                final.append(f"{_label(t) or subject.title} is not monitored")
        queued = [t for t in coverage.targets if t.id in context.queued_target_ids]
        for t in queued:
            final.append(f"A grab for {_label(t) or subject.title} is already in progress")

    # the profile's rules
    video = subject is None or subject.media_type in ("series", "movie")
    if video and not profile.allows(quality):
        if quality == "Unknown":
            final.append(f"Quality Unknown (the release name does not say) is not wanted in profile {profile.name}")
        else:
            final.append(f"Quality {quality} is not wanted in profile {profile.name}")
    if video:
        final.extend(_size_problems(release, quality, profile, _runtime(subject, coverage),
                                    coverage.size_episodes or len(coverage.targets)))
    final.extend(_term_problems(release.title, profile))
    if profile.minimum_score is not None and score < profile.minimum_score:
        final.append(f"Preferred-word score {score} is below the minimum score {profile.minimum_score} "
                     f"of profile {profile.name}")
    if release.protocol == "torrent" and release.seeders is not None and release.seeders < profile.minimum_seeders:
        final.append(f"{_plural(release.seeders, 'seeder')}, fewer than the minimum {profile.minimum_seeders}")

    # upgrades over what is in the library
    if subject is not None:
        upgrade = [p for t in coverage.targets if t.monitored
                   and (p := _upgrade_problem(profile, t, quality, revision, score))]
        if len(upgrade) > 5:
            upgrade = [*upgrade[:5], f"… and {len(upgrade) - 5} more episodes are not upgrades"]
        final.extend(upgrade)

    # the hub's state
    blocked = context.blocklist(release)
    if blocked:
        final.append(f"Release is blocklisted: {blocked}")
    if release.key in context.grabbed_release_keys:
        final.append("This release was already grabbed")
    if release.size and context.free_space is not None and release.size + context.minimum_free_space > context.free_space:
        final.append(f"Not enough free space: the release needs {format_size(release.size)} and "
                     f"{format_size(context.minimum_free_space)} must stay free, but only "
                     f"{format_size(context.free_space)} is free")

    # temporary: minimum age (usenet), delay
    age = _age_minutes(release, context.now)
    if age is not None:
        if release.protocol == "usenet" and profile.minimum_age and age < profile.minimum_age:
            temporary.append(f"Release is {_minutes(age)} old, younger than the minimum age of "
                             f"{_minutes(profile.minimum_age)}")
        if (profile.delay and age < profile.delay and not context.user_initiated
                and not profile.meets_cutoff(quality)):
            temporary.append(f"Release is {_minutes(age)} old; profile {profile.name} waits "
                             f"{_minutes(profile.delay)} for a release that meets the cutoff {profile.cutoff}")

    return Decision(
        release=release, parsed=parsed, quality=quality, revision=revision, score=score,
        target_ids=[t.id for t in coverage.targets], rejections=final + temporary,
        pending=bool(temporary) and not final, subject_id=subject.id if subject is not None else None,
    )


def _unparsed(release: Release, reason: str, subject_id: int | None = None) -> Decision:
    return Decision(release, {}, "Unknown", 1, 0, [], [reason], subject_id=subject_id)


def _ranked(decisions: list[Decision], now: float, preferred: dict[int | None, str]) -> list[Decision]:
    for d in decisions:
        d.rank_key = _rank_key(d, preferred.get(d.subject_id, "torrent"), now)
    order = {id(d): i for i, d in enumerate(decisions)}
    return sorted(decisions, key=lambda d: (0 if d.accepted else 1 if d.pending else 2, d.rank_key, order[id(d)]))


def decide(
    releases: Iterable[Release],
    subject: SearchSubject | None,
    context: DecisionContext,
    profile: QualityProfile | None = None,
    *,
    parse_all: bool = False,
) -> list[Decision]:
    """Judge every release against ``subject`` (None = a free search) and rank them.

    Returns one :class:`Decision` per release: accepted ones first in ranking order, then pending
    ones, then the rejected (each group ranked the same way). ``profile`` overrides the subject's
    profile; with neither, the built-in "Any" profile applies. With no subject only the profile's
    rules, the blocklist, earlier grabs and free space are checked.

    A release whose name cannot start with the subject's title or an alias (folded, after any
    leading ``[group]`` tag) is rejected without being parsed (``parsed == {}``), which keeps an
    RSS sync from running guessit on every unrelated item; ``parse_all=True`` parses them too
    (interactive search, to show what they are).
    """
    if profile is None:
        profile = subject.profile if subject is not None else default_profile("Any")
    variants = title_variants(subject) if subject is not None else None
    prefixes = tuple(variants) if variants else None
    out = []
    for release in releases:
        if prefixes is not None and not parse_all and not _name_key(release.title).startswith(prefixes):
            out.append(_unparsed(release, f"Title does not match {subject.title}", subject.id))
            continue
        out.append(_judge(release, parse_name(release.title), subject, profile, context, variants))
    return _ranked(out, context.now, {subject.id if subject else None: profile.preferred_protocol})


def decide_rss(releases: Iterable[Release], subjects: Sequence[SearchSubject], context: DecisionContext) -> list[Decision]:
    """RSS sync: judge each release against the wanted title it names, among ``subjects``.

    Each release is matched once: its folded name must start with a subject's folded title or
    alias (else it is rejected unparsed, ``parsed == {}``), then its parsed title (and year) must
    equal one of them. When several subjects share a title the one whose year is within ±1 of
    the release's wins. The decisions are ranked across all subjects as :func:`decide` ranks
    them; :func:`pick_grabs` picks the ones to grab. ``Decision.subject_id`` tells which title
    each was judged against.
    """
    by_variant: dict[str, list[SearchSubject]] = {}
    variants_of: dict[int, set[str]] = {}
    for subject in subjects:
        variants = title_variants(subject)
        variants_of[id(subject)] = variants
        for v in variants:
            by_variant.setdefault(v, []).append(subject)
    prefixes = tuple(by_variant)
    out = []
    for release in releases:
        if not prefixes or not _name_key(release.title).startswith(prefixes):
            out.append(_unparsed(release, "Title matches no wanted title"))
            continue
        parsed = parse_name(release.title)
        title, year = parsed.get("title"), parsed.get("year")
        candidates: list[SearchSubject] = []
        if title:
            if year:
                candidates = by_variant.get(clean_title(f"{title} {year}"), [])
            for code in _country_names(parsed["country"]) if parsed.get("country") else ():
                candidates = candidates or by_variant.get(clean_title(f"{title} {code}"), [])
            candidates = candidates or by_variant.get(clean_title(title), [])
        if not candidates:
            out.append(Decision(release, parsed, parsed.get("quality") or "Unknown", release_revision(parsed), 0, [],
                                [f"Title '{title}' matches no wanted title" if title
                                 else "The release name has no recognisable title"]))
            continue
        subject = candidates[0]
        country = parsed.get("country")
        if country and len(candidates) > 1:
            code = _COUNTRY_ALIASES.get(country.upper(), country.upper())
            subject = next((s for s in candidates if _country(s.title) == code), subject)
        if year and len(candidates) > 1:
            subject = next((s for s in candidates if s.year and abs(s.year - year) <= 1), subject)
        out.append(_judge(release, parsed, subject, subject.profile, context, variants_of[id(subject)]))
    preferred = {s.id: s.profile.preferred_protocol for s in subjects}
    return _ranked(out, context.now, preferred)


def best(decisions: list[Decision]) -> Decision | None:
    """The first accepted release that is not pending (``decisions`` as ranked by :func:`decide`)."""
    for decision in decisions:
        if decision.accepted and not decision.pending:
            return decision
    return None


def pick_grabs(decisions: list[Decision]) -> list[Decision]:
    """The accepted releases to grab, best first, such that no target is filled twice: walking
    the ranked ``decisions``, each accepted one is taken unless a taken one already covers one of
    its targets. Releases that fill no target (free searches) are never picked."""
    taken: set[tuple[int | None, int]] = set()
    picked = []
    for decision in decisions:
        if not decision.accepted or not decision.target_ids:
            continue
        keys = {(decision.subject_id, t) for t in decision.target_ids}
        if keys & taken:
            continue
        taken |= keys
        picked.append(decision)
    return picked
