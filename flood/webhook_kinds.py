"""The kinds of webhook `hotline capacity` measures, and the path through each.

Data only, so that the command line can offer them without importing the measurement.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """A kind of webhook and the path through it that is measured."""

    name: str
    path: str
    """What each request does, in words, for the report."""
    step: str = ""
    """For an in-call kind: the step whose request is replayed."""


IN_CALL_KINDS = (
    Kind("precinct", "precinct ID accepted, PIN asked", "precinct"),
    Kind("pin", "right PIN accepted, first figure asked", "pin"),
    Kind("figure", "figure accepted, next figure asked", "figure/first/2"),
    Kind("figure_reprompt", "figure refused (too large), asked again", "figure/first/2"),
    Kind("total", "block total matching the figures, next block asked", "total/first"),
    Kind("confirm", "report confirmed: queued for the worker, receipt read", "confirm"),
)
NEW_CALL_ADMITTED = Kind("new_call", "new caller admitted into the IVR, greeted")
STATUS = Kind("status", "status callback of a call in the IVR: slot freed, end logged")
NEW_CALL_HELD = Kind("new_call_held", "new attested caller, IVR full: put in the hold queue")
HOLD_POLL = Kind("hold_poll", "hold-queue poll, IVR still full: place in line announced")
NEW_CALL_BUSY = Kind("new_call_busy", "new caller, IVR and hold queue full: rejected busy")
KINDS = (*IN_CALL_KINDS, NEW_CALL_ADMITTED, STATUS, NEW_CALL_HELD, HOLD_POLL, NEW_CALL_BUSY)
"""In the order they run: each leaves the hotline as the next one needs it."""
KIND_NAMES = tuple(kind.name for kind in KINDS)
