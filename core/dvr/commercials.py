"""Commercial detection for recordings, and what to do with what it finds.

:func:`detect` returns the commercial *blocks* of a file: ``[(start, end), …]`` in seconds from
the start of the file (ffmpeg's timeline: the first timestamp is 0, whatever the MPEG-TS clock
said), sorted, not overlapping. Two detectors:

``comskip`` (Debian package ``comskip``; used by ``method="auto"`` when the binary is on
``PATH``)
    run as an asyncio subprocess with an ini file of ours (:func:`comskip_ini_text`) written to a
    temporary folder together with everything comskip writes there; the blocks come from its EDL
    (``output_edl=1``: one ``start end type`` line per block, seconds). comskip's exit status 1
    means "no commercials found" — an empty list, not a failure (comskip's ``main`` returns 1
    when its commercial list is empty, 0 when it wrote one). Any other non-zero status, no EDL,
    a missing binary or a run longer than ``60 s + duration × timeout_factor`` is a failure:
    :func:`detect` logs a warning and falls back to ffmpeg. ``comskip_ini``: a user's own
    comskip.ini; it is copied with its output settings replaced by ours (EDL on, every other
    output off), so tuning it never breaks the hand-over.

``ffmpeg``
    one decoding pass through :mod:`omnimedia.core.ffmpeg` with ``blackdetect`` on the first video
    stream and ``silencedetect`` on the first audio stream; each filter's frame metadata
    (``lavfi.black_start``/``lavfi.black_end``, ``lavfi.silence_start``/``lavfi.silence_end``,
    source: ffmpeg 5.1 ``libavfilter/vf_blackdetect.c`` and ``af_silencedetect.c``) is printed
    with the ``metadata``/``ametadata`` filters into files of its own (ffmpeg's log could be
    drowned by a noisy broadcast's warnings). The heuristic (:class:`BreakHeuristic`; every
    threshold is a parameter):

    1. a *break point* is a moment that is both black (at least ``min_black`` seconds) and silent
       (at least ``min_silence`` seconds, below ``noise_db``): broadcasters separate every
       commercial with a few black, silent frames. Its time is the middle of the overlap; points
       closer than ``merge_points`` seconds are one.
    2. the points cut the file into *segments*; a segment between two points that lasts at most
       ``max_segment`` seconds may be a commercial (a spot lasts 10–60 s, rarely 120 s).
       The stretch before the first point and after the last are never commercials (they are
       not framed by break points on both sides).
    3. each run of such short segments next to each other is a *block* when it lasts between
       ``min_break`` and ``max_break`` seconds in total; longer runs are programme with many
       fades (a news show), shorter ones a single fade.

    Its limits: programme segments shorter than ``max_segment`` between two breaks are taken
    for commercials (programmes have segments of several minutes, test media do not: tests pass
    a smaller ``max_segment``); channels that do not fade to black and silence between spots
    are not detected at all — comskip, which also scores logos, lengths and aspect ratios, is
    better, and is preferred when installed.

A file without a video stream (radio) has no black frames: both detectors return ``[]``.

What to do with the blocks: :func:`write_edl` (a sidecar for Kodi), :func:`chapters_metadata` +
:func:`mark_chapters` (Matroska chapters "Programme"/"Commercial"), :func:`cut` (a stream copy
without the blocks, verified before anyone may use it).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import OmniMediaError
from ..ffmpeg import FfmpegCancelled, FfmpegError, FfmpegNotFound, _die_with_parent, run
from ..library.probe import error_text, probe

_LOGGER = logging.getLogger(__name__)

#: The comskip binary, looked up on ``PATH`` at each run.
COMSKIP = "comskip"
#: comskip's exit status when it found no commercials (not a failure).
COMSKIP_NONE_FOUND = 1
#: Kodi's EDL action for a commercial break: skipped once automatically, the viewer may seek
#: back into it (source: Kodi wiki "Edit decision list": 0 cut, 1 mute, 2 scene marker,
#: 3 commercial break). MPlayer's EDL format knows only 0 (skip) and 1 (mute).
EDL_COMMERCIAL_BREAK = 3
EDL_CUT = 0
#: ffmpeg muxer per extension, for outputs written under temporary names.
MUXERS = {".mkv": "matroska", ".mka": "matroska", ".ts": "mpegts", ".m2ts": "mpegts", ".mp4": "mp4", ".m4v": "mp4"}
#: Seconds a cut copy's duration may differ from the kept stretches (stream copy starts every
#: kept stretch at the keyframe before its in point).
CUT_TOLERANCE = 2.0
PROBE_TIMEOUT = 60.0
#: comskip may run ``COMSKIP_TIMEOUT_BASE + duration × timeout_factor`` seconds.
COMSKIP_TIMEOUT_BASE = 60.0
#: Lines of comskip's console output kept for error messages.
COMSKIP_TAIL_LINES = 30

Block = tuple[float, float]


class CommercialError(OmniMediaError):
    """Commercial detection or an action on its result failed; the message says what and where."""


class ComskipFailed(CommercialError):
    """comskip could not be run, crashed, timed out or wrote no EDL (not: found nothing)."""


class CutFailed(CommercialError):
    """A cut copy could not be written or did not pass verification; the source is untouched."""


@dataclass(frozen=True, slots=True)
class BreakHeuristic:
    """Thresholds of the ffmpeg detector (seconds unless noted), also used for our comskip ini.

    ``min_black``: black this long makes a break point candidate; ``pix_th`` (0–1): a pixel is
    black below this luminance (blackdetect ``pix_th``); ``picture_black_ratio`` (0–1): share of
    black pixels for a black frame; ``noise_db`` (dBFS): silence is below this; ``min_silence``:
    silence this long; ``merge_points``: break points closer than this are one; ``max_segment``:
    a stretch between two break points up to this long may be a commercial; ``min_break`` /
    ``max_break``: a run of such stretches is a commercial block when its total is in this range.
    """

    min_black: float = 0.1
    pix_th: float = 0.10
    picture_black_ratio: float = 0.98
    noise_db: float = -50.0
    min_silence: float = 0.1
    merge_points: float = 1.5
    max_segment: float = 120.0
    min_break: float = 10.0
    max_break: float = 600.0


DEFAULT_HEURISTIC = BreakHeuristic()


@dataclass(slots=True)
class Detection:
    """What :func:`detect_report` found: ``blocks`` (seconds), ``method`` that produced them
    (``comskip``, ``ffmpeg`` or ``none``), ``warnings`` (a failed comskip run that fell back …)."""

    blocks: list[Block]
    method: str
    warnings: list[str] = field(default_factory=list)


# -- detection ---------------------------------------------------------------------------------
async def detect(
    path: str | os.PathLike[str],
    *,
    method: str = "auto",
    comskip_ini: str | os.PathLike[str] | None = None,
    duration: float | None = None,
    heuristic: BreakHeuristic = DEFAULT_HEURISTIC,
    timeout_factor: float = 1.0,
) -> list[Block]:
    """Commercial blocks of ``path``: ``[(start, end), …]`` seconds from the start of the file.

    ``method``: ``auto`` (comskip when installed, else ffmpeg), ``comskip`` (falls back to
    ffmpeg with a logged warning when it fails), ``ffmpeg``. ``comskip_ini``: a comskip.ini to
    use instead of ours. ``duration`` (seconds): of the file; probed when not given.
    ``heuristic``: thresholds (see :class:`BreakHeuristic`). Raises :class:`CommercialError`
    when the file cannot be read or the ffmpeg pass fails, ``FfmpegNotFound``."""
    return (await detect_report(
        path, method=method, comskip_ini=comskip_ini, duration=duration, heuristic=heuristic,
        timeout_factor=timeout_factor,
    )).blocks


async def detect_report(
    path: str | os.PathLike[str],
    *,
    method: str = "auto",
    comskip_ini: str | os.PathLike[str] | None = None,
    duration: float | None = None,
    heuristic: BreakHeuristic = DEFAULT_HEURISTIC,
    timeout_factor: float = 1.0,
) -> Detection:
    """:func:`detect`, also saying which detector answered and what went wrong on the way."""
    if method not in ("auto", "comskip", "ffmpeg"):
        raise ValueError(f"unknown commercial detection method {method!r}; expected auto, comskip or ffmpeg")
    path = os.path.abspath(os.fspath(path))
    try:
        info = await probe(path, PROBE_TIMEOUT)
    except Exception as err:  # noqa: BLE001 - every probe failure means "cannot read it"
        raise CommercialError(f"cannot detect commercials in {path}: {error_text(err, path)}") from err
    streams = info.get("streams") or []
    has_video = any(s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
                    for s in streams)
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    if duration is None:
        duration = _duration(info)
    if not has_video:
        return Detection([], "none", [f"{os.path.basename(path)} has no video stream: commercial detection "
                                      "needs black frames, so nothing was detected"])
    warnings: list[str] = []
    if method in ("auto", "comskip"):
        binary = shutil.which(COMSKIP)
        if binary is None:
            if method == "comskip":
                warnings.append("comskip is not installed (Debian: apt install comskip); used ffmpeg instead")
                _LOGGER.warning("commercials in %s: %s", path, warnings[-1])
        else:
            try:
                blocks = await run_comskip(path, binary=binary, comskip_ini=comskip_ini, duration=duration,
                                           heuristic=heuristic, timeout_factor=timeout_factor)
                return Detection(blocks, "comskip", warnings)
            except ComskipFailed as err:
                warnings.append(f"{err}; used ffmpeg instead")
                _LOGGER.warning("commercials in %s: %s", path, warnings[-1])
    blocks = await run_ffmpeg_detection(path, duration=duration, heuristic=heuristic, audio=has_audio)
    return Detection(blocks, "ffmpeg", warnings)


def _duration(info: dict[str, Any]) -> float | None:
    try:
        value = float((info.get("format") or {}).get("duration"))
    except (TypeError, ValueError):
        value = None
    if value is None or value != value or value <= 0:
        values = []
        for stream in info.get("streams") or []:
            with contextlib.suppress(TypeError, ValueError):
                values.append(float(stream.get("duration")))
        value = max(values, default=None)
    return value


# -- comskip -----------------------------------------------------------------------------------
#: Output settings forced into every ini we hand comskip: the EDL, nothing else.
_OUTPUT_SETTINGS = {
    "output_edl": "1", "edl_skip_field": "0", "output_default": "0", "output_chapters": "0",
    "output_framearray": "0", "output_videoredo": "0", "output_zoomplayer_chapter": "0",
    "output_zoomplayer_cutlist": "0", "output_vdr": "0", "output_projectx": "0", "output_womble": "0",
    "output_mls": "0", "output_mpgtx": "0", "output_dvrcut": "0", "output_ipodchap": "0",
    "output_ffmeta": "0", "output_srt": "0", "output_smi": "0", "live_tv": "0", "delete_logo_file": "1",
}


def comskip_ini_text(heuristic: BreakHeuristic = DEFAULT_HEURISTIC) -> str:
    """Our comskip.ini (option names from comskip 0.82's own ini writer).

    ``detect_method=65``: black frames (1) + silence (64), the two signals every broadcaster's
    break has; logo detection (2) needs minutes of programme to learn a logo and misleads on
    short recordings. Break lengths follow ``heuristic``: ``min_commercialbreak`` =
    ``min_break``, ``max_commercialbreak`` = ``max_break``, ``max_commercial_size`` =
    ``max_segment``. ``min_show_segment_length=15``: comskip's default (125 s) merges any
    shorter programme stretch into the breaks around it, which swallows whole short recordings.
    ``min_commercial_break_at_start_or_end`` = ``min_break``."""
    lines = [
        "; written by Omni-Media for one comskip run",
        "[Main Settings]",
        "detect_method=65",
        "verbose=0",
        "[Detection Settings]",
        f"max_commercialbreak={heuristic.max_break:g}",
        f"min_commercialbreak={heuristic.min_break:g}",
        f"max_commercial_size={heuristic.max_segment:g}",
        "min_commercial_size=2",
        "min_show_segment_length=15",
        f"min_commercial_break_at_start_or_end={heuristic.min_break:g}",
        "[Output Control]",
        *(f"{k}={v}" for k, v in _OUTPUT_SETTINGS.items()),
    ]
    return "\n".join(lines) + "\n"


_INI_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")


def user_ini_text(text: str) -> str:
    """A user's comskip.ini with our output settings instead of theirs (every other line kept)."""
    kept = [line for line in text.splitlines()
            if not ((m := _INI_KEY.match(line)) and m.group(1).lower() in _OUTPUT_SETTINGS)]
    return "\n".join([*kept, "[Output Control]", *(f"{k}={v}" for k, v in _OUTPUT_SETTINGS.items())]) + "\n"


def parse_edl(text: str, *, duration: float | None = None, source: str = "EDL") -> list[Block]:
    """Blocks from EDL text (``start end [type]`` per line, seconds, whitespace-separated; Kodi,
    MPlayer and comskip write it so). Lines that are not two numbers with ``end > start`` are
    skipped with a logged warning naming ``source`` and the line number. The result is
    clipped to ``[0, duration]``, sorted, with overlapping blocks merged."""
    blocks: list[Block] = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or line.lstrip().startswith("#"):
            continue
        try:
            start, end = float(fields[0]), float(fields[1])
        except (IndexError, ValueError):
            _LOGGER.warning("%s line %d is not 'start end type': %r", source, number, line)
            continue
        if not end > start:
            _LOGGER.warning("%s line %d ends before it starts: %r", source, number, line)
            continue
        blocks.append((start, end))
    return normalise(blocks, duration)


def normalise(blocks: Iterable[Sequence[float]], duration: float | None = None) -> list[Block]:
    """Blocks clipped to ``[0, duration]``, sorted, overlapping or touching ones merged, empty
    ones dropped; values rounded to milliseconds."""
    out: list[list[float]] = []
    for start, end in sorted((float(a), float(b)) for a, b in blocks):
        start = max(0.0, start)
        if duration is not None:
            end = min(end, duration)
        if end - start <= 0:
            continue
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(round(a, 3), round(b, 3)) for a, b in out]


