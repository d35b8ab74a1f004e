"""The overload benchmark (issue 16): new prank calls at three times the stack's capacity.

For each setting of overload control (on, then off), in the same run:

1. start the stack behind one HAProxy (`flood.balanced_stack`), all of it (Redis, the web
   node, the rq worker, HAProxy) pinned to the stack's core;
2. measure the new-call path's capacity as issue 12's `hotline capacity` does: wrk on the
   generator's core replays new calls, signed ahead, straight at the web node for a few
   seconds (the IVR and then the hold queue fill, so this is the mix a flood meets);
3. offer `multiple` times that rate of new calls through HAProxy for `seconds`, open loop
   (`flood.paced_calls`, on the generator's core, its CPU share reported: near 1.0 it
   would be measuring itself), while `chairs` scripted chairs (the softphone over HTTP,
   from their registered phones, on the generator's core) key real 2020 worksheets;
4. report what the chairs got (receipts, answers other than 200, refusals, each step's
   latency), what their reports became (committed exactly as keyed), and what the pranks
   got (refused busy, how fast; let in; failed).

`hotline flood --scenario overload` runs it; the figures go in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from redis import Redis
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from callflows import prompts
from callflows.ballots import Ballot, load_ballot
from callflows.state import BLOCKS
from flood.balanced_stack import BalancedOptions, BalancedStack, balanced_stack
from flood.baseline import percentile
from flood.new_call_flood import new_call_params
from flood.personas import Chair
from flood.plan import consistent, replayable
from flood.scenarios import PinEntry, read_pins
from flood.stack import StackOptions
from flood.worksheets import Worksheet, load_worksheets
from flood.wrk import PreparedRequest, replay, write_request_files
from models import Precinct, Report, make_engine
from queues import counters
from softphone import (
    APPLICATION_ERROR_MESSAGE,
    BUSY,
    COMPLETED,
    REJECTED,
    CallRecord,
    Clock,
    GatherPrompt,
    HttpTransport,
    Keys,
    Softphone,
)
from softphone.caller import Answer, signature_url

ATTESTED = "TN-Validation-Passed-A"
RECEIVED = prompts.receipt("000000")[0]
CAPACITY_RATE_BOUND = 5000
"""New calls prepared per second of the capacity measurement: more than one core serves."""
CHAIRS_GRACE_SECONDS = 60.0
"""How long after the flood the chairs' calls may go on (the stack drains its backlog)."""
COMMIT_SECONDS = 60.0


@dataclass(frozen=True)
class OverloadOptions:
    seconds: float = 30.0
    """How long the pranks arrive."""
    multiple: float = 3.0
    """The pranks' arrival rate, in multiples of the measured capacity."""
    chairs: int = 10
    think_seconds: float = 0.2
    """A chair's pause before each answer."""
    chairs_after_seconds: float = 3.0
    """When the chairs start calling, into the flood."""
    threads: int = 8
    """The web node's threads (one worker process)."""
    stack_cpus: tuple[int, ...] = (0,)
    generator_cpus: tuple[int, ...] = (1,)
    capacity_seconds: float = 5.0
    max_in_flight: int = 2000
    controls: tuple[bool, ...] = (True, False)
    """Overload control on, off: each on a fresh stack of its own."""
    seed: int = 16


class RecordingTransport(HttpTransport):
    """Real HTTP that notes each request's path, status and seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, int, float]] = []

    def post_within(
        self,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> tuple[int, str]:
        started = time.perf_counter()
        status, body = super().post_within(
            url, params, headers, connect_timeout=connect_timeout, read_timeout=read_timeout
        )
        path = url.split("://", 1)[-1].partition("/")[2].partition("?")[0]
        self.seen.append(("/" + path, status, time.perf_counter() - started))
        return status, body


@dataclass
class ChairCall:
    """One chair's call through the balancer."""

    entry: PinEntry
    sheet: Worksheet
    transport: RecordingTransport = field(default_factory=RecordingTransport)
    record: CallRecord | None = None
    error: str = ""

    def problems(self) -> list[str]:
        """What went wrong for this chair on the line (nothing: a clean call)."""
        record, precinct = self.record, self.entry.precinct_id
        if self.error or record is None:
            return [f"{precinct}: {self.error or 'no call'}"]
        found = []
        if record.outcome != COMPLETED or RECEIVED not in record.spoken:
            found.append(f"{precinct}: {record.outcome}, no receipt")
        if record.application_errors or APPLICATION_ERROR_MESSAGE in record.spoken:
            found.append(f"{precinct}: application errors {record.error_codes}")
        if any(status != 200 for _, status, _ in self.transport.seen):
            found.append(f"{precinct}: answers {record.statuses}")
        return found


