"""The HAProxy configuration in front of the web nodes, with overload control.

One generator for every HAProxy the project runs: `hotline haproxy config` writes it for
production, and the load tester's topologies start HAProxy with it.

Overload control (issue 16), as telephone exchanges do it: work for calls in progress
comes before new calls, and excess new calls are refused as cheaply as possible, early.
It has to happen here, at the balancer: a request already waiting in a web server's
backlog cannot be put behind another one, and the web server's threads are what runs out.

- Each web node is given at most `maxconn` requests at once (its workers x threads), so
  any excess waits in HAProxy's queue, where `set-priority-class` orders it: IN_CALL_CLASS
  first (a step of a call inside the flow, and a registered chair phone's first `/voice`),
  then STAFF_CLASS (staff pages), then NEW_CALL_CLASS (new calls, hold-queue polls, status
  callbacks and texts: nobody is waiting on the line for those).
- A chair phone's first `/voice` is recognised from its `From` (the request body is
  buffered: `option http-buffer-request`) against a list of the registered chair phones
  (`hotline haproxy chair-phones`). A stick table counts first calls per chair number:
  beyond CHAIR_FIRST_CALLS in CHAIR_WINDOW, a call from that number is a new call like any
  other, so a spoofer dialling from a chair's number cannot flood with the chair's place.
- When more than `shed_queue` requests wait (the web tier is saturated), a new call that
  is not a chair's is answered `<Reject reason="busy"/>` by HAProxy itself, through the
  REFUSED backend, whose request count and per-second rate on HAProxy's statistics are the
  refusals staff see (`ivr.overload`). Its signature is not checked, on purpose: a busy
  signal is what anyone dialling a saturated line hears anyway, so a forged request learns
  nothing from it and changes nothing (no state, no Redis, no web thread), while checking
  an HMAC over the sorted parameters would cost the web tier the very work being shed.
- Each request is stamped with the moment HAProxy read it (REQUEST_START_HEADER), so the
  web app measures an in-call webhook's latency including its wait in the queue.

What classifies a path is defined once here (`NEW_CALL_PATHS`, `OUTSIDE_FLOW_PATHS`,
`is_in_call`), for the generated configuration and for the web app's metrics alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from callflows.phones import e164
from ivr import twiml
from ivr.web_sessions import SMS_WEBHOOK, is_webhook

IN_CALL_CLASS = 0
"""HAProxy's priority class (lowest served first) of the requests of calls in the flow."""
STAFF_CLASS = 1
"""Staff pages and everything else that is not a webhook."""
NEW_CALL_CLASS = 2
"""New calls, hold-queue polls, status callbacks and texts."""

NEW_CALL_PATHS = ("/voice", "/voice/drill")
"""A call's first request: the Voice URL of the results line and of the drill line."""
OUTSIDE_FLOW_PATHS = ("/voice/hold", "/voice/status", "/voice/outbound/status", SMS_WEBHOOK)
"""Requests for no caller waiting in the flow: a held caller's poll (the hold music plays
on), a call's end, a text. Served after the calls in the flow, never refused."""

BACKEND = "hotline"
"""The backend of the web nodes (its queue is what `shed_queue` watches)."""
REFUSED = "refused"
"""The backend that answers busy: its statistics count the refused calls."""
CHAIR_TABLE = "chair_first_calls"
CHAIR_FIRST_CALLS = 3
"""First calls per chair number within CHAIR_WINDOW that are served first: a chair cut
off calls back (the load tester's chairs at most three times); a fourth is a new call."""
CHAIR_WINDOW = "10m"
REQUEST_START_HEADER = "X-Request-Start"
"""`t=<milliseconds since the epoch>` when HAProxy read the request (the convention of
Heroku's router and of APM agents); HAProxy replaces any value a client sent."""
CLASS_HEADER = "X-Hotline-Priority-Class"
"""The priority class HAProxy gave the request, passed on to the web node."""
CALL_PATH_HEALTH = "/healthz/call-path"
"""What the balancer asks each node (ivr/staff/public.py): the web process and Redis, not
the database, whose outage every node shares and which webhooks never touch."""
STATS_PATH = "/stats"
BUSY_TWIML = twiml.reject("busy")


def is_in_call(path: str) -> bool:
    """Whether a webhook path is a step of a call already inside the flow."""
    return is_webhook(path) and path not in NEW_CALL_PATHS and path not in OUTSIDE_FLOW_PATHS


