"""Control-accuracy reports: requested vs measured emotion over many files -> numbers, markdown, plots."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emogen.emotion import Emotion, get_set
from emogen.io import atomic_output
from emogen.score import metrics
from emogen.score.estimate import EmotionEstimate


@dataclass(frozen=True)
class ScoredItem:
    file: str
    target: Emotion
    estimate: EmotionEstimate


@dataclass(frozen=True)
class ControlAccuracy:
    category_set: str
    n: int
    accuracy: float
    confusion: np.ndarray
    per_class: dict
    valence_mae: float
    arousal_mae: float
    valence_ccc: float
    arousal_ccc: float


def target_category(target: Emotion, category_set: str) -> str:
    """The category a scorer over ``category_set`` should find for ``target``."""
    return target.to_set(category_set).top


def control_accuracy(items: list[ScoredItem], category_set: str) -> ControlAccuracy:
    names = get_set(category_set).categories
    truth = [names.index(target_category(i.target, category_set)) for i in items]
    predicted = [names.index(i.estimate.top1) for i in items]
    valence = ([i.target.valence for i in items], [i.estimate.valence for i in items])
    arousal = ([i.target.arousal for i in items], [i.estimate.arousal for i in items])
    return ControlAccuracy(
        category_set=category_set,
        n=len(items),
        accuracy=float(np.mean(np.array(truth) == np.array(predicted))),
        confusion=metrics.confusion_matrix(truth, predicted, len(names)),
        per_class=metrics.per_class_report(truth, predicted, names),
        valence_mae=metrics.mae(*valence),
        arousal_mae=metrics.mae(*arousal),
        valence_ccc=metrics.ccc(*valence),
        arousal_ccc=metrics.ccc(*arousal),
    )


def save_figure(figure, path: Path) -> None:
    with atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=120, bbox_inches="tight", format="png")


def plot_confusion(result: ControlAccuracy, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = get_set(result.category_set).categories
    counts = result.confusion
    rates = counts / np.maximum(1, counts.sum(axis=1, keepdims=True))
    figure, axes = plt.subplots(figsize=(1 + 0.7 * len(names), 1 + 0.6 * len(names)))
    axes.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("measured")
    axes.set_ylabel("requested")
    for row in range(len(names)):
        for column in range(len(names)):
            if counts[row, column]:
                axes.text(column, row, str(counts[row, column]), ha="center", va="center",
                          color="white" if rates[row, column] > 0.5 else "black", fontsize=8)
    axes.set_title(f"control accuracy {result.accuracy:.1%} (n={result.n})")
    save_figure(figure, path)
    plt.close(figure)


def plot_va_scatter(items: list[ScoredItem], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 5))
    for item in items:
        axes.plot([item.target.valence, item.estimate.valence], [item.target.arousal, item.estimate.arousal],
                  color="0.7", linewidth=0.6, zorder=1)
    axes.scatter([i.target.valence for i in items], [i.target.arousal for i in items], marker="x", color="black",
                 label="requested", zorder=2)
    axes.scatter([i.estimate.valence for i in items], [i.estimate.arousal for i in items], s=14, color="tab:red",
                 label="measured", zorder=3)
    axes.set(xlim=(-1, 1), ylim=(-1, 1), xlabel="valence", ylabel="arousal", aspect="equal")
    axes.axhline(0, color="0.85", linewidth=0.8, zorder=0)
    axes.axvline(0, color="0.85", linewidth=0.8, zorder=0)
    axes.legend(loc="lower right")
    save_figure(figure, path)
    plt.close(figure)


def write_report(items: list[ScoredItem], scorer_name: str, category_set: str, report_path: Path,
                 failures: dict[str, str] | None = None) -> ControlAccuracy:
    """report.md + <stem>_confusion.png + <stem>_va.png next to it, each written atomically."""
    report_path = Path(report_path)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    result = control_accuracy(items, category_set)
    confusion_png = report_path.with_name(report_path.stem + "_confusion.png")
    scatter_png = report_path.with_name(report_path.stem + "_va.png")
    plot_confusion(result, confusion_png)
    plot_va_scatter(items, scatter_png)
    lines = [
        f"# Emotion control report ({scorer_name} scorer)",
        "",
        f"{result.n} files scored over {category_set}; {len(failures or {})} could not be scored.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| top-1 control accuracy | {result.accuracy:.3f} |",
        f"| valence MAE | {result.valence_mae:.3f} |",
        f"| arousal MAE | {result.arousal_mae:.3f} |",
        f"| valence CCC | {result.valence_ccc:.3f} |",
        f"| arousal CCC | {result.arousal_ccc:.3f} |",
        "",
        "| category | precision | recall | F1 | n |",
        "|---|---|---|---|---|",
    ]
    for name in get_set(category_set).categories:
        row = result.per_class[name]
        if row["support"]:
            lines.append(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |")
    lines += ["", f"![confusion matrix]({confusion_png.name})", "", f"![requested vs measured]({scatter_png.name})", ""]
    if failures:
        lines += ["## Not scored", ""] + [f"- `{file}`: {reason}" for file, reason in failures.items()] + [""]
    with atomic_output(report_path) as temporary:
        temporary.write_text("\n".join(lines))
    return result
