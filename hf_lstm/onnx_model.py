"""The classifier as an ONNX graph: export (`torch.onnx`), int8 quantisation (ONNX Runtime's own tools), and an ONNX
Runtime model that the stock `pipeline("text-classification")` runs like the PyTorch one.

The exported graph is the whole `LSTMForSequenceClassification.forward`, truncation included (the model's config
rule, `truncate_batch`), with dynamic batch and length axes; its recurrent layers are ONNX `LSTM` / `GRU` / `RNN`
operators, which ONNX Runtime runs with its own kernels and quantises to int8 (`DynamicQuantizeLSTM`). An export
folder holds `model.onnx` (float32), `model_quantized.onnx` (int8, with `quantize="int8"`), `config.json` and the
tokenizer files: a complete inference package that needs neither PyTorch weights nor this project's training code.

optimum's ONNX exporter and `ORTModel` would be the usual route, but optimum-onnx requires transformers 4
(transformers < 5), so the export is `torch.onnx.export` (the dynamo exporter) and the runtime model below is a thin
`PreTrainedModel` around an `onnxruntime.InferenceSession`.
"""

import contextlib
import copy
import io
import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from .atomic import atomic_directory
from .configuration_lstm import LSTMConfig
from .loading import load_model
from .modeling_lstm import (
    LSTMLayer,
    LSTMPreTrainedModel,
    ReferenceLSTM,
    read_empty_reviews_as_padding,
    reverse_within_length,
)

ONNX_FILE = "model.onnx"
QUANTIZED_FILE = "model_quantized.onnx"  # optimum's name for the int8 graph
ONNX_FILES = {None: ONNX_FILE, "int8": QUANTIZED_FILE}
EXPORT_TOLERANCE = 1e-4  # largest logit difference accepted between the float32 graph and PyTorch
SAMPLE_REVIEWS = [
    "A moving film with a fine cast.",
    "Two hours I will never get back. The plot made no sense, the acting was wooden and the ending dragged on and "
    "on until I stopped caring about any of them.",
    "Fine.",
]


class OnnxExportError(RuntimeError):
    """An export that does not give the PyTorch model's logits; the message gives the difference."""


def onnx_runtime(path, threads=None):
    """An ONNX Runtime CPU `InferenceSession` for `path`, with `threads` intra-op threads (default: as many as
    PyTorch uses)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: no warnings about unused initializers on every load
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@torch.library.custom_op("hf_lstm::recurrent_layer", mutates_args=())
def recurrent_layer(
    inputs: torch.Tensor, lengths: torch.Tensor, weight_ih: torch.Tensor, weight_hh: torch.Tensor,
    bias_ih: torch.Tensor, bias_hh: torch.Tensor, cell_type: str, reverse: bool,
) -> torch.Tensor:
    """One direction of one recurrent layer, batch first: (batch, time, input) -> (batch, time, hidden); with
    `reverse`, each review is read from its last real token back (`reverse_within_length`), as `LSTMLayer` does.

    To torch.export this is one opaque operator whose output has the input's (dynamic) length, and its ONNX
    translation (`onnx_recurrent_layer`) is one ONNX LSTM / GRU / RNN operator that takes the reviews' lengths
    (`sequence_lens`): ONNX Runtime then reverses within each length itself, and quantises the LSTM to int8.
    (torch.export's own forms of `nn.GRU` and `nn.RNN` unroll or fix the length where the model truncates.)"""
    if reverse:
        inputs = reverse_within_length(inputs, lengths)
    hidden = inputs.new_zeros(1, inputs.shape[0], weight_hh.shape[1])  # (layers, batch, hidden)
    params, flags = [weight_ih, weight_hh, bias_ih, bias_hh], (True, 1, 0.0, False, False, True)
    if cell_type == "lstm":
        outputs = torch._VF.lstm(inputs, (hidden, hidden), params, *flags)[0]  # (batch, time, hidden)
    else:
        outputs = (torch._VF.gru if cell_type == "gru" else torch._VF.rnn_tanh)(inputs, hidden, params, *flags)[0]
    return reverse_within_length(outputs, lengths) if reverse else outputs.clone()


@recurrent_layer.register_fake
def _(inputs, lengths, weight_ih, weight_hh, bias_ih, bias_hh, cell_type, reverse):
    return inputs.new_empty(inputs.shape[0], inputs.shape[1], weight_hh.shape[1])  # (batch, time, hidden)


# PyTorch's gate blocks, in the order ONNX's operator wants them (LSTM: input, output, forget, cell; GRU: update,
# reset, new); PyTorch stacks LSTM gates as input, forget, cell, output and GRU gates as reset, update, new.
ONNX_GATE_ORDER = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2), "rnn": (0,)}