@dataclass(frozen=True)
class Node:
    """One web node: its name in HAProxy, its address, and how many requests it serves at
    once (its `hotline serve` workers x threads)."""

    name: str
    address: str
    maxconn: int = 8


@dataclass(frozen=True)
class BalancerOptions:
    """One HAProxy entry point to the web nodes."""

    bind: str
    """Where Twilio reaches it (behind TLS termination in production), e.g. 127.0.0.1:8080."""
    stats_bind: str
    """HAProxy's statistics (CSV at STATS_PATH;csv): a private address, never public."""
    nodes: Sequence[Node]
    chair_phones_file: Path | None = None
    """The registered chair phones, one E.164 number a line (`hotline haproxy chair-phones`);
    None: no chair's first call is told apart from a new call."""
    overload_control: bool = True
    """False: today's plain balancing (no limit per node, no classes, no refusals), for
    measuring what overload control buys."""
    shed_queue: int | None = None
    """Refuse new calls while more requests than this wait in HAProxy's queue; None: twice
    the nodes' maxconn together (the queue then drains in about two service times)."""
    server_timeout_ms: int = 2500
    """Above REDIS_WAIT_TIMEOUT_MS (a confirming request's longest legitimate wait), below
    Twilio's 4 s read timeout, so a retry on another node can still answer in time."""
    queue_timeout_ms: int = 2000
    """The longest a request waits in the queue before HAProxy answers 503 (Twilio then
    tries the fallback URL): well inside Twilio's read timeout."""
    name: str = "hotline"

    @property
    def shed_threshold(self) -> int:
        if self.shed_queue is not None:
            return self.shed_queue
        return 2 * sum(node.maxconn for node in self.nodes)


def chair_phones_text(phones: Iterable[str]) -> str:
    """The chair phones file: each registered number once, in E.164, sorted."""
    numbers = sorted({number for number in map(e164, phones) if number})
    return "".join(f"{number}\n" for number in numbers)


def haproxy_config(options: BalancerOptions) -> str:
    """The whole haproxy.cfg of one entry point."""
    sections = [
        _GLOBAL.format(name=options.name, **_timeouts(options)),
        _frontend(options),
        _backend(options),
    ]
    if options.overload_control:
        sections.append(_REFUSED.format(refused=REFUSED, busy=_quoted(BUSY_TWIML)))
        sections.append(_CHAIR_TABLE.format(table=CHAIR_TABLE, window=CHAIR_WINDOW))
    sections.append(_STATS.format(stats_bind=options.stats_bind, stats=STATS_PATH))
    return "\n".join(sections)


def _timeouts(options: BalancerOptions) -> dict[str, int]:
    return {
        "server_timeout_ms": options.server_timeout_ms,
        "queue_timeout_ms": options.queue_timeout_ms,
    }


def _frontend(options: BalancerOptions) -> str:
    lines = [
        f"frontend {options.name}",
        f"    bind {options.bind}",
        "    option forwardfor",
        "    # When HAProxy read the request: the web app's in-call latency includes the queue.",
        f"    http-request set-header {REQUEST_START_HEADER} t=%[date(0,ms)]",
    ]
    if options.overload_control:
        lines += _overload_rules(options)
    lines.append(f"    default_backend {BACKEND}")
    return "\n".join(lines) + "\n"