async def run_comskip(
    path: str,
    *,
    binary: str | None = None,
    comskip_ini: str | os.PathLike[str] | None = None,
    duration: float | None = None,
    heuristic: BreakHeuristic = DEFAULT_HEURISTIC,
    timeout_factor: float = 1.0,
) -> list[Block]:
    """Run comskip on ``path`` in a temporary folder and return its blocks (``[]`` for exit
    status 1). The process is killed when the calling task is cancelled or after ``60 +
    duration × timeout_factor`` seconds. Raises :class:`ComskipFailed`."""
    binary = binary or shutil.which(COMSKIP)
    if binary is None:
        raise ComskipFailed("comskip is not installed (Debian: apt install comskip)")
    if comskip_ini is not None:
        try:
            ini_text = user_ini_text(Path(comskip_ini).expanduser().read_text(encoding="utf-8", errors="replace"))
        except OSError as err:
            raise ComskipFailed(f"cannot read the comskip ini {comskip_ini}: {err.strerror or err}") from err
    else:
        ini_text = comskip_ini_text(heuristic)
    timeout = COMSKIP_TIMEOUT_BASE + (duration or 0.0) * timeout_factor
    folder = await asyncio.to_thread(tempfile.mkdtemp, prefix="omnimedia-comskip-")
    try:
        ini = os.path.join(folder, "comskip.ini")
        await asyncio.to_thread(Path(ini).write_text, ini_text, encoding="utf-8")
        cmd = [binary, f"--ini={ini}", f"--output={folder}", "--output-filename=result", path]
        code, tail = await _run_tool(cmd, cwd=folder, timeout=timeout, what=f"comskip on {path}")
        if code == COMSKIP_NONE_FOUND:
            return []
        if code != 0:
            last = next((line for line in reversed(tail) if line.strip()), "")
            raise ComskipFailed(f"comskip failed on {os.path.basename(path)} (exit status {code})"
                                + (f": {last.strip()}" if last else ""))
        edl = os.path.join(folder, "result.edl")
        try:
            text = await asyncio.to_thread(Path(edl).read_text, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise ComskipFailed(f"comskip reported commercials in {os.path.basename(path)} but wrote no EDL") from None
        return parse_edl(text, duration=duration, source=f"comskip's EDL for {path}")
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


async def _run_tool(cmd: list[str], *, cwd: str, timeout: float, what: str) -> tuple[int, list[str]]:
    """Run ``cmd`` (stdout and stderr merged, the last lines kept); killed on timeout or when
    the caller is cancelled (and, on Linux, when the hub dies). Returns (exit status, tail)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *cmd, cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    except OSError as err:
        raise ComskipFailed(f"cannot start {cmd[0]}: {err.strerror or err}") from err
    tail: collections.deque[str] = collections.deque(maxlen=COMSKIP_TAIL_LINES)

    async def read() -> None:
        assert proc.stdout is not None
        while chunk := await proc.stdout.readline():
            tail.append(chunk.decode("utf-8", "replace").rstrip())

    reader = asyncio.ensure_future(read())
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.shield(proc.wait())
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise ComskipFailed(f"{what} took longer than {timeout:.0f} s and was stopped") from None
    await asyncio.gather(reader, return_exceptions=True)
    return proc.returncode if proc.returncode is not None else -1, list(tail)


# -- ffmpeg ------------------------------------------------------------------------------------
def _metadata_values(text: str, key: str) -> list[float]:
    """The values of ``key=…`` lines in a ``metadata=mode=print`` file, in order."""
    out = []
    prefix = key + "="
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(prefix):
            with contextlib.suppress(ValueError):
                out.append(float(line[len(prefix):]))
    return out


def pair_intervals(starts: Iterable[float], ends: Iterable[float], end_of_file: float | None) -> list[Block]:
    """Join start and end times into intervals (an end with no open start is dropped; a start
    never ended lasts until ``end_of_file``)."""
    events = sorted([(t, 1) for t in ends] + [(t, 0) for t in starts])
    intervals: list[Block] = []
    opened: float | None = None
    for t, kind in events:
        if kind == 0 and opened is None:
            opened = t
        elif kind == 1 and opened is not None:
            if t > opened:
                intervals.append((opened, t))
            opened = None
    if opened is not None and end_of_file is not None and end_of_file > opened:
        intervals.append((opened, end_of_file))
    return intervals


def break_points(black: Sequence[Block], silence: Sequence[Block] | None, heuristic: BreakHeuristic) -> list[float]:
    """Moments both black and silent (step 1 of the heuristic). ``silence=None``: the file has
    no audio, black alone makes a point."""
    points: list[float] = []
    for b0, b1 in black:
        if b1 - b0 < heuristic.min_black:
            continue
        if silence is None:
            points.append((b0 + b1) / 2)
            continue
        for s0, s1 in silence:
            if s1 - s0 < heuristic.min_silence:
                continue
            lo, hi = max(b0, s0), min(b1, s1)
            if hi >= lo:
                points.append((lo + hi) / 2)
                break
    points.sort()
    merged: list[list[float]] = []
    for p in points:
        if merged and p - merged[-1][-1] <= heuristic.merge_points:
            merged[-1].append(p)
        else:
            merged.append([p])
    return [sum(group) / len(group) for group in merged]


def blocks_from_points(points: Sequence[float], heuristic: BreakHeuristic) -> list[Block]:
    """Steps 2 and 3 of the heuristic: runs of short segments between break points whose total
    length is in ``[min_break, max_break]``."""
    blocks: list[Block] = []
    run_start: float | None = None
    run_end: float | None = None

    def close() -> None:
        if run_start is not None and run_end is not None:
            total = run_end - run_start
            if heuristic.min_break <= total <= heuristic.max_break:
                blocks.append((round(run_start, 3), round(run_end, 3)))

    for a, b in zip(points, points[1:], strict=False):
        if b - a <= heuristic.max_segment:
            if run_start is None:
                run_start = a
            run_end = b
        else:
            close()
            run_start = run_end = None
    close()
    return blocks


async def run_ffmpeg_detection(
    path: str, *, duration: float | None, heuristic: BreakHeuristic = DEFAULT_HEURISTIC, audio: bool = True,
) -> list[Block]:
    """The ffmpeg detector (see the module docstring). ``audio``: the file has an audio stream
    (without one, black alone makes a break point). Raises :class:`CommercialError`,
    ``FfmpegNotFound``, ``FfmpegCancelled``."""
    h = heuristic
    video_chain = (
        f"[0:v:0]blackdetect=d=0:pix_th={h.pix_th:g}:picture_black_ratio_th={h.picture_black_ratio:g},"
        "metadata=mode=print:key=lavfi.black_start:file=black_start.txt,"
        "metadata=mode=print:key=lavfi.black_end:file=black_end.txt[v]"
    )
    graph = video_chain
    maps = ["-map", "[v]"]
    if audio:
        graph += (
            f";[0:a:0]silencedetect=n={h.noise_db:g}dB:d={h.min_silence:g},"
            "ametadata=mode=print:key=lavfi.silence_start:file=silence_start.txt,"
            "ametadata=mode=print:key=lavfi.silence_end:file=silence_end.txt[a]"
        )
        maps += ["-map", "[a]"]
    folder = await asyncio.to_thread(tempfile.mkdtemp, prefix="omnimedia-blackdetect-")
    try:
        args = ["-v", "error", "-i", path, "-filter_complex", graph, *maps, "-f", "null", "-"]
        try:
            await run(args, cwd=folder, duration=duration, description=f"commercial detection of {path}")
        except FfmpegError as err:
            raise CommercialError(f"ffmpeg could not scan {os.path.basename(path)} for commercials: {err.message}") from err

        def read(name: str) -> str:
            try:
                return Path(folder, name).read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                return ""

        texts = {name: await asyncio.to_thread(read, f"{name}.txt")
                 for name in ("black_start", "black_end", "silence_start", "silence_end")}
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
    black = pair_intervals(_metadata_values(texts["black_start"], "lavfi.black_start"),
                           _metadata_values(texts["black_end"], "lavfi.black_end"), duration)
    silence = None
    if audio:
        silence = pair_intervals(_metadata_values(texts["silence_start"], "lavfi.silence_start"),
                                 _metadata_values(texts["silence_end"], "lavfi.silence_end"), duration)
    points = break_points(black, silence, h)
    _LOGGER.debug("commercials in %s: %d black, %s silent stretches, break points %s", path, len(black),
                  "no" if silence is None else len(silence), [round(p, 2) for p in points])
    return normalise(blocks_from_points(points, h), duration)


# -- actions -----------------------------------------------------------------------------------
def edl_text(blocks: Iterable[Sequence[float]], action: int = EDL_COMMERCIAL_BREAK) -> str:
    """EDL lines ``start<TAB>end<TAB>action`` (seconds, two decimals)."""
    return "".join(f"{a:.2f}\t{b:.2f}\t{action}\n" for a, b in blocks)


def write_edl(path: str | os.PathLike[str], blocks: Iterable[Sequence[float]], *,
              action: int = EDL_COMMERCIAL_BREAK) -> Path:
    """Write ``blocks`` as an EDL file at ``path`` (Kodi's format; ``action`` 3 = commercial
    break, skipped once; 0 = cut, always skipped). Written to a temporary name and renamed, so a
    reader never sees half a file. Returns the path. Raises ``OSError``."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.partial")
    try:
        temp.write_text(edl_text(blocks, action), encoding="utf-8")
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return path


