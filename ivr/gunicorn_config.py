"""The web tier's gunicorn configuration: the one place its server settings live.

A gunicorn config file as a Python module. `hotline serve` (and so the Procfile's `web`)
loads it through gunicorn's own loader and lays its --bind/--workers/--threads on top; the
direct command reads the same module:

    gunicorn --config python:ivr.gunicorn_config ivr.wsgi:app

Three settings may come from the environment, for either way of starting it:
`HOTLINE_BIND` (default 127.0.0.1:5000), `WEB_CONCURRENCY` (worker processes; default the
number of cores, at least 2) and `HOTLINE_THREADS` (threads per worker; default 8).
"""

from __future__ import annotations

import multiprocessing
import os


def _whole(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if value == "":
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)


bind = os.environ.get("HOTLINE_BIND") or "127.0.0.1:5000"
workers = _whole("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count()))
# Webhooks are short and mostly wait on Redis, so threads serve them well.
worker_class = "gthread"
threads = _whole("HOTLINE_THREADS", 8)
# Twilio gives a webhook 15 s in all; a request still running at 30 s is stuck.
timeout = 30
graceful_timeout = 10
keepalive = 5
# gunicorn's control socket is an admin interface nobody here uses: no socket file to guard.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
