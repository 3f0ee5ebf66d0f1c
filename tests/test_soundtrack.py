"""`--soundtrack`: music in the same emotion under a talking head, and as a video's audio."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from emogen.emotion import EmotionArc
from emogen.music.soundtrack import soundtrack


def test_soundtrack_follows_the_emotion_and_ducks_under_speech():
    happy = soundtrack(EmotionArc.parse("joy"), 6.0, 22050, seed=1)
    sad = soundtrack(EmotionArc.parse("sadness"), 6.0, 22050, seed=1)
    assert happy.audio.shape == (6 * 22050,)
    assert happy.record["scores"]["overall"]["valence"] > sad.record["scores"]["overall"]["valence"]
    speech = np.zeros(6 * 22050, np.float32)
    speech[22050:3 * 22050] = 0.5 * np.sin(2 * np.pi * 180 * np.arange(2 * 22050) / 22050)
    mixed = happy.under(speech)
    music_alone = mixed - speech
    # The music is quieter while the voice speaks (ducking) than in the silence after it.
    assert np.sqrt(np.mean(music_alone[4 * 22050:] ** 2)) > 1.5 * np.sqrt(np.mean(music_alone[22050 + 4410:3 * 22050] ** 2))


@pytest.mark.slow
def test_talk_with_a_soundtrack_carries_the_mix(tmp_path):
    from emogen.talking import talk
    from emogen.videofile import has_audio_stream

    out = tmp_path / "talk.mp4"
    result = talk("avatar:1", text="We found the boat at last.", emotion="joy", out=out, size=64, score=False,
                  soundtrack=True)
    assert result.mix is not None and result.mix.shape == result.speech.audio.shape
    assert not np.allclose(result.mix, result.speech.audio)
    assert has_audio_stream(out)
    assert json.loads(out.with_suffix(".json").read_text())["soundtrack"]["composer"] == "emogen"


@pytest.mark.slow
def test_video_soundtrack_flag(tmp_path):
    from emogen.videofile import has_audio_stream

    out = tmp_path / "clip.mp4"
    done = subprocess.run([sys.executable, "-m", "emogen.cli", "video", "--prompt", "a cartoon portrait of a person",
                           "--emotion", "joy", "--frames", "9", "--fps", "8", "--steps", "1", "--soundtrack",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert has_audio_stream(out)
    assert "overall" in json.loads(out.with_suffix(".json").read_text())["soundtrack"]["scores"]
