"""A Google Cast receiver stand-in that speaks the real Cast v2 wire protocol.

No Cast device exists on the test machines, so the Google Cast plugin is tested against this: a
TLS server (a self-signed certificate made with the ``openssl`` command; senders do not verify the
device certificate) that frames each message as a 4-byte big-endian length followed by a protobuf
``CastMessage`` (the protocol's own schema, ``pychromecast.generated.cast_channel_pb2``) carrying
JSON in ``payload_utf8``. It implements what a sender driving the Default Media Receiver uses:

- ``urn:x-cast:com.google.cast.tp.connection``: ``CONNECT`` opens a virtual connection from a
  sender to ``receiver-0`` or to an application's ``transportId``; ``CLOSE`` ends one. Messages to
  a transport the sender has not connected to are dropped, as a device does. When an application
  stops, the device sends ``CLOSE`` from its transport to the senders connected to it.
- ``…tp.heartbeat``: ``PING`` → ``PONG``.
- ``…receiver``: ``GET_STATUS``, ``LAUNCH`` (``LAUNCH_ERROR`` ``NOT_FOUND`` for apps it does not
  have), ``STOP``, ``SET_VOLUME``, ``GET_APP_AVAILABILITY`` → ``RECEIVER_STATUS`` with the running
  application's ``appId``, ``sessionId``, ``transportId`` and ``namespaces``. Idle, it runs the
  Backdrop screen (``E8C28D3C``) like a real Chromecast.
- ``…media``: ``LOAD``, ``GET_STATUS``, ``PLAY``, ``PAUSE``, ``SEEK``, ``STOP`` → ``MEDIA_STATUS``
  with ``mediaSessionId``, ``playerState``, ``currentTime`` (advancing in real time while
  ``PLAYING``), ``idleReason`` and the ``media`` it loaded; ``LOAD_FAILED`` with a
  ``detailedErrorCode`` (103 network, 102 decode, 104 unsupported type) and ``INVALID_REQUEST``
  for commands naming another media session. Every change is also broadcast (``requestId`` 0,
  destination ``*``) to the connected senders, as receivers do.

Like a real receiver it really fetches the media it is given: an HTTP ``GET`` with
``Range: bytes=0-`` and a Chromecast user agent, reading the body and checking it is media with
``ffprobe`` (the duration it reports comes from there); a ranged ``GET`` from the matching byte
offset after a ``SEEK``; the playlist and its segments for HLS (through ``ffprobe``); the text
track's URL when one is active. A failed fetch gives ``LOAD_FAILED`` and ``IDLE`` /
``idleReason: ERROR``. Every fetch is recorded (URL, ``Range``, status, headers, bytes, the local
and remote addresses) so a test can prove the hub's URL works from the device's side.

Sources: the message shapes follow what pychromecast 14 sends and parses
(``socket_client.py``, ``controllers/receiver.py``, ``controllers/media.py``,
``controllers/heartbeat.py``) and Google's Cast media messages reference
(https://developers.google.com/cast/docs/reference/web_receiver/cast.framework.messages);
TXT keys are those real devices publish (``id``, ``cd``, ``rm``, ``ve``, ``md``, ``ic``, ``fn``,
``ca``, ``st``, ``bs``, ``nf``, ``rs``).

Two ways to run it:

- in the test's own loop: ``standin = CastStandin(uuid=…); await standin.start()`` (loopback,
  no mDNS); ``standin.snapshot()``; ``await standin.vanish()``; ``await standin.close()``;
- as a device in a network namespace: ``python cast_standin.py serve --uuid … --advertise ADDR``
  run with ``ip netns exec``; it advertises ``_googlecast._tcp.local.`` with python-zeroconf and
  takes JSON-line commands on stdin (``{"cmd": "state"}``, ``"vanish"``, ``"goodbye"``,
  ``{"cmd": "rename", "name": …}``, ``"quit"``), answering one JSON line each; its TXT record
  follows the running app (``st``, ``rs``) and the name, as a device's does. :class:`StandinProcess` drives it from a test, and
  :class:`RootLink` makes the namespace joined to the test's own (root) namespace by a veth pair.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import shutil
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pychromecast.generated.cast_channel_pb2 import CastMessage

_LOGGER = logging.getLogger("cast_standin")

NS_CONNECTION = "urn:x-cast:com.google.cast.tp.connection"
NS_HEARTBEAT = "urn:x-cast:com.google.cast.tp.heartbeat"
NS_RECEIVER = "urn:x-cast:com.google.cast.receiver"
NS_MEDIA = "urn:x-cast:com.google.cast.media"
PLATFORM_ID = "receiver-0"
BROADCAST = "*"
SERVICE_TYPE = "_googlecast._tcp.local."

DEFAULT_MEDIA_RECEIVER = "CC1AD845"
BACKDROP = "E8C28D3C"
#: The applications this device has: app id → (display name, namespaces it speaks).
APPS: dict[str, tuple[str, list[str]]] = {
    BACKDROP: ("Backdrop", ["urn:x-cast:com.google.cast.sse", "urn:x-cast:com.google.cast.remotecontrol"]),
    DEFAULT_MEDIA_RECEIVER: (
        "Default Media Receiver",
        [
            "urn:x-cast:com.google.cast.cac",
            "urn:x-cast:com.google.cast.debugoverlay",
            "urn:x-cast:com.google.cast.broadcast",
            NS_MEDIA,
        ],
    ),
}
#: Content types the Default Media Receiver plays (Cast supported media).
SUPPORTED_TYPES = (
    "video/mp4", "video/webm", "video/mp2t", "audio/mp4", "audio/mpeg", "audio/aac", "audio/ogg",
    "audio/webm", "audio/flac", "audio/wav", "application/x-mpegurl", "application/vnd.apple.mpegurl",
    "application/dash+xml", "image/jpeg", "image/png",
)
HLS_TYPES = ("application/x-mpegurl", "application/vnd.apple.mpegurl")
#: supportedMediaCommands of the Default Media Receiver: pause, seek, stream volume and mute,
#: edit tracks, playback rate (CAF ``ALL_BASIC_MEDIA``).
SUPPORTED_COMMANDS = 12303
#: LOAD_FAILED detailedErrorCode values (Cast web receiver error codes).
ERR_MEDIA_DECODE = 102
ERR_MEDIA_NETWORK = 103
ERR_SRC_NOT_SUPPORTED = 104
#: A real receiver's User-Agent (Chromecast with CrKey).
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 "
    "Safari/537.36 CrKey/1.56.500000 DeviceType/Chromecast"
)
MAX_MESSAGE = 64 * 1024
#: Seconds a fetch may wait for the server to connect or to send more bytes.
FETCH_TIMEOUT = 20.0
#: Bytes read before the receiver first tries to make sense of the media (doubling while it
#: cannot); a progressive stream starts playing from there while the rest keeps coming.
PROBE_AFTER = 1024 * 1024
#: How much of the body a seek's ranged GET reads before closing (bytes).
SEEK_READ = 64 * 1024


# -- certificate ------------------------------------------------------------------------------------
def openssl_unavailable_reason() -> str | None:
    return None if shutil.which("openssl") else "the 'openssl' command is not installed"


def make_certificate(folder: Path, common_name: str) -> tuple[Path, Path]:
    """A self-signed EC certificate and key (PEM) in ``folder``: ``(certfile, keyfile)``.
    Cast senders do not check the device certificate (pychromecast uses ``CERT_NONE``)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "device.crt", folder / "device.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", f"/CN={common_name}", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


