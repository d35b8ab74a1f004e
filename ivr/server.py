"""Serving the app: granian by default, gunicorn (gthread) or uWSGI on request.

`hotline serve` (and so the Procfile's `web`) runs granian, chosen by measurement:
`hotline capacity` found it serving the webhooks 1.4 to 2.0 times as fast as gunicorn's
gthread worker on the same core (docs/BENCHMARKS.md). Its settings are `granian_args`,
here. Bind address, processes and threads come from one place for every server,
`ivr.gunicorn_config` (`HOTLINE_BIND`, `WEB_CONCURRENCY`, `HOTLINE_THREADS`), which is also
gunicorn's configuration file (`gunicorn --config python:ivr.gunicorn_config ivr.wsgi:app`).

What each guarantee rests on under granian:
- graceful restarts: SIGHUP replaces the workers one at a time, each finishing its requests;
  SIGTERM stops taking connections and lets requests finish, at most GRACEFUL_SECONDS; a
  worker that dies is started again;
- the request line and headers: at most HEADER_BYTES together (431 beyond, 414 for a URL
  over 64 KB); the body: the webhooks refuse over 64 KB (413, `ivr.voice.routes`), the staff
  pages over MAX_CONTENT_LENGTH (Flask's own 413);
- a request's time: granian has no per-request timeout for WSGI (nor has gunicorn's gthread
  worker, whose `timeout` only watches the worker's main loop), so the app bounds every wait
  on the call path: Redis 2 s a command, a call's lock 5 s, and the web tier's database
  connections 3 s to connect and 5 s a statement (`ivr.hotline.WEB_DATABASE_OPTIONS`);
- the access log: each request's method, path without its query string, status and time
  (granian's default format); the hotline never puts a secret in a URL anyway.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from flask import Flask
from gunicorn.app.base import Application

CONFIG = "python:ivr.gunicorn_config"
"""The gunicorn configuration, as `gunicorn --config` names it."""
SERVERS = ("granian", "gunicorn", "uwsgi")
"""The WSGI servers `hotline serve --server` can run the app under (the first by default)."""
DEFAULT_SERVER = SERVERS[0]
GRACEFUL_SECONDS = 10
"""How long a stopping worker may finish its requests (gunicorn's graceful_timeout)."""
HEADER_BYTES = 8192
"""The request line and headers together (granian's smallest buffer; Twilio's are ~2 KB)."""
KEEPALIVE_MS = 5000
"""An idle keep-alive connection is closed after this long (gunicorn's keepalive)."""


class HotlineServer(Application):  # type: ignore[misc]
    """gunicorn running the hotline; each worker process builds its own app (own connections).

    It reads `CONFIG` with gunicorn's own loader, as `gunicorn --config` does, so it and
    the direct command cannot differ; `bind`, `workers` and `threads` override it when given.
    """

    def __init__(
        self,
        factory: Callable[[], Flask],
        *,
        bind: str | None = None,
        workers: int | None = None,
        threads: int | None = None,
    ) -> None:
        self.factory = factory
        overrides = {"bind": bind, "workers": workers, "threads": threads}
        self.overrides = {key: value for key, value in overrides.items() if value is not None}
        super().__init__()

    def load_config(self) -> None:
        # Not Application.load_config: that parses sys.argv, which is `hotline serve ...`.
        self.load_config_from_module_name_or_filename(CONFIG)
        for key, value in self.overrides.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.factory()


def granian_args(target: str, *, bind: str, workers: int, threads: int) -> list[str]:
    """granian's command line for the WSGI app at `target` ("module:app")."""
    host, _, port = bind.rpartition(":")
    return [
        _binary("granian"), "--interface", "wsgi", "--host", host, "--port", port,
        "--workers", str(workers), "--blocking-threads", str(threads),
        "--no-ws", "--http", "1",
        "--workers-kill-timeout", str(GRACEFUL_SECONDS), "--respawn-failed-workers",
        "--http1-buffer-size", str(HEADER_BYTES),
        "--http1-header-read-timeout", str(KEEPALIVE_MS),
        "--access-log", "--log-level", "info",
        target,
    ]  # fmt: skip


def uwsgi_args(target: str, *, bind: str, workers: int, threads: int) -> list[str]:
    """uWSGI's command line, for `hotline capacity`'s comparison only (not configured for
    production: see docs/BENCHMARKS.md for what it would still need)."""
    module, _, attribute = target.partition(":")
    return [
        _binary("uwsgi"), "--http11-socket", bind, "--module", f"{module}:{attribute}",
        "--master", "--processes", str(workers), "--threads", str(threads), "--die-on-term",
        "--need-app", "--lazy-apps", "--disable-logging",
    ]  # fmt: skip


def exec_server(server: str, target: str, *, bind: str, workers: int, threads: int) -> NoReturn:
    """Replace this process with `server` serving the WSGI app at `target` ("module:app").

    For granian and uWSGI; gunicorn runs in-process through `HotlineServer`."""
    if server == "granian":
        args = granian_args(target, bind=bind, workers=workers, threads=threads)
    elif server == "uwsgi":
        args = uwsgi_args(target, bind=bind, workers=workers, threads=threads)
    else:
        raise ValueError(f"exec_server runs granian or uwsgi, not {server!r}")
    os.execv(args[0], args)


def _binary(name: str) -> str:
    return str(Path(sys.executable).parent / name)
