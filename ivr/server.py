"""Serving the app with gunicorn (gthread workers, control socket off)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


def gunicorn_options(bind: str, workers: int | None = None, threads: int = 8) -> dict[str, Any]:
    """The web tier's gunicorn settings; webhooks are short, so threads serve them well."""
    return {
        "bind": bind,
        "workers": workers or max(2, multiprocessing.cpu_count()),
        "worker_class": "gthread",
        "threads": threads,
        # Twilio gives a webhook 15 s in all; a request still running at 30 s is stuck.
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "control_socket_disable": True,
        "accesslog": "-",
        "errorlog": "-",
    }


class HotlineServer(BaseApplication):  # type: ignore[misc]
    """gunicorn running the hotline; each worker process builds its own app (own connections)."""

    def __init__(self, factory: Callable[[], Flask], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.factory()
