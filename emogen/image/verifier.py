"""Spending inference compute on a closer emotion, with an emotion scorer as the verifier.

Llasa scales text-to-speech at inference time by sampling several candidates and letting verifiers
pick; here the verifier is an emotion scorer and there are two ways to spend the extra compute:

- `best_of`: draw n images from seeds seed, seed + 1, ..., score them all, keep the one closest to the
  target (`emotion_distance`). Works with any scorer and any pipeline.
- scorer guidance: a differentiable scorer steers every denoising step toward the target (classifier
  guidance, ``EmotionDiffusionPipeline(..., scorer_guidance=scorer_guidance_loss(...))``).

The two compose: best_of passes pipeline keyword arguments through, guidance included.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import PIL.Image
import torch
import torch.nn.functional as F

from emogen.emotion import CATEGORY_SETS, Emotion
from emogen.errors import EmotionError
from emogen.score.emofaces import CATEGORY_SET as EMOFACES_CATEGORY_SET
from emogen.score.emofaces import EmoFacesLayers
from emogen.score.estimate import EmotionEstimate

# Set by best_of itself: one image per seed, as PIL for the scorer.
RESERVED_KWARGS = ("generator", "seed", "num_images_per_prompt", "output_type", "return_dict")


def emotion_distance(estimate: EmotionEstimate, target: Emotion, category_set: str | None = None) -> float:
    """How far a scored image is from the target: lower is closer, 0 is a perfect hit.

    ||(valence, arousal) - target's|| + (1 - p), where p is the estimate's probability of the target's
    top category once the target is rolled up into the scorer's category set (``category_set``; by
    default the set whose categories are the estimate's). Neither part alone ranks candidates well:
    the VA distance cannot tell fear from anger (close in VA) and the category probability cannot tell
    mild from intense joy, so one number rewards both the right category and the right VA point, on
    comparable scales (VA distance in [0, 2.83], 1 - p in [0, 1]).
    """
    name = category_set or _category_set_of(estimate)
    expected = target.to_set(name).top
    va_distance = math.hypot(estimate.valence - target.valence, estimate.arousal - target.arousal)
    return va_distance + 1.0 - float(estimate.probs.get(expected, 0.0))


def _category_set_of(estimate: EmotionEstimate) -> str:
    names = set(estimate.probs)
    for category_set in CATEGORY_SETS.values():
        if names == set(category_set.categories):
            return category_set.name
    raise EmotionError(
        f"the {estimate.scorer} estimate's categories {sorted(names)} are no known category set; pass category_set"
    )


@dataclass
class BestOfResult:
    """The chosen candidate (``image``, ``estimate``, ``index`` into the lists, its ``distance``) and
    every candidate with its seed, score and distance, in seed order."""

    image: PIL.Image.Image
    estimate: EmotionEstimate
    index: int
    distance: float
    seeds: list[int]
    distances: list[float]
    candidates: list[PIL.Image.Image]
    estimates: list[EmotionEstimate]

    @property
    def seed(self) -> int:
        """The seed of the chosen image."""
        return self.seeds[self.index]


def best_of(
    pipeline,
    scorer,
    prompt: str,
    emotion,
    n: int,
    seed: int = 0,
    batch_size: int | None = None,
    **pipeline_kwargs,
) -> BestOfResult:
    """Generate ``n`` candidates (candidate i from seed ``seed + i``), score them, keep the closest.

    Candidate i starts from the same noise as ``pipeline(prompt, emotion, seed=seed + i)``. The
    candidates are generated ``batch_size`` at a time (default: all n in one pipeline call, the fast
    way on a GPU). Batched kernels may round differently from a single-image call (~1e-6), so only
    ``batch_size=1`` reproduces each candidate bit for bit as a plain call with its seed.
    ``pipeline_kwargs`` go to every pipeline call (steps, guidance, callback, scorer_guidance, ...).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise EmotionError(f"best-of n must be a positive integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise EmotionError(f"seed must be an integer >= 0, got {seed!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0):
        raise EmotionError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    reserved = [name for name in RESERVED_KWARGS if name in pipeline_kwargs]
    if reserved:
        raise EmotionError(f"best_of sets {', '.join(reserved)} itself; give seed= and n= instead")
    try:
        target = Emotion.parse(emotion)
    except EmotionError as err:
        raise EmotionError(f"emotion: {err}") from None

    seeds = [seed + i for i in range(n)]
    batch_size = batch_size or n
    candidates: list[PIL.Image.Image] = []
    for start in range(0, n, batch_size):
        chunk = seeds[start:start + batch_size]
        # A CPU generator per image, as a plain call with seed= makes: the same noise on every device.
        generators = [torch.Generator("cpu").manual_seed(s) for s in chunk]
        output = pipeline(prompt, target, num_images_per_prompt=len(chunk), generator=generators,
                          output_type="pil", **pipeline_kwargs)
        candidates.extend(output.images)

    estimates = scorer.score_batch(candidates)
    distances = [emotion_distance(estimate, target, scorer.category_set) for estimate in estimates]
    index = min(range(n), key=distances.__getitem__)  # the first of equals: the lowest seed
    return BestOfResult(
        image=candidates[index],
        estimate=estimates[index],
        index=index,
        distance=distances[index],
        seeds=seeds,
        distances=distances,
        candidates=candidates,
        estimates=estimates,
    )


def scorer_guidance_loss(scorer_or_model, targets: Sequence[Emotion]) -> Callable[[torch.Tensor], torch.Tensor]:
    """A differentiable loss for ``EmotionDiffusionPipeline(scorer_guidance=...)`` built on the EmoFaces network.

    ``scorer_or_model`` is an `EmoFacesScorer` (its network is used) or an `EmoFacesLayers` / `EmoFacesNet`, which is put
    in eval mode so that guidance reads images as the scorer does. ``targets``: one emotion for every
    image, or one per image. The returned function maps images [B, 3, H, W] in [-1, 1] to the loss [B]:
    cross-entropy to the target's top MEAD-8 category + L1 between predicted and target (valence,
    arousal), the two halves of `emotion_distance` in a form with useful gradients.
    """
    model = getattr(scorer_or_model, "model", scorer_or_model)
    if not isinstance(model, EmoFacesLayers):
        raise EmotionError(
            f"scorer guidance needs the differentiable EmoFaces scorer (EmoFacesLayers); got {type(model).__name__}"
        )
    model.eval()
    targets = [Emotion.parse(target) for target in targets]
    if not targets:
        raise EmotionError("scorer guidance needs at least one target emotion")
    categories = list(model.categories)
    labels = []
    for target in targets:
        name = target.to_set(EMOFACES_CATEGORY_SET).top
        if name not in categories:
            raise EmotionError(f"target category {name!r} is not one of the scorer's: {', '.join(categories)}")
        labels.append(categories.index(name))
    device = model.device
    labels_tensor = torch.tensor(labels, device=device)
    va_tensor = torch.tensor([[t.valence, t.arousal] for t in targets], device=device)

    def loss(images: torch.Tensor) -> torch.Tensor:
        batch = len(images)
        if len(targets) not in (1, batch):
            raise EmotionError(f"scorer guidance has {len(targets)} targets for {batch} images; give one or one per image")
        logits, va = model(images.to(device, model.dtype))
        category_loss = F.cross_entropy(logits.float(), labels_tensor.expand(batch), reduction="none")
        va_loss = (va.float() - va_tensor.expand(batch, 2)).abs().sum(dim=-1)
        return (category_loss + va_loss).to(images.device)

    return loss
