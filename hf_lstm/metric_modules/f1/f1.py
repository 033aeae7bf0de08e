"""F1 score (scikit-learn's f1_score), macro-averaged over classes by default; the `multilabel` config reads
multi-hot lists (average micro, macro, samples, or None for each label's)."""

import datasets
import evaluate
from sklearn.metrics import f1_score


class F1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="F1 score; average='macro' weighs every class equally.",
            citation="",
            inputs_description="predictions, references: lists of class ids (multilabel: of multi-hot lists); "
            "average: macro | micro | weighted | samples (multilabel) | None (each class's)",
            features=datasets.Features({
                "predictions": datasets.Sequence(datasets.Value("int32")),
                "references": datasets.Sequence(datasets.Value("int32")),
            }) if self.config_name == "multilabel" else datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, average="macro"):
        score = f1_score(references, predictions, average=average, zero_division=0.0)
        return {"f1": float(score) if average is not None else score.tolist()}
