"""Which decision thresholds a multi-label model should save, judged on validation alone: the validation split of a
trained model's config is cut in two halves (a seeded random half); thresholds are chosen on one half by each
strategy (`choose_thresholds`) and scored on the other, then the halves swap. The test split is not read. Neither
tuned strategy beat 0.5, so training no longer chooses thresholds (the strategies live on here only).

    python docs/probes/threshold_strategies.py outputs/reuters configs/reuters.yaml
"""

import argparse
import json
import logging

import numpy as np
from transformers import EvalPrediction

from hf_lstm.arguments import parse_arguments
from hf_lstm.data import prepare_data
from sklearn.metrics import f1_score

from hf_lstm.metrics import build_compute_metrics, decisions
from hf_lstm.prediction import label_names_of, load_classifier, logits_of, predict

STRATEGIES = ("fixed", "global", "per_label")
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)


def choose_thresholds(logits, gold, strategy):
    """Thresholds chosen on (`logits`, multi-hot `gold`): 0.5 for every label ("fixed"); the one grid threshold with
    the best micro-F1 ("global"); each label's best F1, the global one for a label without a story ("per_label").
    Ties go to the threshold nearest 0.5."""
    if strategy == "fixed":
        return [0.5] * gold.shape[1]
    grid = sorted(THRESHOLD_GRID, key=lambda value: abs(value - 0.5))
    micro = [f1_score(gold, decisions(logits, value), average="micro", zero_division=0.0) for value in grid]
    best = float(grid[int(np.argmax(micro))])
    if strategy == "global":
        return [best] * gold.shape[1]
    each = np.stack([f1_score(gold, decisions(logits, value), average=None, zero_division=0.0) for value in grid])
    chosen = np.asarray(grid)[each.argmax(axis=0)]  # (labels,)
    return [float(value) if gold[:, label].any() else best for label, value in enumerate(chosen)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="A trained multi-label model folder.")
    parser.add_argument("config", help="The config it was trained with (for its validation split).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the halves.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    _, data_args, _ = parse_arguments([args.config, "--output_dir", "unused"])
    splits, _, _ = prepare_data(data_args)
    classifier = load_classifier(args.model)
    names = label_names_of(classifier)
    logits = logits_of(predict(classifier, splits["validation"]["text"]), names)
    gold = np.asarray(splits["validation"]["labels"])
    order = np.random.default_rng(args.seed).permutation(len(gold))
    halves = (order[: len(order) // 2], order[len(order) // 2 :])
    figures = {}
    for strategy in STRATEGIES:
        scores = []
        for chosen_on, scored_on in (halves, halves[::-1]):
            thresholds = choose_thresholds(logits[chosen_on], gold[chosen_on], strategy)
            metrics = build_compute_metrics(names, thresholds)
            scores.append(metrics(EvalPrediction(predictions=logits[scored_on], label_ids=gold[scored_on])))
        figures[strategy] = {name: float(np.mean([score[name] for score in scores])) for name in scores[0]}
    print(json.dumps({"model": args.model, "validation_stories": len(gold), **figures}, indent=2))


if __name__ == "__main__":
    main()