def kept_segments(blocks: Iterable[Sequence[float]], duration: float, *, minimum: float = 0.5) -> list[Block]:
    """The stretches of ``[0, duration]`` outside ``blocks`` (pieces shorter than ``minimum``
    seconds are dropped)."""
    kept: list[Block] = []
    t = 0.0
    for a, b in normalise(blocks, duration):
        if a - t >= minimum:
            kept.append((round(t, 3), round(a, 3)))
        t = max(t, b)
    if duration - t >= minimum:
        kept.append((round(t, 3), round(duration, 3)))
    return kept


def chapters_metadata(blocks: Iterable[Sequence[float]], duration: float) -> str:
    """An FFMETADATA document with one ``[CHAPTER]`` (``TIMEBASE=1/1000``) per stretch of the
    file: "Programme" and "Commercial" in turn, covering ``[0, duration]`` (source: ffmpeg's
    "Metadata" format documentation, ``doc/metadata.texi``)."""
    blocks = normalise(blocks, duration)
    pieces: list[tuple[float, float, str]] = []
    t = 0.0
    for a, b in blocks:
        if a > t:
            pieces.append((t, a, "Programme"))
        pieces.append((a, b, "Commercial"))
        t = b
    if duration > t:
        pieces.append((t, duration, "Programme"))
    out = [";FFMETADATA1"]
    for a, b, title in pieces:
        start, end = round(a * 1000), round(b * 1000)
        if end <= start:
            continue
        out += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start}", f"END={end}", f"title={title}"]
    return "\n".join(out) + "\n"


