"""Serving the app with gunicorn, configured by `ivr.gunicorn_config` (gthread workers)."""

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


SERVERS = ("gunicorn", "granian", "uwsgi")
"""The WSGI servers `hotline serve --server` can run the app under."""


def exec_server(server: str, target: str, *, bind: str, workers: int, threads: int) -> NoReturn:
    """Replace this process with `server` serving the WSGI app at `target` ("module:app").

    For granian and uWSGI; gunicorn runs in-process through `HotlineServer`."""
    host, _, port = bind.rpartition(":")
    binary = str(Path(sys.executable).parent / server)
    if server == "granian":
        args = [
            binary, "--interface", "wsgi", "--host", host, "--port", port,
            "--workers", str(workers), "--blocking-threads", str(threads),
            "--no-ws", "--http", "1", target,
        ]  # fmt: skip
    elif server == "uwsgi":
        module, _, attribute = target.partition(":")
        args = [
            binary, "--http11-socket", bind,
            "--module", f"{module}:{attribute}", "--master",
            "--processes", str(workers), "--threads", str(threads), "--die-on-term",
            "--need-app", "--lazy-apps", "--disable-logging",
        ]  # fmt: skip
    else:
        raise ValueError(f"exec_server runs granian or uwsgi, not {server!r}")
    os.execv(binary, args)