def onnx_recurrent_layer(inputs, lengths, weight_ih, weight_hh, bias_ih, bias_hh, cell_type: str, reverse: bool):
    """`recurrent_layer` as ONNX operators (time first, gates in ONNX's order, the lengths as `sequence_lens`)."""
    from onnxscript import INT32
    from onnxscript.onnx_opset import opset18 as op

    order = ONNX_GATE_ORDER[cell_type]

    def onnx_gates(tensor):
        if len(order) == 1:
            return tensor
        blocks = op.Split(tensor, axis=0, num_outputs=len(order))
        return op.Concat(*(blocks[i] for i in order), axis=0)

    weights = op.Unsqueeze(onnx_gates(weight_ih), [0])  # (1, gates * hidden, input)
    recurrent = op.Unsqueeze(onnx_gates(weight_hh), [0])  # (1, gates * hidden, hidden)
    biases = op.Unsqueeze(op.Concat(onnx_gates(bias_ih), onnx_gates(bias_hh), axis=0), [0])  # (1, 2 * gates * hidden)
    time_first = op.Transpose(inputs, perm=[1, 0, 2])  # (time, batch, input)
    arguments = (time_first, weights, recurrent, biases, op.Cast(lengths, to=INT32.dtype))
    options = {"hidden_size": weight_hh.shape[1], "direction": "reverse" if reverse else "forward"}
    if cell_type == "lstm":
        outputs, _, _ = op.LSTM(*arguments, **options)  # (time, 1, batch, hidden)
    elif cell_type == "gru":  # PyTorch applies the reset gate after the recurrent product
        outputs, _ = op.GRU(*arguments, linear_before_reset=1, **options)
    else:
        outputs, _ = op.RNN(*arguments, **options)
    return op.Transpose(op.Squeeze(outputs, [1]), perm=[1, 0, 2])  # (batch, time, hidden)


class ExportableLayer(LSTMLayer):
    """An `LSTMLayer` whose directions run as `recurrent_layer` operators: the same cells and weights and, at every
    real position, the same outputs (ONNX's operators give zeros past a review's length, where `LSTMLayer` gives what
    reading the padding gives; pooling and the layers above never read those positions)."""

    def __init__(self, layer):
        nn.Module.__init__(self)
        for cell in (layer.forward_cell, layer.backward_cell):
            if getattr(cell, "nonlinearity", "tanh") != "tanh":
                raise ValueError(f"ONNX export supports tanh RNN cells, got nonlinearity={cell.nonlinearity!r}")
        self.split_input = layer.split_input
        self.forward_cell, self.backward_cell = layer.forward_cell, layer.backward_cell

    def run_direction(self, cell, inputs, lengths, reverse):
        cell_type = "lstm" if isinstance(cell, (nn.LSTM, ReferenceLSTM)) else "gru" if isinstance(cell, nn.GRU) else "rnn"
        weights = (cell.weight_ih_l0, cell.weight_hh_l0, cell.bias_ih_l0, cell.bias_hh_l0)
        return recurrent_layer(inputs, lengths, *weights, cell_type, reverse)  # (batch, time, hidden)


def exportable_copy(model):
    """A copy of `model` whose recurrent layers run as `ExportableLayer`s."""
    model = copy.deepcopy(model)
    model.lstm.layers = nn.ModuleList(ExportableLayer(layer) for layer in model.lstm.layers)
    return model


@contextlib.contextmanager
def quiet(*names):
    """Only errors from the loggers `names` (and their children) while the block runs."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def export_graph(model, path, sample):
    """Write `model`'s forward pass (input_ids, attention_mask -> logits) to `path`, batch and length dynamic."""
    model = exportable_copy(model)
    batch, length = torch.export.Dim("batch", min=1), torch.export.Dim("length", min=1)
    axes = {0: batch, 1: length}
    # The exporter prints its progress and warns about what a user cannot act on (torchvision's operators, folding
    # skipped, an axis named twice); whether the graph is right is checked below and against PyTorch's logits.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), quiet("torch.onnx", "onnxscript"):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model,
            args=(),
            kwargs={"input_ids": sample["input_ids"], "attention_mask": sample["attention_mask"]},
            dynamo=True,
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_shapes={"input_ids": axes, "attention_mask": axes},
            custom_translation_table={torch.ops.hf_lstm.recurrent_layer.default: onnx_recurrent_layer},
        )
    program.save(str(path))
    graph_input = onnx.load(str(path), load_external_data=False).graph.input[0]
    if any(not axis.dim_param for axis in graph_input.type.tensor_type.shape.dim):
        raise OnnxExportError(f"{path}: the exporter fixed the input's shape ({graph_input.type.tensor_type.shape})")


def check_export(model, path, sample):
    """Raise `OnnxExportError` unless the graph at `path` gives `model`'s logits on `sample` to `EXPORT_TOLERANCE`."""
    with torch.no_grad():
        expected = model(**sample).logits.numpy()  # (batch, num_labels)
    got = onnx_runtime(path).run(["logits"], {name: sample[name].numpy() for name in ("input_ids", "attention_mask")})
    difference = float(np.abs(got[0] - expected).max())
    if not difference <= EXPORT_TOLERANCE:
        raise OnnxExportError(f"{path}: logits differ from PyTorch's by {difference:.3g} (> {EXPORT_TOLERANCE})")
    return difference


