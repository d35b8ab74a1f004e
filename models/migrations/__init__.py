"""The database migrations (Alembic scripts), shipped inside the `models` package.

They live here rather than in a top-level folder so that an installed hotline (a wheel,
no checkout) finds them with `importlib.resources`; the package is never named `alembic`,
which would hide the Alembic library itself.
"""

from __future__ import annotations

from importlib import resources

from alembic.config import Config


def script_location() -> str:
    """The folder of env.py and versions/, wherever the package is installed."""
    return str(resources.files(__name__))


def alembic_config() -> Config:
    """An Alembic configuration for these migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", script_location())
    return config
