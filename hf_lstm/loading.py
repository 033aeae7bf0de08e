"""Load a saved model folder safely: safetensors only, checked against its config and tokenizer before use."""

import json
from pathlib import Path

from safetensors import safe_open
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.tokenization_utils_base import VERY_LARGE_INTEGER

from .configuration_lstm import LSTMConfig


class ModelFolderError(ValueError):
    """A model folder that cannot be loaded safely; the message names the file and the sizes."""


def check_model_folder(folder):
    """Refuse a folder whose weights are not readable safetensors, or do not match its config and tokenizer."""
    folder = Path(folder)
    weights = folder / "model.safetensors"
    if not weights.is_file() and (folder / "model.onnx").is_file():
        raise ModelFolderError(f"{folder}: an ONNX export (model.onnx, no PyTorch weights): predict.py and demo.py run "
                               "it with --backend onnx; elsewhere give the model folder it was exported from")
    if not weights.is_file():
        found = "pytorch_model.bin (pickle, never loaded)" if (folder / "pytorch_model.bin").exists() else "nothing"
        raise ModelFolderError(f"{weights}: missing; found {found}. Only safetensors weights are loaded")
    try:
        with safe_open(str(weights), framework="pt") as handle:
            shapes = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    except Exception as error:
        raise ModelFolderError(f"{weights}: not a readable safetensors file ({error})") from error
    config = LSTMConfig.from_pretrained(folder)
    embedding = next((shape for name, shape in shapes.items() if name.endswith("embeddings.weight")), None)
    if embedding is None or embedding[0] != config.vocab_size:
        raise ModelFolderError(
            f"{folder}: config.json vocab_size {config.vocab_size} does not match the embedding in "
            f"model.safetensors ({embedding[0] if embedding else 'absent'} rows)"
        )
    head = shapes.get("classifier.weight")
    if head is not None and head[0] != config.num_labels:
        raise ModelFolderError(
            f"{folder}: config.json has {config.num_labels} labels but the classifier in model.safetensors has "
            f"{head[0]} outputs"
        )
    tokenizer_file = folder / "tokenizer.json"
    if tokenizer_file.is_file():
        vocabulary = json.loads(tokenizer_file.read_text())["model"]["vocab"]
        if len(vocabulary) > config.vocab_size:
            raise ModelFolderError(
                f"{folder}: tokenizer.json has {len(vocabulary)} tokens but config.json vocab_size is "
                f"{config.vocab_size}: ids past the embedding would fail"
            )


def load_model(folder, **kwargs):
    """(model, tokenizer) from a folder, after `check_model_folder`; never unpickles anything.

    A model saved before its config carried the truncation (`truncation`, `max_tokens`) was scored with its tokenizer
    cutting each review's head at `model_max_length`: such a model gets that rule in its config, so it keeps
    predicting as it did, whether or not the caller asks the tokenizer to truncate.
    """
    check_model_folder(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder, use_safetensors=True, **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if getattr(model.config, "truncation", None) is None and tokenizer.model_max_length < VERY_LARGE_INTEGER:
        model.config.truncation, model.config.max_tokens = "head", tokenizer.model_max_length
    return model.eval(), tokenizer
