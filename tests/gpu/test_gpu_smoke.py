"""CUDA smoke tests: the image pipeline in fp16 (torch SDPA attention, and xFormers when installed) and
an fp16 mixed-precision training step, on the tiny random components (seconds on any GPU).

Skipped, with the reason, wherever torch.cuda.is_available() is False (CPU-only torch builds, machines
without a GPU). Run them on a GPU machine with

    python -m pytest -q -m gpu tests/gpu
"""
from __future__ import annotations

import pytest
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason=f"needs CUDA: torch.cuda.is_available() is False (torch {torch.__version__}, "
        f"built with CUDA {torch.version.cuda or 'none'})",
    ),
]

import torch.nn.functional as F  # noqa: E402
from diffusers import DDPMScheduler  # noqa: E402
from diffusers.models.attention_processor import AttnProcessor2_0  # noqa: E402

from emogen.emotion import Emotion  # noqa: E402
from emogen.emotion.encoder import emotion_features  # noqa: E402
from emogen.image import EmotionDiffusionPipeline  # noqa: E402
from emogen.image.tiny import tiny_components  # noqa: E402

IMAGE_SIZE = 32  # tiny_components' default: a 2x VAE, so 16 x 16 latents
PROMPTS = ["a photo of a person", "a close-up portrait of a woman"]
EMOTIONS = ["joy:0.8", "0.6 sadness + 0.4 fear"]


def fp16_pipeline(device: str = "cuda") -> EmotionDiffusionPipeline:
    pipeline = EmotionDiffusionPipeline(**tiny_components(mode="residual", image_size=IMAGE_SIZE))
    pipeline.set_progress_bar_config(disable=True)
    pipeline = pipeline.to(device, torch.float16)
    # torch's scaled_dot_product_attention in every diffusers attention block (UNet and VAE).
    for module in (pipeline.unet, pipeline.vae):
        module.set_attn_processor(AttnProcessor2_0())
    return pipeline


def generate(pipeline: EmotionDiffusionPipeline) -> torch.Tensor:
    return pipeline(PROMPTS, EMOTIONS, num_inference_steps=2, seed=0, output_type="pt").images


def check_images(images: torch.Tensor) -> None:
    assert images.shape == (len(PROMPTS), 3, IMAGE_SIZE, IMAGE_SIZE)
    assert torch.isfinite(images).all()
    assert images.min() >= 0 and images.max() <= 1


def test_pipeline_fp16_with_torch_sdpa():
    pipeline = fp16_pipeline()
    for module in (pipeline.unet, pipeline.vae, pipeline.text_encoder, pipeline.emotion_adapter):
        assert next(module.parameters()).dtype == torch.float16
        assert next(module.parameters()).device.type == "cuda"
    assert all(isinstance(p, AttnProcessor2_0) for p in pipeline.unet.attn_processors.values())
    images = generate(pipeline)
    check_images(images)
    assert images.device.type == "cuda"


def test_pipeline_fp16_with_xformers():
    pytest.importorskip("xformers", reason="xformers is not installed (pip install -e '.[gpu]')")
    from diffusers.models.attention_processor import XFormersAttnProcessor

    pipeline = fp16_pipeline()
    reference = generate(pipeline)
    pipeline.enable_xformers_memory_efficient_attention()
    assert all(isinstance(p, XFormersAttnProcessor) for p in pipeline.unet.attn_processors.values())
    images = generate(pipeline)
    check_images(images)
    # The same attention by another kernel: fp16 rounding apart, the same images.
    assert (images.float() - reference.float()).abs().max() < 0.05


@pytest.mark.parametrize("gradient_checkpointing", [False, True], ids=["plain", "checkpointed"])
def test_fp16_mixed_precision_training_steps(gradient_checkpointing):
    """Three AdamW steps of the tiny UNet + emotion adapter: fp32 weights, fp16 autocast and a
    GradScaler, as the trainer runs them with mixed_precision fp16 (the frozen text encoder in fp16)."""
    losses, changed = fp16_training_steps("cuda", gradient_checkpointing)
    assert len(losses) == 3 and all(torch.isfinite(torch.tensor(losses)))
    assert changed, "no parameter changed: every step was skipped by the GradScaler"


def fp16_training_steps(device: str, gradient_checkpointing: bool, steps: int = 3) -> tuple[list[float], bool]:
    """(loss of every step, whether any trained parameter changed)."""
    components = tiny_components(mode="residual", image_size=IMAGE_SIZE, seed=1)
    unet, adapter = components["unet"].to(device), components["emotion_adapter"].to(device)
    text_encoder, tokenizer = components["text_encoder"].to(device, torch.float16), components["tokenizer"]
    text_encoder.requires_grad_(False)
    if gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    unet.train()
    adapter.train()
    trained = [*unet.parameters(), *adapter.parameters()]
    before = [p.detach().clone() for p in trained]
    optimizer = torch.optim.AdamW(trained, lr=1e-3)
    # A lower initial scale than the default 2**16, so that three steps are not all skipped as overflows
    # while the scaler calibrates; the mechanics (scale, unscale, skip on inf, update) are the same.
    scaler = torch.amp.GradScaler(device, init_scale=2.0**10)
    noise_scheduler = DDPMScheduler.from_config(components["scheduler"].config)

    generator = torch.Generator(device).manual_seed(0)
    batch = 4
    channels, size = unet.config.in_channels, unet.config.sample_size
    ids = tokenizer(["a photo of a person"] * batch, padding="max_length", max_length=tokenizer.model_max_length,
                    truncation=True, return_tensors="pt").input_ids.to(device)
    with torch.no_grad():
        prompt_embeds = text_encoder(ids)[0]
    features = emotion_features([Emotion.parse(spec) for spec in ["joy", "anger", "v=-0.5,a=0.6", "surprise:0.4"]])
    drop = torch.tensor([False, False, False, True], device=device)  # one row gets the null emotion

    losses = []
    for _ in range(steps):
        latents = torch.randn(batch, channels, size, size, device=device, generator=generator)
        noise = torch.randn(latents.shape, device=device, generator=generator)
        timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (batch,), device=device,
                                  generator=generator)
        noisy = noise_scheduler.add_noise(latents, noise, timesteps)
        with torch.autocast(device, dtype=torch.float16):
            hidden_states, class_labels = adapter(prompt_embeds, features.to(device), drop)
            prediction = unet(noisy, timesteps, encoder_hidden_states=hidden_states, class_labels=class_labels).sample
            assert prediction.dtype == torch.float16  # the UNet ran in half precision
        loss = F.mse_loss(prediction.float(), noise.float())
        assert torch.isfinite(loss), f"loss {loss.item()}"
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        assert scaler.get_scale() > 0 and torch.isfinite(torch.tensor(scaler.get_scale()))
        losses.append(loss.item())
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in trained)  # fp32 master weights
    changed = any(not torch.equal(p.detach(), b) for p, b in zip(trained, before))
    return losses, changed
