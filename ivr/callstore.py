"""Call state in Redis: the flow's state and last answer by CallSid, progress by precinct.

This is the only thing the webhooks write (besides rq jobs and the call log), so a slow
database never slows a caller. Keys expire on their own; run Redis with AOF so a restart
keeps them.

A webhook makes two round trips for the common case: `locked` takes the call's lock and
reads its state in one Lua call, and everything it writes afterwards is queued on its
`Writes` and sent in one transaction just before it answers (the lock's release included).
The write methods here therefore take the client to write through: a `Writes` pipeline on
the call path, or a plain connection elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import NoScriptError, RedisError

from callflows.state import CallState, Progress
from queues import keys

PROGRESS_TTL_SECONDS = 24 * 3600
LANGUAGE_TTL_SECONDS = 60 * 24 * 3600
"""A phone's chosen language is kept from the drill weeks before the night until after it."""
RECEIPT_TTL_SECONDS = 30 * 24 * 3600
LOCK_TTL_MS = 10_000
"""A webhook that dies holding a call's lock frees it after this long."""
LOCK_WAIT_SECONDS = 5.0
"""How long a repeated request for the same call waits for the first one to finish."""
LOCK_RETRY_SECONDS = 0.02

# Take the lock and, if we got it, read the state: one round trip instead of two.
_LOCK_AND_LOAD = """
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('HMGET', KEYS[1], 'state', 'twiml')}
end
return {0}
"""

# Release only our own lock: after LOCK_TTL_MS another request may hold it.
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class CallBusy(RedisError):
    """Another request for the same call held its lock for LOCK_WAIT_SECONDS."""


class ReplicasBehind(RedisError):
    """Fewer replicas than required acknowledged the writes within the wait's timeout:
    the writes are applied on the primary, but a failover now could still lose them."""


# Every write of a webhook in one script: one command sent and one reply read, where a
# MULTI/EXEC of the same writes costs a reply per command twice over (QUEUED, then EXEC's).
# On the call path each command's client-side handling costs more than Redis's own work
# (`hotline capacity --profile`). Like EXEC, a command that fails does not stop the others,
# and the first error is raised afterwards. The call's lock is released last, if still ours.
# KEYS[1]: the lock (absent: none to release); ARGV[1]: its token; then each command as its
# number of arguments followed by them.
_APPLY = """
local failed = nil
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local reply = redis.pcall(unpack(ARGV, i + 1, i + n))
  if type(reply) == 'table' and reply.err and failed == nil then
    failed = reply.err
  end
  i = i + n + 1
end
if #KEYS == 1 and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
if failed then
  return redis.error_reply(failed)
end
return 1
"""
_APPLY_SHA = hashlib.sha1(_APPLY.encode()).hexdigest()


class WriteTransaction(Pipeline):
    """A redis-py transaction whose queued commands are sent as one script (`_APPLY`).

    It queues commands as any pipeline does, so everything that writes through a client
    (the admission, counters, call log, rq's enqueue) writes through it unchanged. A
    command queued as a script of its own (EVAL: a PIN's refund) cannot run inside another
    script, so a transaction holding one is sent as the plain MULTI/EXEC it is."""

    def __init__(self, redis: Redis) -> None:
        super().__init__(redis.connection_pool, redis.response_callbacks, True, None)
        self.redis = redis
        self.held_lock: tuple[str, str] | None = None
        self.replicas: tuple[int, int] = (0, 0)
        self._pinned: Redis | None = None

    def release_lock(self, key: str, token: str) -> None:
        """Release the call's lock with the writes, if it is still ours then."""
        self.held_lock = (key, token)

    def wait_for_replicas(self, count: int, timeout_ms: int) -> None:
        """Once applied, the writes must reach `count` replicas within `timeout_ms`, else
        `execute` raises ReplicasBehind (count 0: no wait)."""
        self.replicas = (count, timeout_ms)

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        count, timeout_ms = self.replicas
        self.replicas = (0, 0)
        if count <= 0:
            return self._apply(self.redis, raise_on_error)
        # WAIT counts the replicas that have this connection's last write, so the writes
        # and the WAIT go over one connection, taken from the pool for both.
        pinned = Redis(connection_pool=self.connection_pool, single_connection_client=True)
        self._pinned = pinned
        try:
            result = self._apply(pinned, raise_on_error)
            acknowledged = int(pinned.wait(count, timeout_ms))
        finally:
            self._pinned = None
            pinned.close()
        if acknowledged < count:
            raise ReplicasBehind(
                f"{acknowledged} of {count} replicas acknowledged within {timeout_ms} ms"
            )
        return result

    def reset(self) -> None:  # type: ignore[override]  # as Pipeline.reset itself
        if self._pinned is not None and self.connection is self._pinned.connection:
            self.connection = None  # the pinned client gives it back, after its WAIT
        super().reset()

    def _apply(self, client: Redis, raise_on_error: bool) -> list[Any]:
        commands = [args for args, _ in self.command_stack]
        lock, self.held_lock = self.held_lock, None
        if any(args[0] in ("EVAL", "EVALSHA") for args in commands):
            if lock is not None:
                self.eval(_UNLOCK, 1, *lock)
            if self._pinned is not None:
                self.connection = self._pinned.connection
            return super().execute(raise_on_error)
        self.reset()
        lock_keys = [lock[0]] if lock else []
        argv: list[Any] = [lock[1] if lock else ""]
        for args in commands:
            argv.append(len(args))
            argv.extend(args)
        try:
            client.evalsha(_APPLY_SHA, len(lock_keys), *lock_keys, *argv)
        except NoScriptError:
            # Scripts live in the server's memory: a restarted primary, or a replica
            # Sentinel promoted, may not have this one until EVAL sends it again.
            client.eval(_APPLY, len(lock_keys), *lock_keys, *argv)
        return []


