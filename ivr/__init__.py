"""The Flask app: Twilio voice webhooks, the command line, and (later) the staff pages."""

from __future__ import annotations

import logging

from flask import Flask

from ivr.hotline import Hotline
from ivr.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app from `settings` (default: read from the environment)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.config["SECRET_KEY"] = settings.secret_key
    app.extensions["hotline"] = Hotline.from_settings(settings)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    from ivr import voice

    app.register_blueprint(voice.bp)
    return app
