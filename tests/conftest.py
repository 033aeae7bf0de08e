"""Tiny in-memory fixtures shared by the tests."""

import pytest
import torch

from hf_lstm import LSTMConfig, LSTMForSequenceClassification
from hf_lstm.tokenization import train_tokenizer

REVIEWS = [
    "A wonderful film, the acting is great and the story moving.",
    "Terrible. Boring plot<br />and awful dialogue!",
    "I loved every minute of it; great music too.",
    "Worst movie of the year, a waste of time.",
]


@pytest.fixture
def tokenizer():
    return train_tokenizer(REVIEWS, max_vocab_size=100)


def tiny_config(**overrides):
    values = dict(vocab_size=50, embedding_dim=8, hidden_size=6, num_labels=2, pad_token_id=0)
    values.update(overrides)
    return LSTMConfig(**values)


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    return LSTMForSequenceClassification(tiny_config(bidirectional=True, pooling="mean_max")).eval()


def save_tiny_model(directory, tokenizer, regression=False, seed=0, multi_label=False, ngrams=False):
    """Save an untrained tiny model with its tokenizer, as scripts/train.py would (config, safetensors, code);
    `multi_label`: three topics, with decision thresholds; `ngrams`: with an n-gram channel of random weights."""
    torch.manual_seed(seed)
    if regression:
        labels = dict(num_labels=1, problem_type="regression", id2label={0: "rating"}, label2id={"rating": 0})
    elif multi_label:
        names = ["music", "politics", "sports"]
        labels = dict(num_labels=3, problem_type="multi_label_classification", id2label=dict(enumerate(names)),
                      label2id={name: i for i, name in enumerate(names)}, decision_thresholds=[0.3, 0.5, 0.7])
    else:
        labels = dict(num_labels=2, id2label={0: "neg", 1: "pos"}, label2id={"neg": 0, "pos": 1})
    config = tiny_config(vocab_size=len(tokenizer), bidirectional=True, pooling="mean_max", truncation="head_tail",
                         max_tokens=32, **labels, **(dict(ngram_orders=[1, 2, 3], ngram_buckets=512) if ngrams else {}))
    model = LSTMForSequenceClassification(config)
    if ngrams:
        torch.nn.init.normal_(model.ngrams.weight, std=0.3)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture
def saved_model(tmp_path, tokenizer):
    return save_tiny_model(tmp_path / "model", tokenizer)
