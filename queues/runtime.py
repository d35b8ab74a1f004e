"""The worker's database and REST client: rq imports jobs by dotted path, so they find
their session (and the outbound jobs their Twilio client) here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from queues.dialer import OutboundConfig, Telephony
    from queues.messaging import MessagingApi

_sessions: sessionmaker[Session] | None = None
_outbound: tuple[Telephony, OutboundConfig] | None = None
_messaging: MessagingApi | None = None


class NotConfigured(RuntimeError):
    """A job ran in a process that was not started by `hotline worker`."""


def configure(sessions: sessionmaker[Session] | None) -> None:
    """Point jobs in this process at a database (`hotline worker` does this at start-up)."""
    global _sessions
    _sessions = sessions


def sessions() -> sessionmaker[Session]:
    if _sessions is None:
        raise NotConfigured("no database configured for jobs; start workers with `hotline worker`")
    return _sessions


def configure_outbound(outbound: tuple[Telephony, OutboundConfig] | None) -> None:
    """Give the outbound jobs their REST client and settings (`hotline worker` does this)."""
    global _outbound
    _outbound = outbound


def outbound() -> tuple[Telephony, OutboundConfig]:
    if _outbound is None:
        raise NotConfigured(
            "no Twilio client configured for jobs; start workers with `hotline worker`"
        )
    return _outbound


def configure_messaging(api: MessagingApi | None) -> None:
    """Give the worksheet intake its Twilio client (`hotline worker` does this)."""
    global _messaging
    _messaging = api


def messaging() -> MessagingApi | None:
    """The worksheet intake's Twilio client; None where none is configured (the message is
    kept and shown to staff, its photos marked as waiting to be fetched)."""
    return _messaging
