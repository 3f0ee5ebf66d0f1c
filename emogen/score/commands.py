"""`emogen score`: measure the emotion of media files, against a target when one is given."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emogen.emotion import Emotion
from emogen.errors import EmotionError
from emogen.score.registry import DEFAULT_SCORER, SCORERS, get_scorer, measured_accuracy
from emogen.score.report import ScoredItem, target_category, write_report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score",
        help="measure the emotion of images",
        description="Score image files (or a folder with metadata.jsonl targets) with an emotion scorer.",
    )
    parser.add_argument("files", nargs="*", type=Path, help="image files to score")
    parser.add_argument("--target", help="the emotion the files should show (any emotion spec)")
    parser.add_argument("--scorer", default=DEFAULT_SCORER, choices=list(SCORERS),
                        help=f"which scorer (default {DEFAULT_SCORER}; fer2013 and blendshape for real photos)")
    parser.add_argument("--dir", type=Path, help="score every image of a folder; targets from its metadata.jsonl")
    parser.add_argument("--report", type=Path, help="with --dir: write a control-accuracy report (markdown + PNGs)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.set_defaults(run=run_score)


def run_score(args: argparse.Namespace) -> int:
    if not args.files and args.dir is None:
        raise EmotionError("give image files to score, or --dir DIR")
    if args.report is not None and args.dir is None:
        raise EmotionError("--report needs --dir DIR (a folder whose metadata.jsonl gives each file's target)")
    default_target = Emotion.parse(args.target) if args.target else None
    jobs = [(path, default_target) for path in args.files]
    if args.dir is not None:
        jobs += _folder_jobs(args.dir, default_target)
    scorer = get_scorer(args.scorer)
    accuracy = measured_accuracy(scorer.name)
    items, failures = [], {}
    for path, target in jobs:
        try:
            estimate = scorer.score(path)
        except EmotionError as err:
            failures[str(path)] = str(err)
            _emit(args.json, {"file": str(path), "scorer": scorer.name, "error": str(err)}, sys.stderr)
            continue
        row = {"file": str(path), **estimate.to_dict(), "scorer_accuracy": accuracy}
        if target is not None:
            expected = target_category(target, scorer.category_set)
            row.update(target=expected, correct=estimate.top1 == expected)
            items.append(ScoredItem(str(path), target, estimate))
        _emit(args.json, row, sys.stdout)
    if args.report is not None:
        if not items:
            raise EmotionError(f"nothing in {args.dir} could be scored against a target; no report written")
        result = write_report(items, scorer.name, scorer.category_set, args.report, failures)
        print(f"wrote {args.report}: control accuracy {result.accuracy:.3f} over {result.n} files", file=sys.stderr)
    return 2 if failures else 0


def _folder_jobs(folder: Path, default_target: Emotion | None) -> list[tuple[Path, Emotion | None]]:
    from emogen.data.loaders import load_imagefolder

    samples = load_imagefolder(folder)
    if samples.report.total_skipped:
        print(f"emogen: warning: {samples.report.summary()}", file=sys.stderr)
    jobs = []
    for sample in samples:
        try:
            target = sample.emotion()  # the folder's own label comes first
        except EmotionError:
            target = default_target
        jobs.append((Path(sample.image_path), target))
    return jobs


def _emit(as_json: bool, row: dict, stream) -> None:
    if as_json:
        print(json.dumps(row), file=stream)
    elif "error" in row:
        print(f"{row['file']}: error: {row['error']}", file=stream)
    else:
        verdict = "" if "correct" not in row else ("  correct" if row["correct"] else f"  WRONG (target {row['target']})")
        notes = f"  [{'; '.join(row['notes'])}]" if row["notes"] else ""
        print(f"{row['file']}: {row['top1']} {row['probs'][row['top1']]:.2f}  v={row['valence']:+.2f} "
              f"a={row['arousal']:+.2f} ({row['scorer']}){verdict}{notes}", file=stream)
