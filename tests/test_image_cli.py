"""`emogen image` end to end, and loading image models, on tiny random pipelines saved to tmp_path."""
import json
import os
import re

import numpy as np
import pytest
import torch
from peft import LoraConfig
from PIL import Image

from emogen.cli import main
from emogen.emotion import Emotion
from emogen.errors import EmotionError
from emogen.image import EmotionAdapter, EmotionDiffusionPipeline
from emogen.image.loading import (
    ADAPTER_ONLY_CONFIG,
    DEFAULT_IMAGE_MODEL,
    MODEL_ENV,
    SCHEDULERS,
    default_image_model,
    load_image_pipeline,
    save_adapter_only,
    set_scheduler,
)
from emogen.image.tiny import tiny_components
from emogen.image.verifier import best_of, emotion_distance
from emogen.score.emofaces import EmoFacesScorer
from emogen.score.estimate import EmotionEstimate

PROMPT = "a close-up portrait of a person"
STEPS = "2"


def quiet(pipeline):
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def trained_looking(pipeline):
    """Give the zero-initialised residual some weight, so that emotions change images (as training would)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        torch.nn.init.normal_(pipeline.emotion_adapter.residual.mlp[-1].weight, std=0.3)
    return pipeline


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A tiny pixel-space pipeline saved as a full pipeline folder, and the pipeline itself."""
    folder = tmp_path_factory.mktemp("image-model")
    pipeline = quiet(trained_looking(EmotionDiffusionPipeline(**tiny_components("residual", 32, pixel_space=True))))
    pipeline.save_pretrained(folder)
    return folder, pipeline


@pytest.fixture(scope="module")
def scorer():
    return EmoFacesScorer()


