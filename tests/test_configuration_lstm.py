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
