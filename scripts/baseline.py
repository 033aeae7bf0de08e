"""The strongest simple baseline beside a config's LSTM: NBSVM (word 1-3-grams, naive-Bayes log-count ratio, logistic
regression; ridge regression for a rating task) trained on the config's own training split, its regularisation chosen
on the same validation split, the same test split scored once with the same metrics.

    python scripts/baseline.py configs/imdb.yaml
    python scripts/baseline.py configs/clothing.yaml --output outputs/baselines/clothing.json

The figures go to standard output as JSON (and to --output).
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from hf_lstm.arguments import parse_arguments
from hf_lstm.baseline import nbsvm_baseline
from hf_lstm.cli import one_error_line, parse_command_line
from hf_lstm.data import prepare_data

logger = logging.getLogger("hf_lstm.baseline")


@dataclass
class BaselineArguments:
    ngrams: int = field(default=3, metadata={"help": "Longest word n-gram (3: uni-, bi- and trigrams)."})
    output: str | None = field(default=None, metadata={"help": "Also write the figures to this JSON file."})


def main(argv=None):
    args, positional = parse_command_line(BaselineArguments, [("config", "A training config (configs/*.yaml).")], argv)
    with one_error_line():
        _, data_args, _ = parse_arguments([positional.config, "--output_dir", "unused"])
        splits, _, label_names = prepare_data(data_args)  # the LSTM's own splits (cached)
        figures = {"config": positional.config, **nbsvm_baseline(splits, label_names, args.ngrams)}
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
