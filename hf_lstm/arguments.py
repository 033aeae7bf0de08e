"""Dataclasses for `HfArgumentParser`: what to train (model) and on what (data). `TrainingArguments` does the rest."""

from dataclasses import dataclass, field


@dataclass
class ModelArguments:
    """The shape of the network (each field of `LSTMConfig` here becomes one) and its initial weights."""

    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Start from a saved model: a folder, or org/name[@revision] with --hub_dir. Its tokenizer is "
            "reused (no new vocabulary) and its encoder weights and shape are loaded; the head is new where the "
            "labels differ. Dropout and pooling fields still apply."
        },
    )

    embedding_dim: int = field(default=100, metadata={"help": "Width of the word embeddings."})
    hidden_size: int = field(default=256, metadata={"help": "Width of the recurrent state of each direction."})
    num_layers: int = field(default=1, metadata={"help": "Number of stacked recurrent layers."})
    bidirectional: bool = field(default=False, metadata={"help": "Also read each review right to left."})
    dropout: float = field(default=0.0, metadata={"help": "Dropout between layers and before the classifier."})
    embedding_dropout: float = field(default=0.0, metadata={"help": "Dropout on the word embeddings."})
    recurrent_dropout: float = field(
        default=0.0,
        metadata={"help": "Dropout on the hidden-to-hidden weights in training (DropConnect, one mask per batch)."},
    )
    separate_directions: bool = field(
        default=False,
        metadata={
            "help": "Keep a bidirectional stack's two directions apart from layer to layer (ELMo); a two-way "
            "language model needs it, and a classifier started from one keeps it."
        },
    )
    adaptive_softmax_cutoffs: list[int] = field(
        default_factory=lambda: [2000, 10000],
        metadata={"help": "Language models: vocabulary ids where the adaptive softmax's rarer-word clusters start."},
    )
    pooling: str = field(default="last", metadata={"help": "last | mean | max | mean_max | last_mean_max."})
    cell_type: str = field(default="lstm", metadata={"help": "lstm | gru | rnn (tanh)."})
    lstm_impl: str = field(
        default="torch", metadata={"help": "torch (fast) | reference (the gate-level LSTM, slow, for reading)."}
    )
    expected_value_loss_weight: float = field(
        default=0.0,
        metadata={
            "help": "Classes that are numbers (star ratings): add this weight x squared error of the expected value "
            "under the predicted probabilities to the cross-entropy."
        },
    )
    adversarial_epsilon: float = field(
        default=0.0,
        metadata={
            "help": "Adversarial training: also train on each review's embeddings moved by this L2 norm along the "
            "gradient of its loss (0: off; a training step costs about 2.3 times as much)."
        },
    )
    pretrained_vectors: str | None = field(
        default=None,
        metadata={"help": "A GloVe / word2vec text file whose vectors initialise the embedding (size embedding_dim)."},
    )
    word2vec_epochs: int = field(
        default=0,
        metadata={
            "help": "Before training, learn word2vec (CBOW) vectors of size embedding_dim on the training split for "
            "this many epochs and start the embedding from them (0: off; not with pretrained_vectors)."
        },
    )
    word2vec_skipgram: bool = field(
        default=False,
        metadata={"help": "Learn the word2vec vectors with skip-gram instead of CBOW (about 3.5 times slower)."},
    )
    freeze_embeddings: bool = field(default=False, metadata={"help": "Keep the pretrained embedding fixed."})
    layer_learning_rate_decay: float = field(
        default=1.0,
        metadata={
            "help": "Discriminative learning rates (ULMFiT), for a model started from a pretrained one: the head "
            "trains at learning_rate, the top recurrent layer at learning_rate / D, each layer below at a further / D, "
            "the embedding lowest (1: one rate for all)."
        },
    )
    gradual_unfreezing: bool = field(
        default=False,
        metadata={
            "help": "Gradual unfreezing (ULMFiT), for a model started from a pretrained one: the first epoch trains "
            "the head only, each later epoch one more encoder stage, the top recurrent layer first and the embedding "
            "last. One process only."
        },
    )
    head_bias_from_labels: bool = field(
        default=False,
        metadata={
            "help": "Start the head's bias at the training labels' prior: their mean for regression, the log of the "
            "class shares for classification (a zero bias starts a 1-5 star regression at 0 stars)."
        },
    )


