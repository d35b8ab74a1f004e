"""A flood of new prank calls: signed first `/voice` requests, many in flight at once.

Each request is a new call (its own CallSid, a fresh valid number each time) as Twilio
would send it, signed with the hotline's auth token; nothing follows it (the prankster
hangs up or is refused). It runs as a process of its own (`python -m flood.new_call_flood`,
the auth token in TWILIO_AUTH_TOKEN, never on the command line), so that its threads do
not share an interpreter lock with the chairs a test drives, and prints what it saw as
one JSON object: how many calls were refused busy, answered otherwise, or failed, and how
fast the refusals came.

Each thread keeps one keep-alive connection and places its next call as soon as the last
one is answered (after `pause`): the offered load follows the answers, so a stack that
refuses cheaply is offered more. Far more calls are in flight than a small web node has
threads, which is what overload control is for (tests/flood/test_overload.py).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from flood.baseline import percentile
from softphone.caller import API_VERSION, new_sid, signature_url

TO_NUMBER = "+15155550100"
BUSY = b'<Reject reason="busy"'
AREA_CODES = ("319", "515", "563", "641", "712")
"""Iowa's: the numbers are valid, so screening counts and classifies them as callers."""


@dataclass
class FloodResult:
    """What the flood's calls were answered."""

    seconds: float = 0.0
    sent: int = 0
    busy: int = 0
    """Refused `<Reject reason="busy"/>` (by the balancer or by the hotline)."""
    answered: int = 0
    """Any other 200 answer: let into the IVR, held, or refused otherwise."""
    errors: int = 0
    """Not a 200, or no answer at all."""
    busy_p50_ms: float = 0.0
    busy_p99_ms: float = 0.0
    answered_p99_ms: float = 0.0
    busy_ms: list[float] = field(default_factory=list, repr=False)
    answered_ms: list[float] = field(default_factory=list, repr=False)

    def summarised(self) -> dict[str, float]:
        self.busy_p50_ms = _percentile(self.busy_ms, 0.50)
        self.busy_p99_ms = _percentile(self.busy_ms, 0.99)
        self.answered_p99_ms = _percentile(self.answered_ms, 0.99)
        data = asdict(self)
        del data["busy_ms"], data["answered_ms"]
        return data


def flood_new_calls(
    base_url: str, auth_token: str, *, seconds: float, concurrency: int, pause: float = 0.0
) -> FloodResult:
    """Place new calls at `base_url`/voice from `concurrency` threads for `seconds`."""
    result = FloodResult()
    lock = threading.Lock()
    validator = RequestValidator(auth_token)
    url = signature_url(base_url.rstrip("/") + "/voice")
    target = urlsplit(base_url)
    deadline = time.monotonic() + seconds

    def place_calls(seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection(target.netloc, timeout=15)
        while time.monotonic() < deadline:
            params = new_call_params(rng)
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": str(validator.compute_signature(url, params)),
            }
            started = time.perf_counter()
            try:
                connection.request("POST", "/voice", body=urlencode(params), headers=headers)
                response = connection.getresponse()
                status, body = response.status, response.read()
            except (OSError, http.client.HTTPException):
                connection.close()  # reconnects at the next request
                status, body = 0, b""
            elapsed_ms = (time.perf_counter() - started) * 1000
            with lock:
                result.sent += 1
                if status != 200:
                    result.errors += 1
                elif BUSY in body:
                    result.busy += 1
                    result.busy_ms.append(elapsed_ms)
                else:
                    result.answered += 1
                    result.answered_ms.append(elapsed_ms)
            if pause:
                time.sleep(pause)
        connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=place_calls, args=(seed,)) for seed in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    return result


def new_call_params(rng: random.Random) -> dict[str, str]:
    """A new call as Twilio posts it to the Voice URL, from a fresh caller."""
    number = f"+1{rng.choice(AREA_CODES)}{rng.randrange(2000000, 9999999)}"
    return {
        "CallSid": new_sid("CA"),
        "AccountSid": "AC" + "0" * 32,
        "From": number,
        "To": TO_NUMBER,
        "Caller": number,
        "Called": TO_NUMBER,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": API_VERSION,
    }


def _percentile(samples: list[float], fraction: float) -> float:
    return round(percentile(samples, fraction), 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the hotline's base URL")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between a thread's calls")
    args = parser.parse_args(argv)
    token = os.environ.get("TWILIO_AUTH_TOKEN", "")
    if not token:
        sys.exit("TWILIO_AUTH_TOKEN is not set")
    result = flood_new_calls(
        args.url, token, seconds=args.seconds, concurrency=args.concurrency, pause=args.pause
    )
    print(json.dumps(result.summarised()))


if __name__ == "__main__":
    main()
