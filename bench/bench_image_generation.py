"""EmoFaces-Bench: emotion control of the shipped image model and of the two baselines (issue 4).

Held-out identities and prompts (``emogen.image.evaluate.bench_cases``): every MEAD-8 category x
PER_CATEGORY, and a 5 x 5 valence-arousal grid x GRID_REPEATS. Every case gets BEST_OF candidates
(seeds s, s+1, ...); single-sample numbers average over all candidates, best-of numbers take the
candidate the verifier keeps. All images are scored by the shipped EmoFaces scorer.

Models: the shipped checkpoints/emofaces-image (adapter in "both" mode, 6000 steps), and the
equal-budget ablation in runs/emofaces-image-ablation/ (or $EMOGEN_ABLATION_ROOT): the adapter and
the two baselines (the emotion's words in the prompt; diffusers' class_labels projection into the time
embedding), each trained for the same number of samples with the same data, batch, seed and settings
(the adapter there is the shipped run's own model at that step, kept in git history: its constant
learning rate makes it the same model as a run of that length). Each model's metrics.json states its
budget; the bench refuses to compare models whose budgets differ. The ablation models are not shipped
(train/configs/image_emofaces.yaml has the commands that make them); without them only the shipped model
is measured. Also the latency of one 64 px image on this CPU (batch 1, best of several calls).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

from emogen.benchmark import RESULTS_DIR, Metric, run_benchmark
from emogen.image.evaluate import bench_cases, evaluate
from emogen.image.loading import load_image_pipeline
from emogen.score.emofaces import EmoFacesScorer

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = Path(os.environ.get("EMOGEN_IMAGE_BENCH_MODEL", ROOT / "checkpoints" / "emofaces-image"))
ABLATION_ROOT = Path(os.environ.get("EMOGEN_ABLATION_ROOT", ROOT / "runs" / "emofaces-image-ablation"))
ABLATION = {"adapter": "adapter (both)", "prompt-word": "baseline: prompt_word", "class-labels": "baseline: class_labels"}
PER_CATEGORY = 4
GRID_REPEATS = 1
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


def model_metrics(label: str, result: dict, setting: str, targets: bool) -> list[Metric]:
    """The EmoFaces-Bench rows of one model; ``targets``: the issue's targets apply (the shipped model)."""
    return [
        Metric(f"{label}: top-1 control accuracy, single sample", round(result["top1_accuracy"], 3), "",
               ">= 0.90" if targets else None, setting),
        Metric(f"{label}: top-1 control accuracy, best of {BEST_OF}", round(result["best_of_top1_accuracy"], 3), "",
               ">= 0.97" if targets else None, "verifier: the candidate closest to the target"),
        Metric(f"{label}: VA MAE, single sample", round(result["va_mae"], 3), "", "<= 0.15" if targets else None,
               f"all cases; grid cases {result['va_mae_grid']:.3f}, category cases {result['va_mae_categories']:.3f}"),
        Metric(f"{label}: VA MAE, best of {BEST_OF}", round(result["best_of_va_mae"], 3), ""),
        Metric(f"{label}: per-category accuracy, single sample",
               ", ".join(f"{k} {v:.2f}" for k, v in result["per_category_accuracy"].items())),
    ]


def run_model(folder: Path, scorer, cases: list) -> tuple[dict, object] | None:
    """(EmoFaces-Bench metrics, the loaded pipeline), or None when ``folder`` holds no model."""
    if not (folder / "model_index.json").is_file():
        print(f"skipping {folder}: no model there", file=sys.stderr)
        return None
    pipeline = load_image_pipeline(folder)
    pipeline.set_progress_bar_config(disable=True)
    result, _ = evaluate(pipeline, scorer, cases, best_of=BEST_OF, num_inference_steps=STEPS, guidance_scale=GUIDANCE)
    return result, pipeline


def measure() -> list[Metric]:
    torch.set_num_threads(2)
    scorer = EmoFacesScorer()
    cases = bench_cases(per_category=PER_CATEGORY, grid_repeats=GRID_REPEATS)
    setting = (f"{len(cases)} held-out cases x {BEST_OF} samples, {STEPS} denoising steps (the model's own scheduler: DDPM), guidance {GUIDANCE}, "
               "scored by the EmoFaces scorer")
    metrics: list[Metric] = []
    shipped = run_model(SHIPPED, scorer, cases)
    if shipped:
        result, pipeline = shipped
        metrics += model_metrics("shipped model", result, setting, targets=True)
        metrics.append(Metric("shipped model: latency of one 64 px image (CPU, batch 1)",
                              round(latency(pipeline) * 1000, 1), "ms", note=f"{STEPS} steps, 2 UNet passes/step"))
    steps = ablation_steps(ABLATION_ROOT)
    if steps is None:
        return metrics + carried_ablation_rows(RESULTS_DIR / "image_generation.json")
    ablation = {}
    for folder, label in ABLATION.items():
        run = run_model(ABLATION_ROOT / folder, scorer, cases)
        if run:
            ablation[label] = run[0]
            metrics += model_metrics(f"{steps} steps, {label}", run[0], setting, targets=False)
    adapter = ablation.get(ABLATION["adapter"])
    for label, result in ablation.items():
        if adapter and label.startswith("baseline"):
            name = label.removeprefix("baseline: ")
            metrics.append(Metric(f"{steps} steps: adapter minus {name}, single-sample accuracy",
                                  round(adapter["top1_accuracy"] - result["top1_accuracy"], 3), "", "> 0.0"))
            metrics.append(Metric(f"{steps} steps: adapter minus {name}, best-of-{BEST_OF} accuracy",
                                  round(adapter["best_of_top1_accuracy"] - result["best_of_top1_accuracy"], 3), "",
                                  "> 0.0"))
            metrics.append(Metric(f"{steps} steps: {name} minus adapter, VA MAE",
                                  round(result["va_mae"] - adapter["va_mae"], 3), "", "> 0.0"))
    return metrics


def carried_ablation_rows(record: Path) -> list[Metric]:
    """The last run's ablation rows, marked as carried over, for a machine without the ablation models
    (they are not shipped: a clean checkout re-measures only the shipped model)."""
    if not record.is_file():
        return []
    last = json.loads(record.read_text())
    mark = f"carried over from the run of {last['date'][:16]} (commit {last['commit']}): the ablation models are not here"
    return [Metric(row["name"], row["value"], row["unit"], row["target"],
                   row["note"] if "carried over" in row["note"] else "; ".join(filter(None, [row["note"], mark])))
            for row in last["metrics"] if not row["name"].startswith("shipped model")]


def ablation_steps(root: Path) -> int | None:
    """The ablation's shared budget in optimiser steps, from each model's metrics.json; None when no
    ablation model is there. Unequal budgets (steps or samples seen) are an error: the table would
    compare training lengths, not conditioning methods."""
    budgets = {}
    for folder in ABLATION:
        facts = root / folder / "metrics.json"
        if facts.is_file():
            run = json.loads(facts.read_text())
            budgets[folder] = (run["config"]["max_train_steps"], run["train_samples"])
    if len(set(budgets.values())) > 1:
        raise SystemExit(f"the ablation models in {root} were trained for different budgets ((steps, samples): "
                         f"{budgets}); retrain them to one budget (train/configs/image_emofaces.yaml has the commands)")
    return next(iter(budgets.values()), (None,))[0]


if __name__ == "__main__":
    run_benchmark("image_generation", "EmoFaces-Bench: emotion control of generated images (issue 4).", measure)
