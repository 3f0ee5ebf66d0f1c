import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("transformers")
from emogen.emotion import Emotion, EmotionArc  # noqa: E402
from emogen.errors import EmotionError  # noqa: E402
from emogen.music.musicgen import MusicGenBackend, MusicGenConfig, plan_segments, prompt_for  # noqa: E402
from emogen.music.tiny import save_tiny_musicgen  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return save_tiny_musicgen(tmp_path_factory.mktemp("musicgen") / "tiny")


def test_prompts_carry_mood_mode_and_tempo():
    sad, joy = prompt_for(Emotion.parse("sadness")), prompt_for(Emotion.parse("joy"))
    assert "sad" in sad and "minor" in sad and "happy" in joy and "major" in joy
    tempo = lambda prompt: int(prompt.split(" bpm")[0].rsplit(" ", 1)[-1])  # noqa: E731
    assert tempo(joy) > tempo(sad)


def test_arcs_are_cut_at_keyframes_and_at_the_segment_length():
    segments = plan_segments(EmotionArc.parse("joy@0 -> sadness@3"), 5.0, segment_s=2.0)
    assert [(s.start_s, s.seconds) for s in segments] == [(0.0, 1.5), (1.5, 1.5), (3.0, 2.0)]
    assert "happy" in segments[0].prompt and "sad" in segments[-1].prompt


def test_tiny_model_generates_seeded_audio_from_local_files(tiny_model):
    backend = MusicGenBackend(MusicGenConfig(str(tiny_model), segment_s=1.0, context_s=0.5))
    assert backend.sample_rate == 16000 and backend.frame_rate == 50
    audio, segments = backend.generate("joy@0 -> sadness@2", 2.5, seed=7)
    assert audio.shape == (40000,) and audio.dtype == np.float32 and np.abs(audio).max() > 0
    assert len(segments) == 3  # [0, 1), [1, 2), [2, 2.5): the later two continue from the audio so far
    again, _ = backend.generate("joy@0 -> sadness@2", 2.5, seed=7)
    other, _ = backend.generate("joy@0 -> sadness@2", 2.5, seed=8)
    assert np.array_equal(audio, again) and not np.array_equal(audio, other)
    # Continuation feeds the audio so far back in: without it, the same seed gives other later segments.
    fresh, _ = MusicGenBackend(MusicGenConfig(str(tiny_model), segment_s=1.0, context_s=0.0)).generate(
        "joy@0 -> sadness@2", 2.5, seed=7)
    assert np.array_equal(fresh[:16000], audio[:16000]) and not np.array_equal(fresh[16000:], audio[16000:])


def test_missing_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(EmotionError, match="has no config.json"):
        MusicGenBackend(MusicGenConfig(str(tmp_path / "nowhere")))


def test_cli_musicgen_backend_writes_wav_and_prompts(tiny_model, tmp_path):
    out = tmp_path / "mg.wav"
    result = subprocess.run([sys.executable, "-m", "emogen.cli", "music", "--emotion", "sadness", "--seconds", "2.5",
                             "--backend", "musicgen", "--model", str(tiny_model), "--out", str(out), "--seed", "1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["sample_rate"] == 16000 and sidecar["backend"] == "musicgen"
    assert "sad" in sidecar["segments"][0]["prompt"] and "bpm" in sidecar["segments"][0]["prompt"]
    assert out.stat().st_size == 44 + 2 * 16000 * 2.5  # 16-bit mono PCM after a 44-byte header
