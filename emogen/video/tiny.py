"""Tiny randomly initialised video components, built offline in code, for tests: the image pipeline's
tiny SD-1.x-layout components (`emogen.image.tiny.tiny_components`) with the UNet animated by a fresh
motion adapter of matching shape.

    pipeline = EmotionVideoPipeline(**tiny_video_components())
"""
from __future__ import annotations

from typing import Any

import torch

from emogen.image.tiny import tiny_components
from emogen.video.unet import motion_adapter_for, motion_unet


def tiny_video_components(mode: str = "residual", image_size: int = 32, pixel_space: bool = False, seed: int = 0,
                          architecture: str = "tiny", max_seq_length: int = 16) -> dict[str, Any]:
    """Keyword arguments for `EmotionVideoPipeline`; the same ``seed`` gives the same weights."""
    components = tiny_components(mode=mode, image_size=image_size, pixel_space=pixel_space, seed=seed,
                                 architecture=architecture)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        adapter = motion_adapter_for(components["unet"], num_attention_heads=4, max_seq_length=max_seq_length)
    components["unet"] = motion_unet(components["unet"], adapter)
    return components
