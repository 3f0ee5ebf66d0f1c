"""The Coqui engine (optional extra emogen[coqui]): local VITS folders, emotion conditioning, word times, errors.

The model folders are small real VITS models built in code (untrained weights: they say nothing
intelligible, but every part of the loading, conditioning, timing and post-processing path runs).
"""
import json
import subprocess
import sys
import wave

import numpy as np
import pytest

try:
    from emogen.speech.coqui_runtime import import_coqui

    import_coqui()
except ImportError as err:  # coqui-tts (or torchaudio / torchcodec) is not installed
    pytest.skip(f"coqui-tts is not importable ({err}); pip install 'emogen[coqui]'", allow_module_level=True)

from emogen.errors import EmotionError  # noqa: E402
from emogen.speech import coqui_vits, speak  # noqa: E402
from emogen.speech.emotion_conditioning import EmotionConditioning  # noqa: E402
from emogen.speech.engines import get_engine  # noqa: E402
from emogen.speech.engines.coqui import CoquiEngine  # noqa: E402

TEXT = "Good evening, everyone. Please take your seats."


def make_folder(path, conditioning: bool = True, speakers=("esd-0011", "esd-0012")):
    import torch

    torch.manual_seed(0)
    if conditioning:
        cond = EmotionConditioning(speakers=speakers, speaker_dim=16, emotion_dim=16)
        config = coqui_vits.tiny_vits_config(16000, cond.dim, width=16)
    else:
        cond = None
        config = coqui_vits.tiny_vits_config(16000, 16, width=16)
        for holder in (config, config.model_args):
            holder.use_d_vector_file, holder.d_vector_dim = False, 0
    model = coqui_vits.build_vits(config, "tiny")
    disc = model.disc
    del model.disc
    coqui_vits.save_vits(path, model, config, cond, {"discriminator": "tiny"}, discriminator=disc)
    return path


@pytest.fixture(scope="module")
def emotion_model(tmp_path_factory):
    return make_folder(tmp_path_factory.mktemp("coqui") / "emotion-vits")


@pytest.fixture(scope="module")
def engine(emotion_model):
    return get_engine("coqui", str(emotion_model))


def test_vits_word_times_come_from_its_duration_predictor(engine):
    utterance = engine.synthesize(TEXT)
    assert utterance.sample_rate == 16000 and utterance.duration > 0.5
    assert [w.label for w in utterance.words] == TEXT.split()
    starts = [w.start for w in utterance.words]
    assert starts == sorted(starts) and all(w.end > w.start for w in utterance.words)
    assert utterance.words[-1].end <= utterance.duration + 1e-6
    # Token frames are multiples of the hop (256 samples at 16 kHz = 16 ms): times lie on that grid.
    assert all(abs(w.start / 0.016 - round(w.start / 0.016)) < 1e-6 for w in utterance.words)
    assert engine.synthesize(TEXT).audio.tobytes() == utterance.audio.tobytes()  # noise seeded by the text


def test_the_emotion_conditioning_reaches_the_audio(engine):
    assert engine.has_emotion_conditioning
    neutral = engine.emotion_take(TEXT, "neutral")
    angry, sad = engine.emotion_take(TEXT, "anger"), engine.emotion_take(TEXT, "sadness")
    assert neutral.audio.tobytes() == engine.synthesize(TEXT).audio.tobytes()
    for take in (angry, sad):
        n = min(len(take.audio), len(neutral.audio))
        assert not np.allclose(take.audio[:n], neutral.audio[:n], atol=1e-4)
    assert not np.allclose(angry.audio[: len(sad.audio)], sad.audio[: len(angry.audio)], atol=1e-4)


def test_speak_renders_the_plan_on_coqui_output(engine):
    result = speak(TEXT, emotion="anger", engine=engine)
    assert result.engine == "coqui" and [w.label for w in result.utterance.words] == TEXT.split()
    # Rate and level are set by the post-processor from measurements, so they hold even on this untrained voice.
    assert result.adherence.rate_error <= 0.10 and result.adherence.mean_energy_error_db <= 1.0
    assert json.dumps(result.to_dict())


