"""EmoFaces-Bench: how well an image generator puts the requested emotion on a face, as numbers.

Cases use held-out identities only (their captions are the prompts; the trainer never sees them):

- category cases: each MEAD-8 category (Ekman's seven incl. neutral, plus contempt) at full intensity,
  ``per_category`` times with different identities and seeds;
- grid cases: a ``grid`` x ``grid`` lattice of valence x arousal in [-VA_EXTENT, VA_EXTENT]
  (inside the unit disc the trainer draws VA points from), ``grid_repeats`` times each.

Every image is scored by a scorer (the EmoFaces scorer by default). Metrics:

- ``top1_accuracy``: category cases whose scored top-1 is the requested category (single samples;
  with ``best_of`` > 1 it is averaged over all candidates, so it still means "one sample");
- ``best_of_top1_accuracy``: the same for the candidate the verifier keeps (`verifier.emotion_distance`);
- ``va_mae``: mean absolute error of scored valence and arousal against the target's, over all cases
  (``va_mae_grid`` and ``va_mae_categories`` split it), single samples; ``best_of_va_mae`` likewise.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from emogen.data.emofaces import CATEGORIES, SPLITS, _identity, describe_identity
from emogen.emotion import Emotion
from emogen.errors import EmotionError

# Grid targets span valence and arousal in [-VA_EXTENT, VA_EXTENT]: the corners stay inside the unit
# disc that training draws its valence-arousal points from.
VA_EXTENT = 0.7
BENCH_SEED = 2026


@dataclass(frozen=True)
class BenchCase:
    prompt: str
    emotion: Emotion
    kind: str  # "category" | "grid"
    seed: int
    target: str  # the category (category cases) or "v=..,a=.." (grid cases)


def bench_cases(per_category: int = 10, grid: int = 5, grid_repeats: int = 2, seed: int = BENCH_SEED) -> list[BenchCase]:
    """The benchmark's cases; the same arguments always give the same cases."""
    rng = np.random.default_rng(seed)
    first, last = SPLITS["heldout"]

    def prompt() -> str:
        return describe_identity(_identity(int(rng.integers(first, last))))

    cases = [
        BenchCase(prompt(), Emotion.from_category(category), "category", int(rng.integers(2**31)), category)
        for _ in range(per_category)
        for category in CATEGORIES
    ]
    axis = grid_axis(grid)
    for _ in range(grid_repeats):
        for arousal in axis[::-1]:
            for valence in axis:
                spec = f"v={valence:.2f},a={arousal:.2f}"
                cases.append(BenchCase(prompt(), Emotion.parse(spec), "grid", int(rng.integers(2**31)), spec))
    return cases


def grid_axis(n: int) -> list[float]:
    """n values from -VA_EXTENT to VA_EXTENT, rounded to two decimals as grid specs write them."""
    return [round(float(x), 2) + 0.0 for x in np.linspace(-VA_EXTENT, VA_EXTENT, n)]  # + 0.0: never -0.0


def generate(pipeline, cases: list[BenchCase], candidates: int = 1, batch_size: int = 16, **call_kwargs) -> list[list]:
    """``candidates`` PIL images per case; candidate ``i`` of a case uses seed ``case.seed + i``."""
    jobs = [(case, case.seed + i) for case in cases for i in range(candidates)]
    images = []
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start:start + batch_size]
        images += pipeline(
            prompt=[case.prompt for case, _ in chunk],
            emotion=[case.emotion for case, _ in chunk],
            generator=[torch.Generator("cpu").manual_seed(seed) for _, seed in chunk],
            **call_kwargs,
        ).images
    return [images[i * candidates:(i + 1) * candidates] for i in range(len(cases))]


def evaluate(pipeline, scorer, cases: list[BenchCase], best_of: int = 1, batch_size: int = 16,
             **call_kwargs) -> tuple[dict, list[list]]:
    """(metrics, images per case) for ``pipeline`` on ``cases``; ``call_kwargs`` go to the pipeline call
    (num_inference_steps, guidance_scale, ...)."""
    started = time.perf_counter()
    images = generate(pipeline, cases, best_of, batch_size, **call_kwargs)
    seconds_per_image = (time.perf_counter() - started) / (len(cases) * best_of)
    estimates = [score_each(scorer, case_images) for case_images in images]
    scorer_set = scorer.category_set

    def hit(case: BenchCase, estimate) -> float:
        return float(estimate is not None and estimate.top1 == case.emotion.to_set(scorer_set).top)

    def va_error(case: BenchCase, estimate) -> float:
        if estimate is None:  # nothing the scorer could read: as far off as a reading can be
            return 1.0
        return (abs(estimate.valence - case.emotion.valence) + abs(estimate.arousal - case.emotion.arousal)) / 2

    chosen = [_best(case, case_estimates) for case, case_estimates in zip(cases, estimates)]
    metrics: dict = {"cases": len(cases), "best_of": best_of, "seconds_per_image": seconds_per_image,
                     "unscored": sum(e is None for row in estimates for e in row)}
    for kind in ("category", "grid"):
        rows = [(case, ests, pick) for case, ests, pick in zip(cases, estimates, chosen) if case.kind == kind]
        if not rows:
            continue
        metrics[f"va_mae_{'categories' if kind == 'category' else 'grid'}"] = float(
            np.mean([va_error(case, e) for case, ests, _ in rows for e in ests]))
        if kind == "category":
            metrics["top1_accuracy"] = float(np.mean([hit(case, e) for case, ests, _ in rows for e in ests]))
            metrics["best_of_top1_accuracy"] = float(np.mean([hit(case, ests[pick]) for case, ests, pick in rows]))
            metrics["per_category_accuracy"] = {
                name: float(np.mean([hit(case, e) for case, ests, _ in rows if case.target == name for e in ests]))
                for name in CATEGORIES if any(case.target == name for case, _, _ in rows)
            }
    metrics["va_mae"] = float(np.mean([va_error(case, e) for case, ests in zip(cases, estimates) for e in ests]))
    metrics["best_of_va_mae"] = float(np.mean([va_error(case, ests[pick])
                                               for case, ests, pick in zip(cases, estimates, chosen)]))
    return metrics, images


def score_each(scorer, images: list) -> list:
    """The scorer's estimate of every image; None for an image it cannot read (a photo scorer that
    finds no face), which counts as a miss rather than stopping the evaluation."""
    try:
        return scorer.score_batch(images)
    except EmotionError:
        estimates = []
        for image in images:
            try:
                estimates.append(scorer.score(image))
            except EmotionError:
                estimates.append(None)
        return estimates


def _best(case: BenchCase, estimates: list) -> int:
    if len(estimates) == 1:
        return 0
    from emogen.image.verifier import emotion_distance  # the verifier's own choice, as `best_of` makes it

    distances = [math.inf if e is None else emotion_distance(e, case.emotion) for e in estimates]
    return int(np.argmin(distances))


def contact_sheet(images: list, columns: int):
    """Images (all one size) -> one PIL image, row-major, ``columns`` wide, no gaps."""
    from PIL import Image

    width, height = images[0].size
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (columns * width, rows * height), "white")
    for index, image in enumerate(images):
        sheet.paste(image.convert("RGB"), ((index % columns) * width, (index // columns) * height))
    return sheet