def run(capsys, *argv):
    code = main(["image", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def pixels(image):
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def estimate_of(scores: dict) -> EmotionEstimate:
    return EmotionEstimate(probs=scores["probs"], valence=scores["valence"], arousal=scores["arousal"],
                           confidence=scores["confidence"], scorer=scores["scorer"])


# ----- emogen image ----------------------------------------------------------------------------------


def test_image_writes_a_scored_png_with_its_metadata(model, scorer, tmp_path, capsys):
    folder, pipeline = model
    out = tmp_path / "joy.png"
    code, stdout, _ = run(capsys, "--prompt", PROMPT, "--emotion", "joy:0.8", "--seed", 3, "--steps", STEPS,
                          "--guidance", 5, "--emotion-guidance", 3, "--emotion-scale", 0.5, "--model", folder,
                          "--out", out)
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["joy.png"]  # no temporary left behind
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (32, 32)
        text = dict(image.text)
        written = pixels(image)

    # The image is exactly what the pipeline makes for these settings.
    expected = pipeline(PROMPT, "joy:0.8", seed=3, num_inference_steps=2, guidance_scale=5.0,
                        emotion_guidance_scale=3.0, emotion_scale=0.5).images[0]
    assert np.array_equal(written, pixels(expected))

    assert text["prompt"] == PROMPT and text["emotion"] == "joy:0.8"
    assert Emotion.from_json(text["emotion_json"]) == Emotion.parse("joy:0.8")
    assert (text["seed"], text["steps"], text["model"], text["scorer"]) == ("3", "2", str(folder), "emofaces")
    assert text["scheduler"] == "DDIMScheduler"
    assert json.loads(text["guidance"]) == {"guidance_scale": 5.0, "emotion_guidance_scale": 3.0,
                                            "emotion_scale": 0.5, "scorer_guidance_scale": 0.0}
    scores = json.loads(text["scores"])
    measured = scorer.score(out)
    assert scores["top1"] == measured.top1 and scores["scorer"] == "emofaces"
    assert scores["probs"] == pytest.approx(measured.probs) and scores["valence"] == pytest.approx(measured.valence)
    assert scores["distance"] == pytest.approx(emotion_distance(measured, Emotion.parse("joy:0.8")))
    assert json.loads(text["best_of"]) == {"n": 1, "index": 0, "seed": 3, "seeds": [3], "distances": [scores["distance"]]}

    line = stdout.strip()
    assert "\n" not in line and line.startswith(f"{out}: {measured.top1} ")
    assert f"v={measured.valence:+.2f} a={measured.arousal:+.2f}" in line and "target joy" in line


def test_best_of_keeps_the_closest_candidate(model, scorer, tmp_path, capsys):
    folder, pipeline = model
    out = tmp_path / "best.png"
    code, stdout, _ = run(capsys, "--prompt", PROMPT, "--emotion", "sadness", "--seed", 4, "--best-of", 3,
                          "--steps", STEPS, "--model", folder, "--out", out)
    assert code == 0
    with Image.open(out) as image:
        text, written = dict(image.text), pixels(image)
    record = json.loads(text["best_of"])
    assert record["n"] == 3 and record["seed"] == 4 and record["seeds"] == [4, 5, 6]
    assert record["index"] == int(np.argmin(record["distances"]))
    assert text["seed"] == str(4 + record["index"])
    assert json.loads(text["scores"])["distance"] == record["distances"][record["index"]]
    assert f"best of 3: #{record['index']} seed {4 + record['index']}" in stdout

    expected = best_of(pipeline, scorer, PROMPT, "sadness", n=3, seed=4, num_inference_steps=2)
    assert np.array_equal(written, pixels(expected.image))
    assert record["distances"] == pytest.approx(expected.distances)


def test_grid_is_one_contact_sheet_with_every_cell_scored(model, scorer, tmp_path, capsys):
    folder, _ = model
    out = tmp_path / "grid.png"
    code, stdout, _ = run(capsys, "--prompt", PROMPT, "--grid", 2, "--steps", STEPS, "--model", folder, "--out", out)
    assert code == 0
    with Image.open(out) as image:
        assert image.size == (64, 64)
        text, sheet = dict(image.text), image.convert("RGB")
    grid = json.loads(text["grid"])
    assert text["emotion"] == "grid 2x2" and grid["n"] == 2 and grid["cell_size"] == [32, 32]
    assert grid["valence"] == [-0.7, 0.7] and grid["arousal"] == [0.7, -0.7]
    specs = [(cell["row"], cell["column"], cell["emotion"]) for cell in grid["cells"]]
    assert specs == [(0, 0, "v=-0.70,a=0.70"), (0, 1, "v=0.70,a=0.70"), (1, 0, "v=-0.70,a=-0.70"), (1, 1, "v=0.70,a=-0.70")]
    for cell in grid["cells"]:
        # Each cell's recorded score is the score of the tile at its place: no gaps, rows top to bottom.
        tile = sheet.crop((32 * cell["column"], 32 * cell["row"], 32 * cell["column"] + 32, 32 * cell["row"] + 32))
        measured = scorer.score(tile)
        assert cell["scores"]["probs"] == pytest.approx(measured.probs)
        target = Emotion.parse(cell["emotion"])
        assert cell["scores"]["distance"] == pytest.approx(emotion_distance(measured, target))
        assert cell["seed"] == 0
    assert len(stdout.strip().splitlines()) == 4


def test_scheduler_scorer_guidance_and_the_model_from_the_environment(model, tmp_path, capsys, monkeypatch):
    folder, _ = model
    monkeypatch.setenv(MODEL_ENV, str(folder))
    out = tmp_path / "guided.png"
    code, _, _ = run(capsys, "--prompt", PROMPT, "--emotion", "anger", "--steps", STEPS, "--scheduler", "euler",
                     "--scorer-guidance", 2, "--out", out)
    assert code == 0
    with Image.open(out) as image:
        text = dict(image.text)
    assert text["model"] == str(folder) and text["scheduler"] == "EulerDiscreteScheduler"
    assert json.loads(text["guidance"])["scorer_guidance_scale"] == 2.0


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--emotion", "blorp"], "--emotion: .*blorp"),
        (["--prompt", ""], "prompt must not be empty"),
        (["--prompt", "face " * 80], "prompt is 82 tokens long, the text encoder takes at most 77"),
        (["--steps", "0"], "--steps must be a positive integer, got 0"),
        (["--best-of", "-1"], "--best-of must be a positive integer, got -1"),
        (["--seed", "-1"], "--seed must be an integer >= 0, got -1"),
        (["--guidance", "-1"], "guidance_scale must be a number >= 0, got -1.0"),
        (["--scorer-guidance", "-0.5"], "--scorer-guidance must be a number >= 0, got -0.5"),
        (["--scorer-guidance", "1", "--scorer", "fer2013"], "--scorer-guidance needs a differentiable scorer"),
        (["--scheduler", "heun"], "unknown scheduler 'heun'; accepted: ddim, ddpm, dpm, euler, pndm"),
        (["--device", "tpu"], "unknown --device 'tpu'; accepted: cpu, cuda"),
        (["--grid", "1", "--emotion", None], "--grid must be an integer >= 2, got 1"),
        (["--grid", "2"], r"give --emotion SPEC or --grid N \(not both\)"),
        (["--emotion", None], r"give --emotion SPEC or --grid N \(not both\)"),
        (["--out", "{tmp}/joy.jpg"], "--out must be a .png file, got '.*joy.jpg'"),
        (["--out", "{tmp}/missing/joy.png"], "missing does not exist"),
        (["--out", "{tmp}/afile/joy.png"], "afile is not a folder"),
        (["--model", "{tmp}/nowhere"], "no image model at .*nowhere: no such folder"),
        (["--model", "{tmp}"], "is not an image model: it has neither model_index.json .* nor emogen_image.json"),
        (["--model", "{tmp}/afile"], "is a file; give a model folder or a hub id"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(model, tmp_path, capsys, arguments, message):
    folder, _ = model
    (tmp_path / "afile").write_text("not a folder")
    options = {"--prompt": PROMPT, "--emotion": "joy", "--steps": "1", "--model": str(folder),
               "--out": str(tmp_path / "out.png")}
    for flag, value in zip(arguments[::2], arguments[1::2]):
        options[flag] = None if value is None else value.replace("{tmp}", str(tmp_path))
    argv = [item for flag, value in options.items() if value is not None for item in (flag, value)]
    code, stdout, stderr = run(capsys, *argv)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith("emogen: error: ") and len([l for l in lines if "emogen: error" in l]) == 1
    assert re.search(message, lines[-1]), lines[-1]
    assert stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_failed_run_leaves_an_existing_output_untouched(model, tmp_path, capsys):
    folder, _ = model
    out = tmp_path / "keep.png"
    out.write_bytes(b"previous")
    code, _, _ = run(capsys, "--prompt", "", "--emotion", "joy", "--model", folder, "--out", out)
    assert code == 2 and out.read_bytes() == b"previous"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_unwritable_output_folder_is_refused(model, tmp_path, capsys):
    folder, _ = model
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, _, stderr = run(capsys, "--prompt", PROMPT, "--emotion", "joy", "--model", folder, "--out", locked / "x.png")
    assert code == 2 and "is not writable" in stderr and not any(locked.iterdir())


# ----- loading -----------------------------------------------------------------------------------------


def generate(pipeline, emotion="joy"):
    return pipeline(PROMPT, emotion, seed=0, num_inference_steps=2, output_type="np").images


def test_full_pipeline_folder_loads_as_saved(model):
    folder, pipeline = model
    loaded = quiet(load_image_pipeline(folder, local_files_only=True))
    assert isinstance(loaded, EmotionDiffusionPipeline) and loaded.vae is None
    assert np.array_equal(generate(loaded), generate(pipeline))


@pytest.fixture(scope="module")
def adapter_only(tmp_path_factory):
    """A base pipeline folder and, beside it, an adapter-only training output with a UNet LoRA.

    Written by hand (not by save_adapter_only) so that the format itself is under test; returns the
    folders and the trained pipeline the output stands for.
    """
    root = tmp_path_factory.mktemp("adapter-only")
    EmotionDiffusionPipeline(**tiny_components("residual", 32, pixel_space=True)).save_pretrained(root / "base")
    # "Trained" from the saved base itself, so that it shares the base's exact UNet, text encoder and tokenizer.
    trained = quiet(trained_looking(EmotionDiffusionPipeline.from_pretrained(root / "base")))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)  # init_lora_weights=False: random B, so the LoRA changes the UNet
        trained.unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                            target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    output = root / "output"
    trained.emotion_adapter.save_pretrained(output / "emotion_adapter")
    trained.unet.save_lora_adapter(output / "unet_lora")
    (output / ADAPTER_ONLY_CONFIG).write_text(json.dumps({"base_model": "../base", "lora": "unet_lora"}))
    return root, trained


def test_adapter_only_output_with_a_lora_loads_as_trained(adapter_only):
    root, trained = adapter_only
    loaded = quiet(load_image_pipeline(root / "output", local_files_only=True))
    assert "emogen" in loaded.unet.peft_config
    assert np.array_equal(generate(loaded, "sadness"), generate(trained, "sadness"))

    # Without the LoRA: the adapter alone, on the base UNet.
    without = root / "without-lora"
    (without / "emotion_adapter").mkdir(parents=True)
    for file in (root / "output" / "emotion_adapter").iterdir():
        (without / "emotion_adapter" / file.name).write_bytes(file.read_bytes())
    (without / ADAPTER_ONLY_CONFIG).write_text(json.dumps({"base_model": str(root / "base"), "lora": None}))
    plain = quiet(load_image_pipeline(without, local_files_only=True))
    assert not getattr(plain.unet, "peft_config", None)
    expected = quiet(EmotionDiffusionPipeline.from_pretrained(
        root / "base", emotion_adapter=EmotionAdapter.from_pretrained(without / "emotion_adapter")))
    assert np.array_equal(generate(plain, "sadness"), generate(expected, "sadness"))
    assert not np.array_equal(generate(plain, "sadness"), generate(loaded, "sadness"))


def test_save_adapter_only_writes_the_format_it_loads(adapter_only, tmp_path):
    root, trained = adapter_only
    save_adapter_only(tmp_path, trained.emotion_adapter, str(root / "base"), unet=trained.unet)
    assert json.loads((tmp_path / ADAPTER_ONLY_CONFIG).read_text()) == {"base_model": str(root / "base"), "lora": "unet_lora"}
    loaded = quiet(load_image_pipeline(tmp_path, local_files_only=True))
    assert np.array_equal(generate(loaded), generate(trained))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda out: (out / "emotion_adapter" / "config.json").unlink(), "is missing emotion_adapter/config.json"),
        (lambda out: (out / "unet_lora" / "pytorch_lora_weights.safetensors").unlink(),
         "is missing unet_lora/pytorch_lora_weights.safetensors"),
        (lambda out: (out / ADAPTER_ONLY_CONFIG).write_text("{broken"), "emogen_image.json is not readable JSON"),
        (lambda out: (out / ADAPTER_ONLY_CONFIG).write_text('{"lora": null}'), 'must hold {"base_model"'),
        (lambda out: (out / ADAPTER_ONLY_CONFIG).write_text('{"base_model": "../nowhere/at/all", "lora": null}'),
         "no image model at ../nowhere/at/all: no such folder"),
    ],
)
def test_broken_adapter_only_output_names_the_missing_part(adapter_only, tmp_path, damage, message):
    root, trained = adapter_only
    save_adapter_only(tmp_path / "out", trained.emotion_adapter, str(root / "base"), unet=trained.unet)
    damage(tmp_path / "out")
    with pytest.raises(EmotionError, match=message):
        load_image_pipeline(tmp_path / "out", local_files_only=True)