# -- wire format ------------------------------------------------------------------------------------
def encode(source: str, destination: str, namespace: str, payload: dict[str, Any]) -> bytes:
    """One frame: 4-byte big-endian length + serialized ``CastMessage`` (CASTV2_1_0, STRING)."""
    msg = CastMessage()
    msg.protocol_version = CastMessage.CASTV2_1_0
    msg.source_id = source
    msg.destination_id = destination
    msg.namespace = namespace
    msg.payload_type = CastMessage.STRING
    msg.payload_utf8 = json.dumps(payload)
    body = msg.SerializeToString()
    return struct.pack(">I", len(body)) + body


async def read_message(reader: asyncio.StreamReader) -> CastMessage:
    """Read one frame. Raises ``asyncio.IncompleteReadError`` at EOF, ``ValueError`` when the
    frame is too long or not a CastMessage."""
    (length,) = struct.unpack(">I", await reader.readexactly(4))
    if length > MAX_MESSAGE:
        raise ValueError(f"message of {length} bytes exceeds {MAX_MESSAGE}")
    msg = CastMessage()
    msg.ParseFromString(await reader.readexactly(length))
    return msg


# -- state ------------------------------------------------------------------------------------------
@dataclass
class Fetch:
    """One HTTP request the receiver made for media, a seek or a text track."""

    purpose: str  # "load", "seek", "hls", "track"
    url: str
    range: str | None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    bytes: int = 0
    local: str | None = None  # the receiver's own address for this request
    remote: str | None = None  # the server's address
    error: str | None = None
    probe: dict[str, Any] | None = None
    complete: bool = False  # the whole body was read


@dataclass
class App:
    app_id: str
    session_id: str
    transport_id: str

    @property
    def display_name(self) -> str:
        return APPS[self.app_id][0]

    @property
    def namespaces(self) -> list[str]:
        return APPS[self.app_id][1]


class MediaSession:
    """The Default Media Receiver's player: state and a clock for ``currentTime``."""

    def __init__(self, session_id: int, media: dict[str, Any], duration: float | None) -> None:
        self.session_id = session_id
        self.media = media
        self.duration = duration
        self.player_state = "BUFFERING"
        self.idle_reason: str | None = None
        self.active_track_ids: list[int] = []
        self._base = 0.0
        self._since: float | None = None

    def position(self) -> float:
        if self._since is None:
            return self._base
        pos = self._base + (time.monotonic() - self._since)
        return min(pos, self.duration) if self.duration else pos

    def set_state(self, state: str, position: float | None = None, idle_reason: str | None = None) -> None:
        base = self.position() if position is None else position
        self._base = base
        self._since = time.monotonic() if state == "PLAYING" else None
        self.player_state = state
        self.idle_reason = idle_reason if state == "IDLE" else None

    def status(self) -> dict[str, Any]:
        media = dict(self.media)
        if self.duration is not None:
            media["duration"] = self.duration
        out: dict[str, Any] = {
            "mediaSessionId": self.session_id,
            "playbackRate": 1,
            "playerState": self.player_state,
            "currentTime": round(self.position(), 3),
            "supportedMediaCommands": SUPPORTED_COMMANDS,
            "volume": {"level": 1, "muted": False},
            "activeTrackIds": self.active_track_ids,
            "currentItemId": 1,
            "repeatMode": "REPEAT_OFF",
            "media": media,
        }
        if self.idle_reason:
            out["idleReason"] = self.idle_reason
        return out


