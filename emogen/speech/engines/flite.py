"""CMU Flite through its command line (Debian package ``flite``, BSD-style licence): a second, independent voice.

Flite's statistical voices (slt, rms, awb) sound nothing like espeak-ng's formant synthesis, which makes
it the held-out engine for the speech scorer. It has no prosody controls the plan could use, so the
post-processor does all of it.

Timing: ``-psdur`` prints every phone with its end time (real synthesiser times). Flite does not say
which phones belong to which word, so word times are estimated (alignment.py): the speech between two
pauses is one phrase of the text, shared among its words by their length in characters. That is exact
at phrase edges and approximate inside: fine for a constant emotion (every word gets the same
settings), too coarse for word-level edits.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from emogen.errors import EmotionError
from emogen.speech.engines.alignment import align_words
from emogen.speech.engines.base import SpeechEngine, Timing, Utterance
from emogen.speech.plan import ProsodyPlan
from emogen.speech.text import check_text, split_words
from emogen.audio import read_wav

DEFAULT_VOICE = "slt"
INSTALL_HINT = "install it with: apt-get install flite"


class FliteEngine(SpeechEngine):
    name = "flite"

    def __init__(self, voice: str = DEFAULT_VOICE) -> None:
        self._binary = shutil.which("flite")
        if self._binary is None:
            raise EmotionError(f"engine 'flite' needs the flite program, which is not installed; {INSTALL_HINT}")
        listed = subprocess.run([self._binary, "-lv"], capture_output=True, text=True, timeout=30).stdout
        voices = listed.split(":", 1)[-1].split()
        if voice not in voices:
            raise EmotionError(f"flite has no voice {voice!r}; accepted: {', '.join(voices)}")
        self._voice = voice

    @property
    def voice(self) -> str:
        return self._voice

    def synthesize(self, text: str, plan: ProsodyPlan | None = None) -> Utterance:
        words = split_words(check_text(text))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "speech.wav"
            done = subprocess.run([self._binary, "-voice", self._voice, "-psdur", "-t", text, "-o", str(path)],
                                  capture_output=True, text=True, timeout=600)
            if done.returncode != 0 or not path.is_file():
                raise EmotionError(f"flite could not speak {text[:40]!r}: {done.stderr.strip()[:200]}")
            audio, sample_rate = read_wav(path)
        phones = _phones(done.stdout)
        # Each run of phones between pauses is one phrase, spoken as one group (flite does not mark words).
        groups = [[segment] for segment in _speech_segments(phones)]
        return Utterance(audio, sample_rate, align_words(words, groups), tuple(p for p in phones if p.label != "pau"))


def _phones(listing: str) -> list[Timing]:
    """'pau:0.164 hh:0.255 ...' (phone:end time) as Timings."""
    phones, start = [], 0.0
    for item in listing.split():
        label, _, end = item.rpartition(":")
        try:
            end_time = float(end)
        except ValueError:
            continue
        phones.append(Timing(label, start, end_time))
        start = end_time
    return phones


def _speech_segments(phones: list[Timing]) -> list[tuple[float, float]]:
    """(start, end) of each run of phones between pauses."""
    segments, start = [], None
    for phone in phones:
        if phone.label == "pau":
            if start is not None:
                segments.append((start, phone.start))
                start = None
        elif start is None:
            start = phone.start
    if start is not None:
        segments.append((start, phones[-1].end))
    return segments
