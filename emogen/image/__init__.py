"""Emotion-conditioned text-to-image: the emotion adapter and a diffusers pipeline around it.

Names are imported on first use, so that `emogen --help` and `emogen emotion ...` do not load diffusers.
"""
from importlib import import_module

_EXPORTS = {
    "MODES": "emogen.image.adapter",
    "EmotionAdapter": "emogen.image.adapter",
    "EmotionDiffusionPipeline": "emogen.image.pipeline",
    "EmotionImagePipelineOutput": "emogen.image.pipeline",
    "load_image_pipeline": "emogen.image.loading",
    "best_of": "emogen.image.verifier",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'emogen.image' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
