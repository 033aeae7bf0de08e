import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch

from hf_lstm import LSTMForCausalLM, LSTMForSequenceClassification
from hf_lstm.onnx_model import (
    ONNX_FILE,
    QUANTIZED_FILE,
    LSTMOnnxForSequenceClassification,
    OnnxExportError,
    check_export,
    export_graph,
    export_onnx,
    onnx_runtime,
)
from hf_lstm.prediction import load_classifier, predict
from hf_lstm.tokenization import train_tokenizer

from .conftest import REVIEWS, save_tiny_model, tiny_config

# Every cell type, pooling and direction appears at least once; two-layer stacks mixed and kept apart; both truncations.
GRAPHS = [
    dict(cell_type="lstm", pooling="last", bidirectional=True, num_layers=2, separate_directions=True,
         truncation="head_tail", max_tokens=7),
    dict(cell_type="lstm", pooling="mean_max", bidirectional=False, truncation="head", max_tokens=7),
    dict(cell_type="gru", pooling="mean", bidirectional=True, num_layers=2, truncation="head", max_tokens=7),
    dict(cell_type="gru", pooling="last_mean_max", bidirectional=False),
    dict(cell_type="rnn", pooling="max", bidirectional=True, truncation="head_tail", max_tokens=7),
    dict(cell_type="rnn", pooling="last", bidirectional=False, num_layers=2),
    dict(cell_type="lstm", pooling="mean_max", bidirectional=True, truncation="head_tail", max_tokens=7,
         ngram_orders=[1, 2, 3], ngram_buckets=97),
]


def padded_batch(lengths, width=None, seed=0):
    """Random reviews of the given lengths, padded on the right with id 0."""
    generator = torch.Generator().manual_seed(seed)
    width = width or max(lengths)
    input_ids = torch.randint(1, 50, (len(lengths), width), generator=generator)  # (batch, width)
    attention_mask = (torch.arange(width) < torch.tensor(lengths).unsqueeze(1)).long()  # (batch, width)
    return {"input_ids": input_ids * attention_mask, "attention_mask": attention_mask}


def graph_name(shape):
    return (f"{shape['cell_type']}-{shape['pooling']}-{'bi' if shape['bidirectional'] else 'uni'}"
            f"{shape.get('num_layers', 1)}{'-ngrams' if shape.get('ngram_orders') else ''}")


@pytest.mark.parametrize("shape", GRAPHS, ids=graph_name)
def test_the_exported_graph_gives_pytorchs_logits_on_any_batch_and_length(tmp_path, shape):
    torch.manual_seed(0)
    model = LSTMForSequenceClassification(tiny_config(num_labels=3, **shape)).eval()
    if model.ngrams is not None:
        torch.nn.init.normal_(model.ngrams.weight)
    path = tmp_path / ONNX_FILE
    export_graph(model, path, padded_batch([4, 2, 6]))
    runtime = onnx_runtime(path)
    # one review of one token, a batch of one-token reviews, lengths mixed (padding, truncation both ways)
    for batch in (padded_batch([1]), padded_batch([1, 1, 1]), padded_batch([1, 12, 3, 7, 20], seed=1),
                  padded_batch([2, 5], width=9, seed=2)):
        with torch.no_grad():
            expected = model(**batch).logits.numpy()  # (batch, 3)
        (got,) = runtime.run(["logits"], {name: tensor.numpy() for name, tensor in batch.items()})
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_an_export_that_does_not_match_pytorch_is_refused(tmp_path):
    torch.manual_seed(0)
    model = LSTMForSequenceClassification(tiny_config()).eval()
    sample = padded_batch([3, 5])
    export_graph(model, tmp_path / ONNX_FILE, sample)
    assert check_export(model, tmp_path / ONNX_FILE, sample) <= 1e-4
    with torch.no_grad():
        model.classifier.bias += 0.01  # the graph now holds other weights than the model
    with pytest.raises(OnnxExportError, match="logits differ from PyTorch's by 0.01"):
        check_export(model, tmp_path / ONNX_FILE, sample)


