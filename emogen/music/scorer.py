"""Music -> valence and arousal, from four audio features and fixed rules taken from the literature.

Features (numpy only):
- tempo: autocorrelation of the spectral-flux onset envelope, weighted by a log-Gaussian tempo prior
  centred on 120 bpm with a 1.4-octave width, each period also credited with its double (TPS2) against
  octave errors (Ellis 2007, "Beat tracking by dynamic programming", J. New Music Research 36(1));
- mode: a chroma vector correlated with the 24 rotated Krumhansl-Kessler key profiles (Krumhansl 1990,
  "Cognitive Foundations of Musical Pitch"; the Krumhansl-Schmuckler key-finding algorithm); the mode
  score is how much better the best major key fits than the best minor one;
- loudness: RMS level in dBFS;
- brightness: spectral centroid of the average magnitude spectrum.
Onsets use ~93 ms frames every 23 ms; chroma and centroid ~370 ms frames, fine enough to tell bass notes apart.

The mapping to valence/arousal is not fitted to anything, and in particular not to the embedded
composer: each feature is scaled to [-1, 1] between fixed anchors written below, and combined with
round weights that follow the ranking of cue importance reported by Eerola, Friberg & Bresin (2013,
Frontiers in Psychology 4:487) and Gabrielsson & Lindström (2010): valence is carried mostly by mode,
then tempo, then brightness; arousal by tempo, then loudness, then brightness. So its accuracy on
composer output is a measurement of the composer against an independent rule, not a fit.

For the record: anchors and weights are as first written. The feature front end was corrected twice
while the composer was developed, each time to the published method it cites (TPS2 against half-tempo
errors; a longer window for chroma than for onsets); tests check both on synthetic signals that owe
nothing to the composer (click tracks, triads).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from emogen.emotion import EmotionArc
from emogen.errors import EmotionError
from emogen.score.metrics import ccc

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first (C major / C minor).
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

TEMPO_PRIOR_BPM, TEMPO_PRIOR_OCTAVES = 120.0, 1.4  # Ellis (2007)
TEMPO_SEARCH_BPM = (40.0, 240.0)
CHROMA_BAND_HZ = (55.0, 2000.0)  # fundamentals of bass to melody; above, overtones dominate the chroma
SILENCE_DBFS = -70.0
ONSET_WINDOW_S = 0.093  # 2048 samples at 22.05 kHz, hop a quarter of it (23 ms)
PITCH_WINDOW_S = 0.37  # 8192 samples at 22.05 kHz: 2.7 Hz bins

# Fixed anchors: the feature values that map to -1 and +1 (clipped beyond).
TEMPO_ANCHORS_BPM = (60.0, 160.0)  # larghetto .. allegro/vivace
LOUDNESS_ANCHORS_DBFS = (-30.0, -10.0)  # 10 dB either side of the -20 dBFS reference level
BRIGHTNESS_ANCHORS_HZ = (500.0, 4000.0)  # centroid, on a log scale
MODE_GAIN = 5.0  # a best-major minus best-minor correlation of 0.2 gives a mode score of tanh(1) = 0.76
VALENCE_WEIGHTS = {"mode": 0.6, "tempo": 0.25, "brightness": 0.15}
AROUSAL_WEIGHTS = {"tempo": 0.45, "loudness": 0.35, "brightness": 0.2}


@dataclass(frozen=True)
class MusicFeatures:
    tempo_bpm: float
    key: str
    mode_score: float  # -1 clearly minor .. +1 clearly major
    loudness_dbfs: float
    centroid_hz: float


@dataclass(frozen=True)
class MusicEstimate:
    valence: float
    arousal: float
    features: MusicFeatures

    @property
    def quadrant(self) -> str:
        return quadrant(self.valence, self.arousal)

    def to_dict(self) -> dict:
        return {"valence": round(self.valence, 4), "arousal": round(self.arousal, 4), "quadrant": self.quadrant,
                **{k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self.features).items()}}


def quadrant(valence: float, arousal: float) -> str:
    """One of the four valence x arousal quadrants (zero counts as positive)."""
    return f"{'+' if valence >= 0 else '-'}valence {'+' if arousal >= 0 else '-'}arousal"


def _power_spectrogram(audio: np.ndarray, sample_rate: int,
                       window_s: float) -> tuple[np.ndarray, np.ndarray, float]:
    """[frames, bins] power of Hann frames of about ``window_s``, the bin frequencies and the hop in seconds."""
    n_fft = 1 << int(np.round(np.log2(window_s * sample_rate)))
    hop = n_fft // 4
    padded = np.pad(audio.astype(np.float64), (n_fft // 2, n_fft // 2))
    count = 1 + max(0, (padded.size - n_fft) // hop)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:count]
    spectrum = np.fft.rfft(frames * np.hanning(n_fft), axis=1)
    return np.abs(spectrum) ** 2, np.fft.rfftfreq(n_fft, 1.0 / sample_rate), hop / sample_rate


def _tempo(power: np.ndarray, hop_s: float) -> float:
    log_magnitude = np.log1p(100.0 * np.sqrt(power))
    flux = np.maximum(np.diff(log_magnitude, axis=0), 0.0).sum(axis=1)
    # Remove the slow trend (crescendi, held chords) so the autocorrelation sees onsets, not level.
    width = max(1, int(round(1.0 / hop_s)))
    envelope = np.maximum(flux - np.convolve(flux, np.ones(width) / width, mode="same"), 0.0)
    envelope -= envelope.mean()
    acf = np.correlate(envelope, envelope, mode="full")[envelope.size - 1:]
    low, high = TEMPO_SEARCH_BPM
    lags = np.arange(max(1, int(60.0 / high / hop_s)), min(acf.size - 1, int(60.0 / low / hop_s) + 1))
    if lags.size < 3 or acf[0] <= 0:
        raise EmotionError("the audio is too short or has no onsets to measure a tempo; give at least 2 seconds")
    # The tempo period strength TPS(lag) = prior(lag) * ACF(lag), over all lags so doubles can be read off.
    all_lags = np.arange(1, acf.size)
    prior = np.exp(-0.5 * (np.log2(60.0 / (all_lags * hop_s) / TEMPO_PRIOR_BPM) / TEMPO_PRIOR_OCTAVES) ** 2)
    tps = acf * np.concatenate([[0.0], prior])
    # Ellis's TPS2: a beat period also scores its double, which resolves most half-tempo (octave) errors.
    double = np.clip(2 * lags, 1, acf.size - 2)
    weighted = tps[lags] + 0.5 * tps[double] + 0.25 * (tps[double - 1] + tps[double + 1])
    best = int(np.argmax(weighted))
    lag = float(lags[best])
    if 0 < best < lags.size - 1:  # parabolic interpolation between lags: finer than one hop
        left, mid, right = weighted[best - 1: best + 2]
        denominator = left - 2 * mid + right
        if denominator < 0:
            lag += 0.5 * (left - right) / denominator
    return 60.0 / (lag * hop_s)


def _key(power: np.ndarray, frequencies: np.ndarray) -> tuple[str, float]:
    band = (frequencies >= CHROMA_BAND_HZ[0]) & (frequencies <= CHROMA_BAND_HZ[1])
    pitch_class = (np.round(12 * np.log2(frequencies[band] / 440.0)).astype(int) + 9) % 12
    chroma = np.bincount(pitch_class, weights=power[:, band].sum(axis=0), minlength=12)
    best = {}
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        scores = [np.corrcoef(chroma, np.roll(profile, tonic))[0, 1] for tonic in range(12)]
        tonic = int(np.argmax(scores))
        best[mode] = (scores[tonic], tonic)
    mode = max(best, key=lambda m: best[m][0])
    mode_score = float(np.tanh(MODE_GAIN * (best["major"][0] - best["minor"][0])))
    return f"{PITCH_CLASSES[best[mode][1]]} {mode}", mode_score


def analyse(audio: np.ndarray, sample_rate: int) -> MusicFeatures:
    """The four features of mono ``audio``; silence or too little audio raises EmotionError."""
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim != 1 or audio.size < sample_rate:
        raise EmotionError(f"the scorer needs at least 1 second of mono audio, got shape {audio.shape} "
                           f"at {sample_rate} Hz")
    loudness = 10 * np.log10(np.mean(audio ** 2) + 1e-20)
    if loudness < SILENCE_DBFS:
        raise EmotionError(f"the audio is silent ({loudness:.0f} dBFS); nothing to score")
    # Onsets need fine time steps, pitch classes fine frequency steps (a semitone at 65 Hz is 4 Hz): two STFTs.
    onset_power, _, hop_s = _power_spectrogram(audio, sample_rate, ONSET_WINDOW_S)
    power, frequencies, _ = _power_spectrogram(audio, sample_rate, PITCH_WINDOW_S)
    key, mode_score = _key(power, frequencies)
    magnitude = np.sqrt(power).mean(axis=0)
    centroid = float(np.sum(frequencies * magnitude) / np.sum(magnitude))
    return MusicFeatures(round(float(_tempo(onset_power, hop_s)), 2), key, mode_score, float(loudness), centroid)


def _scaled(value: float, anchors: tuple[float, float]) -> float:
    low, high = anchors
    return float(np.clip(2.0 * (value - low) / (high - low) - 1.0, -1.0, 1.0))


def estimate(audio: np.ndarray, sample_rate: int) -> MusicEstimate:
    """Valence and arousal in [-1, 1] of mono ``audio`` by the fixed rules above."""
    features = analyse(audio, sample_rate)
    terms = {
        "mode": features.mode_score,
        "tempo": _scaled(features.tempo_bpm, TEMPO_ANCHORS_BPM),
        "loudness": _scaled(features.loudness_dbfs, LOUDNESS_ANCHORS_DBFS),
        "brightness": _scaled(np.log(features.centroid_hz), tuple(np.log(BRIGHTNESS_ANCHORS_HZ))),
    }
    valence = sum(weight * terms[name] for name, weight in VALENCE_WEIGHTS.items())
    arousal = sum(weight * terms[name] for name, weight in AROUSAL_WEIGHTS.items())
    return MusicEstimate(float(valence), float(arousal), features)


def estimate_file(path: str | Path) -> MusicEstimate:
    from emogen.audio import read_wav

    return estimate(*read_wav(path))


@dataclass(frozen=True)
class ArcAgreement:
    times: tuple[float, ...]  # window centres, seconds
    target: tuple[tuple[float, float], ...]  # (valence, arousal) the arc asked for at each centre
    predicted: tuple[tuple[float, float], ...]
    ccc_valence: float
    ccc_arousal: float

    def to_dict(self) -> dict:
        return {"ccc_valence": round(self.ccc_valence, 4), "ccc_arousal": round(self.ccc_arousal, 4),
                "windows": [{"time_s": t, "target": list(map(float, target)), "predicted": [round(x, 4) for x in p]}
                            for t, target, p in zip(self.times, self.target, self.predicted)]}


def arc_agreement(arc: EmotionArc, audio: np.ndarray, sample_rate: int, window_s: float = 4.0,
                  hop_s: float = 1.0) -> ArcAgreement:
    """Per-window valence/arousal of ``audio`` against ``arc`` at each window's centre, and their CCCs."""
    audio = np.asarray(audio)
    size, step = int(window_s * sample_rate), int(hop_s * sample_rate)
    if audio.size < size:
        raise EmotionError(f"arc scoring needs at least one {window_s:g} s window, "
                           f"got {audio.size / sample_rate:.2f} s")
    starts = range(0, audio.size - size + 1, step)
    times = tuple(round((start + size / 2) / sample_rate, 4) for start in starts)
    predicted = tuple((e.valence, e.arousal) for e in (estimate(audio[s: s + size], sample_rate) for s in starts))
    target = tuple((arc.at(t).valence, arc.at(t).arousal) for t in times)
    return ArcAgreement(times, target, predicted, ccc([t[0] for t in target], [p[0] for p in predicted]),
                        ccc([t[1] for t in target], [p[1] for p in predicted]))
