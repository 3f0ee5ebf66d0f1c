import math

import numpy as np
import pytest

from emogen.emotion import EmotionError
from emogen.score import metrics


def test_top_k_accuracy_by_hand():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.4, 0.35, 0.25]])
    labels = [1, 1, 0, 2]
    # top-1 predictions: 1, 0, 2, 0 -> one of four right.
    assert metrics.top_k_accuracy(labels, scores, k=1) == 0.25
    # top-2 sets: {1,2}, {0,1}, {2,1}, {0,1} -> rows 0 and 1 right.
    assert metrics.top_k_accuracy(labels, scores, k=2) == 0.5
    assert metrics.top_k_accuracy(labels, scores, k=3) == 1.0
    with pytest.raises(EmotionError):
        metrics.top_k_accuracy(labels, scores, k=4)


def test_confusion_matrix_by_hand():
    counts = metrics.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    with pytest.raises(EmotionError, match="labels must be in"):
        metrics.confusion_matrix([0, 3], [0, 1], 3)


def test_mae_rmse_by_hand():
    assert metrics.mae([0, 1, 2], [1, 1, 4]) == pytest.approx(1.0)
    assert metrics.rmse([0, 1, 2], [1, 1, 4]) == pytest.approx(math.sqrt(5 / 3))
    with pytest.raises(EmotionError, match="differ in length"):
        metrics.mae([1, 2], [1])


def test_ccc_by_hand():
    # t = [1,2,3], p = [2,3,4]: cov = 2/3, var_t = var_p = 2/3, mean gap 1 -> 2*(2/3) / (4/3 + 1) = 4/7.
    assert metrics.ccc([1, 2, 3], [2, 3, 4]) == pytest.approx(4 / 7)
    assert metrics.ccc([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert metrics.ccc([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert metrics.ccc([2, 2], [2, 2]) == 1.0


def test_spearman_by_hand_with_ties():
    assert metrics.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert metrics.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks t = [1,2,3,4], p = [1.5,1.5,3,4] -> Pearson of ranks.
    rt, rp = np.array([1, 2, 3, 4.0]), np.array([1.5, 1.5, 3, 4])
    expected = np.corrcoef(rt, rp)[0, 1]
    assert metrics.spearman([1, 2, 3, 4], [5, 5, 6, 7]) == pytest.approx(expected)
    assert math.isnan(metrics.spearman([1, 1, 1], [1, 2, 3]))


def test_per_class_report_by_hand():
    report = metrics.per_class_report([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], ["a", "b", "c"])
    assert report["a"]["precision"] == pytest.approx(0.5) and report["a"]["recall"] == pytest.approx(0.5)
    assert report["b"]["precision"] == pytest.approx(0.5) and report["b"]["recall"] == pytest.approx(1.0)
    assert report["b"]["f1"] == pytest.approx(2 / 3)
    assert report["c"]["precision"] == pytest.approx(1.0) and report["c"]["recall"] == pytest.approx(2 / 3)
    assert report["c"]["support"] == 3
    assert report["accuracy"]["value"] == pytest.approx(4 / 6)
    assert report["macro avg"]["recall"] == pytest.approx((0.5 + 1 + 2 / 3) / 3)
