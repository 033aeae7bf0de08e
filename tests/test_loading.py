import json
import os
import pickle

import pytest
from transformers import AutoTokenizer

from hf_lstm.loading import ModelFolderError, check_model_folder, load_model
from hf_lstm.tokenization import train_tokenizer


class Boom:
    """Unpickling this creates a file: proof that a pickle was (or was not) loaded."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_planted_pickle_is_never_unpickled(saved_model, tmp_path):
    marker = tmp_path / "unpickled"
    (saved_model / "pytorch_model.bin").write_bytes(pickle.dumps(Boom(str(marker))))
    model, _ = load_model(saved_model)
    assert model.config.model_type == "hf_lstm" and not marker.exists()
    (saved_model / "model.safetensors").unlink()
    with pytest.raises(ModelFolderError, match=r"model.safetensors: missing; found pytorch_model.bin \(pickle"):
        load_model(saved_model)
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_malformed_safetensors_is_named(saved_model, damage):
    weights = saved_model / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\xff" * 64)
    with pytest.raises(ModelFolderError, match=r"model.safetensors: not a readable safetensors file"):
        load_model(saved_model)


def test_config_that_does_not_match_the_weights_names_both_sizes(saved_model):
    config_path = saved_model / "config.json"
    config = json.loads(config_path.read_text())
    vocab_size = config["vocab_size"]
    config_path.write_text(json.dumps({**config, "vocab_size": vocab_size + 5}))
    with pytest.raises(ModelFolderError, match=rf"vocab_size {vocab_size + 5} does not match.*\({vocab_size} rows\)"):
        load_model(saved_model)
    config_path.write_text(json.dumps({**config, "id2label": {"0": "a", "1": "b", "2": "c"}, "label2id": None}))
    with pytest.raises(ModelFolderError, match="config.json has 3 labels but the classifier .* has 2 outputs"):
        check_model_folder(saved_model)


def test_tokenizer_larger_than_the_embedding_is_refused(saved_model):
    bigger = train_tokenizer([f"word{i}" for i in range(200)], max_vocab_size=500)
    bigger.save_pretrained(saved_model)
    with pytest.raises(ModelFolderError, match=r"tokenizer.json has 202 tokens but config.json vocab_size is \d+"):
        load_model(saved_model)
