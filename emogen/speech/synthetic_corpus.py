"""A small emotional speech corpus written in the real ESD / RAVDESS / CREMA-D layout, spoken by emogen.

For tests and smoke runs of train/train_tts.py where the real corpora (licensed, gigabytes) are not at
hand. Each clip is ``emogen.speech.speak`` output: an espeak-ng voice (one voice variant per "speaker")
following the prosody plan of the clip's label, resampled to the corpus's own sample rate (ESD and
CREMA-D 16 kHz, RAVDESS 48 kHz) and named exactly as the corpus names its files, so the readers in
emogen.speech.datasets read it like the real thing. It is formant-synthesised speech with rule-based
emotion: good for checking that training runs and that conditioning is used, not for a voice worth keeping.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from emogen.audio import write_wav
from emogen.errors import EmotionError
from emogen.speech.datasets import (
    CREMAD_EMOTIONS,
    CREMAD_SENTENCES,
    ESD_EMOTIONS,
    LAYOUTS,
    RAVDESS_EMOTIONS,
    RAVDESS_STATEMENTS,
)
from emogen.speech.speak import speak

SAMPLE_RATES = {"esd": 16000, "ravdess": 48000, "cremad": 16000}
# One espeak-ng voice variant per synthetic speaker (a different pitch and timbre each).
VOICES = ("en-us", "en-us+f3", "en-us+m3", "en-us+f2")
ESD_SENTENCES = ("The dog sat by the door.", "We will meet again tomorrow.", "Please close the window now.",
                 "She read the letter twice.")
_ESD_FIRST_NUMBER = {"Neutral": 1, "Angry": 351, "Happy": 701, "Sad": 1051, "Surprise": 1401}  # ESD's numbering


def write_corpus(layout: str, root: str | Path, speakers: int = 2, sentences: int = 2) -> list[Path]:
    """Write a corpus in ``layout`` under ``root``: every emotion of the corpus, ``sentences`` texts each,
    for ``speakers`` speakers. Returns the wav paths written."""
    if layout not in LAYOUTS:
        raise EmotionError(f"unknown speech corpus layout {layout!r}; accepted: {', '.join(LAYOUTS)}")
    if not 1 <= speakers <= len(VOICES):
        raise EmotionError(f"speakers must be 1..{len(VOICES)}, got {speakers}")
    root = Path(root)
    writer = {"esd": _write_esd, "ravdess": _write_ravdess, "cremad": _write_cremad}[layout]
    return writer(root, speakers, max(1, int(sentences)))


def _say(path: Path, text: str, emotion: str, voice: str, sample_rate: int) -> Path:
    result = speak(text, emotion=emotion, voice=voice)
    audio, rate = result.utterance.audio, result.utterance.sample_rate
    ratio = Fraction(sample_rate, rate).limit_denominator(1000)
    resampled = resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)
    peak = float(np.max(np.abs(resampled))) or 1.0
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_wav(path, resampled * min(1.0, 0.95 / peak), sample_rate)


def _write_esd(root: Path, speakers: int, sentences: int) -> list[Path]:
    written = []
    for index in range(speakers):
        speaker = f"{11 + index:04d}"  # the English speakers are 0011-0020
        lines = []
        for folder, emotion in ESD_EMOTIONS.items():
            for number, text in enumerate(ESD_SENTENCES[:sentences]):
                key = f"{speaker}_{_ESD_FIRST_NUMBER[folder] + number:06d}"
                lines.append(f"{key}\t{text}\t{folder}")
                written.append(_say(root / speaker / folder / "train" / f"{key}.wav", text, emotion,
                                    VOICES[index], SAMPLE_RATES["esd"]))
        (root / speaker / f"{speaker}.txt").write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    return written


def _write_ravdess(root: Path, speakers: int, sentences: int) -> list[Path]:
    written = []
    for index in range(speakers):
        actor = f"{index + 1:02d}"
        for code, emotion in RAVDESS_EMOTIONS.items():
            for statement in list(RAVDESS_STATEMENTS)[: min(sentences, 2)]:
                intensity = "01"
                spec = "neutral" if code == "01" else f"{emotion}:0.5"
                name = f"03-01-{code}-{intensity}-{statement}-01-{actor}.wav"
                written.append(_say(root / f"Actor_{actor}" / name, RAVDESS_STATEMENTS[statement], spec,
                                    VOICES[index], SAMPLE_RATES["ravdess"]))
    return written


def _write_cremad(root: Path, speakers: int, sentences: int) -> list[Path]:
    written = []
    for index in range(speakers):
        actor = f"{1001 + index}"
        for code, emotion in CREMAD_EMOTIONS.items():
            for sentence in list(CREMAD_SENTENCES)[:sentences]:
                spec = "neutral" if code == "NEU" else f"{emotion}:0.66"
                written.append(_say(root / "AudioWAV" / f"{actor}_{sentence}_{code}_XX.wav", CREMAD_SENTENCES[sentence],
                                    spec, VOICES[index], SAMPLE_RATES["cremad"]))
    return written
