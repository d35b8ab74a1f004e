"""A webhook's writes as one script: atomic as MULTI/EXEC was, with the lock released last."""

from __future__ import annotations

import pytest
from redis import Redis
from redis.exceptions import ResponseError
from rq import Queue

from ivr.callstore import Writes
from queues import pin_guard


def test_every_queued_write_lands_and_the_lock_is_released(redis: Redis) -> None:
    redis.set("lock", "mine")
    writes = Writes.on(redis)
    writes.pipe.hset("call", mapping={"state": "{}", "twiml": "<Response/>"})
    writes.pipe.zadd("ivr", {"CA1": 1.5}, xx=True)
    writes.pipe.set("progress", "x", ex=60)
    writes.pipe.xadd("log", {"kind": "call_started", "payload": "{}"})
    writes.pipe.release_lock("lock", "mine")
    assert redis.hgetall("call") == {}  # nothing is sent before send()
    writes.send()
    assert redis.hgetall("call") == {b"state": b"{}", b"twiml": b"<Response/>"}
    assert 0 < redis.ttl("progress") <= 60 and redis.xlen("log") == 1
    assert redis.zcard("ivr") == 0  # XX: only a call that has a slot is touched
    assert redis.get("lock") is None


def test_a_lock_taken_over_meanwhile_is_not_released(redis: Redis) -> None:
    redis.set("lock", "someone else's")
    writes = Writes.on(redis)
    writes.pipe.set("state", "new")
    writes.pipe.release_lock("lock", "mine")
    writes.send()
    assert redis.get("state") == b"new" and redis.get("lock") == b"someone else's"


def test_a_failing_write_stops_no_other_and_is_raised_as_exec_would(redis: Redis) -> None:
    redis.set("a string", "x")
    redis.set("lock", "mine")
    writes = Writes.on(redis)
    writes.pipe.set("before", 1)
    writes.pipe.hset("a string", "field", "value")  # WRONGTYPE
    writes.pipe.set("after", 1)
    writes.pipe.release_lock("lock", "mine")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        writes.send()
    assert redis.get("before") == redis.get("after") == b"1"
    assert redis.get("lock") is None


def test_abandoned_writes_are_never_sent(redis: Redis) -> None:
    redis.set("lock", "mine")
    writes = Writes.on(redis)
    writes.pipe.set("state", "new")
    writes.pipe.release_lock("lock", "mine")
    writes.abandon()
    writes.send()  # nothing left to send
    assert redis.get("state") is None and redis.get("lock") == b"mine"


def test_a_script_among_the_writes_is_sent_as_a_plain_transaction(redis: Redis) -> None:
    redis.set("lock", "mine")
    redis.set("counter", 2)
    writes = Writes.on(redis)
    writes.pipe.set("state", "new")
    pin_guard.refund(writes.pipe, pin_guard.Attempt(refused="", counters=("counter",)))
    writes.pipe.release_lock("lock", "mine")
    writes.send()
    assert redis.get("state") == b"new" and redis.get("counter") == b"1"
    assert redis.get("lock") is None


def test_rq_enqueues_through_it(redis: Redis) -> None:
    writes = Writes.on(redis)
    queue = Queue("reports", connection=redis)
    queue.enqueue_call(
        "queues.jobs.commit_report", args=("{}",), job_id="report-1", pipeline=writes.pipe
    )
    assert queue.count == 0
    writes.send()
    assert queue.count == 1 and queue.job_ids == ["report-1"]


def test_the_script_is_loaded_again_after_a_flush(redis: Redis) -> None:
    redis.script_flush()
    writes = Writes.on(redis)
    writes.pipe.set("state", "new")
    writes.send()
    assert redis.get("state") == b"new"
