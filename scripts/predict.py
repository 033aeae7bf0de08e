"""Predict labels (with every class's probability) or ratings for texts; prints one JSON line per text. A multi-label
model prints the labels above their thresholds ("labels") beside every label's probability ("scores").

    python scripts/predict.py --model outputs/imdb "A moving film." "Two hours I will never get back."
    python scripts/predict.py --model myteam/imdb-lstm@v1 --hub_dir /shared/hub --file reviews.txt
    cat reviews.txt | python scripts/predict.py --model outputs/clothing --quantize int8
    python scripts/predict.py --model outputs/imdb-onnx --backend onnx --quantize int8 "A moving film."
    python scripts/predict.py --model outputs/imdb --explain 5 "A moving film, though the ending drags."

Texts come from the arguments, else from --file (one per line), else from standard input (one per line).
"""

import json
import sys
from dataclasses import dataclass, field

import hf_lstm  # noqa: F401  (registers the hf_lstm model type: no remote code is needed)
from hf_lstm.cli import one_error_line, parse_command_line
from hf_lstm.explain import with_explanations
from hf_lstm.prediction import load_classifier, predict, read_texts


@dataclass
class PredictArguments:
    model: str = field(metadata={"help": "A model folder, or org/name[@revision] with --hub_dir."})
    hub_dir: str | None = field(default=None, metadata={"help": "Hub directory to take --model from."})
    file: str | None = field(default=None, metadata={"help": "A UTF-8 file with one text per line."})
    batch_size: int = field(default=64, metadata={"help": "Texts per forward pass."})
    quantize: str | None = field(
        default=None,
        metadata={"help": "int8: dynamic int8 quantisation (CPU; with --backend onnx, the export's int8 graph) | "
                          "bf16: bfloat16 (torch backend; fast on GPUs and AMX CPUs)."},
    )
    explain: int | None = field(
        default=None, metadata={"help": "Add the K words that moved each prediction most (integrated gradients), with "
                                        "their sign and character span; PyTorch float32 models only."}
    )
    backend: str = field(
        default="torch",
        metadata={"help": "torch: a saved model folder | onnx: a folder from scripts/export_onnx.py, run by ONNX "
                          "Runtime on the CPU.", "choices": ["torch", "onnx"]},
    )


def main(argv=None):
    args, positional = parse_command_line(PredictArguments, [("texts", "Texts to classify.", "*")], argv)
    with one_error_line():  # a folder, revision, file or text that cannot be used: one line, not a traceback
        if args.explain is not None and args.explain < 1:
            raise ValueError(f"--explain is a number of words, at least 1; got {args.explain}")
        texts = positional.texts or (read_texts(args.file) if args.file else sys.stdin.read().splitlines())
        classifier = load_classifier(
            args.model, hub_dir=args.hub_dir, quantize=args.quantize, batch_size=args.batch_size, backend=args.backend
        )
        results = predict(classifier, texts)
        if args.explain:
            results = with_explanations(classifier, texts, results, args.explain)
    for text, result in zip(texts, results):
        print(json.dumps({"text": text, **result}, ensure_ascii=False))


if __name__ == "__main__":
    main()
