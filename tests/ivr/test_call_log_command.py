"""`hotline calllog dead-letters`: the call log's dead letters, from the command line."""

from __future__ import annotations

import json

from flask.testing import FlaskCliRunner
from redis import Redis

from callflows.events import CallStarted
from ivr.cli import cli
from ivr.hotline import Hotline
from queues import call_log

LONG_SID = "CA" + "9" * 100
"""A call SID no `call` row can take."""


def test_the_command_lists_dead_letters_most_recent_first(
    runner: FlaskCliRunner, hotline: Hotline, redis: Redis
) -> None:
    empty = runner.invoke(cli, ["calllog", "dead-letters"])
    assert empty.exit_code == 0 and "no dead letters" in empty.output

    call_log.add(redis, CallStarted(call_sid=LONG_SID, at="2020-02-03T19:00:00+00:00"))
    redis.xadd(call_log.STREAM, {"kind": "exploded", "payload": "{}"})
    assert call_log.drain(redis, hotline.sessions, "worker-a") == 2

    listed = runner.invoke(cli, ["calllog", "dead-letters"])
    assert listed.exit_code == 0, listed.output
    newest, oldest = listed.output.splitlines()
    assert newest.split("\t")[1:3] == [
        "exploded",
        "MalformedEvent: not a call event kind: 'exploded'",
    ]
    when, kind, error, event = oldest.split("\t")
    assert when.endswith("+00:00")
    assert (kind, error) == ("started", "UnstorableEvent: call_sid longer than 64 characters")
    assert json.loads(event)["call_sid"] == LONG_SID

    one = runner.invoke(cli, ["calllog", "dead-letters", "--limit", "1", "--json"])
    assert one.exit_code == 0, one.output
    (line,) = one.output.splitlines()
    assert json.loads(line)["kind"] == "exploded"
    assert runner.invoke(cli, ["calllog", "dead-letters", "--limit", "0"]).exit_code == 2
