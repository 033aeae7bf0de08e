"""`compute_metrics` for the Trainer, built on the project's local evaluate modules in `metric_modules/`."""

from pathlib import Path

import evaluate
import numpy as np
from scipy.special import softmax


METRIC_MODULES = Path(__file__).parent / "metric_modules"


def load_metric(name):
    """Load one of the project's evaluate modules (accuracy, f1, rmse, mae) without the Hub."""
    return evaluate.load(str(METRIC_MODULES / name))


def numeric_class_values(names):
    """The number each class name stands for ("1".."5" stars -> [1.0, ..., 5.0]), or None unless every name is one.
    The one reading of class names as numbers: the rating metrics and the order of inferred class names use it."""
    try:
        return [float(name) for name in names]
    except (TypeError, ValueError):
        return None


def build_compute_metrics(label_names=None):
    """Return `compute_metrics(EvalPrediction) -> dict`.

    Regression (`label_names` None): rmse and mae. Classification: accuracy and macro f1; when the classes are
    numbers (star ratings) also rmse/mae of the arg-max class's value and of the expected value under the predicted
    probabilities (`rmse_expected`, `mae_expected`).
    """
    accuracy, f1, rmse, mae = (load_metric(name) for name in ("accuracy", "f1", "rmse", "mae"))
    values = numeric_class_values(label_names) if label_names is not None else None
    values = np.array(values) if values is not None else None

    def errors(predictions, references, suffix=""):
        return {
            f"rmse{suffix}": rmse.compute(predictions=predictions, references=references)["rmse"],
            f"mae{suffix}": mae.compute(predictions=predictions, references=references)["mae"],
        }

    def compute_metrics(eval_prediction):
        logits, labels = eval_prediction.predictions, eval_prediction.label_ids
        if label_names is None:
            return errors(logits.reshape(-1), labels.reshape(-1))
        predictions = logits.argmax(axis=-1)
        metrics = {
            "accuracy": accuracy.compute(predictions=predictions, references=labels)["accuracy"],
            "f1_macro": f1.compute(predictions=predictions, references=labels, average="macro")["f1"],
        }
        if values is not None:
            expected = softmax(logits, axis=-1) @ values
            metrics.update(errors(values[predictions], values[labels]))
            metrics.update(errors(expected, values[labels], suffix="_expected"))
        return metrics

    return compute_metrics
