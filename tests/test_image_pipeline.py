"""EmotionAdapter + EmotionDiffusionPipeline on tiny random SD-1.x-layout components (32 px, 2-3 steps)."""
import logging

import numpy as np
import PIL.Image
import pytest
import torch
from diffusers import StableDiffusionPipeline

from emogen.emotion import Emotion
from emogen.emotion.encoder import emotion_features
from emogen.errors import EmotionError
from emogen.image import MODES, EmotionAdapter, EmotionDiffusionPipeline
from emogen.image.adapter import emotion_words
from emogen.image.tiny import tiny_components, tiny_tokenizer, tiny_unet

PROMPT = "a close-up portrait of a person"
STEPS = 2


def quiet(pipeline):
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def make_pipeline(mode="residual", **kwargs):
    return quiet(EmotionDiffusionPipeline(**tiny_components(mode=mode, **kwargs)))


def stable_diffusion(pipeline):
    """Plain diffusers StableDiffusionPipeline sharing the UNet, VAE, text encoder, tokenizer and scheduler."""
    components = {name: module for name, module in pipeline.components.items() if name != "emotion_adapter"}
    return quiet(StableDiffusionPipeline(**components, safety_checker=None, feature_extractor=None, requires_safety_checker=False))


def make_non_identity(pipeline):
    """Give the untrained parts that start at zero some weight, as training would."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        adapter = pipeline.emotion_adapter
        if adapter.residual is not None:
            torch.nn.init.normal_(adapter.residual.mlp[-1].weight, std=0.3)
        if pipeline.unet.class_embedding is not None:
            torch.nn.init.normal_(pipeline.unet.class_embedding.linear_2.weight, std=0.3)
    return pipeline


def generate(pipeline, emotion="joy", **kwargs):
    kwargs = {"num_inference_steps": STEPS, "seed": 0, "output_type": "np", **kwargs}
    return pipeline(kwargs.pop("prompt", PROMPT), emotion, **kwargs).images


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A trained-looking residual pipeline, saved, and its output for joy."""
    folder = tmp_path_factory.mktemp("emotion-pipeline")
    pipeline = make_non_identity(make_pipeline())
    pipeline.save_pretrained(folder)
    return folder, generate(pipeline)


# ----- tiny components ------------------------------------------------------------------------------


def test_tiny_components_are_small_and_reproducible():
    first, second = tiny_components(), tiny_components()
    assert sum(p.numel() for p in first["unet"].parameters()) < 1_000_000
    for name in ("unet", "vae", "text_encoder", "emotion_adapter"):
        for (key, a), b in zip(first[name].state_dict().items(), second[name].state_dict().values()):
            assert torch.equal(a, b), f"{name}.{key}"
    assert tiny_tokenizer().get_vocab() == tiny_tokenizer().get_vocab()


def test_tiny_tokenizer_is_clip_shaped():
    tokenizer = tiny_tokenizer()
    ids = tokenizer("A portrait of a happy person!").input_ids
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert tokenizer.unk_token_id not in ids[1:-1]  # byte-level: every text tokenises
    for word in ("portrait", "cartoon", "person", "hair", "shirt"):  # most corpus words are one token
        assert len(tokenizer(word).input_ids) == 3, word
    assert tokenizer.model_max_length == 77


def test_tiny_tokenizer_is_the_same_in_every_process():
    # A model trained in one process is resumed and loaded in others: its vocabulary must not depend on
    # hash seeds (a BPE trainer's tie-breaking did).
    import subprocess
    import sys

    code = "from emogen.image.tiny import tiny_tokenizer; import json; print(json.dumps(sorted(tiny_tokenizer().get_vocab().items())))"
    vocabularies = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                   env={**__import__("os").environ, "PYTHONHASHSEED": str(seed)}).stdout
                    for seed in (1, 2)}
    assert len(vocabularies) == 1


# ----- adapter ----------------------------------------------------------------------------------------


def features_for(*specs):
    return emotion_features([Emotion.parse(spec) for spec in specs])


