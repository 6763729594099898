"""The XMLTV parser (core/dvr/xmltv.py) on every real fixture of ../shared/fixtures/tv/xmltv (the xmltv
project's and Jellyfin's test guides), on times and episode numbers in every form the DTD allows,
on DST changes, and on broken, truncated, compressed and hostile documents.

Expected epoch values were worked out by hand from the documents (UTC unless a zone is given; BST is
+0100 as the DTD says)."""

from __future__ import annotations

import gzip
import io
import lzma
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from omnimedia.core.dvr import xmltv
from omnimedia.core.dvr.xmltv import XmltvError, parse, parse_onscreen, parse_time, parse_xmltv_ns

XMLTV_DIR = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "tv" / "xmltv"


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


@pytest.fixture
def fixture() -> callable:
    def read(name: str) -> Path:
        path = XMLTV_DIR / name
        if not path.is_file():
            pytest.skip(f"XMLTV fixture {path} not found (clone without ../shared)")
        return path

    return read


# -- the real fixtures ----------------------------------------------------------------------------------
def test_test_xml_every_field(fixture) -> None:
    g = parse(fixture("test.xml"))
    assert not g.partial and g.errors == [] and g.skipped == 0
    assert g.generator == "my listings generator"
    assert [(c.id, c.names, c.number) for c in g.channels] == [
        ("3sat.de", ["3SAT"], None), ("das-erste.de", ["ARD", "Das Erste"], None)]
    (p,) = g.programmes
    assert p.channel == "3sat.de"
    assert p.start == utc(2000, 6, 3, 16, 33)  # "200006031633": no seconds, no zone → UTC
    assert p.stop == p.start + 3600  # no stop, no later programme: <length units="minutes">60</length>
    assert p.title == "blah" and p.description == "Blah Blah Blah."
    assert p.subtitle is None
    assert p.categories == ["Comedy"]
    assert (p.season, p.episode) == (3, 10)  # xmltv_ns "2 . 9 . 0/1" is zero-based
    assert p.episode_id == "2.9.0/1"
    assert p.year == 1990 and p.original_air_date == "1990-10-11"  # <date>19901011</date>
    assert p.icon == "http://image.example.com/dgXPhzNJH8H.jpg"
    assert not p.new and not p.previously_shown


def test_amp_entities_and_named_zone(fixture) -> None:
    g = parse(fixture("amp.xml"))
    # The first programme has no stop and nothing after it on its channel: skipped, with a message.
    assert g.skipped == 1 and "no stop time" in g.errors[0] and "line 5" in g.errors[0]
    (news,) = g.programmes
    assert (news.channel, news.title) == ("TA", "News")
    assert (news.start, news.stop) == (utc(2002, 10, 10, 8, 0), utc(2002, 10, 10, 8, 55))  # +0100
    assert [c.id for c in g.channels] == ["TA"] and g.undeclared == 1

    # Give the first one a stop to see its text: entities decoded, the first title wins, the
    # description's whitespace collapsed (the DTD: runs of whitespace in desc are one space).
    data = fixture("amp.xml").read_bytes().replace(
        b'start="20010829000500 BST"', b'start="20010829000500 BST" stop="20010829003000 BST"')
    first = parse(data).programmes[0]
    assert first.title == "Ampersand Land"
    assert first.description == "& hello && there &amp; everyone < &< <amp;"
    assert (first.start, first.stop) == (utc(2001, 8, 28, 23, 5), utc(2001, 8, 28, 23, 30))  # BST = +0100


def test_attrs(fixture) -> None:
    g = parse(fixture("attrs.xml"))
    (p,) = g.programmes
    assert (p.channel, p.title) == ("bbc2.bbc.co.uk", "Attrib Rameau")
    assert (p.start, p.stop) == (utc(2001, 8, 28, 23, 5), utc(2001, 8, 28, 23, 30))
    assert g.channels[0].names == ["bbc2.bbc.co.uk"]  # undeclared: named by its id


