"""The one interface every speech engine implements, and what it returns."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from emogen.speech.plan import ProsodyPlan


@dataclass(frozen=True)
class Timing:
    """A labelled span of the audio, in seconds."""

    label: str
    start: float
    end: float

    def to_dict(self) -> dict:
        return {"label": self.label, "start": round(self.start, 4), "end": round(self.end, 4)}


@dataclass(frozen=True)
class Utterance:
    """Audio (mono float32 in [-1, 1]) with one Timing per word of the text and the phonemes, if known."""

    audio: np.ndarray
    sample_rate: int
    words: tuple[Timing, ...]
    phonemes: tuple[Timing, ...] = ()

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


class SpeechEngine(ABC):
    """Text -> Utterance. ``plan`` is realised with the engine's own controls where it has them.

    Engines return one word Timing per word of ``split_words(text)`` (same order and labels), so the
    post-processor can apply the plan word by word. What an engine cannot do itself (most engines: pitch,
    all of them: voice quality) the post-processor does; engines say what they did in ``realises``.
    """

    name: str = ""
    realises: frozenset[str] = frozenset()  # ProsodyCues names the engine applies itself

    @abstractmethod
    def synthesize(self, text: str, plan: ProsodyPlan | None = None) -> Utterance:
        """Speak ``text``; without a plan, the voice's neutral delivery."""

    @property
    @abstractmethod
    def voice(self) -> str:
        """The voice in use (recorded in outputs: the scorer's neutral reference must be the same voice)."""