@dataclass
class DataArguments:
    """Where the reviews come from, how they become labelled splits, and how they become token ids."""

    dataset_name: str = field(
        default="data/imdb",
        metadata={"help": "A hub id (stanfordnlp/imdb), a dataset folder, or a .csv/.json/.jsonl/.parquet file."},
    )
    dataset_config_name: str | None = field(default=None, metadata={"help": "Config name of a hub dataset."})
    text_columns: list[str] = field(
        default_factory=lambda: ["text"],
        metadata={
            "help": "Column(s) holding the text; several are joined with a space (empty ones skipped).",
            "aliases": ["--text_column_names"],  # run_classification.py's name
        },
    )
    label_column: str = field(
        default="label", metadata={"help": "Column holding the label.", "aliases": ["--label_column_name"]}
    )
    task: str = field(
        default="classification",
        metadata={
            "help": "classification (one class per review) | regression (a number) | language_modeling (pretrain "
            "on the text alone: the training split and every unlabelled split, never test text)."
        },
    )
    block_size: int = field(
        default=128, metadata={"help": "language_modeling: texts are joined and cut into blocks of this many tokens."}
    )
    class_names: list[str] | None = field(
        default=None,
        metadata={
            "help": "Class names (and their order) for a label column that is not a ClassLabel, e.g. 1 2 3 4 5; a "
            "value's text must equal one of them. Default: the ClassLabel's names, else the training split's "
            "distinct labels, sorted (numbers in numeric order)."
        },
    )
    validation_split_size: float = field(
        default=0.3,
        metadata={"help": "Share of the training split held out for validation when there is no validation split."},
    )
    test_split_size: float = field(
        default=0.1, metadata={"help": "Share of the training split held out for test when there is no test split."}
    )
    split_seed: int = field(default=42, metadata={"help": "Seed of the stratified splits."})
    max_vocab_size: int = field(default=25_000, metadata={"help": "Most frequent words kept (plus [PAD], [UNK])."})
    min_frequency: int = field(default=1, metadata={"help": "Words seen fewer times in training become [UNK]."})
    max_length: int = field(
        default=400,
        metadata={
            "help": "Tokens kept per review; saved in the model's config (max_tokens), which cuts every review it reads.",
            "aliases": ["--max_seq_length"],  # run_classification.py's name
        },
    )
    truncation: str = field(
        default="head_tail",
        metadata={"help": "head (keep the first max_length tokens) | head_tail (keep the first and the last halves)."},
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Keep only this many training reviews."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Keep only this many validation reviews."})
    max_test_samples: int | None = field(default=None, metadata={"help": "Keep only this many test reviews."})
    cache_dir: str | None = field(
        default=None,
        metadata={"help": "Where prepared data (vocabulary + token ids) is cached; default ~/.cache/hf_lstm."},
    )


@dataclass
class RunArguments:
    """What happens around training: the output folder's safety, resuming, early stopping, checkpoint averaging."""

    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Replace a trained model in output_dir (it stays intact until the new one is complete)."},
    )
    resume: bool = field(default=False, metadata={"help": "Resume from the last complete checkpoint in output_dir."})
    allow_inexact_resume: bool = field(
        default=False,
        metadata={"help": "Resume even if the checkpoint's RNG state is missing or damaged (results then differ)."},
    )
    hub_dir: str | None = field(
        default=None, metadata={"help": "Hub directory to take --model_name_or_path org/name[@revision] from."}
    )
    push_to_hub_dir: str | None = field(
        default=None, metadata={"help": "After training, push the model to this hub directory as --hub_model_id."}
    )
    early_stopping_patience: int | None = field(
        default=None, metadata={"help": "Stop after this many evaluations without improvement of the best metric."}
    )
    average_last_checkpoints: int = field(
        default=0,
        metadata={
            "help": "After training, average the weights of the last N epoch checkpoints (N >= 2) and keep the "
            "average only if its validation metric beats the best checkpoint's (0: off)."
        },
    )
