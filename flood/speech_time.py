"""How long a chair's call takes, measured with a text-to-speech engine (issue 17's measure).

A chair reports a real 2020 worksheet through the call flow itself (callflows.flow, keyed
as flood.personas.Chair keys it: the worksheet's figures, its totals, a flagged keep where
a check fails, its game of chance, then submit). Every sentence the chair hears is rendered
in the call's language as the web tier renders it (ivr.catalogue) and spoken by espeak-ng
at 160 words a minute, timed with sox (`soxi -D`). To the speech come 0.3 s for each key
the chair presses and a second of reading for each figure and total read off the
worksheet. The measure credits no barge-in: a chair listens to each prompt to its end.
"""

from __future__ import annotations

import random
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from callflows import flow
from callflows.ballots import Ballot
from callflows.flow import Context, PinCheck, PrecinctInfo
from callflows.spoken_names import spoken_name
from callflows.state import Progress
from callflows.trust import FULL_ATTESTATION
from flood.personas import Chair
from flood.worksheets import Worksheet
from ivr.catalogue import language_of, say
from softphone import GatherPrompt

WORDS_PER_MINUTE = 160
SECONDS_PER_KEY = 0.3
SECONDS_PER_FIGURE = 1.0
"""Reading one figure (or a block's total) off the worksheet before keying it."""
VOICES = {"en": "en-us", "es": "es-419"}
"""espeak-ng's voice for each language of the catalogue (Latin American Spanish, as Polly's
es-US voices are)."""
MAX_TURNS = 400
"""A call that has not ended after this many turns is a bug in the flow or the script."""
RECEIPT = "418207"
"""The receipt every measured call is given (a receipt is always six digits)."""
NOW = "2020-02-03T20:00:00-06:00"


class SpeechEngineMissing(RuntimeError):
    """espeak-ng or sox is not installed (scripts/ensure-test-services.sh installs both)."""


@dataclass(frozen=True)
class ChairCall:
    """What one chair's call consists of: every sentence heard, in order, and the keys."""

    precinct_id: str
    language: str
    sentences: tuple[tuple[str, str], ...]
    """Each as (language, words): the offer of the other language is said in that one."""
    keys: int
    figures: int


@dataclass(frozen=True)
class CallTime:
    """One call's length by the measure, in seconds."""

    precinct_id: str
    speech: float
    keys: float
    reading: float

    @property
    def total(self) -> float:
        return self.speech + self.keys + self.reading


class _OneSheet:
    """The flow's Services for one chair whose PIN is right and who has nothing saved."""

    def __init__(self, info: PrecinctInfo) -> None:
        self.info = info

    def find_precinct(self, precinct_id: str) -> PrecinctInfo | None:
        return self.info if precinct_id == self.info.precinct_id else None

    def check_pin(self, precinct_id: str, pin: str, caller: str, attested: bool) -> PinCheck:
        return PinCheck.RIGHT

    def new_receipt(self) -> str:
        return RECEIPT

    def saved_progress(self, precinct_id: str, caller: str) -> Progress | None:
        return None


def script_call(sheet: Worksheet, ballot: Ballot, language: str) -> ChairCall:
    """The call of the chair of `sheet`, whose phone chose `language` on an earlier call
    (English: none chosen), from the greeting to the receipt."""
    phone = "+15155550100"
    info = PrecinctInfo(
        precinct_id=sheet.precinct_id,
        name=sheet.precinct,
        county=sheet.county,
        delegates_to_elect=sheet.delegates_to_elect,
        chair_phone=phone,
        spoken_name=spoken_name(sheet.precinct, sheet.county),
    )
    ctx = Context(ballot=ballot, services=_OneSheet(info), now=NOW)
    chair = Chair(sheet.precinct_id, "000000", sheet, ballot, phone, rng=random.Random(0))
    chosen = "" if language == "en" else language
    turn = flow.start_call("CA-speech-time", phone, ctx, stir_verstat=FULL_ATTESTATION,
                           language=chosen)  # fmt: skip
    sentences: list[tuple[str, str]] = []
    keys = figures = 0
    for _ in range(MAX_TURNS):
        sentences += [_spoken(text, turn.state.language) for text in turn.say]
        if turn.prompt is None:
            return ChairCall(sheet.precinct_id, language, tuple(sentences), keys, figures)
        sentences.append(_spoken(turn.prompt.text, turn.state.language))
        pressed = chair.answer(_gather(turn.prompt))
        if not isinstance(pressed, str):
            raise RuntimeError(f"the chair of {sheet.precinct_id} stopped at {turn.prompt.step}")
        keys += len(pressed)
        figures += turn.prompt.step.split("/")[0] in ("figure", "total")
        turn = flow.answer(turn.state, pressed.removesuffix("#"), ctx,
                           finished_on_key="#" if pressed.endswith("#") else "")  # fmt: skip
    raise RuntimeError(f"the call of {sheet.precinct_id} did not end in {MAX_TURNS} turns")