def test_empty(fixture) -> None:
    g = parse(fixture("empty.xml"))
    assert g.channels == [] and g.programmes == [] and g.skipped == 0 and not g.partial and g.errors == []


def test_intervals_missing_stop_is_next_start(fixture) -> None:
    g = parse(fixture("intervals.xml"))
    assert g.skipped == 0
    times = [(p.title, p.start, p.stop) for p in g.programmes]
    t = lambda h, m: utc(2003, 2, 16, h, m)  # noqa: E731
    assert times == [
        ("On 'before' but not 'after' 13:30.", t(13, 0), t(13, 30)),  # no stop: next later start
        ("On both 'before' and 'after' 13:30.", t(13, 0), t(14, 0)),
        ("On 'before' but not 'after' 13:30.", t(13, 30), t(13, 30)),  # zero length is kept
        ("Straightforward 'before' but not 'after' 13:30.", t(13, 0), t(13, 10)),
        ("On both 'before' and 'after' 13:30.", t(13, 30), t(14, 0)),
        ("Straightforward 'after' but not 'before' 13:30.", t(13, 40), t(14, 0)),
    ]
    # Sorted by (start, stop): 13:00-13:10, 13:00-13:30*, 13:00-14:00*, 13:30-13:30*, 13:30-14:00*,
    # 13:40-14:00* — each starred one starts before an earlier one has stopped.
    assert g.overlaps == 5


def test_overlap(fixture) -> None:
    g = parse(fixture("overlap.xml"))
    kept = [p.title for p in g.programmes]
    # B, D, E, F on channel 1 have no stop and no later programme: skipped.
    assert kept == ["A", "C", "G", "H", "I", "J", "K", "Zero length, should not overlap with one starting at same time",
                    "One hour long", "Zero length in the middle"]
    assert g.skipped == 4 and len(g.errors) == 4 and all("no stop time" in e for e in g.errors)
    a = g.programmes[0]
    assert (a.start, a.stop) == (utc(2001, 12, 28, 11, 31, 0), utc(2001, 12, 28, 11, 31, 1))
    # C over A (1), H over G (2), K over J (5), the zero-length one in the middle of the hour (a);
    # the zero-length one at the hour's start does not overlap it (half-open intervals).
    assert g.overlaps == 4
    assert sorted(c.id for c in g.channels) == ["1", "2", "4", "5", "a"]


def test_length(fixture) -> None:
    (p,) = parse(fixture("length.xml")).programmes
    assert (p.channel, p.title, p.description) == ("CNN", "News", "Lots of news.")
    assert (p.start, p.stop) == (utc(2002, 2, 23, 23, 0), utc(2002, 2, 23, 23, 30))  # "200202240000 +0100"


def test_simple_has_no_stops(fixture) -> None:
    g = parse(fixture("simple.xml"))
    # Each programme is alone on its channel and has neither stop nor length: both skipped.
    assert g.programmes == [] and g.skipped == 2
    assert "line 4" in g.errors[0] and "'The Phil Silvers Show'" in g.errors[0]
    data = fixture("simple.xml").read_bytes().replace(
        b'start="20010829095500 BST"', b'start="20010829095500 BST" stop="20010829102000 BST"')
    (king,) = parse(data).programmes
    assert (king.title, king.subtitle, king.categories) == ("King of the Hill", "Meet the Propaniacs", ["animation"])
    assert king.previously_shown and king.original_air_date is None
    assert king.description == "Bobby tours with a comedy troupe who specialize in propane-related mirth."


def test_test_empty(fixture) -> None:
    data = fixture("test_empty.xml").read_bytes().replace(b'channel="foo.com"',
                                                          b'stop="20020420140000" channel="foo.com"')
    (p,) = parse(data).programmes
    assert p.title.startswith("A programme with empty stuff")
    assert p.categories == [] and p.description is None and p.icon is None