def fit_chairs(stack: BalancedStack, count: int, seed: int) -> list[ChairCall]:
    """`count` chairs with a 2020 worksheet the flow can replay, from the pins file."""
    ballot = load_ballot(stack.stack.ballot)
    sheets = load_worksheets()
    fit = []
    for entry in read_pins(stack.stack.pins_file):
        sheet = sheets.get((entry.county, entry.precinct))
        if sheet is None or sheet.precinct_id != entry.precinct_id:
            continue
        if replayable(sheet, ballot) and consistent(sheet, ballot):
            fit.append(ChairCall(entry, sheet))
    return random.Random(seed).sample(fit, count)


def place_chair_call(
    stack: BalancedStack, call: ChairCall, answer: Answer, think_seconds: float
) -> None:
    """The chair's call through the balancer, from their registered phone."""
    base = stack.stack.base_url

    def paced(prompt: GatherPrompt) -> Keys:
        time.sleep(think_seconds)
        return answer(prompt)

    phone = Softphone(
        call.transport,
        f"{base}/voice",
        stack.stack.auth_token,
        from_number=call.entry.chair_phone,
        status_callback_url=f"{base}/voice/status",
        fallback_url=f"{base}/voice/fallback",
        extra_params={"StirVerstat": ATTESTED},
        clock=Clock(),
    )
    try:
        call.record = phone.call(paced)
    except Exception as error:  # a step the worksheet has no answer for
        call.error = f"{type(error).__name__}: {error}"


def committed_reports(
    database_url: str, precincts: set[str]
) -> dict[str, list[tuple[str, object]]]:
    """Each precinct's stored reports: (status, figures)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Precinct.precinct_id, Report.status, Report.figures)
                .join(Precinct, Report.precinct_pk == Precinct.id)
                .where(Precinct.precinct_id.in_(precincts))
            )
            found: dict[str, list[tuple[str, object]]] = {}
            for precinct_id, status, figures in rows:
                found.setdefault(precinct_id, []).append((str(status), figures))
            return found
    finally:
        engine.dispose()


def wait_for_commits(
    stack: BalancedStack, calls: Sequence[ChairCall], timeout: float
) -> dict[str, list[tuple[str, object]]]:
    """The chairs' stored reports once each has one committed (or at `timeout`)."""
    mine = {call.entry.precinct_id for call in calls}
    deadline = time.monotonic() + timeout
    while True:
        stored = committed_reports(stack.stack.database_url, mine)
        done = sum([s for s, _ in rows] == ["committed"] for rows in stored.values())
        if done == len(mine) or time.monotonic() > deadline:
            return stored
        time.sleep(0.5)


@dataclass
class OverloadRun:
    """One setting of overload control, measured."""

    overload_control: bool
    capacity_per_second: float
    capacity_generator_cpu: float
    rate: float
    pranks: dict[str, float]
    chairs: int
    chairs_completed: int
    chairs_committed_exactly: int
    chairs_refused: int
    chair_error_answers: int
    chair_application_errors: int
    in_call_p50_ms: float
    in_call_p99_ms: float
    in_call_max_ms: float
    first_call_max_ms: float
    balancer_refused: int
    app_in_call_p99_ms: float
    problems: list[str] = field(default_factory=list)


def run_overload(options: OverloadOptions, work: Path, logs: Path) -> list[OverloadRun]:
    """Each setting of `options.controls` on a fresh stack, one after the other: its data
    (Redis, the pins file) under `work`, its processes' logs under `logs`."""
    runs = []
    for control in options.controls:
        name = "on" if control else "off"
        runs.append(_measure(options, control, work / name, logs / name))
    return runs