def _spoken(text: str, call_language: str) -> tuple[str, str]:
    """A text as the web tier says it (ivr.twiml): its language, and its words there."""
    code = language_of(text, call_language)
    return code, say(text, code)


def _gather(prompt: flow.Prompt) -> GatherPrompt:
    return GatherPrompt(
        step=prompt.step,
        action_url=f"http://127.0.0.1/voice/{prompt.step}",
        speech=(prompt.text,),
        num_digits=prompt.num_digits,
        finish_on_key=prompt.finish_on_key,
        timeout=prompt.timeout,
        action_on_empty_result=True,
    )


class SpeechTimer:
    """Seconds each sentence takes when espeak-ng says it, timed by sox; each distinct
    sentence is spoken once."""

    def __init__(self, workers: int = 2) -> None:
        for program in ("espeak-ng", "soxi"):
            if shutil.which(program) is None:
                raise SpeechEngineMissing(
                    f"{program} is not installed: run scripts/ensure-test-services.sh "
                    "(it installs Debian's espeak-ng and sox)"
                )
        self.workers = workers
        self._seconds: dict[tuple[str, str], float] = {}

    def seconds(self, sentence: tuple[str, str]) -> float:
        return self._seconds[sentence]

    def speak_all(self, sentences: Iterable[tuple[str, str]]) -> None:
        """Time every sentence (language, words) not yet timed, `workers` at a time."""
        todo = sorted({sentence for sentence in sentences if sentence not in self._seconds})
        with tempfile.TemporaryDirectory(prefix="speech-time-") as folder:
            jobs = [(code, text, Path(folder) / f"{n}.wav") for n, (code, text) in enumerate(todo)]
            with ThreadPoolExecutor(self.workers) as pool:
                for sentence, seconds in zip(todo, pool.map(_time_one, jobs), strict=True):
                    self._seconds[sentence] = seconds


def _time_one(job: tuple[str, str, Path]) -> float:
    language, text, wav = job
    voice = VOICES[language]
    # The text goes on standard input, so a sentence is never taken for an option.
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(WORDS_PER_MINUTE), "-w", str(wav)],
                   input=text.encode(), check=True, capture_output=True)  # fmt: skip
    timed = subprocess.run(["soxi", "-D", str(wav)], check=True, capture_output=True, text=True)
    return float(timed.stdout)


def time_calls(calls: Sequence[ChairCall], timer: SpeechTimer) -> list[CallTime]:
    timer.speak_all(sentence for call in calls for sentence in call.sentences)
    return [
        CallTime(
            precinct_id=call.precinct_id,
            speech=sum(timer.seconds(sentence) for sentence in call.sentences),
            keys=call.keys * SECONDS_PER_KEY,
            reading=call.figures * SECONDS_PER_FIGURE,
        )
        for call in calls
    ]


def median_call(times: Sequence[CallTime]) -> CallTime:
    """The call whose length is the median (the lower middle one of an even count)."""
    ranked = sorted(times, key=lambda time: time.total)
    return ranked[(len(ranked) - 1) // 2]


def summary(times: Sequence[CallTime]) -> dict[str, float | str]:
    """The median call's figures (minutes, and seconds by part) and the 90th percentile's."""
    totals = [time.total for time in times]
    middle = median_call(times)
    p90 = statistics.quantiles(totals, n=10)[-1] if len(totals) > 1 else totals[0]
    return {
        "calls": len(times),
        "median_precinct_id": middle.precinct_id,
        "median_minutes": round(middle.total / 60, 2),
        "median_speech_share": round(middle.speech / middle.total, 2),
        "median_speech_seconds": round(middle.speech, 1),
        "median_keys_seconds": round(middle.keys, 1),
        "median_reading_seconds": round(middle.reading, 1),
        "p90_minutes": round(p90 / 60, 2),
    }
