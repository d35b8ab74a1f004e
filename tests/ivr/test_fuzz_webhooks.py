"""The red team's fuzz test: 20,000 signed, randomised webhook requests against a live server.

gunicorn (`hotline serve`) and an rq worker run on loopback against the test Redis and a
SQLite file, as in production; Twilio is played by many virtual calls at once. Each call
starts at /voice and mostly follows the TwiML it gets back (its Gather actions with their
sequence numbers, redirects, the hold queue's wait URL), so calls really progress through
the keypad protocol to submitted reports; on the way each request may be bent: odd, missing,
duplicated or huge parameters, Unicode, keys no keypad has, tampered query parameters (n, r,
d, p, silence), other steps' paths and nonsense paths under /voice/, repeated and invalid
CallSids, junk CallStatus / CallDuration / QueueResult / AnsweredBy / ErrorUrl, and
signatures that are wrong, missing, or right but with StirVerstat / CallToken added after
signing (as Twilio has been seen to do).

Every request is signed as Twilio signs it (twilio's RequestValidator over the URL with its
query string and the POST parameters), unless it is deliberately forged. The test then
requires: no 5xx, no answer that is not TwiML (text/xml, an XML document whose root is
<Response>) except a 403 for every forged request and only for those, no secret and no
traceback in any answer, and a server that still answers a new call afterwards.

Bounded: a fixed number of requests, a hard deadline, loopback only. Deterministic per call:
call i draws everything from random.Random(f"{SEED}:{i}"); the answers (and so the path a
call takes) depend on timing, which is why each failure is printed with the exact request
(path with query, form, signature kind) so that it can be replayed.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import random
import string
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from flask.testing import FlaskCliRunner
from redis import Redis
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from callflows import prompts
from ivr.hotline import Hotline
from tests.conftest import AUTH_TOKEN
from tests.support.data import import_precincts, precinct_rows
from tests.support.live import live_stack

SEED = 20200203
REQUESTS = 20_000
THREADS = 24
DEADLINE_SECONDS = 300.0
"""The deadline only stops a wedged run (see the report for measured durations)."""
REQUEST_TIMEOUT_SECONDS = 20.0
COUNTIES = ("Adair", "Adams", "Allamakee", "Appanoose", "Black Hawk")
MAX_BODY_BYTES = 48 * 1024
"""Twilio's requests are a few KB; the webhooks refuse bodies over 64 KB (413) by design."""
SECRET_KEY = "fuzz-secret-key-never-in-an-answer"
PIN_KEY = "test-pin-key"
SECRETS = (AUTH_TOKEN, SECRET_KEY, PIN_KEY, "Traceback (most recent call last)")
UNSIGNED_EXTRAS = ("StirVerstat", "CallToken")
"""What Twilio has been seen to add to a request after signing it."""
RECEIVED = prompts.receipt("000000")[0]
"""What a chair hears when the report is in: "Your report is received."."""

STEP_PATHS = (
    "/voice/precinct",
    "/voice/pin",
    "/voice/resume",
    "/voice/figure/first/1",
    "/voice/figure/final/7",
    "/voice/figure/delegates/12",
    "/voice/figure/first/13",
    "/voice/figure/first/0",
    "/voice/figure/first/999",
    "/voice/figure/nonsense/1",
    "/voice/figure/first",
    "/voice/figure/first/1/2",
    "/voice/total/first",
    "/voice/total/final",
    "/voice/total/delegates",
    "/voice/total/other",
    "/voice/fix/first",
    "/voice/fix/final",
    "/voice/fix/delegates",
    "/voice/chance",
    "/voice/confirm",
    "/voice/hold",
    "/voice/admitted",
    "/voice/dequeued",
    "/voice/status",
    "/voice/fallback",
    "/voice",
)
"""Every step of the keypad protocol (README), with odd blocks and positions."""