class _Conn:
    """One sender's TLS connection and the virtual connections opened over it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        #: (sender id, receiver-side id) pairs opened with CONNECT
        self.virtual: set[tuple[str, str]] = set()
        self.peer = writer.get_extra_info("peername")

    def send(self, source: str, destination: str, namespace: str, payload: dict[str, Any]) -> None:
        if self.writer.is_closing():
            return
        self.writer.write(encode(source, destination, namespace, payload))

    def senders_of(self, target: str) -> list[str]:
        return [s for s, t in self.virtual if t == target]


class CastStandin:
    """The receiver. ``host``/``port`` to listen on (port 0: any free port; a real device uses
    8009); ``uuid`` (hex, the TXT ``id``), ``friendly_name``, ``model``. ``fail_fetch`` makes
    every media fetch fail as if the network were down (``LOAD_FAILED`` 103)."""

    def __init__(
        self,
        *,
        uuid: str,
        friendly_name: str = "Living Room TV",
        model: str = "Chromecast",
        host: str = "127.0.0.1",
        port: int = 0,
        cert_dir: Path | None = None,
        fail_fetch: bool = False,
    ) -> None:
        self.uuid = uuid
        self.friendly_name = friendly_name
        self.model = model
        self.host = host
        self.port = port
        self.fail_fetch = fail_fetch
        self._cert_dir = cert_dir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._server: asyncio.base_events.Server | None = None
        self.conns: set[_Conn] = set()
        self.app: App = self._new_app(BACKDROP)
        self.volume = {"level": 0.5, "muted": False}
        self.media: MediaSession | None = None
        self._media_session_ids = 0
        self.fetches: list[Fetch] = []
        #: (namespace, type) of every message received, in order (heartbeats left out)
        self.received: list[tuple[str, str]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._finish_handle: asyncio.TimerHandle | None = None
        self._download: asyncio.Task[Any] | None = None  # the current media's download
        self._http: Any = None
        self.on_app_change: Any = None  # callable(App) — lets the mDNS side update the TXT record

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> CastStandin:
        if self._cert_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="cast-standin-")
            self._cert_dir = Path(self._tmp.name)
        cert, key = make_certificate(self._cert_dir, self.uuid)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=ctx)
        self.port = self._server.sockets[0].getsockname()[1]
        _LOGGER.info("cast stand-in %s listening on %s:%s", self.friendly_name, self.host, self.port)
        return self

    async def vanish(self) -> None:
        """The device disappears: stop listening and cut every connection (TCP reset)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self.conns):
            transport = conn.writer.transport
            transport.abort()
        self.conns.clear()
        self._stop_clock()

    async def close(self) -> None:
        await self.vanish()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def snapshot(self) -> dict[str, Any]:
        """The device's state as plain data (what tests assert on)."""
        return {
            "port": self.port,
            "app": {
                "appId": self.app.app_id, "sessionId": self.app.session_id, "transportId": self.app.transport_id,
                "displayName": self.app.display_name,
            },
            "volume": dict(self.volume),
            "media": self.media.status() if self.media else None,
            "fetches": [asdict(f) for f in self.fetches],
            "connections": len(self.conns),
            "received": [list(r) for r in self.received],
        }

    # -- connections -----------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Conn(reader, writer)
        self.conns.add(conn)
        _LOGGER.info("sender connected from %s", conn.peer)
        try:
            while True:
                msg = await read_message(reader)
                if msg.protocol_version != CastMessage.CASTV2_1_0 or msg.payload_type != CastMessage.STRING:
                    _LOGGER.warning("dropping a non-string or unknown-version message")
                    continue
                try:
                    data = json.loads(msg.payload_utf8)
                except ValueError:
                    _LOGGER.warning("dropping a message whose payload is not JSON: %r", msg.payload_utf8[:200])
                    continue
                if not isinstance(data, dict):
                    continue
                if msg.namespace != NS_HEARTBEAT:
                    self.received.append((msg.namespace, str(data.get("type"))))
                    _LOGGER.debug("%s → %s %s %s", msg.source_id, msg.destination_id, msg.namespace, data)
                await self._dispatch(conn, msg, data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, ValueError) as err:
            _LOGGER.info("sender %s went away: %s: %s", conn.peer, type(err).__name__, err)
        finally:
            self.conns.discard(conn)
            if not writer.is_closing():
                writer.close()

    async def _dispatch(self, conn: _Conn, msg: CastMessage, data: dict[str, Any]) -> None:
        src, dst, ns, kind = msg.source_id, msg.destination_id, msg.namespace, data.get("type")
        if ns == NS_CONNECTION:
            if kind == "CONNECT":
                conn.virtual.add((src, dst))
            elif kind == "CLOSE":
                conn.virtual.discard((src, dst))
            return
        if (src, dst) not in conn.virtual:
            _LOGGER.warning("dropping %s %s from %s to %s: no virtual connection", ns, kind, src, dst)
            return
        if ns == NS_HEARTBEAT:
            if kind == "PING":
                conn.send(dst, src, NS_HEARTBEAT, {"type": "PONG"})
            return
        request_id = data.get("requestId", 0)
        if ns == NS_RECEIVER and dst == PLATFORM_ID:
            self._receiver(conn, src, kind, data, request_id)
            return
        if ns == NS_MEDIA and dst == self.app.transport_id and NS_MEDIA in self.app.namespaces:
            await self._media(conn, src, kind, data, request_id)
            return
        conn.send(dst, src, ns, {"type": "INVALID_REQUEST", "requestId": request_id, "reason": "INVALID_COMMAND"})

    # -- receiver namespace ----------------------------------------------------------------------
    @staticmethod
    def _new_app(app_id: str) -> App:
        session = str(uuidlib.uuid4()).upper()
        return App(app_id, session, session)

    def receiver_status(self) -> dict[str, Any]:
        app = self.app
        return {
            "applications": [
                {
                    "appId": app.app_id,
                    "appType": "WEB",
                    "displayName": app.display_name,
                    "iconUrl": "",
                    "isIdleScreen": app.app_id == BACKDROP,
                    "launchedFromCloud": False,
                    "namespaces": [{"name": n} for n in app.namespaces],
                    "sessionId": app.session_id,
                    "statusText": app.display_name,
                    "transportId": app.transport_id,
                    "universalAppId": app.app_id,
                }
            ],
            "isActiveInput": True,
            "isStandBy": False,
            "userEq": {},
            "volume": {"controlType": "attenuation", "level": self.volume["level"],
                       "muted": self.volume["muted"], "stepInterval": 0.05},
        }

    def _receiver(self, conn: _Conn, sender: str, kind: Any, data: dict[str, Any], request_id: int) -> None:
        def reply(payload: dict[str, Any]) -> None:
            conn.send(PLATFORM_ID, sender, NS_RECEIVER, {**payload, "requestId": request_id})

        if kind == "GET_STATUS":
            reply({"type": "RECEIVER_STATUS", "status": self.receiver_status()})
        elif kind == "LAUNCH":
            app_id = data.get("appId")
            if app_id not in APPS:
                reply({"type": "LAUNCH_ERROR", "reason": "NOT_FOUND"})
                return
            if app_id != self.app.app_id:
                self._switch_app(app_id)
            reply({"type": "RECEIVER_STATUS", "status": self.receiver_status()})
            self._broadcast_receiver_status(exclude=(conn, sender))
        elif kind == "STOP":
            session = data.get("sessionId")
            if session is not None and session != self.app.session_id:
                reply({"type": "INVALID_REQUEST", "reason": "INVALID_SESSION_ID"})
                return
            self._switch_app(BACKDROP)
            reply({"type": "RECEIVER_STATUS", "status": self.receiver_status()})
            self._broadcast_receiver_status(exclude=(conn, sender))
        elif kind == "SET_VOLUME":
            volume = data.get("volume") or {}
            if "level" in volume:
                level = volume["level"]
                if not isinstance(level, (int, float)) or not 0 <= level <= 1:
                    reply({"type": "INVALID_REQUEST", "reason": "INVALID_PARAMS"})
                    return
                self.volume["level"] = float(level)
            if "muted" in volume:
                self.volume["muted"] = bool(volume["muted"])
            reply({"type": "RECEIVER_STATUS", "status": self.receiver_status()})
            self._broadcast_receiver_status(exclude=(conn, sender))
        elif kind == "GET_APP_AVAILABILITY":
            reply({
                "type": "GET_APP_AVAILABILITY",
                "availability": {a: "APP_AVAILABLE" if a in APPS else "APP_UNAVAILABLE" for a in data.get("appId", [])},
            })
        else:
            reply({"type": "INVALID_REQUEST", "reason": "INVALID_COMMAND"})

    def _switch_app(self, app_id: str) -> None:
        old = self.app
        # The old application's transport closes the virtual connections senders had to it.
        for conn in self.conns:
            for sender in conn.senders_of(old.transport_id):
                conn.send(old.transport_id, sender, NS_CONNECTION, {"type": "CLOSE"})
                conn.virtual.discard((sender, old.transport_id))
        self._stop_clock()
        if self._download is not None:
            self._download.cancel()
            self._download = None
        self.media = None
        self.app = self._new_app(app_id)
        if self.on_app_change is not None:
            self.on_app_change(self.app)

    def _broadcast_receiver_status(self, exclude: tuple[_Conn, str] | None = None) -> None:
        payload = {"type": "RECEIVER_STATUS", "requestId": 0, "status": self.receiver_status()}
        for conn in self.conns:
            for sender in conn.senders_of(PLATFORM_ID):
                if exclude and exclude == (conn, sender):
                    continue
                conn.send(PLATFORM_ID, BROADCAST, NS_RECEIVER, payload)

    # -- media namespace -------------------------------------------------------------------------
    def _media_status(self, request_id: int, *, transition: bool = False) -> dict[str, Any]:
        """A media session that went IDLE has ended: it is reported once, with its
        ``idleReason``, when it ends (``transition``); afterwards ``status`` is empty."""
        media = self.media
        live = media is not None and (transition or media.player_state != "IDLE")
        return {"type": "MEDIA_STATUS", "requestId": request_id, "status": [media.status()] if live else []}

    def _broadcast_media_status(self) -> None:
        payload = self._media_status(0, transition=True)
        for conn in self.conns:
            if conn.senders_of(self.app.transport_id):
                conn.send(self.app.transport_id, BROADCAST, NS_MEDIA, payload)

    async def _media(self, conn: _Conn, sender: str, kind: Any, data: dict[str, Any], request_id: int) -> None:
        transport = self.app.transport_id

        def reply(payload: dict[str, Any]) -> None:
            conn.send(transport, sender, NS_MEDIA, {**payload, "requestId": request_id})

        if kind == "GET_STATUS":
            reply(self._media_status(request_id))
            return
        if kind == "LOAD":
            # Loading takes a while (fetch, probe); the receiver keeps answering meanwhile.
            self._spawn(self._load(reply, data))
            return
        if kind not in ("PLAY", "PAUSE", "SEEK", "STOP"):
            reply({"type": "INVALID_REQUEST", "reason": "INVALID_COMMAND"})
            return
        media = self.media
        if media is None or media.player_state == "IDLE" or data.get("mediaSessionId") != media.session_id:
            reply({"type": "INVALID_REQUEST", "reason": "INVALID_MEDIA_SESSION_ID"})
            return
        if kind == "PLAY":
            if media.player_state in ("PAUSED", "BUFFERING"):
                media.set_state("PLAYING")
        elif kind == "PAUSE":
            if media.player_state in ("PLAYING", "BUFFERING"):
                media.set_state("PAUSED")
        elif kind == "STOP":
            media.set_state("IDLE", idle_reason="CANCELLED")
        elif kind == "SEEK":
            position = data.get("currentTime")
            if not isinstance(position, (int, float)) or position < 0:
                reply({"type": "INVALID_REQUEST", "reason": "INVALID_PARAMS"})
                return
            if media.duration:
                position = min(float(position), media.duration)
            resume = data.get("resumeState")
            state = {"PLAYBACK_START": "PLAYING", "PLAYBACK_PAUSE": "PAUSED"}.get(resume, media.player_state)
            ok = await self._seek_fetch(media, float(position))
            if not ok:
                media.set_state("IDLE", position=float(position), idle_reason="ERROR")
            else:
                media.set_state(state, position=float(position))
        self._schedule_finish()
        reply(self._media_status(request_id, transition=True))
        self._broadcast_media_status()

    async def _load(self, reply: Any, data: dict[str, Any]) -> None:
        media_info = data.get("media") or {}
        url = media_info.get("contentId")
        content_type = str(media_info.get("contentType", "")).split(";")[0].strip().lower()
        self._media_session_ids += 1
        self._stop_clock()
        if not url or not isinstance(url, str):
            reply({"type": "INVALID_REQUEST", "reason": "INVALID_PARAMS"})
            return
        if content_type not in SUPPORTED_TYPES:
            reply({"type": "LOAD_FAILED", "itemId": 1, "detailedErrorCode": ERR_SRC_NOT_SUPPORTED})
            self.media = MediaSession(self._media_session_ids, media_info, None)
            self.media.set_state("IDLE", idle_reason="ERROR")
            self._broadcast_media_status()
            return
        session = MediaSession(self._media_session_ids, media_info, None)
        self.media = session
        self._broadcast_media_status()  # BUFFERING while it fetches
        if content_type in HLS_TYPES:
            duration, error = await self._fetch_hls(url)
        else:
            duration, error = await self._fetch_media(url)
        if self.media is not session:  # another LOAD or an app change meanwhile
            reply({"type": "LOAD_CANCELLED", "itemId": 1})
            return
        if error is not None:
            reply({"type": "LOAD_FAILED", "itemId": 1, "detailedErrorCode": error})
            session.set_state("IDLE", idle_reason="ERROR")
            self._broadcast_media_status()
            return
        if media_info.get("duration") is None and duration is not None:
            session.duration = duration
        elif media_info.get("duration") is not None:
            session.duration = float(media_info["duration"])
        tracks = {t.get("trackId"): t for t in media_info.get("tracks") or [] if isinstance(t, dict)}
        session.active_track_ids = [t for t in data.get("activeTrackIds") or [] if t in tracks]
        for track_id in session.active_track_ids:
            await self._fetch_track(tracks[track_id])
        start = data.get("currentTime")
        start = float(start) if isinstance(start, (int, float)) and start > 0 else 0.0
        if session.duration:
            start = min(start, session.duration)
        session.set_state("PLAYING" if data.get("autoplay", True) else "PAUSED", position=start)
        self._schedule_finish()
        reply(self._media_status(0, transition=True))
        self._broadcast_media_status()

    def _schedule_finish(self) -> None:
        """While PLAYING, end with IDLE / FINISHED when the clock reaches the duration."""
        if self._finish_handle is not None:
            self._finish_handle.cancel()
            self._finish_handle = None
        media = self.media
        if media is None or media.player_state != "PLAYING" or not media.duration:
            return

        def finish() -> None:
            self._finish_handle = None
            if self.media is media and media.player_state == "PLAYING":
                media.set_state("IDLE", position=media.duration, idle_reason="FINISHED")
                self._broadcast_media_status()

        remaining = max(0.0, media.duration - media.position())
        self._finish_handle = asyncio.get_running_loop().call_later(remaining, finish)

    def _stop_clock(self) -> None:
        if self._finish_handle is not None:
            self._finish_handle.cancel()
            self._finish_handle = None

    # -- fetching like a receiver ----------------------------------------------------------------
    async def _session(self) -> Any:
        import aiohttp

        if self._http is None:
            # One connection per request, so each fetch records the addresses it really used.
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True),
                headers={"User-Agent": USER_AGENT},
                timeout=aiohttp.ClientTimeout(sock_connect=FETCH_TIMEOUT, sock_read=FETCH_TIMEOUT),
                auto_decompress=False,
            )
        return self._http

    async def _get(self, fetch: Fetch, limit: int | None, sink: Any = None) -> bool:
        """Run one GET, recording it in ``fetch``; body bytes go to ``sink.write`` (up to
        ``limit``). Returns whether it succeeded (2xx)."""
        import aiohttp

        self.fetches.append(fetch)
        if self.fail_fetch:
            fetch.error = "network unreachable (fail_fetch)"
            return False
        headers = {"Range": fetch.range} if fetch.range else {}
        try:
            http = await self._session()
            async with http.get(fetch.url, headers=headers, allow_redirects=True) as resp:
                self._record(fetch, resp)
                if resp.status >= 300:
                    return False
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    fetch.bytes += len(chunk)
                    if sink is not None:
                        sink.write(chunk)
                    if limit is not None and fetch.bytes >= limit:
                        break
                return True
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            fetch.error = f"{type(err).__name__}: {err}"
            return False

    async def _fetch_media(self, url: str) -> tuple[float | None, int | None]:
        """GET the media like a media element does: ``(duration, None)`` once enough of it was
        read to know it is media (the rest keeps downloading in the background, as a progressive
        stream does), else ``(None, error code)``."""
        fetch = Fetch("load", url, "bytes=0-")
        loaded: asyncio.Future[tuple[float | None, int | None]] = asyncio.get_running_loop().create_future()
        if self._download is not None:
            self._download.cancel()
        self._download = self._spawn(self._stream(fetch, loaded))
        await asyncio.wait([loaded])
        return (None, ERR_MEDIA_NETWORK) if loaded.cancelled() else loaded.result()

    async def _stream(self, fetch: Fetch, loaded: asyncio.Future[Any]) -> None:
        import aiohttp

        def settle(result: tuple[float | None, int | None]) -> None:
            if not loaded.done():
                loaded.set_result(result)

        self.fetches.append(fetch)
        if self.fail_fetch:
            fetch.error = "network unreachable (fail_fetch)"
            settle((None, ERR_MEDIA_NETWORK))
            return
        try:
            with tempfile.NamedTemporaryFile(prefix="cast-standin-", suffix=".media") as tmp:
                http = await self._session()
                async with http.get(fetch.url, headers={"Range": fetch.range or "bytes=0-"}) as resp:
                    self._record(fetch, resp)
                    if resp.status >= 300:
                        settle((None, ERR_MEDIA_NETWORK))
                        return
                    probe_at = PROBE_AFTER
                    async for chunk in resp.content.iter_chunked(64 * 1024):
                        tmp.write(chunk)
                        fetch.bytes += len(chunk)
                        if not loaded.done() and fetch.bytes >= probe_at:
                            tmp.flush()
                            probe = await _ffprobe(tmp.name)
                            if probe and probe.get("streams"):
                                fetch.probe = probe
                                settle((_duration(probe), None))
                            probe_at *= 2
                fetch.complete = True
                if not loaded.done():
                    tmp.flush()
                    fetch.probe = await _ffprobe(tmp.name)
                    ok = fetch.probe is not None and fetch.probe.get("streams")
                    settle((_duration(fetch.probe), None) if ok else (None, ERR_MEDIA_DECODE))
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            fetch.error = f"{type(err).__name__}: {err}"
            settle((None, ERR_MEDIA_NETWORK))
        finally:
            if not loaded.done():  # cancelled: a new LOAD or the app stopped
                loaded.cancel()

    @staticmethod
    def _record(fetch: Fetch, resp: Any) -> None:
        transport = resp.connection.transport if resp.connection else None
        if transport is not None:
            fetch.local = _addr(transport.get_extra_info("sockname"))
            fetch.remote = _addr(transport.get_extra_info("peername"))
        fetch.status = resp.status
        fetch.headers = dict(resp.headers.items())

    async def _fetch_hls(self, url: str) -> tuple[float | None, int | None]:
        """GET the playlist, then let ffprobe follow it to the segments."""
        fetch = Fetch("hls", url, None)
        buffer = _Buffer()
        if not await self._get(fetch, 1024 * 1024, buffer):
            return None, ERR_MEDIA_NETWORK
        if not buffer.data.lstrip().startswith(b"#EXTM3U"):
            return None, ERR_MEDIA_DECODE
        fetch.probe = await _ffprobe(url)
        if fetch.probe is None or not fetch.probe.get("streams"):
            return None, ERR_MEDIA_DECODE
        return _duration(fetch.probe), None

    async def _seek_fetch(self, media: MediaSession, position: float) -> bool:
        """After a seek a media element asks for the bytes from about that point on."""
        url = media.media.get("contentId", "")
        content_type = str(media.media.get("contentType", "")).lower()
        if content_type in HLS_TYPES:
            return True  # a player picks the segment from the playlist it already has
        size = _total_size(next((f for f in reversed(self.fetches) if f.purpose == "load"), None))
        offset = int(size * position / media.duration) if size and media.duration else 0
        fetch = Fetch("seek", url, f"bytes={offset}-")
        return await self._get(fetch, SEEK_READ)

    async def _fetch_track(self, track: dict[str, Any]) -> None:
        url = track.get("trackContentId")
        if not url:
            return
        fetch = Fetch("track", url, None)
        buffer = _Buffer()
        await self._get(fetch, 4 * 1024 * 1024, buffer)
        fetch.probe = {"webvtt": buffer.data.lstrip(b"\xef\xbb\xbf").startswith(b"WEBVTT")}


