"""The stand-in's media CDN: a Media content URL redirects (307) to a pre-signed URL on it.

As on Twilio (whose CDN is S3): the content URL takes the REST credentials and answers a
redirect; the CDN serves the bytes only to a request without an Authorization header, and
refuses an expired or tampered URL, or one whose media was deleted. A picture message is
sent to the hotline's number with `send_message` so that there is inbound media to fetch;
the test's Phone (from the messages tests) fetches it as the hotline will.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from softphone.rest import CdnRequest, RestStandIn
from softphone.rest.cdn import MEDIA_URL_SECONDS, ONE_AUTH_MECHANISM
from tests.softphone.test_rest_stand_in import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CHAIR,
    HOTLINE,
    client_for,
)
from tests.softphone.test_rest_stand_in_messages import PHOTO, Phone

CREDENTIALS = (ACCOUNT_SID, AUTH_TOKEN)


@dataclass
class Inbound:
    """A picture message the hotline's number received, and its one Media."""

    message_sid: str
    media_sid: str
    media_url: str


@pytest.fixture
def inbound(twilio: RestStandIn, phone: Phone) -> Inbound:
    client = client_for(twilio)
    [number] = client.incoming_phone_numbers.list(phone_number=HOTLINE)
    client.incoming_phone_numbers(number.sid).update(sms_url=phone.url("/sms"))
    answered = twilio.send_message(CHAIR, HOTLINE, media=[("image/png", PHOTO)])
    assert answered["http_status"] == 200
    [form] = phone.posts_to("/sms")
    [media] = client.messages(answered["message_sid"]).media.list()
    return Inbound(answered["message_sid"], media.sid, form["MediaUrl0"])


def redirect(inbound: Inbound) -> str:
    """The CDN URL the content URL redirects to this time (with the REST credentials)."""
    first = requests.get(inbound.media_url, auth=CREDENTIALS, allow_redirects=False, timeout=5)
    assert first.status_code == 307, first.text
    return first.headers["Location"]


def s3_error(response: requests.Response) -> tuple[int, str, str]:
    """An S3 error answer's HTTP status, Code and Message."""
    assert response.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    return response.status_code, root.findtext("Code", ""), root.findtext("Message", "")


def test_the_hotline_s_fetch_follows_the_redirect_without_its_credentials(
    twilio: RestStandIn, phone: Phone, inbound: Inbound
) -> None:
    # Phone fetched MediaUrl0 with requests and the REST credentials, as the hotline does;
    # requests drops the Authorization header itself on a redirect to another origin.
    assert phone.media_fetched == [(200, "image/png", PHOTO)]
    [download] = twilio.cdn_requests
    assert download.path.startswith(f"/media.twiliocdn.com/{ACCOUNT_SID}/")
    assert (download.had_authorization, download.status) == (False, 200)


def test_each_redirect_is_a_fresh_signed_cdn_url_valid_for_a_few_minutes(
    twilio: RestStandIn, inbound: Inbound
) -> None:
    before = time.time()
    location = redirect(inbound)
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == twilio.cdn_base_url != twilio.base_url
    host, account, token = parts.path.strip("/").split("/")
    assert (host, account) == ("media.twiliocdn.com", ACCOUNT_SID)
    assert len(token) >= 32
    query = parse_qs(parts.query)
    assert set(query) == {"Expires", "Signature"}
    expires = int(query["Expires"][0])
    assert before + MEDIA_URL_SECONDS - 2 <= expires <= time.time() + MEDIA_URL_SECONDS
    assert int(query["Signature"][0], 16) >= 0  # hex
    assert redirect(inbound) != location

    got = requests.get(location, timeout=5)
    assert (got.status_code, got.headers["Content-Type"], got.content) == (
        200,
        "image/png",
        PHOTO,
    )
    assert requests.get(location, timeout=5).content == PHOTO  # valid until it expires