def _muxer(path: str, fallback: str | None = None) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext in MUXERS:
        return MUXERS[ext]
    if fallback and os.path.splitext(fallback)[1].lower() in MUXERS:
        return MUXERS[os.path.splitext(fallback)[1].lower()]
    raise CutFailed(f"no muxer known for {path} (known extensions: {', '.join(sorted(MUXERS))})")


def _streams(info: dict[str, Any]) -> collections.Counter[str]:
    return collections.Counter(
        s.get("codec_type") for s in info.get("streams") or []
        if s.get("codec_type") in ("video", "audio") and not (s.get("disposition") or {}).get("attached_pic")
    )


async def _probe_result(path: str, what: str) -> dict[str, Any]:
    try:
        return await probe(path, PROBE_TIMEOUT, show=("-show_format", "-show_streams", "-show_chapters"))
    except Exception as err:  # noqa: BLE001 - any probe failure means the copy is unusable
        raise CutFailed(f"ffprobe cannot read the {what} {path}: {error_text(err, path)}") from err


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


async def mark_chapters(
    src: str | os.PathLike[str], dest: str | os.PathLike[str], blocks: Iterable[Sequence[float]], duration: float,
) -> dict[str, Any]:
    """Copy the Matroska file ``src`` to ``dest`` (stream copy, every stream, tags kept) with
    the chapters of :func:`chapters_metadata`, and verify it (readable, the same video and
    audio streams, duration within :data:`CUT_TOLERANCE` s, the chapters present). Returns
    ``{"chapters": n, "duration": s}``. On failure ``dest`` is removed and :class:`CutFailed`
    raised; ``src`` is never touched."""
    src, dest = os.fspath(src), os.fspath(dest)
    source_info = await _probe_result(src, "source")
    meta = f"{dest}.chapters.txt"
    text = chapters_metadata(blocks, duration)
    await asyncio.to_thread(Path(meta).write_text, text, encoding="utf-8")
    try:
        args = ["-v", "error", "-y", "-i", src, "-f", "ffmetadata", "-i", meta, "-map", "0", "-map_metadata", "0",
                "-map_chapters", "1", "-c", "copy", "-f", _muxer(dest, src), dest]
        try:
            await run(args, duration=duration, description=f"chapters for {src}")
        except (FfmpegError, FfmpegNotFound) as err:
            _remove(dest)
            raise CutFailed(f"writing chapters into {os.path.basename(src)} failed: {err}") from err
        except BaseException:
            _remove(dest)
            raise
    finally:
        _remove(meta)
    info = await _probe_result(dest, "chaptered copy")
    expected = text.count("[CHAPTER]")
    problem = _compare(source_info, info, duration)
    if problem is None and len(info.get("chapters") or []) != expected:
        problem = f"it has {len(info.get('chapters') or [])} chapters, expected {expected}"
    if problem:
        _remove(dest)
        raise CutFailed(f"the chaptered copy of {os.path.basename(src)} failed verification: {problem}")
    return {"chapters": expected, "duration": _duration(info)}


