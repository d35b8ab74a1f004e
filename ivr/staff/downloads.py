"""File downloads from staff pages (CSV, JSON): named, and never cached by a browser."""

from __future__ import annotations

from flask import Response


def download(text: str, mimetype: str, filename: str) -> Response:
    response = Response(text, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Staff downloads hold chairs' phone numbers and unpublished figures.
    response.headers["Cache-Control"] = "no-store"
    return response
