"""Scores -> Standard MIDI Files (type 1) with mido: a tempo map, one track and channel per part.

Each segment (bar) writes its own tempo, so an arc's accelerando is in the file, and a part's General
MIDI program changes when the ensemble does, so a soundfont plays the same instrumentation.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from emogen.errors import EmotionError
from emogen.io import atomic_output
from emogen.music.composer import PARTS, Score
from emogen.music.instruments import INSTRUMENTS

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9  # channel 10 in General MIDI's 1-based numbering


def _mido():
    try:
        import mido
    except ImportError:
        raise EmotionError("writing MIDI needs mido: pip install 'emogen[music]'") from None
    return mido


class _TempoMap:
    """Seconds -> ticks through the score's piecewise-constant tempo (one tempo per segment)."""

    def __init__(self, score: Score):
        self.starts = np.array([s.start_s for s in score.segments])
        self.tempos = np.array([s.plan.tempo_bpm for s in score.segments])
        beats = np.diff(self.starts) * self.tempos[:-1] / 60.0
        self.start_ticks = np.concatenate([[0.0], np.cumsum(beats)]) * TICKS_PER_BEAT

    def ticks(self, seconds: float) -> int:
        index = max(0, int(np.searchsorted(self.starts, seconds, side="right")) - 1)
        beats = (seconds - self.starts[index]) * self.tempos[index] / 60.0
        return int(round(self.start_ticks[index] + beats * TICKS_PER_BEAT))


def _track(mido, events: list[tuple[int, int, object]]):
    """Absolute-tick events -> a track of delta times; at equal ticks, lower order keys go first."""
    track = mido.MidiTrack()
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    return track


def build_midi(score: Score):
    """The score as a ``mido.MidiFile``."""
    mido = _mido()
    if not score.segments:
        raise EmotionError("the score has no segments to write")
    tempo_map = _TempoMap(score)
    conductor = [(tempo_map.ticks(s.start_s), 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(s.plan.tempo_bpm)))
                 for s in score.segments]
    conductor.append((0, 0, mido.MetaMessage("time_signature", numerator=4, denominator=4)))
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_track(mido, conductor))
    for index, part in enumerate(PARTS):
        drums = part == "drums"  # the General MIDI drum channel has a fixed kit: no program changes
        channel = DRUM_CHANNEL if drums else index
        events, program = [], None
        for segment in [] if drums else score.segments:
            wanted = INSTRUMENTS[segment.plan.ensemble[index]].gm_program
            if wanted != program:
                events.append((tempo_map.ticks(segment.start_s), 0,
                               mido.Message("program_change", channel=channel, program=wanted)))
                program = wanted
        for note in score.notes:
            if note.part != part:
                continue
            on, off = tempo_map.ticks(note.start_s), tempo_map.ticks(note.start_s + note.duration_s)
            # Offs before ons at the same tick, so a repeated pitch is not cut by its predecessor's off.
            events.append((off, 1, mido.Message("note_off", channel=channel, note=note.pitch, velocity=0)))
            events.append((on, 2, mido.Message("note_on", channel=channel, note=note.pitch, velocity=note.velocity)))
        track = _track(mido, events)
        track.insert(0, mido.MetaMessage("track_name", name=part))
        midi.tracks.append(track)
    return midi


def save_midi(midi, path: str | Path) -> Path:
    """Write a ``mido.MidiFile`` atomically."""
    with atomic_output(path) as temporary:
        midi.save(str(temporary))
    return Path(path)


def write_midi(score: Score, path: str | Path) -> Path:
    return save_midi(build_midi(score), path)
