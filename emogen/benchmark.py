"""Benchmark records: every script in bench/ measures with these and writes one JSON file.

A record carries what is needed to trust a number later: wall time, peak memory, the machine and the
commit it was measured on. ``render_markdown`` turns all records into BENCHMARKS.md.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from emogen.io import write_json_atomic

RESULTS_DIR = Path(__file__).resolve().parent.parent / "bench" / "results"


@dataclass
class Metric:
    name: str
    value: float | int | str
    unit: str = ""
    target: str | None = None  # e.g. ">= 0.98"; checked by ``met``
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None or not isinstance(self.value, (int, float)):
            return None
        op, _, bound = self.target.partition(" ")
        comparisons = {">=": float.__ge__, "<=": float.__le__, ">": float.__gt__, "<": float.__lt__}
        if op not in comparisons:
            raise ValueError(f"target must look like '>= 0.9', got {self.target!r}")
        return comparisons[op](float(self.value), float(bound))


@dataclass
class BenchmarkRecord:
    benchmark: str
    description: str
    command: str
    metrics: list[Metric] = field(default_factory=list)
    wall_time_s: float = 0.0
    peak_memory_mb: float = 0.0
    machine: dict = field(default_factory=dict)
    commit: str = ""
    date: str = ""

    def to_dict(self) -> dict:
        data = asdict(self)
        data["metrics"] = [{**asdict(m), "met": m.met} for m in self.metrics]
        return data


def machine_info() -> dict:
    info = {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_benchmark(name: str, description: str, measure: Callable[[], list[Metric]], results_dir: Path = RESULTS_DIR) -> BenchmarkRecord:
    """Run ``measure`` once, record it, write ``results_dir/name.json`` atomically, print a summary."""
    start = time.perf_counter()
    metrics = measure()
    record = BenchmarkRecord(
        benchmark=name,
        description=description,
        command=" ".join(["python", _relative_to_repo(sys.argv[0]), *sys.argv[1:]]),
        metrics=metrics,
        wall_time_s=round(time.perf_counter() - start, 3),
        peak_memory_mb=round(peak_memory_mb(), 1),
        machine=machine_info(),
        commit=git_commit(),
        date=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )
    write_json_atomic(results_dir / f"{name}.json", record.to_dict())
    for metric in metrics:
        status = {True: "ok", False: "MISSED", None: ""}[metric.met]
        print(f"{name}: {metric.name} = {metric.value} {metric.unit} {metric.target or ''} {status}".rstrip())
    return record


def _relative_to_repo(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(RESULTS_DIR.parent.parent))
    except ValueError:
        return path


def _format_value(value: float | int | str) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_markdown(results_dir: Path = RESULTS_DIR) -> str:
    """All records in ``results_dir`` as one markdown document, one table per benchmark."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run_all.py) from the JSON records in bench/results/. "
        "Do not edit by hand.",
        "",
    ]
    for path in sorted(results_dir.glob("*.json")):
        record = json.loads(path.read_text())
        if "benchmark" not in record:  # a side file (e.g. scorer_accuracy.json), not a record
            continue
        machine = record.get("machine", {})
        lines += [
            f"## {record['benchmark']}",
            "",
            record.get("description", ""),
            "",
            f"`{record.get('command', '')}` — commit {record.get('commit')}, {record.get('date')}, "
            f"{machine.get('cpu_count')} cores ({machine.get('processor')}), torch {machine.get('torch')}, "
            f"CUDA {machine.get('cuda') or 'none'}; wall {record.get('wall_time_s')} s, peak memory "
            f"{record.get('peak_memory_mb')} MB",
            "",
            "| metric | value | unit | target | met | note |",
            "|---|---|---|---|---|---|",
        ]
        for metric in record["metrics"]:
            met = {True: "yes", False: "**no**", None: ""}[metric.get("met")]
            lines.append(
                f"| {metric['name']} | {_format_value(metric['value'])} | {metric.get('unit', '')} | "
                f"{metric.get('target') or ''} | {met} | {metric.get('note', '')} |"
            )
        lines.append("")
    return "\n".join(lines)