@dataclass
class Writes:
    """A webhook's Redis writes, queued while it works and sent in one transaction.

    `send()` runs before the webhook answers, so what the caller hears (e.g. "received")
    is only said once it is in Redis. If the webhook fails instead, `abandon()` drops the
    queued writes and runs the cleanups (releasing the call's lock at once)."""

    pipe: WriteTransaction
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def on(cls, redis: Redis) -> Writes:
        pipe = WriteTransaction(redis)
        # Opened explicitly, as rq expects of a pipeline it is given to enqueue on.
        pipe.multi()
        return cls(pipe)

    def send(self) -> None:
        self.pipe.execute()

    def abandon(self) -> None:
        self.pipe.held_lock = None
        self.pipe.reset()
        for cleanup in self.cleanups:
            with contextlib.suppress(RedisError):
                cleanup()


@dataclass(frozen=True)
class Loaded:
    """A call's state and the TwiML last sent to it."""

    state: CallState
    twiml: str


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class CallStore:
    """Reads and writes call state for the webhooks."""

    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl = ttl_seconds
        # By its SHA (EVALSHA), loaded again by redis-py if Redis has lost it.
        self._lock_and_load_script = redis.register_script(_LOCK_AND_LOAD)

    def _call_key(self, call_sid: str) -> str:
        return keys.call(call_sid)

    def _lock_key(self, call_sid: str) -> str:
        return keys.call_lock(call_sid)

    def load(self, call_sid: str) -> Loaded | None:
        """The call's state and last answer, or None for an unknown call."""
        return self._loaded(self.redis.hmget(self._call_key(call_sid), ["state", "twiml"]))

    @staticmethod
    def _loaded(data: list[Any]) -> Loaded | None:
        if not data or data[0] is None:
            return None
        return Loaded(CallState.from_json(data[0]), _text(data[1] or b""))

    @contextlib.contextmanager
    def locked(self, call_sid: str, writes: Writes) -> Iterator[Loaded | None]:
        """Hold the call's lock (so a repeated request waits for the first) and yield its
        state. The release goes out with `writes`, or at once if they are abandoned."""
        token = secrets.token_hex(8)
        loaded = self._lock_and_load(call_sid, token)
        lock_key = self._lock_key(call_sid)
        writes.cleanups.append(lambda: self.redis.eval(_UNLOCK, 1, lock_key, token))
        yield loaded
        writes.pipe.release_lock(lock_key, token)

    def _lock_and_load(self, call_sid: str, token: str) -> Loaded | None:
        keys = (self._call_key(call_sid), self._lock_key(call_sid))
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            reply: Any = self._lock_and_load_script(keys=keys, args=(token, LOCK_TTL_MS))
            if reply[0] == 1:
                return self._loaded(reply[1])
            if time.monotonic() >= deadline:
                raise CallBusy(f"call {call_sid} is still busy with another request")
            time.sleep(LOCK_RETRY_SECONDS)

    def create(self, client: Redis, state: CallState, twiml: str) -> None:
        """Save a new call's first state; the call's key expires `ttl` seconds later."""
        self.save(client, state, twiml)
        client.expire(self._call_key(state.call_sid), self.ttl)

    def save(self, client: Redis, state: CallState, twiml: str) -> None:
        """Save a call's new state (HSET keeps the expiry `create` set)."""
        client.hset(
            self._call_key(state.call_sid), mapping={"state": state.to_json(), "twiml": twiml}
        )

    def _progress_key(self, precinct_id: str, caller: str) -> str:
        # By caller too: a report in progress is offered only to the phone that keyed it,
        # never to someone else who has (or guessed) the precinct's PIN.
        return keys.progress(precinct_id, caller)

    def save_progress(
        self, client: Redis, precinct_id: str, caller: str, progress: Progress
    ) -> None:
        key = self._progress_key(precinct_id, caller)
        client.set(key, progress.to_json(), ex=PROGRESS_TTL_SECONDS)

    def load_progress(self, precinct_id: str, caller: str) -> Progress | None:
        raw = self.redis.get(self._progress_key(precinct_id, caller))
        return Progress.from_json(raw) if raw else None

    def clear_progress(self, client: Redis, precinct_id: str, caller: str) -> None:
        client.delete(self._progress_key(precinct_id, caller))

    def save_language(self, client: Redis, caller: str, language: str) -> None:
        """Remember the language `caller`'s phone chose, for its next calls in or out."""
        client.set(keys.phone_language(caller), language, ex=LANGUAGE_TTL_SECONDS)

    def load_language(self, caller: str) -> str:
        """The language `caller`'s phone chose on an earlier call; "" for none."""
        if not caller:
            return ""
        raw = self.redis.get(keys.phone_language(caller))
        return raw.decode() if isinstance(raw, bytes) else ""

    def new_receipt(self, attempts: int = 20) -> str:
        """A six-digit receipt not handed out in the last month (reserved in Redis)."""
        for _ in range(attempts):
            code = f"{secrets.randbelow(10**6):06d}"
            if self.redis.set(keys.receipt(code), 1, nx=True, ex=RECEIPT_TTL_SECONDS):
                return code
        raise RuntimeError("could not find a free receipt number")
