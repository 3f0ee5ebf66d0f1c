"""train/train_image.py end to end on tiny models: resume after a kill, DDP on two CPU processes, real formats."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from emogen.image.data import ResumableSampler

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "train" / "train_image.py"
TINY = [
    "--architecture", "tiny", "--resolution", "32", "--train_batch_size", "2", "--dataloader_num_workers", "0",
    "--torch_threads", "1", "--report_to", "none", "--validation_steps", "0", "--logging_steps", "1",
    "--lr_warmup_steps", "1", "--learning_rate", "0.001", "--ema_decay", "0.9",
]


def run_trainer(output_dir: Path, *args: str, launcher: list[str] | None = None, timeout: float = 300) -> str:
    command = [*(launcher or [sys.executable]), str(TRAIN), *TINY, "--output_dir", str(output_dir), *args]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def saved_weights(folder: Path) -> dict[str, torch.Tensor]:
    weights = {}
    for file in sorted(folder.rglob("*.safetensors")):
        if "checkpoint-" in str(file.relative_to(folder)):
            continue
        weights.update({f"{file.parent.name}/{k}": v for k, v in load_file(file).items()})
    return weights


@pytest.mark.slow
@pytest.mark.parametrize("train_mode,adapter_mode", [("full", "both"), ("lora", "residual")])
def test_killed_and_resumed_run_equals_an_uninterrupted_one(tmp_path, train_mode, adapter_mode):
    settings = ["--train_mode", train_mode, "--adapter_mode", adapter_mode, "--checkpointing_steps", "3",
                "--checkpoints_total_limit", "5", "--save_full_pipeline", "true"]
    uninterrupted = tmp_path / "uninterrupted"
    run_trainer(uninterrupted, *settings, "--max_train_steps", "6")

    # The same run, killed (SIGKILL, no clean-up) once checkpoint-3 is complete.
    interrupted = tmp_path / "interrupted"
    command = [sys.executable, str(TRAIN), *TINY, "--output_dir", str(interrupted), *settings,
               "--max_train_steps", "100000"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.time() + 240
        while not (interrupted / "checkpoint-3").is_dir():
            assert process.poll() is None and time.time() < deadline, "the run ended before writing checkpoint-3"
            time.sleep(0.05)
    finally:  # killed whatever happened: a failed wait must not leave an endless run behind
        process.send_signal(signal.SIGKILL)
        process.wait()
    for later in interrupted.glob("checkpoint-*"):  # resume from step 3 itself, whatever the run reached
        if later.name != "checkpoint-3":
            shutil.rmtree(later)
    log = run_trainer(interrupted, *settings, "--max_train_steps", "6", "--resume_from_checkpoint", "latest")
    assert "resumed from" in log and "checkpoint-3 at step 3" in log

    # The model card counts the training time of both parts of the run, not only the resumed one.
    before = json.loads((interrupted / "checkpoint-3" / "train_seconds.json").read_text())["train_seconds"]
    assert 0 < before < json.loads((interrupted / "metrics.json").read_text())["train_seconds"]

    expected, resumed = saved_weights(uninterrupted), saved_weights(interrupted)
    assert expected.keys() == resumed.keys() and any(k.startswith("emotion_adapter/") for k in expected)
    for key in expected:
        assert torch.equal(expected[key], resumed[key]), key


@pytest.mark.slow
def test_two_cpu_processes_keep_their_weights_in_sync(tmp_path, free_port):
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                "--main_process_port", str(free_port)]
    # Emotion dropout 0.5 on batches of 2: some steps drop the emotion of a whole batch on one process,
    # which must not leave DDP with an unused parameter.
    log = run_trainer(tmp_path / "ddp", "--max_train_steps", "8", "--checkpointing_steps", "4",
                      "--emotion_dropout", "0.5", "--text_dropout", "0.5", launcher=launcher)
    assert "2 process(es)" in log and "weights in sync across 2 process(es)" in log
    assert (tmp_path / "ddp" / "checkpoint-8" / "random_states_1.pkl").is_file()
    assert (tmp_path / "ddp" / "model_index.json").is_file()


def test_trains_on_a_real_format_dataset_and_saves_adapter_only(tmp_path):
    from emogen.data.emofaces import export_emofaces
    from emogen.image.pipeline import EmotionDiffusionPipeline
    from emogen.image.tiny import tiny_components

    data = export_emofaces(6, 64, tmp_path / "faces")
    base = tmp_path / "base"
    EmotionDiffusionPipeline(**tiny_components(mode="residual")).save_pretrained(base)
    out = tmp_path / "adapter-only"
    log = run_trainer(out, "--pretrained_model", str(base), "--train_mode", "adapter", "--dataset", "imagefolder",
                      "--data_root", str(data), "--max_train_steps", "2", "--checkpointing_steps", "100",
                      "--save_full_pipeline", "false", "--use_ema", "false")
    assert "(adapter, adapter residual)" in log
    assert json.loads((out / "emogen_image.json").read_text())["base_model"] == str(base)
    assert (out / "emotion_adapter" / "config.json").is_file() and not (out / "unet").exists()
    # Only the adapter was trained: the frozen UNet is what the base folder holds.
    from emogen.image.loading import load_image_pipeline

    trained, original = load_image_pipeline(out), EmotionDiffusionPipeline.from_pretrained(base)
    for (name, a), (_, b) in zip(trained.unet.state_dict().items(), original.unet.state_dict().items()):
        assert torch.equal(a, b), name
    assert any(not torch.equal(a, b) for a, b in zip(trained.emotion_adapter.state_dict().values(),
                                                     original.emotion_adapter.state_dict().values()))


def test_fp16_pipeline_is_half_the_size_and_loads_back_as_float32(tmp_path):
    from emogen.image.loading import load_image_pipeline

    out = tmp_path / "half"
    run_trainer(out, "--max_train_steps", "1", "--checkpointing_steps", "100", "--save_fp16", "true")
    unet_files = sorted(path.name for path in (out / "unet").iterdir())
    assert unet_files == ["config.json", "diffusion_pytorch_model.fp16.safetensors"]
    stored = load_file(out / "unet" / "diffusion_pytorch_model.fp16.safetensors")
    assert all(tensor.dtype == torch.float16 for tensor in stored.values())
    pipeline = load_image_pipeline(out)  # no variant to name: the loader finds the fp16-only folder
    assert pipeline.unet.dtype == pipeline.emotion_adapter.dtype == torch.float32
    for name, tensor in pipeline.unet.state_dict().items():
        assert torch.equal(tensor, stored[name].float()), name
    image = pipeline("a photo of a person", "joy", num_inference_steps=2, seed=0, output_type="np").images
    assert np.isfinite(image).all()


@pytest.mark.parametrize("args,message", [
    (["--adapter_mode", "film"], "adapter_mode must be one of"),
    (["--train_mode", "everything"], "train_mode must be one of"),
    (["--dataset", "emoset"], "needs data_root"),
    (["--learning_rat", "1"], "unknown settings ['learning_rat']"),
    (["--adapter_mode", "prompt_word", "--train_mode", "adapter"], "nothing to train"),
    (["--save_fp16", "true", "--save_full_pipeline", "false"], "save_fp16 applies to the full pipeline"),
    (["--train_mode", "full", "--save_full_pipeline", "false", "--pretrained_model", "x"],
     "train_mode 'full' trains the whole UNet"),
    (["--train_mode", "lora", "--save_full_pipeline", "false"], "there is none (the 'tiny' model is built in code)"),
])
def test_bad_settings_are_refused_by_name(tmp_path, args, message):
    command = [sys.executable, str(TRAIN), *TINY, "--output_dir", str(tmp_path / "x"), "--max_train_steps", "1", *args]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and message in result.stderr


def test_resumable_sampler_is_a_function_of_the_step():
    def draws(start, rank=0, world=1, n=12):
        iterator = iter(ResumableSampler(10, 3, seed=4, start=start, rank=rank, world_size=world))
        return [next(iterator) for _ in range(n)]

    uninterrupted = draws(0, n=30)
    assert sorted(uninterrupted[:10]) == list(range(10)) and sorted(uninterrupted[10:20]) == list(range(10))
    assert uninterrupted[:10] != uninterrupted[10:20]  # a new order every epoch
    assert draws(9) == uninterrupted[9:21]  # restarting at draw 9 continues exactly
    # Two processes: batches alternate between ranks and together are the single-process stream.
    rank0, rank1 = draws(0, 0, 2), draws(0, 1, 2)
    interleaved = [x for pair in zip(np.array_split(rank0, 4), np.array_split(rank1, 4)) for part in pair for x in part]
    assert interleaved == uninterrupted[:24]


@pytest.mark.slow
def test_ablation_script_trains_three_models_of_one_budget_and_saves_them_at_a_deadline(tmp_path):
    """train/image_ablation.sh: the adapter and both baselines from the shipped config, each with its own
    conditioning; then a second run stopped by DEADLINE before any new checkpoint is saved at the last
    step all three reached, so the bench still gets one budget."""
    script = ROOT / "train" / "image_ablation.sh"
    env = {**os.environ, "ROOT": str(tmp_path), "STEPS": "1", "CHECKPOINT_STEPS": "1", "PYTHON": sys.executable,
           "OMP_NUM_THREADS": "1"}
    finished = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "ablation finished: 1 steps each" in finished.stdout
    modes = {name: json.loads((tmp_path / name / "metrics.json").read_text())["config"]["adapter_mode"]
             for name in ("adapter", "prompt-word", "class-labels")}
    assert modes == {"adapter": "both", "prompt-word": "prompt_word", "class-labels": "class_labels"}

    stopped = subprocess.run(["bash", str(script)], env={**env, "STEPS": "1000", "DEADLINE": "1"},
                             capture_output=True, text=True, timeout=600)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "saved at step 1 each" in stopped.stdout
    for name in modes:
        facts = json.loads((tmp_path / name / "metrics.json").read_text())
        assert facts["train_samples"] == 32 and (tmp_path / name / "model_index.json").is_file()


@pytest.mark.parametrize("env,code,message", [
    ({"STEPS": "six"}, 2, "must be whole numbers; got STEPS=six"),
    ({"STEPS": "1", "PYTHON": "/no/such/python"}, 1, "the adapter run failed"),
])
def test_ablation_script_names_bad_settings_and_failed_runs(tmp_path, env, code, message):
    script = ROOT / "train" / "image_ablation.sh"
    result = subprocess.run(["bash", str(script)], env={**os.environ, "ROOT": str(tmp_path), **env},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == code and message in result.stderr, result.stderr
