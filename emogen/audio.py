"""16-bit PCM WAV files with the standard library's ``wave`` module (no extra dependency); shared by speech and music."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from emogen.errors import EmotionError
from emogen.io import atomic_output


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> Path:
    """Mono float samples in [-1, 1] as a 16-bit WAV, written atomically."""
    samples = np.asarray(audio, dtype=np.float64)
    if samples.ndim != 1:
        raise EmotionError(f"write_wav takes mono samples (one dimension), got shape {samples.shape}")
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with atomic_output(path) as temporary:
        with wave.open(str(temporary), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(int(sample_rate))
            handle.writeframes(pcm.tobytes())
    return Path(path)


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A 16-bit PCM WAV as mono float32 in [-1, 1] (channels averaged) and its sample rate."""
    path = Path(path)
    if not path.is_file():
        raise EmotionError(f"{path} is not a file")
    try:
        with wave.open(str(path), "rb") as handle:
            channels, width, rate = handle.getnchannels(), handle.getsampwidth(), handle.getframerate()
            frames = handle.readframes(handle.getnframes())
    except (wave.Error, EOFError) as err:
        raise EmotionError(f"{path} is not a readable WAV file ({err})") from None
    if width != 2:
        raise EmotionError(f"{path} has {8 * width}-bit samples; only 16-bit PCM WAV is read")
    audio = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    return audio.reshape(-1, channels).mean(axis=1), rate
