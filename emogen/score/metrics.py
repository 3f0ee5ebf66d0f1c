"""Control-accuracy metrics shared by every scorer and benchmark.

Plain numpy, no hidden state: each function takes targets and predictions and returns numbers, so a
benchmark table can be recomputed by hand from its JSON.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from emogen.errors import EmotionError


def _as_vectors(target: Sequence[float], predicted: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(target, dtype=np.float64).ravel()
    p = np.asarray(predicted, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise EmotionError(f"targets and predictions differ in length: {t.size} vs {p.size}")
    if t.size == 0:
        raise EmotionError("metrics need at least one sample")
    return t, p


def top_k_accuracy(target_labels: Sequence[int], scores: np.ndarray, k: int = 1) -> float:
    """Fraction of samples whose target label is among the k highest scores. scores: [N, C]."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(target_labels)
    if scores.ndim != 2 or scores.shape[0] != labels.size:
        raise EmotionError(f"scores must be [N, C] with N = {labels.size} labels, got shape {scores.shape}")
    if not 1 <= k <= scores.shape[1]:
        raise EmotionError(f"k must be in [1, {scores.shape[1]}], got {k}")
    # Stable ordering: on ties the lower class index ranks first, as argmax does.
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=1)))


def confusion_matrix(target_labels: Sequence[int], predicted_labels: Sequence[int], num_classes: int) -> np.ndarray:
    """counts[i, j] = number of samples of true class i predicted as class j."""
    t, p = (np.asarray(x, dtype=np.int64).ravel() for x in (target_labels, predicted_labels))
    if t.shape != p.shape:
        raise EmotionError(f"targets and predictions differ in length: {t.size} vs {p.size}")
    for name, values in (("target", t), ("predicted", p)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise EmotionError(f"{name} labels must be in [0, {num_classes - 1}], got {values.min()}..{values.max()}")
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (t, p), 1)
    return counts


def mae(target: Sequence[float], predicted: Sequence[float]) -> float:
    t, p = _as_vectors(target, predicted)
    return float(np.mean(np.abs(t - p)))


def rmse(target: Sequence[float], predicted: Sequence[float]) -> float:
    t, p = _as_vectors(target, predicted)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def ccc(target: Sequence[float], predicted: Sequence[float]) -> float:
    """Lin's concordance correlation coefficient: 2 cov / (var_t + var_p + (mean_t - mean_p)^2).

    Population (1/N) moments, as in the AVEC challenges. Two constant, equal series give 1.
    """
    t, p = _as_vectors(target, predicted)
    mean_t, mean_p = t.mean(), p.mean()
    covariance = np.mean((t - mean_t) * (p - mean_p))
    denominator = t.var() + p.var() + (mean_t - mean_p) ** 2
    if denominator == 0:
        return 1.0
    return float(2.0 * covariance / denominator)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(values.size, dtype=np.float64)
    sorted_values = values[order]
    start = 0
    while start < values.size:
        end = start
        while end + 1 < values.size and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return ranks


def spearman(target: Sequence[float], predicted: Sequence[float]) -> float:
    """Spearman's rho: Pearson correlation of the (tie-averaged) ranks; nan when either side is constant."""
    t, p = _as_vectors(target, predicted)
    rt, rp = _ranks(t), _ranks(p)
    rt -= rt.mean()
    rp -= rp.mean()
    denominator = np.sqrt(np.sum(rt * rt) * np.sum(rp * rp))
    return float(np.sum(rt * rp) / denominator) if denominator > 0 else float("nan")


def per_class_report(
    target_labels: Sequence[int], predicted_labels: Sequence[int], class_names: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per class, plus 'macro avg' and 'accuracy'."""
    counts = confusion_matrix(target_labels, predicted_labels, len(class_names))
    true_positive = np.diag(counts).astype(np.float64)
    support = counts.sum(axis=1)
    predicted = counts.sum(axis=0)
    report: dict[str, dict[str, float]] = {}
    for i, name in enumerate(class_names):
        precision = true_positive[i] / predicted[i] if predicted[i] else 0.0
        recall = true_positive[i] / support[i] if support[i] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        report[name] = {"precision": precision, "recall": recall, "f1": f1, "support": int(support[i])}
    present = [report[n] for n, s in zip(class_names, support) if s > 0]
    report["macro avg"] = {
        key: float(np.mean([r[key] for r in present])) if present else 0.0 for key in ("precision", "recall", "f1")
    }
    report["macro avg"]["support"] = int(support.sum())
    report["accuracy"] = {"value": float(true_positive.sum() / max(1, counts.sum())), "support": int(counts.sum())}
    return report
