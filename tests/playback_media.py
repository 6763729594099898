"""Media and helpers for the streaming tests (progressive, HLS, sessions): small files made with
ffmpeg, ffprobe/ffmpeg readers that check what a stream really holds, and an MP4 box walker."""

from __future__ import annotations

import json
import re
import struct
import subprocess
from pathlib import Path

from .mediagen import make_pgs_sup

W, H, FPS = 320, 240, 25
#: Keyframes of movie.mkv (s): irregular on purpose, so remuxed HLS segments follow them.
MOVIE_KEYFRAMES = [0.0, 2.5, 4.0, 7.0, 7.5, 10.0]
MOVIE_DURATION = 12.0
#: Cues of movie.mkv's SubRip track: (start, end, text).
MOVIE_CUES = [(1.0, 2.0, "One"), (5.0, 6.0, "Five"), (9.0, 9.5, "Nine")]


def ffmpeg(*args: str) -> None:
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)}: {proc.stderr}"


def _video(duration: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate={FPS}:duration={duration}"]


def _audio(duration: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}:sample_rate=48000"]


X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def make_media(folder: Path) -> dict[str, Path]:
    """Every file the streaming tests play (a few seconds each, 320x240)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    srt = folder / ".cues.srt"
    srt.write_text("".join(
        f"{i + 1}\n{_srt_time(a)} --> {_srt_time(b)}\n{text}\n\n" for i, (a, b, text) in enumerate(MOVIE_CUES)),
        encoding="utf-8")
    # H.264 (keyframes only where listed) + AAC + SubRip, in Matroska.
    out["movie"] = folder / "Movie.2020.mkv"
    ffmpeg(*_video(MOVIE_DURATION), *_audio(MOVIE_DURATION), "-i", str(srt), "-map", "0:v", "-map", "1:a", "-map", "2:s",
           *X264, "-g", "1000", "-sc_threshold", "0", "-force_key_frames", ",".join(f"{t:g}" for t in MOVIE_KEYFRAMES),
           "-c:a", "aac", "-c:s", "srt", "-metadata:s:s:0", "language=eng", str(out["movie"]))
    srt.unlink()
    # MPEG-4 Part 2 + MP3 in AVI: transcoded for every profile.
    out["avi"] = folder / "Old.Film.1999.avi"
    ffmpeg(*_video(8), *_audio(8), "-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame", str(out["avi"]))
    # HEVC + AAC: remuxed for chromecast_4k into fMP4 segments.
    out["hevc"] = folder / "Hevc.Show.S01E01.mkv"
    ffmpeg(*_video(6), *_audio(6), "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
           "log-level=error:keyint=50:min-keyint=50:scenecut=0", "-pix_fmt", "yuv420p", "-c:a", "aac", str(out["hevc"]))
    # AC-3 audio only: the browser gets AAC in MP4 without video.
    out["audio"] = folder / "Tone.mka"
    ffmpeg(*_audio(6), "-c:a", "ac3", str(out["audio"]))
    # H.264 + AAC + a PGS picture subtitle (a white 40x20 box at (140, 210) from 0 to 0.8 s).
    sup = make_pgs_sup(folder / ".box.sup")
    out["pgs"] = folder / "Pgs.Movie.2021.mkv"
    ffmpeg(*_video(3), *_audio(3), "-i", str(sup), "-map", "0:v", "-map", "1:a", "-map", "2:s", *X264,
           "-c:a", "aac", "-c:s", "copy", str(out["pgs"]))
    sup.unlink()
    # Bad input.
    out["corrupt"] = folder / "Corrupt.Movie.2018.mkv"
    out["corrupt"].write_bytes(bytes((i * 7919 + 13) % 251 for i in range(64 * 1024)))
    mp4 = folder / ".whole.mp4"
    ffmpeg(*_video(4), *_audio(4), *X264, "-c:a", "aac", str(mp4))  # moov at the end
    out["truncated_mp4"] = folder / "Truncated.Movie.2017.mp4"
    out["truncated_mp4"].write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 2])
    mp4.unlink()
    out["truncated_mkv"] = folder / "Truncated.Show.S01E02.mkv"
    data = out["movie"].read_bytes()
    out["truncated_mkv"].write_bytes(data[: len(data) // 2])
    return out


def make_long(path: Path, duration: float = 120.0) -> Path:
    """A longer H.264/AAC Matroska (for streams that must still be running when tested)."""
    ffmpeg(*_video(duration), *_audio(duration), *X264, "-c:a", "aac", str(path))
    return path


def _srt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def ffprobe(path: Path, *extra: str) -> dict:
    """ffprobe's JSON for a file: format and streams (and whatever ``extra`` asks for)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", *extra, "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def packets(path: Path, stream: str = "v:0", extra: str = "") -> list[dict]:
    """Every packet of one stream: ``{pts_time, dts_time, flags, size}`` (and ``extra`` fields)."""
    fields = "pts_time,dts_time,flags,size" + (f",{extra}" if extra else "")
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
                          f"packet={fields}", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["packets"]


def decodes(path: Path) -> str:
    """Decode every stream of ``path`` completely; return ffmpeg's error output (empty when clean)."""
    proc = subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-i", str(path), "-f", "null", "-"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr.strip()


def psnr(a: Path, a_time: float | None, b: Path, b_time: float, *, a_frame: int = 0) -> float:
    """PSNR (dB, luma and chroma averaged) between a picture of ``a`` and the frame of ``b`` at
    ``b_time`` (both decoded and scaled to 320x240); ``inf`` for identical frames. The picture of
    ``a``: the one at ``a_time``, or (``a_time`` ``None``) its ``a_frame``-th picture from the
    start, which does not depend on how the file's timestamps begin."""
    seek_a = [] if a_time is None else ["-ss", f"{a_time}"]
    pick = f"select=eq(n\\,{a_frame})," if a_time is None else ""
    proc = subprocess.run([
        "ffmpeg", "-hide_banner", "-nostats", *seek_a, "-i", str(a), "-ss", f"{b_time}", "-i", str(b),
        "-filter_complex", f"[0:v]{pick}setpts=PTS-STARTPTS,scale={W}:{H},format=yuv420p[a];"
        f"[1:v]setpts=PTS-STARTPTS,scale={W}:{H},format=yuv420p[b];[a][b]psnr",
        "-frames:v", "1", "-f", "null", "-"], capture_output=True, text=True, check=False)
    match = re.search(r"average:(\S+)", proc.stderr)
    assert match, proc.stderr
    return float("inf") if match[1] == "inf" else float(match[1])


def gray_frame(path: Path, at: float) -> bytes:
    """The luma plane (320x240 bytes) of the frame of ``path`` at ``at`` seconds."""
    proc = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{at}", "-i", str(path), "-frames:v", "1",
                           "-vf", f"scale={W}:{H}", "-pix_fmt", "gray", "-f", "rawvideo", "-"],
                          capture_output=True, check=True)
    assert len(proc.stdout) == W * H
    return proc.stdout


def region_mean(frame: bytes, x: int, y: int, w: int, h: int) -> float:
    values = [frame[(y + j) * W + x + i] for j in range(h) for i in range(w)]
    return sum(values) / len(values)


def mp4_boxes(data: bytes) -> list[str]:
    """Top-level ISO BMFF box types in order (ISO/IEC 14496-12 §4.2: 32-bit size, type,
    64-bit ``largesize`` when size is 1)."""
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        pos += size
    return boxes


def playlist_entries(text: str) -> list[tuple[float, str]]:
    """``(EXTINF duration, URI)`` of each segment of a media playlist."""
    entries, duration = [], None
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",")[0])
        elif line and not line.startswith("#"):
            assert duration is not None, line
            entries.append((duration, line))
            duration = None
    return entries
