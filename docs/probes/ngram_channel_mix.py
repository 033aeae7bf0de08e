"""How a trained model with an n-gram channel should weigh the channel against the encoder and head, judged on the
validation split of its config: the accuracy of head + s x channel for a grid of s, of the two parts alone, of their
probabilities averaged, and the s that a temperature fitted to the channel alone (validation log-loss) gives. The
test split is not read.

    python docs/probes/ngram_channel_mix.py outputs/ngram/imdb_separate_s42 configs/imdb.yaml
"""

import argparse
import json
import logging

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from hf_lstm.arguments import parse_arguments
from hf_lstm.data import prepare_data
from hf_lstm.prediction import load_classifier, logits_of, predict

SCALES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="A trained model folder with an n-gram channel.")
    parser.add_argument("config", help="The config it was trained with (for its validation split).")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    _, data_args, _ = parse_arguments([args.config, "--output_dir", "unused"])
    splits, _, names = prepare_data(data_args)
    texts, gold = splits["validation"]["text"], np.asarray(splits["validation"]["labels"])
    classifier = load_classifier(args.model)
    model = classifier.model
    both = logits_of(predict(classifier, texts), names)  # (reviews, labels)
    channel = model.ngrams
    model.ngrams = None
    head = logits_of(predict(classifier, texts), names)
    model.ngrams = channel
    wide = both - head
    accuracy = lambda logits: float((logits.argmax(1) == gold).mean())  # noqa: E731
    loss = lambda t: -log_softmax(t * wide, axis=1)[np.arange(len(gold)), gold].mean()  # noqa: E731
    temperature = float(minimize_scalar(loss, bounds=(1e-3, 10), method="bounded").x)
    def margin(logits):  # mean |logit 1 - logit 0| of a two-class model
        return float(np.abs(logits[:, 1] - logits[:, 0]).mean()) if logits.shape[1] == 2 else None

    print(json.dumps({
        "head_alone": accuracy(head), "channel_alone": accuracy(wide),
        "sum_by_scale": {scale: accuracy(head + scale * wide) for scale in SCALES},
        "probabilities_averaged": accuracy(softmax(head, axis=1) + softmax(wide, axis=1)),
        "channel_temperature_scale": temperature, "at_that_scale": accuracy(head + temperature * wide),
        "mean_abs_logit_margin": {"head": margin(head), "channel": margin(wide)},
    }, indent=2))


if __name__ == "__main__":
    main()
