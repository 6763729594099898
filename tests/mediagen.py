"""Real media made on the spot with ffmpeg (lavfi ``testsrc2`` + ``sine``), mutagen and Pillow.

Tiny on purpose (160x90, 1–2 s) so a whole library is made in a few seconds on two cores. Names
follow real release naming. Nothing here is committed as a binary; tests and
``scripts/make_sample_media.py`` call these functions.
"""

from __future__ import annotations

import os
import struct
import subprocess
import zipfile
from io import BytesIO
from pathlib import Path

from PIL import Image

SIZE = "160x90"
RATE = 10

#: Default file names, like real releases.
EPISODE_NAME = "Show.Name.S01E02.1080p.WEB-DL.DDP5.1.H.264-GROUP.mkv"
MOVIE_NAME = "Movie.Title.2019.1080p.BluRay.x264-GRP.mp4"


def _ffmpeg(*args: str) -> None:
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({' '.join(cmd)}): {proc.stderr.strip()}")


def _sources(duration: float, freq: int = 440) -> list[str]:
    return [
        "-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate={RATE}:duration={duration}",
        "-f", "lavfi", "-i", f"sine=frequency={freq}:duration={duration}:sample_rate=44100",
    ]


def make_video(
    path: Path,
    *,
    vcodec: str = "libx264",
    acodec: str = "aac",
    duration: float = 1.0,
    audio_language: str = "eng",
    subtitles: list[tuple[str, str]] | None = None,
) -> Path:
    """A video of ``duration`` seconds, 160x90 at 10 fps, with one sine audio track.

    ``subtitles``: ``[(language, title)]`` — each becomes an embedded text subtitle track (SubRip
    in Matroska, mov_text in MP4). The container follows the extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    args = _sources(duration)
    maps = ["-map", "0:v", "-map", "1:a"]
    sub_files: list[Path] = []
    for i, _ in enumerate(subtitles or []):
        srt = path.with_name(f".{path.stem}.{i}.srt")
        srt.write_text(f"1\n00:00:00,000 --> 00:00:00,900\nLine {i}\n", encoding="utf-8")
        sub_files.append(srt)
        args += ["-i", str(srt)]
        maps += ["-map", f"{2 + i}:s"]
    codec_args = ["-c:v", vcodec, "-c:a", acodec]
    if vcodec == "libx264":
        codec_args += ["-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    elif vcodec == "libvpx-vp9":
        codec_args += ["-deadline", "realtime", "-cpu-used", "8", "-b:v", "100k"]
    if acodec == "libopus":
        codec_args += ["-ar", "48000"]
    meta = ["-metadata:s:a:0", f"language={audio_language}"]
    if subtitles:
        codec_args += ["-c:s", "mov_text" if path.suffix.lower() in (".mp4", ".m4v", ".mov") else "srt"]
        for i, (lang, title) in enumerate(subtitles):
            meta += [f"-metadata:s:s:{i}", f"language={lang}", f"-metadata:s:s:{i}", f"title={title}"]
    try:
        _ffmpeg(*args, *maps, *codec_args, *meta, "-t", f"{duration:g}", str(path))
    finally:
        for srt in sub_files:
            srt.unlink(missing_ok=True)
    return path


def make_mkv(path: Path, **kw) -> Path:
    """Matroska, H.264 + AAC, with an English SubRip subtitle track."""
    kw.setdefault("subtitles", [("eng", "English")])
    return make_video(path, vcodec="libx264", acodec="aac", **kw)


def make_mp4(path: Path, **kw) -> Path:
    """MP4, H.264 + AAC."""
    return make_video(path, vcodec="libx264", acodec="aac", **kw)


def make_webm(path: Path, **kw) -> Path:
    """WebM, VP9 + Opus."""
    return make_video(path, vcodec="libvpx-vp9", acodec="libopus", **kw)


def make_avi(path: Path, **kw) -> Path:
    """AVI, MPEG-4 Part 2 + MP3."""
    return make_video(path, vcodec="mpeg4", acodec="libmp3lame", **kw)


def make_audio(
    path: Path,
    *,
    title: str = "Test Tone",
    artist: str = "The Generators",
    album: str = "Lavfi Sessions",
    track: int = 1,
    year: int = 2020,
    duration: float = 1.0,
    freq: int = 440,
) -> Path:
    """A tagged audio file; the codec follows the extension (``.mp3`` → MP3 with ID3v2, ``.flac``
    → FLAC with Vorbis comments, ``.m4a``/``.m4b`` → AAC with MP4 atoms, ``.ogg`` → Vorbis)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = {".mp3": "libmp3lame", ".flac": "flac", ".m4a": "aac", ".m4b": "aac", ".ogg": "libvorbis",
             ".opus": "libopus"}[path.suffix.lower()]
    extra = ["-f", "ipod"] if path.suffix.lower() == ".m4b" else []
    _ffmpeg(
        "-f", "lavfi", "-i", f"sine=frequency={freq}:duration={duration}:sample_rate=44100",
        "-c:a", codec,
        "-metadata", f"title={title}", "-metadata", f"artist={artist}", "-metadata", f"album={album}",
        "-metadata", f"track={track}", "-metadata", f"date={year}",
        *extra, str(path),
    )
    return path


