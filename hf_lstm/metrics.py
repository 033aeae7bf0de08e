"""`compute_metrics` for the Trainer, built on the project's local evaluate modules in `metric_modules/`."""

from pathlib import Path

import evaluate
import numpy as np
from scipy.special import expit, softmax
from sklearn.metrics import precision_recall_fscore_support


METRIC_MODULES = Path(__file__).parent / "metric_modules"


def load_metric(name, config_name=None):
    """Load one of the project's evaluate modules (accuracy, f1, rmse, mae) without the Hub."""
    return evaluate.load(str(METRIC_MODULES / name), config_name)


def numeric_class_values(names):
    """The number each class name stands for ("1".."5" stars -> [1.0, ..., 5.0]), or None unless every name is one.
    The one reading of class names as numbers: the rating metrics and the order of inferred class names use it."""
    try:
        return [float(name) for name in names]
    except (TypeError, ValueError):
        return None


def decision_thresholds(config):
    """A multi-label model's decision thresholds (one per label; 0.5 where its config has none), None for a
    single-label or regression model: the `thresholds` argument of the functions that score or answer."""
    if config.problem_type != "multi_label_classification":
        return None
    return config.decision_thresholds or [0.5] * config.num_labels


def decisions(logits, thresholds):
    """A multi-label model's answers (texts, labels) of 0 / 1: each label whose sigmoid probability reaches its
    threshold (one per label, or one for all)."""
    return (expit(np.asarray(logits, dtype=np.float64)) >= np.asarray(thresholds)).astype(np.int32)


def per_label_scores(logits, gold, label_names, thresholds):
    """{label: precision, recall, f1, support} of a multi-label model's answers (`decisions`) against multi-hot
    `gold`."""
    table = precision_recall_fscore_support(gold, decisions(logits, thresholds), zero_division=0.0)
    return {name: dict(zip(("precision", "recall", "f1", "support"), (float(column[i]) for column in table)))
            for i, name in enumerate(label_names)}


def build_compute_metrics(label_names=None, thresholds=None):
    """Return `compute_metrics(EvalPrediction) -> dict`.

    Regression (`label_names` None): rmse and mae. Classification: accuracy and macro f1; when the classes are
    numbers (star ratings) also rmse/mae of the arg-max class's value and of the expected value under the predicted
    probabilities (`rmse_expected`, `mae_expected`). Multi-label (`thresholds` given; `decisions`): micro, macro and
    samples F1, subset accuracy (the whole label set right) and Hamming loss (the share of wrong label decisions).
    """
    if thresholds is not None:
        f1, subset = load_metric("f1", "multilabel"), load_metric("accuracy", "multilabel")
        accuracy = load_metric("accuracy")

        def compute_multi_label(eval_prediction):
            gold = np.asarray(eval_prediction.label_ids).astype(np.int32)
            predicted = decisions(eval_prediction.predictions, thresholds)
            metrics = {f"f1_{average}": f1.compute(predictions=predicted, references=gold, average=average)["f1"]
                       for average in ("micro", "macro", "samples")}
            metrics["subset_accuracy"] = subset.compute(predictions=predicted, references=gold)["accuracy"]
            right = accuracy.compute(predictions=predicted.ravel(), references=gold.ravel())["accuracy"]
            metrics["hamming_loss"] = 1 - right  # the share of wrong label decisions
            return metrics

        return compute_multi_label
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
