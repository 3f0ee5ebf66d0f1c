"""Any speech audio -> mouth blendshapes: a small learned model over log-mel features.

``AudioToMouth`` is a diffusers ``ModelMixin`` + ``ConfigMixin`` (``save_pretrained`` / ``from_pretrained``):
a stack of dilated 1-D convolutions with residual connections over log-mel frames at
``feature_rate`` (100 Hz), non-causal, seeing about +-0.6 s of context, so it can open the lips before
a sound as speakers do (see visemes.py). It outputs the ``MOUTH_BLENDSHAPES`` of visemes.py in [0, 1]
(sigmoid). ``train/train_talking.py`` trains it on speech synthesised across engines, voices and
emotions, with ``mouth_from_phonemes`` of the engines' phoneme timings as targets; the trained model
ships in ``checkpoints/talking-audio2mouth/`` with a model card holding its measured held-out scores.

Features (``log_mel``) are computed with numpy from the audio at its own sample rate: frames of
``window_s`` centred every 1 / feature_rate s, a mel filterbank up to ``fmax`` Hz (below the Nyquist
frequency of 16 kHz audio), decibels relative to the utterance's loudest cell and clipped at
``floor_db``. Relative decibels make the features independent of the recording level, and computing
in Hz avoids a resampler (torchaudio does not load on CPU-only machines; librosa is not a dependency).
Model outputs at 100 Hz are interpolated to the requested video frames, frame ``f`` at (f + 0.5) / fps.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from emogen.errors import EmotionError
from emogen.face.rig import BLENDSHAPE_INDEX, NUM_BLENDSHAPES
from emogen.talking.visemes import MOUTH_BLENDSHAPES
from emogen.videofile import check_fps

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "talking-audio2mouth"
CHECKPOINT_ENV = "EMOGEN_AUDIO2MOUTH"
SAMPLE_RATE_LIMITS = (8000, 192000)
SILENCE_PEAK = 1e-4  # audio whose peak stays below this (-80 dBFS) is silence: the mouth stays closed


@functools.lru_cache(maxsize=8)
def _mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters, equally spaced on the HTK mel scale, unit peak."""
    def to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def to_hz(mel):
        return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)

    fmax = min(fmax, sample_rate / 2)
    edges = to_hz(np.linspace(to_mel(fmin), to_mel(fmax), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None] - lower) / (centre - lower)
    falling = (upper - bins[None]) / (upper - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None).astype(np.float32)


