"""Emotion-conditioned video: AnimateDiff's motion UNet + the image pipeline's emotion adapter, per frame.

Names are imported on first use, so that `emogen --help` does not load diffusers.
"""
from importlib import import_module

_EXPORTS = {
    "EmotionVideoPipeline": "emogen.video.pipeline",
    "EmotionVideoPipelineOutput": "emogen.video.pipeline",
    "EmotionUNetMotionModel": "emogen.video.unet",
    "load_video_pipeline": "emogen.video.loading",
    "generate_video": "emogen.video.generate",
    "VideoResult": "emogen.video.generate",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'emogen.video' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
