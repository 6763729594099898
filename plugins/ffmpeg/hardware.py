"""Which video encoders this machine can really use, found by trying them.

``ffmpeg -encoders`` lists what ffmpeg was *built* with (Debian's ffmpeg lists ``hevc_nvenc``,
``hevc_qsv`` and ``hevc_vaapi`` on machines with no such hardware), so each encoder is tried
instead: a one-second test encode of lavfi ``testsrc2`` (320x240, 25 frames) to the ``null``
muxer, with the same device set-up a real job uses. Exit 0 means ``available``; otherwise the
encoder is ``unavailable`` and the reason is ffmpeg's telling line (``Cannot load libcuda.so.1``,
``Error initializing an internal MFX session: unsupported (-3)``, ``No VA display found for
device /dev/dri/renderD128.``, ``Unknown encoder 'hevc_videotoolbox'``). Results are cached per
ffmpeg binary and VAAPI device for the life of the process.

An encoder that passed the test but fails on a real job is marked ``degraded`` with that job's
error; ``hardware: auto`` skips it from then on, and jobs that name its API go to software.

How each API is driven (sources: ffmpeg's ``doc/encoders.texi``, the FFmpeg wiki pages
"Hardware/VAAPI", "Hardware/QuickSync" and NVIDIA's "Using FFmpeg with NVIDIA GPU Hardware
Acceleration"): decoding stays in software (any input works); frames are uploaded to the device
where the encoder needs it (VAAPI and QSV: ``format=nv12|p010,hwupload``), NVENC and
VideoToolbox take frames from system memory. Quality: the profile's ``crf`` becomes the
encoder's constant-quality value — VAAPI ``-rc_mode CQP -qp N``, QSV ``-global_quality N``
(ICQ), NVENC ``-rc vbr -cq N -b:v 0``, VideoToolbox ``-q:v`` on its 1–100 scale
(``100 − 2 × crf``, clamped). Hardware encoders make bigger files than x265 at the same number.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import ffmpeg

from omnimedia.core.ffmpeg import FfmpegError, FfmpegNotFound, FfmpegProcess

from .errors import telling_line

_LOGGER = logging.getLogger(__name__)

DEFAULT_VAAPI_DEVICE = "/dev/dri/renderD128"
#: seconds one test encode may take before the encoder counts as unavailable
DEFAULT_DETECT_TIMEOUT = 20.0
TEST_SOURCE = "testsrc2=size=320x240:rate=25:duration=1"


@dataclass(frozen=True, slots=True)
class Encoder:
    name: str
    codec: str
    api: str | None  # None for software

    @property
    def hardware(self) -> bool:
        return self.api is not None


SOFTWARE = (Encoder("libx265", "hevc", None), Encoder("libx264", "h264", None))
#: In the order ``hardware: auto`` prefers them (quality per bit, best first).
HARDWARE = (
    Encoder("hevc_nvenc", "hevc", "nvenc"), Encoder("h264_nvenc", "h264", "nvenc"),
    Encoder("hevc_qsv", "hevc", "qsv"), Encoder("h264_qsv", "h264", "qsv"),
    Encoder("hevc_vaapi", "hevc", "vaapi"), Encoder("h264_vaapi", "h264", "vaapi"),
    Encoder("hevc_videotoolbox", "hevc", "videotoolbox"), Encoder("h264_videotoolbox", "h264", "videotoolbox"),
)
ALL = SOFTWARE + HARDWARE
BY_NAME = {e.name: e for e in ALL}

_NVENC_PRESETS = {"ultrafast": "p1", "superfast": "p1", "veryfast": "p2", "faster": "p3", "fast": "p3",
                  "medium": "p4", "slow": "p5", "slower": "p6", "veryslow": "p7", "placebo": "p7"}
_QSV_PRESETS = {"ultrafast": "veryfast", "superfast": "veryfast", "placebo": "veryslow"}


def global_args(encoder: Encoder, vaapi_device: str = DEFAULT_VAAPI_DEVICE) -> list[str]:
    """ffmpeg global options that open the encoder's device (none for software/NVENC/VT)."""
    if encoder.api == "vaapi":
        return ["-init_hw_device", f"vaapi=hw:{vaapi_device}", "-filter_hw_device", "hw"]
    if encoder.api == "qsv":
        return ["-init_hw_device", "qsv=hw", "-filter_hw_device", "hw"]
    return []


def upload_filters(encoder: Encoder, ten_bit: bool) -> list[str]:
    """Filters that hand frames to the encoder's device (after any scaling)."""
    fmt = "p010" if ten_bit and encoder.codec == "hevc" else "nv12"
    if encoder.api == "vaapi":
        return [f"format={fmt}", "hwupload"]
    if encoder.api == "qsv":
        return [f"format={fmt}", "hwupload=extra_hw_frames=64"]
    return []


