"""Staff sessions (Flask's signed cookies), and none for Twilio's webhooks.

Twilio sends no cookies and the webhooks never use a session, yet Flask opens one for
every request: building the signer and parsing the cookie headers was a tenth of a
webhook's time under load (py-spy, docs/BENCHMARKS.md). Webhooks get Flask's null
session instead, which is never saved and refuses writes.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

WEBHOOK_PREFIX = "/voice"
SMS_WEBHOOK = "/sms"
"""The number's messaging webhook (`ivr.sms`): signature-checked like the voice webhooks."""


def is_webhook(path: str) -> bool:
    return path in (WEBHOOK_PREFIX, SMS_WEBHOOK) or path.startswith(WEBHOOK_PREFIX + "/")


class StaffSessions(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if is_webhook(request.path):
            return self.make_null_session(app)
        return super().open_session(app, request)
