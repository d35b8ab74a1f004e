"""`hotline speech-time`: a real 2020 worksheet's call scripted through the call flow, its
sentences spoken by Debian's espeak-ng and timed with sox. Bounded: a few sites."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from callflows import prompts
from callflows.ballots import load_ballot
from callflows.state import BLOCKS
from flood.speech_time import (
    SECONDS_PER_FIGURE,
    SECONDS_PER_KEY,
    SpeechEngineMissing,
    SpeechTimer,
    script_call,
    time_calls,
)
from flood.worksheets import Worksheet, load_worksheets
from ivr import catalogue

HOTLINE = str(Path(sys.executable).parent / "hotline")
BALLOT = load_ballot("iowa2020")
ADAIR_1NW = ("Adair", "1NW ADAIR")
"""948199: its delegates are settled by a game of chance."""


@pytest.fixture(scope="module")
def sheet() -> Worksheet:
    return load_worksheets()[ADAIR_1NW]


def test_the_scripted_call_hears_every_figure_read_back_and_ends_with_the_receipt(
    sheet: Worksheet,
) -> None:
    call = script_call(sheet, BALLOT, "en")
    words = [text for _, text in call.sentences]
    assert words[:3] == [
        prompts.GREETING,
        catalogue.say(prompts.language_offer("es"), "es"),
        prompts.ASK_PRECINCT,
    ]
    # The offer of Spanish is said in Spanish; the rest of the call in English.
    assert [code for code, _ in call.sentences].count("es") == 1
    figures = [value for block in BLOCKS for value in sheet.block(BALLOT, block)]
    read_back = [prompts.echo_figure(value) for value in figures]
    heard = iter(words)
    assert all(echo in heard for echo in read_back), "each figure read back, in order"
    assert prompts.receipt("418207")[0] in words and words[-1] == "Thank you. Goodbye."
    # Every figure and total is read off the worksheet; each is keyed with its pound.
    assert call.figures == len(BLOCKS) * (len(BALLOT.groups) + 1)
    figure_keys = sum(len(f"{value}#") for block in BLOCKS for value in sheet.block(BALLOT, block))
    total_keys = sum(len(f"{sum(sheet.block(BALLOT, block))}#") for block in BLOCKS)
    precinct_pin_and_menus = len(f"{sheet.precinct_id}#") + 6 + len(sheet.game_winners(BALLOT)) + 1
    assert call.keys == figure_keys + total_keys + precinct_pin_and_menus


def test_a_spanish_call_is_said_in_spanish(sheet: Worksheet) -> None:
    call = script_call(sheet, BALLOT, "es")
    words = [text for _, text in call.sentences]
    # All in Spanish but the offer of English, said in English.
    english = [text for code, text in call.sentences if code == "en"]
    assert english == [prompts.language_offer("en")]
    assert catalogue.say(prompts.receipt("418207")[0], "es") == "Recibimos su informe."
    assert "Recibimos su informe." in words and prompts.ASK_CONFIRM not in words


def test_the_timer_times_speech_and_the_call_adds_keys_and_reading(sheet: Worksheet) -> None:
    timer = SpeechTimer()
    short, long = ("en", "Total."), ("en", prompts.TROUBLE_CALL_BACK)
    timer.speak_all([short, long])
    assert 0.3 < timer.seconds(short) < timer.seconds(long) < 15
    call = script_call(sheet, BALLOT, "en")
    (time,) = time_calls([call], timer)
    assert time.keys == pytest.approx(call.keys * SECONDS_PER_KEY)
    assert time.reading == pytest.approx(call.figures * SECONDS_PER_FIGURE)
    assert time.speech == pytest.approx(sum(timer.seconds(s) for s in call.sentences))
    assert 60 < time.total < 300


def test_the_command_reports_the_median_call_in_each_language(tmp_path: Path) -> None:
    out = tmp_path / "speech.json"
    done = subprocess.run(
        [HOTLINE, "speech-time", "--sites", "5", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["sites"] == 5
    for code in ("en", "es"):
        assert report[code]["calls"] == 5
        assert 1 < report[code]["median_minutes"] < 6
        assert f"{code}: median call {report[code]['median_minutes']} min" in done.stdout


def test_without_espeak_the_measure_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SpeechEngineMissing, match=r"ensure-test-services\.sh"):
        SpeechTimer()
