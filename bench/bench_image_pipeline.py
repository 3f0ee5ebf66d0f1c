"""Image pipeline overhead: EmotionDiffusionPipeline against diffusers' StableDiffusionPipeline.

Both run the same tiny UNet, VAE, text encoder, tokenizer and scheduler in this process, alternating
call by call so that load from other processes falls on both alike. A tiny model is the worst case for
the adapter: its fixed cost per call (parsing the emotion, one adapter pass) is compared with very
cheap UNet steps; at Stable Diffusion's size the same cost disappears against the UNet. Latencies are
the best of several calls: on a shared 2-core machine the other runs only add noise.
"""
from __future__ import annotations

import time

import torch
from diffusers import StableDiffusionPipeline

from emogen.benchmark import Metric, run_benchmark
from emogen.emotion import Emotion
from emogen.emotion.encoder import emotion_features
from emogen.image import EmotionAdapter, EmotionDiffusionPipeline
from emogen.image.tiny import tiny_components

IMAGE_SIZE = 64
STEPS = 20
REPEATS = 10
PROMPT = "a close-up portrait of a person"


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def quiet(pipeline):
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def pipeline_latencies() -> dict[str, float]:
    """Best seconds per image for each way of generating, calls interleaved."""
    components = tiny_components(image_size=IMAGE_SIZE)
    shared = {name: module for name, module in components.items() if name != "emotion_adapter"}
    plain = quiet(StableDiffusionPipeline(**shared, safety_checker=None, feature_extractor=None, requires_safety_checker=False))
    residual = quiet(EmotionDiffusionPipeline(**components))
    tokens = quiet(EmotionDiffusionPipeline(**shared, emotion_adapter=EmotionAdapter.for_unet(components["unet"], mode="tokens")))
    calls = {
        "plain": lambda: plain(PROMPT, num_inference_steps=STEPS, generator=torch.Generator().manual_seed(0), output_type="np"),
        "residual": lambda: residual(PROMPT, "joy:0.8", num_inference_steps=STEPS, seed=0, output_type="np"),
        "tokens": lambda: tokens(PROMPT, "joy:0.8", num_inference_steps=STEPS, seed=0, output_type="np"),
        "three_branch": lambda: residual(
            PROMPT, "joy:0.8", emotion_guidance_scale=3.0, num_inference_steps=STEPS, seed=0, output_type="np"
        ),
    }
    with torch.inference_mode():
        for call in calls.values():  # warm-up
            call()
        samples = {name: [] for name in calls}
        for _ in range(REPEATS):
            for name, call in calls.items():
                samples[name].append(timed(call))
    return {name: min(values) for name, values in samples.items()}


def adapter_cost_at_sd_width() -> tuple[float, int]:
    """Best seconds of one adapter pass for SD-1.5 widths (77 tokens of 768, two guidance branches), and its size."""
    adapter = EmotionAdapter(mode="residual", token_dim=768).eval()
    prompt_embeds = torch.randn(2, 77, 768)
    features = emotion_features([Emotion.parse("joy:0.8")] * 2)
    drop = torch.tensor([True, False])
    with torch.inference_mode():
        adapter.condition(prompt_embeds, features, drop_mask=drop)
        seconds = min(timed(lambda: adapter.condition(prompt_embeds, features, drop_mask=drop)) for _ in range(20))
    return seconds, sum(p.numel() for p in adapter.parameters())


def measure() -> list[Metric]:
    latency = pipeline_latencies()
    adapter_seconds, adapter_parameters = adapter_cost_at_sd_width()
    setting = f"tiny SD-1.x layout, {IMAGE_SIZE} px, {STEPS} DDIM steps, guidance 7.5, best of {REPEATS}"
    return [
        Metric("StableDiffusionPipeline latency", round(latency["plain"] * 1000, 1), "ms/image", note=setting),
        Metric("EmotionDiffusionPipeline latency (residual adapter)", round(latency["residual"] * 1000, 1), "ms/image",
               note=setting),
        Metric("overhead ratio, residual adapter", round(latency["residual"] / latency["plain"], 3), "x", "<= 1.05",
               "emotion pipeline / StableDiffusionPipeline, same components and seed"),
        Metric("overhead ratio, tokens adapter", round(latency["tokens"] / latency["plain"], 3), "x", "<= 1.05",
               "4 emotion tokens appended to the 77-token context"),
        Metric("cost ratio, three-branch guidance", round(latency["three_branch"] / latency["plain"], 3), "x",
               note="emotion_guidance_scale != guidance_scale: 3 UNet passes per step instead of 2 (expect ~1.5)"),
        Metric("adapter pass at SD-1.5 width (768)", round(adapter_seconds * 1000, 2), "ms/call",
               note=f"residual mode, {adapter_parameters} parameters; runs once per call, not per step"),
    ]


if __name__ == "__main__":
    run_benchmark(
        "image_pipeline",
        "Emotion image pipeline overhead against diffusers' StableDiffusionPipeline (issue 4).",
        measure,
    )
