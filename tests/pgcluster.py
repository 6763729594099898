"""A throwaway PostgreSQL cluster for the database tests.

:class:`PostgresCluster` runs ``initdb`` into a temporary folder and starts ``postgres`` on a free
TCP port of 127.0.0.1 with trust authentication; each test gets a fresh database in it. The server
binaries are looked up on ``PATH`` and then in Debian's ``/usr/lib/postgresql/<major>/bin``. The
server refuses to run as root, so as root it runs as the ``postgres`` user that Debian's package
creates (or an unprivileged ``omnimedia-pg`` user made here), through ``runuser``.

Fixtures (register with ``pytest_plugins = ["tests.pgcluster"]`` in the root conftest, or import them
into a test module; both share one cluster per process):

- ``postgres_cluster`` (session): the running :class:`PostgresCluster`; skips when no PostgreSQL
  server binaries are installed.
- ``postgres_url`` (function): ``postgresql+asyncpg://postgres@127.0.0.1:<port>/<fresh database>``,
  dropped after the test.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SUPERUSER = "postgres"
SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
DEBIAN_ROOT = Path("/usr/lib/postgresql")
UNPRIVILEGED_USER = "omnimedia-pg"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries were found on this machine."""


def find_bindir() -> Path:
    """Return the folder holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Looks on ``PATH`` first (resolving Debian's symlinks), then in ``/usr/lib/postgresql/*/bin``
    (newest major first). Raises :class:`PostgresUnavailable` when none has all three."""
    on_path = shutil.which("pg_ctl")
    candidates: list[Path] = []
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    if DEBIAN_ROOT.is_dir():
        majors = sorted(
            (p for p in DEBIAN_ROOT.iterdir() if p.name.split(".")[0].isdigit()),
            key=lambda p: int(p.name.split(".")[0]),
            reverse=True,
        )
        candidates.extend(p / "bin" for p in majors)
    for folder in candidates:
        if all(os.access(folder / tool, os.X_OK) for tool in SERVER_TOOLS):
            return folder
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in "
        f"{DEBIAN_ROOT}/*/bin; install them with scripts/install-system-packages.sh"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_user() -> str | None:
    """The user to run the server as: ``None`` (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in (SUPERUSER, UNPRIVILEGED_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", UNPRIVILEGED_USER],
        check=True,
        capture_output=True,
    )
    return UNPRIVILEGED_USER


class PostgresCluster:
    """One PostgreSQL server in a temporary folder, listening on 127.0.0.1:``port`` (trust auth).

    ``start()`` raises ``RuntimeError`` with the server log when the server does not come up."""

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self.user = _server_user()
        self.base = Path(tempfile.mkdtemp(prefix="omnimedia-pg-"))
        self.datadir = self.base / "data"
        self.logfile = self.base / "server.log"
        self.port = 0
        self.running = False

    # -- server -----------------------------------------------------------------------------------
    def _as_server_user(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", self.user, "--", *argv] if self.user else argv

    def _run(self, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._as_server_user(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd=self.base,
        )

    def start(self) -> None:
        if self.user:
            shutil.chown(self.base, self.user, self.user)
        init = self._run(
            [str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", SUPERUSER, "--auth=trust",
             "--encoding=UTF8", "--locale=C", "--no-sync"]
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
        last = ""
        for _attempt in range(3):  # the free port may be taken between probing and binding
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                f"-c unix_socket_directories='{self.base}' -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=100"
            )
            started = self._run(
                [str(self.bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.datadir),
                 "-l", str(self.logfile), "-o", options]
            )
            if started.returncode == 0:
                self.running = True
                return
            last = f"{started.stdout}\n{started.stderr}\n{self._log_tail()}"
        raise RuntimeError(f"PostgreSQL did not start:\n{last}")

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        """Stop the server and remove its folder; safe to call twice."""
        if self.running:
            self._run([str(self.bindir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.datadir)])
            self.running = False
        shutil.rmtree(self.base, ignore_errors=True)

    # -- databases --------------------------------------------------------------------------------
    def _sql(self, statement: str) -> None:
        psql = self.bindir / "psql"
        argv = [str(psql) if psql.exists() else "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres", "-c", statement]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"psql {statement!r} failed: {done.stderr.strip()}")

    def create_database(self, name: str | None = None) -> str:
        """Create a database; return its name."""
        name = name or f"test_{uuid.uuid4().hex[:12]}"
        self._sql(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        """SQLAlchemy URL of ``database`` on this cluster."""
        return f"{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"


_CLUSTER: PostgresCluster | None = None


def shared_cluster() -> PostgresCluster:
    """The process's one running cluster, started on first use and stopped at exit.

    Raises :class:`PostgresUnavailable` or ``RuntimeError`` (server did not start)."""
    global _CLUSTER
    if _CLUSTER is None or not _CLUSTER.running:
        cluster = PostgresCluster()
        try:
            cluster.start()
        except BaseException:
            cluster.stop()
            raise
        _CLUSTER = cluster
        atexit.register(cluster.stop)
    return _CLUSTER


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A running throwaway PostgreSQL cluster; skips when PostgreSQL is not installed."""
    try:
        cluster = shared_cluster()
    except PostgresUnavailable as err:
        pytest.skip(str(err))
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh, empty database on the session cluster, as a ``postgresql+asyncpg://`` URL."""
    name = postgres_cluster.create_database()
    yield postgres_cluster.url(name)
    if postgres_cluster.running:
        postgres_cluster.drop_database(name)