def make_photo(
    path: Path,
    *,
    make: str = "Canon",
    model: str = "EOS 5D",
    taken: str = "2021:06:15 14:30:00",
    size: tuple[int, int] = (64, 48),
    gps: tuple[float, float] | None = (48.8584, 2.2945),
) -> Path:
    """A JPEG with EXIF: camera make/model, DateTimeOriginal (``taken``, EXIF format) and GPS."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, (200, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = make  # Make
    exif[0x0110] = model  # Model
    exif[0x0132] = taken  # DateTime
    exif.get_ifd(0x8769)[0x9003] = taken  # Exif IFD → DateTimeOriginal
    if gps is not None:
        def dms(value: float) -> tuple[float, float, float]:
            value = abs(value)
            d = int(value)
            m = int((value - d) * 60)
            s = round((value - d - m / 60) * 3600, 2)
            return (float(d), float(m), s)

        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N" if gps[0] >= 0 else "S"
        gps_ifd[2] = dms(gps[0])
        gps_ifd[3] = "E" if gps[1] >= 0 else "W"
        gps_ifd[4] = dms(gps[1])
    img.save(path, "JPEG", exif=exif)
    return path


def make_epub(path: Path, *, title: str = "A Tiny Book", author: str = "Ann Author", date: str = "2018-03-01") -> Path:
    """A minimal but valid EPUB 3 (mimetype first and stored, container.xml, OPF, one page)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    opf = f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="id">urn:uuid:00000000-0000-0000-0000-000000000001</dc:identifier>
    <dc:title>{title}</dc:title><dc:creator>{author}</dc:creator>
    <dc:language>en</dc:language><dc:date>{date}</dc:date>
  </metadata>
  <manifest><item id="p1" href="p1.xhtml" media-type="application/xhtml+xml"/></manifest>
  <spine><itemref idref="p1"/></spine>
</package>"""
    container = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/container.xml", container, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("OEBPS/content.opf", opf, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("OEBPS/p1.xhtml", "<html xmlns='http://www.w3.org/1999/xhtml'><body><p>Hi</p></body></html>")
    return path


def make_cbz(path: Path, pages: int = 3) -> Path:
    """A CBZ comic: a ZIP of ``pages`` PNG pages."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(pages):
            buf = BytesIO()
            Image.new("RGB", (32, 48), (i * 60 % 255, 100, 150)).save(buf, "PNG")
            zf.writestr(f"page{i + 1:03d}.png", buf.getvalue())
    return path


def make_empty(path: Path) -> Path:
    """A zero-byte file (e.g. a ``.mkv`` whose download never started)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def make_corrupt(path: Path, size: int = 4096, seed: int = 7) -> Path:
    """Random bytes under a media extension (deterministic for a given seed)."""
    import random

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def make_fake(path: Path, text: str = "this is not really a book\n") -> Path:
    """A text file under a media extension (``.epub``, ``.cbz``…): the content lies."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_library(root: Path) -> dict[str, Path]:
    """A mixed library with one of everything; returns ``{key: path}``.

    Keys: episode (mkv h264/aac + subtitles), movie (mp4 h264/aac), webm (vp9/opus episode), avi
    (mpeg4/mp3 movie), daily, anime, mp3, flac, audiobook (m4b), photo, epub, cbz, empty (zero-byte
    mkv), corrupt (random bytes .mp4), fake_epub."""
    root = Path(root)
    paths = _library_paths(root)
    makers = {
        "episode": make_mkv,
        "movie": make_mp4,
        "webm": make_webm,
        "avi": make_avi,
        "daily": make_mp4,
        "anime": lambda p: make_mkv(p, subtitles=[]),
        "mp3": make_audio,
        "flac": lambda p: make_audio(p, title="Other Tone", track=2, freq=660),
        "audiobook": lambda p: make_audio(p, title="A Long Story", artist="Reader", album="A Long Story"),
        "photo": make_photo,
        "epub": make_epub,
        "cbz": make_cbz,
        "empty": make_empty,
        "corrupt": make_corrupt,
        "fake_epub": make_fake,
    }
    return {key: makers[key](path) for key, path in paths.items()}