class _Buffer:
    def __init__(self) -> None:
        self.data = b""

    def write(self, chunk: bytes) -> None:
        self.data += chunk


def _addr(value: Any) -> str | None:
    return str(value[0]) if isinstance(value, tuple) and value else None


def _total_size(fetch: Fetch | None) -> int | None:
    """The file size from a 206's ``Content-Range: bytes a-b/size`` or a 200's length."""
    if fetch is None:
        return None
    content_range = fetch.headers.get("Content-Range", "")
    if "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        if total.isdigit():
            return int(total)
    length = fetch.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else fetch.bytes or None


def _duration(probe: dict[str, Any]) -> float | None:
    try:
        return float(probe["format"]["duration"])
    except (KeyError, TypeError, ValueError):
        return None


async def _ffprobe(target: str) -> dict[str, Any] | None:
    """ffprobe's JSON for a file or URL, or ``None`` when it is not media."""
    proc = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-show_entries", "format=duration,format_name:stream=codec_type,codec_name",
        "-of", "json", target,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), FETCH_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    if proc.returncode != 0:
        return None
    try:
        return json.loads(out)
    except ValueError:
        return None


# -- as a device in a network namespace -------------------------------------------------------------
def txt_record(standin: CastStandin) -> dict[str, str]:
    """The TXT keys a real Chromecast publishes; ``st``/``rs`` follow the running app."""
    busy = standin.app.app_id != BACKDROP
    return {
        "id": standin.uuid,
        "cd": standin.uuid[:32].upper(),
        "rm": "",
        "ve": "05",
        "md": standin.model,
        "ic": "/setup/icon.png",
        "fn": standin.friendly_name,
        "ca": "4101",
        "st": "1" if busy else "0",
        "bs": "FA8FCA000000",
        "nf": "1",
        "rs": standin.app.display_name if busy else "",
    }


