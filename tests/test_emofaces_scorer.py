import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from emogen.data.emofaces import CATEGORIES, EmoFacesStills
from emogen.errors import EmotionError
from emogen.score.emofaces import DEFAULT_CHECKPOINT, EmoFacesLayers, EmoFacesScorer, load_layers
from emogen.score.emofaces_model import EmoFacesNet
from emogen.score.registry import get_scorer

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "train" / "train_scorer.py"
ACCELERATE = Path(sys.executable).with_name("accelerate")
TINY = ["--train_batch_size", "8", "--block_channels", "[4, 8, 8, 8]", "--hidden_size", "8",
        "--dataloader_num_workers", "0", "--lr_warmup_steps", "1", "--logging_steps", "1",
        "--eval_samples", "16", "--eval_va_samples", "8", "--checkpointing_steps", "2"]


@pytest.fixture(scope="module")
def scorer():
    return EmoFacesScorer()


@pytest.fixture(scope="module")
def heldout():
    """Fresh held-out renders: 8 of each category at intensity U(0.5, 1), a stream seed training never used."""
    items = list(EmoFacesStills(split="heldout", seed=777, n=400, kinds={"category": 1.0}))
    picked = []
    for category in range(len(CATEGORIES)):
        picked += [item for item in items if item["category"] == category][:8]
    assert len(picked) == 64
    return picked


def as_image(item):
    return ((item["pixel_values"].permute(1, 2, 0).numpy() + 1.0) * 127.5).round().astype(np.uint8)


def test_shipped_checkpoint_is_small_and_documented():
    files = {p.name: p.stat().st_size for p in DEFAULT_CHECKPOINT.iterdir() if p.is_file()}
    assert {"config.json", "diffusion_pytorch_model.safetensors", "README.md", "metrics.json"} <= set(files)
    assert sum(files.values()) < 25 * 2**20
    metrics = json.loads((DEFAULT_CHECKPOINT / "metrics.json").read_text())
    card = (DEFAULT_CHECKPOINT / "README.md").read_text()
    assert f"{metrics['top1_accuracy']:.4f}" in card and "accelerate launch train/train_scorer.py" in card
    assert not [p for p in DEFAULT_CHECKPOINT.iterdir() if p.name.startswith("checkpoint-")]


def test_shipped_scorer_reads_heldout_faces(scorer, heldout):
    estimates = scorer.score_batch([as_image(item) for item in heldout])
    predicted = [CATEGORIES.index(e.top1) for e in estimates]
    truth = [int(item["category"]) for item in heldout]
    accuracy = np.mean(np.array(predicted) == np.array(truth))
    assert accuracy >= 0.9, f"held-out accuracy {accuracy:.3f}"
    for category in range(len(CATEGORIES)):  # every class, not only the easy ones
        hits = [p == t for p, t in zip(predicted, truth) if t == category]
        assert np.mean(hits) >= 0.75, CATEGORIES[category]
    va_error = np.mean([abs(e.valence - float(item["valence"])) + abs(e.arousal - float(item["arousal"]))
                        for e, item in zip(estimates, heldout)]) / 2
    assert va_error < 0.15
    estimate = estimates[0]
    assert estimate.scorer == "emofaces" and set(estimate.probs) == set(CATEGORIES)
    assert sum(estimate.probs.values()) == pytest.approx(1.0, abs=1e-5)
    assert estimate.confidence == pytest.approx(max(estimate.probs.values()))


def test_registry_scores_files_of_any_size(tmp_path, heldout):
    from emogen.data.emofaces import still_spec

    scorer = get_scorer("emofaces")
    assert scorer.name == "emofaces" and scorer.category_set == "mead8"
    spec = next(s for s in (still_spec(i, "heldout", 5, {"category": 1.0}) for i in range(50))
                if s.emotion.top == "joy" and s.emotion.intensity > 0.7)
    path = tmp_path / "face.png"
    spec.render(160).save(path)  # larger than the network's input: resized
    estimate = scorer.score(path)
    assert estimate.top1 == "joy" and estimate.valence > 0.2


