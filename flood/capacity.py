"""`hotline capacity`: requests per second one web process serves, per kind of webhook.

The stack (one web process, its Redis and an rq worker) runs on the server's core; wrk
runs on the generator's core and replays requests that were prepared and signed before the
clock starts, each to a call of its own, so every request takes the path it measures:

- a new call (`/voice` from a number never seen before) admitted, held or refused busy;
- an in-call step (precinct, PIN, figure, total, confirm): a template call is driven by a
  chair persona, over HTTP, up to the step; its state in Redis is then copied under new
  CallSids, one per prepared request, exactly as the webhooks left it;
- a status callback (for calls that exist) and a hold-queue poll (with the IVR full).

Each answer is checked for a marker (the next action URL, or the verb that refused the
call) taken from the template's own answer, so a figure re-prompted where it should be
accepted shows up as "other", not as throughput. The bare Flask endpoint is measured the
same way, on the same server and core, in the same run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import phonenumbers
import psutil
from redis import Redis
from twilio.request_validator import RequestValidator

from callflows.ballots import load_ballot
from callflows.trust import FULL_ATTESTATION
from flood.baseline import serving_bare_app
from flood.machine import machine_facts
from flood.personas import Chair
from flood.scenarios import PinEntry, read_pins
from flood.stack import Stack, StackOptions, local_stack
from flood.web_profile import CATEGORIES, OTHER, breakdown, start_recording
from flood.webhook_kinds import (
    HOLD_POLL,
    IN_CALL_KINDS,
    KIND_NAMES,
    KINDS,
    NEW_CALL_ADMITTED,
    NEW_CALL_BUSY,
    NEW_CALL_HELD,
    STATUS,
    Kind,
)
from flood.worksheets import load_worksheets
from flood.wrk import PreparedRequest, Replay, replay, write_request_files
from ivr.server import DEFAULT_SERVER
from queues import call_log, keys
from queues.defaults import REPORTS_QUEUE
from queues.publish import queue
from softphone import Softphone
from softphone.caller import API_VERSION, new_sid, signature_url, voice_step
from softphone.transport import HttpTransport

log = logging.getLogger(__name__)

TO_NUMBER = "+15155550100"
DRAIN_SECONDS = 120
"""How long the worker may take, between phases, to write what the last one queued."""


@dataclass(frozen=True)
class CapacityOptions:
    seconds: float = 10.0
    """How long each kind is driven flat out."""
    rate_bound: int = 8000
    """Requests prepared per second of a phase: more than any webhook is served."""
    kinds: tuple[str, ...] = KIND_NAMES
    servers: tuple[str, ...] = (DEFAULT_SERVER,)
    server_cpus: tuple[int, ...] = (0,)
    generator_cpus: tuple[int, ...] = (1,)
    threads: int = 8
    """Threads of the one web process."""
    generator_threads: int = 2
    connections: int = 16
    rq_nice: int = 0
    database_url: str | None = None
    bare: bool = True
    profile: bool = False
    """Record the web process with py-spy during each kind (flood/web_profile.py)."""
    redis_replicas: int = 0
    """Replicas of the stack's Redis."""
    min_replicas_ack: tuple[int, ...] = (0,)
    """REDIS_MIN_REPLICAS_ACK values, each measured on a stack of its own in the same run
    (what a receipt costs when replicas must acknowledge the report first)."""


@dataclass
class Measured:
    """One kind on one server."""

    server: str
    kind: str
    path: str
    per_second: float
    requests: int
    matched: int
    other: int
    errors: int
    p50_ms: float
    p99_ms: float
    generator_cpu: float
    server_core_busy: float
    """The server's core: share of its time busy during the run (1.0: saturated)."""
    stack_cpu: dict[str, float]
    """CPU of each stack process over the run, as a share of one core."""
    exhausted: bool
    backlog_before: int
    """Call-log entries and report jobs still queued when the run began."""
    sample: str = ""
    profile: dict[str, float] = field(default_factory=dict)
    """Share of the web process's GIL-holding samples by part of the webhook."""


@dataclass
class CapacityReport:
    options: dict[str, Any]
    machine: dict[str, Any]
    results: list[Measured] = field(default_factory=list)
    command: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "options": self.options,
            "machine": self.machine,
            "results": [asdict(result) for result in self.results],
        }


