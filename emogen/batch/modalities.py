"""What a batch job of each modality takes: typed fields with defaults, their checks, the output suffix.

Adding a modality (video, talk) takes a params dataclass with ``check()`` here, a runner class in
runners.py and one `Modality` line in ``MODALITIES``. Checks stay light (no torch, no model) so that a
whole job file is validated in about a second, before anything runs.
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Callable

from emogen.emotion import Emotion, EmotionArc
from emogen.errors import EmotionError


class FieldError(EmotionError):
    """A bad value of one job field; jobs.py adds the file, line and job to the message."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _checked(field: str, check: Callable, value):
    """``check(value)``, with any EmotionError it raises tied to ``field``."""
    try:
        return check(value)
    except EmotionError as err:
        raise FieldError(field, str(err)) from None


def _at_least(field: str, value, low: float) -> None:
    if value is not None and not (math.isfinite(value) and value >= low):
        raise FieldError(field, f"must be >= {low:g}, got {value!r}")


def _single_emotion(field: str, spec: str) -> Emotion:
    return _checked(field, Emotion.parse, spec)


def _arc(field: str, spec: str) -> EmotionArc:
    return _checked(field, EmotionArc.parse, spec)


@dataclass(frozen=True)
class ImageJob:
    """`emogen image` for one emotion: best_of candidates from seeds seed..seed+best_of-1, the closest kept."""

    prompt: str
    emotion: str
    seed: int = 0
    steps: int | None = None  # None: the model's recommended, as `emogen image`
    guidance: float | None = None
    emotion_guidance: float | None = None
    emotion_scale: float = 1.0
    best_of: int = 1
    model: str | None = None  # None: $EMOGEN_IMAGE_MODEL, else the shipped checkpoint
    scorer: str = "emofaces"

    def check(self) -> None:
        from emogen.score.registry import SCORERS

        if not self.prompt.strip():
            raise FieldError("prompt", "is empty; say what to draw")
        _single_emotion("emotion", self.emotion)
        _at_least("seed", self.seed, 0)
        _at_least("steps", self.steps, 1)
        _at_least("best_of", self.best_of, 1)
        _at_least("emotion_scale", self.emotion_scale, 0)
        if self.scorer not in SCORERS:
            raise FieldError("scorer", f"unknown scorer {self.scorer!r}; accepted: {', '.join(SCORERS)}")


@dataclass(frozen=True)
class SpeechJob:
    """`emogen speak`: text with an emotion or an arc. The engines are deterministic: no seed, no best-of."""

    text: str
    emotion: str
    engine: str = "espeak"
    voice: str | None = None

    def check(self) -> None:
        from emogen.speech.engines import ENGINES
        from emogen.speech.text import check_text

        _checked("text", check_text, self.text)
        _arc("emotion", self.emotion)
        if self.engine not in ENGINES:
            raise FieldError("engine", f"unknown speech engine {self.engine!r}; accepted: {', '.join(ENGINES)}")


@dataclass(frozen=True)
class MusicJob:
    """`emogen music` with the embedded composer; best_of keeps the seed whose measured VA is closest."""

    emotion: str
    seconds: float
    seed: int = 0
    best_of: int = 1
    sample_rate: int = 22050

    def check(self) -> None:
        from emogen.music.commands import SAMPLE_RATES
        from emogen.music.composer import check_seconds

        arc = _arc("emotion", self.emotion)
        _checked("seconds", check_seconds, self.seconds)
        _at_least("seed", self.seed, 0)
        _at_least("best_of", self.best_of, 1)
        low, high = SAMPLE_RATES
        if not low <= self.sample_rate <= high:
            raise FieldError("sample_rate", f"must be in [{low}, {high}] Hz, got {self.sample_rate}")
        if self.best_of > 1 and len(arc.keyframes) > 1:
            # One target point to be close to; an arc has as many as it has moments.
            raise FieldError("best_of", "works with a single emotion, not an arc; use best_of: 1 for arcs")


@dataclass(frozen=True)
class Modality:
    name: str
    params: type  # a frozen dataclass with check()
    suffix: str  # of the one output file a job writes
    runner: str  # "module:Class", imported only when a job of this modality runs

    def make_runner(self, device: str):
        """A new runner of this modality (its module imported now, its models loaded by ``prepare``)."""
        module, name = self.runner.split(":")
        return getattr(importlib.import_module(module), name)(device)


MODALITIES: dict[str, Modality] = {
    modality.name: modality
    for modality in (
        Modality("image", ImageJob, ".png", "emogen.batch.runners:ImageRunner"),
        Modality("speech", SpeechJob, ".wav", "emogen.batch.runners:SpeechRunner"),
        Modality("music", MusicJob, ".wav", "emogen.batch.runners:MusicRunner"),
    )
}


def get_modality(name: object) -> Modality:
    if name is None:
        raise FieldError("modality", f"every job needs a modality; accepted: {', '.join(MODALITIES)}")
    if not isinstance(name, str) or name not in MODALITIES:
        raise FieldError("modality", f"unknown modality {name!r}; accepted: {', '.join(MODALITIES)}")
    return MODALITIES[name]
