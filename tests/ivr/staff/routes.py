"""Every route of the app, with sample arguments, for tests that must cover them all."""

from __future__ import annotations

from flask import Flask

PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "auth.login",
        "auth.logout",
        "public.home",
        "public.healthz",
        "public.healthz_call_path",
        "public.results_json",
        "public.metrics",  # a staff login or the bearer token: tested on its own
    }
)
"""Endpoints anyone may reach; voice.* answers only requests signed by Twilio."""

SAMPLE_ARGUMENTS = {
    "precinct_id": "100001",
    "report_id": "00000000-0000-0000-0000-000000000000",
    "staff_id": 1,
    "change": "disable",
    "filename": "staff.css",
    "zero_id": 1,
    "message_id": 1,
    "photo_id": 1,
}


def staff_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) of every route that needs a staff login."""
    adapter = app.url_map.bind("hotline.test")
    routes = []
    for rule in app.url_map.iter_rules():
        if not is_staff_route(rule.endpoint):
            continue
        path = adapter.build(rule.endpoint, {arg: SAMPLE_ARGUMENTS[arg] for arg in rule.arguments})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, path))
    return routes


def is_staff_route(endpoint: str) -> bool:
    """Whether `endpoint` needs a staff login (neither public nor a Twilio webhook)."""
    return endpoint not in PUBLIC_ENDPOINTS and not endpoint.startswith("voice.")
