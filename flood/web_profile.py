"""Where a web process's time goes: py-spy samples sorted into the parts of a webhook.

`hotline capacity --profile` records the web process (and its children) with py-spy while
each kind runs, samples taken only while a thread holds the GIL (`--gil`: Python work, not
waiting), and sorts every sample by the innermost frame that is not the standard library's:
the Redis client, the signature check, parsing the request, the call flow, rendering TwiML,
Flask and werkzeug, the server, and so on.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

CATEGORIES = (
    ("Redis client (redis-py, hiredis)", ("redis/", "hiredis/")),
    ("rq (enqueueing a report)", ("rq/",)),
    ("signature check", ("ivr/twilio_signature.py", "twilio/request_validator.py")),
    ("reading the request", ("ivr/voice/twilio_request.py", "werkzeug/formparser.py")),
    ("phone numbers", ("phonenumbers/", "callflows/phones.py")),
    ("call flow", ("callflows/",)),
    ("rendering TwiML", ("ivr/twiml.py", "twilio/twiml/")),
    ("hotline: state, screening, counters", ("ivr/", "queues/")),
    ("Flask and werkzeug", ("flask/", "werkzeug/", "flask_wtf/", "itsdangerous/")),
    ("server", ("gunicorn/", "granian/", "uwsgi", "<module>")),
)
OTHER = "other"
STDLIB = frozenset(sys.stdlib_module_names)


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise RuntimeError("no py-spy: it comes with the flood extra (scripts/bootstrap.sh)")
    return found


def start_recording(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """py-spy recording `pid` and its children for `seconds`, raw stacks into `out`."""
    args = [
        py_spy(), "record", "--pid", str(pid), "--subprocesses", "--gil", "--rate", "250",
        "--duration", str(max(1, int(seconds))), "--format", "raw", "--output", str(out),
        "--nonblocking",
    ]  # fmt: skip
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def breakdown(raw: str) -> dict[str, float]:
    """Share of the samples in each category, from py-spy's raw output."""
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        counts[categorize(stack.split(";"))] += int(number)
    total = sum(counts.values())
    if not total:
        return {}
    return {name: round(count / total, 3) for name, count in counts.most_common()}


def categorize(frames: list[str]) -> str:
    """The category of the innermost frame outside the standard library."""
    for frame in reversed(frames):
        location = _file(frame)
        if _is_stdlib(location):
            continue
        for name, prefixes in CATEGORIES:
            if any(prefix in location for prefix in prefixes):
                return name
        return OTHER
    return "server"  # only standard-library frames: the server's threads and selectors


def _file(frame: str) -> str:
    """ "step (ivr/voice/calls.py:66)" -> "ivr/voice/calls.py"."""
    inside = frame.rpartition("(")[2].rstrip(")")
    return inside.rpartition(":")[0] or inside


def _is_stdlib(location: str) -> bool:
    root = location.split("/", 1)[0].removesuffix(".py")
    return root in STDLIB and "site-packages" not in location