NONSENSE_PATHS = (
    "/voice/",
    "/voice//",
    "/voice//pin",
    "/voice/PIN",
    "/voice/pin/",
    "/voice/./pin",
    "/voice/../voice/pin",
    "/voice/status/extra",
    "/voice/fallback/x",
    "/voice/hold/hold/hold",
    "/voice/-",
    "/voice/_",
    "/voice/~",
    "/voice/a.b",
    "/voice/" + "a" * 64,
    "/voice/" + "a" * 65,
    "/voice/" + "x/" * 300,
)
ENCODED_PATHS = (
    "/voice/%70in",
    "/voice/%2e%2e/pin",
    "/voice/%F0%9F%98%80",
    "/voice/%00",
    "/voice/%ff",
    "/voice/pin%3Fn%3D1",
)
"""Twilio signs the URL as it requested it, and the hotline checks the path as decoded, so
for these either a 403 or TwiML is a right answer (Twilio never requests them)."""

UNICODE = "é中文🎉\u200b\u202e\ufeff\u0663\uff11Ω≠∞\x00\x07\x1b\t\r\n"
JUNK_VALUES = (
    "",
    " ",
    "0",
    "-1",
    "+1",
    "1.5",
    "1e9",
    "0x10",
    "٣",
    "\uff11\uff12",
    "²",
    "NaN",
    "null",
    "None",
    "true",
    "[]",
    "{}",
    "%s%s%n",
    "'; DROP TABLE reports; --",
    "<Response><Say>hi</Say></Response>",
    "]]>&<>\"'",
    "\x00",
    "\r\n\r\n",
    "../../etc/passwd",
    "http://evil.example/voice/pin?n=1",
    "99999999999999999999999999",
    "CA" + "0" * 32,
    "CA" + "g" * 32,
)
CALL_STATUSES = ("ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled")
QUEUE_RESULTS = ("leave", "hangup", "bridged", "queue-full", "error", "system-shutdown")
ANSWERED_BY = ("human", "machine_start", "fax", "unknown")
STIR_VERSTATS = (
    "TN-Validation-Passed-A",
    "TN-Validation-Passed-B",
    "TN-Validation-Passed-C",
    "TN-Validation-Failed-A",
    "No-TN-Validation",
)


@dataclass(frozen=True)
class Precinct:
    precinct_id: str
    pin: str
    chair_phone: str


@dataclass
class Sent:
    """One request as sent: enough to replay it."""

    path: str
    """Path and query, exactly as sent (and, after the base URL, as signed)."""
    form: list[tuple[str, str]]
    signing: str
    """valid, extras (valid, then StirVerstat/CallToken added), wrong, missing, tampered,
    or either (valid as Twilio would sign it, for a percent-encoded path)."""
    extras: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/x-www-form-urlencoded"
    refusable: bool = False
    """A 403 is a right answer too: the path is percent-encoded (Twilio signs it encoded,
    the hotline checks it decoded), or a repeated parameter meets unsigned extras (the
    hotline's fallback check reads one value per name). Twilio sends neither."""

    @property
    def forged(self) -> bool:
        return self.signing in ("wrong", "missing", "tampered")

    def replay(self) -> str:
        def short(value: str) -> str:
            return repr(value) if len(value) <= 80 else f"{value[:60]!r}...({len(value)} chars)"

        form = ", ".join(f"{name}={short(value)}" for name, value in self.form)
        extras = ", ".join(f"{name}={short(value)}" for name, value in self.extras)
        return (
            f"POST {short(self.path)} signing={self.signing} content-type={self.content_type}"
            f"\n      form: {form}" + (f"\n      added after signing: {extras}" if extras else "")
        )


@dataclass
class Answered:
    status: int
    content_type: str
    body: str
    root: ET.Element | None = None


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    failures: list[tuple[Sent, Answered | str, str]] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    signings: Counter[str] = field(default_factory=Counter)
    steps: Counter[str] = field(default_factory=Counter)
    heard: Counter[str] = field(default_factory=Counter)

    def reserve(self, deadline: float) -> bool:
        with self.lock:
            if self.sent >= REQUESTS or time.monotonic() > deadline:
                return False
            self.sent += 1
            return True


