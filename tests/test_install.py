"""`pip install .` into a fresh virtualenv, far from the checkout: the installed `hotline`
migrates, loads the demo election and serves, reading only what ships inside its packages.

Slow (marked `install`): it builds the wheel from a copy of the source tree (so no build/
or *.egg-info is left in the checkout) and installs it with its dependencies from PyPI or
pip's cache, once for the module (about 45 s here).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.services import RedisServer, free_port, wait_for_port

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "instance",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "reports",
    "test-artifacts",
)
SHIPPED = (
    "models/migrations/env.py",
    "models/migrations/script.py.mako",
    "models/migrations/versions/*.py",
    "callflows/ballots/*.toml",
    "ivr/data/iowa2020/*.csv",
    "ivr/data/iowa_counties/*.json",
    "ivr/templates/**/*.html",
    "ivr/static/*",
    "ivr/gunicorn_config.py",
    "ivr/wsgi.py",
)
"""What the installed hotline reads besides its modules (globs in the checkout)."""
SITES_2020 = 1765


@dataclass(frozen=True)
class Installed:
    venv: Path
    home: Path
    """A folder outside the checkout: the commands' working directory and their files."""
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `args[0]` from the venv's bin folder in `home`; fail with its output if it fails."""
        command = [str(self.venv / "bin" / args[0]), *args[1:]]
        done = subprocess.run(
            command,
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"{' '.join(args)}: {done.stdout}\n{done.stderr}"
        return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built by pip from a copy of the source tree."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE, symlinks=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base), str(source)],
        check=True,
        timeout=300,
    )
    (built,) = base.glob("caucus_hotline-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(
    wheel: Path, tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer
) -> Installed:
    """The wheel and its dependencies in a fresh virtualenv, nothing shared with the suite's."""
    base = tmp_path_factory.mktemp("installed")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # pip's own settings (index, cache, find-links) stay; nothing that points at this venv.
    pip_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        env=pip_env,
        check=True,
        timeout=600,
    )
    home = base / "home"
    home.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "HOTLINE_PROFILE": "dev",
        "HOTLINE_INSTANCE_DIR": str(home / "instance"),
        "DATABASE_URL": f"sqlite:///{home / 'hotline.db'}",
        "REDIS_URL": redis_server.url,
    }
    return Installed(venv, home, env)


def test_the_wheel_ships_migrations_ballots_the_2020_data_templates_and_static(
    wheel: Path,
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for pattern in SHIPPED:
        wanted = {path.relative_to(ROOT).as_posix() for path in ROOT.glob(pattern)}
        assert wanted, f"nothing in the checkout matches {pattern}"
        assert wanted <= names, f"not in the wheel: {sorted(wanted - names)}"
    assert not {name for name in names if name.startswith(("tests/", "alembic/"))}


def test_the_installed_hotline_migrates_and_loads_the_demo_outside_the_checkout(
    installed: Installed,
) -> None:
    located = installed.run("python", "-c", "import ivr, models; print(ivr.__file__)")
    package = Path(located.stdout.strip()).resolve()
    assert package.is_relative_to(installed.venv.resolve()), package
    assert not package.is_relative_to(ROOT), package

    installed.run("hotline", "db", "upgrade")
    demo = installed.run("hotline", "demo")
    assert f"imported {SITES_2020} precincts" in demo.stdout
    assert "staff dashboard: " in demo.stdout

    with sqlite3.connect(installed.home / "hotline.db") as database:
        (precincts,) = database.execute("SELECT count(*) FROM precinct").fetchone()
    assert precincts == SITES_2020
    pins = installed.home / "instance" / "pins.csv"
    assert len(pins.read_text().splitlines()) == SITES_2020 + 1  # and the header
    assert (installed.home / "instance" / "dev-sign-in.txt").exists()


def test_the_installed_servers_serve_the_dashboard_with_one_configuration(
    installed: Installed,
) -> None:
    assert "--bind" in installed.run("hotline", "serve", "--help").stdout
    installed.run("hotline", "db", "upgrade")
    for server in (
        ["hotline", "serve", "--workers", "1", "--threads", "2", "--bind"],
        ["gunicorn", "--config", "python:ivr.gunicorn_config", "--workers", "1", "--bind"],
    ):
        port = free_port()
        command = [str(installed.venv / "bin" / server[0]), *server[1:], f"127.0.0.1:{port}"]
        if server[0] == "gunicorn":
            command.append("ivr.wsgi:app")
        log = installed.home / f"{server[0]}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                command, cwd=installed.home, env=installed.env, stdout=out, stderr=out
            )
            try:
                wait_for_port(port, timeout=60)
                login = requests.get(f"http://127.0.0.1:{port}/staff/login", timeout=10)
                style = requests.get(f"http://127.0.0.1:{port}/static/staff.css", timeout=10)
            finally:
                process.terminate()
                process.wait(timeout=20)
        assert login.status_code == 200, log.read_text()
        assert 'name="csrf_token"' in login.text
        assert style.status_code == 200, log.read_text()
        started = "Starting granian" if server[0] == "hotline" else "Using worker: gthread"
        assert started in log.read_text()