def test_broken_pipeline_folder_and_unreachable_hub_id(model, tmp_path):
    folder, _ = model
    (tmp_path / "model_index.json").write_text("{not json")
    with pytest.raises(EmotionError, match="model_index.json is not readable JSON"):
        load_image_pipeline(tmp_path, local_files_only=True)
    (tmp_path / "model_index.json").write_text((folder / "model_index.json").read_text())
    with pytest.raises(EmotionError, match="is missing (unet|text_encoder|tokenizer|scheduler|emotion_adapter)/"):
        load_image_pipeline(tmp_path, local_files_only=True)
    for part in folder.iterdir():  # all component folders, but the UNet's weights are not a UNet's
        if part.is_dir():
            (tmp_path / part.name).mkdir()
            for file in part.iterdir():
                (tmp_path / part.name / file.name).write_bytes(file.read_bytes())
    (tmp_path / "unet" / "config.json").write_text('{"_class_name": "UNet2DConditionModel", "in_channels": 4}')
    with pytest.raises(EmotionError, match=f"cannot load the image model in {tmp_path}: "):
        load_image_pipeline(tmp_path, local_files_only=True)
    with pytest.raises(EmotionError, match="cannot load image model 'someone/no-such-model': it is neither a local "
                                           "folder with model_index.json or emogen_image.json nor a reachable hub id"):
        load_image_pipeline("someone/no-such-model", local_files_only=True)


