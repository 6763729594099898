"""Blocking readers for what is inside a file besides its streams: music tags (mutagen), photo
EXIF (Pillow), ebook/comic archives (zipfile). Call them from a thread.

Each returns a dict of item columns (plus ``tags``) or raises :class:`UnreadableMedia` with a
user-facing reason.
"""

from __future__ import annotations

import re
import zipfile
from typing import Any
from xml.etree import ElementTree

import mutagen
from PIL import ExifTags, Image, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff")


class UnreadableMedia(Exception):
    """The file is not what its extension says, or cannot be read; the message says why."""


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _clean(value: Any) -> Any:
    """Tag values as JSON-safe strings (no NUL bytes, which PostgreSQL refuses)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    return value


def _leading_int(value: Any) -> int | None:
    m = re.match(r"\s*(\d+)", str(value or ""))
    return int(m.group(1)) if m else None


def read_audio_tags(path: str) -> dict[str, Any]:
    """Music tags via mutagen's "easy" interface (ID3, Vorbis comments, MP4 atoms alike).

    Returns ``{title, artist, album, track_number, year, duration (s) | absent, tags {all easy
    tags, first values}}``. Files without tags give ``{"tags": {}}``.
    Raises :class:`UnreadableMedia` when mutagen cannot parse the file."""
    try:
        audio = mutagen.File(path, easy=True)
    except mutagen.MutagenError as err:
        raise UnreadableMedia(f"unreadable audio tags: {err}") from err
    if audio is None:
        return {"tags": {}}
    tags: dict[str, Any] = {}
    for key, value in (audio.tags or {}).items() if audio.tags is not None else []:
        v = _clean(_first(value))
        if isinstance(v, str | int | float) and v != "":
            tags[str(key).lower()] = v
    out: dict[str, Any] = {
        "title": tags.get("title"),
        "artist": tags.get("artist") or tags.get("albumartist"),
        "album": tags.get("album"),
        "track_number": _leading_int(tags.get("tracknumber")),
        "year": _leading_int(tags.get("date") or tags.get("originaldate")),
        "tags": tags,
    }
    length = getattr(getattr(audio, "info", None), "length", None)
    if length:
        out["duration"] = float(length)
    return out


def _exif_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return None  # maker notes and other binary blobs are not useful to show
    if isinstance(value, tuple):
        return [_exif_value(v) for v in value]
    if hasattr(value, "numerator") and hasattr(value, "denominator"):
        return float(value) if value.denominator else None
    return _clean(value)


def _exif_date(text: Any) -> str | None:
    """EXIF ``"2021:06:15 14:30:00"`` → ISO ``"2021-06-15T14:30:00"`` (camera local time)."""
    m = re.match(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})", str(text or ""))
    if not m:
        return None
    y, mo, d, h, mi, s = m.groups()
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}"


def read_photo(path: str) -> dict[str, Any]:
    """Size and EXIF of an image (Pillow).

    Returns ``{container (PIL format, lower case), width, height, year, tags {make, model,
    taken_at (ISO, camera local time), orientation, exposure_time, f_number, iso, focal_length,
    gps_latitude, gps_longitude (decimal degrees) — each only when present}}``.
    Raises :class:`UnreadableMedia` when Pillow cannot identify or decode the image."""
    try:
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            width, height = img.size
            fmt = (img.format or "").lower() or None
            exif = img.getexif()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise UnreadableMedia(f"corrupt or unsupported image: {err}") from err
    tags: dict[str, Any] = {}
    base = ExifTags.Base
    for key, tag in (("make", base.Make), ("model", base.Model), ("orientation", base.Orientation)):
        if tag in exif:
            tags[key] = _exif_value(exif[tag])
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    taken = _exif_date(sub.get(base.DateTimeOriginal) or exif.get(base.DateTime))
    if taken:
        tags["taken_at"] = taken
    for key, tag in (
        ("exposure_time", base.ExposureTime),
        ("f_number", base.FNumber),
        ("iso", base.ISOSpeedRatings),
        ("focal_length", base.FocalLength),
    ):
        if tag in sub:
            tags[key] = _exif_value(sub[tag])
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    for key, ref_tag, val_tag in (
        ("gps_latitude", ExifTags.GPS.GPSLatitudeRef, ExifTags.GPS.GPSLatitude),
        ("gps_longitude", ExifTags.GPS.GPSLongitudeRef, ExifTags.GPS.GPSLongitude),
    ):
        if val_tag in gps:
            try:
                d, m, s = (float(x) for x in gps[val_tag])
                sign = -1 if str(gps.get(ref_tag, "")).upper() in ("S", "W") else 1
                tags[key] = round(sign * (d + m / 60 + s / 3600), 6)
            except (TypeError, ValueError, ZeroDivisionError):
                pass
    tags = {k: v for k, v in tags.items() if v not in (None, "")}
    return {
        "container": fmt,
        "width": width,
        "height": height,
        "year": int(taken[:4]) if taken else None,
        "tags": tags,
    }


def _open_zip(path: str, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise UnreadableMedia(f"corrupt {what}: not a ZIP archive ({err})") from err


def read_book(path: str, cls: str) -> dict[str, Any]:
    """Check an ebook or comic by its content and read what it says about itself.

    EPUB: a ZIP whose ``mimetype`` is ``application/epub+zip``; title/author/year from the OPF
    (``dc:title``, ``dc:creator``, ``dc:date``). CBZ: a ZIP of images (``tags.pages``). PDF: starts
    with ``%PDF-``. Other formats are accepted as they are.
    Returns ``{container, title?, artist? (author), year?, tags {}}``;
    raises :class:`UnreadableMedia` when the content does not match."""
    lower = path.lower()
    if lower.endswith(".epub"):
        with _open_zip(path, "EPUB") as zf:
            try:
                mimetype = zf.read("mimetype").decode("ascii", "replace").strip()
            except KeyError:
                mimetype = ""
            if mimetype != "application/epub+zip":
                raise UnreadableMedia("corrupt EPUB: the 'mimetype' entry is not application/epub+zip")
            return {"container": "epub", **_epub_metadata(zf)}
    if lower.endswith(".cbz"):
        with _open_zip(path, "CBZ comic") as zf:
            pages = [n for n in zf.namelist() if n.lower().endswith(IMAGE_EXTENSIONS)]
            if not pages:
                raise UnreadableMedia("corrupt CBZ comic: the archive holds no images")
            return {"container": "cbz", "tags": {"pages": len(pages)}}
    if lower.endswith(".pdf"):
        with open(path, "rb") as fh:
            head = fh.read(5)
        if head != b"%PDF-":
            raise UnreadableMedia("corrupt PDF: the file does not start with %PDF-")
        return {"container": "pdf", "tags": {}}
    with open(path, "rb") as fh:  # at least prove it can be read
        fh.read(1)
    return {"container": lower.rsplit(".", 1)[-1], "tags": {}}


def _epub_metadata(zf: zipfile.ZipFile) -> dict[str, Any]:
    ns = {
        "c": "urn:oasis:names:tc:opendocument:xmlns:container",
        "opf": "http://www.idpf.org/2007/opf",
        "dc": "http://purl.org/dc/elements/1.1/",
    }
    try:
        container = ElementTree.fromstring(zf.read("META-INF/container.xml"))
        rootfile = container.find(".//c:rootfile", ns)
        if rootfile is None:
            return {"tags": {}}
        opf = ElementTree.fromstring(zf.read(rootfile.get("full-path", "")))
    except (KeyError, ElementTree.ParseError):
        return {"tags": {}}
    meta = opf.find("opf:metadata", ns)
    if meta is None:
        return {"tags": {}}

    def text(tag: str) -> str | None:
        el = meta.find(f"dc:{tag}", ns)
        return _clean(el.text) if el is not None and el.text else None

    date = text("date")
    tags = {k: v for k, v in (("language", text("language")), ("publisher", text("publisher"))) if v}
    return {"title": text("title"), "artist": text("creator"), "year": _leading_int(date), "tags": tags}
