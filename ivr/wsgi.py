"""The WSGI entry point of a web process: `hotline serve` gives it to granian (or
`gunicorn --config python:ivr.gunicorn_config ivr.wsgi:app`)."""

from ivr import create_app
from ivr.settings import SettingsError

try:
    app = create_app(web=True)
except SettingsError as error:
    # A setting the operator must fix (a missing secret, an unsupported Redis): one line,
    # not a traceback, whichever server imports us.
    raise SystemExit(str(error)) from None