def test_missing_checkpoint_names_the_fix(tmp_path, monkeypatch):
    with pytest.raises(EmotionError, match="train_scorer.py"):
        EmoFacesScorer(tmp_path / "nothing")
    monkeypatch.setenv("EMOGEN_EMOFACES_SCORER", str(tmp_path / "elsewhere"))
    with pytest.raises(EmotionError, match="elsewhere"):
        EmoFacesScorer()


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = EmoFacesNet(block_channels=(8, 8, 16, 16), hidden_size=16).eval()
    model.save_pretrained(tmp_path)
    loaded = EmoFacesNet.from_pretrained(tmp_path).eval()
    assert tuple(loaded.config.block_channels) == (8, 8, 16, 16)
    assert tuple(loaded.config.categories) == CATEGORIES
    pixels = torch.rand(2, 3, 80, 80) * 2 - 1  # not 64 px: resized inside
    with torch.no_grad():
        for a, b in zip(model(pixels), loaded(pixels)):
            assert torch.equal(a, b)
    light = load_layers(tmp_path)  # what the scorer uses: the same network without diffusers
    assert type(light) is EmoFacesLayers and not light.training and light.categories == CATEGORIES
    with torch.no_grad():
        for a, b in zip(model(pixels), light(pixels)):
            assert torch.equal(a, b)
    scorer = EmoFacesScorer(tmp_path)
    assert scorer.score(np.zeros((64, 64, 3), np.uint8)).scorer == "emofaces"


def test_loading_the_scorer_leaves_the_global_random_state_alone():
    """Trainers validate with the scorer mid-run; drawing from torch's generator there would make a
    resumed run differ from an uninterrupted one."""
    torch.manual_seed(0)
    expected = torch.rand(4)
    torch.manual_seed(0)
    scorer = EmoFacesScorer()
    assert torch.equal(torch.rand(4), expected)
    assert not any(p.is_meta for p in scorer.model.parameters())
    assert not any(b.is_meta for b in scorer.model.buffers())


def test_light_loading_refuses_weights_that_do_not_fit(tmp_path):
    EmoFacesNet(block_channels=(8, 8, 16, 16), hidden_size=16).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "hidden_size": 32}))
    with pytest.raises(RuntimeError, match="size mismatch"):
        load_layers(tmp_path)
    (tmp_path / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(EmotionError, match="no EmoFaces scorer weights"):
        load_layers(tmp_path)


def test_scoring_does_not_import_diffusers():
    """The scorer is loaded by every talking-head measuring worker; diffusers' import alone costs seconds."""
    code = ("import sys, numpy as np; from emogen.score.emofaces import EmoFacesScorer; "
            "EmoFacesScorer().score(np.zeros((64, 64, 3), np.uint8)); print('diffusers' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"


def run_training(*args, launcher=(), timeout=300):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [*launcher, str(TRAIN), *TINY, *args] if launcher else [sys.executable, str(TRAIN), *TINY, *args]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.mark.slow
def test_training_writes_checkpoints_and_resumes_exactly(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    launcher = (str(ACCELERATE), "launch", "--num_processes", "1", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no")
    run_training("--output_dir", str(straight), "--max_train_steps", "4", launcher=launcher)
    assert sorted(p.name for p in straight.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    for name in ("config.json", "diffusion_pytorch_model.safetensors", "metrics.json", "README.md"):
        assert (straight / name).is_file(), name
    metrics = json.loads((straight / "metrics.json").read_text())
    assert set(metrics["per_class_accuracy"]) == set(CATEGORIES) and len(metrics["confusion_matrix"]) == 8
    EmoFacesNet.from_pretrained(straight)

    # Resume from the step-2 checkpoint in a fresh folder: the result must equal the uninterrupted run.
    resumed.mkdir()
    (resumed / "checkpoint-2").symlink_to(straight / "checkpoint-2", target_is_directory=True)
    log = run_training("--output_dir", str(resumed), "--max_train_steps", "4", "--resume_from_checkpoint", "latest")
    assert "resumed from" in log and "at step 2" in log
    assert (resumed / "checkpoint-4").is_dir()
    a = load_file(straight / "diffusion_pytorch_model.safetensors")
    b = load_file(resumed / "diffusion_pytorch_model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)



@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path, free_port):
    launcher = (str(ACCELERATE), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port))
    log = run_training("--output_dir", str(tmp_path), "--max_train_steps", "2", launcher=launcher)
    assert "2 process(es)" in log
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["num_processes"] == 2 and metrics["train_samples"] == 2 * 8 * 2
    assert "--num_processes 2" in (tmp_path / "README.md").read_text()
