"""The hotline number's messaging webhook (its SmsUrl, `POST /sms`): worksheets sent as
photos (issue 18).

Signature-checked like every voice webhook (the WSGI layer in `ivr.voice.routes` answers
it; `ivr.web_sessions.is_webhook` names the path) and answered with TwiML in milliseconds:
the message is read, tied to a precinct by callflows.worksheet_messages, given a reference
number, and queued for the worker (queues.worksheet_intake), which fetches and stores the
photos. Like the call path it touches Redis only, never the database. A message's text is
never logged. Only media URLs of the account's own API are taken: the worker fetches them
with the account's credentials.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from callflows.flow import chair_language
from callflows.phones import read_number
from callflows.prompts import TRY_AGAIN, download_failed, too_large
from callflows.worksheet_messages import MAX_MEDIA, Media, TiedBy, take_message
from ivr import catalogue
from ivr.hotline import Hotline
from ivr.twilio_messages import api_origin, media_sid
from models import PhotoState
from queues import keys
from queues.publish import publish_worksheet_message

log = logging.getLogger(__name__)

MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-f]{32}")
MAX_BODY = 1600
"""Twilio's longest message body; anything longer is cut, never refused."""
TAKEN_SECONDS = 7 * 24 * 3600
"""How long a message's reference is remembered against a second delivery."""


def answer(hotline: Hotline, form: MultiDict[str, str]) -> str:
    """The TwiML reply to a message; never an error, whatever the message holds."""
    sender = read_number(form.get("From", "")[:64]).e164
    chaired = hotline.directory.precincts_of_phone(sender)
    language = _language(hotline, sender, chaired)
    try:
        reply = _take(hotline, form, sender, chaired, language)
    except Exception:
        log.exception("a message to the hotline's number could not be taken in")
        reply = catalogue.say(TRY_AGAIN, language)
    response = MessagingResponse()
    response.message(reply)
    return str(response)


def _take(
    hotline: Hotline,
    form: MultiDict[str, str],
    sender: str,
    chaired: tuple[str, ...],
    language: str,
) -> str:
    """Reserve the message's reference, decide what it is and queue it (once); the reply.
    `chaired` are the precincts whose registered chair phone sent it."""
    message_sid = form.get("MessageSid", "")
    if not MESSAGE_SID.fullmatch(message_sid):
        log.warning("a message with no valid MessageSid: answered, not taken in")
        return catalogue.say(TRY_AGAIN, language)
    body = form.get("Body", "")[:MAX_BODY]
    media, untrusted = _media(hotline, form, message_sid)
    directory = hotline.directory
    redis = hotline.redis
    taken = redis.get(keys.message_taken(message_sid))
    if isinstance(taken, bytes):
        reference = taken.decode()
    else:
        reference = str(redis.incr(keys.WORKSHEET_REFERENCE))
    intake = take_message(
        body,
        [item for item, _ in media],
        chaired,
        lambda precinct_id: directory.get(precinct_id) is not None,
        reference,
    )
    if taken is None:
        payload: dict[str, Any] = {
            "message_sid": message_sid,
            "reference": reference,
            "from_number": sender or form.get("From", "")[:64],
            "body": body,
            "precinct_id": intake.precinct_id,
            "tied_by": intake.tied_by if intake.precinct_id else TiedBy.NOTHING,
            "triage": intake.needs_triage or untrusted,
            "received_at": datetime.now(UTC).isoformat(),
            "media": [
                {
                    "url": item.url,
                    "content_type": item.content_type,
                    "is_photo": item.is_photo,
                    "media_sid": sid,
                }
                for item, sid in media
            ],
            # Said later by the worker, which has no catalogue: written here, in the
            # sender's language.
            "notices": {
                PhotoState.TOO_LARGE: catalogue.say(too_large(reference), language),
                PhotoState.FAILED: catalogue.say(download_failed(reference), language),
            },
        }
        pipe = redis.pipeline(transaction=True)
        pipe.multi()  # opened explicitly, as rq expects of a pipeline it is given
        pipe.set(keys.message_taken(message_sid), reference, ex=TAKEN_SECONDS)
        publish_worksheet_message(payload, redis, pipe)
        pipe.execute()
    return catalogue.say(intake.reply, language)


def _media(
    hotline: Hotline, form: MultiDict[str, str], message_sid: str
) -> tuple[list[tuple[Media, str]], bool]:
    """The message's media with their SIDs, and whether any was left out because its URL is
    not one of the account's (nothing the hotline cannot verify is fetched)."""
    count_text = form.get("NumMedia", "0")
    count = min(int(count_text), MAX_MEDIA) if count_text.isdigit() else 0
    origin = api_origin(hotline.settings)
    account = hotline.settings.twilio_account_sid
    found: list[tuple[Media, str]] = []
    untrusted = False
    for index in range(count):
        url = form.get(f"MediaUrl{index}", "")[:500]
        kind = form.get(f"MediaContentType{index}", "").split(";")[0].strip().lower()[:100]
        sid = media_sid(url, origin, account, message_sid)
        if not sid:
            log.warning("a message's media URL %d is not one of the account's: not taken", index)
            untrusted = True
            continue
        found.append((Media(url, kind), sid))
    return found, untrusted


def _language(hotline: Hotline, sender: str, chaired: tuple[str, ...]) -> str:
    """The language to answer in: the one the sender's phone chose on a call, else the
    default of the precinct it is the chair phone of, else English."""
    try:
        chosen = hotline.store.load_language(sender)
        entry = hotline.directory.get(chaired[0]) if chaired else None
        return chair_language(chosen, entry.info if entry else None)
    except Exception:
        return catalogue.ENGLISH.code