@pytest.fixture(scope="module", params=["plain", "ngrams"])
def exported(tmp_path_factory, request):
    """A tiny saved model (plain, or with an n-gram channel) exported with int8 through the script, as a user would."""
    root = tmp_path_factory.mktemp("export")
    model_dir = save_tiny_model(root / "model", train_tokenizer(REVIEWS, max_vocab_size=100),
                                ngrams=request.param == "ngrams")
    result = subprocess.run(
        [sys.executable, "scripts/export_onnx.py", str(model_dir), str(root / "onnx"), "--quantize", "int8"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "largest logit difference from PyTorch" in result.stdout
    noise = [line for line in result.stderr.splitlines() if "Warning" in line or "Skipping" in line or "W1" in line]
    assert not noise, noise  # the exporter's warnings a user cannot act on are not shown
    return model_dir, root / "onnx"


TEXTS = ["a great film", "awful, boring plot and awful dialogue " * 10, "", "great"]


def test_the_export_folder_is_a_complete_inference_package(exported):
    _, onnx_dir = exported
    assert {path.name for path in onnx_dir.iterdir()} >= {
        ONNX_FILE, QUANTIZED_FILE, "config.json", "tokenizer.json", "tokenizer_config.json"
    }
    assert not any(path.suffix in (".safetensors", ".bin") for path in onnx_dir.iterdir())
    operators = {node.op_type for node in onnx.load(onnx_dir / QUANTIZED_FILE).graph.node}
    assert "DynamicQuantizeLSTM" in operators and "LSTM" not in operators
    graph = onnx.load(onnx_dir / ONNX_FILE).graph
    assert [axis.dim_param != "" for axis in graph.input[0].type.tensor_type.shape.dim] == [True, True]


def test_onnx_runtime_predictions_match_pytorch_through_the_pipeline(exported):
    model_dir, onnx_dir = exported
    expected = predict(load_classifier(str(model_dir)), TEXTS)
    float32 = predict(load_classifier(str(onnx_dir), backend="onnx"), TEXTS)
    int8_classifier = load_classifier(str(onnx_dir), backend="onnx", quantize="int8")
    assert isinstance(int8_classifier.model, LSTMOnnxForSequenceClassification)
    int8 = predict(int8_classifier, TEXTS)
    for reference, same, close in zip(expected, float32, int8):
        assert same["label"] == reference["label"]
        assert same.keys() == reference.keys() == close.keys()
        assert same["probabilities"]["pos"] == pytest.approx(reference["probabilities"]["pos"], abs=1e-4)
        assert close["probabilities"]["pos"] == pytest.approx(reference["probabilities"]["pos"], abs=0.02)


def test_predict_script_runs_the_onnx_backend(exported):
    model_dir, onnx_dir = exported

    def run(*args):
        command = [sys.executable, "scripts/predict.py", *args, "a great film", "awful"]
        return [json.loads(line) for line in subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()]

    for torch_line, onnx_line in zip(run("--model", str(model_dir)), run("--model", str(onnx_dir), "--backend", "onnx")):
        assert onnx_line["label"] == torch_line["label"]
        assert onnx_line["score"] == pytest.approx(torch_line["score"], abs=1e-4)


def test_onnx_backend_names_what_is_missing_or_refused(exported, tmp_path):
    model_dir, onnx_dir = exported
    with pytest.raises(FileNotFoundError, match="a PyTorch model folder, not an ONNX export; export it first") as hint:
        load_classifier(str(model_dir), backend="onnx")
    command = str(hint.value).split("export it first: ")[1].split()  # the hint's command, run as written
    subprocess.run([sys.executable, *command[1:]], check=True, capture_output=True, timeout=300)
    assert predict(load_classifier(f"{model_dir}-onnx", backend="onnx", quantize="int8"), ["a great film"])
    with pytest.raises(ValueError, match="an ONNX export .*: predict.py and demo.py run it with --backend onnx"):
        load_classifier(str(onnx_dir))
    (onnx_dir / QUANTIZED_FILE).rename(tmp_path / "aside.onnx")
    with pytest.raises(FileNotFoundError, match=f"{QUANTIZED_FILE}: missing; make it with python scripts/export_onnx"):
        load_classifier(str(onnx_dir), backend="onnx", quantize="int8")
    (tmp_path / "aside.onnx").rename(onnx_dir / QUANTIZED_FILE)
    with pytest.raises(ValueError, match="'bf16' is for the torch backend"):
        load_classifier(str(onnx_dir), backend="onnx", quantize="bf16")
    with pytest.raises(ValueError, match="backend must be one of"):
        load_classifier(str(onnx_dir), backend="tensorflow")


def test_export_refuses_a_folder_that_is_not_an_export_and_replaces_an_earlier_export(exported, tmp_path):
    model_dir, _ = exported
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="occupied: not empty and not an ONNX export"):
        export_onnx(model_dir, occupied)
    assert (occupied / "notes.txt").read_text() == "mine"
    target = tmp_path / "onnx"
    export_onnx(model_dir, target, quantize="int8")
    export_onnx(model_dir, target)  # float32 only: the earlier int8 graph goes with the earlier export
    assert (target / ONNX_FILE).is_file() and not (target / QUANTIZED_FILE).exists()
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # no staging left behind


def test_a_reference_cell_model_exports_the_fused_operator(tmp_path):
    tokenizer = train_tokenizer(REVIEWS, max_vocab_size=100)
    model_dir = save_tiny_model(tmp_path / "model", tokenizer)
    config = json.loads((model_dir / "config.json").read_text())
    (model_dir / "config.json").write_text(json.dumps({**config, "lstm_impl": "reference"}))
    assert export_onnx(model_dir, tmp_path / "onnx") <= 1e-4
    assert "LSTM" in {node.op_type for node in onnx.load(tmp_path / "onnx" / ONNX_FILE).graph.node}


def test_export_refuses_a_language_model(tmp_path):
    tokenizer = train_tokenizer(REVIEWS, max_vocab_size=100)
    LSTMForCausalLM(tiny_config(vocab_size=len(tokenizer))).save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    with pytest.raises(ValueError, match="holds LSTMForCausalLM; ONNX export is for LSTMForSequenceClassification"):
        export_onnx(tmp_path / "lm", tmp_path / "onnx")
    assert not (tmp_path / "onnx").exists()


def test_export_script_names_a_model_folder_that_does_not_exist(tmp_path):
    result = subprocess.run([sys.executable, "scripts/export_onnx.py", str(tmp_path / "missing"), str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and not (tmp_path / "out").exists()
    assert result.stderr.strip() == (
        f"error: {tmp_path}/missing: no such model folder, and the Hugging Face Hub did not give it "
        "(HFValidationError); for a model in a hub directory pass --hub_dir DIR"
    )