@pytest.mark.parametrize("mode", ["residual", "both"])
def test_untrained_residual_is_the_identity(mode):
    adapter = EmotionAdapter(mode=mode, token_dim=32, num_tokens=3, hidden_dim=32)
    prompt_embeds = torch.randn(2, 7, 32)
    hidden, labels = adapter.condition(prompt_embeds, features_for("joy", "anger"))
    assert labels is None
    assert torch.equal(hidden[:, :7], prompt_embeds)
    assert hidden.shape == (2, 7 + (3 if mode == "both" else 0), 32)


def test_condition_shapes_dropout_and_scale():
    tokens_adapter = EmotionAdapter(mode="tokens", token_dim=32, num_tokens=3, hidden_dim=32)
    prompt_embeds = torch.randn(3, 5, 32)
    features = features_for("joy", "joy", "sadness")
    hidden, _ = tokens_adapter.condition(prompt_embeds, features, drop_mask=torch.tensor([False, True, False]))
    null = tokens_adapter.encoder.null_tokens
    assert hidden.shape == (3, 8, 32) and torch.equal(hidden[:, :5], prompt_embeds)
    assert torch.equal(hidden[1, 5:], null) and not torch.equal(hidden[0, 5:], null)
    assert not torch.allclose(hidden[0, 5:], hidden[2, 5:])
    unscaled, _ = tokens_adapter.condition(prompt_embeds, features, scale=0.0)
    assert torch.allclose(unscaled[:, 5:], null.expand(3, 3, 32))

    labels_adapter = EmotionAdapter(mode="class_labels", token_dim=16, hidden_dim=32)
    hidden, labels = labels_adapter.condition(prompt_embeds, features)
    assert hidden is prompt_embeds and labels.shape == (3, 16)

    words_adapter = EmotionAdapter(mode="prompt_word")
    assert words_adapter.condition(prompt_embeds, features) == (prompt_embeds, None)
    assert list(words_adapter.parameters()) == []
    assert words_adapter.emotion_prompts(["a face"], [Emotion.parse("sadness")]) == ["a face, sadness"]
    assert tokens_adapter.emotion_prompts(["a face"], [Emotion.parse("sadness")]) == ["a face"]


def test_emotion_words():
    assert emotion_words(Emotion.parse("joy")) == "joy"
    assert emotion_words(Emotion.parse("joy:0.3")) == "slight joy"
    assert emotion_words(Emotion.parse("0.6 joy + 0.4 surprise")) == "joy and surprise"


@pytest.mark.parametrize("mode", MODES)
def test_adapter_save_pretrained_round_trip(mode, tmp_path):
    adapter = EmotionAdapter(mode=mode, token_dim=16, num_tokens=2, hidden_dim=32)
    adapter.save_pretrained(tmp_path)
    loaded = EmotionAdapter.from_pretrained(tmp_path, local_files_only=True)
    assert loaded.config.mode == mode and loaded.config.token_dim == 16
    for key, value in adapter.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key


def test_adapter_refuses_bad_modes_and_mismatched_unets():
    with pytest.raises(EmotionError, match="mode must be one of residual, tokens"):
        EmotionAdapter(mode="vibes")
    plain_unet, labelled_unet = tiny_unet(16, 4), tiny_unet(16, 4, class_label_dim=32)
    with pytest.raises(EmotionError, match="class_embed_type='projection'"):
        EmotionAdapter(mode="class_labels", token_dim=32).check_unet(plain_unet)
    with pytest.raises(EmotionError, match="expects class labels"):
        EmotionAdapter(mode="tokens", token_dim=32).check_unet(labelled_unet)
    with pytest.raises(EmotionError, match="cross_attention_dim 32"):
        EmotionAdapter(mode="residual", token_dim=64).check_unet(plain_unet)
    components = tiny_components()
    components["emotion_adapter"] = EmotionAdapter(mode="class_labels", token_dim=32)
    with pytest.raises(EmotionError, match="class_labels"):
        EmotionDiffusionPipeline(**components)


# ----- pipeline ---------------------------------------------------------------------------------------


def test_save_reload_is_deterministic(saved):
    folder, original = saved
    pipeline = quiet(EmotionDiffusionPipeline.from_pretrained(folder, local_files_only=True))
    assert pipeline.emotion_adapter.config.mode == "residual"
    first, second = generate(pipeline), generate(pipeline)
    assert first.shape == (1, 32, 32, 3) and first.dtype == np.float32
    assert np.array_equal(first, second)
    assert np.array_equal(first, original)
    assert not np.array_equal(first, generate(pipeline, seed=1))


