import numpy as np
import pytest
from transformers import EvalPrediction

from hf_lstm.metrics import build_compute_metrics


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
