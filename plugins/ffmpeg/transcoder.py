""":class:`FfmpegTranscoder`: the ``transcoder`` provider of the ``ffmpeg`` plugin."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import ffmpeg
import voluptuous as vol

from omnimedia.core.ffmpeg import FfmpegCancelled, FfmpegError, FfmpegNotFound, FfmpegProcess, Progress, which
from omnimedia.core.library.probe import ProbeTimeout, probe
from omnimedia.core.plugins.kinds import Transcoder

from . import command, hardware, profiles
from .errors import ProbeError, TranscodePlanError, TruncatedSource

if TYPE_CHECKING:
    from omnimedia.core.hub import Hub

_LOGGER = logging.getLogger(__name__)

PLATFORM = "ffmpeg"
#: seconds ffprobe may take to read a source's streams
PROBE_TIMEOUT = 60.0
#: ffprobe results remembered per transcoder object
PROBE_CACHE = 16
#: What ffmpeg's demuxers print, as a warning and with exit status 0, when the source file stops
#: before its own index says it should (sources: ``libavformat/matroskadec.c`` "File ended
#: prematurely", ``libavformat/mov.c`` "stream %d, offset 0x%x: partial file").
TRUNCATION_MARKERS = ("File ended prematurely", "partial file")

#: One ``plugins: - platform: ffmpeg`` entry.
CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("ffmpeg_binary", default="ffmpeg"): vol.All(str, vol.Length(min=1)),
        vol.Optional("ffprobe_binary", default="ffprobe"): vol.All(str, vol.Length(min=1)),
        vol.Optional("hardware", default="off"): vol.All(str, vol.Lower, vol.In(profiles.HARDWARE_MODES)),
        vol.Optional("vaapi_device", default=hardware.DEFAULT_VAAPI_DEVICE): vol.All(str, vol.Length(min=1)),
        vol.Optional("detect_timeout", default=hardware.DEFAULT_DETECT_TIMEOUT): vol.All(
            vol.Coerce(float), vol.Range(min=1, max=600)
        ),
        vol.Optional("profiles", default={}): profiles.PROFILES_SCHEMA,
    }
)


class FfmpegTranscoder(Transcoder):
    """Transcodes with ffmpeg: x265/x264 in software, or a detected hardware encoder.

    ``entry``: one validated config entry (the keys of :data:`CONFIG_SCHEMA`; a bare
    ``{"platform": "ffmpeg"}`` gets the defaults). Raises ``voluptuous.Invalid`` for a bad entry.
    """

    platform = PLATFORM

    def __init__(self, hub: Hub | None, entry: Mapping[str, Any]) -> None:
        extra = {k: entry[k] for k in ("platform", "name") if k in entry}
        settings = CONFIG_SCHEMA({k: v for k, v in entry.items() if k not in ("platform", "name")})
        super().__init__(hub, {**settings, **extra})  # type: ignore[arg-type]
        self.binary: str = settings["ffmpeg_binary"]
        self.ffprobe: str = settings["ffprobe_binary"]
        self.vaapi_device: str = settings["vaapi_device"]
        self.hardware_mode: str = settings["hardware"]
        self._profiles = profiles.resolve_profiles(settings["profiles"], settings["hardware"])
        self._probed: collections.OrderedDict[tuple[Any, ...], dict[str, Any]] = collections.OrderedDict()
        self._encoders = hardware.state_for(self.binary, self.vaapi_device, settings["detect_timeout"])

    # -- profiles and encoders ------------------------------------------------------------------
    def profiles(self) -> dict[str, dict[str, Any]]:
        """Profile name → resolved settings (the keys of :mod:`.profiles`, sorted; plain JSON).
        Built-ins ``maximum_quality``, ``balanced``, ``maximum_space`` first, then the entry's."""
        return {name: {**values, "extra_args": dict(values["extra_args"])} for name, values in self._profiles.items()}

    def resolve(self, profile: Mapping[str, Any] | str) -> dict[str, Any]:
        """Full settings for a profile name, or for settings (complete or partial: missing keys
        take the defaults). Raises ``KeyError`` for an unknown name, ``voluptuous.Invalid``."""
        if isinstance(profile, str):
            return dict(self._profiles[profile])
        return profiles.resolve(profile, self.hardware_mode)

    async def encoders(self) -> list[dict[str, Any]]:
        """See :meth:`Transcoder.encoders`. The first call runs the test encodes (about 0.2 s
        each here; ``detect_timeout`` at most); a missing ffmpeg lists every encoder as
        ``unavailable`` with the reason, it does not raise."""
        await self._encoders.detect()
        return self._encoders.as_list()

    async def redetect(self) -> list[dict[str, Any]]:
        """Run the test encodes again (clears ``degraded``); returns :meth:`encoders`."""
        await self._encoders.detect(force=True)
        return self._encoders.as_list()

    async def output_extension(self, source: str, profile: Mapping[str, Any] | str) -> str:
        """The extension (``".mkv"``, ``".mp4"``, ``".mov"``) the output of ``source`` with
        ``profile`` will have. Raises :class:`ProbeError`, ``FfmpegNotFound``."""
        settings = self.resolve(profile)
        if settings["container"] != "source":
            return command.MUXERS[settings["container"]][1]
        info = await self._probe(source)
        return command.MUXERS[command.container_for(settings, info.get("format", {}).get("format_name"), source)][1]

    # -- transcoding ----------------------------------------------------------------------------
    async def _probe(self, source: str) -> dict[str, Any]:
        """ffprobe's JSON for ``source``, remembered while the file's inode, size and mtime stay
        the same (the engine asks :meth:`output_extension` right before :meth:`transcode`)."""
        try:
            st = os.stat(source)
            key: tuple[Any, ...] | None = (source, st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            key = None  # ffprobe says what is wrong
        if key is not None and key in self._probed:
            self._probed.move_to_end(key)
            return self._probed[key]
        info = await self._probe_uncached(source)
        if key is not None:
            self._probed[key] = info
            while len(self._probed) > PROBE_CACHE:
                self._probed.popitem(last=False)
        return info

    async def _probe_uncached(self, source: str) -> dict[str, Any]:
        try:
            return await probe(source, PROBE_TIMEOUT, cmd=self.ffprobe)
        except FileNotFoundError:
            raise FfmpegNotFound(self.ffprobe) from None
        except ffmpeg.Error as err:
            lines = (err.stderr or b"").decode("utf-8", "replace").splitlines()
            raise ProbeError(1, lines or [f"{source}: ffprobe could not read the file"]) from None
        except ProbeTimeout:
            raise ProbeError(1, [f"{source}: ffprobe did not answer within {PROBE_TIMEOUT:g} s"]) from None
        except ValueError as err:
            raise ProbeError(1, [f"{source}: ffprobe printed something that is not JSON ({err})"]) from None

    async def _hdr10(self, source: str, info: dict[str, Any]) -> str | None:
        """x265 parameters for the source's HDR10 metadata, read from its first video frame
        when its first video stream is PQ (``smpte2084``); None otherwise or when unreadable."""
        video = next((s for s in info.get("streams") or [] if s.get("codec_type") == "video"
                      and not (s.get("disposition") or {}).get("attached_pic")), None)
        if video is None or video.get("color_transfer") != "smpte2084":
            return None
        show = ("-select_streams", f"{video.get('index', 0)}", "-read_intervals", "%+#1", "-show_frames",
                "-show_entries", "frame=side_data_list")
        try:
            frames = (await probe(source, PROBE_TIMEOUT, cmd=self.ffprobe, show=show)).get("frames") or [{}]
        except ProbeTimeout:
            _LOGGER.warning("%s: reading HDR metadata timed out; encoding without it", source)
            return None
        except (OSError, ValueError, ffmpeg.Error):
            return None
        return command.x265_hdr10_params(frames[0].get("side_data_list") or [])

    async def plan(self, source: str, destination: str, profile: Mapping[str, Any] | str) -> tuple[command.Plan, list[str]]:
        """The plan and ffmpeg arguments ``transcode`` would use for software encoding (no
        hardware detection). Raises like :meth:`transcode`, without running ffmpeg."""
        settings = self.resolve(profile)
        info = await self._probe(source)
        hdr10 = await self._hdr10(source, info) if settings["video_codec"] == "hevc" else None
        job = command.plan(info, source, settings, None, vaapi_device=self.vaapi_device, hdr10=hdr10)
        return job, command.compile_args(source, destination, job)

    async def transcode(
        self,
        source: str,
        destination: str,
        profile: Mapping[str, Any],
        *,
        duration: float | None = None,
        on_progress: Callable[[Progress], Any] | None = None,
    ) -> dict[str, Any]:
        """See :meth:`Transcoder.transcode`. ``profile``: settings as from :meth:`profiles`
        (partial settings get the defaults) or a profile name.

        Returns ``{"encoder", "fallback", "command", "container" ("mkv"|"mp4"|"mov"),
        "extension", "dropped", "converted" (see :class:`.command.Plan`), "hardware_error"
        (the hardware run's telling line when ``fallback``, else None)}``. ``command`` is the full
        command line of the run that wrote ``destination`` (``-progress pipe:N`` as run, with
        ``N`` for the descriptor number).

        Raises :class:`~omnimedia.core.ffmpeg.FfmpegError` (its ``message`` is ffmpeg's telling
        line; :class:`.errors.ProbeError` when the source cannot be read,
        :class:`.errors.TranscodePlanError` when the job cannot be done as asked),
        ``FfmpegCancelled``, ``FfmpegNotFound``. On any failure or cancellation the partial
        ``destination`` is removed; ``source`` is only read."""
        which(self.binary)  # FfmpegNotFound before anything else
        settings = self.resolve(profile)
        if os.path.exists(destination) and os.path.exists(source) and os.path.samefile(source, destination):
            raise TranscodePlanError(f"{destination}: the destination is the source itself")
        info = await self._probe(source)
        if duration is None:
            with contextlib.suppress(TypeError, ValueError):
                duration = float((info.get("format") or {}).get("duration"))
        hdr10 = await self._hdr10(source, info) if settings["video_codec"] == "hevc" else None
        hw: hardware.Encoder | None = None
        if settings["hardware"] != "off":
            await self._encoders.detect()
            hw = self._encoders.choose(settings["video_codec"], settings["hardware"])
        job = command.plan(info, source, settings, hw, vaapi_device=self.vaapi_device, hdr10=hdr10)
        fallback = hw is None and settings["hardware"] not in ("off", "auto")  # the named API is not usable
        hardware_error = None
        if fallback:
            hardware_error = self._encoders.reason.get(f"{settings['video_codec']}_{settings['hardware']}")
        try:
            try:
                proc = await self._run(source, destination, job, duration, on_progress)
            except (FfmpegCancelled, FfmpegNotFound, TranscodePlanError, TruncatedSource):
                raise
            except FfmpegError as err:
                if hw is None:
                    raise
                # the hardware encoder failed on a real job: software does it, and if software
                # fails too the fault was not the encoder's
                hardware_error = err.message
                previous = self._encoders.mark_degraded(hw.name, err.message)
                job = command.plan(info, source, settings, None, vaapi_device=self.vaapi_device, hdr10=hdr10)
                try:
                    proc = await self._run(source, destination, job, duration, on_progress)
                except FfmpegError:
                    self._encoders.restore(hw.name, previous)
                    raise
                fallback = True
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(destination)
            raise
        return {
            "encoder": job.encoder,
            "fallback": fallback,
            "command": proc.command(),
            "container": job.container,
            "extension": job.extension,
            "dropped": job.dropped,
            "converted": job.converted,
            "hardware_error": hardware_error if fallback else None,
        }

    async def _ffmpeg(
        self, args: list[str], duration: float | None, on_progress: Callable[[Progress], Any] | None, what: str
    ) -> FfmpegProcess:
        proc = FfmpegProcess(args, duration=duration, on_progress=on_progress, binary=self.binary, description=what)
        _LOGGER.debug("ffmpeg: %s", what)
        try:
            async with proc:
                await proc.wait()
        except asyncio.CancelledError:
            _LOGGER.info("%s: cancelled", what)
            raise
        return proc

    async def _run(
        self,
        source: str,
        destination: str,
        job: command.Plan,
        duration: float | None,
        on_progress: Callable[[Progress], Any] | None,
    ) -> FfmpegProcess:
        with contextlib.ExitStack() as stack:
            covers: list[str] = []
            if job.covers:  # extracted next to the destination, removed when the job ends
                tmp = stack.enter_context(tempfile.TemporaryDirectory(
                    prefix=".covers-", dir=os.path.dirname(os.path.abspath(destination))))
                covers = [os.path.join(tmp, f"{n}{os.path.splitext(c['filename'])[1] or '.bin'}")
                          for n, c in enumerate(job.covers)]
                await self._ffmpeg(command.extract_covers_args(source, job, covers), None, None,
                                   f"extract cover art of {os.path.basename(source)}")
            args = command.compile_args(source, destination, job, covers)
            proc = await self._ffmpeg(args, duration, on_progress,
                                      f"transcode {os.path.basename(source)} ({job.encoder})")
        truncated = next((line for line in proc.stderr_tail if any(m in line for m in TRUNCATION_MARKERS)), None)
        if truncated is not None:
            # ffmpeg stops at the end of the data and exits 0, which would make a short output
            raise TruncatedSource(0, [*proc.stderr_tail, f"{source}: the source is truncated ({truncated.strip()})"])
        return proc