def measure(options: CapacityOptions, out: Path, command: str) -> CapacityReport:
    """Start the stack, measure every kind on every server, write the report into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    report = CapacityReport(options=asdict(options), machine=machine_facts(), command=command)
    work = out / "work"
    kinds = [kind for kind in KINDS if kind.name in options.kinds]
    variants = len(options.min_replicas_ack) > 1
    for server in options.servers:
        for ack in options.min_replicas_ack:
            # Each REDIS_MIN_REPLICAS_ACK is a stack of its own, named in the report.
            label = f"{server}, replica ack {ack}" if variants else server
            folder = f"{server}-ack{ack}" if variants else server
            stack_options = StackOptions(
                database_url=options.database_url,
                web_workers=1,
                threads=options.threads,
                rq_workers=1,
                rq_nice=options.rq_nice,
                ivr_capacity=ivr_capacity(options),
                hold_max=HOLD_MAX,
                server=server,
                cpus=options.server_cpus,
                redis_replicas=options.redis_replicas,
                min_replicas_ack=ack,
            )
            with local_stack(stack_options, work / folder, out / "logs" / folder) as stack:
                prober = Prober(stack, options, work / folder)
                for kind in kinds:
                    result = prober.run(kind, label)
                    log.info("%s %s: %.0f req/s", label, kind.name, result.per_second)
                    report.results.append(result)
                    _write(report, out)
        if options.bare:
            report.results.append(_measure_bare(options, server, work / server, out))
            _write(report, out)
    return report


HOLD_MAX = 1000
"""The hold queue's bound in the measured stack (the default is 2,000)."""


def ivr_capacity(options: CapacityOptions) -> int:
    """Room for every admitted new call a phase can prepare, so none is held."""
    return int(options.rate_bound * options.seconds) + 1000


