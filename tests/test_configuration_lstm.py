import json
from dataclasses import fields

import pytest
import torch
from huggingface_hub.errors import StrictDataclassError
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

import hf_lstm  # noqa: F401  (registers the Auto classes)
from hf_lstm import LSTMConfig
from hf_lstm.configuration_lstm import RETIRED_KEYS

SAVED_BY_0_1 = "tests/fixtures/saved_model_0_1"  # saved by hf_lstm 0.1, whose config.json has the training options


def test_config_round_trip(tmp_path):
    config = LSTMConfig(vocab_size=123, hidden_size=7, bidirectional=True, pooling="max", cell_type="gru",
                        num_labels=5, id2label={i: str(i + 1) for i in range(5)})
    config.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, LSTMConfig)
    assert (loaded.vocab_size, loaded.hidden_size, loaded.bidirectional, loaded.pooling, loaded.cell_type) == (
        123, 7, True, "max", "gru")
    assert loaded.num_labels == 5 and loaded.id2label[4] == "5"


def test_config_defaults_hold_no_training_option():
    config = LSTMConfig()
    assert (config.embedding_dim, config.hidden_size, config.num_layers, config.pooling) == (100, 256, 1, "last")
    assert config.model_type == "hf_lstm" and config.pad_token_id == 0
    saved = config.to_dict()
    assert not [key for key in saved if "weight" in key or "epsilon" in key or "distillation" in key]


def test_every_field_is_documented_and_offered_as_a_model_option():
    from hf_lstm.arguments import NOT_MODEL_OPTIONS, ModelArguments, config_options

    own = [option.name for option in fields(LSTMConfig) if option.name in LSTMConfig.__annotations__]
    offered = [name for name, _, _ in config_options()]
    assert offered == [name for name in own if name not in NOT_MODEL_OPTIONS]
    defaults, config = ModelArguments(), LSTMConfig()
    for name in offered:  # the command line's defaults are the config's
        assert getattr(defaults, name) == getattr(config, name), name
    help_text = {name: spec.metadata["help"] for name, _, spec in config_options()}
    assert help_text["hidden_size"] == "Width of the recurrent state of each direction."
    assert all(help_text.values())


@pytest.mark.parametrize("values, message", [
    ({"pooling": "avg"}, "pooling"),
    ({"cell_type": "lstmx"}, "cell_type"),
    ({"truncation": "tail", "max_tokens": 10}, "truncation"),
    ({"truncation": "head"}, "needs max_tokens > 0"),
    ({"dropout": -0.5}, r"dropout is a probability in \[0, 1\); got -0.5"),
    ({"hidden_size": 0}, "hidden_size must be a whole number of at least 1; got 0"),
    ({"lstm_impl": "reference", "cell_type": "gru"}, "reference"),
])
def test_the_config_refuses_its_own_bad_values(values, message):
    with pytest.raises((ValueError, StrictDataclassError), match=message):
        LSTMConfig(**values)


def test_a_model_saved_by_0_1_loads_without_its_training_options_and_predicts_the_same_logits(tmp_path):
    saved = json.loads(open(f"{SAVED_BY_0_1}/config.json").read())
    assert {"adversarial_epsilon", "recurrent_dropout", "distillation_alpha"} <= set(saved)
    model = AutoModelForSequenceClassification.from_pretrained(SAVED_BY_0_1).eval()
    assert not [key for key in RETIRED_KEYS if hasattr(model.config, key)]
    tokenizer = AutoTokenizer.from_pretrained(SAVED_BY_0_1)
    expected = json.loads(open(f"{SAVED_BY_0_1}/expected_logits.json").read())
    with torch.no_grad():
        logits = model(**tokenizer(expected["texts"], padding=True, return_tensors="pt")).logits
    assert torch.allclose(logits, torch.tensor(expected["logits"]), atol=1e-6)
    model.save_pretrained(tmp_path)  # saved again: the retired keys are gone
    assert not set(RETIRED_KEYS) & set(json.loads((tmp_path / "config.json").read_text()))
