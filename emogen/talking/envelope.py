"""The loudness envelope of speech, one value per video frame (drives nods and the effort gain; the
lip-sync metric's reference), and a low-passed envelope reported beside it as a second reference."""
from __future__ import annotations

import numpy as np


def rms_envelope(audio: np.ndarray, sample_rate: int, fps: float, n_frames: int) -> np.ndarray:
    """(n_frames,) RMS of the audio heard while each frame is on screen: frame f shows from f / fps
    to (f + 1) / fps (so it stands for the instant (f + 0.5) / fps, as the mouth tracks do)."""
    audio = np.asarray(audio, dtype=np.float64).ravel()
    return np.sqrt(frame_means(audio * audio, sample_rate, fps, n_frames))


def frame_means(samples: np.ndarray, sample_rate: int, fps: float, n_frames: int) -> np.ndarray:
    """(n_frames,) the mean of ``samples`` over each frame's time on screen (frame f: f / fps to
    (f + 1) / fps); 0 for frames past the end."""
    hop = sample_rate / fps
    # Cumulative sums make every window O(1): a long clip costs one pass over the samples.
    sums = np.concatenate([[0.0], np.cumsum(samples)])
    edges = np.round(np.arange(n_frames + 1) * hop).astype(np.int64)
    start = np.clip(edges[:-1], 0, len(samples))
    stop = np.clip(edges[1:], 0, len(samples))
    return (sums[stop] - sums[start]) / np.maximum(stop - start, 1)


LOWPASS_HZ = 10.0


def lowpass_envelope(audio: np.ndarray, sample_rate: int, fps: float, n_frames: int,
                     cutoff_hz: float = LOWPASS_HZ) -> np.ndarray:
    """(n_frames,) a second lip-sync reference: the wideband amplitude envelope (magnitude of the analytic
    signal), low-passed at ``cutoff_hz`` (4th-order Butterworth, zero phase), averaged over each frame.

    Chandrasekaran et al. 2009 ("The natural statistics of audiovisual speech", PLoS Comput Biol 5(7):
    e1000436) correlate mouth area with such a smoothed envelope: the mouth moves at syllable rates
    (2-7 Hz), which the frame-by-frame RMS (``rms_envelope``, the issue's measure) mixes with faster
    changes no mouth makes. Only ever reported beside the RMS measure, never instead of it.
    """
    from scipy.signal import butter, hilbert, sosfiltfilt

    audio = np.asarray(audio, dtype=np.float64).ravel()
    if audio.size == 0 or n_frames == 0:
        return np.zeros(n_frames)
    amplitude = np.abs(hilbert(audio))
    lowpass = butter(4, cutoff_hz, fs=sample_rate, output="sos")
    smooth = sosfiltfilt(lowpass, amplitude) if len(audio) > 30 else amplitude  # filtfilt needs some samples
    return frame_means(smooth, sample_rate, fps, n_frames)
