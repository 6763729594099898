"""Info-hashes and .torrent making (core/acquisition/torrent.py), checked against two independent
implementations installed here: ``mktorrent`` (makes the torrent) and ``transmission-show``
(libtransmission reads it and prints its hash)."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from omnimedia.core.acquisition.torrent import (
    infohash_from_magnet,
    infohash_from_torrent,
    make_torrent,
    normalize_infohash,
)
from tests.mediagen import EPISODE_NAME, make_mkv

needs_mktorrent = pytest.mark.skipif(shutil.which("mktorrent") is None, reason="mktorrent is not installed")
needs_show = pytest.mark.skipif(shutil.which("transmission-show") is None, reason="transmission-show is not installed")


def mktorrent(path: Path, out: Path, piece_exp: int = 15, announce: str | None = None) -> bytes:
    args = ["mktorrent", "-l", str(piece_exp), "-o", str(out)]
    if announce:
        args += ["-a", announce]
    subprocess.run([*args, str(path)], check=True, capture_output=True)
    return out.read_bytes()


def transmission_hash(torrent: Path) -> str:
    out = subprocess.run(["transmission-show", str(torrent)], check=True, capture_output=True, text=True).stdout
    match = re.search(r"^\s*Hash:\s*([0-9a-f]{40})\s*$", out, re.M)
    assert match, out
    return match.group(1)


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mkv(tmp_path_factory.mktemp("media") / EPISODE_NAME, duration=1.0)


@needs_mktorrent
@needs_show
def test_single_file_hash_matches_mktorrent_and_libtransmission(episode: Path, tmp_path: Path) -> None:
    data = mktorrent(episode, tmp_path / "m.torrent", announce="http://127.0.0.1:1/announce")
    ours = infohash_from_torrent(data)
    assert re.fullmatch(r"[0-9a-f]{40}", ours)
    assert ours == transmission_hash(tmp_path / "m.torrent")


@needs_mktorrent
@needs_show
def test_make_torrent_equals_mktorrent_for_the_same_piece_size(episode: Path, tmp_path: Path) -> None:
    # The info dictionary (name, length, piece length, pieces) is fully determined by the file and
    # the piece size, so two correct makers give the same info-hash.
    ours = make_torrent(episode, piece_size=1 << 15, announce="http://127.0.0.1:1/announce")
    theirs = mktorrent(episode, tmp_path / "m.torrent", piece_exp=15)
    assert infohash_from_torrent(ours) == infohash_from_torrent(theirs)
    (tmp_path / "ours.torrent").write_bytes(ours)
    assert transmission_hash(tmp_path / "ours.torrent") == infohash_from_torrent(ours)


@needs_mktorrent
@needs_show
def test_folder_torrent(tmp_path: Path) -> None:
    folder = tmp_path / "Show.Name.S01.1080p.WEB-DL-GRP"
    (folder / "Subs").mkdir(parents=True)
    (folder / "a.mkv").write_bytes(bytes(range(256)) * 300)
    (folder / "Subs" / "a.srt").write_bytes(b"1\n00:00:00,000 --> 00:00:01,000\nHi\n")
    ours = make_torrent(folder, piece_size=1 << 15)
    theirs = mktorrent(folder, tmp_path / "f.torrent", piece_exp=15)
    assert infohash_from_torrent(ours) == infohash_from_torrent(theirs) == transmission_hash(tmp_path / "f.torrent")


def test_hash_is_of_the_raw_bytes_not_a_re_encoding() -> None:
    # Keys out of order (BEP 3 wants them sorted): re-encoding would sort them and change the hash.
    # Clients hash the bytes as sent, so must we.
    info = b"d4:name5:a.mkv6:lengthi5e12:piece lengthi16384e6:pieces20:" + b"\x01" * 20 + b"e"
    data = b"d8:announce13:http://x/ann/4:info" + info + b"e"
    assert infohash_from_torrent(data) == hashlib.sha1(info).hexdigest()
    canonical = b"d6:lengthi5e4:name5:a.mkv12:piece lengthi16384e6:pieces20:" + b"\x01" * 20 + b"e"
    assert infohash_from_torrent(data) != hashlib.sha1(canonical).hexdigest()


def test_v2_only_torrent_uses_truncated_sha256() -> None:
    info = b"d9:file treed5:a.mkvd0:d6:lengthi5eeee12:meta versioni2e4:name5:a.mkv12:piece lengthi16384ee"
    data = b"d4:info" + info + b"12:piece layersdee"
    assert infohash_from_torrent(data) == hashlib.sha256(info).hexdigest()[:40]
    # hybrid (has v1 pieces too): the v1 SHA-1 wins
    hybrid = info[:-1] + b"6:pieces20:" + b"\x02" * 20 + b"e"
    assert infohash_from_torrent(b"d4:info" + hybrid + b"e") == hashlib.sha1(hybrid).hexdigest()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html><body>Login required</body></html>", "HTML"),
        (b"magnet:?xt=urn:btih:" + b"a" * 40, "magnet"),
        (b"l4:spame", "top-level dictionary"),
        (b"d4:infoi3ee", "'info' is not a dictionary"),
        (b"d8:announce3:abce", "no 'info'"),
        (b"d4:infod6:lengthi3eee\n", "trailing"),
        (b"d4:infod6:lengthi3e", "unterminated dictionary"),
        (b"d4:infod5:filesl", "end of data"),
        (b"d4:infod6:lengthi3xee", "bad integer"),
        (b"d4:infod6:length999:abcee", "runs past the end"),
        (b"d4:infodi3e1:xee", "key is not a byte string"),
    ],
)
def test_bad_torrents_raise_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        infohash_from_torrent(data)


def test_str_input_is_refused() -> None:
    with pytest.raises(ValueError, match="bytes"):
        infohash_from_torrent("d4:infodee")  # type: ignore[arg-type]


def test_magnet_hex_and_base32() -> None:
    hexhash = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
    b32 = base64.b32encode(bytes.fromhex(hexhash)).decode()
    assert infohash_from_magnet(f"magnet:?xt=urn:btih:{hexhash.upper()}&dn=Show.Name.S01E02") == hexhash
    assert infohash_from_magnet(f"magnet:?dn=x&tr=http%3A%2F%2Ft%2Fa&xt=urn:btih:{b32}") == hexhash
    assert infohash_from_magnet(f"magnet:?xt=urn:btih:{b32.lower()}") == hexhash
    assert infohash_from_magnet(f"magnet:?xt.1=urn:btih:{hexhash}") == hexhash
    assert normalize_infohash(b32) == hexhash


def test_magnet_v2_and_hybrid() -> None:
    sha256 = hashlib.sha256(b"x").hexdigest()
    assert infohash_from_magnet(f"magnet:?xt=urn:btmh:1220{sha256}") == sha256[:40]
    v1 = "0" * 39 + "1"
    assert infohash_from_magnet(f"magnet:?xt=urn:btmh:1220{sha256}&xt=urn:btih:{v1}") == v1


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://example.com/file.torrent", "not a magnet"),
        ("magnet:?dn=Show.Name", "no 'xt=urn:btih:'"),
        ("magnet:?xt=urn:btih:1234", "not an info-hash"),
        ("magnet:?xt=urn:btih:" + "g" * 40, "not an info-hash"),
        ("magnet:?xt=urn:btmh:1114" + "a" * 40, "malformed urn:btmh"),
    ],
)
def test_bad_magnets_raise_clear_errors(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        infohash_from_magnet(uri)


def test_make_torrent_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        make_torrent(tmp_path / "missing.mkv")
    (tmp_path / "empty.mkv").write_bytes(b"")
    with pytest.raises(ValueError, match="cannot make a torrent"):
        make_torrent(tmp_path / "empty.mkv")
    (tmp_path / "ok.mkv").write_bytes(b"x" * 100)
    with pytest.raises(ValueError, match="cannot make a torrent"):
        make_torrent(tmp_path / "ok.mkv", piece_size=1000)