def test_jellyfin_etag_base(fixture) -> None:
    (p,) = parse(fixture("jellyfin_etag-base.xml")).programmes
    assert (p.channel, p.title, p.subtitle, p.description) == ("3297", "Base Program", "Base Episode", "Base description.")
    assert (p.start, p.stop) == (utc(2022, 11, 4, 13), utc(2022, 11, 4, 14))
    assert (p.season, p.episode) == (1, 2)  # "0 . 1 . "
    assert p.episode_id == "EP123456789012"  # dd_progid wins
    assert p.categories == ["series"] and p.icon == "https://domain.tld/base.png"


def test_jellyfin_notitle_is_skipped(fixture) -> None:
    g = parse(fixture("jellyfin_notitle.xml"))
    assert g.programmes == [] and g.skipped == 1
    assert "no title" in g.errors[0] and "line 2" in g.errors[0] and "'3297'" in g.errors[0]
    # With a title, the rest of it: an empty <date/> and <icon height=""> are harmless, the
    # original-air-date episode-num gives the air date.
    data = fixture("jellyfin_notitle.xml").read_bytes().replace(b"<category", b"<title>Game</title><category", 1)
    (p,) = parse(data).programmes
    assert p.original_air_date == "2022-11-04" and p.year is None
    assert p.icon == "https://domain.tld/image.png"
    assert p.stop == utc(2022, 11, 5, 23, 59, 59)


def test_jellyfin_emptycategory(fixture) -> None:
    assert parse(fixture("jellyfin_emptycategory.xml")).skipped == 1  # no title either
    data = fixture("jellyfin_emptycategory.xml").read_bytes().replace(b"<category", b"<title>Match</title><category", 1)
    (p,) = parse(data).programmes
    assert p.categories == ["sports"]  # the empty <category lang="en" /> is dropped


