"""Configuration of the hf_lstm recurrent text classifier."""

from transformers import PretrainedConfig

# The allowed values of the config's choice fields (the training options offer the same choices).
CELL_TYPES = ("lstm", "gru", "rnn")
POOLINGS = ("last", "mean", "max", "mean_max", "last_mean_max")
LSTM_IMPLS = ("torch", "reference")
TRUNCATIONS = ("head", "head_tail")


class LSTMConfig(PretrainedConfig):
    r"""
    Configuration of an [`LSTMModel`], [`LSTMForSequenceClassification`] or [`LSTMForCausalLM`]. Like every `PretrainedConfig` it also
    carries the standard classification fields (`num_labels`, `problem_type`, `id2label`, `label2id`).

    Args:
        vocab_size (`int`, *optional*, defaults to 25002):
            Number of rows of the embedding matrix; equals the size of the word-level vocabulary.
        embedding_dim (`int`, *optional*, defaults to 100):
            Width of the word embeddings.
        hidden_size (`int`, *optional*, defaults to 256):
            Width of the recurrent state of each direction.
        num_layers (`int`, *optional*, defaults to 1):
            Number of stacked recurrent layers.
        bidirectional (`bool`, *optional*, defaults to `False`):
            Whether each layer also reads each review right to left (within its own length).
        dropout (`float`, *optional*, defaults to 0.0):
            Dropout between stacked layers and on the pooled vector before the classifier.
        embedding_dropout (`float`, *optional*, defaults to 0.0):
            Dropout on the word embeddings.
        recurrent_dropout (`float`, *optional*, defaults to 0.0):
            Dropout on the hidden-to-hidden weights of every cell during training (DropConnect, as in AWD-LSTM): one
            mask per batch, so every time step sees the same dropped weights. Evaluation uses all the weights.
        separate_directions (`bool`, *optional*, defaults to `False`):
            For a bidirectional stack: keep the two directions apart from layer to layer, so that each layer's forward
            cell reads only the forward outputs below it and its backward cell only the backward ones (as in ELMo).
            A two-way language model needs it: in a mixed stack the second layer's forward cell would read backward
            outputs that have already seen the word it must predict. By default each layer reads both directions.
        adaptive_softmax_cutoffs (`list[int]`, *optional*, defaults to `[2000, 10000]`):
            Language models only: the vocabulary ids (ordered by frequency) where the adaptive softmax's clusters
            start; the most frequent words cost a full product, rarer ones a smaller one. Cutoffs at or past
            `vocab_size` are dropped.
        pooling (`str`, *optional*, defaults to `"last"`):
            How a review's outputs become one vector: `"last"` (final state of each direction), `"mean"`, `"max"`,
            `"mean_max"` (both, concatenated) or `"last_mean_max"` (all three, ULMFiT's concat pooling); padding never
            takes part.
        cell_type (`str`, *optional*, defaults to `"lstm"`):
            Recurrent cell: `"lstm"`, `"gru"` or `"rnn"` (tanh).
        lstm_impl (`str`, *optional*, defaults to `"torch"`):
            `"torch"` runs the cells with `torch.nn.LSTM`/`GRU`/`RNN`; `"reference"` runs the LSTM gate by gate in plain
            PyTorch (slow, for reading; same weights and outputs). Only `cell_type="lstm"` has a reference version.
        expected_value_loss_weight (`float`, *optional*, defaults to 0.0):
            For classes that are ordered numbers (star ratings "1".."5" in `id2label`): add this weight times the
            squared error between the expected value under the predicted probabilities and the true value to the
            cross-entropy, so that a 1-star review predicted as 5 stars costs more than one predicted as 2.
        adversarial_epsilon (`float`, *optional*, defaults to 0.0):
            Adversarial training on the word embeddings (Miyato et al., 2017): in training, also compute the loss on
            each review's embeddings moved by this L2 norm in the direction that raises its loss most (its
            gradient), and add it to the loss. 0 turns it off; when on, a training step costs 2.3 (Xeon, bf16) to 3.4
            (EPYC, float32) times as much.
            Miyato et al. use 5.0 on normalised embeddings (`normalize_embeddings`).
        normalize_embeddings (`bool`, *optional*, defaults to `False`):
            Read the word vectors normalised (Miyato et al., 2017, section 3): each dimension minus its mean, divided
            by its standard deviation, both weighted by the words' frequencies in the training text
            (`token_frequencies`, saved with the model), so that a perturbation of fixed norm stays meaningful: the
            network cannot grow its embeddings until it is negligible. Part of the model: inference reads them so too.
        virtual_adversarial_epsilon (`float`, *optional*, defaults to 0.0):
            Virtual adversarial training (Miyato et al., 2017): in training, add the KL divergence between the
            prediction and the prediction on the embeddings moved by this L2 norm in the direction that changes it
            most (found by one power iteration from a random direction), on labelled and unlabelled reviews; for
            regression, the squared difference of the predicted values. No label is needed. 0 turns it off; the
            papers use 5.0.
        virtual_adversarial_xi (`float`, *optional*, defaults to 0.1):
            Size of the random direction's step in the power iteration of virtual adversarial training (the finite
            difference's small constant; 0.1 in Miyato et al.'s code).
        virtual_adversarial_weight (`float`, *optional*, defaults to 1.0):
            Weight of the virtual adversarial term in the loss.
        entropy_weight (`float`, *optional*, defaults to 0.0):
            Entropy minimisation (Sachan et al., 2019): in training, add this weight times the mean entropy of the
            predicted class distribution on unlabelled reviews, which pushes the decision boundary away from them.
            Classification only; 0 turns it off.
        distillation_alpha (`float`, *optional*, defaults to 0.5):
            When a run has teachers (`--teacher_model_name_or_path`): the loss is this weight times the cross-entropy
            on labelled reviews plus (1 - it) times the distillation term on every review, labelled and unlabelled
            (Hinton et al., 2015). 0 learns from the teachers alone.
        distillation_temperature (`float`, *optional*, defaults to 2.0):
            Temperature `T` of distillation: the distillation term is `T**2` times the KL divergence from the
            teachers' averaged probabilities to the model's, both at temperature `T` (for regression: the squared
            difference from the teachers' mean rating, `T` unused).
        truncation (`str`, *optional*, defaults to `None`):
            How a review longer than `max_tokens` tokens is cut, inside the model, so that training, evaluation, the
            pipeline and exported graphs all read the same tokens: `"head"` (its first `max_tokens` tokens) or
            `"head_tail"` (its first `max_tokens // 2` and its last `max_tokens - max_tokens // 2` tokens). `None`
            keeps every token (models saved without this field: their tokenizer cut the head).
        max_tokens (`int`, *optional*, defaults to `None`):
            Tokens kept per review when `truncation` is set (the training option `max_length`; not named so here
            because transformers reads a config's `max_length` as a text-generation setting).
        pad_token_id (`int`, *optional*, defaults to 0):
            Id of the `[PAD]` token; its embedding row stays zero.
    """

    model_type = "hf_lstm"

    def __init__(
        self,
        vocab_size=25002,
        embedding_dim=100,
        hidden_size=256,
        num_layers=1,
        bidirectional=False,
        separate_directions=False,
        dropout=0.0,
        embedding_dropout=0.0,
        recurrent_dropout=0.0,
        pooling="last",
        cell_type="lstm",
        lstm_impl="torch",
        expected_value_loss_weight=0.0,
        adversarial_epsilon=0.0,
        normalize_embeddings=False,
        virtual_adversarial_epsilon=0.0,
        virtual_adversarial_xi=0.1,
        virtual_adversarial_weight=1.0,
        entropy_weight=0.0,
        distillation_alpha=0.5,
        distillation_temperature=2.0,
        truncation=None,
        max_tokens=None,
        adaptive_softmax_cutoffs=(2000, 10000),
        pad_token_id=0,
        **kwargs,
    ):
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.separate_directions = separate_directions
        self.dropout = dropout
        self.embedding_dropout = embedding_dropout
        self.recurrent_dropout = recurrent_dropout
        self.pooling = pooling
        self.cell_type = cell_type
        self.lstm_impl = lstm_impl
        self.expected_value_loss_weight = expected_value_loss_weight
        self.adversarial_epsilon = adversarial_epsilon
        self.normalize_embeddings = normalize_embeddings
        self.virtual_adversarial_epsilon = virtual_adversarial_epsilon
        self.virtual_adversarial_xi = virtual_adversarial_xi
        self.virtual_adversarial_weight = virtual_adversarial_weight
        self.entropy_weight = entropy_weight
        self.distillation_alpha = distillation_alpha
        self.distillation_temperature = distillation_temperature
        self.truncation = truncation
        self.max_tokens = max_tokens
        self.adaptive_softmax_cutoffs = list(adaptive_softmax_cutoffs)
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        self._check_own_values()

    def _check_own_values(self):
        """Refuse a value no model can be built from, with a `ValueError` naming the field."""
        choices = {"cell_type": CELL_TYPES, "pooling": POOLINGS, "lstm_impl": LSTM_IMPLS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        if self.truncation is not None and self.truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {', '.join(TRUNCATIONS)} (or None); got {self.truncation!r}")
        if self.truncation is not None and not (isinstance(self.max_tokens, int) and self.max_tokens > 0):
            raise ValueError(f"truncation={self.truncation!r} needs max_tokens > 0; got {self.max_tokens!r}")
        if self.lstm_impl == "reference" and self.cell_type != "lstm":
            raise ValueError(f"lstm_impl='reference' exists for cell_type='lstm' only; got {self.cell_type!r}")
        for name in ("vocab_size", "embedding_dim", "hidden_size", "num_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1; got {value!r}")
        for name in ("dropout", "embedding_dropout", "recurrent_dropout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"{name} is a probability in [0, 1); got {value!r}")
        for name in ("expected_value_loss_weight", "adversarial_epsilon", "virtual_adversarial_epsilon",
                     "virtual_adversarial_weight", "entropy_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be 0 (off) or positive; got {value!r}")
        if not (isinstance(self.virtual_adversarial_xi, (int, float)) and self.virtual_adversarial_xi > 0):
            raise ValueError(f"virtual_adversarial_xi must be positive; got {self.virtual_adversarial_xi!r}")
        if not (isinstance(self.distillation_alpha, (int, float)) and 0 <= self.distillation_alpha < 1):
            raise ValueError(f"distillation_alpha is a weight in [0, 1) (1 would ignore the teachers); "
                             f"got {self.distillation_alpha!r}")
        if not (isinstance(self.distillation_temperature, (int, float)) and self.distillation_temperature > 0):
            raise ValueError(f"distillation_temperature must be positive; got {self.distillation_temperature!r}")
        if self.entropy_weight and self.num_labels == 1:
            raise ValueError("entropy_weight is for classification: a rating has no class distribution")
