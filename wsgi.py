"""A pointer for `gunicorn wsgi:app` run from the checkout; the entry point is `ivr.wsgi`."""

from ivr.wsgi import app as app
