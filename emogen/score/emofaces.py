"""EmoFaces scorer: a small CNN that reads MEAD-8 category and valence/arousal off an EmoFaces face.

The network is ``EmoFacesLayers`` (plain torch). ``emogen.score.emofaces_model.EmoFacesNet`` is the
same network as a diffusers ``ModelMixin`` + ``ConfigMixin``, so ``save_pretrained`` /
``from_pretrained`` write and read ``config.json`` + safetensors; it is what
``train/train_scorer.py`` trains on procedural EmoFaces stills (``emogen.data.emofaces``), and the
trained weights ship in ``checkpoints/emofaces-scorer/`` with a model card holding the measured
held-out accuracy. ``EmoFacesScorer`` reads that folder with ``load_layers`` instead, without
importing diffusers: that import costs about 2.3 CPU-seconds (torch._dynamo and transformers come
with it), paid by every talking-head measuring worker and CLI call that only needs to score.
Inputs of any size are resized to ``image_size`` (64) before scoring.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emogen.emotion.categories import get_set
from emogen.errors import EmotionError
from emogen.io import Media, read_rgb
from emogen.score.estimate import EmotionEstimate

SCORER_NAME = "emofaces"
CATEGORY_SET = "mead8"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "emofaces-scorer"
CHECKPOINT_ENV = "EMOGEN_EMOFACES_SCORER"


class _ConvBlock(nn.Sequential):
    """Two 3x3 convolutions with batch norm and SiLU, then a 2x2 max pool (halves the size)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.SiLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.SiLU(),
            nn.MaxPool2d(2),
        )


class EmoFacesLayers(nn.Module):
    """Conv blocks -> global average pool -> shared hidden layer -> two heads.

    ``forward(pixel_values)`` takes B x 3 x H x W in [-1, 1] (resized to ``image_size`` if needed) and
    returns (category logits B x len(categories), valence/arousal B x 2 in [-1, 1] via tanh).
    """

    def __init__(self, block_channels: tuple[int, ...] = (24, 48, 64, 96), hidden_size: int = 128,
                 image_size: int = 64, categories: tuple[str, ...] = get_set(CATEGORY_SET).categories,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.image_size = int(image_size)
        self.categories = tuple(categories)
        channels = (3, *block_channels)
        self.blocks = nn.Sequential(*(_ConvBlock(a, b) for a, b in zip(channels[:-1], channels[1:])))
        self.hidden = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels[-1], hidden_size), nn.SiLU())
        self.category_head = nn.Linear(hidden_size, len(categories))
        self.va_head = nn.Linear(hidden_size, 2)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        size = self.image_size
        if pixel_values.shape[-2:] != (size, size):
            pixel_values = F.interpolate(pixel_values, size=(size, size), mode="bilinear", antialias=True,
                                         align_corners=False)
        # Channels-last activations make oneDNN's CPU convolutions about 1.5x faster (training and scoring).
        features = F.adaptive_avg_pool2d(self.blocks(pixel_values.contiguous(memory_format=torch.channels_last)), 1)
        hidden = self.hidden(features)
        return self.category_head(hidden), torch.tanh(self.va_head(hidden))


# What ModelMixin.save_pretrained writes (diffusers' SAFETENSORS_WEIGHTS_NAME), read here without diffusers.
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
_ARCHITECTURE = ("block_channels", "hidden_size", "image_size", "categories", "dropout")


def load_layers(path: str | os.PathLike | None = None) -> EmoFacesLayers:
    """The network saved by ``EmoFacesNet.save_pretrained`` in ``path`` (``checkpoint_path`` rules), as
    ``EmoFacesLayers`` in eval mode: the same weights (all of them, strictly) and outputs as
    ``EmoFacesNet.from_pretrained``, without importing diffusers."""
    from safetensors.torch import load_file

    folder = checkpoint_path(path)
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise EmotionError(f"no EmoFaces scorer weights at {weights}; save the model with save_pretrained")
    config = json.loads((folder / "config.json").read_text())
    # Built on the meta device and given the saved tensors: no random initialisation, which would
    # draw from torch's global generator and so change a training run that validates with the scorer
    # (its resumed run must equal the uninterrupted one). from_pretrained does the same.
    with torch.device("meta"):
        model = EmoFacesLayers(**{key: config[key] for key in _ARCHITECTURE if key in config})
    model.load_state_dict(load_file(weights), strict=True, assign=True)
    return model.eval()


def images_to_tensor(images: list[np.ndarray], size: int) -> torch.Tensor:
    """HxWx3 uint8 images -> B x 3 x size x size float in [-1, 1] (antialiased resize)."""
    batch = []
    for image in images:
        pixels = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
        if pixels.shape[-2:] != (size, size):
            pixels = F.interpolate(pixels, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        batch.append(pixels[0])
    return torch.stack(batch) / 127.5 - 1.0


def checkpoint_path(path: str | os.PathLike | None = None) -> Path:
    """The scorer folder: ``path``, else ``$EMOGEN_EMOFACES_SCORER``, else the shipped checkpoint."""
    folder = Path(path or os.environ.get(CHECKPOINT_ENV) or DEFAULT_CHECKPOINT)
    if not (folder / "config.json").is_file():
        raise EmotionError(
            f"no EmoFaces scorer at {folder} (config.json missing); train one with "
            f"`accelerate launch train/train_scorer.py --output_dir {folder}` or set {CHECKPOINT_ENV}"
        )
    return folder


class EmoFacesScorer:
    """MEAD-8 probabilities and valence/arousal of an EmoFaces-style face image."""

    name = SCORER_NAME
    category_set = CATEGORY_SET

    def __init__(self, path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> None:
        self.path = checkpoint_path(path)
        self.model = load_layers(self.path).to(device)
        self.device = torch.device(device)
        self.categories = self.model.categories

    @torch.no_grad()
    def score_batch(self, media: list[Media]) -> list[EmotionEstimate]:
        pixels = images_to_tensor([read_rgb(item) for item in media], self.model.image_size)
        logits, va = self.model(pixels.to(self.device, self.model.dtype))
        probs = logits.float().softmax(-1).cpu().numpy()
        va = va.float().cpu().numpy()
        return [
            EmotionEstimate(
                probs=dict(zip(self.categories, (float(p) for p in row))),
                valence=float(v),
                arousal=float(a),
                confidence=float(row.max()),
                scorer=self.name,
            )
            for row, (v, a) in zip(probs, va)
        ]

    def score(self, media: Media) -> EmotionEstimate:
        return self.score_batch([media])[0]
