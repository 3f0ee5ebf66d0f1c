"""`emogen batch` (issue 9): per-job overhead beyond model time, and kill -9 x 20 with nothing lost or doubled.

Overhead: one process runs a batch of music and speech jobs (after a warm-up batch, so that imports and
first calls are not counted), then subtracts the model time the runners measured around generation and
scoring of each job (manifest ``seconds.model``) from the batch's wall time. What is left is the batch
runner: loading and checking the job file, the resume check, writing the files, fsync, the manifest line,
the progress bar. As a cross-check the same jobs are also run by calling the runners directly, in the
same process, and that loop's wall time is subtracted instead.

Crashes: `emogen.batch.killtest` SIGKILLs ``python -m emogen.batch`` 20 times at random points (a random
manifest length, then a random fraction of a job), resumes, and audits the folder.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from emogen.batch import load_jobs, run_batch
from emogen.batch.killtest import kill_and_resume
from emogen.batch.manifest import read_manifest
from emogen.batch.report import write_summary
from emogen.batch.run import prepare_runners
from emogen.batch.sharding import detect_shard
from emogen.benchmark import Metric, run_benchmark

EMOTIONS = ("joy", "sadness", "anger", "fear", "v=0.5,a=-0.5")
OVERHEAD_JOBS = 60  # half music (1 s pieces), half speech
KILLS, KILL_JOBS, KILL_SEED = 20, 60, 2026


def job_file(folder: Path, n: int, tag: str, speech: bool = True) -> Path:
    jobs = []
    for i in range(n):
        emotion = EMOTIONS[i % len(EMOTIONS)]
        if speech and i % 2:
            jobs.append({"id": f"{tag}{i:03d}", "modality": "speech", "emotion": emotion,
                         "text": f"Batch line number {i}. The weather is changing."})
        else:
            jobs.append({"id": f"{tag}{i:03d}", "modality": "music", "emotion": emotion, "seconds": 1.0, "seed": i})
    path = folder / f"{tag}.jsonl"
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs))
    return path


def overhead(folder: Path) -> list[Metric]:
    run_batch(job_file(folder, 10, "warm"), folder / "warm", progress=False, report=False)
    jobs_path, out = job_file(folder, OVERHEAD_JOBS, "jobs"), folder / "out"
    start = time.perf_counter()
    run_batch(jobs_path, out, progress=True, report=False)
    wall = time.perf_counter() - start
    records = list(read_manifest(out).values())
    model = sum(r["seconds"]["model"] for r in records)
    write = sum(r["seconds"]["write"] for r in records)
    in_loop = sum(r["seconds"]["job"] for r in records)  # each job from its start to just before its line
    start = time.perf_counter()
    write_summary(load_jobs(jobs_path, out), read_manifest(out), out)
    report_s = time.perf_counter() - start

    # The same jobs by calling the runners directly: the model work alone, no batch machinery.
    jobs = load_jobs(jobs_path, folder / "direct")
    runners = prepare_runners(jobs, detect_shard("cpu"))
    start = time.perf_counter()
    for job in jobs:
        runners[job.modality].run(job.params, folder / "direct" / job.output)
    direct = time.perf_counter() - start

    n = len(records)
    note = (f"{n} jobs ({n // 2} music 1 s pieces, {n - n // 2} espeak sentences), one process, CPU, after a "
            f"10-job warm-up; batch wall {wall:.3f} s, summed model time {model:.3f} s")
    return [
        Metric("batch runner overhead per job (wall - model time)", round(1000 * (wall - model) / n, 2), "ms/job",
               "<= 50", note + "; includes writing the files (" + f"{1000 * write / n:.2f} ms/job), fsync and the manifest line"),
        Metric("batch runner overhead per job (cross-check: wall - direct loop wall)",
               round(1000 * (wall - direct) / n, 2), "ms/job",
               note=f"the same jobs run by calling the runners directly took {direct:.3f} s; noisier, since model "
                    "time varies between the two runs"),
        Metric("of which inside each job (job time - model time)", round(1000 * (in_loop - model) / n, 2), "ms/job",
               note="file write, fsync, runner bookkeeping; the rest of the overhead is once per batch (reading and "
                    "checking the job file, resume check, loading the engines) and the manifest appends"),
        Metric("model time per job (mean)", round(1000 * model / n, 2), "ms/job", note="generation + scoring"),
        Metric("summary report (markdown + plots), once per batch", round(report_s, 3), "s", note=f"{n} jobs"),
    ]


def crashes(folder: Path) -> list[Metric]:
    jobs_path = job_file(folder, KILL_JOBS, "kill", speech=False)
    report = kill_and_resume(jobs_path, folder / "killed", kills=KILLS, seed=KILL_SEED, job_seconds=0.05)
    audit = report.audit
    note = (f"{KILL_JOBS} music jobs; SIGKILL after a random number of manifest lines plus a random 0-50 ms, then "
            f"resumed; kills landed at manifest lengths {report.lines_at_kill}; the kills left "
            f"{report.orphans_at_kill} output(s) in place without a manifest line and {report.temporaries_at_kill} "
            "half-written temporary file(s), all redone or removed on resume")
    return [
        Metric("kill -9 during a batch: kills delivered", report.kills, "kills", f">= {KILLS}", note),
        Metric("kill -9 during a batch: jobs lost", len(audit.lost), "jobs", "<= 0",
               "no manifest line or no readable output after the resume" + (f": {audit.lost}" if audit.lost else "")),
        Metric("kill -9 during a batch: jobs duplicated", len(audit.duplicated), "jobs", "<= 0",
               "job ids with more than one manifest line" + (f": {audit.duplicated}" if audit.duplicated else "")),
        Metric("kill -9 during a batch: stray files", len(audit.stray), "files", "<= 0",
               "files in the output folder that belong to no job" + (f": {audit.stray}" if audit.stray else "")),
    ]


def measure() -> list[Metric]:
    with tempfile.TemporaryDirectory() as folder:
        return overhead(Path(folder)) + crashes(Path(folder))


if __name__ == "__main__":
    run_benchmark("batch", "Batch runner (issue 9): per-job overhead beyond model time; kill -9 x 20 resume audit.",
                  measure)
