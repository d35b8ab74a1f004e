"""What the texted-worksheet tests share: the Twilio stand-in with the hotline's account on
it, Adair's precincts with one chair phone, a real photo, and the worker's run."""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from PIL import Image, ImageDraw
from sqlalchemy import select

from ivr.hotline import Hotline
from ivr.twilio_messages import TwilioMessages, messaging_runtime
from models import WorksheetMessage
from queues import runtime
from queues.worker import run_worker
from softphone import FlaskClientTransport
from softphone.rest import RestStandIn
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL
from tests.support.data import import_precincts

ACCOUNT_SID = "AC" + "7" * 32
HOTLINE_NUMBER = "+15155550100"
CHAIR = "+15155550123"
STRANGER = "+13195550188"
ADAIR_1NW = "948199"


def worksheet_photo(text: str = "1NW ADAIR  Biden 6  Buttigieg 8") -> bytes:
    """A real JPEG: a white page with a grid and a line of figures, as a phone takes one."""
    page = Image.new("RGB", (640, 480), "white")
    draw = ImageDraw.Draw(page)
    for y in range(60, 480, 40):
        draw.line([(20, y), (620, y)], fill="black", width=1)
    draw.text((30, 20), text, fill="black")
    out = io.BytesIO()
    page.save(out, "JPEG", quality=85)
    return out.getvalue()


def serve_account(hotline: Hotline, stand_in: RestStandIn, sms_url: str) -> None:
    """Point the hotline's Twilio account at the stand-in, and the number's SmsUrl at us."""
    hotline.settings = dataclasses.replace(
        hotline.settings,
        twilio_account_sid=ACCOUNT_SID,
        twilio_api_base_url=stand_in.base_url,
        hotline_number=HOTLINE_NUMBER,
    )
    rest = TwilioMessages(hotline.settings).client
    [number] = rest.incoming_phone_numbers.list(phone_number=HOTLINE_NUMBER)
    rest.incoming_phone_numbers(number.sid).update(sms_url=sms_url)


@pytest.fixture
def twilio(hotline: Hotline, client: FlaskClient) -> Iterator[RestStandIn]:
    """The stand-in, and the hotline's Twilio account on it, its number's SmsUrl set."""
    with RestStandIn(
        FlaskClientTransport(client),
        auth_token=AUTH_TOKEN,
        account_sid=ACCOUNT_SID,
        numbers=(HOTLINE_NUMBER,),
    ) as stand_in:
        serve_account(hotline, stand_in, f"{PUBLIC_BASE_URL}/sms")
        yield stand_in


@pytest.fixture
def precincts(runner: FlaskCliRunner, tmp_path: Path) -> dict[str, str]:
    return import_precincts(runner, tmp_path, chair_phones={ADAIR_1NW: CHAIR})


def work(hotline: Hotline) -> None:
    """What `hotline worker` does with the queued intake."""
    runtime.configure(hotline.sessions)
    messaging = messaging_runtime(hotline.settings)
    run_worker(hotline.redis, hotline.sessions, burst=True, messaging=messaging)


def stored_messages(hotline: Hotline) -> list[WorksheetMessage]:
    with hotline.sessions() as session:
        found = list(session.scalars(select(WorksheetMessage).order_by(WorksheetMessage.id)))
        for message in found:
            _ = message.photos  # loaded before the session closes
        return found


def reference_in(reply: str) -> str:
    found = re.search(r"reference (\d+)", reply)
    assert found, reply
    return found[1]


def reply_text(body: str) -> str:
    found = re.search(r"<Message>(.*)</Message>", body, re.S)
    assert found, body
    return found[1]
