"""The one place the hotline makes its Redis clients: plain REDIS_URL, or through Sentinel.

With REDIS_SENTINELS set, every client (web, rq workers and their scheduler, the call log
writer, the dialer, the command line) is redis-py's `Sentinel.master_for`: each new
connection asks the Sentinels where the primary is, and a connection that meets a dead
primary or a demoted one (READONLY) is dropped, so the next command reaches the replica
Sentinel promoted, without restarting the process.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from redis import Redis
from redis.sentinel import Sentinel

from ivr.settings import Settings

SENTINEL_TIMEOUT_SECONDS = 0.5
"""Each Sentinel's time to answer "where is the primary?": a dead Sentinel is passed over
for the next one quickly, so finding the primary stays well inside a webhook's budget."""


def connect(settings: Settings, **options: Any) -> Redis:
    """A client of the hotline's Redis primary, with redis-py's connection `options`
    (timeouts, keepalive, health checks)."""
    if not settings.redis_sentinels:
        return Redis.from_url(settings.redis_url, **options)
    url = urlsplit(settings.redis_url)
    database = int(url.path.strip("/") or 0)
    # The data's password (if any) is REDIS_URL's; the Sentinels themselves take none here.
    sentinel = Sentinel(
        list(settings.redis_sentinels),
        sentinel_kwargs={
            "socket_timeout": SENTINEL_TIMEOUT_SECONDS,
            "socket_connect_timeout": SENTINEL_TIMEOUT_SECONDS,
        },
    )
    client: Redis = sentinel.master_for(
        settings.redis_sentinel_master,
        db=database,
        username=url.username,
        password=url.password,
        **options,
    )
    return client