def quality_options(encoder: Encoder, settings: dict[str, Any], spec: str) -> dict[str, Any]:
    """Encoder options for one output stream (``spec``: its stream specifier, e.g. ``"0"``)."""
    crf, preset = settings["crf"], settings["preset"]
    if encoder.api is None:
        opts: dict[str, Any] = {f"crf:{spec}": crf, f"preset:{spec}": preset}
        if settings.get("tune"):
            opts[f"tune:{spec}"] = settings["tune"]
        if encoder.name == "libx265":
            opts[f"x265-params:{spec}"] = "log-level=error"  # x265 prints its banner on stderr otherwise
        return opts
    if encoder.api == "nvenc":
        return {f"rc:{spec}": "vbr", f"cq:{spec}": crf, f"b:{spec}": "0", f"preset:{spec}": _NVENC_PRESETS[preset]}
    if encoder.api == "qsv":
        return {f"global_quality:{spec}": crf, f"preset:{spec}": _QSV_PRESETS.get(preset, preset)}
    if encoder.api == "vaapi":
        return {f"rc_mode:{spec}": "CQP", f"qp:{spec}": crf}
    # videotoolbox: -q:v 1–100, higher is better
    return {f"q:{spec}": max(1, min(100, 100 - 2 * crf))}


def test_args(encoder: Encoder, vaapi_device: str = DEFAULT_VAAPI_DEVICE) -> list[str]:
    """The test encode's arguments (without the binary), built like a real job's."""
    stream = ffmpeg.input(TEST_SOURCE, f="lavfi")
    kwargs: dict[str, Any] = {"c:0": encoder.name, "format": "null",
                              **quality_options(encoder, {"crf": 28, "preset": "ultrafast"}, "0")}
    filters = upload_filters(encoder, ten_bit=False)
    if filters:
        kwargs["filter:0"] = ",".join(filters)
    out = ffmpeg.output(stream["0"], "-", **kwargs)
    extra = [*global_args(encoder, vaapi_device), "-loglevel", "error"]
    return out.global_args(*extra).compile(cmd="ffmpeg")[1:]


class EncoderState:
    """Detection results for one ffmpeg binary (+ VAAPI device), shared by every transcoder
    object that uses them: ``status`` (``unknown`` until detected, then ``available`` /
    ``unavailable`` / ``degraded``) and ``reason`` per encoder name."""

    def __init__(self, binary: str, vaapi_device: str, timeout: float) -> None:
        self.binary = binary
        self.vaapi_device = vaapi_device
        self.timeout = timeout
        self.status: dict[str, str] = {e.name: "unknown" for e in ALL}
        self.reason: dict[str, str | None] = {e.name: None for e in ALL}
        self.detected = False
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    def _lock(self) -> asyncio.Lock:
        # one lock per event loop: the state outlives a loop (tests, ``asyncio.run`` in scripts)
        loop = asyncio.get_running_loop()
        for old in [lp for lp in self._locks if lp.is_closed()]:
            del self._locks[old]
        return self._locks.setdefault(loop, asyncio.Lock())

    async def detect(self, force: bool = False) -> None:
        """Run the test encodes (once; again with ``force``). Never raises for a failing
        encoder; a missing ffmpeg makes every encoder ``unavailable`` with that reason."""
        async with self._lock():
            if self.detected and not force:
                return
            for encoder in ALL:
                status, reason = await self._try(encoder)
                self.status[encoder.name], self.reason[encoder.name] = status, reason
                _LOGGER.info("encoder %s: %s%s", encoder.name, status, f" ({reason})" if reason else "")
            self.detected = True

    async def _try(self, encoder: Encoder) -> tuple[str, str | None]:
        proc = FfmpegProcess(test_args(encoder, self.vaapi_device), binary=self.binary,
                             description=f"test encode {encoder.name}")
        try:
            async with asyncio.timeout(self.timeout):
                async with proc:
                    await proc.wait()
        except FfmpegNotFound as err:
            return "unavailable", str(err)
        except FfmpegError as err:
            return "unavailable", telling_line(err.stderr_tail) or err.message
        except TimeoutError:
            return "unavailable", f"test encode did not finish within {self.timeout:g} s"
        return "available", None

    def usable(self, name: str) -> bool:
        return self.status.get(name) == "available"

    def mark_degraded(self, name: str, reason: str) -> tuple[str, str | None]:
        """Mark ``name`` degraded; returns its previous ``(status, reason)``."""
        previous = (self.status[name], self.reason[name])
        self.status[name], self.reason[name] = "degraded", reason
        _LOGGER.warning("encoder %s degraded: %s", name, reason)
        return previous

    def restore(self, name: str, previous: tuple[str, str | None]) -> None:
        self.status[name], self.reason[name] = previous

    def choose(self, codec: str, mode: str) -> Encoder | None:
        """The hardware encoder for ``codec`` under ``mode`` (``auto`` or an API), or None for
        software. Call after :meth:`detect`."""
        if mode == "off":
            return None
        for encoder in HARDWARE:
            if encoder.codec == codec and (mode == "auto" or encoder.api == mode) and self.usable(encoder.name):
                return encoder
        return None

    def as_list(self) -> list[dict[str, Any]]:
        return [
            {"name": e.name, "codec": e.codec, "hardware": e.hardware, "api": e.api,
             "status": self.status[e.name], "reason": self.reason[e.name]}
            for e in ALL
        ]


_STATES: dict[tuple[str, str], EncoderState] = {}


def state_for(binary: str, vaapi_device: str, timeout: float = DEFAULT_DETECT_TIMEOUT) -> EncoderState:
    """The shared :class:`EncoderState` for this binary and device."""
    key = (binary, vaapi_device)
    if key not in _STATES:
        _STATES[key] = EncoderState(binary, vaapi_device, timeout)
    return _STATES[key]
