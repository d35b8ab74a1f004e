"""The Flask app: Twilio voice webhooks, the command line, and the staff dashboard."""

from __future__ import annotations

import logging

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from ivr.hotline import Hotline
from ivr.settings import Settings
from ivr.web_sessions import StaffSessions


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app from `settings` (default: read from the environment)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        # The token lives as long as the staff session, so a tab left open still submits.
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.session_interface = StaffSessions()
    app.extensions["hotline"] = Hotline.from_settings(settings)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    from ivr import staff, voice

    app.register_blueprint(voice.bp)
    # Every form is CSRF-protected except Twilio's webhooks, which carry signatures instead.
    csrf = CSRFProtect(app)
    csrf.exempt(voice.bp)
    staff.init_app(app)
    return app