def quantize_graph(source, target):
    """ONNX Runtime's dynamic int8 quantisation of the recurrent layers and matrix products (weights int8, activations
    quantised per call); the embedding stays float32.

    ONNX Runtime's pre-processing first folds the exporter's weight reshaping into constants: its quantiser takes an
    `LSTM` whose weights are initializers (it becomes `DynamicQuantizeLSTM`). ONNX Runtime has no int8 GRU or RNN
    operator: those layers stay float32."""
    folded = Path(target).with_suffix(".folded.onnx")
    try:
        quant_pre_process(str(source), str(folded), skip_symbolic_shape=True)
        quantize_dynamic(
            str(folded), str(target), weight_type=QuantType.QInt8, op_types_to_quantize=["LSTM", "MatMul", "Gemm"]
        )
    finally:
        folded.unlink(missing_ok=True)


def export_onnx(model_folder, out_dir, quantize=None):
    """Export a saved classifier folder to `out_dir`: `model.onnx`, and with `quantize="int8"` also
    `model_quantized.onnx`, beside `config.json` and the tokenizer files. Returns the largest logit difference
    between the float32 graph and PyTorch on a sample batch (the export is refused above `EXPORT_TOLERANCE`).

    `out_dir` is written whole or not at all; an earlier export there is replaced, any other content is refused."""
    if quantize not in ONNX_FILES:
        raise ValueError(f"quantize must be one of {tuple(ONNX_FILES)}, got {quantize!r}")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / ONNX_FILE).is_file():
        raise FileExistsError(f"{out_dir}: not empty and not an ONNX export (no {ONNX_FILE}); choose another folder")
    architectures = LSTMConfig.from_pretrained(model_folder).architectures or []
    if "LSTMForSequenceClassification" not in architectures:
        raise ValueError(
            f"{model_folder}: holds {', '.join(architectures) or 'no architecture'}; ONNX export is for "
            "LSTMForSequenceClassification models (classification and regression)"
        )
    # the graph runs ONNX's fused operators, whichever cell implementation the model was trained with
    model, tokenizer = load_model(model_folder, lstm_impl="torch")
    sample = tokenizer(SAMPLE_REVIEWS, padding=True, return_tensors="pt")
    with atomic_directory(out_dir) as staging:
        export_graph(model, staging / ONNX_FILE, sample)
        difference = check_export(model, staging / ONNX_FILE, sample)
        if quantize == "int8":
            quantize_graph(staging / ONNX_FILE, staging / QUANTIZED_FILE)
        model.config.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
    return difference


class LSTMOnnxForSequenceClassification(LSTMPreTrainedModel):
    """An exported classifier run by ONNX Runtime behind the interface the stock pipeline uses: the same config,
    inputs (`input_ids`, `attention_mask`) and output (`logits`) as `LSTMForSequenceClassification`.

    Load it with `LSTMOnnxForSequenceClassification.from_export(folder, quantize=None | "int8")`."""

    def __init__(self, config, runtime=None):
        super().__init__(config)
        self.runtime = runtime
        self.post_init()

    @property
    def device(self):  # no torch parameters: ONNX Runtime runs the graph on the CPU
        return torch.device("cpu")

    @property
    def dtype(self):
        return torch.float32

    @classmethod
    def from_export(cls, folder, quantize=None, threads=None):
        if quantize not in ONNX_FILES:
            raise ValueError(f"quantize must be one of {tuple(ONNX_FILES)} with the ONNX backend, got {quantize!r}")
        path = Path(folder) / ONNX_FILES[quantize]
        if not path.is_file() and (Path(folder) / "model.safetensors").is_file():
            raise FileNotFoundError(f"{folder}: a PyTorch model folder, not an ONNX export; export it first: python "
                                    f"scripts/export_onnx.py {folder} {str(folder).rstrip('/')}-onnx --quantize int8")
        if not path.is_file():
            flag = " --quantize int8" if quantize else ""
            raise FileNotFoundError(
                f"{path}: missing; make it with python scripts/export_onnx.py MODEL_DIR {folder}{flag}"
            )
        return cls(LSTMConfig.from_pretrained(folder), onnx_runtime(path, threads)).eval()

    def forward(self, input_ids, attention_mask=None, **kwargs):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        input_ids, attention_mask = read_empty_reviews_as_padding(input_ids, attention_mask, self.config.pad_token_id)
        feed = {"input_ids": input_ids.cpu().numpy().astype(np.int64),
                "attention_mask": attention_mask.cpu().numpy().astype(np.int64)}
        (logits,) = self.runtime.run(["logits"], feed)  # (batch, num_labels)
        return SequenceClassifierOutput(logits=torch.from_numpy(logits))
