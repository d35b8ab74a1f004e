"""Locust's side of the flood: phone lines (users) that place the plan's calls.

Each line is a Locust user whose one task takes the next arrival from the dispatcher and
plays that persona with the softphone (softphone executes the TwiML as Twilio does).
Every webhook request goes through `LocustTransport`, which reports it to Locust as a
request named by its step kind ("figure", "pin", "hold", ...), so Locust's statistics,
console and web UI show latency per step of the keypad protocol.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from locust import User, constant, task
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment
from locust.exception import StopUser

from flood.dispatch import Dispatcher
from queues.defaults import HOLD_POLL_PAUSE_SECONDS
from softphone import NO_RESPONSE, TWILIO_TIMEOUT_SECONDS, voice_step

FORM = "application/x-www-form-urlencoded"
HOLD = "hold"
"""The hold queue's waitUrl step (ivr/voice.py)."""
IDLE_CONNECTION_SECONDS = 2.0
"""Connections idle longer than this are not reused (well under gunicorn's keep-alive)."""


def request_name(url: str) -> str:
    """The step kind a webhook request is counted under: /voice/figure/first/3 -> "figure";
    /voice itself (a new call) -> "voice"."""
    return voice_step(url).split("/", 1)[0]


class LocustTransport:
    """The softphone's HTTP, through Locust's fast client, reported as Locust requests."""

    def __init__(self, session: FastHttpSession) -> None:
        self.session = session
        self.last_used = float("-inf")
        self.last_hold_poll: tuple[str, float] = ("", float("-inf"))

    def post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        name = request_name(url)
        if name == HOLD:
            self._pace_hold_poll(params.get("CallSid", ""))
        if time.monotonic() - self.last_used > IDLE_CONNECTION_SECONDS:
            # A connection idle this long may be closed by the server (gunicorn's keep-alive
            # is 5 s) just as we send on it, which would look like the hotline not answering.
            self.session.client.close()
        try:
            return self._post(url, params, headers)
        finally:
            self.last_used = time.monotonic()

    def _pace_hold_poll(self, call_sid: str) -> None:
        """Poll the hold queue no faster than Twilio would, whatever the time scale.

        Compressing a call's script compresses its own, fixed set of requests; but a held
        caller polls for as long as the IVR stays full (server time), so a compressed pause
        would make each one poll up to a hundred times as often as on Twilio.
        """
        previous_sid, previous = self.last_hold_poll
        if previous_sid == call_sid:
            wait = previous + HOLD_POLL_PAUSE_SECONDS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self.last_hold_poll = (call_sid, time.monotonic())

    def _post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        with self.session.post(
            url,
            data=urlencode(params),
            headers={**headers, "Content-Type": FORM},
            name=request_name(url),
            catch_response=True,
            allow_redirects=False,
        ) as response:
            status = int(response.status_code or NO_RESPONSE)
            body = (response.text or "") if status else ""
            if status == 200:
                response.success()
            else:
                # Twilio treats anything but a 2xx document as an error (and plays its own).
                error = getattr(response, "error", None)
                reason = f"no answer ({type(error).__name__}: {error})" if error else "no answer"
                response.failure(f"HTTP {status}" if status else reason)
        return status, body


@dataclass
class DispatcherSlot:
    """Where the lines find their dispatcher; a worker gets its own only when the master
    sends the plan, after the line class was registered."""

    dispatcher: Dispatcher | None = None


def caller_line_class(slot: DispatcherSlot) -> type[User]:
    """The Locust user class of this run (the same name on master and workers)."""

    class CallerLine(User):
        """One phone line of the load generator: places the plan's calls one after another."""

        wait_time = constant(0)

        def __init__(self, environment: Environment) -> None:
            super().__init__(environment)
            session = FastHttpSession(
                base_url=environment.host,
                request_event=environment.events.request,
                user=self,
                network_timeout=TWILIO_TIMEOUT_SECONDS,
                connection_timeout=TWILIO_TIMEOUT_SECONDS,
                max_retries=0,  # a POST is never sent twice behind the softphone's back
            )
            self.transport = LocustTransport(session)

        @task
        def place_next_call(self) -> None:
            dispatcher = slot.dispatcher
            arrival = dispatcher.next_arrival() if dispatcher else None
            if dispatcher is None or arrival is None:
                raise StopUser()
            dispatcher.play(arrival, self.transport)

    return CallerLine
