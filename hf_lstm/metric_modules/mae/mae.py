"""Mean absolute error (scikit-learn's mean_absolute_error)."""

import datasets
import evaluate
from sklearn.metrics import mean_absolute_error


class MAE(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Mean absolute error, in the units of the references.",
            citation="",
            inputs_description="predictions, references: lists of numbers",
            features=datasets.Features({"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}),
        )

    def _compute(self, predictions, references):
        return {"mae": float(mean_absolute_error(references, predictions))}
