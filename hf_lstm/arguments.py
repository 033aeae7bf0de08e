"""Dataclasses for `HfArgumentParser`: what to train (model: `LSTMConfig`'s fields), on what (data), and how
(`LSTMTrainingArguments`: the Trainer's arguments with defaults for a small recurrent model, plus the run's own
options: threads, resume, the output folder, the hub directory, the training objectives). Each checks its own values
when it is built, so a bad command line or config file is refused before any folder or data is touched;
`parse_arguments` reads `[CONFIG.yaml] [--field value ...]` into them."""

import argparse
import difflib
import logging
import os
import sys
from typing import Literal, get_args, get_origin
from dataclasses import MISSING, dataclass, field, fields, make_dataclass
from pathlib import Path

import yaml
from huggingface_hub.errors import StrictDataclassError
from transformers import HfArgumentParser, TrainingArguments

from .configuration_lstm import LSTMConfig, option
from .hardware import fast_bf16_available, has_accelerator
from .hub import check_repo_id, resolve_model

logger = logging.getLogger(__name__)

TASKS = ("classification", "regression", "language_modeling")
# Validation metrics by task (`build_compute_metrics`), and those where lower is better.
REGRESSION_METRICS = ("rmse", "mae", "loss")
CLASSIFICATION_METRICS = ("accuracy", "f1_macro", "loss", "rmse", "mae", "rmse_expected", "mae_expected")
MULTI_LABEL_METRICS = ("f1_micro", "f1_macro", "f1_samples", "subset_accuracy", "hamming_loss", "loss")
LOWER_IS_BETTER = ("loss", "rmse", "mae", "rmse_expected", "mae_expected", "hamming_loss")


class ArgumentError(ValueError):
    """A refused option or option value; the message names the field (`--name`)."""


# LSTMConfig's fields that a run sets from elsewhere: the vocabulary (`vocab_size`, `pad_token_id`), the data's
# truncation (`truncation`, `max_tokens` from DataArguments' `truncation` and `max_length`) and a multi-label model's
# decision thresholds (`decision_thresholds`, 0.5 unless set in a saved config).
NOT_MODEL_OPTIONS = ("vocab_size", "pad_token_id", "truncation", "max_tokens", "decision_thresholds")


def config_options(config_class=LSTMConfig, skip=NOT_MODEL_OPTIONS):
    """One dataclass field per field of `config_class` itself: its type (choices from a `Literal`), default and help
    (field metadata) as the config declares them. The config is the one owner of the model's options."""
    options = []
    for spec in fields(config_class):
        if spec.name not in config_class.__annotations__ or spec.name in skip:
            continue
        kind = float if spec.type == float | int else spec.type
        default = {"default": spec.default} if spec.default is not MISSING else {"default_factory": spec.default_factory}
        options.append((spec.name, kind, field(**default, metadata=dict(spec.metadata))))
    return options


def config_choices(name):
    """The values an `LSTMConfig` field allows (its `Literal`), for an option that sets that field."""
    kind = LSTMConfig.__annotations__[name]
    kinds = (kind,) if get_origin(kind) is Literal else get_args(kind)
    return next(get_args(each) for each in kinds if get_origin(each) is Literal)


# The model's options, generated from LSTMConfig (see `config_options`).
LSTMConfigArguments = make_dataclass("LSTMConfigArguments", config_options())


