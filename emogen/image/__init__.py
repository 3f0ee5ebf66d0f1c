"""Emotion-conditioned text-to-image: the emotion adapter and a diffusers pipeline around it."""
from emogen.image.adapter import MODES, EmotionAdapter
from emogen.image.pipeline import EmotionDiffusionPipeline, EmotionImagePipelineOutput

__all__ = ["MODES", "EmotionAdapter", "EmotionDiffusionPipeline", "EmotionImagePipelineOutput"]
