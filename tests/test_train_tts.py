"""train/train_tts.py end to end, and the ESD / RAVDESS / CREMA-D readers, on corpora emogen speaks itself.

The corpora are written in each corpus's real folder and file naming (emogen.speech.synthetic_corpus:
espeak-ng voices following emogen's prosody plans), so the readers and the trainer meet them as they
would the real ones.
"""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

try:
    from emogen.speech.coqui_runtime import import_coqui

    import_coqui()
except ImportError as err:
    pytest.skip(f"coqui-tts is not importable ({err}); pip install 'emogen[coqui]'", allow_module_level=True)

from emogen.errors import EmotionError  # noqa: E402
from emogen.speech.datasets import read_corpus  # noqa: E402
from emogen.speech.synthetic_corpus import write_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def load_trainer():
    spec = importlib.util.spec_from_file_location("train_tts", ROOT / "train" / "train_tts.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_tts"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpora")
    return {layout: (root / layout, write_corpus(layout, root / layout, speakers=1, sentences=1))
            for layout in ("esd", "ravdess", "cremad")}


def test_readers_find_every_clip_with_its_label_text_and_speaker(corpora):
    esd = read_corpus("esd", corpora["esd"][0])
    assert len(esd) == 5 and {c.emotion for c in esd} == {"neutral", "anger", "joy", "sadness", "surprise"}
    assert {c.speaker for c in esd} == {"esd-0011"} and esd[0].text == "The dog sat by the door."
    assert esd[0].path.parent.name == "train" and esd[0].path.name.startswith("0011_000")
    ravdess = read_corpus("RAVDESS", corpora["ravdess"][0])
    assert len(ravdess) == 8 and {c.emotion for c in ravdess} >= {"neutral", "calm:0.5", "anger:0.5", "surprise:0.5"}
    assert ravdess[0].text == "Kids are talking by the door." and ravdess[0].speaker == "ravdess-01"
    cremad = read_corpus("crema-d", corpora["cremad"][0])
    assert len(cremad) == 6 and {c.emotion for c in cremad} >= {"neutral", "disgust:0.66", "fear:0.66"}
    assert cremad[0].path.parent.name == "AudioWAV" and cremad[0].text == "It's eleven o'clock."


def test_files_that_break_a_layout_are_named(corpora, tmp_path):
    import shutil

    esd = tmp_path / "esd"
    shutil.copytree(corpora["esd"][0], esd)
    stray = esd / "0011" / "Angry" / "train" / "0011_999999.wav"
    shutil.copy(corpora["esd"][1][0], stray)
    with pytest.raises(EmotionError, match=r"0011_999999.wav has no line '0011_999999' in its transcript"):
        read_corpus("esd", esd)
    stray.rename(esd / "0011" / "Angry" / "train" / "angry1.wav")
    with pytest.raises(EmotionError, match=r"angry1.wav is not named 0011_<6 digits>.wav"):
        read_corpus("esd", esd)
    ravdess = tmp_path / "ravdess"
    shutil.copytree(corpora["ravdess"][0], ravdess)
    shutil.copy(corpora["ravdess"][1][0], ravdess / "Actor_01" / "03-01-09-01-01-01-02.wav")
    with pytest.raises(EmotionError, match=r"03-01-09-01-01-01-02.wav does not fit RAVDESS naming: emotion 09 .*actor 02 in the folder of actor 01"):
        read_corpus("ravdess", ravdess)
    cremad = tmp_path / "cremad" / "AudioWAV"
    cremad.mkdir(parents=True)
    shutil.copy(corpora["cremad"][1][0], cremad / "1001_XYZ_ANG_XX.wav")
    with pytest.raises(EmotionError, match=r"1001_XYZ_ANG_XX.wav does not fit CREMA-D naming: sentence XYZ"):
        read_corpus("cremad", cremad.parent)
    with pytest.raises(EmotionError, match="unknown speech corpus layout 'iemocap'; accepted: esd, ravdess, cremad"):
        read_corpus("iemocap", cremad)
    with pytest.raises(EmotionError, match="does not exist"):
        read_corpus("esd", tmp_path / "nowhere")


@pytest.mark.slow
def test_training_reduces_the_loss_saves_a_speaking_model_and_resumes_exactly(tmp_path):
    trainer = load_trainer()
    data = tmp_path / "ESD"
    write_corpus("esd", data, speakers=2, sentences=2)
    common = ["--config", str(ROOT / "train/configs/tts_vits_tiny.yaml"), "--data_root", str(data),
              "--logging_steps", "1", "--checkpointing_steps", "4", "--train_batch_size", "4"]
    out = tmp_path / "run"
    config = trainer.training.parse_config(trainer.TTSTrainConfig, [*common, "--output_dir", str(out), "--max_train_steps", "12"])
    metrics = trainer.train(config)

    assert metrics["steps_run"] == 12 and metrics["steps_per_second"] > 0
    assert metrics["fixed_batch_mel_loss_after"] < metrics["fixed_batch_mel_loss_before"]
    for name in ("config.json", "model.pth", "emogen_tts.json", "metrics.json", "emotion_conditioning/config.json"):
        assert (out / name).is_file(), name
    card = json.loads((out / "emogen_tts.json").read_text())
    assert card["speakers"] == ["esd-0011", "esd-0012"] and card["steps"] == 12
    # The trained folder is a model the engine speaks, in every emotion of the corpus; the conditioning is used.
    measured = metrics["conditioning"]["emotions"]
    assert set(measured) == {"neutral", "anger", "joy", "sadness", "surprise"}
    assert measured["neutral"]["waveform_change_db"] == -120.0
    assert all(row["waveform_change_db"] > -100.0 for name, row in measured.items() if name != "neutral")

    # Resuming from checkpoint-8 redoes steps 9-12 exactly as the uninterrupted run did them.
    assert (out / "checkpoint-8").is_dir() and not (out / "checkpoint-4").exists()  # rotated (limit 1)
    resumed = tmp_path / "resumed"
    import shutil

    shutil.copytree(out / "checkpoint-8", resumed / "checkpoint-8")
    config = trainer.training.parse_config(trainer.TTSTrainConfig, [*common, "--output_dir", str(resumed),
                                                                     "--max_train_steps", "12", "--resume_from_checkpoint", "latest"])
    again = trainer.train(config)
    assert [h["step"] for h in again["history"]] == [9, 10, 11, 12]
    for first, second in zip(metrics["history"][8:], again["history"]):
        assert second["loss"] == pytest.approx(first["loss"], rel=1e-4), (first, second)


def test_bad_training_settings_are_refused(tmp_path):
    trainer = load_trainer()
    with pytest.raises(SystemExit, match="data_root is required"):
        trainer.main(["--config", str(ROOT / "train/configs/tts_vits_tiny.yaml")])
    with pytest.raises(SystemExit, match="layout 'timit' is not one of esd, ravdess, cremad"):
        trainer.main(["--layout", "timit", "--data_root", str(tmp_path)])
    with pytest.raises(SystemExit, match="no ESD speaker folders"):
        trainer.main(["--data_root", str(tmp_path), "--output_dir", str(tmp_path / "out"), "--report_to", "none"])