def _measure(options: OverloadOptions, control: bool, work: Path, logs: Path) -> OverloadRun:
    sized = StackOptions(
        web_workers=1, threads=options.threads, rq_workers=1, cpus=options.stack_cpus
    )
    balanced = BalancedOptions(stack=sized, overload_control=control)
    with balanced_stack(balanced, work, logs) as stack:
        capacity, capacity_cpu = _capacity(stack, options, work)
        rate = options.multiple * capacity
        calls = fit_chairs(stack, options.chairs, options.seed)
        ballot = load_ballot(stack.stack.ballot)
        flood = _start_paced(stack, options, rate)
        with _pinned(options.generator_cpus):
            time.sleep(options.chairs_after_seconds)
            threads = []
            for call in calls:
                entry = call.entry
                keyer = Chair(entry.precinct_id, entry.pin, call.sheet, ballot,
                              entry.chair_phone, random.Random(options.seed))  # fmt: skip
                answer = keyer.answer
                thread = threading.Thread(
                    target=place_chair_call, args=(stack, call, answer, options.think_seconds)
                )
                thread.start()
                threads.append(thread)
            out, _ = flood.communicate(timeout=options.seconds + 120)
            for thread in threads:
                thread.join(timeout=CHAIRS_GRACE_SECONDS)
        pranks = json.loads(out)
        refused = stack.overload().refused_total
        app_in_call = counters.in_call_latency_percentiles(Redis.from_url(stack.stack.redis_url))
        stored = wait_for_commits(stack, calls, COMMIT_SECONDS)
    return _summarised(control, capacity, capacity_cpu, rate, pranks, calls, stored, ballot,
                       refused, app_in_call)  # fmt: skip


def _capacity(stack: BalancedStack, options: OverloadOptions, work: Path) -> tuple[float, float]:
    """New calls a second the web node answers flat out (wrk, straight at the node)."""
    validator = RequestValidator(stack.stack.auth_token)
    url = signature_url(stack.stack.base_url + "/voice")
    rng = random.Random(options.seed)
    requests = []
    for _ in range(int(CAPACITY_RATE_BOUND * options.capacity_seconds)):
        params = new_call_params(rng)
        signature = str(validator.compute_signature(url, params))
        requests.append(PreparedRequest("/voice", signature, urlencode(params)))
    prefix = work / "capacity-requests"
    write_request_files(requests, prefix, 2)
    result = replay(
        stack.node_url,
        prefix,
        "<Response",
        seconds=options.capacity_seconds,
        threads=2,
        connections=2 * options.threads,
        cpus=options.generator_cpus,
    )
    return result.per_second, result.generator_cpu


def _start_paced(
    stack: BalancedStack, options: OverloadOptions, rate: float
) -> subprocess.Popen[str]:
    args = [
        sys.executable, "-m", "flood.paced_calls", "--url", stack.stack.base_url,
        "--rate", f"{rate:.1f}", "--seconds", str(options.seconds),
        "--max-in-flight", str(options.max_in_flight),
    ]  # fmt: skip
    env = {**os.environ, "TWILIO_AUTH_TOKEN": stack.stack.auth_token}
    cpus = set(options.generator_cpus)
    return subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus),
    )  # fmt: skip


