"""The WSGI entry point: `gunicorn --config python:ivr.gunicorn_config ivr.wsgi:app`."""

from ivr import create_app
from ivr.settings import SettingsError

try:
    app = create_app()
except SettingsError as error:
    # A setting the operator must fix (a missing secret, an unsupported Redis): one line,
    # not a traceback, whichever server imports us.
    raise SystemExit(str(error)) from None
