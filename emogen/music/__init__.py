"""Soundtracks: an emotion or arc -> music (embedded composer or MusicGen) -> a scored WAV (+ MIDI).

    from emogen.music import compose, render, estimate, write_wav
    score = compose("joy@0 -> sadness@10", seconds=12, seed=0)   # notes + per-bar plans (cues.py)
    audio = render(score)                                         # built-in synthesiser, 22.05 kHz mono
    print(estimate(audio, 22050))                                 # valence, arousal, tempo, key, loudness

The MusicGen backend (emogen.music.musicgen) is imported on its own: it loads torch and transformers.
"""
from emogen.music.composer import Score, compose
from emogen.music.cues import CUE_TABLE, SegmentPlan, plan_segment
from emogen.music.mix import DuckingConfig, ducking_gain, mix_under
from emogen.music.scorer import MusicEstimate, arc_agreement, estimate, estimate_file
from emogen.music.synth import DEFAULT_SAMPLE_RATE, render, render_fluidsynth
from emogen.audio import read_wav, write_wav

__all__ = [
    "CUE_TABLE",
    "DEFAULT_SAMPLE_RATE",
    "DuckingConfig",
    "MusicEstimate",
    "Score",
    "SegmentPlan",
    "arc_agreement",
    "compose",
    "ducking_gain",
    "estimate",
    "estimate_file",
    "mix_under",
    "plan_segment",
    "read_wav",
    "render",
    "render_fluidsynth",
    "write_wav",
]
