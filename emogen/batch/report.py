"""The batch summary: summary.md with per-modality and per-emotion tables, and its plots.

- summary_accuracy.png: control accuracy per requested emotion (one bar per modality and emotion);
- summary_va_<modality>.png: requested vs measured (valence, arousal), drawn by emogen.score.report.

Accuracy is the scorer's own reading: the requested emotion's category in the scorer's set (image:
the scorer's set; speech: Ekman-7), or its valence x arousal quadrant for music. Jobs without a single
target (arcs) or without a score are counted but not in the accuracy.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emogen.batch.jobs import REPORT_PREFIX, Job
from emogen.io import atomic_output
from emogen.score.metrics import mae
from emogen.score.report import save_figure, plot_va_scatter

SUMMARY = f"{REPORT_PREFIX}.md"
ACCURACY_PLOT = f"{REPORT_PREFIX}_accuracy.png"


@dataclass(frozen=True)
class VA:
    valence: float
    arousal: float


@dataclass(frozen=True)
class RequestedMeasured:
    """The two attributes plot_va_scatter reads from a scored item."""

    target: VA
    estimate: VA


def write_summary(jobs: list[Job], records: dict[str, dict], out: Path) -> Path:
    finished = [(job, records[job.id]) for job in jobs if job.id in records]
    evaluated = [(job, record["evaluation"]) for job, record in finished if record.get("evaluation")]
    by_modality: dict[str, list] = defaultdict(list)
    for job, evaluation in evaluated:
        by_modality[job.modality].append(evaluation)
    by_emotion: dict[tuple[str, str], list] = defaultdict(list)
    for job, evaluation in evaluated:
        by_emotion[(job.modality, job.params.emotion)].append(evaluation)

    lines = [
        "# Batch summary",
        "",
        f"{len(finished)} of {len(jobs)} jobs finished; {len(evaluated)} have a single target and a score.",
        "",
        "| modality | jobs | scored | accuracy | valence MAE | arousal MAE | model s/job |",
        "|---|---|---|---|---|---|---|",
    ]
    for modality in sorted({job.modality for job in jobs}):
        done = [record for job, record in finished if job.modality == modality]
        scored = by_modality.get(modality, [])
        model_s = np.mean([record["seconds"]["model"] for record in done]) if done else float("nan")
        lines.append(f"| {modality} | {sum(job.modality == modality for job in jobs)} | {len(scored)} | "
                     f"{_accuracy(scored)} | {_va_mae(scored, 0)} | {_va_mae(scored, 1)} | {model_s:.3f} |")
    lines += ["", "## Accuracy per requested emotion", "",
              "| modality | emotion | n | accuracy | requested label | measured labels |", "|---|---|---|---|---|---|"]
    for (modality, emotion), evaluations in sorted(by_emotion.items()):
        measured = ", ".join(f"{label} x{count}" for label, count in Counter(e["measured_label"] for e in evaluations).most_common())
        lines.append(f"| {modality} | `{emotion}` | {len(evaluations)} | {_accuracy(evaluations)} | "
                     f"{evaluations[0]['requested_label']} | {measured} |")
    if by_emotion:
        plot_accuracy(by_emotion, out / ACCURACY_PLOT)
        lines += ["", f"![accuracy per emotion]({ACCURACY_PLOT})", ""]
        for modality, evaluations in sorted(by_modality.items()):
            name = f"{REPORT_PREFIX}_va_{modality}.png"
            plot_va_scatter([RequestedMeasured(VA(*e["requested_va"]), VA(*e["measured_va"])) for e in evaluations],
                            out / name)
            lines += [f"### {modality}: requested vs measured valence-arousal", "", f"![{modality} VA]({name})", ""]
    path = out / SUMMARY
    with atomic_output(path) as temporary:
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plot_accuracy(by_emotion: dict[tuple[str, str], list], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted(by_emotion)
    rates = [np.mean([e["hit"] for e in by_emotion[key]]) for key in keys]
    figure, axes = plt.subplots(figsize=(max(4.0, 0.6 * len(keys) + 1.5), 3.5))
    axes.bar(range(len(keys)), rates, color="tab:blue")
    axes.set_xticks(range(len(keys)), [f"{modality}: {emotion}" for modality, emotion in keys], rotation=45, ha="right")
    for position, (key, rate) in enumerate(zip(keys, rates)):
        axes.text(position, rate + 0.02, f"n={len(by_emotion[key])}", ha="center", fontsize=7)
    axes.set(ylim=(0, 1.1), ylabel="control accuracy", title="requested emotion found by the scorer")
    save_figure(figure, path)
    plt.close(figure)


def _accuracy(evaluations: list[dict]) -> str:
    return f"{np.mean([e['hit'] for e in evaluations]):.3f}" if evaluations else "-"


def _va_mae(evaluations: list[dict], axis: int) -> str:
    if not evaluations:
        return "-"
    return f"{mae([e['requested_va'][axis] for e in evaluations], [e['measured_va'][axis] for e in evaluations]):.3f}"

