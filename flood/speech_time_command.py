"""`hotline speech-time`: the spoken length of a median chair call, in each language.

See flood/speech_time.py for the measure; README "Languages and the prompt catalogue" and
docs/BENCHMARKS.md for its figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from callflows.ballots import load_ballot
from callflows.phrases import LANGUAGES
from flood.capacity_command import listed_names
from flood.speech_time import (
    SpeechEngineMissing,
    SpeechTimer,
    script_call,
    summary,
    time_calls,
)
from flood.worksheets import load_worksheets


@click.command("speech-time")
@click.option("--languages", default=",".join(LANGUAGES), show_default=True,
              help="The languages to measure, comma-separated.")  # fmt: skip
@click.option("--ballot", "ballot_name", default="iowa2020", show_default=True,
              help="The ballot chairs report on (iowa2020: the 12 groups of 2020).")  # fmt: skip
@click.option("--sites", type=click.IntRange(min=1), default=None,
              help="This many of the 2020 sites, spread evenly (default: all 1,765).")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the report here as JSON.")  # fmt: skip
def speech_time_command(
    languages: str, ballot_name: str, sites: int | None, out: Path | None
) -> None:
    """How long a chair's call takes by issue 17's measure: every prompt of a real 2020
    worksheet's call spoken by espeak-ng at 160 words a minute and timed with sox, plus
    0.3 s a key and a second of reading a figure. Prints the median call per language."""
    codes = listed_names(languages, LANGUAGES, "the languages")
    ballot = load_ballot(ballot_name)
    sheets = list(load_worksheets().values())
    if sites is not None and sites < len(sheets):
        step = len(sheets) / sites
        sheets = [sheets[int(n * step)] for n in range(sites)]
    try:
        timer = SpeechTimer()
    except SpeechEngineMissing as missing:
        raise click.ClickException(str(missing)) from None
    report: dict[str, object] = {"ballot": ballot.name, "sites": len(sheets)}
    for code in codes:
        click.echo(f"speaking the calls of {len(sheets)} sites in {code} ...", err=True)
        times = time_calls([script_call(sheet, ballot, code) for sheet in sheets], timer)
        figures = summary(times)
        report[code] = figures
        click.echo(
            f"{code}: median call {figures['median_minutes']} min "
            f"(speech {figures['median_speech_seconds']} s, "
            f"keys {figures['median_keys_seconds']} s, "
            f"reading {figures['median_reading_seconds']} s; "
            f"speech is {figures['median_speech_share']:.0%}), p90 {figures['p90_minutes']} min"
        )
    if out is not None:
        out.write_text(json.dumps(report, indent=2) + "\n")
