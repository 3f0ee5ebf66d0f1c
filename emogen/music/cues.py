"""The cue table: how an emotion sounds, as musical parameters, from the music-emotion literature.

Every row names a musical cue, the direction in which it moves perceived emotion and where that is
reported. The composer turns an Emotion into a ``SegmentPlan`` with these rules; the MusicGen backend
turns the same plan into words; the scorer reads some of the same cues back out of audio (with its
own fixed rules, see scorer.py).

Sources:
- [JL04] Juslin, P. N. & Laukka, P. (2004). Expression, perception, and induction of musical emotions.
  Journal of New Music Research 33(3), 217-238 (Table 2: cue utilisation per emotion).
- [GL10] Gabrielsson, A. & Lindström, E. (2010). The role of structure in the musical expression of
  emotions. In Juslin & Sloboda (eds.), Handbook of Music and Emotion, OUP, 367-400.
- [E13] Eerola, T., Friberg, A. & Bresin, R. (2013). Emotional expression in music: contribution,
  linearity, and additivity of primary musical cues. Frontiers in Psychology 4:487 (mode, tempo,
  dynamics, register, articulation, timbre varied factorially; mode dominates valence, tempo and
  dynamics dominate arousal).

Directions only come from these sources; the numeric spans (e.g. 55-150 bpm) are ours, chosen to stay
inside what the pieces in those studies used.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from emogen.emotion import Emotion


@dataclass(frozen=True)
class Cue:
    name: str
    drives: str  # which dimension the literature ties it to
    rule: str
    source: str


CUE_TABLE: tuple[Cue, ...] = (
    Cue("mode", "valence", "major for valence >= 0, minor below", "GL10 (mode); E13 (largest valence effect)"),
    Cue("harmony", "valence x arousal", "consonant triads; diatonic clusters (added seconds, semitone clashes, "
        "tritones) grow with negative valence times positive arousal", "GL10 (dissonance: tension, anger, fear)"),
    Cue("tempo", "arousal (+ valence)", "fast for high arousal, slow for low; a little faster when positive",
        "JL04 Table 2; GL10 (tempo); E13 (tempo: arousal)"),
    Cue("register", "valence (+ arousal)", "higher melody for positive valence and high arousal, lower for sad",
        "JL04 (high pitch: happiness; low: sadness); GL10 (pitch level)"),
    Cue("dynamics", "arousal", "loud for high arousal, soft for low", "JL04 (sound level); E13 (dynamics)"),
    Cue("articulation", "arousal (+ valence)", "staccato for high arousal, legato for low",
        "JL04 (staccato: happiness, anger; legato: sadness, tenderness); E13"),
    Cue("rhythmic density", "arousal", "more notes per beat for high arousal", "GL10 (rhythm, note density)"),
    Cue("timbre / instrumentation", "arousal x valence", "bright, harmonic-rich sounds for high arousal; "
        "soft, few-harmonic sounds for low", "JL04 (bright timbre: happiness, anger; soft: sadness, tenderness); E13"),
    Cue("percussion", "arousal", "a drum kit marks the beat when arousal >= 0.25",
        "composition practice, not a cited cue: it makes the tempo of busy textures audible"),
)

# Ensembles (melody, chords, bass) per valence x arousal quadrant; names are keys of instruments.INSTRUMENTS.
ENSEMBLES = {
    (True, True): ("marimba", "piano", "pizzicato_bass"),  # bright, percussive: happiness [JL04]
    (False, True): ("brass_lead", "organ", "synth_bass"),  # harsh, harmonic-rich: anger, fear [JL04]
    (False, False): ("cello", "strings", "contrabass"),  # dark, sustained: sadness [JL04]
    (True, False): ("flute", "strings", "contrabass"),  # soft, pure: tenderness, calm [JL04]
}

# Chord progressions as scale degrees (0 = tonic), one chord per bar; the seed picks one per phrase.
# Each leans on the tonic and has a dominant, and none uses the relative key's tonic chord (vi in major),
# so the mode is heard within a phrase; in minor the dominant takes the raised leading tone (harmonic
# minor), the common-practice minor cadence.
PROGRESSIONS = {
    "major": ((0, 3, 4, 0), (0, 4, 3, 0), (0, 3, 0, 4)),  # I-IV-V-I, I-V-IV-I, I-IV-I-V
    "minor": ((0, 3, 4, 0), (0, 5, 3, 4), (0, 3, 0, 4)),  # i-iv-V-i, i-VI-iv-V, i-iv-i-V
}
DOMINANT = 4  # scale degree of the dominant chord
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

TEMPO_SPAN_BPM = (55.0, 150.0)
DRUMS_FROM_AROUSAL = 0.25


@dataclass(frozen=True)
class SegmentPlan:
    """The musical parameters of one stretch of music (a bar for the composer)."""

    tonic: int  # pitch class, 0 = C
    mode: str  # "major" | "minor"
    tempo_bpm: float
    dissonance: float  # 0 consonant .. 1 diatonic clusters on every chord
    melody_centre: int  # MIDI note of the register (the melody moves around the tonic nearest it)
    velocity: int  # MIDI velocity 1..127
    articulation: float  # sounding fraction of each note's slot: 1 legato .. 0.35 staccato
    notes_per_beat: int
    brightness: float  # 0 dull .. 1 bright (harmonic roll-off of the synthesiser)
    ensemble: tuple[str, str, str]  # melody, chords, bass
    drums: bool  # a drum kit plays the beat

    @property
    def key(self) -> str:
        return f"{PITCH_CLASSES[self.tonic]} {self.mode}"

    def to_dict(self) -> dict:
        return {**asdict(self), "key": self.key, "ensemble": list(self.ensemble)}


def plan_segment(emotion: Emotion, tonic: int) -> SegmentPlan:
    """The cue table applied to one emotion (its intensity is already in valence and arousal)."""
    v, a = emotion.valence, emotion.arousal
    low, high = TEMPO_SPAN_BPM
    tempo = float(np.clip(102.0 + 45.0 * a + 8.0 * v, low, high))
    density = 1 if a < 0 else 2 if a < 0.45 else 4
    return SegmentPlan(
        tonic=tonic,
        mode="major" if v >= 0 else "minor",
        tempo_bpm=round(tempo, 2),
        dissonance=round(float(np.clip(2.0 * max(0.0, -v) * max(0.0, a), 0.0, 1.0)), 3),
        melody_centre=int(round(np.clip(69 + 7 * v + 4 * a, 55, 84))),
        velocity=int(round(np.clip(72 + 45 * a, 25, 120))),
        articulation=round(float(np.clip(0.92 - 0.5 * max(0.0, a) - 0.1 * max(0.0, v), 0.35, 1.0)), 3),
        notes_per_beat=density,
        brightness=round(float(np.clip(0.45 + 0.5 * a, 0.05, 1.0)), 3),
        ensemble=ENSEMBLES[(v >= 0, a >= 0)],
        drums=a >= DRUMS_FROM_AROUSAL,
    )


def describe(plan: SegmentPlan, emotion: Emotion) -> str:
    """The plan as a text prompt for text-to-music models (MusicGen was trained on such descriptions)."""
    mood = {
        (True, True): "happy, joyful, uplifting",
        (False, True): "tense, aggressive, dramatic",
        (False, False): "sad, melancholic, mournful",
        (True, False): "calm, tender, peaceful",
    }[(emotion.valence >= 0, emotion.arousal >= 0)]
    dynamics = "loud" if plan.velocity >= 90 else "soft" if plan.velocity <= 55 else "moderate dynamics"
    articulation = "staccato" if plan.articulation < 0.6 else "legato"
    timbre = "bright" if plan.brightness >= 0.6 else "warm, mellow" if plan.brightness <= 0.3 else "clear"
    melody, chords, bass = (name.replace("_", " ") for name in plan.ensemble)
    dissonant = ", dissonant harmony" if plan.dissonance >= 0.3 else ""
    drums = " and drums" if plan.drums else ""
    return (f"{mood} instrumental music in {plan.key}, {plan.tempo_bpm:.0f} bpm, {dynamics}, {articulation}, "
            f"{timbre} {melody} with {chords}, {bass}{drums}{dissonant}")
