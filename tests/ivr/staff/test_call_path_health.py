"""/healthz/call-path, the load balancer's check: Redis decides, the database does not."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from flask.testing import FlaskClient

from ivr import create_app
from ivr.hotline import Hotline
from tests.support.services import free_port

PATH = "/healthz/call-path"


def test_call_path_health_answers_without_login(client: FlaskClient) -> None:
    response = client.get(PATH)
    assert response.status_code == 200
    assert response.get_json() == {"redis": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_a_database_outage_keeps_the_node_in_the_pool(hotline: Hotline, tmp_path: Path) -> None:
    # The database is unreachable, so /healthz fails; webhooks never touch the database, so
    # the node still serves calls and the balancer must keep it.
    no_database = dataclasses.replace(
        hotline.settings, database_url=f"sqlite:///{tmp_path}/missing/dir/hotline.db"
    )
    app = create_app(no_database)
    try:
        client = app.test_client()
        assert client.get("/healthz").status_code == 503
        response = client.get(PATH)
        assert (response.status_code, response.get_json()) == (200, {"redis": "ok"})
    finally:
        app.extensions["hotline"].engine.dispose()


def test_without_redis_the_node_leaves_the_pool(hotline: Hotline) -> None:
    no_redis = dataclasses.replace(hotline.settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(no_redis)
    try:
        response = app.test_client().get(PATH)
        assert (response.status_code, response.get_json()) == (503, {"redis": "failed"})
    finally:
        app.extensions["hotline"].engine.dispose()
