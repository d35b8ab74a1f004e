"""Checking X-Twilio-Signature, the webhooks' defence against forged requests.

Twilio signs the URL it requested followed by each POST parameter's name and value, in
order of name, with HMAC-SHA1 keyed by the auth token, in base64 (Twilio's "Webhooks
security" documentation; twilio-python's RequestValidator.compute_signature does the same).
The common case is checked here in one HMAC. Only a request that fails it goes on to
RequestValidator.validate, which also tries the URL with and without a port (Twilio's own
signing differs there): two more HMACs and a slow path over a dict's values, together a
quarter of a webhook's time when it was used for every request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

SIGNATURE_LENGTH = 28
"""Characters of a base64-encoded HMAC-SHA1 (20 bytes), which is what Twilio sends."""


def expected_signature(auth_token: str, url: str, params: MultiDict[str, str]) -> str:
    signed = url + "".join(
        name + value for name in sorted(params) for value in sorted(set(params.getlist(name)))
    )
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def is_valid(
    auth_token: str, url: str, params: MultiDict[str, str], signature: str, unsigned: frozenset[str]
) -> bool:
    """Whether `signature` is Twilio's for this request. Parameters in `unsigned` may have
    been added after signing; a request is also valid without them. Never raises: anything
    that cannot be a signature (empty, not ASCII, not base64 of 20 bytes) is simply invalid."""
    # compare_digest raises TypeError for a str that is not ASCII, before any comparison: a
    # header of "é" must be a 403, not a 500. A base64 SHA-1 is 28 ASCII characters.
    if not signature or len(signature) != SIGNATURE_LENGTH or not signature.isascii():
        return False
    try:
        return _matches(auth_token, url, params, signature, unsigned)
    except (TypeError, ValueError, UnicodeError):
        return False


def _matches(
    auth_token: str, url: str, params: MultiDict[str, str], signature: str, unsigned: frozenset[str]
) -> bool:
    if hmac.compare_digest(expected_signature(auth_token, url, params), signature):
        return True
    validator = RequestValidator(auth_token)
    every = params.to_dict()
    if validator.validate(url, every, signature):
        return True
    signed: Mapping[str, str] = {key: value for key, value in every.items() if key not in unsigned}
    return signed != every and bool(validator.validate(url, signed, signature))