@contextmanager
def _pinned(cpus: Sequence[int]) -> Iterator[None]:
    """This process (the chairs' softphones) on `cpus`, then back where it was."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(cpus))
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _summarised(
    control: bool,
    capacity: float,
    capacity_cpu: float,
    rate: float,
    pranks: dict[str, float],
    calls: Sequence[ChairCall],
    stored: dict[str, list[tuple[str, object]]],
    ballot: Ballot,
    refused: int,
    app_in_call: dict[str, float],
) -> OverloadRun:
    problems = [problem for call in calls for problem in call.problems()]
    exact = 0
    for call in calls:
        want = {block: call.sheet.block(ballot, block) for block in BLOCKS}
        if stored.get(call.entry.precinct_id) == [("committed", want)]:
            exact += 1
        else:
            problems.append(
                f"{call.entry.precinct_id}: stored {stored.get(call.entry.precinct_id)}"
            )
    steps = [seconds for call in calls for _, _, seconds in call.transport.seen]
    firsts = [call.transport.seen[0][2] for call in calls if call.transport.seen]
    statuses = [status for call in calls for _, status, _ in call.transport.seen]
    return OverloadRun(
        overload_control=control,
        capacity_per_second=round(capacity, 1),
        capacity_generator_cpu=round(capacity_cpu, 3),
        rate=round(rate, 1),
        pranks=pranks,
        chairs=len(calls),
        chairs_completed=sum(1 for call in calls if call.record and RECEIVED in call.record.spoken),
        chairs_committed_exactly=exact,
        chairs_refused=sum(
            1 for call in calls if call.record and call.record.outcome in (BUSY, REJECTED)
        ),
        chair_error_answers=sum(status != 200 for status in statuses),
        chair_application_errors=sum(
            call.record.application_errors for call in calls if call.record
        ),
        in_call_p50_ms=_ms(steps, 0.50),
        in_call_p99_ms=_ms(steps, 0.99),
        in_call_max_ms=_ms(steps, 1.0),
        first_call_max_ms=round(max(firsts, default=0.0) * 1000, 1),
        balancer_refused=refused,
        app_in_call_p99_ms=app_in_call.get("p99", 0.0),
        problems=problems,
    )


def _ms(seconds: list[float], fraction: float) -> float:
    return round(percentile(seconds, fraction) * 1000, 1)


def render_markdown(runs: Sequence[OverloadRun], options: OverloadOptions) -> str:
    """The runs side by side, as docs/BENCHMARKS.md shows them."""
    header = (
        "| | "
        + " | ".join("overload control on" if run.overload_control else "off" for run in runs)
        + " |"
    )
    rows = [header, "|---|" + "---|" * len(runs)]

    def row(label: str, values: Sequence[object]) -> None:
        rows.append(f"| {label} | " + " | ".join(str(value) for value in values) + " |")

    row(
        "capacity, new calls/s (wrk straight at the node; wrk's CPU)",
        [f"{r.capacity_per_second} ({r.capacity_generator_cpu:.0%})" for r in runs],
    )
    row(
        f"pranks offered/s ({options.multiple} x capacity, {options.seconds:.0f} s)",
        [r.rate for r in runs],
    )
    row(
        "pranks sent / not sent (in flight at the cap)",
        [f"{r.pranks['sent']:.0f} / {r.pranks['not_sent']:.0f}" for r in runs],
    )
    row(
        "generator's CPU share, max lag behind its schedule",
        [f"{r.pranks['cpu_share']:.0%}, {r.pranks['max_lag_ms']:.0f} ms" for r in runs],
    )
    row(
        "pranks refused busy (p50 / p99 ms)",
        [
            f"{r.pranks['busy']:.0f} ({r.pranks['busy_p50_ms']} / {r.pranks['busy_p99_ms']})"
            for r in runs
        ],
    )
    row(
        "pranks answered otherwise (p50 / p99 ms)",
        [
            f"{r.pranks['answered']:.0f} ({r.pranks['answered_p50_ms']} / "
            f"{r.pranks['answered_p99_ms']})"
            for r in runs
        ],
    )
    row("pranks failed (no 200 in 15 s)", [f"{r.pranks['errors']:.0f}" for r in runs])
    row("refused by the balancer (its statistics)", [r.balancer_refused for r in runs])
    row("chairs with a receipt", [f"{r.chairs_completed} of {r.chairs}" for r in runs])
    row(
        "chairs' reports committed exactly",
        [f"{r.chairs_committed_exactly} of {r.chairs}" for r in runs],
    )
    row("chairs refused", [r.chairs_refused for r in runs])
    row(
        "chairs' error answers (not 200) / application errors",
        [f"{r.chair_error_answers} / {r.chair_application_errors}" for r in runs],
    )
    row(
        "chairs' webhooks p50 / p99 / max ms (client side)",
        [f"{r.in_call_p50_ms} / {r.in_call_p99_ms} / {r.in_call_max_ms}" for r in runs],
    )
    row("chairs' first /voice, slowest ms", [r.first_call_max_ms for r in runs])
    row(
        "in-call p99 ms as the app measures it (from HAProxy's arrival)",
        [r.app_in_call_p99_ms for r in runs],
    )
    return "\n".join(rows) + "\n"


def write_report(runs: Sequence[OverloadRun], options: OverloadOptions, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data = {"options": asdict(options), "runs": [asdict(run) for run in runs]}
    (out / "overload.json").write_text(json.dumps(data, indent=2))
    (out / "overload.md").write_text(render_markdown(runs, options))


OVERLOAD_SCENARIO = "overload"
"""`hotline flood --scenario overload` runs this benchmark instead of a caucus night."""


def run_scenario(out: Path, *, seconds: float | None, chairs: int | None, seed: int | None) -> str:
    """The overload scenario with `hotline flood`'s options applied; its report (Markdown),
    also written to `out` (overload.md, overload.json, the processes' logs)."""
    defaults = OverloadOptions()
    options = OverloadOptions(
        seconds=seconds or defaults.seconds,
        chairs=chairs or defaults.chairs,
        seed=defaults.seed if seed is None else seed,
    )
    # The stack's data (its PINs among it) in a private folder that goes away afterwards.
    with tempfile.TemporaryDirectory(prefix="hotline-overload-") as work:
        runs = run_overload(options, Path(work), out / "logs")
    write_report(runs, options, out)
    return render_markdown(runs, options)
