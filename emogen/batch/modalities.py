"""What a batch job of each modality takes: typed fields with defaults, their checks, the output suffix.

Adding a modality takes a params dataclass with ``check()`` here, a runner class in
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


def _prompt(prompt: str) -> None:
    if not prompt.strip():
        raise FieldError("prompt", "is empty; say what to draw")


def _engine(name: str) -> None:
    from emogen.speech.engines import ENGINES

    if name not in ENGINES:
        raise FieldError("engine", f"unknown speech engine {name!r}; accepted: {', '.join(ENGINES)}")


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

        _prompt(self.prompt)
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
        from emogen.speech.text import check_text

        _checked("text", check_text, self.text)
        _arc("emotion", self.emotion)
        _engine(self.engine)


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
class VideoJob:
    """`emogen video`: a clip whose emotion follows an arc; ``image`` animates a still (image-to-video)."""

    prompt: str
    emotion: str
    frames: int = 16
    fps: float = 8.0
    image: str | None = None
    strength: float = 0.6
    seed: int = 0
    steps: int | None = None
    guidance: float | None = None
    emotion_scale: float | None = None  # None: the model's recommended, else 1
    noise_correlation: float | None = None  # None: the model's recommended (emogen.video.noise)
    model: str | None = None  # None: the shipped checkpoints/emofaces-video

    def check(self) -> None:
        from emogen.video.clip import check_arc_fits, check_frame_count
        from emogen.video.generate import MAX_FRAMES
        from emogen.videofile import check_fps

        _prompt(self.prompt)
        arc = _arc("emotion", self.emotion)
        _checked("frames", lambda n: check_frame_count(n, MAX_FRAMES), self.frames)
        fps = _checked("fps", check_fps, self.fps)
        _checked("emotion", lambda a: check_arc_fits(a, self.frames, fps), arc)
        _at_least("seed", self.seed, 0)
        _at_least("steps", self.steps, 1)
        _at_least("emotion_scale", self.emotion_scale, 0)
        if not 0 <= self.strength <= 1:
            raise FieldError("strength", f"must be in [0, 1], got {self.strength!r}")
        if self.noise_correlation is not None:
            from emogen.video.noise import check_noise_correlation

            _checked("noise_correlation", check_noise_correlation, self.noise_correlation)


@dataclass(frozen=True)
class TalkJob:
    """`emogen talk`: a portrait ('avatar', 'avatar:SEED' or a photo path) speaking ``text`` with an emotion/arc."""

    text: str
    emotion: str
    portrait: str = "avatar"
    fps: float = 25.0
    size: int = 256
    seed: int = 0
    engine: str = "espeak"

    def check(self) -> None:
        from emogen.speech.text import check_text
        from emogen.videofile import check_fps

        _checked("text", check_text, self.text)
        _arc("emotion", self.emotion)
        _checked("fps", check_fps, self.fps)
        if not 64 <= self.size <= 512:
            raise FieldError("size", f"must be from 64 to 512 px, got {self.size!r}")
        _at_least("seed", self.seed, 0)
        _engine(self.engine)


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
        Modality("video", VideoJob, ".mp4", "emogen.batch.runners:VideoRunner"),
        Modality("talk", TalkJob, ".mp4", "emogen.batch.runners:TalkRunner"),
    )
}


def get_modality(name: object) -> Modality:
    if name is None:
        raise FieldError("modality", f"every job needs a modality; accepted: {', '.join(MODALITIES)}")
    if not isinstance(name, str) or name not in MODALITIES:
        raise FieldError("modality", f"unknown modality {name!r}; accepted: {', '.join(MODALITIES)}")
    return MODALITIES[name]
