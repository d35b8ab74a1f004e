"""TwiML voice documents parsed into plain data, for the softphone to execute.

Only the verbs the hotline uses (and Twilio allows in an ``<Enqueue>`` waitUrl) are modelled:
Say, Play, Pause, Gather, Redirect, Hangup, Reject, Enqueue, Leave, and Dial to <Number>s.
Defaults follow Twilio's TwiML reference (twilio.com/docs/voice/twiml/...).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

# Twilio's error codes for documents it cannot use; each is fatal to the current fetch, which
# is what sends Twilio to the Fallback URL (twilio.com/docs/api/errors/<code>).
ERROR_HTTP_RETRIEVAL = 11200  # non-2xx answer, timeout, connection failure
ERROR_DOCUMENT_PARSE = 12100  # not well-formed XML (e.g. whitespace before the XML header)
ERROR_ROOT_NOT_RESPONSE = 12102  # the root element must be <Response>
ERROR_SCHEMA = 12200  # unknown verb, bad nesting or a bad attribute value

# Keys a phone keypad can send as DTMF.
DTMF_KEYS = frozenset("0123456789*#")
DEFAULT_SAY_LANGUAGE = "en-US"
"""<Say language> when none is given (Twilio's TwiML reference)."""

# Verbs Twilio supports but this stand-in does not simulate: meeting one is a limit of the test
# harness, not an error in the application, so it raises instead of counting as one.
_UNSIMULATED = frozenset({"Record", "Connect", "Start", "Stop", "Refer", "Pay", "Echo"})


class TwimlError(Exception):
    """A document Twilio would refuse; ``code`` is the Twilio error code it would log."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class UnsupportedTwimlError(Exception):
    """Valid TwiML that the softphone cannot play faithfully (e.g. <Dial>, method="GET")."""


@dataclass(frozen=True)
class Say:
    text: str
    loop: int = 1
    voice: str = ""
    """The voice attribute as sent ("" for Twilio's default)."""
    language: str = DEFAULT_SAY_LANGUAGE


@dataclass(frozen=True)
class Play:
    url: str
    loop: int = 1


@dataclass(frozen=True)
class Pause:
    length: int = 1


@dataclass(frozen=True)
class Gather:
    action: str | None  # None: Twilio posts to the current document's URL
    num_digits: int | None
    finish_on_key: str  # "" disables the finish key
    timeout: int
    action_on_empty_result: bool
    prompts: tuple[Say | Play | Pause, ...]


@dataclass(frozen=True)
class Redirect:
    url: str


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Reject:
    reason: str  # "rejected" or "busy"


@dataclass(frozen=True)
class Enqueue:
    queue_name: str
    action: str | None
    wait_url: str | None


@dataclass(frozen=True)
class Leave:
    pass


@dataclass(frozen=True)
class Number:
    """A <Dial>'s <Number>: the number dialled, and the TwiML `url` Twilio plays to the
    called party once they answer, before the two are connected (None: none)."""

    number: str
    url: str | None = None


@dataclass(frozen=True)
class Dial:
    """<Dial>: call the numbers (the first to answer is connected), then request `action`
    with DialCallStatus, or go on to the next verb without one. Defaults: Twilio's."""

    numbers: tuple[Number, ...]
    action: str | None = None
    timeout: int = 30
    caller_id: str | None = None


Verb = Say | Play | Pause | Gather | Redirect | Hangup | Reject | Enqueue | Leave | Dial


def parse_twiml(text: str) -> tuple[Verb, ...]:
    """Parse a TwiML voice document; raise TwimlError where Twilio would fail the fetch."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise TwimlError(ERROR_DOCUMENT_PARSE, f"document parse failure: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(ERROR_ROOT_NOT_RESPONSE, f"root element is <{root.tag}>")
    return tuple(_verb(element) for element in root)


def _verb(el: ET.Element) -> Verb:
    tag = el.tag
    if tag == "Say":
        return Say(
            _text(el),
            _int_attr(el, "loop", 1, minimum=0),
            el.get("voice", ""),
            el.get("language", DEFAULT_SAY_LANGUAGE),
        )
    if tag == "Play":
        return Play(_text(el), _int_attr(el, "loop", 1, minimum=0))
    if tag == "Pause":
        return Pause(_int_attr(el, "length", 1, minimum=0))
    if tag == "Gather":
        return _gather(el)
    if tag == "Redirect":
        _require_post(el, "method")
        url = _text(el)
        if not url:
            raise TwimlError(ERROR_SCHEMA, "<Redirect> without a URL")
        return Redirect(url)
    if tag == "Hangup":
        return Hangup()
    if tag == "Reject":
        reason = el.get("reason", "rejected")
        if reason not in ("rejected", "busy"):
            raise TwimlError(ERROR_SCHEMA, f"<Reject reason={reason!r}>")
        return Reject(reason)
    if tag == "Enqueue":
        _require_post(el, "method")
        _require_post(el, "waitUrlMethod")
        if el.get("workflowSid"):
            raise UnsupportedTwimlError("<Enqueue workflowSid> (TaskRouter) is not simulated")
        return Enqueue(_text(el), el.get("action") or None, el.get("waitUrl") or None)
    if tag == "Leave":
        return Leave()
    if tag == "Dial":
        return _dial(el)
    if tag in _UNSIMULATED:
        raise UnsupportedTwimlError(f"<{tag}> is not simulated by the softphone")
    raise TwimlError(ERROR_SCHEMA, f"unknown verb <{tag}>")


def _gather(el: ET.Element) -> Gather:
    _require_post(el, "method")
    # Speech recognition cannot be simulated from a keypad; "dtmf speech" still takes keys.
    inputs = set(el.get("input", "dtmf").split())
    if "dtmf" not in inputs:
        raise UnsupportedTwimlError(f'<Gather input="{el.get("input")}"> needs speech')
    finish = el.get("finishOnKey", "#")
    if finish != "" and (len(finish) != 1 or finish not in DTMF_KEYS):
        raise TwimlError(ERROR_SCHEMA, f"<Gather finishOnKey={finish!r}>")
    num_digits = _int_attr(el, "numDigits", 0, minimum=1) or None
    prompts: list[Say | Play | Pause] = []
    for child in el:
        nested = _verb(child)
        # Twilio allows only Say, Play and Pause inside Gather.
        if not isinstance(nested, Say | Play | Pause):
            raise TwimlError(ERROR_SCHEMA, f"<{child.tag}> cannot be nested in <Gather>")
        prompts.append(nested)
    return Gather(
        action=el.get("action") or None,
        num_digits=num_digits,
        finish_on_key=finish,
        timeout=_int_attr(el, "timeout", 5, minimum=1),
        action_on_empty_result=_bool_attr(el, "actionOnEmptyResult"),
        prompts=tuple(prompts),
    )


def _dial(el: ET.Element) -> Dial:
    _require_post(el, "method")
    numbers: list[Number] = []
    for child in el:
        if child.tag != "Number":
            # <Client>, <Conference>, <Queue>, <Sip>, ...: valid, but not simulated here.
            raise UnsupportedTwimlError(f"<Dial><{child.tag}> is not simulated")
        _require_post(child, "method")
        number = _text(child)
        if not number:
            raise TwimlError(ERROR_SCHEMA, "<Number> without a number")
        numbers.append(Number(number, child.get("url") or None))
    if not numbers:
        # A bare number as the Dial's text is the same as one <Number> without a url.
        number = (el.text or "").strip()
        if not number:
            raise TwimlError(ERROR_SCHEMA, "<Dial> without a number")
        numbers.append(Number(number))
    return Dial(
        numbers=tuple(numbers),
        action=el.get("action") or None,
        # Twilio's <Dial timeout>: 5 to 600 seconds, 30 by default.
        timeout=_int_attr(el, "timeout", 30, minimum=5),
        caller_id=el.get("callerId") or None,
    )


def _text(el: ET.Element) -> str:
    # itertext() keeps words inside SSML children of <Say> such as <prosody>.
    return re.sub(r"\s+", " ", "".join(el.itertext())).strip()


def _int_attr(el: ET.Element, name: str, default: int, *, minimum: int) -> int:
    raw = el.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise TwimlError(ERROR_SCHEMA, f"<{el.tag} {name}={raw!r}>") from None
    if value < minimum:
        raise TwimlError(ERROR_SCHEMA, f"<{el.tag} {name}={raw!r}> below {minimum}")
    return value


def _bool_attr(el: ET.Element, name: str) -> bool:
    raw = el.get(name, "false").strip().lower()
    if raw not in ("true", "false"):
        raise TwimlError(ERROR_SCHEMA, f"<{el.tag} {name}={raw!r}>")
    return raw == "true"


def _require_post(el: ET.Element, name: str) -> None:
    method = el.get(name, "POST").upper()
    if method == "GET":
        # Twilio would send a GET with the parameters in the query string; the hotline only
        # answers POSTs, so a GET here is a bug in the document, not something to play along.
        raise UnsupportedTwimlError(f'<{el.tag} {name}="GET"> is not simulated (POST only)')
    if method != "POST":
        raise TwimlError(ERROR_SCHEMA, f"<{el.tag} {name}={method!r}>")