def _overload_rules(options: BalancerOptions) -> list[str]:
    lines = [
        "    # The body is read before routing: a new call's From says whether it is a chair's.",
        "    option http-buffer-request",
        f"    acl new_call path {' '.join(NEW_CALL_PATHS)}",
        f"    acl outside_flow path {' '.join(OUTSIDE_FLOW_PATHS)}",
        # Two lines of one name are ORed (an "or" inside one line would be read as a value).
        "    acl webhook path /voice /sms",
        "    acl webhook path_beg /voice/",
        f"    acl saturated queue({BACKEND}) gt {options.shed_threshold}",
        f"    http-request set-priority-class int({STAFF_CLASS}) if !webhook",
        f"    http-request set-priority-class int({NEW_CALL_CLASS}) if outside_flow",
        f"    http-request set-priority-class int({NEW_CALL_CLASS}) if new_call",
    ]
    refuse = "    # Saturated: a new call that is not a chair's within its allowance hears busy,\n"
    refuse += "    # from HAProxy, before any web node sees it.\n"
    if options.chair_phones_file is None:
        refuse += f"    use_backend {REFUSED} if new_call saturated"
    else:
        chair_from = "req.body_param(From),url_dec"
        lines += [
            f"    acl chair_phone {chair_from} -m str -f {options.chair_phones_file}",
            f"    http-request track-sc0 {chair_from} table {CHAIR_TABLE} if new_call chair_phone",
            "    # A chair's number keeps its place for a few first calls at a time only (an",
            "    # untracked request fails the fetch, so it is never within the allowance).",
            f"    acl within_allowance sc_http_req_rate(0) le {CHAIR_FIRST_CALLS}",
            f"    http-request set-priority-class int({IN_CALL_CLASS}) "
            "if new_call chair_phone within_allowance",
        ]
        refuse += f"    use_backend {REFUSED} if new_call saturated !within_allowance"
    return [
        *lines,
        "    # Once every rule has set it: the web node's access log (and the tests) see it.",
        f"    http-request set-header {CLASS_HEADER} %[prio_class]",
        refuse,
    ]


def _backend(options: BalancerOptions) -> str:
    """The web nodes, each listed twice: checked, and as an unchecked backup that takes
    requests only while every checked one is down. A Redis failover fails every node's
    check at once (they share the primary) for the two or three seconds the Sentinels take:
    an empty pool would answer 503 and Twilio would play its application error, while a
    node answers "One moment, please." and retries the step itself (ivr.voice.routes). A
    node really gone is skipped by the retries and redispatch as before."""
    limit = options.overload_control
    servers = "\n".join(
        f"    server {name} {node.address}{flags}" + (f" maxconn {node.maxconn}" if limit else "")
        for node in options.nodes
        for name, flags in ((node.name, ""), (f"{node.name}-backup", " backup no-check"))
    )
    return _BACKEND.format(backend=BACKEND, health=CALL_PATH_HEALTH, servers=servers)


def _quoted(text: str) -> str:
    """`text` as one double-quoted HAProxy argument."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_GLOBAL = """\
# Generated by ivr/balancer.py (`hotline haproxy config`): entry point {name}.
global
    maxconn 4000
    # No "daemon": run in the foreground (-db) under a supervisor (systemd, or the tests).

defaults
    mode http
    # Webhooks answer in milliseconds; these keep every attempt well inside Twilio's
    # 15 s (and inside the Voice URL's connection overrides, 1 s to connect and 4 s for
    # the first byte, ivr/twilio_setup.py), so a lost node costs a retry, not the call.
    # A live node on the LAN accepts at once: a connection not made in 500 ms is a node
    # gone, and the request goes to another one.
    timeout connect 500ms
    timeout server {server_timeout_ms}ms
    timeout client 10s
    timeout http-request 5s
    timeout queue {queue_timeout_ms}ms
    timeout check 1s
    # A failed attempt is tried again, on another node each time (redispatch 1).
    retries 2
    option redispatch 1
"""

_BACKEND = """\
backend {backend}
    balance roundrobin
    # The call path's health: a dead node (or one that lost Redis) leaves the pool after
    # two failed checks half a second apart, and comes back after two good ones.
    option httpchk GET {health}
    http-check expect status 200
    default-server check inter 500ms fastinter 250ms downinter 1s fall 2 rise 2
    option allbackups
    # Layer-7 retries resend a request whose node died under it. Safe for Twilio's
    # webhooks only, by design: the commit is idempotent and a repeated request replays
    # the same answer (the webhooks keep their state in Redis, keyed by the call), just
    # as when Twilio itself retries. Staff pages and actions are never resent.
    retry-on conn-failure empty-response response-timeout
    http-request disable-l7-retry unless {{ path_beg /voice /sms }}
{servers}
"""

_REFUSED = """\
backend {refused}
    # Each request here is a new call refused busy while the web tier was saturated.
    http-request return status 200 content-type "text/xml; charset=utf-8" string {busy}
"""

_CHAIR_TABLE = """\
backend {table}
    # First calls per chair number over the window (only the table: no servers).
    stick-table type string len 32 size 100k expire {window} store http_req_rate({window})
"""

_STATS = """\
frontend stats
    # Statistics (CSV at {stats};csv) for the staff overview: a private address only.
    bind {stats_bind}
    stats enable
    stats uri {stats}
"""
