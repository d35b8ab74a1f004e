"""One gunicorn configuration: `hotline serve` and the direct gunicorn command see the same.

Cheap: the servers are configured, never started.
"""

from __future__ import annotations

import importlib
import multiprocessing
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from gunicorn.app.wsgiapp import WSGIApplication

import ivr.gunicorn_config
from ivr import server
from ivr.cli import cli
from ivr.server import HotlineServer

DIRECT = ["gunicorn", "--config", "python:ivr.gunicorn_config", "ivr.wsgi:app"]
"""The documented direct command (README, Layout)."""
WHERE_FROM = {"config", "default_proc_name"}
"""Settings that only say how gunicorn was started (the config's name, the app's name)."""
ENVIRONMENT = ("HOTLINE_BIND", "WEB_CONCURRENCY", "HOTLINE_THREADS", "GUNICORN_CMD_ARGS", "PORT")


def settings(app: Any) -> dict[str, Any]:
    """Every gunicorn setting of `app` but where it came from, as it would run with them."""
    return {
        name: setting.value for name, setting in app.cfg.settings.items() if name not in WHERE_FROM
    }


def never_built() -> Flask:
    raise AssertionError("a server that is only configured never builds its app")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No server variables set, and the config module read afresh before and after."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    # gunicorn's loader puts the working directory on sys.path; keep the suite's as it was.
    monkeypatch.setattr(sys, "path", list(sys.path))
    importlib.reload(ivr.gunicorn_config)
    yield monkeypatch
    monkeypatch.undo()
    importlib.reload(ivr.gunicorn_config)


def direct_command(monkeypatch: pytest.MonkeyPatch, *options: str) -> dict[str, Any]:
    """The settings `gunicorn --config python:ivr.gunicorn_config ivr.wsgi:app` runs with."""
    monkeypatch.setattr(sys, "argv", [*DIRECT[:-1], *options, DIRECT[-1]])
    return settings(WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="gunicorn"))


def test_the_direct_command_and_hotline_server_see_the_same_settings(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    direct = direct_command(clean_environment)
    assert settings(HotlineServer(never_built)) == direct
    assert direct["bind"] == ["127.0.0.1:5000"]
    assert direct["workers"] == max(2, multiprocessing.cpu_count())
    assert direct["worker_class"] == "gthread"
    assert direct["threads"] == 8
    assert (direct["timeout"], direct["graceful_timeout"], direct["keepalive"]) == (30, 10, 5)
    assert direct["control_socket_disable"] is True
    assert direct["accesslog"] == direct["errorlog"] == "-"


def test_options_override_the_configuration_as_gunicorn_options_do(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    options = ["--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
    direct = direct_command(clean_environment, *options)
    served = HotlineServer(never_built, bind="0.0.0.0:8000", workers=3, threads=4)
    assert settings(served) == direct
    assert (direct["bind"], direct["workers"], direct["threads"]) == (["0.0.0.0:8000"], 3, 4)


def test_the_environment_configures_both_alike(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("HOTLINE_BIND", "0.0.0.0:5050")
    clean_environment.setenv("WEB_CONCURRENCY", "5")
    clean_environment.setenv("HOTLINE_THREADS", "2")
    importlib.reload(ivr.gunicorn_config)
    direct = direct_command(clean_environment)
    assert settings(HotlineServer(never_built)) == direct
    assert (direct["bind"], direct["workers"], direct["threads"]) == (["0.0.0.0:5050"], 5, 2)


def test_a_bad_number_in_the_environment_is_named(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("HOTLINE_THREADS", "many")
    with pytest.raises(ValueError, match="HOTLINE_THREADS must be a whole number"):
        importlib.reload(ivr.gunicorn_config)


def test_hotline_serve_runs_hotline_server_with_its_options(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ran: list[dict[str, Any]] = []
    clean_environment.setattr(server.HotlineServer, "run", lambda self: ran.append(settings(self)))
    environment = {"HOTLINE_PROFILE": "dev", "HOTLINE_INSTANCE_DIR": str(tmp_path)}
    command = ["serve", "--server", "gunicorn", "--workers", "3"]
    result = CliRunner().invoke(cli, command, env=environment)
    assert result.exit_code == 0, result.output
    assert ran == [direct_command(clean_environment, "--workers", "3")]


def test_hotline_serve_runs_granian_by_default_with_the_same_address_processes_and_threads(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    executed: list[list[str]] = []

    def execv(path: str, args: list[str]) -> None:
        executed.append(args)
        raise SystemExit(0)

    clean_environment.setattr("ivr.server.os.execv", execv)
    clean_environment.setenv("HOTLINE_THREADS", "3")
    importlib.reload(ivr.gunicorn_config)
    environment = {"HOTLINE_PROFILE": "dev", "HOTLINE_INSTANCE_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["serve", "--bind", "0.0.0.0:8000"], env=environment)
    assert result.exit_code == 0, result.output
    (args,) = executed
    assert Path(args[0]).name == "granian" and args[-1] == "ivr.wsgi:app"
    options = {args[i]: args[i + 1] for i in range(1, len(args) - 1) if args[i].startswith("--")}
    assert (options["--host"], options["--port"]) == ("0.0.0.0", "8000")
    assert options["--workers"] == str(max(2, multiprocessing.cpu_count()))
    assert options["--blocking-threads"] == "3"
    assert options["--interface"] == "wsgi"
    # The guarantees that rest on the server (ivr/server.py says what rests on the app).
    assert options["--workers-kill-timeout"] == "10"
    assert options["--http1-buffer-size"] == "8192"
    assert {"--respawn-failed-workers", "--access-log"} <= set(args)


def test_a_web_process_bounds_its_database_waits_and_the_command_line_does_not() -> None:
    from ivr.hotline import web_database_options

    bounded = web_database_options("postgresql+psycopg://db/hotline")["connect_args"]
    assert bounded["connect_timeout"] <= 5 and "statement_timeout=5000" in bounded["options"]
    assert web_database_options("sqlite:///hotline.db") == {}


def test_wsgi_py_points_at_the_package_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_PROFILE", "dev")
    monkeypatch.setenv("HOTLINE_INSTANCE_DIR", str(tmp_path))
    for name in ("wsgi", "ivr.wsgi"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import ivr.wsgi
    import wsgi

    assert isinstance(ivr.wsgi.app, Flask)
    assert wsgi.app is ivr.wsgi.app
    root = Path(__file__).resolve().parents[2]
    assert len((root / "wsgi.py").read_text().strip().splitlines()) <= 3
    for name in ("wsgi", "ivr.wsgi"):
        # Built from this test's environment: not for any later import to find.
        sys.modules.pop(name, None)


def test_a_worker_waits_for_jobs_without_the_webhooks_read_timeout() -> None:
    # rq blocks for minutes waiting for a job; a 2 s read timeout made each lull look like
    # a lost connection, and rq backed off up to a minute before a new report was seen.
    from ivr.hotline import REDIS_TIMEOUT_SECONDS, worker_redis
    from ivr.settings import Settings

    settings = Settings.from_env({"HOTLINE_PROFILE": "test"})
    options = worker_redis(settings).connection_pool.connection_kwargs
    assert options.get("socket_timeout") is None
    assert options["socket_connect_timeout"] == REDIS_TIMEOUT_SECONDS
