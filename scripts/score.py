"""Score a trained classifier on labelled data it has not seen: the metrics training reports (accuracy and macro F1;
micro, macro and samples F1 for a multi-label model; or RMSE and MAE), and every review's prediction beside its gold
label (a multi-label model's: the gold and predicted label sets).

    python scripts/score.py outputs/imdb data/imdb --split test
    python scripts/score.py outputs/clothing new_reviews.csv --text_columns title review --label_column rating \
        --predictions new_reviews_predictions.jsonl
    python scripts/score.py myteam/imdb-lstm@v1 data/imdb --hub_dir /shared/hub
    python scripts/score.py outputs/imdb data/amazon-multidomain/amazon_multidomain.parquet --group_by domain
    python scripts/score.py outputs/reuters data/reuters21578 --text_columns title text --label_column topics

The metrics go to standard output as JSON; --predictions writes one JSON line per review: its row in the data, its
gold label and the prediction (as scripts/predict.py prints it).
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import hf_lstm  # noqa: F401  (registers the hf_lstm model type)
from hf_lstm.cli import one_error_line, parse_command_line
from hf_lstm.data import labelled_split
from hf_lstm.metrics import decision_thresholds
from hf_lstm.prediction import label_names_of, load_classifier, score_dataset

logger = logging.getLogger("hf_lstm.score")


@dataclass
class ScoreArguments:
    hub_dir: str | None = field(default=None, metadata={"help": "Hub directory to take the model from."})
    split: str | None = field(
        default=None, metadata={"help": "Split to score (default: a file's only split, else the test split)."}
    )
    text_columns: list[str] = field(default_factory=lambda: ["text"], metadata={"help": "Columns joined as the text."})
    label_column: str = field(default="label", metadata={"help": "Column with the gold label (a class name or id, "
                                                                 "or the rating for a regression model)."})
    predictions: str | None = field(
        default=None, metadata={"help": "Write the predictions here (JSON lines); an existing file is refused."}
    )
    label_delimiter: str | None = field(
        default=None, metadata={"help": "Multi-label models: the separator of a text label column's labels, e.g. ','."}
    )
    batch_size: int = field(default=64, metadata={"help": "Texts per forward pass."})
    group_by: str | None = field(
        default=None, metadata={"help": "Also report the metrics of each value of this column (e.g. domain)."}
    )


def main(argv=None):
    args, positional = parse_command_line(ScoreArguments, [
        ("model", "A trained model folder, or org/name[@revision] with --hub_dir."),
        ("data", "Labelled data: a .csv/.tsv/.json/.jsonl/.parquet file, a dataset folder or hub id."),
    ], argv)
    with one_error_line():
        if args.predictions and Path(args.predictions).exists():
            raise ValueError(f"{args.predictions}: exists; choose a new file for the predictions")
        classifier = load_classifier(positional.model, hub_dir=args.hub_dir, batch_size=args.batch_size)
        dataset = labelled_split(positional.data, args.split, args.text_columns, args.label_column,
                                 label_names_of(classifier), keep=[args.group_by] if args.group_by else [],
                                 multi_label=decision_thresholds(classifier.model.config) is not None,
                                 delimiter=args.label_delimiter)
        metrics, records = score_dataset(classifier, dataset, args.group_by)
        if args.predictions:
            Path(args.predictions).write_text(records, encoding="utf-8")
    if args.predictions:
        logger.info("%s: %d predictions written", args.predictions, len(dataset))
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
