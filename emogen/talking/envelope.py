"""The loudness envelope of speech, one value per video frame (drives nods; the lip-sync metric's reference)."""
from __future__ import annotations

import numpy as np


def rms_envelope(audio: np.ndarray, sample_rate: int, fps: float, n_frames: int) -> np.ndarray:
    """(n_frames,) RMS of the audio heard while each frame is on screen: frame f shows from f / fps
    to (f + 1) / fps (so it stands for the instant (f + 0.5) / fps, as the mouth tracks do)."""
    audio = np.asarray(audio, dtype=np.float64).ravel()
    hop = sample_rate / fps
    # Cumulative sums make every window O(1): a long clip costs one pass over the samples.
    power = np.concatenate([[0.0], np.cumsum(audio * audio)])
    edges = np.round(np.arange(n_frames + 1) * hop).astype(np.int64)
    start = np.clip(edges[:-1], 0, len(audio))
    stop = np.clip(edges[1:], 0, len(audio))
    width = np.maximum(stop - start, 1)
    return np.sqrt((power[stop] - power[start]) / width)