@dataclass
class ModelArguments(LSTMConfigArguments):
    """The network: `LSTMConfig`'s options (its fields, with its defaults and documentation) and how its weights
    start."""

    _argument_group_name = "model (LSTMConfig's fields, and how the weights start; hf_lstm/arguments.py)"

    model_name_or_path: str | None = option(
        None,
        "Start from a saved model: a folder, or org/name[@revision] with --hub_dir. Its tokenizer is "
        "reused (no new vocabulary) and its encoder weights and shape are loaded; the head is new where the "
        "labels differ. Dropout and pooling fields still apply.",
    )
    teacher_model_name_or_path: list[str] | None = option(
        None,
        "Distil one or several teachers into this model: folders, Hugging Face Hub ids, or "
        "org/name[@revision] with --hub_dir; any AutoModelForSequenceClassification with its own tokenizer, whose "
        "labels (id2label) are the data's. Their outputs on the training split and --unlabelled_data (averaged: "
        "probabilities, or ratings) are computed once and cached with the prepared data; the loss then weighs "
        "them by distillation_alpha and distillation_temperature.",
    )
    word2vec_epochs: int = option(
        0,
        "Before training, learn word2vec (CBOW) vectors of size embedding_dim on the training split (and "
        "--unlabelled_data) for this many epochs and start the embedding from them (0: off).",
    )
    head_bias_from_labels: bool | None = option(
        None,
        "Start the head's bias at the training labels' prior: their mean for regression, the log of the "
        "class shares for classification, each label's log-odds for multi-label (a zero bias starts a 1-5 star "
        "regression at 0 stars, and every label at 0.5). Default: on for regression and multi-label, off for "
        "single-label classification.",
    )

    def config_fields(self):
        """This run's values of `LSTMConfig`'s fields (the network's shape)."""
        return {f.name: getattr(self, f.name) for f in fields(LSTMConfigArguments)}

    def __post_init__(self):
        try:
            LSTMConfig(**self.config_fields())  # the config checks its own values
        except (ValueError, StrictDataclassError) as error:  # the cause names the field first
            raise ArgumentError(f"--{error.__cause__ or error}") from None
        if self.model_name_or_path and self.word2vec_epochs:
            raise ArgumentError("--model_name_or_path brings its own embedding: drop --word2vec_epochs")
        if self.word2vec_epochs < 0:
            raise ArgumentError(f"--word2vec_epochs must be 0 (off) or positive; got {self.word2vec_epochs}")


