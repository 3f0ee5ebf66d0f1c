"""Measurements on speech audio shared by the post-processor (to correct) and the scorer (to judge).

All of them are read from the audio itself: which frames are speech (level within ``SPEECH_DB`` of the
loudest frame), how long and how loud each word is, and its F0. Word windows come from timings; what
happens inside them is measured.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.ndimage import maximum_filter1d, median_filter
from scipy.signal import butter, sosfiltfilt

from emogen.speech.engines.base import Timing, Utterance
from emogen.speech.pitch import PitchTrack, track_pitch

# Frames within this many dB of the loudest frame are speech; quieter ones are pause or silence.
SPEECH_DB = -35.0
SPEECH_WINDOW_S = 2.0  # "loudest frame" means within this window centred on the frame
# Spectral balance split: energy above this frequency is "high-frequency energy" [JL03; Hammarberg 1980].
HF_SPLIT_HZ = 1000.0
# A word's F0 is read from at least this many voiced 10 ms frames; fewer (a clipped "the") is no level.
MIN_VOICED_FRAMES = 5
# Frame-to-frame F0 moves larger than this (semitones) are tracker errors (octave slips are 12).
OCTAVE_SLIP = 4.0


@dataclass(frozen=True)
class WordStats:
    active_s: float  # speech time inside the word's window
    level_db: float  # mean power of its speech frames
    f0_semitones: float  # median F0 of its voiced frames re the reference (nan: under MIN_VOICED_FRAMES)


@dataclass(frozen=True)
class Analysis:
    """An utterance with its pitch track and speech mask, measured once and reused."""

    utterance: Utterance
    track: PitchTrack

    @classmethod
    def of(cls, utterance: Utterance) -> Analysis:
        return cls(utterance, track_pitch(utterance.audio, utterance.sample_rate))

    @property
    def speech(self) -> np.ndarray:
        # Relative to the loudest frame nearby, not in the whole file: a planned -5 dB passage after a
        # +3 dB one must not lose its quiet consonants to a threshold set by the loud part.
        level = self.track.level_db
        span = max(1, int(round(SPEECH_WINDOW_S / self.hop)))
        return level > maximum_filter1d(level, size=span, mode="nearest") + SPEECH_DB

    @property
    def hop(self) -> float:
        return float(self.track.times[1] - self.track.times[0]) if len(self.track.times) > 1 else 0.01

    def frames_in(self, start: float, end: float) -> np.ndarray:
        times = self.track.times
        return (times >= start) & (times < end)

    def smoothed_semitones(self, reference_hz: float) -> np.ndarray:
        """F0 in semitones re ``reference_hz``, nan where unvoiced, with tracker slips removed.

        Along the voiced frames (gaps skipped) a running median of 7 replaces any frame more than
        OCTAVE_SLIP semitones away from it: YIN's octave jumps, not intonation, move F0 that fast.
        """
        semitones = self.track.semitones(reference_hz)
        voiced = ~np.isnan(semitones)
        values = semitones[voiced]
        if values.size:
            local = median_filter(values, size=7, mode="nearest")
            semitones[voiced] = np.where(np.abs(values - local) > OCTAVE_SLIP, local, values)
        return semitones

    def word_stats(self, reference_hz: float, words: Sequence[Timing] | None = None) -> list[WordStats]:
        hop = self.hop
        semitones = self.smoothed_semitones(reference_hz)
        speech = self.speech
        power = 10.0 ** (self.track.level_db / 10.0)
        stats = []
        for word in self.utterance.words if words is None else words:
            inside = self.frames_in(word.start, word.end)
            spoken = inside & speech
            voiced = inside & ~np.isnan(semitones)
            stats.append(
                WordStats(
                    active_s=float(spoken.sum() * hop),
                    level_db=float(10.0 * np.log10(power[spoken].mean())) if spoken.any() else float("nan"),
                    f0_semitones=float(np.median(semitones[voiced])) if voiced.sum() >= MIN_VOICED_FRAMES else float("nan"),
                )
            )
        return stats

    def pauses(self) -> list[float]:
        """Silence after each word but the last: the longest run of non-speech frames between its start
        and the next word's start (frames are 2 periods wide, so a run's edges blur by ~10 ms)."""
        silent = ~self.speech
        hop = self.hop
        words = self.utterance.words
        pauses = []
        for word, following in zip(words, words[1:]):
            run = longest = 0
            for quiet in silent[self.frames_in(word.start, following.start + hop)]:
                run = run + 1 if quiet else 0
                longest = max(longest, run)
            pauses.append(float(longest * hop))
        return pauses

    def speech_time(self) -> float:
        return float(self.speech.sum() * self.hop)

    def level_db(self) -> float:
        """Mean power of the speech frames, in dB."""
        power = 10.0 ** (self.track.level_db[self.speech] / 10.0)
        return float(10.0 * np.log10(power.mean())) if power.size else float("nan")

    def hf_balance_db(self) -> float:
        """Energy above HF_SPLIT_HZ relative to all energy, over voiced speech, in dB (spectral tilt)."""
        audio, rate = self.utterance.audio.astype(np.float64), self.utterance.sample_rate
        high = sosfiltfilt(butter(4, HF_SPLIT_HZ, "highpass", fs=rate, output="sos"), audio)
        mask = self._sample_mask(self.speech & self.track.voiced, len(audio))
        if not mask.any():
            return float("nan")
        return float(10.0 * np.log10((high[mask] ** 2).sum() / max((audio[mask] ** 2).sum(), 1e-12) + 1e-12))

    def irregularity(self, reference_hz: float) -> float:
        """Mean absolute frame-to-frame F0 deviation from its own smoothed contour, in semitones.

        Jitter and tremor raise it; a smooth synthetic contour keeps it near 0 (Juslin & Laukka's
        "microstructural irregularity", measured at the tracker's 10 ms resolution).
        """
        semitones = self.track.semitones(reference_hz)
        voiced = ~np.isnan(semitones)
        if voiced.sum() < 10:
            return float("nan")
        contour = median_filter(np.where(voiced, semitones, 0.0), size=9, mode="nearest")
        return float(np.mean(np.abs(semitones[voiced] - contour[voiced])))

    def f0_spread(self, reference_hz: float) -> float:
        """F0 range: 90th minus 10th percentile of the voiced contour, in semitones."""
        semitones = self.smoothed_semitones(reference_hz)
        voiced = semitones[~np.isnan(semitones)]
        return float(np.percentile(voiced, 90) - np.percentile(voiced, 10)) if voiced.size >= 10 else float("nan")

    def _sample_mask(self, frame_mask: np.ndarray, length: int) -> np.ndarray:
        index = np.minimum((np.arange(length) / self.utterance.sample_rate / self.hop + 0.5).astype(int), len(frame_mask) - 1)
        return frame_mask[index]
