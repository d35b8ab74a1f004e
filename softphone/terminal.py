"""`hotline call`: a terminal softphone that plays Twilio against a running hotline."""

from __future__ import annotations

from collections.abc import Sequence

import click

from softphone import HANGUP, Event, GatherPrompt, HttpTransport, Keys, Softphone

HELP = "Type the keys and press Enter (e.g. 948199#). Enter alone is silence; q hangs up."
FULL_ATTESTATION = "TN-Validation-Passed-A"
"""What Twilio sends as `StirVerstat` when the carrier vouches for the caller ID: what a
chair's own mobile phone usually gets, so the terminal sends it unless told otherwise."""


def run_terminal_call(
    *, voice_url: str, auth_token: str, from_number: str, stir_verstat: str = FULL_ATTESTATION
) -> None:
    """Place one call, printing what the caller hears and reading keys from the terminal.

    `stir_verstat` is sent with every request as Twilio's `StirVerstat` ("" sends none)."""
    attestation = stir_verstat or "no attestation"
    click.echo(f"Calling {voice_url} from {from_number} ({attestation}). {HELP}")
    with HttpTransport() as transport:
        phone = Softphone(
            transport,
            voice_url,
            auth_token,
            from_number=from_number,
            status_callback_url=f"{voice_url.rstrip('/')}/status",
            fallback_url=f"{voice_url.rstrip('/')}/fallback",
            extra_params={"StirVerstat": stir_verstat} if stir_verstat else None,
        )
        record = phone.call(_ask_terminal)
    for kind, *rest in _after_last_keys(record.transcript):
        if kind == "say":
            click.echo(f"  hotline: {rest[0]}")
    click.echo(f"Call ended: {record.outcome} ({record.duration_seconds:.0f} s of call time).")


def _ask_terminal(prompt: GatherPrompt) -> Keys:
    for text in prompt.speech:
        click.echo(f"  hotline: {text}")
    keys = click.prompt(f"  keys [{prompt.step}]", default="", show_default=False).strip()
    if keys.lower() in ("q", "quit", "hangup"):
        return HANGUP
    return keys or None


def _after_last_keys(transcript: Sequence[Event]) -> Sequence[Event]:
    last = max((i for i, event in enumerate(transcript) if event[0] == "keys"), default=-1)
    return transcript[last + 1 :]
