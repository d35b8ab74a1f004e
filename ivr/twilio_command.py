"""`hotline twilio`: the hotline's dealings with Twilio itself (its REST API).

Its subcommands: `configure` and `check` (`ivr.twilio_setup_command`, registered in
`ivr.cli`), and `stand-in` (below): the local stand-in for Twilio's REST API, for dev.
"""

from __future__ import annotations

import click


@click.group("twilio")
def twilio_group() -> None:
    """Twilio: the number's webhooks and the hold queue (configure, check), and the local
    stand-in for its REST API (stand-in)."""


CALLEES = ("no-answer", "busy", "fails", "voicemail", "silent")
"""Who answers the stand-in's outbound calls (`--callee`): "silent" answers and keys nothing."""


@twilio_group.command("stand-in")
@click.option("--port", default=8081, show_default=True, help="The port to serve on (loopback).")
@click.option(
    "--hotline-url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="The hotline the placed calls reach (checked at start).",
)
@click.option(
    "--callee",
    type=click.Choice(CALLEES),
    default="no-answer",
    show_default=True,
    help="Who answers every outbound call.",
)
def stand_in_command(port: int, hotline_url: str, callee: str) -> None:
    """Serve the Twilio REST stand-in (the dev account) in the foreground until Ctrl-C."""
    import os
    import threading

    import requests

    from ivr.settings import DEV_ACCOUNT_SID, DEV_DRILL_NUMBER, DEV_HOTLINE_NUMBER, DEV_SECRETS
    from softphone import HttpTransport
    from softphone.rest import AnsweringChair, Busy, Callee, Fails, NoAnswer, RestStandIn, Voicemail

    # The dev profile's credentials, as the hotline itself reads them (ivr.settings).
    token = os.environ.get("TWILIO_AUTH_TOKEN") or DEV_SECRETS["TWILIO_AUTH_TOKEN"]
    personas: dict[str, Callee] = {
        "no-answer": NoAnswer(),
        "busy": Busy(),
        "fails": Fails(),
        "voicemail": Voicemail(),
        "silent": AnsweringChair(lambda _prompt: None),
    }
    try:
        requests.get(hotline_url, timeout=2)
    except requests.RequestException:
        click.echo(f"warning: nothing answers at {hotline_url} yet", err=True)
    stand_in = RestStandIn(
        HttpTransport(),
        auth_token=token,
        account_sid=DEV_ACCOUNT_SID,
        numbers=(DEV_HOTLINE_NUMBER, DEV_DRILL_NUMBER),
        port=port,
    )
    stand_in.default_callee = personas[callee]
    with stand_in:
        click.echo(f"Twilio REST stand-in on {stand_in.base_url} (account {DEV_ACCOUNT_SID})")
        click.echo(f"  point the hotline at it: TWILIO_API_BASE_URL={stand_in.base_url}")
        click.echo(f"  every outbound call is answered by: {callee}; Ctrl-C stops it")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("stopping")
