"""Speech emotion from prosody: measured cues relative to a neutral reference -> valence/arousal + categories.

No part of it is trained or fitted. The rules are:

- cues (``measure_cues``): F0 level (median, semitones), F0 variability (log2 ratio of the 10-90 %
  spread), intensity (dB), speaking rate (log2 ratio of speech time), high-frequency energy (dB, energy
  above 1 kHz re all), microstructural irregularity (semitones of frame-to-frame F0 deviation), each as
  the utterance minus the reference: the same voice speaking the same text neutrally. Speech has no
  absolute neutral: a deep voice is not a sad one, so only changes against the same voice can be read.
- each cue divided by its ``scale`` (below), clipped to +-2: one unit is a clear change.
- categories: a softmax over the negative squared distances to the cue directions of Juslin & Laukka
  (2003, Table 11), ``CUE_PATTERNS`` in cues.py; only the five categories that table covers
  (neutral, joy, sadness, anger, fear) are scored, the others have too few speech studies.
- arousal: tanh of the mean of the level, intensity, rate and high-frequency cues, the cues that track
  activation [JL03; Laukka, Juslin & Bresin 2005, Cognition & Emotion 19(5): 633-653];
  valence: the probability-weighted valence of the categories' prototypes (prosody carries valence
  only weakly [S03], so it comes through the categories).

Where the numbers come from: directions from the literature above; the scales are round numbers of the
size of effects acted speech shows (a few semitones, a few dB, tens of percent of rate), set by hand and
checked on espeak-ng's default voice during development (that voice is therefore not a fair test); the
benchmark reports accuracy on other voices (bench/bench_speech.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from emogen.score.estimate import EmotionEstimate, expected_va
from emogen.speech.cues import CUE_PATTERNS, PATTERN_FEATURES
from emogen.speech.features import Analysis

SCORER_NAME = "speech-prosody-rules"


@dataclass(frozen=True)
class CueScales:
    """One clear change of each cue (the unit of the scorer's patterns)."""

    f0_level: float = 3.0  # semitones
    f0_variability: float = 0.4  # log2 ratio (x1.32)
    intensity: float = 4.0  # dB
    rate: float = 0.2  # log2 ratio (x1.15)
    hf_energy: float = 2.0  # dB
    irregularity: float = 0.3  # semitones
    temperature: float = 1.0  # softmax over -distance^2 / (2 temperature^2)


@dataclass(frozen=True)
class SpeechCues:
    """Measured changes against the neutral reference (see the module doc for units)."""

    f0_level: float
    f0_variability: float
    intensity: float
    rate: float
    hf_energy: float
    irregularity: float

    def to_dict(self) -> dict:
        return {name: round(value, 4) for name, value in asdict(self).items()}


def measure_cues(utterance: Analysis, reference: Analysis) -> SpeechCues:
    reference_hz = reference.track.median_hz()
    level = utterance.smoothed_semitones(reference_hz)
    return SpeechCues(
        f0_level=_finite(np.nanmedian(level) if np.any(~np.isnan(level)) else np.nan),
        f0_variability=_finite(np.log2(utterance.f0_spread(reference_hz) / reference.f0_spread(reference_hz))),
        intensity=_finite(utterance.level_db() - reference.level_db()),
        rate=_finite(np.log2(reference.speech_time() / max(utterance.speech_time(), 1e-6))),
        hf_energy=_finite(utterance.hf_balance_db() - reference.hf_balance_db()),
        irregularity=_finite(utterance.irregularity(reference_hz) - reference.irregularity(reference_hz)),
    )


def estimate_emotion(cues: SpeechCues, scales: CueScales = CueScales()) -> EmotionEstimate:
    z = np.array([np.clip(getattr(cues, name) / getattr(scales, name), -2.0, 2.0) for name in PATTERN_FEATURES])
    names = list(CUE_PATTERNS)
    patterns = np.array([CUE_PATTERNS[name] for name in names])
    logits = -np.sum((z[None, :] - patterns) ** 2, axis=1) / (2.0 * scales.temperature**2)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    distribution = {name: float(p) for name, p in zip(names, probs)}
    activation = [PATTERN_FEATURES.index(name) for name in ("f0_level", "intensity", "rate", "hf_energy")]
    valence, _ = expected_va(distribution)
    return EmotionEstimate(
        probs=distribution,
        valence=float(np.clip(valence, -1.0, 1.0)),
        arousal=float(np.tanh(z[activation].mean())),
        confidence=float(probs.max()),
        scorer=SCORER_NAME,
    )


def score_speech(utterance: Analysis, reference: Analysis, scales: CueScales = CueScales()) -> tuple[EmotionEstimate, SpeechCues]:
    """The estimate and the cues it was read from."""
    cues = measure_cues(utterance, reference)
    return estimate_emotion(cues, scales), cues


def _finite(value: float) -> float:
    """Missing measurements (an unvoiced clip has no F0) count as no change."""
    value = float(value)
    return value if np.isfinite(value) else 0.0
