"""The IPTV plugin's M3U parser: what providers write, malformed input with line numbers, the
real playlist in ../shared/fixtures/tv/m3u/."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from omnimedia.plugins.iptv.m3u import M3UError, parse, split_url_headers

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "tv" / "m3u" / "ca.m3u"


def _one(text: str, **kw):
    playlist = parse(text, source="t.m3u", **kw)
    assert len(playlist.channels) == 1, (playlist.channels, playlist.errors)
    return playlist, playlist.channels[0]


# -- the real playlist ---------------------------------------------------------------------------

def test_real_playlist_ca() -> None:
    if not FIXTURE.is_file():
        pytest.skip(f"real playlist not found at {FIXTURE} (a clone without ../shared/fixtures)")
    playlist = parse(FIXTURE.read_bytes(), source=FIXTURE.name)
    assert (playlist.entries, len(playlist.channels), playlist.skipped) == (1, 1, 0)
    assert playlist.errors == [] and playlist.warnings == [] and not playlist.partial
    assert playlist.guide_urls == []
    ch = playlist.channels[0]
    assert ch.number == "1"
    assert ch.name == "MétéoMédia"  # UTF-8 in the file
    assert ch.guide_id == "MeteoMedia.ca@SD"
    assert ch.group == "Weather"
    assert ch.logo == "https://s1.twnmm.com/images/en_ca/mobile/logos/twn-mobile-logo.png"
    assert ch.url == "http://encodercdn1.frontline.ca/encoder181/output/Meteo_Media_720p/playlist.m3u8"
    assert ch.extra["headers"] == {} and ch.extra["user_agent"] is None and ch.extra["referrer"] is None
    assert ch.extra["tvg_name"] is None and ch.extra["line"] == 2
    assert playlist.summary() == "ca.m3u: 1 channel from 1 entry"
    # the same file with CRLF line ends and a BOM reads the same
    crlf = codecs.BOM_UTF8 + FIXTURE.read_bytes().replace(b"\n", b"\r\n")
    assert parse(crlf, source="ca.m3u").channels == playlist.channels


# -- header --------------------------------------------------------------------------------------

def test_header_guide_urls() -> None:
    text = (
        '#EXTM3U url-tvg="http://a.example/guide.xml,http://b.example/guide.xml.gz" '
        'x-tvg-url="http://c.example/x.xml" tvg-shift="0"\n'
        "#EXTINF:-1,One\nhttp://s.example/1.ts\n"
    )
    playlist = parse(text)
    assert playlist.guide_urls == ["http://a.example/guide.xml", "http://b.example/guide.xml.gz", "http://c.example/x.xml"]
    assert playlist.attributes["tvg-shift"] == "0"


def test_missing_header_is_a_warning() -> None:
    playlist = parse("#EXTINF:-1,One\nhttp://s.example/1.ts\n")
    assert [c.name for c in playlist.channels] == ["One"]
    assert playlist.warnings == ["line 1: no #EXTM3U header; read as M3U because it has #EXTINF entries"]
    assert not playlist.partial


# -- #EXTINF attributes --------------------------------------------------------------------------

def test_extinf_attributes() -> None:
    _, ch = _one(
        '#EXTM3U\n#EXTINF:-1 tvg-id="cnn.us" tvg-name="CNN" tvg-logo="http://l.example/cnn.png" '
        'tvg-chno="202" group-title="News",CNN HD\nhttp://s.example/cnn.ts\n'
    )
    assert (ch.number, ch.name, ch.guide_id, ch.logo, ch.group, ch.url) == (
        "202", "CNN HD", "cnn.us", "http://l.example/cnn.png", "News", "http://s.example/cnn.ts")
    assert ch.extra["tvg_name"] == "CNN"
    assert ch.extra["attributes"]["tvg-chno"] == "202"


def test_commas_and_quotes() -> None:
    _, ch = _one(
        "#EXTM3U\n#EXTINF:-1 tvg-name=\"Sky, News\" group-title='UK, News' TVG-ID=sky.uk tvg-logo=\"\","
        "Sky News, International\nhttps://s.example/sky.m3u8\n"
    )
    assert ch.name == "Sky News, International"  # the name may contain commas
    assert ch.extra["tvg_name"] == "Sky, News"  # commas inside quotes belong to the value
    assert ch.group == "UK, News"  # single quotes
    assert ch.guide_id == "sky.uk"  # upper-case key, unquoted value
    assert ch.logo is None  # empty attribute


def test_missing_attributes_and_names() -> None:
    playlist = parse(
        "#EXTM3U\n"
        "#EXTINF:-1,Plain\nhttp://s.example/1.ts\n"
        '#EXTINF:-1 tvg-name="From tvg-name"\nhttp://s.example/2.ts\n'
        "#EXTINF:-1,\nhttp://s.example/3.ts\n"
        "#EXTINF:0.0 tvg-id=\"x\",Zero duration\nhttp://s.example/4.ts\n"
    )
    names = [(c.number, c.name, c.guide_id, c.group, c.logo) for c in playlist.channels]
    assert names == [
        ("1", "Plain", None, None, None),
        ("2", "From tvg-name", None, None, None),
        ("3", "Channel 3", None, None, None),
        ("4", "Zero duration", "x", None, None),
    ]
    assert "line 4: #EXTINF has no ',<name>'" in playlist.warnings
    assert "line 6: entry has no name; called 'Channel 3'" in playlist.warnings
    assert not playlist.partial


def test_aliases_channel_id_and_number() -> None:
    playlist = parse(
        "#EXTM3U\n"
        '#EXTINF:-1 channel-id="bbc1.uk" channel-number="101" logo="http://l.example/b.png",BBC One\n'
        "http://s.example/b.ts\n"
        '#EXTINF:-1 channel-id="ignored" tvg-id="itv.uk" channel-number="9" tvg-chno="103",ITV\n'
        "http://s.example/i.ts\n"
    )
    bbc, itv = playlist.channels
    assert (bbc.number, bbc.guide_id, bbc.logo) == ("101", "bbc1.uk", "http://l.example/b.png")
    assert (itv.number, itv.guide_id) == ("103", "itv.uk")  # the tvg-* attribute wins over its alias


def test_radio_flag() -> None:
    _, ch = _one('#EXTM3U\n#EXTINF:-1 radio="true" tvg-id="r1",Radio One\nhttp://s.example/r1.mp3\n')
    assert ch.radio is True


def test_bad_attribute_has_line_number() -> None:
    playlist = parse(
        "#EXTM3U\n"
        '#EXTINF:-1 tvg-id="a" tvg-logo="http://l.example/broken.png,Broken logo\nhttp://s.example/1.ts\n'
        '#EXTINF:-1 catchup tvg-id="b",Bare word\nhttp://s.example/2.ts\n'
    )
    one, two = playlist.channels
    assert (one.name, one.guide_id, one.logo) == ("Broken logo", "a", None)
    assert playlist.errors == ["line 2: attribute 'tvg-logo' has no closing quote; attribute dropped"]
    assert playlist.partial
    assert (two.name, two.guide_id) == ("Bare word", "b")
    assert "line 4: 'catchup' is not an attribute (expected key=\"value\"); ignored" in playlist.warnings


# -- numbering -----------------------------------------------------------------------------------

def test_numbers_from_tvg_chno_and_position() -> None:
    playlist = parse(
        "#EXTM3U\n"
        '#EXTINF:-1 tvg-chno="2",Two\nhttp://s.example/a\n'        # explicit 2
        "#EXTINF:-1,Pos1\nhttp://s.example/b\n"                    # start+1 = 101
        '#EXTINF:-1 tvg-chno="5-1",Sub\nhttp://s.example/c\n'      # 5.1
        '#EXTINF:-1 tvg-chno="007",Bond\nhttp://s.example/d\n'     # 7
        '#EXTINF:-1 tvg-chno="101",Taken\nhttp://s.example/e\n'    # explicit 101 pushes Pos1 up
        '#EXTINF:-1 tvg-chno="abc",Text\nhttp://s.example/f\n',    # not a number: position
        channel_start=100,
    )
    assert [(c.name, c.number) for c in playlist.channels] == [
        ("Two", "2"), ("Pos1", "102"), ("Sub", "5.1"), ("Bond", "7"), ("Taken", "101"), ("Text", "105")]
    assert playlist.warnings == ["line 12: tvg-chno 'abc' is not a channel number; 'Text' is channel 105"]
    assert len({c.number for c in playlist.channels}) == len(playlist.channels)


def test_duplicate_numbers_renumbered_with_warning() -> None:
    playlist = parse(
        "#EXTM3U\n"
        '#EXTINF:-1 tvg-chno="1",A\nhttp://s.example/a\n'
        '#EXTINF:-1 tvg-chno="1",B\nhttp://s.example/b\n'
        '#EXTINF:-1 tvg-chno="1",C\nhttp://s.example/c\n'
    )
    assert [(c.name, c.number) for c in playlist.channels] == [("A", "1"), ("B", "2"), ("C", "3")]
    assert playlist.renumbered == 2
    assert playlist.warnings == [
        "line 4: channel number 1 is already used by line 2; 'B' is channel 2",
        "line 6: channel number 1 is already used by line 2; 'C' is channel 3",
    ]


# -- options for the next URL ---------------------------------------------------------------------

def test_extvlcopt_extgrp_exthttp_kodiprop() -> None:
    playlist = parse(
        "#EXTM3U\n"
        "#EXTINF:-1 tvg-id=\"a\",A\n"
        "#EXTVLCOPT:http-user-agent=VLC/3.0.18 LibVLC/3.0.18\n"
        "#EXTVLCOPT:http-referrer=http://ref.example/\n"
        "#EXTVLCOPT:network-caching=1000\n"
        "#KODIPROP:inputstream.adaptive.manifest_type=hls\n"
        '#EXTHTTP:{"cookie":"session=abc","X-Token":"t1"}\n'
        "#EXTGRP:Group from EXTGRP\n"
        "http://s.example/a.ts\n"
        "#EXTINF:-1 group-title=\"Titled\",B\n"
        "#EXTGRP:Ignored, group-title wins\n"
        "#EXTVLCOPT:http-referer=http://other.example/\n"
        "http://s.example/b.ts\n"
        "#EXTINF:-1,C\nhttp://s.example/c.ts\n"
    )
    a, b, c = playlist.channels
    assert a.extra["user_agent"] == "VLC/3.0.18 LibVLC/3.0.18"
    assert a.extra["referrer"] == "http://ref.example/"
    assert a.extra["headers"] == {"Cookie": "session=abc", "X-Token": "t1"}
    assert a.group == "Group from EXTGRP"
    assert (b.group, b.extra["referrer"], b.extra["user_agent"]) == ("Titled", "http://other.example/", None)
    # options apply to the next URL only
    assert (c.group, c.extra["referrer"], c.extra["headers"]) == (None, None, {})
    assert not playlist.partial and playlist.warnings == []


def test_bad_exthttp_is_an_error_with_line() -> None:
    playlist = parse("#EXTM3U\n#EXTINF:-1,A\n#EXTHTTP:{cookie: x}\nhttp://s.example/a\n")
    assert len(playlist.channels) == 1
    assert playlist.errors[0].startswith("line 3: #EXTHTTP is not a JSON object of headers")


def test_kodi_url_header_suffix() -> None:
    _, ch = _one(
        "#EXTM3U\n#EXTINF:-1,A\n#EXTVLCOPT:http-user-agent=FromVlcOpt\n"
        "http://s.example/a.ts?token=1|User-Agent=Mozilla%2F5.0%20(X11)&referrer=http%3A%2F%2Fref.example%2F"
        '&Cookie=a%3Db%3Bc%3Dd&Origin="http://o.example"&X-Forwarded-For=1.2.3.4\n'
    )
    assert ch.url == "http://s.example/a.ts?token=1"
    assert ch.extra["user_agent"] == "Mozilla/5.0 (X11)"  # the URL's own header wins over #EXTVLCOPT
    assert ch.extra["referrer"] == "http://ref.example/"
    assert ch.extra["headers"] == {"Cookie": "a=b;c=d", "Origin": "http://o.example", "X-Forwarded-For": "1.2.3.4"}
    assert split_url_headers("http://x.example/a|") == ("http://x.example/a", {})


# -- encodings and line ends ---------------------------------------------------------------------

def test_bom_crlf_cr_and_blank_lines() -> None:
    body = "#EXTM3U\n\n\n#EXTINF:-1 tvg-id=\"a\",Ä\n\nhttp://s.example/a\n"
    for data in (
        codecs.BOM_UTF8 + body.replace("\n", "\r\n").encode(),
        body.replace("\n", "\r").encode(),
        codecs.BOM_UTF16_LE + body.encode("utf-16-le"),
    ):
        playlist = parse(data)
        assert [(c.name, c.guide_id, c.extra["line"]) for c in playlist.channels] == [("Ä", "a", 4)]
        assert playlist.warnings == [] and playlist.errors == []


def test_non_utf8_lines_read_as_windows_1252() -> None:
    data = (
        b"#EXTM3U\n#EXTINF:-1,Caf\xe9 \x80\nhttp://s.example/a\n"  # Windows-1252
        b"#EXTINF:-1,Bien s\xc3\xbbr\nhttp://s.example/b\n"  # UTF-8
    )
    playlist = parse(data)
    assert [c.name for c in playlist.channels] == ["Café €", "Bien sûr"]
    assert playlist.warnings == ["line 2: not UTF-8; read as Windows-1252"]


# -- malformed entries ---------------------------------------------------------------------------

def test_malformed_entries_partial_result() -> None:
    playlist = parse(
        "#EXTM3U\n"
        "http://s.example/stray.ts\n"               # 2: URL without #EXTINF
        "#EXTINF:-1,No URL\n"                       # 3: followed by another #EXTINF
        "#EXTINF:-1,Good\n"                         # 4
        "http://s.example/good.ts\n"                # 5
        "#EXTINF:-1,Path\n"                         # 6
        "not a url at all\n"                        # 7
        "#EXTINF:-1,Last\n",                        # 8: end of file
        source="bad.m3u",
    )
    assert [c.name for c in playlist.channels] == ["Good"]
    assert playlist.channels[0].number == "1"
    assert (playlist.entries, playlist.skipped) == (4, 4)
    assert playlist.errors == [
        "line 2: stream URL without an #EXTINF before it; skipped",
        "line 3: #EXTINF 'No URL' has no stream URL (the next #EXTINF is on line 4); entry skipped",
        "line 7: 'not a url at all' is not a stream URL (no scheme://) nor a # line; ignored",
        "line 6: #EXTINF 'Path' has no stream URL; entry skipped",
        "line 8: #EXTINF 'Last' has no stream URL (end of file); entry skipped",
    ]
    assert playlist.partial
    assert playlist.summary() == "bad.m3u: 1 channel from 4 entries (4 skipped, 5 errors)"
    assert playlist.as_dict()["error_count"] == 5


def test_message_list_is_capped_counts_are_not() -> None:
    text = "#EXTM3U\n" + "http://s.example/x\n" * 250
    playlist = parse(text)
    assert playlist.error_count == 250 and len(playlist.errors) == 100
    assert playlist.errors[-1] == "line 101: stream URL without an #EXTINF before it; skipped"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "x.m3u is empty"),
        (b"  \r\n\n", "x.m3u is empty"),
        (b"<!DOCTYPE html><html><body>Login</body></html>", "x.m3u is an HTML page (a login or error page?), not an M3U playlist"),
        (b'<?xml version="1.0"?>\n<tv></tv>', "x.m3u is XML (an XMLTV guide? put guides under dvr: guide:), not an M3U playlist"),
        (b'{"channels": []}', "x.m3u is JSON, not an M3U playlist"),
        (b"\x47\x40\x00\x10\x00\x00\xb0\x0d" * 40, "x.m3u is binary data, not a text playlist"),
        (b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nseg0.ts\n",
         "x.m3u is an HLS stream playlist (it has #EXT-X- tags), not a channel list; use its URL as one channel's stream in a playlist"),
        (b"hello\nworld\n", "x.m3u is not an M3U playlist: no #EXTM3U header and no #EXTINF entries (no entries)"),
        (b"http://a.example/1\nhttp://a.example/2\n", "x.m3u is not an M3U playlist: no #EXTM3U header and no #EXTINF entries (2 bare URLs)"),
    ],
)
def test_not_m3u_at_all(data: bytes, message: str) -> None:
    with pytest.raises(M3UError) as info:
        parse(data, source="x.m3u")
    assert str(info.value) == message


def test_header_only_is_an_empty_playlist() -> None:
    playlist = parse("#EXTM3U\n")
    assert playlist.channels == [] and playlist.entries == 0 and not playlist.partial
