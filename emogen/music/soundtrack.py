"""A soundtrack for another medium: the embedded composer following the same emotion arc, scored, and
mixed under speech with ducking (`emogen talk --soundtrack`) or alone (`emogen video --soundtrack`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emogen.emotion import EmotionArc
from emogen.music.mix import mix_under

# Under speech the music sits this far down before ducking (speech stays intelligible; ducking cuts more).
UNDER_SPEECH_DB = -12.0


@dataclass(frozen=True)
class Soundtrack:
    audio: np.ndarray  # mono float32 at sample_rate, ``seconds`` long
    sample_rate: int
    record: dict  # for the sidecar: how it was made and how it scored

    def under(self, speech: np.ndarray) -> np.ndarray:
        """This music ducked under ``speech`` (same sample rate), as long as the longer of the two."""
        return mix_under(self.audio * 10 ** (UNDER_SPEECH_DB / 20), speech, self.sample_rate)


def soundtrack(arc: EmotionArc, seconds: float, sample_rate: int, seed: int = 0) -> Soundtrack:
    """Music for ``seconds`` that follows ``arc`` (cut or held as the medium's own arc is)."""
    from emogen.music.commands import score_music
    from emogen.music.composer import compose
    from emogen.music.synth import render

    audio = render(compose(arc, seconds, seed=seed), sample_rate)
    record = {"composer": "emogen", "seed": seed, "seconds": round(seconds, 4), "sample_rate": sample_rate,
              "scores": score_music(arc, audio, sample_rate, seconds)}
    return Soundtrack(audio, sample_rate, record)
