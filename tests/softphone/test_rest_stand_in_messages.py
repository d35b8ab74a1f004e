"""Messages and their Media at the REST stand-in, driven by the real `twilio` Client.

Outbound messages' status callbacks and an inbound message's SmsUrl request go to a tiny
threaded WSGI app of the test's own on loopback, which checks every POST's
X-Twilio-Signature with twilio's RequestValidator; it also serves the pictures outbound
messages carry, and fetches an inbound message's MediaUrl0 with the REST credentials as the
hotline will.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.wrappers import Request, Response

from softphone.rest import RestStandIn
from softphone.rest.resources import num_segments
from tests.softphone.test_rest_stand_in import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CHAIR,
    HOTLINE,
    OTHER,
    TinyHotline,
    client_for,
)

PHOTO = b"\xff\xd8\xff\xe0" + b"worksheet photo" * 64 + b"\xff\xd9"
"""Bytes standing in for a JPEG of a worksheet."""


class Phone(TinyHotline):
    """TinyHotline as the hotline's messaging webhook: /sms fetches each MediaUrlN with the
    REST credentials and answers `sms_answer`; GETs serve pictures for outbound MediaUrl."""

    def __init__(self) -> None:
        super().__init__()
        self.sms_answer: Callable[[dict[str, str]], str] = lambda _form: ""
        self.files: dict[str, tuple[str, bytes]] = {}
        self.media_fetched: list[tuple[int, str, bytes]] = []
        """What fetching each MediaUrlN of an /sms request gave: status, content type, bytes."""
        self.routes["/sms"] = self._sms

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        request = Request(environ)
        if request.method != "GET":
            return super()._app(environ, start_response)
        kind, content = self.files.get(request.path, ("", b""))
        found = Response(content, content_type=kind) if kind else Response(status=404)
        return found(environ, start_response)

    def _sms(self, form: dict[str, str]) -> str:
        for n in range(int(form.get("NumMedia", "0"))):
            # As the hotline will: the REST credentials, at the URL Twilio gave.
            got = requests.get(form[f"MediaUrl{n}"], auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
            kind = got.headers.get("Content-Type", "")
            with self._lock:
                self.media_fetched.append((got.status_code, kind, got.content))
        return self.sms_answer(form)


def content_url(twilio: RestStandIn, media_uri: str) -> str:
    """Where the stand-in serves a Media's content: its URI without ".json"."""
    return twilio.base_url + media_uri.removesuffix(".json")


# -- outbound messages ---------------------------------------------------------------------


def test_a_message_is_created_sent_delivered_fetched_and_listed(
    twilio: RestStandIn, phone: Phone
) -> None:
    client = client_for(twilio)
    created = client.messages.create(
        to=CHAIR,
        from_=HOTLINE,
        body="Your precinct's results are in.",
        status_callback=phone.url("/sms/status"),
    )
    assert created.sid.startswith("SM") and len(created.sid) == 34
    assert (created.status, created.direction) == ("queued", "outbound-api")
    assert (created.to, created.from_, created.account_sid) == (CHAIR, HOTLINE, ACCOUNT_SID)
    assert (created.num_media, created.num_segments) == ("0", "1")
    assert created.date_created is not None and created.date_sent is None
    assert created.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{created.sid}.json"
    assert created.subresource_uris["media"] == created.uri.removesuffix(".json") + "/Media.json"
    twilio.wait_until_idle(timeout=5)

    fetched = client.messages(created.sid).fetch()
    assert fetched.status == "delivered"
    assert fetched.body == "Your precinct's results are in."
    assert fetched.date_sent is not None and fetched.error_code is None
    callbacks = phone.posts_to("/sms/status")
    assert [c["MessageStatus"] for c in callbacks] == ["sent", "delivered"]  # none for queued
    assert all(c["MessageSid"] == c["SmsSid"] == created.sid for c in callbacks)
    assert (callbacks[-1]["From"], callbacks[-1]["To"]) == (HOTLINE, CHAIR)
    assert callbacks[-1]["AccountSid"] == ACCOUNT_SID
    assert callbacks[-1]["ApiVersion"] == "2010-04-01"

    [sent] = twilio.sent_messages
    assert (sent.sid, sent.status, sent.to) == (created.sid, "delivered", CHAIR)
    assert [c.http_status for c in sent.callbacks] == [200, 200]

    second = client.messages.create(to=OTHER, from_=HOTLINE, body="é" * 70 + "ü" * 91).sid
    twilio.wait_until_idle(timeout=5)
    assert client.messages(second).fetch().num_segments == "2"  # 161 GSM-7 characters
    assert [m.sid for m in client.messages.list()] == [second, created.sid]  # newest first
    assert [m.sid for m in client.messages.list(to=CHAIR)] == [created.sid]
    assert [m.sid for m in client.messages.list(from_=HOTLINE, page_size=1)] == [
        second,
        created.sid,
    ]
    assert client.messages.list(from_=CHAIR) == []
    today = datetime.now(UTC)
    assert len(client.messages.list(date_sent_after=today - timedelta(minutes=1))) == 2
    assert client.messages.list(date_sent_after=today + timedelta(days=1)) == []