class Connection:
    """One keep-alive HTTP/1.1 connection to the server (a thread's own)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.http: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answered:
        for attempt in range(2):
            if self.http is None:
                self.http = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_SECONDS
                )
            reused = attempt == 0 and self.http.sock is not None
            try:
                self.http.request("POST", path, body=body, headers=headers)
                response = self.http.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if reused:
                    continue  # the server closed an idle keep-alive connection: send again
                raise
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return Answered(
                response.status,
                response.getheader("Content-Type", ""),
                data.decode("utf-8", errors="replace"),
            )
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.http is not None:
            self.http.close()
            self.http = None


def check(sent: Sent, answer: Answered, pins: frozenset[str]) -> str:
    """What is wrong with `answer` to `sent`, or ""."""
    if answer.status >= 500:
        return f"HTTP {answer.status}"
    if sent.forged:
        return "" if answer.status == 403 else f"a forged request got {answer.status}, not 403"
    if answer.status == 403 and sent.refusable:
        return ""
    if answer.status != 200:
        return f"HTTP {answer.status} for a validly signed request"
    if not answer.content_type.startswith("text/xml"):
        return f"Content-Type {answer.content_type!r}"
    try:
        root = ET.fromstring(answer.body)
    except ET.ParseError as error:
        return f"not XML: {error}"
    if root.tag != "Response":
        return f"root element <{root.tag}>"
    answer.root = root
    for secret in SECRETS:
        if secret in answer.body:
            return f"the answer contains {secret!r}"
    form = dict(sent.form)
    keyed = form.get("Digits", "")
    if urlsplit(sent.path).path == "/voice/pin" and keyed in pins and keyed in answer.body:
        return "the answer to a PIN repeats the PIN"
    return ""


class VirtualCall:
    """One call as a fuzzing Twilio would place it: follows the TwiML, bending requests."""

    def __init__(
        self,
        index: int,
        base_url: str,
        precincts: Sequence[Precinct],
        shared_sids: Sequence[str],
        send: Callable[[VirtualCall, Sent], Answered | None],
    ) -> None:
        rng = self.rng = random.Random(f"{SEED}:{index}")
        self.base_url = base_url
        self.send = send
        self.validator = RequestValidator(AUTH_TOKEN)
        self.persona = rng.choices(["diligent", "sloppy", "chaos"], weights=[5, 3, 2])[0]
        self.precinct = rng.choice(precincts)
        self.call_sid = f"CA{rng.getrandbits(128):032x}"
        if self.persona == "chaos" and rng.random() < 0.3:
            self.call_sid = rng.choice([*shared_sids, "", "CA123", "ca" + "0" * 32, UNICODE])
        elif rng.random() < 0.05:
            self.call_sid = rng.choice(shared_sids)  # two calls, one CallSid
        if self.persona == "diligent" or rng.random() < 0.3:
            self.caller = self.precinct.chair_phone
        else:
            self.caller = rng.choice(
                [
                    f"+1515{rng.randrange(10**7):07d}",
                    f"+1515{rng.randrange(10**7):07d}",
                    "anonymous",
                    "",
                    "client:robot",
                    "sip:x@example.org",
                    "+1",
                    "+" + "9" * 30,
                    UNICODE,
                    "x" * 5000,
                ]
            )
        self.account_sid = f"AC{rng.getrandbits(128):032x}"
        self.stir = rng.choice([*STIR_VERSTATS, "", "", "junk", UNICODE])
        self.requests_left = rng.randint(3, 90)
        self.keyed: dict[str, dict[int, int]] = {}
        self.answered = False
        self.wait = ("/voice/hold", "/voice/admitted")
        """The hold queue's wait URL and action, once the call was enqueued."""

    # -- the call ---------------------------------------------------------------------------

    def run(self) -> None:
        following: tuple[str, dict[str, str]] | None = ("/voice", {})
        while following is not None and self.requests_left > 0:
            self.requests_left -= 1
            path, params = self.bend(*following)
            answer = self.send(self, self.request(path, params))
            if answer is None:
                return  # the run is over (count reached or deadline)
            following = self.next_request(path, answer)
        if self.rng.random() < 0.85:
            self.status_callback()

    def status_callback(self) -> None:
        params = {
            "CallStatus": self.rng.choice(["completed", "completed", *CALL_STATUSES]),
            "CallDuration": str(self.rng.randint(0, 900)),
        }
        if self.rng.random() < 0.3:
            params["CallDuration"] = self.rng.choice(JUNK_VALUES)
            params["CallStatus"] = self.rng.choice(JUNK_VALUES)
        self.send(self, self.request("/voice/status", params))

    def next_request(self, path: str, answer: Answered) -> tuple[str, dict[str, str]] | None:
        """The request Twilio would make next after this answer, or None when it ends."""
        if answer.root is None:
            # Refused (403) or unusable: Twilio would try the fallback URL.
            if self.rng.random() < 0.5:
                return "/voice/fallback", {"ErrorCode": "11200", "ErrorUrl": self.base_url + path}
            return None
        verbs = list(answer.root)
        if verbs and not self.answered:
            self.answered = verbs[0].tag != "Reject"
        for verb in verbs:
            if verb.tag == "Gather":
                action = verb.get("action", path)
                if self.rng.random() < 0.1:
                    redirect = answer.root.find("Redirect")  # the caller stayed silent
                    return (redirect.text or action, {}) if redirect is not None else None
                return action, self.keys_for(action, verb)
            if verb.tag == "Redirect":
                return verb.text or path, {}
            if verb.tag == "Enqueue":
                wait_url = verb.get("waitUrl", "/voice/hold")
                action = verb.get("action", "/voice/admitted")
                self.wait = (wait_url, action)
                return wait_url, self.queue_params()
            if verb.tag == "Leave":
                return self.wait[1], {"QueueResult": "leave", "QueueSid": "QU" + "1" * 32}
            if verb.tag in ("Hangup", "Reject"):
                return None
        if urlsplit(path).path == "/voice/hold":
            if self.rng.random() < 0.7:
                return path, self.queue_params()  # the wait document ran out: poll again
            return self.wait[1], {"QueueResult": self.rng.choice(QUEUE_RESULTS)}
        return None

    def queue_params(self) -> dict[str, str]:
        return {
            "QueuePosition": str(self.rng.randint(1, 50)),
            "QueueSid": "QU" + "2" * 32,
            "QueueTime": str(self.rng.randint(0, 600)),
            "AvgQueueTime": str(self.rng.randint(0, 600)),
            "CurrentQueueSize": str(self.rng.randint(1, 2000)),
        }

    def keys_for(self, action: str, gather: ET.Element) -> dict[str, str]:
        """What the caller keys at this Gather: right answers, mostly, for the diligent."""
        rng = self.rng
        careless = {"diligent": 0.03, "sloppy": 0.3, "chaos": 0.7}[self.persona]
        if rng.random() < careless:
            return {"Digits": self.junk_keys(), "FinishedOnKey": rng.choice(["#", "", "*", "x"])}
        step = urlsplit(action).path.removeprefix("/voice/")
        kind, _, rest = step.partition("/")
        digits = "1"
        if kind == "precinct":
            digits = self.precinct.precinct_id
        elif kind == "pin":
            digits = self.precinct.pin if rng.random() < 0.9 else f"{rng.randrange(10**6):06d}"
        elif kind in ("resume", "confirm"):
            digits = rng.choice(["1", "1", "2", "3"]) if kind == "confirm" else rng.choice("12")
        elif kind == "fix":
            digits = rng.choice(["2", "2", "1", "3"])
        elif kind == "chance":
            digits = str(rng.randint(1, 13)) * int(gather.get("numDigits", "1") or 1)
        elif kind == "figure":
            block, _, position = rest.partition("/")
            value = rng.choice([0, 0, 1, 2, 5, 8, 13, 40, 9999])
            if rng.random() < 0.03:
                return {"Digits": "*", "FinishedOnKey": "#"}  # back one group
            self.keyed.setdefault(block, {})[int(position or 0)] = value
            digits = str(value)
        elif kind == "total":
            keyed = self.keyed.get(rest, {})
            digits = str(sum(keyed.values()) + (0 if rng.random() < 0.85 else 1))
        finish = "#" if gather.get("finishOnKey", "#") == "#" else ""
        return {"Digits": digits, "FinishedOnKey": finish, "msg": "Gather End"}

    def junk_keys(self) -> str:
        rng = self.rng
        return rng.choice(
            [
                "",
                "*",
                "#",
                "*#",
                "#*#*",
                "0" * rng.randint(1, 70),
                "".join(rng.choice("0123456789*#") for _ in range(rng.randint(1, 80))),
                str(rng.randrange(10**12)),
                rng.choice(JUNK_VALUES),
                "".join(rng.choice(UNICODE + string.printable) for _ in range(rng.randint(1, 40))),
                "9" * rng.randint(100, 20_000),
            ]
        )

    # -- bending a request ------------------------------------------------------------------

    def bend(self, path: str, params: dict[str, str]) -> tuple[str, dict[str, str]]:
        """The request Twilio would make, changed the way a fuzzer changes it."""
        rng = self.rng
        odds = {"diligent": 0.02, "sloppy": 0.15, "chaos": 0.6}[self.persona]
        params = dict(params)
        if rng.random() < odds:
            path = self.tamper_query(path)
        if rng.random() < odds / 3:
            path = rng.choice(STEP_PATHS) + self.random_query()
        if rng.random() < odds / 6:
            nonsense = rng.choice([*NONSENSE_PATHS, *ENCODED_PATHS])
            path = nonsense + rng.choice(["", self.random_query()])
        if rng.random() < odds:
            params.update(self.junk_params())
        return path, params

    def tamper_query(self, path: str) -> str:
        rng = self.rng
        parts = urlsplit(path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        for _ in range(rng.randint(1, 3)):
            choice = rng.random()
            name = rng.choice(["n", "r", "d", "p", "silence", "x", "n", "n"])
            if choice < 0.3 and query:
                query.pop(rng.randrange(len(query)))
            elif choice < 0.8:
                query = [(k, v) for k, v in query if k != name] + [(name, self.odd_value(name))]
            else:
                query.append((name, self.odd_value(name)))  # the parameter twice
        return parts.path + ("?" + urlencode(query) if query else "")

    def odd_value(self, name: str) -> str:
        rng = self.rng
        values = {
            "n": ["0", "1", "2", "-1", "4294967296", "1" * 30, "01", " 3", "3.0", "٣"],
            "r": ["0", "1", "4", "5", "6", "999", "1000", "1001", "-1", "x", ""],
            "d": ["1", "9999", "*", "#", "123456", "1" * 65, "12a", "%2A", UNICODE],
            "p": ["0", "1", "2", "-1", "", "00", "x"],
            "silence": ["1", "0", "yes", "", "11", "true"],
        }.get(name, list(JUNK_VALUES))
        if rng.random() < 0.1:
            return rng.choice(JUNK_VALUES) + rng.choice(UNICODE) * rng.randint(1, 200)
        return rng.choice(values)

    def random_query(self) -> str:
        rng = self.rng
        query = [(name, self.odd_value(name)) for name in rng.sample(["n", "r", "d", "p"], 2)]
        return "?" + urlencode(query)

    def junk_params(self) -> dict[str, str]:
        rng = self.rng
        names = [
            "CallSid",
            "From",
            "To",
            "Caller",
            "Digits",
            "FinishedOnKey",
            "CallStatus",
            "CallDuration",
            "QueueResult",
            "QueueTime",
            "QueuePosition",
            "AnsweredBy",
            "ErrorUrl",
            "ErrorCode",
            "StirVerstat",
            "Direction",
            "ApiVersion",
            "AccountSid",
            "SpeechResult",
            "Confidence",
            "Junk" + rng.choice(UNICODE),
            "",
        ]
        junk: dict[str, str] = {}
        for name in rng.sample(names, rng.randint(1, 5)):
            value = rng.choice(JUNK_VALUES)
            roll = rng.random()
            if name == "CallStatus" and roll < 0.3:
                value = rng.choice(CALL_STATUSES)
            elif name == "QueueResult" and roll < 0.3:
                value = rng.choice(QUEUE_RESULTS)
            elif name == "AnsweredBy" and roll < 0.3:
                value = rng.choice(ANSWERED_BY)
            elif name == "ErrorUrl" and roll < 0.5:
                value = self.base_url + self.tamper_query(rng.choice(STEP_PATHS) + "?n=3")
            elif roll < 0.1:
                value = rng.choice(UNICODE) * rng.randint(1000, 8000)  # huge, and multibyte
            elif roll < 0.2:
                value = "".join(rng.choice(UNICODE + "0123456789") for _ in range(50))
            junk[name] = value
        return junk

    # -- signing ----------------------------------------------------------------------------

    def request(self, path: str, params: dict[str, str]) -> Sent:
        rng = self.rng
        standard = {
            "CallSid": self.call_sid,
            "AccountSid": self.account_sid,
            "From": self.caller,
            "To": "+15155550100",
            "Caller": self.caller,
            "Called": "+15155550100",
            "CallStatus": "in-progress" if self.answered else "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        if self.stir:
            standard["StirVerstat"] = self.stir
        form = list({**standard, **params}.items())
        if self.persona == "chaos" and rng.random() < 0.2:
            form = [item for item in form if rng.random() < 0.5]  # parameters missing
        repeated = rng.random() < 0.03
        if repeated:
            form.append(rng.choice(form or [("Digits", "1")]))  # a parameter twice
            form.append(("Digits", rng.choice(["1", "2", "#"])))
        form = self.fit(form)
        roll = rng.random()
        signing = "valid"
        if any(path.startswith(encoded) for encoded in ENCODED_PATHS):
            signing = "either"
        elif roll < 0.03:
            signing = "wrong"
        elif roll < 0.05:
            signing = "missing"
        elif roll < 0.07:
            signing = "tampered"
        elif roll < 0.10:
            signing = "extras"
        refusable = signing == "either" or (signing == "extras" and repeated)
        return Sent(path, form, signing, refusable=refusable)

    def fit(self, form: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Drop the biggest values until the body is under MAX_BODY_BYTES."""
        while len(urlencode(form)) > MAX_BODY_BYTES:
            biggest = max(range(len(form)), key=lambda i: len(form[i][1]))
            form[biggest] = (form[biggest][0], form[biggest][1][:1000])
        return form

    def headers_and_body(self, sent: Sent) -> tuple[dict[str, str], bytes]:
        """Sign `sent` as Twilio would (or forge it, as its `signing` says); what to POST."""
        rng = self.rng
        url = self.base_url + sent.path
        if sent.signing == "extras":
            # Twilio signs without these and adds them afterwards: the signed form has none.
            sent.form = [(k, v) for k, v in sent.form if k not in UNSIGNED_EXTRAS]
            sent.extras = [
                ("StirVerstat", rng.choice(STIR_VERSTATS)),
                ("CallToken", f"{rng.getrandbits(160):040x}"),
            ][: rng.randint(1, 2)]
        signature = str(self.validator.compute_signature(url, MultiDict(sent.form)))
        form = [*sent.form, *sent.extras]
        if sent.signing == "wrong":
            signature = rng.choice(
                [
                    base64.b64encode(rng.randbytes(20)).decode(),
                    signature[:-2] + ("AA" if signature[-3:-1] != "AA" else "BB"),
                    "",
                    "x" * 28,
                    "é" * 28,
                    signature * 2,
                    str(self.validator.compute_signature(url + "x", MultiDict(form))),
                ]
            )
        elif sent.signing == "tampered":
            # Changed after signing, to a value it cannot have had.
            name = rng.choice(["Digits", "CallSid", "From", "Tampered"])
            sent.extras = [(name, f"tampered{rng.randrange(10**6)}")]
            form = [(k, v) for k, v in sent.form if k != name] + sent.extras
        headers = {"User-Agent": "TwilioProxy/1.1", "Content-Type": sent.content_type}
        if sent.signing != "missing":
            headers["X-Twilio-Signature"] = signature
        return headers, urlencode(form).encode()


def failure_report(failures: list[tuple[Sent, Answered | str, str]]) -> str:
    """Every kind of failure (problem, status, path) with a count and two replayable examples."""
    groups: dict[tuple[str, str], list[tuple[Sent, Answered | str]]] = {}
    for sent, answer, problem in failures:
        path = urlsplit(sent.path).path
        groups.setdefault((problem, path if len(path) < 80 else path[:77] + "..."), []).append(
            (sent, answer)
        )
    lines = []
    for (problem, path), found in sorted(groups.items(), key=lambda item: -len(item[1])):
        lines.append(f"* {len(found)} x {problem} at {path}")
        for sent, answer in found[:2]:
            shown = (
                f"{answer.status} {answer.content_type} {answer.body[:200]!r}"
                if isinstance(answer, Answered)
                else answer
            )
            lines.append(f"    {sent.replay()}\n      answer: {shown}")
    return "\n".join(lines)


def clean_request(base_url: str, call_sid: str, caller: str) -> tuple[dict[str, str], bytes]:
    """The first request of an ordinary call, signed: for the probe after the fuzz."""
    form = {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "From": caller,
        "To": "+15155550100",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{base_url}/voice", form)
    headers = {
        "X-Twilio-Signature": str(signature),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return headers, urlencode(form).encode()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_twenty_thousand_fuzzed_webhooks_get_twiml_or_403_and_nothing_else(
    runner: FlaskCliRunner, hotline: Hotline, redis: Redis, database_url: str, tmp_path: Path
) -> None:
    ids = sorted(row["precinct_id"] for row in precinct_rows(COUNTIES) if row["precinct_id"])
    phones = {precinct_id: f"+1641555{index:04d}" for index, precinct_id in enumerate(ids)}
    pins = import_precincts(runner, tmp_path, counties=COUNTIES, chair_phones=phones)
    # The last precinct's chair places no fuzzed call: the probe afterwards is theirs.
    probe_phone = phones[ids[-1]]
    precincts = [Precinct(pid, pins[pid], phones[pid]) for pid in ids[:-1]]
    all_pins = frozenset(pins.values())
    shared_sids = [f"CA{n:032x}" for n in range(8)]
    env = {"SECRET_KEY": SECRET_KEY, "PIN_KEY": PIN_KEY, "HOTLINE_IVR_CAPACITY": "60"}
    tally = Tally()
    logs = tmp_path / "logs"

    with live_stack(
        database_url,
        hotline.settings.redis_url,
        rq_workers=1,
        web_workers=2,
        threads=8,
        env=env,
        logs=logs,
    ) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        started, client_cpu = time.monotonic(), time.process_time()
        deadline = started + DEADLINE_SECONDS
        local = threading.local()
        numbers = itertools.count()

        def connection() -> Connection:
            if not hasattr(local, "connection"):
                local.connection = Connection(port)
            found: Connection = local.connection
            return found

        def send(call: VirtualCall, sent: Sent) -> Answered | None:
            if not tally.reserve(deadline):
                return None
            headers, body = call.headers_and_body(sent)
            try:
                answer = connection().post(sent.path, body, headers)
            except (OSError, http.client.HTTPException) as error:
                connection().close()
                with tally.lock:
                    tally.failures.append((sent, f"{type(error).__name__}: {error}", "no answer"))
                return None
            problem = check(sent, answer, all_pins)
            with tally.lock:
                tally.statuses[answer.status] += 1
                tally.signings[sent.signing] += 1
                tally.steps[urlsplit(sent.path).path] += 1
                for said in (RECEIVED, prompts.HOLD_ON, prompts.TROUBLE_CALL_BACK[:30]):
                    if said in answer.body:
                        tally.heard[said] += 1
                if "<Enqueue" in answer.body:
                    tally.heard["<Enqueue>"] += 1
                if problem:
                    tally.failures.append((sent, answer, problem))
            return answer

        def play() -> None:
            while time.monotonic() < deadline:
                with tally.lock:
                    if tally.sent >= REQUESTS:
                        return
                    index = next(numbers)
                VirtualCall(index, base_url, precincts, shared_sids, send).run()

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            for future in [pool.submit(play) for _ in range(THREADS)]:
                future.result()
        elapsed = time.monotonic() - started
        client_cpu = time.process_time() - client_cpu

        # Not wedged: a new call is still greeted and asked for its precinct.
        probe = Connection(port)
        headers, body = clean_request(base_url, "CA" + "f" * 32, probe_phone)
        greeted = probe.post("/voice", body, headers)
        probe.close()

    summary = (
        f"{tally.sent} requests in {elapsed:.1f} s ({tally.sent / elapsed:.0f}/s; the test's "
        f"own CPU {client_cpu:.0f} s); "
        f"statuses {dict(tally.statuses)}; signing {dict(tally.signings)}; heard "
        f"{dict(tally.heard)}; {len(tally.steps)} distinct paths"
    )
    print(summary)
    report = failure_report(tally.failures)
    assert not tally.failures, (
        f"{len(tally.failures)} bad answers (server log: {logs}); {summary}\n{report}"
    )
    assert tally.sent == REQUESTS, f"only {tally.sent} requests before the deadline; {summary}"
    assert greeted.status == 200 and prompts.GREETING in greeted.body, greeted
    # The fuzz really went through the protocol: every step was asked, reports were received,
    # callers were held, and forged requests were refused.
    for path in ("/voice/confirm", "/voice/total/delegates", "/voice/hold", "/voice/fallback"):
        assert tally.steps[path] > 0, summary
    assert tally.heard[RECEIVED] > 0, summary
    assert tally.statuses[403] > 0, summary
