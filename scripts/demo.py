"""Serve a small web page for a trained model: a text box, the predicted label with every class's probability as bars
(or the predicted rating, for a regression model), and a few example reviews. Binds to 127.0.0.1 unless told otherwise.

    python scripts/demo.py --model outputs/imdb
    python scripts/demo.py --model myteam/imdb-lstm@v1 --hub_dir /shared/hub --port 7861
    python scripts/demo.py --model outputs/imdb-onnx --backend onnx --quantize int8
"""

import os
from dataclasses import dataclass, field

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no usage reports

import hf_lstm  # noqa: E402,F401  (registers the hf_lstm model type)
from hf_lstm.cli import one_error_line, parse_command_line, require_extra  # noqa: E402
from hf_lstm.prediction import load_classifier  # noqa: E402


@dataclass
class DemoArguments:
    model: str = field(metadata={"help": "A model folder (or ONNX export folder), or org/name[@revision] with --hub_dir."})
    hub_dir: str | None = field(default=None, metadata={"help": "Hub directory to take --model from."})
    backend: str = field(default="torch", metadata={"help": "torch | onnx (an export folder).",
                                                    "choices": ["torch", "onnx"]})
    quantize: str | None = field(default=None, metadata={"help": "int8 | bf16 (torch only), as for predict.py."})
    host: str = field(default="127.0.0.1", metadata={"help": "Address to bind; 0.0.0.0 serves other machines too."})
    port: int = field(default=7860, metadata={"help": "Port to serve on."})


def main(argv=None):
    (args,) = parse_command_line(DemoArguments, argv=argv)
    with one_error_line():
        require_extra("demo", "gradio")
    from hf_lstm.demo import build_demo, check_port_free

    with one_error_line():
        check_port_free(args.host, args.port)
        classifier = load_classifier(args.model, hub_dir=args.hub_dir, quantize=args.quantize, backend=args.backend)
        build_demo(classifier, title=f"hf_lstm: {args.model}").launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
