"""Playing a scenario's callers against a hotline over HTTP, many calls at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ivr.flood.personas import Chair, Prank
from ivr.flood.plan import CHAIR_ATTESTATION
from ivr.softphone import CallRecord, Clock, HttpTransport, Softphone


@dataclass
class CallResult:
    """One call a persona placed, and what happened."""

    persona: str
    """"chair", or the kind of prank."""
    precinct_id: str
    phone: str
    record: CallRecord
    started: float
    wall_seconds: float


def run_callers(
    callers: Sequence[Chair | Prank],
    *,
    voice_url: str,
    auth_token: str,
    concurrency: int,
    time_scale: float = 0.0,
    deadline_seconds: float = 600.0,
) -> list[CallResult]:
    """Place every caller's calls, `concurrency` at a time; stop starting calls at the deadline."""
    results: list[CallResult] = []
    lock = threading.Lock()
    local = threading.local()
    deadline = time.monotonic() + deadline_seconds

    def transport() -> HttpTransport:
        if not hasattr(local, "transport"):
            local.transport = HttpTransport()
        found: HttpTransport = local.transport
        return found

    def run(caller: Chair | Prank) -> None:
        while time.monotonic() < deadline and (answer := caller.next_call()) is not None:
            phone = Softphone(
                transport(),
                voice_url,
                auth_token,
                from_number=caller.phone,
                status_callback_url=f"{voice_url}/status",
                fallback_url=f"{voice_url}/fallback",
                extra_params=_attestation(caller),
                clock=Clock(time_scale=time_scale),
            )
            started = time.monotonic()
            record = phone.call(answer)
            result = CallResult(
                persona="chair" if isinstance(caller, Chair) else caller.kind,
                precinct_id=caller.precinct_id
                if isinstance(caller, Chair)
                else caller.target_precinct,
                phone=caller.phone,
                record=record,
                started=started,
                wall_seconds=time.monotonic() - started,
            )
            with lock:
                results.append(result)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(run, caller) for caller in callers]:
            future.result()
    return results


def _attestation(caller: Chair | Prank) -> dict[str, str] | None:
    if isinstance(caller, Chair):
        return {"StirVerstat": CHAIR_ATTESTATION}
    return {"StirVerstat": caller.stir_verstat} if caller.stir_verstat else None