# -- times --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("20020420131000 +0100", utc(2002, 4, 20, 12, 10)),
    ("20020420131000 -0500", utc(2002, 4, 20, 18, 10)),
    ("20020420131000+0100", utc(2002, 4, 20, 12, 10)),
    ("20020420131000 +01:00", utc(2002, 4, 20, 12, 10)),
    ("20020420131000 +05:30", utc(2002, 4, 20, 7, 40)),
    ("20020420131000 +01", utc(2002, 4, 20, 12, 10)),
    ("20020420131000", utc(2002, 4, 20, 13, 10)),
    ("200204201310", utc(2002, 4, 20, 13, 10)),
    ("2002042013", utc(2002, 4, 20, 13)),
    ("20020420", utc(2002, 4, 20)),
    ("200209", utc(2002, 9, 1)),
    ("2002", utc(2002, 1, 1)),
    ("200007281733 BST", utc(2000, 7, 28, 16, 33)),  # the DTD's own example
    ("20020420131000 GMT", utc(2002, 4, 20, 13, 10)),
    ("20020420131000 UTC", utc(2002, 4, 20, 13, 10)),
    ("20020420131000Z", utc(2002, 4, 20, 13, 10)),
    ("20020420131000 EST", utc(2002, 4, 20, 18, 10)),
    ("20020420131000 cest", utc(2002, 4, 20, 11, 10)),
    ("20020420131000 Europe/London", utc(2002, 4, 20, 12, 10)),  # BST in April
    ("20020120131000 Europe/London", utc(2002, 1, 20, 13, 10)),  # GMT in January
    ("  20020420131000 +0000  ", utc(2002, 4, 20, 13, 10)),
    ("20021231235960", utc(2003, 1, 1) - 1),  # a leap second
    ("20020420240000", utc(2002, 4, 21)),  # 24:00 is the next midnight
])
def test_parse_time(text: str, expected: float) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text, fragment", [
    ("", "bad time"), ("abc", "bad time"), ("200", "bad time"), ("20021301", "no such date"),
    ("20020230", "no such date"), ("20020420250000", "no such time"), ("20020420126000", "no such time"),
    ("20020420131000 XYZ", "unknown time zone 'XYZ'"), ("20020420131000 Mars/Base", "unknown time zone"),
    ("20020420131000 +2500", "bad zone offset"),
])
def test_parse_time_errors(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_time(text)


def _guide_document(times: list[tuple[str, str]], channel: str = "dst.tv") -> bytes:
    rows = "".join(f'<programme start="{a}" stop="{b}" channel="{channel}"><title>P{i}</title></programme>\n'
                   for i, (a, b) in enumerate(times))
    return f'<?xml version="1.0"?>\n<tv>\n<channel id="{channel}"><display-name>DST</display-name></channel>\n{rows}</tv>\n'.encode()


def _local_stamp(epoch: float, zone: str) -> str:
    local = datetime.fromtimestamp(epoch, ZoneInfo(zone))
    minutes = int(local.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{local:%Y%m%d%H%M%S} {sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


@pytest.mark.parametrize("zone, change", [
    ("Europe/Berlin", utc(2026, 3, 29, 1)),  # 02:00 CET → 03:00 CEST
    ("Europe/Berlin", utc(2026, 10, 25, 1)),  # 03:00 CEST → 02:00 CET (02:xx happens twice)
    ("America/New_York", utc(2026, 3, 8, 7)),  # 02:00 EST → 03:00 EDT
    ("America/New_York", utc(2026, 11, 1, 6)),  # 02:00 EDT → 01:00 EST (01:xx happens twice)
])
def test_dst_changes_in_local_times(zone: str, change: float) -> None:
    """A guide written in local time with offsets, as grabbers write it, half-hour programmes
    from three hours before a DST change to three hours after: every programme lasts 30 minutes
    of real time and they follow each other without gap or overlap, through the skipped or the
    repeated hour."""
    starts = [change - 3 * 3600 + i * 1800 for i in range(13)]
    doc = _guide_document([(_local_stamp(s, zone), _local_stamp(s + 1800, zone)) for s in starts])
    g = parse(doc)
    assert g.skipped == 0 and g.overlaps == 0
    assert [(p.start, p.stop) for p in g.programmes] == [(s, s + 1800) for s in starts]
    # The wall-clock strings really do jump (or repeat) across the change.
    stamps = [_local_stamp(s, zone)[8:12] for s in starts]
    assert len(set(stamps)) == (13 if change in (utc(2026, 3, 29, 1), utc(2026, 3, 8, 7)) else 11)


# -- episode numbers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("2 . 9 . 0/1", (3, 10)), ("0 . 1 . ", (1, 2)), ("0.0.", (1, 1)), (".5.", (None, 6)), ("3..", (4, None)),
    ("1/3 . 4/10 . 0/2", (2, 5)), ("..0/2", (None, None)), ("", (None, None)), ("a.b.", (None, None)),
    ("0 . 12/13 . 0/3", (1, 13)),
])
def test_xmltv_ns(text: str, expected: tuple) -> None:
    assert parse_xmltv_ns(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("S01E02", (1, 2)), ("s1e2", (1, 2)), ("S1 E2", (1, 2)), ("S01.E02", (1, 2)), ("S02 Ep. 05", (2, 5)),
    ("Season 3 Episode 12", (3, 12)), ("1x02", (1, 2)), ("12 x 7", (12, 7)), ("E05", (None, 5)),
    ("Episode 5", (None, 5)), ("#FFEE", (None, None)), ("Part 2", (None, None)),
])
def test_onscreen(text: str, expected: tuple) -> None:
    assert parse_onscreen(text) == expected


