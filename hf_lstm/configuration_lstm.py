"""Configuration of the hf_lstm recurrent text classifier."""

from dataclasses import field
from typing import Literal

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

# Keys that models saved by hf_lstm 0.1 carry in config.json and that no longer mean anything to a model: training
# options (loss weights, now `LSTMTrainingArguments` fields) and removed options. Such models load without them.
RETIRED_KEYS = (
    "recurrent_dropout", "expected_value_loss_weight", "adversarial_epsilon", "virtual_adversarial_epsilon",
    "virtual_adversarial_xi", "virtual_adversarial_weight", "entropy_weight", "distillation_alpha",
    "distillation_temperature",
)


def option(default, help_text, **kwargs):
    """A config field with its help text, which `scripts/train.py --help` shows."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help_text}, **kwargs)
    return field(default=default, metadata={"help": help_text}, **kwargs)


@strict
class LSTMConfig(PreTrainedConfig):
    r"""
    Configuration of an [`LSTMModel`], [`LSTMForSequenceClassification`] or [`LSTMForCausalLM`]: the architecture and
    what prediction needs (the truncation, the normalised embeddings, a multi-label model's decision thresholds). Each
    field's `help` documents it; like every `PreTrainedConfig` it also carries `num_labels`, `problem_type`,
    `id2label` and `label2id`.

    ```python
    >>> from hf_lstm import LSTMConfig, LSTMForSequenceClassification
    >>> model = LSTMForSequenceClassification(LSTMConfig(bidirectional=True, pooling="mean_max", num_labels=2))
    ```
    """

    model_type = "hf_lstm"

    vocab_size: int = option(25002, "Rows of the embedding matrix: the size of the word-level vocabulary.")
    embedding_dim: int = option(100, "Width of the word embeddings.")
    hidden_size: int = option(256, "Width of the recurrent state of each direction.")
    num_layers: int = option(1, "Number of stacked recurrent layers.")
    bidirectional: bool = option(False, "Whether each layer also reads each review right to left (within its length).")
    separate_directions: bool = option(
        False,
        "Bidirectional stacks: keep the two directions apart from layer to layer (ELMo), so each layer's forward cell "
        "reads only the forward outputs below it. A two-way language model needs it; by default each layer reads both.",
    )
    dropout: float | int = option(0.0, "Dropout between stacked layers and on the pooled vector before the head.")
    embedding_dropout: float | int = option(0.0, "Dropout on the word embeddings.")
    pooling: Literal["last", "mean", "max", "mean_max", "last_mean_max"] = option(
        "last",
        "How a review's outputs become one vector: the final state of each direction, their mean, their maximum, "
        "mean and max concatenated, or all three (ULMFiT's concat pooling); padding never takes part.",
    )
    cell_type: Literal["lstm", "gru", "rnn"] = option("lstm", "Recurrent cell (rnn: tanh).")
    lstm_impl: Literal["torch", "reference"] = option(
        "torch",
        "torch runs the cells with torch.nn.LSTM/GRU/RNN; reference runs the LSTM gate by gate in plain PyTorch (slow, "
        "for reading; same weights and outputs; lstm cells only).",
    )
    normalize_embeddings: bool = option(
        False,
        "Read the word vectors normalised (Miyato et al., 2017): each dimension minus its mean, over its standard "
        "deviation, both weighted by the words' frequencies in the training text (saved with the model).",
    )
    truncation: Literal["head", "head_tail"] | None = option(
        None,
        "How a review longer than max_tokens is cut, inside the model (training, evaluation, pipeline and export read "
        "the same tokens): its first max_tokens tokens, or its first and last halves. None keeps every token.",
    )
    max_tokens: int | None = option(None, "Tokens kept per review when truncation is set.")
    adaptive_softmax_cutoffs: list[int] = option(
        [2000, 10000],
        "Language models: the vocabulary ids (by frequency) where the adaptive softmax's clusters start; cutoffs at or "
        "past vocab_size are dropped.",
    )
    ngram_orders: list[int] = option(
        [],
        "The n-gram channel (wide and deep): the orders of the n-grams of token ids it reads, e.g. 1 2 3; each "
        "n-gram is hashed into one of ngram_buckets rows of per-label weights; the review's distinct rows, summed, "
        "plus a bias are added to the head's logits. Fitted as NBSVM before training (classification only). Empty: "
        "no channel.",
    )
    ngram_buckets: int = option(
        2**22, "The n-gram channel's hashed buckets (rows of per-label weights; n-grams that share one share it).",
    )
    pad_token_id: int | None = option(0, "Id of the [PAD] token; its embedding row stays zero.")
    decision_thresholds: list[float] | None = option(
        None,
        "Multi-label models: each label's threshold on its sigmoid probability (in id2label's order), chosen on "
        "validation; a label is predicted when its probability reaches it. None: 0.5 for every label.",
    )

    def __post_init__(self, **kwargs):
        for key in RETIRED_KEYS:
            kwargs.pop(key, None)
        super().__post_init__(**kwargs)

    def validate_architecture(self):
        """Refuse a value no model can be built from, naming the field."""
        for name in ("vocab_size", "embedding_dim", "hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a whole number of at least 1; got {getattr(self, name)!r}")
        for name in ("dropout", "embedding_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} is a probability in [0, 1); got {getattr(self, name)!r}")
        if self.truncation is not None and not (self.max_tokens or 0) > 0:
            raise ValueError(f"truncation={self.truncation!r} needs max_tokens > 0; got {self.max_tokens!r}")
        if self.decision_thresholds is not None and (
            len(self.decision_thresholds) != self.num_labels or not all(0 < t < 1 for t in self.decision_thresholds)
        ):
            raise ValueError(f"decision_thresholds must hold one probability in (0, 1) per label ({self.num_labels}); "
                             f"got {self.decision_thresholds!r}")
        orders = self.ngram_orders
        if self.ngram_buckets < 1 or any(order < 1 for order in orders) or len(set(orders)) != len(orders):
            raise ValueError(f"ngram_orders must be distinct whole numbers of at least 1 and ngram_buckets at least 1; "
                             f"got {self.ngram_orders!r} and {self.ngram_buckets!r}")
        if self.lstm_impl == "reference" and self.cell_type != "lstm":
            raise ValueError(f"lstm_impl='reference' exists for cell_type='lstm' only; got {self.cell_type!r}")
