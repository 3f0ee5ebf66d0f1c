import re
import shutil

import numpy as np
import pytest

from emogen.emotion import Emotion
from emogen.errors import EmotionError
from emogen.music.composer import compose
from emogen.music.cues import CUE_TABLE, plan_segment
from emogen.music.synth import find_soundfont, render, render_fluidsynth


def test_cue_table_directions_follow_the_literature():
    joy, sad, anger, calm = (plan_segment(Emotion.parse(name), tonic=0)
                             for name in ("joy", "sadness", "anger", "contentment"))
    assert (joy.mode, sad.mode, anger.mode, calm.mode) == ("major", "minor", "minor", "major")
    assert joy.tempo_bpm > calm.tempo_bpm and anger.tempo_bpm > sad.tempo_bpm  # arousal -> tempo
    assert joy.velocity > calm.velocity and anger.velocity > sad.velocity  # arousal -> dynamics
    assert joy.melody_centre > sad.melody_centre  # valence -> register
    assert joy.articulation < calm.articulation and anger.articulation < sad.articulation  # staccato vs legato
    assert anger.dissonance > 0.5 and joy.dissonance == calm.dissonance == sad.dissonance == 0.0
    assert joy.brightness > calm.brightness and joy.notes_per_beat > sad.notes_per_beat
    assert all(cue.source for cue in CUE_TABLE) and {c.name for c in CUE_TABLE} >= {"mode", "tempo", "dynamics"}
    # A weaker joy is a milder version of the same plan.
    mild = plan_segment(Emotion.parse("joy:0.3"), tonic=0)
    assert mild.mode == "major" and calm.tempo_bpm < mild.tempo_bpm < joy.tempo_bpm


def test_composition_is_seeded_and_exactly_as_long_as_asked():
    first, again, other = compose("joy", 6.5, seed=3), compose("joy", 6.5, seed=3), compose("joy", 6.5, seed=4)
    assert first.notes == again.notes and first.notes != other.notes
    assert all(note.start_s + note.duration_s <= 6.5 for note in first.notes)
    audio = render(first, 16000)
    assert audio.shape == (6.5 * 16000,) and audio.dtype == np.float32
    assert np.array_equal(audio, render(again, 16000))
    assert 0.05 < np.abs(audio).max() <= 1.0


def test_arc_moves_mode_tempo_and_dynamics_over_time():
    score = compose("joy@0 -> sadness@6", 10, seed=0)
    first, last = score.segments[0].plan, score.segments[-1].plan
    assert (first.mode, last.mode) == ("major", "minor") and first.tonic == last.tonic
    assert first.tempo_bpm > last.tempo_bpm and first.velocity > last.velocity
    tempos = [s.plan.tempo_bpm for s in score.segments]
    assert all(a >= b for a, b in zip(tempos, tempos[1:]))  # joy -> sadness only slows down
    # Bars follow the tempo: each segment lasts four of its own beats.
    starts = [s.start_s for s in score.segments]
    assert np.allclose(np.diff(starts), [4 * 60 / t for t in tempos[:-1]])
    # And the audio gets quieter: the last 3 s are softer than the first 3 s.
    audio = render(score, 16000)
    rms = lambda x: np.sqrt(np.mean(x ** 2))  # noqa: E731
    assert rms(audio[-3 * 16000:]) < 0.8 * rms(audio[: 3 * 16000])  # at least 2 dB softer


def test_midi_file_has_the_tempo_map_notes_and_programs(tmp_path):
    mido = pytest.importorskip("mido")
    from emogen.music.midi import write_midi

    score = compose("joy@0 -> anger@5", 8, seed=1)
    path = write_midi(score, tmp_path / "piece.mid")
    midi = mido.MidiFile(path)
    messages = [m for track in midi.tracks for m in track]
    tempos = [round(mido.tempo2bpm(m.tempo), 2) for m in messages if m.type == "set_tempo"]
    assert tempos == [s.plan.tempo_bpm for s in score.segments]
    assert sum(m.type == "note_on" for m in messages) == len(score.notes)
    programs = {m.program for m in messages if m.type == "program_change"}
    assert {0, 12, 61} <= programs  # piano + marimba for joy, brass lead once anger takes over
    drum_hits = [m for m in messages if m.type == "note_on" and m.channel == 9]
    assert len(drum_hits) == sum(n.part == "drums" for n in score.notes) > 0
    assert {m.note for m in drum_hits} == {36, 38, 42}  # kick, snare, closed hi-hat
    last_note_end = max(n.start_s + n.duration_s for n in score.notes)
    assert midi.length == pytest.approx(last_note_end, abs=0.01)  # mido replays the tempo map in seconds


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth not installed")
def test_fluidsynth_renders_the_same_score_with_a_soundfont():
    try:
        font = find_soundfont()
    except EmotionError:
        pytest.skip("no General MIDI soundfont installed")
    score = compose("sadness", 4, seed=0)
    audio = render_fluidsynth(score, font, 22050)
    assert audio.shape == (4 * 22050,) and np.sqrt(np.mean(audio ** 2)) > 1e-3


@pytest.mark.parametrize("seconds, seed, fragment", [
    (0, 0, "(0, 600] seconds, got 0"), (-2.5, 0, "got -2.5"), (float("inf"), 0, "got inf"), (601, 0, "got 601"),
    (3, -1, "seed must be an integer >= 0, got -1"),
])
def test_bad_lengths_and_seeds_are_refused(seconds, seed, fragment):
    with pytest.raises(EmotionError, match=re.escape(fragment)):
        compose("joy", seconds, seed=seed)