def log_mel(audio: np.ndarray, sample_rate: int, n_frames: int, *, feature_rate: float = 100.0, n_mels: int = 40,
            window_s: float = 0.025, fmin: float = 60.0, fmax: float = 7600.0, floor_db: float = -80.0) -> np.ndarray:
    """(n_frames, n_mels) float32 in [0, 1]: log-mel frames centred at (k + 0.5) / feature_rate s.

    0 is ``floor_db`` (or quieter) below the loudest cell of this audio, 1 is that cell.
    Frames beyond the end of the audio see silence.
    """
    audio = np.asarray(audio, np.float32)
    window = int(round(window_s * sample_rate))
    n_fft = 1 << (window - 1).bit_length()
    centres = np.round((np.arange(n_frames) + 0.5) * sample_rate / feature_rate).astype(np.int64)
    padded = np.concatenate([np.zeros(window, np.float32), audio, np.zeros(window, np.float32)])
    starts = np.clip(centres - window // 2 + window, 0, len(padded) - window)
    frames = padded[starts[:, None] + np.arange(window)[None]] * np.hanning(window).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2
    mel = power @ _mel_filterbank(int(sample_rate), n_fft, n_mels, fmin, fmax).T
    decibels = 10.0 * np.log10(mel + 1e-12)
    decibels -= decibels.max() if decibels.size else 0.0
    return np.clip(1.0 - decibels / floor_db, 0.0, 1.0).astype(np.float32)


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=dilation * (kernel_size // 2), dilation=dilation)
        self.mix = nn.Conv1d(channels, channels, 1)
        self.norm = nn.GroupNorm(1, channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.dropout(self.mix(torch.nn.functional.gelu(self.norm(self.conv(x)))))


class AudioToMouth(ModelMixin, ConfigMixin):
    """log-mel frames (B, T, n_mels) -> mouth blendshapes (B, T, len(output_names)) in [0, 1]."""

    @register_to_config
    def __init__(self, n_mels: int = 40, channels: int = 96, kernel_size: int = 5,
                 dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 1), dropout: float = 0.1,
                 output_names: tuple[str, ...] = MOUTH_BLENDSHAPES, feature_rate: float = 100.0,
                 window_s: float = 0.025, fmin: float = 60.0, fmax: float = 7600.0, floor_db: float = -80.0) -> None:
        super().__init__()
        unknown = [name for name in output_names if name not in BLENDSHAPE_INDEX]
        if unknown:
            raise EmotionError(f"output_names {unknown} are not ARKit blendshape names")
        self.inp = nn.Conv1d(n_mels, channels, kernel_size, padding=kernel_size // 2)
        self.blocks = nn.ModuleList(_ResidualBlock(channels, kernel_size, d, dropout) for d in dilations)
        self.out = nn.Conv1d(channels, len(output_names), 1)
        nn.init.constant_(self.out.bias, -3.0)  # start near a closed mouth (sigmoid(-3) = 0.05), as speech mostly is

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.inp(features.transpose(1, 2))
        for block in self.blocks:
            x = block(x)
        return torch.sigmoid(self.out(x)).transpose(1, 2)

    def features(self, audio: np.ndarray, sample_rate: int, n_frames: int) -> np.ndarray:
        """This model's log-mel input for ``audio``: (n_frames, n_mels) at its feature rate."""
        c = self.config
        return log_mel(audio, sample_rate, n_frames, feature_rate=c.feature_rate, n_mels=c.n_mels,
                       window_s=c.window_s, fmin=c.fmin, fmax=c.fmax, floor_db=c.floor_db)


def checkpoint_path(path: str | os.PathLike | None = None) -> Path:
    """The model folder: ``path``, else ``$EMOGEN_AUDIO2MOUTH``, else the shipped checkpoint."""
    folder = Path(path or os.environ.get(CHECKPOINT_ENV) or DEFAULT_CHECKPOINT)
    if not (folder / "config.json").is_file():
        raise EmotionError(
            f"no audio-to-mouth model at {folder} (config.json missing); train one with "
            f"`accelerate launch train/train_talking.py --output_dir {folder}` or set {CHECKPOINT_ENV}"
        )
    return folder


@functools.lru_cache(maxsize=2)
def _load(folder: str) -> AudioToMouth:
    return AudioToMouth.from_pretrained(folder).eval()


def load_model(model: AudioToMouth | str | os.PathLike | None = None) -> AudioToMouth:
    """``model`` itself, or the model saved in that folder (None: the shipped one), in eval mode."""
    if isinstance(model, AudioToMouth):
        return model
    return _load(str(checkpoint_path(model).resolve()))


def _check_audio(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    samples = np.asarray(audio)
    if samples.ndim == 2 and min(samples.shape) <= 8:  # (n, channels) or (channels, n): mix to mono
        samples = samples.mean(axis=int(np.argmin(samples.shape)))
    if samples.ndim != 1 or not np.issubdtype(samples.dtype, np.number):
        raise EmotionError(f"audio must be mono samples (one dimension) or a few channels, got shape {samples.shape}")
    samples = samples.astype(np.float32)
    if not np.all(np.isfinite(samples)):
        raise EmotionError("audio contains NaN or infinite samples")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) \
            or not SAMPLE_RATE_LIMITS[0] <= sample_rate <= SAMPLE_RATE_LIMITS[1]:
        raise EmotionError(f"sample_rate must be a whole number of Hz from {SAMPLE_RATE_LIMITS[0]} to "
                           f"{SAMPLE_RATE_LIMITS[1]}, got {sample_rate!r}")
    return samples, int(sample_rate)


@torch.no_grad()
def predict_mouth(model: AudioToMouth, audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """(T, outputs) model outputs at the model's feature rate over the whole audio, and that rate."""
    rate = float(model.config.feature_rate)
    n = max(1, int(np.ceil(len(audio) / sample_rate * rate)))
    features = torch.from_numpy(model.features(audio, sample_rate, n))[None]
    parameter = next(model.parameters())
    was_training = model.training
    model.eval()  # no dropout at inference, whatever mode the caller's model was in
    try:
        outputs = model(features.to(parameter.device, parameter.dtype))[0].float().cpu().numpy()
    finally:
        model.train(was_training)
    return outputs, rate


def mouth_from_audio(audio: np.ndarray, sample_rate: int, fps: float, n_frames: int,
                     model: AudioToMouth | str | os.PathLike | None = None) -> np.ndarray:
    """(n_frames, 52) float32 in [0, 1]: mouth blendshapes for ``audio``, zero outside the model's outputs.

    ``model``: an AudioToMouth, a folder saved with save_pretrained, or None for the shipped checkpoint.
    Silent audio (peak below -80 dBFS) gives a closed mouth; frames past the end of the audio too.
    """
    samples, sample_rate = _check_audio(audio, sample_rate)
    fps = check_fps(fps)
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 0:
        raise EmotionError(f"n_frames must be a whole number >= 0, got {n_frames!r}")
    network = load_model(model)
    track = np.zeros((int(n_frames), NUM_BLENDSHAPES), np.float32)
    if n_frames == 0 or samples.size == 0 or np.abs(samples).max() < SILENCE_PEAK:
        return track
    outputs, rate = predict_mouth(network, samples, sample_rate)
    source_times = (np.arange(len(outputs)) + 0.5) / rate
    times = (np.arange(n_frames) + 0.5) / fps
    inside = times <= len(samples) / sample_rate + 0.5 / rate
    columns = [BLENDSHAPE_INDEX[name] for name in network.config.output_names]
    for column, values in zip(columns, outputs.T):
        track[inside, column] = np.interp(times[inside], source_times, values)
    return np.clip(track, 0.0, 1.0)


__all__ = ["AudioToMouth", "mouth_from_audio", "load_model", "log_mel", "checkpoint_path", "DEFAULT_CHECKPOINT"]