def test_credentials_sent_to_the_cdn_are_refused_as_s3_refuses_them(
    twilio: RestStandIn, inbound: Inbound
) -> None:
    location = redirect(inbound)
    refused = requests.get(location, auth=CREDENTIALS, timeout=5)
    assert s3_error(refused) == (400, "InvalidArgument", ONE_AUTH_MECHANISM)
    bearer = requests.get(location, headers={"Authorization": "Bearer x"}, timeout=5)
    assert bearer.status_code == 400
    assert [(r.had_authorization, r.status) for r in twilio.cdn_requests[-2:]] == [
        (True, 400),
        (True, 400),
    ]


def test_an_expired_or_tampered_url_is_refused(twilio: RestStandIn, inbound: Inbound) -> None:
    location = redirect(inbound)
    parts = urlsplit(location)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    origin_path = f"{parts.scheme}://{parts.netloc}{parts.path}"

    later = {**query, "Expires": str(int(query["Expires"]) + 3600)}
    forged = {**query, "Signature": "0" * len(query["Signature"])}
    garbled = {**query, "Signature": "é"}
    other_token = origin_path.rsplit("/", 1)[0] + "/" + "ab" * 20
    for url in (
        f"{origin_path}?{urlencode(later)}",
        f"{origin_path}?{urlencode(forged)}",
        f"{origin_path}?{urlencode(garbled)}",
        f"{other_token}?{parts.query}",
        origin_path,
    ):
        assert s3_error(requests.get(url, timeout=5))[:2] == (403, "AccessDenied"), url

    twilio.media_url_seconds = 0  # every new URL has expired already
    expired = requests.get(redirect(inbound), timeout=5)
    assert s3_error(expired) == (403, "AccessDenied", "Request has expired")
    twilio.media_url_seconds = MEDIA_URL_SECONDS
    assert requests.get(redirect(inbound), timeout=5).content == PHOTO
    assert requests.get(location, timeout=5).content == PHOTO  # the original is still good


def test_a_deleted_media_s_cdn_url_stops_working(twilio: RestStandIn, inbound: Inbound) -> None:
    location = redirect(inbound)
    client = client_for(twilio)
    assert client.messages(inbound.message_sid).media(inbound.media_sid).delete() is True

    assert s3_error(requests.get(location, timeout=5))[:2] == (404, "NoSuchKey")
    gone = requests.get(inbound.media_url, auth=CREDENTIALS, allow_redirects=False, timeout=5)
    assert (gone.status_code, gone.json()["code"]) == (404, 20404)  # no redirect any more


def test_media_downloads_fail_when_told_to(twilio: RestStandIn, inbound: Inbound) -> None:
    location = redirect(inbound)
    twilio.fail_media_downloads(2, status=503)
    assert s3_error(requests.get(location, timeout=5))[:2] == (503, "SlowDown")
    # A refused request does not use up a failure; only downloads that would succeed do.
    assert requests.get(location, auth=CREDENTIALS, timeout=5).status_code == 400
    assert s3_error(requests.get(location, timeout=5))[:2] == (503, "SlowDown")
    assert requests.get(location, timeout=5).content == PHOTO

    twilio.fail_media_downloads(1)
    assert s3_error(requests.get(location, timeout=5))[:2] == (500, "InternalError")
    assert requests.get(location, timeout=5).status_code == 200
    statuses = [r.status for r in twilio.cdn_requests]
    assert statuses[-6:] == [503, 400, 503, 200, 500, 200]


def test_the_first_hop_needs_credentials_unless_media_basic_auth_is_off(
    twilio: RestStandIn, inbound: Inbound
) -> None:
    served = len(twilio.cdn_requests)
    refused = requests.get(inbound.media_url, timeout=5)
    assert (refused.status_code, refused.json()["code"]) == (401, 20003)
    wrong = requests.get(inbound.media_url, auth=(ACCOUNT_SID, "wrong"), timeout=5)
    assert wrong.status_code == 401
    assert len(twilio.cdn_requests) == served  # never redirected

    twilio.media_basic_auth = False  # the account setting off: the URL alone is enough
    got = requests.get(inbound.media_url, timeout=5)
    assert [r.status_code for r in got.history] == [307]
    assert (got.status_code, got.content) == (200, PHOTO)
    assert twilio.cdn_requests[-1] == CdnRequest(urlsplit(got.url).path, False, 200)