def test_a_message_from_a_number_the_account_does_not_own_is_refused(
    twilio: RestStandIn,
) -> None:
    client = client_for(twilio)
    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(to=CHAIR, from_=OTHER, body="hello")
    assert (refused.value.status, refused.value.code) == (400, 21606)
    with pytest.raises(TwilioRestException) as empty:
        client.messages.create(to=CHAIR, from_=HOTLINE)
    assert empty.value.code == 21602  # neither Body nor MediaUrl
    with pytest.raises(TwilioRestException) as bad_to:
        client.messages.create(to="515-555-0123", from_=HOTLINE, body="hello")
    assert bad_to.value.code == 21211
    with pytest.raises(TwilioRestException) as missing:
        client.messages("SM" + "0" * 32).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)
    assert twilio.sent_messages == []


def test_undeliverable_and_unfetchable_messages_end_as_twilio_reports_them(
    twilio: RestStandIn, phone: Phone
) -> None:
    client = client_for(twilio)
    twilio.unreachable.add(OTHER)
    status = phone.url("/sms/status")
    lost = client.messages.create(to=OTHER, from_=HOTLINE, body="hi", status_callback=status)
    broken = client.messages.create(
        to=CHAIR, from_=HOTLINE, media_url=[phone.url("/missing.jpg")], status_callback=status
    )
    twilio.wait_until_idle(timeout=5)

    assert (twilio.message(lost.sid).status, twilio.message(lost.sid).error_code) == (
        "undelivered",
        30003,
    )
    assert client.messages(broken.sid).fetch().status == "failed"
    assert client.messages(broken.sid).fetch().error_code == 11200
    by_sid = {c["MessageSid"]: c for c in phone.posts_to("/sms/status")}
    assert (by_sid[lost.sid]["MessageStatus"], by_sid[lost.sid]["ErrorCode"]) == (
        "undelivered",
        "30003",
    )
    assert by_sid[broken.sid]["MessageStatus"] == "failed"


# -- media ------------------------------------------------------------------------------------


def test_media_list_fetch_delete_and_content_behind_basic_auth(
    twilio: RestStandIn, phone: Phone
) -> None:
    client = client_for(twilio)
    phone.files["/worksheet.jpg"] = ("image/jpeg", PHOTO)
    message = client.messages.create(
        to=CHAIR, from_=HOTLINE, body="Your worksheet", media_url=[phone.url("/worksheet.jpg")]
    )
    assert message.sid.startswith("MM") and message.num_media == "1"
    twilio.wait_until_idle(timeout=5)
    assert client.messages(message.sid).fetch().status == "delivered"

    [media] = client.messages(message.sid).media.list()
    assert media.sid.startswith("ME") and media.parent_sid == message.sid
    assert media.content_type == "image/jpeg" and media.account_sid == ACCOUNT_SID
    assert media.uri == (
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message.sid}/Media/{media.sid}.json"
    )
    fetched = client.messages(message.sid).media(media.sid).fetch()
    assert (fetched.sid, fetched.content_type) == (media.sid, "image/jpeg")

    url = content_url(twilio, media.uri)
    got = requests.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert (got.status_code, got.headers["Content-Type"], got.content) == (
        200,
        "image/jpeg",
        PHOTO,
    )
    # Served through the media CDN, as Twilio serves content (test_rest_stand_in_media_cdn).
    assert [r.status_code for r in got.history] == [307]
    assert got.url.startswith(twilio.cdn_base_url + "/media.twiliocdn.com/")
    refused = requests.get(url, timeout=5)
    assert (refused.status_code, refused.json()["code"]) == (401, 20003)
    assert requests.get(url, auth=(ACCOUNT_SID, "wrong"), timeout=5).status_code == 401
    twilio.media_basic_auth = False  # the account setting off: the URL alone is enough
    assert requests.get(url, timeout=5).content == PHOTO
    twilio.media_basic_auth = True

    assert client.messages(message.sid).media(media.sid).delete() is True
    assert client.messages(message.sid).media.list() == []
    with pytest.raises(TwilioRestException) as gone:
        client.messages(message.sid).media(media.sid).fetch()
    assert (gone.value.status, gone.value.code) == (404, 20404)
    assert requests.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5).status_code == 404