def test_untrained_adapter_equals_stable_diffusion_exactly():
    pipeline = make_pipeline()
    reference = stable_diffusion(pipeline)
    expected = reference(PROMPT, num_inference_steps=STEPS, generator=torch.Generator().manual_seed(0), output_type="np").images
    assert np.array_equal(generate(pipeline, "joy"), expected)
    assert np.array_equal(generate(pipeline, "v=-0.8,a=0.7", emotion_guidance_scale=0.0), expected)

    prompts, negatives = ["a photo of a cat", "a drawing of a dog"], ["blurry", "dark"]
    expected = reference(
        prompts, negative_prompt=negatives, guidance_scale=3.0, num_images_per_prompt=2, num_inference_steps=3,
        generator=torch.Generator().manual_seed(5), output_type="np",
    ).images
    actual = generate(
        pipeline, ["joy", "fear"], prompt=prompts, negative_prompt=negatives, guidance_scale=3.0,
        num_images_per_prompt=2, num_inference_steps=3, seed=5,
    )
    assert np.array_equal(actual, expected)


def test_stock_stable_diffusion_folder_gets_a_fresh_adapter(tmp_path, caplog):
    pipeline = make_pipeline()
    reference = stable_diffusion(pipeline)
    reference.save_pretrained(tmp_path)
    expected = reference(PROMPT, num_inference_steps=STEPS, generator=torch.Generator().manual_seed(0), output_type="np").images
    with caplog.at_level(logging.WARNING, logger="emogen.image.pipeline"):
        loaded = quiet(EmotionDiffusionPipeline.from_pretrained(tmp_path, local_files_only=True))
    assert "created a fresh 'residual' adapter" in caplog.text
    assert np.array_equal(generate(loaded, "anger"), expected)


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_runs_and_emotions_change_the_image(mode):
    pipeline = make_non_identity(make_pipeline(mode))
    images = generate(pipeline, ["joy", "sadness"], prompt=[PROMPT, PROMPT], num_images_per_prompt=2)
    assert images.shape == (4, 32, 32, 3) and np.isfinite(images).all()
    assert np.abs(images[0] - images[1]).max() > 1e-3, "two images of one prompt got the same noise"
    assert np.abs(images[0] - images[2]).max() > 1e-3, "joy and sadness gave the same image"


@pytest.mark.parametrize("pixel_space", [False, True])
def test_emotion_guidance_zero_is_text_only_guidance(pixel_space):
    pipeline = make_non_identity(make_pipeline(pixel_space=pixel_space))
    joy = generate(pipeline, "joy", emotion_guidance_scale=0.0)
    assert np.array_equal(joy, generate(pipeline, "sadness", emotion_guidance_scale=0.0))
    # The emotion branch at emotion_scale 0 carries the null emotion, like the text branch.
    assert np.array_equal(joy, generate(pipeline, "joy", emotion_scale=0.0))
    assert np.abs(joy - generate(pipeline, "joy")).max() > 1e-3


def test_three_branch_guidance_combines_the_predictions():
    # One DDIM step is affine in the noise prediction, so latents combine as the predictions do.
    pipeline = make_non_identity(make_pipeline())

    def latents(text_scale, emotion_scale):
        return pipeline(PROMPT, "anger", guidance_scale=text_scale, emotion_guidance_scale=emotion_scale,
                        num_inference_steps=1, seed=3, output_type="latent").images

    uncond, text, text_emotion = latents(0.0, 0.0), latents(1.0, 0.0), latents(1.0, 1.0)
    assert not torch.allclose(text, text_emotion)
    expected = uncond + 3.0 * (text - uncond) + 2.0 * (text_emotion - text)
    torch.testing.assert_close(latents(3.0, 2.0), expected, atol=1e-4, rtol=1e-4)


def test_guidance_branches_skip_what_weighs_nothing():
    branches = EmotionDiffusionPipeline.guidance_branches
    assert branches(7.5, 7.5) == ["uncond", "text_emotion"]
    assert branches(7.5, 0.0) == ["uncond", "text"]
    assert branches(1.0, 1.0) == ["text_emotion"]
    assert branches(1.0, 4.0) == ["text", "text_emotion"]
    assert branches(7.5, 3.0) == ["uncond", "text", "text_emotion"]


