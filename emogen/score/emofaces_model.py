"""The EmoFaces scorer network as a diffusers model: what ``train/train_scorer.py`` trains and saves.

``EmoFacesNet`` is ``emogen.score.emofaces.EmoFacesLayers`` (same submodules, so the same state-dict
keys) with diffusers' ``ModelMixin`` + ``ConfigMixin``: ``save_pretrained`` / ``from_pretrained`` write
and read ``config.json`` + safetensors, which ``emogen.score.emofaces.load_layers`` reads back
without diffusers for scoring.
"""
from __future__ import annotations

from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin

from emogen.emotion.categories import get_set
from emogen.score.emofaces import CATEGORY_SET, EmoFacesLayers


class EmoFacesNet(EmoFacesLayers, ModelMixin, ConfigMixin):
    """``EmoFacesLayers`` that diffusers can save and load (see the module doc)."""

    @register_to_config
    def __init__(self, block_channels: tuple[int, ...] = (24, 48, 64, 96), hidden_size: int = 128,
                 image_size: int = 64, categories: tuple[str, ...] = get_set(CATEGORY_SET).categories,
                 dropout: float = 0.1) -> None:
        EmoFacesLayers.__init__(self, block_channels, hidden_size, image_size, categories, dropout)
