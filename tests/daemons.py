"""Real download-client daemons for tests: qBittorrent, Transmission and NZBGet on loopback.

Each daemon runs from its Debian binary in a fresh temporary folder, on free ports of 127.0.0.1,
with DHT/LSD/PeX/UPnP off so nothing leaves the machine. Starting waits until its API answers;
stopping sends SIGTERM, then SIGKILL after a grace period, and removes the folder. Every daemon
started here is also stopped at interpreter exit, so a crashed test run leaks no process.

Use the fixtures (import them into a test module, ``from tests.daemons import qbittorrent_daemon``,
or register the module once with ``pytest_plugins = ["tests.daemons"]`` in the root conftest):

- ``qbittorrent_daemon`` → :class:`QBittorrentDaemon` (qbittorrent-nox, Web API v2)
- ``transmission_daemon`` → :class:`TransmissionDaemon` (transmission-daemon, RPC with auth)
- ``nzbget_daemon`` → :class:`NzbgetDaemon` (nzbget in server mode, JSON-RPC), with a
  ``news_server`` (:class:`tests.nntp_server.NewsServer`) configured as its only news server
- ``news_server`` → the NNTP stand-in alone

All are function-scoped. For another scope, use the context managers :func:`running_qbittorrent`,
:func:`running_transmission` and :func:`running_nzbget` in your own fixture. Each fixture skips the
test with a clear reason when its binary is not installed (``scripts/install-system-packages.sh``
installs them).

Every daemon object has: ``url`` (base URL, ``http://127.0.0.1:PORT``), ``username``,
``password``, ``download_dir`` (:class:`~pathlib.Path`), ``base_dir`` (its temp folder),
``version`` (as the binary reports it), ``log_tail()`` (last lines of its log, for assertion
messages), ``entry(**overrides)`` (a config entry for our plugin of the same name), ``stop()`` and
``restart()`` (same ports and folders: for "client is down" tests). Torrent daemons also have
``peer_port`` (BitTorrent listening port on 127.0.0.1) and ``peer`` (``"127.0.0.1:PORT"``).

Verified behaviour these set-ups rely on (see also ../shared/DESIGN.md):
- qbittorrent-nox 4.5.2 reads ``<profile>/qBittorrent/config/qBittorrent.conf``; ``[LegalNotice]
  Accepted=true`` skips the interactive legal notice; the Web UI password is stored as
  ``WebUI\\Password_PBKDF2="@ByteArray(<salt b64>:<key b64>)"`` (PBKDF2-HMAC-SHA512, 100,000
  iterations, 16-byte salt, 64-byte key). Login is enforced for localhost too
  (``WebUI\\LocalHostAuth=true``) so wrong-password tests are real; the ban after failed logins is
  raised to 1000 attempts so those tests do not lock the next one out.
- transmission-daemon 3.00 answers its RPC with 409 + ``X-Transmission-Session-Id`` first, 401 on
  bad credentials; peers are added to qBittorrent by hand (no tracker, no DHT).
- nzbget 21 needs a config file; with no news server a job waits forever, so the fixture points
  it at the NNTP stand-in, which answers 430 for unknown articles (→ the job fails, health 0 %).
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.nntp_server import NewsServer

STARTUP_TIMEOUT = 30.0
STOP_GRACE = 10.0

_RUNNING: set[ManagedProcess] = set()


def validated(schema: Any, entry: dict[str, Any]) -> dict[str, Any]:
    """Validate a plugin config entry the way the hub does (``platform``/``name`` allowed, defaults
    filled in): ``schema`` is the plugin manifest's ``config_schema``."""
    import voluptuous as vol

    from omnimedia.core.config.schema import PLUGIN_ENTRY_BASE

    return vol.Schema({**PLUGIN_ENTRY_BASE, **schema.schema}, extra=schema.extra)(dict(entry))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_binary(name: str) -> str:
    """Path of ``name``; skips the calling test when it is not installed."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/install-system-packages.sh installs it)")
    return path


def binary_version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else "unknown"


class ManagedProcess:
    """One daemon process in its own session (so its children die with it), logging to a file."""

    def __init__(self, argv: list[str], log: Path, cwd: Path) -> None:
        self.argv, self.log, self.cwd = argv, log, cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.cwd, start_new_session=True,
            )
        _RUNNING.add(self)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(STOP_GRACE)
        self.proc = None
        _RUNNING.discard(self)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@atexit.register
def _stop_all() -> None:
    for proc in list(_RUNNING):
        proc.stop()


def _http_answer(url: str) -> tuple[int, Any] | None:
    """``(status, headers)`` of a GET of ``url``, or None when nothing answers."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=2) as resp:
            return resp.status, resp.headers
    except urllib.error.HTTPError as err:
        return err.code, err.headers
    except (urllib.error.URLError, OSError):
        return None


