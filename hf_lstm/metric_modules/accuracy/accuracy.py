"""Accuracy: the share of predictions equal to the reference (scikit-learn's accuracy_score); with the `multilabel`
config, of label sets (multi-hot lists) equal to the reference's (subset accuracy)."""

import datasets
import evaluate
from sklearn.metrics import accuracy_score


class Accuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Share of predictions equal to the reference.",
            citation="",
            inputs_description="predictions, references: lists of class ids (multilabel: of multi-hot lists)",
            features=datasets.Features({
                "predictions": datasets.Sequence(datasets.Value("int32")),
                "references": datasets.Sequence(datasets.Value("int32")),
            }) if self.config_name == "multilabel" else datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references):
        return {"accuracy": float(accuracy_score(references, predictions))}
