"""A distilled model beside its teachers, in one run on the same test reviews: each model's reviews/s through
`hf_lstm.prediction.predict` (the stock pipeline, shortest reviews first, batch 64), its accuracy, and how often the
student predicts the class of the teachers' averaged probabilities. The teachers are those named in the student's
all_results.json.

    python docs/probes/distillation_speed.py --student outputs/imdb_distilled --max_reviews 2000
"""

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from transformers import HfArgumentParser

from hf_lstm.data import load_raw_dataset
from hf_lstm.distillation import teacher_pipeline
from hf_lstm.hardware import machine_description
from hf_lstm.prediction import load_classifier, predict

logger = logging.getLogger(__name__)


@dataclass
class ProbeArguments:
    student: str = field(metadata={"help": "A model folder trained with --teacher_model_name_or_path."})
    dataset_name: str = field(default="data/imdb", metadata={"help": "Dataset whose test split is read."})
    max_reviews: int | None = field(default=None, metadata={"help": "Read only N test reviews (a seeded sample)."})
    json: str | None = field(default=None, metadata={"help": "Also write the results to this JSON file."})


def timed_predictions(classifier, texts, label_names):
    """(probabilities (texts, num_labels) in `label_names` order, reviews/s) of one pass over `texts`."""
    started = time.perf_counter()
    results = predict(classifier, texts)
    rate = len(texts) / (time.perf_counter() - started)
    return np.array([[result["probabilities"][name] for name in label_names] for result in results]), rate


def main(argv=None):
    logging.basicConfig(format="%(message)s", level=logging.INFO)
    (args,) = HfArgumentParser(ProbeArguments).parse_args_into_dataclasses(argv)
    test = load_raw_dataset(args.dataset_name)["test"]
    if args.max_reviews:  # a seeded sample: IMDB's test split is ordered by label
        test = test.shuffle(seed=0).select(range(min(args.max_reviews, len(test))))
    texts, gold = list(test["text"]), np.asarray(test["label"])
    student = load_classifier(args.student)
    config = student.model.config
    label_names = [config.id2label[i] for i in range(config.num_labels)]
    names = list(json.loads((Path(args.student) / "all_results.json").read_text())["distillation"]["teachers"])
    rows, teacher_probabilities = {}, []
    for name in names:
        probabilities, rate = timed_predictions(teacher_pipeline(name, label_names, device="cpu"), texts, label_names)
        teacher_probabilities.append(probabilities)
        rows[name] = {"reviews_per_s": round(rate, 1), "accuracy": float((probabilities.argmax(1) == gold).mean())}
    average = np.mean(teacher_probabilities, axis=0)  # (reviews, num_labels)
    rows["teachers' average"] = {
        "reviews_per_s": round(1 / sum(1 / rows[name]["reviews_per_s"] for name in names), 1),
        "accuracy": float((average.argmax(1) == gold).mean()),
    }
    probabilities, rate = timed_predictions(student, texts, label_names)
    rows["student"] = {"reviews_per_s": round(rate, 1), "accuracy": float((probabilities.argmax(1) == gold).mean()),
                       "agreement_with_teachers_average": float((probabilities.argmax(1) == average.argmax(1)).mean())}
    report = {"machine": machine_description(), "threads": torch.get_num_threads(), "reviews": len(texts),
              "student": args.student, "models": rows}
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
