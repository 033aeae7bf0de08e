"""Small data: what a recipe learns from a few hundred labelled reviews. For each size, a CSV of that many IMDB
training reviews (a seeded sample) is trained on as a user's own file would be (its splits carved out of it), and the
model is scored on 2,000 IMDB test reviews it never saw, beside the majority-class share.

    python docs/probes/small_data.py --sizes 300 1000 --configs configs/imdb.yaml configs/small.yaml --seeds 42 43 44
    python docs/probes/small_data.py --configs configs/small.yaml --overrides --hidden_size 64   # a variant
"""

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

from datasets import load_dataset

from hf_lstm.hardware import machine_description
from hf_lstm.prediction import load_classifier, score_dataset
from hf_lstm.training import run


def kept_accuracy(state):
    """Validation accuracy of the epoch the run kept."""
    step = int(state.best_model_checkpoint.rsplit("-", 1)[1])
    return next(entry["eval_accuracy"] for entry in state.log_history
                if entry.get("step") == step and "eval_accuracy" in entry)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--configs", nargs="+", default=["configs/imdb.yaml", "configs/small.yaml"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--scored", type=int, default=2000, help="IMDB test reviews each model is scored on")
    parser.add_argument("--overrides", nargs=argparse.REMAINDER, default=[], help="options added to every run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    imdb = load_dataset("data/imdb")
    test = imdb["test"].shuffle(seed=0).select(range(args.scored)).rename_column("label", "labels")
    test = test.add_column("row", list(range(len(test))))
    work = Path(tempfile.mkdtemp(prefix="small_data_"))
    print(json.dumps({"machine": machine_description()}), flush=True)
    for size in args.sizes:
        sample = imdb["train"].shuffle(seed=0).select(range(size))
        data = work / f"imdb_{size}.csv"
        sample.map(lambda row: {"label": ["neg", "pos"][row["label"]]}).to_csv(data, index=False)
        for config in args.configs:
            for seed in args.seeds:
                output_dir = work / f"{Path(config).stem}_{size}_{seed}"
                started = time.time()
                trainer, scored = run([config, "--dataset_name", str(data), "--output_dir", str(output_dir),
                                       "--seed", str(seed), "--cache_dir", str(work / "cache"), "--report_to", "none",
                                       "--disable_tqdm", "true", *args.overrides])
                minutes = (time.time() - started) / 60
                metrics, _ = score_dataset(load_classifier(str(output_dir)), test)
                print(json.dumps({
                    "config": config, "overrides": " ".join(args.overrides), "reviews": size, "seed": seed,
                    "steps": trainer.state.global_step, "validation_best": trainer.state.best_metric,
                    "validation_accuracy": kept_accuracy(trainer.state),
                    "own_test_accuracy": scored.get("test_accuracy"),
                    "imdb_test_accuracy": round(metrics["accuracy"], 4),
                    "majority_share": round(max(sum(test["labels"]), len(test) - sum(test["labels"])) / len(test), 4),
                    "minutes": round(minutes, 2),
                }), flush=True)


if __name__ == "__main__":
    main()