def test_a_plain_coqui_vits_folder_speaks_neutrally(tmp_path):
    folder = make_folder(tmp_path / "plain", conditioning=False)
    plain = CoquiEngine(folder)
    assert not plain.has_emotion_conditioning
    assert [w.label for w in plain.synthesize("Hello there.").words] == ["Hello", "there."]


def test_a_phoneme_vits_gets_phoneme_times_from_coqui_s_espeak_phonemiser(tmp_path):
    import torch

    torch.manual_seed(0)
    config = coqui_vits.tiny_vits_config(16000, 16, width=16)
    for holder in (config, config.model_args):
        holder.use_d_vector_file, holder.d_vector_dim = False, 0
    config.use_phonemes, config.phonemizer, config.phoneme_language, config.characters = True, "espeak", "en-us", None
    model = coqui_vits.build_vits(config, "tiny")
    del model.disc
    coqui_vits.save_vits(tmp_path / "phonemes", model, config, None, {})
    utterance = CoquiEngine(tmp_path / "phonemes").synthesize("Good evening, everyone.")
    assert [w.label for w in utterance.words] == ["Good", "evening,", "everyone."]
    labels = [p.label for p in utterance.phonemes]
    assert labels[:3] == ["ɡ", "ʊ", "d"] and "ˈ" not in labels


def test_bad_models_and_speakers_are_named(tmp_path, emotion_model):
    with pytest.raises(EmotionError, match="needs a local model folder"):
        get_engine("coqui")
    with pytest.raises(EmotionError, match="has no config.json"):
        CoquiEngine(tmp_path)
    broken = tmp_path / "no-weights"
    broken.mkdir()
    (broken / "config.json").write_text((emotion_model / "config.json").read_text())
    with pytest.raises(EmotionError, match="expected one of model.pth"):
        CoquiEngine(broken)
    with pytest.raises(EmotionError, match="speaker 'nobody' is not one this model was trained on; accepted: esd-0011"):
        CoquiEngine(emotion_model, speaker="nobody")


def test_xtts_needs_per_emotion_reference_clips(tmp_path):
    from TTS.tts.configs.xtts_config import XttsConfig

    folder = tmp_path / "xtts"
    folder.mkdir()
    XttsConfig().save_json(str(folder / "config.json"))
    with pytest.raises(EmotionError, match="needs reference clips"):
        CoquiEngine(folder)
    clips = tmp_path / "refs"
    clips.mkdir()
    (clips / "anger.wav").write_bytes(b"")
    with pytest.raises(EmotionError, match="need a neutral one"):
        CoquiEngine(folder, references=clips)
    (clips / "grumpyness.wav").write_bytes(b"")
    with pytest.raises(EmotionError, match="'grumpyness' are not named after an emotion"):
        CoquiEngine(folder, references=clips)


def emogen(*args):
    return subprocess.run([sys.executable, "-m", "emogen.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_speaks_with_a_coqui_model_and_refuses_bad_options(tmp_path, emotion_model):
    out = tmp_path / "coqui.wav"
    result = emogen("speak", TEXT, "--emotion", "joy", "--engine", "coqui", "--model", str(emotion_model),
                    "--voice", "esd-0012", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with wave.open(str(out)) as handle:
        assert handle.getframerate() == 16000
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["engine"] == "coqui" and sidecar["voice"].endswith("#esd-0012")
    for args, fragment in [
        (["--engine", "coqui"], "needs --model PATH"),
        (["--model", str(emotion_model)], "options of --engine coqui"),
        (["--engine", "coqui", "--model", str(tmp_path)], "has no config.json"),
    ]:
        bad = tmp_path / "bad.wav"
        refused = emogen("speak", TEXT, "--emotion", "joy", *args, "--out", str(bad))
        assert refused.returncode == 2 and fragment in refused.stderr, refused.stderr
        assert not bad.exists()
