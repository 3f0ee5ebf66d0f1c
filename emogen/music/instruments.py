"""The built-in synthesiser's instruments: a General MIDI program each, and an additive timbre.

A timbre is a harmonic series whose roll-off the plan's brightness steepens or flattens (bright sounds
carry more energy in upper partials, the timbre cue of the cue table), plus an envelope: ADSR for
sustained instruments, exponential decay (upper partials dying faster) for struck and plucked ones.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    name: str
    gm_program: int  # General MIDI program, 0-based, used in MIDI files and by soundfonts
    partials: int  # number of harmonics (those above Nyquist are dropped)
    rolloff: float  # amplitude of harmonic k is k ** -(rolloff * (1.5 - brightness))
    attack_s: float
    release_s: float
    decay_s: float = 0.0  # ADSR decay to ``sustain``; for struck instruments the e-folding time instead
    sustain: float = 1.0
    struck: bool = False  # struck/plucked: exponential decay, no sustain
    gain: float = 1.0  # loudness balance between instruments


INSTRUMENTS = {
    instrument.name: instrument
    for instrument in (
        Instrument("piano", 0, 10, 1.4, attack_s=0.004, release_s=0.15, decay_s=0.9, struck=True),
        Instrument("marimba", 12, 6, 1.8, attack_s=0.002, release_s=0.05, decay_s=0.35, struck=True),
        Instrument("organ", 19, 8, 1.1, attack_s=0.03, release_s=0.08, gain=0.6),
        Instrument("brass_lead", 61, 14, 0.9, attack_s=0.03, release_s=0.08, decay_s=0.1, sustain=0.8, gain=0.8),
        Instrument("synth_bass", 38, 12, 1.0, attack_s=0.005, release_s=0.05, decay_s=0.2, sustain=0.6),
        Instrument("pizzicato_bass", 32, 8, 1.6, attack_s=0.003, release_s=0.08, decay_s=0.5, struck=True),
        Instrument("cello", 42, 10, 1.5, attack_s=0.12, release_s=0.3, decay_s=0.2, sustain=0.85, gain=0.9),
        Instrument("strings", 48, 8, 1.7, attack_s=0.25, release_s=0.5, gain=0.55),
        Instrument("contrabass", 43, 8, 1.6, attack_s=0.1, release_s=0.3, decay_s=0.2, sustain=0.85),
        Instrument("flute", 73, 4, 2.5, attack_s=0.08, release_s=0.2, decay_s=0.1, sustain=0.9, gain=0.9),
    )
}
# The drum kit is not additive: General MIDI channel 10 plays it from these keys, synth._drum from noise.
KICK, SNARE, HI_HAT = 36, 38, 42
