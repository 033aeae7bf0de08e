import pytest
from transformers import AutoConfig

import hf_lstm  # noqa: F401  (registers the Auto classes)
from hf_lstm import LSTMConfig


def test_config_round_trip(tmp_path):
    config = LSTMConfig(vocab_size=123, hidden_size=7, bidirectional=True, pooling="max", cell_type="gru",
                        num_labels=5, id2label={i: str(i + 1) for i in range(5)})
    config.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, LSTMConfig)
    assert (loaded.vocab_size, loaded.hidden_size, loaded.bidirectional, loaded.pooling, loaded.cell_type) == (
        123, 7, True, "max", "gru")
    assert loaded.num_labels == 5 and loaded.id2label[4] == "5"


def test_config_defaults():
    config = LSTMConfig()
    assert (config.embedding_dim, config.hidden_size, config.num_layers, config.pooling) == (100, 256, 1, "last")
    assert config.model_type == "hf_lstm" and config.pad_token_id == 0


def test_every_keyword_is_documented_and_offered_as_a_model_option():
    import inspect

    from hf_lstm.arguments import NOT_MODEL_OPTIONS, ModelArguments, config_options

    keywords = [name for name in inspect.signature(LSTMConfig.__init__).parameters if name not in ("self", "kwargs")]
    offered = [name for name, _, _ in config_options()]
    assert offered == [name for name in keywords if name not in NOT_MODEL_OPTIONS]
    defaults = ModelArguments()
    config = LSTMConfig()
    for name in offered:  # the command line's defaults are the config's
        assert getattr(defaults, name) == (list(getattr(config, name)) if name == "adaptive_softmax_cutoffs"
                                           else getattr(config, name)), name
    help_text = {name: spec.metadata["help"] for name, _, spec in config_options()}
    assert help_text["hidden_size"] == "Width of the recurrent state of each direction."


@pytest.mark.parametrize("values, message", [
    ({"pooling": "avg"}, "pooling must be one of"),
    ({"cell_type": "lstmx"}, "cell_type must be one of"),
    ({"truncation": "tail", "max_tokens": 10}, "truncation must be one of"),
    ({"dropout": -0.5}, r"dropout is a probability in \[0, 1\); got -0.5"),
    ({"hidden_size": 0}, "hidden_size must be a whole number of at least 1; got 0"),
    ({"lstm_impl": "reference", "cell_type": "gru"}, "reference"),
])
def test_the_config_refuses_its_own_bad_values(values, message):
    with pytest.raises(ValueError, match=message):
        LSTMConfig(**values)