async def _serve_main(args: argparse.Namespace) -> None:
    import socket

    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

    standin = CastStandin(
        uuid=args.uuid, friendly_name=args.name, model=args.model, host=args.host, port=args.port,
        fail_fetch=args.fail_fetch,
    )
    await standin.start()
    aiozc: AsyncZeroconf | None = None
    info: AsyncServiceInfo | None = None
    update_tasks: set[asyncio.Task[Any]] = set()

    def service() -> AsyncServiceInfo:
        return AsyncServiceInfo(
            SERVICE_TYPE,
            f"Chromecast-{args.uuid}.{SERVICE_TYPE}",
            port=standin.port,
            properties=txt_record(standin),
            server=f"{args.uuid}.local.",
            addresses=[socket.inet_aton(a) for a in args.advertise],
        )

    if args.advertise:
        aiozc = AsyncZeroconf(interfaces=list(args.advertise))
        info = service()
        await (await aiozc.async_register_service(info))

        def republish(_app: App | None = None) -> None:
            nonlocal info
            if aiozc is None or info is None:
                return
            info = service()
            task = asyncio.get_running_loop().create_task(aiozc.async_update_service(info))
            update_tasks.add(task)
            task.add_done_callback(update_tasks.discard)

        standin.on_app_change = republish

    loop = asyncio.get_running_loop()
    print(json.dumps({"ok": "start", "port": standin.port}), flush=True)
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            msg = json.loads(line)
            cmd = msg.get("cmd")
            answer: dict[str, Any] = {"ok": cmd}
            if cmd == "state":
                answer["state"] = standin.snapshot()
            elif cmd == "rename":  # the user renames the device (Google Home app): new TXT fn
                standin.friendly_name = msg["name"]
                if standin.on_app_change is not None:
                    standin.on_app_change(None)
            elif cmd == "vanish":
                await standin.vanish()
            elif cmd == "goodbye" and aiozc is not None and info is not None:
                await (await aiozc.async_unregister_service(info))
                info = None
            elif cmd == "quit":
                print(json.dumps(answer), flush=True)
                break
            print(json.dumps(answer), flush=True)
    finally:
        await standin.close()
        if aiozc is not None:
            if info is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(await aiozc.async_unregister_service(info), 5)
            await aiozc.async_close()