def _http_status(url: str) -> int | None:
    """The HTTP status ``url`` answers with, or None when nothing answers."""
    answer = _http_answer(url)
    return answer[0] if answer else None


#: Log lines meaning "a port we picked was taken meanwhile" (qBittorrent, Transmission, NZBGet).
BIND_FAILURES = ("Address already in use", "Couldn't bind", "Unable to bind", "Binding socket failed")
START_ATTEMPTS = 3


class PortTaken(RuntimeError):
    """The daemon could not bind a port picked by :func:`free_port` (another process took it)."""


def wait_until(probe: Callable[[], bool], what: str, proc: ManagedProcess, timeout: float = STARTUP_TIMEOUT) -> None:
    """Wait until ``probe()`` is true. Raises ``PortTaken`` when the log says a port was taken
    (the caller retries on new ports), ``RuntimeError`` when the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        tail = proc.tail(20)
        if any(marker in tail for marker in BIND_FAILURES):
            raise PortTaken(f"{what} could not bind its port:\n{tail}")
        if not proc.alive:
            raise RuntimeError(f"{what} exited during start-up:\n{proc.tail()}")
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f} s:\n{proc.tail()}")


@dataclass
class _Daemon:
    """Shared shape of the daemons below."""

    base_dir: Path
    username: str
    password: str
    port: int
    download_dir: Path
    version: str = "unknown"
    process: ManagedProcess | None = field(default=None, repr=False)

    name = "daemon"  # also our plugin's platform name
    label = "Daemon"  # how the entry names it

    def entry(self, **overrides: Any) -> dict[str, Any]:
        """A config entry for our plugin of the same name, pointing at this daemon."""
        return {"platform": self.name, "name": f"{self.label} (test)", "url": self.url,
                "username": self.username, "password": self.password, "category": "omnimedia",
                "timeout": 10.0, "enabled": True, **overrides}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        log = self.base_dir / f"{self.name}.log"
        log.unlink(missing_ok=True)  # a fresh log per start, so old lines never look like new errors
        self.process = ManagedProcess(self._argv(), log, self.base_dir)
        self.process.start()
        try:
            wait_until(self._ready, self.name, self.process)
        except BaseException:
            self.process.stop()
            raise

    def new_ports(self) -> None:
        """Pick new free ports and rewrite the configuration (after :class:`PortTaken`)."""
        self.port = free_port()
        if hasattr(self, "peer_port"):
            self.peer_port = free_port()
        self.write_config()

    def write_config(self) -> None:
        raise NotImplementedError

    def start_on_free_ports(self) -> None:
        """:meth:`start`, retried on new ports when one turns out to be taken."""
        for attempt in range(START_ATTEMPTS):
            try:
                self.start()
                return
            except PortTaken:
                if attempt == START_ATTEMPTS - 1:
                    raise
                self.new_ports()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        return self.process.tail(lines) if self.process else "(not started)"


# -- qBittorrent ----------------------------------------------------------------------------------
def qbittorrent_password_hash(password: str, salt: bytes | None = None) -> str:
    """The ``WebUI\\Password_PBKDF2`` value qBittorrent ≥ 4.2 stores for ``password``."""
    salt = salt or secrets.token_bytes(16)
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 100_000, dklen=64)
    return f'"@ByteArray({base64.b64encode(salt).decode()}:{base64.b64encode(key).decode()})"'


@dataclass
class QBittorrentDaemon(_Daemon):
    """qbittorrent-nox with a profile in ``base_dir/profile``; Web UI on ``port``."""

    peer_port: int = 0
    name = "qbittorrent"
    label = "qBittorrent"

    @property
    def profile_dir(self) -> Path:
        return self.base_dir / "profile"

    @property
    def peer(self) -> str:
        return f"127.0.0.1:{self.peer_port}"

    def write_config(self) -> None:
        conf = self.profile_dir / "qBittorrent" / "config"
        conf.mkdir(parents=True, exist_ok=True)
        dl = str(self.download_dir)
        (conf / "qBittorrent.conf").write_text(
            "[LegalNotice]\nAccepted=true\n\n"
            "[BitTorrent]\n"
            f"Session\\Port={self.peer_port}\n"
            f"Session\\DefaultSavePath={dl}\n"
            "Session\\TempPathEnabled=false\n"
            "Session\\DHTEnabled=false\nSession\\LSDEnabled=false\nSession\\PeXEnabled=false\n"
            "Session\\QueueingSystemEnabled=false\n"
            "Session\\AnonymousModeEnabled=false\n\n"
            "[Network]\nPortForwardingEnabled=false\n\n"
            "[Preferences]\n"
            f"Connection\\PortRangeMin={self.peer_port}\n"
            "Connection\\UPnP=false\n"
            f"Downloads\\SavePath={dl}\n"
            "General\\Locale=en\n"
            "WebUI\\Address=127.0.0.1\n"
            f"WebUI\\Port={self.port}\n"
            "WebUI\\LocalHostAuth=true\n"
            f"WebUI\\Username={self.username}\n"
            f"WebUI\\Password_PBKDF2={qbittorrent_password_hash(self.password)}\n"
            "WebUI\\MaxAuthenticationFailCount=1000\n"
            "WebUI\\BanDuration=1\n"
            "WebUI\\HostHeaderValidation=false\n"
            "WebUI\\CSRFProtection=false\n"
            "WebUI\\UseUPnP=false\n",
            encoding="utf-8",
        )

    def _argv(self) -> list[str]:
        return [shutil.which("qbittorrent-nox") or "qbittorrent-nox", f"--profile={self.profile_dir}"]

    def _ready(self) -> bool:
        return _http_status(f"{self.url}/api/v2/app/webapiVersion") is not None

def _run(daemon: Any) -> Iterator[Any]:
    """The shared body of the ``running_*`` context managers: prepare, start, yield, clean up."""
    daemon.download_dir.mkdir()
    daemon.write_config()
    try:
        daemon.start_on_free_ports()
        yield daemon
    finally:
        daemon.close()


@contextlib.contextmanager
def running_qbittorrent(base: Path | None = None) -> Iterator[QBittorrentDaemon]:
    """Start qbittorrent-nox; yield a :class:`QBittorrentDaemon`; stop and clean up after."""
    binary = require_binary("qbittorrent-nox")
    base = Path(tempfile.mkdtemp(prefix="omnimedia-qbt-", dir=base))
    daemon = QBittorrentDaemon(
        base_dir=base, username="omnimedia", password=secrets.token_hex(12), port=free_port(),
        download_dir=base / "downloads", peer_port=free_port(), version=binary_version([binary, "--version"]),
    )
    yield from _run(daemon)


# -- Transmission ---------------------------------------------------------------------------------
@dataclass
class TransmissionDaemon(_Daemon):
    """transmission-daemon in the foreground; RPC on ``port`` at ``rpc_path`` with basic auth."""

    peer_port: int = 0
    rpc_path: str = "/transmission/rpc"
    name = "transmission"
    label = "Transmission"

    @property
    def config_dir(self) -> Path:
        return self.base_dir / "config"

    @property
    def peer(self) -> str:
        return f"127.0.0.1:{self.peer_port}"

    @property
    def rpc_url(self) -> str:
        return self.url + self.rpc_path

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        settings = {
            "dht-enabled": False, "lpd-enabled": False, "pex-enabled": False, "utp-enabled": False,
            "port-forwarding-enabled": False, "peer-port-random-on-start": False,
            "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1",
            "rpc-bind-address": "127.0.0.1", "rpc-whitelist-enabled": True, "rpc-whitelist": "127.0.0.1",
            "rpc-host-whitelist-enabled": False, "incomplete-dir-enabled": False,
            "download-queue-enabled": False, "seed-queue-enabled": False, "ratio-limit-enabled": False,
            "idle-seeding-limit-enabled": False, "message-level": 2, "encryption": 1,
        }
        (self.config_dir / "settings.json").write_text(json.dumps(settings, indent=1), encoding="utf-8")

    def _argv(self) -> list[str]:
        return [
            shutil.which("transmission-daemon") or "transmission-daemon",
            "-f", "-g", str(self.config_dir), "-p", str(self.port), "-P", str(self.peer_port),
            "-w", str(self.download_dir), "-T", "--no-portmap", "--no-dht", "--no-lpd",
            "-r", "127.0.0.1", "-t", "-u", self.username, "-v", self.password,
        ]

    def _ready(self) -> bool:
        # 409 (no session id yet) or 401 (no credentials), from Transmission itself, mean the RPC
        # server is up; anything else on our port is another program that took it first.
        answer = _http_answer(self.rpc_url)
        if answer is None:
            return False
        status, headers = answer
        if status in (401, 409) and ("X-Transmission-Session-Id" in headers or
                                     str(headers.get("Server", "")).startswith("Transmission")):
            return True
        raise PortTaken(f"another program answers on transmission's RPC port {self.port} (HTTP {status})")

    def rpc_client(self) -> Any:
        """A `transmission_rpc.Client` logged in to this daemon (for test set-up, not the plugin)."""
        import transmission_rpc

        return transmission_rpc.Client(host="127.0.0.1", port=self.port, path=self.rpc_path,
                                       username=self.username, password=self.password, timeout=10)

    def seed(self, torrent: bytes, data_dir: Path, timeout: float = 60.0) -> str:
        """Add ``torrent`` with its payload already in ``data_dir``; wait until Transmission has
        verified it and is seeding; return the info-hash. Raises ``RuntimeError`` on timeout."""
        client = self.rpc_client()
        added = client.add_torrent(torrent, download_dir=str(data_dir), paused=False)
        infohash = added.hash_string
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            t = client.get_torrent(infohash, arguments=["status", "percentDone", "error", "errorString"])
            if t.error == 3:
                raise RuntimeError(f"transmission cannot seed {infohash}: {t.error_string}")
            if t.percent_done >= 1.0 and t.seeding:
                return infohash
            time.sleep(0.2)
        raise RuntimeError(f"transmission did not start seeding {infohash} within {timeout:.0f} s:\n{self.log_tail()}")

@contextlib.contextmanager
def running_transmission(base: Path | None = None) -> Iterator[TransmissionDaemon]:
    """Start transmission-daemon; yield a :class:`TransmissionDaemon`; stop and clean up after."""
    binary = require_binary("transmission-daemon")
    base = Path(tempfile.mkdtemp(prefix="omnimedia-tr-", dir=base))
    daemon = TransmissionDaemon(
        base_dir=base, username="omnimedia", password=secrets.token_hex(12), port=free_port(),
        download_dir=base / "downloads", peer_port=free_port(), version=binary_version([binary, "--version"]),
    )
    yield from _run(daemon)


# -- NZBGet ---------------------------------------------------------------------------------------
@dataclass
class NzbgetDaemon(_Daemon):
    """nzbget in server mode (``-s``) with ``base_dir/nzbget.conf``; JSON-RPC on ``port``.

    ``download_dir`` is NZBGet's ``DestDir`` (completed jobs, one sub-folder per category),
    ``inter_dir`` its ``InterDir`` (jobs being downloaded). ``news`` is the news server it uses."""

    news: NewsServer | None = None
    name = "nzbget"
    label = "NZBGet"

    @property
    def config_file(self) -> Path:
        return self.base_dir / "nzbget.conf"

    @property
    def inter_dir(self) -> Path:
        return self.base_dir / "inter"

    @property
    def jsonrpc_url(self) -> str:
        return f"{self.url}/jsonrpc"

    def write_config(self) -> None:
        news = self.news
        lines = [
            f"MainDir={self.base_dir}",
            f"DestDir={self.download_dir}",
            "InterDir=${MainDir}/inter",
            "NzbDir=${MainDir}/nzb",
            "QueueDir=${MainDir}/queue",
            "TempDir=${MainDir}/tmp",
            "ScriptDir=${MainDir}/scripts",
            "LockFile=${MainDir}/nzbget.lock",
            "LogFile=${MainDir}/nzbget-file.log",
            "WebDir=",
            "ConfigTemplate=",
            "ControlIP=127.0.0.1",
            f"ControlPort={self.port}",
            f"ControlUsername={self.username}",
            f"ControlPassword={self.password}",
            "RestrictedUsername=", "RestrictedPassword=", "AddUsername=", "AddPassword=",
            "SecureControl=no", "FormAuth=no", "AuthorizedIP=",  # listed IPs would skip the login
            "UpdateCheck=none",
            "OutputMode=loggable",
            "WriteLog=append", "DetailTarget=both", "InfoTarget=both", "WarningTarget=both",
            "ErrorTarget=both", "DebugTarget=none",
            "DiskSpace=0",
            "ArticleRetries=0", "ArticleInterval=1", "ArticleTimeout=10", "UrlRetries=0",
            "CrcCheck=yes", "ParCheck=auto", "ParRepair=yes", "HealthCheck=delete",
            "Unpack=no", "DirectUnpack=no", "DirectRename=no",
            "AppendCategoryDir=yes", "DupeCheck=yes", "KeepHistory=30", "NzbDirInterval=0",
            "FlushQueue=yes", "ContinuePartial=no", "CrashTrace=no", "CrashDump=no",
        ]
        if news is not None:
            lines += [
                "Server1.Active=yes", "Server1.Name=stand-in", "Server1.Level=0", "Server1.Optional=no",
                "Server1.Group=0", f"Server1.Host={news.host}", f"Server1.Port={news.port}",
                f"Server1.Username={news.username or ''}", f"Server1.Password={news.password or ''}",
                "Server1.JoinGroup=no", "Server1.Encryption=no", "Server1.Connections=2", "Server1.Retention=0",
            ]
        self.config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _argv(self) -> list[str]:
        return [shutil.which("nzbget") or "nzbget", "-s", "-c", str(self.config_file)]

    def rpc(self, method: str, *params: Any) -> Any:
        """Call NZBGet's JSON-RPC directly (for test set-up and assertions, not the plugin)."""
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        body = json.dumps({"method": method, "params": list(params), "id": 1}).encode()
        req = urllib.request.Request(self.jsonrpc_url, data=body, headers={"Authorization": f"Basic {token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)["result"]

    def _ready(self) -> bool:
        try:
            return bool(self.rpc("version"))
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            return False

@contextlib.contextmanager
def running_nzbget(news: NewsServer | None, base: Path | None = None) -> Iterator[NzbgetDaemon]:
    """Start nzbget using ``news`` as its news server; yield a :class:`NzbgetDaemon`."""
    binary = require_binary("nzbget")
    base = Path(tempfile.mkdtemp(prefix="omnimedia-nzbget-", dir=base))
    version = binary_version([binary, "-v"]).replace("nzbget version:", "").strip()
    daemon = NzbgetDaemon(
        base_dir=base, username="omnimedia", password=secrets.token_hex(12), port=free_port(),
        download_dir=base / "complete", version=version, news=news,
    )
    yield from _run(daemon)


async def wait_for_item(client: Any, item_id: str, predicate: Callable[[Any], bool], timeout: float, what: str,
                        daemon: Any) -> tuple[Any, list[str]]:
    """Poll a download-client plugin's ``items()`` until ``predicate(item)`` holds (``item`` is
    None while the client does not list ``item_id``). Returns the item and the states seen on the
    way; fails the test with the daemon's log when ``timeout`` seconds pass."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        item = {i.id: i for i in await client.items()}.get(item_id)
        if item is not None and (not seen or seen[-1] != item.state):
            seen.append(item.state)
        if predicate(item):
            return item, seen
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; states seen {seen}; last {item}\n{daemon.log_tail()}")
        await asyncio.sleep(0.2)


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture
def qbittorrent_daemon() -> Iterator[QBittorrentDaemon]:
    """A running qbittorrent-nox (login required: ``username``/``password``)."""
    with running_qbittorrent() as daemon:
        yield daemon


@pytest.fixture
def transmission_daemon() -> Iterator[TransmissionDaemon]:
    """A running transmission-daemon (RPC auth: ``username``/``password``)."""
    with running_transmission() as daemon:
        yield daemon


@pytest.fixture
def news_server() -> Iterator[NewsServer]:
    """The NNTP stand-in on a free port of 127.0.0.1 (no authentication)."""
    server = NewsServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nzbget_daemon(news_server: NewsServer) -> Iterator[NzbgetDaemon]:
    """A running nzbget whose only news server is ``news_server``."""
    with running_nzbget(news_server) as daemon:
        yield daemon
