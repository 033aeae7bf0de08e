"""Show which words moved a model's predictions: one attribution per word (integrated gradients by default), as JSON
lines or as a self-contained HTML page with the words shaded.

    python scripts/explain.py outputs/imdb "A moving film, though the ending drags." --html report.html
    python scripts/explain.py outputs/imdb --file reviews.txt --method gradient_x_input
    python scripts/explain.py outputs/imdb --predictions outputs/imdb/test_predictions.jsonl --data data/imdb \
        --errors 20 --html mistakes.html          # the 20 most confident mistakes of a scored run

Texts come from the arguments, else from --file (one per line), else from --predictions (a prediction record of
scripts/train.py or scripts/score.py) and --data (the labelled data its rows point into).
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import hf_lstm  # noqa: F401  (registers the hf_lstm model type)
from hf_lstm.cli import one_error_line, parse_command_line
from hf_lstm.data import join_texts, load_raw_dataset
from hf_lstm.explain import METHODS, explain, explainable_model, write_report
from hf_lstm.prediction import load_classifier, predict, read_texts

logger = logging.getLogger("hf_lstm.explain")


@dataclass
class ExplainArguments:
    hub_dir: str | None = field(default=None, metadata={"help": "Hub directory to take the model from."})
    file: str | None = field(default=None, metadata={"help": "A UTF-8 file with one text per line."})
    predictions: str | None = field(
        default=None, metadata={"help": "A prediction record (test_predictions.jsonl): explain its rows' texts."}
    )
    data: str | None = field(default=None, metadata={"help": "With --predictions: the data its rows point into."})
    split: str = field(default="test", metadata={"help": "With --predictions: the split of --data (a dataset's)."})
    text_columns: list[str] = field(default_factory=lambda: ["text"], metadata={"help": "With --data: the text."})
    errors: int | None = field(
        default=None, metadata={"help": "With --predictions: only the N most confident mistakes."}
    )
    html: str | None = field(
        default=None, metadata={"help": "Write the HTML page to this new file (else JSON lines to stdout)."}
    )
    method: str = field(default="integrated_gradients", metadata={"help": "How words are scored.",
                                                                  "choices": list(METHODS)})
    steps: int = field(default=50, metadata={"help": "Integrated gradients: steps along the path."})


def recorded_texts(args):
    """[(text, record)] of a prediction record's rows, read from --data; with --errors, its N most confident
    mistakes (single-label: a predicted class other than the gold one, by the predicted class's probability)."""
    if not args.data:
        raise ValueError("--predictions needs --data: the labelled data its rows point into")
    with open(args.predictions, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    if args.errors is not None:
        wrong = [record for record in records if record.get("label", record.get("labels")) != record["gold"]]
        records = sorted(wrong, key=lambda record: -record.get("score", 0.0))[: args.errors]
    raw = load_raw_dataset(args.data)
    split = raw[next(iter(raw))] if len(raw) == 1 else raw[args.split]
    rows = join_texts(split.select([record["row"] for record in records]), args.text_columns, args.data)
    return list(zip(rows["text"], records))


def main(argv=None):
    args, positional = parse_command_line(
        ExplainArguments, [("model", "A model folder, or org/name[@revision] with --hub_dir."),
                           ("texts", "Texts to explain.", "*")], argv)
    with one_error_line():  # refusals before the model or any data is read
        if args.html and Path(args.html).exists():
            raise ValueError(f"{args.html}: exists; choose a new file for the report")
        for name in ("steps", "errors"):
            if getattr(args, name) is not None and getattr(args, name) < 1:
                raise ValueError(f"--{name} must be at least 1; got {getattr(args, name)}")
        classifier = load_classifier(positional.model, hub_dir=args.hub_dir)
        model = explainable_model(classifier)
        if positional.texts or args.file:
            texts = positional.texts or read_texts(args.file)
            pairs = [(text, {"gold": None, **result}) for text, result in zip(texts, predict(classifier, texts))]
        elif args.predictions:
            pairs = recorded_texts(args)
        else:
            raise ValueError("give texts, --file or --predictions with --data")
        explained = explain(model, classifier.tokenizer, [text for text, _ in pairs], method=args.method,
                            steps=args.steps)
        if args.html:
            write_report(args.html, [{"text": text, "explanation": explanation, "gold": record.get("gold"),
                                      "predicted": record.get("label", record.get("labels", record.get("rating")))}
                                     for (text, record), explanation in zip(pairs, explained)], args.method)
    if args.html:
        logger.info("%s: %d explained texts", args.html, len(pairs))
        return
    for (text, _), explanation in zip(pairs, explained):
        print(json.dumps({"text": text, **explanation}, ensure_ascii=False))


if __name__ == "__main__":
    main()
