"""`emogen batch JOBS --out DIR`: run a job file (YAML or JSONL) of image, speech and music jobs, resumably."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emogen.cli import UsageError

DEVICES = ("cpu", "cuda")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="run a job file of generations, resumably, on one or many processes",
        description="Run every job of JOBS (YAML or JSONL; sweeps expanded) into DIR. Each finished job gets a "
                    "line in DIR/manifest.jsonl (parameters, output, scores, timings); running again resumes where "
                    "a crash or kill stopped it. DIR/summary.md reports control accuracy. Shard over processes "
                    "and GPUs with: accelerate launch --num_processes N -m emogen.batch JOBS --out DIR",
    )
    parser.add_argument("jobs", metavar="JOBS", type=Path, help="job file: .yaml/.yml (a list of jobs, or jobs: and defaults:) or .jsonl")
    parser.add_argument("--out", metavar="DIR", required=True, type=Path, help="output folder (created if missing)")
    parser.add_argument("--device", default="cpu", help=f"{' or '.join(DEVICES)} (default cpu; under accelerate "
                                                        "each process takes its own GPU)")
    parser.add_argument("--dry-run", action="store_true", help="check the job file and list the jobs; run nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-report", action="store_true", help="do not write summary.md and its plots")
    parser.set_defaults(run=run_batch_command)


def run_batch_command(args: argparse.Namespace) -> int:
    from emogen.batch.jobs import load_jobs
    from emogen.batch.run import run_batch

    if not args.jobs.is_file():
        raise UsageError(f"job file {args.jobs} does not exist")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file; give a folder")
    if args.device not in DEVICES:
        raise UsageError(f"unknown --device {args.device!r}; accepted: {', '.join(DEVICES)}")
    if args.dry_run:
        jobs = load_jobs(args.jobs, args.out)
        for job in jobs:
            print(f"{job.id}\t{job.modality}\t{args.out / job.output}")
        print(f"{len(jobs)} jobs, all valid", file=sys.stderr)
        return 0
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA GPU is available here; use --device cpu")
    result = run_batch(args.jobs, args.out, device=args.device, progress=not args.no_progress,
                       report=not args.no_report)
    print(f"rank {result.rank}/{result.world}: ran {result.ran} of its {result.mine} jobs "
          f"({result.skipped} already finished) in {result.seconds:.1f} s"
          + (f"; summary {result.report}" if result.report else ""), file=sys.stderr)
    return 0