class StandinProcess:
    """Drives ``cast_standin.py serve`` in a subprocess (usually inside a network namespace):
    ``await start()``, ``await state()``, ``await vanish()``, ``await goodbye()``, ``await close()``.
    ``command`` is the argv prefix that runs a program there (``[]`` for this namespace)."""

    def __init__(self, command: list[str], *, uuid: str, name: str, log: Path, advertise: list[str] = (),
                 port: int = 8009, host: str = "0.0.0.0", model: str = "Chromecast", fail_fetch: bool = False) -> None:
        self.argv = [
            *command, sys.executable, str(Path(__file__).resolve()), "serve", "--uuid", uuid, "--name", name,
            "--model", model, "--port", str(port), "--host", host,
            *(a for addr in advertise for a in ("--advertise", addr)),
            *(["--fail-fetch"] if fail_fetch else []),
        ]
        self.log = log
        self.port: int | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self._log_file: Any = None
        self._lock = asyncio.Lock()

    async def start(self, timeout: float = 30.0) -> StandinProcess:
        self._log_file = open(self.log, "w")  # noqa: SIM115 - closed in close()
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=self._log_file,
        )
        answer = await self._read(timeout)
        self.port = answer["port"]
        return self

    async def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc and self.proc.stdout
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except TimeoutError:
            raise RuntimeError(f"cast stand-in did not answer in {timeout:g} s; log:\n{self.tail()}") from None
        if not line:
            raise RuntimeError(f"cast stand-in exited ({self.proc.returncode}); log:\n{self.tail()}")
        return json.loads(line)

    async def command(self, cmd: str, timeout: float = 20.0, **fields: Any) -> dict[str, Any]:
        assert self.proc and self.proc.stdin
        async with self._lock:
            self.proc.stdin.write(json.dumps({"cmd": cmd, **fields}).encode() + b"\n")
            await self.proc.stdin.drain()
            answer = await self._read(timeout)
        if answer.get("ok") != cmd:
            raise RuntimeError(f"cast stand-in answered {answer!r} to {cmd}")
        return answer

    async def state(self) -> dict[str, Any]:
        return (await self.command("state"))["state"]

    async def vanish(self) -> None:
        await self.command("vanish")

    async def goodbye(self) -> None:
        await self.command("goodbye")

    async def rename(self, name: str) -> None:
        await self.command("rename", name=name)

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            try:
                await self.command("quit", timeout=10)
                await asyncio.wait_for(self.proc.wait(), 10)
            except (TimeoutError, RuntimeError, OSError, ConnectionError):
                self.proc.kill()
                await self.proc.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


