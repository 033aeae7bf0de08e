"""F1 score (scikit-learn's f1_score), macro-averaged over classes by default."""

import datasets
import evaluate
from sklearn.metrics import f1_score


class F1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="F1 score; average='macro' weighs every class equally.",
            citation="",
            inputs_description="predictions, references: lists of class ids; average: macro | micro | weighted",
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, average="macro"):
        return {"f1": float(f1_score(references, predictions, average=average))}
