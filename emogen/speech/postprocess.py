"""Realise a prosody plan on any engine's audio: TD-PSOLA pitch and time, pauses, voice quality, level.

Every engine goes through the same steps, so the same plan sounds the same way whatever made the voice:

1. pitch and time, with TD-PSOLA (Moulines & Charpentier 1990, Speech Communication 9): pitch marks one
   period apart on the waveform's peaks; two-period Hann grains are re-spaced to the target period
   (pitch) and repeated or skipped along a piecewise-linear time map (rate, word by word). Jitter and
   tremor perturb the synthesis periods.
2. pauses at punctuation are set to the planned lengths (silence is inserted or cut inside the gap);
3. voice quality: a zero-phase high-shelf for tension (spectral tilt above 1 kHz) and band-passed
   aspiration noise that follows the voice's envelope for breathiness;
4. level, last and measured: each word's gain makes its level re the neutral rendering what the plan says.

Targets are relative to the same voice's neutral rendering of the same text (``neutral``): F0 in
semitones re its median, durations re its word durations, level re its word levels.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.signal import butter, sosfilt, sosfiltfilt

from emogen.speech.engines.base import Timing, Utterance
from emogen.speech.features import Analysis
from emogen.speech.plan import WordPlan

# Rendered audio sits this far below the engine's own level, so that +12 dB of planned energy does not clip.
HEADROOM_DB = -9.0


@dataclass(frozen=True)
class RenderConfig:
    unvoiced_period_s: float = 0.005  # grain spacing where there is no pitch
    max_time_factor: float = 2.5  # per word, longer or shorter; beyond it PSOLA artefacts are audible
    jitter_fraction: float = 0.03  # std of cycle-to-cycle period change at jitter 1
    tremor_hz: float = 5.5  # vocal tremor rate (physiological tremor is 4-7 Hz)
    tremor_semitones: float = 0.5  # tremor depth at jitter 1
    breath_noise_db: float = -12.0  # aspiration noise re the voice envelope at breathiness 1
    shelf_hz: float = 1000.0
    ramp_s: float = 0.02  # crossfade between words' gains and voice-quality settings
    seed: int = 0


def render(
    raw: Utterance,
    neutral: Analysis,
    plan_words: Sequence[WordPlan],
    reference_hz: float | None = None,
    config: RenderConfig = RenderConfig(),
) -> Utterance:
    """``raw`` (the engine's attempt at the plan) reshaped so that it follows ``plan_words``.

    ``reference_hz`` is the voice's neutral median F0 (default: that of ``neutral``); pass the median
    over a whole text when rendering it sentence by sentence, so every sentence shares one reference.
    """
    if len(raw.words) != len(plan_words) or len(neutral.utterance.words) != len(plan_words):
        raise ValueError("raw, neutral and plan must have the same words")
    rng = np.random.default_rng(config.seed)
    reference_hz = neutral.track.median_hz() if reference_hz is None else reference_hz
    analysis = Analysis.of(raw)
    time_in, time_out = _time_map(analysis, neutral, plan_words, config)
    shift = _pitch_shift(analysis, reference_hz, plan_words)
    jitter = _per_frame(analysis, raw.words, [w.cues.jitter for w in plan_words])
    audio = _psola(raw.audio, raw.sample_rate, analysis, shift, jitter, time_in, time_out, config, rng)
    mapped = Utterance(audio, raw.sample_rate, _map_timings(raw.words, time_in, time_out),
                       _map_timings(raw.phonemes, time_in, time_out))
    paused = _set_pauses(mapped, [w.pause_after_s for w in plan_words])
    shaped = _voice_quality(paused, plan_words, config, rng)
    return _set_levels(shaped, neutral, plan_words, config)


def with_headroom(utterance: Utterance) -> Utterance:
    """The utterance at the rendered level (the neutral reference the scorer compares against)."""
    gain = np.float32(10.0 ** (HEADROOM_DB / 20.0))
    return Utterance(utterance.audio * gain, utterance.sample_rate, utterance.words, utterance.phonemes)


# ----- 1. pitch and time --------------------------------------------------------------------------------
def _time_map(analysis: Analysis, neutral: Analysis, plan_words: Sequence[WordPlan], config: RenderConfig):
    """Knots of a piecewise-linear map from input to output seconds: each word's speech time becomes
    (its neutral speech time / planned rate)."""
    raw_stats = analysis.word_stats(1.0)
    neutral_stats = neutral.word_stats(1.0)
    words = analysis.utterance.words
    knots_in, knots_out = [0.0], [0.0]
    for index, word in enumerate(words):
        end = words[index + 1].start if index + 1 < len(words) else analysis.utterance.duration
        if word.start > knots_in[-1]:
            knots_out.append(knots_out[-1] + word.start - knots_in[-1])
            knots_in.append(word.start)
        target = neutral_stats[index].active_s / plan_words[index].cues.rate
        factor = target / raw_stats[index].active_s if raw_stats[index].active_s > 0 else 1.0
        factor = float(np.clip(factor, 1.0 / config.max_time_factor, config.max_time_factor))
        if end > knots_in[-1]:
            knots_out.append(knots_out[-1] + (end - knots_in[-1]) * factor)
            knots_in.append(end)
    if analysis.utterance.duration > knots_in[-1]:
        knots_out.append(knots_out[-1] + analysis.utterance.duration - knots_in[-1])
        knots_in.append(analysis.utterance.duration)
    return np.array(knots_in), np.array(knots_out)


def _per_frame(analysis: Analysis, words: Sequence[Timing], values: Sequence[float]) -> np.ndarray:
    """One value per pitch frame: the value of the word the frame lies in (from its start to the next's)."""
    times = analysis.track.times
    starts = np.array([w.start for w in words])
    index = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(words) - 1)
    return np.asarray(values, dtype=np.float64)[index]


def _pitch_shift(analysis: Analysis, reference_hz: float, plan_words: Sequence[WordPlan]) -> np.ndarray:
    """Semitones to shift each frame: target = level + range * contour, all re the voice's neutral median."""
    contour = analysis.smoothed_semitones(reference_hz)
    words = analysis.utterance.words
    level = _per_frame(analysis, words, [w.cues.pitch_semitones for w in plan_words])
    spread = _per_frame(analysis, words, [w.cues.pitch_range for w in plan_words])
    return np.where(np.isnan(contour), 0.0, level + (spread - 1.0) * np.nan_to_num(contour))


def _pitch_marks(audio: np.ndarray, sample_rate: int, analysis: Analysis, unvoiced_period: int):
    """Analysis marks: one per period on the waveform peak in voiced frames, evenly spaced elsewhere."""
    hop, f0 = analysis.hop, analysis.track.f0
    marks, voiced = [], []
    position = 0
    previous_voiced = False
    while position < len(audio):
        frame = min(int(position / sample_rate / hop + 0.5), len(f0) - 1)
        if f0[frame] > 0:
            period = int(sample_rate / f0[frame])
            if previous_voiced:
                low, high = position - period // 4, position + period // 4 + 1
            else:
                low, high = position, position + period
            low, high = max(low, 0), min(high, len(audio))
            if high <= low:
                break
            mark = low + int(np.argmax(audio[low:high]))
            if marks and mark <= marks[-1]:
                mark = marks[-1] + 1
            marks.append(mark)
            voiced.append(True)
            position, previous_voiced = mark + period, True
        else:
            marks.append(position)
            voiced.append(False)
            position, previous_voiced = position + unvoiced_period, False
    return np.array(marks, dtype=np.int64), np.array(voiced, dtype=bool)


def _psola(audio, sample_rate, analysis, shift, jitter, time_in, time_out, config: RenderConfig, rng) -> np.ndarray:
    unvoiced_period = max(1, int(config.unvoiced_period_s * sample_rate))
    marks, voiced = _pitch_marks(audio, sample_rate, analysis, unvoiced_period)
    if len(marks) < 2:
        return audio.copy()
    # Grain half-widths: the distance to each neighbouring mark (capped where voicing breaks off).
    gaps = np.diff(marks)
    left = np.concatenate([[gaps[0]], gaps])
    right = np.concatenate([gaps, [gaps[-1]]])
    cap = int(sample_rate / 50)
    left, right = np.minimum(left, cap), np.minimum(right, cap)
    hop = analysis.hop
    total_out = int(round(time_out[-1] * sample_rate))
    out = np.zeros(total_out + 2 * cap + 2, dtype=np.float64)
    padded = np.pad(audio.astype(np.float64), (cap, cap))
    marks_list = marks.tolist()
    knots_in, knots_out = time_in.tolist(), time_out.tolist()
    t_out = float(np.interp(marks[0] / sample_rate, time_in, time_out)) * sample_rate
    while t_out < total_out:
        t_in = _interp(t_out / sample_rate, knots_out, knots_in) * sample_rate
        k = bisect.bisect_left(marks_list, t_in)
        if k >= len(marks_list) or (k > 0 and t_in - marks_list[k - 1] < marks_list[k] - t_in):
            k -= 1
        frame = min(int(t_in / sample_rate / hop + 0.5), len(shift) - 1)
        natural = float(right[k])  # distance to the next mark: identity settings rebuild the input exactly
        if voiced[k]:
            tremor = jitter[frame] * config.tremor_semitones * np.sin(2 * np.pi * config.tremor_hz * t_out / sample_rate)
            period = natural / 2.0 ** ((shift[frame] + tremor) / 12.0)
            if jitter[frame] > 0:
                period *= 1.0 + jitter[frame] * config.jitter_fraction * rng.standard_normal()
            gain = min(1.0, period / natural)  # denser grains would add up louder
        else:
            period, gain = natural, 1.0
        grain = _grain(padded, marks[k] + cap, int(left[k]), int(right[k]))
        start = int(round(t_out)) - int(left[k]) + cap
        out[start : start + len(grain)] += gain * grain
        t_out += max(period, 1.0)
    return out[cap : cap + total_out].astype(np.float32)


def _grain(padded: np.ndarray, centre: int, left: int, right: int) -> np.ndarray:
    rise = 0.5 - 0.5 * np.cos(np.pi * np.arange(left) / left)
    fall = 0.5 + 0.5 * np.cos(np.pi * np.arange(right) / right)
    return padded[centre - left : centre + right] * np.concatenate([rise, fall])


def _interp(x: float, xs: list[float], ys: list[float]) -> float:
    """np.interp for one number, without numpy's per-call overhead (it runs once per grain)."""
    index = min(max(bisect.bisect_right(xs, x) - 1, 0), len(xs) - 2)
    span = xs[index + 1] - xs[index]
    return ys[index] + (ys[index + 1] - ys[index]) * ((x - xs[index]) / span if span > 0 else 0.0)


def _map_timings(timings: Sequence[Timing], time_in: np.ndarray, time_out: np.ndarray) -> tuple[Timing, ...]:
    return tuple(
        Timing(t.label, float(np.interp(t.start, time_in, time_out)), float(np.interp(t.end, time_in, time_out)))
        for t in timings
    )


# ----- 2. pauses -------------------------------------------------------------------------------------------
def _set_pauses(utterance: Utterance, pauses: Sequence[float]) -> Utterance:
    """Make the silence after each word with a planned pause (and after the last word) that long."""
    audio, rate = utterance.audio, utterance.sample_rate
    words, phonemes = list(utterance.words), list(utterance.phonemes)
    for index in reversed(range(len(words))):
        last = index == len(words) - 1
        if pauses[index] <= 0 and not last:
            continue
        gap_end = len(audio) / rate if last else words[index + 1].start
        gap = max(gap_end - words[index].end, 0.0)
        delta = int(round((pauses[index] - gap) * rate))
        if delta == 0:
            continue
        middle = int(round((words[index].end + gap / 2) * rate))
        if delta > 0:
            at = middle
            audio = np.concatenate([audio[:at], np.zeros(delta, np.float32), audio[at:]])
        else:  # cut from the middle of the gap, which is silence
            at = max(middle + delta // 2, int(words[index].end * rate))
            audio = np.concatenate([audio[:at], audio[at - delta :]])
        words = [_shift_after(w, at / rate, delta / rate) for w in words]
        phonemes = [_shift_after(p, at / rate, delta / rate) for p in phonemes]
    return Utterance(audio, rate, tuple(words), tuple(phonemes))


def _shift_after(timing: Timing, point: float, moved: float) -> Timing:
    start = timing.start + moved if timing.start >= point else timing.start
    end = timing.end + moved if timing.end > point else timing.end
    return Timing(timing.label, start, max(start, end))


# ----- 3. voice quality -------------------------------------------------------------------------------------
def _voice_quality(utterance: Utterance, plan_words: Sequence[WordPlan], config: RenderConfig, rng) -> Utterance:
    audio, rate = utterance.audio.astype(np.float64), utterance.sample_rate
    tension = _per_sample(utterance, [w.cues.tension_db for w in plan_words], config.ramp_s)
    if np.any(tension != 0):
        high = sosfiltfilt(butter(2, config.shelf_hz, "highpass", fs=rate, output="sos"), audio)
        audio = audio + (10.0 ** (tension / 20.0) - 1.0) * high
    breath = _per_sample(utterance, [w.cues.breathiness for w in plan_words], config.ramp_s)
    if np.any(breath > 0):
        noise = sosfilt(butter(2, (1500.0, min(6000.0, 0.45 * rate)), "bandpass", fs=rate, output="sos"),
                        rng.standard_normal(len(audio)))
        noise /= np.sqrt(np.mean(noise**2)) + 1e-12
        smooth = int(0.01 * rate)
        envelope = np.sqrt(np.convolve(audio**2, np.ones(smooth) / smooth, mode="same"))
        audio = audio + breath * 10.0 ** (config.breath_noise_db / 20.0) * envelope * noise
    return Utterance(audio.astype(np.float32), rate, utterance.words, utterance.phonemes)


def _per_sample(utterance: Utterance, values: Sequence[float], ramp_s: float) -> np.ndarray:
    """Per-word values as a per-sample curve, held from each word's start to the next's, with linear ramps."""
    rate, length = utterance.sample_rate, len(utterance.audio)
    curve = np.full(length, float(values[0]))
    for word, value in zip(utterance.words, values):
        curve[int(word.start * rate) :] = value
    ramp = max(1, int(ramp_s * rate))
    # Moving average by cumulative sums (a convolution with `ramp` taps costs ramp times more).
    sums = np.cumsum(np.pad(curve, (ramp // 2 + 1, ramp - ramp // 2 - 1), mode="edge"))
    return (sums[ramp:] - sums[:-ramp]) / ramp


# ----- 4. level -------------------------------------------------------------------------------------------
def _set_levels(utterance: Utterance, neutral: Analysis, plan_words: Sequence[WordPlan], config: RenderConfig) -> Utterance:
    """Per-word gain so that (word level - neutral word level) is the planned energy, plus the headroom."""
    measured = Analysis.of(utterance).word_stats(1.0)
    reference = neutral.word_stats(1.0)
    gains = []
    for now, before, word in zip(measured, reference, plan_words):
        if np.isnan(now.level_db) or np.isnan(before.level_db):
            gains.append(word.cues.energy_db)
        else:
            gains.append(word.cues.energy_db - (now.level_db - before.level_db))
    gain_db = _per_sample(utterance, [g + HEADROOM_DB for g in gains], config.ramp_s)
    audio = utterance.audio * (10.0 ** (gain_db / 20.0))
    # A soft knee above 0.9 instead of hard clipping, for plans louder than the headroom allows.
    loud = np.abs(audio) > 0.9
    audio[loud] = np.sign(audio[loud]) * (0.9 + 0.1 * np.tanh((np.abs(audio[loud]) - 0.9) / 0.1))
    return Utterance(audio.astype(np.float32), utterance.sample_rate, utterance.words, utterance.phonemes)