def test_episode_systems_and_flags() -> None:
    doc = b"""<tv>
<programme start="20240101200000 +0000" stop="20240101210000 +0000" channel="c">
  <title>Only onscreen</title><episode-num system="onscreen">S04E07</episode-num><new/>
</programme>
<programme start="20240101210000 +0000" stop="20240101220000 +0000" channel="c">
  <title>Both</title><date>2019</date>
  <episode-num system="onscreen">S09E09</episode-num><episode-num system="xmltv_ns">1.2.</episode-num>
  <previously-shown start="20150519000000 -0500" channel="other"/>
</programme>
<programme start="20240101220000 +0000" stop="20240101230000 +0000" channel="c">
  <title>Season only</title><episode-num system="xmltv_ns">4..</episode-num>
  <episode-num>Episode #FFEE</episode-num>
</programme>
</tv>"""
    a, b, c = parse(doc).programmes
    assert (a.season, a.episode, a.episode_id, a.new, a.previously_shown) == (4, 7, "S04E07", True, False)
    # xmltv_ns wins over onscreen; the previously-shown date (as written) is the original air date.
    assert (b.season, b.episode, b.episode_id) == (2, 3, "1.2.")
    assert b.previously_shown and b.original_air_date == "2015-05-19" and b.year == 2019
    # A season without an episode is no episode identity; the onscreen text (default system) is.
    assert (c.season, c.episode, c.episode_id) == (5, None, "Episode #FFEE")


def test_language_preference() -> None:
    doc = b"""<tv><programme start="20240101200000" stop="20240101210000" channel="c">
  <title lang="de">Tatort</title><title lang="en">Crime Scene</title>
  <sub-title lang="de">Folge</sub-title><desc lang="de">Ein Mord.</desc><desc lang="en_GB">A murder.</desc>
  <category lang="de">Krimi</category><category lang="en">Crime</category><category>Film</category>
</programme></tv>"""
    first = parse(doc).programmes[0]
    assert (first.title, first.subtitle, first.description) == ("Tatort", "Folge", "Ein Mord.")
    assert first.categories == ["Krimi", "Crime", "Film"]
    en = parse(doc, lang="en").programmes[0]
    assert (en.title, en.subtitle, en.description) == ("Crime Scene", "Folge", "A murder.")
    assert en.categories == ["Crime", "Film"]


def test_channels_numbers_icons_duplicates() -> None:
    doc = b"""<tv>
<channel id="kqed.us"><display-name>KQED-HD</display-name><display-name>9.1</display-name>
  <display-name lang="en">KQED</display-name><icon src="http://logo/kqed.png"/></channel>
<channel id="kqed.us"><display-name>Again</display-name></channel>
<channel><display-name>No id</display-name></channel>
<channel id="bbc1"><display-name>BBC One</display-name></channel>
</tv>"""
    g = parse(doc)
    assert [(c.id, c.names, c.number, c.icon) for c in g.channels] == [
        ("kqed.us", ["KQED-HD", "9.1", "KQED"], "9.1", "http://logo/kqed.png"), ("bbc1", ["BBC One"], None, None)]
    assert any("declared twice" in e for e in g.errors) and any("without an id" in e for e in g.errors)


def test_bad_programmes_are_counted_with_line_numbers() -> None:
    doc = b"""<tv>
<programme start="20240101200000" stop="20240101210000" channel="c"><title>Good</title></programme>
<programme start="2024xx01200000" stop="20240101210000" channel="c"><title>Bad start</title></programme>
<programme stop="20240101210000" channel="c"><title>No start</title></programme>
<programme start="20240101200000" stop="20240101210000"><title>No channel</title></programme>
<programme start="20240101200000" stop="20231231210000" channel="c"><title>Backwards</title></programme>
<programme start="20240101200000" stop="20240101210000 Nowhere" channel="c"><title>Bad zone</title></programme>
</tv>"""
    g = parse(doc)
    assert [p.title for p in g.programmes] == ["Good"]
    assert g.skipped == 5 and not g.partial
    assert g.errors[0].startswith("line 3: programme 2 (channel 'c', start '2024xx01200000', 'Bad start')")
    assert "line 4" in g.errors[1] and "no start time" in g.errors[1]
    assert "line 5" in g.errors[2] and "no channel" in g.errors[2]
    assert "line 6" in g.errors[3] and "before it starts" in g.errors[3]
    assert "line 7" in g.errors[4] and "unknown time zone 'Nowhere'" in g.errors[4]


def test_error_messages_are_capped() -> None:
    rows = "".join(f'<programme start="bad{i}" channel="c"><title>T</title></programme>\n' for i in range(120))
    g = parse(f"<tv>{rows}</tv>".encode())
    assert g.skipped == 120 and len(g.errors) == xmltv.MAX_ERRORS


