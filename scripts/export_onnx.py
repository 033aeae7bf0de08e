"""Export a trained classifier to ONNX: a folder with model.onnx (and model_quantized.onnx, int8), config.json and the
tokenizer files, which ONNX Runtime runs without the PyTorch weights.

    python scripts/export_onnx.py outputs/imdb outputs/imdb-onnx --quantize int8
    python scripts/predict.py --model outputs/imdb-onnx --backend onnx --quantize int8 "A moving film."

The float32 graph is checked against PyTorch on a sample batch (largest logit difference printed; refused above 1e-4).
"""

from dataclasses import dataclass, field

import hf_lstm  # noqa: F401  (registers the hf_lstm model type)
from hf_lstm.cli import one_error_line, parse_command_line, require_extra
from hf_lstm.hub import resolve_model


@dataclass
class ExportArguments:
    hub_dir: str | None = field(default=None, metadata={"help": "Hub directory to take the model from."})
    quantize: str | None = field(
        default=None, metadata={"help": "int8: also write model_quantized.onnx (ONNX Runtime dynamic int8 quantisation)."}
    )


def main(argv=None):
    args, positional = parse_command_line(ExportArguments, [
        ("model", "A trained model folder, or org/name[@revision] with --hub_dir."),
        ("out_dir", "Folder to write the ONNX package to (an earlier export there is replaced)."),
    ], argv)
    with one_error_line():
        require_extra("onnx", "onnx", "onnxruntime", "onnxscript")
    from hf_lstm.onnx_model import export_onnx

    with one_error_line(ValueError, OSError, RuntimeError):
        model = resolve_model(positional.model, args.hub_dir)
        difference = export_onnx(model, positional.out_dir, quantize=args.quantize)
    print(f"{positional.out_dir}: exported; largest logit difference from PyTorch on a sample batch {difference:.2g}")


if __name__ == "__main__":
    main()
