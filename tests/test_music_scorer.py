import numpy as np
import pytest

from emogen.emotion import Emotion
from emogen.errors import EmotionError
from emogen.music.composer import compose
from emogen.music.scorer import analyse, arc_agreement, estimate, quadrant
from emogen.music.synth import render

RATE = 22050


def tones(pitches, seconds=4.0, amplitude=0.1):
    t = np.arange(int(seconds * RATE)) / RATE
    return amplitude * sum(np.sin(2 * np.pi * 440 * 2 ** ((p - 69) / 12) * t) for p in pitches)


def click_track(bpm, seconds=8.0):
    """1 kHz blips on every beat, the first of each bar twice as loud."""
    audio = np.zeros(int(seconds * RATE))
    blip = np.sin(2 * np.pi * 1000 * np.arange(400) / RATE) * np.exp(-np.arange(400) / 80)
    for beat, start in enumerate(range(0, audio.size - 400, int(RATE * 60 / bpm))):
        audio[start:start + 400] += (2.0 if beat % 4 == 0 else 1.0) * 0.3 * blip
    return audio


@pytest.mark.parametrize("pitches, key", [([60, 64, 67], "C major"), ([60, 63, 67], "C minor"),
                                          ([57, 60, 64], "A minor"), ([62, 66, 69], "D major")])
def test_key_and_mode_of_triads(pitches, key):
    features = analyse(tones(pitches), RATE)
    assert features.key == key
    assert np.sign(features.mode_score) == (1 if "major" in key else -1)


@pytest.mark.parametrize("bpm", [70, 100, 140])
def test_tempo_of_click_tracks(bpm):
    assert analyse(click_track(bpm), RATE).tempo_bpm == pytest.approx(bpm, rel=0.03)


def test_loudness_and_brightness():
    sine = tones([69], amplitude=0.5)  # a 440 Hz sine at half scale: RMS 0.5 / sqrt(2)
    features = analyse(sine, RATE)
    assert features.loudness_dbfs == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.05)
    assert features.centroid_hz == pytest.approx(440, rel=0.05)
    t = np.arange(4 * RATE) / RATE
    sawtooth = 0.3 * sum(np.sin(2 * np.pi * 440 * k * t) / k for k in range(1, 20))
    assert analyse(sawtooth, RATE).centroid_hz > 3 * features.centroid_hz


@pytest.mark.parametrize("spec", ["joy", "anger", "sadness", "contentment"])
def test_composer_output_lands_in_the_asked_quadrant(spec):
    emotion = Emotion.parse(spec)
    result = estimate(render(compose(emotion, 10, seed=0), RATE), RATE)
    assert result.quadrant == quadrant(emotion.valence, emotion.arousal), result


def test_arc_agreement_tracks_a_valence_swing():
    arc_spec = "sadness@0 -> joy@6 -> sadness@12"
    from emogen.emotion import EmotionArc

    arc = EmotionArc.parse(arc_spec)
    agreement = arc_agreement(arc, render(compose(arc, 14, seed=0), RATE), RATE)
    assert len(agreement.times) == 11 and agreement.times[0] == 2.0  # 4 s windows every second
    assert agreement.ccc_valence > 0.3 and agreement.ccc_arousal > 0.3
    assert set(agreement.to_dict()) == {"ccc_valence", "ccc_arousal", "windows"}


@pytest.mark.parametrize("audio, fragment", [
    (np.zeros(3 * RATE), "silent"),
    (tones([60], seconds=0.5), "at least 1 second"),
    (np.zeros((2, RATE * 2)), "mono"),
])
def test_unscorable_audio_is_refused(audio, fragment):
    with pytest.raises(EmotionError, match=fragment):
        estimate(audio, RATE)


def test_scoring_a_wav_file_matches_scoring_its_samples(tmp_path):
    from emogen.music.scorer import estimate_file
    from emogen.audio import read_wav, write_wav

    audio = render(compose("joy", 5, seed=1), RATE)
    path = write_wav(tmp_path / "joy.wav", audio, RATE)
    samples, rate = read_wav(path)
    assert rate == RATE and np.abs(samples - audio).max() < 1e-4  # 16-bit quantisation only
    from_file, from_samples = estimate_file(path), estimate(audio, RATE)
    assert from_file.quadrant == from_samples.quadrant
    assert from_file.valence == pytest.approx(from_samples.valence, abs=0.01)
    (tmp_path / "notes.wav").write_text("not audio")
    with pytest.raises(EmotionError, match="not a readable WAV"):
        estimate_file(tmp_path / "notes.wav")
