"""`emogen image`: text + emotion -> a scored PNG, or a valence x arousal grid of them on one sheet.

Every output is scored (default scorer: emofaces) and the PNG carries what made it and how it scored
in its text metadata, so that a file alone says what it is. Bad input is refused before the model
loads or anything is written; the PNG appears in one rename once complete.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emogen.cli import UsageError
from emogen.emotion import Emotion
from emogen.errors import EmotionError
from emogen.score.registry import DEFAULT_SCORER, SCORERS

DEFAULT_STEPS = 50
DEFAULT_GUIDANCE = 7.5
DEVICES = ("cpu", "cuda")


def register(subparsers: argparse._SubParsersAction) -> None:
    # No emogen.image import here: it loads diffusers, and `emogen --help` registers every command.
    parser = subparsers.add_parser(
        "image",
        help="generate a scored image of a prompt with an emotion",
        description="Generate a PNG from a prompt and an emotion, score it, and record prompt, settings and "
                    "scores in its metadata. --grid renders a valence x arousal grid on one contact sheet.",
    )
    parser.add_argument("--prompt", required=True, help="what to draw, e.g. 'a close-up portrait of a person'")
    parser.add_argument("--emotion", help="the emotion: 'joy', 'joy:0.8', '0.6 joy + 0.4 surprise', 'v=0.7,a=0.4'")
    parser.add_argument("--grid", type=int, metavar="N",
                        help="instead of --emotion: an N x N grid, valence -0.7..0.7 left to right, "
                             "arousal 0.7..-0.7 top to bottom, one seed for all cells")
    parser.add_argument("--out", required=True, type=Path, help="output PNG file")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--steps", type=int,
                        help=f"denoising steps (default: the model's recommended, else {DEFAULT_STEPS})")
    parser.add_argument("--guidance", type=float,
                        help=f"text guidance scale (default: the model's recommended, else {DEFAULT_GUIDANCE})")
    parser.add_argument("--emotion-guidance", type=float,
                        help="emotion guidance scale (default: the same as --guidance)")
    parser.add_argument("--emotion-scale", type=float, default=1.0,
                        help="emotion conditioning strength: 0 none, 1 as trained (default 1)")
    parser.add_argument("--best-of", type=int, default=1, metavar="N",
                        help="draw N candidates (seeds seed..seed+N-1) and keep the one the scorer finds closest")
    parser.add_argument("--scorer-guidance", type=float, default=0.0, metavar="X",
                        help="steer every step toward the emotion with the EmoFaces scorer's gradient (default 0: off)")
    parser.add_argument("--scheduler", help="sampler: ddim, ddpm, dpm, euler or pndm (default: the model's own)")
    parser.add_argument("--model", help="image model folder or hub id (default: $EMOGEN_IMAGE_MODEL, else the "
                                        "shipped checkpoints/emofaces-image)")
    parser.add_argument("--scorer", default=DEFAULT_SCORER, choices=list(SCORERS),
                        help=f"scorer of the output (default {DEFAULT_SCORER})")
    parser.add_argument("--device", default="cpu", help=f"{' or '.join(DEVICES)} (default cpu)")
    parser.set_defaults(run=run_image)


@dataclass
class Cell:
    """One image to make: its emotion spec and parsed target, and where it goes on the sheet."""

    spec: str
    target: Emotion
    row: int = 0
    column: int = 0


def run_image(args: argparse.Namespace) -> int:
    # Everything that can be checked without the model is, so that bad input costs no loading time.
    check_output(args.out)
    for flag, value in (("--steps", args.steps), ("--best-of", args.best_of)):
        if value is not None and value <= 0:
            raise UsageError(f"{flag} must be a positive integer, got {value}")
    if args.seed < 0:
        raise UsageError(f"--seed must be an integer >= 0, got {args.seed}")
    if args.scorer_guidance < 0:
        raise UsageError(f"--scorer-guidance must be a number >= 0, got {args.scorer_guidance:g}")
    if args.scorer_guidance > 0 and args.scorer != "emofaces":
        raise UsageError(f"--scorer-guidance needs a differentiable scorer, only emofaces is; got --scorer {args.scorer}")
    cells = grid_cells(args.grid) if args.grid is not None else None
    if (cells is None) == (args.emotion is None):
        raise UsageError("give --emotion SPEC or --grid N (not both)")
    if cells is None:
        try:
            cells = [Cell(args.emotion, Emotion.parse(args.emotion))]
        except EmotionError as err:
            raise EmotionError(f"--emotion: {err}") from None
    if args.device not in DEVICES:
        raise UsageError(f"unknown --device {args.device!r}; accepted: {', '.join(DEVICES)}")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA GPU is available here; use --device cpu")

    from emogen.image.loading import (default_image_model, load_image_pipeline, recommended_sampling,
                                      scheduler_class, set_scheduler)
    from emogen.image.verifier import best_of, scorer_guidance_loss
    from emogen.score.registry import get_scorer

    if args.scheduler is not None:
        scheduler_class(args.scheduler)
    scorer = get_scorer(args.scorer)
    model = args.model or default_image_model()
    pipeline = load_image_pipeline(model, device=args.device)
    args.steps, args.guidance = sampling_settings(recommended_sampling(model), args.steps, args.guidance)
    if args.scheduler is not None:
        set_scheduler(pipeline, args.scheduler)
    pipeline.set_progress_bar_config(disable=True)  # one bar over all images instead, below

    guidance = {
        "guidance_scale": args.guidance,
        "emotion_guidance_scale": args.guidance if args.emotion_guidance is None else args.emotion_guidance,
        "emotion_scale": args.emotion_scale,
        "scorer_guidance_scale": args.scorer_guidance,
    }
    guidance_model = None
    if args.scorer_guidance > 0:
        from emogen.score.emofaces import EmoFacesScorer

        # Its own copy on the generating device, so that gradients never cross devices.
        guidance_model = EmoFacesScorer(scorer.path, device=args.device).model

    from tqdm.auto import tqdm

    results = []
    # best_of makes all candidates of a cell in one pipeline call: one bar step per denoising step.
    with tqdm(total=len(cells) * args.steps, desc="emogen image", unit="step",
              file=sys.stderr, dynamic_ncols=True) as bar:
        for cell in cells:
            extra = {}
            if guidance_model is not None:
                extra = {"scorer_guidance": scorer_guidance_loss(guidance_model, [cell.target])}
            results.append(best_of(
                pipeline, scorer, args.prompt, cell.target, n=args.best_of, seed=args.seed,
                num_inference_steps=args.steps, callback=lambda step, total: bar.update(), **guidance, **extra,
            ))

    settings = {
        "prompt": args.prompt,
        "steps": str(args.steps),
        "guidance": json.dumps(guidance),
        "scheduler": type(pipeline.scheduler).__name__,
        "model": str(model),
        "scorer": scorer.name,
        "software": _software(),
    }
    if args.grid is None:
        cell, result = cells[0], results[0]
        image = result.image
        metadata = {
            **settings,
            "emotion": cell.spec,
            "emotion_json": cell.target.to_json(),
            "seed": str(result.seed),
            "scores": json.dumps(_scores(result)),
            "best_of": json.dumps(_best_of_record(result, args.seed)),
        }
    else:
        from emogen.image.evaluate import contact_sheet

        image = contact_sheet([result.image for result in results], columns=args.grid)
        metadata = {
            **settings,
            "emotion": f"grid {args.grid}x{args.grid}",
            "seed": str(args.seed),
            "grid": json.dumps(_grid_record(cells, results, args.grid, args.seed, image.size)),
        }
    save_png(image, args.out, metadata)

    for cell, result in zip(cells, results):
        where = f" [row {cell.row}, column {cell.column}: {cell.spec}]" if args.grid is not None else ""
        print(_summary(args.out, where, result, scorer.category_set, cell.target))
    return 0


def sampling_settings(recommended: dict, steps: int | None, guidance: float | None) -> tuple[int, float]:
    """(denoising steps, text guidance): the values asked for, else the model's recommendation
    (`emogen.image.loading.recommended_sampling`), else DEFAULT_STEPS / DEFAULT_GUIDANCE."""
    return (recommended.get("num_inference_steps", DEFAULT_STEPS) if steps is None else steps,
            recommended.get("guidance_scale", DEFAULT_GUIDANCE) if guidance is None else guidance)


def check_output(out: Path) -> None:
    """Refuse an output we could not write, before any work: wrong suffix, no folder, no permission."""
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out must be a .png file, got {str(out)!r}")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give a .png file name")
    folder = out.parent
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "does not exist"
        raise UsageError(f"--out {out}: {folder} {reason}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: folder {folder} is not writable")


def grid_cells(n: int) -> list[Cell]:
    """n x n targets, row by row: valence rises left to right, arousal falls top to bottom."""
    from emogen.image.evaluate import grid_axis

    if n < 2:
        raise UsageError(f"--grid must be an integer >= 2, got {n}")
    axis = grid_axis(n)
    cells = []
    for row, arousal in enumerate(axis[::-1]):
        for column, valence in enumerate(axis):
            spec = f"v={valence:.2f},a={arousal:.2f}"
            cells.append(Cell(spec, Emotion.parse(spec), row, column))
    return cells


def save_png(image, out: Path, metadata: dict[str, str]) -> None:
    """The PNG with ``metadata`` as text chunks, written atomically."""
    from PIL.PngImagePlugin import PngInfo

    from emogen.io import save_atomic

    info = PngInfo()
    for key, value in metadata.items():
        info.add_itxt(key, value)  # iTXt: UTF-8, so any prompt survives
    save_atomic(image, out, format="PNG", pnginfo=info)


def _scores(result) -> dict:
    return {**result.estimate.to_dict(), "distance": result.distance}


def _best_of_record(result, seed: int) -> dict:
    return {"n": len(result.seeds), "index": result.index, "seed": seed, "seeds": result.seeds,
            "distances": result.distances}


def _grid_record(cells: list[Cell], results: list, n: int, seed: int, size: tuple[int, int]) -> dict:
    from emogen.image.evaluate import grid_axis

    cell_width, cell_height = size[0] // n, size[1] // n
    return {
        "n": n,
        "cell_size": [cell_width, cell_height],
        "valence": grid_axis(n),
        "arousal": grid_axis(n)[::-1],
        "cells": [
            {
                "row": cell.row,
                "column": cell.column,
                "emotion": cell.spec,
                "emotion_json": cell.target.to_dict(),
                "seed": result.seed,
                "scores": _scores(result),
                "best_of": _best_of_record(result, seed),
            }
            for cell, result in zip(cells, results)
        ],
    }


def _summary(out: Path, where: str, result, category_set: str, target: Emotion) -> str:
    estimate = result.estimate
    chosen = f", best of {len(result.seeds)}: #{result.index} seed {result.seed}" if len(result.seeds) > 1 else ""
    return (
        f"{out}{where}: {estimate.top1} {estimate.probs[estimate.top1]:.2f}  v={estimate.valence:+.2f} "
        f"a={estimate.arousal:+.2f} ({estimate.scorer}; target {target.to_set(category_set).top} "
        f"v={target.valence:+.2f} a={target.arousal:+.2f}, distance {result.distance:.3f}{chosen})"
    )


def _software() -> str:
    import emogen

    return f"emogen {emogen.__version__}"
