"""EmoFaces-Bench: emotion control of the shipped image model and of the two baselines (issue 4).

Held-out identities and prompts (``emogen.image.evaluate.bench_cases``): every MEAD-8 category x
PER_CATEGORY, and a 5 x 5 valence-arousal grid x GRID_REPEATS. Every case gets BEST_OF candidates
(seeds s, s+1, ...); single-sample numbers average over all candidates, best-of numbers take the
candidate the verifier keeps. All images are scored by the shipped EmoFaces scorer.

Models: checkpoints/emofaces-image (adapter, "both" mode) and the baselines trained with the same
data, steps, batch and settings (checkpoints/emofaces-image-baselines/: the emotion's words in the
prompt; diffusers' class_labels projection into the time embedding). Also the latency of one 64 px
image on this CPU (batch 1, best of several calls).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from emogen.benchmark import Metric, run_benchmark
from emogen.image.evaluate import bench_cases, evaluate
from emogen.image.loading import load_image_pipeline
from emogen.score.emofaces import EmoFacesScorer

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "adapter (both)": ROOT / "checkpoints" / "emofaces-image",
    "baseline: prompt_word": ROOT / "checkpoints" / "emofaces-image-baselines" / "prompt-word",
    "baseline: class_labels": ROOT / "checkpoints" / "emofaces-image-baselines" / "class-labels",
}
PER_CATEGORY = 8
GRID_REPEATS = 2
BEST_OF = 4
STEPS = 25
GUIDANCE = 3.0
LATENCY_REPEATS = 5


def latency(pipeline) -> float:
    """Best seconds for one 64 px image (batch 1, STEPS steps, two guidance branches)."""
    def once() -> float:
        start = time.perf_counter()
        pipeline("a cartoon portrait of a person with short black hair", "joy", num_inference_steps=STEPS,
                 guidance_scale=GUIDANCE, seed=0, output_type="np")
        return time.perf_counter() - start

    once()  # warm-up
    return min(once() for _ in range(LATENCY_REPEATS))


def measure() -> list[Metric]:
    torch.set_num_threads(2)
    scorer = EmoFacesScorer()
    cases = bench_cases(per_category=PER_CATEGORY, grid_repeats=GRID_REPEATS)
    setting = (f"{len(cases)} held-out cases x {BEST_OF} samples, {STEPS} DDIM steps, guidance {GUIDANCE}, "
               "scored by the EmoFaces scorer")
    metrics: list[Metric] = []
    results = {}
    for label, folder in MODELS.items():
        if not (folder / "model_index.json").is_file():
            print(f"skipping {label}: no model at {folder}", file=sys.stderr)
            continue
        pipeline = load_image_pipeline(folder)
        pipeline.set_progress_bar_config(disable=True)
        result, _ = evaluate(pipeline, scorer, cases, best_of=BEST_OF, num_inference_steps=STEPS,
                             guidance_scale=GUIDANCE)
        results[label] = result
        shipped = label.startswith("adapter")
        metrics += [
            Metric(f"{label}: top-1 control accuracy, single sample", round(result["top1_accuracy"], 3), "",
                   ">= 0.90" if shipped else None, setting),
            Metric(f"{label}: top-1 control accuracy, best of {BEST_OF}", round(result["best_of_top1_accuracy"], 3), "",
                   ">= 0.97" if shipped else None, "verifier: the candidate closest to the target"),
            Metric(f"{label}: VA MAE, single sample", round(result["va_mae"], 3), "", "<= 0.15" if shipped else None,
                   f"all cases; grid cases alone {result['va_mae_grid']:.3f}"),
            Metric(f"{label}: VA MAE, best of {BEST_OF}", round(result["best_of_va_mae"], 3), ""),
            Metric(f"{label}: per-category accuracy", ", ".join(f"{k} {v:.2f}" for k, v in
                                                                 result["per_category_accuracy"].items())),
        ]
        if shipped:
            metrics.append(Metric("adapter: latency of one 64 px image (CPU, batch 1)",
                                  round(latency(pipeline) * 1000, 1), "ms", note=f"{STEPS} steps, 2 UNet passes/step"))
    adapter = results.get("adapter (both)")
    for label, result in results.items():
        if adapter and label.startswith("baseline"):
            metrics.append(Metric(f"adapter minus {label.removeprefix('baseline: ')}: single-sample accuracy",
                                  round(adapter["top1_accuracy"] - result["top1_accuracy"], 3), "", "> 0.0"))
    return metrics


if __name__ == "__main__":
    run_benchmark("image_generation", "EmoFaces-Bench: emotion control of generated images (issue 4).", measure)
