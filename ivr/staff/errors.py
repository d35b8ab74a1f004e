"""Error pages for staff blueprints: a refused form, a forbidden action, a missing page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


def error_pages(bp: Blueprint) -> None:
    """Show the blueprint's refusals (bad CSRF token, forbidden, not found) as pages."""
    bp.register_error_handler(CSRFError, _csrf_error)
    for code in (403, 404):
        bp.register_error_handler(code, _http_error)


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    message = "The form had expired or did not come from this site. Reload it and try again."
    return render_template("error.html", code=400, message=message), 400


def _http_error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    messages = {
        403: "Your role does not allow this. Ask an admin if you need it.",
        404: "There is nothing here.",
    }
    return render_template("error.html", code=code, message=messages.get(code, "")), code
