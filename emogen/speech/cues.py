"""The cue table: how an emotion sounds in speech, as prosodic and voice-quality settings.

Two tables live here, kept apart on purpose:

``PLAN_CUES`` (used by the planner) gives, per category at full intensity, signed *magnitudes* relative
to the same voice speaking neutrally. The *directions* come from the literature below; the magnitudes
are ours, chosen to stay inside the spread of effects those studies report for acted speech (a few
semitones of F0, a few dB of level, roughly +-20 % of rate). They were not fitted to anything.

``CUE_PATTERNS`` (used by the scorer) is the purely directional summary of Juslin & Laukka (2003),
Table 11 ("high / medium / low" per cue, written as +1 high / +0.5 medium-high / 0 medium / -1 low), without our magnitudes, so
that the scorer does not just read back the planner's own numbers.

Sources:
- [JL03] Juslin, P. N. & Laukka, P. (2003). Communication of emotions in vocal expression and music
  performance: different channels, same code? Psychological Bulletin 129(5), 770-814. Table 11 (cue
  patterns for anger, fear, happiness, sadness, tenderness; meta-analysis of 104 speech studies):
  anger - fast rate, high intensity, much high-frequency energy, high F0, much F0 variability;
  fear - fast rate, low intensity (except panic), little high-frequency energy, high F0, little F0
  variability, much microstructural irregularity; happiness - fast rate, medium-high intensity, medium
  high-frequency energy, high F0, much F0 variability, regular; sadness - slow rate, low intensity,
  little high-frequency energy, low F0, little F0 variability, irregular; tenderness - slow, low
  intensity, little high-frequency energy, low F0, little F0 variability, regular.
- [S03] Scherer, K. R. (2003). Vocal communication of emotion: a review of research paradigms.
  Speech Communication 40, 227-256 (its synthesis table of empirical findings): the same directions, plus
  boredom/sadness with more and longer pauses, anger/joy with fewer and shorter pauses.
- [BS96] Banse, R. & Scherer, K. R. (1996). Acoustic profiles in vocal emotion expression. Journal of
  Personality and Social Psychology 70(3), 614-636: 14 emotions acted by 12 actors; disgust and
  contempt with lowered F0 and slower delivery, panic fear and hot anger with the highest F0 and level.
  Disgust, surprise and contempt are covered by few studies; their rows are marked approximate.
- Voice quality: breathy, lax phonation for sadness and tender speech and tense phonation (a flatter
  spectrum) for anger [S03; JL03 "high-frequency energy"]; jitter/tremor for fear and sadness
  ("microstructural irregularity", JL03).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from emogen.emotion import Emotion


@dataclass(frozen=True)
class ProsodyCues:
    """Prosody relative to the voice's neutral delivery; all zero (and factors one) means neutral."""

    pitch_semitones: float = 0.0  # F0 level shift
    pitch_range: float = 1.0  # factor on F0 excursions around the level
    rate: float = 1.0  # speaking-rate factor (2 = twice as fast)
    energy_db: float = 0.0  # level change
    pause: float = 1.0  # factor on pause lengths at punctuation
    breathiness: float = 0.0  # 0..1, aspiration noise mixed into the voice
    jitter: float = 0.0  # 0..1, cycle-to-cycle F0 irregularity plus a slow tremor
    tension_db: float = 0.0  # high-frequency (>1 kHz) tilt: + tense/bright, - lax/dark


@dataclass(frozen=True)
class CueRow:
    category: str
    cues: ProsodyCues
    source: str


PLAN_CUES: dict[str, CueRow] = {
    row.category: row
    for row in [
        CueRow("neutral", ProsodyCues(), "reference by definition"),
        CueRow("joy", ProsodyCues(3.5, 1.45, 1.10, 3.0, 0.85, 0.0, 0.0, 1.5), "JL03 Table 11 (happiness); S03"),
        CueRow("sadness", ProsodyCues(-2.5, 0.6, 0.80, -5.0, 1.6, 0.35, 0.25, -4.0), "JL03 Table 11; S03"),
        CueRow("anger", ProsodyCues(2.5, 1.4, 1.15, 6.0, 0.7, 0.0, 0.05, 5.0), "JL03 Table 11; S03; BS96 (hot anger)"),
        CueRow("fear", ProsodyCues(5.0, 0.8, 1.20, -2.0, 1.1, 0.2, 0.7, -2.0), "JL03 Table 11; BS96"),
        CueRow("disgust", ProsodyCues(-1.5, 0.9, 0.85, 0.0, 1.2, 0.1, 0.1, 1.0), "approximate, after BS96"),
        CueRow("surprise", ProsodyCues(4.0, 1.6, 1.05, 2.0, 1.0, 0.05, 0.0, 1.0), "approximate, few studies (S03)"),
        CueRow("contempt", ProsodyCues(-2.0, 1.1, 0.9, -1.0, 1.2, 0.0, 0.0, 0.5), "approximate, after BS96"),
        # Mikels' positive categories: excitement and amusement as happiness of different strength,
        # contentment as tenderness [JL03]; awe has no speech study and is marked approximate.
        CueRow("excitement", ProsodyCues(4.5, 1.5, 1.18, 4.0, 0.8, 0.0, 0.05, 2.5), "JL03 (happiness, high activation)"),
        CueRow("amusement", ProsodyCues(3.0, 1.4, 1.08, 2.0, 0.9, 0.05, 0.0, 1.0), "JL03 (happiness)"),
        CueRow("contentment", ProsodyCues(-1.0, 0.75, 0.88, -3.0, 1.3, 0.2, 0.0, -2.5), "JL03 Table 11 (tenderness)"),
        CueRow("awe", ProsodyCues(0.5, 1.1, 0.85, -2.0, 1.4, 0.3, 0.05, -1.5), "approximate"),
    ]
}

# Factors, mixed in the log domain (see cues_for).
MULTIPLICATIVE = frozenset({"pitch_range", "rate", "pause"})

# The scorer's feature names, in this order, and JL03's direction for each (+1 high, -1 low).
PATTERN_FEATURES = ("f0_level", "f0_variability", "intensity", "rate", "hf_energy", "irregularity")
CUE_PATTERNS: dict[str, tuple[float, ...]] = {
    "neutral": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "anger": (1.0, 1.0, 1.0, 1.0, 1.0, 0.0),
    "fear": (1.0, -1.0, -1.0, 1.0, -1.0, 1.0),
    # Happiness: medium-high intensity, medium HF energy, "very little" irregularity - written 0 (as
    # neutral), because against a neutral reference irregularity can only be measured as more, not less.
    "joy": (1.0, 1.0, 0.5, 1.0, 0.0, 0.0),
    "sadness": (-1.0, -1.0, -1.0, -1.0, -1.0, 1.0),
}


def cues_for(emotion: Emotion) -> ProsodyCues:
    """The cues of an emotion: the probability-weighted mixture of its categories' rows, scaled by intensity.

    Additive factors (semitones, dB, 0..1 amounts) mix linearly; multiplicative ones (range, rate,
    pause) mix in the log domain so that, e.g., half of "twice as fast" is sqrt(2) times as fast.
    """
    weights = {name: p for name, p in emotion.categories.items() if p > 0}
    mixed = {}
    for field in fields(ProsodyCues):
        values = np.array([getattr(PLAN_CUES[name].cues, field.name) for name in weights])
        p = np.array(list(weights.values()))
        if field.name in MULTIPLICATIVE:
            mixed[field.name] = float(np.exp(emotion.intensity * (p @ np.log(values))))
        else:
            mixed[field.name] = float(emotion.intensity * (p @ values))
    return ProsodyCues(**mixed)