# -- inbound messages ---------------------------------------------------------------------------


def test_an_inbound_photo_reaches_the_sms_url_signed_with_a_media_url_to_fetch(
    twilio: RestStandIn, phone: Phone
) -> None:
    client = client_for(twilio)
    [number] = client.incoming_phone_numbers.list(phone_number=HOTLINE)
    client.incoming_phone_numbers(number.sid).update(sms_url=phone.url("/sms"), sms_method="POST")

    def answer(form: dict[str, str]) -> str:
        reply = MessagingResponse()
        reply.message(f"Got {form['NumMedia']} picture(s).")
        return str(reply)

    phone.sms_answer = answer

    answered = twilio.send_message(
        CHAIR, HOTLINE, body="Precinct 12 worksheet", media=[("image/jpeg", PHOTO)]
    )

    assert answered["http_status"] == 200
    assert "<Message>Got 1 picture(s).</Message>" in answered["body"]
    [form] = phone.posts_to("/sms")
    sid = answered["message_sid"]
    assert sid.startswith("MM")
    assert (form["MessageSid"], form["SmsSid"], form["AccountSid"]) == (sid, sid, ACCOUNT_SID)
    assert (form["From"], form["To"], form["Body"]) == (CHAIR, HOTLINE, "Precinct 12 worksheet")
    assert (form["NumMedia"], form["NumSegments"]) == ("1", "1")
    assert form["MediaContentType0"] == "image/jpeg"
    assert form["MediaUrl0"].startswith(twilio.base_url + f"/2010-04-01/Accounts/{ACCOUNT_SID}")
    assert form["ApiVersion"] == "2010-04-01"
    assert "MessagingServiceSid" not in form
    assert phone.media_fetched == [(200, "image/jpeg", PHOTO)]
    assert requests.get(form["MediaUrl0"], timeout=5).status_code == 401

    inbound = client.messages(sid).fetch()
    assert (inbound.direction, inbound.status, inbound.num_media) == ("inbound", "received", "1")
    [media] = client.messages(sid).media.list()
    assert content_url(twilio, media.uri) == form["MediaUrl0"]
    assert [m.sid for m in twilio.received_messages] == [sid]

    twilio.wait_until_idle(timeout=5)
    [reply] = twilio.sent_messages
    assert (reply.direction, reply.to, reply.from_) == ("outbound-reply", CHAIR, HOTLINE)
    assert (reply.body, reply.status) == ("Got 1 picture(s).", "delivered")


def test_an_inbound_text_goes_to_the_fallback_when_the_sms_url_fails(
    twilio: RestStandIn, phone: Phone
) -> None:
    client = client_for(twilio)
    [number] = client.incoming_phone_numbers.list(phone_number=HOTLINE)
    client.incoming_phone_numbers(number.sid).update(
        sms_url="http://127.0.0.1:9/sms", sms_fallback_url=phone.url("/sms/fallback")
    )

    answered = twilio.send_message(CHAIR, HOTLINE, body="hello")

    assert answered["http_status"] == 200
    [form] = phone.posts_to("/sms/fallback")
    assert (form["ErrorCode"], form["ErrorUrl"]) == ("11200", "http://127.0.0.1:9/sms")
    assert (form["MessageSid"][:2], form["NumMedia"], form["Body"]) == ("SM", "0", "hello")
    assert not any(name.startswith("MediaUrl") for name in form)
    with pytest.raises(ValueError):
        twilio.send_message(CHAIR, OTHER, body="not the hotline's number")


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("[" * 80, 1),  # extension characters take two septets
        ("[" * 81, 2),
        ("ł" * 70, 1),  # not GSM-7: UCS-2
        ("ł" * 71, 2),
    ],
)
def test_segments_are_counted_as_twilio_counts_them(body: str, segments: int) -> None:
    assert num_segments(body) == segments
