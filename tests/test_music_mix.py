import numpy as np
import pytest

from emogen.errors import EmotionError
from emogen.music.mix import DuckingConfig, ducking_gain, mix_under

RATE = 16000


def test_music_ducks_under_speech_and_recovers():
    t = np.arange(6 * RATE) / RATE
    music = 0.3 * np.sin(2 * np.pi * 220 * t)
    speech = np.where((t >= 2) & (t < 4), 0.3 * np.sin(2 * np.pi * 150 * t), 0.0)  # "talking" from 2 s to 4 s
    gain = ducking_gain(speech, RATE)
    assert gain[: RATE].min() == pytest.approx(1.0)  # before the speech
    assert gain[int(2.5 * RATE): int(3.9 * RATE)] == pytest.approx(10 ** (-12 / 20), rel=0.02)  # -12 dB under it
    assert gain[int(5.9 * RATE):].min() > 0.9  # recovered 1.9 s after (release 0.4 s)
    mixed = mix_under(music, speech, RATE)
    assert mixed.shape == music.shape and np.abs(mixed).max() <= 1.0
    residual = mixed - speech  # what is left is the ducked music
    assert np.sqrt(np.mean(residual[int(2.5 * RATE): int(3.9 * RATE)] ** 2)) < 0.3 * np.sqrt(np.mean(music ** 2))


def test_mix_is_as_long_as_the_longer_track_and_refuses_a_boost():
    assert mix_under(np.zeros(RATE), np.zeros(2 * RATE), RATE).shape == (2 * RATE,)
    with pytest.raises(EmotionError, match="duck_db must be <= 0"):
        ducking_gain(np.zeros(RATE), RATE, DuckingConfig(duck_db=6.0))
