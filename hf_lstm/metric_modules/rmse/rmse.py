"""Root mean squared error (scikit-learn's root_mean_squared_error)."""

import datasets
import evaluate
from sklearn.metrics import root_mean_squared_error


class RMSE(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Root mean squared error, in the units of the references.",
            citation="",
            inputs_description="predictions, references: lists of numbers",
            features=datasets.Features({"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}),
        )

    def _compute(self, predictions, references):
        return {"rmse": float(root_mean_squared_error(references, predictions))}