# -- broken, compressed, hostile documents ------------------------------------------------------------------
def _doc(n: int) -> bytes:
    rows = "".join(f'<programme start="202401010{i}0000" stop="202401010{i + 1}0000" channel="c"><title>T{i}</title>'
                   "</programme>\n" for i in range(n))
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<tv>\n<channel id="c"><display-name>C</display-name></channel>\n{rows}</tv>\n'.encode()


def test_truncated_document_keeps_what_came_before() -> None:
    data = _doc(5)
    cut = data[: data.index(b"<title>T3")]  # the connection died inside the fourth programme
    g = parse(cut)
    assert g.partial
    assert [p.title for p in g.programmes] == ["T0", "T1", "T2"]
    assert len(g.errors) == 1 and "not well-formed" in g.errors[0] and g.errors[0].startswith("line 7,")


def test_malformed_in_the_middle() -> None:
    data = _doc(4).replace(b"<title>T2</title>", b"<title>T2</titel>")
    g = parse(data)
    assert g.partial and [p.title for p in g.programmes] == ["T0", "T1"]
    assert g.errors[0].startswith("line 6,") and "mismatch" in g.errors[0].lower()


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress])
def test_compressed(compress) -> None:
    g = parse(compress(_doc(4)))
    assert [p.title for p in g.programmes] == ["T0", "T1", "T2", "T3"] and not g.partial


def test_truncated_gzip_stream() -> None:
    packed = gzip.compress(_doc(9) * 1)
    g = parse(packed[: len(packed) * 2 // 3])
    assert g.partial
    assert any("could not be read to its end" in e for e in g.errors)


def test_file_object_and_path(tmp_path: Path) -> None:
    path = tmp_path / "g.xml.gz"
    path.write_bytes(gzip.compress(_doc(3)))
    assert len(parse(path).programmes) == 3
    assert len(parse(str(path)).programmes) == 3
    assert len(parse(io.BytesIO(_doc(2))).programmes) == 2


def test_utf16_and_latin1_documents() -> None:
    text = _doc(1).decode().replace("<title>T0", "<title>Café")
    utf16 = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert parse(utf16).programmes[0].title == "Café"
    latin = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("latin-1")
    assert parse(latin).programmes[0].title == "Café"


@pytest.mark.parametrize("data, fragment", [
    (b"<!DOCTYPE html><html><body>Service Unavailable</body></html>", "root element is <html>"),
    (b"", "no root element"),
    (b"just text, not XML", "no root element"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE tv [\n<!ENTITY lol "lol">\n<!ENTITY lol2 "&lol;&lol;&lol;">\n]>\n<tv>&lol2;</tv>',
     "declares XML entities"),
    (b'<!DOCTYPE tv [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><tv><programme>&xxe;</programme></tv>',
     "declares XML entities"),
])
def test_not_xmltv(data: bytes, fragment: str) -> None:
    with pytest.raises(XmltvError, match=fragment):
        parse(data)


def test_entities_in_comments_are_fine() -> None:
    doc = b'<?xml version="1.0"?>\n<!-- no <!ENTITY here --><!DOCTYPE tv SYSTEM "xmltv.dtd">\n<tv></tv>'
    assert parse(doc).programmes == []


def test_undefined_entity_from_the_external_dtd_is_not_fetched(tmp_path: Path) -> None:
    """A reference to an entity the (external, never loaded) DTD might define is not resolved:
    nothing is read from disk or the network, and the document still imports."""
    secret = tmp_path / "secret.dtd"
    secret.write_text('<!ENTITY leak "SECRET">')
    doc = (f'<!DOCTYPE tv SYSTEM "{secret.as_uri()}">\n<tv><programme start="2024" stop="2025" channel="c">'
           "<title>A &leak; B</title></programme></tv>").encode()
    g = parse(doc)
    assert all("SECRET" not in p.title for p in g.programmes)
