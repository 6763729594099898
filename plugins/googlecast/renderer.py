"""``GoogleCastRenderer``: one Google Cast device driven through pychromecast.

pychromecast is threaded and blocking: each device has a socket thread (``SocketClient``) that
reads the device's messages and calls listeners, and every command blocks its caller until the
device answers. Here every blocking call runs on a worker thread (``asyncio.to_thread``) and every
listener callback is handed back to the hub's loop with ``loop.call_soon_threadsafe``, so the
loop never blocks and renderer state is only touched on the loop.

Protocol (Cast v2, as pychromecast 14 speaks it — ``socket_client.py``, ``controllers/receiver.py``,
``controllers/media.py`` — and Google's media messages reference,
https://developers.google.com/cast/docs/reference/web_receiver/cast.framework.messages):

- :meth:`play` launches the Default Media Receiver (app ``CC1AD845``; nothing happens when it
  already runs), then sends ``LOAD`` with ``contentId`` = the URL, ``contentType`` = the MIME type,
  ``streamType`` ``BUFFERED`` (files) or ``LIVE``, ``metadata`` (generic: ``title``, ``images``),
  ``duration``, ``currentTime`` = ``start`` and, for a WebVTT ``subtitles_url``, a ``TEXT`` track
  that is made active. The device answers ``MEDIA_STATUS`` once it has loaded the media, or
  ``LOAD_FAILED`` with a ``detailedErrorCode`` (Cast web receiver error codes).
- :meth:`pause` / :meth:`resume` / :meth:`stop` / :meth:`seek` send ``PAUSE`` / ``PLAY`` /
  ``STOP`` / ``SEEK`` with the current ``mediaSessionId``; a seek keeps the play/pause state.
  :meth:`set_volume` sends the receiver's ``SET_VOLUME`` (device volume, 0.0–1.0).
- :meth:`status` asks for ``MEDIA_STATUS`` (or only ``RECEIVER_STATUS`` when the Default Media
  Receiver is not running, so asking never launches it) and maps ``playerState``: ``PLAYING`` →
  playing, ``PAUSED`` → paused, ``BUFFERING`` → buffering, ``IDLE`` → idle, or stopped once media
  ended (``idleReason`` ``FINISHED``, ``CANCELLED``, ``INTERRUPTED``); ``idleReason`` ``ERROR`` →
  stopped with ``error`` set.

Connections: a renderer connects when it is first used (a command or :meth:`status`), with the
address found over mDNS and the mDNS service name, which pychromecast resolves through the hub's
shared zeroconf instance (python-zeroconf's sync ``Zeroconf``: ``hub.discovery.zeroconf.zeroconf``)
— so a device that moved is found at its new address. The connection then stays open and the
device's own status messages keep :attr:`GoogleCastRenderer.current` up to date. A lost
connection is retried once right away; if that fails the socket thread ends, the state becomes
``unavailable`` and commands raise :class:`RendererUnavailable` until one finds the device again.
A device that cannot be reached costs one attempt per command and no thread in between.
:meth:`GoogleCastRenderer.close` stops and joins every socket thread. Reads and writes of each
connection's TLS socket are serialised (:func:`serialize_socket_io`): pychromecast alone writes
from several threads at once, which corrupts the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pychromecast
from pychromecast.config import APP_MEDIA_RECEIVER
from pychromecast.const import CAST_TYPE_AUDIO, CAST_TYPE_CHROMECAST, CAST_TYPE_GROUP, CAST_TYPES
from pychromecast.controllers.media import MEDIA_PLAYER_ERROR_CODES, MediaStatus, MediaStatusListener
from pychromecast.controllers.receiver import CastStatus, CastStatusListener
from pychromecast.error import NotConnected, PyChromecastError, RequestFailed, RequestTimeout
from pychromecast.models import CastInfo, HostServiceInfo, MDNSServiceInfo
from pychromecast.socket_client import (
    CONNECTION_STATUS_CONNECTED,
    CONNECTION_STATUS_DISCONNECTED,
    ConnectionStatus,
    ConnectionStatusListener,
)

from omnimedia.core.casting.types import CastError, CastMedia, Renderer, RendererStatus, RendererUnavailable

_LOGGER = logging.getLogger(__name__)

SERVICE_TYPE = "_googlecast._tcp.local."
NS_MEDIA = "urn:x-cast:com.google.cast.media"
#: Seconds pychromecast waits for a TCP/TLS connection and between reads.
SOCKET_TIMEOUT = 5.0
#: Seconds a command waits for the device's answer.
REQUEST_TIMEOUT = 10.0
#: Seconds ``LOAD`` may take: the device fetches and buffers the media first. (The casting
#: manager gives a whole ``play()`` 15 s.)
LOAD_TIMEOUT = 12.0
#: Seconds a command waits for a connection being made before giving up.
CONNECT_WAIT = 8.0
#: ``ca`` TXT bit for "has video output" (Cast device capabilities).
CAPABILITY_VIDEO_OUT = 0x01
#: Subtitle types the Default Media Receiver shows as text tracks.
TEXT_TRACK_TYPES = ("text/vtt",)
#: playerState → our state (IDLE is decided with idleReason, see :func:`map_state`).
PLAYER_STATES = {"PLAYING": "playing", "PAUSED": "paused", "BUFFERING": "buffering"}
#: idleReason values that mean "media was loaded and has ended".
ENDED_REASONS = ("FINISHED", "CANCELLED", "INTERRUPTED", "ERROR")


def map_state(player_state: str | None, idle_reason: str | None) -> str:
    """Cast ``playerState`` + ``idleReason`` → a :data:`RendererState`."""
    if player_state in PLAYER_STATES:
        return PLAYER_STATES[player_state]
    if player_state == "IDLE" and idle_reason in ENDED_REASONS:
        return "stopped"
    return "idle"


def cast_type_for(model: str | None, port: int | None, capabilities: str | None) -> str:
    """pychromecast's cast type without asking the device over HTTP: a port other than 8009 is
    a group (pychromecast's rule), a known model its listed type, else the ``ca`` TXT bitmask
    (video output → ``cast``, otherwise ``audio``)."""
    if port and port != 8009:
        return CAST_TYPE_GROUP
    known = CAST_TYPES.get((model or "").lower())
    if known:
        return known[0]
    try:
        return CAST_TYPE_CHROMECAST if int(capabilities or "1") & CAPABILITY_VIDEO_OUT else CAST_TYPE_AUDIO
    except ValueError:
        return CAST_TYPE_CHROMECAST


class SharedZeroconf:
    """The hub's sync ``Zeroconf`` as pychromecast's socket thread uses it: only
    ``get_service_info(type, name, timeout)``. Once the hub's mDNS is closed (or its loop stopped),
    lookups answer ``None`` — pychromecast then reconnects by address — instead of raising
    python-zeroconf's ``NotRunningException``, which pychromecast does not catch."""

    def __init__(self, zeroconf: Any) -> None:
        self._zc = zeroconf

    def detach(self) -> None:
        self._zc = None

    def get_service_info(self, type_: str, name: str, timeout: int = 3000) -> Any:
        zc = self._zc
        if zc is None or getattr(zc, "done", False):
            return None
        loop = getattr(zc, "loop", None)
        if loop is None or not loop.is_running():
            return None
        try:
            return zc.get_service_info(type_, name, timeout)
        except Exception as err:  # noqa: BLE001 - closing underneath us, loop gone, …
            _LOGGER.debug("mDNS lookup of %s failed: %s", name, err)
            return None


def serialize_socket_io(client: Any, timeout: float = REQUEST_TIMEOUT) -> None:
    """Make pychromecast use its TLS socket from one thread at a time.

    pychromecast's socket thread reads the device's messages (and answers some, e.g. heartbeats
    and channel CONNECTs) while every command is written by the thread that sends it. OpenSSL
    connections are not thread-safe: two threads writing at once corrupt the records (the device
    drops the connection: "bad record mac", "EOF occurred in violation of protocol", "bad
    length" — reported from the field in home-assistant/core#111762 and #141619). Here every
    message sent and every message read goes through one re-entrant lock on this client.
    A sender that cannot get the lock within ``timeout`` seconds (a read stuck on a device that
    stopped mid-message) gets pychromecast's ``NotConnected``."""
    lock = threading.RLock()
    send, read = client.send_message, client._read_message

    def send_message(*args: Any, **kwargs: Any) -> Any:
        if not lock.acquire(timeout=timeout):
            raise NotConnected("the connection is busy reading a message from the device")
        try:
            return send(*args, **kwargs)
        finally:
            lock.release()

    def read_message() -> Any:
        with lock:
            return read()

    client.send_message = send_message
    client._read_message = read_message


@dataclass(slots=True)
class _Media:
    """A copy of pychromecast's ``MediaStatus`` taken on the socket thread."""

    player_state: str | None
    current_time: float | None
    duration: float | None
    content_id: str | None
    idle_reason: str | None
    title: str | None
    item_id: int | None

    @classmethod
    def of(cls, status: MediaStatus) -> _Media:
        item_id = (status.media_custom_data or {}).get("item_id")
        return cls(
            status.player_state,
            status.adjusted_current_time,
            status.duration,
            status.content_id,
            status.idle_reason,
            status.title,
            item_id if isinstance(item_id, int) else None,
        )


class _Connection:
    """One pychromecast ``Chromecast`` (one socket thread) and what its device said. Used on the
    loop only."""

    def __init__(self, cast: pychromecast.Chromecast) -> None:
        self.cast = cast
        self.connected = False
        #: set when the device answered on this connection (connected and a receiver status)
        self.ready = asyncio.Event()
        #: set when the socket thread gave up or was stopped (DISCONNECTED)
        self.done = asyncio.Event()
        self.cast_status: CastStatus | None = None
        self.media: _Media | None = None


class _Listener(CastStatusListener, MediaStatusListener, ConnectionStatusListener):
    """pychromecast's listeners (called on its socket thread) → the renderer, on the loop."""

    def __init__(self, renderer: GoogleCastRenderer, loop: asyncio.AbstractEventLoop, conn: _Connection) -> None:
        self._renderer = renderer
        self._loop = loop
        self._conn = conn
        self._receiver = conn.cast.socket_client.receiver_controller

    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            self._loop.call_soon_threadsafe(fn, self._conn, *args)

    def new_cast_status(self, status: CastStatus) -> None:
        self._post(self._renderer._on_cast_status, status)

    def new_media_status(self, status: MediaStatus) -> None:
        if status.player_state == "UNKNOWN" and self._receiver.status is None:
            # The connection is being reset (pychromecast forgets the receiver status first,
            # then closes the media channel): not "idle" — a connection status follows.
            return
        self._post(self._renderer._on_media_status, _Media.of(status))

    def load_media_failed(self, queue_item_id: int, error_code: int) -> None:
        self._post(self._renderer._on_load_failed, error_code)

    def new_connection_status(self, status: ConnectionStatus) -> None:
        self._post(self._renderer._on_connection_status, status.status)


class GoogleCastRenderer(Renderer):
    """A Cast device as a :class:`Renderer`.

    ``id``: the Cast UUID as the device publishes it (TXT ``id``, 32 hex digits); ``name``: its
    friendly name; ``host``/``port``: where it was found (port 8009 for a single device);
    ``service_name``: its mDNS instance (``Chromecast-….__googlecast._tcp.local.``), re-resolved
    with ``zeroconf`` (a sync python-zeroconf ``Zeroconf``, or ``None``) when reconnecting;
    ``model`` and ``capabilities`` (TXT ``md`` and ``ca``) choose pychromecast's cast type.
    ``on_change(renderer)`` is called on the loop whenever :attr:`current` changes.

    Commands connect when needed (waiting up to :data:`CONNECT_WAIT` seconds); call
    :meth:`close` when done. Every command raises :class:`RendererUnavailable` when the device
    cannot be reached and :class:`CastError` when it refuses."""

    protocol = "googlecast"
    device_profile = "chromecast"

    def __init__(
        self,
        id: str,
        name: str,
        host: str,
        *,
        port: int = 8009,
        service_name: str | None = None,
        zeroconf: Any = None,
        model: str | None = None,
        capabilities: str | None = None,
        on_change: Callable[[GoogleCastRenderer], None] | None = None,
    ) -> None:
        super().__init__(id, name, host)
        self.port = port
        self.model = model
        self.service_name = service_name
        self.on_change = on_change
        self._zeroconf = SharedZeroconf(zeroconf)
        self._services: set[HostServiceInfo | MDNSServiceInfo] = {HostServiceInfo(host, port)}
        if service_name and zeroconf is not None:
            self._services.add(MDNSServiceInfo(service_name))
        try:
            cast_uuid = uuidlib.UUID(id)
        except ValueError:
            cast_uuid = uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"googlecast:{id}")
        self._cast_info = CastInfo(
            self._services, cast_uuid, model, name, host, port,
            cast_type_for(model, port, capabilities), None,
        )
        self._conn: _Connection | None = None
        self._connect_lock = asyncio.Lock()
        #: every socket thread started, joined by :meth:`close`
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._closing: asyncio.Task[None] | None = None
        self._error: str | None = None
        #: the state the device last pushed (no round trip); ``idle`` before the first contact
        self.current = RendererStatus(state="idle")

    # -- lifecycle -------------------------------------------------------------------------------
    def _unreachable(self) -> str:
        return f"cannot reach the Cast device {self.name} at {self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        """Whether the device answers on an open connection right now."""
        return self._conn is not None and self._conn.ready.is_set()

    @property
    def thread(self) -> threading.Thread | None:
        """The current connection's socket thread (for tests and diagnostics)."""
        return self._conn.cast.socket_client if self._conn is not None else None

    @property
    def media_title(self) -> str | None:
        """The title of what the device plays (its ``metadata.title``), when connected."""
        media = self._conn.media if self.connected and self._conn else None
        return media.title if media else None

    @property
    def media_item_id(self) -> int | None:
        """The library item the device plays, when the hub cast it (``customData.item_id``)."""
        media = self._conn.media if self.connected and self._conn else None
        return media.item_id if media else None

    def threads_alive(self) -> list[threading.Thread]:
        """Socket threads of this renderer that have not ended yet."""
        return [t for t in self._threads if t.is_alive()]

    def _open(self) -> _Connection:
        """Start a new pychromecast connection (one pass over the device's addresses; a lost
        connection is retried once, then the thread ends and the next command starts anew)."""
        cast = pychromecast.get_chromecast_from_cast_info(
            self._cast_info,
            self._zeroconf,  # type: ignore[arg-type] - duck-typed: only get_service_info is used
            tries=1,
            timeout=SOCKET_TIMEOUT,
        )
        serialize_socket_io(cast.socket_client)
        conn = _Connection(cast)
        listener = _Listener(self, asyncio.get_running_loop(), conn)
        cast.register_status_listener(listener)
        cast.media_controller.register_status_listener(listener)
        cast.register_connection_listener(listener)
        cast.socket_client.name = f"googlecast {self.name}"
        self._conn = conn
        self._threads.append(cast.socket_client)
        cast.start()
        return conn

    async def connect(self) -> None:
        """Connect now (commands connect by themselves when needed). Waits up to
        :data:`CONNECT_WAIT` seconds; raises :class:`RendererUnavailable`."""
        await self._connection()

    async def _connection(self) -> _Connection:
        """The open connection to the device, opening one when there is none (or the last one
        failed). Raises :class:`RendererUnavailable` when the device cannot be reached."""
        if self._closed:
            raise RendererUnavailable(f"the Cast device {self.name} is not connected (closed)")
        async with self._connect_lock:
            conn = self._conn
            if conn is None or conn.done.is_set():
                conn = self._open()
            if not conn.ready.is_set():
                ready = asyncio.ensure_future(conn.ready.wait())
                done = asyncio.ensure_future(conn.done.wait())
                try:
                    await asyncio.wait((ready, done), timeout=CONNECT_WAIT, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    ready.cancel()
                    done.cancel()
            if conn.ready.is_set() and not self._closed:
                return conn
            if self._conn is conn:
                self._retire(conn)
            self._set_current(RendererStatus(state="unavailable", error=self._unreachable()))
            raise RendererUnavailable(self._unreachable())

    def _retire(self, conn: _Connection) -> None:
        """Stop a connection's thread without waiting (it ends after its current socket call)."""
        if self._conn is conn:
            self._conn = None
        conn.ready.clear()
        conn.cast.socket_client.disconnect()

    async def close(self) -> None:
        """Disconnect and join every socket thread (the device keeps playing). Safe to call more
        than once and concurrently: every call returns once the threads have ended."""
        self._closed = True
        self._zeroconf.detach()
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close(), name=f"close {self.name}")
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        async with self._connect_lock:  # let a connection being made finish first
            if self._conn is not None:
                self._retire(self._conn)
        for thread in self._threads:
            if thread.is_alive():
                await asyncio.to_thread(thread.join, SOCKET_TIMEOUT + 5)
            if thread.is_alive():
                _LOGGER.warning("a socket thread of %s did not stop in time", self.name)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._set_current(RendererStatus(state="unavailable", error="disconnected"))

    def update_address(self, host: str, port: int, name: str | None = None) -> None:
        """The device was found at a new address: connect there from now on."""
        if name:
            self.name = name
        if (host, port) == (self.host, self.port):
            return
        old = HostServiceInfo(self.host, self.port)
        self.host, self.port = host, port
        self._services.add(HostServiceInfo(host, port))  # shared with pychromecast's socket client
        self._services.discard(old)

    # -- callbacks (on the loop; ``conn`` is the connection they came from) ----------------------
    def _on_connection_status(self, conn: _Connection, status: str) -> None:
        if status == CONNECTION_STATUS_DISCONNECTED:
            conn.done.set()  # the socket thread ends; the next command opens a new connection
            if conn is self._conn:
                self._conn = None
                if conn.ready.is_set() and not self._closed:
                    conn.ready.clear()
                    _LOGGER.info("lost %s at %s:%s", self.name, self.host, self.port)
                    self._set_current(RendererStatus(state="unavailable", error=self._unreachable()))
        connected = status == CONNECTION_STATUS_CONNECTED
        if connected == conn.connected:
            return
        conn.connected = connected
        if connected or conn is not self._conn or self._closed:
            return
        was_ready = conn.ready.is_set()
        conn.ready.clear()
        conn.cast_status = None
        if was_ready:
            _LOGGER.info("lost %s at %s:%s (%s)", self.name, self.host, self.port, status)
            self._set_current(RendererStatus(state="unavailable", error=self._unreachable()))

    def _on_cast_status(self, conn: _Connection, status: CastStatus | None) -> None:
        if status is None:
            return
        conn.cast_status = status
        if conn.connected and not conn.ready.is_set():
            _LOGGER.info("connected to %s at %s:%s", self.name, self.host, self.port)
            conn.ready.set()
        if status.app_id != APP_MEDIA_RECEIVER:
            conn.media = None
        self._refresh_current(conn)

    def _on_media_status(self, conn: _Connection, media: _Media) -> None:
        conn.media = media
        if media.player_state in PLAYER_STATES:
            self._error = None
        self._refresh_current(conn)

    def _on_load_failed(self, conn: _Connection, error_code: int) -> None:
        self._error = self._load_error(error_code)
        self._refresh_current(conn)

    def _refresh_current(self, conn: _Connection) -> None:
        if conn is self._conn and conn.ready.is_set() and not self._closed:
            self._set_current(self._compose(conn.cast_status, conn.media))

    def _set_current(self, status: RendererStatus) -> None:
        if status == self.current:
            return
        self.current = status
        if self.on_change is not None:
            try:
                self.on_change(self)
            except Exception:  # noqa: BLE001 - a listener must not break the renderer
                _LOGGER.exception("status listener of %s failed", self.name)

    def _compose(self, cast_status: CastStatus | None, media: _Media | None) -> RendererStatus:
        volume = cast_status.volume_level if cast_status is not None else None
        if media is None or media.player_state in (None, "UNKNOWN"):
            return RendererStatus(state="idle", volume=volume, error=self._error)
        error = self._error
        if media.player_state == "IDLE" and media.idle_reason == "ERROR" and error is None:
            error = f"{self.name} could not play {media.title or media.content_id}"
        return RendererStatus(
            state=map_state(media.player_state, media.idle_reason),  # type: ignore[arg-type]
            position=media.current_time,
            duration=media.duration,
            url=media.content_id,
            volume=volume,
            error=error,
        )

    def _load_error(self, code: int | None) -> str:
        name = MEDIA_PLAYER_ERROR_CODES.get(code, "unknown error")
        return f"{self.name} could not load the media: {name} (Cast error {code})"

    # -- commands ----------------------------------------------------------------------------------
    async def _run(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        conn = await self._connection()
        cast = conn.cast
        try:
            return await asyncio.to_thread(fn, cast, *args)
        except CastError:
            raise
        except RequestTimeout as err:
            raise RendererUnavailable(f"{self.name} did not answer {what} in time") from err
        except PyChromecastError as err:
            if not conn.ready.is_set() or not cast.socket_client.is_connected:
                raise RendererUnavailable(f"{self._unreachable()} ({what})") from err
            raise CastError(f"{self.name} could not {what}: {type(err).__name__} {err}".rstrip()) from err

    def _request(self, controller: Any, payload: dict[str, Any], timeout: float, what: str,
                 inc_session_id: bool = False) -> dict[str, Any]:
        """Send one message and wait for the device's answer (blocking; worker thread).
        Raises :class:`CastError` when the answer is an error (``LOAD_FAILED``,
        ``INVALID_REQUEST``, ``LAUNCH_ERROR``…), ``RequestTimeout``/``RequestFailed`` otherwise."""
        done = threading.Event()
        result: dict[str, Any] = {}

        def callback(sent: bool, response: dict | None) -> None:
            result["sent"], result["response"] = sent, response
            done.set()

        controller.send_message(payload, inc_session_id=inc_session_id, callback_function=callback)
        if not done.wait(timeout):
            raise RequestTimeout(what, timeout)
        if not result["sent"]:
            raise RequestFailed(what)
        response = result["response"] or {}
        kind = response.get("type")
        if kind in ("LOAD_FAILED", "LOAD_CANCELLED", "INVALID_REQUEST", "LAUNCH_ERROR", "INVALID_PLAYER_STATE"):
            if kind == "LOAD_FAILED":
                raise CastError(self._load_error(response.get("detailedErrorCode")))
            reason = response.get("reason") or kind
            if reason == "INVALID_MEDIA_SESSION_ID":  # the media ended (or another sender replaced it)
                raise CastError(f"nothing is playing on {self.name} to {what}")
            raise CastError(f"{self.name} refused to {what}: {reason}")
        return response

    def _media_session(self, cast: pychromecast.Chromecast, what: str) -> tuple[Any, int]:
        """The media controller and the current media session, or :class:`CastError` when the
        Default Media Receiver plays nothing (never launches it for a mere command)."""
        controller = cast.media_controller
        session = controller.status.media_session_id
        if NS_MEDIA not in cast.socket_client.app_namespaces or session is None:
            raise CastError(f"nothing is playing on {self.name} to {what}")
        return controller, session

    def _media_command(self, cast: pychromecast.Chromecast, what: str, payload: dict[str, Any]) -> None:
        controller, session = self._media_session(cast, what)
        self._request(controller, {**payload, "mediaSessionId": session}, REQUEST_TIMEOUT, what, inc_session_id=True)

    def _play_blocking(self, cast: pychromecast.Chromecast, media: CastMedia) -> None:
        cast.start_app(APP_MEDIA_RECEIVER, timeout=REQUEST_TIMEOUT)
        self._request(cast.media_controller, load_message(media), LOAD_TIMEOUT, f"load {media.title or media.url}",
                      inc_session_id=True)

    async def play(self, media: CastMedia) -> None:
        """Launch the Default Media Receiver and ``LOAD`` ``media``; returns when the device has
        loaded it. Raises :class:`CastError` (``LOAD_FAILED``: the device could not fetch or decode
        it) or :class:`RendererUnavailable`."""
        self._error = None
        await self._run(f"play {media.title or media.url}", self._play_blocking, media)

    async def pause(self) -> None:
        await self._run("pause", self._media_command, "pause", {"type": "PAUSE"})

    async def resume(self) -> None:
        await self._run("resume", self._media_command, "resume", {"type": "PLAY"})

    async def stop(self) -> None:
        await self._run("stop", self._media_command, "stop", {"type": "STOP"})

    async def seek(self, position: float) -> None:
        """``SEEK`` to ``position`` seconds; playing stays playing, paused stays paused."""
        if position < 0:
            raise CastError(f"cannot seek {self.name} to a negative position ({position:g} s)")
        await self._run(f"seek to {position:g} s", self._media_command, "seek",
                        {"type": "SEEK", "currentTime": float(position)})

    async def set_volume(self, volume: float) -> None:
        """The device's volume, 0.0–1.0 (receiver ``SET_VOLUME``)."""
        if not 0.0 <= volume <= 1.0:
            raise CastError(f"volume must be between 0.0 and 1.0, not {volume!r}")

        def send(cast: pychromecast.Chromecast) -> None:
            self._request(cast.socket_client.receiver_controller,
                          {"type": "SET_VOLUME", "volume": {"level": float(volume)}}, REQUEST_TIMEOUT, "set the volume")

        await self._run("set the volume", send)

    def _status_blocking(self, cast: pychromecast.Chromecast) -> RendererStatus:
        if NS_MEDIA in cast.socket_client.app_namespaces:
            self._request(cast.media_controller, {"type": "GET_STATUS"}, REQUEST_TIMEOUT, "report its media status")
            return self._compose(cast.status, _Media.of(cast.media_controller.status))
        self._request(cast.socket_client.receiver_controller, {"type": "GET_STATUS"}, REQUEST_TIMEOUT,
                      "report its status")
        return self._compose(cast.status, None)

    async def status(self) -> RendererStatus:
        """Ask the device (a round trip). Raises :class:`RendererUnavailable` when it cannot be
        reached; :attr:`current` then says ``unavailable``."""
        status = await self._run("report its status", self._status_blocking)
        self._set_current(status)
        return status

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "port": self.port, "model": self.model}