def _write(report: CapacityReport, out: Path) -> None:
    (out / "capacity.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    (out / "capacity.md").write_text(render_markdown(report))


class Prober:
    """Prepares each kind's requests against one running stack, and replays them."""

    def __init__(self, stack: Stack, options: CapacityOptions, work: Path) -> None:
        self.stack = stack
        self.options = options
        self.work = work
        self.redis = Redis.from_url(stack.redis_url)
        self.validator = RequestValidator(stack.auth_token)
        self.entries = _template_entries(read_pins(stack.pins_file))
        self.admitted_sids: list[str] = []
        self.held_sids: list[str] = []
        self.numbers = _fresh_numbers(random.Random(2020))
        self.count = int(options.rate_bound * options.seconds)
        self.copied: list[str] = []

    # -- running one kind -------------------------------------------------------------

    def run(self, kind: Kind, server: str) -> Measured:
        requests, marker = self._prepare(kind)
        prefix = self.work / f"requests-{kind.name}"
        write_request_files(requests, prefix, self.options.generator_threads)
        backlog = self._wait_for_backlog()
        profile_file = self.work / f"profile-{kind.name}.txt"
        recorder = (
            start_recording(self.stack.pids["web"], self.options.seconds - 0.5, profile_file)
            if self.options.profile
            else None
        )
        with _cpu_watch(self.stack.pids, self.options.server_cpus) as watched:
            result = replay(
                self.stack.base_url,
                prefix,
                marker,
                seconds=self.options.seconds,
                threads=self.options.generator_threads,
                connections=self.options.connections,
                cpus=self.options.generator_cpus,
            )
        shares: dict[str, float] = {}
        if recorder is not None:
            recorder.wait(timeout=60)
            shares = breakdown(profile_file.read_text()) if profile_file.exists() else {}
        for path in self.work.glob(f"requests-{kind.name}.*"):
            path.unlink()
        self._forget(self.copied)
        self.copied = []
        measured = _measured(server, kind, result, watched, backlog)
        measured.profile = shares
        return measured

    def _forget(self, sids: list[str]) -> None:
        """Drop the copied calls of an in-call kind, so they hold no IVR slot afterwards."""
        for start in range(0, len(sids), 5000):
            batch = sids[start : start + 5000]
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.delete(*(keys.call(sid) for sid in batch))
                pipe.zrem(keys.IVR, *batch)
                pipe.execute()

    def _wait_for_backlog(self) -> int:
        """Let the worker catch up with what earlier kinds queued; what is left, counted."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while True:
            backlog = _backlog(self.redis)
            if backlog == 0 or time.monotonic() > deadline:
                return backlog
            time.sleep(0.5)

    # -- preparing each kind's requests -------------------------------------------------

    def _prepare(self, kind: Kind) -> tuple[list[PreparedRequest], str]:
        if kind.step:
            return self._in_call(kind)
        if kind is NEW_CALL_ADMITTED:
            requests, sids = self._new_calls(attested=False)
            self.admitted_sids = sids
            return requests, 'action="/voice/precinct?'
        if kind is STATUS:
            return self._status_callbacks(), "<Response />"
        if kind is NEW_CALL_HELD:
            self._fill(keys.IVR, ivr_capacity(self.options))
            requests, sids = self._new_calls(attested=True)
            self.held_sids = sids
            return requests, "<Enqueue"
        if kind is HOLD_POLL:
            self._fill(keys.IVR, ivr_capacity(self.options))
            return self._hold_polls(), "<Pause"
        if kind is NEW_CALL_BUSY:
            self._fill(keys.IVR, ivr_capacity(self.options))
            self._fill(keys.HOLD, HOLD_MAX)
            requests, _ = self._new_calls(attested=False)
            return requests, 'reason="busy"'
        raise ValueError(f"unknown kind {kind.name}")

    def _in_call(self, kind: Kind) -> tuple[list[PreparedRequest], str]:
        entry, sheet = self.entries[IN_CALL_KINDS.index(kind)]
        template = drive_to(self.stack, entry, sheet, kind.step)
        params = dict(template.params)
        if kind.name == "figure_reprompt":
            params["Digits"] = "99999"  # more than any precinct's attendance
        state, twiml = self.redis.hmget(keys.call(template.call_sid), ["state", "twiml"])
        # One copy more than the requests: the probe that learns the marker.
        probe, *sids = [new_sid("CA") for _ in range(self.count + 1)]
        self._copy_calls(template.call_sid, state, twiml or b"", [probe, *sids])
        self.copied = [probe, *sids, template.call_sid]
        marker = self._marker_for(kind, template, {**params, "CallSid": probe})
        requests = [self._signed(template.path, {**params, "CallSid": sid}) for sid in sids]
        return requests, marker

    def _marker_for(self, kind: Kind, template: Template, params: dict[str, str]) -> str:
        """What the step answers when it takes the measured path: learnt by sending the
        template's request for a copy of its call (`params` name the copy)."""
        status, body = _post(self.stack.base_url, self._signed(template.path, params))
        if status != 200:
            raise RuntimeError(f"{kind.name}: the template's request answered {status}")
        marker = answer_marker(body)
        if kind.name == "figure_reprompt" and marker != f'action="{template.path.split("?")[0]}?':
            raise RuntimeError(f"{kind.name}: a figure of 99999 was not asked again: {body}")
        return marker

    def _copy_calls(
        self, template_sid: str, state: bytes | str | None, twiml: bytes | str, sids: list[str]
    ) -> None:
        """The template call's state under each of `sids`, holding an IVR slot, as the
        webhooks would have left it had each call keyed its way there itself."""
        if state is None:
            raise RuntimeError(f"the template call {template_sid} has no state in Redis")
        text = state.decode() if isinstance(state, bytes) else state
        now = time.time()
        with self.redis.pipeline(transaction=False) as pipe:
            for index, sid in enumerate(sids, start=1):
                key = keys.call(sid)
                pipe.hset(key, mapping={"state": text.replace(template_sid, sid), "twiml": twiml})
                pipe.expire(key, 3600)
                pipe.zadd(keys.IVR, {sid: now})
                if index % 5000 == 0:
                    pipe.execute()
            pipe.execute()

    def _new_calls(self, *, attested: bool) -> tuple[list[PreparedRequest], list[str]]:
        sids = [new_sid("CA") for _ in range(self.count)]
        requests = []
        for sid in sids:
            number = next(self.numbers)
            params = _call_params(sid, number, "ringing")
            if attested:
                params["StirVerstat"] = FULL_ATTESTATION
            requests.append(self._signed("/voice", params))
        return requests, sids

    def _status_callbacks(self) -> list[PreparedRequest]:
        sids = self.admitted_sids or [new_sid("CA") for _ in range(self.count)]
        requests = []
        for sid in sids:
            params = {
                **_call_params(sid, next(self.numbers), "completed"),
                "CallDuration": "42",
            }
            requests.append(self._signed("/voice/status", params))
        return requests

    def _hold_polls(self) -> list[PreparedRequest]:
        sids = self.held_sids or [new_sid("CA") for _ in range(self.count)]
        path = "/voice/hold?" + urlencode({"p": 0})
        requests = []
        for sid in sids:
            params = {
                **_call_params(sid, next(self.numbers), "in-progress"),
                "QueueSid": "QU" + "0" * 32,
                "QueueTime": "0",
                "QueuePosition": "1",
                "CurrentQueueSize": "1",
                "AvgQueueTime": "0",
            }
            requests.append(self._signed(path, params))
        return requests

    def _fill(self, key: str, size: int) -> None:
        """Pad a sorted set with placeholder calls up to `size` (now, so none is stale)."""
        missing = size - int(self.redis.zcard(key))
        now = time.time()
        with self.redis.pipeline(transaction=False) as pipe:
            for start in range(0, max(0, missing), 5000):
                batch = range(start, min(missing, start + 5000))
                pipe.zadd(key, {f"capacity-filler-{key}-{i}": now for i in batch})
            pipe.execute()

    def _signed(self, path: str, params: Mapping[str, str]) -> PreparedRequest:
        url = signature_url(self.stack.base_url + path)
        signature = str(self.validator.compute_signature(url, dict(params)))
        return PreparedRequest(path, signature, urlencode(params))


def _call_params(call_sid: str, number: str, status: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": "AC" + "0" * 32,
        "From": number,
        "To": TO_NUMBER,
        "Caller": number,
        "Called": TO_NUMBER,
        "CallStatus": status,
        "Direction": "inbound",
        "ApiVersion": API_VERSION,
    }


def _fresh_numbers(rng: random.Random) -> Iterator[str]:
    """Valid US numbers, never the same twice (each new call is a new caller)."""
    seen: set[str] = set()
    while True:
        number = (
            f"+1{rng.choice(('319', '515', '563', '641', '712'))}{rng.randrange(2000000, 9999999)}"
        )
        if number in seen or not phonenumbers.is_valid_number(phonenumbers.parse(number)):
            continue
        seen.add(number)
        yield number


def answer_marker(body: str) -> str:
    """What identifies the path an answer took: its first action URL's path, else the
    first verb with its attributes (`<Reject reason="busy" />`), else the empty document."""
    action = re.search(r'action="([^"?]*)\?', body)
    if action:
        return f'action="{action.group(1)}?'
    verb = re.search(r"<Response>(<[A-Za-z]+)", body)
    return verb.group(1) if verb else "<Response />"


def _post(base_url: str, request: PreparedRequest) -> tuple[int, str]:
    import requests

    response = requests.post(
        base_url + request.path,
        data=request.body,
        headers={
            "X-Twilio-Signature": request.signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
        timeout=15,
    )
    return response.status_code, response.text


# -- the template calls ---------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A call driven up to a step, and the request it was about to send there."""

    call_sid: str
    path: str
    """Path and query of the step's action URL, e.g. /voice/figure/first/2?n=5."""
    params: Mapping[str, str]


class _Reached(Exception):
    def __init__(self, template: Template) -> None:
        super().__init__(template.path)
        self.template = template


class _StopAtStep:
    """A transport that sends every request until the one for `step`, which it keeps."""

    def __init__(self, inner: HttpTransport, step: str, call_sid: str) -> None:
        self.inner = inner
        self.step = step
        self.call_sid = call_sid

    def post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        if voice_step(url) == self.step and "silence=" not in url:
            parts = urlsplit(url)
            path = f"{parts.path}?{parts.query}" if parts.query else parts.path
            raise _Reached(Template(self.call_sid, path, dict(params)))
        return self.inner.post(url, params, headers)


def drive_to(stack: Stack, entry: PinEntry, sheet: Any, step: str) -> Template:
    """Call the hotline as `entry`'s chair, keying the worksheet, until `step` is asked."""
    ballot = load_ballot(stack.ballot)
    chair = Chair(entry.precinct_id, entry.pin, sheet, ballot, entry.chair_phone, random.Random(1))
    call_sid = new_sid("CA")
    with HttpTransport() as http:
        phone = Softphone(
            _StopAtStep(http, step, call_sid),
            stack.base_url + "/voice",
            stack.auth_token,
            from_number=entry.chair_phone,
            call_sid=call_sid,
            extra_params={"StirVerstat": FULL_ATTESTATION},
        )
        try:
            record = phone.call(chair.answer)
        except _Reached as reached:
            return reached.template
    raise RuntimeError(f"the template call never reached {step}: {record.outcome}")


def _template_entries(pins: Sequence[PinEntry]) -> list[tuple[PinEntry, Any]]:
    """A precinct of its own (with its 2020 worksheet) for each in-call kind's template, so
    no kind finds another's report in progress."""
    sheets = {sheet.precinct_id: sheet for sheet in load_worksheets().values() if sheet.precinct_id}
    chosen = [(entry, sheets[entry.precinct_id]) for entry in pins if entry.precinct_id in sheets]
    if len(chosen) < len(IN_CALL_KINDS):
        raise RuntimeError("not enough precincts with worksheets for the template calls")
    return chosen[: len(IN_CALL_KINDS)]


# -- measuring ------------------------------------------------------------------------------


def _backlog(redis: Redis) -> int:
    """Call-log entries not yet written, and report jobs not yet run."""
    unread, uncommitted = call_log.backlog(redis)
    return unread + uncommitted + queue(REPORTS_QUEUE, redis).count


@dataclass
class _Watched:
    core_busy: float = 0.0
    stack_cpu: dict[str, float] = field(default_factory=dict)


@contextlib.contextmanager
def _cpu_watch(pids: Mapping[str, int], cpus: Sequence[int]) -> Iterator[_Watched]:
    """CPU of the stack's processes (with their children) and of its cores over a run."""
    watched = _Watched()
    processes = {name: psutil.Process(pid) for name, pid in pids.items()}
    before = {name: _cpu_seconds(process) for name, process in processes.items()}
    cores_before = psutil.cpu_times(percpu=True)
    started = time.monotonic()
    yield watched
    wall = time.monotonic() - started
    cores_after = psutil.cpu_times(percpu=True)
    busy = [_busy(cores_before[cpu], cores_after[cpu]) for cpu in cpus if cpu < len(cores_after)]
    watched.core_busy = round(sum(busy) / len(busy), 3) if busy else 0.0
    for name, process in processes.items():
        with contextlib.suppress(psutil.Error):
            used = _cpu_seconds(process) - before[name]
            watched.stack_cpu[name] = round(used / wall, 3)


def _cpu_seconds(process: psutil.Process) -> float:
    total = 0.0
    for each in (process, *process.children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            times = each.cpu_times()
            total += times.user + times.system
    return total


def _busy(before: Any, after: Any) -> float:
    idle = (after.idle + getattr(after, "iowait", 0)) - (before.idle + getattr(before, "iowait", 0))
    total = sum(after) - sum(before)
    return 1 - idle / total if total > 0 else 0.0


def _measured(server: str, kind: Kind, result: Replay, watched: _Watched, backlog: int) -> Measured:
    return Measured(
        server=server,
        kind=kind.name,
        path=kind.path,
        per_second=round(result.per_second, 1),
        requests=result.requests,
        matched=result.matched,
        other=result.other,
        errors=result.errors,
        p50_ms=round(result.p50_ms, 2),
        p99_ms=round(result.p99_ms, 2),
        generator_cpu=round(result.generator_cpu, 3),
        server_core_busy=watched.core_busy,
        stack_cpu=watched.stack_cpu,
        exhausted=result.exhausted,
        backlog_before=backlog,
        sample=result.sample,
    )


BARE = Kind("bare", "bare Flask endpoint: one Gather, no signature, no Redis")


def _measure_bare(options: CapacityOptions, server: str, work: Path, out: Path) -> Measured:
    """The yardstick: the bare endpoint on the same server and core, the same generator."""
    log_file = out / "logs" / server / "bare.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with serving_bare_app(
        1, options.threads, log_file, server=server, cpus=options.server_cpus
    ) as (voice_url, pid):
        _wait_until_answering(voice_url)
        params = _call_params(new_sid("CA"), "+15152001234", "ringing")
        request = PreparedRequest("/voice", "unsigned", urlencode(params))
        prefix = work / "requests-bare"
        # The same request for every thread: the bare endpoint keeps no state to advance.
        write_request_files(
            [request] * options.generator_threads, prefix, options.generator_threads
        )
        with _cpu_watch({"web": pid}, options.server_cpus) as watched:
            result = replay(
                voice_url.removesuffix("/voice"),
                prefix,
                'action="/voice/',
                seconds=options.seconds,
                threads=options.generator_threads,
                connections=options.connections,
                cpus=options.generator_cpus,
                repeat=True,
            )
    return _measured(server, BARE, result, watched, 0)


def _wait_until_answering(url: str, timeout: float = 60.0) -> None:
    """A server listens before its workers have imported the app: wait for an answer."""
    import requests

    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(requests.RequestException):
            if requests.post(url, data={}, timeout=5).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.2)


# -- the report -----------------------------------------------------------------------------


def render_markdown(report: CapacityReport) -> str:
    options = report.options
    lines = [
        "# Webhook capacity",
        "",
        f"Command: `{report.command}`",
        "",
        f"Machine: {_machine(report.machine)}",
        "",
        f"The stack (one web process with {options['threads']} threads, its Redis and one rq "
        f"worker at nice {options['rq_nice']}) on CPU {_cpus(options['server_cpus'])}; "
        f"PostgreSQL is the machine's server, unpinned, and only the worker writes to it. "
        f"wrk ({options['generator_threads']} threads, {options['connections']} connections) on "
        f"CPU {_cpus(options['generator_cpus'])}. Each kind driven flat out for "
        f"{options['seconds']:g} s; every request to a call of its own, signed ahead.",
        "",
        "| server | kind | path measured | req/s | took the path | other | errors | "
        "p50 / p99 ms | server core busy | generator CPU | stack CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in report.results:
        cpu = result.stack_cpu
        stack = ", ".join(f"{name} {share:.0%}" for name, share in cpu.items())
        flag = " (ran out of requests)" if result.exhausted else ""
        lines.append(
            f"| {result.server} | {result.kind} | {result.path} | "
            f"{result.per_second:,.0f}{flag} | {result.matched:,} | {result.other:,} | "
            f"{result.errors:,} | {result.p50_ms:g} / {result.p99_ms:g} | "
            f"{result.server_core_busy:.0%} | {result.generator_cpu:.0%} | {stack} |"
        )
    lines += ["", "Generator CPU below 100 % means wrk had headroom: the server was the limit."]
    profiled = [r for r in report.results if r.profile]
    if profiled:
        names = [name for name, _ in CATEGORIES] + [OTHER]
        lines += [
            "",
            "## Where the web process's time goes (py-spy --gil, share of samples)",
            "",
            "| server | kind | " + " | ".join(names) + " |",
            "|---|---|" + "---|" * len(names),
        ]
        for r in profiled:
            cells = " | ".join(f"{r.profile.get(name, 0):.0%}" for name in names)
            lines.append(f"| {r.server} | {r.kind} | {cells} |")
    samples = [r for r in report.results if r.other and r.sample]
    if samples:
        lines += ["", "## Answers that took another path (first of each)", ""]
        lines += [f"- {r.server} {r.kind}: `{r.sample[:200]}`" for r in samples]
    return "\n".join(lines) + "\n"


def _machine(facts: Mapping[str, Any]) -> str:
    return (
        f"{facts.get('cores')} cores ({facts.get('cpu')}), {facts.get('memory_gib')} GiB, "
        f"Python {facts.get('python')}, load average {facts.get('load_average')} before the run"
    )


def _cpus(cpus: Sequence[int]) -> str:
    return ",".join(map(str, cpus))


def headroom_ok(report: CapacityReport, ceiling: float = 0.95) -> bool:
    """Whether the generator stayed below `ceiling` of its core in every run."""
    return all(result.generator_cpu < ceiling for result in report.results)
