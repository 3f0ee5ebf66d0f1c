"""Soundtrack under speech: sidechain ducking, so music dips while someone talks and recovers after.

Meant for `emogen video/talk --soundtrack`: the speech envelope (RMS in 20 ms frames) opens a gain
that pulls the music down by ``duck_db``, with a fast attack and a slow release as broadcast mixers
use (speech must stay intelligible; music should not pump between words).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emogen.errors import EmotionError


@dataclass(frozen=True)
class DuckingConfig:
    duck_db: float = -12.0  # music level while speech is present
    threshold_dbfs: float = -40.0  # speech frames above this count as talking
    attack_s: float = 0.05
    release_s: float = 0.4
    frame_s: float = 0.02


def ducking_gain(speech: np.ndarray, sample_rate: int, config: DuckingConfig = DuckingConfig()) -> np.ndarray:
    """Per-sample music gain in (0, 1]: 1 in silence, ``duck_db`` under speech, smoothed."""
    if config.duck_db > 0:
        raise EmotionError(f"duck_db must be <= 0 dB (a cut), got {config.duck_db}")
    frame = max(1, int(config.frame_s * sample_rate))
    count = -(-speech.size // frame)
    padded = np.pad(np.asarray(speech, dtype=np.float64), (0, count * frame - speech.size))
    level = 10 * np.log10(np.mean(padded.reshape(count, frame) ** 2, axis=1) + 1e-20)
    target = np.where(level > config.threshold_dbfs, 10 ** (config.duck_db / 20), 1.0)
    gain = np.empty(count)
    current = 1.0
    for index, wanted in enumerate(target):  # one-pole smoothing, faster going down than coming back
        time_constant = config.attack_s if wanted < current else config.release_s
        current += (wanted - current) * (1 - np.exp(-config.frame_s / time_constant))
        gain[index] = current
    return np.repeat(gain, frame)[: speech.size]


def mix_under(music: np.ndarray, speech: np.ndarray, sample_rate: int,
              config: DuckingConfig = DuckingConfig()) -> np.ndarray:
    """Speech over ducked music, as long as the longer of the two; peaks kept below full scale."""
    length = max(music.size, speech.size)
    music = np.pad(np.asarray(music, dtype=np.float64), (0, length - music.size))
    speech = np.pad(np.asarray(speech, dtype=np.float64), (0, length - speech.size))
    mixed = speech + music * ducking_gain(speech, sample_rate, config)
    peak = np.abs(mixed).max(initial=0.0)
    return (mixed / peak if peak > 1.0 else mixed).astype(np.float32)
