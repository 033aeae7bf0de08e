"""PNG plots of a training run: the loss and validation metric curves, and the test confusion matrix."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402


def _png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def training_curves_png(log_history, metric, title=""):
    """Training loss as logged (every `logging_steps`), validation loss and the validation `metric` per evaluation,
    against the epoch; returns PNG bytes."""
    train = [(entry["epoch"], entry["loss"]) for entry in log_history if "loss" in entry]
    evaluation = [entry for entry in log_history if "eval_loss" in entry]
    figure, (loss_axis, metric_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    if train:
        loss_axis.plot(*zip(*train), marker="o" if len(train) <= 20 else None, label="training")
    loss_axis.plot([e["epoch"] for e in evaluation], [e["eval_loss"] for e in evaluation], marker="o", label="validation")
    loss_axis.set(xlabel="epoch", ylabel="loss", title="loss")
    loss_axis.legend()
    key = f"eval_{metric}"
    metric_axis.plot([e["epoch"] for e in evaluation if key in e], [e[key] for e in evaluation if key in e],
                     marker="o", color="tab:green")
    metric_axis.set(xlabel="epoch", ylabel=metric, title=f"validation {metric}")
    for axis in (loss_axis, metric_axis):
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    return _png(figure)


def confusion_matrix_png(labels, predictions, class_names, title=""):
    """The confusion matrix of class predictions (rows: true class), counts and row shares; returns PNG bytes."""
    figure, axis = plt.subplots(figsize=(4.5 + 0.4 * len(class_names), 4 + 0.4 * len(class_names)))
    ConfusionMatrixDisplay.from_predictions(
        labels, predictions, labels=list(range(len(class_names))), display_labels=class_names, ax=axis,
        colorbar=False, cmap="Blues",
    )
    axis.set_title(title)
    return _png(figure)


def validation_curves_png(runs, metric, title=""):
    """Validation `metric` per epoch of several runs ({name: log_history}) in one plot; returns PNG bytes."""
    figure, axis = plt.subplots(figsize=(6.5, 4))
    key = f"eval_{metric}"
    for name, log_history in runs.items():
        points = [(entry["epoch"], entry[key]) for entry in log_history if key in entry]
        axis.plot(*zip(*points), marker="o", label=name)
    axis.set(xlabel="epoch", ylabel=f"validation {metric}", title=title)
    axis.grid(alpha=0.3)
    axis.legend()
    return _png(figure)
