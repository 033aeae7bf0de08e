"""IMDB test accuracy against the number of labelled training reviews, for the word2vec start (configs/imdb.yaml),
the language-model start (configs/imdb_pretrained.yaml) and the semi-supervised recipe that also reads the 50,000
unlabelled reviews (configs/imdb_semisupervised.yaml), beside configs/imdb.yaml with word2vec learned on the
unlabelled reviews too (the semi-supervised recipe without its loss terms): one run of each per count, seed 42, same
recipe otherwise.

    python docs/probes/label_efficiency.py --starts semisupervised word2vec_unlabelled \
        --full semisupervised=outputs/imdb_semisupervised_s42

`--max_train_samples N` keeps a seeded random N of the 22,500 training reviews; validation (2,500) and test (25,000)
are the same for every run. Each run's test accuracy and wall time go into `--results` (a JSON file kept in the
repository, with the CPU that ran it), and the figure is drawn from every start recorded there, so one start can be
measured on another machine than the others. A (start, count) already recorded, or whose run folder in `--runs`
holds a test score, is not run again. `--full START=RUN` records a start's run on all 22,500 labels.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hf_lstm.hardware import machine_description  # noqa: E402

COUNTS = (250, 1000, 2500, 10000)
STARTS = {  # name: (the training command's arguments, the figure's label)
    "word2vec": (["configs/imdb.yaml"], "word2vec on the labelled reviews (configs/imdb.yaml)"),
    "pretrained": (["configs/imdb_pretrained.yaml"], "language-model start (configs/imdb_pretrained.yaml)"),
    "word2vec_unlabelled": (["configs/imdb.yaml", "--unlabelled_data", "unsupervised", "--unlabelled_max_length", "400"],
                            "word2vec on the labelled and unlabelled reviews"),
    "semisupervised": (["configs/imdb_semisupervised.yaml"],
                       "the same + normalised embeddings, virtual adversarial training, entropy "
                       "(configs/imdb_semisupervised.yaml)"),
}


def run_record(run_dir, wall_s=None):
    results = json.loads((Path(run_dir) / "all_results.json").read_text())
    return {"test_accuracy": results["test"]["test_accuracy"], "wall_time_s": wall_s or results.get("wall_time_s"),
            "run": str(run_dir), "machine": machine_description()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", nargs="+", choices=list(STARTS), default=list(STARTS))
    parser.add_argument("--language_model", default="outputs/imdb_lm")
    parser.add_argument("--runs", default="outputs/label_efficiency")
    parser.add_argument("--full", nargs="*", default=[], metavar="START=RUN")
    parser.add_argument("--results", default="docs/benchmarks/label_efficiency.json")
    parser.add_argument("--figure", default="docs/figures/label_efficiency.png")
    parser.add_argument("--counts", type=int, nargs="+", default=list(COUNTS))
    args = parser.parse_args()
    results_file = Path(args.results)
    recorded = json.loads(results_file.read_text()) if results_file.exists() else {}
    for start in args.starts:
        for count in args.counts:
            if str(count) in recorded.get(start, {}):
                continue
            run_dir = Path(args.runs) / f"{start}-{count}"
            began = time.perf_counter()
            if not (run_dir / "test_results.json").exists():
                extra = ["--model_name_or_path", args.language_model] if start == "pretrained" else []
                subprocess.run([sys.executable, "scripts/train.py", *STARTS[start][0], *extra, "--max_train_samples",
                                str(count), "--output_dir", str(run_dir), "--overwrite_output_dir", "true"],
                               check=True)
            recorded.setdefault(start, {})[str(count)] = run_record(run_dir, round(time.perf_counter() - began, 1))
            results_file.write_text(json.dumps(recorded, indent=1) + "\n")  # after every run: a long probe may stop
    for pair in args.full:
        start, run_dir = pair.split("=", 1)
        recorded.setdefault(start, {})["22500"] = run_record(run_dir)
    results_file.write_text(json.dumps(recorded, indent=1) + "\n")
    figure, axes = plt.subplots(figsize=(6.5, 5.2))
    for start, (_, label) in STARTS.items():
        counts = sorted(int(count) for count in recorded.get(start, {}))
        if counts:
            accuracies = [100 * recorded[start][str(count)]["test_accuracy"] for count in counts]
            axes.plot(counts, accuracies, marker="o", label=label)
    axes.set_xscale("log")
    axes.set_xlabel("labelled training reviews")
    axes.set_ylabel("IMDB test accuracy (%)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.14))  # below the axes: the lines fill them
    figure.savefig(args.figure, dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    main()