class RootLink:
    """A network namespace joined to the test's own namespace by a veth pair, like a device on
    the LAN: the test's side has ``hub_addr``, the namespace side ``device_addr`` (private test
    addresses in 10.214.0.0/16, one /29 per link; ``spare_addr`` is in the subnet but nobody's,
    like a switched-off device), both up, with ``224.0.0.0/4`` routed to the veth inside the
    namespace so its mDNS reaches the test's side. Needs root (see
    ``tests/netns.py:netns_unavailable_reason``)."""

    def __init__(self, tag: str = "") -> None:
        pid = os.getpid()
        self.ns = f"omm-cast{pid}{tag}"
        self.outer = f"ocr{pid}{tag}"[:15]
        self.inner = f"oci{pid}{tag}"[:15]
        subnet = _free_subnet((pid * 7 + sum(map(ord, tag))) % 8192)
        hosts = list(subnet.hosts())
        self.hub_addr, self.device_addr, self.spare_addr = str(hosts[0]), str(hosts[1]), str(hosts[4])
        self._created = False

    def create(self) -> RootLink:
        _ip("netns", "add", self.ns)
        self._created = True
        try:
            _ip("link", "add", self.outer, "type", "veth", "peer", "name", self.inner)
            _ip("link", "set", self.inner, "netns", self.ns)
            _ip("addr", "add", f"{self.hub_addr}/29", "dev", self.outer)
            _ip("link", "set", self.outer, "up")
            _ip("-n", self.ns, "addr", "add", f"{self.device_addr}/29", "dev", self.inner)
            _ip("-n", self.ns, "link", "set", self.inner, "up")
            _ip("-n", self.ns, "link", "set", "lo", "up")
            _ip("-n", self.ns, "route", "add", "224.0.0.0/4", "dev", self.inner)
        except Exception:
            self.close()
            raise
        return self

    def command(self) -> list[str]:
        """The argv prefix that runs a program inside the namespace."""
        return ["ip", "netns", "exec", self.ns]

    def script(self, ns: str, *args: str) -> list[str]:
        """``tests/netns.py`` run as a script inside ``ns`` (so ``netns.Advertiser`` works here)."""
        return ["ip", "netns", "exec", ns, sys.executable, str(Path(__file__).with_name("netns.py")), *args]

    def close(self) -> None:
        if self._created:
            subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
            self._created = False
        subprocess.run(["ip", "link", "del", self.outer], capture_output=True)


