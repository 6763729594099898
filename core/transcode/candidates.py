"""Which library items are worth transcoding, why, and roughly how much they would save.

Works on media item rows (``media_items``: ``video_codec``, ``width``, ``height``, ``duration``
seconds, ``size`` bytes, ``bitrate`` bit/s of the whole file) and the ``transcode -> candidates``
settings; pure functions, no I/O.

- **bits per pixel** = bitrate / (width × height × frame rate). The library does not store the
  frame rate, so ``candidates -> frame_rate`` (24 by default) is assumed; the bitrate is the
  whole file's (audio included), which slightly overstates the video's.
- **MB per hour** = size / 2**20 / (duration / 3600).
- **estimated savings**: the file is expected to shrink in proportion to bits per pixel, from
  what it has to ``target_bits_per_pixel``: ``size × (1 − target / bpp)`` (bytes), never below 0.
  Without a usable bits-per-pixel figure the estimate is half the size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MIB = 1024 * 1024
VIDEO_TYPES = ("movie", "episode", "video")


@dataclass(slots=True)
class Verdict:
    """The rules' answer for one item: ``qualifies``, and ``reasons`` (why it qualifies, or why
    not); the measured ``bits_per_pixel`` and ``mb_per_hour`` (None when unknown) and
    ``estimated_savings`` (bytes)."""

    qualifies: bool
    reasons: list[str] = field(default_factory=list)
    bits_per_pixel: float | None = None
    mb_per_hour: float | None = None
    estimated_savings: int = 0


def bitrate_of(item: Mapping[str, Any]) -> float | None:
    """The item's bitrate (bit/s): the probed one, else size × 8 / duration."""
    if item.get("bitrate"):
        return float(item["bitrate"])
    if item.get("size") and item.get("duration"):
        return item["size"] * 8 / item["duration"]
    return None


def bits_per_pixel(item: Mapping[str, Any], frame_rate: float) -> float | None:
    """bitrate / (width × height × ``frame_rate``), or None when a factor is unknown."""
    bitrate = bitrate_of(item)
    width, height = item.get("width"), item.get("height")
    if not bitrate or not width or not height or frame_rate <= 0:
        return None
    return bitrate / (width * height * frame_rate)


def mb_per_hour(item: Mapping[str, Any]) -> float | None:
    """MiB per hour of running time, or None without a size and a duration."""
    size, duration = item.get("size"), item.get("duration")
    if not size or not duration or duration <= 0:
        return None
    return size / MIB / (duration / 3600)


def estimated_savings(item: Mapping[str, Any], bpp: float | None, target_bpp: float) -> int:
    """Bytes the transcode is expected to save (see the module)."""
    size = int(item.get("size") or 0)
    if bpp is None:
        return size // 2
    if bpp <= target_bpp:
        return 0
    return int(size * (1 - target_bpp / bpp))


def evaluate(item: Mapping[str, Any], rules: Mapping[str, Any]) -> Verdict:
    """Judge one media item against the ``candidates`` rules (validated settings)."""
    codec = (item.get("video_codec") or "").lower()
    if item.get("status") == "error":
        return Verdict(False, [f"the file cannot be read: {item.get('error') or 'error'}"])
    if item.get("type") not in VIDEO_TYPES or not codec:
        return Verdict(False, ["no video stream (audio-only files and pictures are not optimised)"])
    bpp = bits_per_pixel(item, rules["frame_rate"])
    mbh = mb_per_hour(item)
    verdict = Verdict(False, [], None if bpp is None else round(bpp, 4), None if mbh is None else round(mbh, 1))
    if codec in rules["skip_codecs"]:
        verdict.reasons.append(f"already {codec} (skip_codecs: {', '.join(rules['skip_codecs'])})")
        return verdict
    if rules["codecs"] and codec not in rules["codecs"]:
        verdict.reasons.append(f"codec {codec} is not one of {', '.join(rules['codecs'])}")
        return verdict
    size = int(item.get("size") or 0)
    if rules["min_size"] and size < rules["min_size"] * MIB:
        verdict.reasons.append(f"{size / MIB:.1f} MB is below the minimum size of {rules['min_size']:g} MB")
        return verdict
    min_bpp, min_mbh = rules["min_bits_per_pixel"], rules["min_mb_per_hour"]
    met, missed = [], []
    if min_bpp is not None:
        if bpp is not None and bpp >= min_bpp:
            met.append(f"{bpp:.3f} bits per pixel ≥ {min_bpp:g}")
        else:
            missed.append(f"{'unknown' if bpp is None else f'{bpp:.3f}'} bits per pixel < {min_bpp:g}")
    if min_mbh is not None:
        if mbh is not None and mbh >= min_mbh:
            met.append(f"{mbh:,.0f} MB per hour ≥ {min_mbh:,g}")
        else:
            missed.append(f"{'unknown' if mbh is None else f'{mbh:,.0f}'} MB per hour < {min_mbh:,g}")
    if (min_bpp is not None or min_mbh is not None) and not met:
        verdict.reasons.extend(missed)
        return verdict
    savings = estimated_savings(item, bpp, rules["target_bits_per_pixel"])
    if savings <= 0:
        verdict.reasons.append(
            f"nothing to gain: {bpp:.3f} bits per pixel is already at or below the target "
            f"{rules['target_bits_per_pixel']:g}"
        )
        return verdict
    skipped = rules["skip_codecs"]
    verdict.reasons = met or [f"codec {codec}" + (f" (not {', '.join(skipped)})" if skipped else "")]
    verdict.qualifies = True
    verdict.estimated_savings = savings
    return verdict


def candidate_dict(item: Mapping[str, Any], verdict: Verdict) -> dict[str, Any]:
    """The API shape of a candidate: the item's identity and technical columns, the measures,
    ``reasons`` and ``estimated_savings`` (bytes)."""
    return {
        "item_id": item["id"], "library_id": item.get("library_id"), "path": item.get("path"),
        "title": item.get("title"), "type": item.get("type"), "video_codec": item.get("video_codec"),
        "width": item.get("width"), "height": item.get("height"), "duration": item.get("duration"),
        "size": item.get("size"), "bitrate": item.get("bitrate"),
        "bits_per_pixel": verdict.bits_per_pixel, "mb_per_hour": verdict.mb_per_hour,
        "reasons": verdict.reasons, "estimated_savings": verdict.estimated_savings,
    }