def test_pixel_space_round_trip(tmp_path):
    pipeline = make_pipeline(pixel_space=True)
    assert pipeline.vae is None and pipeline.vae_scale_factor == 1
    expected = generate(pipeline, "surprise", height=24, width=40)
    assert expected.shape == (1, 24, 40, 3)
    pipeline.save_pretrained(tmp_path)
    loaded = quiet(EmotionDiffusionPipeline.from_pretrained(tmp_path, local_files_only=True))
    assert loaded.vae is None
    assert np.array_equal(generate(loaded, "surprise", height=24, width=40), expected)


def test_output_types_and_progress_callback():
    pipeline = make_pipeline()
    steps = []
    output = pipeline(PROMPT, "joy:0.5", num_inference_steps=3, seed=0, callback=lambda step, total: steps.append((step, total)))
    assert steps == [(1, 3), (2, 3), (3, 3)]
    assert isinstance(output.images[0], PIL.Image.Image) and output.images[0].size == (32, 32)
    assert output.emotions == [Emotion.parse("joy:0.5")]
    tensor = generate(pipeline, output_type="pt")
    assert tensor.shape == (1, 3, 32, 32) and 0 <= tensor.min() and tensor.max() <= 1
    assert generate(pipeline, output_type="latent").shape == (1, 4, 16, 16)
    images, emotions = pipeline(PROMPT, "fear", num_inference_steps=1, seed=0, output_type="np", return_dict=False)
    assert images.shape == (1, 32, 32, 3) and emotions[0].top == "fear"


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"prompt": ""}, "prompt must not be empty"),
        ({"prompt": []}, "prompt must be a string or a non-empty list"),
        ({"prompt": 3}, "prompt must be a string or a list of strings"),
        ({"prompt": "face " * 80}, "prompt is 82 tokens long, the text encoder takes at most 77"),
        ({"negative_prompt": "face " * 80}, "negative_prompt is 82 tokens long"),
        ({"negative_prompt": ["a", "b"]}, "negative_prompt has 2 entries for 1 prompts"),
        ({"emotion": "blorp"}, "emotion: .*blorp"),
        ({"emotion": ["joy", "anger"]}, "emotion has 2 entries for 1 prompts"),
        ({"num_inference_steps": 0}, "num_inference_steps must be a positive integer, got 0"),
        ({"num_images_per_prompt": 0}, "num_images_per_prompt must be a positive integer"),
        ({"height": 33}, "height must be a positive multiple of 2 pixels, got 33"),
        ({"width": -32}, "width must be a positive multiple of 2"),
        ({"height": 0}, "height must be a positive multiple of 2 pixels, got 0"),
        ({"guidance_scale": -1.0}, "^guidance_scale must be a number >= 0, got -1.0"),
        ({"emotion_guidance_scale": -0.5}, "^emotion_guidance_scale must be a number >= 0"),
        ({"emotion_scale": float("nan")}, "^emotion_scale must be a number >= 0"),
        ({"output_type": "jpg"}, "output_type must be one of pil, np, pt, latent; got 'jpg'"),
        ({"generator": torch.Generator()}, "give generator or seed, not both"),
    ],
)
def test_check_inputs_names_the_bad_argument(arguments, message):
    pipeline = make_pipeline()
    kwargs = {"prompt": PROMPT, "emotion": "joy", "num_inference_steps": 1, "seed": 0, **arguments}
    with pytest.raises(EmotionError, match=message):
        pipeline(kwargs.pop("prompt"), kwargs.pop("emotion"), **kwargs)


def test_prompt_word_checks_the_prompt_with_its_words():
    pipeline = make_pipeline("prompt_word")
    fits = "face " * 75  # 75 words + start + end = 77 tokens; ", joy" makes 79
    generate(make_pipeline(), prompt=fits, num_inference_steps=1)
    with pytest.raises(EmotionError, match="prompt is 79 tokens long"):
        generate(pipeline, prompt=fits, num_inference_steps=1)
