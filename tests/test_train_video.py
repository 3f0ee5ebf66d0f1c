"""train/train_video.py on a tiny pixel-space image model: trains, validates, saves, and resumes exactly."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
TINY_RUN = ["--resolution", "32", "--clip_fps", "2", "--clip_duration", "1.5", "--train_batch_size", "1",
            "--checkpointing_steps", "2", "--checkpoints_total_limit", "3", "--logging_steps", "1",
            "--lr_warmup_steps", "1", "--motion_max_seq_length", "16", "--validation_clips", "1",
            "--validation_frames", "4", "--validation_fps", "2", "--validation_inference_steps", "1",
            "--report_to", "none", "--save_fp16", "false", "--dataloader_num_workers", "0", "--torch_threads", "1"]


def train(*args, timeout=400):
    result = subprocess.run([sys.executable, "train/train_video.py", *TINY_RUN, *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def image_model(tmp_path_factory):
    from emogen.image.pipeline import EmotionDiffusionPipeline
    from emogen.image.tiny import tiny_components

    folder = tmp_path_factory.mktemp("tiny-image-model")
    EmotionDiffusionPipeline(**tiny_components(mode="both", pixel_space=True)).save_pretrained(folder)
    return folder


def weights(folder: Path) -> dict:
    return {**load_file(folder / "unet" / "diffusion_pytorch_model.safetensors"),
            **{f"adapter.{k}": v for k, v in
               load_file(folder / "emotion_adapter" / "diffusion_pytorch_model.safetensors").items()}}


@pytest.mark.slow
def test_a_resumed_run_equals_an_uninterrupted_one_and_the_result_loads(tmp_path, image_model):
    from emogen.video.loading import load_video_pipeline

    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    # Both runs share part of every clip's noise across frames, so resuming must restore that too;
    # validation samples with more of it shared, which becomes the model's recommended sampling.
    correlated = ["--noise_correlation", "0.5", "--validation_noise_correlation", "0.9",
                  "--validation_emotion_scale", "1.3"]
    log = train("--image_model", str(image_model), "--output_dir", str(straight), "--max_train_steps", "4",
                "--validation_steps", "2", *correlated)
    assert "validation step 2: ccc_valence" in log.stdout
    assert (straight / "validation" / "step-000002.png").is_file()
    train("--image_model", str(image_model), "--output_dir", str(resumed), "--max_train_steps", "2",
          "--validation_steps", "0", *correlated)
    log = train("--image_model", str(image_model), "--output_dir", str(resumed), "--max_train_steps", "4",
                "--validation_steps", "0", "--resume_from_checkpoint", "latest", *correlated)
    assert f"resumed from {resumed / 'checkpoint-2'} at step 2" in log.stdout

    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys()
    changed = [k for k in a if "motion_modules" in k and "proj_out" in k and a[k].abs().sum() > 0]
    assert changed, "the zero-initialised motion outputs should have trained"
    for key in a:
        assert (a[key] == b[key]).all(), key

    facts = json.loads((straight / "train_facts.json").read_text())
    assert facts["clip_frames"] == 4 and facts["train_clips"] == 4
    assert facts["trained_parameters"] < facts["unet_parameters"]
    pipeline = load_video_pipeline(straight, local_files_only=True)
    assert pipeline.config.noise_correlation == 0.5, "the model records the noise it was trained on"
    from emogen.image.loading import recommended_sampling

    assert recommended_sampling(straight) == {"num_inference_steps": 1, "guidance_scale": 3.0,
                                              "noise_correlation": 0.9, "emotion_scale": 1.3}
    pipeline.set_progress_bar_config(disable=True)
    clip = pipeline("a cartoon portrait of a person", "joy@0 -> sadness@1.5", num_frames=4, fps=2, num_inference_steps=1,
                    seed=0).frames
    assert clip.shape == (4, 32, 32, 3)


@pytest.mark.parametrize("args, message", [
    (["--snr_gamma", "5"], "snr_gamma"),
    (["--noise_correlation", "1.5"], "noise_correlation must be a number in [0, 1]"),
    (["--validation_noise_correlation", "-0.5"], "noise_correlation must be a number in [0, 1]"),
    (["--validation_emotion_scale", "-1"], "validation_emotion_scale must be a number >= 0, got -1"),
    (["--clip_duration", "20"], "frames; must be in"),
    (["--video_model", "somewhere"], "exactly one of image_model"),
    (["--image_model", "/nonexistent/model"], "no image model at /nonexistent/model"),
])
def test_bad_settings_are_refused_by_name(args, message):
    result = subprocess.run([sys.executable, "train/train_video.py", "--report_to", "none", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and message in result.stderr, result.stderr[-2000:]
