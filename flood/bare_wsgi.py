"""The bare Flask endpoint as a module-level WSGI app, for servers that import one by name
(granian and uWSGI: `flood.bare_wsgi:app`)."""

from flood.baseline import bare_app

app = bare_app()
