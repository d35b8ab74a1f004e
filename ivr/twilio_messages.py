"""Twilio's messages for the worksheet intake (queues.worksheet_intake): fetching a texted
photo, deleting Twilio's copy once it is stored, and texting its sender.

A media URL is fetched only when it is one of the account's own (`_account_media`): the
request carries the account's credentials, which must never go anywhere else. Twilio
answers it with a redirect to a short-lived signed URL on its CDN; that one is fetched
without credentials (a signed URL needs none, and S3 refuses a request that carries both),
so the auth token never leaves for another host.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import requests
from twilio.rest import Client

from ivr.settings import DEV_ACCOUNT_SID, Settings
from ivr.twilio_api import REQUEST_TIMEOUT_SECONDS, describe_error, rest_client
from queues.messaging import Downloaded, MediaTooLarge, MediaUnavailable

TWILIO_API_ORIGIN = "https://api.twilio.com"
MAX_REDIRECTS = 3
"""Twilio redirects a media URL once, to its CDN; a chain longer than this is not Twilio."""
CHUNK_BYTES = 64 * 1024
_MEDIA_PATH = re.compile(
    r"/2010-04-01/Accounts/(?P<account>AC[0-9a-f]{32})/Messages/(?P<message>MM[0-9a-f]{32})"
    r"/Media/(?P<media>ME[0-9a-f]{32})"
)


def api_origin(settings: Settings) -> str:
    """Where the account's REST API is: Twilio's, or the stand-in's in dev and test."""
    parts = urlsplit(settings.twilio_api_base_url or TWILIO_API_ORIGIN)
    return f"{parts.scheme}://{parts.netloc}"


def _account_media(url: str, origin: str, account_sid: str) -> re.Match[str] | None:
    """`url` read as a media URL of the account on its API origin; None for any other URL
    (one nobody should fetch with the account's secret)."""
    if not url.startswith(origin + "/"):
        return None
    found = _MEDIA_PATH.fullmatch(url[len(origin) :])
    return found if found is not None and found["account"] == account_sid else None


def media_sid(url: str, origin: str, account_sid: str, message_sid: str) -> str:
    """The media SID of `url` if it is a media URL of this account and message, else ""."""
    found = _account_media(url, origin, account_sid)
    return found["media"] if found is not None and found["message"] == message_sid else ""


class TwilioMessages:
    """The intake's `MessagingApi` over the REST client and plain HTTP for the media."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.account_sid = settings.twilio_account_sid
        self.auth_token = settings.twilio_auth_token
        self.origin = api_origin(settings)
        self.from_number = settings.hotline_number
        self.client = client or rest_client(settings)

    def download(self, url: str, max_bytes: int) -> Downloaded:
        if _account_media(url, self.origin, self.account_sid) is None:
            raise MediaUnavailable("not a media URL of the account")
        try:
            response = requests.get(
                url,
                auth=(self.account_sid, self.auth_token),
                allow_redirects=False,
                stream=True,
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
            for _ in range(MAX_REDIRECTS):
                if not response.is_redirect:
                    break
                location = urljoin(url, response.headers["Location"])
                response.close()
                # The CDN's URL is signed: no credentials follow it.
                response = requests.get(
                    location, allow_redirects=False, stream=True, timeout=REQUEST_TIMEOUT_SECONDS
                )
            with response:
                return _read(response, max_bytes)
        except requests.RequestException as error:
            raise MediaUnavailable(describe_error(error)) from error

    def delete_media(self, message_sid: str, media_sid: str) -> None:
        self.client.messages(message_sid).media(media_sid).delete()

    def send_text(self, to: str, body: str) -> None:
        self.client.messages.create(to=to, from_=self.from_number, body=body)


def _read(response: requests.Response, max_bytes: int) -> Downloaded:
    if response.is_redirect:
        raise MediaUnavailable("too many redirects")
    if response.status_code != 200:
        raise MediaUnavailable(f"HTTP {response.status_code}")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise MediaTooLarge()
    content = bytearray()
    for chunk in response.iter_content(CHUNK_BYTES):
        content += chunk
        if len(content) > max_bytes:
            raise MediaTooLarge()
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return Downloaded(kind, bytes(content))


def messaging_runtime(settings: Settings) -> TwilioMessages | None:
    """The worker's client for texted photos; None without an account and number (or with
    the dev account and no stand-in, which exists nowhere else)."""
    if not settings.twilio_account_sid or not settings.hotline_number:
        return None
    if settings.twilio_account_sid == DEV_ACCOUNT_SID and not settings.twilio_api_base_url:
        return None
    return TwilioMessages(settings)
