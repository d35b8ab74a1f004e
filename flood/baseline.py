"""The yardstick for webhook throughput: a bare Flask endpoint that returns one Gather.

`hotline flood` serves it with the same gunicorn settings as the hotline's web tier and
drives both flat out with the same client (closed loop, no think time), so the ratio of
the two says what the hotline's own work (signature check, Redis state, screening, rq)
costs on this machine. Run as `python -m flood.baseline --bind HOST:PORT`.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response
from twilio.twiml.voice_response import Gather, VoiceResponse

from flood.servers import free_port, pinned_to, wait_for_port
from ivr.server import DEFAULT_SERVER


def bare_app() -> Flask:
    """POST /voice and /voice/<anything>: the same Gather, built as the hotline builds TwiML."""
    app = Flask(__name__)

    def gather(step: str = "figure/first/1") -> Response:
        response = VoiceResponse()
        prompt = Gather(input="dtmf", action=f"/voice/{step}?n=1", method="POST", timeout=5)
        prompt.say("Biden?", voice="Polly.Joanna", language="en-US")
        response.append(prompt)
        response.redirect(f"/voice/{step}?n=1&silence=1", method="POST")
        return Response(str(response), mimetype="text/xml")

    app.add_url_rule("/voice", "call", gather, methods=["POST"])
    app.add_url_rule("/voice/<path:step>", "step", gather, methods=["POST"])
    return app


@contextlib.contextmanager
def serving_bare_app(
    workers: int,
    threads: int,
    log_file: Path,
    *,
    server: str = DEFAULT_SERVER,
    cpus: tuple[int, ...] | None = None,
) -> Iterator[tuple[str, int]]:
    """Serve the bare app with `server` on a free loopback port (on `cpus`); yields its
    Voice URL and the server's PID."""
    port = free_port()
    args = [
        sys.executable, "-m", "flood.baseline", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads), "--server", server,
    ]  # fmt: skip
    with log_file.open("w") as out:
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, preexec_fn=pinned_to(cpus)
        )
        try:
            wait_for_port(port, timeout=30)
            yield f"http://127.0.0.1:{port}/voice", process.pid
        finally:
            process.terminate()
            process.wait(timeout=20)


@dataclass(frozen=True)
class Throughput:
    """Requests a target answered per second when driven flat out."""

    target: str
    requests: int
    failures: int
    seconds: float
    concurrency: int
    p50_ms: float
    p99_ms: float

    rounds: int = 1

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @classmethod
    def combine(cls, parts: list[Throughput]) -> Throughput:
        """Rounds against one target as one figure: requests and seconds added up, the
        latency percentiles those of the worst round."""
        return cls(
            target=parts[0].target,
            requests=sum(part.requests for part in parts),
            failures=sum(part.failures for part in parts),
            seconds=round(sum(part.seconds for part in parts), 2),
            concurrency=parts[0].concurrency,
            p50_ms=max(part.p50_ms for part in parts),
            p99_ms=max(part.p99_ms for part in parts),
            rounds=len(parts),
        )

    def to_dict(self) -> dict[str, object]:
        return {**vars(self), "per_second": round(self.per_second, 1)}


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank); 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    from ivr.server import SERVERS, HotlineServer, exec_server

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--server", choices=SERVERS, default=DEFAULT_SERVER)
    args = parser.parse_args(argv)
    if args.server == "gunicorn":
        HotlineServer(bare_app, bind=args.bind, workers=args.workers, threads=args.threads).run()
        return
    exec_server(
        args.server, "flood.bare_wsgi:app", bind=args.bind, workers=args.workers or 1,
        threads=args.threads,
    )  # fmt: skip


if __name__ == "__main__":
    main()
