"""The Flask app: Twilio voice webhooks, the command line, and the staff dashboard."""

from __future__ import annotations

import logging

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from ivr.hotline import Hotline
from ivr.settings import Settings
from ivr.web_sessions import StaffSessions


def create_app(settings: Settings | None = None, *, web: bool = False) -> Flask:
    """Build the app from `settings` (default: read from the environment); `web` for a web
    process (its database waits are bounded, `ivr.hotline.WEB_DATABASE_OPTIONS`)."""
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
    app.extensions["hotline"] = Hotline.from_settings(settings, web=web)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    from ivr import staff, voice

    # Every form is CSRF-protected. Twilio's webhooks carry signatures instead, and are
    # answered in front of Flask (ivr/voice/routes.py), so they never reach the check.
    CSRFProtect(app)
    staff.init_app(app)
    app.wsgi_app = voice.VoiceWebhooks(app.wsgi_app, app.extensions["hotline"])  # type: ignore[method-assign]
    return app