@dataclass
class DataArguments:
    """Where the reviews come from, how they become labelled splits, and how they become token ids."""

    _argument_group_name = "data (hf_lstm/arguments.py DataArguments)"

    dataset_name: str = option(
        "data/imdb", "A hub id (stanfordnlp/imdb), a dataset folder, or a .csv/.tsv/.json/.jsonl/.parquet file.",
    )
    dataset_config_name: str | None = option(None, "Config name of a hub dataset.")
    train_file: str | None = option(
        None, "Instead of --dataset_name: a .csv/.tsv/.json/.jsonl/.parquet file of training reviews.",
    )
    validation_file: str | None = option(None, "With --train_file: the validation reviews (else held out of training).")
    test_file: str | None = option(None, "With --train_file: the test reviews (else held out of training).")
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
    label_delimiter: str | None = option(
        None,
        "Several labels a row (multi-label): the string that separates them in a text label column, e.g. ','. A "
        "column of lists is multi-label without it.",
    )
    task: str = field(
        default="classification",
        metadata={
            "choices": TASKS,
            "help": "classification (one class per review; several where the label column holds lists or "
            "--label_delimiter is given) | regression (a number) | language_modeling (pretrain "
            "on the text alone: the training split and every unlabelled split, never test text)."
        },
    )
    block_size: int = option(128, "language_modeling: texts are joined and cut into blocks of this many tokens.")
    class_names: list[str] | None = option(
        None,
        "Class names (and their order) for a label column that is not a ClassLabel, e.g. 1 2 3 4 5; a "
        "value's text must equal one of them. Default: the ClassLabel's names, else the training split's "
        "distinct labels, sorted (numbers in numeric order).",
    )
    validation_split_size: float = option(
        0.3, "Share of the training split held out for validation when there is no validation split.",
    )
    test_split_size: float = option(0.1, "Share of the training split held out for test when there is no test split.")
    split_seed: int = option(42, "Seed of the stratified splits.")
    max_vocab_size: int = option(25_000, "Most frequent words kept (plus [PAD], [UNK]).")
    min_frequency: int = option(1, "Words seen fewer times in training become [UNK].")
    max_length: int = field(
        default=400,
        metadata={
            "help": "Tokens kept per review; saved in the model's config (max_tokens), which cuts every review it reads.",
            "aliases": ["--max_seq_length"],  # run_classification.py's name
        },
    )
    truncation: str = field(
        default="head_tail",
        metadata={
            "help": "head (keep the first max_length tokens) | head_tail (keep the first and the last halves).",
            "choices": config_choices("truncation"),
        },
    )
    max_train_samples: int | None = option(None, "Keep only this many training reviews.")
    max_eval_samples: int | None = option(None, "Keep only this many validation reviews.")
    max_test_samples: int | None = option(None, "Keep only this many test reviews.")
    cache_dir: str | None = option(
        None, "Where prepared data (vocabulary + token ids) is cached; default ~/.cache/hf_lstm.",
    )
    unlabelled_data: list[str] | None = option(
        None,
        "Unlabelled reviews the classifier also learns from: their word statistics through "
        "--word2vec_epochs and normalize_embeddings, a batch of them each step through "
        "--virtual_adversarial_epsilon, --entropy_weight or --teacher_model_name_or_path. Splits of the dataset "
        "(unsupervised for IMDB; train: "
        "the training split's own text) or .txt/.csv/.jsonl files, folders or hub ids. Never validation or test "
        "text: copies are left out.",
    )
    max_unlabelled_samples: int | None = option(
        None, "Keep only this many unlabelled reviews (a seeded random sample).",
    )
    unlabelled_max_length: int | None = option(
        None,
        "Tokens kept per unlabelled review (cut as --truncation says); default: max_length. "
        "Shorter reviews make an unlabelled batch cheaper (Miyato et al. cut them at 400).",
    )

    def data_files(self):
        """{split: file} of --train_file / --validation_file / --test_file, or None (--dataset_name is read)."""
        files = {"train": self.train_file, "validation": self.validation_file, "test": self.test_file}
        return {split: path for split, path in files.items() if path} if self.train_file else None

    def __post_init__(self):
        if (self.validation_file or self.test_file) and not self.train_file:
            raise ArgumentError("--validation_file and --test_file need --train_file (or give a --dataset_name folder)")
        if self.train_file:
            self.dataset_name = self.train_file  # the source named in messages and in the model card
        for name in ("validation_split_size", "test_split_size"):
            if not 0 < getattr(self, name) < 1:
                raise ArgumentError(f"--{name} is a share of the training split in (0, 1); got {getattr(self, name)}")
        for name in ("block_size", "max_vocab_size", "min_frequency", "max_length", "max_train_samples",
                     "max_eval_samples", "max_test_samples", "max_unlabelled_samples", "unlabelled_max_length"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ArgumentError(f"--{name} must be at least 1; got {value}")
        if self.label_delimiter is not None and (self.task != "classification" or not self.label_delimiter):
            raise ArgumentError("--label_delimiter is a non-empty separator of the labels of a classification task; "
                                f"got {self.label_delimiter!r} with --task {self.task}")
        if self.class_names is not None and len(set(self.class_names)) != len(self.class_names):
            raise ArgumentError(f"--class_names lists a name twice: {self.class_names}")
        if self.unlabelled_data and self.task == "language_modeling":
            raise ArgumentError("--unlabelled_data is for classification and regression: a language model already "
                                "reads the training split and every unlabelled split")
        for name in self.unlabelled_data or []:
            if name in ("validation", "test"):
                raise ArgumentError(f"--unlabelled_data {name}: validation and test text is never trained on")


def _lstm_default(name, value):
    """A `TrainingArguments` field with another default and the same help."""
    return field(default=value, metadata=TrainingArguments.__dataclass_fields__[name].metadata)


@dataclass
class LSTMTrainingArguments(TrainingArguments):
    """transformers' `TrainingArguments` with defaults that suit a small recurrent model, and checks of their values:
    a learning rate above 0, some training, and a best-model direction that agrees with the metric (rmse, mae and
    loss are lower-is-better: `greater_is_better` follows the metric unless given, and a contradicting value is
    refused). `use_cpu` and `bf16` default to what the machine runs fast."""

    _argument_group_name = "Trainer (transformers' TrainingArguments, with defaults for a small recurrent model)"

    learning_rate: float = _lstm_default("learning_rate", 2e-3)
    weight_decay: float = _lstm_default("weight_decay", 0.01)
    per_device_train_batch_size: int = _lstm_default("per_device_train_batch_size", 64)
    per_device_eval_batch_size: int = _lstm_default("per_device_eval_batch_size", 256)
    num_train_epochs: float = _lstm_default("num_train_epochs", 5)
    warmup_steps: float = _lstm_default("warmup_steps", 0.05)
    eval_strategy: str = _lstm_default("eval_strategy", "epoch")
    save_strategy: str = _lstm_default("save_strategy", "epoch")
    logging_strategy: str = _lstm_default("logging_strategy", "steps")
    logging_steps: float = _lstm_default("logging_steps", 50)
    load_best_model_at_end: bool = _lstm_default("load_best_model_at_end", True)
    save_total_limit: int | None = _lstm_default("save_total_limit", 2)
    train_sampling_strategy: str = field(
        default="group_by_length", metadata=TrainingArguments.__dataclass_fields__["train_sampling_strategy"].metadata
    )
    dataloader_pin_memory: bool = _lstm_default("dataloader_pin_memory", False)
    use_cpu: bool | None = option(
        None,
        "Train on the CPU. Default: when torch sees no accelerator (it lets `accelerate launch "
        "--multi_gpu` run DDP over gloo there); with one, it would hide it.",
    )
    bf16: bool | None = option(
        None,
        "bf16 autocast. Default: where the hardware runs it fast (a GPU with bf16, a CPU with AMX); "
        "--bf16 false turns it off.",
    )

    # What the project adds around the Trainer: the output folder's safety, threads, resume, hub.
    overwrite_output_dir: bool = option(
        False, "Replace a trained model in output_dir (it stays intact until the new one is complete).",
    )
    cpu_threads: int | None = option(
        None,
        "Threads torch runs in each process. Default: the OMP_NUM_THREADS you exported, else (no "
        "accelerator) every core, divided among the processes of this machine; `accelerate launch` alone would "
        "set one.",
    )
    resume: bool = option(False, "Resume from the last complete checkpoint in output_dir.")
    allow_inexact_resume: bool = option(
        False, "Resume even if the checkpoint's RNG state is missing or damaged (results then differ).",
    )
    hub_dir: str | None = option(None, "Hub directory to take --model_name_or_path org/name[@revision] from.")
    push_to_hub_dir: str | None = option(
        None, "After training, push the model to this hub directory as --hub_model_id.",
    )

    # Training objectives besides the head's loss (hf_lstm/objectives.py); none is saved with the model.
    virtual_adversarial_epsilon: float = option(
        0.0,
        "Virtual adversarial training (Miyato et al., 2017) on labelled and unlabelled reviews: the "
        "KL divergence (squared change for regression) between the prediction and the prediction on the "
        "embeddings moved by this L2 norm the way that changes it most (0: off).",
    )
    virtual_adversarial_xi: float = option(
        0.1, "Size of the random step of virtual adversarial training's power iteration.",
    )
    entropy_weight: float = option(
        0.0,
        "Entropy minimisation (Sachan et al., 2019): this weight times the mean entropy of the "
        "predicted classes of unlabelled reviews (classification only; 0: off).",
    )
    distillation_alpha: float = option(
        0.5,
        "With teachers: the loss is this weight times the loss on the labels plus (1 - it) times "
        "the distillation term on every review, labelled and unlabelled (0 learns from the teachers alone).",
    )
    distillation_temperature: float = option(
        2.0,
        "Temperature T of distillation: T^2 times the KL divergence from the teachers' averaged "
        "probabilities at T to the model's (regression: the squared difference from their mean rating).",
    )
    unlabelled_batch_ratio: float = option(
        1.0,
        "With --unlabelled_data and a term that reads it: unlabelled reviews a training batch "
        "brings per labelled review (paired by length, so they pad little).",
    )

    @property
    def adds_loss_terms(self):
        """Whether the training loss has a term besides the head's loss on the labels (distillation aside)."""
        return bool(self.virtual_adversarial_epsilon or self.entropy_weight)

    def __post_init__(self):
        for name in ("virtual_adversarial_epsilon", "entropy_weight"):
            if getattr(self, name) < 0:
                raise ArgumentError(f"--{name} must be 0 (off) or positive; got {getattr(self, name)}")
        for name in ("virtual_adversarial_xi", "distillation_temperature"):
            if not getattr(self, name) > 0:
                raise ArgumentError(f"--{name} must be positive; got {getattr(self, name)}")
        if not self.unlabelled_batch_ratio > 0:
            raise ArgumentError(f"--unlabelled_batch_ratio must be above 0; got {self.unlabelled_batch_ratio}")
        if not 0 <= self.distillation_alpha < 1:
            raise ArgumentError(f"--distillation_alpha is a weight in [0, 1) (1 would ignore the teachers); "
                                f"got {self.distillation_alpha}")
        if self.cpu_threads is not None and self.cpu_threads < 1:
            raise ArgumentError(f"--cpu_threads must be at least 1; got {self.cpu_threads}")
        if self.use_cpu is None:
            self.use_cpu = not has_accelerator()
        if self.bf16 is None:
            self.bf16 = fast_bf16_available()
        if not self.learning_rate > 0:
            raise ArgumentError(f"--learning_rate must be above 0; got {self.learning_rate}")
        if self.max_steps <= 0 and not self.num_train_epochs > 0:
            raise ArgumentError(
                f"--num_train_epochs must be above 0 (or give --max_steps); got {self.num_train_epochs}: nothing "
                "would be trained"
            )
        self.metric_given = bool(self.metric_for_best_model)  # else multi-label data selects by f1_micro
        if self.metric_for_best_model:  # one spelling from here on: accuracy, not eval_accuracy
            self.metric_for_best_model = metric = self.metric_for_best_model.removeprefix("eval_")
            lower = metric in LOWER_IS_BETTER
            if self.greater_is_better is None:
                self.greater_is_better = not lower
            elif self.greater_is_better == lower:
                raise ArgumentError(
                    f"--greater_is_better {str(self.greater_is_better).lower()} contradicts --metric_for_best_model "
                    f"{metric}, where {'lower' if lower else 'higher'} is better: drop --greater_is_better"
                )
        try:
            super().__post_init__()
        except ValueError as error:  # transformers' own checks (strategies, precision, ...)
            raise ArgumentError(str(error)) from None


def check_together(model_args, data_args, training_args):
    """The checks that read several groups of options; they change nothing (`settle_task_settings` does)."""
    metric = training_args.metric_for_best_model
    if data_args.task == "language_modeling" and metric not in (None, "loss"):
        raise ArgumentError(f"--metric_for_best_model {metric}: a language model is chosen by its validation loss; "
                            "drop --metric_for_best_model")
    if data_args.task == "regression" and metric and metric not in REGRESSION_METRICS:
        raise ArgumentError(
            f"--metric_for_best_model {metric} is not a regression metric (those are {', '.join(REGRESSION_METRICS)}): "
            "pass --metric_for_best_model rmse"
        )
    if data_args.task == "classification" and metric and metric not in CLASSIFICATION_METRICS + MULTI_LABEL_METRICS:
        raise ArgumentError(
            f"--metric_for_best_model {metric} is not a classification metric (those are "
            f"{', '.join(CLASSIFICATION_METRICS)}; rmse and mae where the classes are numbers; multi-label: "
            f"{', '.join(MULTI_LABEL_METRICS)})"
        )
    if data_args.task == "regression" and training_args.entropy_weight:
        raise ArgumentError("--entropy_weight is for classification: a rating has no class distribution")
    teachers = model_args.teacher_model_name_or_path
    reads_unlabelled = reads_unlabelled_batches(model_args, training_args)
    if data_args.unlabelled_data and not (reads_unlabelled or model_args.word2vec_epochs
                                          or model_args.normalize_embeddings):
        raise ArgumentError("--unlabelled_data is read only by --word2vec_epochs, --normalize_embeddings, "
                            "--virtual_adversarial_epsilon, --entropy_weight and --teacher_model_name_or_path: turn one "
                            "on, or drop --unlabelled_data")
    if teachers and data_args.task == "language_modeling":
        raise ArgumentError("--teacher_model_name_or_path is for classification and regression")
    if teachers and len(set(teachers)) != len(teachers):
        raise ArgumentError(f"--teacher_model_name_or_path names a teacher twice: {teachers}")
    if training_args.entropy_weight and not data_args.unlabelled_data:
        raise ArgumentError("--entropy_weight works on unlabelled reviews: give --unlabelled_data (e.g. unsupervised, "
                            "or train for the training split's own text)")
    if model_args.ngram_orders and data_args.task != "classification":
        raise ArgumentError(f"--ngram_orders: the n-gram channel is fitted as a classifier (NBSVM) and --task "
                            f"{data_args.task} has no classes: train from a config without ngram_orders (for ratings: "
                            "configs/clothing_regression.yaml)")
    if data_args.task == "language_modeling" and model_args.head_bias_from_labels:
        raise ArgumentError("--head_bias_from_labels is for classification and regression heads")


def settle_task_settings(model_args, data_args, training_args):
    """The settings the task decides where the command line left them open: a language model reads blocks of equal
    length (nothing to group by length), keeps no predictions and is chosen by its validation loss, and DDP looks for
    weights a step left unused (the adaptive softmax's rare-word clusters); a classifier uses every weight at every
    step, and that search would wrap its outputs, cutting the hidden states the objectives differentiate off from the
    loss; a regression head's bias starts at the labels' mean."""
    if training_args.ddp_find_unused_parameters is None:
        training_args.ddp_find_unused_parameters = data_args.task == "language_modeling"
    if data_args.task == "language_modeling":
        if training_args.train_sampling_strategy == "group_by_length":
            training_args.train_sampling_strategy = "random"
        training_args.metric_for_best_model, training_args.greater_is_better = "loss", False
        training_args.prediction_loss_only = True
    if model_args.head_bias_from_labels is None and data_args.task == "regression":
        model_args.head_bias_from_labels = True  # a classifier's is settled once its data shows whether multi-label


def settle_multi_label_settings(model_args, training_args, multi_label):
    """Once the data is read: multi-label data is selected by micro-F1 unless a metric was given, starts its head's
    bias at the labels' log-odds unless told otherwise, and refuses what needs one class a review (the teachers' and
    the unlabelled terms' class distributions); single-label data refuses the multi-label metrics."""
    metric = training_args.metric_for_best_model
    if model_args.head_bias_from_labels is None:
        model_args.head_bias_from_labels = multi_label  # 90 sigmoids at 0.5 would first unlearn predicting everything
    if not multi_label:
        if metric in set(MULTI_LABEL_METRICS) - set(CLASSIFICATION_METRICS):
            raise ArgumentError(f"--metric_for_best_model {metric} is for multi-label data (several labels a review)")
        return
    if not training_args.metric_given:
        training_args.metric_for_best_model, training_args.greater_is_better = "f1_micro", True
    elif metric not in MULTI_LABEL_METRICS:
        raise ArgumentError(f"--metric_for_best_model {metric} is not a multi-label metric (those are "
                            f"{', '.join(MULTI_LABEL_METRICS)})")
    needs_one_class = [name for name, value in (
        ("--teacher_model_name_or_path", model_args.teacher_model_name_or_path),
        ("--ngram_orders", model_args.ngram_orders),
        ("--virtual_adversarial_epsilon", training_args.virtual_adversarial_epsilon),
        ("--entropy_weight", training_args.entropy_weight)) if value]
    if needs_one_class:
        raise ArgumentError(f"{needs_one_class[0]} reads one class a review; the data is multi-label (several labels "
                            f"a review): drop {needs_one_class[0]}")


def reads_unlabelled_batches(model_args, training_args):
    """Whether training batches bring unlabelled reviews: a term that learns from them is on."""
    return bool(training_args.virtual_adversarial_epsilon or training_args.entropy_weight
                or model_args.teacher_model_name_or_path)


# The fields of a model that its weights depend on: a model started from a saved one takes them from that model.
SHAPE_FIELDS = (
    "vocab_size", "embedding_dim", "hidden_size", "num_layers", "bidirectional", "separate_directions", "cell_type",
    "pad_token_id",
)


# TrainingArguments fields that transformers leaves to the script, or that would bypass what the project does, with
# the project's way: refused rather than parsed and silently ignored.
REFUSED_TRAINING_ARGUMENTS = {
    "do_train": "scripts/train.py always trains, selects on validation and scores the test split once",
    "do_eval": "scripts/train.py always trains, selects on validation and scores the test split once",
    "do_predict": "scripts/train.py always trains, selects on validation and scores the test split once; "
    "predict with scripts/predict.py",
    "resume_from_checkpoint": "use --resume true: it continues the last complete checkpoint in --output_dir exactly",
    "push_to_hub": "use --push_to_hub_dir HUB --hub_model_id org/name: it pushes the complete saved model, with its "
    "model card, to a hub directory (upload that folder to the Hugging Face Hub with `hf upload` if you wish)",
}


class ArgumentParser(HfArgumentParser):
    """`HfArgumentParser` whose refusals are one line (argparse prints the whole usage first) naming the option, and
    whose help shows the run's own options before the Trainer's, without the Trainer options the script refuses."""

    def __init__(self, dataclass_types, **kwargs):
        super().__init__(dataclass_types, **kwargs)
        trainer = next(group for group in self._action_groups
                       if group.title == LSTMTrainingArguments._argument_group_name)
        own = self.add_argument_group("run (hf_lstm's own: output folder, threads, resume, hub, training objectives)")
        self._action_groups.insert(self._action_groups.index(trainer), self._action_groups.pop())
        for action in list(trainer._group_actions):
            if action.dest not in TrainingArguments.__dataclass_fields__:
                trainer._group_actions.remove(action)
                own._group_actions.append(action)
            elif action.dest in REFUSED_TRAINING_ARGUMENTS:
                action.help = argparse.SUPPRESS

    def error(self, message):
        raise ArgumentError(message)


def option_names(parser):
    """{option name without dashes: field name}, aliases included (label_column_name for label_column)."""
    return {option.lstrip("-"): action.dest for action in parser._actions for option in action.option_strings}


def unknown_option(word, names, where="option"):
    close = difflib.get_close_matches(word, list(names), n=1)
    hint = f"; did you mean {close[0]}?" if close else "; `python scripts/train.py --help` lists them"
    return ArgumentError(f"unknown {where} {word}{hint}")


def read_config_file(path, parser):
    """A YAML or JSON config file's values, each checked as the command line checks it (type, choices), by field."""
    if not os.path.isfile(path):
        near = difflib.get_close_matches(path, [str(p) for p in Path(path).parent.glob("*.y*ml")], n=1)
        raise ArgumentError(f"{path}: no such config file" + (f"; did you mean {near[0]}?" if near else ""))
    try:
        with open(path, encoding="utf-8") as handle:
            values = yaml.safe_load(handle)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise ArgumentError(f"{path}: not valid YAML{line}: {getattr(error, 'problem', None) or error}") from None
    values = values or {}
    if not isinstance(values, dict):
        raise ArgumentError(f"{path}: expected `field: value` lines, got {type(values).__name__}")
    names = option_names(parser)
    actions = {action.dest: action for action in parser._actions}
    checked = {}
    for name, value in values.items():
        if name not in names:
            raise unknown_option(name, names, where=f"field in {path}:")
        action = actions[names[name]]
        items = value if isinstance(value, list) else [value]
        if value is not None and action.type is not None:
            try:
                items = [item if item is None else action.type(item if isinstance(item, str) else str(item))
                         for item in items]
            except (TypeError, ValueError, argparse.ArgumentTypeError):
                raise ArgumentError(f"{path}: {name}: {value!r} is not a valid value") from None
        if value is not None and action.choices is not None and any(item not in action.choices for item in items):
            raise ArgumentError(f"{path}: {name}: {value!r} is not one of {', '.join(map(str, action.choices))}")
        checked[action.dest] = items if isinstance(value, list) or action.nargs in ("+", "*") else items[0]
    return checked


def parse_arguments(argv=None):
    """Parse `[CONFIG.yaml|json] [--field value ...]`: the file's values become defaults, the command line overrides.
    Every value is checked here (types, choices, ranges, combinations), before any folder or data is touched."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = ArgumentParser(
        (ModelArguments, DataArguments, LSTMTrainingArguments),
        usage="python scripts/train.py [CONFIG.yaml] [--field value ...]",
    )
    names = option_names(parser)
    on_command_line = {names.get(word[2:].split("=")[0]) for word in argv if word.startswith("--")}
    given = set(on_command_line)
    if argv and argv[0].endswith((".yaml", ".yml", ".json")):
        values = read_config_file(argv.pop(0), parser)
        given |= set(values)
        parser.set_defaults(**values)
        for action in parser._actions:  # a required field given in the file is no longer required
            if action.dest in values:
                action.required = False
    refused = [name for name in REFUSED_TRAINING_ARGUMENTS if name in given]
    if refused:
        raise ArgumentError(f"--{refused[0]} is not supported: {REFUSED_TRAINING_ARGUMENTS[refused[0]]}")
    try:
        *parsed, remaining = parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)
    except ValueError as error:  # a dataclass's __post_init__ refused a value
        raise ArgumentError(str(error)) from None
    if remaining:
        word = next((word for word in remaining if word.startswith("-")), remaining[0])
        raise unknown_option(word, [f"--{name}" for name in names])
    model_args, data_args, training_args = parsed
    check_together(model_args, data_args, training_args)
    settle_task_settings(model_args, data_args, training_args)
    if training_args.output_dir is None:
        raise ArgumentError("--output_dir is required (in the config file or on the command line)")
    if model_args.model_name_or_path and given & set(SHAPE_FIELDS):
        check_shape_fields(model_args, training_args.hub_dir, given & set(SHAPE_FIELDS), on_command_line)
    if training_args.push_to_hub_dir is not None:
        if training_args.hub_model_id is None:
            raise ArgumentError("--push_to_hub_dir needs --hub_model_id org/name")
        check_repo_id(training_args.hub_model_id)  # refuse a bad id before an hour of training
    return model_args, data_args, training_args


def check_shape_fields(model_args, hub_dir, named, on_command_line):
    """A model started from a saved one has that model's shape: refuse a shape field asked for on the command line
    with another value; one from the config file (written for a model trained from scratch) gives way, with a
    warning."""
    try:
        base = LSTMConfig.from_pretrained(resolve_model(model_args.model_name_or_path, hub_dir))
    except OSError as error:
        raise ArgumentError(f"--model_name_or_path {model_args.model_name_or_path}: {error}") from None
    for name in sorted(named):
        if getattr(base, name) == getattr(model_args, name):
            continue
        if name in on_command_line:
            raise ArgumentError(
                f"--{name} {getattr(model_args, name)} differs from {model_args.model_name_or_path}'s {name} "
                f"{getattr(base, name)}: a model started from a saved one keeps its shape; drop --{name}"
            )
        logger.warning("%s %s of %s is kept (the config file's %s gives way)", name, getattr(base, name),
                       model_args.model_name_or_path, getattr(model_args, name))
