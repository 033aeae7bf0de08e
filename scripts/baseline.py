"""The strongest simple baseline beside a config's LSTM: NBSVM (word 1-3-grams, naive-Bayes log-count ratio, logistic
regression; ridge regression for a rating task; a one-vs-rest linear SVM on TF-IDF 1-2-grams for multi-label data)
trained on the config's own training split, its regularisation chosen on the same validation split, the same test
split scored once with the same metrics.

    python scripts/baseline.py configs/imdb.yaml
    python scripts/baseline.py configs/clothing.yaml --output outputs/baselines/clothing.json
    python scripts/baseline.py configs/reuters.yaml
    python scripts/baseline.py configs/small.yaml --dataset_name reviews.csv --label_column label   # your own data
    python scripts/baseline.py configs/imdb.yaml --score_data data/amazon-multidomain/amazon_multidomain.parquet \
        --group_by domain                     # also out of domain: the same model on product reviews, per domain

The figures go to standard output as JSON (and to --output).
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from hf_lstm.arguments import parse_arguments
from hf_lstm.baseline import nbsvm_baseline
from hf_lstm.cli import one_error_line, parse_command_line
from hf_lstm.data import is_multi_label, labelled_split, prepare_data

logger = logging.getLogger("hf_lstm.baseline")


@dataclass
class BaselineArguments:
    ngrams: int | None = field(
        default=None, metadata={"help": "Longest word n-gram (default 3: uni-, bi- and trigrams; 2 for multi-label)."}
    )
    output: str | None = field(default=None, metadata={"help": "Also write the figures to this JSON file."})
    score_data: str | None = field(
        default=None, metadata={"help": "Also score this labelled file or dataset (the training data's text and label "
                                "columns and classes)."}
    )
    group_by: str | None = field(default=None, metadata={"help": "Also score each value of this --score_data column."})


def main(argv=None):
    args, positional, data_options = parse_command_line(
        BaselineArguments, [("config", "A training config (configs/*.yaml); data options after it override its own.")],
        argv, remaining=True)
    with one_error_line():
        _, data_args, _ = parse_arguments([positional.config, *data_options, "--output_dir", "unused"])
        splits, _, label_names = prepare_data(data_args)  # the LSTM's own splits (cached)
        other = args.score_data and labelled_split(
            args.score_data, None, data_args.text_columns, data_args.label_column, label_names,
            keep=[args.group_by] if args.group_by else [], multi_label=is_multi_label(splits["train"].features["labels"]),
            delimiter=data_args.label_delimiter)
        figures = {"config": positional.config, **nbsvm_baseline(splits, label_names, args.ngrams, other or None,
                                                                 args.group_by)}
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