def _free_subnet(start: int) -> ipaddress.IPv4Network:
    """A /29 in 10.214.0.0/16, from block ``start`` on, that overlaps no address or route of this
    namespace (other tests may have links of their own)."""
    used: list[ipaddress.IPv4Network] = []
    for args in (["-4", "-o", "addr", "show"], ["-4", "route", "show"]):
        out = subprocess.run(["ip", *args], capture_output=True, text=True).stdout
        for word in out.split():
            with contextlib.suppress(ValueError):
                if word[0].isdigit():
                    used.append(ipaddress.ip_network(word, strict=False))
    pool = list(ipaddress.ip_network("10.214.0.0/16").subnets(new_prefix=29))
    for i in range(len(pool)):
        candidate = pool[(start + i) % len(pool)]
        if not any(candidate.overlaps(net) for net in used):
            return candidate
    raise RuntimeError("no free /29 left in 10.214.0.0/16")


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    serve = sub.add_parser("serve", help="run the receiver; JSON-line commands on stdin")
    serve.add_argument("--uuid", required=True)
    serve.add_argument("--name", default="Living Room TV")
    serve.add_argument("--model", default="Chromecast")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8009)
    serve.add_argument("--advertise", action="append", default=[], help="IPv4 address to advertise over mDNS")
    serve.add_argument("--fail-fetch", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("zeroconf").setLevel(logging.INFO)
    asyncio.run(_serve_main(args))


if __name__ == "__main__":
    main(sys.argv[1:])
