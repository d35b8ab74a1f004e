"""New prank calls at a set rate, whatever the answers do: the overload benchmark's flood.

An open-loop generator: the i-th new call is sent at `i / rate` seconds, whether or not
the earlier ones were answered, as a robocaller dials (a closed loop, which waits for each
answer, would slow down exactly when the stack does, and never show an overload). It runs
as a process of its own (`python -m flood.paced_calls`, pinned to its own core by the
caller, the auth token in TWILIO_AUTH_TOKEN), on gevent with geventhttpclient, so that
thousands of calls can be in flight at once on one core. Every request is signed before
the clock starts. It prints one JSON object: calls sent, refused busy, answered otherwise
and failed, their latencies, how far it fell behind its schedule (`max_lag_ms`), calls it
could not send because `max_in_flight` were already waiting (`not_sent`), and its own CPU
time over the run (`cpu_share`: at 1.0 it is the bottleneck, and its figures mean nothing).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402 (gevent must patch the standard library first)
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from urllib.parse import urlencode, urlsplit  # noqa: E402

import gevent  # noqa: E402
from geventhttpclient import HTTPClient  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from flood.baseline import percentile  # noqa: E402
from flood.new_call_flood import BUSY, new_call_params  # noqa: E402
from softphone.caller import signature_url  # noqa: E402

TIMEOUT_SECONDS = 15.0
"""Twilio's: a call not answered by then has failed."""


@dataclass
class PacedResult:
    rate: float
    seconds: float = 0.0
    sent: int = 0
    not_sent: int = 0
    busy: int = 0
    answered: int = 0
    errors: int = 0
    max_lag_ms: float = 0.0
    cpu_share: float = 0.0
    busy_p50_ms: float = 0.0
    busy_p99_ms: float = 0.0
    answered_p50_ms: float = 0.0
    answered_p99_ms: float = 0.0
    busy_ms: list[float] = field(default_factory=list, repr=False)
    answered_ms: list[float] = field(default_factory=list, repr=False)

    def summarised(self) -> dict[str, float]:
        for name in ("busy", "answered"):
            samples = getattr(self, f"{name}_ms")
            for label, fraction in (("p50", 0.50), ("p99", 0.99)):
                setattr(self, f"{name}_{label}_ms", round(percentile(samples, fraction), 1))
        data = asdict(self)
        del data["busy_ms"], data["answered_ms"]
        return data


def paced_calls(
    base_url: str, auth_token: str, *, rate: float, seconds: float, max_in_flight: int
) -> PacedResult:
    """Send `rate` new calls a second to `base_url`/voice for `seconds`."""
    validator = RequestValidator(auth_token)
    url = signature_url(base_url.rstrip("/") + "/voice")
    rng = random.Random(16)
    bodies = []
    for _ in range(int(rate * seconds)):
        params = new_call_params(rng)
        bodies.append((urlencode(params), str(validator.compute_signature(url, params))))
    target = urlsplit(base_url)
    client = HTTPClient(
        target.hostname or "127.0.0.1",
        target.port,
        concurrency=max_in_flight,
        connection_timeout=TIMEOUT_SECONDS,
        network_timeout=TIMEOUT_SECONDS,
    )
    result = PacedResult(rate=rate)
    in_flight = 0

    def call(body: str, signature: str) -> None:
        nonlocal in_flight
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        started = time.perf_counter()
        try:
            response = client.post("/voice", body=body, headers=headers)
            status, answer = response.status_code, response.read()
        except Exception:
            status, answer = 0, b""
        elapsed_ms = (time.perf_counter() - started) * 1000
        in_flight -= 1
        if status != 200:
            result.errors += 1
        elif BUSY in answer:
            result.busy += 1
            result.busy_ms.append(elapsed_ms)
        else:
            result.answered += 1
            result.answered_ms.append(elapsed_ms)

    cpu_before = _cpu_seconds()
    started = time.monotonic()
    greenlets = []
    for index, (body, signature) in enumerate(bodies):
        due = started + index / rate
        wait = due - time.monotonic()
        if wait > 0:
            gevent.sleep(wait)
        else:
            result.max_lag_ms = max(result.max_lag_ms, -wait * 1000)
        if in_flight >= max_in_flight:
            result.not_sent += 1
            continue
        in_flight += 1
        result.sent += 1
        greenlets.append(gevent.spawn(call, body, signature))
    gevent.joinall(greenlets, timeout=TIMEOUT_SECONDS + 5)
    result.seconds = time.monotonic() - started
    result.cpu_share = round((_cpu_seconds() - cpu_before) / result.seconds, 3)
    client.close()
    return result


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="new calls a second")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--max-in-flight", type=int, default=2000)
    args = parser.parse_args(argv)
    token = os.environ.get("TWILIO_AUTH_TOKEN", "")
    if not token:
        sys.exit("TWILIO_AUTH_TOKEN is not set")
    result = paced_calls(
        args.url, token, rate=args.rate, seconds=args.seconds, max_in_flight=args.max_in_flight
    )
    print(json.dumps(result.summarised()))


if __name__ == "__main__":
    main()
