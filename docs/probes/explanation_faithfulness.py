"""How faithful are the explanations: ERASER's measures (DeYoung et al., 2020) on IMDB test reviews, for integrated
gradients and gradient x input, each against words chosen at random; and what an explanation costs beside a
prediction (reviews/s, one run, the same reviews).

- comprehensiveness: the predicted class's probability minus its probability once the top 10 % of the words the
  model reads (by attribution toward that class) are removed: higher means the words mattered.
- sufficiency: the probability minus its probability with only those words kept: lower means they suffice.
Words are removed from the token ids the model reads (after its truncation), not masked.

    python docs/probes/explanation_faithfulness.py outputs/imdb --reviews 500 --output docs/benchmarks/explanations.json
"""

import argparse
import json
import logging
import math
import time

import numpy as np
import torch
from datasets import load_dataset

from hf_lstm.explain import METHODS, explain, words_read
from hf_lstm.hardware import machine_description
from hf_lstm.prediction import load_classifier, predict


@torch.no_grad()
def probability(model, ids, index):
    """The probability of class `index` for one review's token ids (a list; empty: one [PAD])."""
    ids = torch.tensor([ids or [model.config.pad_token_id]])
    return float(model(input_ids=ids).logits.softmax(dim=-1)[0, index])


def erased(model, ids, order, index, share):
    """(comprehensiveness, sufficiency) of the `share` of tokens that come first in `order`."""
    top = set(order[: max(1, math.ceil(share * len(ids)))])
    full = probability(model, ids, index)
    without = [token for position, token in enumerate(ids) if position not in top]
    only = [token for position, token in enumerate(ids) if position in top]
    return full - probability(model, without, index), full - probability(model, only, index)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="A trained IMDB model folder.")
    parser.add_argument("--reviews", type=int, default=500, help="Test reviews (a seeded sample).")
    parser.add_argument("--share", type=float, default=0.1, help="Share of the words removed / kept.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="Also write the figures to this JSON file.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    test = load_dataset("data/imdb", split="test").shuffle(seed=args.seed).select(range(args.reviews))
    texts = list(test["text"])
    classifier = load_classifier(args.model)
    model, tokenizer = classifier.model.eval(), classifier.tokenizer
    started = time.time()
    predict(classifier, texts)
    speeds = {"predict": args.reviews / (time.time() - started)}
    random = np.random.default_rng(args.seed)
    figures = {}
    for method in METHODS:
        started = time.time()
        explained = explain(model, tokenizer, texts, method=method)
        speeds[method] = args.reviews / (time.time() - started)
        scores = {"top": [], "random": []}
        for text, explanation in zip(texts, explained):
            ids = words_read(tokenizer, model.config, text)[0][0].tolist()
            index = model.config.label2id[explanation["target"]]
            values = [word["attribution"] for word in explanation["words"]]
            scores["top"].append(erased(model, ids, list(np.argsort(values)[::-1]), index, args.share))
            scores["random"].append(erased(model, ids, list(random.permutation(len(ids))), index, args.share))
        figures[method] = {
            chosen: {"comprehensiveness": float(np.mean([c for c, _ in pairs])),
                     "sufficiency": float(np.mean([s for _, s in pairs]))}
            for chosen, pairs in scores.items()
        }
        if method == "integrated_gradients":
            figures[method]["completeness_gap_mean"] = float(np.mean(
                [abs(e["delta"]) / max(abs(e["logit"] - e["baseline_logit"]), 1e-9) for e in explained]))
    result = {"model": args.model, "reviews": args.reviews, "share": args.share, **figures,
              "reviews_per_second": {name: round(value, 1) for name, value in speeds.items()},
              "hardware": machine_description()}
    print(json.dumps(result, indent=2))
    if args.output:
        with open(args.output, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
