import numpy as np
import pytest
from transformers import EvalPrediction

from hf_lstm.metrics import build_compute_metrics, decisions, per_label_scores


def test_classification_metrics():
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 2.0]])
    metrics = build_compute_metrics(["neg", "pos"])(EvalPrediction(logits, np.array([0, 1, 1, 1])))
    assert metrics["accuracy"] == pytest.approx(0.75)
    assert metrics["f1_macro"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert "rmse" not in metrics  # class names that are not numbers have no rating errors


def test_star_rating_metrics_of_arg_max_and_expected_rating():
    logits = np.log(np.array([[0.0, 0.0, 0.0, 0.5, 0.5] , [1.0, 0.0, 0.0, 0.0, 0.0]]) + 1e-12)
    labels = np.array([4, 1])  # 5 stars and 2 stars
    metrics = build_compute_metrics(["1", "2", "3", "4", "5"])(EvalPrediction(logits, labels))
    # arg-max: 4 stars (error 1) and 1 star (error 1); expected: 4.5 stars (0.5) and 1 star (1)
    assert metrics["rmse"] == pytest.approx(1.0) and metrics["mae"] == pytest.approx(1.0)
    assert metrics["rmse_expected"] == pytest.approx(np.sqrt((0.25 + 1) / 2), abs=1e-6)
    assert metrics["mae_expected"] == pytest.approx(0.75, abs=1e-6)


def test_regression_metrics():
    metrics = build_compute_metrics(None)(EvalPrediction(np.array([[3.0], [5.0]]), np.array([4.0, 5.0])))
    assert metrics == pytest.approx({"rmse": np.sqrt(0.5), "mae": 0.5})


# A hand example: four stories, three labels; at 0.5 the model answers {a}, {b}, {a}, {c}.
GOLD = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=np.float32)
LOGITS = np.array([[2, -1, -2], [-1, 1, -1], [1, -3, -1], [-2, -2, 0.5]])


def test_multi_label_metrics_on_a_hand_example():
    metrics = build_compute_metrics(["a", "b", "c"], [0.5] * 3)(EvalPrediction(predictions=LOGITS, label_ids=GOLD))
    # 3 right labels, 1 wrong, 2 missed: micro-F1 2*3 / (2*3 + 1 + 2); per label F1 a 1, b 2/3, c 0
    assert metrics["f1_micro"] == pytest.approx(6 / 9)
    assert metrics["f1_macro"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert metrics["f1_samples"] == pytest.approx((2 / 3 + 1 + 2 / 3 + 0) / 4)  # story 4: gold {}, answer {c}: 0
    assert metrics["subset_accuracy"] == 0.25 and metrics["hamming_loss"] == 0.25  # 3 of 12 decisions wrong
    per_label = per_label_scores(LOGITS, GOLD, ["a", "b", "c"], [0.5] * 3)
    assert per_label["b"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert per_label["c"] == pytest.approx({"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1})


def test_decisions_apply_each_labels_threshold():
    decided = decisions(LOGITS, [0.5, 0.5, 0.7])
    assert decided.tolist() == [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]]
