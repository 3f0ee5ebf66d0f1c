"""The crash check behind the resumability claim: kill -9 a batch at random points, resume, count.

Used by tests/test_batch_processes.py (a few kills) and bench/bench_batch.py (twenty). Each round starts
``python -m emogen.batch`` in a subprocess, waits until the manifest holds a random number of lines (at
least what earlier rounds left, so a kill can land in start-up too; at most an even share of what is
left, so that all kills fit in one batch), waits a random fraction of a job more, and SIGKILLs it.
A final run completes the batch; `audit` then counts lost, duplicated and stray files.
"""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from emogen.batch.jobs import RESERVED_OUTPUTS, REPORT_PREFIX, Job, load_jobs
from emogen.batch.manifest import MANIFEST, read_manifest
from emogen.errors import EmotionError

POLL_S = 0.005


@dataclass
class Audit:
    lost: list[str]  # jobs without a manifest line or a readable output
    duplicated: list[str]  # job ids with more than one manifest line
    stray: list[str]  # files under the output folder that belong to no job (e.g. a temporary)


@dataclass
class KillReport:
    kills: int = 0  # rounds that ended in SIGKILL (not in a normal exit)
    lines_at_kill: list[int] = field(default_factory=list)
    # Crash windows the kills hit: an output in place without its manifest line, a half-written temporary.
    orphans_at_kill: int = 0
    temporaries_at_kill: int = 0
    audit: Audit | None = None


def manifest_lines(out: Path) -> int:
    try:
        return (out / MANIFEST).read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def kill_and_resume(job_file: Path, out: Path, kills: int, seed: int, job_seconds: float,
                    timeout_s: float = 300.0) -> KillReport:
    """``kills`` SIGKILLs at random points, then one run to the end; ``job_seconds``: about one job's time."""
    rng = random.Random(seed)
    jobs = load_jobs(job_file, out)
    total = len(jobs)
    command = [sys.executable, "-m", "emogen.batch", str(job_file), "--out", str(out), "--no-progress", "--no-report"]
    report = KillReport()
    for round_index in range(kills):
        done = manifest_lines(out)
        if done >= total - 1:
            break  # too little left to interrupt
        # Spread the kills over the whole batch: each round may go at most an even share further.
        target = done + rng.randint(0, (total - 2 - done) // (kills - round_index))
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while manifest_lines(out) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(POLL_S)
        time.sleep(rng.uniform(0.0, job_seconds))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            report.kills += 1
        process.wait()
        report.lines_at_kill.append(manifest_lines(out))
        records = read_manifest(out)
        report.orphans_at_kill += sum((out / job.output).is_file() for job in jobs if job.id not in records)
        report.temporaries_at_kill += len(audit(jobs, out).stray)
        if process.returncode not in (0, -signal.SIGKILL):
            raise RuntimeError(f"batch run failed ({process.returncode}): {process.stderr.read().decode()[-2000:]}")
        process.stderr.close()
    final = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    if final.returncode != 0:
        raise RuntimeError(f"the resuming run failed ({final.returncode}): {final.stderr[-2000:]}")
    report.audit = audit(jobs, out)
    return report


def audit(jobs: list[Job], out: Path) -> Audit:
    lines = Counter(_raw_ids(out))
    records = read_manifest(out)
    lost = [job.id for job in jobs if job.id not in records or not _readable(out / job.output)]
    expected = {job.output for job in jobs} | set(RESERVED_OUTPUTS)
    stray = [str(path.relative_to(out)) for path in sorted(out.rglob("*")) if path.is_file()
             and str(path.relative_to(out)) not in expected and not path.name.startswith(REPORT_PREFIX)]
    return Audit(lost, sorted(i for i, n in lines.items() if n > 1), stray)


def _raw_ids(out: Path) -> list[str]:
    """Every complete line's id, duplicates kept (read_manifest keeps only the last of each)."""
    ids = []
    if not (out / MANIFEST).exists():
        return ids  # killed before the first job finished
    for line in (out / MANIFEST).read_text(encoding="utf-8").splitlines():
        try:
            ids.append(json.loads(line)["id"])
        except json.JSONDecodeError:
            continue  # blank, or a torn tail that read_manifest skips too
    return ids


def _readable(path: Path) -> bool:
    """The file is complete: a WAV that parses, a PNG that decodes."""
    if not path.is_file():
        return False
    try:
        if path.suffix == ".wav":
            from emogen.audio import read_wav

            return read_wav(path)[0].size > 0
        from PIL import Image

        with Image.open(path) as image:
            image.load()
        return True
    except (EmotionError, OSError):
        return False