def test_default_model_and_schedulers(model, monkeypatch):
    monkeypatch.delenv(MODEL_ENV, raising=False)
    assert default_image_model() == str(DEFAULT_IMAGE_MODEL)
    assert DEFAULT_IMAGE_MODEL.parts[-2:] == ("checkpoints", "emofaces-image")
    monkeypatch.setenv(MODEL_ENV, "/some/where")
    assert default_image_model() == "/some/where"

    _, pipeline = model
    betas = pipeline.scheduler.betas
    for name, scheduler_type in SCHEDULERS.items():
        copy = EmotionDiffusionPipeline(**pipeline.components)
        set_scheduler(copy, name)
        assert type(copy.scheduler) is scheduler_type and torch.equal(copy.scheduler.betas, betas)
    with pytest.raises(EmotionError, match="unknown scheduler 'lms'; accepted: ddim, ddpm, dpm, euler, pndm"):
        set_scheduler(pipeline, "lms")


def test_a_models_recommended_sampling_is_the_default(model, tmp_path, capsys):
    import shutil

    from emogen.image.loading import SAMPLING_FILE

    folder = tmp_path / "with-sampling"
    shutil.copytree(model[0], folder)
    (folder / SAMPLING_FILE).write_text(json.dumps({"num_inference_steps": 3, "guidance_scale": 2.5}))
    out = tmp_path / "recommended.png"
    code, _, _ = run(capsys, "--prompt", PROMPT, "--emotion", "joy", "--model", folder, "--out", out)
    assert code == 0
    with Image.open(out) as image:
        text = dict(image.text)
    assert text["steps"] == "3" and json.loads(text["guidance"])["guidance_scale"] == 2.5
    out = tmp_path / "overridden.png"  # flags win over the recommendation
    assert run(capsys, "--prompt", PROMPT, "--emotion", "joy", "--model", folder, "--steps", 2, "--guidance", 5,
               "--out", out)[0] == 0
    with Image.open(out) as image:
        assert image.text["steps"] == "2" and json.loads(image.text["guidance"])["guidance_scale"] == 5.0
