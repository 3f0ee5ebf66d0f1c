"""Plan adherence: what the rendered audio measures, word by word, against what the plan asked for.

Measured on the audio (F0 by YIN, speech time and level from frame energy) inside each word's window;
the windows come from the renderer's timings. Planned values are relative to the neutral reference, as
in the plan: a word's planned F0 is its level plus range times the neutral word's own F0 offset.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from emogen.speech.features import Analysis
from emogen.speech.plan import WordPlan


@dataclass(frozen=True)
class WordAdherence:
    word: str
    planned_f0_semitones: float | None
    measured_f0_semitones: float | None  # None: too few voiced frames (features.MIN_VOICED_FRAMES)
    planned_rate: float
    measured_rate: float | None
    planned_energy_db: float
    measured_energy_db: float | None
    planned_pause_s: float
    measured_pause_s: float | None  # silence measured after the word (None for the last word)


@dataclass(frozen=True)
class AdherenceReport:
    words: tuple[WordAdherence, ...]
    mean_f0_error_semitones: float | None  # over the words with an F0 in both renderings
    f0_words_scored: int  # how many words that is (short, mostly unvoiced words have no reliable F0)
    planned_rate: float  # whole utterance: neutral speech time / planned speech time
    measured_rate: float  # neutral speech time / measured speech time
    mean_energy_error_db: float | None
    mean_pause_error_s: float | None  # over the words with a planned pause (punctuation), last word excluded

    @property
    def rate_error(self) -> float:
        """Relative error of the whole utterance's speaking rate."""
        return abs(self.measured_rate - self.planned_rate) / self.planned_rate

    def to_dict(self) -> dict:
        data = asdict(self)
        data["rate_error"] = self.rate_error
        data["words"] = [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in w.items()} for w in data["words"]]
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in data.items()}


def adherence(rendered: Analysis, reference: Analysis, plan_words: Sequence[WordPlan]) -> AdherenceReport:
    reference_hz = reference.track.median_hz()
    measured = rendered.word_stats(reference_hz)
    neutral = reference.word_stats(reference_hz)
    pauses = rendered.pauses() + [float("nan")]
    rows, f0_errors, energy_errors, pause_errors = [], [], [], []
    for plan, now, before, pause in zip(plan_words, measured, neutral, pauses):
        planned_f0 = None if np.isnan(before.f0_semitones) else plan.cues.pitch_semitones + plan.cues.pitch_range * before.f0_semitones
        measured_f0 = None if np.isnan(now.f0_semitones) else now.f0_semitones
        if planned_f0 is not None and measured_f0 is not None:
            f0_errors.append(abs(measured_f0 - planned_f0))
        energy = None if np.isnan(now.level_db) or np.isnan(before.level_db) else now.level_db - before.level_db
        if energy is not None:
            energy_errors.append(abs(energy - plan.cues.energy_db))
        rate = before.active_s / now.active_s if now.active_s > 0 and before.active_s > 0 else None
        pause = None if np.isnan(pause) else pause
        if pause is not None and plan.pause_after_s > 0:
            pause_errors.append(abs(pause - plan.pause_after_s))
        rows.append(WordAdherence(plan.word, planned_f0, measured_f0, plan.cues.rate, rate, plan.cues.energy_db, energy,
                                  plan.pause_after_s, pause))
    neutral_time = sum(s.active_s for s in neutral)
    planned_time = sum(s.active_s / p.cues.rate for s, p in zip(neutral, plan_words))
    return AdherenceReport(
        words=tuple(rows),
        mean_f0_error_semitones=float(np.mean(f0_errors)) if f0_errors else None,
        f0_words_scored=len(f0_errors),
        planned_rate=neutral_time / planned_time if planned_time > 0 else 1.0,
        measured_rate=neutral_time / max(sum(s.active_s for s in measured), 1e-6),
        mean_energy_error_db=float(np.mean(energy_errors)) if energy_errors else None,
        mean_pause_error_s=float(np.mean(pause_errors)) if pause_errors else None,
    )
