"""`run_batch`: load and check the jobs, skip the finished ones, run this rank's share, append the manifest.

Reads top to bottom: jobs -> shard -> manifest (resume check) -> leftovers of killed runs removed ->
runners prepared (models loaded) -> one job at a time: run, fsync, manifest line -> barrier -> report.
"""
from __future__ import annotations

import datetime
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from emogen.batch.jobs import Job, JobFileError, load_jobs
from emogen.batch.manifest import ManifestWriter, make_durable, read_manifest
from emogen.batch.modalities import MODALITIES
from emogen.batch.sharding import Shard, detect_shard
from emogen.errors import EmotionError

# emogen.io.atomic_output's temporaries: ".<stem>.<8 random letters, digits or _><suffix>" (tempfile.mkstemp).
_TEMPORARY = re.compile(r"^\.(?P<stem>.+)\.[A-Za-z0-9_]{8}(?P<suffix>\.[^.]+)$")


@dataclass(frozen=True)
class BatchResult:
    out: Path
    jobs: int  # in the whole batch
    mine: int  # this rank's share
    ran: int  # run now by this rank
    skipped: int  # this rank's jobs already finished by an earlier run
    seconds: float  # wall time of this call
    rank: int
    world: int
    report: Path | None  # written by rank 0 once every rank has finished


def run_batch(job_file: str | Path, out: str | Path, device: str = "cpu", progress: bool = True,
              report: bool = True) -> BatchResult:
    """Run every job of ``job_file`` not finished yet into the folder ``out``; see emogen.batch."""
    started = time.perf_counter()
    out = Path(out)
    jobs = load_jobs(job_file, out)
    shard = detect_shard(device)
    records = read_manifest(out)
    check_resumable(jobs, records)
    mine = [job for job in jobs if shard.owns(job.index)]
    pending = [job for job in mine if not is_done(job, records, out)]
    remove_leftovers(pending, out)
    runners = prepare_runners(pending, shard)

    from tqdm.auto import tqdm

    with ManifestWriter(out) as manifest, tqdm(
        total=len(mine), initial=len(mine) - len(pending), desc=f"emogen batch (rank {shard.rank}/{shard.world})",
        unit="job", file=sys.stderr, dynamic_ncols=True, disable=not progress,
    ) as bar:
        for job in pending:
            job_started = time.perf_counter()
            path = out / job.output
            with _naming(job, "failed; the jobs finished before it are kept, run again to go on"):
                result = runners[job.modality].run(job.params, path)
            make_durable(path)
            seconds = {**result.seconds, "job": time.perf_counter() - job_started}
            manifest.append({
                "id": job.id, "index": job.index, "modality": job.modality, "params": job.params_dict(),
                "output": job.output, "scores": result.scores,
                "evaluation": result.evaluation.to_dict() if result.evaluation else None,
                "details": result.details, "seconds": {key: round(value, 5) for key, value in seconds.items()},
                "rank": shard.rank, "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            })
            bar.update()
    shard.wait_for_everyone()
    summary = None
    if report and shard.is_main:
        from emogen.batch.report import write_summary

        summary = write_summary(jobs, read_manifest(out), out)
    return BatchResult(out, len(jobs), len(mine), len(pending), len(mine) - len(pending),
                       time.perf_counter() - started, shard.rank, shard.world, summary)


def is_done(job: Job, records: dict[str, dict], out: Path) -> bool:
    """Finished by an earlier run: its manifest line and its file both exist."""
    return job.id in records and (out / job.output).is_file()


def check_resumable(jobs: list[Job], records: dict[str, dict]) -> None:
    """Refuse to resume when a job id now means other work than the manifest recorded for it."""
    problems = []
    for job in jobs:
        record = records.get(job.id)
        if record is None:
            continue
        params, recorded = job.params_dict(), record.get("params", {})
        changed = sorted(key for key in set(params) | set(recorded) if params.get(key) != recorded.get(key))
        if record.get("output") != job.output:
            changed.append("output")
        if record.get("modality") != job.modality:
            changed.insert(0, "modality")
        if changed:
            problems.append(f"job {job.id!r} ({job.source}) differs from its finished run in {', '.join(changed)}")
    if problems:
        raise JobFileError(
            f"{len(problems)} job(s) in the output folder's manifest.jsonl were made with other settings; nothing "
            "was run. Use a new --out folder, or give changed jobs new ids:\n  - " + "\n  - ".join(problems[:20]))


def remove_leftovers(pending: list[Job], out: Path) -> None:
    """Delete the hidden temporaries that a killed write left beside this rank's pending outputs."""
    by_folder: dict[Path, set[tuple[str, str]]] = {}
    for job in pending:
        path = out / job.output
        by_folder.setdefault(path.parent, set()).add((path.stem, path.suffix))
    for folder, outputs in by_folder.items():
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            match = _TEMPORARY.match(entry.name)
            if match and (match["stem"], match["suffix"]) in outputs:
                entry.unlink(missing_ok=True)


def prepare_runners(pending: list[Job], shard: Shard) -> dict[str, object]:
    """One runner per modality of this rank's pending jobs, every model they need loaded."""
    runners = {}
    for job in pending:
        if job.modality not in runners:
            runners[job.modality] = MODALITIES[job.modality].make_runner(shard.device)
        with _naming(job, "cannot start; nothing was run"):
            runners[job.modality].prepare(job.params)
    return runners


@contextmanager
def _naming(job: Job, what: str):
    """Tie a runner's EmotionError to the job (and line) it came from."""
    try:
        yield
    except EmotionError as err:
        raise EmotionError(f"job {job.id!r} ({job.source}) {what}: {err}") from None