def _compare(source: dict[str, Any], result: dict[str, Any], expected: float) -> str | None:
    want, got = _streams(source), _streams(result)
    for kind in ("video", "audio"):
        if got[kind] < want[kind]:
            return f"it has {got[kind]} {kind} streams, the source {want[kind]}"
    measured = _duration(result)
    if measured is None:
        return "it has no duration"
    if abs(measured - expected) > CUT_TOLERANCE:
        return f"it lasts {measured:.1f} s, expected {expected:.1f} s (±{CUT_TOLERANCE:g} s)"
    return None


async def cut(
    src: str | os.PathLike[str], dest: str | os.PathLike[str], blocks: Iterable[Sequence[float]],
    duration: float,
) -> dict[str, Any]:
    """Write ``dest``: ``src`` without ``blocks`` (seconds from the start of ``src``, which
    lasts ``duration`` seconds), by stream copy through ffmpeg's concat demuxer (one ``file``
    entry per kept stretch with ``inpoint``/``outpoint``, shifted by the file's start time: the
    demuxer reads them as the file's own timestamps; source: ffmpeg-formats "concat"). Copying
    starts every stretch at the keyframe before its in point, so a stretch may begin up to one
    GOP early. Chapters are dropped (they described the uncut file); global tags are kept.

    Verified before returning: ffprobe reads ``dest``, it has the video and audio streams of
    ``src``, and lasts the kept total ±:data:`CUT_TOLERANCE` seconds. Returns ``{"kept":
    [(start, end)…], "removed" (seconds), "duration" (seconds, measured)}``. Raises
    :class:`CutFailed` (``dest`` removed; ``src`` never touched)."""
    src, dest = os.fspath(src), os.fspath(dest)
    kept = kept_segments(blocks, duration)
    if not kept:
        raise CutFailed(f"cutting the commercials out of {os.path.basename(src)} would leave nothing of it")
    total = sum(b - a for a, b in kept)
    source_info = await _probe_result(src, "source")
    try:
        offset = float((source_info.get("format") or {}).get("start_time") or 0.0)
    except (TypeError, ValueError):
        offset = 0.0
    quoted = "'" + os.path.abspath(src).replace("'", "'\\''") + "'"
    lines = ["ffconcat version 1.0"]
    for a, b in kept:
        lines.append(f"file {quoted}")
        if a > 0:
            lines.append(f"inpoint {a + offset:.3f}")
        if b < duration - 0.001:
            lines.append(f"outpoint {b + offset:.3f}")
    listing = f"{dest}.ffconcat"
    await asyncio.to_thread(Path(listing).write_text, "\n".join(lines) + "\n", encoding="utf-8")
    maps = ["-map", "0"]
    if _muxer(dest, src) == "matroska":
        maps += ["-map", "-0:d?"]
    try:
        args = ["-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", listing, "-i", src, *maps,
                "-map_metadata", "1", "-map_chapters", "-1", "-c", "copy", "-f", _muxer(dest, src), dest]
        try:
            await run(args, duration=total, description=f"commercial cut of {src}")
        except (FfmpegError, FfmpegNotFound) as err:
            _remove(dest)
            raise CutFailed(f"cutting the commercials out of {os.path.basename(src)} failed: {err}") from err
        except FfmpegCancelled:
            _remove(dest)
            raise
        except BaseException:
            _remove(dest)
            raise
    finally:
        _remove(listing)
    info = await _probe_result(dest, "cut copy")
    problem = _compare(source_info, info, total)
    if problem:
        _remove(dest)
        raise CutFailed(f"the cut copy of {os.path.basename(src)} failed verification: {problem}")
    return {"kept": kept, "removed": round(duration - total, 3), "duration": _duration(info)}
