"""The WSGI entry point: `gunicorn --config python:ivr.gunicorn_config ivr.wsgi:app`."""

from ivr import create_app

app = create_app()
