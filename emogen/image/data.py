"""Training data for text + emotion -> image: batches of ``pixel_values``, ``caption``, ``emotion_features``
and ``emotion_words`` (what the prompt_word baseline appends to the caption).

Two sources, one batch layout:

- ``EmoFacesCaptioned``: the EmoFaces still stream (endless, sharded by process and DataLoader worker,
  deterministic per item; see ``emogen.data.emofaces``). Its captions describe the identity only,
  so the emotion has to come through the emotion conditioning.
- ``CaptionedSamples``: samples from a real-format loader (EmoSet, FindingEmo, AffectNet CSV,
  imagefolder), read through ``ResumableSampler``, whose order is a fixed function of (seed, epoch),
  so a resumed run reads exactly the batches an uninterrupted one would.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps

from emogen.data.emofaces import SIZE_RANGE, EmoFacesStills, _identity, describe_identity
from emogen.data.loaders import FORMATS
from emogen.data.schema import EmotionSample
from emogen.emotion import Emotion
from emogen.emotion.encoder import emotion_features
from emogen.errors import EmotionError
from emogen.image.adapter import emotion_words

DATASETS = ("emofaces", *FORMATS)


def _pixels(image: Image.Image, size: int) -> torch.Tensor:
    image = ImageOps.fit(image.convert("RGB"), (size, size), Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(image, dtype=np.float32).copy()).permute(2, 0, 1) / 127.5 - 1.0


def conditioning(emotion: Emotion) -> dict:
    return {"emotion_features": emotion_features([emotion])[0], "emotion_words": emotion_words(emotion)}


class EmoFacesCaptioned(EmoFacesStills):
    """EmoFaces stills as (image, identity caption, emotion) items at ``resolution`` px (below the
    renderer's smallest size, faces are rendered at that size and downsampled)."""

    def __init__(self, resolution: int, **stream) -> None:
        super().__init__(size=max(resolution, SIZE_RANGE[0]), **stream)
        self.resolution = resolution

    def item(self, index: int) -> dict:
        spec = self.spec(index)
        return {
            "pixel_values": _pixels(spec.render(self.size), self.resolution),
            "caption": describe_identity(_identity(spec.identity_seed)),
            **conditioning(spec.emotion),
        }


def sample_emotion(sample: EmotionSample) -> Emotion:
    """A real sample's label as an Emotion: its category (at its intensity), else its valence/arousal."""
    if sample.category is not None:
        return Emotion.from_category(sample.category, intensity=1.0 if sample.intensity is None else sample.intensity)
    if sample.valence is not None and sample.arousal is not None:
        return Emotion.from_vad(sample.valence, sample.arousal, sample.dominance)
    raise EmotionError(f"sample {sample.image_path or sample.identity!r} has neither a category nor valence/arousal")


class CaptionedSamples(torch.utils.data.Dataset):
    """Real-format samples as (image, caption, emotion) items; ``default_prompt`` stands in for a missing caption."""

    def __init__(self, samples: Sequence[EmotionSample], size: int, default_prompt: str) -> None:
        self.samples = [s for s in samples if s.category is not None or (s.valence is not None and s.arousal is not None)]
        if not self.samples:
            raise EmotionError("no sample has a category or valence/arousal to condition on")
        self.size = size
        self.default_prompt = default_prompt

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        sample = self.samples[index]
        return {
            "pixel_values": _pixels(sample.load_image(), self.size),
            "caption": sample.caption or self.default_prompt,
            **conditioning(sample_emotion(sample)),
        }


class ResumableSampler(torch.utils.data.Sampler):
    """Endless indices into a dataset of ``length`` items: epoch ``e`` is a permutation seeded by (seed, e).

    Batch ``j`` of process ``r`` (of ``world_size``) is the ``(j * world_size + r)``-th run of
    ``batch_size`` draws, starting at draw ``start``: the same data whatever the number of processes
    restarted from a given step.
    """

    def __init__(self, length: int, batch_size: int, seed: int, start: int = 0, rank: int = 0, world_size: int = 1):
        super().__init__()
        self.length, self.batch_size, self.seed = length, batch_size, seed
        self.start, self.rank, self.world_size = start, rank, world_size

    def _order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(self.length)

    def __iter__(self) -> Iterator[int]:
        epoch, order = -1, None
        batch = 0
        while True:
            first = self.start + (batch * self.world_size + self.rank) * self.batch_size
            for draw in range(first, first + self.batch_size):
                if draw // self.length != epoch:
                    epoch = draw // self.length
                    order = self._order(epoch)
                yield int(order[draw % self.length])
            batch += 1


def load_real_samples(dataset: str, data_root: str | None, image_root: str | None) -> list[EmotionSample]:
    """The samples of a real-format dataset (``dataset`` one of FORMATS) at ``data_root``."""
    if dataset not in FORMATS:
        raise EmotionError(f"dataset must be one of {', '.join(DATASETS)}; got {dataset!r}")
    if not data_root:
        raise EmotionError(f"dataset {dataset!r} needs data_root (its folder, or its annotation file)")
    if dataset == "findingemo" and not image_root:
        raise EmotionError("dataset 'findingemo' needs image_root (the folder its image paths are relative to)")
    if dataset in ("affectnet", "findingemo"):  # an annotation file + an image folder (AffectNet's defaults to the CSV's)
        return FORMATS[dataset](data_root, image_root)
    return FORMATS[dataset](data_root)