def touch_later(path: Path, seconds: float = 5.0) -> None:
    """Move a file's mtime forward (so an incremental scan sees a change even within the same
    second)."""
    st = os.stat(path)
    os.utime(path, (st.st_atime + seconds, st.st_mtime + seconds))


_TEMPLATE: Path | None = None


def library_copy(dest: Path) -> dict[str, Path]:
    """:func:`make_library` made once per process (in a temporary folder) and copied to ``dest``
    (times preserved); returns ``{key: path under dest}``."""
    import atexit
    import shutil
    import tempfile

    global _TEMPLATE
    if _TEMPLATE is None:
        tmp = Path(tempfile.mkdtemp(prefix="omnimedia-media-"))
        atexit.register(shutil.rmtree, tmp, True)
        make_library(tmp / "lib")
        _TEMPLATE = tmp / "lib"
    dest = Path(dest)
    shutil.copytree(_TEMPLATE, dest, dirs_exist_ok=True)
    return {key: dest / path.relative_to(_TEMPLATE) for key, path in _library_paths(_TEMPLATE).items()}


def _library_paths(root: Path) -> dict[str, Path]:
    # make_library's layout, without making anything
    return {
        "episode": root / "TV" / "Show Name" / "Season 01" / EPISODE_NAME,
        "movie": root / "Movies" / MOVIE_NAME,
        "webm": root / "TV" / "Other Show" / "Other.Show.S02E05.720p.WEBRip.VP9-GRP.webm",
        "avi": root / "Movies" / "Old.Movie.1999.DVDRip.XviD-OLD.avi",
        "daily": root / "TV" / "The.Daily.Show.2023.05.04.Guest.Name.720p.HDTV.x264-FOO.mp4",
        "anime": root / "Anime" / "[SubsPlease] One Piece - 1071 (1080p) [ABCD1234].mkv",
        "mp3": root / "Music" / "The Generators" / "01 - Test Tone.mp3",
        "flac": root / "Music" / "The Generators" / "02 - Other Tone.flac",
        "audiobook": root / "Audiobooks" / "A Long Story.m4b",
        "photo": root / "Photos" / "IMG_0001.jpg",
        "epub": root / "Books" / "A Tiny Book.epub",
        "cbz": root / "Comics" / "Hero 001.cbz",
        "empty": root / "Incoming" / "Empty.Movie.2020.1080p.WEB-DL.x264-NONE.mkv",
        "corrupt": root / "Incoming" / "Broken.Movie.2018.720p.BluRay.x264-BAD.mp4",
        "fake_epub": root / "Books" / "Not A Book.epub",
    }


def _pgs_segment(kind: int, pts: int, payload: bytes) -> bytes:
    # HDMV PGS segment header: "PG", PTS, DTS (90 kHz), type, size (Blu-ray spec, as read by
    # ffmpeg's libavcodec/pgssubdec.c and libavformat/supdec.c).
    return b"PG" + struct.pack(">IIBH", pts, pts, kind, len(payload)) + payload


def make_pgs_sup(path: Path, width: int = 320, height: int = 240, box: tuple[int, int] = (40, 20)) -> Path:
    """A real PGS subtitle stream (``.sup``): one white box shown from 0 to 0.8 s. ffmpeg cannot
    encode image subtitles from text, so the display set (presentation composition, window,
    palette, run-length-coded object, end) is written by hand."""
    w, h = box
    x, y = (width - w) // 2, height - h - 10
    pcs = struct.pack(">HHBHBBBB", width, height, 0x10, 0, 0x80, 0, 0, 1) + struct.pack(">HBBHH", 0, 0, 0, x, y)
    wds = struct.pack(">BBHHHH", 1, 0, x, y, w, h)
    pds = struct.pack(">BB", 0, 0) + bytes([1, 235, 128, 128, 255])
    line = bytes([0, 0x80 | w, 1]) + b"\x00\x00"  # w pixels of colour 1 (w < 64), end of line
    rle = line * h
    ods = struct.pack(">HBB", 0, 0, 0xC0) + (len(rle) + 4).to_bytes(3, "big") + struct.pack(">HH", w, h) + rle
    shown = b"".join(_pgs_segment(k, 0, p) for k, p in ((0x16, pcs), (0x17, wds), (0x14, pds), (0x15, ods), (0x80, b"")))
    clear_pcs = struct.pack(">HHBHBBBB", width, height, 0x10, 1, 0x00, 0, 0, 0)
    end = int(0.8 * 90000)
    cleared = b"".join(_pgs_segment(k, end, p) for k, p in ((0x16, clear_pcs), (0x17, wds), (0x80, b"")))
    path.write_bytes(shown + cleared)
    return path
