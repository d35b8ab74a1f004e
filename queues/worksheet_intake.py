"""The worker's side of a text or picture message to the hotline's number (issue 18).

The messaging webhook (ivr.sms) answered the sender at once and queued this job with what
it decided (callflows.worksheet_messages). Here the message is kept in the database, each
photo is fetched from Twilio (credentials on Twilio's own URL only, never on the CDN URL it
redirects to) and stored, and only then is Twilio's copy deleted. A photo over the size
limit, or one that cannot be fetched after a few tries, is left at Twilio, marked for
staff's triage, and its sender is told by text what to do. The job is idempotent: a repeat
(rq's retry, a worker that died mid-job) finds the message and its stored photos and goes
on with what is left.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callflows.worksheet_messages import PHOTO_TYPES
from models import PhotoState, WorksheetMessage, WorksheetPhoto
from queues import election_mode, runtime
from queues.messaging import MediaTooLarge, MediaUnavailable, MessagingApi

log = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 5 * 1024 * 1024
"""The largest photo kept: Twilio accepts at most 5 MB of media in a message."""
DOWNLOAD_TRIES = 3
"""Fetches of one photo before it is given up (and its sender asked to send it again)."""
DOWNLOAD_PAUSES = (1.0, 3.0)
"""Seconds between those fetches."""


def take_in(payload: dict[str, Any]) -> None:
    """rq job: keep the message, fetch and store its photos, delete Twilio's copies."""
    sessions = runtime.sessions()
    message_id = _keep_message(sessions, payload)
    api = runtime.messaging()
    if api is None:
        log.warning("no Twilio client in this worker: message %s kept, its photos not fetched",
                    payload["message_sid"])  # fmt: skip
        return
    notices: dict[str, str] = payload.get("notices", {})
    for photo_id in _waiting_photos(sessions, message_id):
        outcome = _fetch_one(sessions, api, photo_id)
        if outcome in (PhotoState.TOO_LARGE, PhotoState.FAILED):
            _mark_for_triage(sessions, message_id)
            notice = notices.get(outcome)
            if notice and payload.get("from_number", "").startswith("+"):
                _tell_sender(api, payload["from_number"], notice)
    _delete_stored_at_twilio(sessions, api, payload["message_sid"], message_id)


def _keep_message(sessions: sessionmaker[Session], payload: dict[str, Any]) -> int:
    with sessions() as session, session.begin():
        found = session.scalar(
            select(WorksheetMessage).where(WorksheetMessage.message_sid == payload["message_sid"])
        )
        if found is not None:
            return found.id
        message = WorksheetMessage(
            message_sid=payload["message_sid"],
            reference=payload["reference"],
            from_number=payload["from_number"],
            body=payload["body"],
            precinct_id=payload["precinct_id"],
            tied_by=payload["tied_by"],
            triage=bool(payload["triage"]),
            received_at=datetime.fromisoformat(payload["received_at"]),
            rehearsal=election_mode.is_rehearsal(election_mode.stored(session, share_lock=True)),
        )
        session.add(message)
        session.flush()
        for position, item in enumerate(payload["media"]):
            refused = not item["is_photo"]
            session.add(
                WorksheetPhoto(
                    message_pk=message.id,
                    position=position,
                    media_sid=item["media_sid"],
                    media_url=item["url"],
                    content_type=item["content_type"],
                    state=PhotoState.REFUSED if refused else PhotoState.WAITING,
                    problem=f"not a photo ({item['content_type']})" if refused else "",
                )
            )
        return message.id


def _waiting_photos(sessions: sessionmaker[Session], message_id: int) -> list[int]:
    with sessions() as session:
        return list(
            session.scalars(
                select(WorksheetPhoto.id)
                .where(WorksheetPhoto.message_pk == message_id)
                .where(WorksheetPhoto.state == PhotoState.WAITING)
                .order_by(WorksheetPhoto.position)
            )
        )


def _fetch_one(sessions: sessionmaker[Session], api: MessagingApi, photo_id: int) -> PhotoState:
    with sessions() as session:
        url = session.get_one(WorksheetPhoto, photo_id).media_url
    problem, state, downloaded = "", PhotoState.FAILED, None
    for attempt in range(DOWNLOAD_TRIES):
        try:
            downloaded = api.download(url, MAX_PHOTO_BYTES)
            break
        except MediaTooLarge:
            problem, state = f"over {MAX_PHOTO_BYTES // (1024 * 1024)} MB", PhotoState.TOO_LARGE
            break
        except MediaUnavailable as unavailable:
            problem = f"could not be fetched: {unavailable}"
            if attempt + 1 < DOWNLOAD_TRIES:
                time.sleep(DOWNLOAD_PAUSES[min(attempt, len(DOWNLOAD_PAUSES) - 1)])
    with sessions() as session, session.begin():
        photo = session.get_one(WorksheetPhoto, photo_id)
        if downloaded is None:
            photo.state, photo.problem = state, problem
            return state
        if downloaded.content_type not in PHOTO_TYPES:
            # What Twilio served is not what the message said: kept at Twilio for staff.
            photo.state = PhotoState.REFUSED
            photo.problem = f"Twilio served {downloaded.content_type or 'no type'}, not a photo"
            return PhotoState.REFUSED
        photo.state = PhotoState.STORED
        photo.content = downloaded.content
        photo.content_type = downloaded.content_type or photo.content_type
        photo.size = len(downloaded.content)
        photo.sha256 = hashlib.sha256(downloaded.content).hexdigest()
        photo.stored_at = datetime.now(UTC)
    return PhotoState.STORED


def _mark_for_triage(sessions: sessionmaker[Session], message_id: int) -> None:
    with sessions() as session, session.begin():
        session.get_one(WorksheetMessage, message_id).triage = True


def _tell_sender(api: MessagingApi, to: str, body: str) -> None:
    try:
        api.send_text(to, body)
    except Exception as error:
        # The message is in triage whatever happens here: staff see it and can call.
        log.warning("could not text the sender of a worksheet photo (%s)", type(error).__name__)


def _delete_stored_at_twilio(
    sessions: sessionmaker[Session], api: MessagingApi, message_sid: str, message_id: int
) -> None:
    """Delete Twilio's copy of every photo stored here (and only those)."""
    with sessions() as session:
        stored = session.execute(
            select(WorksheetPhoto.id, WorksheetPhoto.media_sid)
            .where(WorksheetPhoto.message_pk == message_id)
            .where(WorksheetPhoto.state == PhotoState.STORED)
            .where(WorksheetPhoto.deleted_at_twilio.is_(None))
        ).all()
    for photo_id, media_sid in stored:
        try:
            api.delete_media(message_sid, media_sid)
        except Exception as error:
            # Kept here already; a repeat of the job deletes it then.
            log.warning("could not delete a stored photo at Twilio (%s)", type(error).__name__)
            raise
        with sessions() as session, session.begin():
            session.get_one(WorksheetPhoto, photo_id).deleted_at_twilio = datetime.now(UTC)
