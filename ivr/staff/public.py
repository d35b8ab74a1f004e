"""What needs no staff login: /healthz, /healthz/call-path (the load balancer's check), the
public results feed, and /metrics (which takes a staff login or the METRICS_TOKEN bearer
token instead)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify, redirect, request, url_for
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ivr.hotline import current_hotline
from ivr.metrics import collect
from ivr.staff import prometheus
from ivr.staff.access import signed_in_staff
from ivr.staff.accounts import same_secret
from ivr.staff.results_views import current_results
from queues import election_mode

log = logging.getLogger(__name__)
bp = Blueprint("public", __name__)

RESULTS_MAX_AGE_SECONDS = 5
"""Browsers and proxies may reuse the public feed this long: it is polled hard on the night."""


@bp.get("/")
def home() -> Response:
    return redirect(url_for("overview.index"))  # type: ignore[return-value]


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    hotline = current_hotline()
    checks = {"redis": "ok", "database": "ok"}
    try:
        hotline.redis.ping()
    except RedisError:
        log.exception("health check: Redis does not answer")
        checks["redis"] = "failed"
    try:
        with hotline.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        log.exception("health check: the database does not answer")
        checks["database"] = "failed"
    healthy = all(value == "ok" for value in checks.values())
    response = jsonify(checks)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if healthy else 503


@bp.get("/healthz/call-path")
def healthz_call_path() -> tuple[Response, int]:
    """What a load balancer asks before sending webhooks to this node: the web process
    answers and reaches Redis (a PING through the hotline's own client, Sentinel included).

    Not the database: webhooks never touch it (issue 8), so a database outage, which every
    node shares, must not take every node out of the pool. Cheap (one round trip), no
    login, nothing in the answer but "ok" or "failed"."""
    try:
        current_hotline().redis.ping()
        healthy = True
    except RedisError:
        log.warning("call-path health check: Redis does not answer", exc_info=True)
        healthy = False
    response = jsonify({"redis": "ok" if healthy else "failed"})
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if healthy else 503


@bp.get("/results.json")
def results_json() -> Response:
    """Committed results, statewide and by county: what the public may see."""
    hotline = current_hotline()
    # A rehearsal's figures are published as such: "mode" says whether anything counts.
    mode = election_mode.current(hotline.redis, hotline.sessions)
    payload = {
        "generated_at": datetime.now(UTC).isoformat(),
        "mode": mode.value,
        **current_results().to_dict(),
    }
    response = jsonify(payload)
    response.headers["Cache-Control"] = f"public, max-age={RESULTS_MAX_AGE_SECONDS}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/metrics")
def metrics() -> Response:
    if not _may_scrape():
        response = Response("staff login or bearer token required\n", status=401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="hotline metrics"'
        return response
    body = prometheus.render(collect(current_hotline()))
    response = Response(body, content_type=prometheus.CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def _may_scrape() -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = current_hotline().settings.metrics_token
    if scheme.lower() == "bearer" and same_secret(token.strip(), expected):
        return True
    return signed_in_staff() is not None
