"""What the n-gram channel costs at prediction: reviews/s of a plain model and of a model with the channel, on the same
IMDB test reviews through `hf_lstm.prediction.predict` (float32, length-sorted batches of 64), in one process, turns
alternating, best of `--repeats`; and the size of each saved folder.

    python docs/probes/ngram_channel_cost.py outputs/seeds/imdb_xeon_s43 outputs/ngram/imdb_separate_s43 --reviews 2000
"""

import argparse
import json
import logging
import time
from pathlib import Path

from datasets import load_dataset

from hf_lstm.hardware import machine_description
from hf_lstm.prediction import load_classifier, predict


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("plain", help="A model folder without the channel.")
    parser.add_argument("channel", help="The same recipe's model folder with the channel.")
    parser.add_argument("--reviews", type=int, default=2000, help="IMDB test reviews predicted (the first N).")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    texts = load_dataset("data/imdb", split="test")["text"][: args.reviews]
    classifiers = {name: load_classifier(folder, batch_size=64) for name, folder in
                   (("plain", args.plain), ("channel", args.channel))}
    rates = {name: 0.0 for name in classifiers}
    for name, classifier in classifiers.items():
        predict(classifier, texts[:64])  # warm-up
    for _ in range(args.repeats):
        for name, classifier in classifiers.items():
            started = time.perf_counter()
            predict(classifier, texts)
            rates[name] = max(rates[name], len(texts) / (time.perf_counter() - started))
    sizes = {name: sum(path.stat().st_size for path in Path(folder).iterdir() if path.is_file()) / 2**20
             for name, folder in (("plain", args.plain), ("channel", args.channel))}
    print(json.dumps({
        "machine": machine_description(), "reviews": len(texts),
        "reviews_per_s": {name: round(rate, 1) for name, rate in rates.items()},
        "channel_speed_ratio": round(rates["channel"] / rates["plain"], 3),
        "folder_mib": {name: round(size, 1) for name, size in sizes.items()},
    }, indent=2))


if __name__ == "__main__":
    main()
