"""Real Redis and PostgreSQL servers for the test suite.

The code lives in `flood.servers`, which `hotline flood --start-stack` uses too, so the
suite and the load tester start their servers the same way (one copy). `PostgresCluster`
is the suite's own: a private PostgreSQL server that a test may stop and start.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

from flood.servers import (
    LOCAL_POSTGRES_URLS,
    RedisServer,
    _postgres_bin,
    free_port,
    fresh_postgres_database,
    postgres_admin_url,
    redis_server_binary,
    wait_for_port,
)

# tests/support/live.py imports it under its old, private name.
_wait_for_port = wait_for_port

__all__ = [
    "LOCAL_POSTGRES_URLS",
    "PostgresCluster",
    "RedisServer",
    "_wait_for_port",
    "free_port",
    "fresh_postgres_database",
    "postgres_admin_url",
    "private_postgres",
    "redis_server_binary",
    "wait_for_port",
]


class PostgresCluster:
    """A PostgreSQL cluster of the test's own (initdb) on a free loopback port.

    Unlike the session's server, a test may stop it (`stop()`: pg_ctl, which signals the
    postmaster whose PID is in its data folder) and start it again on the same port with its
    data intact, to see what the hotline does while its database is gone.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.log = directory / "postgres.log"
        # PostgreSQL refuses to run as root; Debian's package creates the postgres user.
        self._run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def pid(self) -> int | None:
        """The postmaster's PID while it runs (its data folder's postmaster.pid), else None."""
        try:
            first = (self.data / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        return int(first) if first.strip().isdigit() else None

    def init(self) -> None:
        if self._run_as:
            user = pwd.getpwnam("postgres")
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        self._run(_postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = _postgres_bin("pg_ctl")
        self._run(pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: connections are cut, as when a database host goes away)."""
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> str:
        """A new database; its SQLAlchemy URL."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._run_as, *args], check=True, stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def private_postgres() -> Iterator[PostgresCluster]:
    """A started `PostgresCluster`, stopped and deleted afterwards whatever happened."""
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="hotline-pg-private-")))
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.pid is not None:
            with contextlib.suppress(subprocess.CalledProcessError):
                cluster.stop("immediate")
        shutil.rmtree(cluster.directory, ignore_errors=True)
