"""IMDB test accuracy against the number of labelled training reviews, for the word2vec start (configs/imdb.yaml) and
the language-model start (configs/imdb_pretrained.yaml): one run of each per count, seed 42, same recipe otherwise.

    python docs/probes/label_efficiency.py --language_model outputs/imdb_lm --runs outputs/label_efficiency \
        --full outputs/imdb outputs/imdb_pretrained --figure docs/figures/label_efficiency.png

`--max_train_samples N` keeps a seeded random N of the 22,500 training reviews; validation (2,500) and test (25,000)
are the same for every run. `--full` names the two starts' runs on all 22,500 labels (word2vec, then pretrained);
runs already in `--runs` are not repeated.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COUNTS = (250, 1000, 2500, 10000)
STARTS = {"word2vec": ["configs/imdb.yaml"], "pretrained": ["configs/imdb_pretrained.yaml"]}


def test_accuracy(run_dir):
    return json.loads((Path(run_dir) / "test_results.json").read_text())["test_accuracy"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language_model", default="outputs/imdb_lm")
    parser.add_argument("--runs", default="outputs/label_efficiency")
    parser.add_argument("--full", nargs=2, metavar=("WORD2VEC_RUN", "PRETRAINED_RUN"))
    parser.add_argument("--figure", default="docs/figures/label_efficiency.png")
    parser.add_argument("--counts", type=int, nargs="+", default=list(COUNTS))
    args = parser.parse_args()
    accuracy = {start: {} for start in STARTS}
    for count in args.counts:
        for start, config in STARTS.items():
            run_dir = Path(args.runs) / f"{start}-{count}"
            if not (run_dir / "test_results.json").exists():
                extra = ["--model_name_or_path", args.language_model] if start == "pretrained" else []
                subprocess.run([sys.executable, "scripts/train.py", *config, *extra, "--max_train_samples", str(count),
                                "--output_dir", str(run_dir), "--overwrite_output_dir", "true"], check=True)
            accuracy[start][count] = test_accuracy(run_dir)
    if args.full:
        for start, run_dir in zip(STARTS, args.full):
            accuracy[start][22500] = test_accuracy(run_dir)
    print(json.dumps(accuracy, indent=1))
    figure, axes = plt.subplots(figsize=(6, 4))
    for start, label in (("word2vec", "word2vec start (configs/imdb.yaml)"),
                         ("pretrained", "language-model start (configs/imdb_pretrained.yaml)")):
        counts = sorted(accuracy[start])
        axes.plot(counts, [100 * accuracy[start][count] for count in counts], marker="o", label=label)
    axes.set_xscale("log")
    axes.set_xlabel("labelled training reviews")
    axes.set_ylabel("IMDB test accuracy (%)")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(args.figure, dpi=120)


if __name__ == "__main__":
    main()