def load_message(media: CastMedia) -> dict[str, Any]:
    """The ``LOAD`` request for ``media`` (Cast ``LoadRequestData``; ``sessionId`` and
    ``requestId`` are added by pychromecast)."""
    metadata: dict[str, Any] = {"metadataType": 0, "title": media.title or media.url.rsplit("/", 1)[-1]}
    if media.thumbnail_url:
        metadata["images"] = [{"url": media.thumbnail_url}]
    info: dict[str, Any] = {
        "contentId": media.url,
        "contentType": media.mime_type,
        "streamType": "LIVE" if media.stream_type == "live" else "BUFFERED",
        "metadata": metadata,
    }
    if media.duration:
        info["duration"] = float(media.duration)
    if media.item_id is not None:
        info["customData"] = {"item_id": media.item_id}
    message: dict[str, Any] = {"type": "LOAD", "media": info, "autoplay": True, "customData": {}}
    if media.start and media.start > 0:
        message["currentTime"] = float(media.start)
    if media.subtitles_url:
        mime = (media.subtitles_mime or "text/vtt").split(";")[0].strip().lower()
        if mime in TEXT_TRACK_TYPES:
            info["tracks"] = [{
                "trackId": 1, "type": "TEXT", "subtype": "SUBTITLES", "trackContentId": media.subtitles_url,
                "trackContentType": mime, "name": "Subtitles",
                **({"language": media.extra["subtitles_language"]} if media.extra.get("subtitles_language") else {}),
            }]
            info["textTrackStyle"] = {"backgroundColor": "#FFFFFF00", "edgeType": "OUTLINE", "edgeColor": "#000000FF"}
            message["activeTrackIds"] = [1]
        else:
            _LOGGER.warning("Cast shows WebVTT text tracks only; not sending %s subtitles %s", mime, media.subtitles_url)
    return message
