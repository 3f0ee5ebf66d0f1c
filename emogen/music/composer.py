"""The embedded composer: an Emotion or EmotionArc -> a seeded score of notes, bar by bar.

Each bar is one segment: the arc is sampled in the bar's middle and the cue table (cues.py) gives its
mode, tempo, harmony, register, dynamics, articulation, density and ensemble, so an arc changes all of
them over time. The tonic stays fixed for the whole piece (chosen by the seed), so a change of valence
is heard as a change to the parallel mode rather than as a jump to an unrelated key. The seed drives
the chord progression of each four-bar phrase, the melody's random walk, rests and accents.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from emogen.emotion import Emotion, EmotionArc
from emogen.errors import EmotionError
from emogen.music.cues import DOMINANT, PROGRESSIONS, SCALES, SegmentPlan, plan_segment
from emogen.music.instruments import HI_HAT, KICK, SNARE

BEATS_PER_BAR = 4
BARS_PER_PHRASE = 4
PARTS = ("melody", "chords", "bass", "drums")
MELODY_RANGE = 7  # semitones either side of the melody's home tonic
REST_PROBABILITY = 0.12
MAX_SECONDS = 600.0  # ten minutes: longer soundtracks are better assembled from several pieces


@dataclass(frozen=True)
class Note:
    start_s: float
    duration_s: float
    pitch: int  # MIDI note number
    velocity: int
    part: str  # one of PARTS
    instrument: str
    brightness: float


@dataclass(frozen=True)
class Segment:
    start_s: float
    emotion: Emotion
    plan: SegmentPlan

    def to_dict(self) -> dict:
        return {"start_s": round(self.start_s, 4), "valence": round(self.emotion.valence, 4),
                "arousal": round(self.emotion.arousal, 4), **self.plan.to_dict()}


@dataclass
class Score:
    seconds: float
    seed: int
    segments: list[Segment] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"seconds": self.seconds, "seed": self.seed, "notes": len(self.notes),
                "segments": [segment.to_dict() for segment in self.segments]}


def check_seconds(seconds: float) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
            or not 0 < seconds <= MAX_SECONDS:
        raise EmotionError(f"a piece must last (0, {MAX_SECONDS:g}] seconds, got {seconds!r}")
    return float(seconds)


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise EmotionError(f"a seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def compose(spec: Emotion | EmotionArc | str, seconds: float, seed: int = 0) -> Score:
    """A score of ``seconds`` following ``spec`` (an emotion or an arc); the same seed, the same notes."""
    check_seconds(seconds)
    check_seed(seed)
    arc = EmotionArc.parse(spec)
    rng = np.random.default_rng(seed)
    tonic = int(rng.integers(12))
    score = Score(seconds=float(seconds), seed=seed)
    start, bar = 0.0, 0
    first = plan_segment(arc.at(0.0), tonic)
    degree = _nearest_degree(first, _home(first))  # the melody's position, carried across bars
    progression_choice = 0
    while start < seconds:
        # The bar's plan is the arc at the bar's middle (its length from the tempo at its start), so the
        # music lags the arc by no more than half a bar.
        middle = start + BEATS_PER_BAR / 2 * 60.0 / plan_segment(arc.at(start), tonic).tempo_bpm
        emotion = arc.at(middle)
        plan = plan_segment(emotion, tonic)
        if bar % BARS_PER_PHRASE == 0:
            progression_choice = int(rng.integers(len(PROGRESSIONS[plan.mode])))
        chord_degree = PROGRESSIONS[plan.mode][progression_choice][bar % BARS_PER_PHRASE]
        chord = _chord(plan, chord_degree, rng)
        beat = 60.0 / plan.tempo_bpm
        score.segments.append(Segment(start, emotion, plan))
        score.notes += _bass(plan, chord[0], start, beat)
        score.notes += _chords(plan, chord, start, beat)
        melody, degree = _melody(plan, chord, degree, start, beat, rng)
        score.notes += melody
        if plan.drums:
            score.notes += _drums(plan, start, beat)
        start += BEATS_PER_BAR * beat
        bar += 1
    # The last bar is cut at the requested length, so the MIDI file ends where the audio does.
    score.notes = [replace(n, duration_s=min(n.duration_s, seconds - n.start_s)) for n in score.notes
                   if n.start_s < seconds]
    return score


def _pitch(plan: SegmentPlan, degree: int, octave: int) -> int:
    scale = SCALES[plan.mode]
    return 12 * (octave + degree // 7) + plan.tonic + scale[degree % 7]


def _chord(plan: SegmentPlan, degree: int, rng: np.random.Generator) -> list[int]:
    """Root-position triad (pitches around an octave below the melody), dissonances added by chance."""
    octave = (plan.melody_centre - 14 - plan.tonic) // 12
    pitches = [_pitch(plan, degree + step, octave) for step in (0, 2, 4)]
    if plan.mode == "minor" and degree % 7 == DOMINANT:
        pitches[1] += 1  # harmonic minor: the dominant's third is the raised leading tone
    # Dissonance as diatonic clusters: the scale steps above the root and above the fifth. In minor they
    # make semitone clashes (b6 on the fifth) and a tritone (2 against b6) without leaving the key, so
    # the harmony grows rough while the mode stays audible.
    for step in (1, 5):
        if rng.random() < plan.dissonance:
            pitches.append(_pitch(plan, degree + step, octave))
    return pitches


def _bass(plan: SegmentPlan, root: int, start: float, beat: float) -> list[Note]:
    pitch = 36 + (root - 36) % 12
    hits = plan.notes_per_beat  # whole notes, halves, or every beat
    slot = BEATS_PER_BAR * beat / hits
    instrument = plan.ensemble[2]
    return [Note(start + i * slot, slot * plan.articulation, pitch, max(1, plan.velocity - 6), "bass",
                 instrument, plan.brightness) for i in range(hits)]


def _chords(plan: SegmentPlan, chord: list[int], start: float, beat: float) -> list[Note]:
    # Staccato plans play the chord on every beat (stabs); legato ones hold it for the bar.
    stabs = plan.articulation < 0.6
    hits, slot = (BEATS_PER_BAR, beat) if stabs else (1, BEATS_PER_BAR * beat)
    instrument = plan.ensemble[1]
    return [Note(start + i * slot, slot * plan.articulation, pitch, max(1, plan.velocity - 12), "chords",
                 instrument, plan.brightness) for i in range(hits) for pitch in chord]


def _drums(plan: SegmentPlan, start: float, beat: float) -> list[Note]:
    """A rock backbeat: kick on 1 and 3, snare on 2 and 4, closed hi-hat on every eighth note."""
    notes = []
    for eighth in range(2 * BEATS_PER_BAR):
        time = start + eighth * beat / 2
        notes.append(Note(time, beat / 4, HI_HAT, max(1, plan.velocity - 20), "drums", "drums", plan.brightness))
        if eighth % 2 == 0:
            drum = KICK if (eighth // 2) % 2 == 0 else SNARE
            notes.append(Note(time, beat / 2, drum, plan.velocity, "drums", "drums", plan.brightness))
    return notes


def _melody(plan: SegmentPlan, chord: list[int], degree: int, start: float, beat: float,
            rng: np.random.Generator) -> tuple[list[Note], int]:
    """A random walk over scale degrees: the chord's root on the downbeat, a chord tone on every other
    beat, passing tones between.

    Chord tones on strong beats is the common-practice rule; it also keeps the tonic triad prominent,
    which is what makes the mode audible. Beats are accented, the downbeat most, so the metre is clear.
    """
    home = _home(plan)
    root = chord[0]
    scale_classes = {(plan.tonic + step) % 12 for step in SCALES[plan.mode]}
    chord_classes = {p % 12 for p in chord[:3]} & scale_classes  # the melody stays in the scale
    slots = BEATS_PER_BAR * plan.notes_per_beat
    slot = beat / plan.notes_per_beat
    notes = []
    for index in range(slots):
        if index:
            degree += int(rng.choice((-2, -1, 0, 1, 2), p=(0.15, 0.3, 0.1, 0.3, 0.15)))
        on_beat = index % plan.notes_per_beat == 0
        if index == 0:  # the downbeat sings the chord's root, in the octave nearest the melody
            degree = _nearest_degree(plan, root + 12 * round((_pitch(plan, degree, 0) - root) / 12))
        elif on_beat:
            current = _pitch(plan, degree, 0)
            chord_tones = [p for p in range(current - 6, current + 7) if p % 12 in chord_classes]
            degree = _nearest_degree(plan, min(chord_tones, key=lambda p: abs(p - current)))
        while abs(_pitch(plan, degree, 0) - home) > MELODY_RANGE:
            degree += 1 if _pitch(plan, degree, 0) < home else -1  # back into range, by step
        if index and rng.random() < REST_PROBABILITY:
            continue
        accent = 8 if index == 0 else 4 if on_beat else 0
        velocity = int(np.clip(plan.velocity + accent + rng.integers(-4, 5), 1, 127))
        notes.append(Note(start + index * slot, slot * plan.articulation, _pitch(plan, degree, 0), velocity,
                          "melody", plan.ensemble[0], plan.brightness))
    return notes, degree


def _home(plan: SegmentPlan) -> int:
    """The tonic nearest the plan's register: the melody moves around it, as tonal melodies do, so the
    key is heard from the melody too (a fixed centre pitch would favour whatever scale degree it is)."""
    return plan.tonic + 12 * round((plan.melody_centre - plan.tonic) / 12)


def _nearest_degree(plan: SegmentPlan, pitch: int) -> int:
    """The scale degree (counted from the tonic in octave 0) whose pitch is closest to ``pitch``."""
    candidates = range(-7, 7 * 11)
    return min(candidates, key=lambda d: abs(_pitch(plan, d, 0) - pitch))
